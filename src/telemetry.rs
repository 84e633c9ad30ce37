//! Logs and traces. Logs go through `tracing` to stderr, or to daily-rotated files in
//! `--log-dir` keeping `--log-keep` of them (tracing-appender), as text or JSON lines.
//! When `OTEL_EXPORTER_OTLP_ENDPOINT` is set, spans (one per run, a child per stage with
//! row counts) and log events are also exported over OTLP/HTTP to that collector
//! (OpenObserve, Loki's OTLP endpoint, an OpenTelemetry collector, ...):
//! `OTEL_EXPORTER_OTLP_PROTOCOL=http/json` sends JSON, anything else protobuf.

use std::io::IsTerminal;
use std::path::PathBuf;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{LogExporter, Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// Where and how to log.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// The default filter (`warn`, `info`, `debug`, or directives); `FUST_LOG` overrides.
    pub level: String,
    pub json: bool,
    /// Write daily-rotated files here instead of stderr.
    pub dir: Option<PathBuf>,
    /// Rotated files kept in `dir`.
    pub keep: usize,
}

/// Keeps the log writer and the exporters alive; dropping it flushes them.
pub struct Telemetry {
    _file: Option<WorkerGuard>,
    tracer: Option<SdkTracerProvider>,
    logger: Option<SdkLoggerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(t) = self.tracer.take() {
            let _ = t.shutdown();
        }
        if let Some(l) = self.logger.take() {
            let _ = l.shutdown();
        }
    }
}

/// The environment variable that turns on OTLP export.
pub const OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// Installs the global subscriber. Call once, outside the async runtime (the OTLP exporters
/// use blocking HTTP clients on their own threads). Err: a message for the user.
pub fn init(opts: &LogOptions) -> Result<Telemetry, String> {
    let filter =
        || EnvFilter::try_from_env("FUST_LOG").unwrap_or_else(|_| EnvFilter::new(&opts.level));
    let (writer, file) = match &opts.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("--log-dir {}: {e}", dir.display()))?;
            let appender = RollingFileAppender::builder()
                .rotation(Rotation::DAILY)
                .filename_prefix("fust")
                .filename_suffix("log")
                .max_log_files(opts.keep.max(1))
                .build(dir)
                .map_err(|e| format!("--log-dir {}: {e}", dir.display()))?;
            let (writer, guard) = tracing_appender::non_blocking(appender);
            (BoxMakeWriter::new(writer), Some(guard))
        }
        None => (BoxMakeWriter::new(std::io::stderr), None),
    };
    let fmt = tracing_subscriber::fmt::layer().with_writer(writer);
    let fmt = if opts.json {
        fmt.json().with_filter(filter()).boxed()
    } else {
        let ansi = opts.dir.is_none() && std::io::stderr().is_terminal();
        fmt.with_ansi(ansi).with_filter(filter()).boxed()
    };
    let mut layers: Vec<Box<dyn Layer<Registry> + Send + Sync>> = vec![fmt];
    let mut telemetry = Telemetry {
        _file: file,
        tracer: None,
        logger: None,
    };
    if std::env::var_os(OTLP_ENDPOINT).is_some_and(|v| !v.is_empty()) {
        let (tracer, logger) = otlp_providers()?;
        // Run and stage spans are at info level: export them whatever the log level.
        let spans = Targets::new()
            .with_target("fust", tracing::Level::INFO)
            .with_target("fust_engine", tracing::Level::INFO)
            .with_target("fust_service", tracing::Level::INFO);
        layers.push(
            tracing_opentelemetry::layer()
                .with_tracer(tracer.tracer("fust"))
                .with_filter(spans)
                .boxed(),
        );
        layers.push(
            opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(&logger)
                .with_filter(filter())
                .boxed(),
        );
        telemetry.tracer = Some(tracer);
        telemetry.logger = Some(logger);
    }
    tracing_subscriber::registry()
        .with(layers)
        .try_init()
        .map_err(|e| format!("cannot set up logging: {e}"))?;
    Ok(telemetry)
}

/// Trace and log providers exporting to the OTLP/HTTP endpoint the environment names.
fn otlp_providers() -> Result<(SdkTracerProvider, SdkLoggerProvider), String> {
    let protocol = match std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL").as_deref() {
        Ok("http/json") => Protocol::HttpJson,
        _ => Protocol::HttpBinary,
    };
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        format!("{OTLP_ENDPOINT}: cannot set up the OTLP {what} exporter: {e}")
    };
    let resource = Resource::builder()
        .with_service_name("fust")
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    let spans = SpanExporter::builder()
        .with_http()
        .with_protocol(protocol)
        .build()
        .map_err(|e| fail("trace", &e))?;
    let logs = LogExporter::builder()
        .with_http()
        .with_protocol(protocol)
        .build()
        .map_err(|e| fail("log", &e))?;
    let tracer = SdkTracerProvider::builder()
        .with_batch_exporter(spans)
        .with_resource(resource.clone())
        .build();
    let logger = SdkLoggerProvider::builder()
        .with_batch_exporter(logs)
        .with_resource(resource)
        .build();
    Ok((tracer, logger))
}
