//! Finding the rows a database refuses: a batch is written in slices, each under a
//! savepoint; a slice the server refuses for what its rows hold is rolled back and
//! written again in halves, down to the single rows, which become bad records. Used by
//! the database outputs when `settings.on_error` tolerates bad records.

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::error::Result;
use fust_engine::rejects::row_json;
use fust_engine::{BadRecord, StageRejects};

/// Why the server refused a slice for its rows: its message and a kind to count by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: String,
    pub kind: String,
}

/// Writes slices of one batch, each under a savepoint of the load's transaction.
#[async_trait]
pub trait SliceWriter: Send {
    /// Writes rows `start..start + len`. `Ok(None)`: they are in (the savepoint released);
    /// `Ok(Some(_))`: refused for what they hold, and rolled back to the savepoint;
    /// `Err`: anything else, which fails the run.
    async fn write_slice(&mut self, start: usize, len: usize) -> Result<Option<Refusal>>;
}

/// Writes `batch` through `writer` in slices of `step` rows, halving refused slices down
/// to the rows, which go to `rejects` as `row N` (counting `before` earlier rows).
/// Returns the rows written.
pub async fn write_isolating(
    writer: &mut dyn SliceWriter,
    batch: &RecordBatch,
    step: usize,
    before: u64,
    rejects: &StageRejects,
) -> Result<u64> {
    let n = batch.num_rows();
    let step = step.clamp(1, n.max(1));
    // Row ranges still to write, the next on top.
    let mut todo: Vec<(usize, usize)> = (0..n)
        .step_by(step)
        .map(|s| (s, step.min(n - s)))
        .rev()
        .collect();
    let mut written = 0;
    while let Some((start, len)) = todo.pop() {
        let Some(refusal) = writer.write_slice(start, len).await? else {
            written += len as u64;
            continue;
        };
        if len > 1 {
            let half = len / 2;
            todo.push((start + half, len - half));
            todo.push((start, half));
            continue;
        }
        rejects
            .reject(BadRecord {
                raw: row_json(batch, start),
                reason: refusal.reason,
                kind: refusal.kind,
                position: format!("row {}", before + start as u64 + 1),
            })
            .await?;
    }
    Ok(written)
}
