//! Settings from environment variables, validated at start.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Url;

/// Bytes a `SESSION_KEY` must decode to at least: the cookie crate derives
/// its signing key from 64 bytes.
const SESSION_KEY_MIN_BYTES: usize = 64;

/// Source of the tenant a token is minted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantSource {
    /// The logged-in user's tenant, whatever the browser sends.
    Session,
    /// The browser's `id_in_provider_system` when it sends one. This is the
    /// unsafe pattern: any user can then read and change other tenants'
    /// destinations. It exists so the end-to-end tests can show that their
    /// tenant isolation check catches it.
    UnsafeBrowser,
}

/// The API key sent to scopegate; its `Debug` output never shows the key.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: String) -> Self {
        Self(key)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("ApiKey(<redacted>)")
    }
}

/// Validated settings of the proxy.
#[derive(Debug, Clone)]
pub struct Config {
    /// `PROXY_LISTEN`: address to serve HTTP on.
    pub listen: SocketAddr,
    /// `SCOPEGATE_URL`: scopegate's base URL, without a trailing slash.
    pub scopegate_url: String,
    /// `SCOPEGATE_API_KEY`: the key the proxy mints tokens with.
    pub api_key: ApiKey,
    /// `APP_ORIGIN`: the web app's origin (`scheme://host[:port]`). It is the
    /// one origin CORS allows and the `application_origin` of every mint.
    pub app_origin: String,
    /// `USERS_FILE`: the JSON file of demo users.
    pub users_file: PathBuf,
    /// `SESSION_KEY`: base64 of at least 64 bytes that sign session cookies;
    /// `None` makes the proxy generate a key at start.
    pub session_key: Option<Vec<u8>>,
    /// `UNSAFE_TRUST_BROWSER_TENANT`: `1` selects [`TenantSource::UnsafeBrowser`].
    pub tenant_source: TenantSource,
}

impl Config {
    /// Reads the settings from the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, which returns a variable's value
    /// or `None` when it is unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let listen_text = lookup("PROXY_LISTEN").unwrap_or_else(|| "127.0.0.1:3001".to_owned());
        let listen = listen_text.parse().map_err(|_| {
            anyhow::anyhow!(
                "PROXY_LISTEN={listen_text:?} is invalid: expected IP:PORT such as 127.0.0.1:3001"
            )
        })?;

        let scopegate_text =
            lookup("SCOPEGATE_URL").unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
        let scopegate_url = parse_base_url(&scopegate_text)?;

        let api_key = lookup("SCOPEGATE_API_KEY")
            .filter(|key| !key.trim().is_empty())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "SCOPEGATE_API_KEY is missing: set it to a key from `scopegate api-keys create`"
                )
            })?;

        let origin_text =
            lookup("APP_ORIGIN").unwrap_or_else(|| "http://127.0.0.1:5173".to_owned());
        let app_origin = parse_origin(&origin_text)?;

        let users_file = lookup("USERS_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("users.json"));

        let session_key = match lookup("SESSION_KEY") {
            None => None,
            Some(text) => Some(parse_session_key(&text)?),
        };

        let tenant_source = match lookup("UNSAFE_TRUST_BROWSER_TENANT").as_deref() {
            None | Some("") | Some("0") => TenantSource::Session,
            Some("1") => TenantSource::UnsafeBrowser,
            Some(other) => anyhow::bail!(
                "UNSAFE_TRUST_BROWSER_TENANT={other:?} is invalid: expected 0 or 1 (leave it unset)"
            ),
        };

        Ok(Self {
            listen,
            scopegate_url,
            api_key: ApiKey::new(api_key.trim().to_owned()),
            app_origin,
            users_file,
            session_key,
            tenant_source,
        })
    }
}

/// Checks an http(s) base URL and returns it without a trailing slash.
fn parse_base_url(text: &str) -> anyhow::Result<String> {
    let url = Url::parse(text).map_err(|error| {
        anyhow::anyhow!("SCOPEGATE_URL={text:?} is invalid ({error}): expected a URL such as http://127.0.0.1:8080")
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
        anyhow::bail!(
            "SCOPEGATE_URL={text:?} is invalid: expected an http or https URL without a query"
        );
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Checks that `text` is exactly a browser origin, as the `Origin` header
/// spells it: `scheme://host[:port]`, lowercase, without a path.
fn parse_origin(text: &str) -> anyhow::Result<String> {
    let invalid = || {
        anyhow::anyhow!(
            "APP_ORIGIN={text:?} is invalid: expected an origin such as http://127.0.0.1:5173, \
             without a path or trailing slash"
        )
    };
    let url = Url::parse(text).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid());
    }
    let origin = url.origin().ascii_serialization();
    if origin != text {
        return Err(invalid());
    }
    Ok(origin)
}

fn parse_session_key(text: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = STANDARD.decode(text.trim()).map_err(|_| {
        anyhow::anyhow!(
            "SESSION_KEY is not valid base64: generate one with `openssl rand -base64 64`"
        )
    })?;
    if bytes.len() < SESSION_KEY_MIN_BYTES {
        anyhow::bail!(
            "SESSION_KEY decodes to {} bytes but needs at least {SESSION_KEY_MIN_BYTES}: \
             generate one with `openssl rand -base64 64`",
            bytes.len()
        );
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config_with(pairs: &[(&str, &str)]) -> anyhow::Result<Config> {
        let variables: HashMap<String, String> = pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        Config::from_lookup(|name| variables.get(name).cloned())
    }

    #[test]
    fn defaults_with_api_key() {
        let config = config_with(&[("SCOPEGATE_API_KEY", "sk_staging_x")]).unwrap();

        assert_eq!(config.listen.to_string(), "127.0.0.1:3001");
        assert_eq!(config.scopegate_url, "http://127.0.0.1:8080");
        assert_eq!(config.app_origin, "http://127.0.0.1:5173");
        assert_eq!(config.tenant_source, TenantSource::Session);
        assert!(config.session_key.is_none());
    }

    #[test]
    fn api_key_is_required() {
        let error = config_with(&[]).unwrap_err().to_string();

        assert!(error.contains("SCOPEGATE_API_KEY"), "{error}");
    }

    #[test]
    fn api_key_debug_is_redacted() {
        let config = config_with(&[("SCOPEGATE_API_KEY", "sk_staging_secret")]).unwrap();

        let debug = format!("{config:?}");

        assert!(!debug.contains("sk_staging_secret"), "{debug}");
    }

    #[test]
    fn app_origin_rejects_path_and_slash() {
        for origin in [
            "http://127.0.0.1:5173/",
            "http://127.0.0.1:5173/app",
            "ftp://host",
            "127.0.0.1:5173",
        ] {
            let result = config_with(&[("SCOPEGATE_API_KEY", "k"), ("APP_ORIGIN", origin)]);

            assert!(result.is_err(), "APP_ORIGIN={origin} must be rejected");
        }
    }

    #[test]
    fn unsafe_flag_values() {
        let unsafe_config = config_with(&[
            ("SCOPEGATE_API_KEY", "k"),
            ("UNSAFE_TRUST_BROWSER_TENANT", "1"),
        ])
        .unwrap();
        let invalid = config_with(&[
            ("SCOPEGATE_API_KEY", "k"),
            ("UNSAFE_TRUST_BROWSER_TENANT", "yes"),
        ]);

        assert_eq!(unsafe_config.tenant_source, TenantSource::UnsafeBrowser);
        assert!(invalid.is_err());
    }

    #[test]
    fn session_key_needs_64_bytes() {
        let short = STANDARD.encode([7u8; 32]);
        let long = STANDARD.encode([7u8; 64]);

        let short_result = config_with(&[("SCOPEGATE_API_KEY", "k"), ("SESSION_KEY", &short)]);
        let long_config =
            config_with(&[("SCOPEGATE_API_KEY", "k"), ("SESSION_KEY", &long)]).unwrap();

        assert!(short_result.is_err());
        assert_eq!(long_config.session_key.map(|key| key.len()), Some(64));
    }
}
