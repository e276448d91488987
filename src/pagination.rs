//! List pages: `page_size` and `cursor` query parameters, and the
//! `has_next` / `next_url` members of a page answer.
//!
//! A cursor is standard base64 of `{"id": …, "last_seen_sort_value": …}`,
//! the form `@prequel/react` 1.1.0 decodes with `atob` and re-encodes with
//! `btoa`. Inside `next_url` it is percent-encoded, because the SDK re-parses
//! that URL with `URLSearchParams`, which would read a raw `+` as a space.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;

pub const DEFAULT_PAGE_SIZE: u32 = 10;
pub const MAX_PAGE_SIZE: u32 = 100;

#[derive(Debug, Serialize, Deserialize)]
struct CursorBody {
    id: String,
    last_seen_sort_value: String,
}

/// Position after the last row of a page: its sort value and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub sort_value: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let body = CursorBody {
            id: self.id.to_string(),
            last_seen_sort_value: self.sort_value.to_rfc3339_opts(SecondsFormat::Micros, true),
        };
        STANDARD.encode(serde_json::to_vec(&body).unwrap_or_default())
    }

    /// Decodes a cursor from a query parameter. A space stands for `+`, as a
    /// client that did not percent-encode the cursor would send it.
    pub fn decode(text: &str) -> Result<Self, ApiError> {
        let invalid = || {
            ApiError::BadRequest(
                "cursor is invalid: pass the cursor from the previous page's next_url unchanged"
                    .to_owned(),
            )
        };
        let bytes = STANDARD
            .decode(text.trim().replace(' ', "+"))
            .map_err(|_| invalid())?;
        let body: CursorBody = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        Ok(Self {
            id: Uuid::parse_str(&body.id).map_err(|_| invalid())?,
            sort_value: DateTime::parse_from_rfc3339(&body.last_seen_sort_value)
                .map_err(|_| invalid())?
                .with_timezone(&Utc),
        })
    }
}

/// Reads `page_size`, bounded to 1..=[`MAX_PAGE_SIZE`], default [`DEFAULT_PAGE_SIZE`].
pub fn page_size(value: Option<&String>) -> Result<u32, ApiError> {
    match value {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(text) => text
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|size| (1..=MAX_PAGE_SIZE).contains(size))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "page_size must be an integer from 1 to {MAX_PAGE_SIZE}"
                ))
            }),
    }
}

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters
/// stay as they are).
pub fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The `next_url` of a page: `path` with the page size and the cursor of
/// the page's last row.
pub fn next_url(path: &str, page_size: u32, cursor: &Cursor) -> String {
    format!(
        "{path}?page_size={page_size}&cursor={}",
        encode_query_value(&cursor.encode())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let cursor = Cursor {
            sort_value: Utc::now(),
            id: Uuid::new_v4(),
        };
        let decoded = Cursor::decode(&cursor.encode()).expect("decode");
        assert_eq!(decoded.id, cursor.id);
        assert_eq!(
            decoded.sort_value.timestamp_micros(),
            cursor.sort_value.timestamp_micros()
        );
    }

    #[test]
    fn cursor_survives_plus_read_as_space() {
        // Our own cursors rarely contain '+', so build one that does: '~'
        // characters in an ignored member put 0b111110 in the output.
        let id = Uuid::new_v4();
        let json = format!(
            r#"{{"id":"{id}","last_seen_sort_value":"2024-01-01T00:00:00Z","x":"~~~~~~"}}"#
        );
        let encoded = STANDARD.encode(json);
        assert!(encoded.contains('+'), "{encoded}");
        let damaged = encoded.replace('+', " ");
        assert_eq!(Cursor::decode(&damaged).expect("decode").id, id);
    }

    #[test]
    fn next_url_percent_encodes_cursor() {
        let cursor = Cursor {
            sort_value: Utc::now(),
            id: Uuid::new_v4(),
        };
        let url = next_url("/export/destinations/x/transfers", 5, &cursor);
        let query = url.split_once('?').expect("query").1;
        assert!(!query.contains('+') && !query.contains('/') && !query.contains("=="));
    }

    #[test]
    fn bad_cursor_and_page_size_are_rejected() {
        assert!(Cursor::decode("not base64!").is_err());
        assert!(Cursor::decode(&STANDARD.encode(b"{\"id\": 1}")).is_err());
        assert!(page_size(Some(&"0".to_owned())).is_err());
        assert!(page_size(Some(&"101".to_owned())).is_err());
        assert_eq!(page_size(None).expect("default"), DEFAULT_PAGE_SIZE);
    }
}
