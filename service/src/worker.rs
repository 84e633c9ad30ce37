//! The worker side of the manager: takes a queued run through its states on the bounded
//! pool, executes the job with its state store and guard, retries failures, starts the
//! jobs that depend on it, and records its metrics.

use std::sync::Arc;
use std::time::Duration;

use fust_config::{Overlap, Schedule};
use fust_engine::{CompiledJob, Error, ErrorKind, Registry, RunStats, RunSummary};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::control::{Active, JobManager, lock, schedule_of};
use crate::events::RunEvent;
use crate::store::{JobState, NewRun, RunRecord, RunState, RunUpdate, now_ms};

/// How often a running run's counters are published and saved.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// Saved to the store every this many progress ticks.
const SAVE_EVERY_TICKS: u32 = 4;

impl JobManager {
    pub(crate) fn enqueue(&self, run: RunRecord) {
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
        let stopped = cancel.clone();
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
        // A stream job ends well when stopped (its epoch under way commits): on request it
        // is cancelled; by the server stopping, interrupted, and resumed at the next start.
        let (ok_state, ok_error) = match (
            stats.stream().is_some() && stopped.is_cancelled(),
            inner.shutdown.is_cancelled(),
        ) {
            (false, _) => (RunState::Succeeded, None),
            (true, false) => (
                RunState::Cancelled,
                Some("stopped on request; the epoch under way committed".to_string()),
            ),
            (true, true) => (
                RunState::Failed,
                Some(crate::control::INTERRUPTED.to_string()),
            ),
        };
        if let Ok(s) = &outcome {
            crate::metrics::outputs_written(&run.job, &s.outputs);
            crate::metrics::bad_records(&run.job, &s.bad_records);
        }
        let (to, update, log) = match &outcome {
            Ok(s) => (
                ok_state,
                RunUpdate {
                    finished_at: Some(finished_at),
                    error: ok_error,
                    rows_in: Some(s.rows_in as i64),
                    rows_out: Some(s.rows_out as i64),
                    bytes_in: s.bytes_in.map(|b| b as i64),
                    bytes_out: Some(s.bytes_out as i64),
                    target: Some(s.target.clone()),
                    bad_records: Some(s.bad_records.total() as i64),
                    bad_records_by_kind: serde_json::to_string(&bad_record_counts(&s.bad_records))
                        .ok(),
                    ..RunUpdate::default()
                },
                (
                    "info",
                    format!(
                        "Run {ok_state}: {} rows in, {} rows out ({} bytes) to {} in {:.2}s",
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
    ) -> Result<RunSummary, Error> {
        let mut job = self
            .inner
            .registry
            .load_str_with(definition, file, &self.inner.variables)?;
        *secrets = secret_values(&job, &self.inner.registry);
        job.state = Some(Arc::new(JobState::new(
            self.inner.store.clone(),
            run.job.clone(),
        )));
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
                    if let Some(s) = stats.stream() {
                        crate::metrics::stream_progress(&run.job, &s);
                    }
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
        // The engine's `fust.run` span (and its stages) nests under this one.
        let span = tracing::info_span!(
            "fust.service.run",
            run_id = %run.id,
            job = %run.job,
            trigger = %run.trigger,
            attempt = run.attempt
        );
        tokio::select! {
            r = job.run(stats, cancel).instrument(span) => r,
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
        // A job deleted while its run failed is not retried.
        if !matches!(self.inner.store.get_job(&failed.job).await, Ok(Some(_))) {
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
            if !job.enabled || !schedule.after.iter().any(|u| u == upstream) {
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

    pub(crate) fn publish(&self, run: &RunRecord) {
        let _ = self.inner.events.send(RunEvent::of(run));
    }

    fn record_metrics(&self, run: &RunRecord, seconds: f64) {
        crate::metrics::run_finished(run, seconds);
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

/// A run's bad records as the store keeps them.
fn bad_record_counts(
    counts: &fust_engine::rejects::RejectCounts,
) -> Vec<crate::store::BadRecordCount> {
    counts
        .by_kind
        .iter()
        .map(|((stage, kind), n)| crate::store::BadRecordCount {
            stage: stage.clone(),
            kind: kind.clone(),
            count: *n,
        })
        .collect()
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
