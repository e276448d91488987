//! Connection pool figures that both backends report for metrics.

use log::LevelFilter;
use sqlx::pool::PoolOptions;

/// A snapshot of a store's connection pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Open connections, idle or in use.
    pub size: u32,
    /// Open connections that no query holds.
    pub idle: u32,
    /// Maximum number of connections the pool opens.
    pub max: u32,
}

impl PoolStats {
    pub(crate) fn of<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> Self {
        Self {
            size: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        }
    }
}

/// Makes the pool emit a `sqlx::pool::acquire` trace event with the wait
/// of every successful connection acquisition, which
/// [`crate::ops::acquire::AcquireWaitLayer`] turns into a histogram.
/// Without a subscriber interested in that target the events cost close to
/// nothing.
pub(crate) fn report_acquire_wait<DB: sqlx::Database>(options: PoolOptions<DB>) -> PoolOptions<DB> {
    options.acquire_time_level(LevelFilter::Trace)
}
