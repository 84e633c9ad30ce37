//! The `console` sink: prints the output as a table, for quick looks.

pub mod config;
mod sink;

use std::sync::Arc;

pub use config::ConsoleConfig;
use fust_config::PluginRole;
use fust_engine::{OptionError, Registry, Sink, Typed};
use sink::ConsoleSink;

pub fn register(registry: &mut Registry) {
    registry.add_sink(Arc::new(Typed::new(
        "console",
        PluginRole::Sink,
        "Print the output as a table on standard output",
        "type: console\nlimit: 20\n",
        |c: ConsoleConfig| Ok::<_, OptionError>(Arc::new(ConsoleSink(c)) as Arc<dyn Sink>),
    )));
}
