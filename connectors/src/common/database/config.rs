//! Options shared by the `postgres` and `mysql` connectors: the connection, what to read,
//! and how to write.

use fust_config::{Duration, Secret};
use fust_engine::OptionError;
use schemars::JsonSchema;
use serde::Deserialize;
use url::Url;

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
    /// Resolves the endpoint; `schemes` are the URL schemes the connector accepts.
    pub fn resolve(&self, schemes: &[&str], default_port: u16) -> Result<Endpoint, OptionError> {
        let mut e = Endpoint {
            host: "127.0.0.1".into(),
            port: default_port,
            user: String::new(),
            password: None,
            database: String::new(),
            connect_timeout: self.connect_timeout.0,
            statement_timeout: self.statement_timeout.map(|d| d.0),
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
        Ok(e)
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
        let e = c.connection().resolve(&["postgres"], 5432).unwrap();
        assert_eq!(e.to_string(), "alice@db.example:6543/sales");
        assert_eq!(e.password.as_ref().map(Secret::expose), Some("s@cret"));
        assert!(!format!("{e:?}").contains("cret"));

        let mut c = source("postgres://alice@db/sales");
        c.port = Some(7777);
        c.database = Some("other".into());
        let e = c.connection().resolve(&["postgres"], 5432).unwrap();
        assert_eq!(e.to_string(), "alice@db:7777/other");
    }

    #[test]
    fn bad_urls_name_the_key_without_the_password() {
        let c = source("mysql://bob:hunter2@h/db");
        let err = c.connection().resolve(&["postgres"], 5432).unwrap_err();
        assert_eq!(err.key, "url");
        assert!(!err.message.contains("hunter2"), "{}", err.message);
        let c = source("postgres://h/db");
        assert_eq!(
            c.connection().resolve(&["postgres"], 5432).unwrap_err().key,
            "user"
        );
    }
}
