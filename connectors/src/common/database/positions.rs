//! A stream job's committed positions in the target database: the table
//! `fust_stream_positions (job, part, position)`, written in the transaction that loads
//! the epoch's rows. Each span is a compare-and-set on the position the epoch started
//! from, so two processes can never both commit the same records.

use fust_engine::plugin::stream::{POSITIONS_TABLE, STATE_TABLE};
use fust_engine::{Epoch, PositionConflict, Positions, Span};

use super::Dialect;

/// `CREATE TABLE IF NOT EXISTS` of the positions table.
pub fn create_sql(d: &dyn Dialect) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} ({} VARCHAR(255) NOT NULL, {} VARCHAR(255) NOT NULL, {} BIGINT NOT NULL, PRIMARY KEY ({}, {})){}",
        d.ident(POSITIONS_TABLE),
        d.ident("job"),
        d.ident("part"),
        d.ident("position"),
        d.ident("job"),
        d.ident("part"),
        d.table_options()
    )
}

/// `CREATE TABLE IF NOT EXISTS` of the table of operator state (one row per job).
pub fn create_state_sql(d: &dyn Dialect) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} ({} VARCHAR(255) NOT NULL PRIMARY KEY, {} {} NOT NULL){}",
        d.ident(STATE_TABLE),
        d.ident("job"),
        d.ident("state"),
        d.blob_type(),
        d.table_options()
    )
}

/// The stored state of `job` (one row, one column).
pub fn select_state_sql(d: &dyn Dialect, job: &str) -> String {
    format!(
        "SELECT {} FROM {} WHERE {} = {}",
        d.ident("state"),
        d.ident(STATE_TABLE),
        d.ident("job"),
        d.string(job)
    )
}

/// Removes the stored state of `job` (before the new one is inserted, in one transaction).
pub fn delete_state_sql(d: &dyn Dialect, job: &str) -> String {
    format!(
        "DELETE FROM {} WHERE {} = {}",
        d.ident(STATE_TABLE),
        d.ident("job"),
        d.string(job)
    )
}

/// `INSERT INTO` the state table of `(job, state)`, with `placeholders` for the two values
/// (`$1, $2` or `?, ?`).
pub fn insert_state_sql(d: &dyn Dialect, placeholders: &str) -> String {
    format!(
        "INSERT INTO {} ({}, {}) VALUES ({placeholders})",
        d.ident(STATE_TABLE),
        d.ident("job"),
        d.ident("state")
    )
}

/// The positions of `job`: rows of (part, position).
pub fn select_sql(d: &dyn Dialect, job: &str) -> String {
    format!(
        "SELECT {}, {} FROM {} WHERE {} = {}",
        d.ident("part"),
        d.ident("position"),
        d.ident(POSITIONS_TABLE),
        d.ident("job"),
        d.string(job)
    )
}

/// The statement that moves one part of `job` from `span.from` to `span.to`: it changes
/// exactly one row when the stored position is `from` (or absent, for `from: None`), and
/// none otherwise.
pub fn advance_sql(d: &dyn Dialect, job: &str, span: &Span) -> String {
    let table = d.ident(POSITIONS_TABLE);
    let (job_c, part_c, pos_c) = (d.ident("job"), d.ident("part"), d.ident("position"));
    let (job, part) = (d.string(job), d.string(&span.part));
    match span.from {
        Some(from) => format!(
            "UPDATE {table} SET {pos_c} = {to} WHERE {job_c} = {job} AND {part_c} = {part} AND {pos_c} = {from}",
            to = span.to
        ),
        None => d.insert_if_absent(&format!(
            "{table} ({job_c}, {part_c}, {pos_c}) VALUES ({job}, {part}, {})",
            span.to
        )),
    }
}

/// The error for a span whose statement changed no row: the stored position (read again
/// by the caller, `None` when absent) is not where the epoch started.
pub fn conflict(
    epoch: &Epoch,
    target: String,
    span: &Span,
    stored: Option<i64>,
) -> datafusion::error::DataFusionError {
    let show = |p: Option<i64>| p.map_or("none".to_string(), |p| p.to_string());
    epoch.conflict(PositionConflict {
        target,
        part: span.part.clone(),
        expected: show(span.from),
        stored: show(stored),
    })
}

/// Rows of (part, position) as positions.
pub fn positions(rows: impl IntoIterator<Item = (String, i64)>) -> Positions {
    Positions(rows.into_iter().collect())
}
