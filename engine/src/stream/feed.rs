//! The table a stream job's plan reads: each epoch's scan takes records from the one open
//! reader until the epoch is cut (its interval is over, it holds `checkpoint_rows`, or the
//! job is stopping), then hands the epoch's spans to the sinks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchReceiverStream;
use datafusion::physical_plan::streaming::PartitionStream;
use futures::future::BoxFuture;
use tokio::sync::{Mutex, OwnedMutexGuard};
use tokio_util::sync::CancellationToken;

use crate::plugin::stream::{Epoch, StreamReader};
use crate::rejects::StageRejects;

/// Longest a scan waits for records before it looks at the clock and the stop signal again.
const POLL: Duration = Duration::from_millis(200);
/// Batches a scan may read ahead of the plan.
const READ_AHEAD: usize = 2;

/// Opens a reader when a scan first needs it.
pub type Opener =
    Box<dyn FnOnce() -> BoxFuture<'static, Result<Box<dyn StreamReader>>> + Send + Sync>;

/// The reader, shared by the epochs' scans: open, or opened by the first scan (a preview
/// of a job that states its schema, which `validate` and `explain` never connect for).
pub struct Feed {
    reader: Option<Box<dyn StreamReader>>,
    opener: Option<Opener>,
}

impl Feed {
    pub fn new(reader: Box<dyn StreamReader>) -> Arc<Mutex<Feed>> {
        Arc::new(Mutex::new(Feed {
            reader: Some(reader),
            opener: None,
        }))
    }

    pub fn lazy(opener: Opener) -> Arc<Mutex<Feed>> {
        Arc::new(Mutex::new(Feed {
            reader: None,
            opener: Some(opener),
        }))
    }

    /// The reader, opened now if it is not yet.
    pub async fn reader(&mut self) -> Result<&mut Box<dyn StreamReader>> {
        if self.reader.is_none()
            && let Some(open) = self.opener.take()
        {
            self.reader = Some(open().await?);
        }
        self.reader
            .as_mut()
            .ok_or_else(|| DataFusionError::Internal("the stream reader failed to open".into()))
    }
}

/// When one scan ends.
#[derive(Debug, Clone)]
pub struct Cut {
    /// The epoch's end by the clock.
    pub deadline: Instant,
    /// The most records the epoch takes.
    pub max_rows: u64,
    /// End early when nothing came for this long (previews).
    pub idle: Option<Duration>,
    /// The job is stopping: end the epoch now and commit it.
    pub stop: CancellationToken,
    /// Rows per batch asked of the reader.
    pub batch_rows: usize,
    /// Where the input's bad records go.
    pub rejects: StageRejects,
}

/// One scan of the feed, as a DataFusion partition stream.
#[derive(Debug)]
pub struct EpochScan {
    schema: SchemaRef,
    feed: Arc<Mutex<Feed>>,
    cut: Cut,
    epoch: Option<Arc<Epoch>>,
    rows: Arc<AtomicU64>,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed").finish_non_exhaustive()
    }
}

/// The stream input as a table for one epoch: its scan reads the feed until `cut`, then
/// gives the reader's spans to `epoch`; `rows` counts what it read.
pub fn epoch_table(
    schema: SchemaRef,
    feed: Arc<Mutex<Feed>>,
    cut: Cut,
    epoch: Option<Arc<Epoch>>,
    rows: Arc<AtomicU64>,
) -> Result<Arc<dyn TableProvider>> {
    let scan = EpochScan {
        schema: schema.clone(),
        feed,
        cut,
        epoch,
        rows,
    };
    Ok(Arc::new(StreamingTable::try_new(
        schema,
        vec![Arc::new(scan)],
    )?))
}

/// Where a scan is.
struct ScanState {
    feed: Arc<Mutex<Feed>>,
    guard: Option<OwnedMutexGuard<Feed>>,
    cut: Cut,
    epoch: Option<Arc<Epoch>>,
    rows: Arc<AtomicU64>,
    taken: u64,
    last_record: Instant,
    done: bool,
}

impl PartitionStream for EpochScan {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let state = ScanState {
            feed: self.feed.clone(),
            guard: None,
            cut: self.cut.clone(),
            epoch: self.epoch.clone(),
            rows: self.rows.clone(),
            taken: 0,
            last_record: Instant::now(),
            done: false,
        };
        // The scan reads and decodes in a task of its own, a batch or two ahead of the
        // plan, so that the next batch is decoded while the output encodes the last. The
        // epoch ends when the task does: the state (the feed's lock) drops before the
        // sender.
        let mut builder = RecordBatchReceiverStream::builder(self.schema.clone(), READ_AHEAD);
        let tx = builder.tx();
        builder.spawn(async move {
            let mut state = state;
            while let Some(batch) = state.next().await {
                if tx.send(batch).await.is_err() {
                    break;
                }
            }
            drop(state);
            Ok(())
        });
        builder.build()
    }
}

impl ScanState {
    /// The next batch of the epoch; `None` once it is cut (the spans are then handed over).
    /// The reader's calls are never cancelled midway: the stop signal is looked at between
    /// them, at least every [`POLL`].
    async fn next(&mut self) -> Option<Result<RecordBatch>> {
        if self.done {
            return None;
        }
        if self.guard.is_none() {
            self.guard = Some(self.feed.clone().lock_owned().await);
        }
        loop {
            let now = Instant::now();
            let idle_over = self
                .cut
                .idle
                .is_some_and(|idle| now.duration_since(self.last_record) >= idle);
            if self.taken >= self.cut.max_rows
                || now >= self.cut.deadline
                || idle_over
                || self.cut.stop.is_cancelled()
            {
                return self.finish();
            }
            let wait = self.cut.deadline.duration_since(now).min(POLL);
            let want = (self.cut.max_rows - self.taken).min(self.cut.batch_rows as u64) as usize;
            let feed = self.guard.as_mut()?;
            let reader = match feed.reader().await {
                Ok(r) => r,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            match reader
                .next_batch(want.max(1), wait, &self.cut.rejects)
                .await
            {
                Ok(Some(batch)) if batch.num_rows() > 0 => return Some(Ok(self.took(batch))),
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }

    fn took(&mut self, batch: RecordBatch) -> RecordBatch {
        self.taken += batch.num_rows() as u64;
        self.rows
            .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        self.last_record = Instant::now();
        batch
    }

    fn finish(&mut self) -> Option<Result<RecordBatch>> {
        self.done = true;
        self.hand_over();
        None
    }

    /// Gives the epoch the spans of what this scan read, and the reader back to the feed.
    fn hand_over(&mut self) {
        if let (Some(epoch), Some(Some(reader))) =
            (&self.epoch, self.guard.as_ref().map(|f| f.reader.as_ref()))
        {
            epoch.set_spans(reader.epoch());
        }
        self.guard = None;
    }
}

impl Drop for ScanState {
    /// A plan that stops reading early (a `LIMIT`) still hands over what it took.
    fn drop(&mut self) {
        self.hand_over();
    }
}
