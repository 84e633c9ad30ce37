//! Bad job files, bad data and forbidden SQL: a non-zero exit, a message that names the
//! file, the line/record/key and what was expected, and no output or temporary file left.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

const OK_CSV: &str = "id,name\n1,a\n2,b\n";

/// A directory with `ok.csv` in it.
fn workdir() -> tempfile::TempDir {
    let dir = tempdir();
    write_file(dir.path(), "ok.csv", OK_CSV);
    dir
}

/// Runs `job` in `d`; asserts exit `code`, that stderr contains every `wants` (ignoring
/// case), and that neither `out/x.csv` nor a temporary file was left.
#[track_caller]
fn fails(d: &Path, job: &str, code: i32, wants: &[&str]) -> Out {
    let path = write_job(d, job);
    let out = run_job(d, &path, &[]);
    out.failure();
    out.code_is(code);
    let lower = out.stderr.to_lowercase();
    for w in wants {
        assert!(
            lower.contains(&w.to_lowercase()),
            "stderr lacks {w:?}:\n{}",
            out.stderr
        );
    }
    assert!(
        !d.join("out/x.csv").exists(),
        "output published despite the failure"
    );
    assert_no_temp_files(d);
    out
}

fn sql_job(query: &str) -> String {
    format!(
        "input: {{type: csv, path: ok.csv}}\npipeline:\n  processors:\n    - type: sql\n      query: {}\noutput: {{type: csv, path: out/x.csv}}\n",
        serde_json::to_string(query).expect("quote")
    )
}

/// Asserts `text` lists the valid choices after `Valid:`.
#[track_caller]
fn lists_valid(text: &str, choices: &[&str]) {
    let (_, tail) = text
        .split_once("Valid:")
        .unwrap_or_else(|| panic!("no `Valid:` list in:\n{text}"));
    let line = tail.lines().next().unwrap_or_default();
    for c in choices {
        assert!(
            line.contains(c),
            "`{c}` missing from the valid choices: {line}"
        );
    }
}

// ------------------------------------------------------------------ job files (exit 2)

#[test]
fn malformed_yaml_names_line_and_column() {
    let dir = workdir();
    let out = fails(
        dir.path(),
        "input:\n  type: csv\n  path: [ok.csv\noutput: {type: csv, path: out/x.csv}\n",
        2,
        &["job.yaml", "YAML"],
    );
    // The unclosed `[` is on line 3; the parser may notice on line 3 or 4.
    assert!(
        out.stderr.contains("job.yaml:3:") || out.stderr.contains("job.yaml:4:"),
        "no FILE:LINE:COL near the problem:\n{}",
        out.stderr
    );
    let dir = workdir();
    fails(
        dir.path(),
        "input: {type: csv, path: ok.csv\noutput: x\n",
        2,
        &["job.yaml:", "YAML"],
    );
}

#[test]
fn unknown_top_level_key() {
    let dir = workdir();
    let out = fails(
        dir.path(),
        "input: {type: csv, path: ok.csv}\noutpt: {type: csv, path: out/x.csv}\n",
        2,
        &["job.yaml:2:1", "`outpt`", "did you mean `output`?"],
    );
    lists_valid(
        &out.stderr,
        &["name", "input", "inputs", "pipeline", "output", "settings"],
    );
}

#[test]
fn unknown_processor_type() {
    let dir = workdir();
    let out = fails(
        dir.path(),
        "input: {type: csv, path: ok.csv}\npipeline:\n  processors:\n    - type: filtr\n      condition: id > 1\noutput: {type: csv, path: out/x.csv}\n",
        2,
        &[
            "job.yaml:4:",
            "pipeline.processors[0]",
            "`filtr`",
            "did you mean `filter`?",
        ],
    );
    lists_valid(&out.stderr, &["aggregate", "filter", "mapping", "sql"]);
    // Connectors too.
    let out = fails(
        dir.path(),
        "input: {type: csv, path: ok.csv}\noutput: {type: parquett, path: out/x.csv}\n",
        2,
        &[
            "job.yaml:2:",
            "`output.type`",
            "`parquett`",
            "did you mean `parquet`?",
        ],
    );
    lists_valid(&out.stderr, &["console", "csv", "json", "parquet"]);
}

#[test]
fn did_you_mean_catches_swapped_letters() {
    // `cvs` for `csv` is the classic typo: two letters swapped.
    let dir = workdir();
    let out = fails(
        dir.path(),
        "input: {type: cvs, path: ok.csv}\noutput: {type: csv, path: out/x.csv}\n",
        2,
        &["job.yaml:1:", "`cvs`", "did you mean `csv`?"],
    );
    lists_valid(&out.stderr, &["csv", "json", "parquet"]);
}

#[test]
fn unknown_option() {
    let dir = workdir();
    let out = fails(
        dir.path(),
        "input:\n  type: csv\n  path: ok.csv\n  delimeter: \";\"\noutput: {type: csv, path: out/x.csv}\n",
        2,
        &[
            "job.yaml:4:3",
            "`input.delimeter`",
            "did you mean `delimiter`?",
        ],
    );
    lists_valid(&out.stderr, &["path", "has_header", "delimiter"]);
}

#[test]
fn wrong_option_type() {
    let dir = workdir();
    fails(
        dir.path(),
        "input:\n  type: csv\n  path: ok.csv\n  has_header: maybe\noutput: {type: csv, path: out/x.csv}\n",
        2,
        &[
            "job.yaml:4:15",
            "`input.has_header`",
            "\"maybe\"",
            "expected a boolean",
        ],
    );
    fails(
        dir.path(),
        "input: {type: csv, path: ok.csv}\noutput:\n  type: csv\n  path: out/x.csv\n  mode: apend\n",
        2,
        &[
            "job.yaml:5:",
            "`output.mode`",
            "`apend`",
            "overwrite",
            "append",
            "error_if_exists",
        ],
    );
}

#[test]
fn unset_variable_without_default() {
    let dir = workdir();
    let job = "input:\n  type: csv\n  path: ${FUST_TEST_SURELY_UNSET}/ok.csv\noutput: {type: csv, path: out/x.csv}\n";
    fails(
        dir.path(),
        job,
        2,
        &["job.yaml:3:", "FUST_TEST_SURELY_UNSET", "not set"],
    );
}

#[test]
fn missing_job_file() {
    let dir = workdir();
    let out = fust(dir.path(), &["run", "no-such-job.yaml"], &[]);
    out.failure();
    out.code_is(2);
    assert!(out.stderr.contains("no-such-job.yaml"), "{}", out.stderr);
}

#[test]
fn validate_reports_every_plugin_problem_at_once() {
    let dir = workdir();
    let job = write_job(
        dir.path(),
        "name: many\ninput:\n  type: csv\n  path: does-not-need-to-exist.csv\n  has_header: 3\npipeline:\n  processors:\n    - type: filter\n      conditon: \"id > 1\"\n    - type: mappin\n    - type: aggregate\n      group_by: id\n      aggregates: {n: \"count(*)\"}\noutput:\n  type: parket\n  path: out/x.parquet\n",
    );
    let out = fust(dir.path(), &["validate", job.to_str().expect("utf-8")], &[]);
    out.failure();
    out.code_is(2);
    for want in [
        "5 problems",
        "job.yaml:5:15: `input.has_header`",
        "job.yaml:9:7: `pipeline.processors[0].conditon`",
        "did you mean `condition`?",
        "job.yaml:10:7: `pipeline.processors[1].type`",
        "did you mean `mapping`?",
        "job.yaml:12:17: `pipeline.processors[2].group_by`",
        "job.yaml:15:3: `output.type`",
        "did you mean `parquet`?",
    ] {
        assert!(
            out.stderr.contains(want),
            "validate lacks {want:?}:\n{}",
            out.stderr
        );
    }
    assert!(!dir.path().join("out").exists());
}

#[test]
fn validate_reports_structure_and_plugin_problems_together() {
    // An unknown top-level key must not hide the problems inside the sections.
    let dir = workdir();
    let job = write_job(
        dir.path(),
        "inptu: {type: csv, path: ok.csv}\npipeline:\n  processors:\n    - {type: filter, conditon: \"id > 1\"}\noutput: {type: parket, path: out/x.parquet}\nsettings: {batch_size: lots}\n",
    );
    let out = fust(dir.path(), &["validate", job.to_str().expect("utf-8")], &[]);
    out.failure();
    out.code_is(2);
    for want in [
        "job.yaml:1:1: `inptu`",
        "did you mean `input`?",
        "`settings.batch_size`",
        "`pipeline.processors[0].conditon`",
        "`output.type`",
    ] {
        assert!(
            out.stderr.contains(want),
            "validate lacks {want:?}:\n{}",
            out.stderr
        );
    }
}

// ------------------------------------------------------------------ data (exit 1)

#[test]
fn missing_input_file() {
    let dir = workdir();
    fails(
        dir.path(),
        "input: {type: csv, path: nope.csv}\noutput: {type: csv, path: out/x.csv}\n",
        1,
        &["nope.csv", "not found"],
    );
}

#[test]
fn csv_row_with_wrong_field_count() {
    // Within the rows read for type inference…
    let dir = workdir();
    write_file(
        dir.path(),
        "fields.csv",
        "id,name,amount\n1,a,10\n2,b\n3,c,30\n",
    );
    fails(
        dir.path(),
        "input: {type: csv, path: fields.csv}\noutput: {type: csv, path: out/x.csv}\n",
        1,
        &["fields.csv", "line 3", "expected 3"],
    );
    // …and far past them, found while reading.
    let mut text = String::from("id,name,amount\n");
    for i in 1..=3000 {
        if i == 2500 {
            text.push_str("2500,only_two\n");
        } else {
            text.push_str(&format!("{i},n{i},{i}\n"));
        }
    }
    write_file(dir.path(), "late.csv", text);
    fails(
        dir.path(),
        "input: {type: csv, path: late.csv}\noutput: {type: csv, path: out/x.csv}\n",
        1,
        &["late.csv", "line 2501", "expected 3"],
    );
}

#[test]
fn failed_append_leaves_the_file_unchanged() {
    let dir = workdir();
    let d = dir.path();
    let mut text = String::from("id,name,amount\n");
    for i in 1..=3000 {
        if i == 2500 {
            text.push_str("2500,only_two\n");
        } else {
            text.push_str(&format!("{i},n{i},{i}\n"));
        }
    }
    write_file(d, "late.csv", text);
    let before = "id,name,amount\n0,z,0\n";
    write_file(d, "out/x.csv", before);
    let job = write_job(
        d,
        "input: {type: csv, path: late.csv}\nsettings: {batch_size: 100, preserve_order: true}\noutput: {type: csv, path: out/x.csv, mode: append}\n",
    );
    let out = run_job(d, &job, &[]);
    out.failure();
    assert!(out.stderr.contains("line 2501"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(d.join("out/x.csv")).expect("x.csv"),
        before,
        "appended rows left behind"
    );
    assert_no_temp_files(d);
}

#[test]
fn csv_with_invalid_utf8() {
    let dir = workdir();
    write_file(dir.path(), "bad.csv", b"id,name\n1,a\n2,\xff\xfeb\n");
    fails(
        dir.path(),
        "input: {type: csv, path: bad.csv}\noutput: {type: csv, path: out/x.csv}\n",
        1,
        &["bad.csv", "line 3", "utf-8"],
    );
    let mut bytes = b"id,name\n".to_vec();
    for i in 1..3000 {
        if i == 2000 {
            bytes.extend_from_slice(b"2000,\xff\xfe\n");
        } else {
            bytes.extend_from_slice(format!("{i},n{i}\n").as_bytes());
        }
    }
    write_file(dir.path(), "late.csv", bytes);
    fails(
        dir.path(),
        "input: {type: csv, path: late.csv}\noutput: {type: csv, path: out/x.csv}\n",
        1,
        &["late.csv", "line 2001", "utf-8"],
    );
}

#[test]
fn csv_value_not_matching_the_schema_override() {
    // File line 3 holds the bad value; the message should say so and name the file.
    let dir = workdir();
    write_file(dir.path(), "typed.csv", "id,amount\n1,5\n2,x\n3,7\n");
    fails(
        dir.path(),
        "input: {type: csv, path: typed.csv, schema: {amount: int}}\noutput: {type: csv, path: out/x.csv}\n",
        1,
        // The file, its line, the value, the column and the type are named.
        &["typed.csv", "'x'", "line 3", "amount", "Int32"],
    );
}

#[test]
fn csv_error_in_one_of_several_files_names_that_file_and_line() {
    let dir = workdir();
    write_file(dir.path(), "parts/a.csv", "id,amount\n1,5\n2,6\n");
    write_file(
        dir.path(),
        "parts/b.csv",
        "id,amount\n3,7\n4,8\n\n5,seven\n",
    );
    fails(
        dir.path(),
        // Past the rows read for type inference, so the error comes from the reader.
        "input: {type: csv, path: parts/, infer_rows: 2}\noutput: {type: csv, path: out/x.csv}\n",
        1,
        // Line 5 of b.csv: the blank line 4 is counted as a line of the file.
        &["b.csv", "line 5", "'seven'", "amount", "Int64"],
    );
    assert!(
        !dir.path().join("out/x.csv").exists(),
        "no output on failure"
    );
}

#[test]
fn truncated_parquet() {
    let dir = workdir();
    let full =
        std::fs::read(repo_root().join("examples/data/orders.parquet")).expect("orders.parquet");
    write_file(dir.path(), "cut.parquet", &full[..full.len() / 2]);
    fails(
        dir.path(),
        "input: {type: parquet, path: cut.parquet}\noutput: {type: csv, path: out/x.csv}\n",
        1,
        &["cut.parquet", "parquet"],
    );
}

#[test]
fn unknown_column_in_filter() {
    let dir = workdir();
    let out = fails(
        dir.path(),
        "input: {type: csv, path: ok.csv}\npipeline:\n  processors:\n    - {type: filter, condition: \"nme = 'a'\"}\noutput: {type: csv, path: out/x.csv}\n",
        1,
        &["pipeline.processors[0]", "nme", "did you mean"],
    );
    let after = out.stderr.to_lowercase();
    let hint = after
        .split_once("did you mean")
        .map(|(_, t)| t)
        .unwrap_or_default();
    assert!(hint.contains("name"), "suggests `name`: {}", out.stderr);
}

#[test]
fn failing_cast_in_mapping() {
    let dir = workdir();
    write_file(dir.path(), "qty.csv", "id,qty\n1,5\n2,abc\n");
    // The message must say which value failed, and in which column.
    fails(
        dir.path(),
        "input: {type: csv, path: qty.csv, all_strings: true}\npipeline:\n  processors:\n    - {type: mapping, cast: {qty: int}}\noutput: {type: csv, path: out/x.csv}\n",
        1,
        &["'abc'", "int", "qty"],
    );
}

#[test]
fn unknown_column_in_mapping() {
    let dir = workdir();
    fails(
        dir.path(),
        "input: {type: csv, path: ok.csv}\npipeline:\n  processors:\n    - {type: mapping, field_mappings: {nmae: label}}\noutput: {type: csv, path: out/x.csv}\n",
        1,
        &[
            "pipeline.processors[0]",
            "field_mappings",
            "`nmae`",
            "did you mean `name`?",
            "columns: id, name",
        ],
    );
}

// ------------------------------------------------------------------ SQL (exit 1)

#[test]
fn sql_two_statements() {
    let dir = workdir();
    fails(
        dir.path(),
        &sql_job("SELECT * FROM input; SELECT 1"),
        2,
        &["pipeline.processors[0]", "exactly one", "2 statements"],
    );
}

#[test]
fn sql_ddl_and_dml_are_rejected() {
    let dir = workdir();
    for (query, word) in [
        ("CREATE TABLE t AS SELECT * FROM input", "CREATE TABLE"),
        ("DROP TABLE input", "DROP TABLE"),
        ("INSERT INTO input VALUES (3, 'c')", "INSERT INTO"),
        ("CREATE VIEW v AS SELECT * FROM input", "CREATE VIEW"),
        ("SET datafusion.execution.batch_size = 1", "SET"),
    ] {
        fails(
            dir.path(),
            &sql_job(query),
            2,
            &["pipeline.processors[0]", "only queries", word],
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ok.csv")).expect("ok.csv"),
        OK_CSV
    );
}

#[test]
fn sql_copy_is_rejected() {
    let dir = workdir();
    let leak = dir.path().join("leak.csv");
    fails(
        dir.path(),
        &sql_job(&format!(
            "COPY (SELECT * FROM input) TO '{}'",
            leak.display()
        )),
        2,
        &["pipeline.processors[0]", "COPY", "not allowed"],
    );
    assert!(!leak.exists(), "COPY wrote a file");
}

#[test]
fn sql_create_external_table_is_rejected() {
    let dir = workdir();
    fails(
        dir.path(),
        &sql_job("CREATE EXTERNAL TABLE t STORED AS CSV LOCATION 'ok.csv'"),
        2,
        &[
            "pipeline.processors[0]",
            "CREATE EXTERNAL TABLE",
            "not allowed",
            "inputs:",
        ],
    );
}

#[test]
fn sql_file_path_as_table_is_rejected() {
    let dir = workdir();
    for table in [
        "'data/x.csv'",
        "\"s3://bucket/x.parquet\"",
        "'ok.csv'",
        "information_schema.tables",
    ] {
        let out = fails(
            dir.path(),
            &sql_job(&format!("SELECT * FROM {table}")),
            1,
            &["pipeline.processors[0]", "file path", "inputs:"],
        );
        assert!(
            out.stderr.contains(table.trim_matches(['\'', '"'])),
            "names the table: {}",
            out.stderr
        );
    }
}

#[test]
fn sql_unknown_table() {
    let dir = workdir();
    fails(
        dir.path(),
        &sql_job("SELECT * FROM inptu"),
        1,
        &["`inptu`", "did you mean `input`?", "tables: input"],
    );
    fails(
        dir.path(),
        &sql_job("SELECT * FROM orders"),
        1,
        &["`orders`", "tables: input"],
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
