//! The `console` output's options.

use schemars::JsonSchema;
use serde::Deserialize;

const fn twenty() -> usize {
    20
}

/// Print rows to standard output as a table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ConsoleConfig {
    /// Most rows printed; the rest are counted.
    #[serde(default = "twenty")]
    pub limit: usize,
}
