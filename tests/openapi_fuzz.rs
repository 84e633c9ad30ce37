//! schemathesis (PyPI) against the served `/openapi.json`: generated requests to every
//! operation, no 5xx, and every response matches the document (status codes, content
//! types, body schemas). `scripts/test` installs schemathesis; the test fails without it.

#![allow(clippy::unwrap_used)] // helpers here fail the test they serve

mod common;

use std::process::Command;

use common::server::{Server, ServerOptions, sqlite_url};
use common::write_file;

#[tokio::test]
async fn schemathesis_finds_no_server_errors_or_schema_violations() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "data/orders.csv", "id,amount\n1,2.5\n2,3\n");
    let server = Server::start(ServerOptions {
        dir: dir.path(),
        metadata: sqlite_url(dir.path()),
        config: None,
        env: vec![],
        token: None,
        args: vec![],
    });
    // Something to find: a job and a finished run.
    let job = "name: fuzzed\ninput: {type: csv, path: data/orders.csv}\noutput: {type: csv, path: out/f.csv}\n";
    assert_eq!(server.post("/jobs", job).await.0, 201);
    let (_, run) = server.post("/jobs/fuzzed/runs", "").await;
    server
        .wait_run(
            run["id"].as_str().unwrap(),
            std::time::Duration::from_secs(60),
        )
        .await;
    let url = server.url("/openapi.json");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("schemathesis")
            .args([
                "run",
                &url,
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                "--max-examples",
                "20",
                "--seed",
                "7",
                "--no-color",
                "--workers",
                "2",
                "--request-timeout",
                "30",
                // Every run's live events: a stream that stays open, so a plain request
                // never ends (tests/console_api.rs reads it).
                "--exclude-path",
                "/events",
            ])
            .output()
    })
    .await
    .unwrap()
    .expect("schemathesis is not installed: python3 -m pip install schemathesis (scripts/test does)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{stdout}\n{}\n--- server log ---\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log_text()
    );
}
