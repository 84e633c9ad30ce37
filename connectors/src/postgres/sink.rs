//! Writing PostgreSQL: one transaction per run. Rows go in by binary COPY, straight into
//! the table (`append`, `overwrite` after a TRUNCATE) or into a temporary table that is
//! merged with `INSERT … ON CONFLICT DO UPDATE` (`upsert`). Nothing is visible until the
//! commit; an error or a cancelled run rolls everything back, DDL included.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::BytesMut;
use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::DataFusionError;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use fust_engine::{Checkpoint, Epoch, Pending, Positions, Sink, SinkSummary, StageRejects};
use futures::{SinkExt, StreamExt};
use tokio_postgres::Client;

use super::client::{connect, external, pg_error};
use super::dialect::Postgres;
use super::types::{PgType, cast_for, encode_rows, put_header, put_trailer};
use crate::common::database::isolate::{Refusal, SliceWriter, write_isolating};
use crate::common::database::positions;
use crate::common::database::{
    CreateTable, DbSinkConfig, DbWriteMode, Dialect, Endpoint, create_table_sql,
};

const PG: Postgres = Postgres;

/// Bytes of encoded rows sent to the server at a time.
const CHUNK_BYTES: usize = 1 << 20;

#[derive(Debug)]
pub struct PgSink {
    pub config: DbSinkConfig,
    pub endpoint: Endpoint,
}

#[async_trait]
impl Sink for PgSink {
    fn exactly_once(&self) -> bool {
        true
    }

    async fn checkpoint(&self, _ctx: &SessionContext, job: &str) -> Result<Checkpoint> {
        let e = &self.endpoint;
        let conn = connect(e).await?;
        for ddl in [positions::create_sql(&PG), positions::create_state_sql(&PG)] {
            if let Err(err) = conn.client.batch_execute(&ddl).await {
                // Two processes creating it at once: one loses, and the table is there.
                if err.code() != Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
                    return Err(pg_error(e, "creating the stream positions tables", &err));
                }
            }
        }
        let state = conn
            .client
            .query_opt(&positions::select_state_sql(&PG, job), &[])
            .await
            .map_err(|err| pg_error(e, "reading the stream state", &err))?
            .map(|row| row.get::<_, Vec<u8>>(0));
        Ok(Checkpoint {
            positions: load_positions(&conn.client, e, job).await?,
            state,
        })
    }

    async fn prepare(
        &self,
        stream: SendableRecordBatchStream,
        ctx: &SessionContext,
    ) -> Result<Box<dyn Pending>> {
        let rejects = StageRejects::of(ctx);
        let e = &self.endpoint;
        let c = &self.config;
        let epoch = Epoch::of(ctx);
        if epoch.is_some() && c.write_mode == DbWriteMode::Overwrite {
            return Err(DataFusionError::Plan(
                "write_mode: overwrite would empty the table at every epoch of a stream job; use append or upsert".into(),
            ));
        }
        let table = PG.table(&c.table);
        let conn = connect(e).await?;
        // Committed by `PgLoad::commit`; a dropped connection rolls back.
        let tx = &conn.client;
        tx.batch_execute("BEGIN")
            .await
            .map_err(|err| pg_error(e, "starting a transaction", &err))?;
        run_all(tx, e, &c.pre_sql, "pre_sql").await?;

        let schema = stream.schema();
        let created = self.ensure_table(tx, &table, &schema).await?;
        let targets = self.target_columns(tx, &table, &schema).await?;
        let mut freeze = created;
        if c.write_mode == DbWriteMode::Overwrite && !created {
            tx.batch_execute(&format!("TRUNCATE {table}"))
                .await
                .map_err(|err| pg_error(e, &format!("emptying {table}"), &err))?;
            freeze = true;
        }
        let into = if c.write_mode == DbWriteMode::Upsert {
            let stage = PG.ident("fust_stage");
            tx.batch_execute(&format!(
                "CREATE TEMP TABLE {stage} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP"
            ))
            .await
            .map_err(|err| pg_error(e, "creating the staging table", &err))?;
            freeze = false;
            stage
        } else {
            table.clone()
        };
        let rows = match rejects.tolerates() {
            true => {
                self.copy_isolating(tx, &into, &targets, stream, &rejects)
                    .await?
            }
            false => self.copy_in(tx, &into, &targets, stream, freeze).await?,
        };
        if c.write_mode == DbWriteMode::Upsert {
            self.merge(tx, &into, &table, &targets).await?;
        }
        run_all(tx, e, &c.post_sql, "post_sql").await?;
        Ok(Box::new(PgLoad {
            conn,
            endpoint: e.clone(),
            epoch,
            table,
            summary: SinkSummary {
                rows,
                bytes: 0,
                target: format!("postgres {e} table {}", c.table),
            },
        }))
    }
}

/// A load whose transaction is open, waiting for the job's other outputs.
struct PgLoad {
    conn: super::client::PgConn,
    endpoint: Endpoint,
    /// The stream epoch whose positions commit with the rows.
    epoch: Option<Arc<Epoch>>,
    table: String,
    summary: SinkSummary,
}

#[async_trait]
impl Pending for PgLoad {
    async fn commit(self: Box<Self>) -> Result<SinkSummary> {
        if let Some(epoch) = &self.epoch {
            self.advance(epoch).await?;
        }
        self.conn
            .client
            .batch_execute("COMMIT")
            .await
            .map_err(|err| {
                pg_error(
                    &self.endpoint,
                    &format!("committing the load of {}", self.table),
                    &err,
                )
            })?;
        Ok(self.summary)
    }
}

impl PgLoad {
    /// Moves the stream job's stored positions to the epoch's ends, in the load's
    /// transaction; a part stored elsewhere than the epoch's start is a conflict, and
    /// rolls everything back.
    async fn advance(&self, epoch: &Epoch) -> Result<()> {
        let tx = &self.conn.client;
        let e = &self.endpoint;
        for span in epoch.spans() {
            let moved = tx
                .execute(&positions::advance_sql(&PG, &epoch.job, &span), &[])
                .await
                .map_err(|err| pg_error(e, "storing the stream positions", &err))?;
            if moved != 1 {
                let stored = load_positions(tx, e, &epoch.job).await?.get(&span.part);
                let _ = tx.batch_execute("ROLLBACK").await;
                return Err(positions::conflict(
                    epoch,
                    format!("postgres {e}"),
                    &span,
                    stored,
                ));
            }
        }
        if let Some(state) = epoch.state() {
            tx.batch_execute(&positions::delete_state_sql(&PG, &epoch.job))
                .await
                .map_err(|err| pg_error(e, "storing the stream state", &err))?;
            tx.execute(
                &positions::insert_state_sql(&PG, "$1, $2"),
                &[&epoch.job, &state],
            )
            .await
            .map_err(|err| pg_error(e, "storing the stream state", &err))?;
        }
        Ok(())
    }
}

/// The positions of stream job `job` stored in the database `tx` is connected to.
async fn load_positions(tx: &Client, e: &Endpoint, job: &str) -> Result<Positions> {
    let rows = tx
        .query(&positions::select_sql(&PG, job), &[])
        .await
        .map_err(|err| pg_error(e, "reading the stream positions", &err))?;
    Ok(positions::positions(
        rows.iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1))),
    ))
}

/// A column of the output and the target column type it is written as.
struct Target {
    name: String,
    pg: PgType,
}

impl PgSink {
    /// Creates the table when it is missing and allowed; returns whether it did.
    async fn ensure_table(&self, tx: &Client, table: &str, schema: &SchemaRef) -> Result<bool> {
        let e = &self.endpoint;
        let name = PG.string(&self.config.table);
        let exists = tx
            .query_one(&format!("SELECT to_regclass({name}) IS NOT NULL"), &[])
            .await
            .map_err(|err| pg_error(e, &format!("looking up {table}"), &err))?
            .get::<_, bool>(0);
        if exists {
            return Ok(false);
        }
        if self.config.create_table == CreateTable::Never {
            return Err(external(format!(
                "postgres {e}: table {} does not exist (create_table: never)",
                self.config.table
            )));
        }
        let ddl = create_table_sql(&PG, table, schema, &self.config)
            .map_err(|e| external(e.to_string()))?;
        tx.batch_execute(&ddl)
            .await
            .map_err(|err| pg_error(e, &format!("creating {table}"), &err))?;
        Ok(true)
    }

    /// The target's column types for the output's columns, matched by name.
    async fn target_columns(
        &self,
        tx: &Client,
        table: &str,
        schema: &SchemaRef,
    ) -> Result<Vec<Target>> {
        let e = &self.endpoint;
        let stmt = tx
            .prepare(&format!("SELECT * FROM {table} LIMIT 0"))
            .await
            .map_err(|err| pg_error(e, &format!("reading the columns of {table}"), &err))?;
        let mut out = Vec::with_capacity(schema.fields().len());
        for f in schema.fields() {
            let Some(col) = stmt.columns().iter().find(|c| c.name() == f.name()) else {
                let names: Vec<&str> = stmt.columns().iter().map(|c| c.name()).collect();
                return Err(external(format!(
                    "postgres {e}: table {} has no column `{}` (columns: {}); rename or drop it with a mapping processor",
                    self.config.table,
                    f.name(),
                    names.join(", ")
                )));
            };
            let pg = PgType::from_pg(col.type_(), col.type_modifier()).map_err(|t| {
                external(format!(
                    "postgres {e}: column `{}` of {} has type {t}, which Fust cannot write",
                    f.name(),
                    self.config.table
                ))
            })?;
            out.push(Target {
                name: f.name().clone(),
                pg,
            });
        }
        for k in &self.config.key_columns {
            if !out.iter().any(|t| &t.name == k) {
                return Err(external(format!(
                    "key_columns: `{k}` is not a column of the output"
                )));
            }
        }
        Ok(out)
    }

    /// Streams every batch into `COPY {into} FROM STDIN (FORMAT binary)`.
    async fn copy_in(
        &self,
        tx: &Client,
        into: &str,
        targets: &[Target],
        mut stream: SendableRecordBatchStream,
        freeze: bool,
    ) -> Result<u64> {
        let e = &self.endpoint;
        let cols: Vec<String> = targets.iter().map(|t| PG.ident(&t.name)).collect();
        let freeze = if freeze { ", FREEZE" } else { "" };
        let sql = format!(
            "COPY {into} ({}) FROM STDIN (FORMAT binary{freeze})",
            cols.join(", ")
        );
        let sink = tx
            .copy_in::<_, bytes::Bytes>(&sql)
            .await
            .map_err(|err| pg_error(e, &format!("starting the load of {into}"), &err))?;
        let mut sink = std::pin::pin!(sink);
        let mut buf = BytesMut::with_capacity(CHUNK_BYTES + (CHUNK_BYTES >> 2));
        put_header(&mut buf);
        let mut rows_seen = 0u64;
        let fail = |err: tokio_postgres::Error| pg_error(e, &format!("loading {into}"), &err);
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            let columns = cast_columns(&batch, targets)?;
            // Encode in slices so a chunk stays near CHUNK_BYTES.
            let n = batch.num_rows();
            let step = self.config.batch_size.min(n.max(1));
            let mut start = 0;
            while start < n {
                let len = step.min(n - start);
                let slice: Vec<_> = columns
                    .iter()
                    .map(|(a, t)| (a.slice(start, len), t.clone()))
                    .collect();
                encode_rows(&slice, len, &mut buf).map_err(|(row, col, m)| {
                    DataFusionError::Execution(format!(
                        "row {}, column `{}`: {m}",
                        rows_seen + (start + row) as u64 + 1,
                        targets[col].name
                    ))
                })?;
                start += len;
                if buf.len() >= CHUNK_BYTES {
                    sink.send(buf.split().freeze()).await.map_err(fail)?;
                }
            }
            rows_seen += n as u64;
        }
        put_trailer(&mut buf);
        sink.send(buf.split().freeze()).await.map_err(fail)?;
        sink.as_mut().finish().await.map_err(fail)
    }

    /// With bad records tolerated: each slice of `batch_size` rows is copied under a
    /// savepoint; a slice the server refuses for its data (a constraint, a bad value:
    /// SQLSTATE classes 22 and 23) is rolled back and copied again in halves, down to the
    /// single rows, which are reported as bad records. Returns the rows written.
    async fn copy_isolating(
        &self,
        tx: &Client,
        into: &str,
        targets: &[Target],
        mut stream: SendableRecordBatchStream,
        rejects: &StageRejects,
    ) -> Result<u64> {
        let e = &self.endpoint;
        let cols: Vec<String> = targets.iter().map(|t| PG.ident(&t.name)).collect();
        let sql = format!(
            "COPY {into} ({}) FROM STDIN (FORMAT binary)",
            cols.join(", ")
        );
        let mut rows_seen = 0u64;
        let mut written = 0u64;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            let mut slices = PgSlices {
                tx,
                e,
                sql: &sql,
                columns: cast_columns(&batch, targets)?,
                targets,
                into,
            };
            written += write_isolating(
                &mut slices,
                &batch,
                self.config.batch_size,
                rows_seen,
                rejects,
            )
            .await?;
            rows_seen += batch.num_rows() as u64;
        }
        Ok(written)
    }

    /// `INSERT … SELECT … ON CONFLICT (keys) DO UPDATE` from the staging table.
    async fn merge(&self, tx: &Client, stage: &str, table: &str, targets: &[Target]) -> Result<()> {
        let keys = &self.config.key_columns;
        let cols: Vec<String> = targets.iter().map(|t| PG.ident(&t.name)).collect();
        let updates: Vec<String> = targets
            .iter()
            .filter(|t| !keys.contains(&t.name))
            .map(|t| format!("{0} = EXCLUDED.{0}", PG.ident(&t.name)))
            .collect();
        let action = if updates.is_empty() {
            "DO NOTHING".to_string()
        } else {
            format!("DO UPDATE SET {}", updates.join(", "))
        };
        let key_list: Vec<String> = keys.iter().map(|k| PG.ident(k)).collect();
        let sql = format!(
            "INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} ON CONFLICT ({}) {action}",
            key_list.join(", "),
            cols = cols.join(", ")
        );
        tx.batch_execute(&sql)
            .await
            .map_err(|err| pg_error(&self.endpoint, &format!("merging into {table}"), &err))
    }
}

/// One batch's rows, copied a slice at a time under a savepoint.
struct PgSlices<'a> {
    tx: &'a Client,
    e: &'a Endpoint,
    sql: &'a str,
    columns: Vec<(ArrayRef, PgType)>,
    targets: &'a [Target],
    into: &'a str,
}

#[async_trait]
impl SliceWriter for PgSlices<'_> {
    async fn write_slice(&mut self, start: usize, len: usize) -> Result<Option<Refusal>> {
        let (tx, e) = (self.tx, self.e);
        let run = |sql: &'static str, doing: &'static str| async move {
            tx.batch_execute(sql)
                .await
                .map_err(|err| pg_error(e, doing, &err))
        };
        run("SAVEPOINT fust_rows", "setting a savepoint").await?;
        let mut buf = BytesMut::new();
        put_header(&mut buf);
        let slice: Vec<_> = self
            .columns
            .iter()
            .map(|(a, t)| (a.slice(start, len), t.clone()))
            .collect();
        let refusal = match encode_rows(&slice, len, &mut buf) {
            Err((_, col, m)) => Some(Refusal {
                reason: format!("column `{}`: {m}", self.targets[col].name),
                kind: "unwritable value".into(),
            }),
            Ok(()) => {
                put_trailer(&mut buf);
                match copy_chunk(tx, self.sql, buf.freeze()).await {
                    Ok(()) => None,
                    Err(err) if row_caused(&err) => Some(server_refusal(&err)),
                    Err(err) => return Err(pg_error(e, &format!("loading {}", self.into), &err)),
                }
            }
        };
        match refusal {
            None => run("RELEASE SAVEPOINT fust_rows", "releasing a savepoint").await?,
            Some(_) => {
                run(
                    "ROLLBACK TO SAVEPOINT fust_rows",
                    "rolling back to a savepoint",
                )
                .await?
            }
        }
        Ok(refusal)
    }
}

/// One `COPY` of an encoded chunk (header, rows, trailer).
async fn copy_chunk(
    tx: &Client,
    sql: &str,
    chunk: bytes::Bytes,
) -> Result<(), tokio_postgres::Error> {
    let sink = tx.copy_in::<_, bytes::Bytes>(sql).await?;
    let mut sink = std::pin::pin!(sink);
    sink.send(chunk).await?;
    sink.as_mut().finish().await.map(|_| ())
}

/// Whether the server refused the rows for what they hold (SQLSTATE class 22, data
/// exception, or 23, integrity constraint violation), not for anything else.
fn row_caused(err: &tokio_postgres::Error) -> bool {
    err.code()
        .is_some_and(|c| c.code().starts_with("22") || c.code().starts_with("23"))
}

/// The server's message (with its detail), counted by its SQLSTATE.
fn server_refusal(err: &tokio_postgres::Error) -> Refusal {
    match err.as_db_error() {
        Some(db) => {
            let mut reason = db.message().to_string();
            if let Some(d) = db.detail() {
                reason.push_str(&format!(" ({d})"));
            }
            Refusal {
                reason,
                kind: format!("SQLSTATE {}", db.code().code()),
            }
        }
        None => Refusal {
            reason: err.to_string(),
            kind: "server error".into(),
        },
    }
}

/// The batch's columns cast to the target types.
fn cast_columns(batch: &RecordBatch, targets: &[Target]) -> Result<Vec<(ArrayRef, PgType)>> {
    targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let cast = cast_for(batch.column(i), &t.pg).map_err(|m| {
                DataFusionError::Execution(format!(
                    "column `{}` cannot be written as {}: {m}",
                    t.name,
                    t.pg.sql_name()
                ))
            })?;
            Ok((cast, t.pg.clone()))
        })
        .collect()
}

async fn run_all(tx: &Client, e: &Endpoint, sql: &[String], key: &str) -> Result<()> {
    for (i, s) in sql.iter().enumerate() {
        tx.batch_execute(s)
            .await
            .map_err(|err| pg_error(e, &format!("{key}[{i}]"), &err))?;
    }
    Ok(())
}
