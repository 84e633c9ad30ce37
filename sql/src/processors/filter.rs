//! `filter`: keep or drop the rows for which a SQL condition is true (a `Filter` node).

use super::common::{need_input, parse_expr};
use async_trait::async_trait;
use datafusion::error::Result;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{DataFrame, SessionContext};
use fust_engine::Processor;
use schemars::JsonSchema;
use serde::Deserialize;

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
pub struct FilterProcessor(pub FilterConfig);

#[async_trait]
impl Processor for FilterProcessor {
    async fn plan(&self, input: Option<LogicalPlan>, ctx: &SessionContext) -> Result<LogicalPlan> {
        let df = DataFrame::new(ctx.state(), need_input(input, "filter")?);
        let cond = parse_expr(&df, &self.0.condition)?;
        let cond = match self.0.mode {
            FilterMode::Include => cond,
            FilterMode::Exclude => cond.is_not_true(),
        };
        Ok(df.filter(cond)?.into_unoptimized_plan())
    }
}
