//! The `elasticsearch` output's options.

use fust_config::{ByteSize, Duration, Secret};
use fust_engine::OptionError;
use schemars::JsonSchema;
use serde::Deserialize;

/// What each row does to its document.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EsAction {
    /// Create or replace the document (with `id`, a re-run overwrites).
    #[default]
    Index,
    /// Create the document; one whose `id` exists is a bad record (409).
    Create,
    /// Merge the row's fields into the document, creating it when missing (needs `id`).
    Update,
    /// Delete the document with the row's `id` (needs `id`); a missing one is not an error.
    Delete,
}

impl EsAction {
    /// The bulk API's name of the action.
    pub fn name(self) -> &'static str {
        match self {
            EsAction::Index => "index",
            EsAction::Create => "create",
            EsAction::Update => "update",
            EsAction::Delete => "delete",
        }
    }
}

/// How the bulk requests' bodies are sent.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EsCompression {
    /// As they are.
    #[default]
    None,
    /// Gzipped, with `Content-Encoding: gzip`.
    Gzip,
}

/// `auth:`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EsAuth {
    /// HTTP basic authentication (a native or file realm user).
    Basic {
        /// User name.
        username: String,
        /// Password; write it as `${ENV_VAR}`. Redacted everywhere.
        password: Secret,
    },
    /// An API key, sent as `Authorization: ApiKey <key>`: the base64 `encoded` value
    /// Elasticsearch returns when the key is created.
    ApiKey {
        /// The encoded key; write it as `${ENV_VAR}`. Redacted everywhere.
        key: Secret,
    },
}

/// Write rows as documents into an Elasticsearch (7, 8) or OpenSearch index with the
/// bulk API.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct EsSinkConfig {
    /// The node to send to, e.g. `http://127.0.0.1:9200` or `https://es.example.com`.
    #[serde(default)]
    pub url: Option<String>,
    /// Several nodes of one cluster, used in turn (a request that cannot connect is
    /// retried on the next). Give `url` or `urls`.
    #[serde(default)]
    pub urls: Vec<String>,
    /// The index (or alias, or data stream) to write to. With `index_time_column` it is a
    /// strftime pattern of the row's time in UTC, e.g. `logs-%Y.%m.%d`.
    pub index: String,
    /// A timestamp, date or text column whose value (UTC) fills the `%` fields of
    /// `index`: one index per day with `logs-%Y.%m.%d`.
    #[serde(default)]
    pub index_time_column: Option<String>,
    /// The document id: a column name, or a SQL expression over the columns (e.g.
    /// `concat(region, '-', order_id)`). With it, re-running a job overwrites the same
    /// documents instead of adding copies; without it, the server makes up ids. The
    /// column stays a field of the document.
    #[serde(default)]
    pub id: Option<String>,
    /// What each row does: `index` (default: create or replace), `create` (an existing id
    /// is a bad record), `update` (merge the fields, create when missing) or `delete`.
    #[serde(default)]
    pub action: EsAction,
    /// The most documents in one bulk request (default 1000).
    #[serde(default = "default_bulk_actions")]
    pub bulk_actions: usize,
    /// The most bytes of one bulk request's body before compression, e.g. `5MB` (default);
    /// a single larger document goes alone.
    #[serde(default = "default_bulk_bytes")]
    pub bulk_bytes: ByteSize,
    /// Bulk requests in flight at once (default 2).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// `gzip` compresses the request bodies (default `none`).
    #[serde(default)]
    pub compression: EsCompression,
    /// How to authenticate: `{type: basic, username, password}` or `{type: api_key, key}`.
    #[serde(default)]
    pub auth: Option<EsAuth>,
    /// PEM file of CA certificates to trust for `https://` nodes instead of the system's
    /// roots.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// How long one request may take, e.g. `60s` (default).
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
    /// Retries of a bulk request that failed to connect, timed out, or got 429 or a 5xx,
    /// and of the documents the server rejected with 429 or a 5xx, with exponential
    /// backoff and jitter (default 5). Other rejections are bad records at once.
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// The wait before the first retry, doubled for each next one up to 30s (default
    /// `500ms`).
    #[serde(default = "default_retry_delay")]
    pub retry_delay: Duration,
    /// Refresh the indices written when the run ends, so that searches see the documents
    /// at once (default false).
    #[serde(default)]
    pub refresh: bool,
}

const fn default_bulk_actions() -> usize {
    1000
}

const fn default_bulk_bytes() -> ByteSize {
    ByteSize(5 << 20)
}

const fn default_concurrency() -> usize {
    2
}

const fn default_timeout() -> Duration {
    Duration(std::time::Duration::from_secs(60))
}

const fn default_retries() -> u32 {
    5
}

const fn default_retry_delay() -> Duration {
    Duration(std::time::Duration::from_millis(500))
}

/// Most documents in one bulk request.
pub const MAX_BULK_ACTIONS: usize = 100_000;
/// Most bytes in one bulk request.
pub const MAX_BULK_BYTES: usize = 1 << 30;
/// Most bulk requests in flight.
pub const MAX_CONCURRENCY: usize = 64;
/// Most retries.
pub const MAX_RETRIES: usize = 100;
/// Most nodes in `urls`.
pub const MAX_URLS: usize = 256;

impl EsSinkConfig {
    /// The nodes, checked: `http` or `https` URLs without a path beyond `/`.
    pub fn nodes(&self) -> Result<Vec<url::Url>, OptionError> {
        let given: Vec<(&str, &String)> = match (&self.url, self.urls.is_empty()) {
            (Some(_), false) => {
                return Err(OptionError::new("urls", "give `url` or `urls`, not both"));
            }
            (None, true) => return Err(OptionError::new("", "give `url` (or `urls`)")),
            (Some(u), true) => vec![("url", u)],
            (None, false) => self.urls.iter().map(|u| ("urls", u)).collect(),
        };
        OptionError::check_range("urls", given.len(), 1, MAX_URLS)?;
        given
            .into_iter()
            .map(|(key, text)| {
                let u = url::Url::parse(text).map_err(|e| {
                    OptionError::new(
                        key,
                        format!("`{text}` is not a URL ({e}); e.g. http://127.0.0.1:9200"),
                    )
                })?;
                if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
                    return Err(OptionError::new(
                        key,
                        format!("`{text}` is not an http:// or https:// URL"),
                    ));
                }
                if u.query().is_some() {
                    return Err(OptionError::new(
                        key,
                        format!("`{text}`: a node URL takes no query"),
                    ));
                }
                Ok(u)
            })
            .collect()
    }

    /// The bounds of the counts and sizes, and the options that go together.
    pub fn check(&self) -> Result<(), OptionError> {
        OptionError::check_range("bulk_actions", self.bulk_actions, 1, MAX_BULK_ACTIONS)?;
        let bytes = usize::try_from(self.bulk_bytes.0).unwrap_or(usize::MAX);
        OptionError::check_range("bulk_bytes", bytes, 1024, MAX_BULK_BYTES)?;
        OptionError::check_range("concurrency", self.concurrency, 1, MAX_CONCURRENCY)?;
        OptionError::check_range("max_retries", self.max_retries as usize, 0, MAX_RETRIES)?;
        if self.index.trim().is_empty() {
            return Err(OptionError::new("index", "expected an index name"));
        }
        if matches!(self.action, EsAction::Update | EsAction::Delete) && self.id.is_none() {
            return Err(OptionError::new(
                "id",
                format!(
                    "`action: {}` needs `id` (the column or expression of the document id)",
                    self.action.name()
                ),
            ));
        }
        if let Some(id) = &self.id
            && id.trim().is_empty()
        {
            return Err(OptionError::new(
                "id",
                "expected a column name or an expression",
            ));
        }
        if self.index_time_column.is_none() && self.index.contains('%') {
            return Err(OptionError::new(
                "index",
                "`%` fields in `index` need `index_time_column` (the column whose time fills them)",
            ));
        }
        if self.timeout.0.is_zero() {
            return Err(OptionError::new("timeout", "expected a duration above 0"));
        }
        Ok(())
    }
}
