//! `route`: sends each record to the outputs whose condition holds (and the rest to a
//! `default` output). The engine applies the conditions to the pipeline's batches as they
//! go to the sinks; this processor checks them against the schema and passes the plan on.

use super::common::{need_input, parse_expr};
use async_trait::async_trait;
use datafusion::error::Result;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{DataFrame, SessionContext};
use fust_engine::{Processor, Routes};
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

/// Send records to named outputs by condition.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RouteConfig {
    /// `output_name: SQL condition`. A record goes to every output whose condition is
    /// true (not NULL).
    pub routes: IndexMap<String, String>,
    /// The output that gets the records no route took (default: they are dropped).
    #[serde(default)]
    pub default: Option<String>,
}

#[derive(Debug)]
pub struct RouteProcessor(pub Routes);

impl RouteProcessor {
    pub fn new(c: RouteConfig) -> Self {
        Self(Routes {
            routes: c.routes.into_iter().collect(),
            default: c.default,
        })
    }
}

#[async_trait]
impl Processor for RouteProcessor {
    async fn plan(&self, input: Option<LogicalPlan>, ctx: &SessionContext) -> Result<LogicalPlan> {
        let df = DataFrame::new(ctx.state(), need_input(input, "route")?);
        for (name, condition) in &self.0.routes {
            parse_expr(&df, condition).map_err(|e| e.context(format!("route `{name}`")))?;
        }
        Ok(df.into_unoptimized_plan())
    }

    fn routes(&self) -> Option<&Routes> {
        Some(&self.0)
    }
}
