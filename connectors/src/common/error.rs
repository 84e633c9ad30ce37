//! [`ConnectorError`]: the connectors' typed errors, turned into DataFusion errors (with
//! the same text) where they cross into a plan.

use datafusion::error::DataFusionError;

/// What went wrong in a connector, by whose move it is to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// A column type or value that has no mapping between Arrow and the system; the user
    /// casts it in a processor.
    #[error("{0}")]
    Unsupported(String),
    /// Bytes from a file or a server that do not decode as they claim to.
    #[error("{0}")]
    Malformed(String),
    /// A value that does not fit the target type.
    #[error("{0}")]
    OutOfRange(String),
}

pub type ConnectorResult<T, E = ConnectorError> = Result<T, E>;

impl From<ConnectorError> for DataFusionError {
    fn from(e: ConnectorError) -> Self {
        DataFusionError::Execution(e.to_string())
    }
}
