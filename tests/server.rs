//! The job service over real HTTP: `fust serve` on an ephemeral port with a SQLite or
//! PostgreSQL metadata store; jobs submitted, run, watched, cancelled and checked on disk.

#![allow(clippy::unwrap_used)] // helpers here fail the test they serve

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::server::{Server, ServerOptions, sqlite_url};
use common::{PG_URL, fust, psql, write_file};
use serde_json::Value;

const CSV: &str = "id,name,amount\n1,ann,10.5\n2,bob,20\n3,cy,30.25\n4,dee,5\n";

fn job(name: &str, out: &str) -> String {
    format!(
        "name: {name}
input:
  type: csv
  path: data/orders.csv
pipeline:
  processors:
    - type: filter
      condition: amount > 6
    - type: mapping
      fields:
        double: amount * 2
output:
  type: csv
  path: {out}
"
    )
}

fn start(dir: &std::path::Path) -> Server {
    Server::start_in(dir)
}

/// Submit → run → output on disk, byte-identical to `fust run` of the same job; logs,
/// live events and metrics tell the same story.
async fn submit_run_compare(server: &Server, dir: &std::path::Path) {
    let (status, created) = server.post("/jobs", &job("orders", "out/http.csv")).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["version"], 1);
    let (status, run) = server.post("/jobs/orders/runs", "").await;
    assert_eq!(status, 202, "{run}");
    assert_eq!(run["state"], "pending");
    let id = run["id"].as_str().unwrap().to_string();
    let done = server.wait_run(&id, Duration::from_secs(60)).await;
    assert_eq!(done["state"], "succeeded", "{done}\n{}", server.log_text());
    assert_eq!(done["rows_out"], 3);
    assert_eq!(done["rows_in"], 4);

    write_file(dir, "cli.yaml", job("orders", "out/cli.csv"));
    fust(dir, &["run", "cli.yaml"], &[]).success();
    let http = std::fs::read(dir.join("out/http.csv")).unwrap();
    let cli = std::fs::read(dir.join("out/cli.csv")).unwrap();
    assert_eq!(
        http, cli,
        "the HTTP run and `fust run` wrote different outputs"
    );
    assert!(
        String::from_utf8_lossy(&http).contains("bob,20.0,40.0"),
        "{}",
        String::from_utf8_lossy(&http)
    );

    let logs = server.get_json(&format!("/runs/{id}/logs")).await;
    let lines: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert!(lines[0].starts_with("Run started"), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("3 rows out")), "{lines:?}");

    // The event stream of a finished run gives its final state and ends.
    let (status, events) = server.get(&format!("/runs/{id}/events")).await;
    assert_eq!(status, 200);
    assert!(events.contains("event: state"), "{events}");
    assert!(events.contains("\"state\":\"succeeded\""), "{events}");

    let (status, metrics) = server.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("fust_rows_out_total{job=\"orders\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("fust_runs{state=\"succeeded\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("fust_output_rows_total{")
                && l.contains("job=\"orders\"")
                && l.contains("output=\"output\"")
                && l.ends_with(" 3")),
        "{metrics}"
    );
    assert!(
        metrics.contains("fust_run_duration_seconds_count{job=\"orders\"} 1"),
        "{metrics}"
    );

    // A new version; the history keeps both.
    let (status, v2) = server
        .put("/jobs/orders", &job("orders", "out/http2.csv"))
        .await;
    assert_eq!(status, 200, "{v2}");
    assert_eq!(v2["version"], 2);
    let versions = server.get_json("/jobs/orders/versions").await;
    assert_eq!(versions.as_array().unwrap().len(), 2);
    let (status, dup) = server.post("/jobs", &job("orders", "x.csv")).await;
    assert_eq!(status, 409, "{dup}");
}

#[tokio::test]
async fn submit_run_and_compare_with_cli_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "data/orders.csv", CSV);
    let server = start(dir.path());
    submit_run_and_compare(&server, dir.path()).await;
}

async fn submit_run_and_compare(server: &Server, dir: &std::path::Path) {
    submit_run_compare(server, dir).await;
}

#[tokio::test]
async fn submit_run_and_compare_with_cli_postgres_store() {
    let db = format!("fust_meta_http_{}", std::process::id());
    psql(&format!("DROP DATABASE IF EXISTS {db}"));
    psql(&format!("CREATE DATABASE {db}"));
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "data/orders.csv", CSV);
    let url = PG_URL.replace("/test", &format!("/{db}"));
    {
        let server = Server::start(ServerOptions {
            dir: dir.path(),
            metadata: url,
            config: None,
            env: vec![],
            token: None,
            args: vec![],
        });
        submit_run_compare(&server, dir.path()).await;
    }
    let _ = common::try_psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
}

#[tokio::test]
async fn invalid_jobs_get_422_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "data/orders.csv", CSV);
    let server = start(dir.path());
    let bad = job("bad", "out/x.csv").replace("condition: amount > 6", "conditon: amount > 6");
    for path in ["/jobs", "/validate", "/preview"] {
        let (status, body) = server.post(path, &bad).await;
        assert_eq!(status, 422, "{path}: {body}");
        let p = &body["problems"][0];
        assert_eq!(p["line"], 8, "{body}");
        assert_eq!(p["column"], 7, "{body}");
        assert!(
            p["message"].as_str().unwrap().contains("condition"),
            "{body}"
        );
        assert!(
            body["error"].as_str().unwrap().contains("request body:8:7"),
            "{body}"
        );
    }
    // JSON bodies too (JSON is YAML), with positions.
    let (status, body) = server
        .post("/validate", "{\"name\": \"j\", \"input\": {\"type\": \"csvv\", \"path\": \"data/orders.csv\"}, \"output\": {\"type\": \"console\"}}")
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("did you mean `csv`"),
        "{body}"
    );
    // A job without a name can't be stored.
    let (status, body) = server
        .post(
            "/jobs",
            "input: {type: csv, path: data/orders.csv}\noutput: {type: console}\n",
        )
        .await;
    assert_eq!(status, 422, "{body}");
    // Bad cron and time zone, at their positions.
    let (status, body) = server
        .post(
            "/jobs",
            &format!(
                "{}schedule:\n  cron: every day\n  timezone: Mars/Base\n",
                job("c", "out/c.csv")
            ),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let keys: Vec<&str> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["schedule.cron", "schedule.timezone"], "{body}");
    // Not UTF-8, empty, unknown endpoint, unknown run.
    let r = server
        .client
        .post(server.url("/validate"))
        .header("content-type", "application/yaml")
        .body(vec![0xff, 0xfe, 0x00])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(server.post("/validate", "").await.0, 422);
    assert_eq!(server.get("/nope").await.0, 404);
    assert_eq!(server.get("/runs/does-not-exist").await.0, 404);
    assert_eq!(server.post("/jobs/nope/runs", "").await.0, 404);
    assert_eq!(server.get("/runs?limit=-3").await.0, 400);
    assert_eq!(server.get("/runs?state=done").await.0, 400);
}

#[tokio::test]
async fn preview_and_validate_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "data/orders.csv", CSV);
    let server = start(dir.path());
    let (status, body) = server
        .post("/preview?limit=2", &job("p", "out/p.csv"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"].as_array().unwrap().len(), 2, "{body}");
    assert_eq!(body["rows"][0]["name"], "ann");
    assert_eq!(body["rows"][0]["double"], 21.0);
    assert_eq!(body["columns"][3]["name"], "double");
    let (status, body) = server.post("/validate", &job("p", "out/p.csv")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["output"], "csv");
    // An invalid job: 422, or with `?report=true` (the console) 200 with the same problems.
    let bad = job("p", "out/p.csv").replace("type: csv", "type: cvs");
    let (status, refused) = server.post("/validate", &bad).await;
    assert_eq!(status, 422, "{refused}");
    let (status, report) = server.post("/validate?report=true", &bad).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["problems"], refused["problems"], "{report}");
    assert!(report["problems"][0]["line"].as_u64().is_some(), "{report}");
    assert_eq!(report["error"], refused["error"], "{report}");
    assert!(
        !dir.path().join("out").exists(),
        "preview/validate wrote output"
    );
    // The preview limit is bounded by the server.
    assert_eq!(
        server
            .post("/preview?limit=100000", &job("p", "o.csv"))
            .await
            .0,
        400
    );
    let plugins = server.get_json("/plugins").await;
    let csv = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "csv" && p["role"] == "input")
        .unwrap();
    assert!(
        csv["options"]["properties"]["delimiter"].is_object(),
        "{csv}"
    );
}

#[tokio::test]
async fn bearer_tokens_guard_every_endpoint_but_health() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(ServerOptions {
        dir: dir.path(),
        metadata: sqlite_url(dir.path()),
        config: None,
        env: vec![],
        token: Some("s3cr3t-token".into()),
        args: vec![],
    });
    let anon = common::server::test_client().build().unwrap();
    for path in [
        "/jobs",
        "/runs",
        "/metrics",
        "/plugins",
        "/openapi.json",
        "/runs/x",
    ] {
        let r = anon.get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path}");
        let r = anon
            .get(server.url(path))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path}");
    }
    let r = anon
        .post(server.url("/jobs"))
        .header("content-type", "application/yaml")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = anon.get(server.url("/health")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let health: Value = r.json().await.unwrap();
    assert_eq!(health["token_required"], true, "{health}");
    assert_eq!(server.get("/jobs").await.0, 200);
    let doc = server.get_json("/openapi.json").await;
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // The browsable API page and the document it shows need no token and hold no data.
    let page = anon.get(server.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    let shown: Value = anon
        .get(server.url("/docs/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        shown["paths"], doc["paths"],
        "/docs shows the served document"
    );
    assert!(shown["openapi"].as_str().unwrap().starts_with("3."));
    server.stop();
    assert!(!server.log_text().contains("s3cr3t-token"));
}

/// A named secret of the server (its value from the server's environment) is used by the
/// job but appears in no response, no log line and nowhere in the metadata store's file; a
/// literal secret is refused.
#[tokio::test]
async fn canary_secret_is_never_stored_or_returned() {
    let canary = format!("canary-{}-pw", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(ServerOptions {
        dir: dir.path(),
        metadata: sqlite_url(dir.path()),
        config: Some("secrets: {canary: \"${FUST_CANARY_PW}\"}\n"),
        env: vec![("FUST_CANARY_PW", canary.clone())],
        token: None,
        args: vec![],
    });
    let secret_job = "name: secretive
input:
  type: postgres
  host: 127.0.0.1
  user: postgres
  password: ${secret:canary}
  database: test
  query: SELECT 1 AS one, 'x' AS two
output:
  type: csv
  path: out/secret.csv
";
    let mut bodies = Vec::new();
    let (status, body) = server.post("/jobs", secret_job).await;
    assert_eq!(status, 201, "{body}");
    bodies.push(body.to_string());
    let (_, run) = server.post("/jobs/secretive/runs", "").await;
    let id = run["id"].as_str().unwrap().to_string();
    let done = server.wait_run(&id, Duration::from_secs(60)).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    // A failing run whose error mentions the connection.
    let failing = secret_job
        .replace("secretive", "secretive_fail")
        .replace("database: test", "database: no_such_db_here");
    assert_eq!(server.post("/jobs", &failing).await.0, 201);
    let (_, run) = server.post("/jobs/secretive_fail/runs", "").await;
    let fid = run["id"].as_str().unwrap().to_string();
    let failed = server.wait_run(&fid, Duration::from_secs(60)).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    for path in [
        "/jobs".to_string(),
        "/jobs/secretive".to_string(),
        "/jobs/secretive/versions".to_string(),
        "/runs".to_string(),
        format!("/runs/{id}"),
        format!("/runs/{id}/logs"),
        format!("/runs/{fid}/logs"),
        format!("/runs/{id}/events"),
        "/metrics".to_string(),
    ] {
        bodies.push(server.get(&path).await.1);
    }
    let (status, preview) = server.post("/preview", secret_job).await;
    assert_eq!(status, 200, "{preview}");
    bodies.push(preview.to_string());
    // Literal secrets are refused (and so never stored).
    let literal = secret_job
        .replace("secretive", "literal")
        .replace("${secret:canary}", &canary);
    let (status, body) = server.post("/jobs", &literal).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["problems"][0]["key"], "input.password", "{body}");
    assert_eq!(body["problems"][0]["line"], 6, "{body}");
    let url_literal = format!(
        "name: literal2\ninput:\n  type: postgres\n  url: postgres://postgres:{canary}@127.0.0.1/test\n  query: SELECT 1\noutput:\n  type: console\n"
    );
    assert_eq!(server.post("/jobs", &url_literal).await.0, 422);
    // A reference in a comment does not make a literal a reference, and secret options
    // nested in a map are found too.
    let commented = literal.replace(&canary, &format!("{canary} # ${{secret:canary}}"));
    let (status, body) = server.post("/jobs", &commented).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["problems"][0]["key"], "input.password", "{body}");
    let nested = format!(
        "name: literal3\ninput:\n  type: parquet\n  path: 's3://bucket/x.parquet'\n  storage:\n    access_key_id: AKIA\n    secret_access_key: {canary}\noutput:\n  type: console\n"
    );
    let (status, body) = server.post("/jobs", &nested).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.to_string().contains("input.storage.secret_access_key"),
        "{body}"
    );
    bodies.push(body.to_string());
    server.stop();
    bodies.push(server.log_text());
    for b in &bodies {
        assert!(!b.contains(&canary), "the canary leaked: {b}");
    }
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("meta.db") {
            let bytes = std::fs::read(&path).unwrap();
            let needle = canary.as_bytes();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "the canary is in {}",
                path.display()
            );
        }
    }
}

#[tokio::test]
async fn paths_cannot_escape_the_data_roots() {
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("root");
    write_file(&root, "data/orders.csv", CSV);
    write_file(base.path(), "outside/secret.csv", "a\n1\n");
    std::os::unix::fs::symlink(base.path().join("outside"), root.join("data/link")).unwrap();
    let server = start(&root);
    for (path, key) in [
        ("../outside/secret.csv", "input.path"),
        ("data/../../outside/secret.csv", "input.path"),
        ("data/link/secret.csv", "input.path"),
        ("/etc/passwd", "input.path"),
        ("FILE:///etc/passwd", "input.path"),
        ("'{x}/../../outside/secret.csv'", "input.path"),
        ("data/*/../../../outside/secret.csv", "input.path"),
    ] {
        let body = job("escape", "out/x.csv").replace("data/orders.csv", path);
        let (status, resp) = server.post("/jobs", &body).await;
        assert_eq!(status, 422, "{path}: {resp}");
        assert_eq!(resp["problems"][0]["key"], key, "{resp}");
        assert!(
            resp["error"]
                .as_str()
                .unwrap()
                .contains("outside the data roots"),
            "{resp}"
        );
        let (status, _) = server.post("/preview", &body).await;
        assert_eq!(status, 422, "{path}");
    }
    let out_escape = job("escape", "../outside/written.csv");
    assert_eq!(server.post("/jobs", &out_escape).await.0, 422);
    assert!(!base.path().join("outside/written.csv").exists());
}

/// 500 concurrent submissions: every 2xx answer is a run that exists exactly once and
/// finishes; nothing else appears.
#[tokio::test]
async fn five_hundred_concurrent_submissions() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "data/orders.csv", CSV);
    let server = std::sync::Arc::new(start(dir.path()));
    let body = format!(
        "{}schedule:\n  overlap: allow\n",
        job("burst", "out/burst.csv")
    );
    assert_eq!(server.post("/jobs", &body).await.0, 201);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..500 {
        let s = server.clone();
        tasks.spawn(async move {
            let (status, run) = s.post("/jobs/burst/runs", "").await;
            (status, run["id"].as_str().unwrap_or_default().to_string())
        });
    }
    let mut ids = HashSet::new();
    while let Some(r) = tasks.join_next().await {
        let (status, id) = r.unwrap();
        assert_eq!(status, 202);
        assert!(ids.insert(id), "duplicate run id");
    }
    assert_eq!(ids.len(), 500);
    let start = std::time::Instant::now();
    loop {
        let runs = server.get_json("/runs?job=burst&limit=1000").await;
        let runs = runs.as_array().unwrap();
        let listed: HashSet<String> = runs
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(runs.len(), listed.len(), "a run is listed twice");
        assert_eq!(listed, ids, "lost or extra runs");
        let done = runs.iter().filter(|r| r["state"] == "succeeded").count();
        if done == 500 {
            break;
        }
        let failed: Vec<&Value> = runs.iter().filter(|r| r["state"] == "failed").collect();
        assert!(failed.is_empty(), "{:?}", failed.first());
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "{done}/500 finished"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let metrics = server.get("/metrics").await.1;
    assert!(
        metrics.contains("fust_runs{state=\"succeeded\"} 500"),
        "{metrics}"
    );
    assert!(metrics.contains("fust_queue_depth 0"), "{metrics}");
}

#[tokio::test]
async fn retries_cancel_cron_and_dependencies() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "data/orders.csv", CSV);
    let server = start(dir.path());

    // A failing job with two retries: three attempts, each failed, backoff between them.
    let failing = job("flaky", "out/flaky.csv").replace("data/orders.csv", "data/missing.csv")
        + "schedule:\n  max_retries: 2\n  retry_backoff: 200ms\n";
    assert_eq!(server.post("/jobs", &failing).await.0, 201);
    server.post("/jobs/flaky/runs", "").await;
    let start = std::time::Instant::now();
    let runs = loop {
        let runs = server.get_json("/runs?job=flaky").await;
        let list = runs.as_array().unwrap().clone();
        if list.len() == 3 && list.iter().all(|r| r["state"] == "failed") {
            break list;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{runs}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut attempts: Vec<i64> = runs
        .iter()
        .map(|r| r["attempt"].as_i64().unwrap())
        .collect();
    attempts.sort();
    assert_eq!(attempts, [1, 2, 3]);
    assert!(
        runs[0]["error"].as_str().unwrap().contains("missing.csv"),
        "{}",
        runs[0]
    );

    // Cancel a slow run (PostgreSQL sleeps): it ends cancelled and publishes nothing.
    let slow = "name: slow
input:
  type: postgres
  url: postgres://postgres@127.0.0.1:5432/test
  query: SELECT g FROM generate_series(1, 3) g, pg_sleep(30) s
output:
  type: csv
  path: out/slow.csv
";
    assert_eq!(server.post("/jobs", slow).await.0, 201);
    let (_, run) = server.post("/jobs/slow/runs", "").await;
    let id = run["id"].as_str().unwrap().to_string();
    // Watch it live: the event stream shows it running, then cancelled, then ends.
    let mut events = server
        .client
        .get(server.url(&format!("/runs/{id}/events")))
        .send()
        .await
        .unwrap();
    let mut seen = String::new();
    let mut cancelled = false;
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(20), events.chunk())
        .await
        .expect("an event within 20 s")
        .unwrap()
    {
        seen.push_str(&String::from_utf8_lossy(&chunk));
        if !cancelled && seen.contains("\"state\":\"running\"") {
            let (status, _) = server.post(&format!("/runs/{id}/cancel"), "").await;
            assert_eq!(status, 202);
            cancelled = true;
        }
    }
    assert!(cancelled, "never saw the run running: {seen}");
    let last = seen.trim_end().lines().last().unwrap_or_default();
    assert!(last.contains("\"state\":\"cancelled\""), "{seen}");
    let done = server.wait_run(&id, Duration::from_secs(20)).await;
    assert_eq!(done["state"], "cancelled", "{done}");
    assert!(!dir.path().join("out/slow.csv").exists());
    assert_eq!(server.post(&format!("/runs/{id}/cancel"), "").await.0, 409);

    // Cron every second (with seconds), overlap skip; and a job that runs after it.
    let cron = job("ticker", "out/ticker.csv") + "schedule:\n  cron: \"* * * * * *\"\n";
    let after = job("follower", "out/follower.csv") + "schedule:\n  after: [ticker]\n";
    assert_eq!(server.post("/jobs", &after).await.0, 201);
    assert_eq!(server.post("/jobs", &cron).await.0, 201);
    let start = std::time::Instant::now();
    loop {
        let ticks = server.get_json("/runs?job=ticker&state=succeeded").await;
        let follows = server.get_json("/runs?job=follower&state=succeeded").await;
        let (t, f) = (ticks.as_array().unwrap(), follows.as_array().unwrap());
        if t.len() >= 2 && !f.is_empty() {
            assert!(t.iter().all(|r| r["trigger"] == "cron"), "{ticks}");
            assert!(f.iter().all(|r| r["trigger"] == "after"), "{follows}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{ticks} {follows}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let view = server.get_json("/jobs/ticker").await;
    assert!(view["next_run_at"].as_i64().unwrap() > 0, "{view}");
    assert_eq!(server.delete("/jobs/ticker").await, 204);
    assert_eq!(server.delete("/jobs/ticker").await, 404);
}

/// An incremental PostgreSQL read run by the service keeps its cursor mark in the
/// metadata store (not in a state file): each run reads only the rows added since.
#[tokio::test]
async fn incremental_cursor_lives_in_the_metadata_store() {
    let table = format!("http_cursor_{}", std::process::id());
    psql(&format!(
        "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id int PRIMARY KEY, v text); INSERT INTO {table} SELECT g, 'v' || g FROM generate_series(1, 5) g"
    ));
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let body = format!(
        "name: incr\ninput:\n  type: postgres\n  url: {PG_URL}\n  table: {table}\n  cursor_column: id\noutput:\n  type: csv\n  path: out/incr.csv\n"
    );
    assert_eq!(server.post("/jobs", &body).await.0, 201);
    let mut rows = Vec::new();
    for insert in [None, Some("6, 7"), None] {
        if let Some(ids) = insert {
            for id in ids.split(", ") {
                psql(&format!("INSERT INTO {table} VALUES ({id}, 'new')"));
            }
        }
        let (_, run) = server.post("/jobs/incr/runs", "").await;
        let done = server
            .wait_run(run["id"].as_str().unwrap(), Duration::from_secs(60))
            .await;
        assert_eq!(done["state"], "succeeded", "{done}");
        rows.push(done["rows_out"].as_i64().unwrap());
    }
    assert_eq!(rows, [5, 2, 0]);
    let out = std::fs::read_to_string(dir.path().join("out/incr.csv")).unwrap();
    assert_eq!(
        out.lines().count(),
        1,
        "the last run wrote only a header: {out}"
    );
    assert!(!dir.path().join(".fust/state.json").exists());
    psql(&format!("DROP TABLE {table}"));
}

/// The server config file: disabled plugins are unknown to jobs, the body limit answers
/// 413, logs are JSON lines, and a bad key is reported with its line.
#[tokio::test]
async fn server_config_file_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "data/orders.csv", CSV);
    let mut server = Server::start(ServerOptions {
        dir: dir.path(),
        metadata: sqlite_url(dir.path()),
        config: Some(
            "workers: 1\nplugins_disabled: [console]\nbody_limit: 4KB\nlog_format: json\npreview_max_rows: 3\n",
        ),
        env: vec![],
        token: None,
        args: vec![],
    });
    let console = "name: c\ninput: {type: csv, path: data/orders.csv}\noutput: {type: console}\n";
    let (status, body) = server.post("/validate", console).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("unknown output type `console`"),
        "{body}"
    );
    let big = format!("{}# {}\n", job("big", "out/big.csv"), "x".repeat(8 << 10));
    let (status, body) = server.post("/validate", &big).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("body_limit"),
        "{body}"
    );
    assert_eq!(
        server.post("/preview?limit=4", &job("p", "o.csv")).await.0,
        400
    );
    assert_eq!(
        server.post("/preview?limit=3", &job("p", "o.csv")).await.0,
        200
    );
    server.stop();
    let log = server.log_text();
    let first = log.lines().next().unwrap_or_default();
    let parsed: Value = serde_json::from_str(first).unwrap_or_else(|e| panic!("{e}: {log}"));
    assert!(parsed["fields"]["message"].is_string(), "{parsed}");

    // A wrong key in the config file: exit 2 with the file, line and the valid keys.
    write_file(
        dir.path(),
        "bad.yaml",
        "workers: 2\nlisten_on: 127.0.0.1:0\n",
    );
    let out = fust(dir.path(), &["serve", "--config", "bad.yaml"], &[]);
    out.code_is(2);
    assert!(out.stderr.contains("bad.yaml:2:1"), "{}", out.stderr);
    assert!(
        out.stderr.contains("did you mean `listen`"),
        "{}",
        out.stderr
    );
}

fn slow_job(name: &str, schedule: &str) -> String {
    format!(
        "name: {name}
input:
  type: postgres
  url: {PG_URL}
  query: SELECT g FROM generate_series(1, 2) g, pg_sleep(1.2) s
output:
  type: csv
  path: out/{name}.csv
schedule:
{schedule}"
    )
}

/// Counts a job's runs by state: (pending, running, succeeded).
async fn states(server: &Server, job: &str) -> (usize, usize, usize) {
    let runs = server.get_json(&format!("/runs?job={job}")).await;
    let count = |s: &str| {
        runs.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["state"] == s)
            .count()
    };
    (count("pending"), count("running"), count("succeeded"))
}

/// `overlap: skip` drops cron runs while one is active, `queue` lines them up, and the
/// global worker limit (here 1) holds even for `overlap: allow`.
#[tokio::test]
async fn overlap_policies_and_the_worker_limit() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(ServerOptions {
        dir: dir.path(),
        metadata: sqlite_url(dir.path()),
        config: Some("workers: 1\nscheduler_tick: 200ms\n"),
        env: vec![],
        token: None,
        args: vec![],
    });
    // skip: never more than one run pending or running.
    let body = slow_job("skipper", "  cron: \"* * * * * *\"\n  overlap: skip\n");
    assert_eq!(server.post("/jobs", &body).await.0, 201);
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(4) {
        let (pending, running, _) = states(&server, "skipper").await;
        assert!(
            pending + running <= 1,
            "skip let runs pile up: {pending} pending, {running} running"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(server.delete("/jobs/skipper").await, 204);
    let start = std::time::Instant::now();
    while states(&server, "skipper").await.1 > 0 {
        assert!(start.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(states(&server, "skipper").await.2 >= 1);

    // queue: cron runs wait behind the active one.
    let body = slow_job("queuer", "  cron: \"* * * * * *\"\n  overlap: queue\n");
    assert_eq!(server.post("/jobs", &body).await.0, 201);
    let start = std::time::Instant::now();
    let mut max_pending = 0;
    while start.elapsed() < Duration::from_secs(4) {
        let (pending, running, _) = states(&server, "queuer").await;
        assert!(
            running <= 1,
            "{running} runs of one job at once with overlap: queue"
        );
        max_pending = max_pending.max(pending);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(max_pending >= 1, "queue never queued");
    assert_eq!(server.delete("/jobs/queuer").await, 204);
    // Deleting the job cancelled its queued runs (a running one ends as it stops).
    let start = std::time::Instant::now();
    loop {
        let (pending, running, _) = states(&server, "queuer").await;
        if (pending, running) == (0, 0) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "runs of a deleted job still queued: {pending} pending, {running} running"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // allow: runs of one job may overlap, but the server runs one at a time (workers: 1).
    let body = slow_job("parallel", "  overlap: allow\n");
    assert_eq!(server.post("/jobs", &body).await.0, 201);
    for _ in 0..3 {
        assert_eq!(server.post("/jobs/parallel/runs", "").await.0, 202);
    }
    let start = std::time::Instant::now();
    loop {
        let all_running = server.get_json("/runs?state=running").await;
        assert!(
            all_running.as_array().unwrap().len() <= 1,
            "worker limit exceeded: {all_running}"
        );
        let (_, _, done) = states(&server, "parallel").await;
        if done == 3 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{done}/3 done");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Server config keys: several `auth_tokens` (one from the server's environment),
/// `data_roots` with two roots, and `--workers` on the command line over the file's
/// `workers`.
#[tokio::test]
async fn auth_tokens_data_roots_and_workers() {
    let base = tempfile::tempdir().unwrap();
    let (a, b) = (base.path().join("a"), base.path().join("b"));
    write_file(&a, "orders.csv", CSV);
    write_file(&b, "orders.csv", CSV);
    write_file(base.path(), "outside.csv", CSV);
    let config = format!(
        "auth_tokens: [tok-one, '${{SECOND_TOKEN}}']\ndata_roots: ['{}', '{}']\nworkers: 3\n",
        a.display(),
        b.display()
    );
    let mut server = Server::start(ServerOptions {
        dir: base.path(),
        metadata: sqlite_url(base.path()),
        config: Some(&config),
        env: vec![("SECOND_TOKEN", "tok-two".into())],
        token: None,
        args: vec!["--workers", "1"],
    });
    // Every listed token opens the API; none, a wrong one or the unexpanded text do not.
    for (token, want) in [
        (None, 401),
        (Some("tok-one"), 200),
        (Some("tok-two"), 200),
        (Some("${SECOND_TOKEN}"), 401),
        (Some("tok"), 401),
    ] {
        server.token = token.map(str::to_string);
        assert_eq!(server.get("/jobs").await.0, want, "{token:?}");
    }
    server.token = Some("tok-two".into());
    // Jobs may read from either root and nowhere else.
    let reading = |path: &std::path::Path, out: &std::path::Path| {
        format!(
            "name: roots\ninput: {{type: csv, path: '{}'}}\noutput: {{type: csv, path: '{}'}}\n",
            path.display(),
            out.display()
        )
    };
    for root in [&a, &b] {
        let body = reading(&root.join("orders.csv"), &root.join("out/copy.csv"));
        let (status, resp) = server.post("/validate", &body).await;
        assert_eq!(status, 200, "{}: {resp}", root.display());
    }
    let body = reading(&base.path().join("outside.csv"), &a.join("out/x.csv"));
    let (status, resp) = server.post("/validate", &body).await;
    assert_eq!(status, 422, "{resp}");
    assert!(
        resp["error"]
            .as_str()
            .unwrap()
            .contains("outside the data roots"),
        "{resp}"
    );
    // `--workers 1` wins over `workers: 3`: three runs allowed to overlap run one at a time.
    let body = slow_job("parallel", "  overlap: allow\n")
        .replace("path: out/", &format!("path: {}/out/", a.display()));
    let (status, resp) = server.post("/jobs", &body).await;
    assert_eq!(status, 201, "{resp}");
    for _ in 0..3 {
        assert_eq!(server.post("/jobs/parallel/runs", "").await.0, 202);
    }
    let start = std::time::Instant::now();
    let mut queued_behind = false;
    loop {
        let (pending, running, done) = states(&server, "parallel").await;
        assert!(running <= 1, "{running} runs at once with --workers 1");
        queued_behind |= running == 1 && pending >= 1;
        if done == 3 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{done}/3 done");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(queued_behind, "no run ever waited for the single worker");
    server.stop();
    let log = server.log_text();
    assert!(
        !log.contains("tok-one") && !log.contains("tok-two"),
        "a token in the log"
    );
}

/// A job sent to the server reads none of the server's environment unless the operator
/// allowed the variable (`--job-env`), and a named secret only as a secret option's value:
/// neither the value of a forbidden variable nor a secret comes back in any answer.
#[tokio::test]
async fn submitted_jobs_read_only_allowed_variables() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "data/orders.csv", CSV);
    let hidden = format!("hidden-{}-value", std::process::id());
    let server = Server::start(ServerOptions {
        dir: dir.path(),
        metadata: sqlite_url(dir.path()),
        config: Some("secrets: {db: \"${FUST_HIDDEN}\"}\n"),
        env: vec![
            ("FUST_HIDDEN", hidden.clone()),
            ("FUST_JOB_DIR", "data".into()),
            ("FUST_API_TOKENS_SPARE", hidden.clone()),
        ],
        token: None,
        args: vec!["--job-env", "FUST_JOB_*"],
    });
    let sql = |query: &str| {
        format!(
            "input: {{type: csv, path: data/orders.csv}}\npipeline:\n  processors:\n    - type: sql\n      query: \"{query}\"\noutput: {{type: csv, path: out/x.csv}}\n"
        )
    };
    let mut answers = Vec::new();
    for (body, want) in [
        (
            sql("SELECT '${FUST_HIDDEN}' AS v FROM input"),
            "may not read its environment variable `FUST_HIDDEN`",
        ),
        (
            sql("SELECT '${FUST_API_TOKENS_SPARE:-x}' AS v FROM input"),
            "--job-env FUST_API_TOKENS_SPARE",
        ),
        (sql("SELECT '${HOME}' AS v FROM input"), "`HOME`"),
        (
            sql("SELECT '${secret:db}' AS v FROM input"),
            "may only be the value of a secret option",
        ),
        (
            sql("SELECT '${secret:nope}' AS v FROM input"),
            "no secret `nope`",
        ),
        // On the same line as a secret option, in another option's value.
        (
            "input: {type: postgres, url: 'postgres://postgres@127.0.0.1/test', password: '${secret:db}', query: 'SELECT ''${secret:db}'' AS v'}\noutput: {type: csv, path: out/x.csv}\n".to_string(),
            "may only be the value of a secret option",
        ),
        (
            "input: {type: csv, path: data/orders.csv}\nsettings: {spill_dir: '${secret:db}'}\noutput: {type: csv, path: out/x.csv}\n".to_string(),
            "may only be the value of a secret option",
        ),
    ] {
        for route in ["/preview", "/validate", "/jobs"] {
            let body = if route == "/jobs" {
                format!("name: j\n{body}")
            } else {
                body.clone()
            };
            let (status, answer) = server.post(route, &body).await;
            assert_eq!(status, 422, "{route} {body}: {answer}");
            assert!(answer.to_string().contains(want), "{route}: {answer}");
            answers.push(answer.to_string());
        }
    }
    // An allowed variable works.
    let allowed = "input: {type: csv, path: '${FUST_JOB_DIR}/orders.csv'}\noutput: {type: csv, path: out/x.csv}\n";
    let (status, answer) = server.post("/preview", allowed).await;
    assert_eq!(status, 200, "{answer}");
    for a in &answers {
        assert!(!a.contains(&hidden), "the hidden value leaked: {a}");
    }
}

/// A 600-byte YAML alias bomb sent to `/validate` is refused at once (it would expand to
/// 10^9 values), and the server stays healthy.
#[tokio::test]
async fn an_alias_bomb_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(dir.path());
    let bomb = common::alias_bomb();
    assert!(bomb.len() < 1000, "{}", bomb.len());
    let started = std::time::Instant::now();
    for route in ["/validate", "/preview", "/jobs"] {
        let (status, body) = server.post(route, &bomb).await;
        assert_eq!(status, 422, "{route}: {body}");
        assert!(body.to_string().contains("alias bomb"), "{body}");
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(server.get("/health").await.0, 200);
}

/// A deleted job stays deleted: its queued retry is cancelled and never runs, and a run in
/// flight is cancelled instead of finishing under a job that no longer exists.
#[tokio::test]
async fn a_deleted_job_runs_no_more() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "data/orders.csv", CSV);
    let server = start(dir.path());
    // A failing job whose retry waits 2 s.
    let failing = job("doomed", "out/doomed.csv").replace("data/orders.csv", "data/missing.csv")
        + "schedule:\n  max_retries: 3\n  retry_backoff: 2s\n";
    assert_eq!(server.post("/jobs", &failing).await.0, 201);
    server.post("/jobs/doomed/runs", "").await;
    let by_state = |runs: &Value, s: &str| {
        runs.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["state"] == s)
            .count()
    };
    // The first attempt failed and its retry waits.
    let start = std::time::Instant::now();
    loop {
        let runs = server.get_json("/runs?job=doomed").await;
        if by_state(&runs, "failed") == 1 && by_state(&runs, "pending") == 1 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no retry queued: {runs}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.delete("/jobs/doomed").await, 204);
    let runs = server.get_json("/runs?job=doomed").await;
    assert_eq!(by_state(&runs, "cancelled"), 1, "{runs}");
    // Past the backoff: nothing ran.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let runs = server.get_json("/runs?job=doomed").await;
    assert_eq!(runs.as_array().unwrap().len(), 2, "{runs}");
    assert_eq!(by_state(&runs, "failed"), 1, "{runs}");
    assert_eq!(by_state(&runs, "cancelled"), 1, "{runs}");

    // A run in flight is cancelled.
    assert_eq!(server.post("/jobs", &slow_job("busy", "")).await.0, 201);
    let (_, run) = server.post("/jobs/busy/runs", "").await;
    let id = run["id"].as_str().unwrap().to_string();
    server
        .wait_state(&id, "running", Duration::from_secs(30))
        .await;
    assert_eq!(server.delete("/jobs/busy").await, 204);
    let done = server.wait_run(&id, Duration::from_secs(30)).await;
    assert_eq!(done["state"], "cancelled", "{done}");
    assert!(!dir.path().join("out/busy.csv").exists());
}

/// A web page cannot drive the server: a cross-site write (a form's `text/plain` body, or
/// an `Origin` that is not the server's) and a request under a foreign `Host` (DNS
/// rebinding) are refused, and no job is created; `--allowed-host` adds a name.
#[tokio::test]
async fn browsers_cannot_write_across_sites() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "data/orders.csv", CSV);
    let server = Server::start_with_args(dir.path(), vec!["--allowed-host", "fust.internal"]);
    let body = job("csrf", "out/x.csv");
    let own = server.base.trim_start_matches("http://").to_string();
    let send = |content_type: Option<&str>, origin: Option<&str>, host: Option<&str>| {
        let mut r = server.client.post(server.url("/jobs")).body(body.clone());
        if let Some(ct) = content_type {
            r = r.header("content-type", ct);
        }
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        if let Some(h) = host {
            r = r.header("host", h);
        }
        async move { r.send().await.unwrap().status().as_u16() }
    };
    // What a cross-site HTML form can send.
    assert_eq!(send(Some("text/plain"), None, None).await, 415);
    assert_eq!(
        send(Some("application/x-www-form-urlencoded"), None, None).await,
        415
    );
    assert_eq!(send(None, None, None).await, 415);
    // A page on another site, even with a YAML body (fetch), and a page served from
    // nowhere (`Origin: null`).
    assert_eq!(
        send(Some("application/yaml"), Some("http://evil.example"), None).await,
        403
    );
    assert_eq!(
        send(Some("application/yaml"), Some("null"), None).await,
        403
    );
    // DNS rebinding: a foreign name for this server.
    assert_eq!(
        send(Some("application/yaml"), None, Some("evil.example:8080")).await,
        421
    );
    assert_eq!(
        server.get("/jobs").await.1,
        "[]",
        "a refused write created a job"
    );
    // The server's own origin, an allowed name, and plain API clients work.
    let origin = format!("http://{own}");
    assert_eq!(
        send(Some("application/yaml"), Some(&origin), None).await,
        201
    );
    let port = own.rsplit(':').next().unwrap();
    let named = format!("fust.internal:{port}");
    assert_eq!(
        server
            .client
            .get(server.url("/jobs"))
            .header("host", named)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
}

/// `/preview` runs under `--preview-timeout` and in a worker slot: a slow preview ends
/// with 504 while `/health` keeps answering, and with the only worker busy a preview
/// waits for it within the same limit.
#[tokio::test]
async fn previews_are_time_limited_and_count_against_the_workers() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "data/orders.csv", CSV);
    let server = Server::start_with_args(
        dir.path(),
        vec!["--preview-timeout", "1s", "--workers", "1"],
    );
    let slow = format!(
        "input: {{type: postgres, url: '{PG_URL}', query: 'SELECT 1 AS one FROM pg_sleep(5)'}}\noutput: {{type: csv, path: out/x.csv}}\n"
    );
    let started = std::time::Instant::now();
    let (preview, health) = tokio::join!(server.post("/preview", &slow), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let t = std::time::Instant::now();
        (server.get("/health").await.0, t.elapsed())
    });
    assert_eq!(preview.0, 504, "{}", preview.1);
    assert!(
        preview.1.to_string().contains("preview_timeout"),
        "{}",
        preview.1
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(health.0, 200);
    assert!(
        health.1 < Duration::from_secs(1),
        "/health took {:?}",
        health.1
    );

    // The only worker runs a job: a quick preview waits for it, and times out.
    assert_eq!(server.post("/jobs", &slow_job("busy", "")).await.0, 201);
    let (_, run) = server.post("/jobs/busy/runs", "").await;
    let id = run["id"].as_str().unwrap().to_string();
    server
        .wait_state(&id, "running", Duration::from_secs(30))
        .await;
    let quick = job("quick", "out/q.csv");
    let (status, body) = server.post("/preview", &quick).await;
    assert_eq!(
        status, 504,
        "a preview ran beside the only worker's run: {body}"
    );
    server.wait_run(&id, Duration::from_secs(30)).await;
    assert_eq!(server.post("/preview", &quick).await.0, 200);
}

/// A client that goes away cancels its preview: the worker slot it held is free at once.
#[tokio::test]
async fn a_disconnected_preview_frees_its_worker() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "data/orders.csv", CSV);
    let server = Server::start_with_args(
        dir.path(),
        vec!["--preview-timeout", "20s", "--workers", "1"],
    );
    // A query text of this run only: an earlier run's query may still be sleeping.
    let nap = format!("15.{}", std::process::id());
    let slow = format!(
        "input: {{type: postgres, url: '{PG_URL}', query: 'SELECT 1 AS one FROM pg_sleep({nap})'}}\noutput: {{type: csv, path: out/x.csv}}\n"
    );
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut raw = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "POST /preview HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/yaml\r\nContent-Length: {}\r\n\r\n{slow}",
        slow.len()
    );
    raw.write_all(request.as_bytes()).await.unwrap();
    // Under way once PostgreSQL runs the query; then the client leaves.
    let waiting = std::time::Instant::now();
    let running = || {
        common::try_psql(&format!(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep({nap})%' AND pid <> pg_backend_pid()"
        ))
        .expect("psql")
            == "1"
    };
    while !running() {
        assert!(
            waiting.elapsed() < Duration::from_secs(20),
            "the preview never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(raw);
    let started = std::time::Instant::now();
    let (status, body) = server.post("/preview", &job("quick", "out/q.csv")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the slot was held {:?} after the client left",
        started.elapsed()
    );
}

/// Without tokens the server refuses a network address unless told `--insecure-no-auth`
/// (and then warns); with tokens, or on loopback, it starts.
#[tokio::test]
async fn no_tokens_on_a_network_address_needs_insecure_no_auth() {
    let dir = tempfile::tempdir().unwrap();
    let meta = sqlite_url(dir.path());
    let out = fust(
        dir.path(),
        &["serve", "--listen", "0.0.0.0:0", "--metadata", &meta],
        &[("FUST_API_TOKENS", "")],
    );
    out.code_is(2);
    assert!(
        out.stderr.contains("refusing to listen on 0.0.0.0"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--insecure-no-auth"), "{}", out.stderr);

    let mut open = Server::start(ServerOptions {
        dir: dir.path(),
        metadata: meta.clone(),
        config: None,
        env: vec![],
        token: None,
        args: vec!["--listen", "0.0.0.0:0", "--insecure-no-auth"],
    });
    assert_eq!(open.get("/health").await.0, 200);
    open.stop();
    assert!(open.log_text().contains("INSECURE"), "{}", open.log_text());

    let mut guarded = Server::start(ServerOptions {
        dir: dir.path(),
        metadata: meta,
        config: None,
        env: vec![],
        token: Some("tok-net".into()),
        args: vec!["--listen", "0.0.0.0:0"],
    });
    assert_eq!(guarded.get("/jobs").await.0, 200);
    guarded.stop();
}

/// A local endpoint that answers every request with 404 and keeps the request heads it
/// was sent (to see which credentials a job's S3 requests carry).
fn recording_endpoint() -> (u16, std::sync::Arc<std::sync::Mutex<String>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            log.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&head));
            let _ = s.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (port, seen)
}

/// Jobs submitted over HTTP reach only the hosts the operator allows (`--allow-egress`),
/// never a cloud metadata address (even when allowed), and a job that names its own S3
/// endpoint gets none of the server's credentials.
#[tokio::test]
async fn submitted_jobs_reach_only_allowed_hosts_and_never_get_server_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let (port, seen) = recording_endpoint();
    let allow = format!("127.0.0.1:5432,127.0.0.1:{port},169.254.169.254");
    let canary = "AKIAFUSTCANARY000000";
    let server = Server::start(ServerOptions {
        dir: dir.path(),
        metadata: sqlite_url(dir.path()),
        config: None,
        env: vec![
            ("AWS_ACCESS_KEY_ID", canary.to_string()),
            ("AWS_SECRET_ACCESS_KEY", "fust-canary-secret".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
        ],
        token: None,
        args: vec!["--allow-egress", &allow],
    });
    let pg = |host: &str| {
        format!(
            "input: {{type: postgres, url: 'postgres://postgres@{host}/test', query: 'SELECT 7 AS seven'}}\n\
             output: {{type: console}}\n"
        )
    };
    let (status, body) = server.post("/preview", &pg("127.0.0.1:5432")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"][0]["seven"], 7, "{body}");

    let mysql = "input: {type: mysql, url: 'mysql://root@127.0.0.1:3306/test', query: 'SELECT 1'}\n\
                 output: {type: console}\n";
    let (status, body) = server.post("/preview", mysql).await;
    assert_ne!(status, 200, "{body}");
    let text = body.to_string();
    assert!(
        text.contains("127.0.0.1:3306") && text.contains("egress allow list"),
        "{text}"
    );

    let (status, body) = server.post("/preview", &pg("169.254.169.254:5432")).await;
    assert_ne!(status, 200, "{body}");
    assert!(
        body.to_string().contains("cloud metadata address"),
        "{body}"
    );

    let s3 = format!(
        "input: {{type: csv, path: 's3://bucket/orders.csv', storage: {{endpoint: 'http://127.0.0.1:{port}'}}}}\n\
         output: {{type: console}}\n"
    );
    let (status, body) = server.post("/preview", &s3).await;
    assert_ne!(status, 200, "{body}");
    let heads = seen.lock().unwrap().clone();
    assert!(
        heads.contains("/bucket"),
        "the endpoint was not asked: {heads:?} {body}"
    );
    assert!(
        !heads.contains(canary) && !heads.to_ascii_lowercase().contains("authorization"),
        "the server's credentials went to the job's endpoint:\n{heads}"
    );
    let s3_meta = format!(
        "input: {{type: csv, path: 's3://bucket/orders.csv', storage: {{endpoint: 'http://127.0.0.1:{port}', options: {{aws_metadata_endpoint: 'http://169.254.169.254'}}}}}}\n\
         output: {{type: console}}\n"
    );
    let (status, body) = server.post("/preview", &s3_meta).await;
    assert_ne!(status, 200, "{body}");
    assert!(
        body.to_string().contains("cloud metadata address"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_counts_its_bad_records_by_stage_and_kind() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "data/bad.csv",
        "id,amount\n1,10\n2\n3,x\n4,40\n5\n",
    );
    let server = start(dir.path());
    let job = "name: lenient
input: {type: csv, path: data/bad.csv, schema: {amount: bigint}}
output: {type: csv, path: out/good.csv}
settings: {on_error: skip}
";
    let (status, created) = server.post("/jobs", job).await;
    assert_eq!(status, 201, "{created}");
    let (status, run) = server.post("/jobs/lenient/runs", "").await;
    assert_eq!(status, 202, "{run}");
    let id = run["id"].as_str().unwrap().to_string();
    let done = server.wait_run(&id, Duration::from_secs(60)).await;
    assert_eq!(done["state"], "succeeded", "{done}\n{}", server.log_text());
    assert_eq!(done["rows_out"], 2);
    assert_eq!(done["bad_records"], 3, "{done}");
    let mut kinds: Vec<(String, u64)> = done["bad_records_by_kind"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            assert_eq!(k["stage"], "input", "{done}");
            (
                k["kind"].as_str().unwrap().to_string(),
                k["count"].as_u64().unwrap(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("unreadable value".to_string(), 1),
            ("wrong field count".to_string(), 2)
        ]
    );
    // The list of runs says the same, and so do the metrics.
    let runs = server.get_json("/runs?job=lenient").await;
    assert_eq!(runs[0]["bad_records"], 3, "{runs}");
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("fust_bad_records_total{")
                && l.contains("job=\"lenient\"")
                && l.contains("kind=\"wrong field count\"")
                && l.contains("stage=\"input\"")
                && l.ends_with(" 2")),
        "{metrics}"
    );
}
