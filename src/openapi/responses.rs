//! Error responses that many operations share and that read the same on
//! each of them. The route-specific 400, 403, 404 and 409 responses are
//! described in each handler's `#[utoipa::path]` attribute instead.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{ToResponse, ToSchema};

use super::schemas::ErrorEnvelope;
use crate::app::BODY_LIMIT_BYTES;

/// Builds an error response with the envelope body and `headers`.
fn error_response(description: &str, headers: &[(&str, &str, Type)]) -> RefOr<Response> {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(ErrorEnvelope::name())))
        .build();
    let mut builder = ResponseBuilder::new()
        .description(description)
        .content("application/json", content);
    for (name, header_description, header_type) in headers {
        let header = HeaderBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(header_type.clone())))
            .description(Some(*header_description))
            .build();
        builder = builder.header(*name, header);
    }
    RefOr::T(builder.build())
}

/// 401: missing, malformed, unknown, revoked or expired credentials.
pub struct Unauthorized;

impl<'r> ToResponse<'r> for Unauthorized {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "Unauthorized",
            error_response(
                "Missing or invalid credentials: an unknown, revoked or expired API key; a \
                 token that fails verification or has expired; or an X-APP-ID or Origin that \
                 is not the token's application origin.",
                &[("WWW-Authenticate", "Always `Bearer`.", Type::String)],
            ),
        )
    }
}

/// 413: a body over the size limit.
pub struct PayloadTooLarge;

impl<'r> ToResponse<'r> for PayloadTooLarge {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "PayloadTooLarge",
            error_response(
                &format!(
                    "The request body is larger than {} MiB.",
                    BODY_LIMIT_BYTES / (1024 * 1024)
                ),
                &[],
            ),
        )
    }
}

/// 429: a rate limit was hit.
pub struct TooManyRequests;

impl<'r> ToResponse<'r> for TooManyRequests {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "TooManyRequests",
            error_response(
                "Too many requests from this client address.",
                &[(
                    "Retry-After",
                    "Seconds to wait before retrying.",
                    Type::Integer,
                )],
            ),
        )
    }
}

/// 503: the database is unavailable.
pub struct Unavailable;

impl<'r> ToResponse<'r> for Unavailable {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "Unavailable",
            error_response(
                "The database is unavailable.",
                &[(
                    "Retry-After",
                    "Seconds to wait before retrying.",
                    Type::Integer,
                )],
            ),
        )
    }
}

/// 500: an internal failure. The cause is logged, never sent.
pub struct InternalError;

impl<'r> ToResponse<'r> for InternalError {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "InternalError",
            error_response("An internal error; the server log has the cause.", &[]),
        )
    }
}
