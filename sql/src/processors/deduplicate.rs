//! `deduplicate`: one record per key, the first or last by `order_by` (a window
//! `row_number()` over the key, kept where it is 1).

use super::common::{check_column, column, need_input, parse_expr};
use async_trait::async_trait;
use datafusion::error::Result;
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{ExprFunctionExt, LogicalPlan, lit};
use datafusion::prelude::{DataFrame, SessionContext};
use fust_engine::{KeyTtl, Processor};
use schemars::JsonSchema;
use serde::Deserialize;

/// Keep one record per key.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct DeduplicateConfig {
    /// The columns that identify a record.
    pub key_columns: Vec<String>,
    /// `first` (default) keeps the record with the lowest `order_by`, `last` the highest
    /// (a NULL `order_by` is kept only when the key has no other record).
    #[serde(default)]
    pub keep: Keep,
    /// A column or SQL expression ordering the records of a key, e.g. `updated_at`.
    /// Without it, which record of a key is kept is not defined.
    #[serde(default)]
    pub order_by: Option<String>,
    /// Stream jobs: also drop a record whose key was let through by an earlier epoch less
    /// than this long ago (e.g. `1h`); the keys are committed with each epoch. Unset: a
    /// stream job deduplicates within each epoch.
    #[serde(default)]
    pub ttl: Option<fust_config::Duration>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    #[default]
    First,
    Last,
}

#[derive(Debug)]
pub struct DeduplicateProcessor {
    config: DeduplicateConfig,
    ttl: Option<KeyTtl>,
}

impl DeduplicateProcessor {
    pub fn new(config: DeduplicateConfig) -> Self {
        let ttl = config.ttl.as_ref().map(|t| KeyTtl {
            key_columns: config.key_columns.clone(),
            ttl_ms: t.0.as_millis() as i64,
        });
        Self { config, ttl }
    }
}

/// The row number column, dropped again before the next processor.
const ROW: &str = "__fust_dedup_row";

#[async_trait]
impl Processor for DeduplicateProcessor {
    async fn plan(&self, input: Option<LogicalPlan>, ctx: &SessionContext) -> Result<LogicalPlan> {
        let c = &self.config;
        let df = DataFrame::new(ctx.state(), need_input(input, "deduplicate")?);
        for key in &c.key_columns {
            check_column(&df, key, "key_columns")?;
        }
        let mut order = Vec::new();
        if let Some(by) = &c.order_by {
            let e = parse_expr(&df, by)?;
            // Highest (or lowest) first; NULLs after every value either way.
            order.push(e.sort(c.keep == Keep::First, false));
        }
        let keys = c.key_columns.iter().map(|k| column(k)).collect();
        // DataFusion 55 refuses an empty ORDER BY in a window: without `order_by`, none.
        let number = match order.is_empty() {
            true => row_number().partition_by(keys).build()?,
            false => row_number().partition_by(keys).order_by(order).build()?,
        }
        .alias(ROW);
        let df = df
            .window(vec![number])?
            .filter(column(ROW).eq(lit(1u64)))?
            .drop_columns(&[ROW])?;
        Ok(df.into_unoptimized_plan())
    }

    fn key_ttl(&self) -> Option<&KeyTtl> {
        self.ttl.as_ref()
    }
}
