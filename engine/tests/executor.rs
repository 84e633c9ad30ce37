//! Executor behaviour with in-test sources and sinks: backpressure from a slow sink keeps
//! the buffer bounded, a memory limit makes a sort spill instead of failing, and
//! cancellation rolls the sink back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder, col};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::SessionContext;
use fust_config::JobSpec;
use fust_engine::{
    CancellationToken, CompiledJob, Error, Pending, Processor, Published, RunStats, Sink,
    SinkSummary, Source,
};
use futures::StreamExt;

const ROWS_PER_BATCH: usize = 8192;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]))
}

/// Produces `batches` batches lazily (only when polled), counting how many it made.
#[derive(Debug)]
struct Generator {
    batches: usize,
    produced: Arc<AtomicUsize>,
    /// Values descend (a sort must reorder everything).
    descending: bool,
}

impl PartitionStream for Generator {
    fn schema(&self) -> &SchemaRef {
        static S: std::sync::OnceLock<SchemaRef> = std::sync::OnceLock::new();
        S.get_or_init(schema)
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (produced, descending, n) = (self.produced.clone(), self.descending, self.batches);
        let stream = futures::stream::iter(0..n).map(move |i| {
            produced.fetch_add(1, Ordering::SeqCst);
            let start = (i * ROWS_PER_BATCH) as i64;
            let values: Vec<i64> = (0..ROWS_PER_BATCH as i64)
                .map(|j| if descending { -(start + j) } else { start + j })
                .collect();
            Ok(RecordBatch::try_new(
                schema(),
                vec![Arc::new(Int64Array::from(values))],
            )?)
        });
        Box::pin(RecordBatchStreamAdapter::new(schema(), stream))
    }
}

#[derive(Debug)]
struct GenSource(Arc<Generator>);

#[async_trait]
impl Source for GenSource {
    async fn table(&self, _ctx: &SessionContext) -> Result<Arc<dyn TableProvider>> {
        Ok(Arc::new(StreamingTable::try_new(
            schema(),
            vec![self.0.clone()],
        )?))
    }

    fn describe(&self) -> String {
        "generator".into()
    }
}

/// Consumes slowly and records the most batches that were produced but not yet consumed.
#[derive(Debug, Default)]
struct SlowSink {
    delay_ms: u64,
    produced: Arc<AtomicUsize>,
    max_in_flight: AtomicUsize,
    rows: AtomicU64,
    sorted: AtomicBool,
    saw_error: AtomicBool,
}

#[async_trait]
impl Sink for SlowSink {
    async fn prepare(
        &self,
        mut stream: SendableRecordBatchStream,
        _ctx: &SessionContext,
    ) -> Result<Box<dyn Pending>> {
        let mut consumed = 0usize;
        let mut last = i64::MIN;
        let mut sorted = true;
        while let Some(batch) = stream.next().await {
            let batch = match batch {
                Ok(b) => b,
                Err(e) => {
                    self.saw_error.store(true, Ordering::SeqCst);
                    return Err(e);
                }
            };
            consumed += 1;
            let in_flight = self
                .produced
                .load(Ordering::SeqCst)
                .saturating_sub(consumed);
            self.max_in_flight.fetch_max(in_flight, Ordering::SeqCst);
            let v = batch
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .expect("int64");
            for i in 0..v.len() {
                sorted &= v.value(i) >= last;
                last = v.value(i);
            }
            self.rows
                .fetch_add(batch.num_rows() as u64, Ordering::SeqCst);
            if self.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(self.delay_ms)).await;
            }
        }
        self.sorted.store(sorted, Ordering::SeqCst);
        Ok(Box::new(Published(SinkSummary {
            rows: self.rows.load(Ordering::SeqCst),
            bytes: 0,
            target: "test".into(),
        })))
    }
}

#[derive(Debug)]
struct SortProcessor;

#[async_trait]
impl Processor for SortProcessor {
    async fn plan(&self, input: Option<LogicalPlan>, _ctx: &SessionContext) -> Result<LogicalPlan> {
        LogicalPlanBuilder::from(input.expect("input"))
            .sort(vec![col("v").sort(true, false)])?
            .build()
    }
}

fn job(settings: &str, generator: Arc<Generator>, sink: Arc<SlowSink>, sort: bool) -> CompiledJob {
    let text = format!("input: {{type: gen}}\noutput: {{type: slow}}\nsettings: {settings}\n");
    let spec = JobSpec::from_str(&text, "test.yaml").expect("job parses");
    CompiledJob {
        spec,
        inputs: vec![(
            "input".into(),
            Arc::new(GenSource(generator)) as Arc<dyn Source>,
        )],
        processors: if sort {
            vec![(
                "pipeline.processors[0]".into(),
                Arc::new(SortProcessor) as Arc<dyn Processor>,
            )]
        } else {
            Vec::new()
        },
        sinks: vec![("output".into(), sink as Arc<dyn Sink>)],
        dead_letter: None,
        state: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_sink_bounds_the_buffer() {
    let produced = Arc::new(AtomicUsize::new(0));
    let batches = 300; // ~19 MiB of data through a 1 MiB buffer
    let generator = Arc::new(Generator {
        batches,
        produced: produced.clone(),
        descending: false,
    });
    let sink = Arc::new(SlowSink {
        delay_ms: 2,
        produced,
        ..Default::default()
    });
    let compiled = job("{sink_buffer: 1MB}", generator, sink.clone(), false);
    let summary = compiled
        .run(RunStats::new(), CancellationToken::new())
        .await
        .expect("run succeeds");
    let batch_bytes = 8 * ROWS_PER_BATCH as u64; // 64 KiB of values per batch
    assert_eq!(summary.rows_out, (batches * ROWS_PER_BATCH) as u64);
    assert_eq!(sink.rows.load(Ordering::SeqCst), summary.rows_out);
    // The channel never held more than its 1 MiB bound (plus one batch of rounding).
    assert!(
        summary.max_buffered_bytes <= (1 << 20) + batch_bytes + 4096,
        "buffered {} bytes",
        summary.max_buffered_bytes
    );
    let cap_batches = ((1u64 << 20) / batch_bytes) as usize;
    assert!(
        summary.max_buffered_batches as usize <= cap_batches + 1,
        "{summary:?}"
    );
    // The source ran ahead of the sink by at most the buffer plus what is in the hands of
    // the producer task and the sink: a slow sink slowed the source.
    let in_flight = sink.max_in_flight.load(Ordering::SeqCst);
    assert!(
        in_flight <= cap_batches + 4,
        "source ran {in_flight} batches ahead of the sink"
    );
    assert!(
        in_flight >= cap_batches / 2,
        "the test did not fill the buffer ({in_flight})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_limit_spills_a_sort() {
    let produced = Arc::new(AtomicUsize::new(0));
    let batches = 250; // 2,048,000 rows, ~16 MiB of values, sorted under a 4 MiB limit
    let generator = Arc::new(Generator {
        batches,
        produced: produced.clone(),
        descending: true,
    });
    let sink = Arc::new(SlowSink {
        produced,
        ..Default::default()
    });
    let compiled = job(
        "{memory_limit: 4MB, parallelism: 1}",
        generator,
        sink.clone(),
        true,
    );
    let summary = compiled
        .run(RunStats::new(), CancellationToken::new())
        .await
        .expect("a sort larger than the memory limit spills and succeeds");
    assert_eq!(summary.rows_out, (batches * ROWS_PER_BATCH) as u64);
    assert!(sink.sorted.load(Ordering::SeqCst), "output is sorted");
    assert!(summary.spilled_bytes > 0, "the sort spilled: {summary:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_rolls_back_the_sink() {
    let produced = Arc::new(AtomicUsize::new(0));
    let generator = Arc::new(Generator {
        batches: 100_000,
        produced: produced.clone(),
        descending: false,
    });
    let sink = Arc::new(SlowSink {
        delay_ms: 1,
        produced,
        ..Default::default()
    });
    let compiled = job("{}", generator, sink.clone(), false);
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    let canceller = async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        c.cancel();
    };
    let (result, ()) = tokio::join!(compiled.run(RunStats::new(), cancel), canceller);
    let err = result.expect_err("cancelled");
    assert!(matches!(err, Error::Cancelled), "{err}");
    assert!(
        sink.saw_error.load(Ordering::SeqCst),
        "the sink saw the failure and rolled back"
    );
    assert!(sink.rows.load(Ordering::SeqCst) < 100_000 * ROWS_PER_BATCH as u64);
}
