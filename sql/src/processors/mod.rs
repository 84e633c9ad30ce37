//! The built-in processors, one file each. Each compiles to DataFusion logical plan nodes;
//! none touches rows. This file holds what they share and the registration list.

mod aggregate;
mod common;
mod filter;
mod mapping;
mod sql;

use fust_config::PluginRole;
use fust_engine::{OptionError, Processor, Registry, Typed};
use std::sync::Arc;

pub use aggregate::{AggregateConfig, AggregateProcessor};
pub use filter::{FilterConfig, FilterMode, FilterProcessor};
pub use mapping::{MappingConfig, MappingProcessor};
pub use sql::{SqlConfig, SqlProcessor};

use common::not_blank;

/// Registers every processor of this crate.
pub fn register_all(registry: &mut Registry) {
    registry.add_processor(Arc::new(Typed::new(
        "filter",
        PluginRole::Processor,
        "Keep or drop rows by a SQL condition",
        "type: filter\ncondition: \"amount > 100 AND status = 'paid'\"\nmode: include\n",
        |c: FilterConfig| {
            not_blank("condition", &c.condition)?;
            Ok(Arc::new(FilterProcessor(c)) as Arc<dyn Processor>)
        },
    )));
    registry.add_processor(Arc::new(Typed::new(
        "mapping",
        PluginRole::Processor,
        "Rename, cast, compute and drop columns",
        "type: mapping\nfield_mappings: {cust_id: customer_id}\ncast: {amount: double}\nfields: {amount_eur: amount * 0.92}\ndrop: [internal_note]\n",
        |c: MappingConfig| {
            for (k, v) in c.fields.iter().chain(c.cast.iter()) {
                not_blank(k, v)?;
            }
            Ok(Arc::new(MappingProcessor(c)) as Arc<dyn Processor>)
        },
    )));
    registry.add_processor(Arc::new(Typed::new(
        "aggregate",
        PluginRole::Processor,
        "Group rows and compute named aggregates",
        "type: aggregate\ngroup_by: [customer_id]\naggregates: {total: sum(amount), orders: count(*)}\n",
        |c: AggregateConfig| {
            if c.aggregates.is_empty() {
                return Err(OptionError::new("aggregates", "give at least one `name: expression`"));
            }
            Ok(Arc::new(AggregateProcessor(c)) as Arc<dyn Processor>)
        },
    )));
    registry.add_processor(Arc::new(Typed::new(
        "sql",
        PluginRole::Processor,
        "Any SELECT over `input` and the named inputs (joins, windows, CTEs)",
        "type: sql\nquery: \"SELECT *, total / orders AS avg_order FROM input\"\n",
        |c: SqlConfig| {
            not_blank("query", &c.query)?;
            crate::query::parse_query(&c.query)
                .map_err(|e| OptionError::new("query", fust_engine::error::clean_message(&e)))?;
            Ok(Arc::new(SqlProcessor(c)) as Arc<dyn Processor>)
        },
    )));
}
