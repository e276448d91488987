//! The response envelope every response uses:
//! `{"status": "success"|"error", "data": …, "message": "…"}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize)]
pub struct Envelope<T: Serialize> {
    pub status: &'static str,
    pub data: T,
    pub message: String,
}

/// Builds a successful response with status 200.
pub fn success<T: Serialize>(data: T, message: impl Into<String>) -> Response {
    let body = Envelope {
        status: "success",
        data,
        message: message.into(),
    };
    (StatusCode::OK, Json(body)).into_response()
}

/// Builds a successful list page with `has_next` and, when there is a next
/// page, `next_url`.
pub fn success_page<T: Serialize>(
    data: T,
    message: impl Into<String>,
    next_url: Option<String>,
) -> Response {
    let body = serde_json::json!({
        "status": "success",
        "data": data,
        "message": message.into(),
        "has_next": next_url.is_some(),
        "next_url": next_url,
    });
    (StatusCode::OK, Json(body)).into_response()
}

/// Builds the body of an error response.
pub fn error_body(message: impl Into<String>) -> Json<Envelope<Value>> {
    Json(Envelope {
        status: "error",
        data: Value::Null,
        message: message.into(),
    })
}
