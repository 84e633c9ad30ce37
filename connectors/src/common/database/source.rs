//! The database source shared by `postgres` and `mysql`: resolves the table or query,
//! plans the parallel ranges and the incremental cursor window, and saves the cursor's
//! high-water mark once the run has committed.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::common::DataFusionError;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;
use fust_engine::state::store_for;
use fust_engine::{Source, StateStore};

use super::config::{DbSourceConfig, Endpoint};
use super::scan::{DbDriver, DbTable, date_ranges, float_ranges, integer_ranges};
use crate::common::time::days_from_civil;

/// A table or query on a database server.
#[derive(Debug)]
pub struct DbSource {
    pub driver: Arc<dyn DbDriver>,
    pub config: DbSourceConfig,
    pub endpoint: Endpoint,
    /// The cursor mark this run read up to, saved by `commit`.
    pending_mark: Mutex<Option<String>>,
    /// Where the cursor's marks are kept: the run's state store (the job service's
    /// metadata store) when it has one, else `state_file`. Set by `table`.
    store: Mutex<Option<Arc<dyn StateStore>>>,
}

impl DbSource {
    pub fn new(driver: Arc<dyn DbDriver>, config: DbSourceConfig, endpoint: Endpoint) -> Self {
        Self {
            driver,
            config,
            endpoint,
            pending_mark: Mutex::new(None),
            store: Mutex::new(None),
        }
    }

    fn what(&self) -> String {
        match (&self.config.table, &self.config.query) {
            (Some(t), _) => format!("table {t}"),
            (None, Some(q)) => format!("query `{}`", one_line(q, 60)),
            (None, None) => "nothing".into(),
        }
    }

    fn state_key(&self, cursor: &str) -> String {
        format!(
            "{}://{}/{}#{cursor}",
            self.driver.dialect().name(),
            self.endpoint,
            self.what()
        )
    }

    /// A literal for a value of `column` as the server printed it.
    fn literal(&self, schema: &Schema, column: &str, value: &str) -> String {
        let numeric = schema
            .field_with_name(column)
            .map(|f| f.data_type().is_numeric())
            .unwrap_or(false);
        if numeric && value.parse::<f64>().is_ok() {
            value.to_string()
        } else {
            self.driver.dialect().string(value)
        }
    }

    fn column_type<'a>(&self, schema: &'a Schema, key: &str, column: &str) -> Result<&'a DataType> {
        schema
            .field_with_name(column)
            .map(|f| f.data_type())
            .map_err(|_| {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                DataFusionError::Plan(format!(
                    "{key}: `{column}` is not a column of {} (columns: {})",
                    self.what(),
                    names.join(", ")
                ))
            })
    }

    /// The condition selecting rows above the stored mark and up to the current maximum.
    async fn cursor_window(&self, from: &str, schema: &Schema) -> Result<Option<String>> {
        let Some(cursor) = &self.config.cursor_column else {
            return Ok(None);
        };
        let float = self
            .column_type(schema, "cursor_column", cursor)?
            .is_floating();
        let dialect = self.driver.dialect();
        let c = dialect.ident(cursor);
        let low = self
            .load_mark(cursor)
            .await?
            .map(|v| format!("{c} > {}", self.literal(schema, cursor, &v)));
        // A NaN or infinite mark would freeze the cursor (nothing is ever above it): such
        // values are never the mark, and their rows are not read incrementally.
        let finite = float.then(|| dialect.finite(&c)).flatten();
        let conditions: Vec<&String> = low.iter().chain(finite.iter()).collect();
        let mut sql = format!("SELECT max({c}) FROM {from}");
        if !conditions.is_empty() {
            let all: Vec<&str> = conditions.iter().map(|s| s.as_str()).collect();
            sql.push_str(&format!(" WHERE {}", all.join(" AND ")));
        }
        let high = self
            .driver
            .query_row(&sql)
            .await?
            .into_iter()
            .next()
            .flatten();
        if let Ok(mut m) = self.pending_mark.lock() {
            m.clone_from(&high);
        }
        let high = high.map(|h| format!("{c} <= {}", self.literal(schema, cursor, &h)));
        Ok(match (low, high) {
            (Some(l), Some(h)) => Some(format!("{l} AND {h}")),
            (l, h) => l.or(h),
        })
    }

    async fn ranges(
        &self,
        from: &str,
        schema: &Schema,
        window: Option<&str>,
    ) -> Result<Vec<Option<String>>> {
        let n = self.config.partitions;
        let Some(column) = &self.config.partition_column else {
            // A whole table can still be split by where its rows are stored.
            if self.config.table.is_some()
                && let Some(parts) = self.driver.storage_ranges(from, n).await?
            {
                return Ok(parts.into_iter().map(Some).collect());
            }
            return Ok(vec![None]);
        };
        let t = self
            .column_type(schema, "partition_column", column)?
            .clone();
        let dialect = self.driver.dialect();
        let c = dialect.ident(column);
        let mut sql = format!("SELECT min({c}), max({c}) FROM {from}");
        if let Some(w) = window {
            sql.push_str(&format!(" WHERE {w}"));
        }
        let row = self.driver.query_row(&sql).await?;
        let (Some(Some(lo)), Some(Some(hi))) = (row.first(), row.get(1)) else {
            return Ok(vec![None]); // empty: one read finds nothing
        };
        let bad = |v: &str| {
            DataFusionError::Execution(format!(
                "partition_column `{column}`: cannot use the value `{v}` as a range bound"
            ))
        };
        Ok(match t {
            t if t.is_integer() => {
                let lo: i64 = lo.parse().map_err(|_| bad(lo))?;
                let hi: i64 = hi.parse().map_err(|_| bad(hi))?;
                integer_ranges(dialect, column, lo, hi, n)
            }
            DataType::Date32 => {
                let lo = days(lo).ok_or_else(|| bad(lo))?;
                let hi = days(hi).ok_or_else(|| bad(hi))?;
                date_ranges(dialect, column, lo, hi, n)
            }
            t if t.is_numeric() => {
                let lo: f64 = lo.parse().map_err(|_| bad(lo))?;
                let hi: f64 = hi.parse().map_err(|_| bad(hi))?;
                float_ranges(dialect, column, lo, hi, n)
            }
            other => {
                return Err(DataFusionError::Plan(format!(
                    "partition_column: `{column}` is {other}; expected an integer, decimal or date column"
                )));
            }
        })
    }
}

#[async_trait]
impl Source for DbSource {
    async fn table(&self, ctx: &SessionContext) -> Result<Arc<dyn TableProvider>> {
        if let Ok(mut s) = self.store.lock() {
            *s = Some(store_for(ctx, self.config.state_file.as_deref()));
        }
        let dialect = self.driver.dialect();
        let from = match (&self.config.table, &self.config.query) {
            (Some(t), _) => dialect.table(t),
            (None, Some(q)) => format!("({}) AS fust_query", q.trim().trim_end_matches(';')),
            (None, None) => return Err(DataFusionError::Plan("give `table` or `query`".into())),
        };
        let schema = match &self.config.columns {
            // Probe only the listed columns, so other columns' types don't matter.
            Some(columns) => {
                let list: Vec<String> = columns.iter().map(|c| dialect.ident(c)).collect();
                let probe = format!("(SELECT {} FROM {from}) AS fust_columns", list.join(", "));
                self.driver.schema(&probe).await?
            }
            None => self.driver.schema(&from).await?,
        };
        let window = self.cursor_window(&from, &schema).await?;
        let ranges = self.ranges(&from, &schema, window.as_deref()).await?;
        Ok(Arc::new(DbTable {
            driver: self.driver.clone(),
            from,
            schema: schema as SchemaRef,
            ranges,
            window,
        }))
    }

    fn describe(&self) -> String {
        format!(
            "{} {} {}",
            self.driver.dialect().name(),
            self.endpoint,
            self.what()
        )
    }

    async fn commit(&self) -> Result<()> {
        let (Some(cursor), Some(mark)) = (
            &self.config.cursor_column,
            self.pending_mark.lock().ok().and_then(|m| m.clone()),
        ) else {
            return Ok(());
        };
        self.state_store()?
            .put(&self.state_key(cursor), &mark)
            .await
    }
}

impl DbSource {
    fn state_store(&self) -> Result<Arc<dyn StateStore>> {
        self.store
            .lock()
            .ok()
            .and_then(|s| s.clone())
            .ok_or_else(|| {
                DataFusionError::Internal("the source's state store is read before `table`".into())
            })
    }

    /// The stored high-water mark of `cursor`.
    async fn load_mark(&self, cursor: &str) -> Result<Option<String>> {
        self.state_store()?.get(&self.state_key(cursor)).await
    }
}

/// Days since 1970-01-01 of `YYYY-MM-DD`.
fn days(s: &str) -> Option<i32> {
    let mut parts = s.get(..10)?.splitn(3, '-');
    let (y, m, d): (i64, i64, i64) = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    i32::try_from(days_from_civil(y, m, d)).ok()
}

fn one_line(s: &str, max: usize) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::time::iso_date;

    #[test]
    fn dates_round_trip() {
        for d in [-700_000, -1, 0, 1, 19_723, 2_932_896] {
            assert_eq!(days(&iso_date(d as i64)), Some(d));
        }
        assert_eq!(days("nope"), None);
    }
}
