//! Options of the `nats` input.

use fust_config::{Duration, Secret};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::common::messages::{MessageFormat, Metadata, StartFrom};

/// A JetStream stream read by a durable pull consumer.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NatsSourceConfig {
    /// The server, e.g. `nats://127.0.0.1:4222` (`tls://host:4222` for TLS); several
    /// separated by commas.
    pub url: String,
    /// The JetStream stream to read.
    pub stream: String,
    /// Only the messages of this subject (wildcards allowed, e.g. `orders.>`).
    #[serde(default)]
    pub subject: Option<String>,
    /// The durable consumer's name (default `fust_` and the stream's name). Fust creates
    /// it, and recreates it at the committed stream sequence when it starts; one job per
    /// durable.
    #[serde(default)]
    pub durable: Option<String>,
    /// Where a job starts when no position is stored: `earliest` (the stream's first
    /// message) or `latest` (only messages published from now on).
    #[serde(default)]
    pub start_from: StartFrom,
    /// How messages are read: `json` (one object per message), `csv` (one line per
    /// message, needs `schema`) or `raw` (a binary column `value`).
    #[serde(default)]
    pub format: MessageFormat,
    /// The columns and their SQL types, e.g. `{id: bigint, name: varchar}`. Unset (JSON):
    /// inferred from the first `infer_records` messages.
    #[serde(default)]
    pub schema: Option<serde_json::Map<String, serde_json::Value>>,
    /// Messages looked at to infer the schema (default 1000).
    #[serde(default = "default_infer_records")]
    pub infer_records: usize,
    /// Columns to add from each message: `subject`, `sequence`, `timestamp`, `headers`
    /// (named `_subject`, `_sequence`, `_timestamp`, `_headers`).
    #[serde(default)]
    pub metadata: Vec<Metadata>,
    /// Messages asked of the server per pull (default 1000, at most 20000).
    #[serde(default = "default_fetch")]
    pub fetch_messages: usize,
    /// How long the server waits for an acknowledgement before delivering a message again
    /// (default 5m); must be longer than an epoch takes.
    #[serde(default = "default_ack_wait")]
    pub ack_wait: Duration,
    /// User name and password (`{user: fust, password: "${NATS_PASSWORD}"}`), a `token`,
    /// or a `.creds` file (JWT and NKey seed) as `credentials_file`.
    #[serde(default)]
    pub auth: Option<NatsAuth>,
    /// Require TLS (also implied by a `tls://` URL).
    #[serde(default)]
    pub tls: bool,
    /// PEM file of CA certificates to trust for TLS.
    #[serde(default)]
    pub ca_file: Option<String>,
}

/// NATS credentials.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NatsAuth {
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    #[serde(default)]
    pub token: Option<Secret>,
    #[serde(default)]
    pub credentials_file: Option<String>,
}

/// A JetStream subject written by the `nats` output.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NatsSinkConfig {
    /// The server, e.g. `nats://127.0.0.1:4222`; several separated by commas.
    pub url: String,
    /// The subject each record is published to, e.g. `orders.created`.
    pub subject: String,
    /// A JetStream stream to create on `subject` when it does not exist yet.
    #[serde(default)]
    pub stream: Option<String>,
    /// How each record is written: `json` (one object per message) or `csv` (one line).
    #[serde(default)]
    pub format: MessageFormat,
    /// User name and password (`{user: fust, password: "${NATS_PASSWORD}"}`), a `token`,
    /// or a `.creds` file (JWT and NKey seed) as `credentials_file`.
    #[serde(default)]
    pub auth: Option<NatsAuth>,
    /// Require TLS (also implied by a `tls://` URL).
    #[serde(default)]
    pub tls: bool,
    /// PEM file of CA certificates to trust for TLS.
    #[serde(default)]
    pub ca_file: Option<String>,
}

const fn default_infer_records() -> usize {
    1000
}

const fn default_fetch() -> usize {
    1000
}

const fn default_ack_wait() -> Duration {
    Duration(std::time::Duration::from_secs(300))
}
