//! The NATS server restarts in the middle of a stream job: Fust reconnects with backoff
//! and goes on, and every record reaches PostgreSQL exactly once. Its own test binary,
//! because it stops the shared server (cargo runs test binaries one at a time).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::nats::{Jet, nats_url, records};
use common::*;

/// Starts the server again however the test ends.
struct Restart;

impl Drop for Restart {
    fn drop(&mut self) {
        services_up("nats");
    }
}

fn stop_nats() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/services");
    let ok = Command::new("bash")
        .arg(script)
        .args(["stop", "nats"])
        .status()
        .expect("bash runs scripts/services")
        .success();
    assert!(ok, "scripts/services stop nats failed");
}

#[test]
fn a_broker_restart_mid_run_loses_and_doubles_nothing() {
    let _restart = Restart;
    let jet = Jet::connect();
    let (stream, table, name) = ("FUST_T_RESTART", "stream_restart", "stream_restart");
    jet.fresh_stream(stream);
    psql(&format!(
        "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id BIGINT, name TEXT, amount DOUBLE PRECISION); CREATE TABLE IF NOT EXISTS fust_stream_positions (job VARCHAR(255) NOT NULL, part VARCHAR(255) NOT NULL, position BIGINT NOT NULL, PRIMARY KEY (job, part)); DELETE FROM fust_stream_positions WHERE job = '{name}'"
    ));
    jet.publish(&format!("{stream}.x"), records(1..3001));
    drop(jet);
    let dir = tempdir();
    let job = write_job(
        dir.path(),
        &format!(
            "name: {name}\ninput: {{type: nats, url: '{}', stream: {stream}, fetch_messages: 100}}\noutput: {{type: postgres, url: '{}', table: {table}}}\nsettings: {{checkpoint_interval: 200ms, checkpoint_rows: 500, stop_when_idle: 8s}}\n",
            nats_url(),
            at_test_servers("postgres://postgres@127.0.0.1:5432/test")
        ),
    );
    let child = command(
        dir.path(),
        &["run", "--quiet", job.to_str().expect("utf-8")],
        &[],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start fust");
    // Part of the records are in, then the server goes away for two seconds.
    let started = Instant::now();
    while psql(&format!("SELECT count(*) FROM {table}")) == "0" {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "nothing committed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    stop_nats();
    std::thread::sleep(Duration::from_secs(2));
    services_up("nats");
    let jet = Jet::connect();
    jet.publish(&format!("{stream}.x"), records(3001..4001));
    let out = child.wait_with_output().expect("fust ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        psql(&format!("SELECT count(*), count(DISTINCT id) FROM {table}")),
        "4000|4000",
        "{stderr}"
    );
}
