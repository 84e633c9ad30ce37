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
use datafusion::common::runtime::SpawnedTask;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use futures::future::BoxFuture;
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc};
use tokio_util::sync::CancellationToken;

use crate::plugin::stream::{Epoch, StreamReader, Taken};
use crate::rejects::StageRejects;

/// Longest a scan waits for records before it looks at the clock and the stop signal again.
const POLL: Duration = Duration::from_millis(200);
/// Batches a scan may read (and decode) ahead of the plan.
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
    /// Records taken in this epoch (bad ones included).
    taken: u64,
    last_record: Instant,
    done: bool,
}

impl PartitionStream for EpochScan {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let mut state = ScanState {
            feed: self.feed.clone(),
            guard: None,
            cut: self.cut.clone(),
            epoch: self.epoch.clone(),
            taken: 0,
            last_record: Instant::now(),
            done: false,
        };
        // The scan reads in a task of its own and decodes each batch in another, up to
        // READ_AHEAD batches ahead of the plan: reading, decoding and the output's encoding
        // use the cores together. The batches reach the plan in the order they were read.
        // The epoch ends when the reading task does: the state (the feed's lock) drops
        // before the sender.
        let (tx, rx) = mpsc::channel::<SpawnedTask<Result<RecordBatch>>>(READ_AHEAD);
        let reading = SpawnedTask::spawn(async move {
            while let Some(taken) = state.next().await {
                let decode = match taken {
                    Ok(taken) => SpawnedTask::spawn(taken.decode),
                    Err(e) => SpawnedTask::spawn(async move { Err(e) }),
                };
                if tx.send(decode).await.is_err() {
                    break;
                }
            }
            drop(state);
        });
        let rows = self.rows.clone();
        let batches = futures::stream::unfold((rx, Some(reading)), move |(mut rx, mut reading)| {
            let rows = rows.clone();
            async move {
                let joined = match rx.recv().await {
                    Some(decode) => decode.join().await,
                    // Read to the end; a reading task that panicked says so once.
                    None => Err(reading.take()?.join().await.err()?),
                };
                let result = joined
                    .map_err(|e| DataFusionError::ExecutionJoin(Box::new(e)))
                    .and_then(|r| r);
                if let Ok(batch) = &result {
                    rows.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
                }
                Some((result, (rx, reading)))
            }
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), batches))
    }
}

impl ScanState {
    /// The next records of the epoch; `None` once it is cut (the spans are then handed
    /// over). The reader's calls are never cancelled midway: the stop signal is looked at
    /// between them, at least every [`POLL`].
    async fn next(&mut self) -> Option<Result<Taken>> {
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
                Ok(Some(taken)) if taken.records > 0 => {
                    self.taken += taken.records as u64;
                    self.last_record = Instant::now();
                    return Some(Ok(taken));
                }
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }

    fn finish(&mut self) -> Option<Result<Taken>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use datafusion::arrow::array::{AsArray, Int64Array};
    use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
    use datafusion::prelude::SessionContext;

    use crate::plugin::stream::Span;

    /// Hands out `batches` batches of `ROWS` numbered rows, each decoded after a delay
    /// that shrinks with its number: decoded in parallel, they finish in reverse order.
    struct Reader {
        schema: SchemaRef,
        next: i64,
        batches: i64,
        fail_at: Option<i64>,
    }

    const ROWS: i64 = 3;

    #[async_trait]
    impl StreamReader for Reader {
        fn schema(&self) -> SchemaRef {
            self.schema.clone()
        }

        async fn next_batch(
            &mut self,
            _max_rows: usize,
            _wait: Duration,
            _rejects: &StageRejects,
        ) -> Result<Option<Taken>> {
            if self.next == self.batches {
                return Ok(None);
            }
            let (n, schema, fail) = (
                self.next,
                self.schema.clone(),
                self.fail_at == Some(self.next),
            );
            self.next += 1;
            let delay = Duration::from_millis(((self.batches - n) * 20) as u64);
            Ok(Some(Taken {
                records: ROWS as usize,
                decode: Box::pin(async move {
                    tokio::time::sleep(delay).await;
                    if fail {
                        return Err(DataFusionError::Execution(format!("batch {n} is bad")));
                    }
                    let ids = Int64Array::from_iter_values(n * ROWS..(n + 1) * ROWS);
                    Ok(RecordBatch::try_new(schema, vec![Arc::new(ids)])?)
                }),
            }))
        }

        async fn ready(&mut self, _wait: Duration) -> Result<bool> {
            Ok(self.next < self.batches)
        }

        fn epoch(&self) -> Vec<Span> {
            Vec::new()
        }

        async fn committed(&mut self) -> Result<()> {
            Ok(())
        }

        async fn rewind(&mut self) -> Result<()> {
            Ok(())
        }
    }

    async fn scan(batches: i64, fail_at: Option<i64>) -> (Result<Vec<i64>>, u64) {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let reader = Reader {
            schema: schema.clone(),
            next: 0,
            batches,
            fail_at,
        };
        let cut = Cut {
            deadline: Instant::now() + Duration::from_secs(30),
            max_rows: (batches * ROWS) as u64,
            idle: None,
            stop: CancellationToken::new(),
            batch_rows: ROWS as usize,
            rejects: StageRejects::discard(),
        };
        let rows = Arc::new(AtomicU64::new(0));
        let table = epoch_table(schema, Feed::new(Box::new(reader)), cut, None, rows.clone())
            .expect("table");
        let ctx = SessionContext::new();
        let ids = match ctx.read_table(table).expect("read").collect().await {
            Ok(batches) => Ok(batches
                .iter()
                .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
                .collect()),
            Err(e) => Err(e),
        };
        (ids, rows.load(Ordering::Relaxed))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batches_decoded_out_of_order_reach_the_plan_in_order() {
        let (ids, rows) = scan(6, None).await;
        assert_eq!(ids.expect("scan"), (0..18).collect::<Vec<i64>>());
        assert_eq!(rows, 18);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_that_fails_to_decode_fails_the_scan() {
        let (ids, _) = scan(4, Some(2)).await;
        let err = ids.expect_err("batch 2 fails");
        assert!(err.to_string().contains("batch 2 is bad"), "{err}");
    }
}
