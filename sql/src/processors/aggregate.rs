//! `aggregate`: group rows and compute aggregates (an `Aggregate` node).

use super::common::need_input;
use crate::query::plan_query;
use async_trait::async_trait;
use datafusion::error::Result;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use fust_engine::Processor;
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

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
pub struct AggregateProcessor(pub AggregateConfig);

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
