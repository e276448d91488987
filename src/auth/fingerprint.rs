//! Destination fingerprints bind a POST-scope token to the exact destination
//! details it was minted for.
//!
//! The fingerprint is a keyed SHA-256 (HMAC with a key derived from the
//! master key) over the RFC 8785 canonical JSON of the destination without
//! its identity fields and null values. A keyed digest, rather than a plain
//! one, keeps a leaked token from serving as an offline oracle for the
//! credentials the destination contains. Per-field digests let a rejection
//! name the fields that differ without revealing any value.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::crypto::MasterKey;

/// Members that name the destination or its recipient rather than describe it.
pub const IDENTITY_FIELDS: [&str; 4] = ["id", "id_in_provider_system", "recipient_id", "type"];

/// Bytes of each per-field digest kept in the token.
const FIELD_DIGEST_LEN: usize = 12;

/// Returns the destination without identity fields and with every null
/// member removed at any depth.
pub fn details(destination: &Map<String, Value>) -> Map<String, Value> {
    destination
        .iter()
        .filter(|(name, _)| !IDENTITY_FIELDS.contains(&name.as_str()))
        .filter_map(|(name, value)| strip_nulls(value).map(|value| (name.clone(), value)))
        .collect()
}

fn strip_nulls(value: &Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::Object(map) => Some(Value::Object(
            map.iter()
                .filter_map(|(name, value)| strip_nulls(value).map(|value| (name.clone(), value)))
                .collect(),
        )),
        other => Some(other.clone()),
    }
}

fn canonical(value: &Value) -> Vec<u8> {
    // Serializing a `serde_json::Value` cannot fail: keys are strings.
    serde_jcs::to_vec(value).unwrap_or_default()
}

/// Fingerprint of destination details as returned by [`details`].
pub fn fingerprint(master_key: &MasterKey, details: &Map<String, Value>) -> String {
    let document = Value::Object(details.clone());
    URL_SAFE_NO_PAD.encode(master_key.fingerprint(&canonical(&document)))
}

/// Digest of every leaf of the details, keyed by its dotted path. Arrays and
/// empty objects count as leaves.
pub fn field_digests(
    master_key: &MasterKey,
    details: &Map<String, Value>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    collect_leaves(master_key, "", details, &mut out);
    out
}

fn collect_leaves(
    master_key: &MasterKey,
    prefix: &str,
    map: &Map<String, Value>,
    out: &mut BTreeMap<String, String>,
) {
    for (name, value) in map {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            Value::Object(inner) if !inner.is_empty() => {
                collect_leaves(master_key, &path, inner, out)
            }
            leaf => {
                let mut input = path.clone().into_bytes();
                input.push(0);
                input.extend(canonical(leaf));
                let tag = master_key.fingerprint(&input);
                out.insert(
                    path,
                    URL_SAFE_NO_PAD.encode(&tag.as_ref()[..FIELD_DIGEST_LEN]),
                );
            }
        }
    }
}

/// Describes how the body's fields differ from the token's, naming fields
/// only, never values.
pub fn describe_difference(
    token_fields: &BTreeMap<String, String>,
    body_fields: &BTreeMap<String, String>,
) -> String {
    let mut changed = Vec::new();
    let mut added = Vec::new();
    let mut missing = Vec::new();
    for (path, digest) in body_fields {
        match token_fields.get(path) {
            Some(expected) if expected != digest => changed.push(path.as_str()),
            Some(_) => {}
            None => added.push(path.as_str()),
        }
    }
    for path in token_fields.keys() {
        if !body_fields.contains_key(path) {
            missing.push(path.as_str());
        }
    }

    let mut parts = Vec::new();
    if !changed.is_empty() {
        parts.push(format!("differs from the token: {}", changed.join(", ")));
    }
    if !added.is_empty() {
        parts.push(format!("not in the token: {}", added.join(", ")));
    }
    if !missing.is_empty() {
        parts.push(format!("in the token but missing: {}", missing.join(", ")));
    }
    if parts.is_empty() {
        return "destination does not match the token".to_owned();
    }
    format!("destination field {}", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn identity_and_nulls_do_not_change_fingerprint() {
        let (key, _) = MasterKey::generate().expect("key");
        let plain = object(json!({"name": "w", "vendor": "postgres", "postgres": {"host": "h"}}));
        let decorated = object(json!({
            "id_in_provider_system": "tenant", "recipient_id": null, "type": 1,
            "postgres": {"host": "h", "schema": null}, "vendor": "postgres", "name": "w",
        }));
        assert_eq!(
            fingerprint(&key, &details(&plain)),
            fingerprint(&key, &details(&decorated))
        );
    }

    #[test]
    fn any_changed_value_changes_fingerprint() {
        let (key, _) = MasterKey::generate().expect("key");
        let first = object(json!({"name": "w", "postgres": {"port": 5432}}));
        let second = object(json!({"name": "w", "postgres": {"port": 5433}}));
        assert_ne!(
            fingerprint(&key, &details(&first)),
            fingerprint(&key, &details(&second))
        );
    }

    #[test]
    fn difference_names_fields_only() {
        let (key, _) = MasterKey::generate().expect("key");
        let minted = object(json!({"name": "w", "postgres": {"host": "a", "password": "p1"}}));
        let sent =
            object(json!({"name": "w", "postgres": {"host": "b", "password": "p1"}, "extra": 1}));
        let message = describe_difference(
            &field_digests(&key, &details(&minted)),
            &field_digests(&key, &details(&sent)),
        );
        assert!(
            message.contains("differs from the token: postgres.host"),
            "{message}"
        );
        assert!(message.contains("not in the token: extra"), "{message}");
        assert!(!message.contains("p1"), "{message}");
    }
}
