//! The HTTP handlers: thin functions from a request to the manager or the store and back.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use fust_config::JobSpec;
use fust_engine::{CompiledJob, Registry};
use fust_service::{
    JobManager, JobRecord, JobVersion, LogLine, RunEvent, RunFilter, RunRecord, RunState,
};
use futures::Stream;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult};
use super::guard::{DataRoots, check_paths, check_secrets};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub manager: JobManager,
    pub registry: Arc<Registry>,
    pub roots: Arc<DataRoots>,
    pub preview_max_rows: usize,
    pub openapi: Arc<serde_json::Value>,
    pub prometheus: metrics_exporter_prometheus::PrometheusHandle,
}

/// The file name a request body is given in messages (`request body:3:7: …`).
const BODY: &str = "request body";

// ---------- bodies ----------

/// `GET /health`.
#[derive(Serialize, JsonSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
}

/// A stored job.
#[derive(Serialize, JsonSchema)]
pub struct JobView {
    pub name: String,
    /// Increases by one with every change of the definition.
    pub version: i64,
    /// The job file as submitted (YAML or JSON); secrets in it are `${VAR}` references.
    pub definition: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub updated_at: i64,
    /// The cron expression, when the job has one.
    pub cron: Option<String>,
    /// The next cron time (ms since the epoch), when scheduled.
    pub next_run_at: Option<i64>,
    pub after: Vec<String>,
}

impl JobView {
    fn from_record(r: JobRecord) -> Self {
        let schedule = fust_service::schedule_of(&r.definition);
        let next_run_at = fust_service::scheduler::next_time(&schedule, fust_service::now_ms());
        JobView {
            name: r.name,
            version: r.version,
            definition: r.definition,
            created_at: r.created_at,
            updated_at: r.updated_at,
            cron: schedule.cron.clone(),
            next_run_at,
            after: schedule.after,
        }
    }
}

/// `POST /validate`.
#[derive(Serialize, JsonSchema)]
pub struct Validated {
    pub ok: bool,
    pub name: Option<String>,
    pub inputs: usize,
    pub processors: usize,
    pub output: String,
}

/// `POST /preview`: the first rows of the job's output; nothing is written.
#[derive(Serialize, JsonSchema)]
pub struct PreviewBody {
    pub columns: Vec<Column>,
    /// One JSON object per row.
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
    /// The row limit that was applied.
    pub limit: usize,
}

#[derive(Serialize, JsonSchema)]
pub struct Column {
    pub name: String,
    /// Arrow data type, e.g. `Int64`, `Utf8`, `Timestamp(Microsecond, None)`.
    pub data_type: String,
    pub nullable: bool,
}

/// A plugin and its options' JSON Schema.
#[derive(Serialize, JsonSchema)]
pub struct PluginView {
    pub name: String,
    /// `input`, `processor` or `output`.
    pub role: String,
    pub description: String,
    pub options: serde_json::Value,
    pub example: String,
}

#[derive(Deserialize, JsonSchema, Default)]
pub struct LimitQuery {
    /// Rows to return (default 20, at most the server's `preview_max_rows`).
    pub limit: Option<String>,
}

#[derive(Deserialize, JsonSchema, Default)]
pub struct RunsQuery {
    /// Only runs of this job.
    pub job: Option<String>,
    /// Only runs in this state: pending, running, succeeded, failed, cancelled.
    pub state: Option<String>,
    /// Newest runs first, at most this many (default 100, at most 1000).
    pub limit: Option<String>,
}

#[derive(Deserialize, JsonSchema, Default)]
pub struct LogsQuery {
    /// Only lines after this sequence number.
    pub after: Option<String>,
    /// At most this many lines (default 1000).
    pub limit: Option<String>,
}

fn number(name: &str, value: Option<&str>, default: i64, max: i64) -> ApiResult<i64> {
    let Some(v) = value else { return Ok(default) };
    match v.trim().parse::<i64>() {
        Ok(n) if (0..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::bad_request(format!(
            "query parameter `{name}` must be an integer from 0 to {max}, got `{v}`"
        ))),
    }
}

fn text_body(body: &Bytes) -> ApiResult<&str> {
    let text = std::str::from_utf8(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the request body is not UTF-8 text ({e}); send the job as YAML or JSON"
        ))
    })?;
    if text.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the request body is empty; send a job file (YAML or JSON) with `input` and `output`",
        ));
    }
    Ok(text)
}

/// Parses, builds and checks a job body: every problem at once, with line and column.
fn compile(state: &AppState, text: &str) -> ApiResult<CompiledJob> {
    let (spec, mut diags) = JobSpec::parse_partial(text, BODY);
    check_secrets(text, &spec, &state.registry, &mut diags);
    check_paths(&spec, &state.roots, &mut diags);
    Ok(state.registry.compile_partial(&spec, diags)?)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn job_name(job: &CompiledJob, from_path: Option<&str>) -> ApiResult<String> {
    let name = match (job.spec.name.as_deref(), from_path) {
        (Some(n), Some(p)) if n != p => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("the body's `name: {n}` differs from the job in the URL (`{p}`)"),
            ));
        }
        (Some(n), _) => n.to_string(),
        (None, Some(p)) => p.to_string(),
        (None, None) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "a job stored on the server needs a `name:` (letters, digits, `_`, `-`, `.`)",
            ));
        }
    };
    if !valid_name(&name) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("`{name}` is not a valid job name: use 1–200 letters, digits, `_`, `-` or `.`"),
        ));
    }
    Ok(name)
}

// ---------- handlers ----------

pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    })
}

pub async fn openapi(State(s): State<AppState>) -> Json<serde_json::Value> {
    Json((*s.openapi).clone())
}

pub async fn plugins(State(s): State<AppState>) -> Json<Vec<PluginView>> {
    let r = &s.registry;
    Json(
        r.sources()
            .chain(r.processors())
            .chain(r.sinks())
            .map(|p| PluginView {
                name: p.name.to_string(),
                role: p.role.noun().to_string(),
                description: p.description.to_string(),
                options: p.options.as_value().clone(),
                example: p.example.to_string(),
            })
            .collect(),
    )
}

pub async fn validate(State(s): State<AppState>, body: Bytes) -> ApiResult<Json<Validated>> {
    let job = compile(&s, text_body(&body)?)?;
    job.plan().await?;
    Ok(Json(Validated {
        ok: true,
        name: job.spec.name.clone(),
        inputs: job.inputs.len(),
        processors: job.processors.len(),
        output: job
            .spec
            .output
            .as_ref()
            .map_or(String::new(), |o| o.kind.clone()),
    }))
}

pub async fn preview(
    State(s): State<AppState>,
    Query(q): Query<LimitQuery>,
    body: Bytes,
) -> ApiResult<Json<PreviewBody>> {
    let limit = number("limit", q.limit.as_deref(), 20, s.preview_max_rows as i64)? as usize;
    let job = compile(&s, text_body(&body)?)?;
    let batches = job.preview(limit).await?;
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => job
            .plan()
            .await
            .map(|p| Arc::new(p.schema().as_arrow().clone()))?,
    };
    let columns = schema
        .fields()
        .iter()
        .map(|f| Column {
            name: f.name().clone(),
            data_type: f.data_type().to_string(),
            nullable: f.is_nullable(),
        })
        .collect();
    let mut writer = datafusion::arrow::json::ArrayWriter::new(Vec::new());
    for b in &batches {
        writer
            .write(b)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    }
    writer
        .finish()
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let json = writer.into_inner();
    let rows: Vec<serde_json::Map<String, serde_json::Value>> = if json.is_empty() {
        Vec::new()
    } else {
        serde_json::from_slice(&json)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    };
    Ok(Json(PreviewBody {
        columns,
        rows,
        limit,
    }))
}

pub async fn list_jobs(State(s): State<AppState>) -> ApiResult<Json<Vec<JobView>>> {
    let jobs = s.manager.store().list_jobs().await?;
    Ok(Json(jobs.into_iter().map(JobView::from_record).collect()))
}

pub async fn create_job(State(s): State<AppState>, body: Bytes) -> ApiResult<Response> {
    let text = text_body(&body)?;
    let job = compile(&s, text)?;
    let name = job_name(&job, None)?;
    let record = s.manager.store().create_job(&name, text).await?;
    Ok((StatusCode::CREATED, Json(JobView::from_record(record))).into_response())
}

pub async fn put_job(
    State(s): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let text = text_body(&body)?;
    let job = compile(&s, text)?;
    let name = job_name(&job, Some(&name))?;
    let (record, created) = s.manager.store().put_job(&name, text).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(JobView::from_record(record))).into_response())
}

pub async fn get_job(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<JobView>> {
    match s.manager.store().get_job(&name).await? {
        Some(r) => Ok(Json(JobView::from_record(r))),
        None => Err(ApiError::not_found(format!("job `{name}` not found"))),
    }
}

pub async fn delete_job(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    if s.manager.store().delete_job(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("job `{name}` not found")))
    }
}

pub async fn job_versions(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<JobVersion>>> {
    let versions = s.manager.store().job_versions(&name).await?;
    if versions.is_empty() {
        return Err(ApiError::not_found(format!("job `{name}` not found")));
    }
    Ok(Json(versions))
}

pub async fn trigger(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    let run = s.manager.trigger(&name, "api", None).await?;
    Ok((StatusCode::ACCEPTED, Json(run)).into_response())
}

pub async fn list_runs(
    State(s): State<AppState>,
    Query(q): Query<RunsQuery>,
) -> ApiResult<Json<Vec<RunRecord>>> {
    let state = match q.state.as_deref() {
        None => None,
        Some(v) => Some(RunState::parse(v).ok_or_else(|| {
            ApiError::bad_request(format!(
                "query parameter `state` must be one of pending, running, succeeded, failed, cancelled; got `{v}`"
            ))
        })?),
    };
    let limit = number("limit", q.limit.as_deref(), 100, 1000)?;
    let runs = s
        .manager
        .store()
        .list_runs(RunFilter {
            job: q.job,
            state,
            limit: Some(limit),
        })
        .await?;
    Ok(Json(
        runs.into_iter().map(|r| with_live(&s.manager, r)).collect(),
    ))
}

/// A running run's counters from memory (the store has them only every few seconds).
fn with_live(manager: &JobManager, mut run: RunRecord) -> RunRecord {
    if run.state == RunState::Running
        && let Some((rows_in, rows_out, bytes_out)) = manager.live(&run.id)
    {
        run.rows_in = rows_in as i64;
        run.rows_out = rows_out as i64;
        run.bytes_out = bytes_out as i64;
    }
    run
}

async fn find_run(s: &AppState, id: &str) -> ApiResult<RunRecord> {
    match s.manager.store().get_run(id).await? {
        Some(r) => Ok(with_live(&s.manager, r)),
        None => Err(ApiError::not_found(format!("run `{id}` not found"))),
    }
}

pub async fn get_run(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<RunRecord>> {
    Ok(Json(find_run(&s, &id).await?))
}

pub async fn cancel_run(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let run = s.manager.cancel(&id).await?;
    Ok((StatusCode::ACCEPTED, Json(run)).into_response())
}

pub async fn run_logs(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<LogsQuery>,
) -> ApiResult<Json<Vec<LogLine>>> {
    find_run(&s, &id).await?;
    let after = number("after", q.after.as_deref(), 0, i64::MAX)?;
    let limit = number("limit", q.limit.as_deref(), 1000, 10_000)?;
    Ok(Json(s.manager.store().logs(&id, after, limit).await?))
}

/// Live progress of a run as Server-Sent Events: `state` events (a [`RunEvent`] in JSON)
/// on every change and about twice a second while it runs; the stream ends when the run
/// has finished.
pub async fn run_events(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let rx = s.manager.subscribe();
    let run = find_run(&s, &id).await?;
    let first = RunEvent::of(&run);
    let manager = s.manager.clone();
    let stream = futures::stream::unfold(
        (Some(first), Some(rx), manager, id),
        |(pending, rx, manager, id)| async move {
            if let Some(ev) = pending {
                let done = ev.state.is_terminal();
                let next_rx = if done { None } else { rx };
                return Some((Ok(event(&ev)), (None, next_rx, manager, id)));
            }
            let mut rx = rx?;
            loop {
                match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
                    Ok(Ok(ev)) if ev.run_id == id => {
                        let done = ev.state.is_terminal();
                        let next = if done { None } else { Some(rx) };
                        return Some((Ok(event(&ev)), (None, next, manager, id)));
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) | Err(_) => {
                        // Missed events or a quiet while: look at the store.
                        if let Ok(Some(run)) = manager.store().get_run(&id).await
                            && run.state.is_terminal()
                        {
                            let ev = RunEvent::of(&run);
                            return Some((Ok(event(&ev)), (None, None, manager, id)));
                        }
                    }
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => return None,
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn event(ev: &RunEvent) -> Event {
    Event::default()
        .event("state")
        .data(serde_json::to_string(ev).unwrap_or_default())
}

pub async fn metrics(State(s): State<AppState>) -> ApiResult<Response> {
    let text = super::metrics::render(&s.manager, &s.prometheus).await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok((headers, text).into_response())
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; GET /openapi.json lists them")
}
