//! `/metrics` parses as the Prometheus text format and its counters follow
//! the requests made here. The metrics are process-wide, so only one test
//! in this binary makes requests to the routes whose counters it checks.

mod common;

use common::db::Backend;
use common::flow::get_mint_body;
use common::prometheus::{self, Exposition};
use common::server::TestApp;
use scopegate::auth::api_key;
use scopegate::store::Environment;

const MINT_ROUTE: &str = "/actions/generate-scoped-auth-token";

async fn scrape(app: &TestApp) -> Exposition {
    let response = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let text = response.text().await.expect("body");
    prometheus::parse(&text).unwrap_or_else(|error| panic!("{error}\n{text}"))
}

async fn post_mint(app: &TestApp, key: Option<&str>) -> u16 {
    let mut request = app
        .client
        .post(app.url(MINT_ROUTE))
        .body(get_mint_body("tenant-a").to_string());
    if let Some(key) = key {
        request = request.header("X-API-KEY", key);
    }
    request.send().await.expect("mint").status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_requests() {
    let app = TestApp::start(Backend::Sqlite).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let before = scrape(&app).await;

    assert_eq!(post_mint(&app, Some(&key)).await, 200);
    assert_eq!(post_mint(&app, Some(&key)).await, 200);
    let unknown = api_key::generate(Environment::Staging).expect("key");
    assert_eq!(post_mint(&app, Some(unknown.secret.expose())).await, 401);
    assert_eq!(post_mint(&app, Some("sk_staging_short")).await, 401);
    assert_eq!(post_mint(&app, None).await, 401);
    let raw_path = "/no/such/route/7f3c";
    let status = app.client.get(app.url(raw_path)).send().await.expect("GET");
    assert_eq!(status.status().as_u16(), 404);

    let after = scrape(&app).await;
    let delta = |name: &str, labels: &[(&str, &str)]| {
        after.count(name, labels) - before.count(name, labels)
    };

    let minted = [("scope", "GET"), ("environment", "staging")];
    assert_eq!(delta("scopegate_tokens_minted_total", &minted), 2.0);

    let ok = [("method", "POST"), ("route", MINT_ROUTE), ("status", "200")];
    assert_eq!(delta("scopegate_http_requests_total", &ok), 2.0);
    assert_eq!(
        delta("scopegate_http_request_duration_seconds_count", &ok),
        2.0
    );
    let denied = [("method", "POST"), ("route", MINT_ROUTE), ("status", "401")];
    assert_eq!(delta("scopegate_http_requests_total", &denied), 3.0);
    let unmatched = [("method", "GET"), ("route", "unmatched"), ("status", "404")];
    assert_eq!(delta("scopegate_http_requests_total", &unmatched), 1.0);
    assert!(
        after
            .samples
            .iter()
            .all(|sample| sample.labels.values().all(|value| value != raw_path)),
        "a raw request path became a label value"
    );

    for (reason, expected) in [
        ("unknown_api_key", 1.0),
        ("invalid_api_key", 1.0),
        ("missing_credentials", 1.0),
    ] {
        let labels = [("reason", reason)];
        assert_eq!(
            delta("scopegate_auth_failures_total", &labels),
            expected,
            "{reason}"
        );
    }

    // The first use of the key reads the database, the second the cache.
    // The unknown key misses too; the malformed one never reaches the cache.
    assert_eq!(
        delta(
            "scopegate_api_key_cache_lookups_total",
            &[("result", "miss")]
        ),
        2.0
    );
    assert_eq!(
        delta(
            "scopegate_api_key_cache_lookups_total",
            &[("result", "hit")]
        ),
        1.0
    );

    assert_eq!(
        after.value("scopegate_db_pool_max_connections", &[]),
        Some(16.0),
        "the pool of the test database has 16 connections"
    );
    let size = after
        .value("scopegate_db_pool_connections", &[])
        .expect("pool size");
    let idle = after
        .value("scopegate_db_pool_idle_connections", &[])
        .expect("idle connections");
    assert!(size >= 1.0, "pool size {size}");
    assert!(idle <= size, "idle {idle} exceeds pool size {size}");
    assert_eq!(
        after.types.get("scopegate_db_acquire_wait_seconds"),
        Some(&"histogram".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_negotiate_openmetrics() {
    let app = TestApp::start(Backend::Sqlite).await;
    let response = app
        .client
        .get(app.url("/metrics"))
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let text = response.text().await.expect("body");
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[test]
fn parser_rejects_malformed_text() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 2\n";
    assert!(prometheus::parse(good).is_ok());
    assert!(
        prometheus::parse("a_total 1\n").is_err(),
        "sample before TYPE"
    );
    let unquoted = "# TYPE a counter\na{x=1} 1\n";
    assert!(prometheus::parse(unquoted).is_err(), "unquoted label value");
    let bad_value = "# TYPE a counter\na one\n";
    assert!(
        prometheus::parse(bad_value).is_err(),
        "value is not a number"
    );
    let histogram =
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n";
    assert!(prometheus::parse(histogram).is_err(), "decreasing buckets");
}
