//! `kill -9` of the job service mid-run: after a restart no run is left `running`, the
//! interrupted run is failed with the reason, queued runs are run, and every submission
//! that was answered with a 2xx is still there.

#![allow(clippy::unwrap_used)] // helpers here fail the test they serve

mod common;

use std::time::Duration;

use common::server::Server;
use common::write_file;

const SLOW: &str = "name: slow
input:
  type: postgres
  url: postgres://postgres@127.0.0.1:5432/test
  query: SELECT g FROM generate_series(1, 3) g, pg_sleep(60) s
output:
  type: csv
  path: out/slow.csv
";

const QUICK: &str = "name: quick
input:
  type: csv
  path: data/in.csv
output:
  type: parquet
  path: out/quick.parquet
schedule:
  overlap: allow
";

fn start(dir: &std::path::Path) -> Server {
    Server::start_in(dir)
}

#[tokio::test]
async fn kill_9_mid_run_then_restart() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "data/in.csv", "a,b\n1,x\n2,y\n");
    let mut server = start(dir.path());
    assert_eq!(server.post("/jobs", SLOW).await.0, 201);
    assert_eq!(server.post("/jobs", QUICK).await.0, 201);
    let mut acknowledged = Vec::new();
    for _ in 0..20 {
        let (status, run) = server.post("/jobs/quick/runs", "").await;
        assert_eq!(status, 202);
        acknowledged.push(run["id"].as_str().unwrap().to_string());
    }
    let (_, slow1) = server.post("/jobs/slow/runs", "").await;
    let slow1 = slow1["id"].as_str().unwrap().to_string();
    // Overlap `skip` (the default) queues a second manual run behind the first.
    let (_, slow2) = server.post("/jobs/slow/runs", "").await;
    let slow2 = slow2["id"].as_str().unwrap().to_string();
    acknowledged.push(slow1.clone());
    acknowledged.push(slow2.clone());
    server
        .wait_state(&slow1, "running", Duration::from_secs(30))
        .await;
    // More submissions right before the kill.
    for _ in 0..10 {
        let (status, run) = server.post("/jobs/quick/runs", "").await;
        assert_eq!(status, 202);
        acknowledged.push(run["id"].as_str().unwrap().to_string());
    }
    server.kill9();

    let server = start(dir.path());
    let first = server.get_json(&format!("/runs/{slow1}")).await;
    assert_eq!(first["state"], "failed", "{first}");
    assert!(
        first["error"].as_str().unwrap().contains("interrupted"),
        "{first}"
    );
    assert!(first["finished_at"].as_i64().unwrap() > 0);
    // Every acknowledged run exists.
    for id in &acknowledged {
        let (status, body) = server.get(&format!("/runs/{id}")).await;
        assert_eq!(status, 200, "run {id} was lost: {body}");
    }
    // The queued slow run is picked up again; cancel it rather than wait a minute.
    let second = server
        .wait_state(&slow2, "running", Duration::from_secs(30))
        .await;
    assert_eq!(second["attempt"], 1);
    server.post(&format!("/runs/{slow2}/cancel"), "").await;
    let second = server.wait_run(&slow2, Duration::from_secs(30)).await;
    assert_eq!(second["state"], "cancelled", "{second}");
    // Every quick run finishes; none is left running.
    for id in &acknowledged[..20] {
        let run = server.wait_run(id, Duration::from_secs(60)).await;
        assert_eq!(run["state"], "succeeded", "{run}");
    }
    // Those submitted right before the kill either ran after the restart or were caught
    // running by the kill.
    for id in &acknowledged[22..] {
        let run = server.wait_run(id, Duration::from_secs(60)).await;
        let interrupted = run["state"] == "failed"
            && run["error"]
                .as_str()
                .unwrap_or_default()
                .contains("interrupted");
        assert!(run["state"] == "succeeded" || interrupted, "{run}");
    }
    let running = server.get_json("/runs?state=running").await;
    assert_eq!(running.as_array().unwrap().len(), 0, "{running}");
    let logs = server.get_json(&format!("/runs/{slow1}/logs")).await;
    assert!(logs.to_string().contains("server stopped"), "{logs}");
    assert!(!dir.path().join("out/slow.csv").exists());
}

/// Cron times missed while the server was down: `missed: run_once` starts one run when the
/// server is back, `missed: skip` starts none.
#[tokio::test]
async fn missed_cron_times_follow_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "data/in.csv", "a,b\n1,x\n");
    let mut server = start(dir.path());
    // Once a year, at New Year: never due during the test by itself.
    for (name, missed) in [("catch_up", "run_once"), ("no_catch_up", "skip")] {
        let body = QUICK
            .replace("name: quick", &format!("name: {name}"))
            .replace(
                "  overlap: allow\n",
                &format!("  cron: \"0 0 1 1 *\"\n  missed: {missed}\n"),
            );
        let (status, resp) = server.post("/jobs", &body).await;
        assert_eq!(status, 201, "{resp}");
    }
    server.stop();
    // The server was "down" for two years: move the scheduler's marks back.
    let two_years_ago = chrono_free_now_ms() - 2 * 366 * 24 * 3600 * 1000;
    let db = dir.path().join("meta.db");
    let script = format!(
        "import sqlite3; c = sqlite3.connect({db:?}); \
         [c.execute(\"INSERT INTO fust_meta(meta_key, value) VALUES (?, ?) ON CONFLICT(meta_key) DO UPDATE SET value = excluded.value\", (k, '{two_years_ago}')) for k in ('cron:catch_up', 'cron:no_catch_up')]; \
         c.commit()"
    );
    let status = std::process::Command::new("python3")
        .args(["-c", &script])
        .status()
        .unwrap();
    assert!(status.success());

    let server = start(dir.path());
    let start_wait = std::time::Instant::now();
    loop {
        let runs = server.get_json("/runs?job=catch_up").await;
        if let Some(run) = runs.as_array().unwrap().first() {
            assert_eq!(run["trigger"], "cron", "{run}");
            server
                .wait_run(run["id"].as_str().unwrap(), Duration::from_secs(30))
                .await;
            break;
        }
        assert!(
            start_wait.elapsed() < Duration::from_secs(20),
            "no catch-up run"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A few more scheduler passes (counted in /metrics): still exactly one catch-up run and
    // none for `skip`.
    let ticks = |metrics: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("fust_scheduler_ticks_total "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    let seen = ticks(&server.get("/metrics").await.1);
    let waiting = std::time::Instant::now();
    while ticks(&server.get("/metrics").await.1) < seen + 3 {
        assert!(
            waiting.elapsed() < Duration::from_secs(30),
            "the scheduler stopped ticking"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        server
            .get_json("/runs?job=catch_up")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let skipped = server.get_json("/runs?job=no_catch_up").await;
    assert_eq!(skipped.as_array().unwrap().len(), 0, "{skipped}");
}

fn chrono_free_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
