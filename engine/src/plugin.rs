//! The plugin contracts: sources give DataFusion tables, processors rewrite the logical
//! plan, sinks consume one stream of batches and commit or roll back.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::TableProvider;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;

use datafusion::error::Result;

/// An input of a job.
///
/// Plugins report failures as DataFusion errors; the engine adds which part of the job
/// (`input`, `pipeline.processors[1]`, `output`) they came from.
///
/// Called once per run, before planning, with the run's session (so it can register an
/// object store). The returned table receives the job's projections and filters from
/// DataFusion's optimizer, which is how they reach the file scan or the database query.
#[async_trait]
pub trait Source: Send + Sync + Debug {
    async fn table(&self, ctx: &SessionContext) -> Result<Arc<dyn TableProvider>>;

    /// What it reads, for messages: e.g. `csv data/orders.csv`.
    fn describe(&self) -> String;

    /// Bytes the source will read, when known cheaply (for the summary).
    async fn input_bytes(&self, _ctx: &SessionContext) -> Option<u64> {
        None
    }

    /// Called once after the sink has committed, never after a failed run: a source that
    /// keeps state between runs (an incremental cursor's high-water mark) saves it here.
    async fn commit(&self) -> Result<()> {
        Ok(())
    }
}

/// One step of `pipeline.processors`: a function from the plan so far to a new plan.
///
/// `ctx` has the plan so far registered as the table `input`, and every named input under
/// its name, for processors that plan SQL. Never executes anything.
#[async_trait]
pub trait Processor: Send + Sync + Debug {
    async fn plan(&self, input: Option<LogicalPlan>, ctx: &SessionContext) -> Result<LogicalPlan>;
}

/// What a sink reports when it has committed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkSummary {
    pub rows: u64,
    /// Bytes written to the target (file size), when the sink knows it.
    pub bytes: u64,
    /// Where the data went, for the summary line.
    pub target: String,
}

/// The output of a job.
///
/// `write` is called once with the whole output. It must make the output visible only
/// when the stream has ended without error (commit), and leave the target as it was when
/// the stream yields an error or the future is dropped (roll back): write to a temporary
/// name and rename, or use an upload that is invisible until completed.
#[async_trait]
pub trait Sink: Send + Sync + Debug {
    async fn write(
        &self,
        stream: SendableRecordBatchStream,
        ctx: &SessionContext,
    ) -> Result<SinkSummary>;
}
