//! Application state, router assembly and the tower layers, in one place.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::audit::AuditLog;
use crate::auth::api_key::ApiKeyCache;
use crate::auth::keys::{self, KeyRing, KeyRingHandle};
use crate::auth::token::TokenSettings;
use crate::config::Config;
use crate::cors::OriginRegistry;
use crate::crypto::MasterKey;
use crate::envelope::error_body;
use crate::probe::{self, Verdict, network::NetworkPolicy};
use crate::rate_limit::RateLimiter;
use crate::routes;
use crate::store::DynStore;

/// Largest request body accepted; larger ones get 413.
pub const BODY_LIMIT_BYTES: usize = 32 * 1024 * 1024;
/// The only API version served; a request without the header gets it.
pub const API_VERSION: &str = "2023-12-01";
/// Keys kept at most in the API-key cache.
const API_KEY_CACHE_CAPACITY: usize = 10_000;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Shared state of every handler. Cloning is cheap.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: DynStore,
    pub master_key: Arc<MasterKey>,
    pub key_ring: Arc<KeyRingHandle>,
    pub api_keys: Arc<ApiKeyCache>,
    pub token_settings: TokenSettings,
    pub origins: Arc<OriginRegistry>,
    pub network_policy: Arc<NetworkPolicy>,
    pub ssh_key_limiter: Arc<RateLimiter>,
    pub audit: AuditLog,
}

impl AppState {
    /// Builds the state over a migrated store, loading (or creating) the
    /// signing key.
    pub async fn new(
        config: Config,
        store: DynStore,
        master_key: MasterKey,
    ) -> anyhow::Result<Self> {
        let key_ring = KeyRing::load_or_create(&store, &master_key).await?;
        let network_policy = NetworkPolicy::parse(&config.connection_test_allow)
            .map_err(|error| anyhow::anyhow!("invalid SCOPEGATE_CONNECTION_TEST_ALLOW: {error}"))?;
        Ok(Self {
            network_policy: Arc::new(network_policy),
            ssh_key_limiter: Arc::new(RateLimiter::new(
                config.ssh_key_rate_limit,
                Duration::from_secs(60),
            )),
            api_keys: Arc::new(ApiKeyCache::new(
                config.api_key_cache_ttl,
                API_KEY_CACHE_CAPACITY,
            )),
            token_settings: TokenSettings {
                issuer: config.issuer.clone(),
                leeway_seconds: config.clock_leeway.as_secs(),
            },
            origins: Arc::new(OriginRegistry::new(store.clone(), &config.cors_origins)),
            key_ring: Arc::new(KeyRingHandle::new(key_ring)),
            audit: AuditLog::start(store.clone()),
            master_key: Arc::new(master_key),
            store,
            config: Arc::new(config),
        })
    }
}

/// How often each process reloads signing keys and writes API-key usage.
pub const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(30);

impl AppState {
    /// Returns how long a superseded signing key keeps verifying: the longest token
    /// lifetime, the clock leeway, and two maintenance intervals for other
    /// processes to start signing with the newest key.
    pub fn signing_key_retention(&self) -> chrono::Duration {
        let seconds = self.config.token_max_ttl.as_secs()
            + self.config.clock_leeway.as_secs()
            + 2 * MAINTENANCE_INTERVAL.as_secs();
        chrono::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX))
    }

    /// Reloads the signing keys, retiring those past their retention.
    pub async fn reload_signing_keys(&self) -> anyhow::Result<()> {
        let ring =
            keys::refresh(&self.store, &self.master_key, self.signing_key_retention()).await?;
        self.key_ring.replace(ring);
        Ok(())
    }

    /// Writes what is batched in memory: API-key usage and queued audit
    /// events. Call it before the process exits.
    pub async fn flush(&self) {
        if let Err(error) = self.api_keys.flush_usage(&self.store).await {
            tracing::warn!(error = %error, "could not record API key usage");
        }
        self.audit.flush().await;
    }

    /// Runs [`AppState::reload_signing_keys`] and [`AppState::flush`] every
    /// [`MAINTENANCE_INTERVAL`] until the process ends.
    pub fn spawn_maintenance(&self) {
        let state = self.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(MAINTENANCE_INTERVAL);
            interval.tick().await;
            loop {
                interval.tick().await;
                if let Err(error) = state.reload_signing_keys().await {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "could not reload signing keys"
                    );
                }
                state.flush().await;
            }
        });
    }

    /// Tests a destination's connection under the configured network policy
    /// and timeout.
    pub async fn run_connection_test(
        &self,
        vendor: &str,
        destination: &serde_json::Map<String, serde_json::Value>,
    ) -> Verdict {
        probe::test_destination(
            vendor,
            destination,
            &self.network_policy,
            self.config.connection_test_timeout,
        )
        .await
    }
}

/// Builds the router with every route and layer.
pub fn router(state: AppState) -> Router {
    let origins = state.origins.clone();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::async_predicate(move |origin, _parts| {
            let origins = origins.clone();
            async move {
                match origin.to_str() {
                    Ok(origin) => origins.is_allowed(origin).await,
                    Err(_) => false,
                }
            }
        }))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("x-app-id"),
            HeaderName::from_static("x-prequel-api-version"),
        ])
        .expose_headers([REQUEST_ID.clone()])
        .max_age(Duration::from_secs(600));

    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request| {
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map(|path| path.as_str().to_owned())
                .unwrap_or_else(|| "unmatched".to_owned());
            let request_id = request
                .headers()
                .get(&REQUEST_ID)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("");
            tracing::info_span!(
                "request",
                method = %request.method(),
                route = %route,
                request_id = %request_id,
                status = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
            )
        })
        .on_request(())
        .on_response(|response: &Response, latency: Duration, span: &Span| {
            let status = response.status().as_u16();
            span.record("status", status);
            span.record("latency_ms", latency.as_secs_f64() * 1000.0);
            match status {
                500.. => tracing::error!("response"),
                400..=499 => tracing::warn!("response"),
                _ => tracing::info!("response"),
            }
        })
        .on_failure(());

    Router::new()
        .merge(routes::router())
        .merge(crate::ops::router(state.config.metrics_listen.is_none()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(check_api_version))
        .layer(middleware::from_fn(envelope_errors))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(trace)
        .layer(cors)
        .layer(middleware::from_fn(crate::ops::metrics::track_requests))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
        .with_state(state)
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        error_body("no route matches this path"),
    )
        .into_response()
}

async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        error_body("this route does not accept this method"),
    )
        .into_response()
}

/// Rejects an unknown `X-Prequel-Api-Version`; a missing one means
/// [`API_VERSION`].
async fn check_api_version(request: Request, next: Next) -> Response {
    if let Some(value) = request.headers().get("x-prequel-api-version")
        && value.as_bytes() != API_VERSION.as_bytes()
    {
        let message =
            format!("unsupported X-Prequel-Api-Version; the supported version is {API_VERSION}");
        return (StatusCode::BAD_REQUEST, error_body(message)).into_response();
    }
    next.run(request).await
}

/// Gives an enveloped JSON body to any error response that lacks one, such as
/// rejections produced by layers.
async fn envelope_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }

    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large".to_owned(),
        other => other
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase(),
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let body = error_body(message).into_response().into_body();
    Response::from_parts(parts, body)
}
