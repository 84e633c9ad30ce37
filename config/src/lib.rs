//! Fust job files: the model, `${VAR}` interpolation, validation with line:column
//! diagnostics, and the JSON Schema. Knows nothing of Arrow, DataFusion or tokio.

pub mod error;
pub mod job;
pub mod schedule;
pub mod schema;
pub mod settings;
pub mod variables;
pub mod yaml;

pub use error::{Diagnostic, Diagnostics, Error, Mark, Result, did_you_mean, unknown_message};
pub use job::{JobSpec, MAIN_INPUT, MAIN_OUTPUT, PluginRole, PluginSpec, Secret, parse_document};
pub use schedule::{Missed, Overlap, Schedule, parse_cron};
pub use schema::{PluginSchema, inline_schema, job_schema};
pub use settings::{ByteSize, Duration, MaxErrors, OnError, Settings, out_of_range};
pub use variables::Variables;
