//! Records the store reads and writes. They carry no HTTP concerns.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The two environments every organization-owned row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Staging,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Staging => "staging",
            Environment::Production => "production",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "staging" => Some(Environment::Staging),
            "production" => Some(Environment::Production),
            _ => None,
        }
    }
}

impl std::fmt::Display for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The organization and environment a request is confined to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tenant {
    pub organization_id: Uuid,
    pub environment: Environment,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// Permission level of an API key beyond the tenant's resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiKeyRole {
    /// May also create, list, revoke and rotate API keys, rotate signing
    /// keys and read audit events.
    Admin,
    Standard,
}

impl ApiKeyRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKeyRole::Admin => "admin",
            ApiKeyRole::Standard => "standard",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "admin" => Some(ApiKeyRole::Admin),
            "standard" => Some(ApiKeyRole::Standard),
            _ => None,
        }
    }
}

/// A stored API key. Only the SHA-256 digest of the key exists here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: Uuid,
    pub tenant: Tenant,
    pub name: Option<String>,
    pub role: ApiKeyRole,
    pub display_prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKeyRecord {
    /// Tells whether the key may authenticate a request at `now`.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|expiry| expiry > now)
    }
}

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: Uuid,
    pub tenant: Tenant,
    pub name: Option<String>,
    pub role: ApiKeyRole,
    pub key_hash: [u8; 32],
    pub display_prefix: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub id: Uuid,
    pub tenant: Tenant,
    pub id_in_provider_system: String,
    /// Display name the first party gave the recipient, if any.
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A stored destination: the document without identity fields and secrets,
/// plus the encrypted secrets.
#[derive(Debug, Clone, PartialEq)]
pub struct Destination {
    pub id: Uuid,
    pub tenant: Tenant,
    pub recipient_id: Uuid,
    pub id_in_provider_system: String,
    pub vendor: String,
    pub name: String,
    pub details: serde_json::Value,
    pub secrets: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewDestination {
    pub id: Uuid,
    pub tenant: Tenant,
    pub recipient_id: Uuid,
    pub vendor: String,
    pub name: String,
    pub details: serde_json::Value,
    pub secrets: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
}

/// A signing key as stored: the private part is encrypted with the master key.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub public_key: Vec<u8>,
    pub private_key_encrypted: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("private_key_encrypted", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish()
    }
}

/// A recorded security-relevant action. `details` never contains a key, token
/// or secret.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: Uuid,
    pub tenant: Tenant,
    /// For example `api_key.created`, `token.minted`, `token.denied`.
    pub action: String,
    pub api_key_id: Option<Uuid>,
    pub recipient_id: Option<Uuid>,
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// Filter of an audit-event listing. Every set field narrows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub recipient_id: Option<Uuid>,
    pub action: Option<String>,
    /// Inclusive lower bound on `created_at`.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound on `created_at`.
    pub until: Option<DateTime<Utc>>,
}

/// Table and column of a value sealed with the master key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SealedKind {
    /// `signing_keys.private_key_encrypted`, by `kid`.
    SigningKey,
    /// `destinations.secrets`, by destination id.
    DestinationSecrets,
    /// `ssh_keys.private_key_encrypted`, by key id.
    SshKey,
}

/// One sealed value with the id of its row.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedValue {
    pub kind: SealedKind,
    pub id: String,
    pub sealed: Vec<u8>,
}

impl std::fmt::Debug for SealedValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedValue")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
