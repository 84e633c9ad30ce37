//! `mapping`: rename, cast, compute and drop columns in one `Projection`.

use super::common::{check_column, column, need_input, parse_expr};
use async_trait::async_trait;
use datafusion::error::Result;
use std::sync::Arc;

use datafusion::functions::core::expr_fn::{coalesce, get_field};
use datafusion::functions::string::expr_fn::concat;
use datafusion::logical_expr::LogicalPlan;
use datafusion::logical_expr::{lit, when};
use datafusion::prelude::{DataFrame, SessionContext};
use fust_engine::Processor;
use fust_engine::reject_plan::RejectRows;
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

/// Rename, cast, compute and drop columns. Applied in that order: `cast` and `fields`
/// see the new names; `drop` runs last, so a computed field may use a dropped column.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct MappingConfig {
    /// Renames, `old_name: new_name`.
    #[serde(default)]
    pub field_mappings: IndexMap<String, String>,
    /// Type changes, `column: SQL type` (e.g. `bigint`, `double`, `decimal(12,2)`, `date`,
    /// `timestamp`, `varchar`). A value that can't be converted is a bad record: it fails
    /// the run, or with `settings.on_error: skip | dead_letter` its row is set aside.
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
pub struct MappingProcessor(pub MappingConfig);

#[async_trait]
impl Processor for MappingProcessor {
    async fn plan(&self, input: Option<LogicalPlan>, ctx: &SessionContext) -> Result<LogicalPlan> {
        let c = &self.0;
        let mut df = DataFrame::new(ctx.state(), need_input(input, "mapping")?);
        for old in c.field_mappings.keys() {
            check_column(&df, old, "field_mappings")?;
        }
        let tolerant = fust_engine::StageRejects::of(ctx).tolerates();
        if tolerant && !c.cast.is_empty() {
            df = cast_tolerating(df, c, ctx)?;
        } else if !c.field_mappings.is_empty() || !c.cast.is_empty() {
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
            let e = parse_expr(&df, expr)?;
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

/// Renames and casts with bad records tolerated: each cast is `cast_to`
/// made [`checked`](fust_engine::functions::checked); a row with a value that does not
/// convert is a bad record of this processor, the others go on.
fn cast_tolerating(df: DataFrame, c: &MappingConfig, ctx: &SessionContext) -> Result<DataFrame> {
    let cast_to = Arc::new(fust_engine::functions::cast_to());
    let (mut first, mut second, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    let mut seen_casts = 0;
    for (i, field) in df.schema().fields().iter().enumerate() {
        let old = field.name();
        let new = c.field_mappings.get(old).unwrap_or(old);
        match c.cast.get(new) {
            Some(ty) => {
                seen_casts += 1;
                let data_type = fust_engine::types::sql_type(ty)?;
                let checked = format!("__fust_cast_{i}");
                let call = fust_engine::functions::checked(cast_to.clone())
                    .call(vec![column(old), lit(data_type.to_string())]);
                first.push(call.alias(&checked));
                second.push(get_field(column(&checked), "value").alias(new));
                let error = get_field(column(&checked), "error");
                let message = concat(vec![
                    lit(format!("cast of `{new}` to {ty}: ")),
                    error.clone(),
                ]);
                errors.push(when(error.is_not_null(), message).end()?);
            }
            None => {
                first.push(column(old).alias(new));
                second.push(column(new));
            }
        }
    }
    if seen_casts != c.cast.len() {
        for name in c.cast.keys() {
            let renamed = df.clone().select(first.clone())?;
            check_column(&renamed, name, "cast")?;
        }
    }
    // The first cast that failed.
    second.push(coalesce(errors).alias("__fust_reason"));
    let df = df.select(first)?.select(second)?;
    let stage = fust_engine::StageRejects::of(ctx).stage().to_string();
    let plan = RejectRows::plan(df.into_unoptimized_plan(), &stage, "cast", "cast")?;
    Ok(DataFrame::new(ctx.state(), plan))
}
