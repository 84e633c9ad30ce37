//! The built-in processors. Each compiles to DataFusion logical plan nodes; none touches rows.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::common::{Column, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::prelude::{DataFrame, SessionContext};
use fust_config::PluginRole;
use fust_engine::{OptionError, Processor, Registry, Typed};
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::query::plan_query;

fn need_input(input: Option<LogicalPlan>, what: &str) -> Result<LogicalPlan> {
    match input {
        Some(p) => Ok(p),
        None => plan_err!(
            "`{what}` works on the stream so far, but the job has no input called `input`; put a `sql` processor first"
        ),
    }
}

/// Checks that `name` is a column of `df`, with a did-you-mean and the list otherwise.
fn check_column(df: &DataFrame, name: &str, option: &str) -> Result<()> {
    let names: Vec<&str> = df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    if names.contains(&name) {
        return Ok(());
    }
    let hint = fust_config::did_you_mean(name, names.iter().copied())
        .map(|s| format!("did you mean `{s}`? "))
        .unwrap_or_default();
    plan_err!(
        "{option}: no column `{name}`; {hint}columns: {}",
        names.join(", ")
    )
}

fn column(name: &str) -> Expr {
    Expr::Column(Column::new_unqualified(name))
}

// ---------------------------------------------------------------- filter

/// Keep (or drop) the rows for which a SQL condition is true.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct FilterConfig {
    /// A SQL boolean expression over the columns, e.g. `amount > 100 AND status = 'paid'`.
    pub condition: String,
    /// `include` keeps rows where the condition is true; `exclude` drops them (rows where
    /// it is NULL are kept by `exclude`).
    #[serde(default)]
    pub mode: FilterMode,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FilterMode {
    #[default]
    Include,
    Exclude,
}

#[derive(Debug)]
pub struct FilterProcessor(FilterConfig);

#[async_trait]
impl Processor for FilterProcessor {
    async fn plan(&self, input: Option<LogicalPlan>, ctx: &SessionContext) -> Result<LogicalPlan> {
        let df = DataFrame::new(ctx.state(), need_input(input, "filter")?);
        let cond = df.parse_sql_expr(&self.0.condition)?;
        let cond = match self.0.mode {
            FilterMode::Include => cond,
            FilterMode::Exclude => cond.is_not_true(),
        };
        Ok(df.filter(cond)?.into_unoptimized_plan())
    }
}

// ---------------------------------------------------------------- mapping

/// Rename, cast, compute and drop columns. Applied in that order: `cast` and `fields`
/// see the new names; `drop` runs last, so a computed field may use a dropped column.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct MappingConfig {
    /// Renames, `old_name: new_name`.
    #[serde(default)]
    pub field_mappings: IndexMap<String, String>,
    /// Type changes, `column: SQL type` (e.g. `bigint`, `double`, `decimal(12,2)`, `date`,
    /// `timestamp`, `varchar`). A value that can't be converted fails the run.
    #[serde(default)]
    pub cast: IndexMap<String, String>,
    /// Computed columns, `name: SQL expression`; an existing name is replaced.
    #[serde(default)]
    pub fields: IndexMap<String, String>,
    /// Columns to remove.
    #[serde(default)]
    pub drop: Vec<String>,
}

#[derive(Debug)]
pub struct MappingProcessor(MappingConfig);

#[async_trait]
impl Processor for MappingProcessor {
    async fn plan(&self, input: Option<LogicalPlan>, ctx: &SessionContext) -> Result<LogicalPlan> {
        let c = &self.0;
        let mut df = DataFrame::new(ctx.state(), need_input(input, "mapping")?);
        for old in c.field_mappings.keys() {
            check_column(&df, old, "field_mappings")?;
        }
        if !c.field_mappings.is_empty() || !c.cast.is_empty() {
            let mut exprs = Vec::new();
            let mut seen_casts = 0;
            for field in df.schema().fields() {
                let old = field.name();
                let new = c.field_mappings.get(old).unwrap_or(old);
                let mut e = column(old);
                if let Some(ty) = c.cast.get(new) {
                    seen_casts += 1;
                    let data_type = fust_engine::types::sql_type(ty)?;
                    e = crate::udf::checked_cast(e, new, ty, data_type)?;
                }
                exprs.push(e.alias(new));
            }
            if seen_casts != c.cast.len() {
                let renamed = df.clone().select(exprs.clone())?;
                for name in c.cast.keys() {
                    check_column(&renamed, name, "cast")?;
                }
            }
            df = df.select(exprs)?;
        }
        for (name, expr) in &c.fields {
            let e = df.parse_sql_expr(expr)?;
            df = df.with_column(name, e)?;
        }
        for name in &c.drop {
            check_column(&df, name, "drop")?;
        }
        if !c.drop.is_empty() {
            let names: Vec<&str> = c.drop.iter().map(String::as_str).collect();
            df = df.drop_columns(&names)?;
        }
        Ok(df.into_unoptimized_plan())
    }
}

// ---------------------------------------------------------------- aggregate

/// Group rows and compute aggregates.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct AggregateConfig {
    /// Columns or SQL expressions to group by, optionally named with `AS`
    /// (e.g. `date_trunc('month', ts) AS month`); empty: one row for the whole input.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// Output columns, `name: aggregate SQL expression`, e.g. `total: sum(amount)`,
    /// `orders: count(*)`, `avg_price: sum(price) / count(*)`.
    pub aggregates: IndexMap<String, String>,
}

#[derive(Debug)]
pub struct AggregateProcessor(AggregateConfig);

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[async_trait]
impl Processor for AggregateProcessor {
    async fn plan(&self, input: Option<LogicalPlan>, ctx: &SessionContext) -> Result<LogicalPlan> {
        need_input(input, "aggregate")?;
        let c = &self.0;
        let mut select: Vec<String> = c.group_by.clone();
        select.extend(
            c.aggregates
                .iter()
                .map(|(name, e)| format!("{e} AS {}", quote_ident(name))),
        );
        let mut sql = format!("SELECT {} FROM input", select.join(", "));
        if !c.group_by.is_empty() {
            // By position, so a group key may carry an alias (`date_trunc('month', ts) AS month`).
            let ordinals: Vec<String> = (1..=c.group_by.len()).map(|i| i.to_string()).collect();
            sql.push_str(&format!(" GROUP BY {}", ordinals.join(", ")));
        }
        plan_query(ctx, &sql).await
    }
}

// ---------------------------------------------------------------- sql

/// Any DataFusion SQL query: joins, window functions, CTEs. The stream so far is the
/// table `input`; named inputs are tables under their names.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct SqlConfig {
    /// One SELECT (or WITH … SELECT) query.
    pub query: String,
}

#[derive(Debug)]
pub struct SqlProcessor(SqlConfig);

#[async_trait]
impl Processor for SqlProcessor {
    async fn plan(&self, _input: Option<LogicalPlan>, ctx: &SessionContext) -> Result<LogicalPlan> {
        plan_query(ctx, &self.0.query).await
    }
}

fn not_blank(key: &str, v: &str) -> std::result::Result<(), OptionError> {
    if v.trim().is_empty() {
        Err(OptionError::new(key, "must not be empty"))
    } else {
        Ok(())
    }
}

/// Registers every processor of this crate.
pub fn register_all(registry: &mut Registry) {
    registry.add_processor(Arc::new(Typed::new(
        "filter",
        PluginRole::Processor,
        "Keep or drop rows by a SQL condition",
        "type: filter\ncondition: \"amount > 100 AND status = 'paid'\"\nmode: include\n",
        |c: FilterConfig| {
            not_blank("condition", &c.condition)?;
            Ok(Arc::new(FilterProcessor(c)) as Arc<dyn Processor>)
        },
    )));
    registry.add_processor(Arc::new(Typed::new(
        "mapping",
        PluginRole::Processor,
        "Rename, cast, compute and drop columns",
        "type: mapping\nfield_mappings: {cust_id: customer_id}\ncast: {amount: double}\nfields: {amount_eur: amount * 0.92}\ndrop: [internal_note]\n",
        |c: MappingConfig| {
            for (k, v) in c.fields.iter().chain(c.cast.iter()) {
                not_blank(k, v)?;
            }
            Ok(Arc::new(MappingProcessor(c)) as Arc<dyn Processor>)
        },
    )));
    registry.add_processor(Arc::new(Typed::new(
        "aggregate",
        PluginRole::Processor,
        "Group rows and compute named aggregates",
        "type: aggregate\ngroup_by: [customer_id]\naggregates: {total: sum(amount), orders: count(*)}\n",
        |c: AggregateConfig| {
            if c.aggregates.is_empty() {
                return Err(OptionError::new("aggregates", "give at least one `name: expression`"));
            }
            Ok(Arc::new(AggregateProcessor(c)) as Arc<dyn Processor>)
        },
    )));
    registry.add_processor(Arc::new(Typed::new(
        "sql",
        PluginRole::Processor,
        "Any SELECT over `input` and the named inputs (joins, windows, CTEs)",
        "type: sql\nquery: \"SELECT *, total / orders AS avg_order FROM input\"\n",
        |c: SqlConfig| {
            not_blank("query", &c.query)?;
            crate::query::parse_query(&c.query)
                .map_err(|e| OptionError::new("query", fust_engine::error::clean_message(&e)))?;
            Ok(Arc::new(SqlProcessor(c)) as Arc<dyn Processor>)
        },
    )));
}
