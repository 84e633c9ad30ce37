//! The `json` input's and output's options.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::common::file::{Compression, WriteMode};
use crate::object_store::StorageOptions;

/// How the JSON is laid out.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JsonLayout {
    /// `ndjson` unless a local file starts with `[`.
    #[default]
    Auto,
    /// One object per line.
    Ndjson,
    /// One array of objects.
    Array,
}

const fn infer_rows() -> usize {
    1000
}

/// Read JSON files.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct JsonSourceConfig {
    /// A file, a directory, a glob or a URL.
    pub path: String,
    /// `auto`, `ndjson` (one object per line) or `array`.
    #[serde(default)]
    pub format: JsonLayout,
    /// Rows read to infer the schema.
    #[serde(default = "infer_rows")]
    pub infer_rows: usize,
    /// Input compression.
    #[serde(default)]
    pub compression: Compression,
    /// Object-store settings for `s3://` paths.
    #[serde(default)]
    pub storage: StorageOptions,
}

/// Write one JSON file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct JsonSinkConfig {
    /// Output file (local path or `s3://` URL).
    pub path: String,
    /// `ndjson` (default; one object per line) or `array`.
    #[serde(default)]
    pub format: JsonLayout,
    /// FustGo DataX compatibility: `append: true` is `mode: append`.
    #[serde(default)]
    pub append: Option<bool>,
    /// What to do when the file exists: `overwrite` (default), `append` (ndjson), `error_if_exists`.
    #[serde(default)]
    pub mode: Option<WriteMode>,
    /// Object-store settings for `s3://` paths.
    #[serde(default)]
    pub storage: StorageOptions,
}
