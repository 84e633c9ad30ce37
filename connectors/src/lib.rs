//! Fust connectors: one module per system, each registering its sources and sinks.

pub mod console;
pub mod csv;
pub mod csv_encode;
pub mod csv_scan;
pub mod database;
pub mod file;
pub mod json;
pub mod mysql;
pub mod parquet;
pub mod postgres;
pub mod storage;

use fust_engine::Registry;

/// Registers every connector of this crate.
pub fn register_all(registry: &mut Registry) {
    csv::register(registry);
    json::register(registry);
    parquet::register(registry);
    console::register(registry);
    postgres::register(registry);
    mysql::register(registry);
}
