//! PostgreSQL: a source (table or query; projection, filters and limit pushed into the
//! SQL; parallel ranges; incremental cursor) and an atomic sink (binary COPY in one
//! transaction; append, overwrite or upsert).

mod client;
pub mod dialect;
mod sink;
mod source;
pub mod types;

use std::sync::Arc;

use fust_config::PluginRole;
use fust_engine::{OptionError, Registry, Sink, Source, Typed};

pub use sink::PgSink;
pub use source::PgDriver;

use crate::common::database::{DbSinkConfig, DbSource, DbSourceConfig, TlsNames};

const SCHEMES: &[&str] = &["postgres", "postgresql"];
const DEFAULT_PORT: u16 = 5432;

fn build_source(c: DbSourceConfig) -> Result<Arc<dyn Source>, OptionError> {
    c.check()?;
    let endpoint = c
        .connection()
        .resolve(SCHEMES, DEFAULT_PORT, TlsNames::Libpq)?;
    let driver = Arc::new(PgDriver {
        endpoint: endpoint.clone(),
    });
    Ok(Arc::new(DbSource::new(driver, c, endpoint)))
}

fn build_sink(c: DbSinkConfig) -> Result<Arc<dyn Sink>, OptionError> {
    c.check()?;
    let endpoint = c
        .connection()
        .resolve(SCHEMES, DEFAULT_PORT, TlsNames::Libpq)?;
    Ok(Arc::new(PgSink {
        config: c,
        endpoint,
    }))
}

pub fn register(registry: &mut Registry) {
    registry.add_source(Arc::new(Typed::new(
        "postgres",
        PluginRole::Source,
        "Read a PostgreSQL table or query (binary COPY; filters pushed down; parallel ranges)",
        "type: postgres\nurl: postgres://postgres@127.0.0.1:5432/test\ntable: public.orders\npartition_column: id\npartitions: 2\n",
        build_source,
    )));
    registry.add_sink(Arc::new(Typed::new(
        "postgres",
        PluginRole::Sink,
        "Write a PostgreSQL table in one transaction (binary COPY; append, overwrite or upsert)",
        "type: postgres\nurl: postgres://postgres@127.0.0.1:5432/test\ntable: public.orders_copy\nwrite_mode: overwrite\n",
        build_sink,
    )));
}
