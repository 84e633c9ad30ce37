//! Parquet files: a source with projection and predicate pushdown (DataFusion's scan),
//! and a sink with a choice of compression and row-group size.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{BrotliLevel, Compression, GzipLevel, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::SessionContext;
use fust_config::PluginRole;
use fust_engine::{OptionError, Registry, Sink, SinkSummary, Source, Typed};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::file::{Encoder, ListingSource, SharedBuf, WriteMode, write_file};
use crate::storage::StorageOptions;

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

fn build_source(c: ParquetSourceConfig) -> Result<Arc<dyn Source>, OptionError> {
    Ok(Arc::new(ListingSource {
        path: c.path,
        format: Arc::new(ParquetFormat::default()),
        extension: ".parquet",
        storage: c.storage,
        fix_schema: None,
    }))
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

#[derive(Debug)]
struct ParquetSink {
    config: ParquetSinkConfig,
    props: WriterProperties,
}

struct ParquetEncoder(ArrowWriter<SharedBuf>);

impl Encoder for ParquetEncoder {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(self.0.write(batch)?)
    }

    fn finish(self: Box<Self>) -> Result<()> {
        self.0.close()?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Sink for ParquetSink {
    async fn write(&self, stream: SendableRecordBatchStream, ctx: &SessionContext) -> Result<SinkSummary> {
        let make = |schema: SchemaRef, buf: SharedBuf, _: bool| -> Result<Box<dyn Encoder>> {
            Ok(Box::new(ParquetEncoder(ArrowWriter::try_new(buf, schema, Some(self.props.clone()))?)))
        };
        let c = &self.config;
        write_file(ctx, &c.path, c.mode, &c.storage, stream, &make).await
    }
}

fn codec(c: Codec, level: Option<u32>) -> Result<Compression, OptionError> {
    let bad = |e: datafusion::parquet::errors::ParquetError| OptionError::new("compression_level", e.to_string());
    Ok(match c {
        Codec::Zstd => Compression::ZSTD(match level {
            Some(l) => ZstdLevel::try_new(l as i32).map_err(bad)?,
            None => ZstdLevel::default(),
        }),
        Codec::Gzip => Compression::GZIP(match level {
            Some(l) => GzipLevel::try_new(l).map_err(bad)?,
            None => GzipLevel::default(),
        }),
        Codec::Brotli => Compression::BROTLI(match level {
            Some(l) => BrotliLevel::try_new(l).map_err(bad)?,
            None => BrotliLevel::default(),
        }),
        Codec::Snappy => Compression::SNAPPY,
        Codec::Lz4 => Compression::LZ4_RAW,
        Codec::None => Compression::UNCOMPRESSED,
    })
}

fn build_sink(c: ParquetSinkConfig) -> Result<Arc<dyn Sink>, OptionError> {
    if c.mode == WriteMode::Append {
        return Err(OptionError::new("mode", "Parquet files can't be appended to; use `overwrite` or `error_if_exists`"));
    }
    if c.row_group_size == 0 {
        return Err(OptionError::new("row_group_size", "must be at least 1"));
    }
    let props = WriterProperties::builder()
        .set_compression(codec(c.compression, c.compression_level)?)
        .set_max_row_group_row_count(Some(c.row_group_size))
        .set_created_by(format!("fust {}", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(Arc::new(ParquetSink { config: c, props }))
}

pub fn register(registry: &mut Registry) {
    registry.add_source(Arc::new(Typed::new(
        "parquet",
        PluginRole::Source,
        "Parquet files; the job's filters and projections are pushed into the scan",
        "type: parquet\npath: data/orders.parquet\n",
        build_source,
    )));
    registry.add_sink(Arc::new(Typed::new(
        "parquet",
        PluginRole::Sink,
        "One Parquet file (zstd by default), published atomically",
        "type: parquet\npath: out/orders.parquet\ncompression: zstd\n",
        build_sink,
    )));
}
