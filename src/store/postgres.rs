//! The Postgres store, shared by every replica in production.

use std::time::Duration;

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, QueryBuilder, Row, types::Json};
use uuid::Uuid;

use super::{
    ApiKeyRecord, ApiKeyRole, AuditEvent, AuditFilter, Destination, Environment, Model, NewApiKey,
    NewDestination, Organization, Page, Product, Recipient, SealedKind, SealedValue,
    SigningKeyRecord, SshKeyRecord, Store, StoreError, StoreResult, Tenant, Transfer,
    TransferFilter, TransferStatus,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Opens a pool; no connection is made until the first query.
    pub fn connect_lazy(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> StoreResult<Self> {
        let pool = super::pool::report_acquire_wait(PgPoolOptions::new())
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            .connect_lazy(url)
            .map_err(StoreError::from)?;
        Ok(Self { pool })
    }

    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn environment(row: &PgRow, column: &str) -> StoreResult<Environment> {
    let value: String = row.try_get(column)?;
    Environment::parse(&value)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown environment {value:?} in {column}")))
}

fn tenant(row: &PgRow) -> StoreResult<Tenant> {
    Ok(Tenant {
        organization_id: row.try_get("organization_id")?,
        environment: environment(row, "environment")?,
    })
}

fn organization_from_row(row: &PgRow) -> StoreResult<Organization> {
    Ok(Organization {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

fn api_key_from_row(row: &PgRow) -> StoreResult<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: row.try_get("id")?,
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

fn recipient_from_row(row: &PgRow) -> StoreResult<Recipient> {
    Ok(Recipient {
        id: row.try_get("id")?,
        tenant: tenant(row)?,
        id_in_provider_system: row.try_get("id_in_provider_system")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

fn destination_from_row(row: &PgRow) -> StoreResult<Destination> {
    let Json(details): Json<serde_json::Value> = row.try_get("details")?;
    Ok(Destination {
        id: row.try_get("id")?,
        tenant: tenant(row)?,
        recipient_id: row.try_get("recipient_id")?,
        id_in_provider_system: row.try_get("id_in_provider_system")?,
        vendor: row.try_get("vendor")?,
        name: row.try_get("name")?,
        details,
        secrets: row.try_get("secrets")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn signing_key_from_row(row: &PgRow) -> StoreResult<SigningKeyRecord> {
    Ok(SigningKeyRecord {
        kid: row.try_get("kid")?,
        public_key: row.try_get("public_key")?,
        private_key_encrypted: row.try_get("private_key_encrypted")?,
        created_at: row.try_get("created_at")?,
        retired_at: row.try_get("retired_at")?,
    })
}

fn transfer_from_row(row: &PgRow) -> StoreResult<Transfer> {
    let status: String = row.try_get("status")?;
    let status = TransferStatus::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown transfer status {status:?}")))?;
    let Json(models): Json<Vec<String>> = row.try_get("models")?;
    let Json(model_metrics): Json<serde_json::Value> = row.try_get("model_metrics")?;
    Ok(Transfer {
        id: row.try_get("id")?,
        tenant: tenant(row)?,
        destination_id: row.try_get("destination_id")?,
        recipient_id: row.try_get("recipient_id")?,
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

fn model_from_row(row: &PgRow) -> StoreResult<Model> {
    let Json(columns): Json<serde_json::Value> = row.try_get("columns")?;
    Ok(Model {
        id: row.try_get("id")?,
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
fn products_from_rows(rows: &[PgRow]) -> StoreResult<Vec<Product>> {
    let mut products: Vec<Product> = Vec::new();
    for row in rows {
        let id: Uuid = row.try_get("id")?;
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

fn ssh_key_from_row(row: &PgRow) -> StoreResult<SshKeyRecord> {
    Ok(SshKeyRecord {
        id: row.try_get("id")?,
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
fn ids_for_names(rows: &[PgRow], name_column: &str, names: &[String]) -> StoreResult<Vec<Uuid>> {
    let mut ids_by_name = HashMap::with_capacity(rows.len());
    for row in rows {
        let name: String = row.try_get(name_column)?;
        let id: Uuid = row.try_get("id")?;
        ids_by_name.insert(name, id);
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
    connection: &mut PgConnection,
    table: &'static str,
    tenant: Tenant,
    id: Uuid,
) -> StoreResult<bool> {
    let sql = format!(
        "SELECT 1 FROM {table} WHERE id = $1 AND organization_id = $2 AND environment = $3"
    );
    let found: Option<i32> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(tenant.organization_id)
        .bind(tenant.environment.as_str())
        .fetch_optional(connection)
        .await?;
    Ok(found.is_some())
}

/// Locks the row of `table` with this id in `tenant` until the transaction
/// ends, so concurrent replacements of its memberships run one after the
/// other. Returns whether the row exists. `table` is a table name of this
/// module, never input.
async fn lock_tenant_row(
    connection: &mut PgConnection,
    table: &'static str,
    tenant: Tenant,
    id: Uuid,
) -> StoreResult<bool> {
    let sql = format!(
        "SELECT 1 FROM {table} WHERE id = $1 AND organization_id = $2 AND environment = $3 \
         FOR NO KEY UPDATE"
    );
    let found: Option<i32> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(tenant.organization_id)
        .bind(tenant.environment.as_str())
        .fetch_optional(connection)
        .await?;
    Ok(found.is_some())
}

/// Resolves model names of `tenant` to ids, in the order of `names`, and
/// keeps those models from being deleted until the transaction ends.
async fn model_ids_by_name(
    connection: &mut PgConnection,
    tenant: Tenant,
    names: &[String],
) -> StoreResult<Vec<Uuid>> {
    let rows = sqlx::query(
        "SELECT id, model_name FROM models WHERE organization_id = $1 AND environment = $2 \
         AND model_name = ANY($3) FOR KEY SHARE",
    )
    .bind(tenant.organization_id)
    .bind(tenant.environment.as_str())
    .bind(names)
    .fetch_all(connection)
    .await?;
    ids_for_names(&rows, "model_name", names)
}

/// Resolves product names of `tenant` to ids, in the order of `names`, and
/// keeps those products from being deleted until the transaction ends.
async fn product_ids_by_name(
    connection: &mut PgConnection,
    tenant: Tenant,
    names: &[String],
) -> StoreResult<Vec<Uuid>> {
    let rows = sqlx::query(
        "SELECT id, product_name FROM products WHERE organization_id = $1 AND environment = $2 \
         AND product_name = ANY($3) FOR KEY SHARE",
    )
    .bind(tenant.organization_id)
    .bind(tenant.environment.as_str())
    .bind(names)
    .fetch_all(connection)
    .await?;
    ids_for_names(&rows, "product_name", names)
}

async fn insert_product_models(
    connection: &mut PgConnection,
    tenant: Tenant,
    product_id: Uuid,
    model_ids: &[Uuid],
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO product_models (product_id, model_id, organization_id, environment) \
         SELECT $1, model_id, $3, $4 FROM unnest($2::uuid[]) AS model_id",
    )
    .bind(product_id)
    .bind(model_ids)
    .bind(tenant.organization_id)
    .bind(tenant.environment.as_str())
    .execute(connection)
    .await?;
    Ok(())
}

async fn product_by_id(
    connection: &mut PgConnection,
    tenant: Tenant,
    id: Uuid,
) -> StoreResult<Option<Product>> {
    let sql = format!(
        "{PRODUCT_SELECT} WHERE p.id = $1 AND p.organization_id = $2 AND p.environment = $3 \
         ORDER BY m.model_name"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(tenant.organization_id)
        .bind(tenant.environment.as_str())
        .fetch_all(connection)
        .await?;
    Ok(products_from_rows(&rows)?.into_iter().next())
}

const API_KEY_COLUMNS: &str = "id, organization_id, environment, name, role, display_prefix, \
     created_at, last_used_at, expires_at, revoked_at";

const DESTINATION_SELECT: &str = "SELECT d.id, d.organization_id, d.environment, \
     d.recipient_id, r.id_in_provider_system, d.vendor, d.name, d.details, d.secrets, \
     d.created_at, d.updated_at \
     FROM destinations d JOIN recipients r ON r.id = d.recipient_id";

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
/// comparison: tab, LF, VT, FF, CR and space. The `btrim` calls in
/// [`SSH_KEY_BY_PUBLIC_KEY`] and the ssh_keys index expressions of
/// migration 0012 trim the same set.
const SSH_KEY_WHITESPACE: [char; 6] = ['\t', '\n', '\u{0B}', '\u{0C}', '\r', ' '];

const SSH_KEY_BY_PUBLIC_KEY: &str = r"SELECT id, public_key_openssh, public_key_pkcs8,
     private_key_encrypted, created_at FROM ssh_keys
     WHERE btrim(public_key_openssh, E'\t\n\x0B\f\r ') = $1
     OR btrim(public_key_pkcs8, E'\t\n\x0B\f\r ') = $1
     LIMIT 1";

fn audit_event_from_row(row: &PgRow) -> StoreResult<AuditEvent> {
    let Json(details): Json<serde_json::Value> = row.try_get("details")?;
    Ok(AuditEvent {
        id: row.try_get("id")?,
        tenant: tenant(row)?,
        action: row.try_get("action")?,
        api_key_id: row.try_get("api_key_id")?,
        recipient_id: row.try_get("recipient_id")?,
        details,
        created_at: row.try_get("created_at")?,
    })
}

const AUDIT_COLUMNS: &str =
    "id, organization_id, environment, action, api_key_id, recipient_id, details, created_at";

const RECIPIENT_COLUMNS: &str =
    "id, organization_id, environment, id_in_provider_system, name, created_at";

/// Appends the keyset condition and order of `page` over `(column, id)`.
fn push_page(query: &mut QueryBuilder<Postgres>, column: &str, page: &Page) {
    let (comparison, direction) = if page.descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some((sort_value, id)) = page.after {
        query.push(format_args!(" AND ({column}, id) {comparison} ("));
        query.push_bind(sort_value);
        query.push(", ");
        query.push_bind(id);
        query.push(")");
    }
    query.push(format_args!(
        " ORDER BY {column} {direction}, id {direction} LIMIT "
    ));
    query.push_bind(i64::from(page.limit));
}

#[async_trait]
impl Store for PostgresStore {
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
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
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
            "UPDATE api_keys SET expires_at = $2 WHERE id = $1 RETURNING {API_KEY_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
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
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $2 WHERE id = ANY($1) \
             AND (last_used_at IS NULL OR last_used_at < $2)",
        )
        .bind(ids)
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
        let result = sqlx::query(
            "UPDATE signing_keys SET retired_at = $2 WHERE kid = $1 AND retired_at IS NULL",
        )
        .bind(kid)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() > 0)
    }

    #[tracing::instrument(skip_all, fields(action = %event.action))]
    async fn insert_audit_event(&self, event: &AuditEvent) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_events (id, organization_id, environment, action, api_key_id, \
             recipient_id, details, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(event.id)
        .bind(event.tenant.organization_id)
        .bind(event.tenant.environment.as_str())
        .bind(&event.action)
        .bind(event.api_key_id)
        .bind(event.recipient_id)
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
        let mut query = QueryBuilder::<Postgres>::new(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE organization_id = "
        ));
        query.push_bind(tenant.organization_id);
        query.push(" AND environment = ");
        query.push_bind(tenant.environment.as_str());
        if let Some(recipient_id) = filter.recipient_id {
            query.push(" AND recipient_id = ");
            query.push_bind(recipient_id);
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
        push_page(&mut query, "created_at", page);
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(audit_event_from_row).collect()
    }

    #[tracing::instrument(skip_all, fields(recipient_id = %recipient.id))]
    async fn insert_recipient(&self, recipient: &Recipient) -> StoreResult<Recipient> {
        let sql = format!(
            "INSERT INTO recipients (id, organization_id, environment, id_in_provider_system, \
             name, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {RECIPIENT_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(recipient.id)
            .bind(recipient.tenant.organization_id)
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
            "UPDATE recipients SET name = $4 WHERE id = $1 AND organization_id = $2 \
             AND environment = $3 RETURNING {RECIPIENT_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(tenant.organization_id)
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
        let mut query = QueryBuilder::<Postgres>::new(format!(
            "SELECT {RECIPIENT_COLUMNS} FROM recipients WHERE organization_id = "
        ));
        query.push_bind(tenant.organization_id);
        query.push(" AND environment = ");
        query.push_bind(tenant.environment.as_str());
        if let Some(external_id) = id_in_provider_system {
            query.push(" AND id_in_provider_system = ");
            query.push_bind(external_id.to_owned());
        }
        push_page(&mut query, "created_at", page);
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(recipient_from_row).collect()
    }

    #[tracing::instrument(skip(self))]
    async fn delete_recipient(&self, tenant: Tenant, id: Uuid, cascade: bool) -> StoreResult<bool> {
        let mut transaction = self.pool.begin().await?;
        let exists: Option<Uuid> = sqlx::query_scalar(
            "SELECT id FROM recipients WHERE id = $1 AND organization_id = $2 \
             AND environment = $3 FOR UPDATE",
        )
        .bind(id)
        .bind(tenant.organization_id)
        .bind(tenant.environment.as_str())
        .fetch_optional(&mut *transaction)
        .await?;
        if exists.is_none() {
            return Ok(false);
        }
        if !cascade {
            let destinations: i64 =
                sqlx::query_scalar("SELECT count(*) FROM destinations WHERE recipient_id = $1")
                    .bind(id)
                    .fetch_one(&mut *transaction)
                    .await?;
            if destinations > 0 {
                return Err(StoreError::Conflict(format!(
                    "recipient has {destinations} destinations"
                )));
            }
        }
        sqlx::query("DELETE FROM recipients WHERE id = $1")
            .bind(id)
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
        let mut query = QueryBuilder::<Postgres>::new(format!(
            "SELECT * FROM ({DESTINATION_SELECT} WHERE d.organization_id = "
        ));
        query.push_bind(tenant.organization_id);
        query.push(" AND d.environment = ");
        query.push_bind(tenant.environment.as_str());
        if let Some(recipient_id) = recipient_id {
            query.push(" AND d.recipient_id = ");
            query.push_bind(recipient_id);
        }
        query.push(") AS listed WHERE TRUE");
        push_page(&mut query, "created_at", page);
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(destination_from_row).collect()
    }

    #[tracing::instrument(skip(self))]
    async fn list_sealed_values(&self) -> StoreResult<Vec<SealedValue>> {
        let mut values = Vec::new();
        let signing = sqlx::query("SELECT kid, private_key_encrypted FROM signing_keys")
            .fetch_all(&self.pool)
            .await?;
        for row in signing {
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
            let id: Uuid = row.try_get("id")?;
            values.push(SealedValue {
                kind: SealedKind::DestinationSecrets,
                id: id.to_string(),
                sealed: row.try_get("secrets")?,
            });
        }
        let ssh_keys = sqlx::query("SELECT id, private_key_encrypted FROM ssh_keys")
            .fetch_all(&self.pool)
            .await?;
        for row in ssh_keys {
            let id: Uuid = row.try_get("id")?;
            values.push(SealedValue {
                kind: SealedKind::SshKey,
                id: id.to_string(),
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
        let parse_uuid = |text: &str| {
            Uuid::parse_str(text).map_err(|_| StoreError::NotFound(format!("row id {text:?}")))
        };
        let result = match value.kind {
            SealedKind::SigningKey => {
                sqlx::query(
                    "UPDATE signing_keys SET private_key_encrypted = $2 \
                     WHERE kid = $1 AND private_key_encrypted = $3",
                )
                .bind(&value.id)
                .bind(&value.sealed)
                .bind(previous)
                .execute(&self.pool)
                .await?
            }
            SealedKind::DestinationSecrets => {
                sqlx::query("UPDATE destinations SET secrets = $2 WHERE id = $1 AND secrets = $3")
                    .bind(parse_uuid(&value.id)?)
                    .bind(&value.sealed)
                    .bind(previous)
                    .execute(&self.pool)
                    .await?
            }
            SealedKind::SshKey => {
                sqlx::query(
                    "UPDATE ssh_keys SET private_key_encrypted = $2 \
                     WHERE id = $1 AND private_key_encrypted = $3",
                )
                .bind(parse_uuid(&value.id)?)
                .bind(&value.sealed)
                .bind(previous)
                .execute(&self.pool)
                .await?
            }
        };
        Ok(result.rows_affected() > 0)
    }

    #[tracing::instrument(skip(self))]
    async fn ensure_organization(&self, name: &str) -> StoreResult<Organization> {
        // The no-op update makes RETURNING yield the existing row on conflict.
        let row = sqlx::query(
            "INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name \
             RETURNING id, name, created_at",
        )
        .bind(Uuid::new_v4())
        .bind(name)
        .bind(Utc::now())
        .fetch_one(&self.pool)
        .await?;
        organization_from_row(&row)
    }

    #[tracing::instrument(skip(self))]
    async fn find_organization(&self, name: &str) -> StoreResult<Option<Organization>> {
        let row = sqlx::query("SELECT id, name, created_at FROM organizations WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(organization_from_row).transpose()
    }

    #[tracing::instrument(skip_all, fields(api_key_id = %key.id))]
    async fn insert_api_key(&self, key: &NewApiKey) -> StoreResult<ApiKeyRecord> {
        let sql = format!(
            "INSERT INTO api_keys (id, organization_id, environment, name, key_hash, \
             display_prefix, created_at, role) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             RETURNING {API_KEY_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(key.id)
            .bind(key.tenant.organization_id)
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
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&key_hash[..])
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(api_key_from_row).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn list_api_keys(&self, organization_id: Uuid) -> StoreResult<Vec<ApiKeyRecord>> {
        let sql = format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE organization_id = $1 \
             ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(organization_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(api_key_from_row).collect()
    }

    #[tracing::instrument(skip(self))]
    async fn revoke_api_key(&self, id: Uuid) -> StoreResult<Option<ApiKeyRecord>> {
        let sql = format!(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 \
             RETURNING {API_KEY_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
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
        let row = sqlx::query(
            "INSERT INTO recipients (id, organization_id, environment, id_in_provider_system, \
             created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (organization_id, environment, id_in_provider_system) \
             DO UPDATE SET id_in_provider_system = EXCLUDED.id_in_provider_system \
             RETURNING id, organization_id, environment, id_in_provider_system, name, created_at",
        )
        .bind(Uuid::new_v4())
        .bind(tenant.organization_id)
        .bind(tenant.environment.as_str())
        .bind(id_in_provider_system)
        .bind(Utc::now())
        .fetch_one(&self.pool)
        .await?;
        recipient_from_row(&row)
    }

    #[tracing::instrument(skip(self))]
    async fn get_recipient(&self, tenant: Tenant, id: Uuid) -> StoreResult<Option<Recipient>> {
        let row = sqlx::query(
            "SELECT id, organization_id, environment, id_in_provider_system, name, created_at \
             FROM recipients WHERE id = $1 AND organization_id = $2 AND environment = $3",
        )
        .bind(id)
        .bind(tenant.organization_id)
        .bind(tenant.environment.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(recipient_from_row).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn find_recipient(
        &self,
        tenant: Tenant,
        id_in_provider_system: &str,
    ) -> StoreResult<Option<Recipient>> {
        let row = sqlx::query(
            "SELECT id, organization_id, environment, id_in_provider_system, name, created_at \
             FROM recipients WHERE organization_id = $1 AND environment = $2 \
             AND id_in_provider_system = $3",
        )
        .bind(tenant.organization_id)
        .bind(tenant.environment.as_str())
        .bind(id_in_provider_system)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(recipient_from_row).transpose()
    }

    #[tracing::instrument(skip_all, fields(destination_id = %destination.id))]
    async fn insert_destination(&self, destination: &NewDestination) -> StoreResult<Destination> {
        sqlx::query(
            "INSERT INTO destinations (id, organization_id, environment, recipient_id, vendor, \
             name, details, secrets, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(destination.id)
        .bind(destination.tenant.organization_id)
        .bind(destination.tenant.environment.as_str())
        .bind(destination.recipient_id)
        .bind(&destination.vendor)
        .bind(&destination.name)
        .bind(Json(&destination.details))
        .bind(&destination.secrets)
        .bind(destination.created_at)
        .execute(&self.pool)
        .await?;
        self.get_destination(destination.tenant, destination.id)
            .await?
            .ok_or_else(|| StoreError::NotFound("inserted destination".to_owned()))
    }

    #[tracing::instrument(skip(self))]
    async fn get_destination(&self, tenant: Tenant, id: Uuid) -> StoreResult<Option<Destination>> {
        let sql = format!(
            "{DESTINATION_SELECT} WHERE d.id = $1 AND d.organization_id = $2 \
             AND d.environment = $3"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(tenant.organization_id)
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
            "{DESTINATION_SELECT} WHERE d.recipient_id = $1 AND d.organization_id = $2 \
             AND d.environment = $3 ORDER BY d.created_at, d.id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(recipient_id)
            .bind(tenant.organization_id)
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
        let mut transaction = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE destinations SET vendor = $4, name = $5, details = $6, secrets = $7, \
             updated_at = $8 \
             WHERE id = $1 AND organization_id = $2 AND environment = $3 AND updated_at = $9",
        )
        .bind(destination.id)
        .bind(tenant.organization_id)
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

        let sql = format!(
            "{DESTINATION_SELECT} WHERE d.id = $1 AND d.organization_id = $2 \
             AND d.environment = $3"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(destination.id)
            .bind(tenant.organization_id)
            .bind(tenant.environment.as_str())
            .fetch_one(&mut *transaction)
            .await?;
        transaction.commit().await?;
        destination_from_row(&row).map(Some)
    }

    #[tracing::instrument(skip(self))]
    async fn delete_destination(&self, tenant: Tenant, id: Uuid) -> StoreResult<bool> {
        let deleted = sqlx::query(
            "DELETE FROM destinations WHERE id = $1 AND organization_id = $2 AND environment = $3",
        )
        .bind(id)
        .bind(tenant.organization_id)
        .bind(tenant.environment.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(deleted > 0)
    }

    #[tracing::instrument(skip_all, fields(transfer_id = %transfer.id))]
    async fn insert_transfer(&self, transfer: &Transfer) -> StoreResult<Transfer> {
        // The composite foreign key to destinations rejects a destination of
        // another tenant or recipient, which maps to StoreError::NotFound.
        let sql = format!(
            "INSERT INTO transfers ({TRANSFER_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             RETURNING {TRANSFER_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(transfer.id)
            .bind(transfer.tenant.organization_id)
            .bind(transfer.tenant.environment.as_str())
            .bind(transfer.destination_id)
            .bind(transfer.recipient_id)
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
             WHERE id = $1 AND organization_id = $2 AND environment = $3"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(tenant.organization_id)
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
        let mut transaction = self.pool.begin().await?;
        let sql = format!(
            "UPDATE transfers SET status = $4, models = $5, model_metrics = $6, log = $7, \
             started_at = $8, ended_at = $9, rows_transferred = $10, \
             volume_transferred_in_mb = $11, updated_at = $12 \
             WHERE id = $1 AND organization_id = $2 AND environment = $3 AND status = $13 \
             RETURNING {TRANSFER_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(transfer.id)
            .bind(tenant.organization_id)
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
        let mut query = QueryBuilder::<Postgres>::new(format!(
            "SELECT {TRANSFER_COLUMNS} FROM transfers WHERE organization_id = "
        ));
        query.push_bind(tenant.organization_id);
        query.push(" AND environment = ");
        query.push_bind(tenant.environment.as_str());
        if let Some(destination_id) = filter.destination_id {
            query.push(" AND destination_id = ");
            query.push_bind(destination_id);
        }
        if let Some(recipient_id) = filter.recipient_id {
            query.push(" AND recipient_id = ");
            query.push_bind(recipient_id);
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
            query.push_bind(id);
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             RETURNING {MODEL_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(model.id)
            .bind(model.tenant.organization_id)
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
            "UPDATE models SET model_name = $4, description = $5, columns = $6, \
             source_table = $7, source_schema = $8, organization_column = $9, \
             source_name = $10, updated_at = $11 \
             WHERE id = $1 AND organization_id = $2 AND environment = $3 \
             RETURNING {MODEL_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(model.id)
            .bind(model.tenant.organization_id)
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
            "DELETE FROM models WHERE id = $1 AND organization_id = $2 AND environment = $3",
        )
        .bind(id)
        .bind(tenant.organization_id)
        .bind(tenant.environment.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(deleted > 0)
    }

    #[tracing::instrument(skip(self))]
    async fn list_models(&self, tenant: Tenant) -> StoreResult<Vec<Model>> {
        let sql = format!(
            "SELECT {MODEL_COLUMNS} FROM models WHERE organization_id = $1 AND environment = $2 \
             ORDER BY model_name"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.organization_id)
            .bind(tenant.environment.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(model_from_row).collect()
    }

    #[tracing::instrument(skip_all, fields(product_id = %product.id))]
    async fn insert_product(&self, product: &Product) -> StoreResult<Product> {
        let tenant = product.tenant;
        let members = distinct_names(&product.models);
        let mut transaction = self.pool.begin().await?;
        let model_ids = model_ids_by_name(&mut transaction, tenant, &members).await?;
        sqlx::query(
            "INSERT INTO products (id, organization_id, environment, product_name, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(product.id)
        .bind(tenant.organization_id)
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
        let mut transaction = self.pool.begin().await?;
        if !lock_tenant_row(&mut transaction, "products", tenant, product.id).await? {
            return Ok(None);
        }
        let model_ids = model_ids_by_name(&mut transaction, tenant, &members).await?;
        sqlx::query("UPDATE products SET product_name = $2, updated_at = $3 WHERE id = $1")
            .bind(product.id)
            .bind(&product.product_name)
            .bind(product.updated_at)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("DELETE FROM product_models WHERE product_id = $1")
            .bind(product.id)
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
            "DELETE FROM products WHERE id = $1 AND organization_id = $2 AND environment = $3",
        )
        .bind(id)
        .bind(tenant.organization_id)
        .bind(tenant.environment.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(deleted > 0)
    }

    #[tracing::instrument(skip(self))]
    async fn list_products(&self, tenant: Tenant) -> StoreResult<Vec<Product>> {
        let sql = format!(
            "{PRODUCT_SELECT} WHERE p.organization_id = $1 AND p.environment = $2 \
             ORDER BY p.product_name, m.model_name"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.organization_id)
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
        let mut transaction = self.pool.begin().await?;
        if !lock_tenant_row(&mut transaction, "recipients", tenant, recipient_id).await? {
            return Ok(false);
        }
        let product_ids = product_ids_by_name(&mut transaction, tenant, &names).await?;
        sqlx::query(
            "DELETE FROM recipient_products \
             WHERE recipient_id = $1 AND organization_id = $2 AND environment = $3",
        )
        .bind(recipient_id)
        .bind(tenant.organization_id)
        .bind(tenant.environment.as_str())
        .execute(&mut *transaction)
        .await?;
        sqlx::query(
            "INSERT INTO recipient_products (recipient_id, product_id, organization_id, \
             environment) SELECT $1, product_id, $3, $4 FROM unnest($2::uuid[]) AS product_id",
        )
        .bind(recipient_id)
        .bind(&product_ids)
        .bind(tenant.organization_id)
        .bind(tenant.environment.as_str())
        .execute(&mut *transaction)
        .await?;
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
             WHERE rp.recipient_id = $1 AND rp.organization_id = $2 AND rp.environment = $3 \
             ORDER BY p.product_name",
        )
        .bind(recipient_id)
        .bind(tenant.organization_id)
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
             WHERE m.organization_id = $1 AND m.environment = $2 AND ( \
                 NOT EXISTS (SELECT 1 FROM recipient_products rp \
                     WHERE rp.recipient_id = $3 AND rp.organization_id = $1 \
                     AND rp.environment = $2) \
                 OR EXISTS (SELECT 1 FROM recipient_products rp \
                     JOIN product_models pm ON pm.product_id = rp.product_id \
                     WHERE rp.recipient_id = $3 AND rp.organization_id = $1 \
                     AND rp.environment = $2 AND pm.model_id = m.id)) \
             ORDER BY m.model_name"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.organization_id)
            .bind(tenant.environment.as_str())
            .bind(recipient_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(model_from_row).collect()
    }

    #[tracing::instrument(skip_all, fields(ssh_key_id = %key.id))]
    async fn insert_ssh_key(&self, key: &SshKeyRecord) -> StoreResult<()> {
        let sql = format!("INSERT INTO ssh_keys ({SSH_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5)");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(key.id)
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
             retired_at) VALUES ($1, $2, $3, $4, $5)",
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
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(tenant.organization_id)
        .bind(tenant.environment.as_str())
        .bind(origin)
        .bind(Utc::now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn is_allowed_origin(&self, origin: &str) -> StoreResult<bool> {
        let found: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT created_at FROM allowed_origins WHERE origin = $1 LIMIT 1")
                .bind(origin)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }
}
