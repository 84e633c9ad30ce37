//! The `parquet` output: row groups encoded in parallel, one file published atomically.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::common::DataFusionError;
use datafusion::common::runtime::SpawnedTask;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowLeafColumn, ArrowRowGroupWriterFactory, compute_leaves,
};
use datafusion::parquet::arrow::{ArrowSchemaConverter, add_encoded_arrow_schema_to_metadata};
use datafusion::parquet::basic::{BrotliLevel, Compression, GzipLevel, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::parquet::file::writer::SerializedFileWriter;
use datafusion::prelude::SessionContext;
use fust_engine::{Checkpoint, OptionError, Pending, Sink};

use futures::StreamExt;
use tokio::sync::mpsc;

use super::config::{Codec, ParquetSinkConfig};
use crate::common::epoch_files;
use crate::common::file::{Output, SharedBuf, WriteMode};

#[derive(Debug)]
pub(super) struct ParquetSink {
    config: ParquetSinkConfig,
    props: WriterProperties,
}

#[async_trait::async_trait]
impl Sink for ParquetSink {
    fn exactly_once(&self) -> bool {
        true
    }

    async fn checkpoint(&self, ctx: &SessionContext, job: &str) -> Result<Checkpoint> {
        epoch_files::checkpoint(ctx, &self.config.path, &self.config.storage, job).await
    }

    async fn prepare(
        &self,
        stream: SendableRecordBatchStream,
        ctx: &SessionContext,
    ) -> Result<Box<dyn Pending>> {
        let c = &self.config;
        let mut out = Output::open(ctx, &c.path, c.mode, &c.storage, "parquet").await?;
        let written = self.write_row_groups(stream, &mut out).await;
        out.settle(written, &c.path).await
    }
}

/// The column writers of the row group being filled: one task per leaf column, each fed
/// through a small channel, so columns are encoded on every core while batches arrive.
pub(super) struct RowGroup {
    columns: Vec<(
        mpsc::Sender<ArrowLeafColumn>,
        SpawnedTask<Result<ArrowColumnChunk>>,
    )>,
    rows: usize,
}

impl RowGroup {
    fn start(factory: &ArrowRowGroupWriterFactory, index: usize) -> Result<Self> {
        let columns = factory
            .create_column_writers(index)?
            .into_iter()
            .map(|mut writer| {
                let (tx, mut rx) = mpsc::channel::<ArrowLeafColumn>(2);
                let task = SpawnedTask::spawn(async move {
                    while let Some(leaf) = rx.recv().await {
                        writer.write(&leaf)?;
                    }
                    Ok(writer.close()?)
                });
                (tx, task)
            })
            .collect();
        Ok(RowGroup { columns, rows: 0 })
    }

    async fn push(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut senders = self.columns.iter().map(|(tx, _)| tx);
        for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
            for leaf in compute_leaves(field, array)? {
                let tx = senders.next().ok_or_else(|| {
                    DataFusionError::Internal("more leaves than column writers".into())
                })?;
                if tx.send(leaf).await.is_err() {
                    break; // the writer failed; its error surfaces at finish
                }
            }
        }
        self.rows += batch.num_rows();
        Ok(())
    }

    async fn finish(self, file: &mut SerializedFileWriter<SharedBuf>) -> Result<()> {
        let mut chunks = Vec::with_capacity(self.columns.len());
        for (tx, task) in self.columns {
            drop(tx);
            chunks.push(
                task.join().await.map_err(|e| {
                    DataFusionError::Internal(format!("column writer failed: {e}"))
                })??,
            );
        }
        let mut rg = file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut rg)?;
        }
        rg.close()?;
        Ok(())
    }
}

impl ParquetSink {
    async fn write_row_groups(
        &self,
        mut stream: SendableRecordBatchStream,
        out: &mut Output,
    ) -> Result<u64> {
        let schema = stream.schema();
        // Embed the Arrow schema (as Arrow's own writer does) so readers get back the exact
        // types and the field metadata (e.g. `pg_type`).
        let mut props = self.props.clone();
        add_encoded_arrow_schema_to_metadata(&schema, &mut props);
        let props = Arc::new(props);
        let parquet_schema = ArrowSchemaConverter::new()
            .with_coerce_types(props.coerce_types())
            .convert(&schema)?;
        let buf = SharedBuf::default();
        let mut file = SerializedFileWriter::new(
            buf.clone(),
            parquet_schema.root_schema_ptr(),
            props.clone(),
        )?;
        let factory = ArrowRowGroupWriterFactory::new(&file, schema.clone());
        let max_rows = self.config.row_group_size;
        let (mut index, mut rows) = (0, 0u64);
        let mut group = RowGroup::start(&factory, index)?;
        while let Some(batch) = stream.next().await {
            let mut batch = batch?;
            rows += batch.num_rows() as u64;
            while batch.num_rows() > 0 {
                let take = (max_rows - group.rows).min(batch.num_rows());
                group.push(&batch.slice(0, take)).await?;
                batch = batch.slice(take, batch.num_rows() - take);
                if group.rows == max_rows {
                    group.finish(&mut file).await?;
                    out.write(buf.take()).await?;
                    index += 1;
                    group = RowGroup::start(&factory, index)?;
                }
            }
        }
        if group.rows > 0 || index == 0 {
            group.finish(&mut file).await?;
        }
        file.finish()?;
        out.write(buf.take()).await?;
        Ok(rows)
    }
}

pub(super) fn codec(c: Codec, level: Option<u32>) -> Result<Compression, OptionError> {
    let bad = |e: datafusion::parquet::errors::ParquetError| {
        OptionError::new("compression_level", e.to_string())
    };
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

pub(super) fn build_sink(c: ParquetSinkConfig) -> Result<Arc<dyn Sink>, OptionError> {
    if c.mode == WriteMode::Append {
        return Err(OptionError::new(
            "mode",
            "Parquet files can't be appended to; use `overwrite` or `error_if_exists`",
        ));
    }
    OptionError::check_range("row_group_size", c.row_group_size, 1, 64 << 20)?;
    let props = WriterProperties::builder()
        .set_compression(codec(c.compression, c.compression_level)?)
        .set_max_row_group_row_count(Some(c.row_group_size))
        .set_created_by(format!("fust {}", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(Arc::new(ParquetSink { config: c, props }))
}
