//! The job service's metrics, recorded through the `metrics` facade; the binary installs
//! the Prometheus exporter and serves `/metrics`. Every name is documented in
//! `docs/operations.md` and used by `deploy/grafana/fust.json`.

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};

use crate::store::types::{RunRecord, RunState};

/// Runs in the metadata store by state (gauge, label `state`; set at each scrape).
pub const RUNS: &str = "fust_runs";
/// Runs waiting for a worker in this server (gauge).
pub const QUEUE_DEPTH: &str = "fust_queue_depth";
/// Runs executing in this server (gauge).
pub const ACTIVE_RUNS: &str = "fust_active_runs";
/// Runs this server executes at once at most (gauge).
pub const WORKERS: &str = "fust_workers";
/// Runs finished since the server started (counter, labels `job`, `state`).
pub const RUNS_FINISHED: &str = "fust_runs_finished_total";
/// Failed runs since the server started (counter, label `job`).
pub const RUN_FAILURES: &str = "fust_run_failures_total";
/// Rows read by finished runs (counter, label `job`).
pub const ROWS_IN: &str = "fust_rows_in_total";
/// Rows written by finished runs (counter, label `job`).
pub const ROWS_OUT: &str = "fust_rows_out_total";
/// Rows each output of a succeeded run wrote (counter, labels `job`, `output`).
pub const OUTPUT_ROWS: &str = "fust_output_rows_total";
/// Bad records of succeeded runs, skipped or sent to `dead_letter:` (counter, labels
/// `job`, `stage`, `kind`).
pub const BAD_RECORDS: &str = "fust_bad_records_total";
/// Bytes written by finished runs (counter, label `job`).
pub const BYTES_OUT: &str = "fust_bytes_out_total";
/// Wall time of finished runs in seconds (histogram, label `job`).
pub const RUN_DURATION: &str = "fust_run_duration_seconds";
/// How late a cron run is triggered after its scheduled time, in seconds (histogram).
pub const SCHEDULER_LAG: &str = "fust_scheduler_lag_seconds";
/// Scheduler passes over the jobs since the server started (counter).
pub const SCHEDULER_TICKS: &str = "fust_scheduler_ticks_total";
/// Metadata store operations that failed (counter).
pub const STORE_ERRORS: &str = "fust_store_errors_total";

/// Records waiting in the source of a running stream job (gauge, label `job`): Kafka
/// high watermark − position, JetStream pending.
pub const STREAM_LAG: &str = "fust_stream_lag";
/// Epochs a running stream job has committed (gauge, label `job`).
pub const STREAM_EPOCHS: &str = "fust_stream_epochs";
/// How long the last epoch of a stream job took, first record to commit (gauge, label `job`).
pub const STREAM_EPOCH_SECONDS: &str = "fust_stream_epoch_seconds";
/// Epoch commits refused because another process had committed the same source
/// positions, so the epoch was rolled back and read again (gauge, label `job`).
pub const STREAM_COMMIT_CONFLICTS: &str = "fust_stream_commit_conflicts";

/// Upper bounds (seconds) of the run-duration histogram buckets.
pub const DURATION_BUCKETS: [f64; 10] =
    [0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];
/// Upper bounds (seconds) of the scheduler-lag histogram buckets.
pub const LAG_BUCKETS: [f64; 8] = [0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0];

/// Registers every metric's help text; call once after installing a recorder.
pub fn describe() {
    describe_gauge!(
        STREAM_LAG,
        "Records waiting in a running stream job's source."
    );
    describe_gauge!(STREAM_EPOCHS, "Epochs a running stream job has committed.");
    describe_gauge!(
        STREAM_EPOCH_SECONDS,
        "Seconds the last epoch of a stream job took, first record to commit."
    );
    describe_gauge!(
        STREAM_COMMIT_CONFLICTS,
        "Epochs of a stream job rolled back because another process committed their source positions."
    );
    describe_gauge!(RUNS, "Runs in the metadata store by state.");
    describe_gauge!(QUEUE_DEPTH, "Runs waiting for a worker in this server.");
    describe_gauge!(ACTIVE_RUNS, "Runs executing in this server.");
    describe_gauge!(WORKERS, "Runs this server executes at once at most.");
    describe_counter!(
        RUNS_FINISHED,
        "Runs finished since the server started, by job and final state."
    );
    describe_counter!(
        RUN_FAILURES,
        "Failed runs since the server started, by job."
    );
    describe_counter!(ROWS_IN, "Rows read by finished runs, by job.");
    describe_counter!(ROWS_OUT, "Rows written by finished runs, by job.");
    describe_counter!(BYTES_OUT, "Bytes written by finished runs, by job.");
    describe_counter!(
        OUTPUT_ROWS,
        "Rows written by each output of succeeded runs, by job and output."
    );
    describe_counter!(
        BAD_RECORDS,
        "Bad records of succeeded runs (skipped or sent to dead_letter), by job, stage and kind."
    );
    describe_histogram!(RUN_DURATION, "Wall time of finished runs, by job.");
    describe_histogram!(
        SCHEDULER_LAG,
        "How late cron runs are triggered after their scheduled time."
    );
    describe_counter!(
        SCHEDULER_TICKS,
        "Scheduler passes over the jobs since the server started."
    );
    describe_counter!(STORE_ERRORS, "Metadata store operations that failed.");
}

/// A running stream job's progress, set at each progress tick.
pub fn stream_progress(job: &str, s: &fust_engine::stream::StreamStatus) {
    let lag: u64 = s.lag.iter().map(|(_, n)| n).sum();
    gauge!(STREAM_LAG, "job" => job.to_string()).set(lag as f64);
    gauge!(STREAM_EPOCHS, "job" => job.to_string()).set(s.epochs as f64);
    gauge!(STREAM_COMMIT_CONFLICTS, "job" => job.to_string()).set(s.conflicts as f64);
    if let Some(d) = s.last_epoch {
        gauge!(STREAM_EPOCH_SECONDS, "job" => job.to_string()).set(d.as_secs_f64());
    }
}

/// Counts one scheduler pass.
pub fn scheduler_tick() {
    counter!(SCHEDULER_TICKS).increment(1);
}

/// Counts a finished run.
pub fn run_finished(run: &RunRecord, seconds: f64) {
    let job = run.job.clone();
    counter!(RUNS_FINISHED, "job" => job.clone(), "state" => run.state.as_str()).increment(1);
    // Present for every job that finished a run, 0 until one fails.
    let failures = counter!(RUN_FAILURES, "job" => job.clone());
    if run.state == RunState::Failed {
        failures.increment(1);
    }
    counter!(ROWS_IN, "job" => job.clone()).increment(run.rows_in.max(0) as u64);
    counter!(ROWS_OUT, "job" => job.clone()).increment(run.rows_out.max(0) as u64);
    counter!(BYTES_OUT, "job" => job.clone()).increment(run.bytes_out.max(0) as u64);
    histogram!(RUN_DURATION, "job" => job).record(seconds);
}

/// Counts the rows each output of a succeeded run wrote.
pub fn outputs_written(job: &str, outputs: &[(String, fust_engine::SinkSummary)]) {
    for (output, summary) in outputs {
        counter!(OUTPUT_ROWS, "job" => job.to_string(), "output" => output.clone())
            .increment(summary.rows);
    }
}

/// Counts the bad records of a succeeded run, by stage and kind.
pub fn bad_records(job: &str, counts: &fust_engine::rejects::RejectCounts) {
    for ((stage, kind), n) in &counts.by_kind {
        counter!(BAD_RECORDS, "job" => job.to_string(), "stage" => stage.clone(), "kind" => kind.clone())
            .increment(*n);
    }
}

/// Records how late a cron run was triggered.
pub fn scheduler_lag(seconds: f64) {
    histogram!(SCHEDULER_LAG).record(seconds.max(0.0));
}

/// Counts a failed metadata store operation.
pub fn store_error() {
    counter!(STORE_ERRORS).increment(1);
}

/// Sets the gauges that are read at scrape time.
pub fn set_gauges(by_state: &[(RunState, i64)], waiting: usize, running: usize, workers: usize) {
    for state in RunState::ALL {
        let n = by_state
            .iter()
            .find(|(s, _)| *s == state)
            .map_or(0, |(_, n)| *n);
        gauge!(RUNS, "state" => state.as_str()).set(n as f64);
    }
    gauge!(QUEUE_DEPTH).set(waiting as f64);
    gauge!(ACTIVE_RUNS).set(running as f64);
    gauge!(WORKERS).set(workers as f64);
    // Present from the first scrape on, so dashboards show 0 rather than no data.
    counter!(STORE_ERRORS).increment(0);
}
