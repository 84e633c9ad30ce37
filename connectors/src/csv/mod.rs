//! CSV files: a source (header, delimiter, quote, escape, type inference or all-strings,
//! type overrides, gzip/zstd) and a sink (header, delimiter, overwrite/append/error).

pub mod config;
pub mod encode;
pub mod scan;
mod sink;
mod source;

use std::sync::Arc;

use fust_config::PluginRole;
use fust_engine::{Registry, Typed};

pub use config::{CsvSinkConfig, CsvSourceConfig};
use sink::build_sink;
use source::build_source;

pub fn register(registry: &mut Registry) {
    registry.add_source(Arc::new(Typed::new(
        "csv",
        PluginRole::Source,
        "CSV files (local, glob, directory or s3://), with type inference",
        "type: csv\npath: data/orders.csv\nhas_header: true\ndelimiter: \",\"\n",
        build_source,
    )));
    registry.add_sink(Arc::new(Typed::new(
        "csv",
        PluginRole::Sink,
        "One CSV file, published atomically",
        "type: csv\npath: out/orders.csv\nwrite_header: true\n",
        build_sink,
    )));
}
