//! The `csv` output: one file written in parallel and published atomically.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::csv::WriterBuilder;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use fust_engine::{Checkpoint, OptionError, Pending, Sink};

use super::config::CsvSinkConfig;
use super::encode;
use crate::common::epoch_files;
use crate::common::file::{
    BatchEncoder, Destination, WriteMode, single_byte, write_file_parallel, write_mode,
};

#[derive(Debug)]
pub(super) struct CsvSink {
    config: CsvSinkConfig,
    mode: WriteMode,
    delimiter: u8,
    quote: u8,
}

impl CsvSink {
    fn builder(&self) -> WriterBuilder {
        WriterBuilder::new()
            .with_delimiter(self.delimiter)
            .with_quote(self.quote)
            .with_null(self.config.null_value.clone())
    }
}

#[async_trait::async_trait]
impl Sink for CsvSink {
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
        let mut header = Vec::new();
        if c.write_header {
            let mut w = self.builder().with_header(true).build(&mut header);
            w.write(&RecordBatch::new_empty(stream.schema()))?;
        }
        let builder = self.builder();
        let (delimiter, quote, null) = (self.delimiter, self.quote, c.null_value.clone());
        let encode: BatchEncoder = Arc::new(move |batch: &RecordBatch| {
            if let Some(bytes) = encode::encode(batch, delimiter, quote, &null) {
                return Ok(bytes);
            }
            // Text is usually larger than the Arrow data: avoid regrowing (copying) the buffer.
            let mut buf = Vec::with_capacity(batch.get_array_memory_size() * 3 / 2);
            builder
                .clone()
                .with_header(false)
                .build(&mut buf)
                .write(batch)?;
            Ok(buf)
        });
        let to = Destination {
            path: &c.path,
            mode: self.mode,
            storage: &c.storage,
            ext: "csv",
        };
        write_file_parallel(ctx, to, stream, header, encode).await
    }
}

pub(super) fn build_sink(c: CsvSinkConfig) -> Result<Arc<dyn Sink>, OptionError> {
    let mode = write_mode(c.mode, c.append)?;
    let delimiter = single_byte("delimiter", &c.delimiter)?;
    let quote = single_byte("quote", &c.quote)?;
    Ok(Arc::new(CsvSink {
        config: c,
        mode,
        delimiter,
        quote,
    }))
}
