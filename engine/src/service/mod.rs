//! The job service: metadata store, run state machine, scheduler and job manager.
pub mod manager;
pub mod migrations;
pub mod scheduler;
pub mod store;
pub use manager::{Guard, JobManager, JobMetrics, ManagerError, RunEvent};
pub use store::{
    Backend, JobRecord, JobVersion, LogLine, NewRun, RunFilter, RunRecord, RunState, RunUpdate,
    Store, StoreError,
};
