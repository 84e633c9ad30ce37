//! Reading a database table as a DataFusion table: the job's projection, filters and limit
//! become the SQL sent to the server, split into ranges of `partition_column` that are read
//! in parallel, one connection each.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DataFusionError, ScalarValue};
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{
    BinaryExpr, Expr, Operator, TableProviderFilterPushDown, TableType,
};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{ExecutionPlanMetricsSet, MetricBuilder, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use datafusion::sql::unparser::Unparser;
use datafusion::sql::unparser::dialect::{Dialect, MySqlDialect, PostgreSqlDialect};
use futures::{StreamExt, TryStreamExt};

/// The SQL flavour of a server: quoting, literals and the unparser dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlFlavor {
    Postgres,
    MySql,
}

impl SqlFlavor {
    /// Quotes one identifier.
    pub fn ident(self, name: &str) -> String {
        match self {
            SqlFlavor::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
            SqlFlavor::MySql => format!("`{}`", name.replace('`', "``")),
        }
    }

    /// Quotes a possibly schema-qualified table name (`sales.orders`).
    pub fn table(self, name: &str) -> String {
        name.split('.')
            .map(|p| self.ident(p))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// A string literal.
    pub fn string(self, s: &str) -> String {
        match self {
            SqlFlavor::Postgres => format!("'{}'", s.replace('\'', "''")),
            SqlFlavor::MySql => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''")),
        }
    }

    fn unparse(self, expr: &Expr) -> Result<String> {
        let dialect: &dyn Dialect = match self {
            SqlFlavor::Postgres => &PostgreSqlDialect {},
            SqlFlavor::MySql => &MySqlDialect {},
        };
        Ok(Unparser::new(dialect).expr_to_sql(expr)?.to_string())
    }

    pub fn name(self) -> &'static str {
        match self {
            SqlFlavor::Postgres => "postgres",
            SqlFlavor::MySql => "mysql",
        }
    }
}

/// What a database connector supplies to the shared reader.
#[async_trait]
pub trait DbDriver: fmt::Debug + Send + Sync + 'static {
    fn flavor(&self) -> SqlFlavor;

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
        let flavor = self.driver.flavor();
        let schema = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        // With no column wanted (e.g. count(*)), read the first one and drop it.
        let (select, read_schema) = if schema.fields().is_empty() {
            (
                flavor.ident(self.schema.field(0).name()),
                Arc::new(self.schema.project(&[0])?),
            )
        } else {
            let cols = schema.fields().iter().map(|f| flavor.ident(f.name()));
            (cols.collect::<Vec<_>>().join(", "), schema.clone())
        };
        let mut conditions: Vec<String> = self.window.iter().cloned().collect();
        for f in filters {
            if pushable(f, &self.schema, false) {
                conditions.push(format!("({})", flavor.unparse(&unqualify(f.clone())?)?));
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
        Ok(Arc::new(DbScanExec::new(
            self.driver.clone(),
            queries,
            schema,
            read_schema,
            state.config().batch_size(),
        )))
    }
}

/// Column references without the table qualifier DataFusion gave them.
fn unqualify(e: Expr) -> Result<Expr> {
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

/// Reads one SQL query per partition.
#[derive(Debug)]
pub struct DbScanExec {
    driver: Arc<dyn DbDriver>,
    queries: Vec<String>,
    schema: SchemaRef,
    read_schema: SchemaRef,
    batch_size: usize,
    /// Taken by the first partition to start, when there are several.
    snapshot: Arc<tokio::sync::OnceCell<Option<Arc<Snapshot>>>>,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl DbScanExec {
    fn new(
        driver: Arc<dyn DbDriver>,
        queries: Vec<String>,
        schema: SchemaRef,
        read_schema: SchemaRef,
        batch_size: usize,
    ) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(queries.len()),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self {
            driver,
            queries,
            schema,
            read_schema,
            batch_size,
            snapshot: Arc::default(),
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }

    /// The SQL each partition sends (for tests and `fust explain`).
    pub fn queries(&self) -> &[String] {
        &self.queries
    }
}

impl DisplayAs for DbScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "DbScanExec: {}, partitions={}, sql=[{}]",
            self.driver.flavor().name(),
            self.queries.len(),
            self.queries.join("; ")
        )
    }
}

impl ExecutionPlan for DbScanExec {
    fn name(&self) -> &str {
        "DbScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let counted = MetricBuilder::new(&self.metrics).output_rows(partition);
        let sql = self.queries.get(partition).cloned().ok_or_else(|| {
            DataFusionError::Internal(format!("DbScanExec has no partition {partition}"))
        })?;
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
        let keep_none = self.schema.fields().is_empty();
        let stream = stream.map(move |b| {
            let b = b?;
            counted.add(b.num_rows());
            // With no column wanted, only the row count matters.
            if keep_none {
                Ok(b.project(&[])?)
            } else {
                Ok(b)
            }
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
    flavor: SqlFlavor,
    column: &str,
    min: i64,
    max: i64,
    n: usize,
) -> Vec<Option<String>> {
    bounded_ranges(flavor, column, n, |i| {
        let span = (max as i128 - min as i128 + 1).max(1);
        (min as i128 + span * i as i128 / n as i128).to_string()
    })
}

/// Like [`integer_ranges`] for a date column, with days since the epoch.
pub fn date_ranges(
    flavor: SqlFlavor,
    column: &str,
    min: i32,
    max: i32,
    n: usize,
) -> Vec<Option<String>> {
    bounded_ranges(flavor, column, n, |i| {
        let span = (max as i64 - min as i64 + 1).max(1);
        let day = min as i64 + span * i as i64 / n as i64;
        let date = chrono_free_date(day);
        format!("DATE '{date}'")
    })
}

/// Like [`integer_ranges`] for a float or decimal column.
pub fn float_ranges(
    flavor: SqlFlavor,
    column: &str,
    min: f64,
    max: f64,
    n: usize,
) -> Vec<Option<String>> {
    bounded_ranges(flavor, column, n, |i| {
        format!("{:?}", min + (max - min) * i as f64 / n as f64)
    })
}

fn bounded_ranges(
    flavor: SqlFlavor,
    column: &str,
    n: usize,
    bound: impl Fn(usize) -> String,
) -> Vec<Option<String>> {
    let c = flavor.ident(column);
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

/// `YYYY-MM-DD` for days since 1970-01-01 (proleptic Gregorian).
pub fn chrono_free_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of days since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn filters_become_sql() {
        let e = unqualify(col("t.id").gt_eq(lit(5i64)).and(col("name").eq(lit("o'k")))).unwrap();
        let pg = SqlFlavor::Postgres.unparse(&e).unwrap();
        assert_eq!(pg, r#"(("id" >= 5) AND ("name" = 'o''k'))"#);
        let my = SqlFlavor::MySql.unparse(&e).unwrap();
        assert_eq!(my, "((`id` >= 5) AND (`name` = 'o''k'))");
    }

    #[test]
    fn ranges_cover_everything_once() {
        let r = integer_ranges(SqlFlavor::Postgres, "id", 1, 100, 3);
        assert_eq!(
            r,
            vec![
                Some(r#""id" < 34 OR "id" IS NULL"#.to_string()),
                Some(r#""id" >= 34 AND "id" < 67"#.to_string()),
                Some(r#""id" >= 67"#.to_string()),
            ]
        );
        assert_eq!(
            integer_ranges(SqlFlavor::MySql, "id", 1, 100, 1),
            vec![None]
        );
        let d = date_ranges(SqlFlavor::Postgres, "d", 0, 9, 2);
        assert_eq!(d[1].as_deref(), Some(r#""d" >= DATE '1970-01-06'"#));
        assert_eq!(chrono_free_date(19_723), "2024-01-01");
        assert_eq!(chrono_free_date(-1), "1969-12-31");
    }
}
