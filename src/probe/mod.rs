//! Connection tests for destinations, run on behalf of a browser.
//!
//! A test resolves the destination's host once, rejects it when any resolved
//! address is on a non-public network that the operator's `NetworkPolicy`
//! does not allow, and only then connects to the checked addresses.
//! PostgreSQL-protocol destinations get a login and `SELECT 1`, other
//! destinations with a host a TCP connection.

pub mod network;
mod postgres;
mod settings;
mod tcp;

#[cfg(test)]
mod tests;

use std::fmt;
use std::io;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::destination::SECRET_FIELDS;

pub use network::{Blocked, Cidr, NetworkPolicy, ProbeError, classify, resolve_checked};
use settings::{Family, Settings};

/// Maximum time for one test, from resolving the host to closing the
/// connection. Longer timeouts passed to `test_destination` are reduced to it.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(5);

/// Machine-readable reason a connection test failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidSettings,
    AddressNotAllowed,
    HostNotFound,
    Timeout,
    ConnectionRefused,
    AuthenticationFailed,
    DatabaseNotFound,
    ConnectionFailed,
    NotSupported,
}

impl ErrorCode {
    /// Returns the code as it appears in JSON, such as `host_not_found`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidSettings => "invalid_settings",
            ErrorCode::AddressNotAllowed => "address_not_allowed",
            ErrorCode::HostNotFound => "host_not_found",
            ErrorCode::Timeout => "timeout",
            ErrorCode::ConnectionRefused => "connection_refused",
            ErrorCode::AuthenticationFailed => "authentication_failed",
            ErrorCode::DatabaseNotFound => "database_not_found",
            ErrorCode::ConnectionFailed => "connection_failed",
            ErrorCode::NotSupported => "not_supported",
        }
    }

    /// Returns a short heading for the UI.
    pub fn title(self) -> &'static str {
        match self {
            ErrorCode::InvalidSettings => "Invalid connection settings",
            ErrorCode::AddressNotAllowed => "Address not allowed",
            ErrorCode::HostNotFound => "Host not found",
            ErrorCode::Timeout => "Connection timed out",
            ErrorCode::ConnectionRefused => "Connection refused",
            ErrorCode::AuthenticationFailed => "Authentication failed",
            ErrorCode::DatabaseNotFound => "Database not found",
            ErrorCode::ConnectionFailed => "Connection failed",
            ErrorCode::NotSupported => "Connection test not supported",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The side that has to act on a failed test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Blame {
    /// The customer's settings or server.
    Destination,
    /// scopegate itself, for example a vendor it cannot test.
    Scopegate,
}

impl fmt::Display for Blame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Blame::Destination => "destination",
            Blame::Scopegate => "scopegate",
        })
    }
}

/// Outcome of a connection test. It serializes as `{"status": "success"}` or
/// `{"status": "error", "error": {"error_code", "title", "blame", "message"}}`.
/// The message never contains a secret value of the tested destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Failed {
        error_code: ErrorCode,
        title: String,
        blame: Blame,
        message: String,
    },
}

impl Verdict {
    pub fn is_ok(&self) -> bool {
        matches!(self, Verdict::Ok)
    }

    /// Returns the error code of a failed test, or `None` when the test passed.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            Verdict::Ok => None,
            Verdict::Failed { error_code, .. } => Some(*error_code),
        }
    }
}

#[derive(Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum VerdictBody<'a> {
    Success,
    Error { error: ErrorBody<'a> },
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error_code: ErrorCode,
    title: &'a str,
    blame: Blame,
    message: &'a str,
}

impl Serialize for Verdict {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let body = match self {
            Verdict::Ok => VerdictBody::Success,
            Verdict::Failed {
                error_code,
                title,
                blame,
                message,
            } => VerdictBody::Error {
                error: ErrorBody {
                    error_code: *error_code,
                    title,
                    blame: *blame,
                    message,
                },
            },
        };
        body.serialize(serializer)
    }
}

/// A failed test before secret values are removed from the message.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    code: ErrorCode,
    blame: Blame,
    message: String,
}

impl Failure {
    /// Creates a failure caused by the destination's settings or server.
    fn destination(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            blame: Blame::Destination,
            message: message.into(),
        }
    }

    fn invalid_settings(message: impl Into<String>) -> Self {
        Self::destination(ErrorCode::InvalidSettings, message)
    }

    fn from_probe_error(error: ProbeError) -> Self {
        match error {
            ProbeError::InvalidHost { reason, .. } => {
                Self::invalid_settings(format!("The host is invalid: {reason}."))
            }
            ProbeError::HostNotFound { host } => Self::destination(
                ErrorCode::HostNotFound,
                format!("The host {host} was not found in DNS. Check the host name."),
            ),
            ProbeError::AddressNotAllowed { host, reason } => Self::destination(
                ErrorCode::AddressNotAllowed,
                format!(
                    "The host {host} resolves to {reason}, which connection tests are not \
                     allowed to reach. Use a host that is reachable over the internet."
                ),
            ),
            ProbeError::ResolveTimeout { host } => Self::destination(
                ErrorCode::Timeout,
                format!(
                    "Resolving the host {host} timed out after {}.",
                    format_duration(network::RESOLVE_TIMEOUT)
                ),
            ),
        }
    }

    /// Maps an error from opening a TCP connection to `target`.
    fn from_io_error(error: &io::Error, target: &Target) -> Self {
        match error.kind() {
            io::ErrorKind::ConnectionRefused => Self::destination(
                ErrorCode::ConnectionRefused,
                format!(
                    "The server at {target} refused the connection. Check the host and port, \
                     and that the server is running and accepts connections."
                ),
            ),
            io::ErrorKind::TimedOut => Self::destination(
                ErrorCode::Timeout,
                format!("Connecting to {target} timed out."),
            ),
            _ => Self::destination(
                ErrorCode::ConnectionFailed,
                format!("Connecting to {target} failed: {error}."),
            ),
        }
    }

    fn into_verdict(self, redactor: &Redactor) -> Verdict {
        Verdict::Failed {
            error_code: self.code,
            title: self.code.title().to_owned(),
            blame: self.blame,
            message: redactor.redact(&self.message),
        }
    }
}

/// The host and port a test connects to, as the settings name them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    host: String,
    port: u16,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} port {}", self.host, self.port)
    }
}

/// Replaces every secret value of a destination with `[redacted]`.
struct Redactor {
    /// Non-empty secret strings, longest first so that a secret containing
    /// another one is replaced whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// Collects the string values of `SECRET_FIELDS` members at any depth.
    fn from_destination(destination: &Map<String, Value>) -> Self {
        let mut secrets = Vec::new();
        collect_secrets(destination, &mut secrets);
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets.dedup();
        Self { secrets }
    }

    fn redact(&self, text: &str) -> String {
        let mut redacted = text.to_owned();
        for secret in &self.secrets {
            if redacted.contains(secret.as_str()) {
                redacted = redacted.replace(secret.as_str(), "[redacted]");
            }
        }
        redacted
    }
}

fn collect_secrets(object: &Map<String, Value>, secrets: &mut Vec<String>) {
    for (field, value) in object {
        if SECRET_FIELDS.contains(&field.as_str()) {
            collect_strings(value, secrets);
        } else {
            collect_nested_secrets(value, secrets);
        }
    }
}

fn collect_nested_secrets(value: &Value, secrets: &mut Vec<String>) {
    match value {
        Value::Object(object) => collect_secrets(object, secrets),
        Value::Array(items) => {
            for item in items {
                collect_nested_secrets(item, secrets);
            }
        }
        _ => {}
    }
}

/// Collects every non-empty string inside a secret value, which may be an
/// object such as a service account key.
fn collect_strings(value: &Value, secrets: &mut Vec<String>) {
    match value {
        Value::String(text) if !text.is_empty() => secrets.push(text.clone()),
        Value::Object(object) => {
            for item in object.values() {
                collect_strings(item, secrets);
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_strings(item, secrets);
            }
        }
        _ => {}
    }
}

/// Formats a duration as whole seconds, or milliseconds below one second.
fn format_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 && duration.as_secs() > 0 {
        let seconds = duration.as_secs();
        if seconds == 1 {
            "1 second".to_owned()
        } else {
            format!("{seconds} seconds")
        }
    } else {
        format!("{} ms", duration.as_millis())
    }
}

/// Tests whether scopegate can connect to a destination.
///
/// `destination` is the prepared destination document with secrets, either
/// with a vendor sub-object (`{"vendor": "postgres", "postgres": {…}}`) or
/// with `host`, `port`, `username`, `password` and `database` at the top
/// level. Every resolved address must pass `policy` before anything connects.
/// `timeout` covers the whole test and is reduced to `MAX_TIMEOUT`.
pub async fn test_destination(
    vendor: &str,
    destination: &Map<String, Value>,
    policy: &NetworkPolicy,
    timeout: Duration,
) -> Verdict {
    let limit = timeout.min(MAX_TIMEOUT);
    let redactor = Redactor::from_destination(destination);

    match run_test(vendor, destination, policy, limit).await {
        Ok(()) => {
            tracing::info!(vendor, "connection test passed");
            Verdict::Ok
        }
        Err(failure) => {
            let verdict = failure.into_verdict(&redactor);
            if let Verdict::Failed {
                error_code,
                blame,
                message,
                ..
            } = &verdict
            {
                tracing::info!(
                    vendor,
                    error_code = %error_code,
                    blame = %blame,
                    message = %message,
                    "connection test failed"
                );
            }
            verdict
        }
    }
}

async fn run_test(
    vendor: &str,
    destination: &Map<String, Value>,
    policy: &NetworkPolicy,
    limit: Duration,
) -> Result<(), Failure> {
    let family = settings::family(vendor);
    let settings = Settings::extract(vendor, destination).map_err(|error| {
        Failure::invalid_settings(format!("The settings are invalid: {error}."))
    })?;

    let Some(host) = settings.host.clone() else {
        return Err(match family {
            Family::Bucket => Failure {
                code: ErrorCode::NotSupported,
                blame: Blame::Scopegate,
                message: format!(
                    "scopegate does not check bucket access for {vendor} destinations, so \
                     these settings were not tested."
                ),
            },
            Family::Tcp {
                host_required: false,
                ..
            } => Failure {
                code: ErrorCode::NotSupported,
                blame: Blame::Scopegate,
                message: format!(
                    "scopegate tests only destinations with a host, and these {vendor} \
                     settings have none, so they were not tested."
                ),
            },
            Family::Postgres
            | Family::Tcp {
                host_required: true,
                ..
            } => Failure::invalid_settings(
                "The host is missing. Enter the server's host name or IP address.",
            ),
        });
    };

    let port = match (settings.port, family) {
        (Some(port), _) => port,
        (None, Family::Postgres) => {
            return Err(Failure::invalid_settings(
                "The port is missing. Enter the port the server listens on, such as 5432.",
            ));
        }
        (None, Family::Tcp { default_port, .. }) => default_port,
        // A bucket vendor with a host, such as an S3-compatible endpoint, is
        // tested on the HTTPS port.
        (None, Family::Bucket) => 443,
    };
    let target = Target { host, port };

    let username = match (family, settings.username.as_deref()) {
        (Family::Postgres, None) => {
            return Err(Failure::invalid_settings(
                "The username is missing. Enter the database user to connect as.",
            ));
        }
        (_, username) => username.unwrap_or_default(),
    };

    let deadline = Instant::now() + limit;
    let resolved =
        tokio::time::timeout_at(deadline, resolve_checked(&target.host, target.port, policy)).await;
    let addresses = match resolved {
        Err(_elapsed) => {
            return Err(Failure::destination(
                ErrorCode::Timeout,
                format!(
                    "Resolving the host {} timed out after {}.",
                    target.host,
                    format_duration(limit)
                ),
            ));
        }
        Ok(result) => result.map_err(Failure::from_probe_error)?,
    };

    let connect = async {
        match family {
            Family::Postgres => postgres::check(&target, &addresses, &settings, username).await,
            Family::Tcp { .. } | Family::Bucket => tcp::check(&target, &addresses).await,
        }
    };
    match tokio::time::timeout_at(deadline, connect).await {
        Err(_elapsed) => Err(Failure::destination(
            ErrorCode::Timeout,
            format!(
                "Connecting to {target} timed out after {}. Check that the server accepts \
                 connections from the internet.",
                format_duration(limit)
            ),
        )),
        Ok(result) => result,
    }
}
