//! The SQLite store, for a single replica that keeps its state in one file.
//!
//! UUIDs are stored as lowercase hyphenated text and timestamps as RFC 3339
//! text, so the sqlite3 command-line shell shows readable rows. SQLite
//! allows one writer at a time, and a connection that finds the database
//! locked waits up to [`BUSY_TIMEOUT`] for the lock.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction, types::Json};
use uuid::Uuid;
use uuid::fmt::Hyphenated;

use super::{
    ApiKeyRecord, Destination, Environment, NewApiKey, NewDestination, Organization, Recipient,
    SigningKeyRecord, Store, StoreError, StoreResult, Tenant,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Maximum time a statement waits for another connection's lock before it
/// fails with `database is locked`.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens a pool on the database file named by a `sqlite://PATH` URL,
    /// creating the file when it is missing.
    ///
    /// Every connection uses WAL journaling, `synchronous = NORMAL`,
    /// enforced foreign keys and a busy timeout of [`BUSY_TIMEOUT`]. One
    /// connection is opened before this returns, and it switches the file to
    /// WAL mode before the pool opens more. The switch needs an exclusive
    /// lock, and the busy timeout does not wait for that lock.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    pub fn from_pool(pool: SqlitePool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Starts a transaction that holds the write lock from its first
    /// statement on.
    ///
    /// A deferred transaction that reads and then writes fails at once with
    /// `database is locked` when another connection writes in between,
    /// without waiting for the busy timeout. `BEGIN IMMEDIATE` takes the
    /// lock up front, and waiting for that lock does honor the busy timeout.
    async fn begin_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

fn text_uuid(id: Uuid) -> Hyphenated {
    id.hyphenated()
}

fn uuid(row: &SqliteRow, column: &str) -> StoreResult<Uuid> {
    let value: Hyphenated = row.try_get(column)?;
    Ok(value.into_uuid())
}

fn environment(row: &SqliteRow, column: &str) -> StoreResult<Environment> {
    let value: String = row.try_get(column)?;
    Environment::parse(&value)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown environment {value:?} in {column}")))
}

fn tenant(row: &SqliteRow) -> StoreResult<Tenant> {
    Ok(Tenant {
        organization_id: uuid(row, "organization_id")?,
        environment: environment(row, "environment")?,
    })
}

fn organization_from_row(row: &SqliteRow) -> StoreResult<Organization> {
    Ok(Organization {
        id: uuid(row, "id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

fn api_key_from_row(row: &SqliteRow) -> StoreResult<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: uuid(row, "id")?,
        tenant: tenant(row)?,
        name: row.try_get("name")?,
        display_prefix: row.try_get("display_prefix")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn recipient_from_row(row: &SqliteRow) -> StoreResult<Recipient> {
    Ok(Recipient {
        id: uuid(row, "id")?,
        tenant: tenant(row)?,
        id_in_provider_system: row.try_get("id_in_provider_system")?,
        created_at: row.try_get("created_at")?,
    })
}

fn destination_from_row(row: &SqliteRow) -> StoreResult<Destination> {
    let Json(details): Json<serde_json::Value> = row.try_get("details")?;
    Ok(Destination {
        id: uuid(row, "id")?,
        tenant: tenant(row)?,
        recipient_id: uuid(row, "recipient_id")?,
        id_in_provider_system: row.try_get("id_in_provider_system")?,
        vendor: row.try_get("vendor")?,
        name: row.try_get("name")?,
        details,
        secrets: row.try_get("secrets")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn signing_key_from_row(row: &SqliteRow) -> StoreResult<SigningKeyRecord> {
    Ok(SigningKeyRecord {
        kid: row.try_get("kid")?,
        public_key: row.try_get("public_key")?,
        private_key_encrypted: row.try_get("private_key_encrypted")?,
        created_at: row.try_get("created_at")?,
        retired_at: row.try_get("retired_at")?,
    })
}

const ORGANIZATION_SELECT: &str = "SELECT id, name, created_at FROM organizations WHERE name = ?1";

const API_KEY_COLUMNS: &str = "id, organization_id, environment, name, display_prefix, \
     created_at, last_used_at, expires_at, revoked_at";

const RECIPIENT_BY_PROVIDER_ID: &str = "SELECT id, organization_id, environment, \
     id_in_provider_system, created_at FROM recipients \
     WHERE organization_id = ?1 AND environment = ?2 AND id_in_provider_system = ?3";

const DESTINATION_SELECT: &str = "SELECT d.id, d.organization_id, d.environment, \
     d.recipient_id, r.id_in_provider_system, d.vendor, d.name, d.details, d.secrets, \
     d.created_at, d.updated_at \
     FROM destinations d JOIN recipients r ON r.id = d.recipient_id";

const DESTINATION_BY_ID: &str = "WHERE d.id = ?1 AND d.organization_id = ?2 AND d.environment = ?3";

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn ensure_organization(&self, name: &str) -> StoreResult<Organization> {
        if let Some(organization) = self.find_organization(name).await? {
            return Ok(organization);
        }

        let mut transaction = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO organizations (id, name, created_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(text_uuid(Uuid::new_v4()))
        .bind(name)
        .bind(Utc::now())
        .execute(&mut *transaction)
        .await?;
        let row = sqlx::query(ORGANIZATION_SELECT)
            .bind(name)
            .fetch_one(&mut *transaction)
            .await?;
        transaction.commit().await?;
        organization_from_row(&row)
    }

    #[tracing::instrument(skip(self))]
    async fn find_organization(&self, name: &str) -> StoreResult<Option<Organization>> {
        let row = sqlx::query(ORGANIZATION_SELECT)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(organization_from_row).transpose()
    }

    #[tracing::instrument(skip_all, fields(api_key_id = %key.id))]
    async fn insert_api_key(&self, key: &NewApiKey) -> StoreResult<ApiKeyRecord> {
        let sql = format!(
            "INSERT INTO api_keys (id, organization_id, environment, name, key_hash, \
             display_prefix, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             RETURNING {API_KEY_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(key.id))
            .bind(text_uuid(key.tenant.organization_id))
            .bind(key.tenant.environment.as_str())
            .bind(&key.name)
            .bind(&key.key_hash[..])
            .bind(&key.display_prefix)
            .bind(key.created_at)
            .fetch_one(&self.pool)
            .await?;
        api_key_from_row(&row)
    }

    #[tracing::instrument(skip_all)]
    async fn find_api_key_by_hash(&self, key_hash: &[u8; 32]) -> StoreResult<Option<ApiKeyRecord>> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = ?1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&key_hash[..])
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(api_key_from_row).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn list_api_keys(&self, organization_id: Uuid) -> StoreResult<Vec<ApiKeyRecord>> {
        let sql = format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE organization_id = ?1 \
             ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(organization_id))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(api_key_from_row).collect()
    }

    #[tracing::instrument(skip(self))]
    async fn revoke_api_key(&self, id: Uuid) -> StoreResult<Option<ApiKeyRecord>> {
        let sql = format!(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1 \
             RETURNING {API_KEY_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(id))
            .bind(Utc::now())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(api_key_from_row).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn upsert_recipient(
        &self,
        tenant: Tenant,
        id_in_provider_system: &str,
    ) -> StoreResult<Recipient> {
        let organization_id = text_uuid(tenant.organization_id);
        let environment = tenant.environment.as_str();

        // Most calls name an existing recipient, and this read does not block writers.
        let existing = sqlx::query(RECIPIENT_BY_PROVIDER_ID)
            .bind(organization_id)
            .bind(environment)
            .bind(id_in_provider_system)
            .fetch_optional(&self.pool)
            .await?;
        if let Some(row) = existing {
            return recipient_from_row(&row);
        }

        // Under the write lock, a concurrent call either inserted the row
        // before this insert, which then does nothing, or waits until this
        // transaction commits. Both read the same row afterwards.
        let mut transaction = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO recipients (id, organization_id, environment, id_in_provider_system, \
             created_at) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (organization_id, environment, id_in_provider_system) DO NOTHING",
        )
        .bind(text_uuid(Uuid::new_v4()))
        .bind(organization_id)
        .bind(environment)
        .bind(id_in_provider_system)
        .bind(Utc::now())
        .execute(&mut *transaction)
        .await?;
        let row = sqlx::query(RECIPIENT_BY_PROVIDER_ID)
            .bind(organization_id)
            .bind(environment)
            .bind(id_in_provider_system)
            .fetch_one(&mut *transaction)
            .await?;
        transaction.commit().await?;
        recipient_from_row(&row)
    }

    #[tracing::instrument(skip(self))]
    async fn find_recipient(
        &self,
        tenant: Tenant,
        id_in_provider_system: &str,
    ) -> StoreResult<Option<Recipient>> {
        let row = sqlx::query(RECIPIENT_BY_PROVIDER_ID)
            .bind(text_uuid(tenant.organization_id))
            .bind(tenant.environment.as_str())
            .bind(id_in_provider_system)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(recipient_from_row).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn get_recipient(&self, tenant: Tenant, id: Uuid) -> StoreResult<Option<Recipient>> {
        let row = sqlx::query(
            "SELECT id, organization_id, environment, id_in_provider_system, created_at \
             FROM recipients WHERE id = ?1 AND organization_id = ?2 AND environment = ?3",
        )
        .bind(text_uuid(id))
        .bind(text_uuid(tenant.organization_id))
        .bind(tenant.environment.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(recipient_from_row).transpose()
    }

    #[tracing::instrument(skip_all, fields(destination_id = %destination.id))]
    async fn insert_destination(&self, destination: &NewDestination) -> StoreResult<Destination> {
        // The composite foreign key to recipients rejects a recipient of
        // another tenant with SQLITE_CONSTRAINT_FOREIGNKEY, which maps to
        // StoreError::NotFound.
        let mut transaction = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO destinations (id, organization_id, environment, recipient_id, vendor, \
             name, details, secrets, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        )
        .bind(text_uuid(destination.id))
        .bind(text_uuid(destination.tenant.organization_id))
        .bind(destination.tenant.environment.as_str())
        .bind(text_uuid(destination.recipient_id))
        .bind(&destination.vendor)
        .bind(&destination.name)
        .bind(Json(&destination.details))
        .bind(&destination.secrets)
        .bind(destination.created_at)
        .execute(&mut *transaction)
        .await?;
        let sql = format!("{DESTINATION_SELECT} {DESTINATION_BY_ID}");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(destination.id))
            .bind(text_uuid(destination.tenant.organization_id))
            .bind(destination.tenant.environment.as_str())
            .fetch_one(&mut *transaction)
            .await?;
        transaction.commit().await?;
        destination_from_row(&row)
    }

    #[tracing::instrument(skip(self))]
    async fn get_destination(&self, tenant: Tenant, id: Uuid) -> StoreResult<Option<Destination>> {
        let sql = format!("{DESTINATION_SELECT} {DESTINATION_BY_ID}");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(id))
            .bind(text_uuid(tenant.organization_id))
            .bind(tenant.environment.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(destination_from_row).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn list_destinations_for_recipient(
        &self,
        tenant: Tenant,
        recipient_id: Uuid,
    ) -> StoreResult<Vec<Destination>> {
        let sql = format!(
            "{DESTINATION_SELECT} WHERE d.recipient_id = ?1 AND d.organization_id = ?2 \
             AND d.environment = ?3 ORDER BY d.created_at, d.id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(recipient_id))
            .bind(text_uuid(tenant.organization_id))
            .bind(tenant.environment.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(destination_from_row).collect()
    }

    #[tracing::instrument(skip(self))]
    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows = sqlx::query(
            "SELECT kid, public_key, private_key_encrypted, created_at, retired_at \
             FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(signing_key_from_row).collect()
    }

    #[tracing::instrument(skip_all, fields(kid = %key.kid))]
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, public_key, private_key_encrypted, created_at, \
             retired_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(&key.kid)
        .bind(&key.public_key)
        .bind(&key.private_key_encrypted)
        .bind(key.created_at)
        .bind(key.retired_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn record_allowed_origin(&self, tenant: Tenant, origin: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO allowed_origins (organization_id, environment, origin, created_at) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        )
        .bind(text_uuid(tenant.organization_id))
        .bind(tenant.environment.as_str())
        .bind(origin)
        .bind(Utc::now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn is_allowed_origin(&self, origin: &str) -> StoreResult<bool> {
        let found = sqlx::query("SELECT 1 FROM allowed_origins WHERE origin = ?1 LIMIT 1")
            .bind(origin)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn open_store(directory: &tempfile::TempDir) -> SqliteStore {
        let url = format!("sqlite://{}", directory.path().join("store.db").display());
        let store = SqliteStore::connect(&url, 4, Duration::from_secs(5))
            .await
            .expect("connect failed");
        store.migrate().await.expect("migrate failed");
        store
    }

    #[tokio::test]
    async fn connect_sets_pragmas() {
        let directory = tempfile::tempdir().expect("tempdir failed");
        let store = open_store(&directory).await;
        assert!(directory.path().join("store.db").exists());

        let mut connection = store.pool().acquire().await.expect("acquire failed");
        let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *connection)
            .await
            .expect("reading journal_mode failed");
        assert_eq!(journal_mode, "wal");

        // SQLite reports synchronous NORMAL as 1.
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *connection)
            .await
            .expect("reading synchronous failed");
        assert_eq!(synchronous, 1);

        let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut *connection)
            .await
            .expect("reading foreign_keys failed");
        assert_eq!(foreign_keys, 1);

        let busy_timeout_ms: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(&mut *connection)
            .await
            .expect("reading busy_timeout failed");
        assert_eq!(busy_timeout_ms, 5000);
    }

    #[tokio::test]
    async fn rows_stored_as_text() {
        let directory = tempfile::tempdir().expect("tempdir failed");
        let store = open_store(&directory).await;
        let organization = store
            .ensure_organization("acme")
            .await
            .expect("ensure_organization failed");
        let tenant = Tenant {
            organization_id: organization.id,
            environment: Environment::Staging,
        };
        let recipient = store
            .upsert_recipient(tenant, "user-1")
            .await
            .expect("upsert_recipient failed");

        let row = sqlx::query(
            "SELECT id, typeof(id) AS id_type, organization_id, created_at, \
             typeof(created_at) AS created_at_type FROM recipients",
        )
        .fetch_one(store.pool())
        .await
        .expect("reading the recipient row failed");
        let id: String = row.try_get("id").expect("id is not text");
        let id_type: String = row.try_get("id_type").expect("id_type is missing");
        let organization_id: String = row
            .try_get("organization_id")
            .expect("organization_id is not text");
        let created_at: String = row.try_get("created_at").expect("created_at is not text");
        let created_at_type: String = row
            .try_get("created_at_type")
            .expect("created_at_type is missing");

        assert_eq!(id_type, "text");
        assert_eq!(id, recipient.id.hyphenated().to_string());
        assert_eq!(organization_id, organization.id.hyphenated().to_string());
        assert_eq!(created_at_type, "text");
        assert!(created_at.ends_with("+00:00"), "created_at {created_at:?}");
        let parsed =
            chrono::DateTime::parse_from_rfc3339(&created_at).expect("created_at is not RFC 3339");
        assert_eq!(parsed, recipient.created_at);
    }

    #[tokio::test]
    async fn constraint_errors_map() {
        let directory = tempfile::tempdir().expect("tempdir failed");
        let store = open_store(&directory).await;

        let insert_key = "INSERT INTO signing_keys VALUES ('k', x'00', x'00', '', NULL)";
        sqlx::query(insert_key)
            .execute(store.pool())
            .await
            .expect("first signing key insert failed");
        let duplicate = sqlx::query(insert_key)
            .execute(store.pool())
            .await
            .map_err(StoreError::from);
        assert!(
            matches!(duplicate, Err(StoreError::Conflict(_))),
            "duplicate primary key: {duplicate:?}"
        );

        let orphan = sqlx::query(
            "INSERT INTO recipients VALUES \
             ('00000000-0000-4000-8000-000000000000', '00000000-0000-4000-8000-000000000001', \
             'staging', 'user-1', '')",
        )
        .execute(store.pool())
        .await
        .map_err(StoreError::from);
        assert!(
            matches!(orphan, Err(StoreError::NotFound(_))),
            "missing organization: {orphan:?}"
        );
    }
}
