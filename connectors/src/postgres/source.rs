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
use super::types::{CopyDecoder, PgType};
use crate::database::{DbDriver, Endpoint, SqlFlavor};
use fust_engine::ReadError;

#[derive(Debug)]
pub struct PgDriver {
    pub endpoint: Endpoint,
}

#[async_trait]
impl DbDriver for PgDriver {
    fn flavor(&self) -> SqlFlavor {
        SqlFlavor::Postgres
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
            SqlFlavor::Postgres.string(table)
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

    fn read(&self, sql: String, schema: SchemaRef, batch_size: usize) -> SendableRecordBatchStream {
        let endpoint = self.endpoint.clone();
        let out = schema.clone();
        let start = async move {
            let conn = connect(&endpoint).await?;
            let copy = format!("COPY ({sql}) TO STDOUT (FORMAT binary)");
            let rows = conn
                .client
                .copy_out(&copy)
                .await
                .map_err(|err| pg_error(&endpoint, &format!("running `{sql}`"), &err))?;
            let decoder = CopyDecoder::new(schema.fields()).map_err(external)?;
            let state = Reader {
                _conn: conn,
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
                None => break,
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
