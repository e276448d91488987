//! Browser origins allowed by CORS: configured ones, and every origin an API
//! key named in a successful mint. Vouched origins are kept in the store so
//! every replica accepts the same preflights.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::origin::Origin;
use crate::store::{DynStore, StoreResult, Tenant};

/// How long a lookup result, and a recorded vouch, is reused before the
/// store is asked again.
const REUSE_FOR: Duration = Duration::from_secs(60);
/// Entries above which the caches are emptied.
const CACHE_CAPACITY: usize = 10_000;

pub struct OriginRegistry {
    store: DynStore,
    configured: HashSet<String>,
    lookups: Mutex<HashMap<String, (bool, Instant)>>,
    recorded: Mutex<HashMap<(Tenant, String), Instant>>,
}

/// Key under which a vouched origin is stored.
fn storage_key(origin: &Origin) -> String {
    origin.canonical()
}

impl OriginRegistry {
    pub fn new(store: DynStore, configured: &[String]) -> Self {
        Self {
            store,
            configured: configured.iter().map(|o| o.to_ascii_lowercase()).collect(),
            lookups: Mutex::new(HashMap::new()),
            recorded: Mutex::new(HashMap::new()),
        }
    }

    /// Records that `tenant` vouched for `origin` in a mint, at most once
    /// per [`REUSE_FOR`] per process.
    pub async fn vouch(&self, tenant: Tenant, origin: &Origin) -> StoreResult<()> {
        let key = storage_key(origin);
        {
            let recorded = self.recorded.lock().unwrap_or_else(|e| e.into_inner());
            if recorded
                .get(&(tenant, key.clone()))
                .is_some_and(|at| at.elapsed() < REUSE_FOR)
            {
                return Ok(());
            }
        }
        self.store.record_allowed_origin(tenant, &key).await?;

        let mut recorded = self.recorded.lock().unwrap_or_else(|e| e.into_inner());
        if recorded.len() >= CACHE_CAPACITY {
            recorded.clear();
        }
        recorded.insert((tenant, key.clone()), Instant::now());
        drop(recorded);
        let mut lookups = self.lookups.lock().unwrap_or_else(|e| e.into_inner());
        lookups.remove(&key);
        Ok(())
    }

    /// Tells whether a browser `Origin` header value may make CORS requests.
    pub async fn is_allowed(&self, header_value: &str) -> bool {
        if self.configured.contains(&header_value.to_ascii_lowercase()) {
            return true;
        }
        let Ok(origin) = Origin::parse(header_value) else {
            return false;
        };
        for key in origin.lookup_keys() {
            if self.lookup(&key).await {
                return true;
            }
        }
        false
    }

    async fn lookup(&self, key: &str) -> bool {
        {
            let lookups = self.lookups.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((allowed, at)) = lookups.get(key)
                && at.elapsed() < REUSE_FOR
            {
                return *allowed;
            }
        }
        let allowed = match self.store.is_allowed_origin(key).await {
            Ok(allowed) => allowed,
            Err(error) => {
                tracing::warn!(error = %error, "could not look up a CORS origin");
                return false;
            }
        };
        let mut lookups = self.lookups.lock().unwrap_or_else(|e| e.into_inner());
        if lookups.len() >= CACHE_CAPACITY {
            lookups.clear();
        }
        lookups.insert(key.to_owned(), (allowed, Instant::now()));
        allowed
    }
}
