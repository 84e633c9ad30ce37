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

mod jobs;
mod logs;
pub mod migrations;
mod runs;
mod sql;
mod state;
#[cfg(test)]
mod tests;
pub mod types;

use std::fmt;
use std::time::Duration;

use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyPool, AssertSqlSafe, ConnectOptions, Connection, Row, Transaction};

pub use sql::now_ms;
use sql::{db_error, describe, normalize_url, placeholders, redact_url, scrub};
pub use state::JobState;
pub use types::{
    Backend, BadRecordCount, JobRecord, JobVersion, LogLine, NewRun, RunFilter, RunRecord,
    RunState, RunUpdate, StoreError, StoreResult,
};

/// How long connecting, or waiting for a free pooled connection, may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default page size of [`Store::list_runs`].
const DEFAULT_RUN_LIMIT: i64 = 100;
/// Attempts of an optimistic write (log append, job version) that lost a race.
const WRITE_ATTEMPTS: u32 = 10;

const JOB_COLUMNS: &str = "name, version, definition, created_at, updated_at, enabled";
const RUN_COLUMNS: &str = "id, job, job_version, state, trigger_kind, attempt, scheduled_for, \
    created_at, started_at, finished_at, rows_in, rows_out, bytes_in, bytes_out, error, target, \
    bad_records, bad_records_by_kind";

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
}

impl Store {
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

    fn job_from_row(&self, row: &AnyRow) -> StoreResult<JobRecord> {
        Ok(JobRecord {
            name: self.col(row, "name")?,
            version: self.col(row, "version")?,
            definition: self.col(row, "definition")?,
            created_at: self.col(row, "created_at")?,
            updated_at: self.col(row, "updated_at")?,
            enabled: self.col::<i64>(row, "enabled")? != 0,
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
            bad_records: self.col(row, "bad_records")?,
            bad_records_by_kind: {
                let text: Option<String> = self.col(row, "bad_records_by_kind")?;
                text.and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default()
            },
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
