//! Engine errors: what failed, in which part of the job, and whether it is the user's to fix.

use datafusion::error::DataFusionError;

/// Who can fix an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad job file, options or data: the user must change something.
    User,
    /// A system outside Fust failed (storage, network, server).
    External,
    /// A bug in Fust.
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] fust_config::Error),
    /// A failure inside a named part of the job (`input`, `pipeline.processors[1]`, `output`).
    #[error("{context}: {message}")]
    Job {
        context: String,
        message: String,
        kind: ErrorKind,
    },
    #[error("the run was cancelled; no output was published")]
    Cancelled,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn user(context: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Job {
            context: context.into(),
            message: message.into(),
            kind: ErrorKind::User,
        }
    }

    pub fn external(context: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Job {
            context: context.into(),
            message: message.into(),
            kind: ErrorKind::External,
        }
    }

    /// Wraps a DataFusion error with the part of the job it came from.
    pub fn datafusion(context: impl Into<String>, e: DataFusionError) -> Self {
        let kind = match e.find_root() {
            DataFusionError::IoError(_) | DataFusionError::ObjectStore(_) => ErrorKind::External,
            DataFusionError::Internal(_) => ErrorKind::Internal,
            _ => ErrorKind::User,
        };
        if matches!(e.find_root(), DataFusionError::External(inner) if inner.is::<Cancelled>()) {
            return Error::Cancelled;
        }
        Error::Job {
            context: context.into(),
            message: clean_message(&e),
            kind,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config(fust_config::Error::Read { .. }) => ErrorKind::User,
            Error::Config(_) => ErrorKind::User,
            Error::Job { kind, .. } => *kind,
            Error::Cancelled => ErrorKind::User,
        }
    }

    /// Whether running again unchanged may succeed.
    pub fn retryable(&self) -> bool {
        self.kind() == ErrorKind::External
    }
}

/// An error a source raised while reading (a lost connection, a server-side failure, a
/// value it could not decode): the engine reports it against the input that read it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReadError(pub String);

impl ReadError {
    /// Marks `e` as a read failure, keeping its message.
    pub fn wrap(e: DataFusionError) -> DataFusionError {
        match e {
            DataFusionError::External(inner) if inner.is::<ReadError>() => {
                DataFusionError::External(inner)
            }
            DataFusionError::External(inner) => {
                DataFusionError::External(Box::new(ReadError(inner.to_string())))
            }
            other => DataFusionError::External(Box::new(ReadError(clean_message(&other)))),
        }
    }
}

/// Marker error carried through DataFusion streams when a run is cancelled.
#[derive(Debug, thiserror::Error)]
#[error("cancelled")]
pub struct Cancelled;

/// DataFusion's message without the layers of "Arrow error: External error: …" prefixes
/// and the trailing backtrace hint, which mean nothing to a user.
pub fn clean_message(e: &DataFusionError) -> String {
    let mut msg = e.to_string();
    // Causes a message leaves out (a TLS failure under "error sending request").
    let mut source = std::error::Error::source(e);
    for _ in 0..8 {
        let Some(cause) = source else { break };
        let text = cause.to_string();
        if !text.is_empty() && !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = cause.source();
    }
    for prefix in [
        "Execution error: ",
        "Error during planning: ",
        "External error: ",
        "Arrow error: ",
        "Parquet error: ",
        "Schema error: ",
        "Optimizer rule ",
        "Object Store error: ",
        "IO error: ",
    ] {
        while let Some(pos) = msg.find(prefix) {
            msg.replace_range(pos..pos + prefix.len(), "");
        }
    }
    if let Some(pos) = msg.find("\n\nThis issue was likely caused") {
        msg.truncate(pos);
    }
    // One paragraph: DataFusion's "caused by" chains and hints go on one line.
    msg.replace("\ncaused by\n", ": ")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
