//! The `console` output: the first rows as a table on stdout.

use super::config::ConsoleConfig;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use fust_engine::{Pending, Sink, SinkSummary};
use futures::StreamExt;

#[derive(Debug)]
pub(super) struct ConsoleSink(pub(super) ConsoleConfig);

#[async_trait::async_trait]
impl Sink for ConsoleSink {
    async fn prepare(
        &self,
        mut stream: SendableRecordBatchStream,
        _ctx: &SessionContext,
    ) -> Result<Box<dyn Pending>> {
        let mut shown: Vec<RecordBatch> = Vec::new();
        let (mut rows, mut kept) = (0u64, 0usize);
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            rows += batch.num_rows() as u64;
            let take = (self.0.limit - kept).min(batch.num_rows());
            if take > 0 {
                shown.push(batch.slice(0, take));
                kept += take;
            }
        }
        if shown.is_empty() {
            shown.push(RecordBatch::new_empty(stream.schema()));
        }
        let table = pretty_format_batches(&shown)?;
        let more = rows.saturating_sub(kept as u64);
        let note = if more > 0 {
            format!(" ({more} more not shown)")
        } else {
            String::new()
        };
        Ok(Box::new(Printout {
            text: format!("{table}\n{rows} rows{note}"),
            rows,
        }))
    }
}

/// The table, printed when the job's outputs commit.
struct Printout {
    text: String,
    rows: u64,
}

#[async_trait::async_trait]
impl Pending for Printout {
    async fn commit(self: Box<Self>) -> Result<SinkSummary> {
        println!("{}", self.text);
        Ok(SinkSummary {
            rows: self.rows,
            bytes: 0,
            target: "console".into(),
        })
    }
}
