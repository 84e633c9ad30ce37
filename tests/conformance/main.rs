//! The conformance suite: every connector passes the same checks by implementing one small
//! trait, [`Connector`] (and [`Database`] for SQL databases). A new connector adds one impl
//! and one `conformance!` line; the checks are:
//!
//! - `round_trip`: a fixture with every common type (integers, decimal, float, boolean,
//!   text with quotes/newlines/unicode, date, timestamp) and a row of NULLs goes into the
//!   connector and back out unchanged, with its types where the format keeps types;
//! - `empty_input`: zero rows publish an empty object that reads back as zero rows;
//! - `failed_run_publishes_nothing`: a run failing late (after many rows reached the sink)
//!   leaves no new object and an existing one unchanged, and no temporary leftovers;
//! - `bad_options_are_named`: an unknown option and a wrong value are reported at their
//!   key and line by `validate`, before anything connects.
//!
//! Databases also run `write_modes`, `atomic_loads`, `incremental_reads`, `pushdown` and
//! `connect_timeout` (see `databases.rs`). The checks talk to the real servers `scripts/services` starts and
//! fail, never skip, when one is unreachable.

#[path = "../common/mod.rs"]
mod common;
mod databases;
mod files;

use std::path::Path;

use common::*;

/// What the suite needs to know about a connector.
pub trait Connector {
    /// The plugin `type`.
    fn kind(&self) -> &'static str;
    /// The `input:` flow mapping that reads object `name` (e.g. `{type: csv, path: x.csv}`).
    fn input(&self, name: &str) -> String;
    /// The `output:` flow mapping that writes object `name`.
    fn output(&self, name: &str) -> String;
    /// Removes object `name` before a check (dropping a table, deleting a file).
    fn reset(&self, dir: &Path, name: &str);
    /// Whether object `name` is visible to readers.
    fn exists(&self, dir: &Path, name: &str) -> bool;
    /// Temporary objects runs on objects named `prefix…` left behind (staging tables,
    /// `.tmp` files).
    fn leftovers(&self, dir: &Path, prefix: &str) -> Vec<String>;
    /// Environment the `fust` process needs (credentials, endpoints).
    fn env(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// Whether the format stores column types (Parquet, databases) rather than text.
    fn keeps_types(&self) -> bool;
    /// Whether an empty object still knows its columns (newline-delimited JSON does not).
    fn empty_keeps_columns(&self) -> bool {
        true
    }
    /// Whether booleans come back as 1/0 integers (MySQL's `BOOL` is `TINYINT(1)`).
    fn boolean_as_integer(&self) -> bool {
        false
    }
    /// An option of this connector's `input` and a value of the wrong type for it.
    fn bad_value(&self) -> (&'static str, &'static str);
}

/// Runs `yaml` as a job in `dir` with the connector's environment.
pub fn run(c: &dyn Connector, dir: &Path, yaml: &str) -> Out {
    let job = write_job(dir, yaml);
    let env = c.env();
    run_job(dir, &job, &env_refs(&env))
}

/// The fixture: every common type, awkward text and a row of NULLs.
const FIXTURE_CSV: &str = "\
id,big,price,ratio,ok,name,day,at
1,9007199254740993,12.34,0.5,true,\"ünïcödé, \"\"quoted\"\"\",2024-02-29,2024-02-29T12:34:56
2,-9223372036854775807,-99999999.99,-15000000000.25,false,\"tab\there
and a newline\",1970-01-01,1970-01-01T00:00:00
3,,,,,,,
4,0,0.01,1e-7,true,plain,9999-12-31,2262-04-11T23:47:16
";

const FIXTURE_SCHEMA: &str = "{id: int, big: bigint, price: 'decimal(10,2)', ratio: double, \
     ok: boolean, name: text, day: date, at: timestamp}";

/// Writes `fixture.parquet` (typed) into `dir`.
fn fixture(dir: &Path) {
    write_file(dir, "fixture.csv", FIXTURE_CSV);
    let job = write_job(
        dir,
        &format!(
            "input: {{type: csv, path: fixture.csv, schema: {FIXTURE_SCHEMA}}}\n\
             output: {{type: parquet, path: fixture.parquet}}\n"
        ),
    );
    run_job(dir, &job, &[]).success();
}

/// A column type as a kind that survives every typed store: timestamps of any unit and
/// zone are `timestamp`, every string type is `text`.
fn kind_of(t: &datafusion::arrow::datatypes::DataType) -> String {
    use datafusion::arrow::datatypes::DataType::*;
    match t {
        Timestamp(..) => "timestamp".into(),
        Utf8 | LargeUtf8 | Utf8View => "text".into(),
        other => other.to_string(),
    }
}

/// Rows sorted by the first column (the id), as text.
fn rows_by_id(path: &Path) -> Vec<Vec<String>> {
    let mut rows = read_rows_ordered(path);
    rows.sort_by_key(|r| r[0].parse::<i64>().unwrap_or(i64::MAX));
    rows
}

/// Cells compared as text: a text format writes a timestamp as `2024-02-29T12:34:56` or
/// `2024-02-29 12:34:56`, so both sides use the space.
fn loose(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows.into_iter()
        .map(|r| {
            r.into_iter()
                .map(|c| match c.as_bytes().get(10) {
                    Some(b'T') if c.len() >= 19 && c.as_bytes()[4] == b'-' => {
                        c.replacen('T', " ", 1)
                    }
                    _ => c,
                })
                .collect()
        })
        .collect()
}

/// `mapping` (a `{...}` flow mapping) with `extra` options added.
pub fn with_options(mapping: String, extra: &str) -> String {
    let open = mapping.strip_suffix('}').expect("a flow mapping");
    format!("{open}, {extra}}}")
}

pub mod checks {
    use super::*;

    pub fn round_trip(c: &dyn Connector) {
        let dir = tempdir();
        let d = dir.path();
        fixture(d);
        let name = "fust_conf_round_trip";
        c.reset(d, name);
        let into = run(
            c,
            d,
            &format!(
                "input: {{type: parquet, path: fixture.parquet}}\noutput: {}\n",
                c.output(name)
            ),
        );
        into.success();
        let back = run(
            c,
            d,
            &format!(
                "input: {}\noutput: {{type: parquet, path: back.parquet}}\n",
                c.input(name)
            ),
        );
        back.success();
        let (want, got) = (d.join("fixture.parquet"), d.join("back.parquet"));
        assert_eq!(read_columns(&got), read_columns(&want), "column names");
        if c.keeps_types() {
            let types = |p: &Path| -> Vec<String> {
                read_batches(p)
                    .0
                    .fields()
                    .iter()
                    .map(|f| match kind_of(f.data_type()) {
                        k if k == "Boolean" && c.boolean_as_integer() => "Int8".into(),
                        k => k,
                    })
                    .collect()
            };
            assert_eq!(types(&got), types(&want), "column types");
            let mut want = rows_by_id(&want);
            if c.boolean_as_integer() {
                for row in &mut want {
                    row[4] = match row[4].as_str() {
                        "true" => "1".into(),
                        "false" => "0".into(),
                        other => other.into(),
                    };
                }
            }
            assert_eq!(rows_by_id(&got), want, "values");
        } else {
            assert_eq!(loose(rows_by_id(&got)), loose(rows_by_id(&want)), "values");
        }
        // The NULL row stays NULL in every column.
        let nulls = &rows_by_id(&got)[2];
        assert!(nulls[1..].iter().all(|c| c == "NULL"), "{nulls:?}");
        let left = c.leftovers(d, name);
        assert!(left.is_empty(), "{left:?}");
    }

    pub fn empty_input(c: &dyn Connector) {
        let dir = tempdir();
        let d = dir.path();
        fixture(d);
        let name = "fust_conf_empty";
        c.reset(d, name);
        run(
            c,
            d,
            &format!(
                "input: {{type: parquet, path: fixture.parquet}}\n\
                 pipeline:\n  processors:\n    - {{type: filter, condition: 'id < 0'}}\n\
                 output: {}\n",
                c.output(name)
            ),
        )
        .success();
        assert!(
            c.exists(d, name),
            "an empty result still publishes its object"
        );
        let back = run(
            c,
            d,
            &format!(
                "input: {}\noutput: {{type: csv, path: back.csv}}\n",
                c.input(name)
            ),
        );
        back.success();
        let text = std::fs::read_to_string(d.join("back.csv")).expect("back.csv");
        match c.empty_keeps_columns() {
            true => assert_eq!(
                text, "id,big,price,ratio,ok,name,day,at\n",
                "zero rows read back"
            ),
            false => assert!(text.lines().count() <= 1, "zero rows read back: {text:?}"),
        }
    }

    pub fn failed_run_publishes_nothing(c: &dyn Connector) {
        let dir = tempdir();
        let d = dir.path();
        // 30,000 good rows reach the sink before the reader meets the bad value.
        let mut csv = String::from("id,label\n");
        for i in 1..=30_000 {
            csv.push_str(&format!("{i},row {i}\n"));
        }
        csv.push_str("x,bad id\n");
        write_file(d, "late.csv", &csv);
        write_file(d, "small.csv", "id,label\n1,kept\n2,kept too\n");
        let job = |file: &str, name: &str| {
            format!(
                "input: {{type: csv, path: {file}, schema: {{id: int}}}}\n\
                 settings: {{batch_size: 1000}}\noutput: {}\n",
                c.output(name)
            )
        };
        // A new object never appears.
        let fresh = "fust_conf_fail_fresh";
        c.reset(d, fresh);
        let out = run(c, d, &job("late.csv", fresh));
        out.failure();
        assert!(out.stderr.contains("late.csv"), "{}", out.stderr);
        assert!(!c.exists(d, fresh), "a failed run published {fresh}");
        // An existing object keeps what it had.
        let kept = "fust_conf_fail_kept";
        c.reset(d, kept);
        run(c, d, &job("small.csv", kept)).success();
        run(c, d, &job("late.csv", kept)).failure();
        run(
            c,
            d,
            &format!(
                "input: {}\noutput: {{type: csv, path: back.csv}}\n",
                c.input(kept)
            ),
        )
        .success();
        assert_eq!(
            read_rows(&d.join("back.csv")),
            rows(&[&["1", "kept"], &["2", "kept too"]]),
            "the failed run changed {kept}"
        );
        let left = c.leftovers(d, "fust_conf_fail_");
        assert!(left.is_empty(), "{left:?}");
    }

    pub fn bad_options_are_named(c: &dyn Connector) {
        let dir = tempdir();
        let d = dir.path();
        let (option, value) = c.bad_value();
        let job = write_job(
            d,
            &format!(
                "input: {}\noutput: {}\n",
                with_options(c.input("x"), &format!("{option}: {value}")),
                with_options(c.output("y"), "bogus_option: 1")
            ),
        );
        let env = c.env();
        let out = fust(
            d,
            &["validate", job.to_str().expect("utf-8")],
            &env_refs(&env),
        );
        out.failure();
        out.code_is(2);
        for want in [
            "job.yaml:2:".to_string(),
            "`output.bogus_option`".to_string(),
            "job.yaml:1:".to_string(),
            format!("`input.{option}`"),
        ] {
            assert!(
                out.stderr.contains(&want),
                "lacks {want:?}:\n{}",
                out.stderr
            );
        }
    }
}

/// One `#[test]` per check for a connector; databases add their own checks.
macro_rules! conformance {
    ($module:ident, $make:expr, [$($check:ident),* $(,)?] $(, database [$($db_check:ident),* $(,)?])?) => {
        mod $module {
            use super::*;
            $(
                #[test]
                fn $check() {
                    checks::$check(&$make);
                }
            )*
            $($(
                #[test]
                fn $db_check() {
                    databases::checks::$db_check(&$make);
                }
            )*)?
        }
    };
}

conformance!(
    csv,
    files::Local::csv(),
    [
        round_trip,
        empty_input,
        failed_run_publishes_nothing,
        bad_options_are_named
    ]
);
conformance!(
    json,
    files::Local::json(),
    [
        round_trip,
        empty_input,
        failed_run_publishes_nothing,
        bad_options_are_named
    ]
);
conformance!(
    parquet,
    files::Local::parquet(),
    [
        round_trip,
        empty_input,
        failed_run_publishes_nothing,
        bad_options_are_named
    ]
);
conformance!(
    s3_csv,
    files::S3::csv(),
    [
        round_trip,
        empty_input,
        failed_run_publishes_nothing,
        bad_options_are_named
    ]
);
conformance!(
    s3_parquet,
    files::S3::parquet(),
    [
        round_trip,
        empty_input,
        failed_run_publishes_nothing,
        bad_options_are_named
    ]
);
conformance!(
    postgres,
    databases::Postgres,
    [round_trip, empty_input, failed_run_publishes_nothing, bad_options_are_named],
    database [write_modes, atomic_loads, incremental_reads, pushdown, pushdown_literals, connect_timeout]
);
conformance!(
    mysql,
    databases::Mysql,
    [round_trip, empty_input, failed_run_publishes_nothing, bad_options_are_named],
    database [write_modes, atomic_loads, incremental_reads, pushdown, pushdown_literals, connect_timeout]
);
