//! Prometheus metrics: HTTP traffic by matched route, minted tokens,
//! authentication failures, the database pool and the API-key cache.
//!
//! The metrics belong to the process, as one Prometheus scrape target, so
//! they live in one static registry and the recording functions below need
//! no handle. Every label takes its values from a fixed set, or from the
//! router's route templates, never from request data.

use std::fmt::Write as _;
use std::sync::{LazyLock, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::{EncodeLabelSet, prometheus_text, text};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::app::AppState;
use crate::auth::api_key::KeyLookupError;
use crate::auth::token::{Scope, TokenError};
use crate::error::ApiError;
use crate::openapi::{responses, schemas};
use crate::store::{Environment, PoolStats};

/// `Content-Type` of the OpenMetrics text format, sent to scrapers that ask
/// for it in `Accept`.
const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds of the latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Reason a request failed authentication. The label values are fixed, so
/// a client cannot add series by sending odd credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// Neither an API key nor a bearer token, or no `X-APP-ID` with a token.
    MissingCredentials,
    /// A header that is not text, not `Bearer <token>`, or not an origin.
    MalformedCredentials,
    /// An API key with the wrong prefix, shape or checksum.
    InvalidApiKey,
    UnknownApiKey,
    RevokedApiKey,
    ExpiredApiKey,
    /// A token that fails verification for any reason but its expiry.
    InvalidToken,
    ExpiredToken,
    /// `X-APP-ID` or `Origin` names another origin than the token's.
    OriginMismatch,
}

impl AuthFailure {
    pub fn label(self) -> &'static str {
        match self {
            AuthFailure::MissingCredentials => "missing_credentials",
            AuthFailure::MalformedCredentials => "malformed_credentials",
            AuthFailure::InvalidApiKey => "invalid_api_key",
            AuthFailure::UnknownApiKey => "unknown_api_key",
            AuthFailure::RevokedApiKey => "revoked_api_key",
            AuthFailure::ExpiredApiKey => "expired_api_key",
            AuthFailure::InvalidToken => "invalid_token",
            AuthFailure::ExpiredToken => "expired_token",
            AuthFailure::OriginMismatch => "origin_mismatch",
        }
    }

    /// Classifies a rejected API key. Returns `None` for a store error,
    /// which is an outage, not an authentication failure.
    pub fn of_key_lookup(error: &KeyLookupError) -> Option<Self> {
        match error {
            KeyLookupError::Format(_) => Some(AuthFailure::InvalidApiKey),
            KeyLookupError::Unknown => Some(AuthFailure::UnknownApiKey),
            KeyLookupError::Revoked => Some(AuthFailure::RevokedApiKey),
            KeyLookupError::Expired => Some(AuthFailure::ExpiredApiKey),
            KeyLookupError::Store(_) => None,
        }
    }

    /// Classifies a rejected scoped token.
    pub fn of_token(error: &TokenError) -> Self {
        match error {
            TokenError::Expired => AuthFailure::ExpiredToken,
            _ => AuthFailure::InvalidToken,
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MintLabels {
    scope: &'static str,
    environment: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    result: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<HttpLabels, Histogram, fn() -> Histogram>,
    tokens_minted: Family<MintLabels, Counter>,
    auth_failures: Family<ReasonLabels, Counter>,
    api_key_cache: Family<CacheLabels, Counter>,
    db_pool_connections: Gauge,
    db_pool_idle_connections: Gauge,
    db_pool_max_connections: Gauge,
    db_acquire_wait: Histogram,
    db_acquire_timeouts: Counter,
    /// Held while the pool gauges are set and the registry is encoded, so
    /// that concurrent scrapes of two stores cannot mix their figures.
    scrape: Mutex<()>,
}

impl Metrics {
    fn new() -> Self {
        let mut metrics = Metrics {
            registry: Registry::default(),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency_histogram),
            tokens_minted: Family::default(),
            auth_failures: Family::default(),
            api_key_cache: Family::default(),
            db_pool_connections: Gauge::default(),
            db_pool_idle_connections: Gauge::default(),
            db_pool_max_connections: Gauge::default(),
            db_acquire_wait: latency_histogram(),
            db_acquire_timeouts: Counter::default(),
            scrape: Mutex::new(()),
        };
        metrics.register();
        metrics
    }

    fn register(&mut self) {
        let registry = &mut self.registry;
        registry.register(
            "scopegate_http_requests",
            "HTTP requests answered, by method, matched route and status",
            self.http_requests.clone(),
        );
        registry.register_with_unit(
            "scopegate_http_request_duration",
            "Time from receiving a request to sending its response headers",
            Unit::Seconds,
            self.http_duration.clone(),
        );
        registry.register(
            "scopegate_tokens_minted",
            "Scoped tokens minted, by scope and environment",
            self.tokens_minted.clone(),
        );
        registry.register(
            "scopegate_auth_failures",
            "Requests rejected with 401, by reason",
            self.auth_failures.clone(),
        );
        registry.register(
            "scopegate_api_key_cache_lookups",
            "API-key lookups, by result: hit (served from memory) or miss (read from the database)",
            self.api_key_cache.clone(),
        );
        registry.register(
            "scopegate_db_pool_connections",
            "Open database connections, idle or in use",
            self.db_pool_connections.clone(),
        );
        registry.register(
            "scopegate_db_pool_idle_connections",
            "Open database connections that no query holds",
            self.db_pool_idle_connections.clone(),
        );
        registry.register(
            "scopegate_db_pool_max_connections",
            "Maximum number of database connections (SCOPEGATE_DB_MAX_CONNECTIONS)",
            self.db_pool_max_connections.clone(),
        );
        registry.register_with_unit(
            "scopegate_db_acquire_wait",
            "Time a query waited for a pooled database connection, when it got one",
            Unit::Seconds,
            self.db_acquire_wait.clone(),
        );
        registry.register(
            "scopegate_db_acquire_timeouts",
            "Waits for a database connection that ended at SCOPEGATE_DB_ACQUIRE_TIMEOUT",
            self.db_acquire_timeouts.clone(),
        );
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// Counts one minted scoped token.
pub fn record_token_minted(scope: Scope, environment: Environment) {
    let labels = MintLabels {
        scope: scope.as_str(),
        environment: environment.as_str(),
    };
    METRICS.tokens_minted.get_or_create(&labels).inc();
}

/// Counts one request rejected with 401.
pub fn record_auth_failure(failure: AuthFailure) {
    let labels = ReasonLabels {
        reason: failure.label(),
    };
    METRICS.auth_failures.get_or_create(&labels).inc();
}

/// Counts one API-key lookup, served from the cache (`hit`) or not.
pub fn record_api_key_cache(hit: bool) {
    let labels = CacheLabels {
        result: if hit { "hit" } else { "miss" },
    };
    METRICS.api_key_cache.get_or_create(&labels).inc();
}

/// Records how long a pooled database connection took to acquire.
pub fn record_db_acquire_wait(seconds: f64) {
    METRICS.db_acquire_wait.observe(seconds);
}

/// Counts one wait for a database connection that timed out.
pub fn record_db_acquire_timeout() {
    METRICS.db_acquire_timeouts.inc();
}

/// Label value of a request method: the standard methods by name, any
/// other as `OTHER`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

/// Middleware that counts every request and times it until its response
/// headers, labelled with the route template that matched (`unmatched`
/// when none did).
pub async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());

    let response = next.run(request).await;

    let labels = HttpLabels {
        method,
        route,
        status: response.status().as_u16(),
    };
    METRICS.http_requests.get_or_create(&labels).inc();
    METRICS
        .http_duration
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Tells whether the scraper accepts the OpenMetrics text format.
fn wants_openmetrics(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("application/openmetrics-text"))
}

/// Encodes every metric, with the pool gauges read from `pool` now, in
/// the OpenMetrics text format or else the Prometheus text format 0.0.4.
pub fn encode(pool: PoolStats, openmetrics: bool) -> Result<String, std::fmt::Error> {
    let _scrape = METRICS
        .scrape
        .lock()
        .unwrap_or_else(|error| error.into_inner());
    METRICS.db_pool_connections.set(i64::from(pool.size));
    METRICS.db_pool_idle_connections.set(i64::from(pool.idle));
    METRICS.db_pool_max_connections.set(i64::from(pool.max));

    let mut body = String::new();
    if openmetrics {
        text::encode(&mut body, &METRICS.registry)?;
    } else {
        prometheus_text::encode(&mut body, &METRICS.registry)?;
        if !body.ends_with('\n') {
            body.write_char('\n')?;
        }
    }
    Ok(body)
}

/// `GET /metrics`.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "get_metrics",
    tag = "operations",
    summary = "Prometheus metrics",
    description = "Served here unless `SCOPEGATE_METRICS_LISTEN` moves it to a listener of its \
                   own. The OpenMetrics text format is sent when `Accept` asks for it, the \
                   Prometheus text format otherwise.",
    responses(
        (
            status = 200,
            description = "The metrics.",
            content(
                (String = "text/plain; version=0.0.4; charset=utf-8"),
                (String = "application/openmetrics-text; version=1.0.0; charset=utf-8"),
            ),
        ),
        (status = 400, description = "Unsupported X-Prequel-Api-Version header.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
    ),
)]
pub async fn serve_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let openmetrics = wants_openmetrics(&headers);
    match encode(state.store.pool_stats(), openmetrics) {
        Ok(body) => {
            let content_type = if openmetrics {
                OPENMETRICS_CONTENT_TYPE
            } else {
                prometheus_text::CONTENT_TYPE
            };
            (
                [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
                body,
            )
                .into_response()
        }
        Err(error) => {
            ApiError::internal(anyhow::anyhow!("encoding metrics failed: {error}")).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_failure_labels_are_distinct() {
        let all = [
            AuthFailure::MissingCredentials,
            AuthFailure::MalformedCredentials,
            AuthFailure::InvalidApiKey,
            AuthFailure::UnknownApiKey,
            AuthFailure::RevokedApiKey,
            AuthFailure::ExpiredApiKey,
            AuthFailure::InvalidToken,
            AuthFailure::ExpiredToken,
            AuthFailure::OriginMismatch,
        ];
        let labels: std::collections::HashSet<_> = all.iter().map(|f| f.label()).collect();
        assert_eq!(labels.len(), all.len());
    }

    #[test]
    fn encoding_formats_differ_in_eof_marker() {
        let stats = PoolStats {
            size: 2,
            idle: 1,
            max: 10,
        };
        let openmetrics = encode(stats, true).expect("encode");
        assert!(openmetrics.ends_with("# EOF\n"), "{openmetrics}");
        let classic = encode(stats, false).expect("encode");
        assert!(!classic.contains("# EOF"), "{classic}");
        assert!(
            classic.contains("scopegate_db_pool_max_connections 10\n"),
            "{classic}"
        );
    }

    #[test]
    fn unusual_method_is_other() {
        let method = Method::from_bytes(b"PURGE").expect("method");
        assert_eq!(method_label(&method), "OTHER");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
    }
}
