//! What the database connectors (`postgres`, `mysql`) share: their options, the
//! [`Dialect`] each implements, the table provider that turns the job's projection and
//! filters into SQL and reads ranges in parallel, and the incremental cursor kept between
//! runs.

pub mod config;
pub mod dialect;
pub mod isolate;
pub mod positions;
pub mod scan;
pub mod source;

pub use config::{CreateTable, DbSinkConfig, DbSourceConfig, DbWriteMode, Endpoint, TlsNames};
pub use dialect::{Dialect, create_table_sql};
pub use scan::{DbDriver, DbTable, Snapshot};
pub use source::DbSource;
