//! Throwaway databases for integration tests. Each [`TestDb`] is a fresh,
//! migrated database that is removed when the `TestDb` is dropped.

use std::sync::Arc;
use std::time::Duration;

use scopegate::store::DynStore;
use scopegate::store::postgres::PostgresStore;
use scopegate::store::sqlite::SqliteStore;
use sqlx::postgres::{PgConnection, PgPool};
use sqlx::sqlite::SqlitePool;
use sqlx::{AssertSqlSafe, Connection};
use tempfile::TempDir;
use uuid::Uuid;

/// Server used when `SCOPEGATE_TEST_POSTGRES_URL` is unset. Test databases
/// are created and dropped through this connection.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Environment variable that overrides [`DEFAULT_POSTGRES_URL`].
pub const POSTGRES_URL_VAR: &str = "SCOPEGATE_TEST_POSTGRES_URL";

const MAX_CONNECTIONS: u32 = 16;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub const ALL: [Backend; 2] = [Backend::Postgres, Backend::Sqlite];

    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A migrated database that only this value uses.
pub struct TestDb {
    pub backend: Backend,
    pub store: DynStore,
    /// URL of the database, for starting the scopegate binary against it.
    pub url: String,
    /// Resources to release on drop. Always `Some` until `drop` takes it.
    cleanup: Option<Cleanup>,
}

enum Cleanup {
    Postgres {
        admin_url: String,
        database: String,
        pool: PgPool,
    },
    Sqlite {
        pool: SqlitePool,
        directory: TempDir,
    },
}

impl TestDb {
    /// Creates an empty database on `backend` and applies all migrations.
    ///
    /// Panics with the reason when the database cannot be created, for
    /// example when PostgreSQL is not running.
    pub async fn new(backend: Backend) -> TestDb {
        let db = match backend {
            Backend::Postgres => Self::create_postgres().await,
            Backend::Sqlite => Self::create_sqlite().await,
        };
        // A panic here still drops `db`, so the database is removed.
        if let Err(error) = db.store.migrate().await {
            panic!(
                "migrating the {backend} test database {} failed: {error}",
                db.url
            );
        }
        db
    }

    async fn create_postgres() -> TestDb {
        let admin_url =
            std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let database = format!("scopegate_test_{}", Uuid::new_v4().simple());

        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "connecting to PostgreSQL at {admin_url} failed: {error}. \
                     Start PostgreSQL or set {POSTGRES_URL_VAR}."
                )
            });
        let create = format!("CREATE DATABASE {database}");
        if let Err(error) = sqlx::query(AssertSqlSafe(create)).execute(&mut admin).await {
            panic!("creating database {database} on {admin_url} failed: {error}");
        }
        // A failed close of the admin connection is ignored, because the
        // database exists either way.
        let _ = admin.close().await;

        let url = url_with_database(&admin_url, &database);
        let store = PostgresStore::connect_lazy(&url, MAX_CONNECTIONS, ACQUIRE_TIMEOUT)
            .unwrap_or_else(|error| panic!("opening a pool on {url} failed: {error}"));
        let pool = store.pool().clone();
        TestDb {
            backend: Backend::Postgres,
            store: Arc::new(store),
            url,
            cleanup: Some(Cleanup::Postgres {
                admin_url,
                database,
                pool,
            }),
        }
    }

    async fn create_sqlite() -> TestDb {
        let directory = tempfile::Builder::new()
            .prefix("scopegate-test-")
            .tempdir()
            .expect("creating a temporary directory for the SQLite test database failed");
        let path = directory.path().join("scopegate.db");
        let url = format!("sqlite://{}", path.display());

        let store = SqliteStore::connect(&url, MAX_CONNECTIONS, ACQUIRE_TIMEOUT)
            .await
            .unwrap_or_else(|error| panic!("opening SQLite database {url} failed: {error}"));
        let pool = store.pool().clone();
        TestDb {
            backend: Backend::Sqlite,
            store: Arc::new(store),
            url,
            cleanup: Some(Cleanup::Sqlite { pool, directory }),
        }
    }
}

impl Drop for TestDb {
    /// Removes the database, also while a failed test unwinds. Errors are
    /// printed, not raised, because a panic during unwinding aborts the
    /// test binary.
    ///
    /// Neither pool is awaited here. A pooled connection goes back to its
    /// pool through a task on the test's runtime, and the thread that would
    /// run that task may be the one blocked in this `drop`. `close().await`
    /// could then wait for a return that never happens. Calling `close`
    /// without awaiting it stops new connections at once.
    fn drop(&mut self) {
        let Some(cleanup) = self.cleanup.take() else {
            return;
        };
        let result = match cleanup {
            Cleanup::Postgres {
                admin_url,
                database,
                pool,
            } => {
                drop(pool.close());
                drop_postgres_database_blocking(admin_url, database)
            }
            Cleanup::Sqlite { pool, directory } => {
                drop(pool.close());
                // NOTE: the pool's connections may still have the file open.
                // Linux removes open files, but other systems are untested.
                let path = directory.path().display().to_string();
                directory
                    .close()
                    .map_err(|error| format!("removing {path} failed: {error}"))
            }
        };
        if let Err(message) = result {
            eprintln!("{} test database cleanup: {message}", self.backend);
        }
    }
}

/// Drops a PostgreSQL database from synchronous code. `WITH (FORCE)` ends
/// the connections that pools still hold on it.
///
/// The statement runs on a new thread with its own Tokio runtime, because
/// the calling thread may be running a single-threaded runtime, which
/// cannot block on a future.
fn drop_postgres_database_blocking(admin_url: String, database: String) -> Result<(), String> {
    let worker = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| format!("building a runtime to drop {database} failed: {error}"))?;
        runtime.block_on(drop_postgres_database(&admin_url, &database))
    });
    worker
        .join()
        .map_err(|_| "the thread dropping the database panicked".to_owned())?
}

async fn drop_postgres_database(admin_url: &str, database: &str) -> Result<(), String> {
    let mut admin = PgConnection::connect(admin_url)
        .await
        .map_err(|error| format!("connecting to {admin_url} to drop {database} failed: {error}"))?;
    let statement = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
    sqlx::query(AssertSqlSafe(statement))
        .execute(&mut admin)
        .await
        .map_err(|error| format!("dropping database {database} failed: {error}"))?;
    let _ = admin.close().await;
    Ok(())
}

/// Replaces the database name in a `postgres://` URL, keeping user, host,
/// port and query parameters.
pub fn url_with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |index| index + 3);
    let server = match base[authority_start..].find('/') {
        Some(index) => &base[..authority_start + index],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// Returns the database name of a `postgres://` URL.
pub fn postgres_database_name(url: &str) -> Option<&str> {
    let base = url.split('?').next()?;
    let authority_start = base.find("://")? + 3;
    let path_start = base[authority_start..].find('/')? + authority_start;
    Some(&base[path_start + 1..]).filter(|name| !name.is_empty())
}

/// Lists the databases on the PostgreSQL server that tests use.
pub async fn postgres_database_names() -> Vec<String> {
    let admin_url =
        std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|error| panic!("connecting to {admin_url} failed: {error}"));
    let names: Vec<String> = sqlx::query_scalar("SELECT datname FROM pg_database")
        .fetch_all(&mut admin)
        .await
        .unwrap_or_else(|error| panic!("listing databases on {admin_url} failed: {error}"));
    let _ = admin.close().await;
    names
}
