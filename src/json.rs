//! Strict JSON request bodies.
//!
//! The SDK sends JSON without a `Content-Type`, so bodies are parsed whatever
//! the content type is. An object with a duplicated member name is
//! rejected instead of keeping the first or the last value, so that a
//! destination fingerprint is only ever computed over one unambiguous
//! document.

use std::fmt;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// A JSON value that rejects duplicated member names while deserializing.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(name) = access.next_key::<String>()? {
            if map.contains_key(&name) {
                return Err(de::Error::custom(format_args!(
                    "duplicate member name \"{name}\""
                )));
            }
            let StrictValue(value) = access.next_value()?;
            map.insert(name, value);
        }
        Ok(Value::Object(map))
    }
}

/// Parses `bytes` as one JSON object, rejecting duplicated member names.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let StrictValue(value) =
        StrictValue::deserialize(&mut deserializer).map_err(|error| error.to_string())?;
    deserializer.end().map_err(|error| error.to_string())?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err("the body must be a JSON object".to_owned()),
    }
}

/// Extractor for a JSON object body; an empty body reads as `{}`.
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge("the request body is too large".to_owned())
                } else {
                    ApiError::BadRequest(format!("could not read the request body: {rejection}"))
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonObject(Map::new()));
        }
        parse_object(&bytes)
            .map(JsonObject)
            .map_err(|message| ApiError::BadRequest(format!("invalid JSON body: {message}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_member_is_rejected_at_any_depth() {
        let top = parse_object(br#"{"a": 1, "a": 2}"#).expect_err("duplicate");
        assert!(top.contains("duplicate member name \"a\""), "{top}");
        let nested = parse_object(br#"{"d": {"host": "x", "host": "y"}}"#).expect_err("nested");
        assert!(nested.contains("\"host\""), "{nested}");
        let in_array = parse_object(br#"{"l": [{"k": 1, "k": 1}]}"#).expect_err("array");
        assert!(in_array.contains("\"k\""), "{in_array}");
    }

    #[test]
    fn non_object_and_trailing_data_are_rejected() {
        assert!(parse_object(b"[1]").is_err());
        assert!(parse_object(br#"{"a": 1} {"b": 2}"#).is_err());
    }

    #[test]
    fn valid_object_parses() {
        let map = parse_object(br#"{"a": [1, 2.5, null, true], "b": {"c": "d"}}"#).expect("ok");
        assert_eq!(map.len(), 2);
    }
}
