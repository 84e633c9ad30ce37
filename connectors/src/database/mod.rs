//! What the database connectors (`postgres`, `mysql`) share: their options, the table
//! provider that turns the job's projection and filters into SQL and reads ranges in
//! parallel, and the incremental cursor kept between runs.

pub mod config;
pub mod scan;
pub mod source;

pub use config::{CreateTable, DbSinkConfig, DbSourceConfig, DbWriteMode, Endpoint};
pub use scan::{DbDriver, DbScanExec, DbTable, Snapshot, SqlFlavor};
pub use source::DbSource;
