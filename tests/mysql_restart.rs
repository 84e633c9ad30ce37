//! The MariaDB server stops in the middle of a run: the run fails with a clear message,
//! does not panic, and once the server is back the target table is exactly as before.
//! Its own test binary, because it stops the shared server (cargo runs test binaries one
//! at a time, so no other test sees the outage). Needs the local server that `scripts/services` starts (and restarts here).

#![allow(clippy::unwrap_used)] // a failure here is the test's failure

mod common;

use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::*;

fn up() -> bool {
    Command::new("mariadb-admin")
        .args(mariadb_login())
        .arg("ping")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn running() -> bool {
    Command::new("pgrep")
        .args(["-x", "mariadbd"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Starts the server again however the test ends, and waits until it answers.
struct Restart;

impl Drop for Restart {
    fn drop(&mut self) {
        // A server still shutting down would make `--oknodo` a no-op: wait for it to exit.
        let t = Instant::now();
        while !up() && running() && t.elapsed() < Duration::from_secs(60) {
            sleep(Duration::from_millis(200));
        }
        services_up("mariadb");
    }
}

#[test]
fn the_server_stopping_mid_run_fails_the_run_and_keeps_the_target() {
    mariadb(
        "DROP TABLE IF EXISTS fust_restart_t;
         CREATE TABLE fust_restart_t (g int PRIMARY KEY, s text) ENGINE=InnoDB;
         INSERT INTO fust_restart_t VALUES (-1, 'kept'), (-2, 'kept')",
    );
    let dir = tempdir();
    let d = dir.path();
    // A slow source (50 ms per row) feeding a load into the same server.
    let job = write_job(
        d,
        &format!(
            "input: {{type: mysql, url: '{MY_URL}', query: 'SELECT seq AS g, CONCAT(REPEAT(''x'', 10), LEFT(SLEEP(0.05), 0)) AS s FROM seq_1_to_200'}}
output: {{type: mysql, url: '{MY_URL}', table: fust_restart_t}}
"
        ),
    );
    let restart = Restart;
    let stop = || {
        let status = Command::new("mariadb-admin")
            .args(mariadb_login())
            .arg("shutdown")
            .status()
            .unwrap();
        assert!(status.success(), "mariadb-admin shutdown failed");
    };
    // Under way: the source's query is running.
    let mid_run = || {
        mariadb(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
             WHERE ID <> CONNECTION_ID() AND INFO LIKE '%seq_1_to_200%'",
        ) == "1"
    };
    run_while_server_stops(d, &job, mid_run, stop, "mysql root@127.0.0.1:3306/test");
    drop(restart);
    assert_eq!(
        mariadb("SELECT g, s FROM fust_restart_t ORDER BY g"),
        "-2\tkept\n-1\tkept",
        "the target changed"
    );
    // And with the server back, the same job succeeds.
    run_job(d, &job, &[]).success();
    assert_eq!(mariadb("SELECT count(*) FROM fust_restart_t"), "202");
    mariadb("DROP TABLE fust_restart_t");
}
