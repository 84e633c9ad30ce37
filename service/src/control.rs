//! The job manager: queues runs, runs them on a bounded worker pool, moves each run through
//! the state machine in the metadata store, retries failures, starts dependent jobs, and
//! publishes progress to whoever listens (the HTTP API's live events, metrics).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fust_config::{JobSpec, Schedule, Variables};
use tokio::sync::{Semaphore, broadcast};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use fust_engine::{CompiledJob, Error, Registry, RunStats};

use crate::events::RunEvent;
use crate::store::{NewRun, RunFilter, RunRecord, RunState, RunUpdate, Store, StoreError, now_ms};

/// A check the server applies to every job before it runs (e.g. paths inside the data
/// roots). An error fails the run with its message.
pub type Guard = Arc<dyn Fn(&CompiledJob) -> Result<(), Error> + Send + Sync>;

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

pub(crate) struct Active {
    pub(crate) job: String,
    pub(crate) cancel: CancellationToken,
    pub(crate) stats: Option<Arc<RunStats>>,
    pub(crate) state: RunState,
}

pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) registry: Arc<Registry>,
    pub(crate) guard: Option<Guard>,
    pub(crate) workers: Arc<Semaphore>,
    pub(crate) worker_count: usize,
    pub(crate) job_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    pub(crate) active: Mutex<HashMap<String, Active>>,
    pub(crate) events: broadcast::Sender<RunEvent>,
    /// What `${...}` in a stored job reads when it runs (the server's rules).
    pub(crate) variables: Arc<Variables>,
    pub(crate) tasks: Mutex<JoinSet<()>>,
    pub(crate) shutdown: CancellationToken,
    pub(crate) scheduler: crate::status::SchedulerStatus,
}

/// Runs jobs for the service. Cheap to clone.
#[derive(Clone)]
pub struct JobManager {
    pub(crate) inner: Arc<Inner>,
}

/// The error of a run the server's stop interrupted; a stream job's is resumed.
pub const INTERRUPTED: &str = "the server stopped while the run was running (interrupted)";

/// The `schedule:` of a stored definition (defaults when absent or unreadable; the
/// definition was validated when it was stored).
pub fn schedule_of(definition: &str) -> Schedule {
    let (spec, _) = JobSpec::parse_partial(definition, "job");
    spec.schedule.unwrap_or_default()
}

impl JobManager {
    /// A manager running at most `workers` runs at once, reading `${...}` in jobs through
    /// `variables`.
    pub fn new(
        store: Store,
        registry: Arc<Registry>,
        workers: usize,
        guard: Option<Guard>,
        variables: Arc<Variables>,
    ) -> Self {
        let workers = workers.max(1);
        let (events, _) = broadcast::channel(4096);
        JobManager {
            inner: Arc::new(Inner {
                store,
                registry,
                guard,
                variables,
                workers: Arc::new(Semaphore::new(workers)),
                worker_count: workers,
                job_locks: Mutex::default(),
                active: Mutex::default(),
                events,
                tasks: Mutex::new(JoinSet::new()),
                shutdown: CancellationToken::new(),
                scheduler: crate::status::SchedulerStatus::default(),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.inner.registry
    }

    /// After a restart: runs left `running` by a stopped server are marked failed, runs
    /// still `pending` are queued again (oldest first), and stream jobs whose last run the
    /// server's stop interrupted start again (from their committed positions).
    pub async fn recover(&self) -> Result<Vec<String>, ManagerError> {
        let failed = self.inner.store.fail_interrupted(INTERRUPTED).await?;
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
        self.resume_streams().await?;
        Ok(failed)
    }

    /// Starts again every stream job whose last run a server stop interrupted.
    async fn resume_streams(&self) -> Result<(), ManagerError> {
        for job in self.inner.store.list_jobs().await? {
            if !job.enabled {
                continue;
            }
            let Some(last) = self.inner.store.last_run(&job.name).await? else {
                continue;
            };
            if last.state != RunState::Failed || last.error.as_deref() != Some(INTERRUPTED) {
                continue;
            }
            let stream = self
                .inner
                .registry
                .load_str_with(&job.definition, &job.name, &self.inner.variables)
                .is_ok_and(|j| j.is_stream());
            if stream {
                let run = self.trigger(&job.name, "resume", None).await?;
                tracing::info!(job = %job.name, run = %run.id, "Stream job resumed");
            }
        }
        Ok(())
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

    /// Waits for one of the worker slots runs use, for work done on a request's behalf
    /// (`/preview`, `/validate`): it counts against the same limit as runs.
    pub async fn worker_slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ManagerError> {
        self.inner
            .workers
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ManagerError::ShuttingDown)
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

    /// What the cron scheduler is doing.
    pub fn scheduler_status(&self) -> crate::status::SchedulerSnapshot {
        self.inner.scheduler.snapshot()
    }

    /// Enables or disables a job. A disabled job gets no cron, `after:` or resumed runs;
    /// a manual trigger still runs it, and runs already queued or running go on. Enabling
    /// starts its cron schedule from now: times that passed while it was disabled are not
    /// missed runs. None when there is no such job.
    pub async fn set_enabled(
        &self,
        name: &str,
        enabled: bool,
    ) -> Result<Option<crate::store::JobRecord>, ManagerError> {
        let store = &self.inner.store;
        let before = store.get_job(name).await?;
        let Some(job) = store.set_job_enabled(name, enabled).await? else {
            return Ok(None);
        };
        if enabled && before.is_some_and(|b| !b.enabled) {
            store
                .put_meta(&format!("cron:{name}"), &now_ms().to_string())
                .await?;
        }
        Ok(Some(job))
    }

    /// Cancels a run: a pending run becomes `cancelled` at once; a running one is told to
    /// stop and becomes `cancelled` when it has rolled back its output.
    /// Deletes a job and cancels its pending and running runs (queued retries and cron
    /// firings included): a deleted job stays deleted. `false` when there was no such job.
    pub async fn delete_job(&self, name: &str) -> Result<bool, ManagerError> {
        let store = &self.inner.store;
        if !store.delete_job(name).await? {
            return Ok(false);
        }
        // Every queued, retrying or running run is pending or running in the store.
        let mut ids: Vec<String> = Vec::new();
        for state in [RunState::Pending, RunState::Running] {
            let filter = RunFilter {
                job: Some(name.to_string()),
                state: Some(state),
                limit: Some(10_000),
            };
            ids.extend(store.list_runs(filter).await?.into_iter().map(|r| r.id));
        }
        for id in ids {
            // A run that ended meanwhile cannot be cancelled, and need not be.
            let _ = self.cancel(&id).await;
        }
        Ok(true)
    }

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
}

/// Locks a std mutex, ignoring poisoning (the data stays usable: counters and maps).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
