//! Runs a compiled job: one DataFusion plan, its partitions executed in parallel, their
//! batches streamed through a byte-bounded channel into the sink.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::{Expr, LogicalPlan, lit, not};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};
use datafusion::prelude::{DataFrame, SessionContext};
use fust_config::{MAIN_INPUT, MAIN_OUTPUT};
use futures::{FutureExt, StreamExt};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, field};

use crate::channel::{BufferGauge, channel};
use crate::error::{Cancelled, Error, Result};
use crate::plugin::SinkSummary;
use crate::registry::CompiledJob;
use crate::rejects::{RejectCounts, Rejects, for_stage};
use crate::session::session;
use crate::stream::StreamStatus;

/// Live counters of a run, read by progress reporting while it runs.
#[derive(Default)]
pub struct RunStats {
    rows_out: AtomicU64,
    bytes_out: AtomicU64,
    plan: Mutex<Option<Arc<dyn ExecutionPlan>>>,
    /// Stream jobs: records of the committed epochs, and the stream's progress.
    stream_rows: AtomicU64,
    stream: Mutex<Option<StreamStatus>>,
}

impl RunStats {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Rows that reached the sink so far.
    pub fn rows_out(&self) -> u64 {
        self.rows_out.load(Ordering::Relaxed)
    }

    /// Arrow bytes that reached the sink so far.
    pub fn bytes_out(&self) -> u64 {
        self.bytes_out.load(Ordering::Relaxed)
    }

    /// Rows the sources have produced so far (from the scans' metrics).
    pub fn rows_in(&self) -> u64 {
        let plan = self.plan.lock().ok().and_then(|p| p.clone());
        self.stream_rows.load(Ordering::Relaxed) + plan.map_or(0, |p| leaf_rows(p.as_ref()))
    }

    /// A stream job's progress: epochs, last commit, lag. `None` for batch jobs.
    pub fn stream(&self) -> Option<StreamStatus> {
        self.stream.lock().ok().and_then(|s| s.clone())
    }

    fn with_stream(&self, f: impl FnOnce(&mut StreamStatus)) {
        if let Ok(mut s) = self.stream.lock() {
            f(s.get_or_insert_with(StreamStatus::default));
        }
    }

    pub(crate) fn set_lag(&self, lag: Vec<(String, u64)>) {
        self.with_stream(|s| s.lag = lag);
    }

    /// An epoch of `rows` records committed, `took` after its first record.
    pub(crate) fn committed(&self, rows: u64, took: Duration) {
        if let Ok(mut p) = self.plan.lock() {
            *p = None;
        }
        self.stream_rows.fetch_add(rows, Ordering::Relaxed);
        self.with_stream(|s| {
            s.epochs += 1;
            s.last_commit = Some(std::time::SystemTime::now());
            s.last_epoch = Some(took);
        });
    }

    /// Late records of a windowed aggregate.
    pub(crate) fn late(&self, n: u64) {
        if n > 0 {
            self.with_stream(|s| s.late_records += n);
        }
    }

    pub(crate) fn conflict(&self) {
        if let Ok(mut p) = self.plan.lock() {
            *p = None;
        }
        self.with_stream(|s| s.conflicts += 1);
    }
}

/// The metric a scan reports when it reads more rows than it outputs (a filter applied
/// inside the scan): the rows it read, which the summary counts as rows in.
pub const ROWS_READ: &str = "rows_read";

fn leaf_rows(plan: &dyn ExecutionPlan) -> u64 {
    let children = plan.children();
    if children.is_empty() {
        plan.metrics()
            .and_then(|m| {
                m.sum_by_name(ROWS_READ)
                    .map(|v| v.as_usize())
                    .or_else(|| m.output_rows())
            })
            .unwrap_or(0) as u64
    } else {
        children.iter().map(|c| leaf_rows(c.as_ref())).sum()
    }
}

/// Bytes spilled to disk by sorts, joins and aggregates anywhere in the plan.
fn spilled_bytes(plan: &dyn ExecutionPlan) -> u64 {
    let own = plan.metrics().and_then(|m| m.spilled_bytes()).unwrap_or(0) as u64;
    own + plan
        .children()
        .iter()
        .map(|c| spilled_bytes(c.as_ref()))
        .sum::<u64>()
}

/// What a finished run did.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub rows_in: u64,
    pub rows_out: u64,
    /// Bytes the sources read, when they know (file sizes).
    pub bytes_in: Option<u64>,
    /// Bytes the sink wrote (file size), or the Arrow size of the output.
    pub bytes_out: u64,
    pub elapsed: Duration,
    pub target: String,
    /// The most bytes and batches that waited for the sink at once.
    pub max_buffered_bytes: u64,
    pub max_buffered_batches: u64,
    /// Bytes spilled to disk under `settings.memory_limit`.
    pub spilled_bytes: u64,
    /// What each output wrote, by name, in the job file's order.
    pub outputs: Vec<(String, SinkSummary)>,
    /// Bad records skipped or sent to `dead_letter:` (`settings.on_error`).
    pub bad_records: RejectCounts,
    /// What the `dead_letter:` output wrote.
    pub dead_letter: Option<SinkSummary>,
}

impl CompiledJob {
    /// The DataFusion session for this job's settings.
    pub fn session(&self) -> Result<SessionContext> {
        session(&self.spec.settings, self.state.clone())
    }

    /// Registers the inputs and applies every processor: the job as one logical plan.
    pub async fn dataframe(&self, ctx: &SessionContext) -> Result<DataFrame> {
        self.register_inputs(ctx).await?;
        let mut plan: Option<LogicalPlan> = None;
        if self.inputs.iter().any(|(n, _)| n == MAIN_INPUT) {
            let df = ctx
                .table(MAIN_INPUT)
                .await
                .map_err(|e| Error::datafusion("input", e))?;
            plan = Some(df.into_unoptimized_plan());
        }
        self.apply_processors(ctx, plan, 0..self.processors.len())
            .await
    }

    /// Registers every input as a table under its name.
    pub(crate) async fn register_inputs(&self, ctx: &SessionContext) -> Result<()> {
        for (name, source) in &self.inputs {
            let context = input_context(name);
            let table = match source.stream() {
                Some(_) => self.peek_table(ctx, name, source).await?,
                None => source
                    .table(&for_stage(ctx, &context))
                    .await
                    .map_err(|e| Error::datafusion(&context, e))?,
            };
            ctx.register_table(name.as_str(), table)
                .map_err(|e| Error::datafusion(&context, e))?;
        }
        Ok(())
    }

    /// Applies the processors `stages` to `plan` (each sees the plan so far as `input`).
    pub(crate) async fn apply_processors(
        &self,
        ctx: &SessionContext,
        mut plan: Option<LogicalPlan>,
        stages: std::ops::Range<usize>,
    ) -> Result<DataFrame> {
        for i in stages {
            let (path, processor) = &self.processors[i];
            if i > 0
                && let Some(p) = &plan
            {
                let view = DataFrame::new(ctx.state(), p.clone()).into_view();
                ctx.deregister_table(MAIN_INPUT)
                    .map_err(|e| Error::datafusion(path, e))?;
                ctx.register_table(MAIN_INPUT, view)
                    .map_err(|e| Error::datafusion(path, e))?;
            }
            plan = Some(
                processor
                    .plan(plan.take(), &for_stage(ctx, path))
                    .await
                    .map_err(|e| Error::datafusion(path, e))?,
            );
        }
        let plan = plan.ok_or_else(|| {
            Error::user(
                "pipeline",
                "there is no input called `input` and no processor to combine the named inputs",
            )
        })?;
        Ok(DataFrame::new(ctx.state(), plan))
    }

    /// Plans the job without running it (checks columns, types and SQL against the
    /// inputs' schemas); returns the optimized logical plan.
    pub async fn plan(&self) -> Result<LogicalPlan> {
        let ctx = self.session()?;
        let df = self.dataframe(&ctx).await?;
        df.into_optimized_plan()
            .map_err(|e| Error::datafusion("planning the job", e))
    }

    /// The optimized logical plan and the physical plan, as text.
    pub async fn explain(&self) -> Result<String> {
        let ctx = self.session()?;
        let df = self.dataframe(&ctx).await?;
        let batches = df
            .explain(false, false)
            .map_err(|e| Error::datafusion("explain", e))?
            .collect()
            .await
            .map_err(|e| Error::datafusion("explain", e))?;
        let mut out = String::new();
        for batch in &batches {
            let kinds = batch.column(0);
            let plans = batch.column(1);
            let kinds = datafusion::arrow::array::as_string_array(kinds);
            let plans = datafusion::arrow::array::as_string_array(plans);
            for i in 0..batch.num_rows() {
                out.push_str(&format!("== {} ==\n{}\n\n", kinds.value(i), plans.value(i)));
            }
        }
        Ok(out.trim_end().to_string())
    }

    /// The first `limit` rows of the output, without writing anything.
    pub async fn preview(&self, limit: usize) -> Result<Vec<RecordBatch>> {
        let ctx = self.session()?;
        let df = self.dataframe(&ctx).await?;
        df.limit(0, Some(limit))
            .map_err(|e| Error::datafusion("preview", e))?
            .collect()
            .await
            .map_err(|e| Error::datafusion("pipeline", e))
    }

    /// [`preview`](Self::preview) as a text table.
    pub async fn preview_table(&self, limit: usize) -> Result<String> {
        let batches = self.preview(limit).await?;
        pretty_format_batches(&batches)
            .map(|t| t.to_string())
            .map_err(|e| Error::datafusion("preview", e.into()))
    }

    /// Runs the job to the end, or until `cancel` fires (then nothing is published).
    ///
    /// Traced as a `fust.run` span (job name, rows in and out, bytes out, error) with a
    /// child per stage: `fust.plan`, `fust.execute` (the partitions streaming into the sink,
    /// with their row counts) and `fust.commit`.
    pub async fn run(&self, stats: Arc<RunStats>, cancel: CancellationToken) -> Result<RunSummary> {
        let span = tracing::info_span!(
            "fust.run",
            job = self.spec.name.as_deref().unwrap_or(""),
            rows_in = field::Empty,
            rows_out = field::Empty,
            bytes_out = field::Empty,
            error = field::Empty,
        );
        let result = async {
            tracing::info!(
                inputs = self.inputs.len(),
                processors = self.processors.len(),
                "Run started"
            );
            let result = match self.is_stream() {
                true => self.run_stream(stats, cancel).await,
                false => self.run_stages(stats, cancel).await,
            };
            match &result {
                Ok(s) => tracing::info!(
                    rows_in = s.rows_in,
                    rows_out = s.rows_out,
                    bytes_out = s.bytes_out,
                    elapsed_ms = s.elapsed.as_millis() as u64,
                    target = %s.target,
                    "Run finished"
                ),
                Err(e) => tracing::info!(error = %e, "Run failed; nothing was published"),
            }
            result
        }
        .instrument(span.clone())
        .await;
        match &result {
            Ok(s) => {
                span.record("rows_in", s.rows_in);
                span.record("rows_out", s.rows_out);
                span.record("bytes_out", s.bytes_out);
            }
            Err(e) => {
                span.record("error", e.to_string());
            }
        }
        result
    }

    async fn run_stages(
        &self,
        stats: Arc<RunStats>,
        cancel: CancellationToken,
    ) -> Result<RunSummary> {
        let ctx = self.session()?;
        self.run_planned(&ctx, stats, cancel).await
    }

    /// Plans the job in `ctx`, runs it into the sinks and commits them (a batch run, or one
    /// epoch of a stream run).
    pub(crate) async fn run_planned(
        &self,
        ctx: &SessionContext,
        stats: Arc<RunStats>,
        cancel: CancellationToken,
    ) -> Result<RunSummary> {
        self.run_planned_df(ctx, None, stats, cancel).await
    }

    /// [`run_planned`](Self::run_planned) of the plan `df` when given (a stream job's
    /// window emission), else of the whole job.
    pub(crate) async fn run_planned_df(
        &self,
        ctx: &SessionContext,
        df: Option<DataFrame>,
        stats: Arc<RunStats>,
        cancel: CancellationToken,
    ) -> Result<RunSummary> {
        let started = Instant::now();
        let planning = tracing::info_span!(
            "fust.plan",
            inputs = self.inputs.len(),
            processors = self.processors.len()
        );
        let (plan, routes) = async {
            let df = match df {
                Some(df) => df,
                None => self.dataframe(ctx).await?,
            };
            let routes = self.route_filters(ctx, &df)?;
            let plan = df
                .create_physical_plan()
                .await
                .map_err(|e| Error::datafusion("planning the job", e))?;
            Ok::<_, Error>((plan, routes))
        }
        .instrument(planning)
        .await?;
        if let Ok(mut p) = stats.plan.lock() {
            *p = Some(plan.clone());
        }
        let executing = tracing::info_span!(
            "fust.execute",
            partitions = plan.output_partitioning().partition_count(),
            rows_in = field::Empty,
            rows_out = field::Empty,
        );
        let (result, gauges) = self
            .stream_to_sinks(ctx, plan.clone(), routes, &stats, cancel)
            .instrument(executing.clone())
            .await;
        executing.record("rows_in", leaf_rows(plan.as_ref()));
        executing.record("rows_out", stats.rows_out());
        let mut outputs = result?;
        // The dead-letter output commits last.
        let dead_letter = match self.dead_letter {
            Some(_) => outputs.pop().map(|(_, s)| s),
            None => None,
        };
        let bad_records = Rejects::of(ctx).map(|r| r.counts()).unwrap_or_default();
        async {
            for (name, source) in &self.inputs {
                source.commit().await.map_err(|e| {
                    Error::datafusion(format!("{} (saving its state)", input_context(name)), e)
                })?;
            }
            Ok::<_, Error>(())
        }
        .instrument(tracing::info_span!(
            "fust.commit",
            inputs = self.inputs.len()
        ))
        .await?;
        let mut bytes_in = None;
        for (_, source) in &self.inputs {
            if let Some(b) = source.input_bytes(ctx).await {
                *bytes_in.get_or_insert(0) += b;
            }
        }
        let written: u64 = outputs.iter().map(|(_, s)| s.bytes).sum();
        let (rows_out, target) = match outputs.as_slice() {
            [(_, only)] => (only.rows, only.target.clone()),
            all => (
                stats.rows_out(),
                all.iter()
                    .map(|(name, s)| format!("{name}: {} ({} rows)", s.target, s.rows))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        };
        Ok(RunSummary {
            rows_in: leaf_rows(plan.as_ref()),
            rows_out,
            bytes_in,
            bytes_out: if written > 0 {
                written
            } else {
                stats.bytes_out()
            },
            elapsed: started.elapsed(),
            target,
            max_buffered_bytes: gauges.iter().map(|g| g.max_bytes()).sum(),
            max_buffered_batches: gauges.iter().map(|g| g.max_batches()).sum(),
            spilled_bytes: spilled_bytes(plan.as_ref()),
            outputs,
            bad_records,
            dead_letter,
        })
    }

    /// Per output, the records a `route` processor gives it, as a filter on the pipeline's
    /// batches (`None`: every record).
    fn route_filters(&self, ctx: &SessionContext, df: &DataFrame) -> Result<Vec<Route>> {
        let Some((path, routes)) = self
            .processors
            .last()
            .and_then(|(path, p)| Some((path, p.routes()?)))
        else {
            return Ok(vec![None; self.sinks.len()]);
        };
        let mut conditions = Vec::new();
        for (name, sql) in &routes.routes {
            crate::sql_text::check(sql).map_err(|e| Error::datafusion(path, e))?;
            let e = df
                .parse_sql_expr(sql)
                .map_err(|e| Error::datafusion(path, e))?;
            // A NULL condition does not take the route.
            conditions.push((name.as_str(), e.is_true()));
        }
        let taken = conditions.iter().map(|(_, e)| e.clone()).reduce(Expr::or);
        self.sinks
            .iter()
            .map(|(name, _)| {
                let mut takes: Vec<Expr> = conditions
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, e)| e.clone())
                    .collect();
                if routes.default.as_deref() == Some(name.as_str()) {
                    takes.push(taken.clone().map_or(lit(true), not));
                }
                let e = takes.into_iter().reduce(Expr::or).unwrap_or(lit(false));
                ctx.create_physical_expr(e, df.schema())
                    .map(Some)
                    .map_err(|e| Error::datafusion(path, e))
            })
            .collect()
    }

    /// Executes every partition in its own task into one bounded channel per output (each
    /// batch filtered by the output's route); the sinks drain them at once. Every output
    /// is prepared before any is committed, so a failure publishes none.
    async fn stream_to_sinks(
        &self,
        ctx: &SessionContext,
        plan: Arc<dyn ExecutionPlan>,
        routes: Vec<Route>,
        stats: &Arc<RunStats>,
        cancel: CancellationToken,
    ) -> (Result<Vec<(String, SinkSummary)>>, Vec<Arc<BufferGauge>>) {
        // Open before the plan runs, which may report bad records at once.
        let rejects = Rejects::of(ctx);
        let dead_letter = self
            .dead_letter
            .as_ref()
            .zip(rejects.as_ref())
            .map(|(sink, r)| (sink, r.open_dead_letter()));
        let (mut senders, mut receivers, mut gauges) = (Vec::new(), Vec::new(), Vec::new());
        for _ in &self.sinks {
            let (tx, rx, gauge) = channel(plan.schema(), self.spec.settings.sink_buffer.0);
            senders.push(tx);
            receivers.push(rx);
            gauges.push(gauge);
        }
        let routes = Arc::new(routes);
        // The first failure of the plan, which is the one to report (the sinks only see it
        // pass by and roll back).
        let failure: Arc<Mutex<Option<DataFusionError>>> = Arc::default();
        let mut tasks = JoinSet::new();
        let task_ctx = ctx.task_ctx();
        for partition in 0..plan.output_partitioning().partition_count() {
            let (txs, routes, stats, cancel, failure) = (
                senders.clone(),
                routes.clone(),
                stats.clone(),
                cancel.clone(),
                failure.clone(),
            );
            let plan = plan.clone();
            let task_ctx = task_ctx.clone();
            tasks.spawn(async move {
                let fail = |e: DataFusionError| {
                    for tx in &txs {
                        tx.send_error(DataFusionError::Execution(e.to_string()));
                    }
                    if let Ok(mut f) = failure.lock() {
                        f.get_or_insert(e);
                    }
                };
                let body = AssertUnwindSafe(async {
                    let mut stream = match plan.execute(partition, task_ctx) {
                        Ok(s) => s,
                        Err(e) => return fail(e),
                    };
                    loop {
                        let next = tokio::select! {
                            biased;
                            _ = cancel.cancelled() => return fail(DataFusionError::External(Box::new(Cancelled))),
                            next = stream.next() => next,
                        };
                        match next {
                            None => return,
                            Some(Err(e)) => return fail(e),
                            Some(Ok(batch)) if batch.num_rows() == 0 => {}
                            Some(Ok(batch)) => {
                                stats.rows_out.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
                                stats
                                    .bytes_out
                                    .fetch_add(batch.get_array_memory_size() as u64, Ordering::Relaxed);
                                for (tx, route) in txs.iter().zip(routes.iter()) {
                                    let part = match route {
                                        None => batch.clone(),
                                        Some(filter) => match routed(&batch, filter) {
                                            Ok(b) => b,
                                            Err(e) => return fail(e),
                                        },
                                    };
                                    if part.num_rows() > 0 && !tx.send(part).await {
                                        return;
                                    }
                                }
                            }
                        }
                    }
                });
                if body.catch_unwind().await.is_err() {
                    fail(DataFusionError::Internal(format!(
                        "partition {partition} panicked; this is a bug in Fust"
                    )));
                }
            });
        }
        drop(senders);
        let outputs = async {
            let prepared = futures::future::join_all(self.sinks.iter().zip(receivers).map(
                |((name, sink), rx)| async move {
                    let stream: SendableRecordBatchStream = Box::pin(rx);
                    let stage = for_stage(ctx, &output_context(name));
                    (name.clone(), sink.prepare(stream, &stage).await)
                },
            ))
            .await;
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
            // Nothing reports bad records any more: the dead-letter output can finish.
            if let Some(r) = &rejects {
                r.close();
            }
            prepared
        };
        let dead_letter = async {
            match dead_letter {
                Some((sink, stream)) => {
                    let stage = for_stage(ctx, DEAD_LETTER);
                    vec![(DEAD_LETTER.to_string(), sink.prepare(stream, &stage).await)]
                }
                None => Vec::new(),
            }
        };
        let (prepared, dead_prepared) = futures::join!(outputs, dead_letter);
        let first_failure = failure.lock().ok().and_then(|mut f| f.take());
        let mut pending = Vec::new();
        let mut failed = first_failure.map(|e| Error::datafusion(self.failure_context(&e), e));
        for (name, result) in prepared.into_iter().chain(dead_prepared) {
            match result {
                Ok(p) => pending.push((name, p)),
                Err(e) => {
                    failed.get_or_insert_with(|| Error::datafusion(output_context(&name), e));
                }
            }
        }
        if failed.is_none()
            && let Some(r) = &rejects
            && let Err(e) = r.check_percentage(leaf_rows(plan.as_ref()))
        {
            failed = Some(Error::datafusion("settings.max_errors", e));
        }
        if let Some(e) = failed {
            for (_, p) in pending {
                p.abort().await;
            }
            return (Err(e), gauges);
        }
        let mut done: Vec<(String, SinkSummary)> = Vec::new();
        for (name, p) in pending {
            match p.commit().await {
                Ok(s) => done.push((name, s)),
                Err(e) => {
                    let published: Vec<&str> = done.iter().map(|(n, _)| n.as_str()).collect();
                    let context = if published.is_empty() {
                        output_context(&name)
                    } else {
                        format!(
                            "{} (publishing; already published: {})",
                            output_context(&name),
                            published.join(", ")
                        )
                    };
                    return (Err(Error::datafusion(context, e)), gauges);
                }
            }
        }
        (Ok(done), gauges)
    }
}

/// The filter of one output's records, when a `route` decides.
type Route = Option<Arc<dyn PhysicalExpr>>;

/// The rows of `batch` for which `filter` is true.
fn routed(
    batch: &RecordBatch,
    filter: &Arc<dyn PhysicalExpr>,
) -> datafusion::error::Result<RecordBatch> {
    let mask = filter.evaluate(batch)?.into_array(batch.num_rows())?;
    let mask = mask
        .as_boolean_opt()
        .ok_or_else(|| DataFusionError::Internal("a route condition is not boolean".into()))?;
    Ok(filter_record_batch(batch, mask)?)
}

/// The stage name of the `dead_letter:` output.
const DEAD_LETTER: &str = "dead_letter";

fn output_context(name: &str) -> String {
    if name == MAIN_OUTPUT || name == DEAD_LETTER {
        "output".to_string()
    } else {
        format!("outputs.{name}")
    }
}

impl CompiledJob {
    /// Names the input when a read error surfaces while running (a format error from a
    /// scan), so the message says which file to look at.
    fn failure_context(&self, e: &DataFusionError) -> String {
        // A processor's bad record names the processor itself.
        if marked::<crate::rejects::ProcessorBadRecord>(e) {
            return "running the job".to_string();
        }
        let msg = e.to_string();
        let is_read = [
            "Csv error",
            "Json error",
            "Parquet error",
            "Parser error",
            "Object Store error",
            "invalid utf-8",
            "UTF-8",
        ]
        .iter()
        .any(|k| msg.contains(k))
            || marked::<crate::ReadError>(e);
        match (is_read, self.inputs.as_slice()) {
            (true, [(name, source)]) => format!("{} ({})", input_context(name), source.describe()),
            (true, _) => format!(
                "reading the inputs ({})",
                self.inputs
                    .iter()
                    .map(|(n, s)| format!("{n}: {}", s.describe()))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            _ => "running the job".to_string(),
        }
    }
}

/// Whether `e` or one of its causes is a `T`: a marker a source ([`crate::ReadError`]) or
/// a processor ([`crate::rejects::ProcessorBadRecord`]) put on its own errors.
fn marked<T: std::error::Error + 'static>(e: &DataFusionError) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if err.is::<T>() {
            return true;
        }
        if let Some(DataFusionError::Shared(inner)) = err.downcast_ref::<DataFusionError>()
            && marked::<T>(inner)
        {
            return true;
        }
        current = err.source();
    }
    false
}

pub(crate) fn input_context(name: &str) -> String {
    if name == MAIN_INPUT {
        "input".to_string()
    } else {
        format!("inputs.{name}")
    }
}
