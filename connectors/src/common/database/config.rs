//! Options shared by the `postgres` and `mysql` connectors: the connection, what to read,
//! and how to write.

use fust_config::{Duration, Secret};
use fust_engine::OptionError;
use schemars::JsonSchema;
use serde::Deserialize;
use url::Url;

use crate::common::tls::{LIBPQ_MODES, MYSQL_MODES, TlsMode, TlsOptions};

/// Whose TLS option names a connector takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsNames {
    /// `sslmode`, `sslrootcert` (libpq).
    Libpq,
    /// `ssl_mode`, `ssl_ca` (the mysql client's `--ssl-mode`, `--ssl-ca`).
    MySql,
}

/// Read a table or a query from a database.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct DbSourceConfig {
    /// Connection URL, e.g. `postgres://user@host:5432/db` or `mysql://user@host:3306/db`.
    /// A password in it is never shown in messages; prefer `password: ${DB_PASSWORD}`.
    #[serde(default)]
    pub url: Option<Secret>,
    /// Server host (instead of, or overriding, the URL's).
    #[serde(default)]
    pub host: Option<String>,
    /// Server port (default 5432 for PostgreSQL, 3306 for MySQL).
    #[serde(default)]
    pub port: Option<u16>,
    /// User name.
    #[serde(default)]
    pub user: Option<String>,
    /// Password; write it as `${ENV_VAR}`. Redacted everywhere.
    #[serde(default)]
    pub password: Option<Secret>,
    /// Database name.
    #[serde(default)]
    pub database: Option<String>,
    /// PostgreSQL TLS, as libpq's `sslmode`: `disable`, `prefer` (default: TLS when the
    /// server offers it, plain otherwise; the certificate is not checked), `require` (TLS
    /// or no connection; the certificate is checked only against `sslrootcert` if given),
    /// `verify-ca` (signed by a trusted CA) or `verify-full` (and issued for `host`). May
    /// also be given in `url` as `?sslmode=verify-full`.
    #[serde(default)]
    pub sslmode: Option<String>,
    /// PostgreSQL: PEM file of the CA certificates to trust (default: the system's
    /// roots). May also be given in `url` as `?sslrootcert=/path/ca.pem`.
    #[serde(default)]
    pub sslrootcert: Option<String>,
    /// MySQL/MariaDB TLS, as the mysql client's `--ssl-mode`: `DISABLED`, `PREFERRED`
    /// (default: TLS when the server offers it, plain otherwise; the certificate is not
    /// checked), `REQUIRED` (TLS or no connection; the certificate is checked only against
    /// `ssl_ca` if given), `VERIFY_CA` (signed by a trusted CA) or `VERIFY_IDENTITY` (and
    /// issued for `host`). With `ssl_ca` and no `ssl_mode`: `VERIFY_CA`. May also be given
    /// in `url` as `?ssl-mode=REQUIRED`.
    #[serde(default)]
    pub ssl_mode: Option<String>,
    /// MySQL/MariaDB: PEM file of the CA certificates to trust (default: the system's
    /// roots). May also be given in `url` as `?ssl-ca=/path/ca.pem`.
    #[serde(default)]
    pub ssl_ca: Option<String>,
    /// Table to read, optionally schema-qualified (`sales.orders`). Give `table` or `query`.
    #[serde(default)]
    pub table: Option<String>,
    /// Columns of `table` to read (default: all).
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// A SELECT to read instead of a table; the job's filters are applied around it.
    #[serde(default)]
    pub query: Option<String>,
    /// Integer, decimal or date column to split the read into `partitions` ranges, each
    /// read over its own connection.
    #[serde(default)]
    pub partition_column: Option<String>,
    /// Number of ranges (and connections) with `partition_column` (default 2). Without
    /// one, a PostgreSQL `table` of 64 MiB or more is split into this many ranges of its
    /// storage pages (`ctid`); set 1 to read over one connection.
    #[serde(default = "default_partitions")]
    pub partitions: usize,
    /// Column whose highest value read is stored after a successful run; the next run
    /// reads only rows above it (incremental reads).
    #[serde(default)]
    pub cursor_column: Option<String>,
    /// Where `cursor_column` marks are kept (default `.fust/state.json`). Jobs run by
    /// `fust serve` keep them in its metadata store instead.
    #[serde(default)]
    pub state_file: Option<String>,
    /// Give up connecting after this long (default 10s).
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: Duration,
    /// Server-side limit for each statement, e.g. `10m` (default: the server's).
    #[serde(default)]
    pub statement_timeout: Option<Duration>,
}

/// Write the job's output into a table.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct DbSinkConfig {
    /// Connection URL, e.g. `postgres://user@host:5432/db` or `mysql://user@host:3306/db`.
    #[serde(default)]
    pub url: Option<Secret>,
    /// Server host (instead of, or overriding, the URL's).
    #[serde(default)]
    pub host: Option<String>,
    /// Server port (default 5432 for PostgreSQL, 3306 for MySQL).
    #[serde(default)]
    pub port: Option<u16>,
    /// User name.
    #[serde(default)]
    pub user: Option<String>,
    /// Password; write it as `${ENV_VAR}`. Redacted everywhere.
    #[serde(default)]
    pub password: Option<Secret>,
    /// Database name.
    #[serde(default)]
    pub database: Option<String>,
    /// PostgreSQL TLS, as libpq's `sslmode`: `disable`, `prefer` (default: TLS when the
    /// server offers it, plain otherwise; the certificate is not checked), `require` (TLS
    /// or no connection; the certificate is checked only against `sslrootcert` if given),
    /// `verify-ca` (signed by a trusted CA) or `verify-full` (and issued for `host`). May
    /// also be given in `url` as `?sslmode=verify-full`.
    #[serde(default)]
    pub sslmode: Option<String>,
    /// PostgreSQL: PEM file of the CA certificates to trust (default: the system's
    /// roots). May also be given in `url` as `?sslrootcert=/path/ca.pem`.
    #[serde(default)]
    pub sslrootcert: Option<String>,
    /// MySQL/MariaDB TLS, as the mysql client's `--ssl-mode`: `DISABLED`, `PREFERRED`
    /// (default: TLS when the server offers it, plain otherwise; the certificate is not
    /// checked), `REQUIRED` (TLS or no connection; the certificate is checked only against
    /// `ssl_ca` if given), `VERIFY_CA` (signed by a trusted CA) or `VERIFY_IDENTITY` (and
    /// issued for `host`). With `ssl_ca` and no `ssl_mode`: `VERIFY_CA`. May also be given
    /// in `url` as `?ssl-mode=REQUIRED`.
    #[serde(default)]
    pub ssl_mode: Option<String>,
    /// MySQL/MariaDB: PEM file of the CA certificates to trust (default: the system's
    /// roots). May also be given in `url` as `?ssl-ca=/path/ca.pem`.
    #[serde(default)]
    pub ssl_ca: Option<String>,
    /// Target table, optionally schema-qualified.
    pub table: String,
    /// `append` (default), `overwrite` (replace all rows) or `upsert` (on `key_columns`).
    #[serde(default)]
    pub write_mode: DbWriteMode,
    /// Columns that identify a row for `upsert` (a primary key or unique index on them).
    #[serde(default)]
    pub key_columns: Vec<String>,
    /// `if_missing` (default): create the table from the output's schema when it does not
    /// exist; `never`: fail instead.
    #[serde(default)]
    pub create_table: CreateTable,
    /// SQL run before the load, inside the same transaction.
    #[serde(default)]
    pub pre_sql: Vec<String>,
    /// SQL run after the load, inside the same transaction.
    #[serde(default)]
    pub post_sql: Vec<String>,
    /// Rows encoded per step (PostgreSQL sends COPY data in ~1 MiB chunks) or sent per
    /// INSERT statement (MySQL).
    #[serde(default = "default_write_batch")]
    pub batch_size: usize,
    /// Give up connecting after this long (default 10s).
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: Duration,
    /// Server-side limit for each statement (default: the server's).
    #[serde(default)]
    pub statement_timeout: Option<Duration>,
}

/// How a database sink treats rows already in the table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DbWriteMode {
    #[default]
    Append,
    Overwrite,
    Upsert,
}

/// Whether a database sink creates its table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CreateTable {
    #[default]
    IfMissing,
    Never,
}

const fn default_partitions() -> usize {
    2
}

const fn default_write_batch() -> usize {
    10_000
}

fn default_connect_timeout() -> Duration {
    Duration(std::time::Duration::from_secs(10))
}

/// Where to connect, resolved from `url` and the separate fields (fields win).
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<Secret>,
    pub database: String,
    pub connect_timeout: std::time::Duration,
    pub statement_timeout: Option<std::time::Duration>,
    pub tls: TlsOptions,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_string())
    }
}

/// `scheme://user@host:port/db`, never with the password: what messages show.
impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}@{}:{}/{}",
            self.user, self.host, self.port, self.database
        )
    }
}

/// The connection fields both configs share.
pub struct ConnectionFields<'a> {
    pub url: &'a Option<Secret>,
    pub host: &'a Option<String>,
    pub port: Option<u16>,
    pub user: &'a Option<String>,
    pub password: &'a Option<Secret>,
    pub database: &'a Option<String>,
    pub sslmode: &'a Option<String>,
    pub sslrootcert: &'a Option<String>,
    pub ssl_mode: &'a Option<String>,
    pub ssl_ca: &'a Option<String>,
    pub connect_timeout: Duration,
    pub statement_timeout: Option<Duration>,
}

impl DbSourceConfig {
    pub fn connection(&self) -> ConnectionFields<'_> {
        ConnectionFields {
            url: &self.url,
            host: &self.host,
            port: self.port,
            user: &self.user,
            password: &self.password,
            database: &self.database,
            sslmode: &self.sslmode,
            sslrootcert: &self.sslrootcert,
            ssl_mode: &self.ssl_mode,
            ssl_ca: &self.ssl_ca,
            connect_timeout: self.connect_timeout,
            statement_timeout: self.statement_timeout,
        }
    }

    /// Checks the combinations serde can't: table xor query, columns only with a table.
    pub fn check(&self) -> Result<(), OptionError> {
        match (&self.table, &self.query) {
            (None, None) => return Err(OptionError::new("", "give `table` or `query`")),
            (Some(_), Some(_)) => {
                return Err(OptionError::new(
                    "query",
                    "give `table` or `query`, not both",
                ));
            }
            (None, Some(_)) if self.columns.is_some() => {
                return Err(OptionError::new(
                    "columns",
                    "`columns` goes with `table`; with `query`, select the columns in the query",
                ));
            }
            _ => {}
        }
        OptionError::check_range("partitions", self.partitions, 1, MAX_PARTITIONS)
    }
}

/// Most parallel reads (one connection each) a source may open.
pub const MAX_PARTITIONS: usize = 256;
/// Most rows a sink sends in one statement or batch.
pub const MAX_BATCH_ROWS: usize = 1 << 20;

impl DbSinkConfig {
    pub fn connection(&self) -> ConnectionFields<'_> {
        ConnectionFields {
            url: &self.url,
            host: &self.host,
            port: self.port,
            user: &self.user,
            password: &self.password,
            database: &self.database,
            sslmode: &self.sslmode,
            sslrootcert: &self.sslrootcert,
            ssl_mode: &self.ssl_mode,
            ssl_ca: &self.ssl_ca,
            connect_timeout: self.connect_timeout,
            statement_timeout: self.statement_timeout,
        }
    }

    pub fn check(&self) -> Result<(), OptionError> {
        if self.write_mode == DbWriteMode::Upsert && self.key_columns.is_empty() {
            return Err(OptionError::new(
                "key_columns",
                "`write_mode: upsert` needs `key_columns` (the columns of a unique key)",
            ));
        }
        OptionError::check_range("batch_size", self.batch_size, 1, MAX_BATCH_ROWS)
    }
}

impl ConnectionFields<'_> {
    /// Resolves the endpoint; `schemes` are the URL schemes the connector accepts, `names`
    /// its TLS options' names.
    pub fn resolve(
        &self,
        schemes: &[&str],
        default_port: u16,
        names: TlsNames,
    ) -> Result<Endpoint, OptionError> {
        let mut query: Vec<(String, String)> = Vec::new();
        let mut e = Endpoint {
            host: "127.0.0.1".into(),
            port: default_port,
            user: String::new(),
            password: None,
            database: String::new(),
            connect_timeout: self.connect_timeout.0,
            statement_timeout: self.statement_timeout.map(|d| d.0),
            tls: TlsOptions::disabled(),
        };
        if let Some(url) = self.url {
            // The URL may hold a password: never echo it.
            let u = Url::parse(url.expose()).map_err(|err| {
                OptionError::new(
                    "url",
                    format!(
                        "not a URL ({err}); expected {}://user@host:port/database",
                        schemes[0]
                    ),
                )
            })?;
            if !schemes.contains(&u.scheme()) {
                return Err(OptionError::new(
                    "url",
                    format!(
                        "scheme `{}` is not one of {}",
                        u.scheme(),
                        schemes.join(", ")
                    ),
                ));
            }
            if let Some(h) = u.host_str() {
                e.host = h.trim_start_matches('[').trim_end_matches(']').to_string();
            }
            if let Some(p) = u.port() {
                e.port = p;
            }
            e.user = decode(u.username());
            e.password = u.password().map(|p| Secret::new(decode(p)));
            e.database = decode(u.path().trim_start_matches('/'));
            query = u.query_pairs().into_owned().collect();
        }
        if let Some(h) = self.host {
            e.host = h.clone();
        }
        if let Some(p) = self.port {
            e.port = p;
        }
        if let Some(u) = self.user {
            e.user = u.clone();
        }
        if let Some(p) = self.password {
            e.password = Some(p.clone());
        }
        if let Some(d) = self.database {
            e.database = d.clone();
        }
        if e.user.is_empty() {
            return Err(OptionError::new(
                "user",
                "no user: give `user`, or put it in `url`",
            ));
        }
        if e.database.is_empty() {
            return Err(OptionError::new(
                "database",
                "no database: give `database`, or put it in `url`",
            ));
        }
        e.tls = self.tls(names, &query)?;
        Ok(e)
    }

    /// The TLS mode and CA file from the fields, else from the URL's query (`?sslmode=`,
    /// `?ssl-mode=`, ...); libpq's and MySQL's defaults otherwise.
    fn tls(&self, names: TlsNames, query: &[(String, String)]) -> Result<TlsOptions, OptionError> {
        let from_url = |keys: &[&str]| {
            query
                .iter()
                .rev()
                .find(|(k, _)| keys.contains(&k.as_str()))
                .map(|(_, v)| v.clone())
        };
        let (mode_key, ca_key, modes, mode, ca, other) = match names {
            TlsNames::Libpq => (
                "sslmode",
                "sslrootcert",
                &LIBPQ_MODES,
                self.sslmode.clone().or_else(|| from_url(&["sslmode"])),
                self.sslrootcert
                    .clone()
                    .or_else(|| from_url(&["sslrootcert"])),
                [("ssl_mode", self.ssl_mode), ("ssl_ca", self.ssl_ca)],
            ),
            TlsNames::MySql => (
                "ssl_mode",
                "ssl_ca",
                &MYSQL_MODES,
                self.ssl_mode
                    .clone()
                    .or_else(|| from_url(&["ssl-mode", "ssl_mode"])),
                self.ssl_ca
                    .clone()
                    .or_else(|| from_url(&["ssl-ca", "ssl_ca"])),
                [("sslmode", self.sslmode), ("sslrootcert", self.sslrootcert)],
            ),
        };
        if let Some((key, _)) = other.iter().find(|(_, v)| v.is_some()) {
            let (server, right) = match names {
                TlsNames::Libpq => (
                    "PostgreSQL",
                    if *key == "ssl_mode" {
                        "sslmode"
                    } else {
                        "sslrootcert"
                    },
                ),
                TlsNames::MySql => (
                    "MySQL",
                    if *key == "sslmode" {
                        "ssl_mode"
                    } else {
                        "ssl_ca"
                    },
                ),
            };
            return Err(OptionError::new(
                *key,
                format!("`{key}` is not an option of this connector: for {server} write `{right}`"),
            ));
        }
        let mode = match mode {
            Some(m) => TlsMode::parse(&m, modes).ok_or_else(|| {
                OptionError::new(
                    mode_key,
                    fust_config::unknown_message("TLS mode", &m, modes.as_slice()),
                )
            })?,
            // The mysql client verifies against a CA it is given (libpq does not).
            None if names == TlsNames::MySql && ca.is_some() => TlsMode::VerifyCa,
            None => TlsMode::Prefer,
        };
        if ca.as_deref() == Some("") {
            return Err(OptionError::new(
                ca_key,
                "empty path: give the CA file's path",
            ));
        }
        Ok(TlsOptions { mode, ca_file: ca })
    }
}

/// `%xx` decoding for URL parts (user, password, database).
fn decode(s: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(yaml_url: &str) -> DbSourceConfig {
        DbSourceConfig {
            url: Some(Secret::new(yaml_url)),
            host: None,
            port: None,
            user: None,
            password: None,
            database: None,
            sslmode: None,
            sslrootcert: None,
            ssl_mode: None,
            ssl_ca: None,
            table: Some("t".into()),
            columns: None,
            query: None,
            partition_column: None,
            partitions: 2,
            cursor_column: None,
            state_file: None,
            connect_timeout: default_connect_timeout(),
            statement_timeout: None,
        }
    }

    #[test]
    fn url_and_fields() {
        let c = source("postgres://alice:s%40cret@db.example:6543/sales");
        let e = c
            .connection()
            .resolve(&["postgres"], 5432, TlsNames::Libpq)
            .unwrap();
        assert_eq!(e.to_string(), "alice@db.example:6543/sales");
        assert_eq!(e.password.as_ref().map(Secret::expose), Some("s@cret"));
        assert!(!format!("{e:?}").contains("cret"));

        let mut c = source("postgres://alice@db/sales");
        c.port = Some(7777);
        c.database = Some("other".into());
        let e = c
            .connection()
            .resolve(&["postgres"], 5432, TlsNames::Libpq)
            .unwrap();
        assert_eq!(e.to_string(), "alice@db:7777/other");
    }

    #[test]
    fn bad_urls_name_the_key_without_the_password() {
        let c = source("mysql://bob:hunter2@h/db");
        let err = c
            .connection()
            .resolve(&["postgres"], 5432, TlsNames::Libpq)
            .unwrap_err();
        assert_eq!(err.key, "url");
        assert!(!err.message.contains("hunter2"), "{}", err.message);
        let c = source("postgres://h/db");
        assert_eq!(
            c.connection()
                .resolve(&["postgres"], 5432, TlsNames::Libpq)
                .unwrap_err()
                .key,
            "user"
        );
    }

    #[test]
    fn tls_options_from_fields_and_url() {
        let pg = |c: &DbSourceConfig| c.connection().resolve(&["postgres"], 5432, TlsNames::Libpq);
        let my = |c: &DbSourceConfig| c.connection().resolve(&["mysql"], 3306, TlsNames::MySql);
        // Defaults: try TLS, fall back (libpq's and the mysql client's).
        let e = pg(&source("postgres://u@h/db")).unwrap();
        assert_eq!(
            e.tls,
            TlsOptions {
                mode: TlsMode::Prefer,
                ca_file: None
            }
        );
        let e = pg(&source(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=/ca.pem",
        ))
        .unwrap();
        assert_eq!(e.tls.mode, TlsMode::VerifyFull);
        assert_eq!(e.tls.ca_file.as_deref(), Some("/ca.pem"));
        let mut c = source("postgres://u@h/db?sslmode=verify-full");
        c.sslmode = Some("disable".into());
        assert_eq!(pg(&c).unwrap().tls.mode, TlsMode::Disable);

        let e = my(&source("mysql://u@h/db?ssl-mode=required")).unwrap();
        assert_eq!(e.tls.mode, TlsMode::Require);
        let e = my(&source("mysql://u@h/db?ssl-ca=/ca.pem")).unwrap();
        assert_eq!(
            e.tls.mode,
            TlsMode::VerifyCa,
            "a CA alone verifies, as in mysql"
        );
        let mut c = source("mysql://u@h/db");
        c.ssl_mode = Some("VERIFY_IDENTITY".into());
        assert_eq!(my(&c).unwrap().tls.mode, TlsMode::VerifyFull);
    }

    #[test]
    fn bad_tls_options_name_the_option_and_the_choices() {
        let mut c = source("postgres://u@h/db");
        c.sslmode = Some("required".into());
        let err = c
            .connection()
            .resolve(&["postgres"], 5432, TlsNames::Libpq)
            .unwrap_err();
        assert_eq!(err.key, "sslmode");
        assert!(
            err.message.contains("`required`")
                && err
                    .message
                    .contains("disable, prefer, require, verify-ca, verify-full"),
            "{}",
            err.message
        );
        let c = source("mysql://u@h/db?ssl-mode=on");
        let err = c
            .connection()
            .resolve(&["mysql"], 3306, TlsNames::MySql)
            .unwrap_err();
        assert_eq!(err.key, "ssl_mode");
        assert!(
            err.message
                .contains("DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY")
        );
        // One connector's option name given to the other.
        let mut c = source("mysql://u@h/db");
        c.sslmode = Some("require".into());
        let err = c
            .connection()
            .resolve(&["mysql"], 3306, TlsNames::MySql)
            .unwrap_err();
        assert_eq!(err.key, "sslmode");
        assert!(err.message.contains("write `ssl_mode`"), "{}", err.message);
    }
}
