//! The Fust job service: the metadata store (jobs, runs, logs, state, migrations on
//! SQLite, PostgreSQL or MySQL), the job manager (control), its worker pool, the cron
//! scheduler and run events. It depends on the engine and knows no connector: the binary
//! hands it a filled [`fust_engine::Registry`].

pub mod control;
pub mod events;
pub mod metrics;
pub mod scheduler;
pub mod status;
pub mod store;
mod worker;

pub use control::{Guard, JobManager, ManagerError, schedule_of};
pub use events::RunEvent;
pub use store::{
    Backend, JobRecord, JobState, JobVersion, LogLine, NewRun, RunFilter, RunRecord, RunState,
    RunUpdate, Store, StoreError, now_ms,
};
