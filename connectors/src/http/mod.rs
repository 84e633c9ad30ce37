//! REST APIs: JSON (records found at `records_path`), NDJSON or CSV responses, with
//! authentication (bearer, basic, API key, OAuth2 client credentials), every usual kind
//! of pagination, a rate limit, retries with backoff, and incremental reads by a cursor
//! field kept between runs.

pub mod config;
mod fetch;
mod source;

use std::sync::Arc;

use fust_config::PluginRole;
use fust_engine::{Registry, Typed};

pub use config::HttpSourceConfig;
use source::build_source;

pub fn register(registry: &mut Registry) {
    registry.add_source(Arc::new(Typed::new(
        "http",
        PluginRole::Source,
        "A REST API, every page: JSON, NDJSON or CSV responses, auth, pagination, rate limit, retries, incremental cursor",
        "type: http\nurl: https://api.example.com/v1/orders\nrecords_path: data.items\npagination: {type: cursor, cursor_path: meta.next_cursor, cursor_param: cursor}\n",
        build_source,
    )));
}
