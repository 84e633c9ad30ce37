//! The HTTP handlers: thin functions from a request to the manager or the store and back.
// utoipa's `params(...)` expansion names the `IntoParams` types with a path the
// `unused_qualifications` lint flags.
#![allow(unused_qualifications)]

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fust_config::JobSpec;
use fust_engine::{CompiledJob, Registry};
use fust_service::{JobManager, JobRecord, JobVersion, LogLine, RunFilter, RunRecord, RunState};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult, ErrorBody, Problem};
use super::guard::{DataRoots, check_paths, check_secrets};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub manager: JobManager,
    pub registry: Arc<Registry>,
    pub roots: Arc<DataRoots>,
    /// What `${...}` in a submitted job may read.
    pub variables: Arc<fust_config::Variables>,
    pub preview_max_rows: usize,
    /// Time limit of `/preview` and `/validate`, worker slot included.
    pub preview_timeout: std::time::Duration,
    pub openapi: Arc<serde_json::Value>,
    pub prometheus: metrics_exporter_prometheus::PrometheusHandle,
    /// Fires when the server stops: live event streams end with it.
    pub stop: tokio_util::sync::CancellationToken,
    /// Whether requests need a bearer token (shown by `/health`).
    pub token_required: bool,
}

/// The file name a request body is given in messages (`request body:3:7: …`).
const BODY: &str = "request body";

// ---------- bodies ----------

/// `GET /health`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
    /// Whether the other endpoints need a bearer token, so that a client (the console)
    /// can ask for one before its first request is refused.
    pub token_required: bool,
}

/// A stored job.
#[derive(Serialize, ToSchema)]
pub struct JobView {
    pub name: String,
    /// Increases by one with every change of the definition.
    pub version: i64,
    /// The job file as submitted (YAML or JSON); secrets in it are `${VAR}` references.
    pub definition: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub updated_at: i64,
    /// False when the job is disabled (`POST /jobs/{name}/disable`): the scheduler starts
    /// no cron or `after:` runs of it; a manual run still starts.
    pub enabled: bool,
    /// The cron expression, when the job has one.
    pub cron: Option<String>,
    /// The next cron time (ms since the epoch), when scheduled and enabled.
    pub next_run_at: Option<i64>,
    pub after: Vec<String>,
    /// The job's newest run, if it has one.
    pub last_run: Option<LastRun>,
}

/// The newest run of a job, as the jobs list shows it (the whole run: `GET /runs/{id}`).
#[derive(Serialize, ToSchema)]
pub struct LastRun {
    pub id: String,
    pub state: RunState,
    /// What started it: `api`, `cron`, `after`, `retry` or `resume`.
    pub trigger: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
}

impl LastRun {
    fn of(r: RunRecord) -> Self {
        LastRun {
            id: r.id,
            state: r.state,
            trigger: r.trigger,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            error: r.error,
        }
    }
}

impl JobView {
    pub(crate) fn from_record(r: JobRecord, last_run: Option<RunRecord>) -> Self {
        let schedule = fust_service::schedule_of(&r.definition);
        let next_run_at = if r.enabled {
            fust_service::scheduler::next_time(&schedule, fust_service::now_ms())
        } else {
            None
        };
        JobView {
            name: r.name,
            version: r.version,
            definition: r.definition,
            created_at: r.created_at,
            updated_at: r.updated_at,
            enabled: r.enabled,
            cron: schedule.cron.clone(),
            next_run_at,
            after: schedule.after,
            last_run: last_run.map(LastRun::of),
        }
    }
}

/// A job as stored, with its newest run.
async fn job_view(s: &AppState, r: JobRecord) -> ApiResult<JobView> {
    let last = s.manager.store().last_run(&r.name).await?;
    Ok(JobView::from_record(r, last))
}

/// `POST /validate`.
#[derive(Serialize, ToSchema)]
pub struct Validated {
    pub ok: bool,
    /// With `?report=true`, when `ok` is false: every problem with its line and column.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
    /// With `?report=true`, when `ok` is false: what is wrong, in one paragraph.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub name: Option<String>,
    pub inputs: usize,
    pub processors: usize,
    pub output: String,
}

/// `POST /explain`: the job's plans, as `fust explain` prints them.
#[derive(Serialize, ToSchema)]
pub struct Explained {
    /// The optimized logical plan and the physical plan (`== logical_plan ==`, `==
    /// physical_plan ==` sections), the text `fust explain JOB` prints.
    pub plan: String,
}

/// `POST /preview`: the first rows of the job's output; nothing is written.
#[derive(Serialize, ToSchema)]
pub struct PreviewBody {
    pub columns: Vec<Column>,
    /// One JSON object per row.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
    /// The row limit that was applied.
    pub limit: usize,
}

#[derive(Serialize, ToSchema)]
pub struct Column {
    pub name: String,
    /// Arrow data type, e.g. `Int64`, `Utf8`, `Timestamp(Microsecond, None)`.
    pub data_type: String,
    pub nullable: bool,
}

/// A plugin and its options' JSON Schema.
#[derive(Serialize, ToSchema)]
pub struct PluginView {
    pub name: String,
    /// `input`, `processor` or `output`.
    pub role: String,
    pub description: String,
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    pub example: String,
}

/// One Server-Sent Event of `GET /runs/{id}/events` and `GET /events`, for the API document (the stream is
/// written by axum's `Sse`).
#[derive(Serialize, ToSchema)]
pub struct StateEvent {
    pub event: StateEventName,
    /// A RunEvent, as JSON.
    pub data: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[expect(dead_code, reason = "documents the event stream; never built")]
pub enum StateEventName {
    State,
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct ValidateQuery {
    /// `true`: an invalid job is answered 200 with `ok: false` and its problems instead
    /// of 422 (the console validates as you type; a browser logs every 4xx as an error).
    pub report: Option<bool>,
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct LimitQuery {
    /// Rows to return (default 20, at most the server's `preview_max_rows`).
    pub limit: Option<String>,
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// Only runs of this job.
    pub job: Option<String>,
    /// Only runs in this state: pending, running, succeeded, failed, cancelled.
    pub state: Option<String>,
    /// Newest runs first, at most this many (default 100, at most 1000).
    pub limit: Option<String>,
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
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
    let (spec, mut diags) = JobSpec::parse_partial_with(text, BODY, &state.variables);
    check_secrets(text, &spec, &state.registry, &mut diags);
    check_paths(&spec, &state.roots, &mut diags);
    Ok(state.registry.compile_partial(&spec, diags)?)
}

/// Runs request work in a worker slot (so it counts against the run limit) and within
/// `preview_timeout`; dropped, and so cancelled, when the client goes away.
async fn in_time<T>(
    s: &AppState,
    what: &str,
    work: impl std::future::Future<Output = ApiResult<T>>,
) -> ApiResult<T> {
    let limited = async {
        let _slot = s.manager.worker_slot().await?;
        work.await
    };
    tokio::time::timeout(s.preview_timeout, limited)
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "{what} did not finish within {:?} (the server's `preview_timeout`); \
                     narrow the job or raise the limit",
                    s.preview_timeout
                ),
            ))
        })
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

/// How `/validate`, `/explain` and `/preview` fail: they compile the job and plan it
/// against its inputs within `preview_timeout`.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // only its OpenAPI description is used
enum JobCheckFailures {
    #[response(
        status = 400,
        description = "Invalid query parameters or a body that is not UTF-8."
    )]
    BadRequest(ErrorBody),
    #[response(
        status = 413,
        description = "The body is larger than the server's `body_limit`."
    )]
    TooLarge,
    #[response(
        status = 415,
        description = "The body's Content-Type is not YAML or JSON."
    )]
    NotYamlOrJson(ErrorBody),
    #[response(
        status = 422,
        description = "The job is invalid: every problem with its line and column in the body."
    )]
    Invalid(ErrorBody),
    #[response(
        status = 502,
        description = "A system the job reads or writes failed (storage, database)."
    )]
    External(ErrorBody),
    #[response(
        status = 504,
        description = "It did not finish within the server's `preview_timeout` (waiting for a worker slot included)."
    )]
    Timeout(ErrorBody),
    #[response(status = 500, description = "A bug in Fust.")]
    Bug(ErrorBody),
}

// ---------- handlers ----------

#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    summary = "Liveness; needs no token.",
    security(()),
    responses((status = 200, description = "The server is up.", body = Health))
)]
pub async fn health(State(s): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        token_required: s.token_required,
    })
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    summary = "This document.",
    responses((status = 200, description = "The OpenAPI document.", body = Object))
)]
pub async fn openapi(State(s): State<AppState>) -> Json<serde_json::Value> {
    Json((*s.openapi).clone())
}

#[utoipa::path(
    get,
    path = "/plugins",
    operation_id = "plugins",
    summary = "Connectors and processors with their options.",
    responses(
        (status = 200, description = "Connectors and processors with their options' JSON Schema.", body = [PluginView])
    )
)]
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

#[utoipa::path(
    post,
    path = "/validate",
    operation_id = "validate",
    summary = "Checks a job (options, SQL, plan against the inputs' schemas) without running it.",
    request_body(
        description = "A job file, as YAML or JSON (the format of `fust run` job files; see `GET /plugins` and `fust schema`). Send it as `Content-Type: application/yaml` or `application/json`. Secrets must be `${secret:NAME}` references to the server's named secrets.",
        content((String = "application/yaml"), (Object = "application/json"))
    ),
    params(ValidateQuery),
    responses(
        (status = 200, description = "The job is valid (its plan was built against the inputs' schemas); with `?report=true` also an invalid job, with `ok: false` and its problems.", body = Validated),
        JobCheckFailures
    )
)]
pub async fn validate(
    State(s): State<AppState>,
    Query(q): Query<ValidateQuery>,
    body: Bytes,
) -> ApiResult<Json<Validated>> {
    match check(&s, &body).await {
        Err(e) if q.report == Some(true) && e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            Ok(Json(Validated {
                ok: false,
                problems: e.body.problems,
                error: Some(e.body.error),
                name: None,
                inputs: 0,
                processors: 0,
                output: String::new(),
            }))
        }
        other => other.map(Json),
    }
}

/// What `POST /validate` finds of a valid job.
async fn check(s: &AppState, body: &Bytes) -> ApiResult<Validated> {
    let job = compile(s, text_body(body)?)?;
    in_time(s, "validating", async { Ok(job.plan().await?) }).await?;
    Ok(Validated {
        ok: true,
        problems: Vec::new(),
        error: None,
        name: job.spec.name.clone(),
        inputs: job.inputs.len(),
        processors: job.processors.len(),
        output: job.spec.describe_outputs(),
    })
}

#[utoipa::path(
    post,
    path = "/explain",
    operation_id = "explain",
    summary = "The job's optimized logical plan and physical plan, as `fust explain` prints them; nothing runs.",
    request_body(
        description = "A job file, as YAML or JSON (the format of `fust run` job files; see `GET /plugins` and `fust schema`). Send it as `Content-Type: application/yaml` or `application/json`. Secrets must be `${secret:NAME}` references to the server's named secrets.",
        content((String = "application/yaml"), (Object = "application/json"))
    ),
    responses(
        (status = 200, description = "The plans, as text.", body = Explained),
        JobCheckFailures
    )
)]
pub async fn explain(State(s): State<AppState>, body: Bytes) -> ApiResult<Json<Explained>> {
    let job = compile(&s, text_body(&body)?)?;
    let plan = in_time(&s, "explaining", async { Ok(job.explain().await?) }).await?;
    Ok(Json(Explained { plan }))
}

#[utoipa::path(
    post,
    path = "/preview",
    operation_id = "preview",
    summary = "The first rows of a job's output; nothing is written.",
    params(LimitQuery),
    request_body(
        description = "A job file, as YAML or JSON (the format of `fust run` job files; see `GET /plugins` and `fust schema`). Send it as `Content-Type: application/yaml` or `application/json`. Secrets must be `${secret:NAME}` references to the server's named secrets.",
        content((String = "application/yaml"), (Object = "application/json"))
    ),
    responses(
        (status = 200, description = "The first rows of the job's output; nothing was written.", body = PreviewBody),
        JobCheckFailures
    )
)]
pub async fn preview(
    State(s): State<AppState>,
    Query(q): Query<LimitQuery>,
    body: Bytes,
) -> ApiResult<Json<PreviewBody>> {
    let limit = number("limit", q.limit.as_deref(), 20, s.preview_max_rows as i64)? as usize;
    let job = compile(&s, text_body(&body)?)?;
    let (batches, schema) = in_time(&s, "the preview", async {
        let batches = job.preview(limit).await?;
        let schema = match batches.first() {
            Some(b) => b.schema(),
            None => job
                .plan()
                .await
                .map(|p| Arc::new(p.schema().as_arrow().clone()))?,
        };
        Ok((batches, schema))
    })
    .await?;
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

#[utoipa::path(
    get,
    path = "/jobs",
    operation_id = "listJobs",
    summary = "Every job.",
    responses((status = 200, description = "Every job, by name.", body = [JobView]))
)]
pub async fn list_jobs(State(s): State<AppState>) -> ApiResult<Json<Vec<JobView>>> {
    let store = s.manager.store();
    let jobs = store.list_jobs().await?;
    let mut last = store.latest_runs().await?;
    Ok(Json(
        jobs.into_iter()
            .map(|j| {
                let run = last.remove(&j.name);
                JobView::from_record(j, run)
            })
            .collect(),
    ))
}

#[utoipa::path(
    post,
    path = "/jobs",
    operation_id = "createJob",
    summary = "Stores a new job (its `name:` names it).",
    request_body(
        description = "A job file, as YAML or JSON (the format of `fust run` job files; see `GET /plugins` and `fust schema`). Send it as `Content-Type: application/yaml` or `application/json`. Secrets must be `${secret:NAME}` references to the server's named secrets.",
        content((String = "application/yaml"), (Object = "application/json"))
    ),
    responses(
        (status = 201, description = "The job.", body = JobView),
        (status = 400, description = "Invalid query parameters or a body that is not UTF-8.", body = ErrorBody),
        (status = 409, description = "A job with this name exists, or the run has finished.", body = ErrorBody),
        (status = 413, description = "The body is larger than the server's `body_limit`."),
        (status = 415, description = "The body's Content-Type is not YAML or JSON.", body = ErrorBody),
        (status = 422, description = "The job is invalid: every problem with its line and column in the body.", body = ErrorBody)
    )
)]
pub async fn create_job(State(s): State<AppState>, body: Bytes) -> ApiResult<Response> {
    let text = text_body(&body)?;
    let job = compile(&s, text)?;
    let name = job_name(&job, None)?;
    let record = s.manager.store().create_job(&name, text).await?;
    // A job created again under an old name shows that name's newest run.
    let view = job_view(&s, record).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

#[utoipa::path(
    put,
    path = "/jobs/{name}",
    operation_id = "putJob",
    summary = "Creates the job or stores a new version of it.",
    params(("name" = String, Path, description = "The job's name.")),
    request_body(
        description = "A job file, as YAML or JSON (the format of `fust run` job files; see `GET /plugins` and `fust schema`). Send it as `Content-Type: application/yaml` or `application/json`. Secrets must be `${secret:NAME}` references to the server's named secrets.",
        content((String = "application/yaml"), (Object = "application/json"))
    ),
    responses(
        (status = 200, description = "The job.", body = JobView),
        (status = 201, description = "The job.", body = JobView),
        (status = 400, description = "Invalid query parameters or a body that is not UTF-8.", body = ErrorBody),
        (status = 413, description = "The body is larger than the server's `body_limit`."),
        (status = 415, description = "The body's Content-Type is not YAML or JSON.", body = ErrorBody),
        (status = 422, description = "The job is invalid: every problem with its line and column in the body.", body = ErrorBody)
    )
)]
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
    Ok((status, Json(job_view(&s, record).await?)).into_response())
}

#[utoipa::path(
    get,
    path = "/jobs/{name}",
    operation_id = "getJob",
    summary = "A job with its current definition.",
    params(("name" = String, Path, description = "The job's name.")),
    responses(
        (status = 200, description = "The job.", body = JobView),
        (status = 404, description = "No such job or run.", body = ErrorBody)
    )
)]
pub async fn get_job(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<JobView>> {
    match s.manager.store().get_job(&name).await? {
        Some(r) => Ok(Json(job_view(&s, r).await?)),
        None => Err(ApiError::not_found(format!("job `{name}` not found"))),
    }
}

#[utoipa::path(
    delete,
    path = "/jobs/{name}",
    operation_id = "deleteJob",
    summary = "Deletes the job (its runs and versions stay in the history).",
    params(("name" = String, Path, description = "The job's name.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such job or run.", body = ErrorBody)
    )
)]
pub async fn delete_job(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    if s.manager.delete_job(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("job `{name}` not found")))
    }
}

#[utoipa::path(
    get,
    path = "/jobs/{name}/versions",
    operation_id = "jobVersions",
    summary = "Every version of a job's definition.",
    params(("name" = String, Path, description = "The job's name.")),
    responses(
        (status = 200, description = "Every version of the job, oldest first.", body = [JobVersion]),
        (status = 404, description = "No such job or run.", body = ErrorBody)
    )
)]
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

#[utoipa::path(
    post,
    path = "/jobs/{name}/enable",
    operation_id = "enableJob",
    summary = "Enables the job: its cron schedule starts again from now (times that passed while it was disabled are not run).",
    params(("name" = String, Path, description = "The job's name.")),
    responses(
        (status = 200, description = "The job.", body = JobView),
        (status = 404, description = "No such job or run.", body = ErrorBody)
    )
)]
pub async fn enable_job(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<JobView>> {
    set_enabled(&s, &name, true).await
}

#[utoipa::path(
    post,
    path = "/jobs/{name}/disable",
    operation_id = "disableJob",
    summary = "Disables the job: no cron, `after:` or resumed runs start; a manual run (`POST /jobs/{name}/runs`) still does, and runs already queued or running go on.",
    params(("name" = String, Path, description = "The job's name.")),
    responses(
        (status = 200, description = "The job.", body = JobView),
        (status = 404, description = "No such job or run.", body = ErrorBody)
    )
)]
pub async fn disable_job(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<JobView>> {
    set_enabled(&s, &name, false).await
}

async fn set_enabled(s: &AppState, name: &str, enabled: bool) -> ApiResult<Json<JobView>> {
    match s.manager.set_enabled(name, enabled).await? {
        Some(r) => Ok(Json(job_view(s, r).await?)),
        None => Err(ApiError::not_found(format!("job `{name}` not found"))),
    }
}

#[utoipa::path(
    post,
    path = "/jobs/{name}/runs",
    operation_id = "triggerRun",
    summary = "Queues a run of the job's current version.",
    params(("name" = String, Path, description = "The job's name.")),
    responses(
        (status = 202, description = "The queued run (state pending).", body = RunRecord),
        (status = 404, description = "No such job or run.", body = ErrorBody)
    )
)]
pub async fn trigger(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    let run = s.manager.trigger(&name, "api", None).await?;
    Ok((StatusCode::ACCEPTED, Json(run)).into_response())
}

#[utoipa::path(
    get,
    path = "/runs",
    operation_id = "listRuns",
    summary = "Runs, newest first.",
    params(RunsQuery),
    responses(
        (status = 200, description = "Runs, newest first.", body = [RunRecord]),
        (status = 400, description = "Invalid query parameters or a body that is not UTF-8.", body = ErrorBody)
    )
)]
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
pub(crate) fn with_live(manager: &JobManager, mut run: RunRecord) -> RunRecord {
    if run.state == RunState::Running
        && let Some((rows_in, rows_out, bytes_out)) = manager.live(&run.id)
    {
        run.rows_in = rows_in as i64;
        run.rows_out = rows_out as i64;
        run.bytes_out = bytes_out as i64;
    }
    run
}

pub(crate) async fn find_run(s: &AppState, id: &str) -> ApiResult<RunRecord> {
    match s.manager.store().get_run(id).await? {
        Some(r) => Ok(with_live(&s.manager, r)),
        None => Err(ApiError::not_found(format!("run `{id}` not found"))),
    }
}

#[utoipa::path(
    get,
    path = "/runs/{id}",
    operation_id = "getRun",
    summary = "A run, with live counters while it runs.",
    params(("id" = String, Path, description = "The run's id.")),
    responses(
        (status = 200, description = "The run.", body = RunRecord),
        (status = 404, description = "No such job or run.", body = ErrorBody)
    )
)]
pub async fn get_run(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<RunRecord>> {
    Ok(Json(find_run(&s, &id).await?))
}

#[utoipa::path(
    post,
    path = "/runs/{id}/cancel",
    operation_id = "cancelRun",
    summary = "Cancels a pending or running run; its output is not published.",
    params(("id" = String, Path, description = "The run's id.")),
    responses(
        (status = 202, description = "The run.", body = RunRecord),
        (status = 404, description = "No such job or run.", body = ErrorBody),
        (status = 409, description = "A job with this name exists, or the run has finished.", body = ErrorBody)
    )
)]
pub async fn cancel_run(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let run = s.manager.cancel(&id).await?;
    Ok((StatusCode::ACCEPTED, Json(run)).into_response())
}

#[utoipa::path(
    get,
    path = "/runs/{id}/logs",
    operation_id = "runLogs",
    summary = "A run's log lines.",
    params(("id" = String, Path, description = "The run's id."), LogsQuery),
    responses(
        (status = 200, description = "The run's log lines, in order.", body = [LogLine]),
        (status = 400, description = "Invalid query parameters or a body that is not UTF-8.", body = ErrorBody),
        (status = 404, description = "No such job or run.", body = ErrorBody)
    )
)]
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

#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    summary = "Prometheus metrics: runs by state, rows and bytes per job, run durations, failures, queue depth, active runs, scheduler lag, store errors.",
    responses(
        (status = 200, description = "Prometheus text format 0.0.4.", content_type = "text/plain", body = String)
    )
)]
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
