//! Login test for servers that speak the PostgreSQL wire protocol.

use std::net::{IpAddr, SocketAddr};

use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::{ConnectOptions, Connection, Executor};

use super::settings::Settings;
use super::{ErrorCode, Failure, Target};

/// SQLSTATE `invalid_password`.
const INVALID_PASSWORD: &str = "28P01";
/// SQLSTATE `invalid_authorization_specification`, sent for an unknown role
/// or a login that `pg_hba.conf` rejects.
const INVALID_AUTHORIZATION: &str = "28000";
/// SQLSTATE `invalid_catalog_name`, sent for a database that does not exist.
const INVALID_CATALOG_NAME: &str = "3D000";

/// Logs in to the first address that accepts a TCP connection, runs
/// `SELECT 1` and closes the connection. An address that fails with an I/O
/// error is skipped in favor of the next one. Other errors, such as a
/// rejected password, end the test.
pub(super) async fn check(
    target: &Target,
    addresses: &[SocketAddr],
    settings: &Settings,
    username: &str,
) -> Result<(), Failure> {
    let mut last_io_error = None;
    for address in addresses {
        let options = connect_options(address.ip(), address.port(), settings, username);
        match log_in_and_query(&options).await {
            Ok(()) => return Ok(()),
            Err(sqlx::Error::Io(error)) => last_io_error = Some(error),
            Err(error) => return Err(failure_for(&error, target, settings, username)),
        }
    }

    Err(match last_io_error {
        Some(error) => Failure::from_io_error(&error, target),
        None => Failure::destination(
            ErrorCode::ConnectionFailed,
            format!("No address to connect to for {target}."),
        ),
    })
}

/// Builds connection options for one checked address.
///
/// `hostaddr` makes sqlx connect to `ip` without resolving a name, and the
/// host is set to the same address so that it can never name a Unix socket.
/// Every value that the `PG*` environment variables could supply to
/// `new_without_pgpass` and that affects where or as whom the test logs in
/// is set explicitly, so the operator's own `PGPASSWORD`, `PGDATABASE` or
/// `PGHOSTADDR` never reach a customer's server.
///
/// NOTE: `PGOPTIONS`, `PGSSLCERT`, `PGSSLKEY` and `PGSSLROOTCERT` from the
/// environment still apply because sqlx 0.9 has no way to clear them.
/// The client certificate and key are only used when sqlx has a TLS backend.
fn connect_options(ip: IpAddr, port: u16, settings: &Settings, username: &str) -> PgConnectOptions {
    // NOTE: this crate enables no sqlx TLS feature, so `Prefer` connects
    // without TLS and sends the password over an unencrypted connection.
    let ssl_mode = if settings.disable_ssl {
        PgSslMode::Disable
    } else {
        PgSslMode::Prefer
    };
    // PostgreSQL clients default the database name to the user name.
    let database = settings.database.as_deref().unwrap_or(username);

    PgConnectOptions::new_without_pgpass()
        .host(&ip.to_string())
        .hostaddr(ip)
        .port(port)
        .username(username)
        .password(settings.password.as_deref().unwrap_or_default())
        .database(database)
        .ssl_mode(ssl_mode)
        .application_name("scopegate connection test")
        .disable_statement_logging()
}

async fn log_in_and_query(options: &PgConnectOptions) -> Result<(), sqlx::Error> {
    let mut connection = PgConnection::connect_with(options).await?;
    let query_result = connection.execute(sqlx::raw_sql("SELECT 1")).await;
    if let Err(error) = connection.close().await {
        tracing::debug!(error = %error, "closing the connection-test connection failed");
    }
    query_result.map(|_| ())
}

/// Maps an sqlx error other than an I/O error while connecting.
fn failure_for(
    error: &sqlx::Error,
    target: &Target,
    settings: &Settings,
    username: &str,
) -> Failure {
    match error {
        sqlx::Error::Database(database_error) => database_failure(
            database_error.code().as_deref(),
            database_error.message(),
            settings,
            username,
        ),
        sqlx::Error::Io(io_error) => Failure::from_io_error(io_error, target),
        sqlx::Error::Tls(tls_error) => Failure::destination(
            ErrorCode::ConnectionFailed,
            format!("TLS negotiation with {target} failed: {tls_error}."),
        ),
        sqlx::Error::Protocol(message) => Failure::destination(
            ErrorCode::ConnectionFailed,
            format!("{target} did not answer like a PostgreSQL server: {message}. Check the port."),
        ),
        other => Failure::destination(
            ErrorCode::ConnectionFailed,
            format!("Connecting to {target} failed: {other}."),
        ),
    }
}

/// Maps an error the server sent, identified by its SQLSTATE code.
fn database_failure(
    code: Option<&str>,
    server_message: &str,
    settings: &Settings,
    username: &str,
) -> Failure {
    match code {
        Some(INVALID_PASSWORD) => Failure::destination(
            ErrorCode::AuthenticationFailed,
            format!("The server rejected the password for user \"{username}\"."),
        ),
        Some(INVALID_AUTHORIZATION) => Failure::destination(
            ErrorCode::AuthenticationFailed,
            format!("The server rejected the login for user \"{username}\": {server_message}."),
        ),
        Some(INVALID_CATALOG_NAME) => {
            let database = settings.database.as_deref().unwrap_or(username);
            Failure::destination(
                ErrorCode::DatabaseNotFound,
                format!(
                    "The database \"{database}\" does not exist on the server. Check the \
                     database name."
                ),
            )
        }
        Some(code) => Failure::destination(
            ErrorCode::ConnectionFailed,
            format!("The server returned an error: {server_message} (SQLSTATE {code})."),
        ),
        None => Failure::destination(
            ErrorCode::ConnectionFailed,
            format!("The server returned an error: {server_message}."),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Blame;

    fn settings(database: Option<&str>, password: Option<&str>, disable_ssl: bool) -> Settings {
        Settings {
            host: Some("db.example.com".to_owned()),
            port: Some(5432),
            username: Some("exporter".to_owned()),
            password: password.map(str::to_owned),
            database: database.map(str::to_owned),
            disable_ssl,
        }
    }

    fn target() -> Target {
        Target {
            host: "db.example.com".to_owned(),
            port: 5432,
        }
    }

    #[test]
    fn options_use_checked_address() {
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let options = connect_options(
            ip,
            6543,
            &settings(Some("analytics"), Some("pw"), false),
            "exporter",
        );
        assert_eq!(options.get_host(), "203.0.113.9");
        assert_eq!(options.get_port(), 6543);
        assert_eq!(options.get_username(), "exporter");
        assert_eq!(options.get_database(), Some("analytics"));
        assert!(matches!(options.get_ssl_mode(), PgSslMode::Prefer));
        assert_eq!(options.get_socket(), None);
    }

    #[test]
    fn options_default_database_and_ssl() {
        let ip: IpAddr = "2001:db8::5".parse().unwrap();
        let options = connect_options(ip, 5432, &settings(None, None, true), "exporter");
        assert_eq!(options.get_host(), "2001:db8::5");
        assert_eq!(options.get_database(), Some("exporter"));
        assert!(matches!(options.get_ssl_mode(), PgSslMode::Disable));
    }

    #[test]
    fn database_codes_map_to_error_codes() {
        let settings = settings(Some("analytics"), Some("pw"), false);
        let cases = [
            (Some("28P01"), ErrorCode::AuthenticationFailed),
            (Some("28000"), ErrorCode::AuthenticationFailed),
            (Some("3D000"), ErrorCode::DatabaseNotFound),
            (Some("53300"), ErrorCode::ConnectionFailed),
            (None, ErrorCode::ConnectionFailed),
        ];
        for (code, expected) in cases {
            let failure = database_failure(code, "server text", &settings, "exporter");
            assert_eq!(failure.code, expected, "SQLSTATE {code:?}");
            assert_eq!(failure.blame, Blame::Destination, "SQLSTATE {code:?}");
        }
    }

    #[test]
    fn database_not_found_names_database() {
        let failure = database_failure(
            Some("3D000"),
            "database \"analytics\" does not exist",
            &settings(Some("analytics"), None, false),
            "exporter",
        );
        assert!(
            failure.message.contains("\"analytics\""),
            "{}",
            failure.message
        );
    }

    #[test]
    fn sqlx_errors_map_to_error_codes() {
        let settings = settings(None, None, false);
        let refused = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let reset = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        let protocol = sqlx::Error::Protocol("unexpected message".to_owned());
        let cases = [
            (refused, ErrorCode::ConnectionRefused),
            (reset, ErrorCode::ConnectionFailed),
            (protocol, ErrorCode::ConnectionFailed),
            (sqlx::Error::PoolTimedOut, ErrorCode::ConnectionFailed),
        ];
        for (error, expected) in cases {
            let failure = failure_for(&error, &target(), &settings, "exporter");
            assert_eq!(failure.code, expected, "{error}");
        }
    }
}
