//! The server-side API for API keys: key lifecycle and roles, signing-key
//! rotation, audit events, recipients and destination listings, on both
//! store backends.

#[macro_use]
mod common;

use std::time::Duration;

use common::db::Backend;
use common::flow::{APP_ID, get_mint_body, mint_body, prepared_destination, segment};
use common::server::{TestApp, read};
use reqwest::Method;
use scopegate::store::Environment;
use serde_json::{Value, json};

on_both_backends!(
    key_routes_need_admin,
    revoked_key_fails_at_once,
    rotated_key_works_until_grace_ends,
    signing_key_rotation_keeps_old_tokens,
    audit_events_record_and_filter,
    recipients_crud_and_isolation,
    destinations_list_pages,
    last_used_is_written_in_batches,
    master_key_rotation_reseals,
    server_routes_reject_bad_keys,
    catalog_is_isolated,
);

async fn call(
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

async fn key_routes_need_admin(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin_key("acme", Environment::Staging).await;
    let standard = app.api_key("acme", Environment::Staging).await;

    for (method, path) in [
        (Method::GET, "/api-keys"),
        (Method::POST, "/api-keys"),
        (Method::GET, "/signing-keys"),
        (Method::POST, "/signing-keys/rotate"),
        (Method::GET, "/audit-events"),
    ] {
        let (status, body) = call(&app, &standard, method.clone(), path, Some(json!({}))).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert!(message(&body).contains("admin"), "{body}");
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .expect("request");
        assert_eq!(
            response.status().as_u16(),
            401,
            "{method} {path} without a key"
        );
    }

    let (status, body) = call(
        &app,
        &admin,
        Method::POST,
        "/api-keys",
        Some(json!({"name": "ci", "role": "root"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("role"), "{body}");

    let (status, body) = call(
        &app,
        &admin,
        Method::POST,
        "/api-keys",
        Some(json!({"name": "ci"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let created = body["data"]["key"].as_str().expect("full key").to_owned();
    assert_eq!(body["data"]["api_key"]["role"], "standard");
    let (status, _) = app.mint(&created, &get_mint_body("tenant-a")).await;
    assert_eq!(status, 200, "the created key works");

    let (status, body) = call(&app, &admin, Method::GET, "/api-keys", None).await;
    assert_eq!(status, 200, "{body}");
    let listed = body["data"]["api_keys"].as_array().expect("keys");
    assert_eq!(listed.len(), 3);
    assert!(
        !body.to_string().contains(&created),
        "a listing shows a full key"
    );
    for field in [
        "id",
        "name",
        "role",
        "display_prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked",
    ] {
        assert!(
            listed[0].get(field).is_some(),
            "{field} missing: {}",
            listed[0]
        );
    }

    // Another organization's key reads as not found.
    let other = app.admin_key("globex", Environment::Staging).await;
    let id = body["data"]["api_keys"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, body) = call(
        &app,
        &other,
        Method::POST,
        &format!("/api-keys/{id}/revoke"),
        None,
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = call(
        &app,
        &admin,
        Method::POST,
        "/api-keys/not-a-uuid/revoke",
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

async fn revoked_key_fails_at_once(backend: Backend) {
    // A long cache lifetime: revocation must still apply at once here.
    let app = TestApp::start_with(backend, &[("SCOPEGATE_API_KEY_CACHE_TTL", "600")]).await;
    let admin = app.admin_key("acme", Environment::Staging).await;
    let (_, body) = call(&app, &admin, Method::POST, "/api-keys", Some(json!({}))).await;
    let key = body["data"]["key"].as_str().expect("key").to_owned();
    let id = body["data"]["api_key"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, _) = app.mint(&key, &get_mint_body("tenant-a")).await;
    assert_eq!(status, 200);

    let (status, body) = call(
        &app,
        &admin,
        Method::POST,
        &format!("/api-keys/{id}/revoke"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["api_key"]["revoked"], true);
    let (status, body) = app.mint(&key, &get_mint_body("tenant-a")).await;
    assert_eq!(status, 401, "{body}");
    assert!(message(&body).contains("revoked"), "{body}");
}

async fn rotated_key_works_until_grace_ends(backend: Backend) {
    let app = TestApp::start_with(backend, &[("SCOPEGATE_API_KEY_CACHE_TTL", "600")]).await;
    let admin = app.admin_key("acme", Environment::Staging).await;
    let (_, body) = call(
        &app,
        &admin,
        Method::POST,
        "/api-keys",
        Some(json!({"name": "deploy"})),
    )
    .await;
    let old_key = body["data"]["key"].as_str().expect("key").to_owned();
    let id = body["data"]["api_key"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, _) = app.mint(&old_key, &get_mint_body("tenant-a")).await;
    assert_eq!(status, 200);

    let (status, body) = call(
        &app,
        &admin,
        Method::POST,
        &format!("/api-keys/{id}/rotate"),
        Some(json!({"grace_period_seconds": 99_999_999})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("grace_period_seconds"), "{body}");

    let (status, body) = call(
        &app,
        &admin,
        Method::POST,
        &format!("/api-keys/{id}/rotate"),
        Some(json!({"grace_period_seconds": 2})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let new_key = body["data"]["key"].as_str().expect("new key").to_owned();
    assert_eq!(body["data"]["api_key"]["name"], "deploy");
    assert!(
        body["data"]["previous_api_key"]["expires_at"].is_string(),
        "{body}"
    );

    for key in [&old_key, &new_key] {
        let (status, body) = app.mint(key, &get_mint_body("tenant-a")).await;
        assert_eq!(status, 200, "within the grace period: {body}");
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, body) = app.mint(&old_key, &get_mint_body("tenant-a")).await;
    assert_eq!(status, 401, "{body}");
    assert!(message(&body).contains("expired"), "{body}");
    let (status, _) = app.mint(&new_key, &get_mint_body("tenant-a")).await;
    assert_eq!(status, 200);
}

async fn signing_key_rotation_keeps_old_tokens(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin_key("acme", Environment::Staging).await;
    let before = app.mint_token(&admin, &get_mint_body("tenant-a")).await;
    let old_kid = segment(&before, 0)["kid"].clone();

    let (status, body) = call(&app, &admin, Method::POST, "/signing-keys/rotate", None).await;
    assert_eq!(status, 200, "{body}");
    let new_kid = body["data"]["signing_key"]["kid"].clone();
    assert_ne!(new_kid, old_kid);

    let after = app.mint_token(&admin, &get_mint_body("tenant-a")).await;
    assert_eq!(
        segment(&after, 0)["kid"],
        new_kid,
        "a token minted after rotation carries the new kid"
    );
    for token in [&before, &after] {
        let (status, body) = app
            .sdk_request(
                Method::GET,
                "/destinations-for-recipient",
                token,
                APP_ID,
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, jwks) = read(
        app.client
            .get(app.url("/.well-known/jwks.json"))
            .send()
            .await
            .expect("jwks"),
    )
    .await;
    let kids: Vec<&Value> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| &key["kid"])
        .collect();
    assert!(
        kids.contains(&&old_kid) && kids.contains(&&new_kid),
        "{jwks}"
    );

    let (_, body) = call(&app, &admin, Method::GET, "/signing-keys", None).await;
    let states: Vec<(&Value, &Value)> = body["data"]["signing_keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| (&key["kid"], &key["state"]))
        .collect();
    assert!(states.contains(&(&old_kid, &json!("verifying"))), "{body}");
    assert!(states.contains(&(&new_kid, &json!("active"))), "{body}");

    // Past the retention, the old key is retired and its tokens fail.
    let ring = scopegate::auth::keys::refresh(
        &app.state.store,
        &app.state.master_key,
        chrono::Duration::zero(),
    )
    .await
    .expect("refresh");
    app.state.key_ring.replace(ring);
    let (status, body) = app
        .sdk_request(
            Method::GET,
            "/destinations-for-recipient",
            &before,
            APP_ID,
            None,
        )
        .await;
    assert_eq!(status, 401, "{body}");
    let (_, jwks) = read(
        app.client
            .get(app.url("/.well-known/jwks.json"))
            .send()
            .await
            .expect("jwks"),
    )
    .await;
    assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(1), "{jwks}");
}

async fn audit_events_record_and_filter(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin_key("acme", Environment::Staging).await;
    let destination = prepared_destination("warehouse");
    let post_token = app
        .mint_token(&admin, &mint_body("tenant-a", &destination))
        .await;
    let get_token = app.mint_token(&admin, &get_mint_body("tenant-a")).await;
    let (status, _) = app
        .sdk_request(
            Method::POST,
            "/destinations",
            &get_token,
            APP_ID,
            Some(&json!({"destination": destination})),
        )
        .await;
    assert_eq!(status, 403);
    let (_, created) = call(&app, &admin, Method::POST, "/api-keys", Some(json!({}))).await;
    let created_id = created["data"]["api_key"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    call(
        &app,
        &admin,
        Method::POST,
        &format!("/api-keys/{created_id}/rotate"),
        Some(json!({"grace_period_seconds": 0})),
    )
    .await;
    call(
        &app,
        &admin,
        Method::POST,
        &format!("/api-keys/{created_id}/revoke"),
        None,
    )
    .await;
    app.state.audit.flush().await;

    let (status, body) = call(
        &app,
        &admin,
        Method::GET,
        "/audit-events?page_size=100",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let text = body.to_string();
    for token in [&post_token, &get_token] {
        assert!(
            !text.contains(token.as_str()),
            "an audit event contains a token"
        );
    }
    let actions: Vec<&str> = body["data"]["audit_events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|event| event["action"].as_str())
        .collect();
    for action in [
        "token.minted",
        "token.denied",
        "api_key.created",
        "api_key.rotated",
        "api_key.revoked",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }

    let (_, minted) = call(
        &app,
        &admin,
        Method::GET,
        "/audit-events?action=token.minted",
        None,
    )
    .await;
    let events = minted["data"]["audit_events"].as_array().expect("events");
    assert_eq!(events.len(), 2, "{minted}");
    let token_ids: Vec<&Value> = events
        .iter()
        .map(|event| &event["details"]["token_id"])
        .collect();
    assert!(
        token_ids.contains(&&segment(&post_token, 1)["jti"]),
        "{minted}"
    );
    assert_eq!(events[0]["details"]["origin"], "http://localhost:3000");

    let (_, denied) = call(
        &app,
        &admin,
        Method::GET,
        "/audit-events?action=token.denied",
        None,
    )
    .await;
    assert!(
        denied["data"]["audit_events"][0]["details"]["reason"]
            .as_str()
            .expect("reason")
            .contains("POST-scope"),
        "{denied}"
    );

    let recipient = segment(&get_token, 1)["rid"]
        .as_str()
        .expect("rid")
        .to_owned();
    let (_, by_recipient) = call(
        &app,
        &admin,
        Method::GET,
        &format!("/audit-events?recipient_id={recipient}"),
        None,
    )
    .await;
    assert!(
        by_recipient["data"]["audit_events"]
            .as_array()
            .expect("events")
            .len()
            >= 3,
        "{by_recipient}"
    );

    let (_, paged) = call(&app, &admin, Method::GET, "/audit-events?page_size=2", None).await;
    assert_eq!(paged["has_next"], true);
    let next = paged["next_url"].as_str().expect("next_url");
    let (status, _) = call(&app, &admin, Method::GET, next, None).await;
    assert_eq!(status, 200);

    let (status, body) = call(
        &app,
        &admin,
        Method::GET,
        "/audit-events?from=yesterday",
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("from"), "{body}");
    let (_, future) = call(
        &app,
        &admin,
        Method::GET,
        "/audit-events?from=2999-01-01T00:00:00Z",
        None,
    )
    .await;
    assert_eq!(future["data"]["audit_events"], json!([]));
}

async fn recipients_crud_and_isolation(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let production = app.api_key("acme", Environment::Production).await;

    let (status, body) = call(
        &app,
        &key,
        Method::POST,
        "/recipients",
        Some(json!({"name": "no id"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("id_in_provider_system"), "{body}");
    let (status, body) = call(
        &app,
        &key,
        Method::POST,
        "/recipients",
        Some(json!({"id_in_provider_system": "tenant-a", "name": "Tenant A"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = body["data"]["recipient"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, body) = call(
        &app,
        &key,
        Method::POST,
        "/recipients",
        Some(json!({"id_in_provider_system": "tenant-a"})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    for external in ["tenant-b", "tenant-c"] {
        call(
            &app,
            &key,
            Method::POST,
            "/recipients",
            Some(json!({"id_in_provider_system": external})),
        )
        .await;
    }

    let (_, body) = call(
        &app,
        &key,
        Method::GET,
        "/recipients?id_in_provider_system=tenant-a",
        None,
    )
    .await;
    assert_eq!(
        body["data"]["recipients"].as_array().map(Vec::len),
        Some(1),
        "{body}"
    );
    let (_, page) = call(&app, &key, Method::GET, "/recipients?page_size=2", None).await;
    assert_eq!(page["has_next"], true, "{page}");
    let (_, rest) = call(
        &app,
        &key,
        Method::GET,
        page["next_url"].as_str().expect("next"),
        None,
    )
    .await;
    assert_eq!(
        rest["data"]["recipients"].as_array().map(Vec::len),
        Some(1),
        "{rest}"
    );
    assert_eq!(rest["has_next"], false);

    let (status, body) = call(
        &app,
        &key,
        Method::PATCH,
        &format!("/recipients/{id}"),
        Some(json!({"name": "Renamed", "products": []})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["recipient"]["name"], "Renamed");
    let (status, body) = call(
        &app,
        &key,
        Method::PATCH,
        &format!("/recipients/{id}"),
        Some(json!({"name": 5})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("name"));

    // Another environment finds none of it.
    for (method, path) in [
        (Method::GET, format!("/recipients/{id}")),
        (Method::PATCH, format!("/recipients/{id}")),
        (Method::DELETE, format!("/recipients/{id}")),
    ] {
        let (status, body) = call(&app, &production, method.clone(), &path, Some(json!({}))).await;
        assert_eq!(status, 404, "{method} {path}: {body}");
    }

    // A recipient with destinations is kept unless the delete cascades.
    let destination = prepared_destination("warehouse");
    let token = app
        .mint_token(&key, &mint_body("tenant-a", &destination))
        .await;
    app.sdk_request(
        Method::POST,
        "/destinations",
        &token,
        APP_ID,
        Some(&json!({"destination": destination})),
    )
    .await;
    let (status, body) = call(
        &app,
        &key,
        Method::DELETE,
        &format!("/recipients/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(message(&body).contains("cascade=true"), "{body}");
    let (status, body) = call(
        &app,
        &key,
        Method::DELETE,
        &format!("/recipients/{id}?cascade=true"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = call(&app, &key, Method::GET, &format!("/recipients/{id}"), None).await;
    assert_eq!(status, 404);
    let (_, body) = call(&app, &key, Method::GET, "/destinations", None).await;
    assert_eq!(body["data"]["destinations"], json!([]), "{body}");
}

async fn destinations_list_pages(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let other = app.api_key("globex", Environment::Staging).await;
    for (tenant, name) in [("tenant-a", "a1"), ("tenant-b", "b1"), ("tenant-a", "a2")] {
        let destination = prepared_destination(name);
        let token = app.mint_token(&key, &mint_body(tenant, &destination)).await;
        let (status, body) = app
            .sdk_request(
                Method::POST,
                "/destinations",
                &token,
                APP_ID,
                Some(&json!({"destination": destination})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let names = |body: &Value| -> Vec<String> {
        body["data"]["destinations"]
            .as_array()
            .expect("destinations")
            .iter()
            .map(|d| d["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };

    let (_, first) = call(&app, &key, Method::GET, "/destinations?page_size=2", None).await;
    assert_eq!(names(&first), ["a1", "b1"]);
    let (_, second) = call(
        &app,
        &key,
        Method::GET,
        first["next_url"].as_str().expect("next"),
        None,
    )
    .await;
    assert_eq!(names(&second), ["a2"]);
    let (_, newest) = call(&app, &key, Method::GET, "/destinations?order=desc", None).await;
    assert_eq!(names(&newest), ["a2", "b1", "a1"]);
    let (_, only_a) = call(
        &app,
        &key,
        Method::GET,
        "/destinations?id_in_provider_system=tenant-a",
        None,
    )
    .await;
    assert_eq!(names(&only_a), ["a1", "a2"]);
    let (status, body) = call(
        &app,
        &key,
        Method::GET,
        "/destinations?order=sideways",
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (_, foreign) = call(&app, &other, Method::GET, "/destinations", None).await;
    assert_eq!(names(&foreign), Vec::<String>::new());
    let id = first["data"]["destinations"][0]["id"].as_str().expect("id");
    let (status, _) = call(
        &app,
        &other,
        Method::GET,
        &format!("/destinations/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = call(
        &app,
        &key,
        Method::GET,
        &format!("/destinations/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

async fn last_used_is_written_in_batches(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin_key("acme", Environment::Staging).await;
    let (_, body) = call(&app, &admin, Method::GET, "/api-keys", None).await;
    assert!(
        body["data"]["api_keys"][0]["last_used_at"].is_null(),
        "not written before a flush"
    );

    app.state.flush().await;
    let (_, body) = call(&app, &admin, Method::GET, "/api-keys", None).await;
    assert!(
        body["data"]["api_keys"][0]["last_used_at"].is_string(),
        "{body}"
    );
}

async fn master_key_rotation_reseals(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let destination = prepared_destination("warehouse");
    let token = app
        .mint_token(&key, &mint_body("tenant-a", &destination))
        .await;
    app.sdk_request(
        Method::POST,
        "/destinations",
        &token,
        APP_ID,
        Some(&json!({"destination": destination})),
    )
    .await;
    let generated = read(
        app.client
            .post(app.url("/actions/generate-ssh-key"))
            .send()
            .await
            .expect("ssh"),
    )
    .await;
    assert_eq!(generated.0, 200);

    // The old key is only "previous" now; a new key seals.
    let (new_key, _) = scopegate::crypto::MasterKey::generate().expect("key");
    let old_copy =
        scopegate::crypto::MasterKey::from_base64(&app.master_key_base64).expect("old key");
    let ring = new_key.with_previous(vec![old_copy]);
    let report = scopegate::rekey::reseal_all(&app.state.store, &ring)
        .await
        .expect("reseal");
    assert_eq!(
        report.resealed, 3,
        "signing key, destination secrets and SSH key: {report:?}"
    );
    let again = scopegate::rekey::reseal_all(&app.state.store, &ring)
        .await
        .expect("reseal");
    assert_eq!(again.resealed, 0);
    assert_eq!(again.current, 3);

    for value in app.state.store.list_sealed_values().await.expect("values") {
        assert!(
            ring.is_current(&value.sealed),
            "{value:?} still uses the old key"
        );
    }
}

/// Every route a server calls, with a path template; `{id}` is a fresh UUID.
const SERVER_ROUTES: [(&str, &str); 22] = [
    ("POST", "/actions/generate-scoped-auth-token"),
    ("GET", "/api-keys"),
    ("POST", "/api-keys"),
    ("GET", "/api-keys/{id}"),
    ("POST", "/api-keys/{id}/revoke"),
    ("POST", "/api-keys/{id}/rotate"),
    ("GET", "/signing-keys"),
    ("POST", "/signing-keys/rotate"),
    ("GET", "/audit-events"),
    ("GET", "/recipients"),
    ("POST", "/recipients"),
    ("PATCH", "/recipients/{id}"),
    ("DELETE", "/recipients/{id}"),
    ("GET", "/destinations"),
    ("POST", "/destinations/{id}/transfers"),
    ("GET", "/transfers"),
    ("PATCH", "/transfers/{id}"),
    ("POST", "/models"),
    ("PATCH", "/models/{id}"),
    ("DELETE", "/models/{id}"),
    ("POST", "/products"),
    ("DELETE", "/products/{id}"),
];

async fn server_routes_reject_bad_keys(backend: Backend) {
    let app = TestApp::start(backend).await;
    let valid = app.admin_key("acme", Environment::Staging).await;
    let mut wrong = valid.clone().into_bytes();
    let last = wrong.len() - 1;
    wrong[last] = if wrong[last] == b'a' { b'b' } else { b'a' };
    let wrong = String::from_utf8(wrong).expect("ascii");
    let unknown = scopegate::auth::api_key::generate(Environment::Staging).expect("key");

    for (method, template) in SERVER_ROUTES {
        let path = template.replace("{id}", &uuid::Uuid::new_v4().to_string());
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let response = app
            .client
            .request(method.clone(), app.url(&path))
            .json(&json!({}))
            .send()
            .await
            .expect("request");
        assert_eq!(
            response.status().as_u16(),
            401,
            "{method} {path} without a key"
        );
        for key in [wrong.as_str(), unknown.secret.expose()] {
            let (status, body) = call(&app, key, method.clone(), &path, Some(json!({}))).await;
            assert_eq!(status, 401, "{method} {path} with a bad key: {body}");
        }
    }
}

async fn catalog_is_isolated(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let production = app.api_key("acme", Environment::Production).await;
    let other_org = app.api_key("globex", Environment::Staging).await;

    let (status, body) = call(
        &app,
        &key,
        Method::POST,
        "/models",
        Some(json!({"description": "x"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("model_name"), "{body}");
    let (_, model) = call(
        &app,
        &key,
        Method::POST,
        "/models",
        Some(json!({"model_name": "orders"})),
    )
    .await;
    let model_id = model["data"]["model"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, body) = call(
        &app,
        &key,
        Method::POST,
        "/products",
        Some(json!({"models": []})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("product_name"), "{body}");
    let (_, product) = call(
        &app,
        &key,
        Method::POST,
        "/products",
        Some(json!({"product_name": "sales", "models": ["orders"]})),
    )
    .await;
    let product_id = product["data"]["product"]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    for other in [&production, &other_org] {
        for (method, path) in [
            (Method::PATCH, format!("/models/{model_id}")),
            (Method::DELETE, format!("/models/{model_id}")),
            (Method::PATCH, format!("/products/{product_id}")),
            (Method::DELETE, format!("/products/{product_id}")),
        ] {
            let (status, body) = call(
                &app,
                other,
                method.clone(),
                &path,
                Some(json!({"model_name": "x"})),
            )
            .await;
            assert_eq!(status, 404, "{method} {path}: {body}");
        }
        let (_, listed) = call(&app, other, Method::GET, "/models", None).await;
        assert_eq!(listed["data"]["models"], json!([]));
    }
    let (status, body) = call(
        &app,
        &key,
        Method::PATCH,
        &format!("/models/{model_id}"),
        Some(json!({"description": "Orders"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = call(
        &app,
        &key,
        Method::DELETE,
        &format!("/products/{product_id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
}
