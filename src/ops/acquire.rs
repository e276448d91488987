//! Turns sqlx's connection-acquisition events into the
//! `scopegate_db_acquire_wait_seconds` histogram.
//!
//! sqlx 0.9 times every `Pool::acquire` itself and, with
//! `PoolOptions::acquire_time_level` set (see `store::pool`), emits an event
//! with target `sqlx::pool::acquire` and the wait in the field
//! `acquired_after_secs`. Reading that event spares every query in both
//! store backends from taking its connection by hand. Only acquisitions
//! that succeed are recorded. Timeouts are counted where
//! `sqlx::Error::PoolTimedOut` becomes a store error.

use std::fmt::Debug;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, Filter};

/// Target of sqlx's acquisition events.
const ACQUIRE_TARGET: &str = "sqlx::pool::acquire";
/// Field that carries the wait, in seconds.
const WAIT_FIELD: &str = "acquired_after_secs";

/// A tracing layer that records the wait of each acquisition event.
#[derive(Debug, Default, Clone, Copy)]
pub struct AcquireWaitLayer;

impl AcquireWaitLayer {
    /// Returns the filter this layer needs: sqlx's acquisition events at
    /// every level, and nothing else.
    pub fn filter<S: Subscriber>() -> impl Filter<S> + Send + Sync + 'static {
        Targets::new().with_target(ACQUIRE_TARGET, Level::TRACE)
    }
}

impl<S: Subscriber> Layer<S> for AcquireWaitLayer {
    fn on_event(&self, event: &Event<'_>, _context: Context<'_, S>) {
        if event.metadata().target() != ACQUIRE_TARGET {
            return;
        }
        let mut wait = WaitVisitor(None);
        event.record(&mut wait);
        if let Some(seconds) = wait.0 {
            super::metrics::record_db_acquire_wait(seconds);
        }
    }
}

struct WaitVisitor(Option<f64>);

impl Visit for WaitVisitor {
    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == WAIT_FIELD {
            self.0 = Some(value);
        }
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn Debug) {}
}
