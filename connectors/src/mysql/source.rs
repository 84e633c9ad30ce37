//! Reading MySQL/MariaDB: the schema from the result-set metadata (refined by
//! `information_schema`), rows streamed with the binary protocol and decoded straight into
//! Arrow arrays.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{RecordBatch, RecordBatchOptions};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::common::DataFusionError;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::TryStreamExt;
use mysql_async::prelude::{Query, Queryable, WithParams};
use mysql_async::{BinaryProtocol, Conn, QueryResult, Value};

use super::client::{connect, external, my_error, probe_columns};
use super::types::{Decoder, field_for};
use crate::database::{DbDriver, Endpoint, Snapshot, SqlFlavor};

const MY: SqlFlavor = SqlFlavor::MySql;

/// Reads tables and queries of one MySQL or MariaDB server.
#[derive(Debug)]
pub struct MyDriver {
    pub endpoint: Endpoint,
}

#[async_trait]
impl DbDriver for MyDriver {
    fn flavor(&self) -> SqlFlavor {
        SqlFlavor::MySql
    }

    async fn schema(&self, from: &str) -> Result<SchemaRef> {
        let e = &self.endpoint;
        let mut conn = connect(e).await?;
        let doing = format!("reading the columns of {from}");
        let columns = probe_columns(&mut conn, e, from, &doing).await?;
        let declared = declared_types(&mut conn, &columns).await;
        let mut fields = Vec::with_capacity(columns.len());
        for c in columns.iter() {
            let key = (
                c.schema_str().into_owned(),
                c.org_table_str().into_owned(),
                c.org_name_str().into_owned(),
            );
            let (decl, json) = match declared.get(&key) {
                Some((t, json)) => (Some(t.as_str()), *json),
                None => (None, false),
            };
            let field = field_for(c, decl, json).map_err(|t| {
                let name = c.name_str();
                external(format!(
                    "mysql {e}: column `{name}` of {from} has type {t}, which Fust cannot map to Arrow; \
                     cast it in a `query:` (e.g. `ST_AsText({name})` or `CAST({name} AS CHAR)`)"
                ))
            })?;
            fields.push(field);
        }
        Ok(Arc::new(Schema::new(fields)))
    }

    async fn query_row(&self, sql: &str) -> Result<Vec<Option<String>>> {
        let e = &self.endpoint;
        let mut conn = connect(e).await?;
        let doing = format!("running `{sql}`");
        let row: Option<mysql_async::Row> = conn
            .query_first(sql)
            .await
            .map_err(|err| my_error(e, &doing, &err))?;
        Ok(row
            .map(|r| {
                (0..r.len())
                    .map(|i| match r.as_ref(i) {
                        None | Some(Value::NULL) => None,
                        Some(Value::Bytes(b)) => Some(String::from_utf8_lossy(b).into_owned()),
                        Some(other) => Some(other.as_sql(true).trim_matches('\'').to_string()),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// MySQL cannot hand one transaction's snapshot to another connection, so each range
    /// reads its own (taken when its query starts).
    fn read(
        &self,
        sql: String,
        schema: SchemaRef,
        batch_size: usize,
        _snapshot: Option<Arc<Snapshot>>,
    ) -> SendableRecordBatchStream {
        let endpoint = self.endpoint.clone();
        let out = schema.clone();
        let start = async move {
            let decoder = Decoder::new(schema.fields(), batch_size.max(1)).map_err(external)?;
            let conn = connect(&endpoint).await?;
            let rows = sql
                .clone()
                .with(())
                .run(conn)
                .await
                .map_err(|err| my_error(&endpoint, &format!("running `{sql}`"), &err))?;
            let state = Reader {
                rows,
                decoder,
                schema,
                batch_size: batch_size.max(1),
                done: false,
                endpoint,
                sql,
            };
            Ok::<_, DataFusionError>(futures::stream::try_unfold(state, Reader::next))
        };
        Box::pin(RecordBatchStreamAdapter::new(
            out,
            futures::stream::once(start).try_flatten(),
        ))
    }
}

/// The declared type of every column that comes straight from a table, keyed by (schema,
/// table, column), and whether MariaDB's JSON check is on it. Best effort: a server that
/// refuses the lookup gets types from the protocol metadata alone.
async fn declared_types(
    conn: &mut Conn,
    columns: &[mysql_async::Column],
) -> HashMap<(String, String, String), (String, bool)> {
    let tables: BTreeSet<(String, String)> = columns
        .iter()
        .filter(|c| !c.org_table_ref().is_empty() && !c.schema_ref().is_empty())
        .map(|c| (c.schema_str().into_owned(), c.org_table_str().into_owned()))
        .collect();
    if tables.is_empty() {
        return HashMap::new();
    }
    let list = tables
        .iter()
        .map(|(s, t)| format!("({}, {})", MY.string(s), MY.string(t)))
        .collect::<Vec<_>>()
        .join(", ");
    let types: Vec<(String, String, String, String)> = conn
        .query(format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS \
             WHERE (TABLE_SCHEMA, TABLE_NAME) IN ({list})"
        ))
        .await
        .unwrap_or_else(|err| {
            tracing::debug!(error = %err, "Column types not read from information_schema");
            Vec::new()
        });
    // MariaDB stores JSON as LONGTEXT with a `json_valid(col)` check (MySQL has a real type).
    let checks: Vec<(String, String, String)> = conn
        .query(format!(
            "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
             WHERE (CONSTRAINT_SCHEMA, TABLE_NAME) IN ({list}) AND CHECK_CLAUSE LIKE 'json\\_valid(%'"
        ))
        .await
        .unwrap_or_default();
    let json: HashSet<(String, String, String)> = checks
        .into_iter()
        .filter_map(|(s, t, clause)| {
            let col = clause
                .strip_prefix("json_valid(`")?
                .strip_suffix("`)")?
                .replace("``", "`");
            Some((s, t, col))
        })
        .collect();
    types
        .into_iter()
        .map(|(s, t, c, ty)| {
            let key = (s, t, c);
            let is_json = json.contains(&key);
            (key, (ty, is_json))
        })
        .collect()
}

/// One partition's query in progress.
struct Reader {
    rows: QueryResult<'static, 'static, BinaryProtocol>,
    decoder: Decoder,
    schema: SchemaRef,
    batch_size: usize,
    done: bool,
    endpoint: Endpoint,
    sql: String,
}

impl Reader {
    /// Decodes rows until a batch is full or the result ends.
    async fn next(mut self) -> Result<Option<(RecordBatch, Self)>> {
        while !self.done && self.decoder.rows() < self.batch_size {
            match self.rows.next().await {
                Ok(Some(row)) => self.decoder.push(&row).map_err(|m| {
                    external(format!(
                        "mysql {}: reading `{}`: {m}",
                        self.endpoint, self.sql
                    ))
                })?,
                Ok(None) => self.done = true,
                Err(err) => {
                    return Err(my_error(
                        &self.endpoint,
                        &format!("reading `{}`", self.sql),
                        &err,
                    ));
                }
            }
        }
        if self.decoder.rows() == 0 {
            return Ok(None);
        }
        let rows = self.decoder.rows();
        let batch = RecordBatch::try_new_with_options(
            self.schema.clone(),
            self.decoder.take(),
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )?;
        Ok(Some((batch, self)))
    }
}
