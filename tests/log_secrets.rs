//! Captures every log line of a full token round trip and checks that no
//! API key, token or destination password appears in them.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::db::Backend;
use common::flow::{APP_ID, PASSWORD, get_mint_body, mint_body, prepared_destination};
use common::server::TestApp;
use reqwest::Method;
use scopegate::store::Environment;
use serde_json::json;

const NEW_PASSWORD: &str = "a-second-secret-value";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("capture lock")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("capture lock")).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_logs_no_secret() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug,scopegate=trace")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    for backend in Backend::ALL {
        let app = TestApp::start_with(
            backend,
            &[("SCOPEGATE_CONNECTION_TEST_ALLOW", "127.0.0.1/32")],
        )
        .await;
        let key = app.api_key("acme", Environment::Staging).await;
        // The local PostgreSQL, so connection tests run end to end.
        let mut destination = prepared_destination("warehouse");
        destination["postgres"]["host"] = json!("127.0.0.1");
        destination["postgres"]["database"] = json!("test");
        destination["postgres"]["password_auth"]["username"] = json!("postgres");

        let post_token = app
            .mint_token(&key, &mint_body("tenant-a", &destination))
            .await;
        let body = json!({ "destination": destination });
        let (status, _) = app
            .sdk_request(
                Method::POST,
                "/destinations",
                &post_token,
                APP_ID,
                Some(&body),
            )
            .await;
        assert_eq!(status, 200);

        let get_token = app.mint_token(&key, &get_mint_body("tenant-a")).await;
        let (status, _) = app
            .sdk_request(
                Method::GET,
                "/destinations-for-recipient",
                &get_token,
                APP_ID,
                None,
            )
            .await;
        assert_eq!(status, 200);

        // Rejections log their reason; the credential must still stay out.
        let (status, _) = app
            .sdk_request(
                Method::POST,
                "/destinations",
                &get_token,
                APP_ID,
                Some(&body),
            )
            .await;
        assert_eq!(status, 403);
        let (status, _) = app
            .sdk_request(
                Method::GET,
                "/destinations-for-recipient",
                &get_token,
                "localhost:9",
                None,
            )
            .await;
        assert_eq!(status, 401);
        let mut bad_key = key.clone();
        bad_key.pop();
        let (status, _) = app.mint(&bad_key, &get_mint_body("tenant-a")).await;
        assert_eq!(status, 401);

        let logs = capture.text();
        assert!(
            logs.contains("minted scoped token"),
            "logs were not captured"
        );
        for (what, secret) in [
            ("API key", key.as_str()),
            ("truncated API key", bad_key.as_str()),
            ("POST token", post_token.as_str()),
            ("GET token", get_token.as_str()),
            (
                "token signature",
                get_token.rsplit('.').next().expect("signature"),
            ),
            ("password", PASSWORD),
            ("changed password", NEW_PASSWORD),
        ] {
            assert!(
                !logs.contains(secret),
                "{what} appears in the logs ({})",
                backend.name()
            );
        }
        app.stop().await;
    }
}
