//! The storage boundary. Handlers and the auth layer call [`Store`]; every
//! SQL statement lives in the backend modules below it.

mod model;
pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

pub use model::{
    ApiKeyRecord, Destination, Environment, NewApiKey, NewDestination, Organization, Recipient,
    SigningKeyRecord, Tenant,
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
    #[error("unsupported database URL: expected postgres://, postgresql:// or sqlite://")]
    UnsupportedUrl,
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
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

pub type StoreResult<T> = Result<T, StoreError>;

/// Persistent state of scopegate. Every method that touches data of an
/// organization takes the [`Tenant`] and never reads or writes outside it.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies pending migrations.
    async fn migrate(&self) -> StoreResult<()>;

    /// Checks that the database responds.
    async fn ping(&self) -> StoreResult<()>;

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
