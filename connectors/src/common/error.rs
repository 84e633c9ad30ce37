//! [`ConnectorError`]: the connectors' typed errors, turned into DataFusion errors (with
//! the same text) where they cross into a plan.

use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;
use fust_engine::ErrorKind;

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
    /// An Arrow cast of a column to the form a target takes failed (a value that does not
    /// convert).
    #[error(transparent)]
    Cast(#[from] ArrowError),
    /// A local file that could not be read.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// An error in one value, with the row (from 1) and the column it is in.
    #[error("row {row}, column `{column}`: {source}")]
    InRow {
        row: u64,
        column: String,
        #[source]
        source: Box<ConnectorError>,
    },
}

pub type ConnectorResult<T, E = ConnectorError> = Result<T, E>;

impl ConnectorError {
    pub fn unsupported(msg: impl Into<String>) -> Self {
        ConnectorError::Unsupported(msg.into())
    }

    pub fn malformed(msg: impl Into<String>) -> Self {
        ConnectorError::Malformed(msg.into())
    }

    pub fn out_of_range(msg: impl Into<String>) -> Self {
        ConnectorError::OutOfRange(msg.into())
    }

    /// This error, placed at `row` (from 1) and `column`.
    pub fn in_row(self, row: u64, column: impl Into<String>) -> Self {
        ConnectorError::InRow {
            row,
            column: column.into(),
            source: Box::new(self),
        }
    }

    /// Whose move it is: the user's for types and values, the outside system's for bytes
    /// that do not decode and files that cannot be read.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ConnectorError::Unsupported(_)
            | ConnectorError::OutOfRange(_)
            | ConnectorError::Cast(_) => ErrorKind::User,
            ConnectorError::Malformed(_) | ConnectorError::Io { .. } => ErrorKind::External,
            ConnectorError::InRow { source, .. } => source.kind(),
        }
    }

    /// Whether running again unchanged may succeed: only for a transient I/O failure.
    pub fn retryable(&self) -> bool {
        match self {
            ConnectorError::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::Interrupted
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::WouldBlock
            ),
            ConnectorError::InRow { source, .. } => source.retryable(),
            _ => false,
        }
    }
}

impl From<ConnectorError> for DataFusionError {
    fn from(e: ConnectorError) -> Self {
        DataFusionError::Execution(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_the_text_and_kind_of_their_value() {
        let e = ConnectorError::out_of_range("300 does not fit u8").in_row(2, "t");
        assert_eq!(e.to_string(), "row 2, column `t`: 300 does not fit u8");
        assert_eq!(e.kind(), ErrorKind::User);
        assert!(!e.retryable());
        let e = ConnectorError::malformed("truncated value").in_row(1, "x");
        assert_eq!(e.kind(), ErrorKind::External);
    }
}
