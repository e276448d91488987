//! Runs the example backend: `cargo run -p scopegate-backend-proxy` with
//! `SCOPEGATE_API_KEY` set (see examples/README.md for every variable).

#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::io::IsTerminal;
use std::process::ExitCode;

use scopegate_backend_proxy::app::{self, AppState};
use scopegate_backend_proxy::config::{Config, TenantSource};
use scopegate_backend_proxy::users::Users;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    init_telemetry();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_telemetry() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

async fn run() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let users = Users::load(&config.users_file)?;
    let state = AppState::new(&config, users)?;

    tracing::info!(
        scopegate_url = %config.scopegate_url,
        app_origin = %config.app_origin,
        users = state.users.len(),
        users_file = %config.users_file.display(),
        session_key = if config.session_key.is_some() { "SESSION_KEY" } else { "generated" },
        "starting the backend proxy"
    );
    if config.session_key.is_none() {
        tracing::warn!(
            "SESSION_KEY is unset: generated a session key, so every restart logs all users out"
        );
    }
    if config.tenant_source == TenantSource::UnsafeBrowser {
        tracing::warn!(
            "UNSAFE_TRUST_BROWSER_TENANT=1: tokens are minted for the tenant the browser names, \
             so any logged-in user can reach every tenant's destinations; never use this outside tests"
        );
    }

    let router = app::router(state)?;
    let listener = TcpListener::bind(config.listen).await.map_err(|error| {
        anyhow::anyhow!("cannot listen on PROXY_LISTEN={}: {error}", config.listen)
    })?;
    tracing::info!(address = %listener.local_addr()?, "listening");

    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(error = %error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
