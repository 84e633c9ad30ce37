//! The processors and functions as sqllogictest files (`tests/slt/*.slt`).
//!
//! What a record runs:
//! - `statement ok` with `CREATE TABLE … AS VALUES …` sets up a table (plain DataFusion);
//! - a `query` that starts with `FROM <table> |` runs processors over that table, one per
//!   `|`-separated stage written as `<type>: <options as YAML flow>`, exactly as a job's
//!   `pipeline.processors` would (the options are parsed and checked by the registry);
//! - any other `query` runs through Fust's guarded planner (`fust_sql::plan_query`), as the
//!   `sql` processor does, over the tables created so far.
//!
//! Errors are matched with `statement error <regex>` / `query error <regex>`.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::catalog::TableProvider;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use fust_config::PluginRole;
use fust_engine::{OptionError, Pending, Published, Registry, Sink, SinkSummary, Source, Typed};
use schemars::JsonSchema;
use serde::Deserialize;
use sqllogictest::{DBOutput, DefaultColumnType};

/// A table the test created, as a job input.
#[derive(Debug, Deserialize, JsonSchema)]
struct TableConfig {
    name: String,
}

#[derive(Debug)]
struct TableSource(String);

#[async_trait]
impl Source for TableSource {
    async fn table(&self, ctx: &SessionContext) -> Result<Arc<dyn TableProvider>> {
        ctx.table_provider(self.0.as_str()).await
    }

    fn describe(&self) -> String {
        format!("table {}", self.0)
    }
}

/// Jobs need an output; the runner collects the plan itself and never calls it.
#[derive(Debug, Deserialize, JsonSchema)]
struct NoOptions {}

#[derive(Debug)]
struct NoSink;

#[async_trait]
impl Sink for NoSink {
    async fn prepare(
        &self,
        _stream: SendableRecordBatchStream,
        _ctx: &SessionContext,
    ) -> Result<Box<dyn Pending>> {
        Ok(Box::new(Published(SinkSummary::default())))
    }
}

fn registry() -> Registry {
    let mut r = Registry::new();
    fust_sql::register_all(&mut r);
    r.add_source(Arc::new(Typed::new(
        "table",
        PluginRole::Source,
        "A table created by the test",
        "type: table\nname: t\n",
        |c: TableConfig| Ok::<_, OptionError>(Arc::new(TableSource(c.name)) as Arc<dyn Source>),
    )));
    r.add_sink(Arc::new(Typed::new(
        "none",
        PluginRole::Sink,
        "Nothing",
        "type: none\n",
        |_: NoOptions| Ok::<_, OptionError>(Arc::new(NoSink) as Arc<dyn Sink>),
    )));
    r
}

struct Fust {
    ctx: SessionContext,
    registry: Registry,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct SltError(String);

impl From<DataFusionError> for SltError {
    fn from(e: DataFusionError) -> Self {
        SltError(e.to_string())
    }
}

impl Fust {
    /// `FROM t | filter: {…} | mapping: {…}` as a job over table `t`.
    async fn processors(&self, text: &str) -> Result<Vec<RecordBatch>, SltError> {
        let mut stages = text.split(" | ");
        let table = stages
            .next()
            .and_then(|s| s.trim().strip_prefix("FROM "))
            .ok_or_else(|| SltError("expected `FROM <table> | …`".into()))?;
        let mut job = format!(
            "input: {{type: table, name: {}}}\noutput: {{type: none}}\npipeline:\n  processors:\n",
            table.trim()
        );
        for stage in stages {
            let (kind, options) = stage.split_once(':').ok_or_else(|| {
                SltError(format!("stage `{stage}`: expected `type: {{options}}`"))
            })?;
            let options = options.trim();
            let inner = options
                .strip_prefix('{')
                .and_then(|o| o.strip_suffix('}'))
                .unwrap_or(options);
            let sep = if inner.trim().is_empty() { "" } else { ", " };
            job.push_str(&format!("    - {{type: {}{sep}{inner}}}\n", kind.trim()));
        }
        let compiled = self
            .registry
            .load_str(&job, "slt")
            .map_err(|e| SltError(e.to_string()))?;
        // The job registers its input as `input`; take it away again, whatever happens.
        let df = compiled.dataframe(&self.ctx).await;
        self.ctx.deregister_table("input")?;
        let df = df.map_err(|e| SltError(e.to_string()))?;
        Ok(df.collect().await?)
    }
}

#[async_trait]
impl sqllogictest::AsyncDB for Fust {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Self::ColumnType>, Self::Error> {
        let sql = sql.trim();
        let upper = sql.to_ascii_uppercase();
        if upper.starts_with("CREATE ") || upper.starts_with("DROP ") {
            self.ctx.sql(sql).await?.collect().await?;
            return Ok(DBOutput::StatementComplete(0));
        }
        let batches = if upper.starts_with("FROM ") && sql.contains(" | ") {
            self.processors(sql).await?
        } else {
            let plan = fust_sql::plan_query(&self.ctx, sql).await?;
            self.ctx.execute_logical_plan(plan).await?.collect().await?
        };
        rows(&batches)
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "fust"
    }
}

/// Rows as text: NULL as `NULL`, floats as Arrow prints them.
fn rows(batches: &[RecordBatch]) -> Result<DBOutput<DefaultColumnType>, SltError> {
    let Some(first) = batches.first() else {
        return Ok(DBOutput::Rows {
            types: vec![],
            rows: vec![],
        });
    };
    let types = first
        .schema()
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            t if t.is_integer() => DefaultColumnType::Integer,
            DataType::Float16 | DataType::Float32 | DataType::Float64 => {
                DefaultColumnType::FloatingPoint
            }
            DataType::Decimal128(..) => DefaultColumnType::FloatingPoint,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DefaultColumnType::Text,
            _ => DefaultColumnType::Any,
        })
        .collect();
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| SltError(e.to_string()))?;
        for row in 0..batch.num_rows() {
            out.push(
                formatters
                    .iter()
                    .map(|f| {
                        let v = f.value(row).to_string();
                        if v.is_empty() {
                            "(empty)".to_string()
                        } else {
                            v
                        }
                    })
                    .collect(),
            );
        }
    }
    Ok(DBOutput::Rows { types, rows: out })
}

#[tokio::test]
async fn slt_files() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/slt")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "slt files: {files:?}");
    let mut failures = Vec::new();
    for file in &files {
        let mut runner = sqllogictest::Runner::new(|| async {
            Ok(Fust {
                // The session a job's run gets (with Fust's own functions in place).
                ctx: fust_engine::session::session(&fust_config::Settings::default(), None)
                    .expect("session"),
                registry: registry(),
            })
        });
        if let Err(e) = runner.run_file_async(file).await {
            failures.push(format!("{}: {e}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
