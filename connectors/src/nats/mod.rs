//! NATS JetStream: a stream input read by a durable pull consumer, acknowledged after each
//! epoch commits, resumed from the stream sequence committed with the output; and an
//! output publishing each record to a subject.

mod client;
pub mod config;
mod sink;
mod source;

use std::sync::Arc;

use fust_config::PluginRole;
use fust_engine::{Registry, Typed};

pub use config::{NatsSinkConfig, NatsSourceConfig};

pub fn register(registry: &mut Registry) {
    registry.add_source(Arc::new(Typed::new(
        "nats",
        PluginRole::Source,
        "A NATS JetStream stream, read until stopped: JSON, CSV or raw messages, exactly-once into databases by the committed stream sequence",
        "type: nats\nurl: nats://127.0.0.1:4222\nstream: ORDERS\nsubject: orders.>\ndurable: fust_orders\n",
        source::build_source,
    )));
    registry.add_sink(Arc::new(Typed::new(
        "nats",
        PluginRole::Sink,
        "A NATS JetStream subject: one JSON or CSV message per record, each acknowledged by the server",
        "type: nats\nurl: nats://127.0.0.1:4222\nsubject: orders.created\nstream: ORDERS\n",
        sink::build_sink,
    )));
}
