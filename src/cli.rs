//! Subcommands. Each reads its settings from the environment, like `serve`.

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use scopegate::auth::api_key;
use scopegate::config::Config;
use scopegate::startup;
use scopegate::store::{Environment, Tenant};
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
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.listen;
    tracing::info!(settings = ?config, "starting scopegate");
    let state = startup::build_state(config).await?;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (SCOPEGATE_LISTEN)"))?;
    tracing::info!(
        address = %listener.local_addr()?,
        database = %state.config.database_display(),
        kid = %state.key_ring.active().kid,
        "listening"
    );
    startup::serve(listener, state, startup::shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn api_keys(config: Config, command: ApiKeysCommand) -> anyhow::Result<()> {
    let store = startup::open_store(&config).await?;
    match command {
        ApiKeysCommand::Create { org, env, name } => {
            let org = org.trim();
            if org.is_empty() {
                bail!("--org must not be empty");
            }
            let organization = store.ensure_organization(org).await?;
            let tenant = Tenant {
                organization_id: organization.id,
                environment: env.into(),
            };
            let (secret, record) = api_key::issue(&store, tenant, name).await?;
            tracing::info!(api_key_id = %record.id, organization = %organization.name, "created API key");
            println!("{}", secret.expose());
        }
        ApiKeysCommand::List { org } => {
            let Some(organization) = store.find_organization(&org).await? else {
                bail!("organization {org:?} not found");
            };
            println!("ID\tENVIRONMENT\tNAME\tPREFIX\tCREATED\tREVOKED");
            for key in store.list_api_keys(organization.id).await? {
                println!(
                    "{}\t{}\t{}\t{}…\t{}\t{}",
                    key.id,
                    key.tenant.environment,
                    key.name.as_deref().unwrap_or("-"),
                    key.display_prefix,
                    key.created_at.to_rfc3339(),
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
