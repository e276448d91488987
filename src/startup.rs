//! Process start-up: telemetry, the store, the master key and the server.

use std::future::Future;
use std::io::IsTerminal;

use tokio::net::TcpListener;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::app::{self, AppState};
use crate::config::{Config, LogFormat};
use crate::crypto::MasterKey;
use crate::ops::{self, acquire::AcquireWaitLayer};
use crate::store::{self, DynStore};

/// Installs the tracing subscriber: human-readable or JSON lines on stderr,
/// filtered by `RUST_LOG` (default `info`, with sqlx's notices at `warn`),
/// and the layer that turns sqlx's connection-acquisition events into a
/// metric regardless of `RUST_LOG`.
pub fn init_telemetry(format: &LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let lines = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let lines = match format {
        LogFormat::Json => lines.json().flatten_event(true).boxed(),
        LogFormat::Text => lines.boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(lines.with_filter(filter))
        .with(AcquireWaitLayer.with_filter(AcquireWaitLayer::filter()))
        .try_init();
}

/// Opens and migrates the configured store.
pub async fn open_store(config: &Config) -> anyhow::Result<DynStore> {
    let url = config.resolved_database_url();
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir).map_err(|error| {
            anyhow::anyhow!(
                "cannot create SCOPEGATE_DATA_DIR {}: {error}",
                config.data_dir.display()
            )
        })?;
    }
    let store = store::connect(&url, config.db_max_connections, config.db_acquire_timeout).await?;
    store.migrate().await?;
    Ok(store)
}

/// Returns the master key from `SCOPEGATE_MASTER_KEY`, or from a key file in
/// the data directory, generated on first use.
pub fn load_master_key(config: &Config) -> anyhow::Result<MasterKey> {
    let previous = config
        .master_key_previous
        .iter()
        .map(|encoded| MasterKey::from_base64(encoded))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(encoded) = &config.master_key {
        return Ok(MasterKey::from_base64(encoded)?.with_previous(previous));
    }
    let path = config.data_dir.join("master.key");
    let (key, created) = MasterKey::load_or_create_file(&path)?;
    let key = key.with_previous(previous);
    if created {
        tracing::warn!(
            path = %path.display(),
            "SCOPEGATE_MASTER_KEY is unset: generated a master key file; back it up, or set \
             SCOPEGATE_MASTER_KEY so every replica shares one key"
        );
    } else {
        tracing::warn!(
            path = %path.display(),
            "SCOPEGATE_MASTER_KEY is unset: using the master key file"
        );
    }
    Ok(key)
}

/// Builds the application state for `config`.
pub async fn build_state(config: Config) -> anyhow::Result<AppState> {
    let store = open_store(&config).await?;
    let master_key = load_master_key(&config)?;
    AppState::new(config, store, master_key).await
}

/// Serves on an already bound listener until `shutdown` completes, then
/// lets in-flight requests finish for up to `SCOPEGATE_SHUTDOWN_TIMEOUT`.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_metrics(listener, None, state, shutdown).await
}

/// Like [`serve`], and also serves `/metrics` on `metrics_listener` when
/// given; the main listener then leaves `/metrics` out.
pub async fn serve_with_metrics(
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let drain_timeout = state.config.shutdown_timeout;
    let metrics = metrics_listener.map(|listener| (listener, ops::metrics_router(state.clone())));
    let main = (listener, app::router(state));
    ops::shutdown::serve_until(main, metrics, shutdown, drain_timeout).await
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(error = %error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
