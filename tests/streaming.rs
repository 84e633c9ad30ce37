//! Stream jobs end to end: NATS JetStream (the server `scripts/services` runs) into
//! PostgreSQL and MariaDB through the `fust` binary. Exactly-once is checked on data: the
//! table holds every published id once, across restarts, graceful stops and `kill -9`.

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::nats::{Jet, nats_url, records};
use common::rng::{Rng, kills};
use common::*;

/// A stream job from `stream` into `output`, stopping after `idle` without records.
fn job(name: &str, stream: &str, output: &str, settings: &str) -> String {
    format!(
        "name: {name}\ninput:\n  type: nats\n  url: {}\n  stream: {stream}\noutput:\n{output}\nsettings: {{checkpoint_interval: 300ms, {settings}}}\n",
        nats_url()
    )
}

fn pg_output(table: &str) -> String {
    format!(
        "  type: postgres\n  url: {}\n  table: {table}\n",
        at_test_servers("postgres://postgres@127.0.0.1:5432/test")
    )
}

fn my_output(table: &str) -> String {
    format!(
        "  type: mysql\n  url: {}\n  table: {table}\n",
        at_test_servers("mysql://root@127.0.0.1:3306/test")
    )
}

/// Rows and distinct ids of a PostgreSQL table.
fn pg_counts(table: &str) -> (u64, u64) {
    let out = psql(&format!("SELECT count(*), count(DISTINCT id) FROM {table}"));
    parse_pair(&out)
}

fn my_counts(table: &str) -> (u64, u64) {
    let out = mariadb(&format!("SELECT count(*), count(DISTINCT id) FROM {table}"));
    parse_pair(&out.replace('\t', "|"))
}

fn parse_pair(text: &str) -> (u64, u64) {
    let (a, b) = text
        .trim()
        .split_once('|')
        .unwrap_or_else(|| panic!("two numbers expected, got {text:?}"));
    (
        a.trim().parse().expect("a count"),
        b.trim().parse().expect("a count"),
    )
}

fn drop_pg(table: &str, job: &str) {
    psql(&format!(
        "DROP TABLE IF EXISTS {table}; CREATE TABLE IF NOT EXISTS fust_stream_positions (job VARCHAR(255) NOT NULL, part VARCHAR(255) NOT NULL, position BIGINT NOT NULL, PRIMARY KEY (job, part)); DELETE FROM fust_stream_positions WHERE job = '{job}'"
    ));
}

fn drop_my(table: &str, job: &str) {
    mariadb(&format!(
        "DROP TABLE IF EXISTS {table}; CREATE TABLE IF NOT EXISTS fust_stream_positions (job VARCHAR(255) NOT NULL, part VARCHAR(255) NOT NULL, position BIGINT NOT NULL, PRIMARY KEY (job, part)); DELETE FROM fust_stream_positions WHERE job = '{job}'"
    ));
}

#[test]
fn nats_to_postgres_resumes_where_it_committed() {
    let jet = Jet::connect();
    let (stream, table, name) = ("FUST_T_RESUME", "stream_resume", "stream_resume");
    jet.fresh_stream(stream);
    drop_pg(table, name);
    jet.publish(&format!("{stream}.orders"), records(1..1001));
    let dir = tempdir();
    let path = write_job(
        dir.path(),
        &job(name, stream, &pg_output(table), "stop_when_idle: 1s"),
    );
    let out = run_job(dir.path(), &path, &[]);
    out.success();
    assert_eq!(pg_counts(table), (1000, 1000), "{}", out.stderr);
    assert_eq!(
        psql(&format!("SELECT sum(amount), min(name) FROM {table}")),
        format!("{}|n1", (1..1001).map(|i| i as f64 * 1.5).sum::<f64>())
    );
    assert_eq!(
        psql(&format!(
            "SELECT part, position FROM fust_stream_positions WHERE job = '{name}'"
        )),
        format!("{stream}|1000")
    );
    // More records: the next run reads only those.
    jet.publish(&format!("{stream}.orders"), records(1001..1501));
    run_job(dir.path(), &path, &[]).success();
    assert_eq!(pg_counts(table), (1500, 1500));
    // Nothing new: nothing changes.
    run_job(dir.path(), &path, &[]).success();
    assert_eq!(pg_counts(table), (1500, 1500));
}

#[test]
fn stop_after_records_commits_exactly_that_many() {
    let jet = Jet::connect();
    let (stream, table, name) = ("FUST_T_AFTER", "stream_after", "stream_after");
    jet.fresh_stream(stream);
    drop_pg(table, name);
    jet.publish(&format!("{stream}.x"), records(1..2001));
    let dir = tempdir();
    let path = write_job(
        dir.path(),
        &job(name, stream, &pg_output(table), "stop_after_records: 700"),
    );
    run_job(dir.path(), &path, &[]).success();
    assert_eq!(pg_counts(table), (700, 700));
    assert_eq!(psql(&format!("SELECT max(id) FROM {table}")), "700");
    run_job(dir.path(), &path, &[]).success();
    assert_eq!(pg_counts(table), (1400, 1400));
    assert_eq!(psql(&format!("SELECT max(id) FROM {table}")), "1400");
}

#[test]
fn sigterm_commits_the_epoch_under_way_and_exits_0() {
    let jet = Jet::connect();
    let (stream, table, name) = ("FUST_T_TERM", "stream_term", "stream_term");
    jet.fresh_stream(stream);
    drop_pg(table, name);
    jet.publish(&format!("{stream}.x"), records(1..501));
    let dir = tempdir();
    // Long epochs: the records read are committed by the stop, not by the clock.
    let text = job(name, stream, &pg_output(table), "checkpoint_interval: 1m")
        .replace("checkpoint_interval: 300ms, ", "");
    let path = write_job(dir.path(), &text);
    let mut child = spawn_run(dir.path(), &path);
    wait_for(
        || {
            psql(&format!(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY%{table}%'"
            )) != "0"
                || child_done(&mut child)
        },
        Duration::from_secs(20),
    );
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    signal(&child, "TERM");
    let status = wait_child(&mut child, Duration::from_secs(30));
    assert_eq!(status, Some(0), "a graceful stop exits 0");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped within the drain timeout"
    );
    assert_eq!(pg_counts(table), (500, 500));
}

#[test]
fn preview_and_validate_commit_nothing() {
    let jet = Jet::connect();
    let (stream, table, name) = ("FUST_T_PREVIEW", "stream_preview", "stream_preview");
    jet.fresh_stream(stream);
    drop_pg(table, name);
    jet.publish(&format!("{stream}.x"), records(1..51));
    let dir = tempdir();
    let path = write_job(
        dir.path(),
        &job(name, stream, &pg_output(table), "stop_when_idle: 1s"),
    );
    let p = path.to_str().expect("utf-8");
    let out = fust(dir.path(), &["preview", p, "--limit", "3"], &[]);
    out.success();
    assert!(out.stdout.contains("| 1  | n1   |"), "{}", out.stdout);
    assert!(!out.stdout.contains("n4 "), "{}", out.stdout);
    fust(dir.path(), &["validate", p], &[]).success();
    assert!(
        try_psql(&format!("SELECT count(*) FROM {table}")).is_err(),
        "preview created no table"
    );
    run_job(dir.path(), &path, &[]).success();
    assert_eq!(pg_counts(table), (50, 50));
}

#[test]
fn bad_messages_follow_on_error() {
    let jet = Jet::connect();
    let (stream, table, name) = ("FUST_T_BAD", "stream_bad", "stream_bad");
    jet.fresh_stream(stream);
    drop_pg(table, name);
    let subject = format!("{stream}.x");
    jet.publish(&subject, records(1..11));
    jet.publish(&subject, ["{not json".to_string()]);
    jet.publish(&subject, records(11..21));
    let dir = tempdir();
    let failing = write_job(
        dir.path(),
        &job(name, stream, &pg_output(table), "stop_when_idle: 1s"),
    );
    let out = run_job(dir.path(), &failing, &[]);
    out.failure();
    assert!(
        out.stderr.contains(&format!("{stream} seq 11")),
        "{}",
        out.stderr
    );
    // The epoch holding the bad message rolled back whole.
    let left = try_psql(&format!("SELECT count(*) FROM {table}"));
    assert!(left.as_deref().map_or(true, |n| n == "0"), "{left:?}");
    let skipping = write_job(
        dir.path(),
        &job(
            name,
            stream,
            &pg_output(table),
            "stop_when_idle: 1s, on_error: skip",
        ),
    );
    let out = run_job(dir.path(), &skipping, &[]);
    out.success();
    assert_eq!(pg_counts(table), (20, 20));
    assert!(
        out.stderr
            .contains("1 (input: invalid JSON 1) bad records skipped"),
        "{}",
        out.stderr
    );
}

#[test]
fn stream_jobs_need_a_name_and_no_overwrite() {
    let dir = tempdir();
    let text = job(
        "x",
        "FUST_T_NONAME",
        &pg_output("t_noname"),
        "stop_when_idle: 1s",
    )
    .replace("name: x\n", "");
    let out = run_job(dir.path(), &write_job(dir.path(), &text), &[]);
    out.failure();
    assert!(
        out.stderr.contains("a stream job needs a `name:`"),
        "{}",
        out.stderr
    );
}

/// `fust run` in the background, its output discarded.
fn spawn_run(cwd: &Path, job: &Path) -> Child {
    command(cwd, &["run", "--quiet", job.to_str().expect("utf-8")], &[])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start fust")
}

fn signal(child: &Child, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .expect("kill runs")
        .success();
    assert!(ok || sig == "KILL", "kill -{sig} failed");
}

fn child_done(child: &mut Child) -> bool {
    matches!(child.try_wait(), Ok(Some(_)))
}

/// The exit code once the child ends, `None` when killed by a signal; fails after `limit`.
fn wait_child(child: &mut Child, limit: Duration) -> Option<i32> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for fust") {
            return status.code();
        }
        assert!(
            started.elapsed() < limit,
            "fust did not stop within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_for(mut done: impl FnMut() -> bool, limit: Duration) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Publishes `total` records in chunks while the test kills runs, then stops.
fn publisher(
    subject: String,
    total: u64,
    chunk: u64,
    pause: Duration,
) -> (std::thread::JoinHandle<()>, Arc<AtomicBool>) {
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    let handle = std::thread::spawn(move || {
        let jet = Jet::connect();
        let mut next = 1;
        while next <= total {
            let end = (next + chunk).min(total + 1);
            jet.publish(&subject, records(next..end));
            next = end;
            std::thread::sleep(pause);
        }
        flag.store(true, Ordering::SeqCst);
    });
    (handle, done)
}

/// Kills `fust run` with SIGKILL at random points while records are published, then lets
/// one run finish; `counts` must then show every id exactly once.
fn kill_loop(
    kind: &str,
    stream: &str,
    output: &str,
    name: &str,
    total: u64,
    counts: impl Fn() -> (u64, u64),
) {
    let jet = Jet::connect();
    jet.fresh_stream(stream);
    let dir = tempdir();
    let path = write_job(dir.path(), &job(name, stream, output, "stop_when_idle: 2s"));
    let (publishing, published) = publisher(
        format!("{stream}.x"),
        total,
        total / 40,
        Duration::from_millis(100),
    );
    let mut rng = Rng::new(kind);
    let mut killed = 0;
    for i in 0..kills() {
        let mut child = spawn_run(dir.path(), &path);
        std::thread::sleep(Duration::from_millis(200 + rng.below(1800)));
        if child_done(&mut child) {
            continue;
        }
        signal(&child, "KILL");
        let _ = child.wait();
        killed += 1;
        let (rows, distinct) = counts();
        assert_eq!(rows, distinct, "{kind}: duplicates after kill {i}");
    }
    publishing.join().expect("the publisher");
    assert!(published.load(Ordering::SeqCst));
    assert!(
        killed >= kills() / 2,
        "{kind}: too few runs were killed ({killed})"
    );
    let out = run_job(dir.path(), &path, &[]);
    out.success();
    assert_eq!(jet.count(stream), total);
    assert_eq!(
        counts(),
        (total, total),
        "{kind}: every id exactly once; {}",
        out.stderr
    );
}

#[test]
fn jetstream_to_mysql_survives_kill_9() {
    let (table, name) = ("stream_kill_my", "stream_kill_my");
    drop_my(table, name);
    mariadb(&format!(
        "CREATE TABLE {table} (id BIGINT, name TEXT, amount DOUBLE)"
    ));
    kill_loop(
        "jetstream→mysql",
        "FUST_T_KILL_MY",
        &my_output(table),
        name,
        20_000,
        || my_counts(table),
    );
}

#[test]
fn jetstream_to_postgres_survives_kill_9() {
    let (table, name) = ("stream_kill_pg", "stream_kill_pg");
    drop_pg(table, name);
    psql(&format!(
        "CREATE TABLE {table} (id BIGINT, name TEXT, amount DOUBLE PRECISION)"
    ));
    kill_loop(
        "jetstream→postgres",
        "FUST_T_KILL_PG",
        &pg_output(table),
        name,
        20_000,
        || pg_counts(table),
    );
}

fn file_output(kind: &str, dir: &Path) -> String {
    format!("  type: {kind}\n  path: {}\n", dir.display())
}

#[test]
fn nats_to_json_directory_publishes_whole_epochs_and_resumes() {
    let jet = Jet::connect();
    let stream = "FUST_T_JSONDIR";
    jet.fresh_stream(stream);
    jet.publish(&format!("{stream}.x"), records(1..301));
    let dir = tempdir();
    let out_dir = dir.path().join("out");
    let path = write_job(
        dir.path(),
        &job(
            "json_dir",
            stream,
            &file_output("json", &out_dir),
            "stop_when_idle: 1s",
        ),
    );
    run_job(dir.path(), &path, &[]).success();
    assert_eq!(dir_counts(&out_dir), (300, 300));
    jet.publish(&format!("{stream}.x"), records(301..401));
    run_job(dir.path(), &path, &[]).success();
    assert_eq!(dir_counts(&out_dir), (400, 400));
    let manifests = list_files(&out_dir.join("_fust"));
    assert!(
        manifests.iter().any(|m| m.starts_with("manifest-")),
        "{manifests:?}"
    );
    assert!(
        list_files(&out_dir.join("_fust/staging")).is_empty(),
        "nothing staged after a commit"
    );
    // Another job may not write into the directory.
    let other = write_job(
        dir.path(),
        &job(
            "other_job",
            stream,
            &file_output("json", &out_dir),
            "stop_when_idle: 1s",
        ),
    );
    let out = run_job(dir.path(), &other, &[]);
    out.failure();
    assert!(
        out.stderr
            .contains("holds the output of stream job `json_dir`"),
        "{}",
        out.stderr
    );
}

#[test]
fn jetstream_to_parquet_directory_survives_kill_9() {
    let dir = tempdir();
    let out_dir = dir.path().join("parquet_out");
    let counts_dir = out_dir.clone();
    kill_loop(
        "jetstream→parquet",
        "FUST_T_KILL_PQ",
        &file_output("parquet", &out_dir),
        "stream_kill_pq",
        20_000,
        move || dir_counts(&counts_dir),
    );
}

#[test]
fn nats_to_s3_directory_commits_by_conditional_manifest() {
    let jet = Jet::connect();
    let stream = "FUST_T_S3DIR";
    jet.fresh_stream(stream);
    jet.publish(&format!("{stream}.x"), records(1..201));
    let moto = Moto::start("stream-bucket");
    let env = moto.env();
    let env = env_refs(&env);
    let dir = tempdir();
    let output = "  type: parquet\n  path: 's3://stream-bucket/orders/'\n";
    let path = write_job(
        dir.path(),
        &job("s3_dir", stream, output, "stop_when_idle: 1s"),
    );
    let out = run_job(dir.path(), &path, &env);
    out.success();
    jet.publish(&format!("{stream}.x"), records(201..251));
    run_job(dir.path(), &path, &env).success();
    let keys = moto.keys();
    let parts: Vec<&String> = keys
        .iter()
        .filter(|k| k.starts_with("orders/part-"))
        .collect();
    assert!(parts.len() >= 2, "{keys:?}");
    assert!(
        keys.iter().any(|k| k.starts_with("orders/_fust/manifest-")),
        "{keys:?}"
    );
    assert!(!keys.iter().any(|k| k.contains("staging")), "{keys:?}");
    // Read back through fust: every id once.
    let back = write_job(
        dir.path(),
        "input: {type: parquet, path: 's3://stream-bucket/orders/part-*.parquet'}\noutput: {type: csv, path: back.csv}\n",
    );
    run_job(dir.path(), &back, &env).success();
    let rows = read_rows(&dir.path().join("back.csv"));
    let mut ids: Vec<&String> = rows.iter().map(|r| &r[0]).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((rows.len(), ids.len()), (250, 250));
}

/// A stream job under `fust serve` stays `running`, shows its progress in `/metrics`, is
/// resumed after the server stops and starts again, and a cancel stops it after
/// committing.
#[test]
fn serve_runs_a_stream_until_cancelled_and_resumes_it_after_a_restart() {
    use common::server::Server;
    let jet = Jet::connect();
    let (stream, table, name) = ("FUST_T_SERVE", "stream_serve", "stream_serve");
    jet.fresh_stream(stream);
    drop_pg(table, name);
    psql(&format!(
        "CREATE TABLE {table} (id BIGINT, name TEXT, amount DOUBLE PRECISION)"
    ));
    jet.publish(&format!("{stream}.x"), records(1..101));
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let dir = tempdir();
    let mut server = Server::start_in(dir.path());
    let text = job(name, stream, &pg_output(table), "drain_timeout: 5s");
    assert_eq!(rt.block_on(server.post("/jobs", &text)).0, 201);
    let (status, run) = rt.block_on(server.post(&format!("/jobs/{name}/runs"), ""));
    assert_eq!(status, 202, "{run}");
    let first = run["id"].as_str().expect("run id").to_string();
    rt.block_on(server.wait_state(&first, "running", Duration::from_secs(30)));
    wait_for(|| pg_counts(table).0 == 100, Duration::from_secs(30));
    // Set at the run's progress ticks.
    let lag = format!("fust_stream_lag{{job=\"{name}\"}} 0");
    wait_for(
        || rt.block_on(server.get("/metrics")).1.contains(&lag),
        Duration::from_secs(10),
    );
    let metrics = rt.block_on(server.get("/metrics")).1;
    assert!(
        metrics.contains(&format!("fust_stream_epochs{{job=\"{name}\"}}")),
        "{metrics}"
    );

    // The server stops: the run is interrupted, and resumed by the next start.
    server.stop();
    let mut server = Server::start_in(dir.path());
    let runs = rt.block_on(server.get_json(&format!("/runs?job={name}")));
    let resumed = runs
        .as_array()
        .and_then(|r| r.iter().find(|r| r["trigger"] == "resume"))
        .unwrap_or_else(|| panic!("no resumed run: {runs}"))["id"]
        .as_str()
        .expect("run id")
        .to_string();
    rt.block_on(server.wait_state(&resumed, "running", Duration::from_secs(30)));
    jet.publish(&format!("{stream}.x"), records(101..151));
    wait_for(|| pg_counts(table).0 == 150, Duration::from_secs(30));

    let (status, _) = rt.block_on(server.post(&format!("/runs/{resumed}/cancel"), ""));
    assert_eq!(status, 202);
    let done = rt.block_on(server.wait_state(&resumed, "cancelled", Duration::from_secs(30)));
    assert_eq!(done["rows_out"], 50, "{done}");
    assert_eq!(pg_counts(table), (150, 150));
    server.stop();
}

/// The bundled pair of examples: orders published to JetStream, then streamed into
/// PostgreSQL (the paid ones), each once.
#[test]
fn the_bundled_stream_examples_run() {
    let jet = Jet::connect();
    jet.delete_stream("ORDERS");
    drop_pg("paid_orders_stream", "orders_stream");
    let root = repo_root();
    fust(&root, &["run", "--quiet", "examples/csv_to_nats.yaml"], &[]).success();
    assert_eq!(jet.count("ORDERS"), 60, "every order published");
    fust(
        &root,
        &["run", "--quiet", "examples/nats_to_postgres.yaml"],
        &[],
    )
    .success();
    let text = std::fs::read_to_string(root.join("examples/data/orders.csv")).expect("orders.csv");
    let paid: Vec<Vec<String>> = parse_csv(&text)
        .into_iter()
        .skip(1)
        .filter(|r| r[3] == "paid")
        .collect();
    let total: f64 = paid
        .iter()
        .map(|r| r[2].parse::<f64>().expect("amount"))
        .sum();
    assert_eq!(
        psql(
            "SELECT count(*), count(DISTINCT order_id), round(sum(amount)::numeric, 2) FROM paid_orders_stream"
        ),
        format!("{}|{}|{total:.2}", paid.len(), paid.len())
    );
}

/// Click events at `base + ms` for each (id, ms, page).
fn clicks(events: &[(u64, i64, &str)]) -> Vec<String> {
    events
        .iter()
        .map(|(id, ms, page)| {
            format!(
                r#"{{"id": {id}, "ts": "2026-01-01T00:{:02}:{:02}.{:03}", "page": "{page}"}}"#,
                ms / 60_000,
                (ms / 1000) % 60,
                ms % 1000
            )
        })
        .collect()
}

fn window_job(name: &str, stream: &str, table: &str, window: &str, settings: &str) -> String {
    format!(
        "name: {name}\ninput: {{type: nats, url: '{}', stream: {stream}, schema: {{id: bigint, ts: timestamp, page: varchar}}}}\npipeline:\n  processors:\n    - type: aggregate\n      group_by: [page]\n      aggregates: {{clicks: count(*), ids: sum(id)}}\n      window: {window}\noutput:\n{}settings: {{checkpoint_interval: 200ms, {settings}}}\n",
        nats_url(),
        pg_output(table)
    )
}

#[test]
fn tumbling_windows_are_emitted_once_the_watermark_passes_them() {
    let jet = Jet::connect();
    let (stream, table, name) = ("FUST_T_WINDOW", "stream_window", "stream_window");
    jet.fresh_stream(stream);
    drop_pg(table, name);
    psql(&format!("DELETE FROM fust_stream_state WHERE job = '{name}'").replace("DELETE", "CREATE TABLE IF NOT EXISTS fust_stream_state (job VARCHAR(255) PRIMARY KEY, state BYTEA NOT NULL); DELETE"));
    let subject = format!("{stream}.x");
    // Window [0, 60s): 2 clicks on a; [60s, 120s): 1 on b; then 150s moves the watermark
    // (10s lateness) to 140s: the first two windows close.
    jet.publish(
        &subject,
        clicks(&[
            (1, 10_000, "a"),
            (2, 20_000, "a"),
            (3, 65_000, "b"),
            (4, 150_000, "a"),
        ]),
    );
    let dir = tempdir();
    let text = window_job(
        name,
        stream,
        table,
        "{type: tumbling, size: 1m, time_column: ts, allowed_lateness: 10s}",
        "stop_when_idle: 1s, on_error: skip",
    );
    let path = write_job(dir.path(), &text);
    run_job(dir.path(), &path, &[]).success();
    let windows = |t: &str| {
        psql(&format!(
            "SELECT to_char(window_start, 'HH24:MI:SS'), to_char(window_end, 'HH24:MI:SS'), page, clicks, ids FROM {t} ORDER BY window_start, page"
        ))
    };
    assert_eq!(
        windows(table),
        "00:00:00|00:01:00|a|2|3\n00:01:00|00:02:00|b|1|3"
    );
    // A late click for the first window, one more in the open window, and one that
    // closes it.
    jet.publish(
        &subject,
        clicks(&[(5, 30_000, "a"), (6, 160_000, "a"), (7, 250_000, "c")]),
    );
    let out = run_job(dir.path(), &path, &[]);
    out.success();
    assert_eq!(
        windows(table),
        "00:00:00|00:01:00|a|2|3\n00:01:00|00:02:00|b|1|3\n00:02:00|00:03:00|a|2|10"
    );
    assert!(out.stderr.contains("late record 1"), "{}", out.stderr);
}

#[test]
fn sliding_windows_survive_kill_9_without_losing_or_doubling_one() {
    let (stream, table, name) = ("FUST_T_KILL_WIN", "stream_kill_win", "stream_kill_win");
    drop_pg(table, name);
    psql(&format!(
        "CREATE TABLE IF NOT EXISTS fust_stream_state (job VARCHAR(255) PRIMARY KEY, state BYTEA NOT NULL); DELETE FROM fust_stream_state WHERE job = '{name}'"
    ));
    psql(&format!(
        "CREATE TABLE {table} (window_start TIMESTAMP, window_end TIMESTAMP, page TEXT, clicks BIGINT, ids BIGINT)"
    ));
    let jet = Jet::connect();
    jet.fresh_stream(stream);
    let dir = tempdir();
    let path = write_job(
        dir.path(),
        &window_job(
            name,
            stream,
            table,
            "{type: sliding, size: 2s, slide: 1s, time_column: ts}",
            "stop_when_idle: 2s",
        ),
    );
    // 12,000 clicks, 10 ms apart: 100 per second, published while runs are killed.
    let total: u64 = 12_000;
    let subject = format!("{stream}.x");
    let publishing = std::thread::spawn(move || {
        let jet = Jet::connect();
        for chunk in 0..40 {
            let ids = (chunk * total / 40 + 1)..((chunk + 1) * total / 40 + 1);
            let events: Vec<(u64, i64, &str)> = ids.map(|i| (i, i as i64 * 10, "p")).collect();
            jet.publish(&subject, clicks(&events));
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let mut rng = Rng::new("windows");
    for i in 0..kills() {
        let mut child = spawn_run(dir.path(), &path);
        std::thread::sleep(Duration::from_millis(200 + rng.below(1800)));
        if !child_done(&mut child) {
            signal(&child, "KILL");
        }
        let _ = child.wait();
        let doubled = psql(&format!(
            "SELECT count(*) FROM (SELECT window_start FROM {table} GROUP BY window_start HAVING count(*) > 1) d"
        ));
        assert_eq!(doubled, "0", "a window emitted twice after kill {i}");
    }
    publishing.join().expect("the publisher");
    run_job(dir.path(), &path, &[]).success();
    // Ids 1..=12000 at 10 ms each: times 10 ms .. 120 s. Every 2 s window starting at a
    // whole second s holds the ids with s*100 <= i < (s+2)*100, and is emitted once the
    // latest time (120 s) passes its end: windows starting at -1 .. 118 s.
    let expected: Vec<String> = (-1i64..=118)
        .map(|s| {
            let ids: Vec<u64> = (1..=total)
                .filter(|i| (*i as i64) * 10 >= s * 1000 && (*i as i64) * 10 < (s + 2) * 1000)
                .collect();
            format!("{s}|{}|{}", ids.len(), ids.iter().sum::<u64>())
        })
        .collect();
    let got = psql(&format!(
        "SELECT floor(extract(epoch FROM window_start - TIMESTAMP '2026-01-01 00:00:00'))::bigint, clicks, ids FROM {table} ORDER BY window_start"
    ));
    assert_eq!(got, expected.join("\n"));
}

/// `deduplicate` with `ttl` across epochs and runs, and `enrich` reading its lookup again
/// every `refresh`.
#[test]
fn dedupe_by_ttl_across_runs_and_an_enrich_lookup_refreshed() {
    let jet = Jet::connect();
    let (stream, table, name) = ("FUST_T_DEDUP", "stream_dedup", "stream_dedup");
    jet.fresh_stream(stream);
    drop_pg(table, name);
    psql(&format!(
        "CREATE TABLE IF NOT EXISTS fust_stream_state (job VARCHAR(255) PRIMARY KEY, state BYTEA NOT NULL); DELETE FROM fust_stream_state WHERE job = '{name}'"
    ));
    let subject = format!("{stream}.x");
    let dir = tempdir();
    write_file(dir.path(), "names.csv", "code,label\nn1,first\nn2,second\n");
    let text = format!(
        "name: {name}\ninputs:\n  input: {{type: nats, url: '{}', stream: {stream}}}\n  names: {{type: csv, path: names.csv}}\npipeline:\n  processors:\n    - type: deduplicate\n      key_columns: [name]\n      ttl: 1h\n    - type: enrich\n      lookup: names\n      on: {{name: code}}\n      refresh: 300ms\noutput:\n{}settings: {{checkpoint_interval: 200ms, stop_when_idle: 2s}}\n",
        nats_url(),
        pg_output(table)
    );
    let path = write_job(dir.path(), &text);
    // Ids 1..4 with names n1, n2, n1, n2: the repeats within the ttl are dropped.
    let named = |ids: std::ops::Range<u64>| {
        ids.map(|i| format!(r#"{{"id": {i}, "name": "n{}", "amount": 1.0}}"#, 2 - i % 2))
            .collect::<Vec<_>>()
    };
    jet.publish(&subject, named(1..5));
    let mut child = spawn_run(dir.path(), &path);
    wait_for(
        || try_psql(&format!("SELECT count(*) FROM {table}")).is_ok_and(|n| n == "2"),
        Duration::from_secs(20),
    );
    // The lookup changes: records after the refresh get the new label.
    write_file(
        dir.path(),
        "names.csv",
        "code,label\nn1,first\nn2,second\nn3,third\n",
    );
    std::thread::sleep(Duration::from_millis(800));
    jet.publish(
        &subject,
        [r#"{"id": 5, "name": "n3", "amount": 1.0}"#.to_string()],
    );
    assert_eq!(wait_child(&mut child, Duration::from_secs(30)), Some(0));
    assert_eq!(
        psql(&format!("SELECT id, name, label FROM {table} ORDER BY id")),
        "1|n1|first\n2|n2|second\n5|n3|third"
    );
    // A later run still knows the keys: n1 again is dropped.
    jet.publish(&subject, named(6..7));
    run_job(dir.path(), &path, &[]).success();
    assert_eq!(psql(&format!("SELECT count(*) FROM {table}")), "3");
}
