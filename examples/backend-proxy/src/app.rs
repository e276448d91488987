//! Application state and the router.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::Key;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth_token::auth_token;
use crate::config::{Config, TenantSource};
use crate::error::ProxyError;
use crate::scopegate::ScopegateClient;
use crate::session::{self, SessionSettings};
use crate::users::Users;

#[derive(Clone)]
pub struct AppState {
    pub users: Arc<Users>,
    pub session: SessionSettings,
    pub scopegate: ScopegateClient,
    pub app_origin: String,
    pub tenant_source: TenantSource,
}

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Self {
        state.session.key.clone()
    }
}

impl AppState {
    /// Builds the state from `config`; `users` is the loaded users file.
    pub fn new(config: &Config, users: Users) -> anyhow::Result<Self> {
        let key = match &config.session_key {
            Some(bytes) => Key::try_from(bytes.as_slice())
                .map_err(|error| anyhow::anyhow!("SESSION_KEY is unusable: {error}"))?,
            None => Key::generate(),
        };
        let scopegate = ScopegateClient::new(
            &config.scopegate_url,
            config.api_key.clone(),
            config.app_origin.clone(),
        )?;
        Ok(Self {
            users: Arc::new(users),
            session: SessionSettings {
                key,
                secure: config.app_origin.starts_with("https://"),
            },
            scopegate,
            app_origin: config.app_origin.clone(),
            tenant_source: config.tenant_source,
        })
    }
}

/// Builds the router: CORS for the app origin with credentials, and the
/// origin check on every POST.
pub fn router(state: AppState) -> anyhow::Result<Router> {
    let app_origin = HeaderValue::from_str(&state.app_origin)?;
    let cors = CorsLayer::new()
        // A list, unlike `AllowOrigin::exact`, sends no
        // Access-Control-Allow-Origin at all to other origins.
        .allow_origin(AllowOrigin::list([app_origin]))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE]);

    Ok(Router::new()
        .route("/login", post(session::login))
        .route("/logout", post(session::logout))
        .route("/session", get(session::current))
        .route("/auth-token", post(auth_token))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            reject_foreign_origin,
        ))
        .layer(cors)
        .with_state(state))
}

/// Rejects a POST whose `Origin` header names another origin than the app's.
///
/// CORS keeps other origins from reading the responses. This check also keeps
/// their requests from having effects, such as logging the browser out,
/// because session cookies do not separate ports of one host.
async fn reject_foreign_origin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::POST
        && let Some(origin) = request.headers().get(header::ORIGIN)
        && origin.as_bytes() != state.app_origin.as_bytes()
    {
        let origin = String::from_utf8_lossy(origin.as_bytes()).into_owned();
        tracing::warn!(origin = %origin, path = %request.uri().path(), "rejected a request from a foreign origin");
        return ProxyError::ForeignOrigin(origin).into_response();
    }
    next.run(request).await
}
