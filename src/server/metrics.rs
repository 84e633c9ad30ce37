//! `GET /metrics`: the Prometheus exposition of the job service's metrics (names in
//! `fust_service::metrics` and `docs/operations.md`), rendered by
//! `metrics-exporter-prometheus`.

use fust_engine::Error;
use fust_service::metrics::{self as names, DURATION_BUCKETS, LAG_BUCKETS};
use fust_service::{JobManager, StoreError};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Installs the process-wide recorder (once per process) and describes every metric.
pub fn install() -> Result<PrometheusHandle, Error> {
    let fail = |e: metrics_exporter_prometheus::BuildError| {
        Error::external(
            "metrics",
            format!("cannot install the metrics recorder: {e}"),
        )
    };
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(names::RUN_DURATION.into()), &DURATION_BUCKETS)
        .map_err(fail)?
        .set_buckets_for_metric(Matcher::Full(names::SCHEDULER_LAG.into()), &LAG_BUCKETS)
        .map_err(fail)?
        .install_recorder()
        .map_err(fail)?;
    names::describe();
    Ok(handle)
}

/// Refreshes the gauges read from the store and the manager, then renders every metric.
pub async fn render(manager: &JobManager, handle: &PrometheusHandle) -> Result<String, StoreError> {
    let by_state = manager.store().count_by_state().await?;
    let (waiting, running) = manager.queue_depth();
    names::set_gauges(&by_state, waiting, running, manager.workers());
    handle.run_upkeep();
    Ok(handle.render())
}
