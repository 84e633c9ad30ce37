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
