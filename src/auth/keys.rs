//! The signing key ring: Ed25519 key pairs parsed once and kept in memory,
//! and the JWKS that publishes their public halves.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use jsonwebtoken::DecodingKey;
use serde_json::json;

use crate::crypto::MasterKey;
use crate::store::{DynStore, SigningKeyRecord, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error("could not generate a signing key")]
    Generate,
    #[error("signing key {kid} cannot be decrypted: {source}")]
    Decrypt {
        kid: String,
        #[source]
        source: crate::crypto::CryptoError,
    },
    #[error("signing key {0} is not a valid Ed25519 PKCS#8 document")]
    Parse(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A private key ready to sign, parsed once.
pub struct SigningKey {
    pub kid: String,
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }

    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }
}

/// RFC 7638 thumbprint of an Ed25519 public key, used as its `kid`.
pub fn thumbprint(public_key: &[u8]) -> String {
    let x = URL_SAFE_NO_PAD.encode(public_key);
    // Members in lexicographic order, no white space, as RFC 7638 requires.
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes()))
}

fn seal_context(kid: &str) -> Vec<u8> {
    crate::crypto::seal_context(crate::store::SealedKind::SigningKey, kid)
}

/// The keys this process signs and verifies with.
pub struct KeyRing {
    active: Arc<SigningKey>,
    verifiers: HashMap<String, (Vec<u8>, DecodingKey)>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("active", &self.active.kid)
            .field("kids", &self.verifiers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KeyRing {
    /// Loads the stored keys, generating and storing the first one when the
    /// store contains none. The newest key signs, and every loaded key verifies.
    pub async fn load_or_create(
        store: &DynStore,
        master_key: &MasterKey,
    ) -> Result<Self, KeyRingError> {
        let mut records = store.list_signing_keys().await?;
        if records.is_empty() {
            let record = generate_record(master_key)?;
            tracing::info!(kid = %record.kid, "generated the first signing key");
            store.insert_signing_key(&record).await?;
            records = store.list_signing_keys().await?;
        }
        Self::from_records(&records, master_key)
    }

    pub fn from_records(
        records: &[SigningKeyRecord],
        master_key: &MasterKey,
    ) -> Result<Self, KeyRingError> {
        let mut verifiers = HashMap::new();
        let mut active = None;
        for record in records {
            let pkcs8 = master_key
                .open(&seal_context(&record.kid), &record.private_key_encrypted)
                .map_err(|source| KeyRingError::Decrypt {
                    kid: record.kid.clone(),
                    source,
                })?;
            let pair = Ed25519KeyPair::from_pkcs8(&pkcs8)
                .map_err(|_| KeyRingError::Parse(record.kid.clone()))?;
            let public = pair.public_key().as_ref().to_vec();
            let decoding = DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(&public))
                .map_err(|_| KeyRingError::Parse(record.kid.clone()))?;
            verifiers.insert(record.kid.clone(), (public, decoding));
            // Records arrive oldest first, so the last one wins.
            active = Some(Arc::new(SigningKey {
                kid: record.kid.clone(),
                pair,
            }));
        }
        let active = active.ok_or(KeyRingError::Generate)?;
        Ok(Self { active, verifiers })
    }

    pub fn active(&self) -> &SigningKey {
        &self.active
    }

    pub fn decoding_key(&self, kid: &str) -> Option<&DecodingKey> {
        self.verifiers.get(kid).map(|(_, key)| key)
    }

    /// Builds the JSON Web Key Set of every key that verifies.
    pub fn jwks(&self) -> serde_json::Value {
        let mut kids: Vec<&String> = self.verifiers.keys().collect();
        kids.sort();
        let keys: Vec<serde_json::Value> = kids
            .into_iter()
            .map(|kid| {
                let (public, _) = &self.verifiers[kid];
                json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "alg": "EdDSA",
                    "use": "sig",
                    "kid": kid,
                    "x": URL_SAFE_NO_PAD.encode(public),
                })
            })
            .collect();
        json!({ "keys": keys })
    }
}

/// The key ring in use, replaced as a whole when keys rotate or retire.
pub struct KeyRingHandle {
    ring: RwLock<Arc<KeyRing>>,
}

impl KeyRingHandle {
    pub fn new(ring: KeyRing) -> Self {
        Self {
            ring: RwLock::new(Arc::new(ring)),
        }
    }

    pub fn current(&self) -> Arc<KeyRing> {
        self.ring.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn replace(&self, ring: KeyRing) {
        *self.ring.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(ring);
    }
}

/// Retires every key that a newer key superseded more than `retention`
/// ago, then loads the keys that remain. `retention` must cover the longest
/// token lifetime, the clock leeway and the time other replicas take to
/// start signing with the newest key.
pub async fn refresh(
    store: &DynStore,
    master_key: &MasterKey,
    retention: Duration,
) -> Result<KeyRing, KeyRingError> {
    let records = store.list_signing_keys().await?;
    let now = Utc::now();
    // Records arrive oldest first; every key but the newest is superseded
    // no later than the newest key's creation.
    if let Some(newest) = records.last()
        && newest.created_at + retention <= now
    {
        for record in &records[..records.len() - 1] {
            store.retire_signing_key(&record.kid, now).await?;
            tracing::info!(kid = %record.kid, "retired signing key");
        }
    }
    KeyRing::load_or_create(store, master_key).await
}

/// Generates a signing key and stores it; it signs from the next ring load.
pub async fn rotate(
    store: &DynStore,
    master_key: &MasterKey,
) -> Result<SigningKeyRecord, KeyRingError> {
    let record = generate_record(master_key)?;
    store.insert_signing_key(&record).await?;
    tracing::info!(kid = %record.kid, "rotated signing key");
    Ok(record)
}

/// Generates a key pair and seals its private half for storage.
pub fn generate_record(master_key: &MasterKey) -> Result<SigningKeyRecord, KeyRingError> {
    let pkcs8 =
        Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| KeyRingError::Generate)?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| KeyRingError::Generate)?;
    let public_key = pair.public_key().as_ref().to_vec();
    let kid = thumbprint(&public_key);
    let private_key_encrypted = master_key
        .seal(&seal_context(&kid), pkcs8.as_ref())
        .map_err(|_| KeyRingError::Generate)?;
    Ok(SigningKeyRecord {
        kid,
        public_key,
        private_key_encrypted,
        created_at: Utc::now(),
        retired_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_signs_with_newest_and_publishes_all() {
        let (master, _) = MasterKey::generate().expect("master key");
        let old = generate_record(&master).expect("old");
        let mut new = generate_record(&master).expect("new");
        new.created_at = old.created_at + chrono::Duration::seconds(1);
        let ring = KeyRing::from_records(&[old.clone(), new.clone()], &master).expect("ring");

        assert_eq!(ring.active().kid, new.kid);
        let jwks = ring.jwks();
        assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(2));
        assert!(ring.decoding_key(&old.kid).is_some());
    }

    #[test]
    fn ring_rejects_other_master_key() {
        let (master, _) = MasterKey::generate().expect("master key");
        let (other, _) = MasterKey::generate().expect("other key");
        let record = generate_record(&master).expect("record");
        assert!(matches!(
            KeyRing::from_records(&[record], &other),
            Err(KeyRingError::Decrypt { .. })
        ));
    }
}
