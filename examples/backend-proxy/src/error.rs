//! The proxy's HTTP errors: a status and a JSON body `{"error": message}`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("{0}")]
    BadRequest(String),
    #[error("log in first: no valid session cookie")]
    NotLoggedIn,
    #[error("unknown username or wrong password")]
    BadCredentials,
    #[error("requests from origin {0} are not accepted")]
    ForeignOrigin(String),
    /// scopegate rejected the mint request with a 4xx other than 401 or 403;
    /// its status and message are passed on, because they describe the
    /// destination the browser sent.
    #[error("{message}")]
    MintRejected { status: StatusCode, message: String },
    /// scopegate could not be reached or rejected the proxy's API key. The
    /// cause is logged where it happens; the browser gets a fixed message.
    #[error("the token service is unavailable")]
    Upstream,
}

impl ProxyError {
    /// Turns axum's rejection of a JSON body into a 400 naming the problem.
    pub fn from_json_rejection(rejection: JsonRejection) -> Self {
        Self::BadRequest(format!("invalid JSON body: {}", rejection.body_text()))
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotLoggedIn | Self::BadCredentials => StatusCode::UNAUTHORIZED,
            Self::ForeignOrigin(_) => StatusCode::FORBIDDEN,
            Self::MintRejected { status, .. } => *status,
            Self::Upstream => StatusCode::BAD_GATEWAY,
        }
    }
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        (self.status(), Json(json!({ "error": self.to_string() }))).into_response()
    }
}
