//! Tests of `test_destination`. Connections go only to 127.0.0.1: listeners
//! that the tests bind themselves and the local PostgreSQL on port 5432
//! (user `postgres` with trust authentication, database `test`).

use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

use super::*;

const TIMEOUT: Duration = Duration::from_secs(5);

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("expected an object, got {other}"),
    }
}

fn postgres_destination(host: &str, port: u16, database: &str) -> Map<String, Value> {
    object(json!({
        "vendor": "postgres",
        "name": "Warehouse",
        "postgres": {
            "host": host,
            "port": port,
            "database": database,
            "schema": "public",
            "auth_method": "password_auth",
            "password_auth": {"username": "postgres", "password": "unused-with-trust"},
            "disable_ssl": true
        }
    }))
}

fn allow_loopback() -> NetworkPolicy {
    NetworkPolicy::parse("127.0.0.1/32").unwrap()
}

fn failure_message(verdict: &Verdict) -> &str {
    match verdict {
        Verdict::Failed { message, .. } => message,
        Verdict::Ok => panic!("expected a failed verdict"),
    }
}

/// Returns a port on 127.0.0.1 that nothing listens on, by binding and
/// closing a listener.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

/// Asserts that `listener` has no pending connection.
async fn assert_never_accepted(listener: &TcpListener) {
    let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "the listener accepted a connection");
}

#[test]
fn verdict_ok_json() {
    assert_eq!(
        serde_json::to_value(Verdict::Ok).unwrap(),
        json!({"status": "success"})
    );
}

#[test]
fn verdict_failed_json() {
    let verdict = Verdict::Failed {
        error_code: ErrorCode::HostNotFound,
        title: "Host not found".to_owned(),
        blame: Blame::Destination,
        message: "The host db.example.com was not found in DNS.".to_owned(),
    };
    let expected = json!({
        "status": "error",
        "error": {
            "error_code": "host_not_found",
            "title": "Host not found",
            "blame": "destination",
            "message": "The host db.example.com was not found in DNS."
        }
    });
    assert_eq!(serde_json::to_value(&verdict).unwrap(), expected);
}

#[test]
fn error_code_names_match_json() {
    let codes = [
        ErrorCode::InvalidSettings,
        ErrorCode::AddressNotAllowed,
        ErrorCode::HostNotFound,
        ErrorCode::Timeout,
        ErrorCode::ConnectionRefused,
        ErrorCode::AuthenticationFailed,
        ErrorCode::DatabaseNotFound,
        ErrorCode::ConnectionFailed,
        ErrorCode::NotSupported,
    ];
    for code in codes {
        assert_eq!(serde_json::to_value(code).unwrap(), json!(code.as_str()));
    }
}

#[test]
fn redactor_removes_nested_secrets() {
    let destination = object(json!({
        "postgres": {
            "host": "db.example.com",
            "password_auth": {"username": "exporter", "password": "hunter2"},
            "ssh_tunnel": {"private_key": "KEYDATA"}
        },
        "service_account_key": {"client_email": "sa@example.com", "private_key": "PK"}
    }));
    let redactor = Redactor::from_destination(&destination);

    let text = "hunter2 at db.example.com with KEYDATA and sa@example.com";
    let redacted = redactor.redact(text);
    assert_eq!(
        redacted,
        "[redacted] at db.example.com with [redacted] and [redacted]"
    );
}

#[test]
fn redactor_prefers_longer_secret() {
    let destination = object(json!({"password": "abc", "token": "abcdef"}));
    let redactor = Redactor::from_destination(&destination);
    assert_eq!(redactor.redact("xabcdefx abc"), "x[redacted]x [redacted]");
}

#[test]
fn format_duration_units() {
    assert_eq!(format_duration(Duration::from_secs(5)), "5 seconds");
    assert_eq!(format_duration(Duration::from_secs(1)), "1 second");
    assert_eq!(format_duration(Duration::from_millis(250)), "250 ms");
    assert_eq!(format_duration(Duration::from_millis(1500)), "1500 ms");
}

#[tokio::test]
async fn missing_settings_are_invalid() {
    let policy = NetworkPolicy::default();
    let cases = [
        (
            "postgres",
            json!({"vendor": "postgres", "postgres": {"port": 5432, "username": "u"}}),
        ),
        (
            "postgres",
            json!({"vendor": "postgres", "postgres": {"host": "h", "username": "u"}}),
        ),
        (
            "postgres",
            json!({"vendor": "postgres", "postgres": {"host": "h", "port": 5432}}),
        ),
        (
            "postgres",
            json!({"host": "h", "port": 70000, "username": "u"}),
        ),
        ("mysql", json!({"vendor": "mysql", "mysql": {"port": 3306}})),
        (
            "snowflake",
            json!({"vendor": "snowflake", "snowflake": {"host": ""}}),
        ),
    ];
    for (vendor, destination) in cases {
        let verdict =
            test_destination(vendor, &object(destination.clone()), &policy, TIMEOUT).await;
        assert_eq!(
            verdict.error_code(),
            Some(ErrorCode::InvalidSettings),
            "{destination}: {verdict:?}"
        );
    }
}

#[tokio::test]
async fn invalid_host_text_is_invalid_settings() {
    let destination =
        object(json!({"host": "postgres://db.example.com", "port": 5432, "username": "u"}));
    let verdict =
        test_destination("postgres", &destination, &NetworkPolicy::default(), TIMEOUT).await;
    assert_eq!(
        verdict.error_code(),
        Some(ErrorCode::InvalidSettings),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn bucket_without_host_not_supported() {
    for vendor in ["s3", "gcs", "abs"] {
        let mut destination = object(json!({"vendor": vendor}));
        destination.insert(
            vendor.to_owned(),
            json!({"bucket_name": "exports", "secret_key": "SECRET"}),
        );
        let verdict =
            test_destination(vendor, &destination, &NetworkPolicy::default(), TIMEOUT).await;
        let Verdict::Failed {
            error_code,
            blame,
            message,
            ..
        } = &verdict
        else {
            panic!("{vendor}: expected a failed verdict");
        };
        assert_eq!(*error_code, ErrorCode::NotSupported, "{vendor}");
        assert_eq!(*blame, Blame::Scopegate, "{vendor}");
        assert!(message.contains("bucket access"), "{vendor}: {message}");
    }
}

#[tokio::test]
async fn hostless_vendor_not_supported() {
    let destination = object(json!({
        "vendor": "bigquery",
        "bigquery": {"project_id": "analytics", "service_account_key": {"private_key": "PK"}}
    }));
    let verdict =
        test_destination("bigquery", &destination, &NetworkPolicy::default(), TIMEOUT).await;
    assert_eq!(
        verdict.error_code(),
        Some(ErrorCode::NotSupported),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn default_policy_never_connects_to_loopback() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let policy = NetworkPolicy::default();

    let destination = postgres_destination("127.0.0.1", port, "test");
    let verdict = test_destination("postgres", &destination, &policy, TIMEOUT).await;
    assert_eq!(
        verdict.error_code(),
        Some(ErrorCode::AddressNotAllowed),
        "{verdict:?}"
    );
    assert!(
        failure_message(&verdict).contains("resolves to a loopback address"),
        "{verdict:?}"
    );

    let tcp_destination =
        object(json!({"vendor": "mysql", "mysql": {"host": "127.0.0.1", "port": port}}));
    let tcp_verdict = test_destination("mysql", &tcp_destination, &policy, TIMEOUT).await;
    assert_eq!(
        tcp_verdict.error_code(),
        Some(ErrorCode::AddressNotAllowed),
        "{tcp_verdict:?}"
    );

    assert_never_accepted(&listener).await;
}

#[tokio::test]
async fn default_policy_refuses_local_postgres() {
    let destination = postgres_destination("127.0.0.1", 5432, "test");
    let verdict =
        test_destination("postgres", &destination, &NetworkPolicy::default(), TIMEOUT).await;
    assert_eq!(
        verdict.error_code(),
        Some(ErrorCode::AddressNotAllowed),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn default_policy_refuses_localhost_name() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();

    let destination = postgres_destination("localhost", port, "test");
    let verdict =
        test_destination("postgres", &destination, &NetworkPolicy::default(), TIMEOUT).await;
    assert_eq!(
        verdict.error_code(),
        Some(ErrorCode::AddressNotAllowed),
        "{verdict:?}"
    );
    assert!(
        failure_message(&verdict).contains("localhost"),
        "{verdict:?}"
    );

    assert_never_accepted(&listener).await;
}

#[tokio::test]
async fn allowed_loopback_postgres_succeeds() {
    let destination = postgres_destination("127.0.0.1", 5432, "test");
    let verdict = test_destination("postgres", &destination, &allow_loopback(), TIMEOUT).await;
    assert_eq!(verdict, Verdict::Ok);
}

#[tokio::test]
async fn allowed_loopback_postgres_flat_form() {
    let destination = object(json!({
        "vendor": "postgres",
        "host": "127.0.0.1",
        "port": "5432",
        "username": "postgres",
        "database": "test",
        "disable_ssl": true
    }));
    let verdict = test_destination("postgres", &destination, &allow_loopback(), TIMEOUT).await;
    assert_eq!(verdict, Verdict::Ok);
}

#[tokio::test]
async fn allowed_loopback_postgres_with_ssl_prefer() {
    let mut destination = postgres_destination("127.0.0.1", 5432, "test");
    if let Some(Value::Object(settings)) = destination.get_mut("postgres") {
        settings.remove("disable_ssl");
    }
    let verdict = test_destination("postgres", &destination, &allow_loopback(), TIMEOUT).await;
    assert_eq!(verdict, Verdict::Ok);
}

#[tokio::test]
async fn wrong_database_is_database_not_found() {
    let destination = postgres_destination("127.0.0.1", 5432, "scopegate_missing_database");
    let verdict = test_destination("postgres", &destination, &allow_loopback(), TIMEOUT).await;
    assert_eq!(
        verdict.error_code(),
        Some(ErrorCode::DatabaseNotFound),
        "{verdict:?}"
    );
    assert!(
        failure_message(&verdict).contains("scopegate_missing_database"),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn unknown_role_is_authentication_failed() {
    let destination = object(json!({
        "vendor": "postgres",
        "postgres": {
            "host": "127.0.0.1",
            "port": 5432,
            "database": "test",
            "username": "scopegate_missing_role",
            "disable_ssl": true
        }
    }));
    let verdict = test_destination("postgres", &destination, &allow_loopback(), TIMEOUT).await;
    assert_eq!(
        verdict.error_code(),
        Some(ErrorCode::AuthenticationFailed),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn message_never_contains_password() {
    // The database name equals the password, so the server's error and the
    // message would both contain the password without redaction.
    let secret = "scopegate_secret_9f2c";
    let destination = object(json!({
        "vendor": "postgres",
        "postgres": {
            "host": "127.0.0.1",
            "port": 5432,
            "database": secret,
            "password_auth": {"username": "postgres", "password": secret},
            "disable_ssl": true
        }
    }));
    let verdict = test_destination("postgres", &destination, &allow_loopback(), TIMEOUT).await;
    assert_eq!(
        verdict.error_code(),
        Some(ErrorCode::DatabaseNotFound),
        "{verdict:?}"
    );

    let json = serde_json::to_string(&verdict).unwrap();
    assert!(!json.contains(secret), "{json}");
    assert!(json.contains("[redacted]"), "{json}");
}

#[tokio::test]
async fn closed_port_is_connection_refused() {
    let port = closed_port().await;

    let destination = postgres_destination("127.0.0.1", port, "test");
    let verdict = test_destination("postgres", &destination, &allow_loopback(), TIMEOUT).await;
    assert_eq!(
        verdict.error_code(),
        Some(ErrorCode::ConnectionRefused),
        "{verdict:?}"
    );

    let tcp_destination =
        object(json!({"vendor": "clickhouse", "clickhouse": {"host": "127.0.0.1", "port": port}}));
    let tcp_verdict =
        test_destination("clickhouse", &tcp_destination, &allow_loopback(), TIMEOUT).await;
    assert_eq!(
        tcp_verdict.error_code(),
        Some(ErrorCode::ConnectionRefused),
        "{tcp_verdict:?}"
    );
}

#[tokio::test]
async fn tcp_vendor_reaches_own_listener() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();

    let destination = object(json!({
        "vendor": "snowflake",
        "snowflake": {"host": "127.0.0.1", "port": port.to_string(), "password": "pw"}
    }));
    let verdict = test_destination("snowflake", &destination, &allow_loopback(), TIMEOUT).await;
    assert_eq!(verdict, Verdict::Ok);

    let accepted = tokio::time::timeout(Duration::from_secs(1), listener.accept()).await;
    assert!(
        matches!(accepted, Ok(Ok(_))),
        "the listener saw no connection"
    );
}

#[tokio::test]
async fn silent_postgres_listener_times_out() {
    // The listener accepts TCP connections but never replies to the startup
    // message, so the test must end at the timeout.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            sockets.push(socket);
        }
    });

    let destination = postgres_destination("127.0.0.1", port, "test");
    let started = std::time::Instant::now();
    let verdict = test_destination(
        "postgres",
        &destination,
        &allow_loopback(),
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(
        verdict.error_code(),
        Some(ErrorCode::Timeout),
        "{verdict:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );

    server.abort();
}

#[tokio::test]
async fn timeout_is_capped() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            sockets.push(socket);
        }
    });

    let destination = postgres_destination("127.0.0.1", port, "test");
    let verdict = test_destination(
        "postgres",
        &destination,
        &allow_loopback(),
        Duration::from_secs(60),
    )
    .await;
    assert!(
        failure_message(&verdict).contains("after 5 seconds"),
        "{verdict:?}"
    );

    server.abort();
}
