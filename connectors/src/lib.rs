//! Fust connectors: one folder per system (`csv/`, `json/`, `parquet/`, `console/`,
//! `postgres/`, `mysql/`, `http/`, `elasticsearch/`, `kafka/`, `nats/`), each behind a cargo feature of the same name and registering
//! its sources and sinks through its `register` function; `common/` holds what several
//! share and `object_store/` the object-store access the file connectors use.

pub mod common;
#[cfg(any(feature = "csv", feature = "mysql", feature = "postgres"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod object_store;

use fust_engine::Registry;

/// Declares each connector module behind its cargo feature and registers it in
/// [`register_all`]: adding a connector is one line here (module: feature).
macro_rules! connectors {
    ($($name:ident: $feature:literal),* $(,)?) => {
        $(
            #[cfg(feature = $feature)]
            pub mod $name;
        )*

        /// Registers every connector compiled into this build.
        pub fn register_all(registry: &mut Registry) {
            $(
                #[cfg(feature = $feature)]
                $name::register(registry);
            )*
        }
    };
}

connectors! {
    csv: "csv",
    json: "json",
    parquet: "parquet",
    console: "console",
    postgres: "postgres",
    mysql: "mysql",
    elasticsearch: "elasticsearch",
    http: "http",
    kafka: "kafka",
    nats: "nats",
}
