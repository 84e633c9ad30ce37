//! The stream contracts. A stream source (`kafka`, `nats`) never ends: the engine reads it
//! in epochs, runs each epoch's records through the job's plan into the sinks, and commits
//! the epoch together with the source positions it read up to. Exactly-once sinks store
//! those positions in the same transaction as the rows ([`Epoch`], `Sink::positions`);
//! the others are at-least-once.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::rejects::StageRejects;

/// Where a stream has been read to: per part (`orders/3` for partition 3 of the Kafka
/// topic `orders`, the stream name for JetStream) the position of the last record taken
/// (a Kafka offset, a JetStream stream sequence).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Positions(pub BTreeMap<String, i64>);

impl Positions {
    pub fn get(&self, part: &str) -> Option<i64> {
        self.0.get(part).copied()
    }

    /// These positions moved forward by an epoch's spans.
    pub fn advanced(&self, spans: &[Span]) -> Positions {
        let mut out = self.clone();
        for s in spans {
            out.0.insert(s.part.clone(), s.to);
        }
        out
    }
}

/// What one epoch read of one part: records after `from` (the position committed before
/// it, `None` when none was) up to and including `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub part: String,
    pub from: Option<i64>,
    pub to: i64,
}

/// Why a stream reader is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// A run: read after the committed positions, acknowledge after each commit.
    Run,
    /// `preview`, `validate`, `explain`: read without joining a consumer group or
    /// acknowledging anything, so a running job is not disturbed.
    Peek,
}

/// A source that never ends.
#[async_trait]
pub trait StreamSource: Send + Sync + Debug {
    /// Connects and positions the reader after the positions `checkpoints` gives (read
    /// again whenever the reader is handed new parts or rewound); where none is stored,
    /// at the broker's committed group position or the source's `start_from`.
    async fn open(
        &self,
        ctx: &SessionContext,
        checkpoints: Arc<dyn Checkpoints>,
        mode: OpenMode,
    ) -> Result<Box<dyn StreamReader>>;

    /// What it reads, for messages: e.g. `kafka orders @ 127.0.0.1:9092`.
    fn describe(&self) -> String;

    /// The records' columns when the job states them (`schema:`): a job is then
    /// validated and explained without connecting.
    fn declared_schema(&self) -> Option<SchemaRef> {
        None
    }
}

/// Records a reader took from its stream, and the work that turns them into a batch: the
/// engine runs it beside the next read, so that decoding and reading use two cores.
pub struct Taken {
    /// How many records were taken (bad ones included).
    pub records: usize,
    /// Their batch; a record that does not decode goes to the `rejects` given.
    pub decode: BoxFuture<'static, Result<RecordBatch>>,
}

impl Debug for Taken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Taken")
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}

/// An open stream: records in order per part, and where they came from.
#[async_trait]
pub trait StreamReader: Send {
    fn schema(&self) -> SchemaRef;

    /// The next records, at most `max_rows`, waiting at most `wait` for the first: `None`
    /// when none came in time. Records at or below a committed position are dropped; a
    /// record that does not decode goes to `rejects`. They count as taken (for
    /// [`epoch`](Self::epoch)) when this returns, before they are decoded.
    async fn next_batch(
        &mut self,
        max_rows: usize,
        wait: Duration,
        rejects: &StageRejects,
    ) -> Result<Option<Taken>>;

    /// Waits at most `wait` for a record to be ready (fetched, not yet decoded): whether
    /// one is. An epoch begins only when one is, so an idle stream commits nothing.
    async fn ready(&mut self, wait: Duration) -> Result<bool>;

    /// Whether the reader has parts to read: false while a consumer group rebalances, a
    /// time that `settings.stop_when_idle` does not count as idle.
    fn reading(&self) -> bool {
        true
    }

    /// The spans of the records returned since the last [`committed`](Self::committed) or
    /// [`rewind`](Self::rewind), one per part that had records.
    fn epoch(&self) -> Vec<Span>;

    /// The epoch's output has committed: acknowledge upstream (commit the consumer
    /// group's offsets, ack the messages). The next epoch starts after it.
    async fn committed(&mut self) -> Result<()>;

    /// The epoch was rolled back: read again after the positions `checkpoints` gives now.
    async fn rewind(&mut self) -> Result<()>;

    /// Records waiting per part (Kafka: high watermark − position; JetStream: pending).
    async fn lag(&mut self) -> Vec<(String, u64)> {
        Vec::new()
    }

    /// Records waiting after the stored positions in parts that other readers hold (as
    /// many as the reader finds in one look; any above 0 keep the run going): other
    /// members of a Kafka consumer group, or one that died and that the group has not
    /// dropped yet (until its session times out, its partitions are assigned to no one
    /// else). `settings.stop_when_idle` stops a run only when there are none, so that a
    /// run started after a crash does not stop before it has read the crashed run's parts.
    async fn waiting_elsewhere(&mut self) -> Result<u64> {
        Ok(0)
    }

    /// The lag when the run is over, from what the reader knows now: nothing is started
    /// in the background, as the process would wait for it before it exits.
    async fn final_lag(&mut self) -> Vec<(String, u64)> {
        self.lag().await
    }
}

/// Where the positions of committed epochs are read back from: the output itself
/// (exactly-once) or the run's state store.
#[async_trait]
pub trait Checkpoints: Send + Sync + Debug {
    async fn load(&self) -> Result<Positions>;
}

/// No positions: where nothing is stored (previews).
#[derive(Debug)]
pub struct NoCheckpoints;

#[async_trait]
impl Checkpoints for NoCheckpoints {
    async fn load(&self) -> Result<Positions> {
        Ok(Positions::default())
    }
}

/// The epoch a sink is writing, as a session extension: an exactly-once sink stores its
/// spans in the transaction that commits the rows, refusing the commit with a
/// [`PositionConflict`] when a stored position is not the span's `from`.
#[derive(Debug)]
pub struct Epoch {
    /// Whose positions: the job's name.
    pub job: String,
    /// Counts the epochs of this run from 1.
    pub number: u64,
    spans: Mutex<Vec<Span>>,
    state: Mutex<Option<Vec<u8>>>,
    conflict: std::sync::atomic::AtomicBool,
}

impl Epoch {
    pub fn new(job: impl Into<String>, number: u64) -> Self {
        Self {
            job: job.into(),
            number,
            spans: Mutex::default(),
            state: Mutex::default(),
            conflict: Default::default(),
        }
    }

    /// The epoch of the stream run `ctx` belongs to, if it is one.
    pub fn of(ctx: &SessionContext) -> Option<Arc<Epoch>> {
        ctx.state()
            .config()
            .get_extension::<EpochExtension>()
            .map(|e| e.0.clone())
    }

    /// What the epoch read; final once its input has ended (before any sink commits).
    pub fn spans(&self) -> Vec<Span> {
        self.spans.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The job's operator state after this epoch (a windowed aggregate's open windows),
    /// when it has one: an exactly-once sink stores it with the positions, and gives it
    /// back in its [`Checkpoint`].
    pub fn state(&self) -> Option<Vec<u8>> {
        self.state.lock().ok().and_then(|s| s.clone())
    }

    pub(crate) fn set_state(&self, state: Vec<u8>) {
        if let Ok(mut s) = self.state.lock() {
            *s = Some(state);
        }
    }

    /// The error a sink returns when a stored position is not where a span starts; the
    /// engine then rolls the epoch back and rewinds instead of failing the run.
    pub fn conflict(&self, c: PositionConflict) -> DataFusionError {
        self.conflict
            .store(true, std::sync::atomic::Ordering::SeqCst);
        DataFusionError::External(Box::new(c))
    }

    pub(crate) fn had_conflict(&self) -> bool {
        self.conflict.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn set_spans(&self, spans: Vec<Span>) {
        if let Ok(mut s) = self.spans.lock() {
            *s = spans;
        }
    }
}

/// The session extension carrying the [`Epoch`].
#[derive(Debug)]
pub struct EpochExtension(pub Arc<Epoch>);

/// An exactly-once sink found a stored position that is not where the epoch started:
/// another process committed these parts (a consumer-group rebalance), so the epoch is
/// rolled back and the reader rewinds to the stored positions.
#[derive(Debug, thiserror::Error)]
#[error(
    "{target}: the stored position of `{part}` is {stored}, not {expected} where this epoch started; another process committed it, so this epoch is rolled back and read again"
)]
pub struct PositionConflict {
    pub target: String,
    pub part: String,
    pub expected: String,
    pub stored: String,
}

/// What an exactly-once sink committed for a stream job: positions, and the job's
/// operator state (see [`Epoch::state`]).
#[derive(Debug, Clone, Default)]
pub struct Checkpoint {
    pub positions: Positions,
    pub state: Option<Vec<u8>>,
}

/// The name of the table in which database sinks keep a stream job's positions.
pub const POSITIONS_TABLE: &str = "fust_stream_positions";

/// The name of the table in which database sinks keep a stream job's operator state.
pub const STATE_TABLE: &str = "fust_stream_state";
