//! Fust processors: `filter`, `mapping`, `aggregate` and `sql`, each compiled to DataFusion
//! logical plan nodes, and the guarded SQL planner they share.

pub mod processors;
pub mod query;
pub mod udf;

pub use processors::register_all;
pub use query::plan_query;
