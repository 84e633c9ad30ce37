//! `mapping`: rename, cast, compute and drop columns in one `Projection`.

use super::common::{check_column, column, need_input, parse_expr};
use async_trait::async_trait;
use datafusion::error::Result;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{DataFrame, SessionContext};
use fust_engine::Processor;
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
pub struct MappingProcessor(pub MappingConfig);

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
