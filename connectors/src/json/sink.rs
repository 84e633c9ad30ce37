//! The `json` output: NDJSON or one array, published atomically.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::json::LineDelimitedWriter;
use datafusion::arrow::json::writer::{JsonArray, Writer};
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use fust_engine::{Checkpoint, OptionError, Pending, Sink};

use super::config::{JsonLayout, JsonSinkConfig};
use crate::common::epoch_files;
use crate::common::file::{
    BatchEncoder, Destination, Encoder, SharedBuf, WriteMode, write_file, write_file_parallel,
    write_mode,
};

#[derive(Debug)]
pub(super) struct JsonSink {
    config: JsonSinkConfig,
    mode: WriteMode,
}

/// The JSON array writer (one document, so batches are encoded in order).
pub(super) struct JsonEncoder(Writer<SharedBuf, JsonArray>);

impl Encoder for JsonEncoder {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(self.0.write(batch)?)
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        Ok(self.0.finish()?)
    }
}

#[async_trait::async_trait]
impl Sink for JsonSink {
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
        let array = self.config.format == JsonLayout::Array;
        if !array {
            let encode: BatchEncoder = Arc::new(|batch: &RecordBatch| {
                let mut w =
                    LineDelimitedWriter::new(Vec::with_capacity(batch.get_array_memory_size()));
                w.write(batch)?;
                w.finish()?;
                Ok(w.into_inner())
            });
            return write_file_parallel(ctx, self.destination(), stream, Vec::new(), encode).await;
        }
        let make = |_: SchemaRef, buf: SharedBuf, _: bool| -> Result<Box<dyn Encoder>> {
            Ok(Box::new(JsonEncoder(Writer::new(buf))))
        };
        write_file(ctx, self.destination(), stream, &make).await
    }
}

impl JsonSink {
    fn destination(&self) -> Destination<'_> {
        Destination {
            path: &self.config.path,
            mode: self.mode,
            storage: &self.config.storage,
            ext: "json",
        }
    }
}

pub(super) fn build_sink(c: JsonSinkConfig) -> Result<Arc<dyn Sink>, OptionError> {
    let mode = write_mode(c.mode, c.append)?;
    if mode == WriteMode::Append && c.format == JsonLayout::Array {
        return Err(OptionError::new(
            "mode",
            "`append` works with `format: ndjson` only",
        ));
    }
    Ok(Arc::new(JsonSink { config: c, mode }))
}
