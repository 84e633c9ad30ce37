//! The plugin contracts: sources give DataFusion tables, processors rewrite the logical
//! plan, sinks consume one stream of batches and commit or roll back ([`batch`]); stream
//! sources are read in epochs whose positions commit with the output ([`stream`]).

mod batch;
pub mod stream;

pub use batch::{KeyTtl, Pending, Processor, Published, Routes, Sink, SinkSummary, Source, Window};
