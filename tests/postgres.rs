//! What only PostgreSQL has, against the real server on 127.0.0.1:5432 (database `test`):
//! every PostgreSQL type read to literal expected values and through Parquet back,
//! `ctid` page ranges, and connection errors. Write modes, atomic loads, incremental
//! reads and pushdown are in the conformance suite (`tests/conformance`). These tests
//! fail, never skip, when the server is unreachable.

mod common;

use std::path::Path;

use common::*;

static URL: &ServerUrl = &PG_URL;

/// A fresh schema for one test.
fn schema(name: &str) -> String {
    psql(&format!(
        "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
    ));
    name.to_string()
}

/// `fust explain` of a job whose scan must run in `partitions` parallel reads.
fn explain_scan(dir: &Path, job: &Path, partitions: usize) -> String {
    let plan = fust(dir, &["explain", job.to_str().expect("a UTF-8 path")], &[]);
    plan.success();
    let want = format!("DbScanExec: postgres, partitions={partitions}");
    assert!(plan.stdout.contains(&want), "{}", plan.stdout);
    plan.stdout
}

fn run(dir: &Path, yaml: &str) -> Out {
    let job = write_job(dir, yaml);
    run_job(dir, &job, &[])
}

const ALL_TYPES: &str = "
    id integer PRIMARY KEY,
    i2 smallint, i4 integer, i8 bigint,
    n15 numeric(15,2), n38 numeric(38,10), nfree numeric,
    f4 real, f8 double precision, b boolean,
    t text, vc varchar(20), ch char(5),
    by bytea, d date, tm time, ts timestamp, tstz timestamptz, iv interval,
    u uuid, j json, jb jsonb, ai integer[], at text[], mood {S}.mood";

const ALL_VALUES: &str = "
    (1, -32768, -2147483648, -9223372036854775808,
     -9999999999999.99, -9999999999999999999999999999.9999999999, -123456789012345678901234567890.123456789,
     -3.4e38, -1.7976931348623157e308, false,
     '', 'ünïcödé', 'ab', '\\x00ff10'::bytea, '0001-01-01', '00:00:00', '1900-01-01 00:00:00',
     '1970-01-01 00:00:00+00', '-178000000 years', '00000000-0000-0000-0000-000000000000',
     '{}', '[]', '{}', '{}', 'sad'),
    (2, 32767, 2147483647, 9223372036854775807,
     9999999999999.99, 9999999999999999999999999999.9999999999, 0.000000000000000000001,
     3.4e38, 1.7976931348623157e308, true,
     'tab\there, \"quote\", newline\nend', 'x', 'abcde', '\\x'::bytea, '9999-12-31', '23:59:59.999999',
     '2262-04-11 23:47:16.854775', '2024-02-29 12:34:56.789012+05:30', '3 mons 4 days 05:06:07.000008',
     'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2, {\"b\": null}]}', '{\"k\": \"v\", \"n\": 1.5}',
     '{1,NULL,3}', '{\"a b\",NULL,\"\"}', 'happy'),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, 'NaN', 'Infinity', NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)";

/// The columns in a form every type can be compared by (json has no equality).
const COMPARABLE: &str = "id, i2, i4, i8, n15, n38, nfree, f4, f8, b, t, vc, ch, by, d, tm, ts, tstz, iv, u, j::text, jb, ai, at, mood::text";

#[test]
fn every_type_survives_postgres_to_parquet_to_postgres() {
    let s = schema("fust_types");
    psql(&format!(
        "CREATE TYPE {s}.mood AS ENUM ('sad', 'happy');
         CREATE TABLE {s}.src ({});
         INSERT INTO {s}.src VALUES {ALL_VALUES}",
        ALL_TYPES.replace("{S}", &s)
    ));
    let dir = tempdir();
    let d = dir.path();
    run(
        d,
        &format!("input: {{type: postgres, url: '{URL}', table: {s}.src}}\noutput: {{type: parquet, path: all.parquet}}\n"),
    )
    .success();
    // What the source read, against literal values (a round trip alone would let a
    // paired decode/encode bug cancel out).
    let got = exact_rows(&d.join("all.parquet"));
    let types: Vec<String> = read_batches(&d.join("all.parquet"))
        .0
        .fields()
        .iter()
        .map(|f| f.data_type().to_string())
        .collect();
    assert_eq!(
        types.join(","),
        "Int32,Int16,Int32,Int64,Decimal128(15, 2),Decimal128(38, 10),Utf8View,Float32,Float64,\
         Boolean,Utf8View,Utf8View,Utf8View,BinaryView,Date32,Time64(µs),Timestamp(µs),\
         Timestamp(µs, \"UTC\"),Utf8View,Utf8View,Utf8View,Utf8View,List(Int32),List(Utf8),Utf8View"
    );
    let want: [&[&str]; 3] = [
        &[
            "1",
            "-32768",
            "-2147483648",
            "-9223372036854775808",
            "-9999999999999.99",
            "-9999999999999999999999999999.9999999999",
            "-123456789012345678901234567890.123456789",
            "-3.4e38",
            "-1.7976931348623157e308",
            "false",
            "",
            "ünïcödé",
            "ab",
            "00ff10",
            "0001-01-01",
            "00:00:00",
            "1900-01-01T00:00:00",
            "1970-01-01T00:00:00Z",
            "P-178000000Y",
            "00000000-0000-0000-0000-000000000000",
            "{}",
            "[]",
            "[]",
            "[]",
            "sad",
        ],
        &[
            "2",
            "32767",
            "2147483647",
            "9223372036854775807",
            "9999999999999.99",
            "9999999999999999999999999999.9999999999",
            "0.000000000000000000001",
            "3.4e38",
            "1.7976931348623157e308",
            "true",
            "tab\there, \"quote\", newline\nend",
            "x",
            "abcde",
            "",
            "9999-12-31",
            "23:59:59.999999",
            "2262-04-11T23:47:16.854775",
            // +05:30 in UTC.
            "2024-02-29T07:04:56.789012Z",
            "P3M4DT5H6M7.000008S",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "{\"a\": [1, 2, {\"b\": null}]}",
            "{\"k\": \"v\", \"n\": 1.5}",
            "[1, NULL, 3]",
            "[a b, NULL, ]",
            "happy",
        ],
        &[
            "3", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NaN", "inf", "NULL", "NULL",
            "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL",
            "NULL", "NULL", "NULL",
        ],
    ];
    for (got, want) in got.iter().zip(want) {
        assert_eq!(got, want, "row {}", want[0]);
    }
    assert_eq!(got.len(), 3);
    let out = run(
        d,
        &format!(
            "input: {{type: parquet, path: all.parquet}}\noutput: {{type: postgres, url: '{URL}', table: {s}.dst}}\n"
        ),
    );
    out.success();
    assert!(
        out.stderr.contains("3 rows")
            || out.stderr.contains("rows out: 3")
            || out.stderr.contains(" 3 "),
        "{}",
        out.stderr
    );

    // Cell by cell, in SQL: nothing in one table that is not in the other.
    let diff = psql(&format!(
        "SELECT count(*) FROM ((SELECT {COMPARABLE} FROM {s}.src EXCEPT ALL SELECT {c2} FROM {s}.dst)
          UNION ALL (SELECT {c2} FROM {s}.dst EXCEPT ALL SELECT {COMPARABLE} FROM {s}.src)) x",
        c2 = COMPARABLE.replace("mood::text", "mood")
    ));
    assert_eq!(diff, "0", "rows differ after the round trip");
    assert_eq!(psql(&format!("SELECT count(*) FROM {s}.dst")), "3");
    // The created table keeps the types (text-like and enums become text).
    let types = psql(&format!(
        "SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum)
         FROM pg_attribute WHERE attrelid = '{s}.dst'::regclass AND attnum > 0 AND NOT attisdropped"
    ));
    assert_eq!(
        types,
        "integer,smallint,integer,bigint,numeric(15,2),numeric(38,10),numeric,real,double precision,\
         boolean,text,text,text,bytea,date,time without time zone,timestamp without time zone,\
         timestamp with time zone,interval,uuid,json,jsonb,integer[],text[],text"
    );
}

/// A large table without `partition_column` is read in `ctid` page ranges, one connection
/// each, and every row arrives exactly once.
#[test]
fn big_tables_are_split_by_storage_pages() {
    let s = schema("fust_ctid");
    psql(&format!(
        "CREATE TABLE {s}.big AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 330000) g"
    ));
    let dir = tempdir();
    let d = dir.path();
    let job = write_job(
        d,
        &format!(
            "input: {{type: postgres, url: '{URL}', table: {s}.big, partitions: 3}}
pipeline:
  processors:
    - {{type: sql, query: 'SELECT id FROM input'}}
output: {{type: csv, path: out.csv}}
"
        ),
    );
    let plan = explain_scan(d, &job, 3);
    assert!(plan.contains("ctid >= '("), "{plan}");
    run_job(d, &job, &[]).success();
    let got = read_rows(&d.join("out.csv"));
    let sum: i64 = got.iter().map(|r| r[0].parse::<i64>().unwrap_or(0)).sum();
    let distinct: std::collections::HashSet<&str> = got.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        (got.len(), distinct.len(), sum),
        (330_000, 330_000, 330_000 * 330_001 / 2)
    );
    // `partitions: 1` reads it over one connection.
    let one = write_job(
        d,
        &std::fs::read_to_string(&job)
            .unwrap()
            .replace("partitions: 3", "partitions: 1"),
    );
    let plan = explain_scan(d, &one, 1);
    assert!(!plan.contains("::tid"), "{plan}");
    psql(&format!("DROP SCHEMA {s} CASCADE"));
}

#[test]
fn connection_and_object_errors_are_clear_and_never_show_the_password() {
    let s = schema("fust_errors");
    psql(&format!("CREATE TABLE {s}.geo (id int, p point)"));
    let dir = tempdir();
    let d = dir.path();
    let canary = "Canary-pw-7731";
    let env = [("PGPW", canary)];
    let cases: &[(&str, &str)] = &[
        (
            "input: {type: postgres, url: 'postgres://postgres:${PGPW}@127.0.0.1:1/test', table: t}",
            "postgres postgres@127.0.0.1:1/test: cannot connect",
        ),
        (
            "input: {type: postgres, url: 'postgres://nobody_here@127.0.0.1/test', password: '${PGPW}', table: t}",
            "role \"nobody_here\" does not exist",
        ),
        (
            "input: {type: postgres, url: 'postgres://postgres@127.0.0.1/test', password: '${PGPW}', table: fust_errors.missing}",
            "\"fust_errors\".\"missing\"",
        ),
        (
            "input: {type: postgres, url: 'postgres://postgres@127.0.0.1/test', table: fust_errors.geo, columns: [id, nope]}",
            "column \"nope\" does not exist",
        ),
        (
            "input: {type: postgres, url: 'postgres://postgres@127.0.0.1/test', table: fust_errors.geo}",
            "column `p` of \"fust_errors\".\"geo\" has type point",
        ),
        (
            "input: {type: postgres, url: 'postgres://postgres@127.0.0.1/test', query: 'SELECT 1 AS z FROM pg_sleep(5)', statement_timeout: 200ms}",
            "statement timeout",
        ),
    ];
    for (input, expected) in cases {
        let job = write_job(
            d,
            &format!("{input}\noutput: {{type: csv, path: out.csv}}\n"),
        );
        let out = run_job(d, &job, &env);
        out.failure();
        assert!(
            out.stderr.contains(expected),
            "expected `{expected}` in:\n{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("input"),
            "names the job key:\n{}",
            out.stderr
        );
        assert!(
            !out.stderr.contains(canary) && !out.stdout.contains(canary),
            "password leaked:\n{}",
            out.stderr
        );
        assert!(!d.join("out.csv").exists());
    }
    // Option mistakes are caught before connecting, at their line.
    let job = write_job(
        d,
        &format!(
            "input: {{type: postgres, url: '{URL}'}}\noutput: {{type: postgres, url: '{URL}', table: x, write_mode: upsert}}\n"
        ),
    );
    let out = fust(d, &["validate", job.to_str().unwrap()], &[]);
    out.failure();
    assert!(
        out.stderr.contains("give `table` or `query`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("key_columns"), "{}", out.stderr);
}

/// A NaN (or infinity) in a float cursor column does not freeze incremental reads: it is
/// never the mark, so rows added later above the finite maximum are still read.
#[test]
fn a_nan_in_a_float_cursor_does_not_freeze_it() {
    let s = schema("fust_nan_cursor");
    psql(&format!(
        "CREATE TABLE {s}.scores (id int, score double precision);
         INSERT INTO {s}.scores VALUES (1, 1.0), (2, 'NaN'), (3, 2.0)"
    ));
    let dir = tempdir();
    let d = dir.path();
    let job = write_job(
        d,
        &format!(
            "input: {{type: postgres, url: '{URL}', table: {s}.scores, cursor_column: score, state_file: marks.json}}\noutput: {{type: csv, path: out.csv}}\n"
        ),
    );
    let ids = || -> Vec<String> {
        read_rows(&d.join("out.csv"))
            .into_iter()
            .map(|r| r[0].clone())
            .collect()
    };
    run_job(d, &job, &[]).success();
    assert_eq!(ids(), ["1", "3"]);
    psql(&format!(
        "INSERT INTO {s}.scores VALUES (4, 3.0), (5, 'Infinity')"
    ));
    run_job(d, &job, &[]).success();
    assert_eq!(ids(), ["4"], "the cursor froze");
}
