//! Reading a database table as a DataFusion table: the job's projection, filters and limit
//! become the SQL sent to the server, split into ranges of `partition_column` that are read
//! in parallel, one connection each.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DataFusionError, ScalarValue};
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::{
    BinaryExpr, Expr, Operator, TableProviderFilterPushDown, TableType,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::{StreamExt, TryStreamExt};

use super::dialect::Dialect;
use crate::common::scan::{PartitionedRead, SourceExec};
use crate::common::time::iso_date;

/// What a database connector supplies to the shared reader.
#[async_trait]
pub trait DbDriver: fmt::Debug + Send + Sync + 'static {
    fn dialect(&self) -> &'static dyn Dialect;

    /// The Arrow schema of `SELECT * FROM {from}`; fails on a column type with no mapping.
    async fn schema(&self, from: &str) -> Result<SchemaRef>;

    /// The first row of `sql`, each value as text (NULL as `None`).
    async fn query_row(&self, sql: &str) -> Result<Vec<Option<String>>>;

    /// Conditions that split a whole table into `n` parts by where its rows are stored,
    /// for parallel reads without a `partition_column` (PostgreSQL: `ctid` page ranges,
    /// each read by a TID range scan). `None`: not supported, or the table is too small
    /// to be worth it. `table` is the quoted table name.
    async fn storage_ranges(&self, _table: &str, _n: usize) -> Result<Option<Vec<String>>> {
        Ok(None)
    }

    /// Starts a snapshot that every partition of one parallel scan then reads, so the
    /// ranges together show the table as of one moment even while others write to it.
    /// `None`: the server cannot share one; each range reads its own.
    async fn snapshot(&self) -> Result<Option<Snapshot>> {
        Ok(None)
    }

    /// Streams the rows of `sql` as batches of `schema` (the query's columns, in order),
    /// inside `snapshot` when given. Lazy: connects when first polled; dropping the stream
    /// closes the connection.
    fn read(
        &self,
        sql: String,
        schema: SchemaRef,
        batch_size: usize,
        snapshot: Option<Arc<Snapshot>>,
    ) -> SendableRecordBatchStream;
}

/// A snapshot the partitions of one scan share: its server-side name, and what keeps it
/// alive (PostgreSQL: the open transaction that exported it) until the scan is dropped.
pub struct Snapshot {
    pub id: String,
    pub hold: Box<dyn std::any::Any + Send + Sync>,
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Snapshot({})", self.id)
    }
}

/// A table (or query) on a server, as DataFusion sees it.
#[derive(Debug)]
pub struct DbTable {
    pub driver: Arc<dyn DbDriver>,
    /// What goes after FROM: a quoted table or `(query) AS fust_query`.
    pub from: String,
    pub schema: SchemaRef,
    /// A condition per parallel range; one empty condition when not partitioned.
    pub ranges: Vec<Option<String>>,
    /// A condition every read applies (the incremental cursor window).
    pub window: Option<String>,
}

#[async_trait]
impl TableProvider for DbTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Filters the server evaluates like DataFusion are sent along; DataFusion checks them
    /// again (Inexact), so a difference in a corner case costs time, never rows.
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| {
                if pushable(f, &self.schema, false) {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let dialect = self.driver.dialect();
        let schema = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        // With no column wanted (e.g. count(*)), read the first one and drop it.
        let (select, read_schema) = if schema.fields().is_empty() {
            (
                dialect.ident(self.schema.field(0).name()),
                Arc::new(self.schema.project(&[0])?),
            )
        } else {
            let cols = schema.fields().iter().map(|f| dialect.ident(f.name()));
            (cols.collect::<Vec<_>>().join(", "), schema.clone())
        };
        let mut conditions: Vec<String> = self.window.iter().cloned().collect();
        for f in filters {
            if pushable(f, &self.schema, false) {
                conditions.push(format!("({})", dialect.unparse(&unqualify(f.clone())?)?));
            }
        }
        let queries = self
            .ranges
            .iter()
            .map(|range| {
                let mut all = conditions.clone();
                all.extend(range.iter().map(|r| format!("({r})")));
                let mut sql = format!("SELECT {select} FROM {}", self.from);
                if !all.is_empty() {
                    sql.push_str(" WHERE ");
                    sql.push_str(&all.join(" AND "));
                }
                if let Some(n) = limit {
                    sql.push_str(&format!(" LIMIT {n}"));
                }
                sql
            })
            .collect();
        let read = DbRead {
            driver: self.driver.clone(),
            queries,
            schema: schema.clone(),
            read_schema,
            batch_size: state.config().batch_size(),
            snapshot: Arc::default(),
        };
        Ok(Arc::new(SourceExec::new(read, schema)))
    }
}

/// Column references without the table qualifier DataFusion gave them.
pub(crate) fn unqualify(e: Expr) -> Result<Expr> {
    Ok(e.transform(|e| {
        Ok(match e {
            Expr::Column(c) => Transformed::yes(Expr::Column(Column::new_unqualified(c.name))),
            other => Transformed::no(other),
        })
    })?
    .data)
}

fn is_text(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Binary
    )
}

fn is_plain(t: &DataType) -> bool {
    t.is_numeric()
        || matches!(
            t,
            DataType::Boolean
                | DataType::Date32
                | DataType::Date64
                | DataType::Timestamp(_, _)
                | DataType::Time64(_)
        )
}

/// Whether a filter means the same on the server as in DataFusion. Numbers, dates, times
/// and booleans compare alike; text only by `=` / `IN` outside a NOT, because servers
/// order text by collation and MySQL compares it case-insensitively (a server that keeps
/// extra rows is harmless, since DataFusion filters again; one that drops rows is not).
fn pushable(e: &Expr, schema: &SchemaRef, negated: bool) -> bool {
    let operand = |e: &Expr, text_ok: bool| match e {
        Expr::Column(c) => schema
            .field_with_name(&c.name)
            .map(|f| is_plain(f.data_type()) || (text_ok && is_text(f.data_type())))
            .unwrap_or(false),
        Expr::Literal(v, _) => literal_ok(v, text_ok),
        _ => false,
    };
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And | Operator::Or => {
                pushable(left, schema, negated) && pushable(right, schema, negated)
            }
            Operator::Eq => operand(left, !negated) && operand(right, !negated),
            Operator::NotEq | Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq => {
                operand(left, false) && operand(right, false)
            }
            _ => false,
        },
        Expr::Not(inner) => pushable(inner, schema, !negated),
        Expr::IsNull(inner) | Expr::IsNotNull(inner) => {
            matches!(inner.as_ref(), Expr::Column(c) if schema.field_with_name(&c.name).is_ok())
        }
        Expr::Between(b) => {
            operand(&b.expr, false) && operand(&b.low, false) && operand(&b.high, false)
        }
        Expr::InList(l) => {
            let text_ok = !negated && !l.negated;
            operand(&l.expr, text_ok) && l.list.iter().all(|v| operand(v, text_ok))
        }
        _ => false,
    }
}

fn literal_ok(v: &ScalarValue, text_ok: bool) -> bool {
    if v.is_null() {
        return false;
    }
    let t = v.data_type();
    is_plain(&t) && !matches!(t, DataType::Float16) || (text_ok && is_text(&t))
}

/// Reads one SQL query per partition (`DbScanExec` in plans).
#[derive(Debug)]
struct DbRead {
    driver: Arc<dyn DbDriver>,
    queries: Vec<String>,
    /// The columns the plan wants; none when only the row count matters.
    schema: SchemaRef,
    read_schema: SchemaRef,
    batch_size: usize,
    /// Taken by the first partition to start, when there are several.
    snapshot: Arc<tokio::sync::OnceCell<Option<Arc<Snapshot>>>>,
}

impl PartitionedRead for DbRead {
    fn name(&self) -> &'static str {
        "DbScanExec"
    }

    fn partitions(&self) -> usize {
        self.queries.len()
    }

    fn describe(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "{}, partitions={}, sql=[{}]",
            self.driver.dialect().name(),
            self.queries.len(),
            self.queries.join("; ")
        )
    }

    fn open(
        &self,
        partition: usize,
        _metrics: &ExecutionPlanMetricsSet,
    ) -> Result<SendableRecordBatchStream> {
        let sql = self.queries[partition].clone();
        let (driver, snapshot) = (self.driver.clone(), self.snapshot.clone());
        let (read_schema, batch_size) = (self.read_schema.clone(), self.batch_size);
        let shared = self.queries.len() > 1;
        let stream = futures::stream::once(async move {
            let snapshot = match shared {
                true => snapshot
                    .get_or_try_init(|| async {
                        Ok::<_, DataFusionError>(driver.snapshot().await?.map(Arc::new))
                    })
                    .await?
                    .clone(),
                false => None,
            };
            Ok::<_, DataFusionError>(driver.read(sql, read_schema, batch_size, snapshot))
        })
        .try_flatten();
        // With no column wanted, only the row count matters.
        let keep_none = self.schema.fields().is_empty();
        let stream = stream.map(move |b| match keep_none {
            true => Ok(b?.project(&[])?),
            false => b,
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            stream,
        )))
    }
}

/// Splits `[min, max]` of an integer column into `n` half-open ranges; the first also takes
/// the NULLs, the last is open-ended.
pub fn integer_ranges(
    dialect: &dyn Dialect,
    column: &str,
    min: i64,
    max: i64,
    n: usize,
) -> Vec<Option<String>> {
    bounded_ranges(dialect, column, n, |i| {
        let span = (max as i128 - min as i128 + 1).max(1);
        (min as i128 + span * i as i128 / n as i128).to_string()
    })
}

/// Like [`integer_ranges`] for a date column, with days since the epoch.
pub fn date_ranges(
    dialect: &dyn Dialect,
    column: &str,
    min: i32,
    max: i32,
    n: usize,
) -> Vec<Option<String>> {
    bounded_ranges(dialect, column, n, |i| {
        let span = (max as i64 - min as i64 + 1).max(1);
        let day = min as i64 + span * i as i64 / n as i64;
        let date = iso_date(day);
        format!("DATE '{date}'")
    })
}

/// Like [`integer_ranges`] for a float or decimal column.
pub fn float_ranges(
    dialect: &dyn Dialect,
    column: &str,
    min: f64,
    max: f64,
    n: usize,
) -> Vec<Option<String>> {
    bounded_ranges(dialect, column, n, |i| {
        format!("{:?}", min + (max - min) * i as f64 / n as f64)
    })
}

fn bounded_ranges(
    dialect: &dyn Dialect,
    column: &str,
    n: usize,
    bound: impl Fn(usize) -> String,
) -> Vec<Option<String>> {
    let c = dialect.ident(column);
    if n <= 1 {
        return vec![None];
    }
    (0..n)
        .map(|i| {
            let lo = (i > 0).then(|| format!("{c} >= {}", bound(i)));
            let hi = (i + 1 < n).then(|| format!("{c} < {}", bound(i + 1)));
            Some(match (lo, hi) {
                (None, Some(hi)) => format!("{hi} OR {c} IS NULL"),
                (Some(lo), Some(hi)) => format!("{lo} AND {hi}"),
                (Some(lo), None) => lo,
                (None, None) => "TRUE".to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::unparser::dialect::{DefaultDialect, Dialect as UnparserDialect};

    use crate::common::{ConnectorError, ConnectorResult};

    /// A dialect with standard double-quoted identifiers, so these tests need no connector.
    #[derive(Debug)]
    struct Quoted;

    impl Dialect for Quoted {
        fn name(&self) -> &'static str {
            "test"
        }
        fn product(&self) -> &'static str {
            "Test"
        }
        fn ident(&self, name: &str) -> String {
            format!("\"{}\"", name.replace('"', "\"\""))
        }
        fn string(&self, s: &str) -> String {
            format!("'{}'", s.replace('\'', "''"))
        }
        fn blob_type(&self) -> &'static str {
            "BLOB"
        }

        fn insert_if_absent(&self, rest: &str) -> String {
            format!("INSERT INTO {rest}")
        }
        fn unparser(&self) -> &dyn UnparserDialect {
            &DefaultDialect {}
        }
        fn column_type(&self, field: &Field, _key: bool) -> ConnectorResult<String> {
            Err(ConnectorError::Unsupported(field.data_type().to_string()))
        }
    }
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::prelude::{col, lit};

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("day", DataType::Date32, true),
        ]))
    }

    #[test]
    fn which_filters_go_to_the_server() {
        let s = schema();
        assert!(pushable(&col("id").gt(lit(5i64)), &s, false));
        assert!(pushable(&col("name").eq(lit("x")), &s, false));
        assert!(pushable(
            &col("id").is_null().or(col("id").lt(lit(0i64))),
            &s,
            false
        ));
        // Text ordering depends on the server's collation; negated text equality too.
        assert!(!pushable(&col("name").gt(lit("x")), &s, false));
        assert!(!pushable(&col("name").not_eq(lit("x")), &s, false));
        assert!(!pushable(
            &Expr::Not(Box::new(col("name").eq(lit("x")))),
            &s,
            false
        ));
        assert!(!pushable(&col("name").like(lit("x%")), &s, false));
    }

    #[test]
    fn ranges_cover_everything_once() {
        let r = integer_ranges(&Quoted, "id", 1, 100, 3);
        assert_eq!(
            r,
            vec![
                Some(r#""id" < 34 OR "id" IS NULL"#.to_string()),
                Some(r#""id" >= 34 AND "id" < 67"#.to_string()),
                Some(r#""id" >= 67"#.to_string()),
            ]
        );
        assert_eq!(integer_ranges(&Quoted, "id", 1, 100, 1), vec![None]);
        let d = date_ranges(&Quoted, "d", 0, 9, 2);
        assert_eq!(d[1].as_deref(), Some(r#""d" >= DATE '1970-01-06'"#));
        assert_eq!(iso_date(19_723), "2024-01-01");
        assert_eq!(iso_date(-1), "1969-12-31");
    }
}
