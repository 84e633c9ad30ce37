//! `sql`: any DataFusion query over `input` and the named inputs, through the guarded planner.

use crate::query::plan_query;
use async_trait::async_trait;
use datafusion::error::Result;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use fust_engine::Processor;
use schemars::JsonSchema;
use serde::Deserialize;

/// Any DataFusion SQL query: joins, window functions, CTEs. The stream so far is the
/// table `input`; named inputs are tables under their names.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct SqlConfig {
    /// One SELECT (or WITH … SELECT) query.
    pub query: String,
}

#[derive(Debug)]
pub struct SqlProcessor(pub SqlConfig);

#[async_trait]
impl Processor for SqlProcessor {
    async fn plan(&self, _input: Option<LogicalPlan>, ctx: &SessionContext) -> Result<LogicalPlan> {
        plan_query(ctx, &self.0.query).await
    }
}
