//! The Fust engine: plugin contracts, the registry, and the executor that turns a job
//! into one DataFusion plan and streams it into a sink with backpressure. It knows no
//! connector or processor by name.

pub mod channel;
pub mod durable;
pub mod egress;
pub mod error;
pub mod executor;
pub mod functions;
pub mod plugin;
pub mod registry;
pub mod reject_plan;
pub mod rejects;
pub mod session;
pub mod sql_text;
pub mod state;
pub mod stream;
pub mod types;

pub use error::{Cancelled, Error, ErrorKind, ReadError, Result};
pub use executor::{RunStats, RunSummary};
pub use plugin::stream::{
    Checkpoint, Checkpoints, Epoch, OpenMode, PositionConflict, Positions, Span, StreamReader,
    StreamSource, Taken,
};
pub use plugin::{
    KeyTtl, Pending, Processor, Published, Routes, Sink, SinkSummary, Source, Window,
};
pub use registry::{CompiledJob, Factory, OptionError, PluginInfo, Registry, Typed};
pub use rejects::{BadRecord, StageRejects};
pub use state::{FileStateStore, StateStore, StateStoreExtension};
pub use tokio_util::sync::CancellationToken;
