//! The `console` sink: prints the output as a table, for quick looks.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use fust_config::PluginRole;
use fust_engine::{OptionError, Registry, Sink, SinkSummary, Typed};
use futures::StreamExt;
use schemars::JsonSchema;
use serde::Deserialize;

const fn twenty() -> usize {
    20
}

/// Print rows to standard output as a table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ConsoleConfig {
    /// Most rows printed; the rest are counted.
    #[serde(default = "twenty")]
    pub limit: usize,
}

#[derive(Debug)]
struct ConsoleSink(ConsoleConfig);

#[async_trait::async_trait]
impl Sink for ConsoleSink {
    async fn write(
        &self,
        mut stream: SendableRecordBatchStream,
        _ctx: &SessionContext,
    ) -> Result<SinkSummary> {
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
        println!("{table}\n{rows} rows{note}");
        Ok(SinkSummary {
            rows,
            bytes: 0,
            target: "console".into(),
        })
    }
}

pub fn register(registry: &mut Registry) {
    registry.add_sink(Arc::new(Typed::new(
        "console",
        PluginRole::Sink,
        "Print the output as a table on standard output",
        "type: console\nlimit: 20\n",
        |c: ConsoleConfig| Ok::<_, OptionError>(Arc::new(ConsoleSink(c)) as Arc<dyn Sink>),
    )));
}
