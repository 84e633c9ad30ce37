//! `fust serve`: the job service. One process holds the HTTP API, the scheduler and the
//! worker pool; the metadata store (SQLite, PostgreSQL or MySQL) keeps jobs, runs, logs
//! and connector state.

pub mod api;
pub mod browser;
pub mod config;
#[cfg(feature = "web-console")]
pub mod console;
pub mod error;
pub mod guard;
pub mod live;
pub mod metrics;
pub mod openapi;
pub mod overview;
pub mod tls;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use fust_engine::{Error, Registry};
use fust_service::{Guard, JobManager, Store, scheduler};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use self::api::AppState;
use self::config::ServerConfig;
use self::error::ApiError;
use self::guard::DataRoots;

/// Bearer tokens; empty means no authentication.
#[derive(Clone)]
struct Tokens(Arc<Vec<String>>);

/// The router with every endpoint; `/health` is outside authentication.
pub fn router(
    state: AppState,
    tokens: Vec<String>,
    body_limit: usize,
    hosts: browser::AllowedHosts,
) -> Router {
    // A browsable API page: static Swagger UI assets (embedded in the binary) and the
    // document it shows, outside authentication like /health (neither holds data).
    let docs = utoipa_swagger_ui::SwaggerUi::new("/docs")
        .url("/docs/openapi.json", openapi::api_doc(!tokens.is_empty()));
    let api = Router::new()
        .route("/openapi.json", get(api::openapi))
        .route("/metrics", get(api::metrics))
        .route("/plugins", get(api::plugins))
        .route("/validate", post(api::validate))
        .route("/preview", post(api::preview))
        .route("/explain", post(api::explain))
        .route("/overview", get(overview::overview))
        .route("/jobs", get(api::list_jobs).post(api::create_job))
        .route(
            "/jobs/{name}",
            get(api::get_job).put(api::put_job).delete(api::delete_job),
        )
        .route("/jobs/{name}/versions", get(api::job_versions))
        .route("/jobs/{name}/runs", post(api::trigger))
        .route("/jobs/{name}/enable", post(api::enable_job))
        .route("/jobs/{name}/disable", post(api::disable_job))
        .route("/runs", get(api::list_runs))
        .route("/runs/{id}", get(api::get_run))
        .route("/runs/{id}/cancel", post(api::cancel_run))
        .route("/runs/{id}/logs", get(api::run_logs))
        .route("/runs/{id}/events", get(live::run_events))
        .route("/runs/{id}/ws", get(live::run_ws))
        .route("/events", get(live::all_events))
        .route("/events/ws", get(live::all_ws))
        .fallback(api::not_found)
        .route_layer(middleware::from_fn_with_state(
            Tokens(Arc::new(tokens)),
            require_token,
        ));
    let public = Router::new().route("/health", get(api::health)).merge(docs);
    // The console's files: outside authentication (they hold no data; the console asks
    // for the token). Without the feature, `/` is the API's 404.
    #[cfg(feature = "web-console")]
    let public = public.merge(console::routes());
    public
        .merge(api)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(json_rejections))
        .layer(middleware::from_fn_with_state(hosts, browser::same_site))
        .with_state(state)
}

async fn require_token(State(tokens): State<Tokens>, req: Request, next: Next) -> Response {
    if tokens.0.is_empty() {
        return next.run(req).await;
    }
    let header_token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string());
    let given = header_token.or_else(|| websocket_token(req.headers()));
    match given {
        Some(t) if tokens.0.iter().any(|k| same(k.as_bytes(), t.as_bytes())) => next.run(req).await,
        _ => {
            let mut resp = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token: send `Authorization: Bearer <token>` (a \
                 browser's WebSocket: offer the subprotocols `fust` and `bearer.<token in \
                 base64url>`)",
            )
            .into_response();
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            resp
        }
    }
}

/// The token a WebSocket upgrade carries as the subprotocol `bearer.<base64url>` (browsers
/// cannot set `Authorization` on a WebSocket); only on upgrade requests.
fn websocket_token(headers: &header::HeaderMap) -> Option<String> {
    use base64::Engine as _;
    let upgrade = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !upgrade {
        return None;
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().strip_prefix(live::BEARER_PROTOCOL))
        .and_then(|b64| engine.decode(b64).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// axum answers some malformed requests (a body over the limit, a bad path) in plain
/// text; this gives them the API's JSON error body.
async fn json_rejections(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/event-stream"));
    let status = resp.status();
    if !status.is_client_error() || is_json || status == StatusCode::UNAUTHORIZED {
        return resp;
    }
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            "the request body is larger than the server's `body_limit`".to_string()
        }
        StatusCode::METHOD_NOT_ALLOWED => {
            "this endpoint does not take that method; see /openapi.json".to_string()
        }
        other => format!("bad request ({other})"),
    };
    ApiError::new(status, message).into_response()
}

/// Runs the service until Ctrl-C or SIGTERM.
pub async fn serve(cfg: ServerConfig, mut registry: Registry) -> Result<(), Error> {
    restrict_plugins(&cfg, &mut registry)?;
    let registry = Arc::new(registry);
    let cwd = std::env::current_dir()
        .map_err(|e| Error::external("serve", format!("cannot read the working directory: {e}")))?;
    let mut roots = DataRoots::new(cwd, &cfg.data_roots).map_err(|e| {
        Error::user(
            "data_roots",
            format!("a data root does not exist or cannot be read: {e}"),
        )
    })?;
    let url = cfg.metadata_url.expose().to_string();
    if let Some(path) = url.strip_prefix("sqlite://") {
        let file = std::path::Path::new(path.split('?').next().unwrap_or(path));
        if let Some(parent) = file.parent()
            && !parent.as_os_str().is_empty()
        {
            let _ = std::fs::create_dir_all(parent);
        }
        // The store may sit in a data root (the default, .fust/fust.db, does): no job may
        // read or overwrite it.
        roots.protect(file);
    }
    let roots = Arc::new(roots);
    let store = Store::connect(&url)
        .await
        .map_err(|e| Error::external("metadata_url", e.to_string()))?;
    let guard: Guard = {
        let roots = roots.clone();
        Arc::new(move |job: &fust_engine::CompiledJob| {
            let mut diags = fust_config::Diagnostics::new(job.spec.file.clone());
            guard::check_paths(&job.spec, &roots, &mut diags);
            diags.into_result(()).map_err(Error::from)
        })
    };
    let variables = Arc::new(cfg.variables());
    error::hide_secrets(variables.secret_values());
    let manager = JobManager::new(
        store,
        registry.clone(),
        cfg.workers,
        Some(guard),
        variables.clone(),
    );
    let interrupted = manager
        .recover()
        .await
        .map_err(|e| Error::external("metadata_url", e.to_string()))?;
    if !interrupted.is_empty() {
        tracing::warn!(
            runs = interrupted.len(),
            "Marked runs failed that were running when the server last stopped"
        );
    }
    let tokens = cfg.tokens();
    let stop = CancellationToken::new();
    let state = AppState {
        manager: manager.clone(),
        registry,
        roots,
        variables,
        preview_max_rows: cfg.preview_max_rows,
        preview_timeout: cfg.preview_timeout.0,
        openapi: Arc::new(openapi::document(!tokens.is_empty())),
        prometheus: metrics::install()?,
        stop: stop.clone(),
        token_required: !tokens.is_empty(),
    };
    // Before binding: a bad certificate is a usage error, reported before anything listens.
    let tls = match (&cfg.tls_cert, &cfg.tls_key) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
        (None, None) => None,
        (Some(_), None) => return Err(Error::user("tls_key", "`tls_cert` needs `tls_key`")),
        (None, Some(_)) => return Err(Error::user("tls_cert", "`tls_key` needs `tls_cert`")),
    };
    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .map_err(|e| Error::user("listen", format!("cannot listen on {}: {e}", cfg.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::external("listen", e.to_string()))?;
    let exposed = !addr.ip().is_loopback();
    if tokens.is_empty() && exposed && !cfg.insecure_no_auth {
        return Err(Error::user("listen", unauthenticated(&addr.to_string())));
    }
    let auth = match (tokens.is_empty(), exposed) {
        (false, _) => "bearer tokens required",
        (true, false) => "no authentication: set auth_tokens or FUST_API_TOKENS to require tokens",
        (true, true) => {
            tracing::warn!(
                %addr,
                "INSECURE: listening on a network address without authentication \
                 (--insecure-no-auth); anyone who can reach it can run jobs"
            );
            "NO AUTHENTICATION on a network address (--insecure-no-auth)"
        }
    };
    // The first line on stdout is the address, for scripts that start the server on port 0.
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("fust serve: listening on {scheme}://{addr} - {auth}");
    tracing::info!(%addr, workers = cfg.workers, "Job service started");

    let mut background = JoinSet::new();
    background.spawn(scheduler::run_scheduler(
        manager.clone(),
        cfg.scheduler_tick.0.max(Duration::from_millis(50)),
        stop.clone(),
    ));
    let hosts = browser::AllowedHosts(Arc::new(
        cfg.allowed_hosts
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
    ));
    let app = router(state, tokens, cfg.body_limit.0 as usize, hosts);
    let shutdown = {
        let stop = stop.clone();
        async move {
            wait_for_signal().await;
            stop.cancel();
        }
    };
    let served = match tls {
        Some(acceptor) => {
            axum::serve(tls::TlsListener::new(listener, acceptor), app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
    };
    stop.cancel();
    manager.shutdown(Duration::from_secs(10)).await;
    background.shutdown().await;
    served.map_err(|e| Error::external("serve", e.to_string()))
}

/// Why a server without tokens does not listen on a network address.
pub fn unauthenticated(addr: &str) -> String {
    format!(
        "refusing to listen on {addr} without authentication: anyone who can reach it could \
         run jobs. Set auth_tokens (or FUST_API_TOKENS), listen on 127.0.0.1, or pass \
         --insecure-no-auth if the network is trusted"
    )
}

/// Applies `plugins_enabled` / `plugins_disabled`; an unknown name is an error.
fn restrict_plugins(cfg: &ServerConfig, registry: &mut Registry) -> Result<(), Error> {
    let known: Vec<&str> = registry
        .sources()
        .chain(registry.processors())
        .chain(registry.sinks())
        .map(|p| p.name)
        .collect();
    for (key, list) in [
        ("plugins_enabled", &cfg.plugins_enabled),
        ("plugins_disabled", &cfg.plugins_disabled),
    ] {
        if let Some(bad) = list.iter().find(|n| !known.contains(&n.as_str())) {
            return Err(Error::user(
                key,
                fust_config::unknown_message("plugin", bad, &known),
            ));
        }
    }
    let (enabled, disabled) = (cfg.plugins_enabled.clone(), cfg.plugins_disabled.clone());
    registry.retain(|n| {
        (enabled.is_empty() || enabled.iter().any(|e| e == n)) && !disabled.iter().any(|d| d == n)
    });
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
