//! `POST /auth-token`: the route the browser's `fetchToken` calls.
//!
//! The body is the object the SDK passed to `fetchToken`: a destination, or
//! `{}` (or `null`) for hooks that only read. The proxy mints from exactly
//! that object, because scopegate binds a POST-scope token to the
//! destination's details, but the tenant always comes from the session.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::app::AppState;
use crate::config::TenantSource;
use crate::error::ProxyError;
use crate::session::Session;

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub scoped_token: String,
}

/// Returns `{"scoped_token": …}` for the logged-in user, or 401 without a
/// session.
#[tracing::instrument(skip_all, fields(username = %session.username, tenant = %session.tenant))]
pub async fn auth_token(
    State(state): State<AppState>,
    session: Session,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<TokenResponse>, ProxyError> {
    let Json(browser_destination) = body.map_err(ProxyError::from_json_rejection)?;

    let destination = match state.tenant_source {
        TenantSource::Session => force_session_tenant(browser_destination, &session.tenant)?,
        TenantSource::UnsafeBrowser => {
            unsafe_keep_browser_tenant(browser_destination, &session.tenant)?
        }
    };

    let scoped_token = state.scopegate.mint(destination).await?;
    tracing::info!("minted a scoped token");
    Ok(Json(TokenResponse { scoped_token }))
}

/// Returns the destination to mint from: the browser's object with its
/// `id_in_provider_system` replaced by `session_tenant` and its
/// `recipient_id` removed.
///
/// A user can change every field the page sends, so a tenant id taken from
/// the browser would let any user act on other customers' destinations.
pub fn force_session_tenant(
    browser_destination: Value,
    session_tenant: &str,
) -> Result<Map<String, Value>, ProxyError> {
    let mut destination = destination_object(browser_destination)?;
    destination.remove("recipient_id");
    destination.insert(
        "id_in_provider_system".to_owned(),
        Value::String(session_tenant.to_owned()),
    );
    Ok(destination)
}

/// Keeps the browser's `id_in_provider_system` and `recipient_id`, and uses
/// the session's tenant only when the browser names none. This is the
/// unsafe pattern, selected only by `UNSAFE_TRUST_BROWSER_TENANT=1`.
fn unsafe_keep_browser_tenant(
    browser_destination: Value,
    session_tenant: &str,
) -> Result<Map<String, Value>, ProxyError> {
    let mut destination = destination_object(browser_destination)?;
    let names_tenant = destination
        .get("id_in_provider_system")
        .and_then(Value::as_str)
        .is_some_and(|tenant| !tenant.is_empty());
    if !names_tenant {
        destination.insert(
            "id_in_provider_system".to_owned(),
            Value::String(session_tenant.to_owned()),
        );
    }
    Ok(destination)
}

fn destination_object(browser_destination: Value) -> Result<Map<String, Value>, ProxyError> {
    match browser_destination {
        Value::Object(object) => Ok(object),
        Value::Null => Ok(Map::new()),
        _ => Err(ProxyError::BadRequest(
            "the body must be the destination object passed to fetchToken, {} or null".to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn force_overwrites_browser_tenant() {
        let browser = json!({"name": "Warehouse", "id_in_provider_system": "tenant-a"});

        let destination = force_session_tenant(browser, "tenant-b").unwrap();

        assert_eq!(destination["id_in_provider_system"], "tenant-b");
        assert_eq!(destination["name"], "Warehouse");
    }

    #[test]
    fn force_removes_browser_recipient_id() {
        let browser = json!({"recipient_id": "6f0c3c47-3f4b-4d8a-9a54-3f5a3b2f8d11", "id": "x"});

        let destination = force_session_tenant(browser, "tenant-b").unwrap();

        assert!(!destination.contains_key("recipient_id"));
        assert_eq!(destination["id"], "x");
    }

    #[test]
    fn force_fills_empty_body() {
        for browser in [json!({}), Value::Null] {
            let destination = force_session_tenant(browser, "tenant-b").unwrap();

            assert_eq!(
                Value::Object(destination),
                json!({"id_in_provider_system": "tenant-b"})
            );
        }
    }

    #[test]
    fn force_keeps_destination_details() {
        let browser = json!({
            "vendor": "postgres",
            "name": "Warehouse",
            "postgres": {"host": "db.example.com", "port": 5432},
            "id_in_provider_system": "",
        });

        let destination = force_session_tenant(browser, "tenant-b").unwrap();

        assert_eq!(
            Value::Object(destination),
            json!({
                "vendor": "postgres",
                "name": "Warehouse",
                "postgres": {"host": "db.example.com", "port": 5432},
                "id_in_provider_system": "tenant-b",
            })
        );
    }

    #[test]
    fn force_rejects_non_object() {
        for browser in [json!([]), json!("tenant-a"), json!(1)] {
            assert!(
                force_session_tenant(browser.clone(), "tenant-b").is_err(),
                "{browser}"
            );
        }
    }

    #[test]
    fn unsafe_mode_keeps_browser_tenant() {
        let browser = json!({"id_in_provider_system": "tenant-a"});

        let destination = unsafe_keep_browser_tenant(browser, "tenant-b").unwrap();

        assert_eq!(destination["id_in_provider_system"], "tenant-a");
    }
}
