//! Writing MySQL/MariaDB so that every run is all or nothing, although MySQL commits DDL
//! implicitly:
//!
//! - into an existing table, one InnoDB transaction holds `pre_sql`, the load (after a
//!   `DELETE` for `overwrite`; through a session-private temporary table and `INSERT …
//!   SELECT … ON DUPLICATE KEY UPDATE` for `upsert`) and `post_sql`; an error, or a dropped
//!   connection, rolls it all back;
//! - a missing table is built under a private name (`<table>__fust_new_<connection id>`)
//!   and renamed into place only once loaded; a failed run drops it, and every run drops
//!   those of killed runs (whose connection the server no longer lists) before it writes.
//!
//! The last step (the `COMMIT`, or the `RENAME` and `post_sql`) waits until every output
//! of the job is written ([`Pending`]), so a job's outputs publish together.
//!
//! Rows go in by `LOAD DATA LOCAL INFILE` fed from memory when the server allows
//! `local_infile` (its warnings are checked, since LOCAL turns errors into warnings), else
//! by multi-row `INSERT`s of `batch_size` rows.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use async_trait::async_trait;
use bytes::Bytes;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::DataFusionError;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use fust_engine::{Checkpoint, Epoch, Pending, Positions, Sink, SinkSummary, StageRejects};
use futures::StreamExt;
use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, InfileData};

use super::client::{connect, external, my_error, probe_columns};
use super::dialect::MySql;
use super::types::Enc;
use crate::common::ConnectorError;
use crate::common::database::isolate::{Refusal, SliceWriter, write_isolating};
use crate::common::database::positions;
use crate::common::database::{
    CreateTable, DbSinkConfig, DbWriteMode, Dialect, Endpoint, create_table_sql,
};

const MY: MySql = MySql;

/// Bytes of INSERT text sent per statement at most (the server's packet limit is 16 MiB
/// by default).
const INSERT_BYTES: usize = 4 << 20;

/// Runs each statement in turn, stopping at the first error.
async fn drop_all(
    conn: &mut Conn,
    statements: &[String],
) -> std::result::Result<(), mysql_async::Error> {
    for sql in statements {
        conn.query_drop(sql).await?;
    }
    Ok(())
}

/// The name of the session's temporary staging table for `upsert`.
const UPSERT_STAGE: &str = "`fust_upsert_stage`";

/// Writes the job's output into a MySQL or MariaDB table.
#[derive(Debug)]
pub struct MySink {
    pub config: DbSinkConfig,
    pub endpoint: Endpoint,
}

/// A column of the output and how the target takes it.
struct Target {
    /// The target column's name, as the table spells it.
    name: String,
    /// BIT columns take numbers, not text: loaded through a variable and a CAST.
    bit: bool,
}

#[async_trait]
impl Sink for MySink {
    fn exactly_once(&self) -> bool {
        true
    }

    async fn checkpoint(&self, _ctx: &SessionContext, job: &str) -> Result<Checkpoint> {
        let e = &self.endpoint;
        let mut conn = connect(e).await?;
        for ddl in [positions::create_sql(&MY), positions::create_state_sql(&MY)] {
            exec(&mut conn, e, &ddl, "creating the stream positions tables").await?;
        }
        let state: Option<Vec<u8>> = conn
            .query_first(positions::select_state_sql(&MY, job))
            .await
            .map_err(|err| my_error(e, "reading the stream state", &err))?;
        Ok(Checkpoint {
            positions: load_positions(&mut conn, e, job).await?,
            state,
        })
    }

    /// Loads everything and holds the last step for commit: the transaction's `COMMIT`
    /// into an existing table, or the `RENAME` (and `post_sql`) of a new table's stage.
    async fn prepare(
        &self,
        stream: SendableRecordBatchStream,
        ctx: &SessionContext,
    ) -> Result<Box<dyn Pending>> {
        let e = &self.endpoint;
        let epoch = Epoch::of(ctx);
        if epoch.is_some() && self.config.write_mode == DbWriteMode::Overwrite {
            return Err(DataFusionError::Plan(
                "write_mode: overwrite would empty the table at every epoch of a stream job; use append or upsert".into(),
            ));
        }
        let mut conn = connect(e).await?;
        let local_infile = conn
            .query_first::<Option<String>, _>("SELECT @@GLOBAL.local_infile")
            .await
            .ok()
            .flatten()
            .flatten()
            .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("on"));
        let loader = Loader {
            e,
            batch_size: self.config.batch_size,
            local_infile,
            rejects: StageRejects::of(ctx),
        };
        // Every run sweeps (not only one that builds the table): a killed run's staging
        // table would otherwise outlive it once the table exists by other means.
        self.drop_stale_stages(&mut conn).await?;
        let exists = self.exists(&mut conn).await?;
        let (rows, finish) = match (exists, &epoch) {
            (true, _) => self.load_existing(&mut conn, &loader, stream).await?,
            // A stream epoch commits its positions with the rows, which a RENAME (DDL,
            // committing by itself) cannot: the table is created empty first.
            (false, Some(_)) => {
                self.create_empty(&mut conn, &stream.schema()).await?;
                self.load_existing(&mut conn, &loader, stream).await?
            }
            (false, None) => self.load_new(&mut conn, &loader, stream).await?,
        };
        Ok(Box::new(MyLoad {
            conn: Some(conn),
            endpoint: e.clone(),
            epoch,
            table: MY.table(&self.config.table),
            post_sql: self.config.post_sql.clone(),
            finish,
            summary: SinkSummary {
                rows,
                bytes: 0,
                target: format!("mysql {e} table {}", self.config.table),
            },
        }))
    }
}

/// What a prepared MySQL load still has to do to publish.
enum Finish {
    /// `COMMIT` the open transaction (`post_sql` already ran in it).
    Commit,
    /// Rename the loaded stage table into place, then run `post_sql`.
    Rename { stage: String },
}

/// A loaded table waiting for the job's other outputs. Aborted, it drops a stage table;
/// dropped without a commit or abort (a run cancelled by dropping its future), the open
/// transaction dies with the connection and a stage table is swept by the next run of
/// the same output, as after a kill.
struct MyLoad {
    conn: Option<Conn>,
    endpoint: Endpoint,
    /// The stream epoch whose positions commit with the rows.
    epoch: Option<Arc<Epoch>>,
    table: String,
    post_sql: Vec<String>,
    finish: Finish,
    summary: SinkSummary,
}

#[async_trait]
impl Pending for MyLoad {
    async fn commit(mut self: Box<Self>) -> Result<SinkSummary> {
        let e = self.endpoint.clone();
        let table = self.table.clone();
        let mut conn = self
            .conn
            .take()
            .ok_or_else(|| DataFusionError::Internal("committed twice".into()))?;
        match std::mem::replace(&mut self.finish, Finish::Commit) {
            Finish::Commit => {
                if let Some(epoch) = &self.epoch {
                    advance(&mut conn, &e, epoch).await?;
                }
                exec(
                    &mut conn,
                    &e,
                    "COMMIT",
                    &format!("committing the load of {table}"),
                )
                .await?;
                let _ = conn
                    .query_drop(format!("DROP TEMPORARY TABLE IF EXISTS {UPSERT_STAGE}"))
                    .await;
            }
            Finish::Rename { stage } => {
                let renamed = exec(
                    &mut conn,
                    &e,
                    &format!("RENAME TABLE {stage} TO {table}"),
                    &format!("renaming {stage} to {table}"),
                )
                .await;
                if let Err(err) = renamed {
                    let _ = drop_all(&mut conn, &[format!("DROP TABLE IF EXISTS {stage}")]).await;
                    return Err(err);
                }
                if !self.post_sql.is_empty() {
                    let post = async {
                        exec(&mut conn, &e, "START TRANSACTION", "starting a transaction").await?;
                        run_all(&mut conn, &e, &self.post_sql, "post_sql").await?;
                        exec(&mut conn, &e, "COMMIT", "committing post_sql").await
                    }
                    .await;
                    if let Err(err) = post {
                        let _ = conn.query_drop("ROLLBACK").await;
                        let _ =
                            drop_all(&mut conn, &[format!("DROP TABLE IF EXISTS {table}")]).await;
                        return Err(err);
                    }
                }
            }
        }
        Ok(self.summary.clone())
    }

    async fn abort(mut self: Box<Self>) {
        self.drop_stage().await;
    }
}

impl MyLoad {
    /// Drops the stage table of a new table's load.
    async fn drop_stage(&mut self) {
        if let (Some(conn), Finish::Rename { stage }) = (self.conn.as_mut(), &self.finish) {
            let _ = conn
                .query_drop(format!("DROP TABLE IF EXISTS {stage}"))
                .await;
        }
    }
}

/// Moves the stream job's stored positions to the epoch's ends in the load's transaction;
/// a part stored elsewhere than the epoch's start is a conflict, and rolls all back.
async fn advance(conn: &mut Conn, e: &Endpoint, epoch: &Epoch) -> Result<()> {
    for span in epoch.spans() {
        conn.query_drop(positions::advance_sql(&MY, &epoch.job, &span))
            .await
            .map_err(|err| my_error(e, "storing the stream positions", &err))?;
        if conn.affected_rows() != 1 {
            let stored = load_positions(conn, e, &epoch.job).await?.get(&span.part);
            let _ = conn.query_drop("ROLLBACK").await;
            return Err(positions::conflict(
                epoch,
                format!("mysql {e}"),
                &span,
                stored,
            ));
        }
    }
    if let Some(state) = epoch.state() {
        let delete = positions::delete_state_sql(&MY, &epoch.job);
        exec(conn, e, &delete, "storing the stream state").await?;
        conn.exec_drop(
            positions::insert_state_sql(&MY, "?, ?"),
            (epoch.job.clone(), state),
        )
        .await
        .map_err(|err| my_error(e, "storing the stream state", &err))?;
    }
    Ok(())
}

/// The positions of stream job `job` stored in the database `conn` is connected to.
async fn load_positions(conn: &mut Conn, e: &Endpoint, job: &str) -> Result<Positions> {
    let rows: Vec<(String, i64)> = conn
        .query(positions::select_sql(&MY, job))
        .await
        .map_err(|err| my_error(e, "reading the stream positions", &err))?;
    Ok(positions::positions(rows))
}

impl MySink {
    /// Creates the missing target table, empty (a stream job's first epoch).
    async fn create_empty(&self, conn: &mut Conn, schema: &SchemaRef) -> Result<()> {
        let c = &self.config;
        if c.create_table == CreateTable::Never {
            return Err(external(format!(
                "mysql {}: table {} does not exist (create_table: never)",
                self.endpoint, c.table
            )));
        }
        let table = MY.table(&c.table);
        let ddl = create_table_sql(&MY, &table, schema, c).map_err(|e| external(e.to_string()))?;
        exec(conn, &self.endpoint, &ddl, &format!("creating {table}")).await
    }

    /// The table as `(database expression, table name)` for information_schema lookups.
    fn split(&self) -> (String, String) {
        match self.config.table.rsplit_once('.') {
            Some((db, t)) => (MY.string(db), t.to_string()),
            None => ("DATABASE()".to_string(), self.config.table.clone()),
        }
    }

    async fn exists(&self, conn: &mut Conn) -> Result<bool> {
        let (db, name) = self.split();
        let sql = format!(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {db} AND TABLE_NAME = {}",
            MY.string(&name)
        );
        let n: Option<u64> = conn.query_first(sql).await.map_err(|err| {
            my_error(
                &self.endpoint,
                &format!("looking up table {}", self.config.table),
                &err,
            )
        })?;
        Ok(n.unwrap_or(0) > 0)
    }

    /// Loads into an existing table in one transaction.
    async fn load_existing(
        &self,
        conn: &mut Conn,
        loader: &Loader<'_>,
        stream: SendableRecordBatchStream,
    ) -> Result<(u64, Finish)> {
        let c = &self.config;
        let e = &self.endpoint;
        let table = MY.table(&c.table);
        let targets = self.target_columns(conn, &table, &stream.schema()).await?;
        let upsert = c.write_mode == DbWriteMode::Upsert;
        if upsert {
            // A temporary table is private to the session and created without an implicit
            // commit; it keeps the target's keys, so duplicate keys in the input fail.
            exec(
                conn,
                e,
                &format!("CREATE TEMPORARY TABLE {UPSERT_STAGE} LIKE {table}"),
                "creating the staging table",
            )
            .await?;
        }
        let run = async {
            exec(conn, e, "START TRANSACTION", "starting a transaction").await?;
            run_all(conn, e, &c.pre_sql, "pre_sql").await?;
            if c.write_mode == DbWriteMode::Overwrite {
                exec(
                    conn,
                    e,
                    &format!("DELETE FROM {table}"),
                    &format!("emptying {table}"),
                )
                .await?;
            }
            let into = if upsert { UPSERT_STAGE } else { table.as_str() };
            let rows = loader.load(conn, into, &targets, stream).await?;
            if upsert {
                self.merge(conn, &table, &targets).await?;
            }
            run_all(conn, e, &c.post_sql, "post_sql").await?;
            // COMMIT when the job's outputs are all written (`MyLoad::commit`).
            Ok::<_, DataFusionError>((rows, Finish::Commit))
        }
        .await;
        if run.is_err() {
            let _ = conn.query_drop("ROLLBACK").await;
            if upsert {
                let _ = conn
                    .query_drop(format!("DROP TEMPORARY TABLE IF EXISTS {UPSERT_STAGE}"))
                    .await;
            }
        }
        run
    }

    /// Builds a missing table under a private name and renames it into place once loaded.
    async fn load_new(
        &self,
        conn: &mut Conn,
        loader: &Loader<'_>,
        stream: SendableRecordBatchStream,
    ) -> Result<(u64, Finish)> {
        let c = &self.config;
        let e = &self.endpoint;
        if c.create_table == CreateTable::Never {
            return Err(external(format!(
                "mysql {e}: table {} does not exist (create_table: never); create it, or drop \
                 `create_table: never`",
                c.table
            )));
        }
        let table = MY.table(&c.table);
        let schema = stream.schema();
        let (db, name) = match c.table.rsplit_once('.') {
            Some((db, t)) => (Some(db), t),
            None => (None, c.table.as_str()),
        };
        let suffix = format!("__fust_new_{}", conn.id());
        let base: String = name.chars().take(64 - suffix.len()).collect();
        let stage_name = format!("{base}{suffix}");
        let stage = match db {
            Some(db) => format!("{}.{}", MY.ident(db), MY.ident(&stage_name)),
            None => MY.ident(&stage_name),
        };
        exec(
            conn,
            e,
            &create_table_sql(&MY, &stage, &schema, c).map_err(|e| external(e.to_string()))?,
            &format!("creating {table}"),
        )
        .await?;
        let run = async {
            let targets = self.target_columns(conn, &stage, &schema).await?;
            exec(conn, e, "START TRANSACTION", "starting a transaction").await?;
            run_all(conn, e, &c.pre_sql, "pre_sql").await?;
            let rows = loader.load(conn, &stage, &targets, stream).await?;
            exec(
                conn,
                e,
                "COMMIT",
                &format!("committing the load of {table}"),
            )
            .await?;
            // Renamed into place when the job's outputs are all written (`MyLoad::commit`).
            Ok::<_, DataFusionError>((
                rows,
                Finish::Rename {
                    stage: stage.clone(),
                },
            ))
        }
        .await;
        if run.is_err() {
            let _ = conn.query_drop("ROLLBACK").await;
            let drops = [format!("DROP TABLE IF EXISTS {stage}")];
            // A load that failed mid-stream can leave the connection unusable; then a
            // fresh one cleans up.
            if drop_all(conn, &drops).await.is_err()
                && let Ok(mut fresh) = connect(e).await
            {
                let _ = drop_all(&mut fresh, &drops).await;
            }
        }
        run
    }

    /// Drops the staging tables of this target left by runs whose connection is gone (a
    /// killed run, or one whose connection broke before it could clean up). A staging table
    /// is `<table>__fust_new_<connection id>`; one whose connection still shows in the
    /// process list belongs to a run in progress and is kept.
    async fn drop_stale_stages(&self, conn: &mut Conn) -> Result<()> {
        let e = &self.endpoint;
        let (db, name) = self.split();
        let doing = format!("looking for staging tables of {}", self.config.table);
        let prefix: String = name.chars().take(32).collect();
        // `_` matches any character in LIKE: escape the name's and the suffix's.
        let pattern = format!("{prefix}%__fust_new_%").replace('_', "\\_");
        let sql = format!(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = {db} AND TABLE_NAME LIKE {}",
            MY.string(&pattern)
        );
        let tables: Vec<String> = conn
            .query(sql)
            .await
            .map_err(|err| my_error(e, &doing, &err))?;
        if tables.is_empty() {
            return Ok(());
        }
        let live: Vec<u64> = conn
            .query("SELECT ID FROM information_schema.PROCESSLIST")
            .await
            .map_err(|err| my_error(e, &doing, &err))?;
        for t in tables {
            let Some((base, id)) = t.rsplit_once("__fust_new_") else {
                continue;
            };
            let stale = id.parse::<u64>().is_ok_and(|id| !live.contains(&id));
            if stale && name.starts_with(base) {
                let qualified = match self.config.table.rsplit_once('.') {
                    Some((db, _)) => format!("{}.{}", MY.ident(db), MY.ident(&t)),
                    None => MY.ident(&t),
                };
                tracing::info!(table = %t, "dropping a staging table left by an earlier run");
                exec(
                    conn,
                    e,
                    &format!("DROP TABLE IF EXISTS {qualified}"),
                    &doing,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// The target's columns for the output's columns, matched by name (case-insensitively,
    /// as MySQL does).
    async fn target_columns(
        &self,
        conn: &mut Conn,
        table: &str,
        schema: &SchemaRef,
    ) -> Result<Vec<Target>> {
        let e = &self.endpoint;
        let doing = format!("reading the columns of {}", self.config.table);
        let columns = probe_columns(conn, e, table, &doing).await?;
        let mut out = Vec::with_capacity(schema.fields().len());
        for f in schema.fields() {
            let Some(col) = columns
                .iter()
                .find(|c| c.name_str().eq_ignore_ascii_case(f.name()))
            else {
                let names: Vec<String> =
                    columns.iter().map(|c| c.name_str().into_owned()).collect();
                return Err(external(format!(
                    "mysql {e}: table {} has no column `{}` (columns: {}); rename or drop it with a mapping processor",
                    self.config.table,
                    f.name(),
                    names.join(", ")
                )));
            };
            out.push(Target {
                name: col.name_str().into_owned(),
                bit: col.column_type() == ColumnType::MYSQL_TYPE_BIT,
            });
        }
        for k in &self.config.key_columns {
            if !out.iter().any(|t| t.name.eq_ignore_ascii_case(k)) {
                return Err(external(format!(
                    "key_columns: `{k}` is not a column of the output"
                )));
            }
        }
        Ok(out)
    }

    /// `INSERT … SELECT … ON DUPLICATE KEY UPDATE` from the staging table. MySQL matches on
    /// every unique key of the target (`key_columns` must be one of them).
    async fn merge(&self, conn: &mut Conn, table: &str, targets: &[Target]) -> Result<()> {
        let keys = &self.config.key_columns;
        let cols: Vec<String> = targets.iter().map(|t| MY.ident(&t.name)).collect();
        let mut updates: Vec<String> = targets
            .iter()
            .filter(|t| !keys.iter().any(|k| k.eq_ignore_ascii_case(&t.name)))
            .map(|t| format!("{0} = VALUES({0})", MY.ident(&t.name)))
            .collect();
        if updates.is_empty() {
            let k = MY.ident(&keys[0]);
            updates.push(format!("{k} = {k}"));
        }
        let sql = format!(
            "INSERT INTO {table} ({cols}) SELECT {cols} FROM {UPSERT_STAGE} ON DUPLICATE KEY UPDATE {}",
            updates.join(", "),
            cols = cols.join(", ")
        );
        exec(conn, &self.endpoint, &sql, &format!("merging into {table}")).await
    }
}

async fn exec(conn: &mut Conn, e: &Endpoint, sql: &str, doing: &str) -> Result<()> {
    conn.query_drop(sql)
        .await
        .map_err(|err| my_error(e, doing, &err))
}

async fn run_all(conn: &mut Conn, e: &Endpoint, sql: &[String], key: &str) -> Result<()> {
    for (i, s) in sql.iter().enumerate() {
        exec(conn, e, s, &format!("{key}[{i}]")).await?;
    }
    Ok(())
}

/// How rows reach the server.
struct Loader<'a> {
    e: &'a Endpoint,
    batch_size: usize,
    local_infile: bool,
    rejects: StageRejects,
}

impl Loader<'_> {
    async fn load(
        &self,
        conn: &mut Conn,
        into: &str,
        targets: &[Target],
        stream: SendableRecordBatchStream,
    ) -> Result<u64> {
        if self.rejects.tolerates() {
            self.insert_isolating(conn, into, targets, stream).await
        } else if self.local_infile {
            self.load_data(conn, into, targets, stream).await
        } else {
            self.insert(conn, into, targets, stream).await
        }
    }

    /// One `LOAD DATA LOCAL INFILE` statement whose file is the encoded input stream.
    async fn load_data(
        &self,
        conn: &mut Conn,
        into: &str,
        targets: &[Target],
        stream: SendableRecordBatchStream,
    ) -> Result<u64> {
        let mut cols = Vec::with_capacity(targets.len());
        let mut sets = Vec::new();
        for (i, t) in targets.iter().enumerate() {
            if t.bit {
                cols.push(format!("@fust_v{i}"));
                sets.push(format!(
                    "{} = CAST(@fust_v{i} AS UNSIGNED)",
                    MY.ident(&t.name)
                ));
            } else {
                cols.push(MY.ident(&t.name));
            }
        }
        let set = if sets.is_empty() {
            String::new()
        } else {
            format!(" SET {}", sets.join(", "))
        };
        let sql = format!(
            r"LOAD DATA LOCAL INFILE 'fust-stream' INTO TABLE {into} CHARACTER SET binary FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n' ({}){set}",
            cols.join(", ")
        );
        let failure: Arc<Mutex<Option<DataFusionError>>> = Arc::default();
        let rows = Arc::new(AtomicU64::new(0));
        let names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
        let (fail, count) = (failure.clone(), rows.clone());
        let data = stream.map(move |batch| {
            let encoded = batch.and_then(|b| {
                let before = count.fetch_add(b.num_rows() as u64, Ordering::Relaxed);
                encode_fields(&b, &names, before)
            });
            encoded.map_err(|err| {
                if let Ok(mut f) = fail.lock() {
                    f.get_or_insert(err);
                }
                std::io::Error::other("the input failed")
            })
        });
        conn.set_infile_handler(Handoff(Mutex::new(Some(data.boxed()))));
        let loaded = conn.query_drop(&sql).await;
        if let Some(err) = failure.lock().ok().and_then(|mut f| f.take()) {
            return Err(err);
        }
        loaded.map_err(|err| my_error(self.e, &format!("loading {into}"), &err))?;
        if conn.get_warnings() > 0 {
            check_warnings(conn, self.e, into).await?;
        }
        Ok(rows.load(Ordering::Relaxed))
    }

    /// Multi-row INSERTs of at most `batch_size` rows (and a few MiB) each.
    async fn insert(
        &self,
        conn: &mut Conn,
        into: &str,
        targets: &[Target],
        mut stream: SendableRecordBatchStream,
    ) -> Result<u64> {
        let prefix = insert_prefix(into, targets);
        let mut sql: Vec<u8> = Vec::with_capacity(INSERT_BYTES + (INSERT_BYTES >> 2));
        let mut in_stmt = 0usize;
        let mut rows = 0u64;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            let encs = encoders(&batch, targets.iter().map(|t| t.name.as_str()))?;
            for row in 0..batch.num_rows() {
                sql.extend_from_slice(if in_stmt == 0 {
                    prefix.as_bytes()
                } else {
                    b","
                });
                put_row(&encs, row, &mut sql)
                    .map_err(|(i, m)| row_error(rows + row as u64 + 1, &targets[i].name, &m))?;
                in_stmt += 1;
                if in_stmt >= self.batch_size || sql.len() >= INSERT_BYTES {
                    self.send(conn, into, &mut sql).await?;
                    in_stmt = 0;
                }
            }
            rows += batch.num_rows() as u64;
        }
        if in_stmt > 0 {
            self.send(conn, into, &mut sql).await?;
        }
        Ok(rows)
    }

    /// With bad records tolerated: INSERTs of `batch_size` rows, each under a savepoint of
    /// the load's transaction; one the server refuses for its data (SQLSTATE classes 22
    /// and 23, a failed CHECK) or accepts with warnings is rolled back and sent again in
    /// halves, down to the single rows, which are reported as bad records.
    async fn insert_isolating(
        &self,
        conn: &mut Conn,
        into: &str,
        targets: &[Target],
        mut stream: SendableRecordBatchStream,
    ) -> Result<u64> {
        let e = self.e;
        let prefix = insert_prefix(into, targets);
        let (mut rows_seen, mut written) = (0u64, 0u64);
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            let mut slices = MySlices {
                conn: &mut *conn,
                e,
                prefix: &prefix,
                encs: encoders(&batch, targets.iter().map(|t| t.name.as_str()))?,
                targets,
                into,
            };
            written += write_isolating(
                &mut slices,
                &batch,
                self.batch_size,
                rows_seen,
                &self.rejects,
            )
            .await?;
            rows_seen += batch.num_rows() as u64;
        }
        Ok(written)
    }

    async fn send(&self, conn: &mut Conn, into: &str, sql: &mut Vec<u8>) -> Result<()> {
        let text = String::from_utf8(std::mem::take(sql))
            .map_err(|_| DataFusionError::Internal("INSERT text is not UTF-8".into()))?;
        exec(conn, self.e, &text, &format!("loading {into}")).await?;
        *sql = text.into_bytes();
        sql.clear();
        Ok(())
    }
}

/// One batch's rows, inserted a slice at a time under a savepoint.
struct MySlices<'a> {
    conn: &'a mut Conn,
    e: &'a Endpoint,
    prefix: &'a str,
    encs: Vec<Enc>,
    targets: &'a [Target],
    into: &'a str,
}

#[async_trait]
impl SliceWriter for MySlices<'_> {
    async fn write_slice(&mut self, start: usize, len: usize) -> Result<Option<Refusal>> {
        let (conn, e, into) = (&mut *self.conn, self.e, self.into);
        exec(conn, e, "SAVEPOINT fust_rows", "setting a savepoint").await?;
        let refusal = match insert_rows(self.prefix, &self.encs, self.targets, start, len) {
            Err(reason) => Some(Refusal {
                reason,
                kind: "unwritable value".into(),
            }),
            Ok(sql) => match conn.query_drop(sql).await {
                Err(err) if row_caused(&err) => Some(server_refusal(&err)),
                Err(err) => return Err(my_error(e, &format!("loading {into}"), &err)),
                Ok(()) if conn.get_warnings() > 0 => Some(warnings(conn, e, into).await?),
                Ok(()) => None,
            },
        };
        let (sql, doing) = match refusal {
            None => ("RELEASE SAVEPOINT fust_rows", "releasing a savepoint"),
            Some(_) => (
                "ROLLBACK TO SAVEPOINT fust_rows",
                "rolling back to a savepoint",
            ),
        };
        exec(conn, e, sql, doing).await?;
        Ok(refusal)
    }
}

/// An INSERT of rows `start..start + len`, or why a value cannot be written.
fn insert_rows(
    prefix: &str,
    encs: &[Enc],
    targets: &[Target],
    start: usize,
    len: usize,
) -> std::result::Result<String, String> {
    let mut sql = prefix.as_bytes().to_vec();
    for row in start..start + len {
        if row > start {
            sql.push(b',');
        }
        put_row(encs, row, &mut sql)
            .map_err(|(i, m)| format!("column `{}`: {m}", targets[i].name))?;
    }
    String::from_utf8(sql).map_err(|_| "the row is not valid UTF-8 text".to_string())
}

/// `INSERT INTO into (columns…) VALUES `.
fn insert_prefix(into: &str, targets: &[Target]) -> String {
    let cols: Vec<String> = targets.iter().map(|t| MY.ident(&t.name)).collect();
    format!("INSERT INTO {into} ({}) VALUES ", cols.join(", "))
}

/// Row `row` as a `(literal, …)` tuple; a value that cannot be written, with its column.
fn put_row(
    encs: &[Enc],
    row: usize,
    sql: &mut Vec<u8>,
) -> std::result::Result<(), (usize, ConnectorError)> {
    sql.push(b'(');
    for (i, enc) in encs.iter().enumerate() {
        if i > 0 {
            sql.push(b',');
        }
        enc.put_literal(row, sql).map_err(|m| (i, m))?;
    }
    sql.push(b')');
    Ok(())
}

/// Whether the server refused the rows for what they hold: SQLSTATE class 22 (data
/// exception) or 23 (integrity constraint), or a failed CHECK (3819).
fn row_caused(err: &mysql_async::Error) -> bool {
    match err {
        mysql_async::Error::Server(s) => {
            s.state.starts_with("22") || s.state.starts_with("23") || s.code == 3819
        }
        _ => false,
    }
}

/// The server's message, counted by its error code.
fn server_refusal(err: &mysql_async::Error) -> Refusal {
    let (reason, kind) = match err {
        mysql_async::Error::Server(s) => (s.message.clone(), format!("error {}", s.code)),
        other => (other.to_string(), "server error".to_string()),
    };
    Refusal { reason, kind }
}

/// The warnings of the last statement, as a refusal.
async fn warnings(conn: &mut Conn, e: &Endpoint, into: &str) -> Result<Refusal> {
    let warnings: Vec<(String, u32, String)> = conn
        .query("SHOW WARNINGS LIMIT 5")
        .await
        .map_err(|err| my_error(e, &format!("loading {into}"), &err))?;
    let kind = warnings
        .first()
        .map_or("warning".to_string(), |(_, code, _)| {
            format!("warning {code}")
        });
    let reason = warnings
        .into_iter()
        .map(|(_, code, msg)| format!("{msg} (warning {code})"))
        .collect::<Vec<_>>()
        .join("; ");
    Ok(Refusal { reason, kind })
}

fn encoders<'a>(batch: &RecordBatch, names: impl Iterator<Item = &'a str>) -> Result<Vec<Enc>> {
    batch
        .columns()
        .iter()
        .zip(names)
        .map(|(a, name)| {
            Enc::try_new(a).map_err(|m| {
                DataFusionError::Execution(format!("column `{name}` cannot be written: {m}"))
            })
        })
        .collect()
}

fn row_error(row: u64, column: &str, msg: &ConnectorError) -> DataFusionError {
    DataFusionError::Execution(format!("row {row}, column `{column}`: {msg}"))
}

/// One batch as LOAD DATA lines; `before` is the number of rows in earlier batches.
fn encode_fields(batch: &RecordBatch, names: &[String], before: u64) -> Result<Bytes> {
    let encs = encoders(batch, names.iter().map(String::as_str))?;
    let mut out = Vec::with_capacity(batch.get_array_memory_size() + batch.num_rows() * 8);
    for row in 0..batch.num_rows() {
        for (i, enc) in encs.iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            enc.put_field(row, &mut out)
                .map_err(|m| row_error(before + row as u64 + 1, &names[i], &m))?;
        }
        out.push(b'\n');
    }
    Ok(Bytes::from(out))
}

/// `LOAD DATA LOCAL` reports bad rows (duplicate keys, values that do not fit) as
/// warnings and goes on; Fust treats them as errors.
async fn check_warnings(conn: &mut Conn, e: &Endpoint, into: &str) -> Result<()> {
    let warnings: Vec<(String, u32, String)> = conn
        .query("SHOW WARNINGS LIMIT 5")
        .await
        .map_err(|err| my_error(e, &format!("loading {into}"), &err))?;
    let bad: Vec<String> = warnings
        .into_iter()
        .filter(|(level, ..)| !level.eq_ignore_ascii_case("note"))
        .map(|(_, code, msg)| format!("{msg} (error {code})"))
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    Err(external(format!(
        "mysql {e}: loading {into}: {}; nothing was written",
        bad.join("; ")
    )))
}

/// Hands the encoded stream to the connection when the server asks for the file. (The
/// driver wants a `Sync` future; the stream is only `Send`, hence the mutex.)
struct Handoff(Mutex<Option<InfileData>>);

impl Future for Handoff {
    type Output = mysql_async::Result<InfileData>;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let data = self.0.lock().ok().and_then(|mut d| d.take());
        Poll::Ready(data.ok_or_else(|| {
            mysql_async::Error::Other("the LOAD DATA input was already used".into())
        }))
    }
}
