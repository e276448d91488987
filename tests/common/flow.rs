//! Shared request bodies and token helpers for the HTTP tests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

pub const APP_ORIGIN: &str = "http://localhost:3000";
/// What the SDK sends as X-APP-ID for [`APP_ORIGIN`].
pub const APP_ID: &str = "localhost:3000";
pub const PASSWORD: &str = "correct-horse-battery-staple";

/// Builds a destination as `prepareDestinationWithForm` does, without the
/// tenant; the first party's backend adds `id_in_provider_system`.
pub fn prepared_destination(name: &str) -> Value {
    json!({
        "vendor": "postgres",
        "name": name,
        "recipient_id": null,
        "enabled_models": ["orders"],
        "frequency_minutes": 60,
        "is_enabled": true,
        "postgres": {
            "host": "warehouse.example.com",
            "port": 5432,
            "database": "analytics",
            "schema": "exports",
            "auth_method": "password_auth",
            "password_auth": {"username": "loader", "password": PASSWORD},
        },
    })
}

/// Builds the mint body a backend sends for `tenant`: the browser's destination
/// with the tenant forced from the session.
pub fn mint_body(tenant: &str, destination: &Value) -> Value {
    let mut destination = destination.clone();
    destination["id_in_provider_system"] = json!(tenant);
    json!({"application_origin": APP_ORIGIN, "destination": destination})
}

pub fn get_mint_body(tenant: &str) -> Value {
    json!({
        "application_origin": APP_ORIGIN,
        "destination": {"id_in_provider_system": tenant},
    })
}

/// Decodes one base64url segment of a JWT as JSON.
pub fn segment(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("token segment");
    let bytes = URL_SAFE_NO_PAD.decode(part).expect("base64url segment");
    serde_json::from_slice(&bytes).expect("JSON segment")
}
