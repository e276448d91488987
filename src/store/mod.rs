//! The storage boundary. Handlers and the auth layer call [`Store`]; every
//! SQL statement lives in the backend modules below it.

mod catalog_model;
mod model;
mod pool;
pub mod postgres;
pub mod sqlite;

pub use pool::PoolStats;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

pub use catalog_model::{
    Model, Page, Product, SshKeyRecord, Transfer, TransferFilter, TransferStatus,
};
pub use model::{
    ApiKeyRecord, ApiKeyRole, AuditEvent, AuditFilter, Destination, Environment, NewApiKey,
    NewDestination, Organization, Recipient, SealedKind, SealedValue, SigningKeyRecord, Tenant,
};

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached in time; the request may be retried.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A uniqueness rule rejected the write.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A referenced row does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// A conditional write found the row changed since it was read.
    #[error("the row changed concurrently: {0}")]
    Stale(String),
    #[error("unsupported database URL: expected postgres://, postgresql:// or sqlite://")]
    UnsupportedUrl,
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut => {
                crate::ops::metrics::record_db_acquire_timeout();
                StoreError::Unavailable(error)
            }
            // The connection could not be opened, or broke mid-exchange: the
            // server is down, restarting or unreachable.
            sqlx::Error::Io(_)
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(error),
            sqlx::Error::Database(db) if is_unreachable_code(db.code().as_deref()) => {
                StoreError::Unavailable(error)
            }
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.constraint().unwrap_or(db.message()).to_owned())
            }
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::NotFound(db.constraint().unwrap_or(db.message()).to_owned())
            }
            // SQLite's SQLITE_BUSY and its extended codes: the write lock was
            // not granted within the busy timeout.
            sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("5" | "261" | "517" | "773")) =>
            {
                StoreError::Unavailable(error)
            }
            _ => StoreError::Database(error),
        }
    }
}

/// Tells whether a PostgreSQL SQLSTATE means the server cannot serve this
/// connection now: class 08 (connection exception), 53300
/// (too_many_connections) and 57P01 to 57P03 (admin_shutdown,
/// crash_shutdown, cannot_connect_now).
fn is_unreachable_code(code: Option<&str>) -> bool {
    match code {
        Some(code) => {
            code.starts_with("08") || matches!(code, "53300" | "57P01" | "57P02" | "57P03")
        }
        None => false,
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Persistent state of scopegate. Every method that touches data of an
/// organization takes the [`Tenant`] and never reads or writes outside it.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies pending migrations.
    async fn migrate(&self) -> StoreResult<()>;

    /// Checks that the database responds.
    async fn ping(&self) -> StoreResult<()>;

    /// Returns the current size of the connection pool, for metrics.
    fn pool_stats(&self) -> PoolStats;

    /// Returns the organization named `name`, creating it when missing.
    async fn ensure_organization(&self, name: &str) -> StoreResult<Organization>;

    async fn find_organization(&self, name: &str) -> StoreResult<Option<Organization>>;

    /// Inserts a key; a duplicate digest is a [`StoreError::Conflict`].
    async fn insert_api_key(&self, key: &NewApiKey) -> StoreResult<ApiKeyRecord>;

    /// Looks a key up by the SHA-256 digest of the full key.
    async fn find_api_key_by_hash(&self, key_hash: &[u8; 32]) -> StoreResult<Option<ApiKeyRecord>>;

    /// Lists every key of an organization, both environments, oldest first.
    async fn list_api_keys(&self, organization_id: Uuid) -> StoreResult<Vec<ApiKeyRecord>>;

    /// Marks a key revoked. Returns the key, or `None` when no key has that
    /// id. Revoking a revoked key keeps its first revocation time.
    async fn revoke_api_key(&self, id: Uuid) -> StoreResult<Option<ApiKeyRecord>>;

    /// Returns the recipient with this `id_in_provider_system`, creating it
    /// when missing. Concurrent calls for one recipient return the same row.
    async fn upsert_recipient(
        &self,
        tenant: Tenant,
        id_in_provider_system: &str,
    ) -> StoreResult<Recipient>;

    async fn get_recipient(&self, tenant: Tenant, id: Uuid) -> StoreResult<Option<Recipient>>;

    /// Finds a recipient by `id_in_provider_system` without creating it.
    async fn find_recipient(
        &self,
        tenant: Tenant,
        id_in_provider_system: &str,
    ) -> StoreResult<Option<Recipient>>;

    /// Inserts a destination; its recipient must belong to the same tenant,
    /// else [`StoreError::NotFound`].
    async fn insert_destination(&self, destination: &NewDestination) -> StoreResult<Destination>;

    async fn get_destination(&self, tenant: Tenant, id: Uuid) -> StoreResult<Option<Destination>>;

    /// Lists a recipient's destinations, oldest first.
    async fn list_destinations_for_recipient(
        &self,
        tenant: Tenant,
        recipient_id: Uuid,
    ) -> StoreResult<Vec<Destination>>;

    /// Replaces a destination's vendor, name, details and secrets, only if its
    /// `updated_at` still equals `expected_updated_at`. Returns `None` when
    /// no destination has that id in `tenant`, and [`StoreError::Stale`]
    /// when it changed since it was read.
    ///
    /// The stored `updated_at` becomes `destination.updated_at`, so callers
    /// pass a new time there. `destination.tenant`, the recipient fields and
    /// `created_at` are ignored.
    async fn update_destination(
        &self,
        tenant: Tenant,
        destination: &Destination,
        expected_updated_at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<Option<Destination>>;

    /// Deletes a destination and its transfers. Returns whether it existed.
    async fn delete_destination(&self, tenant: Tenant, id: Uuid) -> StoreResult<bool>;

    /// Inserts a transfer. Its destination must belong to `transfer.tenant`
    /// and to `transfer.recipient_id`, else [`StoreError::NotFound`].
    async fn insert_transfer(&self, transfer: &Transfer) -> StoreResult<Transfer>;

    async fn get_transfer(&self, tenant: Tenant, id: Uuid) -> StoreResult<Option<Transfer>>;

    /// Replaces the mutable fields of a transfer (status, models, metrics,
    /// log, times, counts), only if its status is still `expected_status`.
    /// Returns `None` for an unknown id and [`StoreError::Stale`] when the
    /// status changed meanwhile.
    ///
    /// The times replaced are `started_at`, `ended_at` and `updated_at`.
    /// `submitted_at`, the destination and the recipient never change.
    /// Callers check [`TransferStatus::can_become`], because the store does not.
    async fn update_transfer(
        &self,
        transfer: &Transfer,
        expected_status: TransferStatus,
    ) -> StoreResult<Option<Transfer>>;

    /// Lists transfers of `tenant` matching `filter`, ordered by
    /// `submitted_at`, then id, in the page's direction. `page.after`
    /// skips every row up to and including that pair in this order.
    async fn list_transfers(
        &self,
        tenant: Tenant,
        filter: &TransferFilter,
        page: &Page,
    ) -> StoreResult<Vec<Transfer>>;

    /// Inserts a model; a taken `model_name` is [`StoreError::Conflict`].
    async fn insert_model(&self, model: &Model) -> StoreResult<Model>;

    /// Replaces every field but id, tenant and created_at. `None` when no
    /// model has that id in the tenant; a taken name is a conflict.
    async fn update_model(&self, model: &Model) -> StoreResult<Option<Model>>;

    /// Deletes a model and its product memberships. Returns whether it existed.
    async fn delete_model(&self, tenant: Tenant, id: Uuid) -> StoreResult<bool>;

    /// Lists the tenant's models by name, in byte order.
    async fn list_models(&self, tenant: Tenant) -> StoreResult<Vec<Model>>;

    /// Inserts a product with its member models, named by `model_name`. A
    /// taken name is a conflict; an unknown model is [`StoreError::NotFound`]
    /// naming it, and nothing is written. The message of that error is the
    /// unknown name alone. A name listed twice counts once.
    async fn insert_product(&self, product: &Product) -> StoreResult<Product>;

    /// Replaces a product's name and members atomically, with the errors of
    /// [`Store::insert_product`]. `None` when no product has that id.
    async fn update_product(&self, product: &Product) -> StoreResult<Option<Product>>;

    /// Deletes a product; recipients lose it. Returns whether it existed.
    async fn delete_product(&self, tenant: Tenant, id: Uuid) -> StoreResult<bool>;

    /// Lists the tenant's products by name.
    async fn list_products(&self, tenant: Tenant) -> StoreResult<Vec<Product>>;

    /// Replaces the products a recipient receives, named by `product_name`.
    /// An unknown product is [`StoreError::NotFound`] naming it, and nothing
    /// is written. The message of that error is the unknown name alone, and
    /// a name listed twice counts once. Returns `false` when the recipient
    /// does not exist in `tenant`, which is checked before the names.
    async fn set_recipient_products(
        &self,
        tenant: Tenant,
        recipient_id: Uuid,
        product_names: &[String],
    ) -> StoreResult<bool>;

    /// Lists the product names of a recipient, sorted.
    async fn list_recipient_products(
        &self,
        tenant: Tenant,
        recipient_id: Uuid,
    ) -> StoreResult<Vec<String>>;

    /// Lists the models of the recipient's products, each once, by name;
    /// every model of the tenant when the recipient has no products. A
    /// recipient id unknown in `tenant` has no products. A recipient whose
    /// products have no models gets an empty list.
    async fn list_models_for_recipient(
        &self,
        tenant: Tenant,
        recipient_id: Uuid,
    ) -> StoreResult<Vec<Model>>;

    /// Inserts a generated key as given. An id or a public form that is
    /// already stored is a [`StoreError::Conflict`].
    async fn insert_ssh_key(&self, key: &SshKeyRecord) -> StoreResult<()>;

    /// Finds a generated key by either public form, compared exactly after
    /// trimming surrounding white space. Both `public_key` and the stored
    /// forms are trimmed of ASCII tab, LF, VT, FF, CR and space.
    async fn find_ssh_key(&self, public_key: &str) -> StoreResult<Option<SshKeyRecord>>;

    /// Returns the key with this id, in any organization.
    async fn get_api_key(&self, id: Uuid) -> StoreResult<Option<ApiKeyRecord>>;

    /// Sets or clears a key's expiry, in any organization. Returns the key,
    /// or `None` for an unknown id.
    async fn set_api_key_expiry(
        &self,
        id: Uuid,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> StoreResult<Option<ApiKeyRecord>>;

    /// Sets `last_used_at` of the given keys to `at`, unless it is already
    /// later, so it never moves backwards. Unknown ids are skipped.
    async fn touch_api_keys(
        &self,
        ids: &[Uuid],
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<()>;

    /// Lists every signing key, retired ones included, oldest first.
    async fn list_all_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;

    /// Marks a signing key retired at `at` unless it already is, so a second
    /// call keeps the first time. Returns whether a key was changed, which
    /// is `false` for an unknown `kid`.
    async fn retire_signing_key(
        &self,
        kid: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<bool>;

    /// Inserts an audit event. An unknown organization is
    /// [`StoreError::NotFound`] and a taken id is a [`StoreError::Conflict`].
    /// `api_key_id` and `recipient_id` need not name existing rows.
    async fn insert_audit_event(&self, event: &AuditEvent) -> StoreResult<()>;

    /// Lists audit events of `tenant` matching `filter`, ordered by
    /// `created_at`, then id, in the page's direction. `page.after` skips
    /// every row up to and including that pair in this order.
    async fn list_audit_events(
        &self,
        tenant: Tenant,
        filter: &AuditFilter,
        page: &Page,
    ) -> StoreResult<Vec<AuditEvent>>;

    /// Inserts a recipient as given. A taken `id_in_provider_system` in its
    /// tenant, or a taken id, is a [`StoreError::Conflict`], and an unknown
    /// organization is [`StoreError::NotFound`].
    async fn insert_recipient(&self, recipient: &Recipient) -> StoreResult<Recipient>;

    /// Sets or clears a recipient's name. `None` when no recipient has that
    /// id in `tenant`.
    async fn update_recipient_name(
        &self,
        tenant: Tenant,
        id: Uuid,
        name: Option<&str>,
    ) -> StoreResult<Option<Recipient>>;

    /// Lists recipients of `tenant` ordered by `created_at`, then id, in the
    /// page's direction, optionally only the one with this
    /// `id_in_provider_system`. `page.after` skips every row up to and
    /// including that pair in this order.
    async fn list_recipients(
        &self,
        tenant: Tenant,
        id_in_provider_system: Option<&str>,
        page: &Page,
    ) -> StoreResult<Vec<Recipient>>;

    /// Deletes a recipient of `tenant` and its product assignments. With
    /// destinations it is a [`StoreError::Conflict`] and nothing is deleted,
    /// unless `cascade`, which deletes them and their transfers too.
    /// Returns whether the recipient existed.
    async fn delete_recipient(&self, tenant: Tenant, id: Uuid, cascade: bool) -> StoreResult<bool>;

    /// Lists destinations of `tenant`, optionally of one recipient, ordered
    /// by `created_at`, then id, in the page's direction. `page.after` skips
    /// every row up to and including that pair in this order.
    async fn list_destinations(
        &self,
        tenant: Tenant,
        recipient_id: Option<Uuid>,
        page: &Page,
    ) -> StoreResult<Vec<Destination>>;

    /// Lists every value sealed with the master key, in every table and
    /// every organization, in no particular order. Destinations without
    /// secrets are left out.
    async fn list_sealed_values(&self) -> StoreResult<Vec<SealedValue>>;

    /// Replaces one sealed value, only if it still equals `previous`.
    /// Returns whether it was replaced, so `false` when the row is gone or
    /// contains another value. A destination or SSH key id that is not a UUID
    /// is [`StoreError::NotFound`].
    async fn replace_sealed_value(&self, value: &SealedValue, previous: &[u8])
    -> StoreResult<bool>;

    /// Lists signing keys that are not retired, oldest first.
    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()>;

    /// Records that an API key of `tenant` vouched for a browser origin.
    async fn record_allowed_origin(&self, tenant: Tenant, origin: &str) -> StoreResult<()>;

    /// Tells whether any tenant vouched for this origin.
    async fn is_allowed_origin(&self, origin: &str) -> StoreResult<bool>;
}

pub type DynStore = Arc<dyn Store>;

/// Opens the store a database URL names: `postgres://` or `postgresql://`
/// for Postgres, `sqlite://PATH` for SQLite.
pub async fn connect(
    url: &str,
    max_connections: u32,
    acquire_timeout: std::time::Duration,
) -> StoreResult<DynStore> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = postgres::PostgresStore::connect_lazy(url, max_connections, acquire_timeout)?;
        return Ok(Arc::new(store));
    }
    if url.starts_with("sqlite:") {
        let store = sqlite::SqliteStore::connect(url, max_connections, acquire_timeout).await?;
        return Ok(Arc::new(store));
    }
    Err(StoreError::UnsupportedUrl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_connection_is_unavailable() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let cases = [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(refused),
            sqlx::Error::Protocol("unexpected end of stream".to_owned()),
            sqlx::Error::WorkerCrashed,
        ];
        for error in cases {
            let described = error.to_string();
            assert!(
                matches!(StoreError::from(error), StoreError::Unavailable(_)),
                "{described}"
            );
        }
    }

    #[test]
    fn other_errors_stay_database_errors() {
        assert!(matches!(
            StoreError::from(sqlx::Error::RowNotFound),
            StoreError::Database(_)
        ));
    }

    #[test]
    fn unreachable_sqlstates() {
        for code in ["08000", "08006", "53300", "57P01", "57P02", "57P03"] {
            assert!(is_unreachable_code(Some(code)), "{code}");
        }
        for code in ["23505", "42P01", "5", "8"] {
            assert!(!is_unreachable_code(Some(code)), "{code}");
        }
        assert!(!is_unreachable_code(None));
    }
}
