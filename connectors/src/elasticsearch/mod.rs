//! Elasticsearch (7, 8) and OpenSearch: an output that writes each row as a JSON document
//! with the bulk API — several requests in flight, bounded by documents and bytes, gzip,
//! basic or API-key auth, TLS.
//!
//! The guarantee is at-least-once: the server makes documents visible as they arrive, so
//! nothing can be held back for the job's commit, and a failed run leaves what it had sent.
//! With `id`, documents are idempotent: re-running the job overwrites them instead of
//! adding copies. Documents the server rejects alone (a mapping conflict, an existing id
//! under `action: create`) are bad records with the server's reason; those it rejects
//! with 429 or a 5xx are retried with backoff first.

pub mod config;
mod sink;

use std::sync::Arc;

use fust_config::PluginRole;
use fust_engine::{Registry, Typed};

pub use config::{EsAction, EsAuth, EsCompression, EsSinkConfig};
use sink::build_sink;

pub fn register(registry: &mut Registry) {
    registry.add_sink(Arc::new(Typed::new(
        "elasticsearch",
        PluginRole::Sink,
        "Index rows as documents in Elasticsearch or OpenSearch (bulk API; at-least-once, idempotent with `id`)",
        "type: elasticsearch\nurl: http://127.0.0.1:9200\nindex: orders\nid: order_id\n",
        build_sink,
    )));
}
