//! The `csv` input's and output's options.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::common::file::{Compression, WriteMode};
use crate::object_store::StorageOptions;

const fn yes() -> bool {
    true
}

fn comma() -> String {
    ",".into()
}

fn dquote() -> String {
    "\"".into()
}

const fn infer_rows() -> usize {
    1000
}

/// Read CSV files.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct CsvSourceConfig {
    /// A file, a directory, a glob (`data/*.csv`) or a URL (`s3://bucket/dir/`).
    pub path: String,
    /// Whether the first line holds the column names (else columns are `column_1`, …).
    #[serde(default = "yes")]
    pub has_header: bool,
    /// Field separator, one character (`\t` for tabs).
    #[serde(default = "comma")]
    pub delimiter: String,
    /// Quote character.
    #[serde(default = "dquote")]
    pub quote: String,
    /// Escape character inside quoted fields (default: doubled quotes).
    #[serde(default)]
    pub escape: Option<String>,
    /// Lines starting with this character are skipped.
    #[serde(default)]
    pub comment: Option<String>,
    /// Text that also means NULL, e.g. `NA` (an empty field is always NULL).
    #[serde(default)]
    pub null_value: Option<String>,
    /// Read every column as text instead of inferring types.
    #[serde(default)]
    pub all_strings: bool,
    /// Column types that override inference, `column: SQL type` (e.g. `id: bigint`).
    #[serde(default)]
    pub schema: IndexMap<String, String>,
    /// Rows read to infer column types. A column whose numbers are written with leading
    /// zeros (`08123`, `007`) in those rows is read as text, zeros kept.
    #[serde(default = "infer_rows")]
    pub infer_rows: usize,
    /// Allow quoted values that span lines (files are then read without splitting). Without
    /// it, a large local file is read in parallel byte ranges, and a quoted line break where
    /// the file is cut fails the read with a message naming this option.
    #[serde(default)]
    pub newlines_in_values: bool,
    /// Input compression.
    #[serde(default)]
    pub compression: Compression,
    /// Object-store settings for `s3://` paths.
    #[serde(default)]
    pub storage: StorageOptions,
}

/// Write one CSV file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct CsvSinkConfig {
    /// Output file (local path or `s3://` URL).
    pub path: String,
    /// Write a header line with the column names.
    #[serde(default = "yes")]
    pub write_header: bool,
    /// Field separator, one character.
    #[serde(default = "comma")]
    pub delimiter: String,
    /// Quote character.
    #[serde(default = "dquote")]
    pub quote: String,
    /// Text written for NULL (default: empty).
    #[serde(default)]
    pub null_value: String,
    /// FustGo DataX compatibility: `append: true` is `mode: append`.
    #[serde(default)]
    pub append: Option<bool>,
    /// What to do when the file exists: `overwrite` (default), `append`, `error_if_exists`.
    #[serde(default)]
    pub mode: Option<WriteMode>,
    /// Object-store settings for `s3://` paths.
    #[serde(default)]
    pub storage: StorageOptions,
}
