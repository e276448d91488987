//! Health and readiness endpoints, request ids, and responses while the
//! database does not respond.

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::db::{Backend, TestDb};
use common::flow::get_mint_body;
use common::server::{TestApp, read, test_config};
use scopegate::app::AppState;
use scopegate::auth::api_key;
use scopegate::crypto::MasterKey;
use scopegate::store::Environment;
use scopegate::store::postgres::PostgresStore;
use serde_json::{Value, json};

async fn healthz_reports_ok(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (status, body) = read(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .expect("GET"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "success");
    assert_eq!(body["data"], json!({"status": "ok"}));
}

async fn readyz_reports_ready(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (status, body) = read(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .expect("GET"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "success");
    assert_eq!(body["data"], json!({"status": "ok"}));
}

async fn request_id_is_echoed(backend: Backend) {
    let app = TestApp::start(backend).await;
    let sent = "trace-4a1b9c";
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", sent)
        .send()
        .await
        .expect("GET");
    assert_eq!(
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some(sent)
    );
}

async fn request_id_is_generated(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut seen = Vec::new();
    for path in ["/healthz", "/no-such-route"] {
        let response = app.client.get(app.url(path)).send().await.expect("GET");
        let id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{path}: no x-request-id in the response"))
            .to_owned();
        assert!(
            uuid::Uuid::parse_str(&id).is_ok(),
            "{path}: {id} is not a UUID"
        );
        seen.push(id);
    }
    assert_ne!(seen[0], seen[1], "two requests got the same id");
}

/// Serves a real app whose store points at a listener that accepts TCP
/// connections but never responds, as a hung database server does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_that_never_answers_gives_503() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_address = silent.local_addr().expect("address");

    let db = TestDb::new(Backend::Sqlite).await;
    let data_dir = tempfile::tempdir().expect("data directory");
    let config = test_config(&[("SCOPEGATE_DB_ACQUIRE_TIMEOUT", "1")], data_dir.path());
    let (master_key, _) = MasterKey::generate().expect("master key");
    let mut state = AppState::new(config, db.store.clone(), master_key)
        .await
        .expect("state");
    let url = format!("postgres://postgres@{silent_address}/scopegate");
    let hung = PostgresStore::connect_lazy(&url, 2, Duration::from_secs(1)).expect("pool");
    state.store = Arc::new(hung);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let server = tokio::spawn(scopegate::startup::serve(
        listener,
        state,
        std::future::pending(),
    ));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");

    let started = Instant::now();
    let response = client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("GET");
    let elapsed = started.elapsed();
    assert_eq!(response.status().as_u16(), 503);
    assert!(elapsed < Duration::from_secs(4), "/readyz took {elapsed:?}");
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );
    let (_, body) = read(response).await;
    assert_eq!(body["status"], "error");
    assert_eq!(body["data"], Value::Null);

    let key = api_key::generate(Environment::Staging).expect("key");
    let started = Instant::now();
    let response = client
        .post(format!("{base}/actions/generate-scoped-auth-token"))
        .header("X-API-KEY", key.secret.expose())
        .body(get_mint_body("tenant-a").to_string())
        .send()
        .await
        .expect("POST");
    let elapsed = started.elapsed();
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert!(
        elapsed < Duration::from_secs(4),
        "the mint took {elapsed:?}"
    );

    let (status, _) = read(
        client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .expect("GET"),
    )
    .await;
    assert_eq!(status, 200, "liveness must not depend on the database");
    server.abort();
}

on_both_backends!(
    healthz_reports_ok,
    readyz_reports_ready,
    request_id_is_echoed,
    request_id_is_generated,
);
