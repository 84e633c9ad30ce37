//! The job service's metadata store: jobs and their versions, runs and their state
//! machine, run logs, connector state and service metadata, kept in SQLite, PostgreSQL or
//! MySQL/MariaDB behind one API.
//!
//! All three backends go through one `sqlx::AnyPool`. SQL is written once with `?`
//! placeholders (rewritten to `$n` for PostgreSQL) and only uses types the Any driver
//! maps everywhere: `BIGINT` for integers, flags and timestamps (milliseconds since the
//! Unix epoch, UTC), `VARCHAR` for keys and `TEXT`/`LONGTEXT` for large text. SQLite gets
//! a single connection, so writers in this process never meet `SQLITE_BUSY`; the servers
//! get a pool of eight.
//!
//! Concurrency contract: every method may be called from many tasks at once. Run state
//! changes are compare-and-set ([`Store::transition`]), log sequence numbers are gap-free
//! per run ([`Store::append_log`]), and upserts are single statements.

use std::fmt;
use std::time::Duration;

use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyPool, AssertSqlSafe, ConnectOptions, Connection, Row, Transaction};

use super::migrations;
use crate::error::ErrorKind;

/// The state of a run. Runs start `pending`; see [`RunState::can_become`] for the moves.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Created, waiting for a worker.
    Pending,
    /// A worker is executing it.
    Running,
    /// Finished and its output was published.
    Succeeded,
    /// Could not start, or stopped with an error (see `error`).
    Failed,
    /// Stopped on request before it finished.
    Cancelled,
}

impl RunState {
    pub const ALL: [RunState; 5] = [
        RunState::Pending,
        RunState::Running,
        RunState::Succeeded,
        RunState::Failed,
        RunState::Cancelled,
    ];

    /// The name stored in the database and used in the API: `pending`, `running`, …
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Pending => "pending",
            RunState::Running => "running",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<RunState> {
        RunState::ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// Succeeded, failed or cancelled: nothing leaves these states.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunState::Succeeded | RunState::Failed | RunState::Cancelled
        )
    }

    /// pending→running, pending→cancelled, pending→failed (job could not start),
    /// running→succeeded|failed|cancelled. Nothing leaves a terminal state.
    pub fn can_become(self, next: RunState) -> bool {
        use RunState::*;
        matches!(
            (self, next),
            (Pending, Running | Cancelled | Failed) | (Running, Succeeded | Failed | Cancelled)
        )
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The database behind a [`Store`], chosen by the URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

impl Backend {
    /// `sqlite`, `postgres` or `mysql`, as used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed or could not be reached. Messages never contain a password.
    #[error("metadata store {backend}: {message}")]
    Db {
        backend: &'static str,
        message: String,
    },
    #[error("{what} `{name}` already exists")]
    Conflict { what: &'static str, name: String },
    #[error("run {id}: cannot go from {from} to {to}")]
    IllegalTransition {
        id: String,
        from: RunState,
        to: RunState,
    },
    #[error("{what} `{name}` not found")]
    NotFound { what: &'static str, name: String },
    /// A schema migration failed, the database is newer than this binary, or the URL
    /// names no supported database.
    #[error("metadata store: {0}")]
    Schema(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// Who can fix it: the database's operator ([`ErrorKind::External`]) or the caller.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::Db { .. } => ErrorKind::External,
            StoreError::Conflict { .. }
            | StoreError::IllegalTransition { .. }
            | StoreError::NotFound { .. }
            | StoreError::Schema(_) => ErrorKind::User,
        }
    }

    /// Whether the same call may succeed later (the database was unreachable or busy).
    pub fn retryable(&self) -> bool {
        self.kind() == ErrorKind::External
    }
}

/// A job definition as currently stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct JobRecord {
    /// Unique job name.
    pub name: String,
    /// Current version, starting at 1 and growing with every changed definition.
    pub version: i64,
    /// The job definition (YAML) of the current version.
    pub definition: String,
    /// When the job was created (ms since the Unix epoch, UTC).
    pub created_at: i64,
    /// When the current version was stored (ms since the Unix epoch, UTC).
    pub updated_at: i64,
}

/// One stored version of a job definition; versions are kept when the job is deleted.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct JobVersion {
    /// Job name.
    pub name: String,
    /// Version number.
    pub version: i64,
    /// The job definition (YAML) of this version.
    pub definition: String,
    /// When this version was stored (ms since the Unix epoch, UTC).
    pub created_at: i64,
}

/// One execution of a job; kept when the job is deleted.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct RunRecord {
    /// Run id (a UUID).
    pub id: String,
    /// Name of the job.
    pub job: String,
    /// Version of the job definition the run executes.
    pub job_version: i64,
    /// Current state.
    pub state: RunState,
    /// What started it: `api` (a POST to /jobs/{name}/runs), `cron`, `after` (the jobs it waits for succeeded) or `retry`.
    pub trigger: String,
    /// Attempt number, 1 for the first try.
    pub attempt: i64,
    /// The schedule slot it was started for (ms since the Unix epoch, UTC), if scheduled.
    pub scheduled_for: Option<i64>,
    /// When the run was created (ms since the Unix epoch, UTC).
    pub created_at: i64,
    /// When it started running.
    pub started_at: Option<i64>,
    /// When it reached a terminal state.
    pub finished_at: Option<i64>,
    /// Rows read from the source.
    pub rows_in: i64,
    /// Rows written to the sink.
    pub rows_out: i64,
    /// Bytes read from the source.
    pub bytes_in: i64,
    /// Bytes written to the sink.
    pub bytes_out: i64,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
    /// Where the output went (table, path, …).
    pub target: Option<String>,
}

/// One line of a run's log.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct LogLine {
    /// Run id.
    pub run_id: String,
    /// Position in the run's log, 1, 2, 3, … without gaps.
    pub seq: i64,
    /// When it was written (ms since the Unix epoch, UTC).
    pub at: i64,
    /// `info`, `warn`, `error`, …
    pub level: String,
    /// The text.
    pub message: String,
}

/// A run to create in state `pending`.
#[derive(Debug, Clone, Default)]
pub struct NewRun {
    pub job: String,
    pub job_version: i64,
    pub trigger: String,
    pub attempt: i64,
    pub scheduled_for: Option<i64>,
}

/// Fields set together with a state change (None = leave as is).
#[derive(Debug, Clone, Default)]
pub struct RunUpdate {
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub rows_in: Option<i64>,
    pub rows_out: Option<i64>,
    pub bytes_in: Option<i64>,
    pub bytes_out: Option<i64>,
    pub error: Option<String>,
    pub target: Option<String>,
}

/// Which runs [`Store::list_runs`] returns.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub job: Option<String>,
    pub state: Option<RunState>,
    /// At most this many (default 100), newest first by `created_at`, then id.
    pub limit: Option<i64>,
}

/// How long connecting, or waiting for a free pooled connection, may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default page size of [`Store::list_runs`].
const DEFAULT_RUN_LIMIT: i64 = 100;
/// Attempts of an optimistic write (log append, job version) that lost a race.
const WRITE_ATTEMPTS: u32 = 10;

const JOB_COLUMNS: &str = "name, version, definition, created_at, updated_at";
const RUN_COLUMNS: &str = "id, job, job_version, state, trigger_kind, attempt, scheduled_for, \
    created_at, started_at, finished_at, rows_in, rows_out, bytes_in, bytes_out, error, target";

/// Run on every new SQLite connection (the pool reconnects after errors).
const SQLITE_PRAGMAS: &[&str] = &[
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=10000",
    "PRAGMA foreign_keys=ON",
];

/// The metadata store. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the database named by `url` and brings its schema up to date.
    ///
    /// `sqlite://PATH` (created if missing unless the URL says `mode=`), a bare path ending
    /// in `.db`, `.sqlite` or `.sqlite3`, `postgres://…`/`postgresql://…`, or
    /// `mysql://…`/`mariadb://…`.
    pub async fn connect(url: &str) -> StoreResult<Store> {
        // Idempotent: sqlx guards the installation with its own `Once`.
        sqlx::any::install_default_drivers();
        let (backend, url) = normalize_url(url)?;
        let options = match backend {
            Backend::Sqlite => AnyPoolOptions::new()
                .max_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        for pragma in SQLITE_PRAGMAS {
                            sqlx::query(*pragma).execute(&mut *conn).await?;
                        }
                        Ok(())
                    })
                }),
            Backend::Postgres | Backend::Mysql => AnyPoolOptions::new().max_connections(8),
        };
        let cannot_connect = |reason: String| StoreError::Db {
            backend: backend.as_str(),
            message: scrub(
                &format!("cannot connect to {}: {reason}", redact_url(&url)),
                &url,
            ),
        };
        let connect_options: AnyConnectOptions =
            url.parse().map_err(|e| cannot_connect(describe(&e)))?;
        // One direct attempt first: the pool would retry a refused connection until its
        // timeout and then report only "timed out".
        match tokio::time::timeout(CONNECT_TIMEOUT, connect_options.connect()).await {
            Ok(Ok(probe)) => probe.close().await.unwrap_or(()),
            Ok(Err(e)) => return Err(cannot_connect(describe(&e))),
            Err(_) => {
                return Err(cannot_connect(format!(
                    "no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        }
        let pool = options
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(connect_options)
            .await
            .map_err(|e| cannot_connect(describe(&e)))?;
        migrations::migrate(&pool, backend).await?;
        Ok(Store { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The highest applied migration (0 for an empty database).
    pub async fn schema_version(&self) -> StoreResult<i64> {
        let row = self
            .query("SELECT MAX(version) AS v FROM fust_schema_migrations")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.db("reading the schema version", e))?;
        let version: Option<i64> = self.col(&row, "v")?;
        Ok(version.unwrap_or(0))
    }

    // ---- jobs -------------------------------------------------------------------------

    /// Creates job `name` at the version after the highest it ever had (1 for a new name).
    /// Fails with [`StoreError::Conflict`] when it exists.
    pub async fn create_job(&self, name: &str, definition: &str) -> StoreResult<JobRecord> {
        let mut tx = self.begin().await?;
        let result = self.insert_job(&mut tx, name, definition).await;
        match result {
            Ok(job) => {
                self.commit(tx).await?;
                Ok(job)
            }
            Err(e) if is_conflict(&e) => Err(StoreError::Conflict {
                what: "job",
                name: name.to_owned(),
            }),
            Err(e) => Err(self.db(&format!("creating job `{name}`"), e)),
        }
    }

    /// Creates the job, or stores `definition` as its next version. A definition that is
    /// byte-identical to the current one adds no version. Returns the job and whether it
    /// was created.
    pub async fn put_job(&self, name: &str, definition: &str) -> StoreResult<(JobRecord, bool)> {
        let context = || format!("storing job `{name}`");
        for attempt in 1..=WRITE_ATTEMPTS {
            let mut tx = self.begin().await?;
            let current = self
                .query(&format!(
                    "SELECT {JOB_COLUMNS} FROM fust_jobs WHERE name = ?"
                ))
                .bind(name)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| self.db(&context(), e))?
                .map(|row| self.job_from_row(&row))
                .transpose()?;
            let written = match current {
                Some(job) if job.definition == definition => {
                    self.commit(tx).await?;
                    return Ok((job, false));
                }
                Some(job) => self
                    .update_job(&mut tx, &job, definition)
                    .await
                    .map(|updated| updated.map(|job| (job, false))),
                None => self
                    .insert_job(&mut tx, name, definition)
                    .await
                    .map(|job| Some((job, true))),
            };
            match written {
                Ok(Some(done)) => {
                    self.commit(tx).await?;
                    return Ok(done);
                }
                // Another writer changed the job first: read it again.
                Ok(None) => {}
                Err(e) if is_conflict(&e) && attempt < WRITE_ATTEMPTS => {}
                Err(e) => return Err(self.db(&context(), e)),
            }
            drop(tx);
            backoff(attempt).await;
        }
        Err(self.db_msg(format!(
            "storing job `{name}`: gave up after {WRITE_ATTEMPTS} concurrent updates"
        )))
    }

    pub async fn get_job(&self, name: &str) -> StoreResult<Option<JobRecord>> {
        self.query(&format!(
            "SELECT {JOB_COLUMNS} FROM fust_jobs WHERE name = ?"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.db(&format!("reading job `{name}`"), e))?
        .map(|row| self.job_from_row(&row))
        .transpose()
    }

    /// Every job, by name (byte order on every backend).
    pub async fn list_jobs(&self) -> StoreResult<Vec<JobRecord>> {
        let rows = self
            .query(&format!(
                "SELECT {JOB_COLUMNS} FROM fust_jobs ORDER BY name"
            ))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.db("listing jobs", e))?;
        let mut jobs = rows
            .iter()
            .map(|row| self.job_from_row(row))
            .collect::<StoreResult<Vec<_>>>()?;
        // PostgreSQL may order by a locale collation.
        jobs.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(jobs)
    }

    /// Every stored version of the job, oldest first, also after the job was deleted.
    pub async fn job_versions(&self, name: &str) -> StoreResult<Vec<JobVersion>> {
        let rows = self
            .query(
                "SELECT name, version, definition, created_at FROM fust_job_versions \
                 WHERE name = ? ORDER BY version",
            )
            .bind(name)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.db(&format!("listing versions of job `{name}`"), e))?;
        rows.iter().map(|row| self.version_from_row(row)).collect()
    }

    pub async fn job_version(&self, name: &str, version: i64) -> StoreResult<Option<JobVersion>> {
        self.query(
            "SELECT name, version, definition, created_at FROM fust_job_versions \
             WHERE name = ? AND version = ?",
        )
        .bind(name)
        .bind(version)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.db(&format!("reading version {version} of job `{name}`"), e))?
        .map(|row| self.version_from_row(&row))
        .transpose()
    }

    /// Deletes the job; its versions, runs and logs are kept. False if it did not exist.
    pub async fn delete_job(&self, name: &str) -> StoreResult<bool> {
        let done = self
            .query("DELETE FROM fust_jobs WHERE name = ?")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(|e| self.db(&format!("deleting job `{name}`"), e))?;
        Ok(done.rows_affected() > 0)
    }

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
        ] {
            if let Some(value) = value {
                sets.push(column);
                ints.push(value);
            }
        }
        let mut texts = Vec::new();
        for (column, value) in [("error = ?", update.error), ("target = ?", update.target)] {
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

    /// The number of runs in every state, in [`RunState::ALL`] order, zeros included.
    pub async fn count_by_state(&self) -> StoreResult<Vec<(RunState, i64)>> {
        let rows = self
            .query("SELECT state, COUNT(*) AS n FROM fust_runs GROUP BY state")
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

    // ---- logs -------------------------------------------------------------------------

    /// Appends a line to the run's log and returns its sequence number (1, 2, … without
    /// gaps, also under concurrent appends). NotFound if the run does not exist.
    pub async fn append_log(&self, run_id: &str, level: &str, message: &str) -> StoreResult<i64> {
        let context = || format!("appending to the log of run {run_id}");
        // Locking the run row serialises appends to one run on PostgreSQL and MySQL; the
        // single SQLite connection serialises everything. The unique key on (run_id, seq)
        // backs this up: a duplicate is retried.
        let lock = match self.backend {
            Backend::Sqlite => "SELECT id FROM fust_runs WHERE id = ?",
            Backend::Postgres | Backend::Mysql => {
                "SELECT id FROM fust_runs WHERE id = ? FOR UPDATE"
            }
        };
        for attempt in 1..=WRITE_ATTEMPTS {
            let mut tx = self.begin().await?;
            let written: Result<Option<i64>, sqlx::Error> = async {
                if self
                    .query(lock)
                    .bind(run_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_none()
                {
                    return Ok(None);
                }
                let row = self
                    .query(
                        "SELECT COALESCE(MAX(seq), 0) + 1 AS next_seq FROM fust_run_logs \
                         WHERE run_id = ?",
                    )
                    .bind(run_id)
                    .fetch_one(&mut *tx)
                    .await?;
                let seq: i64 = row.try_get("next_seq")?;
                self.query(
                    "INSERT INTO fust_run_logs (run_id, seq, at, level, message) \
                     VALUES (?, ?, ?, ?, ?)",
                )
                .bind(run_id)
                .bind(seq)
                .bind(now_ms())
                .bind(level)
                .bind(message)
                .execute(&mut *tx)
                .await?;
                Ok(Some(seq))
            }
            .await;
            match written {
                Ok(Some(seq)) => {
                    self.commit(tx).await?;
                    return Ok(seq);
                }
                Ok(None) => return Err(not_found_run(run_id)),
                Err(e) if is_conflict(&e) && attempt < WRITE_ATTEMPTS => {
                    drop(tx);
                    backoff(attempt).await;
                }
                Err(e) => return Err(self.db(&context(), e)),
            }
        }
        Err(self.db_msg(format!(
            "{}: gave up after {WRITE_ATTEMPTS} concurrent appends",
            context()
        )))
    }

    /// Up to `limit` lines of the run's log with `seq > after_seq`, in order.
    pub async fn logs(
        &self,
        run_id: &str,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<LogLine>> {
        let rows = self
            .query(
                "SELECT run_id, seq, at, level, message FROM fust_run_logs \
                 WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            )
            .bind(run_id)
            .bind(after_seq)
            .bind(limit.max(0))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.db(&format!("reading the log of run {run_id}"), e))?;
        rows.iter()
            .map(|row| {
                Ok(LogLine {
                    run_id: self.col(row, "run_id")?,
                    seq: self.col(row, "seq")?,
                    at: self.col(row, "at")?,
                    level: self.col(row, "level")?,
                    message: self.col(row, "message")?,
                })
            })
            .collect()
    }

    // ---- connector state and service metadata -----------------------------------------

    /// A connector's saved state (e.g. an incremental cursor) for the job.
    pub async fn get_state(&self, job: &str, key: &str) -> StoreResult<Option<String>> {
        let row = self
            .query("SELECT value FROM fust_connector_state WHERE job = ? AND state_key = ?")
            .bind(job)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.db(&format!("reading state `{key}` of job `{job}`"), e))?;
        row.map(|row| self.col(&row, "value")).transpose()
    }

    /// Saves (inserts or replaces) a connector's state for the job.
    pub async fn put_state(&self, job: &str, key: &str, value: &str) -> StoreResult<()> {
        let sql = match self.backend {
            Backend::Sqlite | Backend::Postgres => {
                "INSERT INTO fust_connector_state (job, state_key, value, updated_at) \
                 VALUES (?, ?, ?, ?) ON CONFLICT (job, state_key) \
                 DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
            }
            Backend::Mysql => {
                "INSERT INTO fust_connector_state (job, state_key, value, updated_at) \
                 VALUES (?, ?, ?, ?) \
                 ON DUPLICATE KEY UPDATE value = VALUES(value), updated_at = VALUES(updated_at)"
            }
        };
        self.query(sql)
            .bind(job)
            .bind(key)
            .bind(value)
            .bind(now_ms())
            .execute(&self.pool)
            .await
            .map_err(|e| self.db(&format!("saving state `{key}` of job `{job}`"), e))?;
        Ok(())
    }

    /// A value of the service itself (e.g. the scheduler's last tick).
    pub async fn get_meta(&self, key: &str) -> StoreResult<Option<String>> {
        let row = self
            .query("SELECT value FROM fust_meta WHERE meta_key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.db(&format!("reading service value `{key}`"), e))?;
        row.map(|row| self.col(&row, "value")).transpose()
    }

    /// Saves (inserts or replaces) a value of the service itself.
    pub async fn put_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        let sql = match self.backend {
            Backend::Sqlite | Backend::Postgres => {
                "INSERT INTO fust_meta (meta_key, value) VALUES (?, ?) \
                 ON CONFLICT (meta_key) DO UPDATE SET value = excluded.value"
            }
            Backend::Mysql => {
                "INSERT INTO fust_meta (meta_key, value) VALUES (?, ?) \
                 ON DUPLICATE KEY UPDATE value = VALUES(value)"
            }
        };
        self.query(sql)
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await
            .map_err(|e| self.db(&format!("saving service value `{key}`"), e))?;
        Ok(())
    }

    // ---- helpers ----------------------------------------------------------------------

    /// A query with `?` placeholders in this backend's syntax.
    fn query(&self, sql: &str) -> Query<'static, Any, AnyArguments> {
        sqlx::query(AssertSqlSafe(placeholders(sql, self.backend)))
    }

    /// A write transaction; `BEGIN IMMEDIATE` on SQLite so that it never has to upgrade a
    /// read lock (which fails with `SQLITE_BUSY` when another process writes).
    async fn begin(&self) -> StoreResult<Transaction<'static, Any>> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres | Backend::Mysql => self.pool.begin().await,
        }
        .map_err(|e| self.db("starting a transaction", e))
    }

    async fn commit(&self, tx: Transaction<'static, Any>) -> StoreResult<()> {
        tx.commit()
            .await
            .map_err(|e| self.db("committing a transaction", e))
    }

    /// Inserts a new job at the version after the highest it ever had.
    async fn insert_job(
        &self,
        tx: &mut Transaction<'static, Any>,
        name: &str,
        definition: &str,
    ) -> Result<JobRecord, sqlx::Error> {
        let row = self
            .query("SELECT MAX(version) AS v FROM fust_job_versions WHERE name = ?")
            .bind(name)
            .fetch_one(&mut **tx)
            .await?;
        let highest: Option<i64> = row.try_get("v")?;
        let now = now_ms();
        let job = JobRecord {
            name: name.to_owned(),
            version: highest.unwrap_or(0) + 1,
            definition: definition.to_owned(),
            created_at: now,
            updated_at: now,
        };
        self.query(
            "INSERT INTO fust_jobs (name, version, definition, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&job.name)
        .bind(job.version)
        .bind(&job.definition)
        .bind(job.created_at)
        .bind(job.updated_at)
        .execute(&mut **tx)
        .await?;
        self.insert_version(tx, &job).await?;
        Ok(job)
    }

    /// Moves the job from `current` to its next version; None if another writer changed
    /// it since `current` was read.
    async fn update_job(
        &self,
        tx: &mut Transaction<'static, Any>,
        current: &JobRecord,
        definition: &str,
    ) -> Result<Option<JobRecord>, sqlx::Error> {
        let job = JobRecord {
            version: current.version + 1,
            definition: definition.to_owned(),
            updated_at: now_ms(),
            ..current.clone()
        };
        let done = self
            .query(
                "UPDATE fust_jobs SET version = ?, definition = ?, updated_at = ? \
                 WHERE name = ? AND version = ?",
            )
            .bind(job.version)
            .bind(&job.definition)
            .bind(job.updated_at)
            .bind(&job.name)
            .bind(current.version)
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.insert_version(tx, &job).await?;
        Ok(Some(job))
    }

    async fn insert_version(
        &self,
        tx: &mut Transaction<'static, Any>,
        job: &JobRecord,
    ) -> Result<(), sqlx::Error> {
        self.query(
            "INSERT INTO fust_job_versions (name, version, definition, created_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(&job.name)
        .bind(job.version)
        .bind(&job.definition)
        .bind(job.updated_at)
        .execute(&mut **tx)
        .await
        .map(drop)
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

    fn job_from_row(&self, row: &AnyRow) -> StoreResult<JobRecord> {
        Ok(JobRecord {
            name: self.col(row, "name")?,
            version: self.col(row, "version")?,
            definition: self.col(row, "definition")?,
            created_at: self.col(row, "created_at")?,
            updated_at: self.col(row, "updated_at")?,
        })
    }

    fn version_from_row(&self, row: &AnyRow) -> StoreResult<JobVersion> {
        Ok(JobVersion {
            name: self.col(row, "name")?,
            version: self.col(row, "version")?,
            definition: self.col(row, "definition")?,
            created_at: self.col(row, "created_at")?,
        })
    }

    fn run_from_row(&self, row: &AnyRow) -> StoreResult<RunRecord> {
        let id: String = self.col(row, "id")?;
        let state = self.state_col(row, &format!("reading run {id}"))?;
        Ok(RunRecord {
            job: self.col(row, "job")?,
            job_version: self.col(row, "job_version")?,
            state,
            trigger: self.col(row, "trigger_kind")?,
            attempt: self.col(row, "attempt")?,
            scheduled_for: self.col(row, "scheduled_for")?,
            created_at: self.col(row, "created_at")?,
            started_at: self.col(row, "started_at")?,
            finished_at: self.col(row, "finished_at")?,
            rows_in: self.col(row, "rows_in")?,
            rows_out: self.col(row, "rows_out")?,
            bytes_in: self.col(row, "bytes_in")?,
            bytes_out: self.col(row, "bytes_out")?,
            error: self.col(row, "error")?,
            target: self.col(row, "target")?,
            id,
        })
    }

    fn state_col(&self, row: &AnyRow, context: &str) -> StoreResult<RunState> {
        let state: String = self.col(row, "state")?;
        RunState::parse(&state)
            .ok_or_else(|| self.db_msg(format!("{context}: unknown run state `{state}`")))
    }

    fn col<'r, T>(&self, row: &'r AnyRow, column: &str) -> StoreResult<T>
    where
        T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
    {
        row.try_get(column)
            .map_err(|e| self.db(&format!("reading column `{column}`"), e))
    }

    fn db(&self, context: &str, e: sqlx::Error) -> StoreError {
        db_error(self.backend, context, e)
    }

    fn db_msg(&self, message: String) -> StoreError {
        StoreError::Db {
            backend: self.backend.as_str(),
            message,
        }
    }
}

fn not_found_run(id: &str) -> StoreError {
    StoreError::NotFound {
        what: "run",
        name: id.to_owned(),
    }
}

/// Milliseconds since the Unix epoch, UTC.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Wraps a sqlx error with what the store was doing.
pub(crate) fn db_error(backend: Backend, context: &str, e: sqlx::Error) -> StoreError {
    StoreError::Db {
        backend: backend.as_str(),
        message: format!("{context}: {}", describe(&e)),
    }
}

/// The message of a sqlx error without sqlx's own prefixes.
pub(crate) fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} (code {code})", db.message()),
            None => db.message().to_owned(),
        },
        sqlx::Error::PoolTimedOut => {
            "timed out waiting for a connection (the database is slow or unreachable)".into()
        }
        other => other.to_string(),
    }
}

/// A write that lost a race with a concurrent one: a duplicate key, a deadlock or a
/// serialization failure. Retrying it may succeed.
fn is_conflict(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    db.is_unique_violation()
        || matches!(db.code().as_deref(), Some("40001" | "40P01"))
        // SQLite (extended codes): SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE.
        || matches!(db.code().as_deref(), Some("1555" | "2067"))
}

/// A short, growing pause before retrying a write that lost a race.
async fn backoff(attempt: u32) {
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 8);
    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 2 + jitter)).await;
}

/// Rewrites `?` placeholders to `$1, $2, …` for PostgreSQL. Our SQL never has `?` inside
/// a literal.
pub(crate) fn placeholders(sql: &str, backend: Backend) -> String {
    if backend != Backend::Postgres {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Picks the backend from the URL and puts it in the form sqlx expects.
fn normalize_url(url: &str) -> StoreResult<(Backend, String)> {
    let url = url.trim();
    let (scheme, rest) = match url.split_once(':') {
        Some((scheme, rest)) if scheme.len() > 1 => (scheme.to_ascii_lowercase(), rest),
        _ => (String::new(), url),
    };
    match scheme.as_str() {
        "sqlite" => Ok((Backend::Sqlite, sqlite_url(rest))),
        "postgres" | "postgresql" => Ok((Backend::Postgres, format!("{scheme}:{rest}"))),
        "mysql" | "mariadb" => Ok((Backend::Mysql, format!("mysql:{rest}"))),
        _ if !url.contains("://")
            && [".db", ".sqlite", ".sqlite3"]
                .iter()
                .any(|ext| url.to_ascii_lowercase().ends_with(ext)) =>
        {
            let path = url
                .replace('%', "%25")
                .replace('?', "%3F")
                .replace('#', "%23");
            Ok((Backend::Sqlite, sqlite_url(&path)))
        }
        _ => Err(StoreError::Schema(format!(
            "cannot tell the database of `{}`: use sqlite://PATH, a path ending in .db or \
             .sqlite, postgres://USER@HOST/DB or mysql://USER@HOST/DB",
            redact_url(url)
        ))),
    }
}

/// `sqlite:` + `rest`, with `mode=rwc` (create if missing) unless a mode is given.
fn sqlite_url(rest: &str) -> String {
    let (path, params) = match rest.split_once('?') {
        Some((path, params)) => (path, Some(params)),
        None => (rest, None),
    };
    match params {
        Some(params) if params.split('&').any(|p| p.starts_with("mode=")) => {
            format!("sqlite:{path}?{params}")
        }
        Some(params) if !params.is_empty() => format!("sqlite:{path}?{params}&mode=rwc"),
        _ => format!("sqlite:{path}?mode=rwc"),
    }
}

/// The URL with its password replaced by `***`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
        None => url.to_owned(),
    }
}

/// Removes the URL's password from a message, should a driver ever echo it.
fn scrub(message: &str, url: &str) -> String {
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split(['/', '?', '#']).next())
        .and_then(|authority| authority.rsplit_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password)
        .filter(|password| !password.is_empty());
    match password {
        Some(password) => message.replace(password, "***"),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    //! Every backend against a real server: PostgreSQL on 127.0.0.1:5432 (user postgres)
    //! and MariaDB on 127.0.0.1:3306 (root), each test in a database of its own that is
    //! dropped afterwards, and SQLite in a temporary directory. The server tests fail,
    //! never skip, when a server is unreachable.

    use std::collections::BTreeSet;
    use std::future::Future;
    use std::panic::AssertUnwindSafe;

    use futures::FutureExt;
    use futures::future::join_all;
    use sqlx::Connection;

    use super::*;
    use crate::service::migrations::MIGRATIONS;

    const PG_SERVER: &str = "postgres://postgres@127.0.0.1:5432";
    const MY_SERVER: &str = "mysql://root@127.0.0.1:3306";

    /// Runs `sql` on the server through a plain connection (no migrations).
    async fn admin(url: &str, sql: String) {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(url).await.unwrap_or_else(|e| {
            panic!("these tests need the database server at {url} (fails, never skips): {e}")
        });
        sqlx::raw_sql(AssertSqlSafe(sql.clone()))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        conn.close().await.ok();
    }

    /// Creates a fresh database on the server, runs `body` with its URL and drops it,
    /// also when `body` panics.
    async fn with_scratch_db<F, Fut>(server: &str, admin_db: &str, body: F)
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = ()>,
    {
        let name = format!("fust_meta_{}", uuid::Uuid::new_v4().simple());
        let admin_url = format!("{server}/{admin_db}");
        admin(&admin_url, format!("CREATE DATABASE {name}")).await;
        let outcome = AssertUnwindSafe(body(format!("{server}/{name}")))
            .catch_unwind()
            .await;
        let drop_sql = if server.starts_with("postgres") {
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        } else {
            format!("DROP DATABASE IF EXISTS {name}")
        };
        admin(&admin_url, drop_sql).await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }

    fn new_run(job: &str, version: i64) -> NewRun {
        NewRun {
            job: job.into(),
            job_version: version,
            trigger: "manual".into(),
            attempt: 1,
            scheduled_for: None,
        }
    }

    fn assert_illegal(result: StoreResult<RunRecord>, want_from: RunState, want_to: RunState) {
        match result {
            Err(StoreError::IllegalTransition { from, to, .. }) => {
                assert_eq!((from, to), (want_from, want_to));
            }
            other => panic!("expected IllegalTransition {want_from}→{want_to}, got {other:?}"),
        }
    }

    /// The same assertions for every backend.
    async fn exercise(url: &str, backend: Backend) {
        // Migrations: a second connect is a no-op.
        let store = Store::connect(url).await.unwrap();
        assert_eq!(store.backend(), backend);
        let again = Store::connect(url).await.unwrap();
        let latest = i64::try_from(MIGRATIONS.len()).unwrap();
        assert_eq!(again.schema_version().await.unwrap(), latest);
        assert_eq!(store.schema_version().await.unwrap(), latest);
        again.pool.close().await;
        assert!(!format!("{store:?}").contains("127.0.0.1"));

        exercise_jobs(&store).await;
        exercise_runs(&store).await;
        exercise_logs(&store).await;
        exercise_state(&store).await;
        store.pool.close().await;
    }

    async fn exercise_jobs(store: &Store) {
        let created = store.create_job("orders", "a: 1").await.unwrap();
        assert_eq!((created.version, created.definition.as_str()), (1, "a: 1"));
        assert_eq!(created.created_at, created.updated_at);
        match store.create_job("orders", "other").await {
            Err(StoreError::Conflict { what, name }) => {
                assert_eq!((what, name.as_str()), ("job", "orders"))
            }
            other => panic!("expected Conflict, got {other:?}"),
        }
        // Identical definition: no new version.
        let (same, was_created) = store.put_job("orders", "a: 1").await.unwrap();
        assert_eq!((same.clone(), was_created), (created.clone(), false));
        let (v2, was_created) = store.put_job("orders", "a: 2").await.unwrap();
        assert!(!was_created);
        assert_eq!((v2.version, v2.definition.as_str()), (2, "a: 2"));
        assert_eq!(v2.created_at, created.created_at);
        assert!(v2.updated_at >= created.updated_at);
        let (users, was_created) = store.put_job("users", "u").await.unwrap();
        assert!(was_created);
        assert_eq!(users.version, 1);
        // Keys are case-sensitive on every backend (binary collation on MySQL).
        store.create_job("Orders", "capital").await.unwrap();

        assert_eq!(store.get_job("orders").await.unwrap(), Some(v2.clone()));
        assert_eq!(store.get_job("nope").await.unwrap(), None);
        let names: Vec<String> = store
            .list_jobs()
            .await
            .unwrap()
            .into_iter()
            .map(|j| j.name)
            .collect();
        assert_eq!(names, ["Orders", "orders", "users"]);
        let versions = store.job_versions("orders").await.unwrap();
        let defs: Vec<(i64, &str)> = versions
            .iter()
            .map(|v| (v.version, v.definition.as_str()))
            .collect();
        assert_eq!(defs, [(1, "a: 1"), (2, "a: 2")]);
        assert_eq!(versions[1].created_at, v2.updated_at);
        assert_eq!(
            store
                .job_version("orders", 1)
                .await
                .unwrap()
                .unwrap()
                .definition,
            "a: 1"
        );
        assert_eq!(store.job_version("orders", 9).await.unwrap(), None);

        // Deleting keeps the versions; re-creating continues their numbering.
        assert!(store.delete_job("orders").await.unwrap());
        assert!(!store.delete_job("orders").await.unwrap());
        assert_eq!(store.get_job("orders").await.unwrap(), None);
        assert_eq!(store.job_versions("orders").await.unwrap().len(), 2);
        let recreated = store.create_job("orders", "a: 3").await.unwrap();
        assert_eq!(recreated.version, 3);
        store.delete_job("users").await.unwrap();
        let (users, was_created) = store.put_job("users", "u2").await.unwrap();
        assert_eq!((users.version, was_created), (2, true));
        assert_eq!(store.job_versions("orders").await.unwrap().len(), 3);

        // Concurrent put_job of different definitions: every one gets its own version.
        let defs: Vec<String> = (0..8).map(|i| format!("d{i}")).collect();
        let puts = join_all(defs.iter().map(|d| store.put_job("race", d))).await;
        let mut got: Vec<i64> = puts.into_iter().map(|r| r.unwrap().0.version).collect();
        got.sort_unstable();
        assert_eq!(got, (1..=8).collect::<Vec<_>>());
        assert_eq!(store.job_versions("race").await.unwrap().len(), 8);
    }

    async fn exercise_runs(store: &Store) {
        let r1 = store
            .create_run(NewRun {
                scheduled_for: Some(123),
                attempt: 2,
                ..new_run("orders", 3)
            })
            .await
            .unwrap();
        assert_eq!(r1.state, RunState::Pending);
        assert_eq!(store.get_run(&r1.id).await.unwrap().as_ref(), Some(&r1));
        assert_eq!(store.get_run("no-such-run").await.unwrap(), None);

        let started = store
            .transition(
                &r1.id,
                RunState::Pending,
                RunState::Running,
                RunUpdate {
                    started_at: Some(1_000),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (started.state, started.started_at),
            (RunState::Running, Some(1_000))
        );
        assert_eq!(started.scheduled_for, Some(123));
        assert_eq!(started.attempt, 2);
        assert_illegal(
            store
                .transition(
                    &r1.id,
                    RunState::Running,
                    RunState::Running,
                    RunUpdate::default(),
                )
                .await,
            RunState::Running,
            RunState::Running,
        );
        store.update_progress(&r1.id, 10, 9, 100).await.unwrap();
        let progressed = store.get_run(&r1.id).await.unwrap().unwrap();
        assert_eq!(
            (
                progressed.rows_in,
                progressed.rows_out,
                progressed.bytes_out
            ),
            (10, 9, 100)
        );
        let done = store
            .transition(
                &r1.id,
                RunState::Running,
                RunState::Succeeded,
                RunUpdate {
                    finished_at: Some(2_000),
                    rows_in: Some(11),
                    rows_out: Some(10),
                    bytes_in: Some(500),
                    bytes_out: Some(200),
                    target: Some("dw.orders".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            done,
            RunRecord {
                state: RunState::Succeeded,
                started_at: Some(1_000),
                finished_at: Some(2_000),
                rows_in: 11,
                rows_out: 10,
                bytes_in: 500,
                bytes_out: 200,
                target: Some("dw.orders".into()),
                ..r1.clone()
            }
        );
        // Nothing leaves a terminal state; a stale `from` reports the actual state.
        assert_illegal(
            store
                .transition(
                    &r1.id,
                    RunState::Succeeded,
                    RunState::Running,
                    RunUpdate::default(),
                )
                .await,
            RunState::Succeeded,
            RunState::Running,
        );
        assert_illegal(
            store
                .transition(
                    &r1.id,
                    RunState::Running,
                    RunState::Failed,
                    RunUpdate::default(),
                )
                .await,
            RunState::Succeeded,
            RunState::Failed,
        );
        match store
            .transition(
                "no-such-run",
                RunState::Pending,
                RunState::Running,
                RunUpdate::default(),
            )
            .await
        {
            Err(StoreError::NotFound { what: "run", name }) => assert_eq!(name, "no-such-run"),
            other => panic!("expected NotFound, got {other:?}"),
        }
        // Progress after the end is ignored; an unknown run is NotFound.
        store.update_progress(&r1.id, 99, 99, 99).await.unwrap();
        assert_eq!(store.get_run(&r1.id).await.unwrap().unwrap().rows_in, 11);
        assert!(matches!(
            store.update_progress("no-such-run", 1, 1, 1).await,
            Err(StoreError::NotFound { .. })
        ));

        // Two workers claim the same run at once: exactly one wins.
        let r2 = store.create_run(new_run("orders", 3)).await.unwrap();
        let (a, b) = tokio::join!(
            store.transition(
                &r2.id,
                RunState::Pending,
                RunState::Running,
                RunUpdate::default()
            ),
            store.transition(
                &r2.id,
                RunState::Pending,
                RunState::Running,
                RunUpdate::default()
            ),
        );
        let (won, lost) = if a.is_ok() { (a, b) } else { (b, a) };
        assert_eq!(won.unwrap().state, RunState::Running);
        assert_illegal(lost, RunState::Running, RunState::Running);

        let r3 = store.create_run(new_run("orders", 3)).await.unwrap();
        let cancelled = store
            .transition(
                &r3.id,
                RunState::Pending,
                RunState::Cancelled,
                RunUpdate {
                    error: Some("by user".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (cancelled.state, cancelled.error.as_deref()),
            (RunState::Cancelled, Some("by user"))
        );
        let r4 = store.create_run(new_run("orders", 3)).await.unwrap();
        store
            .transition(
                &r4.id,
                RunState::Pending,
                RunState::Failed,
                RunUpdate {
                    error: Some("no such table".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let mut interrupted = BTreeSet::from([r2.id.clone()]);
        for _ in 0..2 {
            let run = store.create_run(new_run("users", 2)).await.unwrap();
            store
                .transition(
                    &run.id,
                    RunState::Pending,
                    RunState::Running,
                    RunUpdate::default(),
                )
                .await
                .unwrap();
            interrupted.insert(run.id);
        }
        let r7 = store.create_run(new_run("users", 2)).await.unwrap();

        let failed: BTreeSet<String> = store
            .fail_interrupted("server restarted")
            .await
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(failed, interrupted);
        for id in &failed {
            let run = store.get_run(id).await.unwrap().unwrap();
            assert_eq!(
                (run.state, run.error.as_deref()),
                (RunState::Failed, Some("server restarted"))
            );
            assert!(run.finished_at.is_some());
        }
        assert!(store.fail_interrupted("again").await.unwrap().is_empty());

        let pending = store.runs_in_state(RunState::Pending).await.unwrap();
        assert_eq!(
            pending.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            [r7.id.as_str()]
        );
        assert_eq!(
            store.count_by_state().await.unwrap(),
            [
                (RunState::Pending, 1),
                (RunState::Running, 0),
                (RunState::Succeeded, 1),
                (RunState::Failed, 4),
                (RunState::Cancelled, 1),
            ]
        );

        let all = store.list_runs(RunFilter::default()).await.unwrap();
        assert_eq!(all.len(), 7);
        assert!(
            all.windows(2)
                .all(|w| (w[0].created_at, &w[0].id) >= (w[1].created_at, &w[1].id))
        );
        let failed_orders = store
            .list_runs(RunFilter {
                job: Some("orders".into()),
                state: Some(RunState::Failed),
                limit: None,
            })
            .await
            .unwrap();
        let ids: BTreeSet<&str> = failed_orders.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, BTreeSet::from([r2.id.as_str(), r4.id.as_str()]));
        assert_eq!(
            store
                .list_runs(RunFilter {
                    limit: Some(2),
                    ..Default::default()
                })
                .await
                .unwrap(),
            all[..2]
        );
        assert_eq!(
            store
                .list_runs(RunFilter {
                    job: Some("users".into()),
                    ..Default::default()
                })
                .await
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            store.last_run("users").await.unwrap().unwrap().created_at,
            r7.created_at
        );
        let last_orders = store.last_run("orders").await.unwrap().unwrap();
        assert_eq!(
            last_orders.id,
            all.iter().find(|r| r.job == "orders").unwrap().id
        );
        assert_eq!(store.last_run("ghost").await.unwrap(), None);
    }

    async fn exercise_logs(store: &Store) {
        let run = store.create_run(new_run("orders", 3)).await.unwrap();
        let seqs = join_all((0..50).map(|i| {
            let message = format!("line {i}");
            let run_id = run.id.clone();
            async move { store.append_log(&run_id, "info", &message).await }
        }))
        .await;
        let mut seqs: Vec<i64> = seqs.into_iter().map(Result::unwrap).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=50).collect::<Vec<_>>());

        let lines = store.logs(&run.id, 0, 1_000).await.unwrap();
        assert_eq!(
            lines.iter().map(|l| l.seq).collect::<Vec<_>>(),
            (1..=50).collect::<Vec<_>>()
        );
        let messages: BTreeSet<String> = lines.iter().map(|l| l.message.clone()).collect();
        assert_eq!(messages, (0..50).map(|i| format!("line {i}")).collect());
        assert!(
            lines
                .iter()
                .all(|l| l.run_id == run.id && l.level == "info" && l.at > 0)
        );
        let tail = store.logs(&run.id, 45, 10).await.unwrap();
        assert_eq!(
            tail.iter().map(|l| l.seq).collect::<Vec<_>>(),
            [46, 47, 48, 49, 50]
        );
        let head = store.logs(&run.id, 0, 3).await.unwrap();
        assert_eq!(head.iter().map(|l| l.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(
            store.append_log(&run.id, "warn", "after").await.unwrap(),
            51
        );
        assert!(matches!(
            store.append_log("no-such-run", "info", "x").await,
            Err(StoreError::NotFound { what: "run", .. })
        ));
        assert!(store.logs("no-such-run", 0, 10).await.unwrap().is_empty());
    }

    async fn exercise_state(store: &Store) {
        assert_eq!(store.get_state("orders", "cursor").await.unwrap(), None);
        store.put_state("orders", "cursor", "10").await.unwrap();
        store.put_state("orders", "cursor", "20").await.unwrap();
        store.put_state("orders", "other", "x").await.unwrap();
        store.put_state("users", "cursor", "u").await.unwrap();
        assert_eq!(
            store
                .get_state("orders", "cursor")
                .await
                .unwrap()
                .as_deref(),
            Some("20")
        );
        assert_eq!(
            store.get_state("orders", "other").await.unwrap().as_deref(),
            Some("x")
        );
        assert_eq!(
            store.get_state("users", "cursor").await.unwrap().as_deref(),
            Some("u")
        );
        let big = "é".repeat(100_000);
        store.put_state("orders", "big", &big).await.unwrap();
        assert_eq!(store.get_state("orders", "big").await.unwrap(), Some(big));

        assert_eq!(store.get_meta("scheduler.last_tick").await.unwrap(), None);
        store.put_meta("scheduler.last_tick", "1").await.unwrap();
        store.put_meta("scheduler.last_tick", "2").await.unwrap();
        assert_eq!(
            store
                .get_meta("scheduler.last_tick")
                .await
                .unwrap()
                .as_deref(),
            Some("2")
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_store() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("meta.db").display());
        exercise(&url, Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_store() {
        with_scratch_db(PG_SERVER, "postgres", |url| async move {
            exercise(&url, Backend::Postgres).await;
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql_store() {
        with_scratch_db(MY_SERVER, "test", |url| async move {
            // mariadb:// is accepted as another name for mysql://.
            exercise(&url.replacen("mysql://", "mariadb://", 1), Backend::Mysql).await;
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_concurrent_creates_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        // A bare path is a SQLite database too.
        let store = Store::connect(dir.path().join("meta.sqlite").to_str().unwrap())
            .await
            .unwrap();
        let created =
            join_all((0..200).map(|i| store.create_run(new_run(&format!("job{}", i % 5), 1))))
                .await;
        let created: BTreeSet<String> = created.into_iter().map(|r| r.unwrap().id).collect();
        assert_eq!(created.len(), 200);
        let listed = store
            .list_runs(RunFilter {
                limit: Some(1_000),
                ..Default::default()
            })
            .await
            .unwrap();
        let listed: BTreeSet<String> = listed.into_iter().map(|r| r.id).collect();
        assert_eq!(listed, created);
        assert_eq!(
            store.count_by_state().await.unwrap()[0],
            (RunState::Pending, 200)
        );
    }

    #[tokio::test]
    async fn sqlite_connection_settings() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("s.db").display()))
            .await
            .unwrap();
        let mut conn = store.pool.acquire().await.unwrap();
        for (pragma, want) in [("journal_mode", "wal")] {
            let row = sqlx::query(AssertSqlSafe(format!("PRAGMA {pragma}")))
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(row.try_get::<String, _>(0).unwrap(), want);
        }
        for (pragma, want) in [
            ("synchronous", 1_i64),
            ("busy_timeout", 10_000),
            ("foreign_keys", 1),
        ] {
            let row = sqlx::query(AssertSqlSafe(format!("PRAGMA {pragma}")))
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(row.try_get::<i64, _>(0).unwrap(), want, "{pragma}");
        }
    }

    #[tokio::test]
    async fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("new.db").display());
        let store = Store::connect(&url).await.unwrap();
        store
            .query(
                "INSERT INTO fust_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            )
            .bind(999_i64)
            .bind("from the future")
            .bind(0_i64)
            .execute(&store.pool)
            .await
            .unwrap();
        store.pool.close().await;
        let err = Store::connect(&url).await.unwrap_err();
        assert!(matches!(err, StoreError::Schema(_)), "{err}");
        assert!(
            err.to_string()
                .contains("schema version 999, newer than this fust binary knows (1)"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn bad_data_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("bad.db").display()))
            .await
            .unwrap();
        let run = store.create_run(new_run("j", 1)).await.unwrap();
        store
            .query("UPDATE fust_runs SET state = 'exploded'")
            .execute(&store.pool)
            .await
            .unwrap();
        let err = store.get_run(&run.id).await.unwrap_err();
        assert!(
            err.to_string().contains("unknown run state `exploded`"),
            "{err}"
        );
        assert!(store.count_by_state().await.is_err());
    }

    #[tokio::test]
    async fn connect_errors_hide_the_password() {
        let err = Store::connect("postgres://fust:s3cret@127.0.0.1:1/meta")
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with(
                "metadata store postgres: cannot connect to postgres://fust:***@127.0.0.1:1/meta"
            ),
            "{message}"
        );
        assert!(!message.contains("s3cret"), "{message}");
        assert!(err.retryable());
        let err = Store::connect("redis://localhost").await.unwrap_err();
        assert!(matches!(err, StoreError::Schema(_)), "{err}");
    }

    #[test]
    fn urls() {
        let cases = [
            (
                "sqlite:///tmp/a.db",
                Backend::Sqlite,
                "sqlite:///tmp/a.db?mode=rwc",
            ),
            (
                "sqlite://a.db?mode=ro",
                Backend::Sqlite,
                "sqlite://a.db?mode=ro",
            ),
            (
                "sqlite://a.db?cache=shared",
                Backend::Sqlite,
                "sqlite://a.db?cache=shared&mode=rwc",
            ),
            (
                "/var/lib/fust/meta.db",
                Backend::Sqlite,
                "sqlite:/var/lib/fust/meta.db?mode=rwc",
            ),
            (
                "meta 1?.SQLite",
                Backend::Sqlite,
                "sqlite:meta 1%3F.SQLite?mode=rwc",
            ),
            (
                "postgresql://u@h/db",
                Backend::Postgres,
                "postgresql://u@h/db",
            ),
            ("POSTGRES://u@h/db", Backend::Postgres, "postgres://u@h/db"),
            (
                "mariadb://root@h:3306/db",
                Backend::Mysql,
                "mysql://root@h:3306/db",
            ),
            ("mysql://root@h/db", Backend::Mysql, "mysql://root@h/db"),
        ];
        for (input, backend, url) in cases {
            assert_eq!(
                normalize_url(input).unwrap(),
                (backend, url.to_owned()),
                "{input}"
            );
        }
        let err = normalize_url("ftp://me:pw@host/x").unwrap_err().to_string();
        assert!(
            err.contains("ftp://me:***@host/x") && !err.contains("pw@"),
            "{err}"
        );
        assert!(normalize_url("meta.txt").is_err());
        assert_eq!(
            redact_url("postgres://u:p@h:5432/db?x=1"),
            "postgres://u:***@h:5432/db?x=1"
        );
        assert_eq!(redact_url("mysql://root@h/db"), "mysql://root@h/db");
        assert_eq!(
            scrub("bad p4ss here", "postgres://u:p4ss@h/db"),
            "bad *** here"
        );
    }

    #[test]
    fn placeholders_for_postgres() {
        let sql = "UPDATE t SET a = ?, b = ? WHERE id = ?";
        assert_eq!(
            placeholders(sql, Backend::Postgres),
            "UPDATE t SET a = $1, b = $2 WHERE id = $3"
        );
        assert_eq!(placeholders(sql, Backend::Mysql), sql);
        assert_eq!(placeholders(sql, Backend::Sqlite), sql);
    }

    #[test]
    fn state_machine() {
        use RunState::*;
        let allowed = [
            (Pending, Running),
            (Pending, Cancelled),
            (Pending, Failed),
            (Running, Succeeded),
            (Running, Failed),
            (Running, Cancelled),
        ];
        for from in RunState::ALL {
            assert_eq!(RunState::parse(from.as_str()), Some(from));
            assert_eq!(from.to_string(), from.as_str());
            assert_eq!(serde_json::to_string(&from).unwrap(), format!("\"{from}\""));
            for to in RunState::ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from}→{to}"
                );
                if from.is_terminal() {
                    assert!(!from.can_become(to));
                }
            }
        }
        assert_eq!(RunState::parse("Running"), None);
        assert_eq!(RunState::ALL.iter().filter(|s| s.is_terminal()).count(), 3);
    }
}
