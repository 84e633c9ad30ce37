//! MySQL and MariaDB: a source (table or query; projection, filters and limit pushed into
//! the SQL; parallel ranges; incremental cursor) and an atomic sink (`LOAD DATA LOCAL
//! INFILE` fed from memory inside one transaction; append, overwrite or upsert).

mod client;
pub mod dialect;
mod sink;
mod source;
pub mod types;
pub(crate) mod wire;

use std::sync::Arc;

use fust_config::PluginRole;
use fust_engine::{OptionError, Registry, Sink, Source, Typed};

pub use sink::MySink;
pub use source::MyDriver;

use crate::common::database::{DbSinkConfig, DbSource, DbSourceConfig, TlsNames};

const SCHEMES: &[&str] = &["mysql", "mariadb"];
const DEFAULT_PORT: u16 = 3306;

fn build_source(c: DbSourceConfig) -> Result<Arc<dyn Source>, OptionError> {
    c.check()?;
    let endpoint = c
        .connection()
        .resolve(SCHEMES, DEFAULT_PORT, TlsNames::MySql)?;
    let driver = Arc::new(MyDriver {
        endpoint: endpoint.clone(),
    });
    Ok(Arc::new(DbSource::new(driver, c, endpoint)))
}

fn build_sink(c: DbSinkConfig) -> Result<Arc<dyn Sink>, OptionError> {
    c.check()?;
    let endpoint = c
        .connection()
        .resolve(SCHEMES, DEFAULT_PORT, TlsNames::MySql)?;
    Ok(Arc::new(MySink {
        config: c,
        endpoint,
    }))
}

/// Registers the `mysql` source and sink.
pub fn register(registry: &mut Registry) {
    registry.add_source(Arc::new(Typed::new(
        "mysql",
        PluginRole::Source,
        "Read a MySQL or MariaDB table or query (filters pushed down; parallel ranges)",
        "type: mysql\nurl: mysql://root@127.0.0.1:3306/test\ntable: orders\npartition_column: id\npartitions: 2\n",
        build_source,
    )));
    registry.add_sink(Arc::new(Typed::new(
        "mysql",
        PluginRole::Sink,
        "Write a MySQL or MariaDB table atomically (LOAD DATA in one transaction; append, overwrite or upsert)",
        "type: mysql\nurl: mysql://root@127.0.0.1:3306/test\ntable: orders_copy\nwrite_mode: overwrite\n",
        build_sink,
    )));
}
