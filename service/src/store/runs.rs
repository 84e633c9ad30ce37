//! Runs and their state machine: create, compare-and-set transitions, progress, listing, recovery.

use std::collections::HashMap;

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use super::sql::{not_found_run, now_ms};
use super::types::{NewRun, RunFilter, RunRecord, RunState, RunUpdate, StoreError, StoreResult};
use super::{DEFAULT_RUN_LIMIT, RUN_COLUMNS, Store};

impl Store {
    // ---- runs -------------------------------------------------------------------------

    /// Creates a `pending` run with a new UUID, created now.
    pub async fn create_run(&self, new: NewRun) -> StoreResult<RunRecord> {
        let run = RunRecord {
            id: uuid::Uuid::new_v4().to_string(),
            job: new.job,
            job_version: new.job_version,
            state: RunState::Pending,
            trigger: new.trigger,
            attempt: new.attempt,
            scheduled_for: new.scheduled_for,
            created_at: now_ms(),
            started_at: None,
            finished_at: None,
            rows_in: 0,
            rows_out: 0,
            bytes_in: 0,
            bytes_out: 0,
            error: None,
            target: None,
            bad_records: 0,
            bad_records_by_kind: Vec::new(),
        };
        self.query(
            "INSERT INTO fust_runs (id, job, job_version, state, trigger_kind, attempt, \
             scheduled_for, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&run.id)
        .bind(&run.job)
        .bind(run.job_version)
        .bind(run.state.as_str())
        .bind(&run.trigger)
        .bind(run.attempt)
        .bind(run.scheduled_for)
        .bind(run.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| self.db(&format!("creating a run of job `{}`", run.job), e))?;
        Ok(run)
    }

    /// Atomic compare-and-set: `UPDATE … SET state=to, … WHERE id=? AND state=from`; 0 rows
    /// → re-read: NotFound, or IllegalTransition with the actual current state. Also
    /// rejects `!from.can_become(to)` up front with IllegalTransition.
    pub async fn transition(
        &self,
        id: &str,
        from: RunState,
        to: RunState,
        update: RunUpdate,
    ) -> StoreResult<RunRecord> {
        if !from.can_become(to) {
            return Err(StoreError::IllegalTransition {
                id: id.to_owned(),
                from,
                to,
            });
        }
        let context = || format!("moving run {id} from {from} to {to}");
        let mut sets = vec!["state = ?"];
        let mut ints = Vec::new();
        for (column, value) in [
            ("started_at = ?", update.started_at),
            ("finished_at = ?", update.finished_at),
            ("rows_in = ?", update.rows_in),
            ("rows_out = ?", update.rows_out),
            ("bytes_in = ?", update.bytes_in),
            ("bytes_out = ?", update.bytes_out),
            ("bad_records = ?", update.bad_records),
        ] {
            if let Some(value) = value {
                sets.push(column);
                ints.push(value);
            }
        }
        let mut texts = Vec::new();
        for (column, value) in [
            ("error = ?", update.error),
            ("target = ?", update.target),
            ("bad_records_by_kind = ?", update.bad_records_by_kind),
        ] {
            if let Some(value) = value {
                sets.push(column);
                texts.push(value);
            }
        }
        let sql = format!(
            "UPDATE fust_runs SET {} WHERE id = ? AND state = ?",
            sets.join(", ")
        );
        let mut query = self.query(&sql).bind(to.as_str());
        for value in ints {
            query = query.bind(value);
        }
        for value in texts {
            query = query.bind(value);
        }
        let mut tx = self.begin().await?;
        let done = query
            .bind(id)
            .bind(from.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db(&context(), e))?;
        if done.rows_affected() == 0 {
            drop(tx);
            return Err(match self.get_run(id).await? {
                None => not_found_run(id),
                Some(actual) => StoreError::IllegalTransition {
                    id: id.to_owned(),
                    from: actual.state,
                    to,
                },
            });
        }
        let row = self
            .query(&format!("SELECT {RUN_COLUMNS} FROM fust_runs WHERE id = ?"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.db(&context(), e))?;
        let run = self.run_from_row(&row)?;
        self.commit(tx).await?;
        Ok(run)
    }

    /// Records progress of a `running` run. A run that is no longer running is left as is
    /// (progress racing with the end of the run is normal); an unknown run is NotFound.
    pub async fn update_progress(
        &self,
        id: &str,
        rows_in: i64,
        rows_out: i64,
        bytes_out: i64,
    ) -> StoreResult<()> {
        let done = self
            .query(
                "UPDATE fust_runs SET rows_in = ?, rows_out = ?, bytes_out = ? \
                 WHERE id = ? AND state = ?",
            )
            .bind(rows_in)
            .bind(rows_out)
            .bind(bytes_out)
            .bind(id)
            .bind(RunState::Running.as_str())
            .execute(&self.pool)
            .await
            .map_err(|e| self.db(&format!("recording progress of run {id}"), e))?;
        if done.rows_affected() == 0 && self.get_run(id).await?.is_none() {
            return Err(not_found_run(id));
        }
        Ok(())
    }

    pub async fn get_run(&self, id: &str) -> StoreResult<Option<RunRecord>> {
        self.query(&format!("SELECT {RUN_COLUMNS} FROM fust_runs WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.db(&format!("reading run {id}"), e))?
            .map(|row| self.run_from_row(&row))
            .transpose()
    }

    /// Runs matching the filter, newest first by `created_at`, then id.
    pub async fn list_runs(&self, filter: RunFilter) -> StoreResult<Vec<RunRecord>> {
        let mut conditions = Vec::new();
        if filter.job.is_some() {
            conditions.push("job = ?");
        }
        if filter.state.is_some() {
            conditions.push("state = ?");
        }
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM fust_runs{}{} ORDER BY created_at DESC, id DESC LIMIT ?",
            if conditions.is_empty() { "" } else { " WHERE " },
            conditions.join(" AND "),
        );
        let mut query = self.query(&sql);
        if let Some(job) = filter.job {
            query = query.bind(job);
        }
        if let Some(state) = filter.state {
            query = query.bind(state.as_str());
        }
        let limit = filter.limit.unwrap_or(DEFAULT_RUN_LIMIT).max(0);
        self.runs(query.bind(limit), "listing runs").await
    }

    /// Runs in `state`, oldest first (to re-queue pending runs on restart).
    pub async fn runs_in_state(&self, state: RunState) -> StoreResult<Vec<RunRecord>> {
        let sql =
            format!("SELECT {RUN_COLUMNS} FROM fust_runs WHERE state = ? ORDER BY created_at, id");
        self.runs(
            self.query(&sql).bind(state.as_str()),
            &format!("listing {state} runs"),
        )
        .await
    }

    /// The newest run of the job by `created_at` (then id), if any.
    pub async fn last_run(&self, job: &str) -> StoreResult<Option<RunRecord>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM fust_runs WHERE job = ? \
             ORDER BY created_at DESC, id DESC LIMIT 1"
        );
        let runs = self
            .runs(
                self.query(&sql).bind(job),
                &format!("reading the last run of job `{job}`"),
            )
            .await?;
        Ok(runs.into_iter().next())
    }

    /// The newest run (by `created_at`, then id) of every stored job that has one, by job
    /// name: one query, for a list of jobs with their last run.
    pub async fn latest_runs(&self) -> StoreResult<HashMap<String, RunRecord>> {
        let columns = RUN_COLUMNS
            .split(',')
            .map(|c| format!("r.{0} AS {0}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns} FROM fust_jobs j JOIN fust_runs r ON r.id = (\
             SELECT r2.id FROM fust_runs r2 WHERE r2.job = j.name \
             ORDER BY r2.created_at DESC, r2.id DESC LIMIT 1)"
        );
        let runs = self
            .runs(self.query(&sql), "reading the last run of every job")
            .await?;
        Ok(runs.into_iter().map(|r| (r.job.clone(), r)).collect())
    }

    /// Runs that are pending or running, or reached a terminal state at or after `since`
    /// (ms), oldest first, at most `limit`: what a live event stream that fell behind
    /// shows again.
    pub async fn runs_changed_since(&self, since: i64, limit: i64) -> StoreResult<Vec<RunRecord>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM fust_runs WHERE state = ? OR state = ? OR finished_at >= ? \
             ORDER BY created_at, id LIMIT ?"
        );
        let query = self
            .query(&sql)
            .bind(RunState::Pending.as_str())
            .bind(RunState::Running.as_str())
            .bind(since)
            .bind(limit.max(0));
        self.runs(query, "listing runs that changed").await
    }

    /// The number of runs in every state, in [`RunState::ALL`] order, zeros included.
    pub async fn count_by_state(&self) -> StoreResult<Vec<(RunState, i64)>> {
        self.count_states(None).await
    }

    /// [`count_by_state`](Self::count_by_state) of the runs created at or after `since` (ms).
    pub async fn count_by_state_since(&self, since: i64) -> StoreResult<Vec<(RunState, i64)>> {
        self.count_states(Some(since)).await
    }

    async fn count_states(&self, since: Option<i64>) -> StoreResult<Vec<(RunState, i64)>> {
        let query = match since {
            None => self.query("SELECT state, COUNT(*) AS n FROM fust_runs GROUP BY state"),
            Some(t) => self
                .query("SELECT state, COUNT(*) AS n FROM fust_runs WHERE created_at >= ? GROUP BY state")
                .bind(t),
        };
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.db("counting runs", e))?;
        let mut counts = RunState::ALL.map(|state| (state, 0));
        for row in &rows {
            let state = self.state_col(row, "counting runs")?;
            let n: i64 = self.col(row, "n")?;
            if let Some(slot) = counts.iter_mut().find(|(s, _)| *s == state) {
                slot.1 = n;
            }
        }
        Ok(counts.to_vec())
    }

    /// Marks every `running` run failed with `reason` (finished_at now); returns their
    /// ids. Called on server start, when no run of this store can still be running.
    pub async fn fail_interrupted(&self, reason: &str) -> StoreResult<Vec<String>> {
        let context = "failing interrupted runs";
        let rows = self
            .query("SELECT id FROM fust_runs WHERE state = ? ORDER BY created_at, id")
            .bind(RunState::Running.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.db(context, e))?;
        let mut failed = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = self.col(row, "id")?;
            let done = self
                .query(
                    "UPDATE fust_runs SET state = ?, error = ?, finished_at = ? \
                     WHERE id = ? AND state = ?",
                )
                .bind(RunState::Failed.as_str())
                .bind(reason)
                .bind(now_ms())
                .bind(&id)
                .bind(RunState::Running.as_str())
                .execute(&self.pool)
                .await
                .map_err(|e| self.db(context, e))?;
            if done.rows_affected() > 0 {
                failed.push(id);
            }
        }
        Ok(failed)
    }
    async fn runs(
        &self,
        query: Query<'static, Any, AnyArguments>,
        context: &str,
    ) -> StoreResult<Vec<RunRecord>> {
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.db(context, e))?;
        rows.iter().map(|row| self.run_from_row(row)).collect()
    }
}
