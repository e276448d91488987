//! The Postgres store, shared by every replica in production.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Row, types::Json};
use uuid::Uuid;

use super::{
    ApiKeyRecord, Destination, Environment, NewApiKey, NewDestination, Organization, Recipient,
    SigningKeyRecord, Store, StoreError, StoreResult, Tenant,
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
        let pool = PgPoolOptions::new()
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

const API_KEY_COLUMNS: &str = "id, organization_id, environment, name, display_prefix, \
     created_at, last_used_at, expires_at, revoked_at";

const DESTINATION_SELECT: &str = "SELECT d.id, d.organization_id, d.environment, \
     d.recipient_id, r.id_in_provider_system, d.vendor, d.name, d.details, d.secrets, \
     d.created_at, d.updated_at \
     FROM destinations d JOIN recipients r ON r.id = d.recipient_id";

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
             display_prefix, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
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
             RETURNING id, organization_id, environment, id_in_provider_system, created_at",
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
            "SELECT id, organization_id, environment, id_in_provider_system, created_at \
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
            "SELECT id, organization_id, environment, id_in_provider_system, created_at \
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
