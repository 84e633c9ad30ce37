//! The PostgreSQL server stops in the middle of a run: the run fails with a clear message,
//! does not panic, and once the server is back the target table is exactly as before.
//! Its own test binary, because it stops the shared server (cargo runs test binaries one
//! at a time, so no other test sees the outage). Needs the local server that `scripts/services` starts (and restarts here).

mod common;

use std::process::Command;

use common::*;

static URL: &ServerUrl = &PG_URL;

fn cluster(action: &str) {
    let version = std::fs::read_dir("/etc/postgresql")
        .expect("PostgreSQL is installed from Debian's packages (/etc/postgresql)")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .next()
        .expect("a PostgreSQL cluster version");
    let status = Command::new("pg_ctlcluster")
        .args([
            "--skip-systemctl-redirect",
            &version,
            "main",
            action,
            "-m",
            "fast",
        ])
        .status()
        .expect("pg_ctlcluster runs");
    assert!(status.success(), "pg_ctlcluster {action} failed");
}

/// Starts the server again however the test ends.
struct Restart;

impl Drop for Restart {
    fn drop(&mut self) {
        services_up("postgres");
    }
}

#[test]
fn the_server_stopping_mid_run_fails_the_run_and_keeps_the_target() {
    try_psql(
        "DROP SCHEMA IF EXISTS fust_restart CASCADE; CREATE SCHEMA fust_restart;
         CREATE TABLE fust_restart.t (g int PRIMARY KEY, s text);
         INSERT INTO fust_restart.t VALUES (-1, 'kept'), (-2, 'kept')",
    )
    .expect("PostgreSQL on 127.0.0.1:5432");
    let dir = tempdir();
    let d = dir.path();
    // A slow source (50 ms per row) feeding a load into the same server.
    let job = write_job(
        d,
        &format!(
            "input: {{type: postgres, url: '{URL}', query: 'SELECT g, repeat(''x'', 10) AS s FROM generate_series(1, 200) g, LATERAL (SELECT pg_sleep(0.05 + g * 0)) z'}}
output: {{type: postgres, url: '{URL}', table: fust_restart.t}}
"
        ),
    );
    let restart = Restart;
    // Under way: the source's query is running.
    let mid_run = || {
        try_psql(
            "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() \
             AND state = 'active' AND query LIKE '%generate_series(1, 200)%'",
        )
        .is_ok_and(|n| n == "1")
    };
    run_while_server_stops(
        d,
        &job,
        mid_run,
        || cluster("stop"),
        "postgres postgres@127.0.0.1:5432/test",
    );
    drop(restart);
    assert_eq!(
        try_psql("SELECT g, s FROM fust_restart.t ORDER BY g").unwrap(),
        "-2|kept\n-1|kept",
        "the target changed"
    );
    // And with the server back, the same job succeeds.
    let out = run_job(d, &job, &[]);
    out.success();
    assert_eq!(
        try_psql("SELECT count(*) FROM fust_restart.t").unwrap(),
        "202"
    );
}
