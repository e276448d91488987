//! Minting and verifying scoped tokens over HTTP, on both store backends.

#[macro_use]
mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::db::Backend;
use common::flow::{
    APP_ID, APP_ORIGIN, PASSWORD, get_mint_body, mint_body, prepared_destination, segment,
};
use common::server::{TestApp, read};
use reqwest::Method;
use scopegate::auth::token::sign_parts;
use scopegate::store::Environment;
use serde_json::{Value, json};

on_both_backends!(
    mint_answers_token_and_scope,
    mint_rejects_bad_api_keys,
    mint_rejects_invalid_requests,
    forged_tokens_are_rejected,
    app_id_must_match_origin,
    token_carries_no_credential,
    jwks_publishes_signing_key,
    revoked_key_is_rejected_after_cache,
);

async fn list(app: &TestApp, token: &str, app_id: &str) -> (u16, Value) {
    app.sdk_request(
        Method::GET,
        "/destinations-for-recipient",
        token,
        app_id,
        None,
    )
    .await
}

async fn mint_answers_token_and_scope(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;

    let (status, body) = app.mint(&key, &get_mint_body("tenant-a")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "success");
    assert_eq!(body["data"]["scope"], "GET");
    assert!(body["data"]["expires_at"].is_string(), "{body}");

    let destination = prepared_destination("warehouse");
    let (status, body) = app.mint(&key, &mint_body("tenant-a", &destination)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["scope"], "POST");

    let token = body["data"]["scoped_token"].as_str().expect("token");
    let header = segment(token, 0);
    let header_members: Vec<&String> = header.as_object().expect("header").keys().collect();
    assert_eq!(header_members, ["alg", "kid", "typ"]);
    assert_eq!(header["alg"], "EdDSA");

    let claims = segment(token, 1);
    for claim in [
        "iss",
        "aud",
        "sub",
        "org",
        "env",
        "scope",
        "origin",
        "jti",
        "iat",
        "nbf",
        "exp",
        "api_key_id",
        "dst",
    ] {
        assert!(
            claims.get(claim).is_some(),
            "claim {claim} missing: {claims}"
        );
    }
    assert_eq!(claims["sub"], "tenant-a");
    assert_eq!(claims["env"], "staging");
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        3600
    );

    let explicit = json!({
        "application_origin": APP_ORIGIN,
        "destination": {"id_in_provider_system": "tenant-a"},
        "scope": "POST",
        "ttl_seconds": 120,
    });
    let (status, body) = app.mint(&key, &explicit).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["scope"], "POST");
    let claims = segment(body["data"]["scoped_token"].as_str().expect("token"), 1);
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        120
    );
}

async fn mint_rejects_bad_api_keys(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let body = get_mint_body("tenant-a");

    // A well-formed key that was never issued.
    let unknown = scopegate::auth::api_key::generate(Environment::Staging).expect("generate");
    let mut typo = key.clone().into_bytes();
    let position = typo.len() - 10;
    typo[position] = if typo[position] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).expect("ascii");

    let cases = [
        (unknown.secret.expose().to_owned(), "not known"),
        (typo, "checksum"),
        ("sk_staging_short".to_owned(), "length"),
        ("Bearer abc".to_owned(), "sk_staging_"),
    ];
    for (presented, expected) in cases {
        let (status, answer) = app.mint(&presented, &body).await;
        assert_eq!(status, 401, "{answer}");
        assert_eq!(answer["status"], "error");
        let message = answer["message"].as_str().expect("message");
        assert!(
            message.contains(expected),
            "{message:?} should mention {expected:?}"
        );
        assert!(
            !message.contains(&presented),
            "message echoes the key: {message}"
        );
    }

    let response = app
        .client
        .post(app.url("/actions/generate-scoped-auth-token"))
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let (status, answer) = read(response).await;
    assert_eq!(status, 401);
    assert!(
        answer["message"]
            .as_str()
            .expect("message")
            .contains("missing credentials")
    );
}

async fn revoked_key_is_rejected_after_cache(backend: Backend) {
    let app = TestApp::start_with(backend, &[("SCOPEGATE_API_KEY_CACHE_TTL", "0")]).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let (status, _) = app.mint(&key, &get_mint_body("tenant-a")).await;
    assert_eq!(status, 200);

    let hash = scopegate::auth::api_key::hash_key(&key);
    let record = app
        .state
        .store
        .find_api_key_by_hash(&hash)
        .await
        .expect("lookup")
        .expect("key exists");
    app.state
        .store
        .revoke_api_key(record.id)
        .await
        .expect("revoke");

    let (status, body) = app.mint(&key, &get_mint_body("tenant-a")).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("revoked"),
        "{body}"
    );
}

async fn mint_rejects_invalid_requests(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let other_recipient = uuid::Uuid::new_v4();

    let cases = [
        (
            json!({"destination": {"id_in_provider_system": "t"}}),
            400,
            "application_origin is required",
        ),
        (
            json!({"application_origin": "https://app.example.com/path", "destination": {"id_in_provider_system": "t"}}),
            400,
            "path",
        ),
        (
            json!({"application_origin": "null", "destination": {"id_in_provider_system": "t"}}),
            400,
            "null",
        ),
        (
            json!({"application_origin": "https://*.example.com", "destination": {"id_in_provider_system": "t"}}),
            400,
            "wildcard",
        ),
        (
            json!({"application_origin": "https://u:p@example.com", "destination": {"id_in_provider_system": "t"}}),
            400,
            "user information",
        ),
        (
            json!({"application_origin": APP_ORIGIN, "destination": {}}),
            400,
            "id_in_provider_system or recipient_id",
        ),
        (
            json!({"application_origin": APP_ORIGIN, "destination": {"id_in_provider_system": "t"}, "scope": "DELETE"}),
            400,
            "scope",
        ),
        (
            json!({"application_origin": APP_ORIGIN, "destination": {"id_in_provider_system": "t"}, "ttl_seconds": 999999}),
            400,
            "ttl_seconds",
        ),
        (
            json!({"application_origin": APP_ORIGIN, "destination": {"recipient_id": "not-a-uuid"}}),
            400,
            "destination.recipient_id",
        ),
        (
            json!({"application_origin": APP_ORIGIN, "destination": {"recipient_id": other_recipient}}),
            404,
            "not found",
        ),
    ];
    for (body, expected_status, expected) in cases {
        let (status, answer) = app.mint(&key, &body).await;
        assert_eq!(status, expected_status, "{body} -> {answer}");
        let message = answer["message"].as_str().expect("message");
        assert!(
            message.contains(expected),
            "{message:?} should mention {expected:?}"
        );
    }

    // A recipient named twice must agree.
    let (_, first) = app.mint(&key, &get_mint_body("t-one")).await;
    let claims = segment(first["data"]["scoped_token"].as_str().expect("token"), 1);
    let one = claims["rid"].as_str().expect("rid");
    let body = json!({
        "application_origin": APP_ORIGIN,
        "recipient_id": one,
        "destination": {"id_in_provider_system": "t-two"},
    });
    let (status, answer) = app.mint(&key, &body).await;
    assert_eq!(status, 400, "{answer}");

    let raw = app
        .client
        .post(app.url("/actions/generate-scoped-auth-token"))
        .header("X-API-KEY", &key)
        .body(r#"{"application_origin": "http://a.test", "application_origin": "http://b.test"}"#)
        .send()
        .await
        .expect("request");
    let (status, answer) = read(raw).await;
    assert_eq!(status, 400);
    assert!(
        answer["message"]
            .as_str()
            .expect("message")
            .contains("duplicate member name")
    );
}

/// Mints a real GET token and returns it with its decoded claims.
async fn real_token(app: &TestApp, key: &str) -> (String, Value) {
    let token = app.mint_token(key, &get_mint_body("tenant-a")).await;
    let claims = segment(&token, 1);
    (token, claims)
}

async fn forged_tokens_are_rejected(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let (token, claims) = real_token(&app, &key).await;
    let (status, body) = list(&app, &token, APP_ID).await;
    assert_eq!(status, 200, "the untouched token must pass: {body}");

    let ring = app.state.key_ring.current();
    let signing_key = ring.active();
    let header = segment(&token, 0);
    let resign = |header: &Value, claims: &Value| sign_parts(signing_key, header, claims);
    let with = |name: &str, value: Value| {
        let mut claims = claims.clone();
        claims[name] = value;
        claims
    };
    let without = |name: &str| {
        let mut claims = claims.clone();
        claims.as_object_mut().expect("claims").remove(name);
        claims
    };
    let now = chrono::Utc::now().timestamp();

    let mut jku_header = header.clone();
    jku_header["jku"] = json!("https://attacker.invalid/jwks.json");
    let mut none_header = header.clone();
    none_header["alg"] = json!("none");
    let mut unknown_kid = header.clone();
    unknown_kid["kid"] = json!("not-a-key");
    let mut wrong_typ = header.clone();
    wrong_typ["typ"] = json!("JWT");

    let encode = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let payload = token.split('.').nth(1).expect("payload");
    let signature = token.split('.').nth(2).expect("signature");

    // HS256 with the Ed25519 public key as the HMAC secret.
    let public_key = signing_key.public_key().to_vec();
    let hs_header = json!({"alg": "HS256", "typ": header["typ"], "kid": header["kid"]});
    let hs_message = format!("{}.{payload}", encode(&hs_header));
    let hs_key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &public_key);
    let hs_signature =
        URL_SAFE_NO_PAD.encode(aws_lc_rs::hmac::sign(&hs_key, hs_message.as_bytes()));

    let mut tampered_claims = claims.clone();
    tampered_claims["sub"] = json!("tenant-b");

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            resign(&header, &with("exp", json!(now - 3600))),
            "expired",
        ),
        (
            "not yet valid",
            resign(&header, &with("nbf", json!(now + 3600))),
            "not valid yet",
        ),
        (
            "wrong aud",
            resign(&header, &with("aud", json!("scopegate:production"))),
            "audience",
        ),
        (
            "foreign aud",
            resign(&header, &with("aud", json!("someone-else"))),
            "audience",
        ),
        (
            "wrong iss",
            resign(&header, &with("iss", json!("evil"))),
            "issuer",
        ),
        ("missing exp", resign(&header, &without("exp")), "exp"),
        ("missing nbf", resign(&header, &without("nbf")), "nbf"),
        (
            "string exp",
            resign(&header, &with("exp", json!((now + 3600).to_string()))),
            "token",
        ),
        ("missing rid", resign(&header, &without("rid")), "claims"),
        ("jku header", resign(&jku_header, &claims), "jku"),
        ("unknown kid", resign(&unknown_kid, &claims), "unknown key"),
        ("plain typ", resign(&wrong_typ, &claims), "type"),
        (
            "alg none",
            format!("{}.{payload}.", encode(&none_header)),
            "algorithm",
        ),
        (
            "hs256 with public key",
            format!("{hs_message}.{hs_signature}"),
            "algorithm",
        ),
        (
            "tampered payload",
            format!(
                "{}.{}.{signature}",
                token.split('.').next().expect("header"),
                encode(&tampered_claims)
            ),
            "signature",
        ),
        (
            "two segments",
            format!("{}.{payload}", token.split('.').next().expect("header")),
            "malformed",
        ),
        ("garbage", "not-a-token".to_owned(), "malformed"),
    ];
    for (case, forged, expected) in cases {
        let (status, body) = list(&app, &forged, APP_ID).await;
        assert_eq!(status, 401, "{case}: {body}");
        let message = body["message"].as_str().expect("message");
        assert!(
            message.contains(expected),
            "{case}: {message:?} should mention {expected:?}"
        );
    }

    // Leeway: a token expired 10 s ago still passes the 30 s default leeway,
    // one expired 60 s ago does not.
    let (status, body) = list(
        &app,
        &resign(&header, &with("exp", json!(now - 10))),
        APP_ID,
    )
    .await;
    assert_eq!(status, 200, "inside leeway: {body}");
    let (status, _) = list(
        &app,
        &resign(&header, &with("exp", json!(now - 60))),
        APP_ID,
    )
    .await;
    assert_eq!(status, 401, "outside leeway");

    let lower_case_scheme = app
        .client
        .get(app.url("/destinations-for-recipient"))
        .header("Authorization", format!("bearer {token}"))
        .header("X-APP-ID", APP_ID)
        .send()
        .await
        .expect("request");
    assert_eq!(lower_case_scheme.status().as_u16(), 200);
}

async fn app_id_must_match_origin(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let (token, _) = real_token(&app, &key).await;

    for app_id in [APP_ID, APP_ORIGIN] {
        let (status, body) = list(&app, &token, app_id).await;
        assert_eq!(status, 200, "{app_id}: {body}");
    }
    for app_id in [
        "localhost:3001",
        "https://localhost:3000",
        "localhost",
        "evil.localhost:3000",
        "localhost:30000",
    ] {
        let (status, body) = list(&app, &token, app_id).await;
        assert_eq!(status, 401, "{app_id}: {body}");
        assert!(
            body["message"]
                .as_str()
                .expect("message")
                .contains("X-APP-ID"),
            "{body}"
        );
    }

    let missing = app
        .client
        .get(app.url("/destinations-for-recipient"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .expect("request");
    let (status, body) = read(missing).await;
    assert_eq!(status, 401);
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("missing X-APP-ID")
    );

    let wrong_browser_origin = app
        .client
        .get(app.url("/destinations-for-recipient"))
        .header("Authorization", format!("Bearer {token}"))
        .header("X-APP-ID", APP_ID)
        .header("Origin", "http://localhost:4000")
        .send()
        .await
        .expect("request");
    let (status, body) = read(wrong_browser_origin).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("Origin header")
    );
}

async fn token_carries_no_credential(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let token = app
        .mint_token(
            &key,
            &mint_body("tenant-a", &prepared_destination("warehouse")),
        )
        .await;
    let claims = segment(&token, 1).to_string();
    assert!(!claims.contains(PASSWORD), "password in claims: {claims}");
    assert!(!claims.contains("loader"), "username in claims: {claims}");
    assert!(
        !claims.contains("warehouse.example.com"),
        "host in claims: {claims}"
    );
}

async fn jwks_publishes_signing_key(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.api_key("acme", Environment::Staging).await;
    let (token, _) = real_token(&app, &key).await;
    let kid = segment(&token, 0)["kid"].clone();

    let response = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .expect("jwks");
    let (status, jwks) = read(response).await;
    assert_eq!(status, 200);
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], kid);
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["crv"], "Ed25519");
    assert!(keys[0].get("d").is_none(), "private part published");
}
