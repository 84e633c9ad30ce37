//! Fust connectors: one folder per system (`csv/`, `json/`, `parquet/`, `console/`,
//! `postgres/`, `mysql/`), each behind a cargo feature of the same name and registering
//! its sources and sinks in [`register_all`]; `common/` holds what several share and
//! `object_store/` the object-store access the file connectors use.

pub mod common;
#[cfg(feature = "console")]
pub mod console;
#[cfg(feature = "csv")]
pub mod csv;
#[cfg(feature = "json")]
pub mod json;
#[cfg(feature = "mysql")]
pub mod mysql;
pub mod object_store;
#[cfg(feature = "parquet")]
pub mod parquet;
#[cfg(feature = "postgres")]
pub mod postgres;

use fust_engine::Registry;

/// Registers every connector compiled into this build (one line each).
pub fn register_all(registry: &mut Registry) {
    #[cfg(feature = "csv")]
    csv::register(registry);
    #[cfg(feature = "json")]
    json::register(registry);
    #[cfg(feature = "parquet")]
    parquet::register(registry);
    #[cfg(feature = "console")]
    console::register(registry);
    #[cfg(feature = "postgres")]
    postgres::register(registry);
    #[cfg(feature = "mysql")]
    mysql::register(registry);
}
