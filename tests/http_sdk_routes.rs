//! Rejections of every SDK route: wrong scope, other tenant, other
//! environment, forbidden changes, tokens bound to another destination and
//! bad cursors; on both store backends.

#[macro_use]
mod common;

use common::db::Backend;
use common::flow::{APP_ID, PASSWORD, get_mint_body, mint_body, prepared_destination};
use common::server::{TestApp, read};
use reqwest::Method;
use scopegate::store::Environment;
use serde_json::{Value, json};

on_both_backends!(
    patch_rules_hold,
    delete_needs_bound_token,
    transfers_follow_scope,
    transfer_pages_and_cursor,
    transfer_status_transitions,
    catalog_reads_need_get_scope,
    models_follow_recipient_products,
    routes_hide_other_tenants,
    connection_test_refuses_internal_addresses,
    ssh_key_is_generated_and_limited,
);

/// Creates a destination for `tenant` as the SDK does; returns it.
async fn create_for(app: &TestApp, key: &str, tenant: &str, name: &str) -> Value {
    let destination = prepared_destination(name);
    let token = app.mint_token(key, &mint_body(tenant, &destination)).await;
    let body = json!({ "destination": destination });
    let (status, answer) = app
        .sdk_request(Method::POST, "/destinations", &token, APP_ID, Some(&body))
        .await;
    assert_eq!(status, 200, "create failed: {answer}");
    answer["data"]["destination"].clone()
}

/// Mints a token from `destination` for `tenant`, as a backend does for the
/// SDK's update, delete and transfer hooks.
async fn token_for(app: &TestApp, key: &str, tenant: &str, destination: &Value) -> String {
    app.mint_token(key, &mint_body(tenant, destination)).await
}

async fn server(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app
        .client
        .request(method, app.url(path))
        .header("X-API-KEY", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    read(request.send().await.expect("request")).await
}

fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap_or_default()
}

async fn patch_rules_hold(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let created = create_for(&app, &key, "tenant-a", "warehouse").await;
    let id = created["id"].as_str().expect("id");
    let path = format!("/export/destinations/{id}");

    // A rename, minted from the changed fields only, as useUpdateDestination does.
    let rename = json!({"name": "renamed"});
    let token = token_for(&app, &key, "tenant-a", &rename).await;
    let (status, body) = app
        .sdk_request(
            Method::PATCH,
            &path,
            &token,
            APP_ID,
            Some(&json!({"destination": rename})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["destination"]["name"], "renamed");
    assert_eq!(
        body["data"]["destination"]["postgres"]["host"],
        "warehouse.example.com"
    );

    // The stored password survives an update that omits it.
    let stored = app
        .state
        .store
        .get_destination(
            scopegate::store::Tenant {
                organization_id: uuid::Uuid::parse_str(
                    common::flow::segment(&token, 1)["org"]
                        .as_str()
                        .expect("org"),
                )
                .expect("uuid"),
                environment: Environment::Staging,
            },
            uuid::Uuid::parse_str(id).expect("uuid"),
        )
        .await
        .expect("get")
        .expect("stored");
    let secrets =
        scopegate::destination::open_secrets(&app.state.master_key, &stored).expect("open");
    assert_eq!(secrets["postgres"]["password_auth"]["password"], PASSWORD);

    // Host and bucket_name cannot change with a scoped token, at any depth.
    for change in [
        json!({"postgres": {"host": "attacker.example.com"}}),
        json!({"host": "attacker.example.com"}),
        json!({"s3": {"bucket_name": "other-bucket"}}),
    ] {
        let token = token_for(&app, &key, "tenant-a", &change).await;
        let (status, body) = app
            .sdk_request(
                Method::PATCH,
                &path,
                &token,
                APP_ID,
                Some(&json!({"destination": change})),
            )
            .await;
        assert_eq!(status, 403, "{body}");
        assert!(message(&body).contains("cannot change"), "{body}");
    }

    // The body must be exactly what the token was minted from.
    let token = token_for(&app, &key, "tenant-a", &json!({"name": "one"})).await;
    let (status, body) = app
        .sdk_request(
            Method::PATCH,
            &path,
            &token,
            APP_ID,
            Some(&json!({"destination": {"name": "two"}})),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        message(&body).contains("differs from the token: name"),
        "{body}"
    );

    // A GET token may send an empty body and gets the destination back.
    let get_token = app.mint_token(&key, &get_mint_body("tenant-a")).await;
    let (status, body) = app
        .sdk_request(
            Method::PATCH,
            &path,
            &get_token,
            APP_ID,
            Some(&json!({"destination": {}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["destination"]["name"], "renamed");
    let (status, body) = app
        .sdk_request(
            Method::PATCH,
            &path,
            &get_token,
            APP_ID,
            Some(&json!({"destination": {"name": "x"}})),
        )
        .await;
    assert_eq!(status, 403, "{body}");

    // An API key may change the host.
    let (status, body) = server(
        &app,
        &key,
        Method::PATCH,
        &format!("/destinations/{id}"),
        Some(json!({"destination": {"postgres": {"host": "new-host.example.com"}}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["destination"]["postgres"]["host"],
        "new-host.example.com"
    );
}

async fn delete_needs_bound_token(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let first = create_for(&app, &key, "tenant-a", "first").await;
    let second = create_for(&app, &key, "tenant-a", "second").await;
    let first_path = format!("/destinations/{}", first["id"].as_str().expect("id"));

    let get_token = app.mint_token(&key, &get_mint_body("tenant-a")).await;
    let (status, body) = app
        .sdk_request(Method::DELETE, &first_path, &get_token, APP_ID, None)
        .await;
    assert_eq!(status, 403, "{body}");

    let bound_to_second = token_for(&app, &key, "tenant-a", &second).await;
    let (status, body) = app
        .sdk_request(Method::DELETE, &first_path, &bound_to_second, APP_ID, None)
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(message(&body).contains("not bound"), "{body}");

    let bound_to_first = token_for(&app, &key, "tenant-a", &first).await;
    let (status, body) = app
        .sdk_request(Method::DELETE, &first_path, &bound_to_first, APP_ID, None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!({}));

    let (status, _) = app
        .sdk_request(Method::DELETE, &first_path, &bound_to_first, APP_ID, None)
        .await;
    assert_eq!(status, 404);

    let (status, body) = app
        .sdk_request(
            Method::DELETE,
            "/destinations/not-a-uuid",
            &bound_to_first,
            APP_ID,
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

async fn record_transfer(app: &TestApp, key: &str, destination_id: &str, body: Value) -> Value {
    let (status, answer) = server(
        app,
        key,
        Method::POST,
        &format!("/destinations/{destination_id}/transfers"),
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    answer["data"]["transfer"].clone()
}

async fn transfers_follow_scope(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let first = create_for(&app, &key, "tenant-a", "first").await;
    let second = create_for(&app, &key, "tenant-a", "second").await;
    let first_id = first["id"].as_str().expect("id");
    record_transfer(
        &app,
        &key,
        first_id,
        json!({"status": "SUCCESS", "rows_transferred": 5}),
    )
    .await;
    let path = format!("/export/destinations/{first_id}/transfers?count=5");

    let get_token = app.mint_token(&key, &get_mint_body("tenant-a")).await;
    let (status, body) = app
        .sdk_request(Method::GET, &path, &get_token, APP_ID, None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["transfers"][0]["rows_transferred"], 5);

    // useGetTransfers mints from the whole destination: a POST token bound
    // to that destination may read its transfers, not another's.
    let bound = token_for(&app, &key, "tenant-a", &first).await;
    let (status, body) = app
        .sdk_request(Method::GET, &path, &bound, APP_ID, None)
        .await;
    assert_eq!(status, 200, "{body}");
    let other = token_for(&app, &key, "tenant-a", &second).await;
    let (status, body) = app
        .sdk_request(Method::GET, &path, &other, APP_ID, None)
        .await;
    assert_eq!(status, 403, "{body}");

    let (status, body) = app
        .sdk_request(
            Method::GET,
            &format!("/export/destinations/{first_id}/transfers?count=0"),
            &get_token,
            APP_ID,
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = app
        .sdk_request(
            Method::GET,
            &format!("/export/destinations/{first_id}/transfers?status=DONE"),
            &get_token,
            APP_ID,
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("DONE"), "{body}");

    // Scoped tokens cannot record transfers.
    let (status, _) = app
        .sdk_request(
            Method::POST,
            &format!("/destinations/{first_id}/transfers"),
            &get_token,
            APP_ID,
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, 403);
}

async fn transfer_pages_and_cursor(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let destination = create_for(&app, &key, "tenant-a", "warehouse").await;
    let id = destination["id"].as_str().expect("id");
    let base = chrono::Utc::now() - chrono::Duration::hours(1);
    let mut expected = Vec::new();
    for minute in 0..7 {
        let submitted_at = base + chrono::Duration::minutes(minute);
        let transfer = record_transfer(
            &app,
            &key,
            id,
            json!({"status": "SUCCESS", "submitted_at": submitted_at.to_rfc3339()}),
        )
        .await;
        expected.push(transfer["id"].as_str().expect("id").to_owned());
    }
    expected.reverse();

    let token = app.mint_token(&key, &get_mint_body("tenant-a")).await;
    let mut path = format!("/export/destinations/{id}/transfers?page_size=3");
    let mut seen = Vec::new();
    for _ in 0..10 {
        let (status, body) = app
            .sdk_request(Method::GET, &path, &token, APP_ID, None)
            .await;
        assert_eq!(status, 200, "{body}");
        for transfer in body["data"]["transfers"].as_array().expect("transfers") {
            seen.push(transfer["id"].as_str().expect("id").to_owned());
        }
        if body["has_next"] != true {
            assert!(body["next_url"].is_null());
            break;
        }
        let next = body["next_url"].as_str().expect("next_url");
        assert!(
            !next.split('?').nth(1).unwrap_or_default().contains('+'),
            "{next}"
        );
        path = next.to_owned();
    }
    assert_eq!(seen, expected);

    for cursor in ["%%%", "bm90LWpzb24=", "eyJpZCI6ICJ4In0="] {
        let (status, body) = app
            .sdk_request(
                Method::GET,
                &format!("/export/destinations/{id}/transfers?cursor={cursor}"),
                &token,
                APP_ID,
                None,
            )
            .await;
        assert_eq!(status, 400, "{cursor}: {body}");
        assert!(message(&body).contains("cursor"), "{body}");
    }
    let (status, _) = app
        .sdk_request(
            Method::GET,
            &format!("/export/destinations/{id}/transfers?page_size=101"),
            &token,
            APP_ID,
            None,
        )
        .await;
    assert_eq!(status, 400);
}

async fn transfer_status_transitions(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let destination = create_for(&app, &key, "tenant-a", "warehouse").await;
    let transfer = record_transfer(
        &app,
        &key,
        destination["id"].as_str().expect("id"),
        json!({}),
    )
    .await;
    assert_eq!(transfer["status"], "PENDING");
    let path = format!("/transfers/{}", transfer["id"].as_str().expect("id"));

    let (status, body) = server(
        &app,
        &key,
        Method::PATCH,
        &path,
        Some(json!({"status": "RUNNING", "started_at": "2030-01-01T00:00:00Z"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let metrics =
        json!([{"model_name": "orders", "rows_transferred": 10, "volume_transferred_in_mb": 1.5}]);
    let (status, body) = server(&app, &key, Method::PATCH, &path, Some(json!({"status": "SUCCESS", "ended_at": "2030-01-01T00:10:00Z", "rows_transferred": 10, "model_metrics": metrics}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["transfer"]["model_metrics"], metrics);

    let (status, body) = server(
        &app,
        &key,
        Method::PATCH,
        &path,
        Some(json!({"status": "RUNNING"})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = server(
        &app,
        &key,
        Method::PATCH,
        &path,
        Some(json!({"status": "FINISHED"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = server(
        &app,
        &key,
        Method::PATCH,
        &path,
        Some(json!({"rows_transferred": -1})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("rows_transferred"));
}

async fn catalog_reads_need_get_scope(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let destination = prepared_destination("warehouse");
    let post_token = token_for(&app, &key, "tenant-a", &destination).await;
    let get_token = app.mint_token(&key, &get_mint_body("tenant-a")).await;

    for path in [
        "/export/models",
        "/export/products",
        "/export/models-for-recipient",
        "/models",
        "/products",
    ] {
        let (status, body) = app
            .sdk_request(Method::GET, path, &post_token, APP_ID, None)
            .await;
        assert_eq!(status, 403, "{path}: {body}");
        let (status, body) = app
            .sdk_request(Method::GET, path, &get_token, APP_ID, None)
            .await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, _) = app
        .sdk_request(
            Method::POST,
            "/models",
            &get_token,
            APP_ID,
            Some(&json!({"model_name": "x"})),
        )
        .await;
    assert_eq!(status, 403);
}

async fn models_follow_recipient_products(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    for name in ["orders", "customers", "events"] {
        let (status, body) = server(&app, &key, Method::POST, "/models", Some(json!({"model_name": name, "columns": [{"name_in_source": "id", "data_type": "text"}]}))).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = server(
        &app,
        &key,
        Method::POST,
        "/models",
        Some(json!({"model_name": "orders"})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = server(
        &app,
        &key,
        Method::POST,
        "/products",
        Some(json!({"product_name": "sales", "models": ["orders", "customers"]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server(
        &app,
        &key,
        Method::POST,
        "/products",
        Some(json!({"product_name": "broken", "models": ["nope"]})),
    )
    .await;
    assert_eq!(status, 400, "{body}");

    let created = create_for(&app, &key, "tenant-a", "warehouse").await;
    let token = app.mint_token(&key, &get_mint_body("tenant-a")).await;
    let names = |body: &Value| -> Vec<String> {
        body["data"]["models"]
            .as_array()
            .expect("models")
            .iter()
            .map(|m| m["model_name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let (_, body) = app
        .sdk_request(
            Method::GET,
            "/export/models-for-recipient",
            &token,
            APP_ID,
            None,
        )
        .await;
    assert_eq!(names(&body), ["customers", "events", "orders"]);

    let recipient = created["recipient_id"].as_str().expect("recipient_id");
    let (status, body) = server(
        &app,
        &key,
        Method::PATCH,
        &format!("/recipients/{recipient}"),
        Some(json!({"products": ["sales"]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = app
        .sdk_request(
            Method::GET,
            "/export/models-for-recipient",
            &token,
            APP_ID,
            None,
        )
        .await;
    assert_eq!(names(&body), ["customers", "orders"]);

    let (status, body) = server(
        &app,
        &key,
        Method::PATCH,
        &format!("/recipients/{recipient}"),
        Some(json!({"products": ["unknown"]})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

async fn routes_hide_other_tenants(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let production = app.api_key("acme", Environment::Production).await;
    let other_org = app.api_key("globex", Environment::Staging).await;
    let created = create_for(&app, &key, "tenant-a", "warehouse").await;
    let id = created["id"].as_str().expect("id");
    record_transfer(&app, &key, id, json!({})).await;

    // Another customer of the same organization.
    let tenant_b = app.mint_token(&key, &get_mint_body("tenant-b")).await;
    let tenant_b_change = token_for(&app, &key, "tenant-b", &json!({"name": "stolen"})).await;
    let probes = [
        (
            Method::GET,
            format!("/export/destinations/{id}/transfers?count=1"),
            tenant_b.clone(),
            None,
        ),
        (
            Method::PATCH,
            format!("/export/destinations/{id}"),
            tenant_b_change.clone(),
            Some(json!({"destination": {"name": "stolen"}})),
        ),
        (
            Method::POST,
            format!("/export/destinations/{id}/test-connection"),
            tenant_b.clone(),
            Some(json!({"destination": {}})),
        ),
        (
            Method::DELETE,
            format!("/destinations/{id}"),
            tenant_b_change.clone(),
            None,
        ),
    ];
    for (method, path, token, body) in probes {
        let (status, answer) = app
            .sdk_request(method.clone(), &path, &token, APP_ID, body.as_ref())
            .await;
        assert_eq!(status, 404, "{method} {path}: {answer}");
    }

    // Another environment and another organization: tokens and API keys.
    for other_key in [&production, &other_org] {
        let token = app.mint_token(other_key, &get_mint_body("tenant-a")).await;
        let (status, answer) = app
            .sdk_request(
                Method::GET,
                &format!("/export/destinations/{id}/transfers?count=1"),
                &token,
                APP_ID,
                None,
            )
            .await;
        assert_eq!(status, 404, "{answer}");
        let (status, answer) = server(
            &app,
            other_key,
            Method::PATCH,
            &format!("/destinations/{id}"),
            Some(json!({"destination": {"name": "x"}})),
        )
        .await;
        assert_eq!(status, 404, "{answer}");
        let (status, answer) = server(
            &app,
            other_key,
            Method::DELETE,
            &format!("/destinations/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 404, "{answer}");
        let (status, answer) = server(
            &app,
            other_key,
            Method::POST,
            &format!("/destinations/{id}/transfers"),
            Some(json!({})),
        )
        .await;
        assert_eq!(status, 404, "{answer}");
    }

    // The destination is untouched.
    let (_, body) = server(
        &app,
        &key,
        Method::GET,
        "/destinations-for-recipient?id_in_provider_system=tenant-a",
        None,
    )
    .await;
    assert_eq!(body["data"]["destinations"][0]["name"], "warehouse");
}

async fn connection_test_refuses_internal_addresses(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    for host in [
        "127.0.0.1",
        "localhost",
        "10.0.0.5",
        "169.254.169.254",
        "[::1]",
    ] {
        let mut destination = prepared_destination("probe");
        destination["postgres"]["host"] = json!(host);
        let token = token_for(&app, &key, "tenant-a", &destination).await;
        let (status, body) = app
            .sdk_request(
                Method::POST,
                "/test-destination",
                &token,
                APP_ID,
                Some(&json!({"destination": destination})),
            )
            .await;
        assert_eq!(status, 200, "{host}: {body}");
        assert_eq!(body["status"], "success");
        assert_eq!(body["data"]["status"], "error", "{host}: {body}");
        assert_eq!(
            body["data"]["error"]["error_code"], "address_not_allowed",
            "{host}: {body}"
        );
    }

    // A GET token cannot test new settings.
    let get_token = app.mint_token(&key, &get_mint_body("tenant-a")).await;
    let (status, _) = app
        .sdk_request(
            Method::POST,
            "/test-destination",
            &get_token,
            APP_ID,
            Some(&json!({"destination": prepared_destination("x")})),
        )
        .await;
    assert_eq!(status, 403);
}

async fn ssh_key_is_generated_and_limited(backend: Backend) {
    let app = TestApp::start_with(backend, &[("SCOPEGATE_SSH_KEY_RATE_LIMIT", "2")]).await;
    let generate = || app.client.post(app.url("/actions/generate-ssh-key")).send();

    let (status, body) = read(generate().await.expect("request")).await;
    assert_eq!(status, 200, "{body}");
    let openssh = body["data"]["public_key"].as_str().expect("public_key");
    assert!(openssh.starts_with("ssh-rsa "), "{openssh}");
    let pkcs8 = body["data"]["public_key_pkcs8"]
        .as_str()
        .expect("public_key_pkcs8");
    assert!(pkcs8.starts_with("-----BEGIN PUBLIC KEY-----"), "{pkcs8}");
    let stored = app
        .state
        .store
        .find_ssh_key(openssh)
        .await
        .expect("find")
        .expect("stored");
    let context = scopegate::routes::ssh_seal_context(stored.id);
    assert!(
        app.state
            .master_key
            .open(&context, &stored.private_key_encrypted)
            .is_ok()
    );

    let (status, _) = read(generate().await.expect("request")).await;
    assert_eq!(status, 200);
    let response = generate().await.expect("request");
    assert!(response.headers().contains_key("retry-after"));
    let (status, body) = read(response).await;
    assert_eq!(status, 429, "{body}");
}
