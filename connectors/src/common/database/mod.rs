//! What the database connectors (`postgres`, `mysql`) share: their options, the
//! [`Dialect`] each implements, the table provider that turns the job's projection and
//! filters into SQL and reads ranges in parallel, and the incremental cursor kept between
//! runs.

pub mod config;
pub mod dialect;
pub mod scan;
pub mod source;

pub use config::{CreateTable, DbSinkConfig, DbSourceConfig, DbWriteMode, Endpoint, TlsNames};
pub use dialect::{Dialect, create_table_sql};
pub use scan::{DbDriver, DbTable, Snapshot};
pub use source::DbSource;

/// Row `row` of `batch` as a JSON object, for a dead-letter row.
pub fn row_json(batch: &datafusion::arrow::array::RecordBatch, row: usize) -> String {
    let mut out = Vec::new();
    let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(&mut out);
    let written = writer
        .write(&batch.slice(row, 1))
        .and_then(|_| writer.finish());
    match written {
        Ok(()) => String::from_utf8_lossy(&out).trim_end().to_string(),
        Err(e) => format!("(the row cannot be shown: {e})"),
    }
}
