//! CORS preflights: accepted for configured origins and origins a mint
//! vouched for, never with a wildcard, never a 401.

#[macro_use]
mod common;

use common::db::Backend;
use common::flow::get_mint_body;
use common::server::TestApp;
use scopegate::store::Environment;

on_both_backends!(preflight_follows_vouched_origins);

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(
            reqwest::Method::OPTIONS,
            app.url("/destinations-for-recipient"),
        )
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "GET")
        .header(
            "Access-Control-Request-Headers",
            "authorization,x-app-id,x-prequel-api-version",
        )
        .send()
        .await
        .expect("preflight")
}

async fn preflight_follows_vouched_origins(backend: Backend) {
    let app = TestApp::start_with(
        backend,
        &[("SCOPEGATE_CORS_ORIGINS", "https://admin.example.com")],
    )
    .await;
    let key = app.api_key("acme", Environment::Staging).await;

    let unknown = preflight(&app, "http://localhost:3000").await;
    assert!(
        unknown.status().is_success(),
        "a preflight is never an authentication failure"
    );
    assert!(
        unknown
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    // The mint body names http://localhost:3000, so the first party vouched for it.
    app.mint_token(&key, &get_mint_body("tenant-a")).await;
    let vouched = preflight(&app, "http://localhost:3000").await;
    assert!(vouched.status().is_success());
    let headers = vouched.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:3000"
    );
    assert!(headers.get("access-control-allow-credentials").is_none());
    let allowed_headers = headers["access-control-allow-headers"]
        .to_str()
        .expect("text")
        .to_ascii_lowercase();
    for header in [
        "authorization",
        "content-type",
        "x-app-id",
        "x-prequel-api-version",
    ] {
        assert!(
            allowed_headers.contains(header),
            "{header} missing from {allowed_headers}"
        );
    }
    let methods = headers["access-control-allow-methods"]
        .to_str()
        .expect("text");
    for method in ["GET", "POST", "PATCH", "DELETE"] {
        assert!(methods.contains(method), "{method} missing from {methods}");
    }
    assert!(headers.get_all("vary").iter().any(|v| {
        v.to_str()
            .unwrap_or("")
            .to_ascii_lowercase()
            .contains("origin")
    }));

    let configured = preflight(&app, "https://admin.example.com").await;
    assert_eq!(
        configured.headers()["access-control-allow-origin"],
        "https://admin.example.com"
    );

    for other in [
        "http://localhost:3001",
        "https://localhost:3000",
        "http://evil.localhost:3000",
        "null",
    ] {
        let response = preflight(&app, other).await;
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{other} was allowed"
        );
    }
}
