//! Runs a stream job: epoch after epoch, each one the job's plan over the records read
//! since the last, committed with the positions it read up to, until the job is stopped.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use datafusion::catalog::TableProvider;
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::prelude::{col, lit};
use fust_config::MAIN_INPUT;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::dedupe::SeenKeys;
use super::feed::{Cut, Feed, Opener, epoch_table};
use super::window::WindowState;
use crate::error::{Error, Result};
use crate::executor::{RunStats, RunSummary, input_context};
use crate::plugin::stream::{
    Checkpoint, Checkpoints, Epoch, EpochExtension, NoCheckpoints, OpenMode, Positions,
    StreamSource,
};
use crate::plugin::{KeyTtl, Sink, SinkSummary, Source, Window};
use crate::registry::CompiledJob;
use crate::rejects::{RejectCounts, Rejects, StageRejects, for_stage};
use crate::state::{StateStore, store_for};

/// How long a preview waits for records, and how long without one it takes as the end.
const PEEK_FOR: Duration = Duration::from_secs(10);
const PEEK_IDLE: Duration = Duration::from_secs(2);

/// How often the lag is read while no record comes.
const LAG_EVERY: Duration = Duration::from_secs(1);
/// How often an idle run asks again whether records wait in parts other readers hold.
const ELSEWHERE_EVERY: Duration = Duration::from_secs(1);

/// The tables the stream inputs are read through in one epoch (a session extension);
/// without it (`validate`, `explain`, `preview`) the inputs are peeked at.
#[derive(Debug, Default)]
pub(crate) struct StreamTables(pub HashMap<String, Arc<dyn TableProvider>>);

/// The stream's progress, for the progress line, the summary and `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct StreamStatus {
    /// Epochs committed.
    pub epochs: u64,
    /// When the last epoch committed.
    pub last_commit: Option<SystemTime>,
    /// How long the last epoch took, from its first record to its commit.
    pub last_epoch: Option<Duration>,
    /// Records waiting per part, as the reader last said.
    pub lag: Vec<(String, u64)>,
    /// Epochs rolled back because another process had committed their parts.
    pub conflicts: u64,
    /// Records that came after the watermark had passed all their windows.
    pub late_records: u64,
}

/// The stream input of a job: its name and source.
fn stream_input(job: &CompiledJob) -> Result<Option<(&str, &dyn StreamSource)>> {
    let mut streams = job
        .inputs
        .iter()
        .filter_map(|(n, s)| Some((n.as_str(), s.stream()?)));
    let first = streams.next();
    if let Some((second, _)) = streams.next() {
        return Err(Error::user(
            input_context(second),
            "a job reads at most one stream (kafka, nats); the other inputs must be files, databases or APIs",
        ));
    }
    Ok(first)
}

impl CompiledJob {
    /// Whether an input is a stream: the job then runs until stopped, in epochs.
    pub fn is_stream(&self) -> bool {
        self.inputs.iter().any(|(_, s)| s.stream().is_some())
    }

    /// The table of a stream input when planning outside a run (`validate`, `explain`,
    /// `preview`): the stream peeked at, nothing acknowledged.
    pub(crate) async fn peek_table(
        &self,
        ctx: &SessionContext,
        name: &str,
        source: &Arc<dyn Source>,
    ) -> Result<Arc<dyn TableProvider>> {
        if let Some(t) = ctx
            .state()
            .config()
            .get_extension::<StreamTables>()
            .and_then(|t| t.0.get(name).cloned())
        {
            return Ok(t);
        }
        let context = input_context(name);
        let stream = source
            .stream()
            .ok_or_else(|| Error::user(&context, "not a stream"))?;
        let (schema, feed) = match stream.declared_schema() {
            Some(schema) => {
                let (source, ctx) = (source.clone(), ctx.clone());
                let open: Opener = Box::new(move || {
                    Box::pin(async move {
                        let Some(stream) = source.stream() else {
                            return Err(DataFusionError::Internal("not a stream".into()));
                        };
                        stream
                            .open(&ctx, Arc::new(NoCheckpoints), OpenMode::Peek)
                            .await
                    })
                });
                (schema, Feed::lazy(open))
            }
            None => {
                let reader = stream
                    .open(ctx, Arc::new(NoCheckpoints), OpenMode::Peek)
                    .await
                    .map_err(|e| Error::datafusion(&context, e))?;
                (reader.schema(), Feed::new(reader))
            }
        };
        let cut = Cut {
            deadline: Instant::now() + PEEK_FOR,
            max_rows: u64::MAX,
            idle: Some(PEEK_IDLE),
            stop: CancellationToken::new(),
            batch_rows: self.spec.settings.batch_size,
            rejects: StageRejects::of(&for_stage(ctx, &context)),
        };
        epoch_table(schema, feed, cut, None, Arc::default())
            .map_err(|e| Error::datafusion(&context, e))
    }

    /// Runs the stream job until `stop` fires (then the epoch under way finishes and
    /// commits, within `settings.drain_timeout`), or a `settings.stop_*` condition holds.
    pub(crate) async fn run_stream(
        &self,
        stats: Arc<RunStats>,
        stop: CancellationToken,
    ) -> Result<RunSummary> {
        let started = Instant::now();
        let settings = &self.spec.settings;
        let Some((input, source)) = stream_input(self)? else {
            return Err(Error::user("input", "this job reads no stream"));
        };
        let job = self.spec.name.clone().ok_or_else(|| {
            Error::user(
                "name",
                "a stream job needs a `name:`: its committed positions are stored under it",
            )
        })?;
        let context = input_context(input);
        let ctx = self.session()?;
        let checkpoints = self.checkpoints(&ctx, &job);
        let reader = source
            .open(&ctx, checkpoints.clone(), OpenMode::Run)
            .await
            .map_err(|e| Error::datafusion(&context, e))?;
        let schema = reader.schema();
        let feed = Feed::new(reader);
        let stateful = self.stateful_stage()?;
        let mut kept = match &stateful {
            Some((_, stage)) => self.stored_state(stage, &checkpoints).await?,
            None => None,
        };
        tracing::info!(
            source = %source.describe(),
            exactly_once = checkpoints.exactly_once(),
            "Stream opened"
        );

        // Past the drain timeout, the epoch under way is rolled back.
        let hard = CancellationToken::new();
        let _drain = {
            let (stop, hard, timeout) = (stop.clone(), hard.clone(), settings.drain_timeout.0);
            datafusion::common::runtime::SpawnedTask::spawn(async move {
                stop.cancelled().await;
                tokio::time::sleep(timeout).await;
                hard.cancel();
            })
        };

        let mut total = Totals::default();
        let mut last_record = Instant::now();
        let mut last_lag = Instant::now() - LAG_EVERY;
        let mut elsewhere_asked: Option<Instant> = None;
        loop {
            let taken = total.rows_in;
            if settings.stop_after_records.is_some_and(|n| taken >= n) || stop.is_cancelled() {
                break;
            }
            // Wait for the epoch's first records: an empty epoch commits nothing.
            {
                let mut f = feed.lock().await;
                let reader = f
                    .reader()
                    .await
                    .map_err(|e| Error::datafusion(&context, e))?;
                if last_lag.elapsed() >= LAG_EVERY {
                    stats.set_lag(reader.lag().await);
                    last_lag = Instant::now();
                }
                let ready = reader.ready(Duration::from_millis(200)).await;
                if !reader.reading() {
                    last_record = Instant::now();
                }
                if !ready.map_err(|e| Error::datafusion(&context, e))? {
                    let idle = settings
                        .stop_when_idle
                        .is_some_and(|idle| last_record.elapsed() >= idle.0);
                    if idle && elsewhere_asked.is_none_or(|at| at.elapsed() >= ELSEWHERE_EVERY) {
                        let first = elsewhere_asked.replace(Instant::now()).is_none();
                        let waiting = reader
                            .waiting_elsewhere()
                            .await
                            .map_err(|e| Error::datafusion(&context, e))?;
                        if waiting == 0 {
                            tracing::info!("Stream idle: stopping");
                            break;
                        }
                        if first {
                            tracing::info!(
                                records = waiting,
                                "Stream idle, but records wait in parts another reader holds (one that died holds them until its session times out): waiting for them"
                            );
                        }
                    }
                    continue;
                }
            }
            total.epochs += 1;
            let epoch = Arc::new(Epoch::new(job.clone(), total.epochs));
            let epoch_ctx = self.epoch_session(epoch.clone())?;
            let rows = Arc::new(AtomicU64::new(0));
            let cut = Cut {
                deadline: Instant::now() + settings.checkpoint_interval.0,
                max_rows: settings
                    .stop_after_records
                    .map_or(u64::MAX, |n| n - taken)
                    .min(settings.checkpoint_rows),
                idle: None,
                stop: stop.clone(),
                batch_rows: settings.batch_size,
                rejects: StageRejects::of(&for_stage(&epoch_ctx, &context)),
            };
            let table = epoch_table(
                schema.clone(),
                feed.clone(),
                cut,
                Some(epoch.clone()),
                rows.clone(),
            )
            .map_err(|e| Error::datafusion(&context, e))?;
            let epoch_started = Instant::now();
            let span = tracing::info_span!("fust.epoch", number = total.epochs);
            let result = match &stateful {
                None => self
                    .run_epoch(&epoch_ctx, input, table, &stats, hard.clone())
                    .instrument(span)
                    .await
                    .map(|r| (r, None)),
                Some((at, stage)) => self
                    .run_stateful_epoch(
                        &epoch_ctx,
                        input,
                        table,
                        (*at, stage, kept.as_ref()),
                        &stats,
                        hard.clone(),
                    )
                    .instrument(span)
                    .await
                    .map(|(r, next)| (r, Some(next))),
            };
            let read = rows.load(Ordering::Relaxed);
            last_record = Instant::now();
            elsewhere_asked = None;
            match result {
                Ok(((summary, bad), next)) => {
                    let mut f = feed.lock().await;
                    if !checkpoints.exactly_once() {
                        checkpoints
                            .save(&epoch.spans(), epoch.state())
                            .await
                            .map_err(|e| {
                                Error::datafusion(format!("{context} (saving its positions)"), e)
                            })?;
                    }
                    if let Some(next) = next {
                        kept = Some(next);
                    }
                    f.reader()
                        .await
                        .map_err(|e| Error::datafusion(&context, e))?
                        .committed()
                        .await
                        .map_err(|e| Error::datafusion(format!("{context} (acknowledging)"), e))?;
                    total.add(read, &summary.outputs, &bad, summary.dead_letter.as_ref());
                    stats.committed(read, epoch_started.elapsed());
                    tracing::debug!(records = read, "Epoch committed");
                }
                Err(e) if epoch.had_conflict() => {
                    tracing::warn!(error = %e, "Epoch rolled back: another process committed its parts; reading again from the stored positions");
                    stats.conflict();
                    if let Some((_, stage)) = &stateful {
                        kept = self.stored_state(stage, &checkpoints).await?;
                    }
                    let mut f = feed.lock().await;
                    f.reader()
                        .await
                        .map_err(|e| Error::datafusion(&context, e))?
                        .rewind()
                        .await
                        .map_err(|e| Error::datafusion(&context, e))?;
                }
                Err(e) => return Err(e),
            }
        }
        let mut f = feed.lock().await;
        if let Ok(reader) = f.reader().await {
            stats.set_lag(reader.final_lag().await);
        }
        Ok(total.summary(started.elapsed(), &self.sinks))
    }

    /// The session of one epoch: the job's, with the epoch for the sinks.
    fn epoch_session(&self, epoch: Arc<Epoch>) -> Result<SessionContext> {
        let ctx = self.session()?;
        ctx.state_ref()
            .write()
            .config_mut()
            .set_extension(Arc::new(EpochExtension(epoch)));
        Ok(ctx)
    }

    /// One epoch: the job's plan over `table` (the stream input `input`), into every
    /// output, committed.
    async fn run_epoch(
        &self,
        ctx: &SessionContext,
        input: &str,
        table: Arc<dyn TableProvider>,
        stats: &Arc<RunStats>,
        cancel: CancellationToken,
    ) -> Result<(RunSummary, RejectCounts)> {
        use_stream_table(ctx, input, table);
        let summary = self.run_planned(ctx, stats.clone(), cancel).await?;
        let bad = Rejects::of(ctx).map(|r| r.counts()).unwrap_or_default();
        Ok((summary, bad))
    }

    /// The processor whose state a stream job keeps across epochs (a windowed
    /// `aggregate`, a `deduplicate` with `ttl`), with its index; at most one.
    fn stateful_stage(&self) -> Result<Option<(usize, Stateful)>> {
        let mut found = self
            .processors
            .iter()
            .enumerate()
            .filter_map(|(i, (_, p))| {
                let kind = match (p.window(), p.key_ttl()) {
                    (Some(w), _) => Stateful::Window(w.clone()),
                    (None, Some(k)) => Stateful::Dedupe(k.clone()),
                    (None, None) => return None,
                };
                Some((i, kind))
            });
        let first = found.next();
        if let Some((second, _)) = found.next() {
            return Err(Error::user(
                self.processors[second].0.clone(),
                "a stream job keeps the state of one processor: one windowed aggregate or one deduplicate with ttl",
            ));
        }
        Ok(first)
    }

    /// The state committed last for `stage`, if any.
    async fn stored_state(
        &self,
        stage: &Stateful,
        checkpoints: &StreamCheckpoints,
    ) -> Result<Option<Kept>> {
        let checkpoint = checkpoints
            .load_checkpoint()
            .await
            .map_err(|e| Error::datafusion("reading the stream state", e))?;
        let Some(bytes) = checkpoint.state else {
            return Ok(None);
        };
        match stage {
            Stateful::Window(w) => WindowState::decode(w.clone(), &bytes).map(Kept::Window),
            Stateful::Dedupe(k) => SeenKeys::decode(k.clone(), &bytes).map(Kept::Seen),
        }
        .map(Some)
        .map_err(|e| Error::datafusion("reading the stream state", e))
    }

    /// One epoch of a job with a stateful processor at `at`: the processors up to it run
    /// over the epoch's records; a windowed aggregate adds them to the open windows (late
    /// ones are counted) and emits the windows the watermark has passed, a deduplicate
    /// drops the keys seen within its ttl; the rest runs through the processors after it
    /// into the outputs, committed with the positions and the new state.
    async fn run_stateful_epoch(
        &self,
        ctx: &SessionContext,
        input: &str,
        table: Arc<dyn TableProvider>,
        (at, stage, kept): (usize, &Stateful, Option<&Kept>),
        stats: &Arc<RunStats>,
        cancel: CancellationToken,
    ) -> Result<((RunSummary, RejectCounts), Kept)> {
        let path = self.processors[at].0.clone();
        let fail = |e| Error::datafusion(&path, e);
        use_stream_table(ctx, input, table);
        self.register_inputs(ctx).await?;
        let main = ctx
            .table(MAIN_INPUT)
            .await
            .map_err(|e| Error::datafusion("input", e))?
            .into_unoptimized_plan();
        let through = match stage {
            Stateful::Window(_) => at,
            Stateful::Dedupe(_) => at + 1,
        };
        let before = self.apply_processors(ctx, Some(main), 0..through).await?;
        let schema = before.schema().inner().clone();
        let batches = before.collect().await.map_err(fail)?;
        let (plan, next) = match stage {
            Stateful::Window(w) => {
                let state = match kept {
                    Some(Kept::Window(s)) => s.clone(),
                    _ => WindowState::new(w.clone(), schema),
                };
                self.emit_windows(ctx, at, state, batches, stats).await?
            }
            Stateful::Dedupe(k) => {
                let mut seen = match kept {
                    Some(Kept::Seen(s)) => s.clone(),
                    _ => SeenKeys::new(k.clone()),
                };
                let now = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                let rows = seen.filter(batches, now).map_err(fail)?;
                set_state(ctx, seen.encode().map_err(fail)?);
                (
                    rows_plan(ctx, schema, rows).await.map_err(fail)?,
                    Kept::Seen(seen),
                )
            }
        };
        let df = self
            .apply_processors(ctx, Some(plan), at + 1..self.processors.len())
            .await?;
        let summary = self
            .run_planned_df(ctx, Some(df), stats.clone(), cancel)
            .await?;
        let bad = Rejects::of(ctx).map(|r| r.counts()).unwrap_or_default();
        Ok(((summary, bad), next))
    }

    /// Adds an epoch's rows to the windows of the aggregate at `at`; the plan of the
    /// windows that close now, and the state after them.
    async fn emit_windows(
        &self,
        ctx: &SessionContext,
        at: usize,
        mut state: WindowState,
        batches: Vec<datafusion::arrow::array::RecordBatch>,
        stats: &Arc<RunStats>,
    ) -> Result<(LogicalPlan, Kept)> {
        let path = &self.processors[at].0;
        let fail = |e| Error::datafusion(path, e);
        let rejects = StageRejects::of(&for_stage(ctx, path));
        stats.late(state.absorb(batches, &rejects).await.map_err(fail)?);
        let end = state.closable();
        let next = match end {
            Some(end) => state.after_emitting(end),
            None => Ok(state.clone()),
        }
        .map_err(fail)?;
        set_state(ctx, next.encode().map_err(fail)?);
        // The windows that close: (emitted before, end].
        let rows = match end {
            Some(_) => state.rows.clone(),
            None => Vec::new(),
        };
        let start = rows_plan(ctx, state.schema.clone(), rows)
            .await
            .map_err(fail)?;
        let aggregated = self.apply_processors(ctx, Some(start), at..at + 1).await?;
        let to_ms = |ms: i64| lit(ScalarValue::TimestampMillisecond(Some(ms), None));
        let mut closing = col("window_end").lt_eq(to_ms(end.unwrap_or(i64::MIN)));
        if let Some(done) = state.emitted {
            closing = closing.and(col("window_end").gt(to_ms(done)));
        }
        let plan = aggregated
            .filter(closing)
            .map_err(fail)?
            .into_unoptimized_plan();
        Ok((plan, Kept::Window(next)))
    }

    /// Where committed positions are kept: in the output when it is the only one and
    /// exactly-once, else in the run's state store.
    fn checkpoints(&self, ctx: &SessionContext, job: &str) -> Arc<StreamCheckpoints> {
        let exactly_once = match self.sinks.as_slice() {
            [(_, sink)] => sink.exactly_once().then(|| sink.clone()),
            _ => None,
        };
        Arc::new(match exactly_once {
            Some(sink) => StreamCheckpoints::Sink {
                sink,
                ctx: ctx.clone(),
                job: job.to_string(),
            },
            None => StreamCheckpoints::Store {
                store: store_for(ctx, None),
                key: format!("stream:{job}"),
                saved: std::sync::Mutex::default(),
            },
        })
    }
}

/// A processor whose state a stream job keeps across epochs.
enum Stateful {
    Window(Window),
    Dedupe(KeyTtl),
}

/// That state.
#[derive(Clone)]
enum Kept {
    Window(WindowState),
    Seen(SeenKeys),
}

/// Makes `table` what the stream input `input` is read through in `ctx`.
fn use_stream_table(ctx: &SessionContext, input: &str, table: Arc<dyn TableProvider>) {
    let mut tables = StreamTables::default();
    tables.0.insert(input.to_string(), table);
    ctx.state_ref()
        .write()
        .config_mut()
        .set_extension(Arc::new(tables));
}

/// Hands the state after this epoch to the sinks, which commit it with the positions.
fn set_state(ctx: &SessionContext, state: Vec<u8>) {
    if let Some(epoch) = Epoch::of(ctx) {
        epoch.set_state(state);
    }
}

/// `rows` as the table `input`; its plan.
async fn rows_plan(
    ctx: &SessionContext,
    schema: datafusion::arrow::datatypes::SchemaRef,
    rows: Vec<datafusion::arrow::array::RecordBatch>,
) -> datafusion::error::Result<LogicalPlan> {
    let table = MemTable::try_new(schema, vec![rows])?;
    ctx.deregister_table(MAIN_INPUT)?;
    ctx.register_table(MAIN_INPUT, Arc::new(table))?;
    Ok(ctx.table(MAIN_INPUT).await?.into_unoptimized_plan())
}

/// The positions of a stream job, read back from where they were committed.
enum StreamCheckpoints {
    /// Committed by the sink with its rows.
    Sink {
        sink: Arc<dyn Sink>,
        ctx: SessionContext,
        job: String,
    },
    /// Saved to the state store after the sink committed (at-least-once).
    Store {
        store: Arc<dyn StateStore>,
        key: String,
        saved: std::sync::Mutex<Option<Positions>>,
    },
}

impl std::fmt::Debug for StreamCheckpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamCheckpoints::Sink { sink, job, .. } => {
                write!(f, "positions of {job} committed by {sink:?}")
            }
            StreamCheckpoints::Store { key, .. } => write!(f, "positions saved as {key}"),
        }
    }
}

impl StreamCheckpoints {
    fn exactly_once(&self) -> bool {
        matches!(self, StreamCheckpoints::Sink { .. })
    }

    /// After an at-least-once epoch committed: its positions (and state) to the state
    /// store.
    async fn save(
        &self,
        spans: &[crate::plugin::stream::Span],
        state: Option<Vec<u8>>,
    ) -> datafusion::error::Result<()> {
        let StreamCheckpoints::Store { store, key, saved } = self else {
            return Ok(());
        };
        if let Some(state) = state {
            store.put(&format!("{key}:state"), &hex(&state)).await?;
        }
        let known = saved.lock().ok().and_then(|s| s.clone());
        let before = match known {
            Some(p) => p,
            None => self.load().await?,
        };
        let after = before.advanced(spans);
        let text =
            serde_json::to_string(&after).map_err(|e| DataFusionError::External(Box::new(e)))?;
        store.put(key, &text).await?;
        if let Ok(mut s) = saved.lock() {
            *s = Some(after);
        }
        Ok(())
    }
}

impl StreamCheckpoints {
    /// The positions and the operator state committed last.
    async fn load_checkpoint(&self) -> datafusion::error::Result<Checkpoint> {
        match self {
            StreamCheckpoints::Sink { sink, ctx, job } => sink.checkpoint(ctx, job).await,
            StreamCheckpoints::Store { store, key, .. } => {
                let unreadable = |what: &str, e: String| {
                    DataFusionError::Execution(format!(
                        "the stored {what} `{key}` are not readable ({e}); remove them to start again"
                    ))
                };
                let positions = match store.get(key).await? {
                    None => Positions::default(),
                    Some(text) => serde_json::from_str(&text)
                        .map_err(|e| unreadable("positions", e.to_string()))?,
                };
                let state = match store.get(&format!("{key}:state")).await? {
                    None => None,
                    Some(text) => Some(
                        unhex(&text)
                            .ok_or_else(|| unreadable("state", "not hexadecimal".into()))?,
                    ),
                };
                Ok(Checkpoint { positions, state })
            }
        }
    }
}

#[async_trait]
impl Checkpoints for StreamCheckpoints {
    async fn load(&self) -> datafusion::error::Result<Positions> {
        Ok(self.load_checkpoint().await?.positions)
    }
}

/// Bytes as lowercase hexadecimal, for the state store's text values.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let t = text.as_bytes();
    if !t.len().is_multiple_of(2) {
        return None;
    }
    t.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

/// What the epochs of a run did, summed.
#[derive(Default)]
struct Totals {
    epochs: u64,
    rows_in: u64,
    outputs: Vec<(String, SinkSummary)>,
    bad: RejectCounts,
    dead_letter: Option<SinkSummary>,
}

impl Totals {
    fn add(
        &mut self,
        rows_in: u64,
        outputs: &[(String, SinkSummary)],
        bad: &RejectCounts,
        dead_letter: Option<&SinkSummary>,
    ) {
        self.rows_in += rows_in;
        for (name, s) in outputs {
            match self.outputs.iter_mut().find(|(n, _)| n == name) {
                Some((_, t)) => {
                    t.rows += s.rows;
                    t.bytes += s.bytes;
                }
                None => self.outputs.push((name.clone(), s.clone())),
            }
        }
        for (k, n) in &bad.by_kind {
            *self.bad.by_kind.entry(k.clone()).or_default() += n;
        }
        if let Some(d) = dead_letter {
            let t = self.dead_letter.get_or_insert_with(|| SinkSummary {
                target: d.target.clone(),
                ..Default::default()
            });
            t.rows += d.rows;
            t.bytes += d.bytes;
        }
    }

    fn summary(self, elapsed: Duration, sinks: &[(String, Arc<dyn Sink>)]) -> RunSummary {
        let rows_out = self.outputs.iter().map(|(_, s)| s.rows).sum();
        let bytes_out = self.outputs.iter().map(|(_, s)| s.bytes).sum();
        let target = match self.outputs.as_slice() {
            [(_, only)] => only.target.clone(),
            [] => sinks
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            all => all
                .iter()
                .map(|(name, s)| format!("{name}: {} ({} rows)", s.target, s.rows))
                .collect::<Vec<_>>()
                .join("; "),
        };
        RunSummary {
            rows_in: self.rows_in,
            rows_out,
            bytes_in: None,
            bytes_out,
            elapsed,
            target,
            max_buffered_bytes: 0,
            max_buffered_batches: 0,
            spilled_bytes: 0,
            outputs: self.outputs,
            bad_records: self.bad,
            dead_letter: self.dead_letter,
        }
    }
}
