//! The proxy over HTTP against a stand-in for scopegate's mint route that
//! records each request and returns a configured response.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use reqwest::header::{HeaderValue, SET_COOKIE};
use scopegate_backend_proxy::app::{self, AppState};
use scopegate_backend_proxy::config::Config;
use scopegate_backend_proxy::users::Users;
use serde_json::{Value, json};
use tokio::net::TcpListener;

const APP_ORIGIN: &str = "http://127.0.0.1:5999";
const OTHER_ORIGIN: &str = "http://127.0.0.1:6999";
const API_KEY: &str = "sk_staging_proxy_test_key";

/// One request the stand-in received: its X-API-KEY header and JSON body.
#[derive(Debug, Clone)]
struct MintCall {
    api_key: Option<String>,
    body: Value,
}

#[derive(Clone)]
struct StandIn {
    calls: Arc<Mutex<Vec<MintCall>>>,
    answer: Arc<Mutex<(StatusCode, Value)>>,
}

impl StandIn {
    fn calls(&self) -> Vec<MintCall> {
        self.calls.lock().unwrap().clone()
    }

    fn answer_with(&self, status: StatusCode, body: Value) {
        *self.answer.lock().unwrap() = (status, body);
    }
}

async fn stand_in_mint(
    State(stand_in): State<StandIn>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> impl IntoResponse {
    let api_key = headers
        .get("x-api-key")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    stand_in
        .calls
        .lock()
        .unwrap()
        .push(MintCall { api_key, body });
    let (status, answer) = stand_in.answer.lock().unwrap().clone();
    (status, Json(answer))
}

async fn serve(router: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    format!("http://{address}")
}

struct Harness {
    proxy_url: String,
    stand_in: StandIn,
    client: reqwest::Client,
}

async fn start(extra_env: &[(&str, &str)]) -> Harness {
    let stand_in = StandIn {
        calls: Arc::new(Mutex::new(Vec::new())),
        answer: Arc::new(Mutex::new((
            StatusCode::OK,
            json!({"status": "success", "data": {"scoped_token": "token-from-stand-in"}, "message": ""}),
        ))),
    };
    let scopegate_url = serve(
        Router::new()
            .route("/actions/generate-scoped-auth-token", post(stand_in_mint))
            .with_state(stand_in.clone()),
    )
    .await;

    let mut variables: HashMap<String, String> = HashMap::from([
        ("SCOPEGATE_URL".to_owned(), scopegate_url),
        ("SCOPEGATE_API_KEY".to_owned(), API_KEY.to_owned()),
        ("APP_ORIGIN".to_owned(), APP_ORIGIN.to_owned()),
    ]);
    for (name, value) in extra_env {
        variables.insert((*name).to_owned(), (*value).to_owned());
    }
    let config = Config::from_lookup(|name| variables.get(name).cloned()).unwrap();
    let users = Users::load(&config.users_file).unwrap();
    let state = AppState::new(&config, users).unwrap();
    let proxy_url = serve(app::router(state).unwrap()).await;

    Harness {
        proxy_url,
        stand_in,
        client: reqwest::Client::new(),
    }
}

impl Harness {
    /// Logs in and returns the `name=value` pair of the session cookie.
    async fn login(&self, username: &str, password: &str) -> String {
        let response = self
            .client
            .post(format!("{}/login", self.proxy_url))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "login of {username} failed"
        );
        let set_cookie = response
            .headers()
            .get(SET_COOKIE)
            .expect("login sets a cookie");
        cookie_pair(set_cookie)
    }

    async fn auth_token(&self, cookie: Option<&str>, body: &str) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(format!("{}/auth-token", self.proxy_url))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }
}

fn cookie_pair(set_cookie: &HeaderValue) -> String {
    let text = set_cookie.to_str().unwrap();
    text.split(';').next().unwrap().trim().to_owned()
}

#[tokio::test]
async fn auth_token_requires_session() {
    let harness = start(&[]).await;

    let (status, body) = harness.auth_token(None, "{}").await;

    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"].as_str().unwrap().contains("log in"), "{body}");
    assert!(
        harness.stand_in.calls().is_empty(),
        "no mint without a session"
    );
}

#[tokio::test]
async fn auth_token_forces_session_tenant() {
    let harness = start(&[]).await;
    let cookie = harness.login("bob", "bob-demo-password").await;
    let browser_body = json!({
        "vendor": "postgres",
        "name": "Warehouse",
        "id_in_provider_system": "tenant-a",
        "recipient_id": "6f0c3c47-3f4b-4d8a-9a54-3f5a3b2f8d11",
    });

    let (status, body) = harness
        .auth_token(Some(&cookie), &browser_body.to_string())
        .await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"scoped_token": "token-from-stand-in"}));
    let calls = harness.stand_in.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].api_key.as_deref(), Some(API_KEY));
    assert_eq!(
        calls[0].body,
        json!({
            "application_origin": APP_ORIGIN,
            "destination": {"vendor": "postgres", "name": "Warehouse", "id_in_provider_system": "tenant-b"},
        })
    );
}

#[tokio::test]
async fn auth_token_empty_body_mints_identity() {
    let harness = start(&[]).await;
    let cookie = harness.login("alice", "alice-demo-password").await;

    for body in ["{}", "null"] {
        let (status, answer) = harness.auth_token(Some(&cookie), body).await;

        assert_eq!(status, StatusCode::OK, "body {body}: {answer}");
    }
    let destinations: Vec<Value> = harness
        .stand_in
        .calls()
        .into_iter()
        .map(|call| call.body["destination"].clone())
        .collect();
    assert_eq!(
        destinations,
        vec![
            json!({"id_in_provider_system": "tenant-a"}),
            json!({"id_in_provider_system": "tenant-a"})
        ]
    );
}

#[tokio::test]
async fn auth_token_rejects_array_body() {
    let harness = start(&[]).await;
    let cookie = harness.login("alice", "alice-demo-password").await;

    let (status, _) = harness.auth_token(Some(&cookie), "[]").await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(harness.stand_in.calls().is_empty());
}

#[tokio::test]
async fn unsafe_mode_forwards_browser_tenant() {
    let harness = start(&[("UNSAFE_TRUST_BROWSER_TENANT", "1")]).await;
    let cookie = harness.login("bob", "bob-demo-password").await;

    let (status, _) = harness
        .auth_token(Some(&cookie), r#"{"id_in_provider_system": "tenant-a"}"#)
        .await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        harness.stand_in.calls()[0].body["destination"]["id_in_provider_system"],
        "tenant-a"
    );
}

#[tokio::test]
async fn login_wrong_password_rejected() {
    let harness = start(&[]).await;

    let response = harness
        .client
        .post(format!("{}/login", harness.proxy_url))
        .json(&json!({"username": "alice", "password": "bob-demo-password"}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get(SET_COOKIE).is_none());
}

#[tokio::test]
async fn session_cookie_flags() {
    let harness = start(&[]).await;

    let response = harness
        .client
        .post(format!("{}/login", harness.proxy_url))
        .json(&json!({"username": "alice", "password": "alice-demo-password"}))
        .send()
        .await
        .unwrap();
    let set_cookie = response
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();

    assert!(set_cookie.starts_with("demo_session="), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    assert!(set_cookie.contains("Path=/"), "{set_cookie}");
    assert!(
        !set_cookie.contains("Secure"),
        "an http app origin gets no Secure flag: {set_cookie}"
    );
    assert_eq!(body, json!({"username": "alice", "tenant": "tenant-a"}));
}

#[tokio::test]
async fn tampered_cookie_rejected() {
    let harness = start(&[]).await;
    let cookie = harness.login("alice", "alice-demo-password").await;
    let tampered = cookie.replace("alice", "bob");

    let valid = harness
        .client
        .get(format!("{}/session", harness.proxy_url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let rejected = harness
        .client
        .get(format!("{}/session", harness.proxy_url))
        .header("cookie", &tampered)
        .send()
        .await
        .unwrap();

    assert_ne!(cookie, tampered, "the cookie value names the user");
    assert_eq!(valid.status(), StatusCode::OK);
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cookie_from_other_key_rejected() {
    let harness = start(&[]).await;
    let other = start(&[]).await;
    let cookie = other.login("alice", "alice-demo-password").await;

    let (status, _) = harness.auth_token(Some(&cookie), "{}").await;

    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_removes_cookie() {
    let harness = start(&[]).await;
    let cookie = harness.login("alice", "alice-demo-password").await;

    let response = harness
        .client
        .post(format!("{}/logout", harness.proxy_url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let set_cookie = response
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(set_cookie.starts_with("demo_session=;"), "{set_cookie}");
    assert!(set_cookie.contains("Max-Age=0"), "{set_cookie}");
}

#[tokio::test]
async fn cors_allows_only_app_origin() {
    let harness = start(&[]).await;

    let mut answers = Vec::new();
    for origin in [APP_ORIGIN, OTHER_ORIGIN] {
        let response = harness
            .client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/auth-token", harness.proxy_url),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
            .await
            .unwrap();
        answers.push(response.headers().clone());
    }

    assert_eq!(
        answers[0].get("access-control-allow-origin").unwrap(),
        APP_ORIGIN
    );
    assert_eq!(
        answers[0].get("access-control-allow-credentials").unwrap(),
        "true"
    );
    assert!(answers[1].get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn foreign_origin_post_rejected() {
    let harness = start(&[]).await;
    let cookie = harness.login("alice", "alice-demo-password").await;

    let response = harness
        .client
        .post(format!("{}/auth-token", harness.proxy_url))
        .header("content-type", "application/json")
        .header("origin", OTHER_ORIGIN)
        .header("cookie", &cookie)
        .body("{}")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(harness.stand_in.calls().is_empty());
}

#[tokio::test]
async fn mint_rejection_passed_on() {
    let harness = start(&[]).await;
    let cookie = harness.login("alice", "alice-demo-password").await;
    harness.stand_in.answer_with(
        StatusCode::BAD_REQUEST,
        json!({"status": "error", "data": null, "message": "destination.vendor is required"}),
    );

    let (status, body) = harness.auth_token(Some(&cookie), r#"{"name": "x"}"#).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"error": "destination.vendor is required"}));
}

#[tokio::test]
async fn api_key_rejection_is_bad_gateway() {
    let harness = start(&[]).await;
    let cookie = harness.login("alice", "alice-demo-password").await;
    harness.stand_in.answer_with(
        StatusCode::UNAUTHORIZED,
        json!({"status": "error", "data": null, "message": "invalid X-API-KEY: revoked"}),
    );

    let (status, body) = harness.auth_token(Some(&cookie), "{}").await;

    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(body, json!({"error": "the token service is unavailable"}));
}
