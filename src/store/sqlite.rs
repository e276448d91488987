//! The SQLite store, for a single replica that keeps its state in one file.
//!
//! UUIDs are stored as lowercase hyphenated text and timestamps as RFC 3339
//! text, so the sqlite3 command-line shell shows readable rows. SQLite
//! allows one writer at a time, and a connection that finds the database
//! locked waits up to [`BUSY_TIMEOUT`] for the lock.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction, types::Json};
use uuid::Uuid;
use uuid::fmt::Hyphenated;

use super::{
    ApiKeyRecord, ApiKeyRole, AuditEvent, AuditFilter, Destination, Environment, Model, NewApiKey,
    NewDestination, Organization, Page, Product, Recipient, SealedKind, SealedValue,
    SigningKeyRecord, SshKeyRecord, Store, StoreError, StoreResult, Tenant, Transfer,
    TransferFilter, TransferStatus,
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
        let pool = super::pool::report_acquire_wait(SqlitePoolOptions::new())
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
        role: {
            let role: String = row.try_get("role")?;
            ApiKeyRole::parse(&role)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown API key role {role:?}")))?
        },
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
        name: row.try_get("name")?,
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

fn transfer_from_row(row: &SqliteRow) -> StoreResult<Transfer> {
    let status: String = row.try_get("status")?;
    let status = TransferStatus::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown transfer status {status:?}")))?;
    let Json(models): Json<Vec<String>> = row.try_get("models")?;
    let Json(model_metrics): Json<serde_json::Value> = row.try_get("model_metrics")?;
    Ok(Transfer {
        id: uuid(row, "id")?,
        tenant: tenant(row)?,
        destination_id: uuid(row, "destination_id")?,
        recipient_id: uuid(row, "recipient_id")?,
        status,
        models,
        model_metrics,
        log: row.try_get("log")?,
        submitted_at: row.try_get("submitted_at")?,
        started_at: row.try_get("started_at")?,
        ended_at: row.try_get("ended_at")?,
        rows_transferred: row.try_get("rows_transferred")?,
        volume_transferred_in_mb: row.try_get("volume_transferred_in_mb")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn model_from_row(row: &SqliteRow) -> StoreResult<Model> {
    let Json(columns): Json<serde_json::Value> = row.try_get("columns")?;
    Ok(Model {
        id: uuid(row, "id")?,
        tenant: tenant(row)?,
        model_name: row.try_get("model_name")?,
        description: row.try_get("description")?,
        columns,
        source_table: row.try_get("source_table")?,
        source_schema: row.try_get("source_schema")?,
        organization_column: row.try_get("organization_column")?,
        source_name: row.try_get("source_name")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Builds products from rows of [`PRODUCT_SELECT`], which must arrive
/// ordered by product and then by member name.
fn products_from_rows(rows: &[SqliteRow]) -> StoreResult<Vec<Product>> {
    let mut products: Vec<Product> = Vec::new();
    for row in rows {
        let id = uuid(row, "id")?;
        if products.last().is_none_or(|product| product.id != id) {
            products.push(Product {
                id,
                tenant: tenant(row)?,
                product_name: row.try_get("product_name")?,
                models: Vec::new(),
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            });
        }
        let member: Option<String> = row.try_get("model_name")?;
        if let (Some(member), Some(product)) = (member, products.last_mut()) {
            product.models.push(member);
        }
    }
    Ok(products)
}

fn ssh_key_from_row(row: &SqliteRow) -> StoreResult<SshKeyRecord> {
    Ok(SshKeyRecord {
        id: uuid(row, "id")?,
        public_key_openssh: row.try_get("public_key_openssh")?,
        public_key_pkcs8: row.try_get("public_key_pkcs8")?,
        private_key_encrypted: row.try_get("private_key_encrypted")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Returns the names in `names` without repeats, in their first order.
fn distinct_names(names: &[String]) -> Vec<String> {
    let mut seen = HashSet::with_capacity(names.len());
    names
        .iter()
        .filter(|name| seen.insert(name.as_str()))
        .cloned()
        .collect()
}

/// Maps each of `names` to the id in the `(id, name_column)` rows. The first
/// name without a row is a [`StoreError::NotFound`] whose message is that
/// name.
fn ids_for_names(
    rows: &[SqliteRow],
    name_column: &str,
    names: &[String],
) -> StoreResult<Vec<Uuid>> {
    let mut ids_by_name = HashMap::with_capacity(rows.len());
    for row in rows {
        let name: String = row.try_get(name_column)?;
        ids_by_name.insert(name, uuid(row, "id")?);
    }
    names
        .iter()
        .map(|name| {
            ids_by_name
                .get(name)
                .copied()
                .ok_or_else(|| StoreError::NotFound(name.clone()))
        })
        .collect()
}

/// Tells whether `table` has a row with this id in `tenant`. `table` is a
/// table name of this module, never input.
async fn tenant_row_exists(
    connection: &mut SqliteConnection,
    table: &'static str,
    tenant: Tenant,
    id: Uuid,
) -> StoreResult<bool> {
    let sql = format!(
        "SELECT 1 FROM {table} WHERE id = ?1 AND organization_id = ?2 AND environment = ?3"
    );
    let found = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(text_uuid(id))
        .bind(text_uuid(tenant.organization_id))
        .bind(tenant.environment.as_str())
        .fetch_optional(connection)
        .await?;
    Ok(found.is_some())
}

/// Resolves model names of `tenant` to ids, in the order of `names`.
async fn model_ids_by_name(
    connection: &mut SqliteConnection,
    tenant: Tenant,
    names: &[String],
) -> StoreResult<Vec<Uuid>> {
    let rows = sqlx::query(
        "SELECT id, model_name FROM models WHERE organization_id = ?1 AND environment = ?2 \
         AND model_name IN (SELECT value FROM json_each(?3))",
    )
    .bind(text_uuid(tenant.organization_id))
    .bind(tenant.environment.as_str())
    .bind(Json(names))
    .fetch_all(connection)
    .await?;
    ids_for_names(&rows, "model_name", names)
}

/// Resolves product names of `tenant` to ids, in the order of `names`.
async fn product_ids_by_name(
    connection: &mut SqliteConnection,
    tenant: Tenant,
    names: &[String],
) -> StoreResult<Vec<Uuid>> {
    let rows = sqlx::query(
        "SELECT id, product_name FROM products WHERE organization_id = ?1 AND environment = ?2 \
         AND product_name IN (SELECT value FROM json_each(?3))",
    )
    .bind(text_uuid(tenant.organization_id))
    .bind(tenant.environment.as_str())
    .bind(Json(names))
    .fetch_all(connection)
    .await?;
    ids_for_names(&rows, "product_name", names)
}

async fn insert_product_models(
    connection: &mut SqliteConnection,
    tenant: Tenant,
    product_id: Uuid,
    model_ids: &[Uuid],
) -> StoreResult<()> {
    for model_id in model_ids {
        sqlx::query(
            "INSERT INTO product_models (product_id, model_id, organization_id, environment) \
             VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(text_uuid(product_id))
        .bind(text_uuid(*model_id))
        .bind(text_uuid(tenant.organization_id))
        .bind(tenant.environment.as_str())
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

async fn product_by_id(
    connection: &mut SqliteConnection,
    tenant: Tenant,
    id: Uuid,
) -> StoreResult<Option<Product>> {
    let sql = format!(
        "{PRODUCT_SELECT} WHERE p.id = ?1 AND p.organization_id = ?2 AND p.environment = ?3 \
         ORDER BY m.model_name"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(text_uuid(id))
        .bind(text_uuid(tenant.organization_id))
        .bind(tenant.environment.as_str())
        .fetch_all(connection)
        .await?;
    Ok(products_from_rows(&rows)?.into_iter().next())
}

const ORGANIZATION_SELECT: &str = "SELECT id, name, created_at FROM organizations WHERE name = ?1";

const API_KEY_COLUMNS: &str = "id, organization_id, environment, name, role, display_prefix, \
     created_at, last_used_at, expires_at, revoked_at";

const RECIPIENT_BY_PROVIDER_ID: &str = "SELECT id, organization_id, environment, \
     id_in_provider_system, name, created_at FROM recipients \
     WHERE organization_id = ?1 AND environment = ?2 AND id_in_provider_system = ?3";

const DESTINATION_SELECT: &str = "SELECT d.id, d.organization_id, d.environment, \
     d.recipient_id, r.id_in_provider_system, d.vendor, d.name, d.details, d.secrets, \
     d.created_at, d.updated_at \
     FROM destinations d JOIN recipients r ON r.id = d.recipient_id";

const DESTINATION_BY_ID: &str = "WHERE d.id = ?1 AND d.organization_id = ?2 AND d.environment = ?3";

const TRANSFER_COLUMNS: &str = "id, organization_id, environment, destination_id, recipient_id, \
     status, models, model_metrics, log, submitted_at, started_at, ended_at, rows_transferred, \
     volume_transferred_in_mb, updated_at";

const MODEL_COLUMNS: &str = "id, organization_id, environment, model_name, description, columns, \
     source_table, source_schema, organization_column, source_name, created_at, updated_at";

/// One row per member model of each product, and one row with a NULL
/// `model_name` for a product without members.
const PRODUCT_SELECT: &str = "SELECT p.id, p.organization_id, p.environment, p.product_name, \
     p.created_at, p.updated_at, m.model_name \
     FROM products p \
     LEFT JOIN product_models pm ON pm.product_id = p.id \
     LEFT JOIN models m ON m.id = pm.model_id";

const SSH_KEY_COLUMNS: &str =
    "id, public_key_openssh, public_key_pkcs8, private_key_encrypted, created_at";

/// White space that [`Store::find_ssh_key`] trims from both sides of the
/// comparison: tab, LF, VT, FF, CR and space. The `trim` calls in
/// [`SSH_KEY_BY_PUBLIC_KEY`] and the ssh_keys index expressions of
/// migration 0012 trim the same set.
const SSH_KEY_WHITESPACE: [char; 6] = ['\t', '\n', '\u{0B}', '\u{0C}', '\r', ' '];

const SSH_KEY_BY_PUBLIC_KEY: &str = "SELECT id, public_key_openssh, public_key_pkcs8, \
     private_key_encrypted, created_at FROM ssh_keys \
     WHERE trim(public_key_openssh, char(9, 10, 11, 12, 13, 32)) = ?1 \
     OR trim(public_key_pkcs8, char(9, 10, 11, 12, 13, 32)) = ?1 \
     LIMIT 1";

const AUDIT_EVENT_COLUMNS: &str =
    "id, organization_id, environment, action, api_key_id, recipient_id, details, created_at";

const RECIPIENT_COLUMNS: &str =
    "id, organization_id, environment, id_in_provider_system, name, created_at";

fn audit_event_from_row(row: &SqliteRow) -> StoreResult<AuditEvent> {
    let api_key_id: Option<Hyphenated> = row.try_get("api_key_id")?;
    let recipient_id: Option<Hyphenated> = row.try_get("recipient_id")?;
    let Json(details): Json<serde_json::Value> = row.try_get("details")?;
    Ok(AuditEvent {
        id: uuid(row, "id")?,
        tenant: tenant(row)?,
        action: row.try_get("action")?,
        api_key_id: api_key_id.map(Hyphenated::into_uuid),
        recipient_id: recipient_id.map(Hyphenated::into_uuid),
        details,
        created_at: row.try_get("created_at")?,
    })
}

/// Appends the keyset condition, order and limit of `page` over
/// `(sort_column, id_column)`.
///
/// sqlx 0.9 binds a `DateTime<Utc>` as RFC 3339 text ending in `+00:00`
/// with 0, 3, 6 or 9 fraction digits, which is also how the column stores
/// it. Because `+` sorts before `.` and before every digit, these texts
/// sort in time order, so the text comparison and the ORDER BY follow time.
/// Equal times give equal texts, and then the id decides.
fn push_page(query: &mut QueryBuilder<Sqlite>, sort_column: &str, id_column: &str, page: &Page) {
    let (comparison, direction) = if page.descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some((sort_value, id)) = page.after {
        query.push(format_args!(
            " AND ({sort_column}, {id_column}) {comparison} ("
        ));
        query.push_bind(sort_value);
        query.push(", ");
        query.push_bind(text_uuid(id));
        query.push(")");
    }
    query.push(format_args!(
        " ORDER BY {sort_column} {direction}, {id_column} {direction} LIMIT "
    ));
    query.push_bind(i64::from(page.limit));
}

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

    fn pool_stats(&self) -> super::PoolStats {
        super::PoolStats::of(&self.pool)
    }

    #[tracing::instrument(skip(self))]
    async fn get_api_key(&self, id: Uuid) -> StoreResult<Option<ApiKeyRecord>> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = ?1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(id))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(api_key_from_row).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn set_api_key_expiry(
        &self,
        id: Uuid,
        expires_at: Option<DateTime<Utc>>,
    ) -> StoreResult<Option<ApiKeyRecord>> {
        let sql = format!(
            "UPDATE api_keys SET expires_at = ?2 WHERE id = ?1 RETURNING {API_KEY_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(id))
            .bind(expires_at)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(api_key_from_row).transpose()
    }

    #[tracing::instrument(skip_all, fields(keys = ids.len()))]
    async fn touch_api_keys(&self, ids: &[Uuid], at: DateTime<Utc>) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        // The ids travel as one JSON array of hyphenated texts. `at` is bound
        // as the same RFC 3339 text that last_used_at stores, so the text
        // comparison follows time, as explained at `push_page`.
        let ids: Vec<Hyphenated> = ids.iter().copied().map(text_uuid).collect();
        sqlx::query(
            "UPDATE api_keys SET last_used_at = ?2 \
             WHERE id IN (SELECT value FROM json_each(?1)) \
             AND (last_used_at IS NULL OR last_used_at < ?2)",
        )
        .bind(Json(&ids))
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn list_all_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows = sqlx::query(
            "SELECT kid, public_key, private_key_encrypted, created_at, retired_at \
             FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(signing_key_from_row).collect()
    }

    #[tracing::instrument(skip(self))]
    async fn retire_signing_key(&self, kid: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        let changed = sqlx::query(
            "UPDATE signing_keys SET retired_at = ?2 WHERE kid = ?1 AND retired_at IS NULL",
        )
        .bind(kid)
        .bind(at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed > 0)
    }

    #[tracing::instrument(skip_all, fields(action = %event.action))]
    async fn insert_audit_event(&self, event: &AuditEvent) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO audit_events ({AUDIT_EVENT_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(event.id))
            .bind(text_uuid(event.tenant.organization_id))
            .bind(event.tenant.environment.as_str())
            .bind(&event.action)
            .bind(event.api_key_id.map(text_uuid))
            .bind(event.recipient_id.map(text_uuid))
            .bind(Json(&event.details))
            .bind(event.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn list_audit_events(
        &self,
        tenant: Tenant,
        filter: &AuditFilter,
        page: &Page,
    ) -> StoreResult<Vec<AuditEvent>> {
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {AUDIT_EVENT_COLUMNS} FROM audit_events WHERE organization_id = "
        ));
        query.push_bind(text_uuid(tenant.organization_id));
        query.push(" AND environment = ");
        query.push_bind(tenant.environment.as_str());
        if let Some(recipient_id) = filter.recipient_id {
            query.push(" AND recipient_id = ");
            query.push_bind(text_uuid(recipient_id));
        }
        if let Some(action) = &filter.action {
            query.push(" AND action = ");
            query.push_bind(action.clone());
        }
        if let Some(from) = filter.from {
            query.push(" AND created_at >= ");
            query.push_bind(from);
        }
        if let Some(until) = filter.until {
            query.push(" AND created_at < ");
            query.push_bind(until);
        }
        push_page(&mut query, "created_at", "id", page);

        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(audit_event_from_row).collect()
    }

    #[tracing::instrument(skip_all, fields(recipient_id = %recipient.id))]
    async fn insert_recipient(&self, recipient: &Recipient) -> StoreResult<Recipient> {
        let sql = format!(
            "INSERT INTO recipients ({RECIPIENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             RETURNING {RECIPIENT_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(recipient.id))
            .bind(text_uuid(recipient.tenant.organization_id))
            .bind(recipient.tenant.environment.as_str())
            .bind(&recipient.id_in_provider_system)
            .bind(&recipient.name)
            .bind(recipient.created_at)
            .fetch_one(&self.pool)
            .await?;
        recipient_from_row(&row)
    }

    #[tracing::instrument(skip(self))]
    async fn update_recipient_name(
        &self,
        tenant: Tenant,
        id: Uuid,
        name: Option<&str>,
    ) -> StoreResult<Option<Recipient>> {
        let sql = format!(
            "UPDATE recipients SET name = ?4 WHERE id = ?1 AND organization_id = ?2 \
             AND environment = ?3 RETURNING {RECIPIENT_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(id))
            .bind(text_uuid(tenant.organization_id))
            .bind(tenant.environment.as_str())
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(recipient_from_row).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn list_recipients(
        &self,
        tenant: Tenant,
        id_in_provider_system: Option<&str>,
        page: &Page,
    ) -> StoreResult<Vec<Recipient>> {
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {RECIPIENT_COLUMNS} FROM recipients WHERE organization_id = "
        ));
        query.push_bind(text_uuid(tenant.organization_id));
        query.push(" AND environment = ");
        query.push_bind(tenant.environment.as_str());
        if let Some(id_in_provider_system) = id_in_provider_system {
            query.push(" AND id_in_provider_system = ");
            query.push_bind(id_in_provider_system.to_owned());
        }
        push_page(&mut query, "created_at", "id", page);

        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(recipient_from_row).collect()
    }

    #[tracing::instrument(skip(self))]
    async fn delete_recipient(&self, tenant: Tenant, id: Uuid, cascade: bool) -> StoreResult<bool> {
        // The write lock keeps a destination from being added between the
        // count and the delete.
        let mut transaction = self.begin_write().await?;
        if !tenant_row_exists(&mut transaction, "recipients", tenant, id).await? {
            return Ok(false);
        }

        if !cascade {
            let destinations: i64 =
                sqlx::query_scalar("SELECT count(*) FROM destinations WHERE recipient_id = ?1")
                    .bind(text_uuid(id))
                    .fetch_one(&mut *transaction)
                    .await?;
            if destinations > 0 {
                return Err(StoreError::Conflict(format!(
                    "recipient has {destinations} destinations"
                )));
            }
        }

        // The foreign keys delete the recipient's destinations, their
        // transfers and the recipient's product assignments with it.
        sqlx::query(
            "DELETE FROM recipients WHERE id = ?1 AND organization_id = ?2 AND environment = ?3",
        )
        .bind(text_uuid(id))
        .bind(text_uuid(tenant.organization_id))
        .bind(tenant.environment.as_str())
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(true)
    }

    #[tracing::instrument(skip(self))]
    async fn list_destinations(
        &self,
        tenant: Tenant,
        recipient_id: Option<Uuid>,
        page: &Page,
    ) -> StoreResult<Vec<Destination>> {
        let mut query =
            QueryBuilder::<Sqlite>::new(format!("{DESTINATION_SELECT} WHERE d.organization_id = "));
        query.push_bind(text_uuid(tenant.organization_id));
        query.push(" AND d.environment = ");
        query.push_bind(tenant.environment.as_str());
        if let Some(recipient_id) = recipient_id {
            query.push(" AND d.recipient_id = ");
            query.push_bind(text_uuid(recipient_id));
        }
        push_page(&mut query, "d.created_at", "d.id", page);

        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(destination_from_row).collect()
    }

    #[tracing::instrument(skip(self))]
    async fn list_sealed_values(&self) -> StoreResult<Vec<SealedValue>> {
        let mut values = Vec::new();
        let signing_keys = sqlx::query("SELECT kid, private_key_encrypted FROM signing_keys")
            .fetch_all(&self.pool)
            .await?;
        for row in signing_keys {
            values.push(SealedValue {
                kind: SealedKind::SigningKey,
                id: row.try_get("kid")?,
                sealed: row.try_get("private_key_encrypted")?,
            });
        }

        let destinations =
            sqlx::query("SELECT id, secrets FROM destinations WHERE secrets IS NOT NULL")
                .fetch_all(&self.pool)
                .await?;
        for row in destinations {
            values.push(SealedValue {
                kind: SealedKind::DestinationSecrets,
                id: uuid(&row, "id")?.to_string(),
                sealed: row.try_get("secrets")?,
            });
        }

        let ssh_keys = sqlx::query("SELECT id, private_key_encrypted FROM ssh_keys")
            .fetch_all(&self.pool)
            .await?;
        for row in ssh_keys {
            values.push(SealedValue {
                kind: SealedKind::SshKey,
                id: uuid(&row, "id")?.to_string(),
                sealed: row.try_get("private_key_encrypted")?,
            });
        }
        Ok(values)
    }

    #[tracing::instrument(skip_all, fields(kind = ?value.kind, id = %value.id))]
    async fn replace_sealed_value(
        &self,
        value: &SealedValue,
        previous: &[u8],
    ) -> StoreResult<bool> {
        // Destination and SSH key ids are parsed and bound in the stored
        // lowercase form, so an id in upper case matches its row as it does
        // on Postgres.
        let row_uuid = |text: &str| {
            Uuid::parse_str(text)
                .map(text_uuid)
                .map_err(|_| StoreError::NotFound(format!("row id {text:?}")))
        };
        let replaced = match value.kind {
            SealedKind::SigningKey => {
                sqlx::query(
                    "UPDATE signing_keys SET private_key_encrypted = ?2 \
                     WHERE kid = ?1 AND private_key_encrypted = ?3",
                )
                .bind(&value.id)
                .bind(&value.sealed)
                .bind(previous)
                .execute(&self.pool)
                .await?
            }
            SealedKind::DestinationSecrets => {
                sqlx::query("UPDATE destinations SET secrets = ?2 WHERE id = ?1 AND secrets = ?3")
                    .bind(row_uuid(&value.id)?)
                    .bind(&value.sealed)
                    .bind(previous)
                    .execute(&self.pool)
                    .await?
            }
            SealedKind::SshKey => {
                sqlx::query(
                    "UPDATE ssh_keys SET private_key_encrypted = ?2 \
                     WHERE id = ?1 AND private_key_encrypted = ?3",
                )
                .bind(row_uuid(&value.id)?)
                .bind(&value.sealed)
                .bind(previous)
                .execute(&self.pool)
                .await?
            }
        }
        .rows_affected();
        Ok(replaced > 0)
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
             display_prefix, created_at, role) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
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
            .bind(key.role.as_str())
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
            "SELECT id, organization_id, environment, id_in_provider_system, name, created_at \
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

    #[tracing::instrument(skip_all, fields(destination_id = %destination.id))]
    async fn update_destination(
        &self,
        tenant: Tenant,
        destination: &Destination,
        expected_updated_at: DateTime<Utc>,
    ) -> StoreResult<Option<Destination>> {
        // Both timestamps are bound as the same RFC 3339 text the column
        // holds, so the comparison with updated_at is an exact text match.
        let mut transaction = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE destinations SET vendor = ?4, name = ?5, details = ?6, secrets = ?7, \
             updated_at = ?8 \
             WHERE id = ?1 AND organization_id = ?2 AND environment = ?3 AND updated_at = ?9",
        )
        .bind(text_uuid(destination.id))
        .bind(text_uuid(tenant.organization_id))
        .bind(tenant.environment.as_str())
        .bind(&destination.vendor)
        .bind(&destination.name)
        .bind(Json(&destination.details))
        .bind(&destination.secrets)
        .bind(destination.updated_at)
        .bind(expected_updated_at)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        if updated == 0 {
            let exists =
                tenant_row_exists(&mut transaction, "destinations", tenant, destination.id).await?;
            if exists {
                return Err(StoreError::Stale(format!("destination {}", destination.id)));
            }
            return Ok(None);
        }

        let sql = format!("{DESTINATION_SELECT} {DESTINATION_BY_ID}");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(destination.id))
            .bind(text_uuid(tenant.organization_id))
            .bind(tenant.environment.as_str())
            .fetch_one(&mut *transaction)
            .await?;
        transaction.commit().await?;
        destination_from_row(&row).map(Some)
    }

    #[tracing::instrument(skip(self))]
    async fn delete_destination(&self, tenant: Tenant, id: Uuid) -> StoreResult<bool> {
        let deleted = sqlx::query(
            "DELETE FROM destinations WHERE id = ?1 AND organization_id = ?2 AND environment = ?3",
        )
        .bind(text_uuid(id))
        .bind(text_uuid(tenant.organization_id))
        .bind(tenant.environment.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(deleted > 0)
    }

    #[tracing::instrument(skip_all, fields(transfer_id = %transfer.id))]
    async fn insert_transfer(&self, transfer: &Transfer) -> StoreResult<Transfer> {
        // The composite foreign key to destinations rejects a destination of
        // another tenant or recipient with SQLITE_CONSTRAINT_FOREIGNKEY,
        // which maps to StoreError::NotFound.
        let sql = format!(
            "INSERT INTO transfers ({TRANSFER_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
             RETURNING {TRANSFER_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(transfer.id))
            .bind(text_uuid(transfer.tenant.organization_id))
            .bind(transfer.tenant.environment.as_str())
            .bind(text_uuid(transfer.destination_id))
            .bind(text_uuid(transfer.recipient_id))
            .bind(transfer.status.as_str())
            .bind(Json(&transfer.models))
            .bind(Json(&transfer.model_metrics))
            .bind(&transfer.log)
            .bind(transfer.submitted_at)
            .bind(transfer.started_at)
            .bind(transfer.ended_at)
            .bind(transfer.rows_transferred)
            .bind(transfer.volume_transferred_in_mb)
            .bind(transfer.updated_at)
            .fetch_one(&self.pool)
            .await?;
        transfer_from_row(&row)
    }

    #[tracing::instrument(skip(self))]
    async fn get_transfer(&self, tenant: Tenant, id: Uuid) -> StoreResult<Option<Transfer>> {
        let sql = format!(
            "SELECT {TRANSFER_COLUMNS} FROM transfers \
             WHERE id = ?1 AND organization_id = ?2 AND environment = ?3"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(id))
            .bind(text_uuid(tenant.organization_id))
            .bind(tenant.environment.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(transfer_from_row).transpose()
    }

    #[tracing::instrument(skip_all, fields(transfer_id = %transfer.id))]
    async fn update_transfer(
        &self,
        transfer: &Transfer,
        expected_status: TransferStatus,
    ) -> StoreResult<Option<Transfer>> {
        let tenant = transfer.tenant;
        let mut transaction = self.begin_write().await?;
        let sql = format!(
            "UPDATE transfers SET status = ?4, models = ?5, model_metrics = ?6, log = ?7, \
             started_at = ?8, ended_at = ?9, rows_transferred = ?10, \
             volume_transferred_in_mb = ?11, updated_at = ?12 \
             WHERE id = ?1 AND organization_id = ?2 AND environment = ?3 AND status = ?13 \
             RETURNING {TRANSFER_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(transfer.id))
            .bind(text_uuid(tenant.organization_id))
            .bind(tenant.environment.as_str())
            .bind(transfer.status.as_str())
            .bind(Json(&transfer.models))
            .bind(Json(&transfer.model_metrics))
            .bind(&transfer.log)
            .bind(transfer.started_at)
            .bind(transfer.ended_at)
            .bind(transfer.rows_transferred)
            .bind(transfer.volume_transferred_in_mb)
            .bind(transfer.updated_at)
            .bind(expected_status.as_str())
            .fetch_optional(&mut *transaction)
            .await?;
        let Some(row) = row else {
            let exists =
                tenant_row_exists(&mut transaction, "transfers", tenant, transfer.id).await?;
            if exists {
                return Err(StoreError::Stale(format!(
                    "transfer {} is no longer {}",
                    transfer.id,
                    expected_status.as_str()
                )));
            }
            return Ok(None);
        };
        transaction.commit().await?;
        transfer_from_row(&row).map(Some)
    }

    #[tracing::instrument(skip(self))]
    async fn list_transfers(
        &self,
        tenant: Tenant,
        filter: &TransferFilter,
        page: &Page,
    ) -> StoreResult<Vec<Transfer>> {
        // Timestamps are bound as the same RFC 3339 UTC text the column
        // holds. That text sorts in time order, so the text comparisons
        // and the ORDER BY below follow time.
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {TRANSFER_COLUMNS} FROM transfers WHERE organization_id = "
        ));
        query.push_bind(text_uuid(tenant.organization_id));
        query.push(" AND environment = ");
        query.push_bind(tenant.environment.as_str());
        if let Some(destination_id) = filter.destination_id {
            query.push(" AND destination_id = ");
            query.push_bind(text_uuid(destination_id));
        }
        if let Some(recipient_id) = filter.recipient_id {
            query.push(" AND recipient_id = ");
            query.push_bind(text_uuid(recipient_id));
        }
        if !filter.statuses.is_empty() {
            query.push(" AND status IN (");
            let mut statuses = query.separated(", ");
            for status in &filter.statuses {
                statuses.push_bind(status.as_str());
            }
            query.push(")");
        }
        if let Some(from) = filter.submitted_from {
            query.push(" AND submitted_at >= ");
            query.push_bind(from);
        }
        if let Some(until) = filter.submitted_until {
            query.push(" AND submitted_at < ");
            query.push_bind(until);
        }

        let (comparison, direction) = if page.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        if let Some((submitted_at, id)) = page.after {
            query.push(format_args!(" AND (submitted_at, id) {comparison} ("));
            query.push_bind(submitted_at);
            query.push(", ");
            query.push_bind(text_uuid(id));
            query.push(")");
        }
        query.push(format_args!(
            " ORDER BY submitted_at {direction}, id {direction} LIMIT "
        ));
        query.push_bind(i64::from(page.limit));

        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(transfer_from_row).collect()
    }

    #[tracing::instrument(skip_all, fields(model_id = %model.id))]
    async fn insert_model(&self, model: &Model) -> StoreResult<Model> {
        let sql = format!(
            "INSERT INTO models ({MODEL_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
             RETURNING {MODEL_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(model.id))
            .bind(text_uuid(model.tenant.organization_id))
            .bind(model.tenant.environment.as_str())
            .bind(&model.model_name)
            .bind(&model.description)
            .bind(Json(&model.columns))
            .bind(&model.source_table)
            .bind(&model.source_schema)
            .bind(&model.organization_column)
            .bind(&model.source_name)
            .bind(model.created_at)
            .bind(model.updated_at)
            .fetch_one(&self.pool)
            .await?;
        model_from_row(&row)
    }

    #[tracing::instrument(skip_all, fields(model_id = %model.id))]
    async fn update_model(&self, model: &Model) -> StoreResult<Option<Model>> {
        let sql = format!(
            "UPDATE models SET model_name = ?4, description = ?5, columns = ?6, \
             source_table = ?7, source_schema = ?8, organization_column = ?9, \
             source_name = ?10, updated_at = ?11 \
             WHERE id = ?1 AND organization_id = ?2 AND environment = ?3 \
             RETURNING {MODEL_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(model.id))
            .bind(text_uuid(model.tenant.organization_id))
            .bind(model.tenant.environment.as_str())
            .bind(&model.model_name)
            .bind(&model.description)
            .bind(Json(&model.columns))
            .bind(&model.source_table)
            .bind(&model.source_schema)
            .bind(&model.organization_column)
            .bind(&model.source_name)
            .bind(model.updated_at)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(model_from_row).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn delete_model(&self, tenant: Tenant, id: Uuid) -> StoreResult<bool> {
        let deleted = sqlx::query(
            "DELETE FROM models WHERE id = ?1 AND organization_id = ?2 AND environment = ?3",
        )
        .bind(text_uuid(id))
        .bind(text_uuid(tenant.organization_id))
        .bind(tenant.environment.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(deleted > 0)
    }

    #[tracing::instrument(skip(self))]
    async fn list_models(&self, tenant: Tenant) -> StoreResult<Vec<Model>> {
        let sql = format!(
            "SELECT {MODEL_COLUMNS} FROM models WHERE organization_id = ?1 AND environment = ?2 \
             ORDER BY model_name"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(tenant.organization_id))
            .bind(tenant.environment.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(model_from_row).collect()
    }

    #[tracing::instrument(skip_all, fields(product_id = %product.id))]
    async fn insert_product(&self, product: &Product) -> StoreResult<Product> {
        let tenant = product.tenant;
        let members = distinct_names(&product.models);
        let mut transaction = self.begin_write().await?;
        let model_ids = model_ids_by_name(&mut transaction, tenant, &members).await?;
        sqlx::query(
            "INSERT INTO products (id, organization_id, environment, product_name, created_at, \
             updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(text_uuid(product.id))
        .bind(text_uuid(tenant.organization_id))
        .bind(tenant.environment.as_str())
        .bind(&product.product_name)
        .bind(product.created_at)
        .bind(product.updated_at)
        .execute(&mut *transaction)
        .await?;
        insert_product_models(&mut transaction, tenant, product.id, &model_ids).await?;
        let inserted = product_by_id(&mut transaction, tenant, product.id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("inserted product {}", product.id)))?;
        transaction.commit().await?;
        Ok(inserted)
    }

    #[tracing::instrument(skip_all, fields(product_id = %product.id))]
    async fn update_product(&self, product: &Product) -> StoreResult<Option<Product>> {
        let tenant = product.tenant;
        let members = distinct_names(&product.models);
        let mut transaction = self.begin_write().await?;
        if !tenant_row_exists(&mut transaction, "products", tenant, product.id).await? {
            return Ok(None);
        }
        let model_ids = model_ids_by_name(&mut transaction, tenant, &members).await?;
        sqlx::query("UPDATE products SET product_name = ?2, updated_at = ?3 WHERE id = ?1")
            .bind(text_uuid(product.id))
            .bind(&product.product_name)
            .bind(product.updated_at)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("DELETE FROM product_models WHERE product_id = ?1")
            .bind(text_uuid(product.id))
            .execute(&mut *transaction)
            .await?;
        insert_product_models(&mut transaction, tenant, product.id, &model_ids).await?;
        let updated = product_by_id(&mut transaction, tenant, product.id).await?;
        transaction.commit().await?;
        Ok(updated)
    }

    #[tracing::instrument(skip(self))]
    async fn delete_product(&self, tenant: Tenant, id: Uuid) -> StoreResult<bool> {
        let deleted = sqlx::query(
            "DELETE FROM products WHERE id = ?1 AND organization_id = ?2 AND environment = ?3",
        )
        .bind(text_uuid(id))
        .bind(text_uuid(tenant.organization_id))
        .bind(tenant.environment.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(deleted > 0)
    }

    #[tracing::instrument(skip(self))]
    async fn list_products(&self, tenant: Tenant) -> StoreResult<Vec<Product>> {
        let sql = format!(
            "{PRODUCT_SELECT} WHERE p.organization_id = ?1 AND p.environment = ?2 \
             ORDER BY p.product_name, m.model_name"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(tenant.organization_id))
            .bind(tenant.environment.as_str())
            .fetch_all(&self.pool)
            .await?;
        products_from_rows(&rows)
    }

    #[tracing::instrument(skip(self))]
    async fn set_recipient_products(
        &self,
        tenant: Tenant,
        recipient_id: Uuid,
        product_names: &[String],
    ) -> StoreResult<bool> {
        let names = distinct_names(product_names);
        let mut transaction = self.begin_write().await?;
        if !tenant_row_exists(&mut transaction, "recipients", tenant, recipient_id).await? {
            return Ok(false);
        }
        let product_ids = product_ids_by_name(&mut transaction, tenant, &names).await?;
        sqlx::query(
            "DELETE FROM recipient_products \
             WHERE recipient_id = ?1 AND organization_id = ?2 AND environment = ?3",
        )
        .bind(text_uuid(recipient_id))
        .bind(text_uuid(tenant.organization_id))
        .bind(tenant.environment.as_str())
        .execute(&mut *transaction)
        .await?;
        for product_id in product_ids {
            sqlx::query(
                "INSERT INTO recipient_products (recipient_id, product_id, organization_id, \
                 environment) VALUES (?1, ?2, ?3, ?4)",
            )
            .bind(text_uuid(recipient_id))
            .bind(text_uuid(product_id))
            .bind(text_uuid(tenant.organization_id))
            .bind(tenant.environment.as_str())
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(true)
    }

    #[tracing::instrument(skip(self))]
    async fn list_recipient_products(
        &self,
        tenant: Tenant,
        recipient_id: Uuid,
    ) -> StoreResult<Vec<String>> {
        let names = sqlx::query_scalar(
            "SELECT p.product_name FROM recipient_products rp \
             JOIN products p ON p.id = rp.product_id \
             WHERE rp.recipient_id = ?1 AND rp.organization_id = ?2 AND rp.environment = ?3 \
             ORDER BY p.product_name",
        )
        .bind(text_uuid(recipient_id))
        .bind(text_uuid(tenant.organization_id))
        .bind(tenant.environment.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(names)
    }

    #[tracing::instrument(skip(self))]
    async fn list_models_for_recipient(
        &self,
        tenant: Tenant,
        recipient_id: Uuid,
    ) -> StoreResult<Vec<Model>> {
        // One statement, so the recipient's products are read from the same
        // snapshot as the models.
        let sql = format!(
            "SELECT {MODEL_COLUMNS} FROM models m \
             WHERE m.organization_id = ?1 AND m.environment = ?2 AND ( \
                 NOT EXISTS (SELECT 1 FROM recipient_products rp \
                     WHERE rp.recipient_id = ?3 AND rp.organization_id = ?1 \
                     AND rp.environment = ?2) \
                 OR EXISTS (SELECT 1 FROM recipient_products rp \
                     JOIN product_models pm ON pm.product_id = rp.product_id \
                     WHERE rp.recipient_id = ?3 AND rp.organization_id = ?1 \
                     AND rp.environment = ?2 AND pm.model_id = m.id)) \
             ORDER BY m.model_name"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(tenant.organization_id))
            .bind(tenant.environment.as_str())
            .bind(text_uuid(recipient_id))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(model_from_row).collect()
    }

    #[tracing::instrument(skip_all, fields(ssh_key_id = %key.id))]
    async fn insert_ssh_key(&self, key: &SshKeyRecord) -> StoreResult<()> {
        let sql = format!("INSERT INTO ssh_keys ({SSH_KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_uuid(key.id))
            .bind(&key.public_key_openssh)
            .bind(&key.public_key_pkcs8)
            .bind(&key.private_key_encrypted)
            .bind(key.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn find_ssh_key(&self, public_key: &str) -> StoreResult<Option<SshKeyRecord>> {
        let row = sqlx::query(SSH_KEY_BY_PUBLIC_KEY)
            .bind(public_key.trim_matches(SSH_KEY_WHITESPACE))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(ssh_key_from_row).transpose()
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
            "INSERT INTO recipients (id, organization_id, environment, id_in_provider_system, \
             created_at) VALUES ('00000000-0000-4000-8000-000000000000', \
             '00000000-0000-4000-8000-000000000001', 'staging', 'user-1', '')",
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
