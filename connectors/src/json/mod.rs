//! JSON files: newline-delimited or one JSON array, nested objects as Arrow structs and
//! lists; the sink writes newline-delimited JSON (or an array).

pub mod config;
mod lenient;
mod sink;
mod source;

use std::sync::Arc;

use fust_config::PluginRole;
use fust_engine::{Registry, Typed};

pub use config::{JsonLayout, JsonSinkConfig, JsonSourceConfig};
use sink::build_sink;
use source::build_source;

pub fn register(registry: &mut Registry) {
    registry.add_source(Arc::new(Typed::new(
        "json",
        PluginRole::Source,
        "JSON files: newline-delimited or an array; nested objects become structs and lists",
        "type: json\npath: data/events.ndjson\n",
        build_source,
    )));
    registry.add_sink(Arc::new(Typed::new(
        "json",
        PluginRole::Sink,
        "One newline-delimited JSON file (or an array), published atomically",
        "type: json\npath: out/events.ndjson\n",
        build_sink,
    )));
}
