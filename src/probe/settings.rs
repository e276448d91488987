//! Connection settings read from a prepared destination document.

use serde_json::{Map, Value};

/// Kind of connection test a vendor gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Servers that speak the PostgreSQL wire protocol. A test logs in and
    /// runs `SELECT 1`.
    Postgres,
    /// Other servers. A test opens a TCP connection to the port, which is
    /// `default_port` when the settings name none. Settings without a host
    /// are invalid when `host_required` is set and untestable otherwise.
    Tcp {
        default_port: u16,
        host_required: bool,
    },
    /// Object stores addressed by bucket name, without a host to connect to.
    Bucket,
}

/// Selects the kind of test for `vendor`. Other vendors, such as BigQuery,
/// get a TCP test on port 443 when their settings have a host.
pub fn family(vendor: &str) -> Family {
    let server = |default_port| Family::Tcp {
        default_port,
        host_required: true,
    };
    match vendor {
        "postgres" | "aurora_postgres" | "redshift" | "redshift_serverless" => Family::Postgres,
        "mysql" | "aurora_mysql" | "mariadb" | "singlestore" => server(3306),
        // ClickHouse native protocol over TLS.
        "clickhouse" => server(9440),
        "sql_server" | "synapse" => server(1433),
        "snowflake" | "databricks" => server(443),
        "s3" | "gcs" | "abs" | "s3_compatible" => Family::Bucket,
        _ => Family::Tcp {
            default_port: 443,
            host_required: false,
        },
    }
}

/// Connection settings of one destination. Secrets are kept only for the
/// login and never appear in `Debug` output.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub database: Option<String>,
    pub disable_ssl: bool,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("database", &self.database)
            .field("disable_ssl", &self.disable_ssl)
            .finish()
    }
}

impl Settings {
    /// Reads the settings from the vendor sub-object (`destination[vendor]`)
    /// when there is one, and from the top level of `destination` otherwise.
    ///
    /// The username and password come from the object that `auth_method`
    /// names, then from `password_auth`, then from the settings object itself.
    /// A null value counts as missing. The error names the invalid field and
    /// never contains a secret value.
    pub fn extract(vendor: &str, destination: &Map<String, Value>) -> Result<Self, String> {
        let source = match destination.get(vendor) {
            Some(Value::Object(sub_object)) => sub_object,
            _ => destination,
        };

        let host = optional_string(source, "host")?
            .map(|host| host.trim().to_owned())
            .filter(|host| !host.is_empty());
        let port = optional_port(source)?;
        let database = optional_string(source, "database")?
            .filter(|database| !database.is_empty())
            .map(str::to_owned);
        let disable_ssl = match source.get("disable_ssl") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(flag)) => *flag,
            Some(_) => return Err("disable_ssl must be true or false".to_owned()),
        };

        let credential_sources = credential_sources(source)?;
        let mut username = None;
        let mut password = None;
        for object in &credential_sources {
            if username.is_none() {
                username = optional_string(object, "username")?
                    .filter(|username| !username.is_empty())
                    .map(str::to_owned);
            }
            // An empty password is kept because it is a valid credential.
            if password.is_none() {
                password = optional_string(object, "password")?.map(str::to_owned);
            }
        }

        Ok(Self {
            host,
            port,
            username,
            password,
            database,
            disable_ssl,
        })
    }
}

/// Lists the objects to read credentials from, most specific first.
fn credential_sources(source: &Map<String, Value>) -> Result<Vec<&Map<String, Value>>, String> {
    let mut sources = Vec::new();
    let auth_method = optional_string(source, "auth_method")?;
    if let Some(method) = auth_method
        && let Some(Value::Object(object)) = source.get(method)
    {
        sources.push(object);
    }
    if let Some(Value::Object(object)) = source.get("password_auth") {
        sources.push(object);
    }
    sources.push(source);
    Ok(sources)
}

fn optional_string<'a>(
    object: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, String> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(format!("{field} must be a string")),
    }
}

/// Reads `port` as a JSON integer or a string of decimal digits from 1 to 65535.
fn optional_port(object: &Map<String, Value>) -> Result<Option<u16>, String> {
    let invalid = || "port must be a whole number from 1 to 65535".to_owned();
    let port = match object.get("port") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(number)) => number.as_u64().ok_or_else(invalid)?,
        Some(Value::String(text)) => {
            let text = text.trim();
            if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            text.parse::<u64>().map_err(|_| invalid())?
        }
        Some(_) => return Err(invalid()),
    };
    match u16::try_from(port) {
        Ok(port) if port > 0 => Ok(Some(port)),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("expected an object, got {other}"),
        }
    }

    #[test]
    fn family_by_vendor() {
        assert_eq!(family("postgres"), Family::Postgres);
        assert_eq!(family("aurora_postgres"), Family::Postgres);
        assert_eq!(family("redshift"), Family::Postgres);
        assert_eq!(family("redshift_serverless"), Family::Postgres);
        let server = |default_port| Family::Tcp {
            default_port,
            host_required: true,
        };
        assert_eq!(family("mysql"), server(3306));
        assert_eq!(family("aurora_mysql"), server(3306));
        assert_eq!(family("clickhouse"), server(9440));
        assert_eq!(family("snowflake"), server(443));
        assert_eq!(family("databricks"), server(443));
        let optional_host = Family::Tcp {
            default_port: 443,
            host_required: false,
        };
        assert_eq!(family("bigquery"), optional_host);
        assert_eq!(family("some_new_vendor"), optional_host);
        assert_eq!(family("s3"), Family::Bucket);
        assert_eq!(family("gcs"), Family::Bucket);
        assert_eq!(family("abs"), Family::Bucket);
    }

    #[test]
    fn extract_vendor_sub_object() {
        let destination = object(json!({
            "vendor": "postgres",
            "name": "Warehouse",
            "postgres": {
                "host": " db.example.com ",
                "port": 5432,
                "database": "analytics",
                "schema": "public",
                "auth_method": "password_auth",
                "password_auth": {"username": "exporter", "password": "s3cret"},
                "disable_ssl": true
            }
        }));
        let settings = Settings::extract("postgres", &destination).unwrap();
        assert_eq!(settings.host.as_deref(), Some("db.example.com"));
        assert_eq!(settings.port, Some(5432));
        assert_eq!(settings.database.as_deref(), Some("analytics"));
        assert_eq!(settings.username.as_deref(), Some("exporter"));
        assert_eq!(settings.password.as_deref(), Some("s3cret"));
        assert!(settings.disable_ssl);
    }

    #[test]
    fn extract_flat_form() {
        let destination = object(json!({
            "vendor": "postgres",
            "host": "db.example.com",
            "port": "6543",
            "username": "exporter",
            "password": "s3cret",
            "database": "analytics"
        }));
        let settings = Settings::extract("postgres", &destination).unwrap();
        assert_eq!(settings.host.as_deref(), Some("db.example.com"));
        assert_eq!(settings.port, Some(6543));
        assert_eq!(settings.username.as_deref(), Some("exporter"));
        assert_eq!(settings.password.as_deref(), Some("s3cret"));
        assert_eq!(settings.database.as_deref(), Some("analytics"));
        assert!(!settings.disable_ssl);
    }

    #[test]
    fn extract_named_auth_method_first() {
        let destination = object(json!({
            "redshift": {
                "host": "cluster.example.com",
                "auth_method": "custom_auth",
                "custom_auth": {"username": "first"},
                "password_auth": {"username": "second", "password": "pw2"},
                "username": "third"
            }
        }));
        let settings = Settings::extract("redshift", &destination).unwrap();
        assert_eq!(settings.username.as_deref(), Some("first"));
        assert_eq!(settings.password.as_deref(), Some("pw2"));
    }

    #[test]
    fn extract_missing_and_null_fields() {
        let destination = object(json!({"postgres": {"host": null, "port": null}}));
        let settings = Settings::extract("postgres", &destination).unwrap();
        assert_eq!(settings, Settings::default());

        let blank_host = object(json!({"postgres": {"host": "   "}}));
        let settings = Settings::extract("postgres", &blank_host).unwrap();
        assert_eq!(settings.host, None);

        let empty_password = object(json!({"username": "u", "password": ""}));
        let settings = Settings::extract("postgres", &empty_password).unwrap();
        assert_eq!(settings.password.as_deref(), Some(""));
    }

    #[test]
    fn extract_port_forms() {
        let accepted = [
            (json!(1), 1),
            (json!(65535), 65535),
            (json!("5432"), 5432),
            (json!(" 5439 "), 5439),
        ];
        for (port, expected) in accepted {
            let destination = object(json!({"host": "h", "port": port}));
            let settings = Settings::extract("postgres", &destination).unwrap();
            assert_eq!(settings.port, Some(expected), "port {port}");
        }

        let rejected = [
            json!(0),
            json!(65536),
            json!(-1),
            json!(5432.5),
            json!("0"),
            json!("65536"),
            json!("+5432"),
            json!("54 32"),
            json!(""),
            json!("123456"),
            json!(true),
            json!([5432]),
        ];
        for port in rejected {
            let destination = object(json!({"host": "h", "port": port}));
            let error = Settings::extract("postgres", &destination).unwrap_err();
            assert!(error.contains("port"), "port {port}: {error}");
        }
    }

    #[test]
    fn extract_rejects_wrong_types() {
        let cases = [
            (json!({"host": 5}), "host"),
            (json!({"host": "h", "database": ["d"]}), "database"),
            (json!({"host": "h", "disable_ssl": "yes"}), "disable_ssl"),
            (json!({"host": "h", "username": 1}), "username"),
        ];
        for (destination, field) in cases {
            let error = Settings::extract("postgres", &object(destination)).unwrap_err();
            assert!(error.starts_with(field), "{field}: {error}");
        }
    }

    #[test]
    fn extract_error_omits_password() {
        let destination = object(json!({"password": {"value": "hunter2"}}));
        let error = Settings::extract("postgres", &destination).unwrap_err();
        assert_eq!(error, "password must be a string");
    }

    #[test]
    fn settings_debug_redacts_password() {
        let settings = Settings {
            password: Some("hunter2".to_owned()),
            ..Settings::default()
        };
        let debug = format!("{settings:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("[redacted]"), "{debug}");
    }
}
