//! Progress display (a live line on a terminal, periodic log lines otherwise) and the
//! small formatting helpers the CLI shares.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fust_engine::RunStats;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

/// A running progress reporter; `finish` stops it.
pub struct Progress {
    task: tokio::task::JoinHandle<()>,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn start(stats: Arc<RunStats>) -> Self {
        let started = Instant::now();
        let line = move |stats: &RunStats| {
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            let mut line = format!(
                "{} rows in, {} rows out, {}, {} rows/s",
                human_count(stats.rows_in()),
                human_count(stats.rows_out()),
                human_bytes(stats.bytes_out()),
                human_count((stats.rows_out() as f64 / secs) as u64)
            );
            if let Some(s) = stats.stream() {
                line.push_str(&stream_progress(&s));
            }
            line
        };
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            let b = bar.clone();
            let task = spawn_detached(async move {
                loop {
                    b.set_message(line(&stats));
                    b.tick();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
            Progress {
                task,
                bar: Some(bar),
            }
        } else {
            let task = spawn_detached(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    eprintln!("progress: {}", line(&stats));
                }
            });
            Progress { task, bar: None }
        }
    }

    pub fn finish(self) {
        self.task.abort();
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

/// A stream job's part of the progress line: lag per part, epochs, the last checkpoint.
fn stream_progress(s: &fust_engine::stream::StreamStatus) -> String {
    let lag: u64 = s.lag.iter().map(|(_, n)| n).sum();
    let mut out = format!(", lag {}", human_count(lag));
    if s.lag.len() > 1 {
        let parts: Vec<String> = s
            .lag
            .iter()
            .map(|(p, n)| format!("{p}: {}", human_count(*n)))
            .collect();
        out.push_str(&format!(" ({})", parts.join(", ")));
    }
    out.push_str(&format!(", {} epochs", s.epochs));
    if let Some(at) = s.last_commit.and_then(|t| t.elapsed().ok()) {
        out.push_str(&format!(", last checkpoint {:.1}s ago", at.as_secs_f64()));
    }
    out
}

pub fn human_count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn human_bytes(n: u64) -> String {
    fust_config::ByteSize(n).to_string()
}

/// (name, type, description) for each option of a plugin's JSON Schema.
pub fn option_rows(schema: &Value) -> Vec<(String, String, String)> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    props
        .iter()
        .map(|(name, p)| {
            let mut ty = type_of(p);
            if let Some(d) = p.get("default").filter(|d| !d.is_null()) {
                ty.push_str(&format!(" = {d}"));
            } else if required.contains(&name.as_str()) {
                ty.push_str(" (required)");
            }
            let desc = p
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .replace('\n', " ");
            (name.clone(), ty, desc)
        })
        .collect()
}

fn type_of(p: &Value) -> String {
    if let Some(e) = p.get("enum").and_then(Value::as_array) {
        return e
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("|");
    }
    if let Some(alts) = p
        .get("oneOf")
        .or_else(|| p.get("anyOf"))
        .and_then(Value::as_array)
    {
        let parts: Vec<String> = alts
            .iter()
            .map(|a| {
                a.get("const")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| type_of(a))
            })
            .filter(|s| s != "null")
            .collect();
        return parts.join("|");
    }
    match p.get("type") {
        Some(Value::String(t)) if t == "object" => "map".into(),
        Some(Value::String(t)) if t == "array" => "list".into(),
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join("|"),
        _ => "value".into(),
    }
}

/// Spawns a task the CLI aborts itself (progress display, Ctrl-C watcher).
#[allow(clippy::disallowed_methods)] // the handle is kept and aborted by its owner
pub fn spawn_detached<F>(f: F) -> tokio::task::JoinHandle<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(f)
}
