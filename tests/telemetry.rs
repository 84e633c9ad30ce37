//! Logs and traces: `--log-format json`, `--log-dir` with rotation, and OTLP export of a
//! run's spans and logs to a small OTLP/HTTP receiver the test starts (JSON encoding).

#![allow(clippy::unwrap_used)] // a failure here is the test's failure

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::Value;

/// The bodies posted to each path, e.g. `/v1/traces`.
type Received = Arc<Mutex<Vec<(String, Value)>>>;

/// An OTLP/HTTP receiver on a free port: answers every POST with `200 {}` and keeps the
/// JSON bodies. Runs until the test process ends.
fn otlp_receiver() -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let received: Received = Arc::default();
    let keep = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_string();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length.min(16 << 20)];
            if reader.read_exact(&mut body).is_ok()
                && let Ok(json) = serde_json::from_slice::<Value>(&body)
            {
                keep.lock().unwrap().push((path, json));
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            );
        }
    });
    (port, received)
}

/// Every span in the trace bodies, as (name, attributes by key, span id, parent span id).
fn spans(received: &Received) -> Vec<(String, Value, String, String)> {
    let mut out = Vec::new();
    for (path, body) in received.lock().unwrap().iter() {
        if path != "/v1/traces" {
            continue;
        }
        for rs in body["resourceSpans"].as_array().into_iter().flatten() {
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for span in ss["spans"].as_array().into_iter().flatten() {
                    let mut attrs = serde_json::Map::new();
                    for a in span["attributes"].as_array().into_iter().flatten() {
                        let v = &a["value"];
                        let v = v
                            .get("intValue")
                            .or(v.get("stringValue"))
                            .cloned()
                            .unwrap_or(Value::Null);
                        attrs.insert(a["key"].as_str().unwrap().to_string(), v);
                    }
                    out.push((
                        span["name"].as_str().unwrap_or("").to_string(),
                        Value::Object(attrs),
                        span["spanId"].as_str().unwrap_or("").to_string(),
                        span["parentSpanId"].as_str().unwrap_or("").to_string(),
                    ));
                }
            }
        }
    }
    out
}

fn int(v: &Value) -> i64 {
    match v {
        Value::String(s) => s.parse().unwrap(),
        other => other.as_i64().unwrap(),
    }
}

#[test]
fn a_run_exports_its_spans_and_logs_over_otlp() {
    let (port, received) = otlp_receiver();
    let dir = tempdir();
    let d = dir.path();
    write_file(d, "in.csv", "id,amount\n1,5\n2,50\n3,500\n");
    let job = write_job(
        d,
        "name: traced\ninput: {type: csv, path: in.csv}\npipeline:\n  processors:\n    - {type: filter, condition: amount > 10}\noutput: {type: csv, path: out.csv}\n",
    );
    let endpoint = format!("http://127.0.0.1:{port}");
    let out = fust(
        d,
        &["-v", "run", "--quiet", job.to_str().unwrap()],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ],
    );
    out.success();
    assert_eq!(
        read_rows(&d.join("out.csv")),
        rows(&[&["2", "50"], &["3", "500"]])
    );

    let spans = spans(&received);
    let find = |name: &str| {
        spans
            .iter()
            .find(|s| s.0 == name)
            .unwrap_or_else(|| panic!("no `{name}` span in {spans:#?}"))
    };
    let run = find("fust.run");
    assert_eq!(run.1["job"], "traced");
    assert_eq!(int(&run.1["rows_in"]), 3);
    assert_eq!(int(&run.1["rows_out"]), 2);
    assert_eq!(run.3, "", "the run span is the root");
    for stage in ["fust.plan", "fust.execute", "fust.commit"] {
        assert_eq!(find(stage).3, run.2, "{stage} is a child of the run span");
    }
    let execute = find("fust.execute");
    assert_eq!(int(&execute.1["rows_in"]), 3);
    assert_eq!(int(&execute.1["rows_out"]), 2);
    assert_eq!(int(&find("fust.plan").1["processors"]), 1);

    // -v logs at info level; the same events reach the collector as OTLP log records.
    let logs = received.lock().unwrap();
    let records: Vec<&Value> = logs
        .iter()
        .filter(|(p, _)| p == "/v1/logs")
        .flat_map(|(_, b)| b["resourceLogs"].as_array().into_iter().flatten())
        .flat_map(|r| r["scopeLogs"].as_array().into_iter().flatten())
        .flat_map(|s| s["logRecords"].as_array().into_iter().flatten())
        .collect();
    assert!(!records.is_empty(), "no log records exported: {logs:?}");
    let resource = logs
        .iter()
        .find(|(p, _)| p == "/v1/traces")
        .map(|(_, b)| b["resourceSpans"][0]["resource"].to_string())
        .unwrap();
    assert!(resource.contains("\"fust\""), "service.name: {resource}");
}

#[test]
fn json_logs_go_to_rotated_files_in_the_log_dir() {
    let dir = tempdir();
    let d = dir.path();
    write_file(d, "in.csv", "id\n1\n2\n");
    let job = write_job(
        d,
        "input: {type: csv, path: in.csv}\noutput: {type: csv, path: out.csv}\n",
    );
    let logs = d.join("logs");
    // Old files beyond --log-keep are removed when the appender starts.
    std::fs::create_dir_all(&logs).unwrap();
    for day in ["2020-01-01", "2020-01-02", "2020-01-03"] {
        write_file(&logs, &format!("fust.{day}.log"), "old\n");
    }
    let out = fust(
        d,
        &[
            "-v",
            "--log-format",
            "json",
            "--log-dir",
            logs.to_str().unwrap(),
            "--log-keep",
            "2",
            "run",
            "--quiet",
            job.to_str().unwrap(),
        ],
        &[],
    );
    out.success();
    assert!(
        !out.stderr.contains("INFO"),
        "logs went to the files, not stderr: {}",
        out.stderr
    );
    let mut files: Vec<String> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    files.sort();
    assert!(files.len() <= 2, "kept at most 2 files: {files:?}");
    let today = files.last().unwrap();
    assert!(
        today.starts_with("fust.") && today.ends_with(".log"),
        "{files:?}"
    );
    let text = std::fs::read_to_string(logs.join(today)).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty(), "no log lines in {today}");
    assert!(
        lines
            .iter()
            .all(|l| l["level"].is_string() && l["fields"].is_object()),
        "{text}"
    );
}

#[test]
fn a_bad_log_dir_is_a_clear_error() {
    let dir = tempdir();
    let d = dir.path();
    write_file(d, "file", "x");
    let job = write_job(
        d,
        "input: {type: csv, path: in.csv}\noutput: {type: csv, path: out.csv}\n",
    );
    let out = fust(
        d,
        &[
            "--log-dir",
            d.join("file/logs").to_str().unwrap(),
            "run",
            job.to_str().unwrap(),
        ],
        &[],
    );
    out.code_is(2);
    assert!(out.stderr.contains("error: --log-dir"), "{}", out.stderr);
}
