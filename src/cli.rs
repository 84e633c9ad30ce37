//! Argument parsing and the commands.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use fust_engine::{CancellationToken, CompiledJob, Error, Registry, RunStats};

use crate::progress::{Progress, human_bytes, human_count, spawn_detached};
use crate::server::config::{LogFormat, ServerConfig};
use crate::telemetry::LogOptions;

/// Fust moves data between files and object stores (more systems to come) and transforms
/// it on the way with SQL. A YAML job file says `input → pipeline.processors → output`.
///
/// Quick start:
///   fust run examples/csv_to_parquet.yaml
///   fust preview examples/csv_to_parquet.yaml --limit 5
///   fust plugins csv
#[derive(Parser)]
#[command(name = "fust", version, about, long_about, verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log detail: -v for info, -vv for debug (or set FUST_LOG, e.g. FUST_LOG=debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Log lines as `text` or `json` (for `serve`, overrides the config's `log_format`).
    #[arg(long, value_enum, global = true)]
    log_format: Option<LogFormat>,
    /// Write logs to daily-rotated files `fust.YYYY-MM-DD.log` in this directory instead of
    /// stderr. With OTEL_EXPORTER_OTLP_ENDPOINT set, traces and logs also go there (OTLP/HTTP).
    #[arg(long, value_name = "DIR", global = true)]
    log_dir: Option<PathBuf>,
    /// Rotated log files kept in --log-dir (older ones are deleted).
    #[arg(long, value_name = "N", default_value_t = 7, global = true)]
    log_keep: usize,
}

#[derive(Subcommand)]
enum Command {
    /// Run a job: read the input(s), apply the processors, write the output.
    ///
    /// The output is published only when the whole run succeeds (files are written under a
    /// temporary name and renamed). Ctrl-C cancels and publishes nothing.
    Run {
        /// The job file (YAML).
        job: PathBuf,
        /// No progress display; the summary is still printed.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Check a job file: every key and option, the SQL, and the plan against the inputs'
    /// schemas (reads file headers and footers, not the data).
    Validate { job: PathBuf },
    /// Print the first rows of the job's output as a table; nothing is written.
    Preview {
        job: PathBuf,
        /// Rows to show.
        #[arg(short = 'n', long, default_value_t = 20)]
        limit: usize,
    },
    /// Print the job's optimized plan (shows which filters and columns reach the scan).
    Explain { job: PathBuf },
    /// List the connectors and processors, or show one plugin's options.
    Plugins {
        /// A plugin name (e.g. `csv`, `filter`) to show its options and an example.
        name: Option<String>,
        /// Print the plugin list with option schemas as JSON.
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// Print every plugin's option table as Markdown (the README's reference section).
        #[arg(long)]
        markdown: bool,
    },
    /// Print the JSON Schema of job files (for editors and validation in CI).
    Schema,
    /// Start the job service: the HTTP API, the cron scheduler and the worker pool.
    ///
    /// Jobs are stored in a metadata store (SQLite by default, created on start), submitted
    /// with `POST /jobs`, run with `POST /jobs/NAME/runs` or on their `schedule.cron`, and
    /// watched with `GET /runs/ID/events`. `GET /openapi.json` documents every endpoint.
    ///
    /// Example:
    ///   fust serve --listen 127.0.0.1:8080 --metadata sqlite://.fust/fust.db
    #[command(verbatim_doc_comment)]
    Serve {
        /// Server config file (YAML; see README "Job service" for every key).
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Address to listen on, overriding the config (127.0.0.1:0 picks a free port).
        #[arg(long)]
        listen: Option<String>,
        /// Metadata store URL, overriding the config: sqlite://PATH, postgres://…, mysql://….
        #[arg(long)]
        metadata: Option<String>,
        /// Runs executing at once, overriding the config.
        #[arg(long)]
        workers: Option<usize>,
        /// Environment variables that jobs submitted over HTTP may read as `${NAME}`
        /// (names, or prefixes ending in `*`), added to the config's `job_env`. By default
        /// they may read none; pass secrets as `${secret:NAME}` from the config's `secrets`.
        #[arg(long, value_delimiter = ',', value_name = "NAME,PREFIX_*")]
        job_env: Vec<String>,
        /// Host names the server answers to besides IP addresses and `localhost` (the
        /// `Host` of every request is checked), added to the config's `allowed_hosts`.
        #[arg(long = "allowed-host", value_delimiter = ',', value_name = "NAME")]
        allowed_hosts: Vec<String>,
        /// Time limit of `POST /preview` and `POST /validate` (e.g. `30s`), overriding the
        /// config's `preview_timeout`.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        preview_timeout: Option<fust_config::Duration>,
        /// Serve HTTPS with this PEM certificate chain (give `--tls-key` too), overriding
        /// the config's `tls_cert`.
        #[arg(long, value_name = "PATH", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of `--tls-cert`, overriding the config's `tls_key`.
        #[arg(long, value_name = "PATH", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Allow listening on a non-loopback address without bearer tokens: anyone who can
        /// reach the port may then run jobs. Without it such a server refuses to start.
        #[arg(long)]
        insecure_no_auth: bool,
        /// Hosts that jobs submitted over HTTP may connect to (HOST, HOST:PORT, *.DOMAIN
        /// or an address), added to the config's `allow_egress`. Without either, any host;
        /// link-local and cloud metadata addresses (169.254.169.254) are refused always.
        #[arg(long, value_delimiter = ',', value_name = "HOST[:PORT]")]
        allow_egress: Vec<String>,
    },
}

/// A duration option on the command line: `30s`, `500ms`, `2m`.
fn parse_duration(s: &str) -> Result<fust_config::Duration, String> {
    fust_config::Duration::parse(s)
}

/// The registry with every built-in plugin.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    fust_connectors::register_all(&mut r);
    fust_sql::register_all(&mut r);
    r
}

pub fn main() -> ExitCode {
    // Every TLS connection uses ring; clients that take the process default (the OTLP
    // exporter's reqwest) need it installed. An error means one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let server = match &cli.command {
        Command::Serve {
            config,
            listen,
            metadata,
            workers,
            job_env,
            allowed_hosts,
            preview_timeout,
            tls_cert,
            tls_key,
            insecure_no_auth,
            allow_egress,
        } => {
            let mut cfg = match config {
                Some(path) => match ServerConfig::load(path) {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(2);
                    }
                },
                None => ServerConfig::default(),
            };
            if let Some(l) = listen {
                cfg.listen = l.clone();
            }
            if let Some(m) = metadata {
                cfg.metadata_url = fust_config::Secret::new(m.clone());
            }
            if let Some(w) = workers {
                cfg.workers = *w;
            }
            cfg.job_env.extend(job_env.iter().cloned());
            cfg.allowed_hosts.extend(allowed_hosts.iter().cloned());
            if let Some(t) = preview_timeout {
                cfg.preview_timeout = *t;
            }
            if let (Some(cert), Some(key)) = (tls_cert, tls_key) {
                cfg.tls_cert = Some(cert.clone());
                cfg.tls_key = Some(key.clone());
            }
            cfg.insecure_no_auth |= *insecure_no_auth;
            if !allow_egress.is_empty() {
                let list = cfg.allow_egress.get_or_insert_with(Vec::new);
                list.extend(allow_egress.iter().cloned());
            }
            match cfg.egress() {
                Ok(policy) => fust_engine::egress::install(policy),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            }
            // A usage mistake, caught before anything starts (a host name is checked once
            // the server has bound it).
            let exposed = cfg
                .listen
                .parse::<std::net::SocketAddr>()
                .is_ok_and(|a| !a.ip().is_loopback());
            if exposed && cfg.tokens().is_empty() && !cfg.insecure_no_auth {
                eprintln!(
                    "error: listen: {}",
                    crate::server::unauthenticated(&cfg.listen)
                );
                return ExitCode::from(2);
            }
            Some(cfg)
        }
        _ => None,
    };
    let level = match (cli.verbose, &server) {
        (0, Some(cfg)) => cfg.log_level.clone(),
        (0, None) => "warn".to_string(),
        (1, _) => "info".to_string(),
        _ => "debug".to_string(),
    };
    let format = cli
        .log_format
        .or(server.as_ref().map(|c| c.log_format))
        .unwrap_or_default();
    let telemetry = match crate::telemetry::init(&LogOptions {
        level,
        json: format == LogFormat::Json,
        dir: cli.log_dir.clone(),
        keep: cli.log_keep,
    }) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match server {
        Some(cfg) => runtime.block_on(crate::server::serve(cfg, registry())),
        None => runtime.block_on(dispatch(cli.command)),
    };
    // Flush logs and exported spans before the process exits, outside the runtime.
    drop(runtime);
    drop(telemetry);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            match e {
                Error::Cancelled => ExitCode::from(130),
                Error::Config(_) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

fn message(e: &Error) -> String {
    match e {
        Error::Config(c) => c.to_string(),
        other => other.to_string(),
    }
}

fn load(path: &Path, registry: &Registry) -> Result<CompiledJob, Error> {
    Ok(registry.load(path)?)
}

async fn dispatch(command: Command) -> Result<(), Error> {
    let registry = registry();
    match command {
        Command::Run { job, quiet } => run(&load(&job, &registry)?, quiet).await,
        Command::Validate { job } => {
            let compiled = load(&job, &registry)?;
            // Plans the job: reads the inputs' schemas (headers, footers), not their data.
            compiled.plan().await?;
            println!(
                "{}: ok ({} input{}, {} processor{}, output `{}`)",
                job.display(),
                compiled.inputs.len(),
                plural(compiled.inputs.len()),
                compiled.processors.len(),
                plural(compiled.processors.len()),
                compiled.spec.describe_outputs(),
            );
            Ok(())
        }
        Command::Preview { job, limit } => {
            print_out(&load(&job, &registry)?.preview_table(limit).await?);
            Ok(())
        }
        Command::Explain { job } => {
            print_out(&load(&job, &registry)?.explain().await?);
            Ok(())
        }
        Command::Plugins { markdown: true, .. } => {
            print_out(markdown_reference(&registry).trim_end());
            Ok(())
        }
        Command::Plugins { name, json, .. } => plugins(&registry, name.as_deref(), json),
        Command::Serve { .. } => unreachable!("`serve` is dispatched before the other commands"),
        Command::Schema => {
            let schema = registry.job_schema();
            print_out(&serde_json::to_string_pretty(&schema).unwrap_or_default());
            Ok(())
        }
    }
}

/// Prints to stdout; a closed pipe (`fust schema | head`) is not an error.
fn print_out(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out
        .write_all(text.as_bytes())
        .and_then(|()| out.write_all(b"\n"));
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

async fn run(job: &CompiledJob, quiet: bool) -> Result<(), Error> {
    let stats = RunStats::new();
    let cancel = CancellationToken::new();
    let progress = (!quiet).then(|| Progress::start(stats.clone()));
    // Registered before the run starts (a signal arriving while the job plans cancels it).
    let mut interrupts = Interrupts::register();
    let stream = job.is_stream();
    let drain = job.spec.settings.drain_timeout.0;
    let watcher = {
        let cancel = cancel.clone();
        spawn_detached(async move {
            if stream && interrupts.next().await {
                // A stream job stops between epochs: the one under way commits first
                // (within settings.drain_timeout, after which the engine rolls it back).
                eprintln!("\nStopping after the current epoch (Ctrl-C again to exit at once)…");
                cancel.cancel();
                tokio::select! {
                    _ = interrupts.next() => {}
                    _ = tokio::time::sleep(drain + Duration::from_secs(5)) => {}
                }
                eprintln!(
                    "error: stopped before the current epoch committed; it is read again on the next start"
                );
                std::process::exit(130);
            }
            if interrupts.next().await {
                eprintln!("\nCancelling (Ctrl-C again to exit at once)…");
                cancel.cancel();
                // A plan busy inside one operator may not look at the token for a while:
                // after a grace period, remove the unpublished output ourselves and exit.
                tokio::select! {
                    _ = interrupts.next() => {}
                    _ = tokio::time::sleep(Duration::from_secs(3)) => {}
                }
                fust_connectors::common::file::remove_unpublished();
                eprintln!("error: {}", Error::Cancelled);
                std::process::exit(130);
            }
        })
    };
    let result = job.run(stats, cancel).await;
    watcher.abort();
    if let Some(p) = progress {
        p.finish();
    }
    let s = result?;
    let secs = s.elapsed.as_secs_f64().max(1e-9);
    let name = job.spec.name.as_deref().unwrap_or("job");
    let bytes_in = s.bytes_in.map_or_else(|| "-".to_string(), human_bytes);
    eprintln!(
        "{name}: {} rows in ({bytes_in}), {} rows out ({}) to {} in {}; {} rows/s, {}/s",
        human_count(s.rows_in),
        human_count(s.rows_out),
        human_bytes(s.bytes_out),
        s.target,
        fmt_duration(s.elapsed),
        human_count((s.rows_out as f64 / secs) as u64),
        human_bytes((s.bytes_in.unwrap_or(s.bytes_out) as f64 / secs) as u64),
    );
    if s.bad_records.total() > 0 {
        let to = match &s.dead_letter {
            Some(d) => format!("written to {}", d.target),
            None => "skipped".to_string(),
        };
        eprintln!("{name}: {} bad records {to}", s.bad_records);
    }
    Ok(())
}

/// SIGINT (Ctrl-C) and SIGTERM, listened to from the moment it is created.
struct Interrupts {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Interrupts {
    fn register() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                signals: signal(SignalKind::interrupt())
                    .ok()
                    .zip(signal(SignalKind::terminate()).ok()),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Waits for the next interrupt or termination request; false when none can come.
    async fn next(&mut self) -> bool {
        #[cfg(unix)]
        if let Some((int, term)) = self.signals.as_mut() {
            return tokio::select! {
                s = int.recv() => s.is_some(),
                s = term.recv() => s.is_some(),
            };
        }
        tokio::signal::ctrl_c().await.is_ok()
    }
}

fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.2}s")
    } else {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    }
}

fn plugins(registry: &Registry, name: Option<&str>, json: bool) -> Result<(), Error> {
    let all: Vec<_> = registry
        .sources()
        .chain(registry.processors())
        .chain(registry.sinks())
        .collect();
    if json {
        let list: Vec<_> = all
            .iter()
            .filter(|p| name.is_none_or(|n| n == p.name))
            .map(|p| {
                serde_json::json!({
                    "name": p.name, "role": p.role.noun(), "description": p.description,
                    "options": p.options.as_value(), "example": p.example,
                })
            })
            .collect();
        print_out(&serde_json::to_string_pretty(&list).unwrap_or_default());
        return Ok(());
    }
    let mut lines: Vec<String> = Vec::new();
    let Some(name) = name else {
        for (title, list) in [
            (
                "Inputs (input: type)",
                registry.sources().collect::<Vec<_>>(),
            ),
            (
                "Processors (pipeline.processors[].type)",
                registry.processors().collect(),
            ),
            ("Outputs (output: type)", registry.sinks().collect()),
        ] {
            lines.push(format!("{title}:"));
            for p in list {
                lines.push(format!("  {:<10} {}", p.name, p.description));
            }
            lines.push(String::new());
        }
        lines.push("`fust plugins NAME` shows a plugin's options.".to_string());
        print_out(&lines.join("\n"));
        return Ok(());
    };
    let matches: Vec<_> = all.iter().filter(|p| p.name == name).collect();
    if matches.is_empty() {
        let names: Vec<&str> = all.iter().map(|p| p.name).collect();
        return Err(Error::user(
            "plugins",
            fust_config::unknown_message("plugin", name, &names),
        ));
    }
    for p in matches {
        lines.push(format!(
            "{} ({}): {}\n\nOptions:",
            p.name,
            p.role.noun(),
            p.description
        ));
        for row in crate::progress::option_rows(p.options.as_value()) {
            lines.push(format!("  {:<20} {:<30} {}", row.0, row.1, row.2));
        }
        lines.push(format!("\nExample:\n{}", indent(p.example)));
    }
    print_out(&lines.join("\n"));
    Ok(())
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The README's plugin reference: one option table per plugin, generated from the schemas
/// (a test checks that README.md holds exactly this text).
pub fn markdown_reference(registry: &Registry) -> String {
    let mut out = String::new();
    for p in registry
        .sources()
        .chain(registry.processors())
        .chain(registry.sinks())
    {
        let role = match p.role {
            fust_config::PluginRole::Source => "input",
            fust_config::PluginRole::Processor => "processor",
            fust_config::PluginRole::Sink => "output",
        };
        out.push_str(&format!(
            "#### `{}` {role}\n\n{}.\n\n",
            p.name, p.description
        ));
        out.push_str("| option | type / default | meaning |\n|---|---|---|\n");
        for (name, ty, desc) in crate::progress::option_rows(p.options.as_value()) {
            let ty = ty.replace('|', "\\|");
            let desc = desc.replace('|', "\\|");
            out.push_str(&format!("| `{name}` | {ty} | {desc} |\n"));
        }
        out.push('\n');
        out.push_str(&variant_tables(p.options.as_value()));
    }
    out
}

/// For a list option whose items are one of several shapes told apart by a tag (the
/// `transform` processor's `steps`, by `op`): a table of the shapes and their options.
fn variant_tables(schema: &serde_json::Value) -> String {
    let mut out = String::new();
    let Some(props) = schema.get("properties").and_then(|p| p.as_object()) else {
        return out;
    };
    for (name, p) in props {
        let Some(variants) = p.pointer("/items/oneOf").and_then(|v| v.as_array()) else {
            continue;
        };
        let mut rows = Vec::new();
        let mut tag_key = None;
        for v in variants {
            let tag = v
                .get("properties")
                .and_then(|p| p.as_object())
                .and_then(|p| {
                    p.iter()
                        .find_map(|(k, t)| Some((k.clone(), t.get("const")?.as_str()?.to_string())))
                });
            let Some((key, value)) = tag else { continue };
            let options: Vec<String> = crate::progress::option_rows(v)
                .into_iter()
                .filter(|(n, _, _)| *n != key)
                .map(|(n, ty, desc)| {
                    let desc = if desc.is_empty() {
                        String::new()
                    } else {
                        format!(": {desc}")
                    };
                    format!("`{n}` {ty}{desc}")
                })
                .collect();
            let desc = v.get("description").and_then(|d| d.as_str()).unwrap_or("");
            rows.push(format!(
                "| `{value}` | {} | {} |\n",
                desc.replace('\n', " ").replace('|', "\\|"),
                options.join("<br>").replace('|', "\\|")
            ));
            tag_key = Some(key);
        }
        if let Some(key) = tag_key {
            out.push_str(&format!(
                "Each of `{name}` is one of these, by `{key}`:\n\n| `{key}` | what it does | options |\n|---|---|---|\n"
            ));
            out.extend(rows);
            out.push('\n');
        }
    }
    out
}
