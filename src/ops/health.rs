//! Liveness and readiness endpoints for container health checks, load
//! balancers and orchestrators.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::app::AppState;
use crate::auth::keys::KeyRing;
use crate::envelope::{error_body, success};
use crate::error::RETRY_AFTER_SECONDS;
use crate::openapi::schemas;

/// Maximum time `/readyz` waits for the database to respond to a ping.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// `GET /healthz`: the process runs and serves HTTP. It checks nothing
/// else, so a database outage never gets the process restarted.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "get_health",
    tag = "operations",
    summary = "Liveness: the process serves HTTP",
    description = "Checks nothing else, so a database outage never fails it.",
    responses(
        (status = 200, description = "The process runs.", body = schemas::Success<schemas::Health>),
        (status = 400, description = "Unsupported X-Prequel-Api-Version header.", body = schemas::ErrorEnvelope),
    ),
)]
async fn healthz() -> Response {
    success(json!({"status": "ok"}), "scopegate is running")
}

/// `GET /readyz`: 200 when the signing key is loaded and the database
/// responds to a ping within [`READY_TIMEOUT`], otherwise 503 with
/// `Retry-After`.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "get_readiness",
    tag = "operations",
    summary = "Readiness: the signing key is loaded and the database responds",
    responses(
        (status = 200, description = "Ready to serve requests.", body = schemas::Success<schemas::Health>),
        (status = 400, description = "Unsupported X-Prequel-Api-Version header.", body = schemas::ErrorEnvelope),
        (
            status = 503,
            description = "Not ready: no signing key is loaded, or the database failed or did not respond to a ping in time.",
            body = schemas::ErrorEnvelope,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying.")),
        ),
    ),
)]
async fn readyz(State(state): State<AppState>) -> Response {
    if !signing_key_loaded(&state.key_ring.current()) {
        tracing::warn!("readiness check failed: no signing key is loaded");
        return not_ready("not ready: no signing key is loaded");
    }
    match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => success(json!({"status": "ok"}), "scopegate is ready"),
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "readiness check failed: the database ping failed");
            not_ready("not ready: the database is unavailable")
        }
        Err(_) => {
            tracing::warn!(
                timeout_ms = READY_TIMEOUT.as_millis(),
                "readiness check failed: the database ping timed out"
            );
            not_ready("not ready: the database did not answer in time")
        }
    }
}

/// Tells whether the active signing key can also verify, which is true
/// once the key ring was loaded from the store.
fn signing_key_loaded(ring: &KeyRing) -> bool {
    ring.decoding_key(&ring.active().kid).is_some()
}

fn not_ready(message: &str) -> Response {
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, error_body(message)).into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECONDS),
    );
    response
}
