//! The `elasticsearch` output: each row becomes a JSON document (Arrow's JSON writer),
//! sent with the bulk API in NDJSON requests bounded by documents and bytes, several in
//! flight. The bulk response is read item by item: documents rejected with 429 or a 5xx
//! are sent again with backoff, the others are bad records with the server's reason.
//!
//! The server makes documents visible as they arrive, so `prepare` returns them as
//! [`Published`]: at-least-once, idempotent with `id`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::format::{Item as FmtItem, StrftimeItems};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit, TimestampMillisecondType};
use datafusion::arrow::json::WriterBuilder;
use datafusion::arrow::json::writer::LineDelimited;
use datafusion::common::DFSchema;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::SessionContext;
use fust_engine::{BadRecord, OptionError, Pending, Published, Sink, SinkSummary, StageRejects};
use futures::StreamExt;
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use tokio::task::JoinSet;

use super::config::{EsAction, EsAuth, EsCompression, EsSinkConfig};
use crate::common::http::{self, HttpError, Retry};

/// The largest bulk response read (a response names every document of its request).
const MAX_RESPONSE_BYTES: usize = 64 << 20;
/// The longest wait between retries.
const MAX_RETRY_DELAY: std::time::Duration = std::time::Duration::from_secs(30);
/// Indices refreshed by name at the end; past this many, the whole cluster's.
const MAX_REFRESH_NAMES: usize = 64;
/// Levels of `caused_by` a bad record's reason quotes.
const MAX_CAUSES: usize = 4;

#[derive(Debug)]
pub(super) struct EsSink {
    config: EsSinkConfig,
    nodes: Vec<url::Url>,
    /// The index name's `%` fields, parsed (with `index_time_column`).
    pattern: Option<Vec<FmtItem<'static>>>,
}

pub(super) fn build_sink(config: EsSinkConfig) -> Result<Arc<dyn Sink>, OptionError> {
    config.check()?;
    let nodes = config.nodes()?;
    let pattern = match &config.index_time_column {
        None => None,
        Some(_) => Some(
            StrftimeItems::new(&config.index)
                .parse_to_owned()
                .map_err(|e| {
                    OptionError::new(
                        "index",
                        format!(
                            "`{}` is not a valid strftime pattern ({e}); e.g. logs-%Y.%m.%d",
                            config.index
                        ),
                    )
                })?,
        ),
    };
    Ok(Arc::new(EsSink {
        config,
        nodes,
        pattern,
    }))
}

/// A node URL for messages: without a password.
fn shown(u: &url::Url) -> String {
    let mut u = u.clone();
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    u.as_str().trim_end_matches('/').to_string()
}

/// `node/_bulk`, keeping a path the node is served under (a proxy's prefix).
fn endpoint(node: &url::Url, what: &str) -> url::Url {
    let mut u = node.clone();
    if let Ok(mut segments) = u.path_segments_mut() {
        segments.pop_if_empty().push(what);
    }
    u
}

/// Where a row's document id comes from.
enum IdSource {
    Column(usize),
    Expr(Arc<dyn PhysicalExpr>),
}

impl IdSource {
    /// `id` as a column of `schema` when it names one, else compiled as a SQL expression.
    fn resolve(id: &str, schema: &SchemaRef, ctx: &SessionContext) -> Result<IdSource> {
        if let Ok(i) = schema.index_of(id) {
            return Ok(IdSource::Column(i));
        }
        let fail = |e: DataFusionError| {
            DataFusionError::Plan(format!(
                "id: `{id}` is neither a column ({}) nor a SQL expression over them: {e}",
                column_list(schema)
            ))
        };
        fust_engine::sql_text::check(id).map_err(fail)?;
        let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
        let expr = ctx.parse_sql_expr(id, &df_schema).map_err(fail)?;
        let physical = ctx.create_physical_expr(expr, &df_schema).map_err(fail)?;
        Ok(IdSource::Expr(physical))
    }

    /// The ids of the batch's rows as text.
    fn evaluate(&self, batch: &RecordBatch, id: &str) -> Result<StringArray> {
        let values: ArrayRef = match self {
            IdSource::Column(i) => batch.column(*i).clone(),
            IdSource::Expr(e) => e.evaluate(batch)?.into_array(batch.num_rows())?,
        };
        let text = cast(&values, &DataType::Utf8).map_err(|e| {
            DataFusionError::Execution(format!(
                "id: `{id}` is of type {}, which cannot be a document id: {e}",
                values.data_type()
            ))
        })?;
        Ok(text.as_string::<i32>().clone())
    }
}

fn column_list(schema: &SchemaRef) -> String {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    format!("columns: {}", names.join(", "))
}

/// One row's bulk action: its action line and its document.
#[derive(Debug, Clone)]
struct Item {
    /// The output row, from 1.
    row: u64,
    action: String,
    /// The row as a JSON object; `None` for `delete`.
    doc: Option<Bytes>,
}

impl Item {
    /// Its bytes in a bulk body.
    fn size(&self) -> usize {
        self.action.len() + 1 + self.doc.as_ref().map_or(0, |d| d.len() + 1 + UPDATE_WRAP)
    }

    /// The record as a dead-letter row shows it: the document (the action line for a
    /// delete).
    fn raw(&self) -> String {
        match &self.doc {
            Some(d) => String::from_utf8_lossy(d).into_owned(),
            None => self.action.clone(),
        }
    }
}

/// The bytes `{"doc":…,"doc_as_upsert":true}` adds around an update's document.
const UPDATE_WRAP: usize = 30;

/// What one bulk request did for good.
#[derive(Debug, Default)]
struct Sent {
    rows: u64,
    bytes: u64,
}

/// The HTTP side, shared by the bulk requests in flight.
struct Cluster {
    client: Client,
    /// `node/_bulk` for each node.
    bulk_urls: Vec<url::Url>,
    /// Which node the next request goes to.
    next: AtomicUsize,
    /// The nodes, for messages.
    name: String,
    auth: Option<EsAuth>,
    gzip: bool,
    action: EsAction,
    retry: Retry,
    rejects: StageRejects,
}

impl Cluster {
    fn authorize(&self, rb: RequestBuilder) -> RequestBuilder {
        match &self.auth {
            None => rb,
            Some(EsAuth::Basic { username, password }) => {
                rb.basic_auth(username, Some(password.expose()))
            }
            Some(EsAuth::ApiKey { key }) => {
                rb.header(AUTHORIZATION, format!("ApiKey {}", key.expose()))
            }
        }
    }

    /// The next node's `_bulk`, in turn.
    fn next_url(&self) -> &url::Url {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.bulk_urls.len().max(1);
        &self.bulk_urls[i]
    }

    fn failed(&self, doing: &str, e: HttpError) -> DataFusionError {
        let msg = format!("elasticsearch {}: {doing}: {e}", self.name);
        match e {
            HttpError::Transport(_) => DataFusionError::IoError(std::io::Error::other(msg)),
            HttpError::Status { status, .. } if http::retryable_status(status) => {
                DataFusionError::IoError(std::io::Error::other(msg))
            }
            HttpError::Status { status, .. } if status == StatusCode::PAYLOAD_TOO_LARGE => {
                DataFusionError::Execution(format!("{msg} (lower `bulk_bytes`)"))
            }
            _ => DataFusionError::Execution(msg),
        }
    }

    /// The NDJSON body for `items`, gzipped when asked.
    fn body(&self, items: &[Item]) -> Result<Bytes> {
        let mut out = Vec::with_capacity(items.iter().map(Item::size).sum());
        for item in items {
            out.extend_from_slice(item.action.as_bytes());
            out.push(b'\n');
            if let Some(doc) = &item.doc {
                if self.action == EsAction::Update {
                    out.extend_from_slice(b"{\"doc\":");
                    out.extend_from_slice(doc);
                    out.extend_from_slice(b",\"doc_as_upsert\":true}");
                } else {
                    out.extend_from_slice(doc);
                }
                out.push(b'\n');
            }
        }
        if !self.gzip {
            return Ok(out.into());
        }
        let mut gz = flate2::write::GzEncoder::new(
            Vec::with_capacity(out.len() / 4),
            flate2::Compression::default(),
        );
        gz.write_all(&out)?;
        Ok(gz.finish()?.into())
    }

    /// Sends one bulk body (retrying the whole request on connection errors, 429 and
    /// 5xx); the response's body.
    async fn post(&self, body: Bytes) -> Result<Bytes> {
        let build = || {
            let mut rb = self
                .client
                .post(self.next_url().clone())
                .header(CONTENT_TYPE, "application/x-ndjson")
                .body(body.clone());
            if self.gzip {
                rb = rb.header(CONTENT_ENCODING, "gzip");
            }
            self.authorize(rb)
        };
        let resp = http::send(build, &self.retry, |failure, wait| {
            tracing::warn!(
                cluster = %self.name,
                failure,
                wait_ms = wait.as_millis() as u64,
                "Retrying a bulk request."
            );
        })
        .await
        .map_err(|e| self.failed("bulk request", e))?;
        http::read_body(resp, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| self.failed("reading the bulk response", e))
    }

    /// Sends `items` until every one is written or a bad record: the documents the server
    /// rejects with 429 or a 5xx are sent again after a backoff, up to `max_retries`.
    async fn write(self: Arc<Self>, mut items: Vec<Item>) -> Result<Sent> {
        let mut sent = Sent::default();
        let mut attempt = 0u32;
        loop {
            let body = self.body(&items)?;
            let answer = self.post(body).await?;
            let outcomes = parse_bulk(&answer, items.len()).map_err(|m| {
                DataFusionError::Execution(format!("elasticsearch {}: {m}", self.name))
            })?;
            let mut again = Vec::new();
            let mut last_reason = String::new();
            for (item, outcome) in items.into_iter().zip(outcomes) {
                match outcome {
                    Outcome::Written => {
                        sent.rows += 1;
                        sent.bytes += item.doc.as_ref().map_or(0, |d| d.len() as u64);
                    }
                    Outcome::Retry(e) if attempt < self.retry.max_retries => {
                        last_reason = e.reason;
                        again.push(item);
                    }
                    Outcome::Retry(mut e) => {
                        e.reason.push_str(&format!(
                            "; still rejected after {} retries",
                            self.retry.max_retries
                        ));
                        self.reject(&item, e).await?;
                    }
                    Outcome::Bad(e) => self.reject(&item, e).await?,
                }
            }
            if again.is_empty() {
                return Ok(sent);
            }
            let wait = self.retry.delay(attempt, None);
            tracing::warn!(
                cluster = %self.name,
                documents = again.len(),
                reason = %last_reason,
                wait_ms = wait.as_millis() as u64,
                "Retrying documents the server rejected for now."
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
            items = again;
        }
    }

    async fn reject(&self, item: &Item, e: ItemError) -> Result<()> {
        self.rejects
            .reject(BadRecord {
                raw: item.raw(),
                reason: e.reason,
                kind: e.kind,
                position: format!("row {}", item.row),
            })
            .await
    }

    /// `POST /{indices}/_refresh` (the whole cluster's past [`MAX_REFRESH_NAMES`]).
    async fn refresh(&self, indices: &BTreeSet<String>) -> Result<()> {
        if indices.is_empty() {
            return Ok(());
        }
        let target = if indices.len() > MAX_REFRESH_NAMES {
            "_refresh".to_string()
        } else {
            let names: Vec<&str> = indices.iter().map(String::as_str).collect();
            format!("{}/_refresh", names.join(","))
        };
        let build = || {
            let mut u = self.next_url().clone();
            if let Ok(mut segments) = u.path_segments_mut() {
                segments.pop();
                for part in target.split('/') {
                    segments.push(part);
                }
            }
            self.authorize(self.client.post(u))
        };
        http::send(build, &self.retry, |_, _| {})
            .await
            .map_err(|e| self.failed("refreshing the indices written", e))?;
        Ok(())
    }
}

/// How the server answered for one document.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Written,
    /// 429 or a 5xx: may succeed later.
    Retry(ItemError),
    Bad(ItemError),
}

/// The server's reason for refusing a document.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ItemError {
    /// The error type, e.g. `mapper_parsing_exception`.
    kind: String,
    /// `type: reason (caused by …) (HTTP status, index name)`.
    reason: String,
}

#[derive(Deserialize)]
struct BulkResponse {
    #[serde(default)]
    errors: bool,
    items: Vec<serde_json::Map<String, Value>>,
}

/// Each document's outcome from a bulk response to `sent` actions, in order.
fn parse_bulk(body: &[u8], sent: usize) -> Result<Vec<Outcome>, String> {
    let resp: BulkResponse = serde_json::from_slice(body).map_err(|e| {
        let start = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        format!("the answer to _bulk is not a bulk response ({e}): {start}")
    })?;
    if resp.items.len() != sent {
        return Err(format!(
            "the bulk response names {} documents for {sent} sent",
            resp.items.len()
        ));
    }
    if !resp.errors {
        return Ok(vec![Outcome::Written; sent]);
    }
    Ok(resp.items.iter().map(item_outcome).collect())
}

fn item_outcome(item: &serde_json::Map<String, Value>) -> Outcome {
    let Some((action, Value::Object(result))) = item.iter().next() else {
        return Outcome::Bad(ItemError {
            kind: "invalid bulk response".into(),
            reason: format!(
                "the server answered {} for this document",
                Value::Object(item.clone())
            ),
        });
    };
    let status = result
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let index = result.get("_index").and_then(Value::as_str).unwrap_or("?");
    let error = match result.get("error") {
        Some(e) => Some(e),
        // A delete of a missing document is done (404 `not_found`, no error).
        None if status.is_success() || (action == "delete" && status == StatusCode::NOT_FOUND) => {
            return Outcome::Written;
        }
        None => None,
    };
    let (kind, mut reason) = match error {
        Some(e) => describe(e),
        None => (
            format!("HTTP {}", status.as_u16()),
            format!("HTTP {status}"),
        ),
    };
    reason.push_str(&format!(" (HTTP {}, index {index})", status.as_u16()));
    let e = ItemError { kind, reason };
    if http::retryable_status(status) {
        Outcome::Retry(e)
    } else {
        Outcome::Bad(e)
    }
}

/// An error object's type and `type: reason (caused by type: reason)`.
fn describe(error: &Value) -> (String, String) {
    let Value::Object(o) = error else {
        let text = error
            .as_str()
            .map_or_else(|| error.to_string(), str::to_string);
        return ("error".into(), text);
    };
    let text = |o: &serde_json::Map<String, Value>| {
        let kind = o.get("type").and_then(Value::as_str).unwrap_or("error");
        match o.get("reason").and_then(Value::as_str) {
            Some(r) => (kind.to_string(), format!("{kind}: {r}")),
            None => (kind.to_string(), kind.to_string()),
        }
    };
    let (kind, mut reason) = text(o);
    let mut cause = o.get("caused_by");
    for _ in 0..MAX_CAUSES {
        let Some(Value::Object(c)) = cause else { break };
        reason.push_str(&format!(" (caused by {})", text(c).1));
        cause = c.get("caused_by");
    }
    (kind, reason)
}

/// Turns batches into bulk items: documents, ids and index names.
struct Encoder<'a> {
    sink: &'a EsSink,
    id: Option<IdSource>,
    /// The column of `index_time_column`.
    time: Option<usize>,
    /// The fixed index name as a JSON string (without `index_time_column`).
    index_json: String,
    rows: u64,
    /// Index names written, when `refresh` needs them.
    indices: BTreeSet<String>,
    rejects: &'a StageRejects,
}

impl<'a> Encoder<'a> {
    fn try_new(
        sink: &'a EsSink,
        schema: &SchemaRef,
        ctx: &SessionContext,
        rejects: &'a StageRejects,
    ) -> Result<Self> {
        let c = &sink.config;
        let id =
            c.id.as_deref()
                .map(|id| IdSource::resolve(id, schema, ctx))
                .transpose()?;
        let time = match &c.index_time_column {
            None => None,
            Some(name) => {
                let i = schema.index_of(name).map_err(|_| {
                    DataFusionError::Plan(format!(
                        "index_time_column: no column `{name}` ({})",
                        column_list(schema)
                    ))
                })?;
                let t = schema.field(i).data_type();
                if !(matches!(
                    t,
                    DataType::Timestamp(..)
                        | DataType::Date32
                        | DataType::Date64
                        | DataType::Utf8
                        | DataType::LargeUtf8
                        | DataType::Utf8View
                )) {
                    return Err(DataFusionError::Plan(format!(
                        "index_time_column: `{name}` is of type {t}; expected a timestamp, a date or text"
                    )));
                }
                Some(i)
            }
        };
        let mut indices = BTreeSet::new();
        if c.refresh && time.is_none() {
            indices.insert(c.index.clone());
        }
        Ok(Encoder {
            sink,
            id,
            time,
            index_json: json_string(&c.index),
            rows: 0,
            indices,
            rejects,
        })
    }

    /// The batch's rows as bulk items; rows whose id or time is NULL are bad records.
    async fn items(&mut self, batch: &RecordBatch) -> Result<Vec<Item>> {
        let c = &self.sink.config;
        let n = batch.num_rows();
        let ids = match (&self.id, &c.id) {
            (Some(source), Some(name)) => Some(source.evaluate(batch, name)?),
            _ => None,
        };
        let times = match self.time {
            None => None,
            Some(i) => {
                let utc = DataType::Timestamp(TimeUnit::Millisecond, Some("+00:00".into()));
                let t = cast(batch.column(i), &utc).map_err(|e| {
                    DataFusionError::Execution(format!(
                        "index_time_column: `{}` does not convert to a time: {e}",
                        c.index_time_column.as_deref().unwrap_or_default()
                    ))
                })?;
                Some(t.as_primitive::<TimestampMillisecondType>().clone())
            }
        };
        let docs: Option<Bytes> = if c.action == EsAction::Delete {
            None
        } else {
            let mut w = WriterBuilder::new()
                .with_explicit_nulls(false)
                .build::<_, LineDelimited>(Vec::with_capacity(batch.get_array_memory_size()));
            w.write(batch)?;
            w.finish()?;
            Some(Bytes::from(w.into_inner()))
        };
        let mut lines = docs.as_ref().map(|d| line_ranges(&d[..]));
        let mut out = Vec::with_capacity(n);
        let action = c.action.name();
        for r in 0..n {
            self.rows += 1;
            let row = self.rows;
            let doc = match (&docs, lines.as_mut()) {
                (Some(d), Some(lines)) => match lines.next() {
                    Some((start, end)) => Some(d.slice(start..end)),
                    None => {
                        return Err(DataFusionError::Internal(format!(
                            "the JSON writer gave fewer documents than the {n} rows of a batch"
                        )));
                    }
                },
                _ => None,
            };
            let id = match &ids {
                Some(ids) if ids.is_null(r) => {
                    self.bad(row, &doc, "NULL id", format!(
                        "the id (`{}`) is NULL; a document without an id would be added again by every run",
                        c.id.as_deref().unwrap_or_default()
                    ))
                    .await?;
                    continue;
                }
                Some(ids) => Some(json_string(ids.value(r))),
                None => None,
            };
            let index = match &times {
                None => self.index_json.clone(),
                Some(t) => {
                    let name = if t.is_null(r) {
                        None
                    } else {
                        self.index_name(t.value(r))
                    };
                    let Some(name) = name else {
                        self.bad(row, &doc, "NULL time", format!(
                            "index_time_column `{}` is NULL or not a time, so the row has no index",
                            c.index_time_column.as_deref().unwrap_or_default()
                        ))
                        .await?;
                        continue;
                    };
                    let json = json_string(&name);
                    if c.refresh {
                        self.indices.insert(name);
                    }
                    json
                }
            };
            let action = match id {
                Some(id) => format!("{{\"{action}\":{{\"_index\":{index},\"_id\":{id}}}}}"),
                None => format!("{{\"{action}\":{{\"_index\":{index}}}}}"),
            };
            out.push(Item { row, action, doc });
        }
        Ok(out)
    }

    /// The index for a time in milliseconds since the epoch (UTC).
    fn index_name(&self, millis: i64) -> Option<String> {
        let pattern = self.sink.pattern.as_ref()?;
        let at = chrono::DateTime::from_timestamp_millis(millis)?;
        let mut name = String::new();
        write!(name, "{}", at.format_with_items(pattern.iter())).ok()?;
        Some(name)
    }

    async fn bad(&self, row: u64, doc: &Option<Bytes>, kind: &str, reason: String) -> Result<()> {
        self.rejects
            .reject(BadRecord {
                raw: doc
                    .as_ref()
                    .map(|d| String::from_utf8_lossy(d).into_owned())
                    .unwrap_or_default(),
                reason,
                kind: kind.to_string(),
                position: format!("row {row}"),
            })
            .await
    }
}

/// The `(start, end)` of each line of `text`, without its newline.
fn line_ranges(text: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= text.len() {
            return None;
        }
        let end = text[start..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(text.len(), |p| start + p);
        let range = (start, end);
        start = end + 1;
        Some(range)
    })
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

#[async_trait]
impl Sink for EsSink {
    async fn prepare(
        &self,
        mut stream: SendableRecordBatchStream,
        ctx: &SessionContext,
    ) -> Result<Box<dyn Pending>> {
        let c = &self.config;
        let rejects = StageRejects::of(ctx);
        let names: Vec<String> = self.nodes.iter().map(shown).collect();
        let name = names.join(", ");
        let client = http::client(c.ca_file.as_deref(), c.timeout.0, "ca_file")
            .map_err(|e| DataFusionError::Execution(format!("elasticsearch {name}: {e}")))?;
        for node in &self.nodes {
            http::check_url(node).await.map_err(|e| {
                DataFusionError::Execution(format!("elasticsearch {}: {e}", shown(node)))
            })?;
        }
        let cluster = Arc::new(Cluster {
            client,
            bulk_urls: self.nodes.iter().map(|n| endpoint(n, "_bulk")).collect(),
            next: AtomicUsize::new(0),
            name: name.clone(),
            auth: c.auth.clone(),
            gzip: c.compression == EsCompression::Gzip,
            action: c.action,
            retry: Retry {
                max_retries: c.max_retries,
                initial_delay: c.retry_delay.0,
                max_delay: MAX_RETRY_DELAY.max(c.retry_delay.0),
            },
            rejects: rejects.clone(),
        });
        let schema = stream.schema();
        let mut encoder = Encoder::try_new(self, &schema, ctx, &rejects)?;
        let bulk_bytes = usize::try_from(c.bulk_bytes.0).unwrap_or(usize::MAX);
        let mut tasks: JoinSet<Result<Sent>> = JoinSet::new();
        let mut total = Sent::default();
        let mut bulk: Vec<Item> = Vec::new();
        let mut bulk_size = 0usize;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            for item in encoder.items(&batch).await? {
                let size = item.size();
                if !bulk.is_empty()
                    && (bulk.len() >= c.bulk_actions || bulk_size + size > bulk_bytes)
                {
                    let full = std::mem::take(&mut bulk);
                    submit(&mut tasks, &cluster, full, c.concurrency, &mut total).await?;
                    bulk_size = 0;
                }
                bulk_size += size;
                bulk.push(item);
            }
        }
        if !bulk.is_empty() {
            submit(&mut tasks, &cluster, bulk, c.concurrency, &mut total).await?;
        }
        while let Some(done) = tasks.join_next().await {
            add(&mut total, done)?;
        }
        if c.refresh && total.rows > 0 {
            cluster.refresh(&encoder.indices).await?;
        }
        let target = if c.index_time_column.is_some() {
            format!("elasticsearch {name} indices {}", c.index)
        } else {
            format!("elasticsearch {name} index {}", c.index)
        };
        Ok(Box::new(Published(SinkSummary {
            rows: total.rows,
            bytes: total.bytes,
            target,
        })))
    }
}

/// Starts a bulk request once fewer than `concurrency` are in flight.
async fn submit(
    tasks: &mut JoinSet<Result<Sent>>,
    cluster: &Arc<Cluster>,
    items: Vec<Item>,
    concurrency: usize,
    total: &mut Sent,
) -> Result<()> {
    while tasks.len() >= concurrency {
        match tasks.join_next().await {
            Some(done) => add(total, done)?,
            None => break,
        }
    }
    tasks.spawn(cluster.clone().write(items));
    Ok(())
}

fn add(total: &mut Sent, done: Result<Result<Sent>, tokio::task::JoinError>) -> Result<()> {
    let sent =
        done.map_err(|e| DataFusionError::Internal(format!("a bulk request task stopped: {e}")))??;
    total.rows += sent.rows;
    total.bytes += sent.bytes;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcomes(json: &str, sent: usize) -> Vec<Outcome> {
        parse_bulk(json.as_bytes(), sent).expect("a bulk response")
    }

    #[test]
    fn a_response_without_errors_writes_every_document() {
        let r = r#"{"took":3,"errors":false,"items":[{"index":{"_index":"o","_id":"1","status":201}},{"index":{"_index":"o","_id":"2","status":200}}]}"#;
        assert_eq!(outcomes(r, 2), vec![Outcome::Written, Outcome::Written]);
    }

    #[test]
    fn per_item_errors_retry_429_and_5xx_and_reject_the_rest_with_the_reason() {
        let r = r#"{"took":3,"errors":true,"items":[
            {"index":{"_index":"o","_id":"1","status":201,"result":"created"}},
            {"index":{"_index":"o","_id":"2","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"}}},
            {"create":{"_index":"o","_id":"3","status":409,"error":{"type":"version_conflict_engine_exception","reason":"[3]: version conflict, document already exists (current version [1])"}}},
            {"index":{"_index":"o","_id":"4","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [amount] of type [float]","caused_by":{"type":"number_format_exception","reason":"For input string: \"x\""}}}},
            {"index":{"_index":"o","_id":"5","status":503,"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}},
            {"delete":{"_index":"o","_id":"6","status":404,"result":"not_found"}},
            {"update":{"_index":"o","_id":"7","status":404,"error":{"type":"document_missing_exception","reason":"[7]: document missing"}}}
        ]}"#;
        let got = outcomes(r, 7);
        assert_eq!(got[0], Outcome::Written);
        assert!(
            matches!(&got[1], Outcome::Retry(e) if e.kind == "es_rejected_execution_exception"
                && e.reason == "es_rejected_execution_exception: rejected execution of coordinating operation (HTTP 429, index o)"),
            "{:?}",
            got[1]
        );
        assert_eq!(
            got[2],
            Outcome::Bad(ItemError {
                kind: "version_conflict_engine_exception".into(),
                reason: "version_conflict_engine_exception: [3]: version conflict, document already exists (current version [1]) (HTTP 409, index o)".into(),
            })
        );
        assert!(
            matches!(&got[3], Outcome::Bad(e) if e.kind == "mapper_parsing_exception"
                && e.reason.contains("(caused by number_format_exception: For input string: \"x\")")),
            "{:?}",
            got[3]
        );
        assert!(matches!(&got[4], Outcome::Retry(e) if e.reason.contains("HTTP 503")));
        assert_eq!(got[5], Outcome::Written);
        assert!(matches!(&got[6], Outcome::Bad(e) if e.kind == "document_missing_exception"));
    }

    #[test]
    fn a_response_that_does_not_match_the_request_is_an_error() {
        let r = r#"{"errors":false,"items":[{"index":{"status":201}}]}"#;
        let e = parse_bulk(r.as_bytes(), 2).unwrap_err();
        assert!(e.contains("names 1 documents for 2 sent"), "{e}");
        let e = parse_bulk(b"<html>bad gateway</html>", 1).unwrap_err();
        assert!(
            e.contains("not a bulk response") && e.contains("<html>"),
            "{e}"
        );
        // An error given as a bare string (old servers) keeps its text.
        let r = r#"{"errors":true,"items":[{"index":{"status":400,"error":"MapperParsingException[failed]"}}]}"#;
        assert!(
            matches!(&outcomes(r, 1)[0], Outcome::Bad(e) if e.reason.starts_with("MapperParsingException[failed]"))
        );
    }

    #[test]
    fn lines_split_without_their_newlines() {
        let text = b"{\"a\":1}\n{}\n{\"b\":\"x\\ny\"}\n";
        let got: Vec<&[u8]> = line_ranges(text).map(|(s, e)| &text[s..e]).collect();
        assert_eq!(got, [&b"{\"a\":1}"[..], b"{}", b"{\"b\":\"x\\ny\"}"]);
    }

    #[test]
    fn node_urls_keep_their_prefix_and_hide_a_password() {
        let u = url::Url::parse("https://u:pw@es.example.com/proxy/").unwrap();
        assert_eq!(
            endpoint(&u, "_bulk").as_str(),
            "https://u:pw@es.example.com/proxy/_bulk"
        );
        assert_eq!(shown(&u), "https://u:***@es.example.com/proxy");
        let u = url::Url::parse("http://127.0.0.1:9200").unwrap();
        assert_eq!(
            endpoint(&u, "_bulk").as_str(),
            "http://127.0.0.1:9200/_bulk"
        );
    }

    fn config(yaml: &str) -> EsSinkConfig {
        serde_json::from_value(serde_json::from_str::<Value>(yaml).unwrap()).unwrap()
    }

    #[test]
    fn options_are_checked() {
        let err = |json: &str| match build_sink(config(json)) {
            Ok(_) => panic!("{json} built"),
            Err(e) => format!("{}: {}", e.key, e.message),
        };
        assert!(
            build_sink(config(
                r#"{"url":"http://127.0.0.1:9200","index":"o","id":"order_id"}"#
            ))
            .is_ok()
        );
        assert!(err(r#"{"index":"o"}"#).contains("give `url`"));
        assert!(err(r#"{"url":"ftp://x","index":"o"}"#).starts_with("url:"));
        assert!(err(r#"{"url":"http://x","index":"o","action":"delete"}"#).starts_with("id:"));
        assert!(
            err(r#"{"url":"http://x","index":"o","bulk_actions":0}"#).starts_with("bulk_actions:")
        );
        assert!(
            err(r#"{"url":"http://x","index":"o","concurrency":1000}"#).starts_with("concurrency:")
        );
        assert!(err(r#"{"url":"http://x","index":"logs-%Y"}"#).contains("index_time_column"));
        assert!(
            err(r#"{"url":"http://x","index":"logs-%Q","index_time_column":"ts"}"#)
                .contains("strftime")
        );
    }

    #[test]
    fn daily_index_names_come_from_the_time_in_utc() {
        let pattern = StrftimeItems::new("logs-%Y.%m.%d")
            .parse_to_owned()
            .unwrap();
        let s = EsSink {
            config: config(
                r#"{"url":"http://x","index":"logs-%Y.%m.%d","index_time_column":"ts"}"#,
            ),
            nodes: vec![],
            pattern: Some(pattern),
        };
        let rejects = StageRejects::of(&SessionContext::new());
        let enc = Encoder {
            sink: &s,
            id: None,
            time: None,
            index_json: String::new(),
            rows: 0,
            indices: BTreeSet::new(),
            rejects: &rejects,
        };
        // 2026-03-01T23:30:00Z
        assert_eq!(
            enc.index_name(1_772_407_800_000).as_deref(),
            Some("logs-2026.03.01")
        );
    }
}
