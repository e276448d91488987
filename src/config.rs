//! Settings from environment variables, validated at start. A bad value
//! stops the process with a message naming the variable and the accepted
//! form.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Validated settings. `Debug` leaves the master key and the database
/// password out.
#[derive(Clone)]
pub struct Config {
    /// `SCOPEGATE_LISTEN`: address the HTTP server binds.
    pub listen: SocketAddr,
    /// `DATABASE_URL`: `postgres://…` or `sqlite://…`; unset means SQLite in
    /// the data directory.
    pub database_url: Option<String>,
    /// `SCOPEGATE_DATA_DIR`: directory for the SQLite database and the
    /// generated master key file.
    pub data_dir: PathBuf,
    /// `SCOPEGATE_MASTER_KEY`: base64 of 32 bytes.
    pub master_key: Option<String>,
    /// `SCOPEGATE_MASTER_KEY_PREVIOUS`: comma-separated earlier master keys
    /// that still open data sealed before a rotation.
    pub master_key_previous: Vec<String>,
    /// `SCOPEGATE_ISSUER`: the `iss` claim; audiences derive from it.
    pub issuer: String,
    /// `SCOPEGATE_TOKEN_TTL`: default token lifetime.
    pub token_ttl: Duration,
    /// `SCOPEGATE_TOKEN_MAX_TTL`: longest lifetime a mint may request.
    pub token_max_ttl: Duration,
    /// `SCOPEGATE_CLOCK_LEEWAY`: tolerance for `exp` and `nbf`.
    pub clock_leeway: Duration,
    /// `SCOPEGATE_API_KEY_CACHE_TTL`: how long a looked-up API key is reused;
    /// also the longest delay before another replica's revocation applies.
    pub api_key_cache_ttl: Duration,
    /// `SCOPEGATE_CORS_ORIGINS`: comma-separated origins always allowed.
    pub cors_origins: Vec<String>,
    /// `SCOPEGATE_LOG_FORMAT`: `text` or `json`.
    pub log_format: LogFormat,
    /// `SCOPEGATE_DB_MAX_CONNECTIONS`: size of the database pool.
    pub db_max_connections: u32,
    /// `SCOPEGATE_DB_ACQUIRE_TIMEOUT`: longest wait for a pooled connection.
    pub db_acquire_timeout: Duration,
    /// `SCOPEGATE_CONNECTION_TEST_ALLOW`: comma-separated CIDR ranges that
    /// connection tests may reach although they are loopback, private,
    /// link-local or otherwise internal.
    pub connection_test_allow: String,
    /// `SCOPEGATE_CONNECTION_TEST_TIMEOUT`: limit of one connection test.
    pub connection_test_timeout: Duration,
    /// `SCOPEGATE_SSH_KEY_RATE_LIMIT`: SSH keys one client address may
    /// generate per minute.
    pub ssh_key_rate_limit: u32,
    /// `SCOPEGATE_METRICS_LISTEN`: address of a separate listener for
    /// `/metrics`; when set, the main listener does not serve `/metrics`.
    pub metrics_listen: Option<SocketAddr>,
    /// `SCOPEGATE_SHUTDOWN_TIMEOUT`: longest wait for in-flight requests
    /// after SIGTERM or SIGINT.
    pub shutdown_timeout: Duration,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database", &self.database_display())
            .field("data_dir", &self.data_dir)
            .field("master_key", &self.master_key.as_ref().map(|_| "<set>"))
            .field("master_key_previous", &self.master_key_previous.len())
            .field("issuer", &self.issuer)
            .field("token_ttl", &self.token_ttl)
            .field("token_max_ttl", &self.token_max_ttl)
            .field("clock_leeway", &self.clock_leeway)
            .field("api_key_cache_ttl", &self.api_key_cache_ttl)
            .field("cors_origins", &self.cors_origins)
            .field("log_format", &self.log_format)
            .field("db_max_connections", &self.db_max_connections)
            .field("db_acquire_timeout", &self.db_acquire_timeout)
            .field("connection_test_allow", &self.connection_test_allow)
            .field("connection_test_timeout", &self.connection_test_timeout)
            .field("ssh_key_rate_limit", &self.ssh_key_rate_limit)
            .field("metrics_listen", &self.metrics_listen)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid {variable}: expected {expected}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub expected: &'static str,
}

fn invalid(variable: &'static str, expected: &'static str) -> ConfigError {
    ConfigError { variable, expected }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
    }

    /// Builds the settings from a lookup function, so tests can pass values
    /// without touching the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let seconds =
            |variable: &'static str, default: u64, min: u64, max: u64| match lookup(variable) {
                None => Ok(Duration::from_secs(default)),
                Some(text) => text
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|value| (min..=max).contains(value))
                    .map(Duration::from_secs)
                    .ok_or_else(|| invalid(variable, seconds_form(variable))),
            };

        let listen = match lookup("SCOPEGATE_LISTEN") {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(text) => text.trim().parse().map_err(|_| {
                invalid(
                    "SCOPEGATE_LISTEN",
                    "an address and port such as 127.0.0.1:8080",
                )
            })?,
        };

        let database_url = lookup("DATABASE_URL");
        if let Some(url) = &database_url
            && !(url.starts_with("postgres://")
                || url.starts_with("postgresql://")
                || url.starts_with("sqlite:"))
        {
            return Err(invalid(
                "DATABASE_URL",
                "a postgres://, postgresql:// or sqlite:// URL",
            ));
        }

        let master_key_previous: Vec<String> = lookup("SCOPEGATE_MASTER_KEY_PREVIOUS")
            .map(|text| {
                text.split(',')
                    .map(str::trim)
                    .filter(|key| !key.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if master_key_previous
            .iter()
            .any(|key| crate::crypto::MasterKey::from_base64(key).is_err())
        {
            return Err(invalid(
                "SCOPEGATE_MASTER_KEY_PREVIOUS",
                "comma-separated master keys, each 32 bytes in standard base64",
            ));
        }

        let master_key = lookup("SCOPEGATE_MASTER_KEY");
        if let Some(key) = &master_key
            && crate::crypto::MasterKey::from_base64(key).is_err()
        {
            return Err(invalid(
                "SCOPEGATE_MASTER_KEY",
                "32 random bytes in standard base64 (for example `openssl rand -base64 32`)",
            ));
        }

        let issuer = lookup("SCOPEGATE_ISSUER").unwrap_or_else(|| "scopegate".to_owned());
        if issuer.trim().is_empty() || issuer.chars().any(char::is_whitespace) {
            return Err(invalid(
                "SCOPEGATE_ISSUER",
                "a non-empty string without spaces",
            ));
        }

        let token_max_ttl = seconds("SCOPEGATE_TOKEN_MAX_TTL", 3600, 60, 86_400)?;
        let token_ttl = seconds("SCOPEGATE_TOKEN_TTL", 3600, 60, 86_400)?;
        if token_ttl > token_max_ttl {
            return Err(invalid(
                "SCOPEGATE_TOKEN_TTL",
                "a lifetime no longer than SCOPEGATE_TOKEN_MAX_TTL",
            ));
        }

        let cors_origins = lookup("SCOPEGATE_CORS_ORIGINS")
            .map(|text| {
                text.split(',')
                    .map(str::trim)
                    .filter(|origin| !origin.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        for origin in &cors_origins {
            let parsed = crate::auth::origin::Origin::parse(origin);
            if parsed.is_err() || !origin.contains("://") {
                return Err(invalid(
                    "SCOPEGATE_CORS_ORIGINS",
                    "comma-separated origins such as https://app.example.com,http://localhost:3000",
                ));
            }
        }

        let log_format = match lookup("SCOPEGATE_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(invalid("SCOPEGATE_LOG_FORMAT", "text or json")),
        };

        let db_max_connections = match lookup("SCOPEGATE_DB_MAX_CONNECTIONS") {
            None => 10,
            Some(text) => text
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|value| (1..=1000).contains(value))
                .ok_or_else(|| {
                    invalid("SCOPEGATE_DB_MAX_CONNECTIONS", "an integer from 1 to 1000")
                })?,
        };

        let connection_test_allow = lookup("SCOPEGATE_CONNECTION_TEST_ALLOW").unwrap_or_default();
        if crate::probe::network::NetworkPolicy::parse(&connection_test_allow).is_err() {
            return Err(invalid(
                "SCOPEGATE_CONNECTION_TEST_ALLOW",
                "comma-separated CIDR ranges such as 10.1.0.0/16,127.0.0.1/32",
            ));
        }

        let ssh_key_rate_limit = match lookup("SCOPEGATE_SSH_KEY_RATE_LIMIT") {
            None => 10,
            Some(text) => text
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|value| (1..=10_000).contains(value))
                .ok_or_else(|| {
                    invalid("SCOPEGATE_SSH_KEY_RATE_LIMIT", "an integer from 1 to 10000")
                })?,
        };

        let metrics_listen = match lookup("SCOPEGATE_METRICS_LISTEN") {
            None => None,
            Some(text) => Some(text.trim().parse::<SocketAddr>().map_err(|_| {
                invalid(
                    "SCOPEGATE_METRICS_LISTEN",
                    "an address and port such as 0.0.0.0:9090",
                )
            })?),
        };
        if metrics_listen.is_some_and(|address| address == listen && address.port() != 0) {
            return Err(invalid(
                "SCOPEGATE_METRICS_LISTEN",
                "an address and port other than SCOPEGATE_LISTEN",
            ));
        }

        Ok(Self {
            listen,
            database_url,
            data_dir: PathBuf::from(
                lookup("SCOPEGATE_DATA_DIR").unwrap_or_else(|| "./data".into()),
            ),
            master_key,
            master_key_previous,
            issuer,
            token_ttl,
            token_max_ttl,
            clock_leeway: seconds("SCOPEGATE_CLOCK_LEEWAY", 30, 0, 300)?,
            api_key_cache_ttl: seconds("SCOPEGATE_API_KEY_CACHE_TTL", 30, 0, 3600)?,
            cors_origins,
            log_format,
            db_max_connections,
            db_acquire_timeout: seconds("SCOPEGATE_DB_ACQUIRE_TIMEOUT", 3, 1, 60)?,
            connection_test_allow,
            connection_test_timeout: seconds("SCOPEGATE_CONNECTION_TEST_TIMEOUT", 5, 1, 5)?,
            ssh_key_rate_limit,
            metrics_listen,
            shutdown_timeout: seconds("SCOPEGATE_SHUTDOWN_TIMEOUT", 30, 1, 3600)?,
        })
    }

    /// Returns the database URL in use: `DATABASE_URL`, or SQLite in the data directory.
    pub fn resolved_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("scopegate.db").display()),
        }
    }

    /// Returns the database URL without user information, for logs.
    pub fn database_display(&self) -> String {
        let url = self.resolved_database_url();
        match (url.split_once("://"), url.rfind('@')) {
            (Some((scheme, _)), Some(at)) => format!("{scheme}://{}", &url[at + 1..]),
            _ => url,
        }
    }
}

fn seconds_form(variable: &'static str) -> &'static str {
    match variable {
        "SCOPEGATE_TOKEN_TTL" | "SCOPEGATE_TOKEN_MAX_TTL" => "whole seconds from 60 to 86400",
        "SCOPEGATE_CLOCK_LEEWAY" => "whole seconds from 0 to 300",
        "SCOPEGATE_API_KEY_CACHE_TTL" => "whole seconds from 0 to 3600",
        "SCOPEGATE_DB_ACQUIRE_TIMEOUT" => "whole seconds from 1 to 60",
        "SCOPEGATE_CONNECTION_TEST_TIMEOUT" => "whole seconds from 1 to 5",
        "SCOPEGATE_SHUTDOWN_TIMEOUT" => "whole seconds from 1 to 3600",
        _ => "whole seconds",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_apply() {
        let config = config(&[]).expect("defaults");
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.token_ttl, Duration::from_secs(3600));
        assert!(config.resolved_database_url().starts_with("sqlite://"));
    }

    #[test]
    fn bad_value_names_variable() {
        let error = config(&[("SCOPEGATE_LISTEN", "nowhere")]).expect_err("invalid");
        assert_eq!(error.variable, "SCOPEGATE_LISTEN");
        let error = config(&[("SCOPEGATE_CLOCK_LEEWAY", "-1")]).expect_err("invalid");
        assert_eq!(error.variable, "SCOPEGATE_CLOCK_LEEWAY");
        let error = config(&[("DATABASE_URL", "mysql://x")]).expect_err("invalid");
        assert_eq!(error.variable, "DATABASE_URL");
    }

    #[test]
    fn metrics_listener_is_optional_and_separate() {
        let defaults = config(&[]).expect("defaults");
        assert_eq!(defaults.metrics_listen, None);
        assert_eq!(defaults.shutdown_timeout, Duration::from_secs(30));

        let separate = config(&[("SCOPEGATE_METRICS_LISTEN", "0.0.0.0:9090")]).expect("valid");
        assert_eq!(
            separate.metrics_listen.map(|address| address.to_string()),
            Some("0.0.0.0:9090".to_owned())
        );

        let error = config(&[("SCOPEGATE_METRICS_LISTEN", "127.0.0.1:8080")]).expect_err("same");
        assert_eq!(error.variable, "SCOPEGATE_METRICS_LISTEN");
        let error = config(&[("SCOPEGATE_METRICS_LISTEN", "9090")]).expect_err("no host");
        assert_eq!(error.variable, "SCOPEGATE_METRICS_LISTEN");
    }

    #[test]
    fn shutdown_timeout_is_bounded() {
        let five = config(&[("SCOPEGATE_SHUTDOWN_TIMEOUT", "5")]).expect("valid");
        assert_eq!(five.shutdown_timeout, Duration::from_secs(5));
        for bad in ["0", "3601", "soon"] {
            let error = config(&[("SCOPEGATE_SHUTDOWN_TIMEOUT", bad)]).expect_err("invalid");
            assert_eq!(error.variable, "SCOPEGATE_SHUTDOWN_TIMEOUT", "{bad}");
        }
    }

    #[test]
    fn database_display_hides_password() {
        let config = config(&[("DATABASE_URL", "postgres://user:pw@db:5432/app")]).expect("ok");
        assert_eq!(config.database_display(), "postgres://db:5432/app");
    }
}
