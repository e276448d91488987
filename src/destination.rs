//! Destination documents: validation of what clients send, separation of
//! secrets from the stored details, and the `ExistingDestination` shape the
//! SDK reads back.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::auth::fingerprint::IDENTITY_FIELDS;
use crate::crypto::MasterKey;
use crate::error::ApiError;
use crate::store::Destination;

/// Member names whose values are credentials, at any nesting level. They are
/// stored encrypted and never returned.
pub const SECRET_FIELDS: [&str; 11] = [
    "password",
    "secret",
    "secret_key",
    "access_key",
    "access_token",
    "token",
    "private_key",
    "client_secret",
    "service_account_key",
    "shared_access_signature_token",
    "wallet",
];

/// Longest accepted `name` and `id_in_provider_system`, in characters.
const MAX_NAME_LEN: usize = 256;

/// Identity fields naming the recipient and destination of a request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id_in_provider_system: Option<String>,
    pub recipient_id: Option<Uuid>,
    pub id: Option<Uuid>,
}

fn optional_uuid(
    object: &Map<String, Value>,
    field: &str,
    path: &str,
) -> Result<Option<Uuid>, ApiError> {
    match object.get(field) {
        // The SDK's default destination carries `""` for unset ids.
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.is_empty() => Ok(None),
        Some(Value::String(text)) => Uuid::parse_str(text)
            .map(Some)
            .map_err(|_| ApiError::BadRequest(format!("{path}.{field} must be a UUID"))),
        Some(_) => Err(ApiError::BadRequest(format!(
            "{path}.{field} must be a UUID string"
        ))),
    }
}

impl Identity {
    /// Reads the identity fields of a destination object; `path` names the
    /// object in error messages.
    pub fn parse(object: &Map<String, Value>, path: &str) -> Result<Self, ApiError> {
        let id_in_provider_system = match object.get("id_in_provider_system") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) if text.is_empty() => None,
            Some(Value::String(text))
                if !text.is_empty() && text.chars().count() <= MAX_NAME_LEN =>
            {
                Some(text.clone())
            }
            Some(_) => {
                return Err(ApiError::BadRequest(format!(
                    "{path}.id_in_provider_system must be a non-empty string of at most \
                     {MAX_NAME_LEN} characters"
                )));
            }
        };
        Ok(Self {
            id_in_provider_system,
            recipient_id: optional_uuid(object, "recipient_id", path)?,
            id: optional_uuid(object, "id", path)?,
        })
    }
}

/// A validated destination to store.
#[derive(Debug, Clone)]
pub struct DestinationInput {
    pub vendor: String,
    pub name: String,
    /// Everything but identity fields, vendor, name and secrets.
    pub details: Map<String, Value>,
    /// Secret members in their original nesting, empty when there are none.
    pub secrets: Map<String, Value>,
}

impl DestinationInput {
    pub fn parse(object: &Map<String, Value>) -> Result<Self, ApiError> {
        let vendor = match object.get("vendor") {
            Some(Value::String(vendor))
                if !vendor.is_empty()
                    && vendor.len() <= 64
                    && vendor
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') =>
            {
                vendor.clone()
            }
            Some(_) => {
                return Err(ApiError::BadRequest(
                    "destination.vendor must be a vendor key such as postgres or s3".to_owned(),
                ));
            }
            None => {
                return Err(ApiError::BadRequest(
                    "destination.vendor is required".to_owned(),
                ));
            }
        };
        let name = match object.get("name") {
            Some(Value::String(name))
                if !name.trim().is_empty() && name.chars().count() <= MAX_NAME_LEN =>
            {
                name.clone()
            }
            Some(_) => {
                return Err(ApiError::BadRequest(format!(
                    "destination.name must be a non-empty string of at most {MAX_NAME_LEN} characters"
                )));
            }
            None => {
                return Err(ApiError::BadRequest(
                    "destination.name is required".to_owned(),
                ));
            }
        };
        check_types(object)?;

        let mut details: Map<String, Value> = object
            .iter()
            .filter(|(field, _)| !IDENTITY_FIELDS.contains(&field.as_str()))
            .filter(|(field, _)| !matches!(field.as_str(), "vendor" | "name"))
            .map(|(field, value)| (field.clone(), value.clone()))
            .collect();
        let secrets = take_secrets(&mut details);
        Ok(Self {
            vendor,
            name,
            details,
            secrets,
        })
    }

    /// Seals the secrets for storage, bound to the destination id.
    pub fn seal_secrets(
        &self,
        master_key: &MasterKey,
        id: Uuid,
    ) -> Result<Option<Vec<u8>>, ApiError> {
        if self.secrets.is_empty() {
            return Ok(None);
        }
        let plaintext = serde_json::to_vec(&self.secrets).map_err(ApiError::internal)?;
        master_key
            .seal(&secrets_context(id), &plaintext)
            .map(Some)
            .map_err(ApiError::internal)
    }
}

fn secrets_context(id: Uuid) -> Vec<u8> {
    crate::crypto::seal_context(
        crate::store::SealedKind::DestinationSecrets,
        &id.to_string(),
    )
}

fn check_types(object: &Map<String, Value>) -> Result<(), ApiError> {
    let bad = |message: &str| Err(ApiError::BadRequest(message.to_owned()));
    match object.get("is_enabled") {
        None | Some(Value::Null | Value::Bool(_)) => {}
        Some(_) => return bad("destination.is_enabled must be true or false"),
    }
    match object.get("frequency_minutes") {
        None | Some(Value::Null) => {}
        Some(value) if value.as_u64().is_some_and(|minutes| minutes <= 10_080) => {}
        Some(_) => return bad("destination.frequency_minutes must be an integer from 0 to 10080"),
    }
    for field in ["enabled_models", "products"] {
        match object.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
            Some(_) => {
                return Err(ApiError::BadRequest(format!(
                    "destination.{field} must be an array of strings"
                )));
            }
        }
    }
    Ok(())
}

/// Moves every secret member out of `object`, at any depth, and returns them
/// in the same nesting.
fn take_secrets(object: &mut Map<String, Value>) -> Map<String, Value> {
    let mut secrets = Map::new();
    let names: Vec<String> = object.keys().cloned().collect();
    for name in names {
        if SECRET_FIELDS.contains(&name.as_str()) {
            if let Some(value) = object.remove(&name)
                && !value.is_null()
            {
                secrets.insert(name, value);
            }
        } else if let Some(Value::Object(inner)) = object.get_mut(&name) {
            let nested = take_secrets(inner);
            if !nested.is_empty() {
                secrets.insert(name, Value::Object(nested));
            }
        }
    }
    secrets
}

/// Member names a scoped token may never change, at any nesting level: they
/// decide where the customer's data goes.
pub const PROTECTED_FIELDS: [&str; 2] = ["host", "bucket_name"];

/// Opens the sealed secrets of a stored destination; empty when it has none.
pub fn open_secrets(
    master_key: &MasterKey,
    destination: &Destination,
) -> Result<Map<String, Value>, ApiError> {
    let Some(sealed) = &destination.secrets else {
        return Ok(Map::new());
    };
    let plaintext = master_key
        .open(&secrets_context(destination.id), sealed)
        .map_err(ApiError::internal)?;
    match serde_json::from_slice(&plaintext).map_err(ApiError::internal)? {
        Value::Object(secrets) => Ok(secrets),
        _ => Err(ApiError::internal(anyhow::anyhow!(
            "secrets of destination {} are not a JSON object",
            destination.id
        ))),
    }
}

/// Rebuilds the full destination document (vendor, name, details and the
/// given secrets) without identity fields.
pub fn document(destination: &Destination, secrets: &Map<String, Value>) -> Map<String, Value> {
    let mut out = match &destination.details {
        Value::Object(details) => details.clone(),
        _ => Map::new(),
    };
    out.insert("vendor".to_owned(), json!(destination.vendor));
    out.insert("name".to_owned(), json!(destination.name));
    merge(&mut out, secrets);
    out
}

/// Applies `changes` to `target`: objects merge member by member, a null
/// removes the member, anything else replaces it. Identity fields are
/// skipped, since they name the destination rather than describe it.
pub fn apply_changes(target: &mut Map<String, Value>, changes: &Map<String, Value>) {
    let changes: Map<String, Value> = changes
        .iter()
        .filter(|(name, _)| !IDENTITY_FIELDS.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    merge(target, &changes);
}

fn merge(target: &mut Map<String, Value>, changes: &Map<String, Value>) {
    for (name, change) in changes {
        match (target.get_mut(name), change) {
            (_, Value::Null) => {
                target.remove(name);
            }
            (Some(Value::Object(existing)), Value::Object(inner)) => merge(existing, inner),
            _ => {
                target.insert(name.clone(), change.clone());
            }
        }
    }
}

/// Dotted paths of protected members whose value in `changes` differs from
/// the stored one, at any depth.
pub fn changed_protected_fields(
    stored: &Map<String, Value>,
    changes: &Map<String, Value>,
) -> Vec<String> {
    let mut out = Vec::new();
    collect_protected(stored, changes, "", &mut out);
    out
}

fn collect_protected(
    stored: &Map<String, Value>,
    changes: &Map<String, Value>,
    prefix: &str,
    out: &mut Vec<String>,
) {
    for (name, change) in changes {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let existing = stored.get(name);
        if PROTECTED_FIELDS.contains(&name.as_str()) && existing != Some(change) {
            out.push(path);
        } else if let Value::Object(inner) = change {
            let empty = Map::new();
            let nested = match existing {
                Some(Value::Object(map)) => map,
                _ => &empty,
            };
            collect_protected(nested, inner, &path, out);
        }
    }
}

/// Renders a stored destination as the SDK's `ExistingDestination`: the
/// vendor sub-object included, secrets left out.
pub fn render(destination: &Destination) -> Value {
    let mut out = match &destination.details {
        Value::Object(details) => details.clone(),
        _ => Map::new(),
    };
    for (field, default) in [
        ("is_enabled", json!(true)),
        ("products", json!([])),
        ("enabled_models", json!([])),
        ("last_successful_transfer_ended_at", Value::Null),
    ] {
        match out.get(field) {
            Some(value) if !value.is_null() => {}
            _ => {
                out.insert(field.to_owned(), default);
            }
        }
    }
    out.insert("id".to_owned(), json!(destination.id));
    out.insert("vendor".to_owned(), json!(destination.vendor));
    out.insert("name".to_owned(), json!(destination.name));
    out.insert("recipient_id".to_owned(), json!(destination.recipient_id));
    out.insert(
        "id_in_provider_system".to_owned(),
        json!(destination.id_in_provider_system),
    );
    out.insert("created_at".to_owned(), json!(destination.created_at));
    out.insert("updated_at".to_owned(), json!(destination.updated_at));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn secrets_are_taken_at_any_depth() {
        let input = DestinationInput::parse(&object(json!({
            "vendor": "postgres",
            "name": "warehouse",
            "id_in_provider_system": "tenant",
            "postgres": {"host": "db", "password_auth": {"username": "u", "password": "p"}},
            "secret_key": "s",
        })))
        .expect("valid");
        assert_eq!(
            input.details["postgres"]["password_auth"],
            json!({"username": "u"})
        );
        assert!(input.details.get("secret_key").is_none());
        assert!(input.details.get("id_in_provider_system").is_none());
        assert_eq!(
            input.secrets["postgres"]["password_auth"]["password"],
            json!("p")
        );
        assert_eq!(input.secrets["secret_key"], json!("s"));
    }

    #[test]
    fn changes_merge_and_null_removes() {
        let mut target =
            object(json!({"name": "a", "postgres": {"host": "h", "port": 1, "schema": "s"}}));
        apply_changes(
            &mut target,
            &object(json!({"name": "b", "id": "x", "postgres": {"port": 2, "schema": null}})),
        );
        assert_eq!(
            target,
            object(json!({"name": "b", "postgres": {"host": "h", "port": 2}}))
        );
    }

    #[test]
    fn protected_fields_found_at_any_depth() {
        let stored =
            object(json!({"host": "a", "s3": {"bucket_name": "b"}, "postgres": {"host": "h"}}));
        let same = object(json!({"postgres": {"host": "h"}}));
        assert!(changed_protected_fields(&stored, &same).is_empty());
        let changes = object(json!({
            "postgres": {"host": "evil"},
            "s3": {"bucket_name": "other"},
            "mysql": {"host": "new"},
        }));
        let mut found = changed_protected_fields(&stored, &changes);
        found.sort();
        assert_eq!(found, ["mysql.host", "postgres.host", "s3.bucket_name"]);
    }

    #[test]
    fn parse_names_invalid_field() {
        let cases = [
            (json!({"name": "w"}), "destination.vendor"),
            (
                json!({"vendor": "Postgres!", "name": "w"}),
                "destination.vendor",
            ),
            (json!({"vendor": "postgres"}), "destination.name"),
            (
                json!({"vendor": "postgres", "name": "w", "is_enabled": "yes"}),
                "destination.is_enabled",
            ),
            (
                json!({"vendor": "postgres", "name": "w", "products": [1]}),
                "destination.products",
            ),
        ];
        for (body, field) in cases {
            let error = DestinationInput::parse(&object(body)).expect_err("invalid");
            assert!(
                error.to_string().contains(field),
                "{error} should name {field}"
            );
        }
    }
}
