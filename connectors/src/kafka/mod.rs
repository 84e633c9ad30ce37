//! Kafka: a stream input (a consumer group over every partition of its topics, read in
//! epochs whose positions commit with the output: exactly-once into PostgreSQL and MySQL)
//! and an output (an idempotent producer, at-least-once). librdkafka does the protocol.

mod client;
pub mod config;
mod encode;
mod fetch;
mod group;
mod reader;
mod sink;
mod source;

use std::sync::Arc;

use fust_config::PluginRole;
use fust_engine::{Registry, Typed};

pub use config::{KafkaSinkConfig, KafkaSourceConfig};
pub use source::KafkaSource;

pub fn register(registry: &mut Registry) {
    registry.add_source(Arc::new(Typed::new(
        "kafka",
        PluginRole::Source,
        "A Kafka topic as a stream, in a consumer group: JSON, CSV or raw records, exactly-once into PostgreSQL and MySQL",
        "type: kafka\nbrokers: 127.0.0.1:9092\ntopic: orders\ngroup_id: fust-orders\nschema: {id: bigint, amount: double}\n",
        source::build_source,
    )));
    registry.add_sink(Arc::new(Typed::new(
        "kafka",
        PluginRole::Sink,
        "Rows as Kafka records (JSON or CSV, keyed by a column or an expression; idempotent producer, at-least-once)",
        "type: kafka\nbrokers: 127.0.0.1:9092\ntopic: orders_out\nkey: id\n",
        sink::build_sink,
    )));
}
