//! Local newline-delimited JSON files read line by line, for runs that tolerate bad
//! records (`settings.on_error: skip | dead_letter`): a line that is not a JSON object,
//! or whose values do not fit the schema, is reported as `FILE:LINE` and the others go
//! on. Runs that fail at the first bad record use DataFusion's reader instead.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use fust_engine::{BadRecord, ReadError, StageRejects};
use serde_json::Value;

use crate::common::records::decode_records;
use crate::common::scan::{PartitionedRead, SourceExec};

/// The longest line read; a longer one is a bad record.
const MAX_LINE: u64 = 64 << 20;

/// The schema of the first `rows` lines of `files` that are JSON objects.
pub fn infer(files: &[(PathBuf, u64)], rows: usize) -> Result<Option<SchemaRef>> {
    let mut values = Vec::new();
    for (path, _) in files {
        let file = File::open(path).map_err(|e| read_error(format!("{}: {e}", path.display())))?;
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        while values.len() < rows && next_line(&mut reader, &mut line)? {
            if let Ok(v @ Value::Object(_)) = serde_json::from_slice::<Value>(&line) {
                values.push(v);
            }
        }
    }
    if values.is_empty() {
        return Ok(None);
    }
    let schema = datafusion::arrow::json::reader::infer_json_schema_from_iterator(
        values.into_iter().map(Ok),
    )?;
    Ok(Some(Arc::new(schema)))
}

/// Reads the next line into `line` (without its end); false at the end of the file.
fn next_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> Result<bool> {
    line.clear();
    let n = reader
        .take(MAX_LINE)
        .read_until(b'\n', line)
        .map_err(|e| read_error(e.to_string()))?;
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    Ok(n > 0)
}

fn read_error(message: String) -> DataFusionError {
    DataFusionError::External(Box::new(ReadError(message)))
}

#[derive(Debug)]
pub struct LenientJson {
    pub files: Vec<(PathBuf, u64)>,
    pub schema: SchemaRef,
    pub rejects: StageRejects,
}

#[async_trait]
impl TableProvider for LenientJson {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let projection = projection.cloned();
        let schema = match &projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        let read = JsonLines {
            files: self.files.clone(),
            schema: self.schema.clone(),
            projection,
            rejects: self.rejects.clone(),
            batch_size: state.config().batch_size().max(1),
        };
        Ok(Arc::new(SourceExec::new(read, schema)))
    }
}

/// One partition per file (`JsonLinesExec` in plans).
#[derive(Debug)]
struct JsonLines {
    files: Vec<(PathBuf, u64)>,
    schema: SchemaRef,
    projection: Option<Vec<usize>>,
    rejects: StageRejects,
    batch_size: usize,
}

impl PartitionedRead for JsonLines {
    fn name(&self) -> &'static str {
        "JsonLinesExec"
    }

    fn partitions(&self) -> usize {
        self.files.len()
    }

    fn describe(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let files: Vec<String> = self
            .files
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect();
        write!(f, "files=[{}], bad records tolerated", files.join(", "))
    }

    fn open(
        &self,
        partition: usize,
        _metrics: &ExecutionPlanMetricsSet,
    ) -> Result<SendableRecordBatchStream> {
        let path = self.files[partition].0.clone();
        let out_schema = match &self.projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        let (schema, projection, rejects, batch_size) = (
            self.schema.clone(),
            self.projection.clone(),
            self.rejects.clone(),
            self.batch_size,
        );
        let mut builder = RecordBatchReceiverStreamBuilder::new(out_schema, 2);
        let tx = builder.tx();
        builder.spawn_blocking(move || {
            let shown = crate::common::file::shown_path(&path);
            let reject = |line: usize, raw: String, reason: String, kind: &str| {
                let record = BadRecord {
                    raw,
                    reason,
                    kind: kind.to_string(),
                    position: format!("{shown}:{line}"),
                };
                tokio::runtime::Handle::current()
                    .block_on(rejects.reject(record))
                    .map_err(|e| read_error(e.to_string()))
            };
            let file =
                File::open(&path).map_err(|e| read_error(format!("{}: {e}", path.display())))?;
            let mut reader = BufReader::new(file);
            let mut line = Vec::new();
            let mut number = 0usize;
            let mut records: Vec<(usize, Value)> = Vec::with_capacity(batch_size);
            loop {
                let more = next_line(&mut reader, &mut line)?;
                if more {
                    number += 1;
                    if !line.iter().all(u8::is_ascii_whitespace) {
                        match serde_json::from_slice::<Value>(&line) {
                            Ok(v @ Value::Object(_)) => records.push((number, v)),
                            Ok(_) => reject(
                                number,
                                String::from_utf8_lossy(&line).into_owned(),
                                "the line is not a JSON object".into(),
                                "not a record",
                            )?,
                            Err(e) => reject(
                                number,
                                String::from_utf8_lossy(&line).into_owned(),
                                format!("invalid JSON at column {}: {e}", e.column()),
                                "invalid JSON",
                            )?,
                        }
                    }
                }
                if records.len() >= batch_size || (!more && !records.is_empty()) {
                    let refs: Vec<(usize, &Value)> = records.iter().map(|(n, v)| (*n, v)).collect();
                    let (batch, bad) = decode_records(&schema, &refs)?;
                    for (at, reason) in bad {
                        let raw = records
                            .iter()
                            .find(|(n, _)| *n == at)
                            .map(|(_, v)| v.to_string())
                            .unwrap_or_default();
                        reject(at, raw, reason, "wrong type")?;
                    }
                    records.clear();
                    let batch = match &projection {
                        Some(p) => batch.project(p)?,
                        None => batch,
                    };
                    if tx.blocking_send(Ok(batch)).is_err() {
                        return Ok(());
                    }
                }
                if !more {
                    return Ok(());
                }
            }
        });
        Ok(builder.build())
    }
}
