//! The `kafka` input's and output's options. Both start with the options of every Kafka
//! client (brokers, security, librdkafka properties), declared once by `kafka_options!`
//! (serde's `flatten` cannot sit beside `deny_unknown_fields`).

use fust_config::{Duration, Secret};
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::common::messages::{MessageFormat, Metadata, StartFrom};

/// Declares a Kafka options struct: `brokers` first, then the struct's own options, then
/// the security options and `properties`; and `client()`, a view of the shared ones.
macro_rules! kafka_options {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $f:ident: $t:ty,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields, rename_all = "snake_case")]
        pub struct $name {
            /// The bootstrap brokers, `host:port`: several comma-separated
            /// (`"b1:9092,b2:9092"`) or as a list.
            pub brokers: Brokers,
            $($(#[$fm])* pub $f: $t,)*
            /// `plaintext` (default), `ssl`, `sasl_plaintext` or `sasl_ssl` (librdkafka's
            /// `security.protocol`).
            #[serde(default)]
            pub security_protocol: Option<String>,
            /// The SASL mechanism: `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512` (or
            /// `OAUTHBEARER` with its settings in `properties`).
            #[serde(default)]
            pub sasl_mechanism: Option<String>,
            /// The SASL user name.
            #[serde(default)]
            pub sasl_username: Option<String>,
            /// The SASL password (may hold `${SECRETS}`).
            #[serde(default)]
            pub sasl_password: Option<Secret>,
            /// PEM file of CA certificates to verify the brokers with, instead of the
            /// system's.
            #[serde(default)]
            pub ssl_ca_location: Option<String>,
            /// librdkafka settings passed as they are, after Fust's own, e.g.
            /// `{session.timeout.ms: 6000, ssl.certificate.location: client.pem}` (see
            /// librdkafka's CONFIGURATION.md). The settings Fust's guarantees rest on
            /// (`bootstrap.servers`, `group.id`, `enable.auto.commit`,
            /// `enable.auto.offset.store`, `enable.idempotence`) cannot be given here.
            #[serde(default)]
            pub properties: IndexMap<String, serde_json::Value>,
        }

        impl $name {
            /// The options every Kafka client has.
            pub fn client(&self) -> ClientOptions<'_> {
                ClientOptions {
                    brokers: &self.brokers,
                    security_protocol: self.security_protocol.as_deref(),
                    sasl_mechanism: self.sasl_mechanism.as_deref(),
                    sasl_username: self.sasl_username.as_deref(),
                    sasl_password: self.sasl_password.as_ref(),
                    ssl_ca_location: self.ssl_ca_location.as_deref(),
                    properties: &self.properties,
                }
            }
        }
    };
}

/// The options every Kafka client has, borrowed from an input's or an output's.
#[derive(Debug, Clone, Copy)]
pub struct ClientOptions<'a> {
    pub brokers: &'a Brokers,
    pub security_protocol: Option<&'a str>,
    pub sasl_mechanism: Option<&'a str>,
    pub sasl_username: Option<&'a str>,
    pub sasl_password: Option<&'a Secret>,
    pub ssl_ca_location: Option<&'a str>,
    pub properties: &'a IndexMap<String, serde_json::Value>,
}

/// `brokers:` as one comma-separated string or a list.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Brokers {
    Text(String),
    List(Vec<String>),
}

kafka_options! {
    /// Read a Kafka topic as a stream, in a consumer group: every partition, records
    /// after the positions the output committed (exactly-once into PostgreSQL and MySQL).
    pub struct KafkaSourceConfig {
        /// The topic to read.
        #[serde(default)]
        pub topic: Option<String>,
        /// Several topics to read (instead of `topic`), with one schema.
        #[serde(default)]
        pub topics: Vec<String>,
        /// The consumer group: processes with the same group split the partitions, and
        /// its committed offsets show the job's progress to the usual lag tools.
        pub group_id: String,
        /// Where to start in a partition that has no stored position and no committed
        /// group offset: `earliest` (default) or `latest`.
        #[serde(default)]
        pub start_from: StartFrom,
        /// How record values are read: `json` (default, one object per record), `csv`
        /// (one line per record, needs `schema`) or `raw` (binary columns `key` and
        /// `value`).
        #[serde(default)]
        pub format: MessageFormat,
        /// The columns and their SQL types, e.g. `{id: bigint, name: varchar}` (JSON
        /// fields not listed are left out; CSV columns in this order). Unset: inferred
        /// from the topic's first `infer_records` records.
        #[serde(default)]
        pub schema: Option<serde_json::Map<String, serde_json::Value>>,
        /// Records read from the start of the topic to infer the schema (default 1000).
        #[serde(default = "default_infer_records")]
        pub infer_records: usize,
        /// Metadata columns to add: `key` (`_key`, text), `partition` (`_partition`),
        /// `offset` (`_offset`), `timestamp` (`_timestamp`) and `headers` (`_headers`, a
        /// JSON object).
        #[serde(default)]
        pub metadata: Vec<Metadata>,
    }
}

kafka_options! {
    /// Write each row as a Kafka record (JSON or CSV), with an idempotent producer;
    /// at-least-once.
    pub struct KafkaSinkConfig {
        /// The topic to write to (it must exist).
        pub topic: String,
        /// The record key: a column name or a SQL expression over the row, e.g.
        /// `customer_id` or `concat(region, '-', id)`. Unset: records without a key
        /// (spread over the partitions).
        #[serde(default)]
        pub key: Option<String>,
        /// How a row becomes a record value: `json` (default, one object) or `csv` (one
        /// line, no header).
        #[serde(default)]
        pub format: SinkFormat,
        /// Compression of record batches: `none`, `gzip`, `snappy`, `lz4` or `zstd`
        /// (default `none`).
        #[serde(default)]
        pub compression: Compression,
        /// How long a record may take to be acknowledged by the brokers, retries
        /// included (default `30s`); past it the run fails.
        #[serde(default = "default_delivery_timeout")]
        pub delivery_timeout: Duration,
    }
}

/// How the `kafka` output encodes a row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SinkFormat {
    /// One JSON object per record.
    #[default]
    Json,
    /// One CSV line per record, without a header.
    Csv,
}

/// The producer's compression codec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    /// librdkafka's `compression.codec` value.
    pub fn codec(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

const fn default_infer_records() -> usize {
    1000
}

const fn default_delivery_timeout() -> Duration {
    Duration(std::time::Duration::from_secs(30))
}
