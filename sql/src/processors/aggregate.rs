//! `aggregate`: group rows and compute aggregates (an `Aggregate` node), optionally per
//! event-time window (`window:`), which a stream job emits as the watermark passes it.

use super::common::need_input;
use crate::query::plan_query;
use async_trait::async_trait;
use datafusion::error::Result;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use fust_config::Duration;
use fust_engine::{OptionError, Processor, Window};
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
    /// Aggregate per event-time window, e.g. `{type: tumbling, size: 1m, time_column: ts,
    /// allowed_lateness: 10s}`: the output gains `window_start` and `window_end`. Needed in
    /// a stream job, where a window is emitted once the watermark (the latest event time
    /// seen minus `allowed_lateness`) passes its end.
    #[serde(default)]
    pub window: Option<WindowConfig>,
}

/// `aggregate.window`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct WindowConfig {
    /// `tumbling` (back to back) or `sliding` (every `slide`, overlapping).
    #[serde(rename = "type")]
    pub kind: WindowKind,
    /// How long a window is, e.g. `1m`.
    pub size: Duration,
    /// Sliding windows: how often one starts; must divide `size`.
    #[serde(default)]
    pub slide: Option<Duration>,
    /// The column of event times (a timestamp).
    pub time_column: String,
    /// How late a record may come (after later ones) and still count: the watermark
    /// trails the latest event time by this much. Later records are counted as late and
    /// go to the dead-letter output. Default 0.
    #[serde(default)]
    pub allowed_lateness: Option<Duration>,
}

/// The kind of window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    Tumbling,
    Sliding,
}

/// The most windows one record may belong to (`size / slide`).
const MAX_WINDOWS_PER_RECORD: i64 = 1000;

#[derive(Debug)]
pub struct AggregateProcessor {
    config: AggregateConfig,
    window: Option<Window>,
}

impl AggregateProcessor {
    pub fn new(config: AggregateConfig) -> Result<Self, OptionError> {
        let window = config.window.as_ref().map(window_of).transpose()?;
        Ok(Self { config, window })
    }
}

fn window_of(w: &WindowConfig) -> Result<Window, OptionError> {
    let ms = |d: &Duration| d.0.as_millis() as i64;
    let size_ms = ms(&w.size);
    if size_ms < 1 {
        return Err(OptionError::new(
            "window.size",
            "give a size of at least 1ms",
        ));
    }
    let slide_ms = match (w.kind, &w.slide) {
        (WindowKind::Tumbling, None) => size_ms,
        (WindowKind::Tumbling, Some(_)) => {
            return Err(OptionError::new(
                "window.slide",
                "a tumbling window has no `slide` (use `type: sliding`)",
            ));
        }
        (WindowKind::Sliding, None) => {
            return Err(OptionError::new(
                "window.slide",
                "a sliding window needs `slide`",
            ));
        }
        (WindowKind::Sliding, Some(s)) => ms(s),
    };
    if slide_ms < 1 || size_ms % slide_ms != 0 || size_ms / slide_ms > MAX_WINDOWS_PER_RECORD {
        return Err(OptionError::new(
            "window.slide",
            format!("`slide` must divide `size` into at most {MAX_WINDOWS_PER_RECORD} steps"),
        ));
    }
    if w.time_column.trim().is_empty() {
        return Err(OptionError::new(
            "window.time_column",
            "name the event-time column",
        ));
    }
    Ok(Window {
        size_ms,
        slide_ms,
        lateness_ms: w.allowed_lateness.as_ref().map_or(0, ms),
        time_column: w.time_column.clone(),
    })
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[async_trait]
impl Processor for AggregateProcessor {
    async fn plan(&self, input: Option<LogicalPlan>, ctx: &SessionContext) -> Result<LogicalPlan> {
        need_input(input, "aggregate")?;
        let c = &self.config;
        let mut select: Vec<String> = Vec::new();
        let mut from = "input".to_string();
        if let Some(w) = &self.window {
            select.push("to_timestamp_millis(__fust_ws) AS window_start".into());
            select.push(format!(
                "to_timestamp_millis(__fust_ws + {}) AS window_end",
                w.size_ms
            ));
            from = window_rows(w);
        }
        select.extend(c.group_by.iter().cloned());
        select.extend(
            c.aggregates
                .iter()
                .map(|(name, e)| format!("{e} AS {}", quote_ident(name))),
        );
        let mut sql = format!("SELECT {} FROM {from}", select.join(", "));
        let keys = c.group_by.len() + if self.window.is_some() { 2 } else { 0 };
        if keys > 0 {
            // By position, so a group key may carry an alias (`date_trunc('month', ts) AS month`).
            let ordinals: Vec<String> = (1..=keys).map(|i| i.to_string()).collect();
            sql.push_str(&format!(" GROUP BY {}", ordinals.join(", ")));
        }
        plan_query(ctx, &sql).await
    }

    fn window(&self) -> Option<&Window> {
        self.window.as_ref()
    }
}

/// The input with each record once per window holding it, that window's start (ms since
/// the epoch) in `__fust_ws`; records without a time are left out.
fn window_rows(w: &Window) -> String {
    let ms = format!(
        "CAST(arrow_cast({}, 'Timestamp(Millisecond, None)') AS BIGINT)",
        quote_ident(&w.time_column)
    );
    let slide = w.slide_ms;
    let last_start = format!("({ms} - ((({ms}) % {slide}) + {slide}) % {slide})");
    let steps = w.size_ms / w.slide_ms;
    if steps == 1 {
        return format!(
            "(SELECT *, {last_start} AS __fust_ws FROM input WHERE {} IS NOT NULL) AS input",
            quote_ident(&w.time_column)
        );
    }
    format!(
        "(SELECT *, {last_start} - __fust_k * {slide} AS __fust_ws FROM input CROSS JOIN (SELECT unnest(range(0, {steps})) AS __fust_k) AS k WHERE {} IS NOT NULL) AS input",
        quote_ident(&w.time_column)
    )
}
