//! The `kafka` input and output through the `fust` binary, against a real Kafka-protocol
//! broker (tansu, started by tests/common/kafka.rs; `KAFKA_BROKERS` for one of your own):
//! stream jobs into PostgreSQL (every record once, resumed after the stored positions,
//! `start_from: latest`, the formats, metadata columns, bad records, previews that commit
//! nothing, two processes in one group, a run after killed ones that still hold
//! partitions, `kill -9` at random points) and batch jobs into Kafka.

mod common;
#[path = "common/kafka.rs"]
mod kafka;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use kafka::broker;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;

/// One case's names, unique to this run of the tests (a broker and the PostgreSQL
/// positions of a job outlive it): its topic, consumer group, job name and schema.
struct Case {
    id: String,
}

impl Case {
    /// A topic of `partitions` partitions and an empty PostgreSQL schema.
    fn new(name: &str, partitions: i32) -> Case {
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("a clock after 1970")
            .as_millis()
            % 100_000_000;
        let id = format!("k_{name}_{}_{stamp}", std::process::id());
        broker().create_topic(&id, partitions);
        psql(&format!(
            "DROP SCHEMA IF EXISTS {id} CASCADE; CREATE SCHEMA {id}"
        ));
        Case { id }
    }

    fn table(&self) -> String {
        format!("{}.t", self.id)
    }

    /// A stream job from this case's topic into its table; `input` adds lines to the
    /// input, `settings` entries to the settings (with `stop_when_idle: 3s` unless they
    /// set it).
    fn job(&self, dir: &Path, input: &str, settings: &str) -> PathBuf {
        self.job_named(dir, &self.id, input, settings)
    }

    /// The same, with a job name (and consumer group) of its own.
    fn job_named(&self, dir: &Path, name: &str, input: &str, settings: &str) -> PathBuf {
        let input: String = input.lines().map(|l| format!("  {l}\n")).collect();
        let settings = match settings.contains("stop_when_idle") {
            true => settings.to_string(),
            false => format!("stop_when_idle: 3s{settings}"),
        };
        write_file(
            dir,
            &format!("{name}.yaml"),
            format!(
                "name: {name}\n\
                 input:\n  type: kafka\n  brokers: '{brokers}'\n  topic: {topic}\n  group_id: {name}\n  \
                 properties: {{session.timeout.ms: 6000, heartbeat.interval.ms: 500}}\n{input}\
                 output: {{type: postgres, url: '{pg}', table: {table}}}\n\
                 settings: {{checkpoint_interval: 500ms, {settings}}}\n",
                brokers = broker().brokers,
                topic = self.id,
                pg = PG_URL.as_str(),
                table = self.table(),
            ),
        )
    }

    /// `count(*)|count(DISTINCT id)` of the table.
    fn counts(&self) -> String {
        psql(&format!(
            "SELECT count(*) || '|' || count(DISTINCT id) FROM {}",
            self.table()
        ))
    }
}

/// `fust run JOB` started in the background, with info logs.
fn spawn_run(dir: &Path, job: &Path) -> Child {
    command(dir, &["run", "-v", job.to_str().expect("utf-8 path")], &[])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start fust")
}

/// Waits for a background run (at most `limit`) and checks it succeeded.
fn finish(child: Child, limit: Duration) -> Out {
    let pid = child.id();
    let started = Instant::now();
    let watchdog = std::thread::spawn(move || {
        while started.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(200));
            if std::fs::metadata(format!("/proc/{pid}")).is_err() {
                return;
            }
        }
        let _ = std::process::Command::new("kill")
            .arg(pid.to_string())
            .status();
    });
    let out = child.wait_with_output().expect("wait for fust");
    let _ = watchdog.join();
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn json_records_from_four_partitions_then_only_the_new_ones() {
    let c = Case::new("json", 4);
    let dir = tempdir();
    let published = broker().produce_json(&c.id, 1..=400);
    let used: std::collections::BTreeSet<i32> = published.iter().map(|(p, _)| *p).collect();
    assert_eq!(used.len(), 4, "records on every partition: {used:?}");
    let job = c.job(dir.path(), "", "");
    let out = run_job(dir.path(), &job, &[]);
    out.success();
    assert_eq!(c.counts(), "400|400");
    assert_eq!(
        psql(&format!(
            "SELECT sum(id), sum(amount), min(name) FROM {}",
            c.table()
        )),
        "80200|80400|n1"
    );

    // A second run reads only what came since: the positions are resumed.
    broker().produce_json(&c.id, 401..=450);
    run_job(dir.path(), &job, &[]).success();
    assert_eq!(c.counts(), "450|450");
}

#[test]
fn start_from_latest_reads_only_records_published_after_the_start() {
    let c = Case::new("latest", 2);
    let dir = tempdir();
    broker().produce_json_one_by_one(&c.id, 1..=20);
    let job = c.job(
        dir.path(),
        "start_from: latest\nschema: {id: bigint, name: varchar}",
        "",
    );
    let child = spawn_run(dir.path(), &job);
    // The run is reading once its group has assigned the partitions (open waits for it).
    std::thread::sleep(Duration::from_secs(1));
    let deadline = Instant::now() + Duration::from_secs(30);
    while psql(&format!("SELECT to_regclass('{}') IS NULL", c.table())) == "t" {
        broker().produce_json(&c.id, 1000..=1000);
        assert!(Instant::now() < deadline, "the run never wrote");
        std::thread::sleep(Duration::from_millis(300));
    }
    broker().produce_json(&c.id, 21..=30);
    finish(child, Duration::from_secs(60)).success();
    assert_eq!(
        psql(&format!(
            "SELECT count(*) FROM {} WHERE id < 1000",
            c.table()
        )),
        "10",
        "only the records published after the start: {}",
        psql(&format!(
            "SELECT string_agg(id::text, ',') FROM {}",
            c.table()
        ))
    );
    assert_eq!(
        psql(&format!(
            "SELECT min(id) || '-' || max(id) FROM {} WHERE id < 1000",
            c.table()
        )),
        "21-30"
    );
}

#[test]
fn csv_and_raw_records_with_a_schema() {
    let c = Case::new("formats", 1);
    let dir = tempdir();
    let lines = ["1,alice,2.5", "2,\"bob, jr\",3", "3,carol,"];
    broker().produce(
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let key = if i == 0 { "k1" } else { "k2" };
                FutureRecord::to(&c.id).key(key).payload(*l)
            })
            .collect(),
    );
    let csv = c.job(
        dir.path(),
        "format: csv\nschema: {id: bigint, name: varchar, amount: double}",
        "",
    );
    run_job(dir.path(), &csv, &[]).success();
    assert_eq!(
        psql(&format!(
            "SELECT id, name, amount FROM {} ORDER BY id",
            c.table()
        )),
        "1|alice|2.5\n2|bob, jr|3\n3|carol|"
    );

    let raw_name = format!("{}_raw", c.id);
    let raw = c.job_named(dir.path(), &raw_name, "format: raw", "");
    let text = std::fs::read_to_string(&raw).expect("job");
    let raw = write_file(
        dir.path(),
        "raw.yaml",
        text.replace(
            &format!("table: {}", c.table()),
            &format!("table: {}.raw", c.id),
        ),
    );
    run_job(dir.path(), &raw, &[]).success();
    assert_eq!(
        psql(&format!(
            "SELECT convert_from(key, 'UTF8'), convert_from(value, 'UTF8') FROM {}.raw ORDER BY value",
            c.id
        )),
        "k1|1,alice,2.5\nk2|2,\"bob, jr\",3\nk2|3,carol,"
    );
}

#[test]
fn metadata_columns_are_what_the_producer_got_back() {
    let c = Case::new("meta", 3);
    let dir = tempdir();
    let values: Vec<(String, String)> = (1..=30)
        .map(|id| (format!("key{id}"), format!(r#"{{"id": {id}}}"#)))
        .collect();
    let delivered = broker().produce(
        values
            .iter()
            .map(|(k, v)| {
                FutureRecord::to(&c.id)
                    .key(k.as_str())
                    .payload(v.as_str())
                    .headers(OwnedHeaders::new().insert(Header {
                        key: "source",
                        value: Some("test"),
                    }))
            })
            .collect(),
    );
    let job = c.job(
        dir.path(),
        "metadata: [key, partition, offset, timestamp, headers]",
        "",
    );
    run_job(dir.path(), &job, &[]).success();
    let expected: Vec<String> = delivered
        .iter()
        .zip(1..)
        .map(|((p, o), id)| format!("{id}|key{id}|{p}|{o}|{{\"source\":\"test\"}}|t"))
        .collect();
    let got = psql(&format!(
        "SELECT id, _key, _partition, _offset, _headers, \
         _timestamp BETWEEN now() - interval '10 minutes' AND now() FROM {} ORDER BY id",
        c.table()
    ));
    assert_eq!(got, expected.join("\n"));
}

#[test]
fn a_bad_json_record_is_skipped_and_counted_or_fails_the_run_by_its_position() {
    let c = Case::new("bad", 1);
    let dir = tempdir();
    let delivered = broker().produce(
        [r#"{"id": 1}"#, "{oops", r#"{"id": 3}"#]
            .into_iter()
            .map(|v| FutureRecord::to(&c.id).payload(v))
            .collect(),
    );
    let schema = "schema: {id: bigint}";
    let skip = c.job(dir.path(), schema, ", on_error: skip");
    let out = fust(dir.path(), &["run", skip.to_str().expect("utf-8")], &[]);
    out.success();
    assert!(
        out.stderr
            .contains("1 (input: invalid JSON 1) bad records skipped"),
        "{}",
        out.stderr
    );
    assert_eq!(c.counts(), "2|2");

    let fail_name = format!("{}_fail", c.id);
    let fail = c.job_named(dir.path(), &fail_name, schema, ", on_error: fail");
    let out = run_job(dir.path(), &fail, &[]);
    out.failure();
    let at = format!("{}/0@{}", c.id, delivered[1].1);
    assert!(out.stderr.contains(&at), "names {at}:\n{}", out.stderr);
}

#[test]
fn preview_shows_records_and_commits_nothing() {
    let c = Case::new("preview", 2);
    let dir = tempdir();
    broker().produce_json(&c.id, 1..=30);
    let job = c.job(dir.path(), "", "");
    let out = fust(
        dir.path(),
        &["preview", job.to_str().expect("utf-8"), "--limit", "5"],
        &[],
    );
    out.success();
    assert!(out.stdout.contains("amount"), "{}", out.stdout);
    let rows = out
        .stdout
        .lines()
        .filter(|l| l.contains("| n") && !l.contains("name"))
        .count();
    assert_eq!(rows, 5, "{}", out.stdout);
    run_job(dir.path(), &job, &[]).success();
    assert_eq!(c.counts(), "30|30");
}

#[test]
fn an_empty_topic_without_a_schema_asks_for_one() {
    let c = Case::new("empty", 1);
    let dir = tempdir();
    let job = c.job(dir.path(), "", "");
    let out = fust(dir.path(), &["validate", job.to_str().expect("utf-8")], &[]);
    out.failure();
    assert!(out.stderr.contains("holds no records"), "{}", out.stderr);
    assert!(out.stderr.contains("schema:"), "{}", out.stderr);
}

#[test]
fn two_processes_in_one_group_write_every_record_once() {
    let c = Case::new("group", 4);
    let dir = tempdir();
    broker().produce_json(&c.id, 1..=500);
    let job = c.job(dir.path(), "schema: {id: bigint, name: varchar}", "");
    // Made here: two processes creating it at once would race in PostgreSQL's catalog.
    psql(&format!(
        "CREATE TABLE {} (id bigint, name text)",
        c.table()
    ));
    let (a, b) = (spawn_run(dir.path(), &job), spawn_run(dir.path(), &job));
    for chunk in 0..10 {
        let from = 501 + chunk * 150;
        broker().produce_json(&c.id, from..=from + 149);
        std::thread::sleep(Duration::from_millis(300));
    }
    let (a, b) = (
        finish(a, Duration::from_secs(90)),
        finish(b, Duration::from_secs(90)),
    );
    a.success();
    b.success();
    assert_eq!(
        c.counts(),
        "2000|2000",
        "\n--- a ---\n{}\n--- b ---\n{}",
        a.stderr,
        b.stderr
    );
}

#[test]
fn a_run_after_a_kill_9_waits_for_the_partitions_the_killed_run_held() {
    let c = Case::new("dead", 4);
    let dir = tempdir();
    psql(&format!(
        "CREATE TABLE {} (id bigint, name text)",
        c.table()
    ));
    broker().produce_json(&c.id, 1..=400);
    let job = c.job(
        dir.path(),
        "schema: {id: bigint, name: varchar}",
        "stop_when_idle: 60s",
    );
    let mut killed = spawn_run(dir.path(), &job);
    let deadline = Instant::now() + Duration::from_secs(60);
    while c.counts() != "400|400" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        c.counts(),
        "400|400",
        "the first run read the first records"
    );
    killed.kill().expect("kill -9 the first run");
    let _ = killed.wait();
    // A second run joins while the group waits for the first one's session (6 s) to time
    // out, and is killed before it does: the third run is given half the partitions, the
    // others going to the second run's member until its own session times out. The third
    // run goes idle on its half before that, and must not stop there.
    let mut joining = spawn_run(dir.path(), &job);
    std::thread::sleep(Duration::from_millis(4500));
    joining.kill().expect("kill -9 the second run");
    let _ = joining.wait();
    broker().produce_json(&c.id, 401..=800);
    let job = c.job(
        dir.path(),
        "schema: {id: bigint, name: varchar}",
        "stop_when_idle: 2s",
    );
    let out = finish(spawn_run(dir.path(), &job), Duration::from_secs(90));
    out.success();
    assert_eq!(c.counts(), "800|800", "{}", out.stderr);
}

#[test]
fn a_process_joining_mid_stream_takes_partitions_over_without_duplicates() {
    let c = Case::new("join", 4);
    let dir = tempdir();
    // Idle through a rebalance (about 3 s against tansu) does not stop the first process.
    let job = c.job(
        dir.path(),
        "schema: {id: bigint, name: varchar}",
        "stop_when_idle: 8s",
    );
    psql(&format!(
        "CREATE TABLE {} (id bigint, name text)",
        c.table()
    ));
    let a = spawn_run(dir.path(), &job);
    let mut next = 1;
    let mut publish = |n: i64| {
        broker().produce_json(&c.id, next..=next + n - 1);
        next += n;
    };
    // The second process joins once the first has committed records of every partition:
    // the group then moves two of them, whose positions it must take from PostgreSQL.
    let deadline = Instant::now() + Duration::from_secs(30);
    while psql(&format!("SELECT count(*) FROM {}", c.table())) == "0" {
        publish(100);
        assert!(Instant::now() < deadline, "the first process never wrote");
        std::thread::sleep(Duration::from_millis(300));
    }
    let b = spawn_run(dir.path(), &job);
    for _ in 0..12 {
        publish(100);
        std::thread::sleep(Duration::from_millis(300));
    }
    let (a, b) = (
        finish(a, Duration::from_secs(90)),
        finish(b, Duration::from_secs(90)),
    );
    a.success();
    b.success();
    let n = next - 1;
    assert_eq!(
        c.counts(),
        format!("{n}|{n}"),
        "\n--- a ---\n{}\n--- b ---\n{}",
        a.stderr,
        b.stderr
    );
    assert!(b.stderr.contains("partitions assigned"), "{}", b.stderr);
}

#[test]
fn a_csv_file_into_a_topic_with_keys() {
    let c = Case::new("out", 2);
    let dir = tempdir();
    write_file(
        dir.path(),
        "in.csv",
        "id,name,amount\n1,alice,2.5\n2,\"bob, jr\",3\n3,carol,4.25\n",
    );
    let job = write_file(
        dir.path(),
        "out.yaml",
        format!(
            "input: {{type: csv, path: in.csv}}\n\
             output: {{type: kafka, brokers: '{}', topic: {}, key: \"concat('c-', id)\", compression: gzip}}\n",
            broker().brokers,
            c.id
        ),
    );
    let out = run_job(dir.path(), &job, &[]);
    out.success();
    let mut got: Vec<(Option<String>, String)> = broker()
        .consume(&c.id, 3)
        .into_iter()
        .map(|r| (r.key, r.value))
        .collect();
    got.sort();
    let want = [
        ("c-1", r#"{"id":1,"name":"alice","amount":2.5}"#),
        ("c-2", r#"{"id":2,"name":"bob, jr","amount":3.0}"#),
        ("c-3", r#"{"id":3,"name":"carol","amount":4.25}"#),
    ];
    let want: Vec<(Option<String>, String)> = want
        .iter()
        .map(|(k, v)| (Some(k.to_string()), v.to_string()))
        .collect();
    assert_eq!(got, want);

    // CSV values, keyed by a column.
    let csv = write_file(
        dir.path(),
        "csv.yaml",
        format!(
            "input: {{type: csv, path: in.csv}}\n\
             output: {{type: kafka, brokers: '{}', topic: {}, key: name, format: csv}}\n",
            broker().brokers,
            c.id
        ),
    );
    run_job(dir.path(), &csv, &[]).success();
    let mut csv_records: Vec<(Option<String>, String)> = broker()
        .consume(&c.id, 6)
        .into_iter()
        .filter(|r| !r.value.starts_with('{'))
        .map(|r| (r.key, r.value))
        .collect();
    csv_records.sort();
    assert_eq!(
        csv_records,
        [
            (Some("alice".to_string()), "1,alice,2.5".to_string()),
            (Some("bob, jr".to_string()), "2,\"bob, jr\",3.0".to_string()),
            (Some("carol".to_string()), "3,carol,4.25".to_string()),
        ]
    );
}

#[test]
fn an_unreachable_broker_fails_the_output_in_bounded_time() {
    let dir = tempdir();
    write_file(dir.path(), "in.csv", "id\n1\n");
    let job = write_file(
        dir.path(),
        "out.yaml",
        "input: {type: csv, path: in.csv}\noutput: {type: kafka, brokers: '127.0.0.1:1', topic: nowhere}\n",
    );
    let started = Instant::now();
    let out = run_job(dir.path(), &job, &[]);
    out.failure();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert!(out.stderr.contains("kafka 127.0.0.1:1"), "{}", out.stderr);
    assert!(out.stderr.contains("nowhere"), "{}", out.stderr);
}

#[test]
fn the_example_streams_the_paid_orders_into_postgres() {
    let c = Case::new("example", 3);
    let dir = tempdir();
    let orders = repo_root().join("examples/data/orders.csv");
    let publish = write_file(
        dir.path(),
        "publish.yaml",
        format!(
            "input: {{type: csv, path: '{}'}}\n\
             output: {{type: kafka, brokers: '{}', topic: {}, key: order_id}}\n",
            orders.display(),
            broker().brokers,
            c.id
        ),
    );
    run_job(dir.path(), &publish, &[]).success();
    let text = std::fs::read_to_string(repo_root().join("examples/kafka_to_postgres.yaml"))
        .expect("the example");
    let job = write_file(
        dir.path(),
        "example.yaml",
        text.replace("127.0.0.1:9092", &broker().brokers)
            .replace("topic: orders", &format!("topic: {}", c.id))
            .replace("name: orders_kafka", &format!("name: {}", c.id))
            // tansu takes ~23 s to form a group with librdkafka's 45 s session timeout.
            .replace(
                "group_id: fust_orders_kafka",
                &format!(
                    "group_id: {}\n  properties: {{session.timeout.ms: 6000}}",
                    c.id
                ),
            )
            .replace("table: paid_orders_kafka", &format!("table: {}", c.table())),
    );
    run_job(dir.path(), &job, &[]).success();
    let csv = std::fs::read_to_string(&orders).expect("orders.csv");
    let paid: Vec<String> = csv
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(3) == Some("paid"))
        .map(|l| l.split(',').next().unwrap_or_default().to_string())
        .collect();
    assert!(paid.len() > 5, "the bundled orders have paid ones");
    assert_eq!(
        psql(&format!(
            "SELECT string_agg(order_id::text, ',' ORDER BY order_id) FROM {}",
            c.table()
        )),
        paid.join(",")
    );
}

#[test]
fn two_groups_committing_one_job_conflict_and_rewind_without_duplicates() {
    let c = Case::new("zombie", 2);
    let dir = tempdir();
    let job = c.job(dir.path(), "schema: {id: bigint, name: varchar}", "");
    psql(&format!(
        "CREATE TABLE {} (id bigint, name text)",
        c.table()
    ));
    // The same job in another group reads every partition too (a zombie): each epoch of
    // one that the other committed first is refused, rolled back and read again.
    let text = std::fs::read_to_string(&job).expect("job");
    let zombie = write_file(
        dir.path(),
        "zombie.yaml",
        text.replace(
            &format!("group_id: {}", c.id),
            &format!("group_id: {}_zombie", c.id),
        ),
    );
    let (a, b) = (spawn_run(dir.path(), &job), spawn_run(dir.path(), &zombie));
    for chunk in 0..10 {
        broker().produce_json(&c.id, chunk * 100 + 1..=chunk * 100 + 100);
        std::thread::sleep(Duration::from_millis(300));
    }
    let (a, b) = (
        finish(a, Duration::from_secs(90)),
        finish(b, Duration::from_secs(90)),
    );
    a.success();
    b.success();
    assert_eq!(
        c.counts(),
        "1000|1000",
        "\n--- a ---\n{}\n--- b ---\n{}",
        a.stderr,
        b.stderr
    );
    let rewound = [&a, &b]
        .iter()
        .filter(|o| o.stderr.contains("rewound to the stored positions"))
        .count();
    assert!(
        rewound > 0,
        "no epoch conflicted:\n{}\n{}",
        a.stderr,
        b.stderr
    );
}

/// `kill -9` of `fust run` at 20 random points while records are still being published
/// (issue 18, point 8), then one run to the end: `counts` must show every id once.
fn kill_loop(kind: &str, case: &Case, job: &Path, total: i64, counts: impl Fn() -> (u64, u64)) {
    let topic = case.id.clone();
    let publishing = std::thread::spawn(move || {
        for chunk in 0..40 {
            let (from, to) = (chunk * total / 40 + 1, (chunk + 1) * total / 40);
            broker().produce_json(&topic, from..=to);
            std::thread::sleep(Duration::from_millis(150));
        }
    });
    let dir = job.parent().expect("the job's directory");
    let mut rng = rng::Rng::new(kind);
    let mut killed = 0;
    for i in 0..rng::kills() {
        let mut child = command(dir, &["run", "--quiet", job.to_str().expect("utf-8")], &[])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start fust");
        std::thread::sleep(Duration::from_millis(1000 + rng.below(5000)));
        if let Ok(None) = child.try_wait() {
            let _ = child.kill();
            killed += 1;
        }
        let _ = child.wait();
        let (rows, distinct) = counts();
        assert_eq!(rows, distinct, "{kind}: duplicates after kill {i}");
    }
    publishing.join().expect("the publisher");
    assert!(
        killed >= rng::kills() / 2,
        "{kind}: only {killed} runs were killed"
    );
    let out = finish(spawn_run(dir, job), Duration::from_secs(120));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        counts(),
        (total as u64, total as u64),
        "{kind}: every id once; the last run's log:\n{}",
        out.stderr
    );
}

#[test]
fn kafka_to_postgres_survives_kill_9() {
    let case = Case::new("kill_pg", 4);
    psql(&format!(
        "CREATE TABLE {} (id BIGINT, name TEXT, amount DOUBLE PRECISION)",
        case.table()
    ));
    let dir = tempdir();
    let job = case.job(
        dir.path(),
        "schema: {id: bigint, name: varchar, amount: double}",
        "",
    );
    kill_loop("kafka→postgres", &case, &job, 20_000, || {
        let c = case.counts();
        let (a, b) = c.split_once('|').expect("two counts");
        (a.parse().expect("rows"), b.parse().expect("ids"))
    });
}

#[test]
fn kafka_to_parquet_directory_survives_kill_9() {
    let case = Case::new("kill_pq", 4);
    let dir = tempdir();
    let out = dir.path().join("parquet_out");
    let job = write_file(
        dir.path(),
        "kill_pq.yaml",
        format!(
            "name: {id}\ninput:\n  type: kafka\n  brokers: '{brokers}'\n  topic: {id}\n  group_id: {id}\n  schema: {{id: bigint, name: varchar, amount: double}}\n  properties: {{session.timeout.ms: 6000, heartbeat.interval.ms: 500}}\noutput: {{type: parquet, path: '{out}'}}\nsettings: {{checkpoint_interval: 500ms, stop_when_idle: 3s}}\n",
            id = case.id,
            brokers = broker().brokers,
            out = out.display()
        ),
    );
    kill_loop("kafka→parquet", &case, &job, 20_000, || dir_counts(&out));
}
