//! The `http` input's options.

use fust_config::{Duration, Secret};
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

/// Read records from a REST API: JSON (the records at `records_path`), NDJSON or CSV
/// responses, every page of them.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct HttpSourceConfig {
    /// The endpoint, `https://` (or `http://` on a trusted network).
    pub url: String,
    /// `GET` (default) or `POST`.
    #[serde(default)]
    pub method: Method,
    /// The body of a `POST`: a mapping or list is sent as JSON, a string as it is.
    #[serde(default)]
    pub body: Option<serde_json::Value>,
    /// Query parameters sent with every request, e.g. `{status: paid}`.
    #[serde(default)]
    pub params: IndexMap<String, Scalar>,
    /// Headers sent with every request (values may hold `${SECRETS}`).
    #[serde(default)]
    pub headers: IndexMap<String, Secret>,
    /// How to authenticate: `bearer`, `basic`, `api_key` or `oauth2` (client credentials).
    #[serde(default)]
    pub auth: Option<Auth>,
    /// Where the records sit in a JSON response, as a dotted path (`data.items`).
    /// Unset: the response itself, an array of records or one record.
    #[serde(default)]
    pub records_path: Option<String>,
    /// What the responses hold: `json` (default), `ndjson` (one record per line) or `csv`
    /// (with a header line; every column is text).
    #[serde(default)]
    pub format: BodyFormat,
    /// How to get the next page: `offset`, `page`, `cursor`, `next_url` or `link_header`.
    /// Unset: one request.
    #[serde(default)]
    pub pagination: Option<Pagination>,
    /// The most requests per second (default: no limit).
    #[serde(default)]
    pub requests_per_second: Option<f64>,
    /// How long one request may take, e.g. `30s` (default).
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
    /// Retries of a request that failed to connect, timed out, or got 429 or a 5xx,
    /// with exponential backoff and jitter, honouring `Retry-After` (default 5).
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// The largest response accepted, e.g. `64MB` (default).
    #[serde(default = "default_max_response")]
    pub max_response_bytes: fust_config::ByteSize,
    /// The most pages read in one run (default: 100000); a server that never stops
    /// paginating fails the run past it.
    #[serde(default = "default_max_pages")]
    pub max_pages: u64,
    /// Incremental reads: the record field whose highest value is stored after a
    /// successful run and sent next time as `cursor_param`; records not above the stored
    /// value are dropped.
    #[serde(default)]
    pub cursor_field: Option<String>,
    /// The query parameter the stored `cursor_field` value is sent as (e.g. `since`).
    #[serde(default)]
    pub cursor_param: Option<String>,
    /// Where `cursor_field` values are kept (default `.fust/state.json`). Jobs run by
    /// `fust serve` keep them in its metadata store instead.
    #[serde(default)]
    pub state_file: Option<String>,
    /// The columns and their SQL types, e.g. `{id: bigint, name: varchar}` (fields of a
    /// record not listed are left out). Unset: inferred from the first `infer_records`.
    #[serde(default)]
    pub schema: Option<serde_json::Map<String, serde_json::Value>>,
    /// Records (across pages) read to infer the schema (default 1000).
    #[serde(default = "default_infer_records")]
    pub infer_records: usize,
    /// PEM file of CA certificates to trust instead of the system's roots.
    #[serde(default)]
    pub ca_file: Option<String>,
}

/// A query parameter's value: text, a number or a boolean.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Text(s) => f.write_str(s),
            Scalar::Integer(n) => write!(f, "{n}"),
            Scalar::Float(n) => write!(f, "{n}"),
            Scalar::Bool(b) => write!(f, "{b}"),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    #[default]
    Get,
    Post,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    #[default]
    Json,
    Ndjson,
    Csv,
}

/// `auth:`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer { token: Secret },
    /// HTTP basic authentication.
    Basic { username: String, password: Secret },
    /// A key sent as a header (`header`, default `X-API-Key`) or a query parameter
    /// (`param`).
    ApiKey {
        key: Secret,
        #[serde(default)]
        header: Option<String>,
        #[serde(default)]
        param: Option<String>,
    },
    /// OAuth2 client credentials: a token fetched from `token_url`, and fetched again when
    /// it expires or the API answers 401.
    Oauth2 {
        token_url: String,
        client_id: String,
        client_secret: Secret,
        #[serde(default)]
        scope: Option<String>,
    },
}

/// `pagination:`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// `limit`/`offset` parameters; stops at a page shorter than `limit`.
    Offset {
        limit: u64,
        #[serde(default = "limit_param")]
        limit_param: String,
        #[serde(default = "offset_param")]
        offset_param: String,
        /// The first offset (default 0).
        #[serde(default)]
        start: u64,
    },
    /// A page number parameter from `start` (default 1); stops at an empty page, or a
    /// page shorter than `size` when given.
    Page {
        #[serde(default = "page_param")]
        page_param: String,
        #[serde(default)]
        size: Option<u64>,
        #[serde(default)]
        size_param: Option<String>,
        #[serde(default = "page_start")]
        start: u64,
    },
    /// The next page's token read from the response at `cursor_path` and sent as
    /// `cursor_param`; stops when there is none.
    Cursor {
        cursor_path: String,
        cursor_param: String,
    },
    /// The next page's URL read from the response at `next_path`; stops when there is
    /// none.
    NextUrl { next_path: String },
    /// The next page's URL from the `Link` header's `rel="next"` (RFC 8288).
    LinkHeader {},
}

fn limit_param() -> String {
    "limit".into()
}

fn offset_param() -> String {
    "offset".into()
}

fn page_param() -> String {
    "page".into()
}

const fn page_start() -> u64 {
    1
}

const fn default_timeout() -> Duration {
    Duration(std::time::Duration::from_secs(30))
}

const fn default_retries() -> u32 {
    5
}

const fn default_max_response() -> fust_config::ByteSize {
    fust_config::ByteSize(64 << 20)
}

const fn default_max_pages() -> u64 {
    100_000
}

const fn default_infer_records() -> usize {
    1000
}
