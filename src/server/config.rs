//! `fust serve`'s config file (YAML): where it listens, where it keeps its metadata, who
//! may call it, how many runs at once, and which files jobs may touch.

use std::path::PathBuf;

use fust_config::{ByteSize, Secret};
use schemars::JsonSchema;
use serde::Deserialize;

/// The job service's settings. Every key is optional; `fust serve` with no config file
/// listens on 127.0.0.1:8080 with a SQLite store in `.fust/fust.db`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ServerConfig {
    /// Address and port to listen on. Binding anything but 127.0.0.1 exposes the API to
    /// the network: set `auth_tokens` then.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Metadata store: `sqlite://PATH` (created if missing), `postgres://…` or `mysql://…`.
    #[serde(default = "default_metadata")]
    pub metadata_url: Secret,
    /// Bearer tokens accepted by the API (besides `FUST_API_TOKENS`, comma-separated).
    /// When any is set, every endpoint but `/health` requires `Authorization: Bearer …`.
    #[serde(default)]
    pub auth_tokens: Vec<Secret>,
    /// Runs executing at once, across all jobs.
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// Directories that jobs submitted over HTTP may read and write; file paths outside
    /// them (after resolving `..` and symlinks) are rejected. Empty: the directory the
    /// server was started in. Relative paths in jobs resolve against that directory too.
    #[serde(default)]
    pub data_roots: Vec<PathBuf>,
    /// Connectors and processors jobs may use (empty: all).
    #[serde(default)]
    pub plugins_enabled: Vec<String>,
    /// Connectors and processors jobs may not use.
    #[serde(default)]
    pub plugins_disabled: Vec<String>,
    /// Log format on stderr: `text` or `json`.
    #[serde(default)]
    pub log_format: LogFormat,
    /// Log level: `error`, `warn`, `info`, `debug` (FUST_LOG overrides).
    #[serde(default = "default_level")]
    pub log_level: String,
    /// Largest request body accepted, e.g. `1MB`.
    #[serde(default = "default_body_limit")]
    pub body_limit: ByteSize,
    /// Most rows `POST /preview` returns.
    #[serde(default = "default_preview_rows")]
    pub preview_max_rows: usize,
    /// How long `POST /preview` and `POST /validate` may take (waiting for a worker slot
    /// included) before they are cancelled with 504.
    #[serde(default = "default_preview_timeout")]
    pub preview_timeout: fust_config::Duration,
    /// How often the scheduler looks for due cron times.
    #[serde(default = "default_tick")]
    pub scheduler_tick: fust_config::Duration,
    /// PEM certificate chain to serve HTTPS with (with `tls_key`); `--tls-cert` overrides.
    /// Without it the server speaks plain HTTP: put it behind a TLS proxy when it is
    /// reached over a network.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert` (PKCS#8, PKCS#1 or SEC1); `--tls-key` overrides.
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Listen beyond loopback without `auth_tokens` (anyone who can reach the port may run
    /// jobs). Off: such a server refuses to start. `--insecure-no-auth` turns it on.
    #[serde(default)]
    pub insecure_no_auth: bool,
    /// Host names the server answers to besides IP addresses and `localhost` (a request
    /// whose `Host` names anything else is refused: DNS rebinding). Add the names clients
    /// use, e.g. `[fust.internal]` (`--allowed-host` adds to this list).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// The server's environment variables that jobs submitted over HTTP may read as
    /// `${NAME}`: names, or prefixes ending in `*` (`JOB_*`). Default: none — a job sent to
    /// the server cannot read its environment (`--job-env` adds to this list).
    #[serde(default)]
    pub job_env: Vec<String>,
    /// Named secrets that jobs submitted over HTTP may use as `${secret:NAME}`, and only as
    /// the value of a secret option (a password, a key, a URL with a password). The value
    /// usually comes from the server's environment: `secrets: {warehouse: "${WAREHOUSE_PW}"}`.
    /// Never shown in a response, a log line or an error.
    #[serde(default)]
    pub secrets: std::collections::BTreeMap<String, Secret>,
    /// The hosts jobs submitted over HTTP may connect to (databases, object-store
    /// endpoints): `HOST`, `HOST:PORT`, `*.DOMAIN` or an address. Unset: any host.
    /// Link-local and cloud metadata addresses (169.254.169.254, …) are refused always.
    /// `--allow-egress` adds to this list.
    #[serde(default)]
    pub allow_egress: Option<Vec<String>>,
}

/// See [`ServerConfig::log_format`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

fn default_listen() -> String {
    "127.0.0.1:8080".to_string()
}
fn default_metadata() -> Secret {
    Secret::new("sqlite://.fust/fust.db")
}
const fn default_workers() -> usize {
    4
}
fn default_level() -> String {
    "info".to_string()
}
const fn default_body_limit() -> ByteSize {
    ByteSize(1 << 20)
}
const fn default_preview_rows() -> usize {
    1000
}
const fn default_preview_timeout() -> fust_config::Duration {
    fust_config::Duration(std::time::Duration::from_secs(30))
}
const fn default_tick() -> fust_config::Duration {
    fust_config::Duration(std::time::Duration::from_secs(1))
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            metadata_url: default_metadata(),
            auth_tokens: Vec::new(),
            workers: default_workers(),
            data_roots: Vec::new(),
            plugins_enabled: Vec::new(),
            plugins_disabled: Vec::new(),
            log_format: LogFormat::Text,
            log_level: default_level(),
            body_limit: default_body_limit(),
            preview_max_rows: default_preview_rows(),
            preview_timeout: default_preview_timeout(),
            scheduler_tick: default_tick(),
            tls_cert: None,
            tls_key: None,
            insecure_no_auth: false,
            allowed_hosts: Vec::new(),
            job_env: Vec::new(),
            secrets: Default::default(),
            allow_egress: None,
        }
    }
}

impl ServerConfig {
    /// The egress policy for submitted jobs; the error names the entry that is wrong.
    pub fn egress(&self) -> Result<fust_engine::egress::EgressPolicy, String> {
        let allow = match &self.allow_egress {
            None => None,
            Some(list) => Some(
                list.iter()
                    .map(|e| e.parse().map_err(|m| format!("allow_egress: {m}")))
                    .collect::<Result<Vec<_>, String>>()?,
            ),
        };
        Ok(fust_engine::egress::EgressPolicy { allow })
    }

    /// Reads the config file; problems are reported with line and column.
    pub fn load(path: &std::path::Path) -> Result<Self, fust_config::Error> {
        let text = std::fs::read_to_string(path).map_err(|source| fust_config::Error::Read {
            path: path.display().to_string(),
            source,
        })?;
        fust_config::parse_document(&text, &path.display().to_string(), "server config")
    }

    /// What `${...}` in a job submitted over HTTP may read: the allowed environment
    /// variables and the named secrets.
    pub fn variables(&self) -> fust_config::Variables {
        fust_config::Variables::Server {
            allowed: self.job_env.clone(),
            secrets: self
                .secrets
                .iter()
                .map(|(k, v)| (k.clone(), v.expose().to_string()))
                .collect(),
        }
    }

    /// The tokens from the file and from `FUST_API_TOKENS`.
    pub fn tokens(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .auth_tokens
            .iter()
            .map(|t| t.expose().to_string())
            .collect();
        if let Ok(env) = std::env::var("FUST_API_TOKENS") {
            out.extend(
                env.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(String::from),
            );
        }
        out.retain(|t| !t.is_empty());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors_with_positions() {
        let c: ServerConfig =
            fust_config::parse_document("workers: 2\n", "s.yaml", "server config").unwrap();
        assert_eq!(c.workers, 2);
        assert_eq!(c.listen, "127.0.0.1:8080");
        let err = fust_config::parse_document::<ServerConfig>(
            "workers: 2\nlisten_addr: x\n",
            "s.yaml",
            "server config",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("s.yaml:2:1"), "{err}");
        assert!(err.contains("listen"), "{err}");
    }
}
