//! The public signing keys, for anyone who verifies scopegate tokens.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/.well-known/jwks.json", get(jwks))
}

/// Answers the bare JWK Set (RFC 7517), not the envelope, because JWKS
/// clients expect `keys` at the top level.
async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    Json(state.key_ring.jwks())
}
