//! Parquet files: a source with projection and predicate pushdown (DataFusion's scan),
//! and a sink with a choice of compression and row-group size.

pub mod config;
mod sink;
mod source;

use std::sync::Arc;

use fust_config::PluginRole;
use fust_engine::{Registry, Typed};

pub use config::{Codec, ParquetSinkConfig, ParquetSourceConfig};
use sink::build_sink;
use source::build_source;

pub fn register(registry: &mut Registry) {
    registry.add_source(Arc::new(Typed::new(
        "parquet",
        PluginRole::Source,
        "Parquet files; the job's filters and projections are pushed into the scan",
        "type: parquet\npath: data/orders.parquet\n",
        build_source,
    )));
    registry.add_sink(Arc::new(Typed::new(
        "parquet",
        PluginRole::Sink,
        "One Parquet file (zstd by default), published atomically",
        "type: parquet\npath: out/orders.parquet\ncompression: zstd\n",
        build_sink,
    )));
}
