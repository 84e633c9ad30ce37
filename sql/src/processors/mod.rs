//! The built-in processors, one file each. Each compiles to DataFusion logical plan nodes;
//! none touches rows. This file holds what they share and the registration list.

mod aggregate;
mod common;
mod deduplicate;
mod enrich;
mod filter;
mod mapping;
mod route;
mod sql;
mod transform;
mod union;

use fust_config::PluginRole;
use fust_engine::{OptionError, Processor, Registry, Typed};
use std::sync::Arc;

pub use aggregate::{AggregateConfig, AggregateProcessor, WindowConfig, WindowKind};
pub use deduplicate::{DeduplicateConfig, DeduplicateProcessor};
pub use enrich::{EnrichConfig, EnrichProcessor};
pub use filter::{FilterConfig, FilterMode, FilterProcessor};
pub use mapping::{MappingConfig, MappingProcessor};
pub use route::{RouteConfig, RouteProcessor};
pub use sql::{SqlConfig, SqlProcessor};
pub use transform::{TransformConfig, TransformProcessor};
pub use union::{UnionConfig, UnionProcessor};

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
            Ok(Arc::new(AggregateProcessor::new(c)?) as Arc<dyn Processor>)
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
    registry.add_processor(Arc::new(Typed::new(
        "transform",
        PluginRole::Processor,
        "Column operations in order: JSON, regex, dates, split/explode, hash, mask, clean",
        "type: transform\nsteps:\n  - {op: regex_extract, column: email, pattern: '@(.+)$', as: domain}\n  - {op: date_parse, column: created, format: '%d/%m/%Y %H:%M', timezone: Europe/Paris}\n  - {op: mask, column: card, keep_last: 4}\n",
        |c: TransformConfig| {
            c.check()?;
            Ok(Arc::new(TransformProcessor(c)) as Arc<dyn Processor>)
        },
    )));
    registry.add_processor(Arc::new(Typed::new(
        "union",
        PluginRole::Processor,
        "Append the rows of named inputs (by position or by name)",
        "type: union\ninputs: [archive]\nby_name: true\n",
        |c: UnionConfig| {
            if c.inputs.is_empty() {
                return Err(OptionError::new("inputs", "name at least one input"));
            }
            Ok(Arc::new(UnionProcessor(c)) as Arc<dyn Processor>)
        },
    )));
    registry.add_processor(Arc::new(Typed::new(
        "enrich",
        PluginRole::Processor,
        "Add columns from a lookup input (a join on key columns)",
        "type: enrich\nlookup: countries\non: {country_code: code}\ncolumns: [country_name]\nhow: left\n",
        |c: EnrichConfig| {
            if c.on.is_empty() {
                return Err(OptionError::new("on", "give at least one `stream_column: lookup_column`"));
            }
            Ok(Arc::new(EnrichProcessor::new(c)) as Arc<dyn Processor>)
        },
    )));
    registry.add_processor(Arc::new(Typed::new(
        "deduplicate",
        PluginRole::Processor,
        "Keep one record per key, the first or last by a column",
        "type: deduplicate\nkey_columns: [order_id]\nkeep: last\norder_by: updated_at\n",
        |c: DeduplicateConfig| {
            if c.key_columns.is_empty() {
                return Err(OptionError::new("key_columns", "name at least one column"));
            }
            Ok(Arc::new(DeduplicateProcessor::new(c)) as Arc<dyn Processor>)
        },
    )));
    registry.add_processor(Arc::new(Typed::new(
        "route",
        PluginRole::Processor,
        "Send records to named outputs by condition (the last processor)",
        "type: route\nroutes:\n  big: amount >= 1000\n  eu: region = 'EU'\ndefault: rest\n",
        |c: RouteConfig| {
            if c.routes.is_empty() {
                return Err(OptionError::new(
                    "routes",
                    "give at least one `output_name: condition`",
                ));
            }
            for (name, condition) in &c.routes {
                not_blank(name, condition)?;
            }
            Ok(Arc::new(RouteProcessor::new(c)) as Arc<dyn Processor>)
        },
    )));
}
