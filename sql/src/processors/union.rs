//! `union`: the stream so far followed by the rows of named inputs (`UNION ALL`, by
//! position or by name).

use super::common::need_input;
use async_trait::async_trait;
use datafusion::common::plan_err;
use datafusion::error::Result;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{DataFrame, SessionContext};
use fust_engine::Processor;
use schemars::JsonSchema;
use serde::Deserialize;

/// Append the rows of other inputs to the stream.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct UnionConfig {
    /// Named inputs (from `inputs:`) whose rows are added.
    pub inputs: Vec<String>,
    /// Match columns by name (a column one side lacks is NULL there) instead of by
    /// position (default false: same number of columns, in the same order).
    #[serde(default)]
    pub by_name: bool,
    /// Drop duplicate rows, as SQL `UNION` does (default false: keep all, `UNION ALL`).
    #[serde(default)]
    pub distinct: bool,
}

#[derive(Debug)]
pub struct UnionProcessor(pub UnionConfig);

#[async_trait]
impl Processor for UnionProcessor {
    async fn plan(&self, input: Option<LogicalPlan>, ctx: &SessionContext) -> Result<LogicalPlan> {
        let c = &self.0;
        let mut df = DataFrame::new(ctx.state(), need_input(input, "union")?);
        for name in &c.inputs {
            if !ctx.table_exist(name.as_str())? {
                return plan_err!("union: no input called `{name}`; name it under `inputs:`");
            }
            let other = ctx.table(name.as_str()).await?;
            df = match (c.by_name, c.distinct) {
                (false, false) => df.union(other),
                (false, true) => df.union_distinct(other),
                (true, false) => df.union_by_name(other),
                (true, true) => df.union_by_name_distinct(other),
            }
            .map_err(|e| e.context(format!("union with `{name}`")))?;
        }
        Ok(df.into_unoptimized_plan())
    }
}
