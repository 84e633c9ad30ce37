//! `GET /overview`: the numbers the console's front page shows, in one request: runs by
//! state (created in the last 24 hours, and all time as `/metrics` has them), the active
//! runs, each job's newest run when it failed, this server's executing and queued runs,
//! and the scheduler's status.

use axum::Json;
use axum::extract::State;
use fust_service::{RunFilter, RunRecord, RunState, now_ms, schedule_of, scheduler};
use serde::Serialize;
use utoipa::ToSchema;

use super::api::{AppState, with_live};
use super::error::ApiResult;

/// How far back `runs_by_state` counts.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// At most this many pending, and as many running, runs are listed.
const ACTIVE_LIMIT: i64 = 100;

/// `GET /overview`.
#[derive(Serialize, ToSchema)]
pub struct Overview {
    /// When these numbers were taken (ms since the Unix epoch).
    pub at: i64,
    /// Runs created in the 24 hours before `at`, by state.
    pub runs_by_state: StateCounts,
    /// Every run in the metadata store, by state (`fust_runs{state}` in `/metrics`).
    pub runs_total_by_state: StateCounts,
    /// The pending and running runs, newest first (at most 100 of each), with live
    /// counters.
    pub active_runs: Vec<RunRecord>,
    /// The runs that need attention: each job's newest run when it failed, the most recent
    /// failure first.
    pub failed_runs: Vec<RunRecord>,
    /// Runs executing in this server (`fust_active_runs`).
    pub executing: usize,
    /// Runs waiting in this server for their time, their job's turn or a worker
    /// (`fust_queue_depth`).
    pub queued: usize,
    /// Runs this server executes at once at most (`fust_workers`).
    pub workers: usize,
    pub scheduler: SchedulerView,
}

/// A number of runs per state.
#[derive(Serialize, ToSchema, Default, Debug, PartialEq, Eq)]
pub struct StateCounts {
    pub pending: i64,
    pub running: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub cancelled: i64,
}

impl StateCounts {
    fn of(counts: &[(RunState, i64)]) -> Self {
        let mut c = StateCounts::default();
        for (state, n) in counts {
            let slot = match state {
                RunState::Pending => &mut c.pending,
                RunState::Running => &mut c.running,
                RunState::Succeeded => &mut c.succeeded,
                RunState::Failed => &mut c.failed,
                RunState::Cancelled => &mut c.cancelled,
            };
            *slot += n;
        }
        c
    }
}

/// The cron scheduler.
#[derive(Serialize, ToSchema)]
pub struct SchedulerView {
    /// The scheduler loop is running.
    pub running: bool,
    /// How often it looks at the jobs (ms; the server's `scheduler_tick`).
    pub tick_ms: u64,
    /// Passes over the jobs since the server started (`fust_scheduler_ticks_total`).
    pub ticks: u64,
    /// When the last pass ended (ms since the Unix epoch).
    pub last_tick_at: Option<i64>,
    /// Enabled jobs with a cron schedule.
    pub scheduled_jobs: usize,
    /// Jobs that are disabled.
    pub disabled_jobs: usize,
    /// The next cron time of any enabled job (ms since the Unix epoch).
    pub next_run_at: Option<i64>,
    /// The job (or jobs, the first by name) due at `next_run_at`.
    pub next_job: Option<String>,
}

#[utoipa::path(
    get,
    path = "/overview",
    tag = "api",
    operation_id = "overview",
    summary = "Runs by state (all time and the last 24 h), active and queued runs, jobs whose latest run failed, and the scheduler's status: the numbers of `/metrics`, as JSON.",
    responses((status = 200, description = "The overview.", body = Overview))
)]
pub async fn overview(State(s): State<AppState>) -> ApiResult<Json<Overview>> {
    let store = s.manager.store();
    let at = now_ms();
    let runs_total_by_state = StateCounts::of(&store.count_by_state().await?);
    let runs_by_state = StateCounts::of(&store.count_by_state_since(at - DAY_MS).await?);
    let jobs = store.list_jobs().await?;
    let latest = store.latest_runs().await?;
    let (queued, executing) = s.manager.queue_depth();

    let mut active_runs = Vec::new();
    for state in [RunState::Running, RunState::Pending] {
        let filter = RunFilter {
            job: None,
            state: Some(state),
            limit: Some(ACTIVE_LIMIT),
        };
        active_runs.extend(store.list_runs(filter).await?);
    }
    active_runs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    let active_runs = active_runs
        .into_iter()
        .map(|r| with_live(&s.manager, r))
        .collect();

    let mut failed_runs: Vec<RunRecord> = latest
        .into_values()
        .filter(|r| r.state == RunState::Failed)
        .collect();
    failed_runs.sort_by(|a, b| b.finished_at.cmp(&a.finished_at).then(a.job.cmp(&b.job)));

    let status = s.manager.scheduler_status();
    let mut scheduled_jobs = 0;
    let mut next: Option<(i64, &str)> = None;
    for job in jobs.iter().filter(|j| j.enabled) {
        let schedule = schedule_of(&job.definition);
        if schedule.cron.is_none() {
            continue;
        }
        scheduled_jobs += 1;
        if let Some(t) = scheduler::next_time(&schedule, at)
            && next.is_none_or(|(n, _)| t < n)
        {
            next = Some((t, &job.name));
        }
    }
    Ok(Json(Overview {
        at,
        runs_by_state,
        runs_total_by_state,
        active_runs,
        failed_runs,
        executing,
        queued,
        workers: s.manager.workers(),
        scheduler: SchedulerView {
            running: status.running,
            tick_ms: status.tick_ms,
            ticks: status.ticks,
            last_tick_at: status.last_tick_at,
            scheduled_jobs,
            disabled_jobs: jobs.iter().filter(|j| !j.enabled).count(),
            next_run_at: next.map(|(t, _)| t),
            next_job: next.map(|(_, j)| j.to_string()),
        },
    }))
}
