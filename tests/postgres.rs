//! PostgreSQL source and sink against the real server on 127.0.0.1:5432 (database `test`):
//! every mapped type through Parquet and back, pushdown in the plan, partitioned reads,
//! write modes, atomic failure, incremental cursors and connection errors. These tests
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

#[test]
fn filters_and_columns_are_pushed_into_the_sql_and_ranges_read_in_parallel() {
    let s = schema("fust_push");
    psql(&format!(
        "CREATE TABLE {s}.orders (id bigint, qty integer, note text, day date);
         INSERT INTO {s}.orders SELECT g, g % 50, 'n' || g, DATE '2024-01-01' + (g % 30)
         FROM generate_series(1, 1000) g;
         INSERT INTO {s}.orders VALUES (NULL, 45, 'no id', NULL)"
    ));
    let dir = tempdir();
    let d = dir.path();
    let job = write_job(
        d,
        &format!(
            "input: {{type: postgres, url: '{URL}', table: {s}.orders, partition_column: id, partitions: 3}}
pipeline:
  processors:
    - {{type: filter, condition: 'qty > 40'}}
    - {{type: sql, query: 'SELECT id, qty FROM input'}}
output: {{type: csv, path: out.csv}}
"
        ),
    );
    let plan = explain_scan(d, &job, 3);
    assert!(plan.contains(r#"WHERE (("qty" > 40)) AND"#), "{plan}");
    assert!(plan.contains(r#"SELECT "id", "qty" FROM"#), "{plan}");
    assert!(!plan.contains(r#""note""#), "unused column read: {plan}");
    assert!(
        plan.contains(r#""id" IS NULL"#),
        "NULL ids belong to a range: {plan}"
    );

    run_job(d, &job, &[]).success();
    let got = read_rows(&d.join("out.csv"));
    let want = psql(&format!(
        "SELECT count(*), sum(coalesce(id, 0)) FROM {s}.orders WHERE qty > 40"
    ));
    let sum: i64 = got.iter().map(|r| r[0].parse::<i64>().unwrap_or(0)).sum();
    assert_eq!(format!("{}|{sum}", got.len()), want);
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
fn append_upsert_and_overwrite() {
    let s = schema("fust_modes");
    psql(&format!(
        "CREATE TABLE {s}.t (id int PRIMARY KEY, name text, amount numeric(10,2) DEFAULT 0)"
    ));
    let dir = tempdir();
    let d = dir.path();
    write_file(d, "a.csv", "id,name,amount\n1,ada,1.50\n2,bob,2.00\n");
    write_file(d, "b.csv", "id,name,amount\n2,bobby,20.00\n3,cy,3.25\n");
    let job = |file: &str, mode: &str| {
        format!(
            "input: {{type: csv, path: {file}}}\noutput: {{type: postgres, url: '{URL}', table: {s}.t, write_mode: {mode}, key_columns: [id]}}\n"
        )
    };
    run(d, &job("a.csv", "append")).success();
    assert_eq!(
        psql(&format!("SELECT id, name, amount FROM {s}.t ORDER BY id")),
        "1|ada|1.50\n2|bob|2.00"
    );
    run(d, &job("b.csv", "upsert")).success();
    assert_eq!(
        psql(&format!("SELECT id, name, amount FROM {s}.t ORDER BY id")),
        "1|ada|1.50\n2|bobby|20.00\n3|cy|3.25"
    );
    run(d, &job("a.csv", "overwrite")).success();
    assert_eq!(
        psql(&format!("SELECT id, name, amount FROM {s}.t ORDER BY id")),
        "1|ada|1.50\n2|bob|2.00"
    );
    // pre_sql and post_sql run in the same transaction.
    run(
        d,
        &format!(
            "input: {{type: csv, path: b.csv}}\noutput: {{type: postgres, url: '{URL}', table: {s}.t, \
             pre_sql: ['DELETE FROM {s}.t WHERE id = 1'], post_sql: ['UPDATE {s}.t SET name = upper(name)'], write_mode: upsert, key_columns: [id]}}\n"
        ),
    )
    .success();
    assert_eq!(
        psql(&format!("SELECT id, name FROM {s}.t ORDER BY id")),
        "2|BOBBY\n3|CY"
    );
}

#[test]
fn a_failed_load_leaves_the_table_as_it_was() {
    let s = schema("fust_atomic");
    psql(&format!(
        "CREATE TABLE {s}.t (id int PRIMARY KEY, small smallint);
         INSERT INTO {s}.t VALUES (1, 1), (2, 2)"
    ));
    let before = psql(&format!("SELECT * FROM {s}.t ORDER BY id"));
    let dir = tempdir();
    let d = dir.path();
    // Many good rows, then a duplicate key far into the stream.
    let mut csv = String::from("id,small\n");
    for i in 100..20_000 {
        csv.push_str(&format!("{i},{}\n", i % 100));
    }
    csv.push_str("1,5\n150,5\n");
    write_file(d, "dup.csv", &csv);
    for mode in ["append", "overwrite"] {
        let out = run(
            d,
            &format!(
                "input: {{type: csv, path: dup.csv}}\noutput: {{type: postgres, url: '{URL}', table: {s}.t, write_mode: {mode}}}\n"
            ),
        );
        out.failure();
        assert!(out.stderr.contains("duplicate key"), "{}", out.stderr);
        assert!(
            out.stderr.contains("127.0.0.1:5432/test"),
            "names the server: {}",
            out.stderr
        );
        assert_eq!(
            psql(&format!("SELECT * FROM {s}.t ORDER BY id")),
            before,
            "{mode}"
        );
    }
    // A value that does not fit the column fails before anything is committed, and
    // names the row and column.
    write_file(d, "big.csv", "id,small\n10,1\n11,70000\n");
    let out = run(
        d,
        &format!(
            "input: {{type: csv, path: big.csv}}\noutput: {{type: postgres, url: '{URL}', table: {s}.t, write_mode: overwrite}}\n"
        ),
    );
    out.failure();
    assert!(out.stderr.contains("`small`"), "{}", out.stderr);
    assert_eq!(psql(&format!("SELECT * FROM {s}.t ORDER BY id")), before);
    // A table that would be created is not left behind.
    let out = run(
        d,
        &format!(
            "input: {{type: csv, path: big.csv}}\noutput: {{type: postgres, url: '{URL}', table: {s}.fresh, post_sql: ['SELECT 1/0']}}\n"
        ),
    );
    out.failure();
    assert!(
        out.stderr.contains("post_sql[0]") && out.stderr.contains("division by zero"),
        "{}",
        out.stderr
    );
    assert_eq!(
        psql(&format!("SELECT to_regclass('{s}.fresh') IS NULL")),
        "t"
    );
}

#[test]
fn incremental_reads_continue_after_the_last_mark() {
    let s = schema("fust_cursor");
    psql(&format!(
        "CREATE TABLE {s}.events (id int, at timestamp);
         INSERT INTO {s}.events SELECT g, TIMESTAMP '2024-01-01' + g * interval '1 hour' FROM generate_series(1, 5) g"
    ));
    let dir = tempdir();
    let d = dir.path();
    let job = write_job(
        d,
        &format!(
            "input: {{type: postgres, url: '{URL}', table: {s}.events, cursor_column: at, state_file: state/marks.json}}\noutput: {{type: csv, path: out.csv}}\n"
        ),
    );
    run_job(d, &job, &[]).success();
    assert_eq!(read_rows(&d.join("out.csv")).len(), 5);
    let state = std::fs::read_to_string(d.join("state/marks.json")).unwrap();
    assert!(state.contains("2024-01-01 05:00:00"), "{state}");

    psql(&format!(
        "INSERT INTO {s}.events VALUES (6, '2024-01-01 06:00'), (7, '2024-01-01 07:00'), (0, '2023-12-31')"
    ));
    run_job(d, &job, &[]).success();
    let ids: Vec<String> = read_rows(&d.join("out.csv"))
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(ids, ["6", "7"]);

    // Nothing new: an empty output, the mark unchanged.
    run_job(d, &job, &[]).success();
    assert_eq!(read_rows(&d.join("out.csv")).len(), 0);
    assert!(
        std::fs::read_to_string(d.join("state/marks.json"))
            .unwrap()
            .contains("07:00:00")
    );
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
