//! Reading PostgreSQL: the schema from a prepared statement, rows by binary COPY decoded
//! straight into Arrow arrays.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{RecordBatch, RecordBatchOptions};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::common::DataFusionError;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::{StreamExt, TryStreamExt};
use tokio_postgres::SimpleQueryMessage;

use super::client::{PgConn, connect, external, pg_error};
use super::dialect::Postgres;
use super::types::{CopyDecoder, PgType};
use crate::common::database::{DbDriver, Dialect, Endpoint, Snapshot};
use fust_engine::ReadError;

#[derive(Debug)]
pub struct PgDriver {
    pub endpoint: Endpoint,
}

#[async_trait]
impl DbDriver for PgDriver {
    fn dialect(&self) -> &'static dyn Dialect {
        &Postgres
    }

    async fn schema(&self, from: &str) -> Result<SchemaRef> {
        let e = &self.endpoint;
        let conn = connect(e).await?;
        let stmt = conn
            .client
            .prepare(&format!("SELECT * FROM {from} LIMIT 0"))
            .await
            .map_err(|err| pg_error(e, &format!("reading the columns of {from}"), &err))?;
        let mut fields = Vec::with_capacity(stmt.columns().len());
        for c in stmt.columns() {
            let t = PgType::from_pg(c.type_(), c.type_modifier()).map_err(|t| {
                external(format!(
                    "postgres {e}: column `{}` of {from} has type {t}, which Fust cannot map to Arrow; \
                     cast it in a `query:` (e.g. `{}::text`)",
                    c.name(),
                    c.name()
                ))
            })?;
            fields.push(t.field(c.name()));
        }
        Ok(Arc::new(Schema::new(fields)))
    }

    async fn storage_ranges(&self, table: &str, n: usize) -> Result<Option<Vec<String>>> {
        let sql = format!(
            "SELECT pg_relation_size({}::regclass) / current_setting('block_size')::bigint",
            Postgres.string(table)
        );
        let pages: u64 = match self.query_row(&sql).await?.first() {
            Some(Some(v)) => v.parse().unwrap_or(0),
            _ => 0,
        };
        Ok(ctid_ranges(pages, n))
    }

    async fn query_row(&self, sql: &str) -> Result<Vec<Option<String>>> {
        let e = &self.endpoint;
        let conn = connect(e).await?;
        let messages = conn
            .client
            .simple_query(sql)
            .await
            .map_err(|err| pg_error(e, &format!("running `{sql}`"), &err))?;
        Ok(messages
            .iter()
            .find_map(|m| match m {
                SimpleQueryMessage::Row(r) => {
                    Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                }
                _ => None,
            })
            .unwrap_or_default())
    }

    /// A read-only REPEATABLE READ transaction that exports its snapshot; it stays open
    /// (idle) until the scan ends, since a snapshot can only be imported while it lives.
    async fn snapshot(&self) -> Result<Option<Snapshot>> {
        let e = &self.endpoint;
        let conn = connect(e).await?;
        let export = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot()";
        let messages = match conn.client.simple_query(export).await {
            Ok(messages) => messages,
            Err(err) => {
                // A server that cannot export one (e.g. an old standby) still reads, each
                // range at its own moment, as before PostgreSQL 9.2.
                let err = pg_error(e, "exporting a snapshot for the parallel ranges", &err);
                tracing::warn!("{err}; each range reads its own snapshot");
                return Ok(None);
            }
        };
        let id = messages.iter().find_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        });
        Ok(id.map(|id| Snapshot {
            id,
            hold: Box::new(conn),
        }))
    }

    fn read(
        &self,
        sql: String,
        schema: SchemaRef,
        batch_size: usize,
        snapshot: Option<Arc<Snapshot>>,
    ) -> SendableRecordBatchStream {
        let endpoint = self.endpoint.clone();
        let out = schema.clone();
        let start = async move {
            let conn = connect(&endpoint).await?;
            if let Some(s) = &snapshot {
                let begin = format!(
                    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT {}",
                    Postgres.string(&s.id)
                );
                conn.client.batch_execute(&begin).await.map_err(|err| {
                    pg_error(&endpoint, &format!("importing snapshot {}", s.id), &err)
                })?;
            }
            let copy = format!("COPY ({sql}) TO STDOUT (FORMAT binary)");
            let rows = conn
                .client
                .copy_out(&copy)
                .await
                .map_err(|err| pg_error(&endpoint, &format!("running `{sql}`"), &err))?;
            let decoder = CopyDecoder::new(schema.fields()).map_err(|e| external(e.to_string()))?;
            let state = Reader {
                _conn: conn,
                _snapshot: snapshot,
                rows: Box::pin(rows),
                decoder,
                schema,
                batch_size,
                endpoint,
                sql,
            };
            Ok::<_, DataFusionError>(futures::stream::try_unfold(state, Reader::next))
        };
        let stream = futures::stream::once(start)
            .try_flatten()
            .map_err(ReadError::wrap);
        Box::pin(RecordBatchStreamAdapter::new(out, stream))
    }
}

/// One partition's COPY in progress.
struct Reader {
    _conn: PgConn,
    _snapshot: Option<Arc<Snapshot>>,
    rows: std::pin::Pin<Box<tokio_postgres::CopyOutStream>>,
    decoder: CopyDecoder,
    schema: SchemaRef,
    batch_size: usize,
    endpoint: Endpoint,
    sql: String,
}

impl Reader {
    /// Decodes chunks until a batch is full or the COPY ends.
    async fn next(mut self) -> Result<Option<(RecordBatch, Self)>> {
        while self.decoder.rows() < self.batch_size && !self.decoder.finished() {
            match self.rows.next().await {
                Some(Ok(chunk)) => self.decoder.feed(&chunk).map_err(|m| {
                    external(format!(
                        "postgres {}: reading `{}`: {m}",
                        self.endpoint, self.sql
                    ))
                })?,
                Some(Err(err)) => {
                    return Err(pg_error(
                        &self.endpoint,
                        &format!("reading `{}`", self.sql),
                        &err,
                    ));
                }
                None => {
                    self.decoder.end().map_err(|m| {
                        external(format!(
                            "postgres {}: reading `{}`: {m}",
                            self.endpoint, self.sql
                        ))
                    })?;
                    break;
                }
            }
        }
        if self.decoder.rows() == 0 {
            return Ok(None);
        }
        let rows = self.decoder.rows();
        let columns = self.decoder.take();
        let batch = RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )?;
        Ok(Some((batch, self)))
    }
}

/// Below this many 8 KiB pages (64 MiB) one connection reads the table about as fast.
const MIN_PAGES_TO_SPLIT: u64 = 8192;

/// `n` conditions on `ctid` covering pages `[0, pages)` and anything added beyond them;
/// PostgreSQL 14+ reads each with a TID range scan, touching only its pages.
fn ctid_ranges(pages: u64, n: usize) -> Option<Vec<String>> {
    if n < 2 || pages < MIN_PAGES_TO_SPLIT {
        return None;
    }
    let n = n as u64;
    let bound = |i: u64| pages * i / n;
    Some(
        (0..n)
            .map(|i| match (i, i + 1 == n) {
                (0, _) => format!("ctid < '({},0)'::tid", bound(1)),
                (_, true) => format!("ctid >= '({},0)'::tid", bound(i)),
                _ => format!(
                    "ctid >= '({},0)'::tid AND ctid < '({},0)'::tid",
                    bound(i),
                    bound(i + 1)
                ),
            })
            .collect(),
    )
}

#[cfg(test)]
mod ctid_tests {
    use super::ctid_ranges;

    #[test]
    fn page_ranges_cover_the_table_once() {
        assert_eq!(ctid_ranges(100, 2), None, "small tables are read in one go");
        assert_eq!(ctid_ranges(100_000, 1), None);
        assert_eq!(
            ctid_ranges(100_000, 3).unwrap(),
            [
                "ctid < '(33333,0)'::tid",
                "ctid >= '(33333,0)'::tid AND ctid < '(66666,0)'::tid",
                "ctid >= '(66666,0)'::tid",
            ]
        );
    }
}

#[cfg(test)]
mod snapshot_tests {
    //! Against the PostgreSQL on 127.0.0.1:5432 (database `test`), as the rest of the suite.
    use super::*;
    use crate::common::database::DbTable;
    use datafusion::catalog::TableProvider;
    use datafusion::physical_plan::ExecutionPlan;
    use datafusion::prelude::SessionContext;

    async fn rows(plan: &Arc<dyn ExecutionPlan>, partition: usize, ctx: &SessionContext) -> usize {
        let batches: Vec<RecordBatch> = plan
            .execute(partition, ctx.task_ctx())
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        batches.iter().map(RecordBatch::num_rows).sum()
    }

    #[tokio::test]
    async fn every_range_reads_the_snapshot_taken_when_the_scan_began() {
        let endpoint = Endpoint {
            host: "127.0.0.1".into(),
            port: 5432,
            user: "postgres".into(),
            password: None,
            database: "test".into(),
            connect_timeout: std::time::Duration::from_secs(10),
            statement_timeout: None,
            tls: crate::common::tls::TlsOptions::disabled(),
        };
        let table = format!("fust_snapshot_probe_{}", std::process::id());
        let admin = connect(&endpoint).await.unwrap();
        let setup = format!(
            "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} AS SELECT generate_series(1, 100) AS id"
        );
        admin.client.batch_execute(&setup).await.unwrap();
        let driver = Arc::new(PgDriver { endpoint });
        let scan = DbTable {
            schema: driver.schema(&table).await.unwrap(),
            driver,
            from: table.clone(),
            ranges: vec![Some("id <= 150".into()), Some("id > 150".into())],
            window: None,
        };
        let ctx = SessionContext::new();
        let plan = scan.scan(&ctx.state(), None, &[], None).await.unwrap();
        assert_eq!(
            rows(&plan, 0, &ctx).await,
            100,
            "the first range, read whole"
        );

        // Committed after the first range was read, touching both ranges.
        let change = format!(
            "INSERT INTO {table} SELECT generate_series(101, 200); DELETE FROM {table} WHERE id <= 10"
        );
        admin.client.batch_execute(&change).await.unwrap();
        assert_eq!(
            rows(&plan, 1, &ctx).await,
            0,
            "the second range sees the table as the first did, not ids 151..200"
        );
        assert_eq!(rows(&plan, 0, &ctx).await, 100, "not the 10 deleted rows");
        // A new scan sees the change.
        let plan = scan.scan(&ctx.state(), None, &[], None).await.unwrap();
        assert_eq!(rows(&plan, 0, &ctx).await + rows(&plan, 1, &ctx).await, 190);
        admin
            .client
            .batch_execute(&format!("DROP TABLE {table}"))
            .await
            .unwrap();
    }
}
