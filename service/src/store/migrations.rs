//! Versioned schema migrations of the metadata store, applied in order by [`Store::connect`].
//!
//! Each [`Migration`] is a list of statements written once for every backend: `{text}`
//! stands for the large-text column type (`TEXT`, or `LONGTEXT` on MySQL) and
//! `{table_options}` for the table options (`ENGINE=InnoDB` with a binary UTF-8 collation
//! on MySQL, so keys compare byte for byte as on PostgreSQL and SQLite; nothing elsewhere).
//! Applied versions are recorded in `fust_schema_migrations`; a database that is already
//! at a newer version than this binary knows is refused and left untouched.
//!
//! Never edit a released migration: append a new one with the next version.
//!
//! [`Store::connect`]: super::Store::connect

use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, Connection};

use super::sql::{db_error, describe, now_ms, placeholders};
use super::types::{Backend, StoreError, StoreResult};

/// One step of the schema, applied inside a transaction (PostgreSQL and SQLite roll back
/// DDL with it; MySQL commits each DDL statement on its own).
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Position in the sequence, starting at 1 and without gaps.
    pub version: i64,
    /// What the migration does, recorded with it.
    pub name: &'static str,
    /// The statements, with `{text}` and `{table_options}` placeholders.
    pub statements: &'static [&'static str],
}

/// Every migration this binary knows, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "jobs, job versions, runs, run logs, connector state and service metadata",
        statements: &[
            "CREATE TABLE fust_jobs (\
            name VARCHAR(200) PRIMARY KEY, \
            version BIGINT NOT NULL, \
            definition {text} NOT NULL, \
            created_at BIGINT NOT NULL, \
            updated_at BIGINT NOT NULL\
         ){table_options}",
            "CREATE TABLE fust_job_versions (\
            name VARCHAR(200) NOT NULL, \
            version BIGINT NOT NULL, \
            definition {text} NOT NULL, \
            created_at BIGINT NOT NULL, \
            PRIMARY KEY (name, version)\
         ){table_options}",
            "CREATE TABLE fust_runs (\
            id VARCHAR(64) PRIMARY KEY, \
            job VARCHAR(200) NOT NULL, \
            job_version BIGINT NOT NULL, \
            state VARCHAR(16) NOT NULL, \
            trigger_kind VARCHAR(32) NOT NULL, \
            attempt BIGINT NOT NULL, \
            scheduled_for BIGINT NULL, \
            created_at BIGINT NOT NULL, \
            started_at BIGINT NULL, \
            finished_at BIGINT NULL, \
            rows_in BIGINT NOT NULL DEFAULT 0, \
            rows_out BIGINT NOT NULL DEFAULT 0, \
            bytes_in BIGINT NOT NULL DEFAULT 0, \
            bytes_out BIGINT NOT NULL DEFAULT 0, \
            error {text} NULL, \
            target {text} NULL\
         ){table_options}",
            "CREATE INDEX fust_runs_job_created ON fust_runs (job, created_at)",
            "CREATE INDEX fust_runs_state ON fust_runs (state)",
            "CREATE TABLE fust_run_logs (\
            run_id VARCHAR(64) NOT NULL, \
            seq BIGINT NOT NULL, \
            at BIGINT NOT NULL, \
            level VARCHAR(16) NOT NULL, \
            message {text} NOT NULL, \
            PRIMARY KEY (run_id, seq)\
         ){table_options}",
            "CREATE TABLE fust_connector_state (\
            job VARCHAR(200) NOT NULL, \
            state_key VARCHAR(200) NOT NULL, \
            value {text} NOT NULL, \
            updated_at BIGINT NOT NULL, \
            PRIMARY KEY (job, state_key)\
         ){table_options}",
            "CREATE TABLE fust_meta (\
            meta_key VARCHAR(200) PRIMARY KEY, \
            value {text} NOT NULL\
         ){table_options}",
        ],
    },
    Migration {
        version: 2,
        name: "bad records of runs: their count, and by stage and kind",
        statements: &[
            "ALTER TABLE fust_runs ADD COLUMN bad_records BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE fust_runs ADD COLUMN bad_records_by_kind {text} NULL",
        ],
    },
    Migration {
        version: 3,
        name: "jobs can be disabled; runs by creation time (the console's overview)",
        statements: &[
            "ALTER TABLE fust_jobs ADD COLUMN enabled BIGINT NOT NULL DEFAULT 1",
            "CREATE INDEX fust_runs_created ON fust_runs (created_at)",
        ],
    },
];

/// The bookkeeping table, created before anything else.
const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS fust_schema_migrations (\
    version BIGINT PRIMARY KEY, \
    name VARCHAR(200) NOT NULL, \
    applied_at BIGINT NOT NULL\
 ){table_options}";

/// Key of the PostgreSQL advisory lock (and name of the MySQL named lock) that keeps two
/// processes from migrating the same database at once. SQLite serialises them with
/// `BEGIN IMMEDIATE` instead.
const PG_LOCK_KEY: i64 = 0x6675_7374_6d69_6772; // "fustmigr"
const MYSQL_LOCK_NAME: &str = "fust_schema_migrations";

/// The schema version this binary brings a database to.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Substitutes the per-backend types and table options into a migration statement.
pub fn render(sql: &str, backend: Backend) -> String {
    let (text, options) = match backend {
        Backend::Sqlite | Backend::Postgres => ("TEXT", ""),
        Backend::Mysql => (
            "LONGTEXT",
            " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
        ),
    };
    sql.replace("{text}", text)
        .replace("{table_options}", options)
}

/// Brings the database up to [`latest_version`]; a no-op when it is there already.
pub(crate) async fn migrate(pool: &AnyPool, backend: Backend) -> StoreResult<()> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| db_error(backend, "connecting to migrate the schema", e))?;
    let lock = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some((
            format!("SELECT pg_advisory_lock({PG_LOCK_KEY})"),
            format!("SELECT pg_advisory_unlock({PG_LOCK_KEY})"),
        )),
        Backend::Mysql => Some((
            format!("SELECT GET_LOCK('{MYSQL_LOCK_NAME}', 60)"),
            format!("SELECT RELEASE_LOCK('{MYSQL_LOCK_NAME}')"),
        )),
    };
    if let Some((acquire, _)) = &lock {
        exec(&mut conn, acquire)
            .await
            .map_err(|e| db_error(backend, "taking the schema migration lock", e))?;
    }
    let result = apply_missing(&mut conn, backend).await;
    if let Some((_, release)) = &lock
        && let Err(e) = exec(&mut conn, release).await
    {
        // A session lock must not stay behind on a pooled connection.
        conn.close_on_drop();
        if result.is_ok() {
            return Err(db_error(backend, "releasing the schema migration lock", e));
        }
    }
    result
}

async fn apply_missing(conn: &mut AnyConnection, backend: Backend) -> StoreResult<()> {
    exec(conn, &render(MIGRATIONS_TABLE, backend))
        .await
        .map_err(|e| db_error(backend, "creating fust_schema_migrations", e))?;
    let applied = applied_versions(conn, backend).await?;
    let known = latest_version();
    if let Some(&newest) = applied.iter().max()
        && newest > known
    {
        return Err(StoreError::Schema(format!(
            "the {} database is at schema version {newest}, newer than this fust binary \
             knows ({known}); upgrade fust, or point it at another database",
            backend.as_str()
        )));
    }
    for migration in MIGRATIONS {
        if applied.contains(&migration.version) {
            continue;
        }
        apply(conn, backend, migration).await?;
    }
    Ok(())
}

async fn applied_versions(conn: &mut AnyConnection, backend: Backend) -> StoreResult<Vec<i64>> {
    use sqlx::Row;
    let rows = sqlx::query("SELECT version FROM fust_schema_migrations")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| db_error(backend, "reading fust_schema_migrations", e))?;
    rows.iter()
        .map(|row| {
            row.try_get::<i64, _>("version")
                .map_err(|e| db_error(backend, "reading fust_schema_migrations", e))
        })
        .collect()
}

async fn apply(conn: &mut AnyConnection, backend: Backend, m: &Migration) -> StoreResult<()> {
    let failed = |what: &str, e: sqlx::Error| {
        StoreError::Schema(format!(
            "{}: migration {} ({}) failed while {what}: {}",
            backend.as_str(),
            m.version,
            m.name,
            describe(&e)
        ))
    };
    let mut tx = match backend {
        Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres | Backend::Mysql => conn.begin().await,
    }
    .map_err(|e| failed("starting its transaction", e))?;
    // Another process may have applied it between our read and our lock (SQLite).
    let done = sqlx::query(AssertSqlSafe(placeholders(
        "SELECT version FROM fust_schema_migrations WHERE version = ?",
        backend,
    )))
    .bind(m.version)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| failed("reading fust_schema_migrations", e))?;
    if done.is_some() {
        return Ok(());
    }
    for statement in m.statements {
        exec(&mut tx, &render(statement, backend))
            .await
            .map_err(|e| failed(&format!("running `{}`", first_words(statement)), e))?;
    }
    sqlx::query(AssertSqlSafe(placeholders(
        "INSERT INTO fust_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
        backend,
    )))
    .bind(m.version)
    .bind(m.name)
    .bind(now_ms())
    .execute(&mut *tx)
    .await
    .map_err(|e| failed("recording it", e))?;
    tx.commit().await.map_err(|e| failed("committing", e))?;
    tracing::info!(
        backend = backend.as_str(),
        version = m.version,
        name = m.name,
        "Applied metadata store migration."
    );
    Ok(())
}

async fn exec(conn: &mut AnyConnection, sql: &str) -> Result<(), sqlx::Error> {
    sqlx::query(AssertSqlSafe(sql.to_owned()))
        .persistent(false)
        .execute(conn)
        .await
        .map(drop)
}

/// `CREATE TABLE fust_runs` out of a statement, for error messages.
fn first_words(sql: &str) -> String {
    sql.split(['(', ' '])
        .filter(|w| !w.is_empty())
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
