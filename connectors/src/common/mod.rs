//! What several connectors share: file sources and sinks (listing, compression, atomic
//! publish), the execution plan hand-rolled scans run under, the database connectors'
//! options, scan, dialect, cursor state and TLS client, calendar conversions, and the
//! connectors' error type.

#[cfg(any(feature = "postgres", feature = "mysql"))]
pub mod database;
pub mod epoch_files;
pub mod error;
pub mod file;
#[cfg(feature = "http-client")]
pub mod http;
pub mod journal;
#[cfg(feature = "messages")]
pub mod messages;
#[cfg(any(feature = "json", feature = "http"))]
pub mod records;
#[cfg(any(
    feature = "csv",
    feature = "postgres",
    feature = "mysql",
    feature = "http"
))]
pub mod scan;
pub mod time;
#[cfg(feature = "tls")]
pub mod tls;

pub use error::{ConnectorError, ConnectorResult};
