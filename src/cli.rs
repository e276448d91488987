//! Subcommands. Each reads its settings from the environment, like `serve`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use scopegate::auth::api_key;
use scopegate::config::Config;
use scopegate::ops::healthcheck;
use scopegate::startup;
use scopegate::store::{ApiKeyRole, Environment, Tenant};
use tokio::net::TcpListener;
use uuid::Uuid;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve HTTP on SCOPEGATE_LISTEN.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Create, list and revoke API keys.
    #[command(subcommand, name = "api-keys")]
    ApiKeys(ApiKeysCommand),
    /// List and rotate the keys that sign scoped tokens.
    #[command(subcommand, name = "signing-keys")]
    SigningKeys(SigningKeysCommand),
    /// Generate a master key, or re-seal stored secrets after changing it.
    #[command(subcommand, name = "master-key")]
    MasterKey(MasterKeyCommand),
    /// Check the server running on this machine: GET /healthz (or /readyz
    /// with --ready) on the port of SCOPEGATE_LISTEN. Exits 0 on 200, 1
    /// otherwise.
    Healthcheck {
        /// Check readiness (database and signing key) instead of liveness.
        #[arg(long)]
        ready: bool,
        /// Seconds to wait for the response.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=60))]
        timeout: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum SigningKeysCommand {
    /// List signing keys with their state (active, verifying, retired).
    List,
    /// Create a signing key that signs from now on. Running servers pick
    /// it up within 30 s; earlier keys keep verifying until every token
    /// they signed has expired.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum MasterKeyCommand {
    /// Print a new random master key (base64) on standard output.
    Generate,
    /// Re-seal every stored secret with SCOPEGATE_MASTER_KEY, opening old
    /// values with the keys in SCOPEGATE_MASTER_KEY_PREVIOUS.
    Rotate,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EnvironmentArg {
    Staging,
    Production,
}

impl From<EnvironmentArg> for Environment {
    fn from(value: EnvironmentArg) -> Self {
        match value {
            EnvironmentArg::Staging => Environment::Staging,
            EnvironmentArg::Production => Environment::Production,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Admin,
    Standard,
}

impl From<RoleArg> for ApiKeyRole {
    fn from(value: RoleArg) -> Self {
        match value {
            RoleArg::Admin => ApiKeyRole::Admin,
            RoleArg::Standard => ApiKeyRole::Standard,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ApiKeysCommand {
    /// Create a key, creating the organization if needed; print the key,
    /// alone, on standard output. It is never shown again.
    Create {
        /// Organization name.
        #[arg(long)]
        org: String,
        /// Environment the key grants access to.
        #[arg(long, value_enum)]
        env: EnvironmentArg,
        /// Label shown in listings.
        #[arg(long)]
        name: Option<String>,
        /// `admin` keys may also manage API keys and signing keys.
        #[arg(long, value_enum, default_value = "standard")]
        role: RoleArg,
    },
    /// List the keys of an organization, without the keys themselves.
    List {
        #[arg(long)]
        org: String,
    },
    /// Revoke a key by id; it stops working at once on this database.
    Revoke { id: Uuid },
}

fn load_config() -> anyhow::Result<Config> {
    Ok(Config::from_env()?)
}

pub async fn run(command: Command) -> anyhow::Result<()> {
    let config = load_config()?;
    startup::init_telemetry(&config.log_format);
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            startup::open_store(&config).await?;
            tracing::info!(database = %config.database_display(), "migrations applied");
            Ok(())
        }
        Command::ApiKeys(command) => api_keys(config, command).await,
        Command::SigningKeys(command) => signing_keys(config, command).await,
        Command::MasterKey(command) => master_key(config, command).await,
        Command::Healthcheck { ready, timeout } => healthcheck(&config, ready, timeout).await,
    }
}

async fn healthcheck(config: &Config, ready: bool, timeout: u64) -> anyhow::Result<()> {
    let address = healthcheck::probe_address(config.listen)?;
    let path = if ready { "/readyz" } else { "/healthz" };
    let status = healthcheck::get_status(address, path, Duration::from_secs(timeout)).await?;
    if status != 200 {
        bail!("GET http://{address}{path} returned {status}");
    }
    println!("GET http://{address}{path} returned 200");
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.listen;
    tracing::info!(settings = ?config, "starting scopegate");
    let state = startup::build_state(config).await?;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (SCOPEGATE_LISTEN)"))?;
    let metrics_listener = match state.config.metrics_listen {
        Some(address) => Some(bind_metrics(address).await?),
        None => None,
    };
    let metrics_listen = match &metrics_listener {
        Some(listener) => Some(listener.local_addr()?),
        None => None,
    };
    tracing::info!(
        address = %listener.local_addr()?,
        metrics_listen = metrics_listen.map(tracing::field::display),
        database = %state.config.database_display(),
        kid = %state.key_ring.current().active().kid,
        "listening"
    );
    state.spawn_maintenance();
    startup::serve_with_metrics(
        listener,
        metrics_listener,
        state.clone(),
        startup::shutdown_signal(),
    )
    .await?;
    state.flush().await;
    tracing::info!("stopped");
    Ok(())
}

async fn bind_metrics(address: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} (SCOPEGATE_METRICS_LISTEN)"))
}

async fn api_keys(config: Config, command: ApiKeysCommand) -> anyhow::Result<()> {
    let store = startup::open_store(&config).await?;
    match command {
        ApiKeysCommand::Create {
            org,
            env,
            name,
            role,
        } => {
            let org = org.trim();
            if org.is_empty() {
                bail!("--org must not be empty");
            }
            let organization = store.ensure_organization(org).await?;
            let tenant = Tenant {
                organization_id: organization.id,
                environment: env.into(),
            };
            let (secret, record) = api_key::issue(&store, tenant, name, role.into()).await?;
            tracing::info!(api_key_id = %record.id, organization = %organization.name, "created API key");
            println!("{}", secret.expose());
        }
        ApiKeysCommand::List { org } => {
            let Some(organization) = store.find_organization(&org).await? else {
                bail!("organization {org:?} not found");
            };
            println!("ID\tENVIRONMENT\tROLE\tNAME\tPREFIX\tCREATED\tEXPIRES\tREVOKED");
            for key in store.list_api_keys(organization.id).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}…\t{}\t{}\t{}",
                    key.id,
                    key.tenant.environment,
                    key.role.as_str(),
                    key.name.as_deref().unwrap_or("-"),
                    key.display_prefix,
                    key.created_at.to_rfc3339(),
                    key.expires_at
                        .map(|at| at.to_rfc3339())
                        .unwrap_or_else(|| "-".into()),
                    key.revoked_at
                        .map(|at| at.to_rfc3339())
                        .unwrap_or_else(|| "-".into()),
                );
            }
        }
        ApiKeysCommand::Revoke { id } => match store.revoke_api_key(id).await? {
            Some(key) => {
                tracing::info!(api_key_id = %key.id, "revoked API key");
                println!("revoked {}", key.id);
            }
            None => bail!("API key {id} not found"),
        },
    }
    Ok(())
}

async fn signing_keys(config: Config, command: SigningKeysCommand) -> anyhow::Result<()> {
    let store = startup::open_store(&config).await?;
    match command {
        SigningKeysCommand::List => {
            let records = store.list_all_signing_keys().await?;
            let newest = records
                .iter()
                .rev()
                .find(|record| record.retired_at.is_none())
                .map(|record| record.kid.clone());
            println!("KID\tSTATE\tCREATED\tRETIRED");
            for record in &records {
                let state = match (&record.retired_at, Some(&record.kid) == newest.as_ref()) {
                    (Some(_), _) => "retired",
                    (None, true) => "active",
                    (None, false) => "verifying",
                };
                println!(
                    "{}\t{state}\t{}\t{}",
                    record.kid,
                    record.created_at.to_rfc3339(),
                    record
                        .retired_at
                        .map(|at| at.to_rfc3339())
                        .unwrap_or_else(|| "-".into()),
                );
            }
        }
        SigningKeysCommand::Rotate => {
            let master_key = startup::load_master_key(&config)?;
            let record = scopegate::auth::keys::rotate(&store, &master_key).await?;
            println!("{}", record.kid);
        }
    }
    Ok(())
}

async fn master_key(config: Config, command: MasterKeyCommand) -> anyhow::Result<()> {
    match command {
        MasterKeyCommand::Generate => {
            let (_, encoded) = scopegate::crypto::MasterKey::generate()?;
            println!("{encoded}");
        }
        MasterKeyCommand::Rotate => {
            if config.master_key.is_none() {
                bail!(
                    "set SCOPEGATE_MASTER_KEY to the new key and SCOPEGATE_MASTER_KEY_PREVIOUS to \
                     the old one(s)"
                );
            }
            let store = startup::open_store(&config).await?;
            let master_key = startup::load_master_key(&config)?;
            let report = scopegate::rekey::reseal_all(&store, &master_key).await?;
            tracing::info!(
                resealed = report.resealed,
                already_current = report.current,
                changed_meanwhile = report.changed_meanwhile,
                "re-sealed stored secrets"
            );
            println!(
                "resealed {} values; {} already used the current key; {} changed meanwhile",
                report.resealed, report.current, report.changed_meanwhile
            );
            if report.changed_meanwhile > 0 {
                bail!("some values changed while re-sealing; run the command again");
            }
        }
    }
    Ok(())
}
