//! The store's records, run states, backends and errors.

use std::fmt;

use fust_engine::ErrorKind;

/// The state of a run. Runs start `pending`; see [`RunState::can_become`] for the moves.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
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
    /// False when the job is disabled: the scheduler starts no cron or `after:` runs of
    /// it (a manual run still starts). Not part of the definition: no new version.
    pub enabled: bool,
}

/// One stored version of a job definition; versions are kept when the job is deleted.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
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
    /// Bad records the run skipped or wrote to its `dead_letter:` output.
    pub bad_records: i64,
    /// The same by the stage that found them and the kind of reason.
    pub bad_records_by_kind: Vec<BadRecordCount>,
}

/// Bad records of one stage (`input`, `pipeline.processors[1]`, `output`, …) and kind of
/// reason (`wrong field count`, `cast`, `SQLSTATE 23505`, `mapper_parsing_exception`, …).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct BadRecordCount {
    pub stage: String,
    pub kind: String,
    pub count: u64,
}

/// One line of a run's log.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
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
    pub bad_records: Option<i64>,
    /// JSON of the [`BadRecordCount`]s.
    pub bad_records_by_kind: Option<String>,
}

/// Which runs [`Store::list_runs`] returns.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub job: Option<String>,
    pub state: Option<RunState>,
    /// At most this many (default 100), newest first by `created_at`, then id.
    pub limit: Option<i64>,
}
