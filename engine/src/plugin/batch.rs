//! The batch contracts: sources give DataFusion tables, processors rewrite the logical
//! plan, sinks consume one stream of batches and commit or roll back.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::TableProvider;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;

use datafusion::error::Result;

use super::stream::{Checkpoint, StreamSource};

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
    /// A stream source (see [`stream`](Self::stream)) has none: the stream runner reads it.
    async fn table(&self, _ctx: &SessionContext) -> Result<Arc<dyn TableProvider>> {
        Err(datafusion::error::DataFusionError::Internal(format!(
            "{} is a stream, read by the stream runner, not as a table",
            self.describe()
        )))
    }

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

    /// The source as a stream (`kafka`, `nats`): a job reading one runs until stopped, in
    /// epochs. Its `table` is then never called.
    fn stream(&self) -> Option<&dyn StreamSource> {
        None
    }
}

/// One step of `pipeline.processors`: a function from the plan so far to a new plan.
///
/// `ctx` has the plan so far registered as the table `input`, and every named input under
/// its name, for processors that plan SQL. Never executes anything.
#[async_trait]
pub trait Processor: Send + Sync + Debug {
    async fn plan(&self, input: Option<LogicalPlan>, ctx: &SessionContext) -> Result<LogicalPlan>;

    /// The event-time window of an `aggregate` with `window:`: in a stream job, its rows
    /// are kept across epochs and each window is emitted once the watermark passes it.
    fn window(&self) -> Option<&Window> {
        None
    }

    /// The keys and time-to-live of a `deduplicate` with `ttl`: in a stream job, a record
    /// whose key was seen within the ttl in an earlier epoch is dropped.
    fn key_ttl(&self) -> Option<&KeyTtl> {
        None
    }

    /// Which output each record goes to, for the `route` processor (the engine applies it
    /// to the batches on their way to the sinks). A processor that routes is the last.
    fn routes(&self) -> Option<&Routes> {
        None
    }
}

/// An event-time window (`aggregate` with `window:`), in milliseconds. A record at time
/// `t` belongs to every window `[s, s + size)` with `s` a multiple of `slide` and
/// `s <= t < s + size` (tumbling: `slide == size`). The planned aggregate names each
/// window by the columns `window_start` and `window_end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub size_ms: i64,
    pub slide_ms: i64,
    pub lateness_ms: i64,
    /// The column of event times the window is over.
    pub time_column: String,
}

impl Window {
    /// The start of the last window holding time `t`.
    pub fn last_start(&self, t: i64) -> i64 {
        t - t.rem_euclid(self.slide_ms)
    }

    /// The end of the last window holding time `t`: once the emitted watermark reaches
    /// it, the record is in no open window.
    pub fn last_end(&self, t: i64) -> i64 {
        self.last_start(t) + self.size_ms
    }
}

/// Keys remembered across the epochs of a stream job for `ttl_ms` (processing time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTtl {
    pub key_columns: Vec<String>,
    pub ttl_ms: i64,
}

/// Where records go: `(output name, SQL condition)` in order, a record going to every
/// output whose condition is true; `default` takes the records no condition took.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    pub routes: Vec<(String, String)>,
    pub default: Option<String>,
}

impl Routes {
    /// Every output named, the routes' then the default.
    pub fn outputs(&self) -> impl Iterator<Item = &str> {
        self.routes
            .iter()
            .map(|(n, _)| n.as_str())
            .chain(self.default.as_deref())
    }
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

/// Written output held back until [`commit`](Pending::commit); dropping it without a
/// commit rolls it back (the target is left as it was).
#[async_trait]
pub trait Pending: Send {
    /// Publishes the output; says what was written.
    async fn commit(self: Box<Self>) -> Result<SinkSummary>;

    /// Rolls back now (dropping rolls back too, but cannot wait for a server).
    async fn abort(self: Box<Self>) {}
}

/// Output that became visible as it was written: for sinks that cannot hold it back
/// (`console`), whose commit has nothing left to do.
#[derive(Debug)]
pub struct Published(pub SinkSummary);

#[async_trait]
impl Pending for Published {
    async fn commit(self: Box<Self>) -> Result<SinkSummary> {
        Ok(self.0)
    }
}

/// The output of a job.
///
/// `prepare` is called once with the whole output. It writes everything but keeps it
/// invisible, to be published by the returned [`Pending`]'s commit, which the engine calls
/// once every output of the job has prepared: a job with several outputs publishes all or
/// none. When the stream yields an error, or the future or the `Pending` is dropped, the
/// target must stay as it was: write to a temporary name and rename at commit, keep a
/// database transaction open until commit, or leave a multipart upload uncompleted.
#[async_trait]
pub trait Sink: Send + Sync + Debug {
    async fn prepare(
        &self,
        stream: SendableRecordBatchStream,
        ctx: &SessionContext,
    ) -> Result<Box<dyn Pending>>;

    /// Whether the sink commits a stream epoch's source positions and state (the session's
    /// [`Epoch`](super::stream::Epoch)) in the same transaction as its rows, and gives them
    /// back in [`checkpoint`](Self::checkpoint): exactly-once delivery. Other sinks are
    /// at-least-once: the positions go to the run's state store after they commit.
    fn exactly_once(&self) -> bool {
        false
    }

    /// What an exactly-once sink has committed for the stream job `job`: positions and
    /// operator state.
    async fn checkpoint(&self, _ctx: &SessionContext, _job: &str) -> Result<Checkpoint> {
        Ok(Checkpoint::default())
    }

    /// Prepares and commits at once.
    async fn write(
        &self,
        stream: SendableRecordBatchStream,
        ctx: &SessionContext,
    ) -> Result<SinkSummary> {
        self.prepare(stream, ctx).await?.commit().await
    }
}
