//! The `parquet` input's and output's options.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::common::file::WriteMode;
use crate::object_store::StorageOptions;

/// Read Parquet files.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ParquetSourceConfig {
    /// A file, a directory, a glob or a URL.
    pub path: String,
    /// Object-store settings for `s3://` paths.
    #[serde(default)]
    pub storage: StorageOptions,
}

/// Parquet compression codec.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Codec {
    #[default]
    Zstd,
    Snappy,
    Gzip,
    Lz4,
    Brotli,
    None,
}

const fn row_group_size() -> usize {
    1024 * 1024
}

/// Write one Parquet file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ParquetSinkConfig {
    /// Output file (local path or `s3://` URL).
    pub path: String,
    /// Codec: `zstd` (default), `snappy`, `gzip`, `lz4`, `brotli`, `none`.
    #[serde(default)]
    pub compression: Codec,
    /// Codec level (zstd 1–22, gzip 0–9, brotli 0–11); default: the codec's own.
    #[serde(default)]
    pub compression_level: Option<u32>,
    /// Most rows per row group.
    #[serde(default = "row_group_size")]
    pub row_group_size: usize,
    /// What to do when the file exists: `overwrite` (default) or `error_if_exists`.
    #[serde(default)]
    pub mode: WriteMode,
    /// Object-store settings for `s3://` paths.
    #[serde(default)]
    pub storage: StorageOptions,
}
