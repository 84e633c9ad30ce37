//! The `http` input as a table: the schema given or inferred from the first records
//! (those pages are kept and not fetched again), then one scan that walks the pages in
//! order, one batch per page, reporting bad records and tracking the incremental cursor.

use std::collections::VecDeque;
use std::fmt;
use std::io::Cursor;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::json::reader::infer_json_schema_from_iterator;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::DataFusionError;
use datafusion::datasource::TableType;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionContext;
use fust_engine::state::store_for;
use fust_engine::{BadRecord, OptionError, ReadError, Source, StageRejects, StateStore};
use serde_json::Value;

use super::config::{BodyFormat, HttpSourceConfig, Pagination};
use super::fetch::{Page, Pager, Records, lookup, scalar_text};
use crate::common::records::decode_records;
use crate::common::scan::{PartitionedRead, SourceExec};

/// The most records `infer_records` may ask for.
const MAX_INFER_RECORDS: usize = 1_000_000;

pub(super) fn build_source(c: HttpSourceConfig) -> Result<Arc<dyn Source>, OptionError> {
    let url = url::Url::parse(&c.url).map_err(|e| OptionError::new("url", e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(OptionError::new(
            "url",
            format!("`{}` is not an http:// or https:// URL", c.url),
        ));
    }
    OptionError::check_range("infer_records", c.infer_records, 1, MAX_INFER_RECORDS)?;
    OptionError::check_range("max_retries", c.max_retries as usize, 0, 100)?;
    if let Some(rps) = c.requests_per_second
        && !(rps > 0.0 && rps <= 10_000.0)
    {
        return Err(OptionError::new(
            "requests_per_second",
            format!("{rps} is out of range: use more than 0, up to 10000"),
        ));
    }
    match (&c.pagination, c.format) {
        (
            Some(Pagination::Cursor { .. } | Pagination::NextUrl { .. }),
            BodyFormat::Ndjson | BodyFormat::Csv,
        ) => {
            return Err(OptionError::new(
                "pagination",
                "`cursor` and `next_url` read the next page from a JSON response; with `format: ndjson` or `csv` use offset, page or link_header",
            ));
        }
        (Some(Pagination::Offset { limit: 0, .. }), _) => {
            return Err(OptionError::new(
                "pagination.limit",
                "0 is out of range: use 1 or more",
            ));
        }
        _ => {}
    }
    if c.cursor_param.is_some() && c.cursor_field.is_none() {
        return Err(OptionError::new(
            "cursor_param",
            "give `cursor_field` too: the field whose highest value is sent as this parameter next time",
        ));
    }
    if c.cursor_field.is_some() && c.format == BodyFormat::Csv {
        return Err(OptionError::new(
            "cursor_field",
            "incremental reads need JSON records (`format: json` or `ndjson`)",
        ));
    }
    let schema = match &c.schema {
        Some(map) => match fust_engine::types::struct_type(map) {
            Ok(DataType::Struct(fields)) => Some(Arc::new(Schema::new(fields))),
            Ok(_) => None,
            Err(e) => return Err(OptionError::new("schema", e.to_string())),
        },
        None => None,
    };
    Ok(Arc::new(HttpSource {
        config: Arc::new(c),
        schema,
        cursor: Arc::default(),
        store: Mutex::new(None),
    }))
}

/// A REST API read page by page.
#[derive(Debug)]
pub struct HttpSource {
    config: Arc<HttpSourceConfig>,
    /// `schema:`, when given.
    schema: Option<SchemaRef>,
    /// The highest `cursor_field` value this run read, saved by `commit`.
    cursor: Arc<Mutex<Option<String>>>,
    store: Mutex<Option<Arc<dyn StateStore>>>,
}

impl HttpSource {
    fn state_key(&self, field: &str) -> String {
        format!("http {}#{field}", self.config.url)
    }
}

#[async_trait]
impl Source for HttpSource {
    async fn table(&self, ctx: &SessionContext) -> Result<Arc<dyn TableProvider>> {
        let rejects = StageRejects::of(ctx);
        let mut since = None;
        if let Some(field) = &self.config.cursor_field {
            let store = store_for(ctx, self.config.state_file.as_deref());
            since = store.get(&self.state_key(field)).await?;
            if let Ok(mut s) = self.store.lock() {
                *s = Some(store);
            }
        }
        if let Ok(mut c) = self.cursor.lock() {
            *c = None;
        }
        let mut pager = Pager::new(self.config.clone(), since.clone()).map_err(plan_error)?;
        let mut sample = VecDeque::new();
        let schema = match &self.schema {
            Some(s) => s.clone(),
            None => infer(&self.config, &mut pager, &mut sample).await?,
        };
        Ok(Arc::new(HttpTable {
            read: Arc::new(HttpRead {
                config: self.config.clone(),
                schema: schema.clone(),
                since,
                started: Mutex::new(Some((pager, sample))),
                cursor: self.cursor.clone(),
                rejects,
            }),
            schema,
        }))
    }

    fn describe(&self) -> String {
        format!("http {}", self.config.url)
    }

    async fn commit(&self) -> Result<()> {
        let Some(field) = &self.config.cursor_field else {
            return Ok(());
        };
        let mark = self.cursor.lock().ok().and_then(|c| c.clone());
        let store = self.store.lock().ok().and_then(|s| s.clone());
        match (mark, store) {
            (Some(mark), Some(store)) => store.put(&self.state_key(field), &mark).await,
            _ => Ok(()),
        }
    }
}

fn plan_error(msg: String) -> DataFusionError {
    DataFusionError::Plan(msg)
}

fn read_error(msg: String) -> DataFusionError {
    DataFusionError::External(Box::new(ReadError(msg)))
}

/// Fetches pages into `sample` until it holds `infer_records` records (or the pages end),
/// and infers the schema from them.
async fn infer(
    config: &HttpSourceConfig,
    pager: &mut Pager,
    sample: &mut VecDeque<Page>,
) -> Result<SchemaRef> {
    let mut seen = 0;
    while seen < config.infer_records {
        let Some(page) = pager.next_page().await.map_err(read_error)? else {
            break;
        };
        seen += page.records.len();
        sample.push_back(page);
    }
    let schema = match config.format {
        BodyFormat::Csv => sample.iter().find_map(|p| match &p.records {
            Records::Csv(body) => csv_header(body),
            _ => None,
        }),
        _ => {
            let values = sample
                .iter()
                .flat_map(|p| match &p.records {
                    Records::Json { records, .. } => records.as_slice(),
                    _ => &[],
                })
                .take(config.infer_records)
                .map(|(_, v)| Ok(v.clone()));
            let schema = infer_json_schema_from_iterator(values)
                .map_err(|e| plan_error(format!("inferring the records' columns: {e}")))?;
            (!schema.fields().is_empty()).then(|| Arc::new(schema))
        }
    };
    schema.ok_or_else(|| {
        plan_error(format!(
            "{} returned no records to infer the columns from; give `schema:` (e.g. `schema: {{id: bigint, name: varchar}}`)",
            config.url
        ))
    })
}

/// A CSV body's columns from its header line, all text.
fn csv_header(body: &[u8]) -> Option<SchemaRef> {
    let format = datafusion::arrow::csv::reader::Format::default().with_header(true);
    let (schema, _) = format.infer_schema(Cursor::new(body), Some(0)).ok()?;
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| Field::new(f.name(), DataType::Utf8, true))
        .collect();
    (!fields.is_empty()).then(|| Arc::new(Schema::new(fields)))
}

#[derive(Debug)]
struct HttpTable {
    read: Arc<HttpRead>,
    schema: SchemaRef,
}

#[async_trait]
impl TableProvider for HttpTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let schema = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        let read = ProjectedRead {
            read: self.read.clone(),
            projection: projection.cloned(),
        };
        Ok(Arc::new(SourceExec::new(read, schema)))
    }
}

/// What a scan of the table needs: the pages fetched while inferring are handed to the
/// first scan; a later one (a second plan of the same table) starts over.
#[derive(Debug)]
struct HttpRead {
    config: Arc<HttpSourceConfig>,
    schema: SchemaRef,
    since: Option<String>,
    started: Mutex<Option<(Pager, VecDeque<Page>)>>,
    cursor: Arc<Mutex<Option<String>>>,
    rejects: StageRejects,
}

#[derive(Debug)]
struct ProjectedRead {
    read: Arc<HttpRead>,
    projection: Option<Vec<usize>>,
}

impl PartitionedRead for ProjectedRead {
    fn name(&self) -> &'static str {
        "HttpScanExec"
    }

    fn partitions(&self) -> usize {
        1
    }

    fn describe(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.read.config.url)
    }

    fn open(
        &self,
        _partition: usize,
        _metrics: &ExecutionPlanMetricsSet,
    ) -> Result<SendableRecordBatchStream> {
        let read = self.read.clone();
        let started = read.started.lock().ok().and_then(|mut s| s.take());
        let (pager, sample) = match started {
            Some(s) => s,
            None => (
                Pager::new(read.config.clone(), read.since.clone()).map_err(plan_error)?,
                VecDeque::new(),
            ),
        };
        let projection = self.projection.clone();
        let schema = match &projection {
            Some(p) => Arc::new(read.schema.project(p)?),
            None => read.schema.clone(),
        };
        let state = (read, pager, sample, projection);
        let pages = futures::stream::try_unfold(
            state,
            |(read, mut pager, mut sample, projection)| async move {
                let page = match sample.pop_front() {
                    Some(p) => p,
                    None => match pager.next_page().await.map_err(read_error)? {
                        Some(p) => p,
                        None => return Ok(None),
                    },
                };
                let batch = read.decode(page).await?;
                let batch = match &projection {
                    Some(p) => batch.project(p)?,
                    None => batch,
                };
                Ok(Some((batch, (read, pager, sample, projection))))
            },
        );
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, pages)))
    }
}

impl HttpRead {
    /// One page as a batch of the table's schema; its bad records reported.
    async fn decode(&self, page: Page) -> Result<RecordBatch> {
        match page.records {
            Records::Malformed {
                ref raw,
                ref reason,
            } => {
                self.reject(
                    raw.clone(),
                    reason.clone(),
                    "malformed page",
                    page.position(),
                )
                .await?;
                Ok(RecordBatch::new_empty(self.schema.clone()))
            }
            Records::Csv(ref body) => match self.decode_csv(body) {
                Ok(b) => Ok(b),
                Err(e) => {
                    let raw = String::from_utf8_lossy(body).into_owned();
                    self.reject(raw, e.to_string(), "malformed page", page.position())
                        .await?;
                    Ok(RecordBatch::new_empty(self.schema.clone()))
                }
            },
            Records::Json {
                ref records,
                ref bad,
            } => {
                for (i, raw, reason) in bad {
                    self.reject(
                        raw.clone(),
                        reason.clone(),
                        "not a record",
                        record_at(&page, *i),
                    )
                    .await?;
                }
                let records = self.above_cursor(records);
                let (batch, bad) = decode_records(&self.schema, &records)?;
                for (at, reason) in bad {
                    let raw = records
                        .iter()
                        .find(|(i, _)| *i == at)
                        .map(|(_, r)| r.to_string())
                        .unwrap_or_default();
                    self.reject(raw, reason, "wrong type", record_at(&page, at))
                        .await?;
                }
                Ok(batch)
            }
        }
    }

    async fn reject(
        &self,
        raw: String,
        reason: String,
        kind: &str,
        position: String,
    ) -> Result<()> {
        self.rejects
            .reject(BadRecord {
                raw,
                reason,
                kind: kind.to_string(),
                position,
            })
            .await
            .map_err(|e| read_error(e.to_string()))
    }

    fn decode_csv(&self, body: &[u8]) -> Result<RecordBatch> {
        let reader = datafusion::arrow::csv::ReaderBuilder::new(self.schema.clone())
            .with_header(true)
            .with_batch_size(8192)
            .build(Cursor::new(body))?;
        let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(datafusion::arrow::compute::concat_batches(
            &self.schema,
            &batches,
        )?)
    }

    /// The records whose `cursor_field` is above the stored value; the highest seen is
    /// kept for `commit`.
    fn above_cursor<'a>(&self, records: &'a [(usize, Value)]) -> Vec<(usize, &'a Value)> {
        let all = records.iter().map(|(i, v)| (*i, v));
        let Some(field) = &self.config.cursor_field else {
            return all.collect();
        };
        let mut high = self.cursor.lock().ok().and_then(|c| c.clone());
        let kept = all
            .filter(|(_, r)| {
                let Some(v) = lookup(r, field).and_then(scalar_text) else {
                    return true;
                };
                if high.as_deref().is_none_or(|h| above(&v, h)) {
                    high = Some(v.clone());
                }
                self.since.as_deref().is_none_or(|s| above(&v, s))
            })
            .collect();
        if let Ok(mut c) = self.cursor.lock() {
            *c = high;
        }
        kept
    }
}

/// `a > b`, as numbers when both are, else as text (ISO timestamps order as text).
fn above(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x > y,
        _ => a > b,
    }
}

fn record_at(page: &Page, index: usize) -> String {
    format!("{} record {index}", page.position())
}
