//! Records for transfers, models, products and generated SSH keys.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Tenant;

/// Status of a transfer, spelled as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransferStatus {
    Pending,
    Running,
    Success,
    Error,
    PartialFailure,
    Cancelled,
    Expired,
    Orphaned,
}

impl TransferStatus {
    pub const ALL: [TransferStatus; 8] = [
        TransferStatus::Pending,
        TransferStatus::Running,
        TransferStatus::Success,
        TransferStatus::Error,
        TransferStatus::PartialFailure,
        TransferStatus::Cancelled,
        TransferStatus::Expired,
        TransferStatus::Orphaned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TransferStatus::Pending => "PENDING",
            TransferStatus::Running => "RUNNING",
            TransferStatus::Success => "SUCCESS",
            TransferStatus::Error => "ERROR",
            TransferStatus::PartialFailure => "PARTIAL_FAILURE",
            TransferStatus::Cancelled => "CANCELLED",
            TransferStatus::Expired => "EXPIRED",
            TransferStatus::Orphaned => "ORPHANED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// Tells whether a transfer in this status may move to `next`. Finished
    /// statuses are final; a transfer only moves forward.
    pub fn can_become(self, next: TransferStatus) -> bool {
        use TransferStatus::*;
        match self {
            Pending => matches!(
                next,
                Running | Success | Error | PartialFailure | Cancelled | Expired | Orphaned
            ),
            Running => matches!(
                next,
                Success | Error | PartialFailure | Cancelled | Orphaned
            ),
            Success | Error | PartialFailure | Cancelled | Expired | Orphaned => false,
        }
    }
}

/// One sync run into a destination.
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    pub id: Uuid,
    pub tenant: Tenant,
    pub destination_id: Uuid,
    pub recipient_id: Uuid,
    pub status: TransferStatus,
    /// Model names the transfer covers.
    pub models: Vec<String>,
    /// JSON array of per-model metrics as the API returns them.
    pub model_metrics: serde_json::Value,
    pub log: String,
    pub submitted_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub rows_transferred: i64,
    pub volume_transferred_in_mb: f64,
    pub updated_at: DateTime<Utc>,
}

/// Filter of a transfer listing. Every set field narrows the result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransferFilter {
    pub destination_id: Option<Uuid>,
    pub recipient_id: Option<Uuid>,
    /// Empty means any status.
    pub statuses: Vec<TransferStatus>,
    /// Inclusive lower bound on `submitted_at`.
    pub submitted_from: Option<DateTime<Utc>>,
    /// Exclusive upper bound on `submitted_at`.
    pub submitted_until: Option<DateTime<Utc>>,
}

/// Keyset pagination over rows ordered by a timestamp, then by id.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Rows to return at most. Backends return up to `limit` rows; callers
    /// ask for one more than they show to learn whether a next page exists.
    pub limit: u32,
    /// Sort value and id of the last row already seen; rows after it follow.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub descending: bool,
}

/// An exportable table of the first party.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub id: Uuid,
    pub tenant: Tenant,
    /// Unique per tenant.
    pub model_name: String,
    pub description: String,
    /// JSON array of column definitions, as the API returns them.
    pub columns: serde_json::Value,
    pub source_table: String,
    pub source_schema: String,
    pub organization_column: String,
    pub source_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A named bundle of models.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: Uuid,
    pub tenant: Tenant,
    /// Unique per tenant.
    pub product_name: String,
    /// Names of the member models, sorted.
    pub models: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An SSH key pair generated for a customer's tunnel or key-pair login.
#[derive(Clone, PartialEq, Eq)]
pub struct SshKeyRecord {
    pub id: Uuid,
    /// `ssh-rsa AAAA…` form.
    pub public_key_openssh: String,
    /// PEM `PUBLIC KEY` (SubjectPublicKeyInfo) form.
    pub public_key_pkcs8: String,
    /// PKCS#8 private key sealed with the master key.
    pub private_key_encrypted: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for SshKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshKeyRecord")
            .field("id", &self.id)
            .field("public_key_openssh", &self.public_key_openssh)
            .field("private_key_encrypted", &"<redacted>")
            .finish()
    }
}
