//! The job manager: queues runs, runs them on a bounded worker pool, moves each run through
//! the state machine in the metadata store, retries failures, starts dependent jobs, and
//! publishes progress to whoever listens (the HTTP API's live events, metrics).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fust_config::{JobSpec, Overlap, Schedule};
use schemars::JsonSchema;
use serde::Serialize;
use tokio::sync::{Semaphore, broadcast};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::store::{NewRun, RunRecord, RunState, RunUpdate, Store, StoreError};
use crate::executor::RunStats;
use crate::registry::{CompiledJob, Registry};
use crate::{Error, ErrorKind};

/// A check the server applies to every job before it runs (e.g. paths inside the data
/// roots). An error fails the run with its message.
pub type Guard = Arc<dyn Fn(&CompiledJob) -> Result<(), Error> + Send + Sync>;

/// How often a running run's counters are published and saved.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// Saved to the store every this many progress ticks.
const SAVE_EVERY_TICKS: u32 = 4;

/// A change in a run: its state, its counters, and the error when it failed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RunEvent {
    pub run_id: String,
    pub job: String,
    pub state: RunState,
    pub rows_in: u64,
    pub rows_out: u64,
    pub bytes_out: u64,
    pub error: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
}

impl RunEvent {
    /// The event that shows `run` as the store has it, now.
    pub fn of(run: &RunRecord) -> Self {
        RunEvent {
            run_id: run.id.clone(),
            job: run.job.clone(),
            state: run.state,
            rows_in: run.rows_in.max(0) as u64,
            rows_out: run.rows_out.max(0) as u64,
            bytes_out: run.bytes_out.max(0) as u64,
            error: run.error.clone(),
            at: now_ms(),
        }
    }
}

/// Per-job counters since the server started, for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct JobMetrics {
    pub finished: BTreeMap<&'static str, u64>,
    pub rows_in: u64,
    pub rows_out: u64,
    pub bytes_out: u64,
    /// Durations of finished runs, in seconds: the sum and the count per bucket.
    pub duration_sum: f64,
    pub duration_buckets: Vec<u64>,
    pub duration_count: u64,
}

/// Upper bounds (seconds) of the run-duration histogram buckets.
pub const DURATION_BUCKETS: [f64; 10] =
    [0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];

/// Why a trigger or a cancel was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("run {0} has already finished ({1})")]
    Finished(String, RunState),
    #[error("the server is shutting down")]
    ShuttingDown,
}

struct Active {
    job: String,
    cancel: CancellationToken,
    stats: Option<Arc<RunStats>>,
    state: RunState,
}

struct Inner {
    store: Store,
    registry: Arc<Registry>,
    guard: Option<Guard>,
    workers: Arc<Semaphore>,
    worker_count: usize,
    job_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    active: Mutex<HashMap<String, Active>>,
    events: broadcast::Sender<RunEvent>,
    metrics: Mutex<BTreeMap<String, JobMetrics>>,
    tasks: Mutex<JoinSet<()>>,
    shutdown: CancellationToken,
}

/// Runs jobs for the service. Cheap to clone.
#[derive(Clone)]
pub struct JobManager {
    inner: Arc<Inner>,
}

/// The time now, in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The `schedule:` of a stored definition (defaults when absent or unreadable; the
/// definition was validated when it was stored).
pub fn schedule_of(definition: &str) -> Schedule {
    let (spec, _) = JobSpec::parse_partial(definition, "job");
    spec.schedule.unwrap_or_default()
}

impl JobManager {
    /// A manager running at most `workers` runs at once.
    pub fn new(
        store: Store,
        registry: Arc<Registry>,
        workers: usize,
        guard: Option<Guard>,
    ) -> Self {
        let workers = workers.max(1);
        let (events, _) = broadcast::channel(4096);
        JobManager {
            inner: Arc::new(Inner {
                store,
                registry,
                guard,
                workers: Arc::new(Semaphore::new(workers)),
                worker_count: workers,
                job_locks: Mutex::default(),
                active: Mutex::default(),
                events,
                metrics: Mutex::default(),
                tasks: Mutex::new(JoinSet::new()),
                shutdown: CancellationToken::new(),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.inner.registry
    }

    /// After a restart: runs left `running` by a stopped server are marked failed, and
    /// runs still `pending` are queued again (oldest first).
    pub async fn recover(&self) -> Result<Vec<String>, ManagerError> {
        let failed = self
            .inner
            .store
            .fail_interrupted("the server stopped while the run was running (interrupted)")
            .await?;
        for id in &failed {
            let _ = self
                .inner
                .store
                .append_log(
                    id,
                    "error",
                    "Marked failed: the server stopped during the run",
                )
                .await;
        }
        for run in self.inner.store.runs_in_state(RunState::Pending).await? {
            self.enqueue(run);
        }
        Ok(failed)
    }

    /// Creates a pending run of the job's current version and queues it.
    pub async fn trigger(
        &self,
        job: &str,
        trigger: &str,
        scheduled_for: Option<i64>,
    ) -> Result<RunRecord, ManagerError> {
        if self.inner.shutdown.is_cancelled() {
            return Err(ManagerError::ShuttingDown);
        }
        let record = self
            .inner
            .store
            .get_job(job)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "job",
                name: job.to_string(),
            })?;
        let run = self
            .inner
            .store
            .create_run(NewRun {
                job: job.to_string(),
                job_version: record.version,
                trigger: trigger.to_string(),
                attempt: 1,
                scheduled_for,
            })
            .await?;
        self.enqueue(run.clone());
        Ok(run)
    }

    /// Runs of `job` that are pending or running in this server.
    pub fn active_runs(&self, job: &str) -> usize {
        lock(&self.inner.active)
            .values()
            .filter(|a| a.job == job)
            .count()
    }

    /// Runs in this server waiting (for their time, their job's turn or a worker), and
    /// runs executing.
    pub fn queue_depth(&self) -> (usize, usize) {
        let active = lock(&self.inner.active);
        let running = active
            .values()
            .filter(|a| a.state == RunState::Running)
            .count();
        (active.len() - running, running)
    }

    pub fn workers(&self) -> usize {
        self.inner.worker_count
    }

    /// Live counters of a running run.
    pub fn live(&self, run_id: &str) -> Option<(u64, u64, u64)> {
        let active = lock(&self.inner.active);
        let stats = active.get(run_id)?.stats.as_ref()?;
        Some((stats.rows_in(), stats.rows_out(), stats.bytes_out()))
    }

    /// Every state change and progress tick of every run.
    pub fn subscribe(&self) -> broadcast::Receiver<RunEvent> {
        self.inner.events.subscribe()
    }

    pub fn metrics(&self) -> BTreeMap<String, JobMetrics> {
        lock(&self.inner.metrics).clone()
    }

    /// Cancels a run: a pending run becomes `cancelled` at once; a running one is told to
    /// stop and becomes `cancelled` when it has rolled back its output.
    pub async fn cancel(&self, run_id: &str) -> Result<RunRecord, ManagerError> {
        let store = &self.inner.store;
        for _ in 0..3 {
            let run = store
                .get_run(run_id)
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    what: "run",
                    name: run_id.to_string(),
                })?;
            match run.state {
                RunState::Pending => {
                    let update = RunUpdate {
                        finished_at: Some(now_ms()),
                        error: Some("cancelled before it started".to_string()),
                        ..RunUpdate::default()
                    };
                    match store
                        .transition(run_id, RunState::Pending, RunState::Cancelled, update)
                        .await
                    {
                        Ok(r) => {
                            if let Some(a) = lock(&self.inner.active).get(run_id) {
                                a.cancel.cancel();
                            }
                            let _ = store
                                .append_log(run_id, "info", "Cancelled before it started")
                                .await;
                            self.publish(&r);
                            return Ok(r);
                        }
                        Err(StoreError::IllegalTransition { .. }) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
                RunState::Running => {
                    if let Some(a) = lock(&self.inner.active).get(run_id) {
                        a.cancel.cancel();
                    }
                    let _ = store.append_log(run_id, "info", "Cancel requested").await;
                    return Ok(run);
                }
                done => return Err(ManagerError::Finished(run_id.to_string(), done)),
            }
        }
        Err(StoreError::Db {
            backend: "manager",
            message: format!("run {run_id} kept changing state while being cancelled"),
        }
        .into())
    }

    /// Stops taking runs and cancels the active ones; waits up to `grace` for them to
    /// roll back.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.shutdown.cancel();
        for a in lock(&self.inner.active).values() {
            a.cancel.cancel();
        }
        let mut tasks = std::mem::take(&mut *lock(&self.inner.tasks));
        let drained = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, drained).await.is_err() {
            tracing::warn!(
                "Runs did not stop within the grace period; they stay `running` until the next start marks them failed"
            );
        }
    }

    fn enqueue(&self, run: RunRecord) {
        let cancel = CancellationToken::new();
        lock(&self.inner.active).insert(
            run.id.clone(),
            Active {
                job: run.job.clone(),
                cancel: cancel.clone(),
                stats: None,
                state: RunState::Pending,
            },
        );
        let this = self.clone();
        let mut tasks = lock(&self.inner.tasks);
        while tasks.try_join_next().is_some() {}
        tasks.spawn(async move {
            let id = run.id.clone();
            this.execute(run, cancel).await;
            lock(&this.inner.active).remove(&id);
        });
    }

    /// Takes a queued run to its end.
    async fn execute(&self, run: RunRecord, cancel: CancellationToken) {
        let inner = &self.inner;
        let store = &inner.store;
        let definition = match store.job_version(&run.job, run.job_version).await {
            Ok(Some(v)) => v.definition,
            Ok(None) => {
                self.fail_pending(&run, "the job's definition was not found")
                    .await;
                return;
            }
            Err(e) => {
                self.fail_pending(&run, &e.to_string()).await;
                return;
            }
        };
        let schedule = schedule_of(&definition);
        if let Some(at) = run.scheduled_for {
            let wait = Duration::from_millis((at - now_ms()).max(0) as u64);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = cancel.cancelled() => return,
            }
        }
        // Runs of one job go one at a time, in order, unless the job allows overlap.
        let _job_turn = if schedule.overlap == Overlap::Allow {
            None
        } else {
            let l = lock(&inner.job_locks)
                .entry(run.job.clone())
                .or_default()
                .clone();
            tokio::select! {
                g = l.lock_owned() => Some(g),
                _ = cancel.cancelled() => return,
            }
        };
        let _permit = tokio::select! {
            p = inner.workers.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = cancel.cancelled() => return,
        };
        let started_at = now_ms();
        let running = match store
            .transition(
                &run.id,
                RunState::Pending,
                RunState::Running,
                RunUpdate {
                    started_at: Some(started_at),
                    ..RunUpdate::default()
                },
            )
            .await
        {
            Ok(r) => r,
            // Cancelled while it waited.
            Err(_) => return,
        };
        let stats = RunStats::new();
        if let Some(a) = lock(&inner.active).get_mut(&run.id) {
            a.stats = Some(stats.clone());
            a.state = RunState::Running;
        }
        self.publish(&running);
        let _ = store
            .append_log(
                &run.id,
                "info",
                &format!(
                    "Run started: job `{}` version {}, attempt {}, trigger {}",
                    run.job, run.job_version, run.attempt, run.trigger
                ),
            )
            .await;
        let file = format!("job `{}` v{}", run.job, run.job_version);
        let mut secrets = Vec::new();
        let outcome = self
            .run_job(
                &run,
                &definition,
                &file,
                stats.clone(),
                cancel,
                &mut secrets,
            )
            .await;
        let finished_at = now_ms();
        let (to, update, log) = match &outcome {
            Ok(s) => (
                RunState::Succeeded,
                RunUpdate {
                    finished_at: Some(finished_at),
                    rows_in: Some(s.rows_in as i64),
                    rows_out: Some(s.rows_out as i64),
                    bytes_in: s.bytes_in.map(|b| b as i64),
                    bytes_out: Some(s.bytes_out as i64),
                    target: Some(s.target.clone()),
                    ..RunUpdate::default()
                },
                (
                    "info",
                    format!(
                        "Run succeeded: {} rows in, {} rows out ({} bytes) to {} in {:.2}s",
                        s.rows_in,
                        s.rows_out,
                        s.bytes_out,
                        s.target,
                        s.elapsed.as_secs_f64()
                    ),
                ),
            ),
            Err(e) => {
                let state = if matches!(e, Error::Cancelled) {
                    RunState::Cancelled
                } else {
                    RunState::Failed
                };
                let message = redact(&error_text(e), &secrets);
                (
                    state,
                    RunUpdate {
                        finished_at: Some(finished_at),
                        rows_in: Some(stats.rows_in() as i64),
                        rows_out: Some(0),
                        bytes_out: Some(0),
                        error: Some(message.clone()),
                        ..RunUpdate::default()
                    },
                    (
                        if state == RunState::Cancelled {
                            "info"
                        } else {
                            "error"
                        },
                        format!("Run {state}: {message}"),
                    ),
                )
            }
        };
        let _ = store.append_log(&run.id, log.0, &log.1).await;
        let done = match store
            .transition(&run.id, RunState::Running, to, update)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(run = %run.id, error = %e, "Cannot record the end of a run");
                return;
            }
        };
        self.record_metrics(&done, (finished_at - started_at) as f64 / 1000.0);
        self.publish(&done);
        match done.state {
            RunState::Failed => self.maybe_retry(&done, &schedule).await,
            RunState::Succeeded => self.start_dependents(&done.job).await,
            _ => {}
        }
    }

    async fn run_job(
        &self,
        run: &RunRecord,
        definition: &str,
        file: &str,
        stats: Arc<RunStats>,
        cancel: CancellationToken,
        secrets: &mut Vec<String>,
    ) -> Result<crate::RunSummary, Error> {
        let mut job = self.inner.registry.load_str(definition, file)?;
        *secrets = secret_values(&job, &self.inner.registry);
        job.state = Some(Arc::new(StoreState {
            store: self.inner.store.clone(),
            job: run.job.clone(),
        }));
        if let Some(guard) = &self.inner.guard {
            guard(&job)?;
        }
        let ticker = {
            let this = self.clone();
            let (stats, run) = (stats.clone(), run.clone());
            async move {
                let mut tick = tokio::time::interval(PROGRESS_EVERY);
                let mut n = 0u32;
                loop {
                    tick.tick().await;
                    n += 1;
                    let (rows_in, rows_out, bytes_out) =
                        (stats.rows_in(), stats.rows_out(), stats.bytes_out());
                    let _ = this.inner.events.send(RunEvent {
                        run_id: run.id.clone(),
                        job: run.job.clone(),
                        state: RunState::Running,
                        rows_in,
                        rows_out,
                        bytes_out,
                        error: None,
                        at: now_ms(),
                    });
                    if n.is_multiple_of(SAVE_EVERY_TICKS) {
                        let _ = this
                            .inner
                            .store
                            .update_progress(
                                &run.id,
                                rows_in as i64,
                                rows_out as i64,
                                bytes_out as i64,
                            )
                            .await;
                    }
                }
            }
        };
        tokio::select! {
            r = job.run(stats, cancel) => r,
            () = ticker => unreachable!("the progress ticker never ends"),
        }
    }

    async fn fail_pending(&self, run: &RunRecord, message: &str) {
        let update = RunUpdate {
            finished_at: Some(now_ms()),
            error: Some(message.to_string()),
            ..RunUpdate::default()
        };
        if let Ok(r) = self
            .inner
            .store
            .transition(&run.id, RunState::Pending, RunState::Failed, update)
            .await
        {
            self.publish(&r);
        }
    }

    async fn maybe_retry(&self, failed: &RunRecord, schedule: &Schedule) {
        let retries_done = failed.attempt - 1;
        if retries_done >= i64::from(schedule.max_retries) || self.inner.shutdown.is_cancelled() {
            return;
        }
        let backoff = schedule.retry_backoff.0.as_millis() as i64;
        let delay = backoff.saturating_mul(1i64 << retries_done.min(20));
        let new = NewRun {
            job: failed.job.clone(),
            job_version: failed.job_version,
            trigger: "retry".to_string(),
            attempt: failed.attempt + 1,
            scheduled_for: Some(now_ms() + delay),
        };
        match self.inner.store.create_run(new).await {
            Ok(run) => {
                let _ = self
                    .inner
                    .store
                    .append_log(
                        &failed.id,
                        "info",
                        &format!(
                            "Retry {} of {} queued as run {} in {:.1}s",
                            failed.attempt,
                            schedule.max_retries,
                            run.id,
                            delay as f64 / 1000.0
                        ),
                    )
                    .await;
                self.enqueue(run);
            }
            Err(e) => tracing::error!(job = %failed.job, error = %e, "Cannot queue a retry"),
        }
    }

    /// Starts the jobs whose `after:` lists `upstream`, when every job they wait for has
    /// succeeded since their own last run.
    async fn start_dependents(&self, upstream: &str) {
        let store = &self.inner.store;
        let Ok(jobs) = store.list_jobs().await else {
            return;
        };
        for job in jobs {
            let schedule = schedule_of(&job.definition);
            if !schedule.after.iter().any(|u| u == upstream) {
                continue;
            }
            let since = match store.last_run(&job.name).await {
                Ok(last) => last.map_or(i64::MIN, |r| r.created_at),
                Err(_) => continue,
            };
            let mut ready = true;
            for u in &schedule.after {
                match store.last_run(u).await {
                    Ok(Some(r))
                        if r.state == RunState::Succeeded
                            && r.finished_at.unwrap_or(0) >= since => {}
                    _ => ready = false,
                }
            }
            if !ready {
                continue;
            }
            if schedule.overlap == Overlap::Skip && self.active_runs(&job.name) > 0 {
                tracing::info!(job = %job.name, "Skipped a dependency run: the job is still active (overlap: skip)");
                continue;
            }
            if let Err(e) = self.trigger(&job.name, "after", None).await {
                tracing::error!(job = %job.name, error = %e, "Cannot start a dependent job");
            }
        }
    }

    fn publish(&self, run: &RunRecord) {
        let _ = self.inner.events.send(RunEvent::of(run));
    }

    fn record_metrics(&self, run: &RunRecord, seconds: f64) {
        let mut all = lock(&self.inner.metrics);
        let m = all.entry(run.job.clone()).or_default();
        *m.finished.entry(run.state.as_str()).or_default() += 1;
        m.rows_in += run.rows_in.max(0) as u64;
        m.rows_out += run.rows_out.max(0) as u64;
        m.bytes_out += run.bytes_out.max(0) as u64;
        if m.duration_buckets.is_empty() {
            m.duration_buckets = vec![0; DURATION_BUCKETS.len()];
        }
        for (i, bound) in DURATION_BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                m.duration_buckets[i] += 1;
            }
        }
        m.duration_sum += seconds;
        m.duration_count += 1;
    }
}

/// The values of the job's secret options (those its plugin marks `writeOnly`, and the
/// password inside a URL), so no error text stored or sent can carry them.
fn secret_values(job: &CompiledJob, registry: &Registry) -> Vec<String> {
    let mut out = Vec::new();
    for section in job.spec.sections() {
        for (_, text) in registry.secret_options(section) {
            out.push(text.to_string());
            // `scheme://user:password@host`: the password alone may appear too.
            if let Some((_, rest)) = text.split_once("://")
                && let Some((userinfo, _)) = rest.split_once('@')
                && let Some((_, password)) = userinfo.split_once(':')
            {
                out.push(password.to_string());
            }
        }
    }
    out.retain(|s| s.len() >= 4);
    out
}

/// `text` with every secret replaced by `***`.
fn redact(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .fold(text.to_string(), |t, s| t.replace(s.as_str(), "***"))
}

/// One paragraph for the run record: the message users see in the CLI.
fn error_text(e: &Error) -> String {
    let text = e.to_string();
    match e.kind() {
        ErrorKind::Internal => format!("{text} (this is a bug in Fust)"),
        _ => text,
    }
}

/// Locks a std mutex, ignoring poisoning (the data stays usable: counters and maps).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A job's source state in the metadata store (`fust_connector_state`), keyed by job.
#[derive(Debug)]
struct StoreState {
    store: Store,
    job: String,
}

#[async_trait::async_trait]
impl crate::plugin::SourceState for StoreState {
    async fn get(&self, key: &str) -> datafusion::error::Result<Option<String>> {
        self.store
            .get_state(&self.job, key)
            .await
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))
    }

    async fn put(&self, key: &str, value: &str) -> datafusion::error::Result<()> {
        self.store
            .put_state(&self.job, key, value)
            .await
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_removes_every_secret() {
        let secrets = vec!["hunter22".to_string(), "s3cr3t-pw".to_string()];
        assert_eq!(
            redact(
                "login hunter22 failed at postgres://u:s3cr3t-pw@h",
                &secrets
            ),
            "login *** failed at postgres://u:***@h"
        );
    }
}
