//! A channel bounded by bytes between the plan's partitions and the sink. A full channel
//! makes the senders wait, which pauses the partitions and so the sources: backpressure.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::RecordBatchStream;
use futures::Stream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

/// Permits are counted in KiB so that a u32 covers any sane buffer.
const UNIT: u64 = 1024;

/// How full the channel has been: now and at worst.
#[derive(Debug, Default)]
pub struct BufferGauge {
    bytes: AtomicU64,
    batches: AtomicU64,
    max_bytes: AtomicU64,
    max_batches: AtomicU64,
}

impl BufferGauge {
    fn add(&self, bytes: u64) {
        let b = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let n = self.batches.fetch_add(1, Ordering::Relaxed) + 1;
        self.max_bytes.fetch_max(b, Ordering::Relaxed);
        self.max_batches.fetch_max(n, Ordering::Relaxed);
    }

    fn sub(&self, bytes: u64) {
        self.bytes.fetch_sub(bytes, Ordering::Relaxed);
        self.batches.fetch_sub(1, Ordering::Relaxed);
    }

    /// The most bytes that were buffered at once.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes.load(Ordering::Relaxed)
    }

    /// The most batches that were buffered at once.
    pub fn max_batches(&self) -> u64 {
        self.max_batches.load(Ordering::Relaxed)
    }
}

struct Item {
    batch: DfResult<RecordBatch>,
    bytes: u64,
    _permit: Option<OwnedSemaphorePermit>,
}

/// The sending side; cheap to clone, one per partition task.
#[derive(Clone)]
pub struct BatchSender {
    tx: mpsc::UnboundedSender<Item>,
    permits: Arc<Semaphore>,
    capacity_units: u32,
    gauge: Arc<BufferGauge>,
}

/// The receiving side, as a record batch stream for the sink.
pub struct BatchReceiver {
    rx: mpsc::UnboundedReceiver<Item>,
    schema: SchemaRef,
    gauge: Arc<BufferGauge>,
}

/// A channel that holds at most `capacity` bytes of batches (and always at least one
/// batch, however large, so a huge batch cannot deadlock it).
pub fn channel(schema: SchemaRef, capacity: u64) -> (BatchSender, BatchReceiver, Arc<BufferGauge>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let units = (capacity / UNIT).clamp(1, u32::MAX as u64 / 2) as u32;
    let gauge = Arc::new(BufferGauge::default());
    (
        BatchSender {
            tx,
            permits: Arc::new(Semaphore::new(units as usize)),
            capacity_units: units,
            gauge: gauge.clone(),
        },
        BatchReceiver {
            rx,
            schema,
            gauge: gauge.clone(),
        },
        gauge,
    )
}

impl BatchSender {
    /// Sends a batch, waiting while the channel is full. `false` when the receiver is gone.
    pub async fn send(&self, batch: RecordBatch) -> bool {
        let bytes = batch.get_array_memory_size() as u64;
        let units = (bytes / UNIT).clamp(1, self.capacity_units as u64) as u32;
        let Ok(permit) = self.permits.clone().acquire_many_owned(units).await else {
            return false;
        };
        self.gauge.add(bytes);
        let item = Item {
            batch: Ok(batch),
            bytes,
            _permit: Some(permit),
        };
        match self.tx.send(item) {
            Ok(()) => true,
            Err(e) => {
                self.gauge.sub(e.0.bytes);
                false
            }
        }
    }

    /// Sends an error; the sink sees it and rolls back.
    pub fn send_error(&self, e: DataFusionError) {
        self.gauge.add(0);
        let _ = self.tx.send(Item {
            batch: Err(e),
            bytes: 0,
            _permit: None,
        });
    }
}

impl Stream for BatchReceiver {
    type Item = DfResult<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(item)) => {
                self.gauge.sub(item.bytes);
                // The permit drops here: the batch now belongs to the sink.
                Poll::Ready(Some(item.batch))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl RecordBatchStream for BatchReceiver {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}
