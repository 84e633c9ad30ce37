//! Reading MySQL/MariaDB: the schema from the result-set metadata (refined by
//! `information_schema`, through mysql_async), rows streamed with the binary protocol
//! (through Fust's own client, [`super::wire`], or sqlx when that cannot log in) and
//! decoded from the packet bytes straight into Arrow arrays.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{RecordBatch, RecordBatchOptions};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use futures::TryStreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};
use sqlx::mysql::MySqlArguments;
use sqlx::{AssertSqlSafe, Either, Executor as _};
use tokio::net::TcpStream;
use tokio::sync::mpsc::Sender;

use super::client::{
    connect, connect_reader, connect_wire, external, my_error, probe_columns, sqlx_error,
    wire_error,
};
use super::types::{Decoder, field_for};
use super::wire;
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
    /// reads its own (taken when its query starts). A task reads and decodes the rows and
    /// hands on batches through a channel of 2; it stops when the stream is dropped.
    fn read(
        &self,
        sql: String,
        schema: SchemaRef,
        batch_size: usize,
        _snapshot: Option<Arc<Snapshot>>,
    ) -> SendableRecordBatchStream {
        let endpoint = self.endpoint.clone();
        let mut builder = RecordBatchReceiverStreamBuilder::new(schema.clone(), 2);
        let tx = builder.tx();
        builder
            .spawn(async move { read_rows(&endpoint, &sql, schema, batch_size.max(1), &tx).await });
        builder.build()
    }
}

/// Runs `sql` as a prepared statement (so rows come in the binary protocol) and sends its
/// rows as batches of `batch_size`, through Fust's own client when it can log in, else
/// through sqlx. Rows are decoded as they arrive, in the task that reads the socket:
/// handing chunks of rows to a second task for decoding was measured slower (W3m, sqlx:
/// 5.6–5.8 s and 5.9 s of CPU against 5.5–5.6 s and 5.3 s).
async fn read_rows(
    endpoint: &Endpoint,
    sql: &str,
    schema: SchemaRef,
    batch_size: usize,
    tx: &Sender<Result<RecordBatch>>,
) -> Result<()> {
    let mut out = Batches::new(endpoint, sql, schema, batch_size)?;
    match connect_wire(endpoint).await? {
        Some(conn) => read_wire(conn, &mut out, tx).await,
        None => read_sqlx(&mut out, tx).await,
    }
}

/// The rows of one read, decoded and sent on in batches.
struct Batches<'a> {
    endpoint: &'a Endpoint,
    sql: &'a str,
    schema: SchemaRef,
    batch_size: usize,
    decoder: Decoder,
}

impl<'a> Batches<'a> {
    fn new(endpoint: &'a Endpoint, sql: &'a str, schema: SchemaRef, size: usize) -> Result<Self> {
        Ok(Batches {
            endpoint,
            sql,
            decoder: Decoder::new(schema.fields(), size).map_err(external)?,
            schema,
            batch_size: size,
        })
    }

    fn reading(&self) -> String {
        format!("reading `{}`", self.sql)
    }

    fn failed(&self, m: String) -> DataFusionError {
        external(format!("mysql {}: {}: {m}", self.endpoint, self.reading()))
    }

    /// Sends the rows decoded so far when they fill a batch, or when `last`; false when
    /// the stream was dropped (stop reading).
    async fn send(&mut self, tx: &Sender<Result<RecordBatch>>, last: bool) -> Result<bool> {
        let n = self.decoder.rows();
        if n == 0 || (n < self.batch_size && !last) {
            return Ok(true);
        }
        let columns = self.decoder.take().map_err(|m| self.failed(m))?;
        let batch = RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(n)),
        )?;
        Ok(tx.send(Ok(batch)).await.is_ok())
    }
}

async fn read_wire(
    mut conn: wire::Conn<TcpStream>,
    out: &mut Batches<'_>,
    tx: &Sender<Result<RecordBatch>>,
) -> Result<()> {
    let failed = |err: wire::WireError| wire_error(out.endpoint, &out.reading(), &err);
    let kinds = conn.query(out.sql).await.map_err(failed)?;
    out.decoder
        .set_wire_kinds(kinds)
        .map_err(|m| out.failed(m))?;
    loop {
        match conn.next_row().await {
            Ok(Some(row)) => out.decoder.push_packet(row).map_err(|m| out.failed(m))?,
            Ok(None) => break,
            Err(err) => return Err(wire_error(out.endpoint, &out.reading(), &err)),
        }
        if out.decoder.rows() == out.batch_size && !out.send(tx, false).await? {
            return Ok(());
        }
    }
    out.send(tx, true).await?;
    conn.quit().await;
    Ok(())
}

async fn read_sqlx(out: &mut Batches<'_>, tx: &Sender<Result<RecordBatch>>) -> Result<()> {
    let mut conn = connect_reader(out.endpoint).await?;
    let query = sqlx::query_with(AssertSqlSafe(out.sql), MySqlArguments::default());
    let mut steps = conn.fetch_many(query.persistent(false));
    loop {
        // Rows come as Right; the result's summary (Left) comes last.
        match steps.try_next().await {
            Ok(Some(Either::Right(row))) => out.decoder.push(&row).map_err(|m| out.failed(m))?,
            Ok(Some(Either::Left(_))) => continue,
            Ok(None) => break,
            Err(err) => return Err(sqlx_error(out.endpoint, &out.reading(), &err)),
        }
        if out.decoder.rows() == out.batch_size && !out.send(tx, false).await? {
            return Ok(());
        }
    }
    out.send(tx, true).await?;
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::compute::concat_batches;

    fn endpoint() -> Endpoint {
        Endpoint {
            host: "127.0.0.1".into(),
            port: 3306,
            user: "root".into(),
            password: None,
            database: "test".into(),
            connect_timeout: std::time::Duration::from_secs(10),
            statement_timeout: None,
        }
    }

    /// All rows of `sql` read with Fust's own client, or with sqlx, as one batch.
    async fn read_all(sql: &str, own_client: bool) -> RecordBatch {
        let e = endpoint();
        let driver = MyDriver {
            endpoint: e.clone(),
        };
        let schema = driver.schema(&format!("({sql}) AS q")).await.unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let mut out = Batches::new(&e, sql, schema.clone(), 3).unwrap();
        if own_client {
            let conn = connect_wire(&e).await.unwrap().expect("logs in");
            read_wire(conn, &mut out, &tx).await.unwrap();
        } else {
            read_sqlx(&mut out, &tx).await.unwrap();
        }
        drop(tx);
        let mut batches = Vec::new();
        while let Some(b) = rx.recv().await {
            batches.push(b.unwrap());
        }
        assert!(batches.iter().all(|b| b.num_rows() <= 3));
        concat_batches(&schema, &batches).unwrap()
    }

    /// Both read paths give the same arrays for every wire layout, NULLs included.
    #[tokio::test]
    async fn own_client_and_sqlx_read_the_same_values() {
        let table = format!("fust_wire_probe_{}", std::process::id());
        let mut admin = connect(&endpoint()).await.unwrap();
        admin
            .query_drop(format!(
                "DROP TABLE IF EXISTS {table};
                 CREATE TABLE {table} (id int, b bigint, bu bigint unsigned, t tinyint(1),
                   tu tinyint unsigned, s smallint, y year, m mediumint unsigned, f float, d double,
                   n decimal(30,10), v varchar(10), bl blob, j json, e enum('a','b'),
                   st set('x','y'), bt bit(5), dt date, ts timestamp(6) NULL, dtm datetime(3),
                   tm time(6));
                 INSERT INTO {table} VALUES
                   (1, -9223372036854775808, 18446744073709551615, 1, 255, -32768, 2155,
                    16777215, 1.5, -2.25e300, -12345678901234567890.0123456789, 'née', x'00ff',
                    '{{\"a\": 1}}', 'b', 'x,y', b'10101', '9999-12-31', '2038-01-19 03:14:07.999999',
                    '1000-01-01 00:00:00.001', '23:59:59.999999'),
                   (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                   (3, 0, 0, 0, 0, 0, 1901, 0, 0, 0, 0, '', '', '[]', 'a', '', b'0',
                    '1000-01-01', '1970-01-01 00:00:01', '2024-02-29 12:00:00', '00:00:00'),
                   (4, 1, 1, NULL, 1, 1, NULL, 1, -0.0, 1e-300, 0.0000000001, 'x', NULL, NULL, NULL,
                    NULL, NULL, '2024-02-29', NULL, NULL, '12:34:56')"
            ))
            .await
            .unwrap();
        let sql = format!("SELECT * FROM {table} ORDER BY id");
        let own = read_all(&sql, true).await;
        let via_sqlx = read_all(&sql, false).await;
        assert_eq!(own.num_rows(), 4);
        assert_eq!(own, via_sqlx);
        let v = own.column_by_name("v").unwrap();
        assert_eq!(
            datafusion::arrow::array::AsArray::as_string::<i32>(v).value(0),
            "née"
        );
        admin
            .query_drop(format!("DROP TABLE {table}"))
            .await
            .unwrap();
    }

    /// Rows of 16 MiB and more come in several packets, including the case of a payload of
    /// exactly 16 MiB - 1, which an empty packet closes.
    #[tokio::test]
    async fn rows_longer_than_one_packet_are_joined() {
        let mut admin = connect(&endpoint()).await.unwrap();
        admin
            .query_drop("SET GLOBAL max_allowed_packet = 67108864")
            .await
            .unwrap();
        // One text column: header, a bitmap byte and a 4-byte length before the text.
        let exact = 0xFF_FFFF - 6;
        for len in [exact, exact + 1, 20_000_000] {
            let sql = format!("SELECT REPEAT('x', {len}) AS big UNION ALL SELECT 'y'");
            let got = read_all(&sql, true).await;
            let big = datafusion::arrow::array::AsArray::as_string::<i32>(got.column(0));
            assert_eq!(big.value(0).len(), len);
            assert!(big.value(0).bytes().all(|b| b == b'x'));
            assert_eq!(big.value(1), "y", "the packet after a joined one");
        }
    }
}
