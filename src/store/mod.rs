//! The storage boundary. Handlers and the auth layer call [`Store`]; every
//! SQL statement lives in the backend modules below it.

mod catalog_model;
mod model;
pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

pub use catalog_model::{
    Model, Page, Product, SshKeyRecord, Transfer, TransferFilter, TransferStatus,
};
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
    /// A conditional write found the row changed since it was read.
    #[error("the row changed concurrently: {0}")]
    Stale(String),
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
