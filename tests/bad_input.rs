//! Bad job files, bad data and forbidden SQL, as one table: each case is a job (and its
//! files) that must fail with a given exit code and a message naming the file, the
//! line/record/key and what was expected, leave its input files unchanged and publish no
//! output or temporary file. Ctrl-C at the end.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

const OK_CSV: &str = "id,name\n1,a\n2,b\n";

/// One bad input. `job` and `args` may use `{dir}` for the case's directory.
struct Case {
    name: &'static str,
    /// Files besides `ok.csv`; every one must be unchanged after the run.
    files: Vec<(&'static str, Vec<u8>)>,
    job: String,
    /// Arguments to `fust` (default: `run --quiet job.yaml`).
    args: &'static [&'static str],
    code: i32,
    /// Texts stderr must contain, ignoring case; `a…b` means `b` after `a`; `a|b` means
    /// either.
    wants: Vec<String>,
    /// Choices the message must list after `Valid:`.
    valid: &'static [&'static str],
}

impl Case {
    fn new(name: &'static str, job: impl Into<String>, code: i32, wants: &[&str]) -> Self {
        let wants = wants.iter().map(|w| w.to_string()).collect();
        Self {
            name,
            files: Vec::new(),
            job: job.into(),
            args: &["run", "--quiet", "job.yaml"],
            code,
            wants,
            valid: &[],
        }
    }
    fn file(mut self, name: &'static str, body: impl Into<Vec<u8>>) -> Self {
        self.files.push((name, body.into()));
        self
    }
    fn args(mut self, args: &'static [&'static str]) -> Self {
        self.args = args;
        self
    }
    fn valid(mut self, valid: &'static [&'static str]) -> Self {
        self.valid = valid;
        self
    }

    /// Runs the case; the first thing wrong with the outcome, if any.
    fn check(&self) -> Result<(), String> {
        let dir = tempdir();
        let d = dir.path();
        let root = d.display().to_string();
        write_file(d, "ok.csv", OK_CSV);
        for (name, body) in &self.files {
            write_file(d, name, body);
        }
        if !self.job.is_empty() {
            write_job(d, &self.job.replace("{dir}", &root));
        }
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| a.replace("{dir}", &root))
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = fust(d, &args, &[]);
        let err = &out.stderr;
        if out.code != Some(self.code) {
            return Err(format!(
                "exit {:?}, expected {}:\n{err}",
                out.code, self.code
            ));
        }
        let lower = err.to_lowercase();
        for want in &self.wants {
            let found = want.split('|').any(|alt| {
                let mut at = 0;
                alt.split('…')
                    .all(|part| match lower[at..].find(&part.to_lowercase()) {
                        Some(i) => {
                            at += i + part.len();
                            true
                        }
                        None => false,
                    })
            });
            if !found {
                return Err(format!("stderr lacks {want:?}:\n{err}"));
            }
        }
        if !self.valid.is_empty() {
            let line = err
                .split_once("Valid:")
                .map(|(_, t)| t.lines().next().unwrap_or_default());
            let Some(line) = line else {
                return Err(format!("no `Valid:` list:\n{err}"));
            };
            if let Some(c) = self.valid.iter().find(|c| !line.contains(*c)) {
                return Err(format!("`{c}` missing from the valid choices: {line}"));
            }
        }
        for (name, body) in self
            .files
            .iter()
            .chain([&("ok.csv", OK_CSV.as_bytes().to_vec())])
        {
            if std::fs::read(d.join(name)).ok().as_ref() != Some(body) {
                return Err(format!("{name} changed or vanished"));
            }
        }
        if !self.files.iter().any(|(n, _)| *n == "out/x.csv") && d.join("out/x.csv").exists() {
            return Err("output published despite the failure".into());
        }
        if d.join("leak.csv").exists() {
            return Err("the job wrote a file outside its output".into());
        }
        match temp_files(d) {
            t if t.is_empty() => Ok(()),
            t => Err(format!("temporary files left: {t:?}")),
        }
    }
}

/// A job reading `input` (a flow mapping) and writing `out/x.csv`.
fn job(input: &str) -> String {
    format!("input: {input}\noutput: {{type: csv, path: out/x.csv}}\n")
}

/// A job over `ok.csv` with `processors` (YAML list items, indented by 4).
fn with_processors(input: &str, processors: &str) -> String {
    format!(
        "input: {input}\npipeline:\n  processors:\n{processors}output: {{type: csv, path: out/x.csv}}\n"
    )
}

fn sql_job(query: &str) -> String {
    with_processors(
        "{type: csv, path: ok.csv}",
        &format!(
            "    - type: sql\n      query: {}\n",
            serde_json::to_string(query).expect("quote")
        ),
    )
}

/// 3,000 rows of `id,name,amount` where row 2,500 has two fields.
fn late_short_row() -> Vec<u8> {
    let mut text = String::from("id,name,amount\n");
    for i in 1..=3000 {
        match i {
            2500 => text.push_str("2500,only_two\n"),
            _ => text.push_str(&format!("{i},n{i},{i}\n")),
        }
    }
    text.into_bytes()
}

fn cases() -> Vec<Case> {
    let ok = "{type: csv, path: ok.csv}";
    let mut late_utf8 = b"id,name\n".to_vec();
    for i in 1..3000 {
        match i {
            2000 => late_utf8.extend_from_slice(b"2000,\xff\xfe\n"),
            _ => late_utf8.extend_from_slice(format!("{i},n{i}\n").as_bytes()),
        }
    }
    let orders =
        std::fs::read(repo_root().join("examples/data/orders.parquet")).expect("orders.parquet");
    let mut cases = vec![
        // ---------------------------------------------------------- job files (exit 2)
        // The unclosed `[` is on line 3; the parser may notice on line 3 or 4.
        Case::new("malformed YAML", "input:\n  type: csv\n  path: [ok.csv\noutput: {type: csv, path: out/x.csv}\n", 2, &["job.yaml:3:|job.yaml:4:", "YAML"]),
        Case::new("malformed flow mapping", "input: {type: csv, path: ok.csv\noutput: x\n", 2, &["job.yaml:", "YAML"]),
        Case::new("unknown top-level key", "input: {type: csv, path: ok.csv}\noutpt: {type: csv, path: out/x.csv}\n", 2, &["job.yaml:2:1", "`outpt`", "did you mean `output`?"])
            .valid(&["name", "input", "inputs", "pipeline", "output", "settings"]),
        Case::new("unknown processor type", with_processors(ok, "    - type: filtr\n      condition: id > 1\n"), 2, &["job.yaml:4:", "pipeline.processors[0]", "`filtr`", "did you mean `filter`?"])
            .valid(&["aggregate", "filter", "mapping", "sql"]),
        Case::new("unknown output type", "input: {type: csv, path: ok.csv}\noutput: {type: parquett, path: out/x.csv}\n", 2, &["job.yaml:2:", "`output.type`", "`parquett`", "did you mean `parquet`?"])
            .valid(&["console", "csv", "json", "parquet"]),
        // `cvs` for `csv`: two letters swapped, the classic typo.
        Case::new("swapped letters", job("{type: cvs, path: ok.csv}"), 2, &["job.yaml:1:", "`cvs`", "did you mean `csv`?"]).valid(&["csv", "json", "parquet"]),
        Case::new("unknown option", "input:\n  type: csv\n  path: ok.csv\n  delimeter: \";\"\noutput: {type: csv, path: out/x.csv}\n", 2, &["job.yaml:4:3", "`input.delimeter`", "did you mean `delimiter`?"])
            .valid(&["path", "has_header", "delimiter"]),
        Case::new("wrong option type", "input:\n  type: csv\n  path: ok.csv\n  has_header: maybe\noutput: {type: csv, path: out/x.csv}\n", 2, &["job.yaml:4:15", "`input.has_header`", "\"maybe\"", "expected a boolean"]),
        Case::new("unknown choice", "input: {type: csv, path: ok.csv}\noutput:\n  type: csv\n  path: out/x.csv\n  mode: apend\n", 2, &["job.yaml:5:", "`output.mode`", "`apend`", "overwrite", "append", "error_if_exists"]),
        // Every size is bounded, and aliases cannot blow a small file up.
        Case::new("batch_size beyond its maximum", "input: {type: csv, path: ok.csv}\nsettings: {batch_size: 100000000}\noutput: {type: csv, path: out/x.csv}\n", 2, &["job.yaml:2:", "settings.batch_size", "out of range", "1048576"]),
        Case::new("infer_rows beyond its maximum", job("{type: csv, path: ok.csv, infer_rows: 999999999999}"), 2, &["input.infer_rows", "out of range"]),
        Case::new("alias bomb", alias_bomb() + &job("{type: csv, path: ok.csv}"), 2, &["job.yaml:", "alias bomb"]),
        Case::new("unset variable", "input:\n  type: csv\n  path: ${FUST_TEST_SURELY_UNSET}/ok.csv\noutput: {type: csv, path: out/x.csv}\n", 2, &["job.yaml:3:", "FUST_TEST_SURELY_UNSET", "not set"]),
        Case::new("missing job file", "", 2, &["no-such-job.yaml"]).args(&["run", "no-such-job.yaml"]),
        Case::new(
            "validate reports every plugin problem at once",
            "name: many\ninput:\n  type: csv\n  path: does-not-need-to-exist.csv\n  has_header: 3\npipeline:\n  processors:\n    - type: filter\n      conditon: \"id > 1\"\n    - type: mappin\n    - type: aggregate\n      group_by: id\n      aggregates: {n: \"count(*)\"}\noutput:\n  type: parket\n  path: out/x.parquet\n",
            2,
            &["5 problems", "job.yaml:5:15: `input.has_header`", "job.yaml:9:7: `pipeline.processors[0].conditon`", "did you mean `condition`?", "job.yaml:10:7: `pipeline.processors[1].type`", "did you mean `mapping`?", "job.yaml:12:17: `pipeline.processors[2].group_by`", "job.yaml:15:3: `output.type`", "did you mean `parquet`?"],
        )
        .args(&["validate", "job.yaml"]),
        // An unknown top-level key must not hide the problems inside the sections.
        Case::new(
            "validate reports structure and plugin problems together",
            "inptu: {type: csv, path: ok.csv}\npipeline:\n  processors:\n    - {type: filter, conditon: \"id > 1\"}\noutput: {type: parket, path: out/x.parquet}\nsettings: {batch_size: lots}\n",
            2,
            &["job.yaml:1:1: `inptu`", "did you mean `input`?", "`settings.batch_size`", "`pipeline.processors[0].conditon`", "`output.type`"],
        )
        .args(&["validate", "job.yaml"]),
        // ---------------------------------------------------------- data (exit 1)
        Case::new("missing input file", job("{type: csv, path: nope.csv}"), 1, &["nope.csv", "not found"]),
        // Within the rows read for type inference, and far past them.
        Case::new("short row while inferring", job("{type: csv, path: fields.csv}"), 1, &["fields.csv", "line 3", "expected 3"]).file("fields.csv", "id,name,amount\n1,a,10\n2,b\n3,c,30\n"),
        Case::new("short row while reading", job("{type: csv, path: late.csv}"), 1, &["late.csv", "line 2501", "expected 3"]).file("late.csv", late_short_row()),
        Case::new(
            "failed append leaves the file unchanged",
            "input: {type: csv, path: late.csv}\nsettings: {batch_size: 100, preserve_order: true}\noutput: {type: csv, path: out/x.csv, mode: append}\n",
            1,
            &["line 2501"],
        )
        .file("late.csv", late_short_row())
        .file("out/x.csv", "id,name,amount\n0,z,0\n"),
        Case::new("invalid UTF-8 while inferring", job("{type: csv, path: bad.csv}"), 1, &["bad.csv", "line 3", "utf-8"]).file("bad.csv", b"id,name\n1,a\n2,\xff\xfeb\n".to_vec()),
        Case::new("invalid UTF-8 while reading", job("{type: csv, path: late.csv}"), 1, &["late.csv", "line 2001", "utf-8"]).file("late.csv", late_utf8),
        // The file, its line, the value, the column and the type are named.
        Case::new("value not matching the schema override", job("{type: csv, path: typed.csv, schema: {amount: int}}"), 1, &["typed.csv", "'x'", "line 3", "amount", "Int32"]).file("typed.csv", "id,amount\n1,5\n2,x\n3,7\n"),
        // Past the rows read for type inference, so the error comes from the reader; the
        // blank line 4 of b.csv is counted as a line of the file.
        Case::new("bad value in one of several files", job("{type: csv, path: parts/, infer_rows: 2}"), 1, &["b.csv", "line 5", "'seven'", "amount", "Int64"])
            .file("parts/a.csv", "id,amount\n1,5\n2,6\n")
            .file("parts/b.csv", "id,amount\n3,7\n4,8\n\n5,seven\n"),
        Case::new("truncated parquet", job("{type: parquet, path: cut.parquet}"), 1, &["cut.parquet", "parquet"]).file("cut.parquet", orders[..orders.len() / 2].to_vec()),
        Case::new("unknown column in a filter", with_processors(ok, "    - {type: filter, condition: \"nme = 'a'\"}\n"), 1, &["pipeline.processors[0]", "nme", "did you mean…name"]),
        // The message says which value failed, and in which column.
        Case::new("failing cast in a mapping", with_processors("{type: csv, path: qty.csv, all_strings: true}", "    - {type: mapping, cast: {qty: int}}\n"), 1, &["'abc'", "int", "qty"]).file("qty.csv", "id,qty\n1,5\n2,abc\n"),
        Case::new("unknown column in a mapping", with_processors(ok, "    - {type: mapping, field_mappings: {nmae: label}}\n"), 1, &["pipeline.processors[0]", "field_mappings", "`nmae`", "did you mean `name`?", "columns: id, name"]),
        // ---------------------------------------------------------- SQL
        Case::new("two SQL statements", sql_job("SELECT * FROM input; SELECT 1"), 2, &["pipeline.processors[0]", "exactly one", "2 statements"]),
        Case::new("COPY", sql_job("COPY (SELECT * FROM input) TO '{dir}/leak.csv'"), 2, &["pipeline.processors[0]", "COPY", "not allowed"]),
        Case::new("CREATE EXTERNAL TABLE", sql_job("CREATE EXTERNAL TABLE t STORED AS CSV LOCATION 'ok.csv'"), 2, &["pipeline.processors[0]", "CREATE EXTERNAL TABLE", "not allowed", "inputs:"]),
        Case::new("misspelt table", sql_job("SELECT * FROM inptu"), 1, &["`inptu`", "did you mean `input`?", "tables: input"]),
        Case::new("unknown table", sql_job("SELECT * FROM orders"), 1, &["`orders`", "tables: input"]),
    ];
    for (query, word) in [
        ("CREATE TABLE t AS SELECT * FROM input", "CREATE TABLE"),
        ("DROP TABLE input", "DROP TABLE"),
        ("INSERT INTO input VALUES (3, 'c')", "INSERT INTO"),
        ("CREATE VIEW v AS SELECT * FROM input", "CREATE VIEW"),
        ("SET datafusion.execution.batch_size = 1", "SET"),
    ] {
        cases.push(Case::new(
            "DDL or DML",
            sql_job(query),
            2,
            &["pipeline.processors[0]", "only queries", word],
        ));
    }
    for table in [
        "'data/x.csv'",
        "\"s3://bucket/x.parquet\"",
        "'ok.csv'",
        "information_schema.tables",
    ] {
        let name = table.trim_matches(['\'', '"']);
        cases.push(Case::new(
            "file path as a table",
            sql_job(&format!("SELECT * FROM {table}")),
            1,
            &["pipeline.processors[0]", "file path", "inputs:", name],
        ));
    }
    cases
}

#[test]
fn every_bad_input_fails_clearly_and_publishes_nothing() {
    let cases = cases();
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .chunks(cases.len().div_ceil(4))
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|c| c.check().err().map(|e| format!("[{}] {e}", c.name)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a case thread"))
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

// ------------------------------------------------------------------ Ctrl-C (exit 130)

/// Starts `fust run` on `query` over a 2000-row CSV, sends SIGINT once the run has started
/// (and, with `writing`, once its temporary output file exists), and returns (exit code,
/// seconds from SIGINT to exit, stderr, whether a temp file existed before).
fn interrupt(query: &str, writing: bool) -> (Option<i32>, f64, String, bool, tempfile::TempDir) {
    let dir = tempdir();
    let d = dir.path();
    let mut csv = String::from("id\n");
    for i in 1..=2000 {
        csv.push_str(&format!("{i}\n"));
    }
    write_file(d, "big.csv", csv);
    let job = write_job(
        d,
        &format!(
            "input: {{type: csv, path: big.csv}}\npipeline:\n  processors:\n    - type: sql\n      query: \"{query}\"\noutput: {{type: csv, path: out/x.csv}}\n"
        ),
    );
    let mut child = command(
        d,
        &["-v", "run", "--quiet", job.to_str().expect("utf-8")],
        &[],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start fust");
    // Wait for the run itself to start (its `Run started` log line), not for a fixed time.
    let stderr = child.stderr.take().expect("piped stderr");
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let mut lines = std::io::BufReader::new(stderr);
        let mut line = String::new();
        while std::io::BufRead::read_line(&mut lines, &mut line).unwrap_or(0) > 0 {
            if line.contains("Run started") {
                let _ = started_tx.send(());
            }
            text.push_str(&line);
            line.clear();
        }
        text
    });
    if started_rx.recv_timeout(Duration::from_secs(60)).is_err() {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "the run did not start within 60 s:\n{}",
            reader.join().unwrap_or_default()
        );
    }
    if let Ok(Some(status)) = child.try_wait() {
        panic!(
            "the job ended before SIGINT ({status}); pick a longer query:\n{}",
            reader.join().unwrap_or_default()
        );
    }
    let temp_exists = || {
        list_files(&d.join("out"))
            .iter()
            .any(|f| f.ends_with(".tmp"))
    };
    let waiting = Instant::now();
    while writing && !temp_exists() && waiting.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let temp_before = temp_exists();
    let sent = Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(kill.success());
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if sent.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("fust still running 60 s after SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let secs = sent.elapsed().as_secs_f64();
    let err = reader.join().unwrap_or_default();
    (status.code(), secs, err, temp_before, dir)
}

#[test]
fn ctrl_c_cancels_and_publishes_nothing() {
    // `generate_series` as a table is not an input of the job, so a self cross join it is:
    // 8e9 rows, streamed into the CSV writer.
    let (code, secs, stderr, temp_before, dir) = interrupt(
        "SELECT a.id AS a, b.id AS b, c.id AS c FROM input a CROSS JOIN input b CROSS JOIN input c",
        true,
    );
    assert_eq!(code, Some(130), "exit code after SIGINT:\n{stderr}");
    assert!(stderr.contains("cancelled"), "{stderr}");
    assert!(
        temp_before,
        "the output was being written under a temporary name"
    );
    assert!(
        !dir.path().join("out/x.csv").exists(),
        "output published after Ctrl-C"
    );
    assert_no_temp_files(dir.path());
    assert!(secs < 5.0, "took {secs:.1} s to stop after SIGINT");
}

#[test]
fn ctrl_c_is_prompt_while_a_filter_drops_every_row() {
    // No batch ever reaches the sink, so cancellation can't wait for the next batch.
    let (code, secs, stderr, _, dir) = interrupt(
        "SELECT a.id AS a, b.id AS b, c.id AS c FROM input a CROSS JOIN input b CROSS JOIN input c WHERE a.id * b.id * c.id < 0",
        false,
    );
    assert_eq!(code, Some(130), "exit code after SIGINT:\n{stderr}");
    assert!(
        !dir.path().join("out/x.csv").exists(),
        "output published after Ctrl-C"
    );
    assert_no_temp_files(dir.path());
    assert!(secs < 5.0, "took {secs:.1} s to stop after SIGINT");
}
