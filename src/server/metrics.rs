//! `GET /metrics`: Prometheus text exposition of runs, rows, bytes, durations, failures,
//! queue depth and active runs.

use std::fmt::Write;

use fust_engine::service::manager::DURATION_BUCKETS;
use fust_engine::service::{JobManager, StoreError};

/// Escapes a label value.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub async fn render(manager: &JobManager) -> Result<String, StoreError> {
    let mut out = String::new();
    let (waiting, running) = manager.queue_depth();
    let by_state = manager.store().count_by_state().await?;
    let per_job = manager.metrics();

    let _ = writeln!(out, "# HELP fust_runs Runs in the metadata store by state.");
    let _ = writeln!(out, "# TYPE fust_runs gauge");
    for (state, n) in &by_state {
        let _ = writeln!(out, "fust_runs{{state=\"{state}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP fust_queue_depth Runs waiting for a worker in this server."
    );
    let _ = writeln!(out, "# TYPE fust_queue_depth gauge");
    let _ = writeln!(out, "fust_queue_depth {waiting}");
    let _ = writeln!(
        out,
        "# HELP fust_active_runs Runs executing in this server."
    );
    let _ = writeln!(out, "# TYPE fust_active_runs gauge");
    let _ = writeln!(out, "fust_active_runs {running}");
    let _ = writeln!(
        out,
        "# HELP fust_workers Runs this server executes at once at most."
    );
    let _ = writeln!(out, "# TYPE fust_workers gauge");
    let _ = writeln!(out, "fust_workers {}", manager.workers());

    let _ = writeln!(
        out,
        "# HELP fust_runs_finished_total Runs finished since the server started, by job and final state."
    );
    let _ = writeln!(out, "# TYPE fust_runs_finished_total counter");
    for (job, m) in &per_job {
        for (state, n) in &m.finished {
            let _ = writeln!(
                out,
                "fust_runs_finished_total{{job=\"{}\",state=\"{state}\"}} {n}",
                label(job)
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP fust_run_failures_total Failed runs since the server started, by job."
    );
    let _ = writeln!(out, "# TYPE fust_run_failures_total counter");
    for (job, m) in &per_job {
        let failed = m.finished.get("failed").copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "fust_run_failures_total{{job=\"{}\"}} {failed}",
            label(job)
        );
    }
    for (name, help, get) in [
        (
            "fust_rows_in_total",
            "Rows read by finished runs, by job.",
            (|m: &fust_engine::service::JobMetrics| m.rows_in) as fn(&_) -> u64,
        ),
        (
            "fust_rows_out_total",
            "Rows written by finished runs, by job.",
            |m| m.rows_out,
        ),
        (
            "fust_bytes_out_total",
            "Bytes written by finished runs, by job.",
            |m| m.bytes_out,
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} counter");
        for (job, m) in &per_job {
            let _ = writeln!(out, "{name}{{job=\"{}\"}} {}", label(job), get(m));
        }
    }
    let _ = writeln!(
        out,
        "# HELP fust_run_duration_seconds Wall time of finished runs, by job."
    );
    let _ = writeln!(out, "# TYPE fust_run_duration_seconds histogram");
    for (job, m) in &per_job {
        let job = label(job);
        for (i, bound) in DURATION_BUCKETS.iter().enumerate() {
            let n = m.duration_buckets.get(i).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "fust_run_duration_seconds_bucket{{job=\"{job}\",le=\"{bound}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "fust_run_duration_seconds_bucket{{job=\"{job}\",le=\"+Inf\"}} {}",
            m.duration_count
        );
        let _ = writeln!(
            out,
            "fust_run_duration_seconds_sum{{job=\"{job}\"}} {}",
            m.duration_sum
        );
        let _ = writeln!(
            out,
            "fust_run_duration_seconds_count{{job=\"{job}\"}} {}",
            m.duration_count
        );
    }
    Ok(out)
}
