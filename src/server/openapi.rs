//! The OpenAPI 3 document served at `/openapi.json`: paths written here, body schemas
//! generated from the same Rust types the handlers serialize (schemars).

use fust_service::{JobVersion, LogLine, RunEvent, RunRecord};
use schemars::JsonSchema;
use schemars::generate::{Contract, SchemaGenerator, SchemaSettings};
use serde_json::{Value, json};

use super::api::{Health, JobView, PluginView, PreviewBody, Validated};
use super::error::ErrorBody;

struct Doc {
    generator: SchemaGenerator,
}

impl Doc {
    fn schema<T: JsonSchema>(&mut self) -> Value {
        self.generator.subschema_for::<T>().to_value()
    }

    fn json<T: JsonSchema>(&mut self, description: &str) -> Value {
        json!({"description": description, "content": {"application/json": {"schema": self.schema::<T>()}}})
    }

    fn error(&mut self, description: &str) -> Value {
        self.json::<ErrorBody>(description)
    }
}

fn job_body() -> Value {
    json!({
        "required": true,
        "description": "A job file, as YAML or JSON (the format of `fust run` job files; see `GET /plugins` and `fust schema`). Secrets must be `${VAR}` references to the server's environment.",
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}}
        }
    })
}

fn param(name: &str, place: &str, description: &str, required: bool) -> Value {
    json!({"name": name, "in": place, "required": required, "description": description, "schema": {"type": "string"}})
}

/// Builds the document. `auth` adds the bearer scheme to every operation but `/health`.
pub fn document(auth: bool) -> Value {
    let settings = SchemaSettings::openapi3().with(|s| s.contract = Contract::Serialize);
    let mut d = Doc {
        generator: SchemaGenerator::new(settings),
    };
    let job_path = param("name", "path", "The job's name.", true);
    let run_path = param("id", "path", "The run's id.", true);
    let bad = d.error("Invalid query parameters or a body that is not UTF-8.");
    let unauthorized = d.error("Missing or wrong bearer token.");
    let invalid =
        d.error("The job is invalid: every problem with its line and column in the body.");
    let too_large = json!({"description": "The body is larger than the server's `body_limit`."});
    let not_found = d.error("No such job or run.");
    let conflict = d.error("A job with this name exists, or the run has finished.");
    let unavailable = d.error("The metadata store is unreachable, or the server is shutting down.");
    let gateway = d.error("A system the job reads or writes failed (storage, database).");
    let internal = d.error("A bug in Fust.");
    let job_view = d.json::<JobView>("The job.");
    let jobs = json!({"description": "Every job, by name.", "content": {"application/json": {"schema": {"type": "array", "items": d.schema::<JobView>()}}}});
    let versions = json!({"description": "Every version of the job, oldest first.", "content": {"application/json": {"schema": {"type": "array", "items": d.schema::<JobVersion>()}}}});
    let run = d.json::<RunRecord>("The run.");
    let runs = json!({"description": "Runs, newest first.", "content": {"application/json": {"schema": {"type": "array", "items": d.schema::<RunRecord>()}}}});
    let logs = json!({"description": "The run's log lines, in order.", "content": {"application/json": {"schema": {"type": "array", "items": d.schema::<LogLine>()}}}});
    let plugins = json!({"description": "Connectors and processors with their options' JSON Schema.", "content": {"application/json": {"schema": {"type": "array", "items": d.schema::<PluginView>()}}}});
    let validated =
        d.json::<Validated>("The job is valid (its plan was built against the inputs' schemas).");
    let preview = d.json::<PreviewBody>("The first rows of the job's output; nothing was written.");
    let health = d.json::<Health>("The server is up.");
    // Documents the event payload; SSE bodies are text.
    let _ = d.schema::<RunEvent>();
    let common = |extra: Vec<(&str, &Value)>| {
        let mut m = serde_json::Map::new();
        for (code, v) in extra {
            m.insert(code.to_string(), v.clone());
        }
        // A malformed path or query (bad percent-encoding, repeated parameters).
        m.entry("400").or_insert_with(|| bad.clone());
        if auth {
            m.insert("401".into(), unauthorized.clone());
        }
        m.insert("503".into(), unavailable.clone());
        Value::Object(m)
    };
    let with_body = |op: Value| {
        let mut op = op;
        op["requestBody"] = job_body();
        op
    };
    let mut paths = json!({
        "/health": {"get": {"operationId": "health", "summary": "Liveness; needs no token.", "security": [], "responses": {"200": health}}},
        "/openapi.json": {"get": {"operationId": "openapi", "summary": "This document.", "responses": common(vec![("200", &json!({"description": "The OpenAPI document.", "content": {"application/json": {"schema": {"type": "object"}}}}))])}},
        "/metrics": {"get": {"operationId": "metrics", "summary": "Prometheus metrics: runs by state, rows and bytes per job, run durations, failures, queue depth, active runs.", "responses": common(vec![("200", &json!({"description": "Prometheus text format 0.0.4.", "content": {"text/plain": {"schema": {"type": "string"}}}}))])}},
        "/plugins": {"get": {"operationId": "plugins", "summary": "Connectors and processors with their options.", "responses": common(vec![("200", &plugins)])}},
        "/validate": {"post": with_body(json!({"operationId": "validate", "summary": "Checks a job (options, SQL, plan against the inputs' schemas) without running it.", "responses": common(vec![("200", &validated), ("400", &bad), ("413", &too_large), ("422", &invalid), ("502", &gateway), ("500", &internal)])}))},
        "/preview": {"post": with_body(json!({"operationId": "preview", "summary": "The first rows of a job's output; nothing is written.", "parameters": [param("limit", "query", "Rows to return (default 20, at most the server's preview_max_rows).", false)], "responses": common(vec![("200", &preview), ("400", &bad), ("413", &too_large), ("422", &invalid), ("502", &gateway), ("500", &internal)])}))},
        "/jobs": {
            "get": {"operationId": "listJobs", "summary": "Every job.", "responses": common(vec![("200", &jobs)])},
            "post": with_body(json!({"operationId": "createJob", "summary": "Stores a new job (its `name:` names it).", "responses": common(vec![("201", &job_view), ("400", &bad), ("409", &conflict), ("413", &too_large), ("422", &invalid)])}))
        },
        "/jobs/{name}": {
            "parameters": [job_path],
            "get": {"operationId": "getJob", "summary": "A job with its current definition.", "responses": common(vec![("200", &job_view), ("404", &not_found)])},
            "put": with_body(json!({"operationId": "putJob", "summary": "Creates the job or stores a new version of it.", "responses": common(vec![("200", &job_view), ("201", &job_view), ("400", &bad), ("413", &too_large), ("422", &invalid)])})),
            "delete": {"operationId": "deleteJob", "summary": "Deletes the job (its runs and versions stay in the history).", "responses": common(vec![("204", &json!({"description": "Deleted."})), ("404", &not_found)])}
        },
        "/jobs/{name}/versions": {"parameters": [job_path], "get": {"operationId": "jobVersions", "summary": "Every version of a job's definition.", "responses": common(vec![("200", &versions), ("404", &not_found)])}},
        "/jobs/{name}/runs": {"parameters": [job_path], "post": {"operationId": "triggerRun", "summary": "Queues a run of the job's current version.", "responses": common(vec![("202", &d.json::<RunRecord>("The queued run (state pending).")), ("404", &not_found)])}},
        "/runs": {"get": {"operationId": "listRuns", "summary": "Runs, newest first.", "parameters": [param("job", "query", "Only runs of this job.", false), param("state", "query", "Only runs in this state: pending, running, succeeded, failed, cancelled.", false), param("limit", "query", "At most this many (default 100, at most 1000).", false)], "responses": common(vec![("200", &runs), ("400", &bad)])}},
        "/runs/{id}": {"parameters": [run_path], "get": {"operationId": "getRun", "summary": "A run, with live counters while it runs.", "responses": common(vec![("200", &run), ("404", &not_found)])}},
        "/runs/{id}/cancel": {"parameters": [run_path], "post": {"operationId": "cancelRun", "summary": "Cancels a pending or running run; its output is not published.", "responses": common(vec![("202", &run), ("404", &not_found), ("409", &conflict)])}},
        "/runs/{id}/logs": {"parameters": [run_path], "get": {"operationId": "runLogs", "summary": "A run's log lines.", "parameters": [param("after", "query", "Only lines after this sequence number.", false), param("limit", "query", "At most this many lines (default 1000, at most 10000).", false)], "responses": common(vec![("200", &logs), ("400", &bad), ("404", &not_found)])}},
        "/runs/{id}/events": {"parameters": [run_path], "get": {"operationId": "runEvents", "summary": "Live progress as Server-Sent Events: `event: state` with a RunEvent JSON on every change and twice a second while running; ends when the run finishes.", "responses": common(vec![("200", &json!({"description": "An event stream; each event's `data` is a RunEvent in JSON.", "content": {"text/event-stream": {"schema": {"type": "object", "required": ["event", "data"], "properties": {"event": {"type": "string", "enum": ["state"]}, "data": {"type": "string"}}}}}})), ("404", &not_found)])}}
    });
    if !auth && let Some(h) = paths.pointer_mut("/~1health/get") {
        h.as_object_mut().map(|o| o.remove("security"));
    }
    let schemas = d.generator.take_definitions(true);
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Fust job service",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Submit, schedule, run and watch Fust jobs. Times are milliseconds since the Unix epoch (UTC)."
        },
        "paths": paths,
        "components": {"schemas": schemas}
    });
    if auth {
        doc["components"]["securitySchemes"] =
            json!({"bearer": {"type": "http", "scheme": "bearer"}});
        doc["security"] = json!([{"bearer": []}]);
    }
    doc
}
