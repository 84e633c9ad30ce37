//! What the processors share: the input check, column lookup with a did-you-mean, option checks.

use datafusion::common::{Column, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::prelude::DataFrame;
use fust_engine::OptionError;

pub(super) fn need_input(input: Option<LogicalPlan>, what: &str) -> Result<LogicalPlan> {
    match input {
        Some(p) => Ok(p),
        None => plan_err!(
            "`{what}` works on the stream so far, but the job has no input called `input`; put a `sql` processor first"
        ),
    }
}

/// Checks that `name` is a column of `df`, with a did-you-mean and the list otherwise.
pub(super) fn check_column(df: &DataFrame, name: &str, option: &str) -> Result<()> {
    let names: Vec<&str> = df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    if names.contains(&name) {
        return Ok(());
    }
    let hint = fust_config::did_you_mean(name, names.iter().copied())
        .map(|s| format!("did you mean `{s}`? "))
        .unwrap_or_default();
    plan_err!(
        "{option}: no column `{name}`; {hint}columns: {}",
        names.join(", ")
    )
}

/// Parses a SQL expression over `df`'s columns, after [`fust_engine::sql_text::check`].
pub(super) fn parse_expr(df: &DataFrame, sql: &str) -> Result<Expr> {
    fust_engine::sql_text::check(sql)?;
    df.parse_sql_expr(sql)
}

pub(super) fn column(name: &str) -> Expr {
    Expr::Column(Column::new_unqualified(name))
}

pub(super) fn not_blank(key: &str, v: &str) -> std::result::Result<(), OptionError> {
    if v.trim().is_empty() {
        Err(OptionError::new(key, "must not be empty"))
    } else {
        Ok(())
    }
}
