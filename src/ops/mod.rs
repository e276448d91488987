//! Operations support: health and readiness endpoints, Prometheus
//! metrics, the `healthcheck` client and graceful shutdown.

pub mod acquire;
pub mod health;
pub mod healthcheck;
pub mod metrics;
pub mod shutdown;

use axum::Router;
use axum::routing::get;

use crate::app::AppState;

/// Routes merged into the main router: `/healthz`, `/readyz`, and
/// `/metrics` unless `SCOPEGATE_METRICS_LISTEN` moves it to its own
/// listener.
pub fn router(serve_metrics: bool) -> Router<AppState> {
    let router = health::router();
    if serve_metrics {
        router.route("/metrics", get(metrics::serve_metrics))
    } else {
        router
    }
}

/// Builds the router of the separate metrics listener: `/metrics` only.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::serve_metrics))
        .with_state(state)
}
