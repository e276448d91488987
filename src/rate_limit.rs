//! A per-client fixed-window rate limiter for unauthenticated routes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Clients tracked at most; beyond it, windows that ended are dropped, and
/// if none ended every window restarts.
const MAX_CLIENTS: usize = 100_000;

pub struct RateLimiter {
    limit: u32,
    window: Duration,
    clients: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimiter {
    /// Allows `limit` requests per client address in each `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request from `client`. Returns `Err` with the time until the
    /// client's window ends when the limit is already reached.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if clients.len() >= MAX_CLIENTS && !clients.contains_key(&client) {
            clients.retain(|_, (start, _)| now.duration_since(*start) < self.window);
            if clients.len() >= MAX_CLIENTS {
                clients.clear();
            }
        }
        let entry = clients.entry(client).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            return Err(self.window.saturating_sub(now.duration_since(entry.0)));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_applies_per_client() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        let first: IpAddr = "192.0.2.1".parse().expect("address");
        let second: IpAddr = "192.0.2.2".parse().expect("address");
        assert!(limiter.check(first).is_ok());
        assert!(limiter.check(first).is_ok());
        let wait = limiter.check(first).expect_err("third request is limited");
        assert!(wait <= Duration::from_secs(60));
        assert!(limiter.check(second).is_ok());
    }

    #[test]
    fn window_restarts() {
        let limiter = RateLimiter::new(1, Duration::from_millis(20));
        let client: IpAddr = "192.0.2.1".parse().expect("address");
        assert!(limiter.check(client).is_ok());
        assert!(limiter.check(client).is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(limiter.check(client).is_ok());
    }
}
