//! `enrich`: a lookup join. The lookup input is read once, in its own row order, checked
//! for duplicate keys (or reduced to the first or last row of each), held in memory
//! counted against `settings.memory_limit`, and joined to the stream by DataFusion.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::common::{check_column, column, need_input};
use async_trait::async_trait;
use datafusion::arrow::array::{RecordBatch, UInt64Array};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::MemTable;
use datafusion::common::{JoinType, plan_err};
use datafusion::error::Result;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{ExprFunctionExt, LogicalPlan, lit};
use datafusion::prelude::{DataFrame, SessionContext};
use fust_engine::Processor;
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

/// Add columns from a lookup input, matched on key columns.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct EnrichConfig {
    /// The lookup rows: a named input (under `inputs:`), or an input spec of its own
    /// (`{type: csv, path: data/countries.csv}`).
    pub lookup: Lookup,
    /// The keys, `stream_column: lookup_column`.
    pub on: IndexMap<String, String>,
    /// Lookup columns to add (default: all but its key columns).
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// `left` (default): every record, with NULLs where no lookup row matches; `inner`:
    /// only the records that match.
    #[serde(default)]
    pub how: How,
    /// When a key appears on several lookup rows: unset (default) fails the run naming the
    /// key; `first` or `last` keeps that row, in the lookup's own order.
    #[serde(default)]
    pub on_duplicate: Option<OnDuplicate>,
    /// Stream jobs: read the lookup again when it is older than this (e.g. `5m`), at the
    /// start of an epoch. Unset: it is read once, when the run starts.
    #[serde(default)]
    pub refresh: Option<fust_config::Duration>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum How {
    #[default]
    Left,
    Inner,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnDuplicate {
    First,
    Last,
}

#[derive(Debug)]
pub struct EnrichProcessor {
    config: EnrichConfig,
    /// The lookup's memory, held for the run.
    held: Mutex<Vec<MemoryReservation>>,
    /// The lookup's rows and when they were read: planning again (each epoch of a stream
    /// job) reuses them until `refresh` has passed.
    loaded: Mutex<Option<(Instant, RecordBatch)>>,
}

impl EnrichProcessor {
    pub fn new(config: EnrichConfig) -> Self {
        Self {
            config,
            held: Mutex::new(Vec::new()),
            loaded: Mutex::new(None),
        }
    }

    /// The lookup's rows read last, unless `refresh` says they are stale.
    fn fresh(&self) -> Option<RecordBatch> {
        let loaded = self.loaded.lock().ok()?.clone()?;
        let stale = self
            .config
            .refresh
            .is_some_and(|r| loaded.0.elapsed() >= r.0);
        (!stale).then_some(loaded.1)
    }
}

/// The lookup's row number, for `on_duplicate`.
const ROW: &str = "__fust_lookup_row";

#[async_trait]
impl Processor for EnrichProcessor {
    async fn plan(&self, input: Option<LogicalPlan>, ctx: &SessionContext) -> Result<LogicalPlan> {
        let c = &self.config;
        let stream = DataFrame::new(ctx.state(), need_input(input, "enrich")?);
        for key in c.on.keys() {
            check_column(&stream, key, "on")?;
        }
        let lookup = self.load(ctx).await?;
        let keys: Vec<&str> = c.on.values().map(String::as_str).collect();
        for key in &keys {
            check_column(&lookup, key, &format!("on (lookup `{}`)", c.lookup.name()))?;
        }
        let added: Vec<String> = match &c.columns {
            Some(cols) => cols.clone(),
            None => lookup
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .filter(|n| n != ROW && !keys.contains(&n.as_str()))
                .collect(),
        };
        for name in &added {
            check_column(&lookup, name, "columns")?;
            if stream.schema().has_column_with_unqualified_name(name) {
                return plan_err!(
                    "enrich: the stream already has a column `{name}`; list the lookup columns to add with `columns:`, or rename it first"
                );
            }
        }
        let lookup = unique(lookup, &keys, c.on_duplicate, c.lookup.name()).await?;
        // The lookup's keys under names of their own, so they never meet the stream's.
        let mut picked: Vec<_> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| column(k).alias(format!("__fust_key_{i}")))
            .collect();
        picked.extend(added.iter().map(|n| column(n)));
        let lookup = lookup.select(picked)?;
        let right: Vec<String> = (0..keys.len()).map(|i| format!("__fust_key_{i}")).collect();
        let right: Vec<&str> = right.iter().map(String::as_str).collect();
        let left: Vec<&str> = c.on.keys().map(String::as_str).collect();
        let how = match c.how {
            How::Left => JoinType::Left,
            How::Inner => JoinType::Inner,
        };
        let joined = stream.join(lookup, how, &left, &right, None)?;
        let joined = joined.drop_columns(&right)?;
        Ok(joined.into_unoptimized_plan())
    }
}

impl EnrichProcessor {
    /// Reads the lookup input front to back on one partition (its row order kept), with a
    /// row number, into memory the session's pool has granted.
    async fn load(&self, ctx: &SessionContext) -> Result<DataFrame> {
        let name = self.config.lookup.name();
        if !ctx.table_exist(name)? {
            return plan_err!("enrich: no input called `{name}`; name it under `inputs:`");
        }
        let rows = match self.fresh() {
            Some(rows) => rows,
            None => {
                let table = ctx.table_provider(name).await?;
                let mut config = ctx.copied_config().with_target_partitions(1);
                config.options_mut().optimizer.repartition_file_scans = false;
                let one = SessionContext::new_with_config_rt(config, ctx.runtime_env());
                let batches = one.read_table(table)?.collect().await?;
                let schema = match batches.first() {
                    Some(b) => b.schema(),
                    None => ctx.table(name).await?.schema().inner().clone(),
                };
                let rows = concat_batches(&schema, &batches)?;
                if let Ok(mut l) = self.loaded.lock() {
                    *l = Some((Instant::now(), rows.clone()));
                }
                rows
            }
        };
        let schema = rows.schema();
        let reservation = MemoryConsumer::new(format!("enrich lookup `{name}`"))
            .register(&ctx.runtime_env().memory_pool);
        reservation
            .try_grow(rows.get_array_memory_size())
            .map_err(|e| {
                e.context(format!(
                    "enrich: the lookup `{name}` ({} rows) does not fit in settings.memory_limit",
                    rows.num_rows()
                ))
            })?;
        // Only the last planning's: a stream job plans every epoch, in a new session.
        *self
            .held
            .lock()
            .map_err(|_| datafusion::error::DataFusionError::Internal("lock".into()))? =
            vec![reservation];
        let numbers = UInt64Array::from_iter_values(0..rows.num_rows() as u64);
        let mut fields = schema.fields().to_vec();
        fields.push(Arc::new(Field::new(ROW, DataType::UInt64, false)));
        let mut columns = rows.columns().to_vec();
        columns.push(Arc::new(numbers));
        let numbered = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
        let table = MemTable::try_new(numbered.schema(), vec![vec![numbered]])?;
        ctx.read_table(Arc::new(table))
    }
}

/// The lookup with one row per key: duplicates fail, or the first or last row is kept.
async fn unique(
    lookup: DataFrame,
    keys: &[&str],
    on_duplicate: Option<OnDuplicate>,
    name: &str,
) -> Result<DataFrame> {
    let key_exprs: Vec<_> = keys.iter().map(|k| column(k)).collect();
    match on_duplicate {
        None => {
            let dup = lookup
                .clone()
                .aggregate(key_exprs, vec![count(lit(1)).alias("n")])?
                .filter(column("n").gt(lit(1i64)))?
                .limit(0, Some(1))?
                .collect()
                .await?;
            if let Some(batch) = dup.iter().find(|b| b.num_rows() > 0) {
                let shown = datafusion::arrow::util::pretty::pretty_format_batches(
                    std::slice::from_ref(batch),
                )
                .map(|t| t.to_string())
                .unwrap_or_default();
                return plan_err!(
                    "enrich: the lookup `{name}` has several rows for one key; set `on_duplicate: first` or `last` to keep one:\n{shown}"
                );
            }
            Ok(lookup)
        }
        Some(keep) => {
            let number = row_number()
                .partition_by(key_exprs)
                .order_by(vec![column(ROW).sort(keep == OnDuplicate::First, false)])
                .build()?
                .alias("__fust_lookup_rank");
            lookup
                .window(vec![number])?
                .filter(column("__fust_lookup_rank").eq(lit(1u64)))?
                .drop_columns(&["__fust_lookup_rank"])
        }
    }
}

/// `lookup:`: an input's name, or an input spec (which the job file's parser reads as an
/// input of its own and replaces by its name).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Lookup {
    Name(String),
    Input(serde_json::Map<String, serde_json::Value>),
}

impl Lookup {
    fn name(&self) -> &str {
        match self {
            Lookup::Name(n) => n,
            Lookup::Input(_) => "(inline lookup)",
        }
    }
}
