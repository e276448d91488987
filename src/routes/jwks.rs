//! The public signing keys, for anyone who verifies scopegate tokens.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

use crate::app::AppState;
use crate::openapi::schemas;

pub fn router() -> Router<AppState> {
    Router::new().route("/.well-known/jwks.json", get(jwks))
}

/// Returns the bare JWK Set (RFC 7517), not the envelope, because JWKS
/// clients expect `keys` at the top level.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    operation_id = "get_jwks",
    tag = "signing-keys",
    summary = "The public keys that verify scoped tokens",
    description = "Needs no credentials. The response is a bare JWK Set, not the envelope.",
    responses(
        (status = 200, description = "The JWK Set.", body = schemas::JwkSet),
        (status = 400, description = "Unsupported X-Prequel-Api-Version header.", body = schemas::ErrorEnvelope),
    ),
)]
async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    Json(state.key_ring.current().jwks())
}
