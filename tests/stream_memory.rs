//! Backpressure and memory of a stream job: a backlog of a million JetStream records goes
//! into a PostgreSQL table whose trigger makes the load slow. Consumption follows the sink
//! (the lag falls at the sink's pace, what Fust holds stays bounded), every record lands
//! once, and the process's peak RSS stays within 300 MB. Its own test binary, so nothing
//! else runs beside the measured process.

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::nats::{ConsumerProgress, Jet, nats_url};
use common::*;

/// The backlog.
const RECORDS: u64 = 1_000_000;
/// The requirement: peak resident memory of `fust run`, in bytes.
const PEAK_LIMIT: u64 = 300 * 1000 * 1000;
/// The sink pauses at every row whose id is a multiple of this...
const PAUSE_EVERY: u64 = 1000;
/// ...for this long, so the load takes at least `RECORDS / PAUSE_EVERY * PAUSE`.
const PAUSE: Duration = Duration::from_millis(50);
/// The most records an epoch takes: what Fust may hold ahead of the sink.
const CHECKPOINT_ROWS: u64 = 100_000;
/// The longest the run may take before the test fails.
const RUN_LIMIT: Duration = Duration::from_secs(170);

const STREAM: &str = "FUST_T_MEMORY";
const TABLE: &str = "stream_memory";
const JOB: &str = "stream_memory";

/// A record of about 80 bytes: `records`' fields and a note.
fn backlog(ids: std::ops::Range<u64>) -> impl Iterator<Item = String> {
    ids.map(|i| {
        format!(
            r#"{{"id": {i}, "name": "n{i}", "amount": {}, "note": "backlog record {i:07}"}}"#,
            i as f64 * 1.5
        )
    })
}

/// The target table, with a row trigger that sleeps `PAUSE` at every `PAUSE_EVERY`th id:
/// the sink is slow all through each epoch's `COPY`, not only at its end.
fn throttled_table() {
    psql(&format!(
        "DROP TABLE IF EXISTS {TABLE};
         CREATE TABLE {TABLE} (id BIGINT, name TEXT, amount DOUBLE PRECISION, note TEXT);
         CREATE OR REPLACE FUNCTION {TABLE}_throttle() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF NEW.id % {PAUSE_EVERY} = 0 THEN PERFORM pg_sleep({}); END IF;
           RETURN NEW;
         END $$;
         CREATE TRIGGER {TABLE}_throttle BEFORE INSERT ON {TABLE}
           FOR EACH ROW EXECUTE FUNCTION {TABLE}_throttle();
         CREATE TABLE IF NOT EXISTS fust_stream_positions (job VARCHAR(255) NOT NULL, part VARCHAR(255) NOT NULL, position BIGINT NOT NULL, PRIMARY KEY (job, part));
         DELETE FROM fust_stream_positions WHERE job = '{JOB}'",
        PAUSE.as_secs_f64()
    ));
}

/// `VmRSS` and `VmHWM` (peak) of a live process, in bytes; `None` once it is gone.
fn memory(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    Some((kb("VmRSS:")?, kb("VmHWM:")?))
}

/// The stream sequence the job committed with its rows.
fn committed() -> u64 {
    psql(&format!(
        "SELECT coalesce(max(position), 0) FROM fust_stream_positions WHERE job = '{JOB}'"
    ))
    .parse()
    .expect("a position")
}

/// What the test saw once a second while the job ran.
#[derive(Debug)]
struct Sample {
    at: Duration,
    rss: u64,
    committed: u64,
    consumer: Option<ConsumerProgress>,
}

impl Sample {
    /// Records fetched from the server and not yet committed: what Fust holds.
    fn in_flight(&self) -> u64 {
        self.consumer
            .map_or(0, |c| c.delivered.saturating_sub(self.committed))
    }
}

/// Runs the job, sampling its memory every 100 ms and its progress every second, until it
/// exits; the samples, the peak RSS, the exit code and the run's time.
fn run_sampled(cwd: &Path, job: &Path, log: &Path) -> (Vec<Sample>, u64, Option<i32>, Duration) {
    let jet = Jet::connect();
    let stderr = std::fs::File::create(log).expect("a log file");
    let started = Instant::now();
    let mut child: Child = command(cwd, &["run", "--quiet", job.to_str().expect("utf-8")], &[])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start fust");
    let pid = child.id();
    let (mut samples, mut peak) = (Vec::new(), 0u64);
    let mut next_sample = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for fust") {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the run took longer than {RUN_LIMIT:?}; last samples: {:?}\n{}",
                samples.iter().rev().take(5).collect::<Vec<_>>(),
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if let Some((rss, hwm)) = memory(pid) {
            peak = peak.max(hwm).max(rss);
            if Instant::now() >= next_sample {
                next_sample += Duration::from_secs(1);
                samples.push(Sample {
                    at: started.elapsed(),
                    rss,
                    committed: committed(),
                    consumer: jet.consumer_progress(STREAM, &format!("fust_{STREAM}")),
                });
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    (samples, peak, status.code(), started.elapsed())
}

#[test]
fn a_throttled_sink_slows_a_million_record_backlog_within_300_mb() {
    let jet = Jet::connect();
    jet.fresh_stream(STREAM);
    throttled_table();

    let publishing = Instant::now();
    let bytes: usize = backlog(1..RECORDS + 1).map(|r| r.len()).sum();
    let sent = jet.publish_many(&format!("{STREAM}.x"), backlog(1..RECORDS + 1), 4096);
    let published_in = publishing.elapsed();
    assert_eq!(sent, RECORDS);
    assert_eq!(
        jet.count(STREAM),
        RECORDS,
        "the whole backlog is in the stream"
    );
    eprintln!(
        "published {RECORDS} records ({} bytes each on average) in {published_in:.1?}",
        bytes as u64 / RECORDS
    );

    let dir = tempdir();
    let job = write_job(
        dir.path(),
        &format!(
            "name: {JOB}\ninput:\n  type: nats\n  url: {}\n  stream: {STREAM}\noutput:\n  type: postgres\n  url: postgres://postgres@127.0.0.1:5432/test\n  table: {TABLE}\nsettings: {{stop_when_idle: 3s, checkpoint_interval: 1s, checkpoint_rows: {CHECKPOINT_ROWS}}}\n",
            nats_url()
        ),
    );
    let log = dir.path().join("stderr.log");
    let (samples, peak, code, elapsed) = run_sampled(dir.path(), &job, &log);
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();

    eprintln!("   t  rss MB  committed  delivered  in flight  lag (pending)");
    for s in &samples {
        eprintln!(
            "{:4.0}  {:6.1}  {:9}  {:9}  {:9}  {:13}",
            s.at.as_secs_f64(),
            s.rss as f64 / 1e6,
            s.committed,
            s.consumer.map_or(0, |c| c.delivered),
            s.in_flight(),
            s.consumer.map_or(0, |c| c.pending),
        );
    }
    let max_in_flight = samples.iter().map(Sample::in_flight).max().unwrap_or(0);
    eprintln!(
        "run: {elapsed:.1?}, peak RSS {:.1} MB, at most {max_in_flight} records fetched and not committed\n{stderr}",
        peak as f64 / 1e6
    );

    assert_eq!(code, Some(0), "fust run failed:\n{stderr}");
    assert_eq!(
        psql(&format!("SELECT count(*), count(DISTINCT id) FROM {TABLE}")),
        format!("{RECORDS}|{RECORDS}"),
        "every record once"
    );
    // The sink really was slow: its pauses alone take this long.
    let paused = PAUSE * (RECORDS / PAUSE_EVERY) as u32;
    assert!(
        elapsed >= paused,
        "the run ({elapsed:?}) was shorter than the sink's pauses ({paused:?}): not throttled"
    );
    // Backpressure: the reader stays one epoch ahead of the sink at most (a free reader
    // takes the whole backlog in seconds; the margin is the client's prefetch and the
    // samples' skew), so half way through the run most of the backlog is still on the server.
    assert!(
        max_in_flight <= CHECKPOINT_ROWS + 10_000,
        "{max_in_flight} records were fetched ahead of the sink: no backpressure"
    );
    let mid = samples
        .iter()
        .find(|s| s.at >= elapsed / 2)
        .and_then(|s| s.consumer)
        .expect("a sample of the consumer half way through the run");
    assert!(
        mid.pending >= RECORDS / 4,
        "half way through the run only {} records were left on the server: the sink did not slow the reading",
        mid.pending
    );
    assert!(
        peak <= PEAK_LIMIT,
        "peak RSS {:.1} MB is over {} MB",
        peak as f64 / 1e6,
        PEAK_LIMIT / 1_000_000
    );
}
