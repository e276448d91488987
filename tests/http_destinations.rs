//! Creating and listing destinations with scoped tokens and API keys, on
//! both store backends.

#[macro_use]
mod common;

use common::db::Backend;
use common::flow::{APP_ID, PASSWORD, get_mint_body, mint_body, prepared_destination};
use common::server::{TestApp, read};
use reqwest::Method;
use scopegate::store::Environment;
use serde_json::{Value, json};

on_both_backends!(
    create_then_list_round_trip,
    scope_must_fit_route,
    body_must_match_token,
    customers_are_isolated,
    environments_are_isolated,
    api_key_creates_and_lists,
    errors_are_enveloped_json,
    secrets_are_not_stored_in_plaintext,
    concurrent_writes_all_succeed,
);

async fn create(app: &TestApp, token: &str, destination: &Value) -> (u16, Value) {
    let body = json!({ "destination": destination });
    app.sdk_request(Method::POST, "/destinations", token, APP_ID, Some(&body))
        .await
}

async fn list(app: &TestApp, token: &str) -> (u16, Value) {
    app.sdk_request(
        Method::GET,
        "/destinations-for-recipient",
        token,
        APP_ID,
        None,
    )
    .await
}

/// Creates a destination for `tenant` the way the SDK does and returns it.
async fn create_for(app: &TestApp, key: &str, tenant: &str, name: &str) -> Value {
    let destination = prepared_destination(name);
    let token = app.mint_token(key, &mint_body(tenant, &destination)).await;
    let (status, body) = create(app, &token, &destination).await;
    assert_eq!(status, 200, "create failed: {body}");
    body["data"]["destination"].clone()
}

async fn create_then_list_round_trip(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;

    let created = create_for(&app, &key, "tenant-a", "warehouse").await;
    assert_eq!(created["vendor"], "postgres");
    assert_eq!(created["name"], "warehouse");
    assert_eq!(created["id_in_provider_system"], "tenant-a");
    assert_eq!(created["postgres"]["host"], "warehouse.example.com");
    assert_eq!(
        created["postgres"]["password_auth"],
        json!({"username": "loader"})
    );
    assert_eq!(created["enabled_models"], json!(["orders"]));
    assert_eq!(created["is_enabled"], true);
    assert!(
        created["id"].is_string() && created["created_at"].is_string(),
        "{created}"
    );
    assert!(
        !created.to_string().contains(PASSWORD),
        "secret returned: {created}"
    );

    let token = app.mint_token(&key, &get_mint_body("tenant-a")).await;
    let (status, body) = list(&app, &token).await;
    assert_eq!(status, 200, "{body}");
    let destinations = body["data"]["destinations"]
        .as_array()
        .expect("destinations");
    assert_eq!(destinations.len(), 1);
    assert_eq!(destinations[0], created);
}

async fn scope_must_fit_route(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let destination = prepared_destination("warehouse");

    let get_token = app.mint_token(&key, &get_mint_body("tenant-a")).await;
    let (status, body) = create(&app, &get_token, &destination).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("POST-scope"),
        "{body}"
    );

    let post_token = app
        .mint_token(&key, &mint_body("tenant-a", &destination))
        .await;
    let (status, body) = list(&app, &post_token).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("GET-scope"),
        "{body}"
    );
}

async fn body_must_match_token(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let destination = prepared_destination("warehouse");
    let token = app
        .mint_token(&key, &mint_body("tenant-a", &destination))
        .await;

    let mut changed = destination.clone();
    changed["postgres"]["host"] = json!("attacker.example.com");
    let mut added = destination.clone();
    added["postgres"]["disable_ssl"] = json!(true);
    let mut removed = destination.clone();
    removed["postgres"]
        .as_object_mut()
        .expect("postgres")
        .remove("schema");
    let mut other_tenant = destination.clone();
    other_tenant["id_in_provider_system"] = json!("tenant-b");
    let mut secret_changed = destination.clone();
    secret_changed["postgres"]["password_auth"]["password"] = json!("another-password");

    let cases = [
        (changed, "differs from the token: postgres.host"),
        (added, "not in the token: postgres.disable_ssl"),
        (removed, "in the token but missing: postgres.schema"),
        (
            other_tenant,
            "destination.id_in_provider_system does not match",
        ),
        (
            secret_changed,
            "differs from the token: postgres.password_auth.password",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = create(&app, &token, &body).await;
        assert_eq!(status, 403, "{answer}");
        let message = answer["message"].as_str().expect("message");
        assert!(
            message.contains(expected),
            "{message:?} should contain {expected:?}"
        );
        assert!(
            !message.contains("attacker") && !message.contains("another-password"),
            "{message}"
        );
    }

    // The SDK's default destination sends empty identity strings.
    let mut with_empty_ids = destination.clone();
    with_empty_ids["recipient_id"] = json!("");
    with_empty_ids["id_in_provider_system"] = json!("");
    let empty_token = app
        .mint_token(&key, &mint_body("tenant-a", &with_empty_ids))
        .await;
    let (status, answer) = create(&app, &empty_token, &with_empty_ids).await;
    assert_eq!(status, 200, "{answer}");

    // Identity fields and nulls do not take part in the fingerprint.
    let mut with_identity = destination.clone();
    with_identity["id_in_provider_system"] = json!("tenant-a");
    with_identity["type"] = json!(1);
    let (status, answer) = create(&app, &token, &with_identity).await;
    assert_eq!(status, 200, "{answer}");
}

async fn customers_are_isolated(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    create_for(&app, &key, "tenant-a", "a-warehouse").await;
    create_for(&app, &key, "tenant-b", "b-warehouse").await;

    for (tenant, expected) in [("tenant-a", "a-warehouse"), ("tenant-b", "b-warehouse")] {
        let token = app.mint_token(&key, &get_mint_body(tenant)).await;
        let (status, body) = list(&app, &token).await;
        assert_eq!(status, 200);
        let names: Vec<&str> = body["data"]["destinations"]
            .as_array()
            .expect("destinations")
            .iter()
            .filter_map(|d| d["name"].as_str())
            .collect();
        assert_eq!(names, [expected], "{tenant} sees {names:?}");
    }

    let fresh = app.mint_token(&key, &get_mint_body("tenant-c")).await;
    let (_, body) = list(&app, &fresh).await;
    assert_eq!(body["data"]["destinations"], json!([]));
}

async fn environments_are_isolated(backend: Backend) {
    let app = TestApp::start(backend).await;
    let production = app.api_key("acme", Environment::Production).await;
    let staging = app.api_key("acme", Environment::Staging).await;
    let other_org = app.api_key("globex", Environment::Production).await;
    let created = create_for(&app, &production, "tenant-a", "prod-warehouse").await;

    for key in [&staging, &other_org] {
        let token = app.mint_token(key, &get_mint_body("tenant-a")).await;
        let (status, body) = list(&app, &token).await;
        assert_eq!(status, 200);
        assert_eq!(body["data"]["destinations"], json!([]), "{body}");

        // Naming the production destination or recipient by id finds nothing.
        let by_id = json!({
            "application_origin": "http://localhost:3000",
            "destination": {"id_in_provider_system": "tenant-a", "id": created["id"]},
        });
        let (status, body) = app.mint(key, &by_id).await;
        assert_eq!(status, 404, "{body}");
        let by_recipient = json!({
            "application_origin": "http://localhost:3000",
            "destination": {"recipient_id": created["recipient_id"]},
        });
        let (status, body) = app.mint(key, &by_recipient).await;
        assert_eq!(status, 404, "{body}");
    }
}

async fn api_key_creates_and_lists(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let mut destination = prepared_destination("server-made");
    destination["id_in_provider_system"] = json!("tenant-a");

    let response = app
        .client
        .post(app.url("/destinations"))
        .header("X-API-KEY", &key)
        .json(&json!({ "destination": destination }))
        .send()
        .await
        .expect("request");
    let (status, body) = read(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["destination"]["id_in_provider_system"],
        "tenant-a"
    );

    let list_url = app.url("/destinations-for-recipient?id_in_provider_system=tenant-a");
    let response = app
        .client
        .get(list_url)
        .header("X-API-KEY", &key)
        .send()
        .await
        .expect("list");
    let (status, body) = read(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["destinations"].as_array().map(Vec::len),
        Some(1)
    );

    let response = app
        .client
        .get(app.url("/destinations-for-recipient"))
        .header("X-API-KEY", &key)
        .send()
        .await
        .expect("list");
    let (status, body) = read(response).await;
    assert_eq!(status, 400, "{body}");

    let invalid = json!({"destination": {"id_in_provider_system": "tenant-a", "name": "x"}});
    let response = app
        .client
        .post(app.url("/destinations"))
        .header("X-API-KEY", &key)
        .json(&invalid)
        .send()
        .await
        .expect("request");
    let (status, body) = read(response).await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("destination.vendor")
    );
}

async fn errors_are_enveloped_json(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let token = app.mint_token(&key, &get_mint_body("tenant-a")).await;

    let not_found = app
        .client
        .get(app.url("/no/such/route"))
        .send()
        .await
        .expect("404");
    let (status, body) = read(not_found).await;
    assert_eq!(status, 404);
    assert_eq!(body["status"], "error");

    let wrong_method = app
        .client
        .put(app.url("/destinations"))
        .send()
        .await
        .expect("405");
    let (status, body) = read(wrong_method).await;
    assert_eq!(status, 405);
    assert_eq!(body["status"], "error");

    // Its own client: the server closes a connection whose body it did not
    // read, and a pooled connection would fail the next request.
    let oversized = "x".repeat(33 * 1024 * 1024);
    let too_large = reqwest::Client::new()
        .post(app.url("/destinations"))
        .header("X-API-KEY", &key)
        .body(oversized)
        .send()
        .await
        .expect("413");
    let (status, body) = read(too_large).await;
    assert_eq!(status, 413);
    assert_eq!(body["status"], "error");

    let unknown_version = app
        .client
        .get(app.url("/destinations-for-recipient"))
        .header("Authorization", format!("Bearer {token}"))
        .header("X-APP-ID", APP_ID)
        .header("X-Prequel-Api-Version", "2099-01-01")
        .send()
        .await
        .expect("version");
    let (status, body) = read(unknown_version).await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("2023-12-01")
    );

    let no_version = app
        .client
        .get(app.url("/destinations-for-recipient"))
        .header("Authorization", format!("Bearer {token}"))
        .header("X-APP-ID", APP_ID)
        .send()
        .await
        .expect("no version");
    assert_eq!(no_version.status().as_u16(), 200);
    assert!(no_version.headers().contains_key("x-request-id"));

    let duplicate = r#"{"destination": {"vendor": "postgres", "vendor": "mysql", "name": "w"}}"#;
    let response = app
        .client
        .post(app.url("/destinations"))
        .header("X-API-KEY", &key)
        .header("Content-Type", "text/plain;charset=UTF-8")
        .body(duplicate)
        .send()
        .await
        .expect("duplicate");
    let (status, body) = read(response).await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("duplicate member name \"vendor\"")
    );
}

async fn secrets_are_not_stored_in_plaintext(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let created = create_for(&app, &key, "tenant-a", "warehouse").await;
    let tenant = {
        let hash = scopegate::auth::api_key::hash_key(&key);
        let record = app
            .state
            .store
            .find_api_key_by_hash(&hash)
            .await
            .expect("lookup")
            .expect("key");
        record.tenant
    };
    let id = uuid::Uuid::parse_str(created["id"].as_str().expect("id")).expect("uuid");
    let stored = app
        .state
        .store
        .get_destination(tenant, id)
        .await
        .expect("get")
        .expect("stored");

    assert!(!stored.details.to_string().contains(PASSWORD));
    let sealed = stored.secrets.expect("secrets are stored");
    assert!(!String::from_utf8_lossy(&sealed).contains(PASSWORD));
    // The raw rows, read with SQL, hold no plaintext secret either.
    let rows: Vec<String> = match backend {
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.db.url).await.expect("connect");
            let rows = sqlx::query_scalar::<_, String>(
                "SELECT details::text || encode(coalesce(secrets, ''), 'escape') FROM destinations",
            )
            .fetch_all(&pool)
            .await
            .expect("raw rows");
            pool.close().await;
            rows
        }
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.db.url)
                .await
                .expect("connect");
            let rows = sqlx::query_as::<_, (String, Option<Vec<u8>>)>(
                "SELECT details, secrets FROM destinations",
            )
            .fetch_all(&pool)
            .await
            .expect("raw rows");
            pool.close().await;
            rows.into_iter()
                .map(|(details, secrets)| {
                    details + &String::from_utf8_lossy(&secrets.unwrap_or_default())
                })
                .collect()
        }
    };
    assert_eq!(rows.len(), 1);
    assert!(
        !rows[0].contains(PASSWORD),
        "plaintext secret in the raw row"
    );

    let context = format!("destination-secrets:{id}");
    let opened = app
        .state
        .master_key
        .open(context.as_bytes(), &sealed)
        .expect("open");
    assert!(String::from_utf8_lossy(&opened).contains(PASSWORD));
}

/// Requests in flight at once in the concurrency case.
const CONCURRENT_REQUESTS: usize = 40;

async fn concurrent_writes_all_succeed(backend: Backend) {
    let app = std::sync::Arc::new(TestApp::start(backend).await);
    let key = app.api_key("acme", Environment::Staging).await;

    let mut tasks = Vec::new();
    for index in 0..CONCURRENT_REQUESTS {
        let app = app.clone();
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            // Half the tasks share one tenant, so recipient creation races too.
            let tenant = if index % 2 == 0 {
                "shared".to_owned()
            } else {
                format!("tenant-{index}")
            };
            let destination = prepared_destination(&format!("warehouse-{index}"));
            let token = app
                .mint_token(&key, &mint_body(&tenant, &destination))
                .await;
            create(&app, &token, &destination).await
        }));
    }
    for task in tasks {
        let (status, body) = task.await.expect("task");
        assert_eq!(status, 200, "{body}");
    }

    let token = app.mint_token(&key, &get_mint_body("shared")).await;
    let (_, body) = list(&app, &token).await;
    assert_eq!(
        body["data"]["destinations"].as_array().map(Vec::len),
        Some(CONCURRENT_REQUESTS / 2)
    );
}
