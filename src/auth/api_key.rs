//! API keys: format, generation, hashing and the per-process lookup cache.
//!
//! A key reads `sk_staging_<body><check>` or `sk_prod_<body><check>`. The body
//! is 43 base62 characters (256 random bits). The check is 6 base62
//! characters derived from the SHA-256 of prefix and body, so a mistyped or
//! truncated key is rejected without a database query.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lc_rs::digest::{SHA256, digest};
use chrono::Utc;

use crate::crypto::{CryptoError, random_bytes};
use crate::store::{
    ApiKeyRecord, ApiKeyRole, DynStore, Environment, NewApiKey, StoreError, Tenant,
};

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BODY_LEN: usize = 43;
const CHECK_LEN: usize = 6;
/// Characters of the body kept in listings to tell keys apart.
const DISPLAY_BODY_LEN: usize = 6;

fn prefix(environment: Environment) -> &'static str {
    match environment {
        Environment::Staging => "sk_staging_",
        Environment::Production => "sk_prod_",
    }
}

/// A full API key. Its `Debug` and `Display` never show the key.
pub struct ApiKeySecret(String);

impl ApiKeySecret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKeySecret(<redacted>)")
    }
}

/// A newly generated key with what the store keeps of it.
#[derive(Debug)]
pub struct GeneratedKey {
    pub secret: ApiKeySecret,
    pub hash: [u8; 32],
    pub display_prefix: String,
}

/// Reason a presented key was rejected before any lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    #[error("the API key does not start with sk_staging_ or sk_prod_")]
    Prefix,
    #[error("the API key has the wrong length or characters")]
    Shape,
    #[error("the API key checksum does not match; check for a typing or copy error")]
    Checksum,
}

fn checksum(prefix: &str, body: &str) -> String {
    let hash = digest(&SHA256, format!("{prefix}{body}").as_bytes());
    hash.as_ref()[..CHECK_LEN]
        .iter()
        .map(|byte| ALPHABET[usize::from(*byte) % ALPHABET.len()] as char)
        .collect()
}

pub fn hash_key(key: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, key.as_bytes()).as_ref());
    out
}

/// Generates a key for `environment` from the system random generator.
pub fn generate(environment: Environment) -> Result<GeneratedKey, CryptoError> {
    let mut body = String::with_capacity(BODY_LEN);
    // Rejection sampling keeps every character uniform: 248 = 4 * 62.
    while body.len() < BODY_LEN {
        for byte in random_bytes::<64>()? {
            if byte < 248 && body.len() < BODY_LEN {
                body.push(ALPHABET[usize::from(byte) % ALPHABET.len()] as char);
            }
        }
    }
    let prefix = prefix(environment);
    let key = format!("{prefix}{body}{}", checksum(prefix, &body));
    Ok(GeneratedKey {
        hash: hash_key(&key),
        display_prefix: format!("{prefix}{}", &body[..DISPLAY_BODY_LEN]),
        secret: ApiKeySecret(key),
    })
}

/// Generates a key for `tenant` and stores its digest. Returns the full
/// key, which exists nowhere else, and the stored record.
pub async fn issue(
    store: &DynStore,
    tenant: Tenant,
    name: Option<String>,
    role: ApiKeyRole,
) -> anyhow::Result<(ApiKeySecret, ApiKeyRecord)> {
    let generated = generate(tenant.environment)?;
    let record = store
        .insert_api_key(&NewApiKey {
            id: uuid::Uuid::new_v4(),
            tenant,
            name,
            role,
            key_hash: generated.hash,
            display_prefix: generated.display_prefix,
            created_at: Utc::now(),
        })
        .await?;
    Ok((generated.secret, record))
}

/// Checks the format and checksum of a presented key and returns the
/// environment its prefix names.
pub fn check_format(key: &str) -> Result<Environment, KeyFormatError> {
    let (environment, rest) = if let Some(rest) = key.strip_prefix("sk_staging_") {
        (Environment::Staging, rest)
    } else if let Some(rest) = key.strip_prefix("sk_prod_") {
        (Environment::Production, rest)
    } else {
        return Err(KeyFormatError::Prefix);
    };
    if rest.len() != BODY_LEN + CHECK_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(KeyFormatError::Shape);
    }
    let (body, check) = rest.split_at(BODY_LEN);
    if checksum(prefix(environment), body) != check {
        return Err(KeyFormatError::Checksum);
    }
    Ok(environment)
}

#[derive(Debug, thiserror::Error)]
pub enum KeyLookupError {
    #[error(transparent)]
    Format(#[from] KeyFormatError),
    #[error("the API key is not known")]
    Unknown,
    #[error("the API key has been revoked")]
    Revoked,
    #[error("the API key has expired")]
    Expired,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Caches key records by digest so that a repeated key costs no database
/// query. An entry lives at most `ttl`, which bounds how long a revocation
/// made on another replica can go unnoticed here.
pub struct ApiKeyCache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<[u8; 32], (ApiKeyRecord, Instant)>>,
    /// Keys used since the last [`ApiKeyCache::flush_usage`].
    used: Mutex<HashSet<uuid::Uuid>>,
}

impl ApiKeyCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            entries: Mutex::new(HashMap::new()),
            used: Mutex::new(HashSet::new()),
        }
    }

    /// Writes `last_used_at` of every key used since the previous call, in
    /// one statement, so a request never waits for that write.
    pub async fn flush_usage(&self, store: &DynStore) -> Result<(), StoreError> {
        let ids: Vec<uuid::Uuid> = {
            let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
            used.drain().collect()
        };
        store.touch_api_keys(&ids, Utc::now()).await
    }

    fn get(&self, hash: &[u8; 32]) -> Option<ApiKeyRecord> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(hash)
            .filter(|(_, fetched)| fetched.elapsed() < self.ttl)
            .map(|(record, _)| record.clone())
    }

    fn put(&self, hash: [u8; 32], record: ApiKeyRecord) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            entries.retain(|_, (_, fetched)| fetched.elapsed() < self.ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(hash, (record, Instant::now()));
    }

    /// Drops the entry of a key, so a revocation takes effect at once here.
    pub fn forget(&self, id: uuid::Uuid) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, (record, _)| record.id != id);
    }

    /// Resolves a presented key to its record, from the cache when fresh.
    pub async fn authenticate(
        &self,
        store: &DynStore,
        presented: &str,
    ) -> Result<ApiKeyRecord, KeyLookupError> {
        let environment = check_format(presented)?;
        let hash = hash_key(presented);

        let cached = self.get(&hash);
        crate::ops::metrics::record_api_key_cache(cached.is_some());
        let record = match cached {
            Some(record) => record,
            None => {
                let record = store
                    .find_api_key_by_hash(&hash)
                    .await?
                    .ok_or(KeyLookupError::Unknown)?;
                self.put(hash, record.clone());
                record
            }
        };

        if record.tenant.environment != environment {
            return Err(KeyLookupError::Unknown);
        }
        if record.revoked_at.is_some() {
            return Err(KeyLookupError::Revoked);
        }
        if !record.is_usable(Utc::now()) {
            return Err(KeyLookupError::Expired);
        }
        self.used
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(record.id);
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_passes_format_check() {
        for environment in [Environment::Staging, Environment::Production] {
            let key = generate(environment).expect("generate");
            assert_eq!(check_format(key.secret.expose()), Ok(environment));
        }
    }

    #[test]
    fn generated_keys_differ() {
        let first = generate(Environment::Staging).expect("generate");
        let second = generate(Environment::Staging).expect("generate");
        assert_ne!(first.secret.expose(), second.secret.expose());
        assert_ne!(first.hash, second.hash);
    }

    #[test]
    fn format_check_rejects_typo() {
        let key = generate(Environment::Production).expect("generate");
        let mut typo = key.secret.expose().to_owned().into_bytes();
        typo[12] = if typo[12] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(typo).expect("ascii");
        assert_eq!(check_format(&typo), Err(KeyFormatError::Checksum));
    }

    #[test]
    fn format_check_rejects_truncation_and_prefix() {
        let key = generate(Environment::Staging).expect("generate");
        let text = key.secret.expose();
        assert_eq!(
            check_format(&text[..text.len() - 1]),
            Err(KeyFormatError::Shape)
        );
        assert_eq!(check_format("pk_live_abc"), Err(KeyFormatError::Prefix));
        assert_eq!(
            check_format(&text.replace("sk_staging_", "sk_prod_")),
            Err(KeyFormatError::Checksum)
        );
    }

    #[test]
    fn debug_hides_key() {
        let key = generate(Environment::Staging).expect("generate");
        assert!(!format!("{key:?}").contains(key.secret.expose()));
    }
}
