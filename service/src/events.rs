//! What the manager publishes about runs: [`RunEvent`]s for the API's live stream.

use serde::Serialize;

use crate::store::{RunRecord, RunState, now_ms};

/// A change in a run: its state, its counters, and the error when it failed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunEvent {
    pub run_id: String,
    pub job: String,
    pub state: RunState,
    pub rows_in: u64,
    pub rows_out: u64,
    pub bytes_out: u64,
    pub error: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
}

impl RunEvent {
    /// The event that shows `run` as the store has it, now.
    pub fn of(run: &RunRecord) -> Self {
        RunEvent {
            run_id: run.id.clone(),
            job: run.job.clone(),
            state: run.state,
            rows_in: run.rows_in.max(0) as u64,
            rows_out: run.rows_out.max(0) as u64,
            bytes_out: run.bytes_out.max(0) as u64,
            error: run.error.clone(),
            at: now_ms(),
        }
    }
}
