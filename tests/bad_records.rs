//! Bad records: `settings.on_error` (fail, skip, dead_letter), `settings.max_errors` as a
//! count or a percentage, the `dead_letter:` output's rows, and the checks that tie them.

mod common;

use common::*;

/// Five records: line 3 is short, line 5 has an amount that is not a number, line 6 is
/// long. The header is line 1.
const ORDERS: &str = "id,amount,region\n1,10,EU\n2,20\n3,30,US\n4,abc,EU\n5,50,US,extra\n";

fn run(d: &std::path::Path, settings: &str, dead_letter: bool) -> Out {
    write_file(d, "orders.csv", ORDERS);
    let dead_letter = match dead_letter {
        true => "dead_letter: {type: json, path: rejects.json}\n",
        false => "",
    };
    let job = write_file(
        d,
        "job.yaml",
        format!(
            "input: {{type: csv, path: orders.csv, schema: {{amount: bigint}}}}\n\
             output: {{type: csv, path: out.csv}}\n{dead_letter}settings: {settings}\n"
        ),
    );
    fust(d, &["run", job.to_str().expect("utf-8")], &[])
}

#[test]
fn dead_letter_rows_name_the_file_line_reason_and_stage() {
    let dir = tempdir();
    let d = dir.path();
    let out = run(d, "{on_error: dead_letter}", true);
    out.success();
    assert_eq!(
        read_rows_ordered(&d.join("out.csv")),
        rows(&[&["1", "10", "EU"], &["3", "30", "US"]])
    );
    assert_eq!(
        read_rows_ordered(&d.join("rejects.json")),
        rows(&[
            &[
                "2,20",
                "expected 3 fields (as in the first line), found 2",
                "input",
                "orders.csv:3"
            ],
            &[
                "4,abc,EU",
                "cannot read 'abc' in column `amount` as Int64",
                "input",
                "orders.csv:5"
            ],
            &[
                "5,50,US,extra",
                "expected 3 fields (as in the first line), found 4",
                "input",
                "orders.csv:6"
            ],
        ])
    );
    assert!(
        out.stderr.contains(
            "3 (input: unreadable value 1, input: wrong field count 2) bad records written to rejects.json"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn skip_drops_them_and_counts_them() {
    let dir = tempdir();
    let d = dir.path();
    let out = run(d, "{on_error: skip}", false);
    out.success();
    assert_eq!(read_rows(&d.join("out.csv")).len(), 2);
    assert!(out.stderr.contains("bad records skipped"), "{}", out.stderr);
}

#[test]
fn the_default_fails_at_the_first_naming_file_and_line() {
    let dir = tempdir();
    let d = dir.path();
    // With the record counts right, the value that does not parse is the first bad one.
    write_file(d, "orders.csv", "id,amount\n1,10\n2,x\n");
    let job = write_file(
        d,
        "job.yaml",
        "input: {type: csv, path: orders.csv, schema: {amount: bigint}}\noutput: {type: csv, path: out.csv}\n",
    );
    let out = fust(d, &["run", job.to_str().expect("utf-8")], &[]);
    out.failure();
    assert!(
        out.stderr.contains("line 3") && out.stderr.contains("cannot read 'x'"),
        "{}",
        out.stderr
    );
    assert!(!d.join("out.csv").exists());
}

#[test]
fn max_errors_n_allows_n_and_fails_at_n_plus_1_publishing_nothing() {
    let dir = tempdir();
    run(dir.path(), "{on_error: dead_letter, max_errors: 3}", true).success();

    let dir = tempdir();
    let d = dir.path();
    let out = run(d, "{on_error: dead_letter, max_errors: 2}", true);
    out.failure();
    assert!(
        out.stderr.contains("more than max_errors (2)") && out.stderr.contains("orders.csv:6"),
        "{}",
        out.stderr
    );
    assert!(!d.join("out.csv").exists() && !d.join("rejects.json").exists());
    assert_no_temp_files(d);
}

#[test]
fn max_errors_as_a_percentage_counts_against_the_records_read() {
    // 3 bad of 5 records read: 60% passes, 50% does not.
    let dir = tempdir();
    run(dir.path(), "{on_error: skip, max_errors: '60%'}", false).success();
    let dir = tempdir();
    let d = dir.path();
    let out = run(d, "{on_error: skip, max_errors: '50%'}", false);
    out.failure();
    assert!(
        out.stderr
            .contains("3 bad records of 5 read is more than max_errors (50%)"),
        "{}",
        out.stderr
    );
    assert!(!d.join("out.csv").exists());
}

#[test]
fn line_numbers_hold_in_every_range_of_a_file_read_in_parallel() {
    let dir = tempdir();
    let d = dir.path();
    let mut text = String::from("id,value\n");
    for i in 1..=1_200_000u32 {
        match i {
            1000 => text.push_str("1000\n"),
            900_000 => text.push_str("900000,x\n"),
            _ => text.push_str(&format!("{i},{}\n", i * 2)),
        }
    }
    write_file(d, "big.csv", &text);
    let job = write_file(
        d,
        "job.yaml",
        "input: {type: csv, path: big.csv, schema: {value: bigint}}\n\
         output: {type: parquet, path: out.parquet}\n\
         dead_letter: {type: csv, path: rejects.csv}\n\
         settings: {on_error: dead_letter, max_errors: 2}\n",
    );
    let out = fust(d, &["run", "-v", job.to_str().expect("utf-8")], &[]);
    out.success();
    let mut rejects = read_rows(&d.join("rejects.csv"));
    rejects.sort_by(|a, b| a[3].len().cmp(&b[3].len()).then(a[3].cmp(&b[3])));
    // The header is line 1, so record i is on line i + 1.
    assert_eq!(rejects[0][3], "big.csv:1001");
    assert_eq!(rejects[0][0], "1000");
    assert_eq!(rejects[1][3], "big.csv:900001");
    assert_eq!(rejects[1][0], "900000,x");
    assert!(
        out.stderr.contains("1,199,998 rows out") || out.stderr.contains("1199998 rows out"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_settings_and_the_dead_letter_output_go_together() {
    let dir = tempdir();
    let d = dir.path();
    write_file(d, "orders.csv", ORDERS);
    for (yaml, expected) in [
        (
            "settings: {on_error: dead_letter}\n",
            "`on_error: dead_letter` needs a `dead_letter:` output",
        ),
        (
            "dead_letter: {type: json, path: r.json}\n",
            "`dead_letter:` is only written with `settings: {on_error: dead_letter}`",
        ),
        (
            "settings: {max_errors: lots}\n",
            "expected a count such as 100",
        ),
        (
            "settings: {max_errors: '150%'}\n",
            "expected a count such as 100",
        ),
        ("settings: {on_error: ignore}\n", "settings.on_error"),
    ] {
        let job = write_file(
            d,
            "job.yaml",
            format!("input: {{type: csv, path: orders.csv}}\noutput: {{type: console}}\n{yaml}"),
        );
        let out = fust(d, &["validate", job.to_str().expect("utf-8")], &[]);
        out.failure();
        assert!(out.stderr.contains(expected), "{yaml}: {}", out.stderr);
    }
}

/// 40 orders into `output` (a database table holding order 7 already, with a CHECK that
/// the amount is not negative and a NOT NULL region): order 7 is a duplicate key, 13 has a
/// negative amount, 29 has no region.
fn into_database(d: &std::path::Path, output: &str, settings: &str) -> Out {
    let mut csv = String::from("id,amount,region\n");
    for i in 1..=40 {
        let amount = if i == 13 { -5 } else { i * 10 };
        let region = if i == 29 { "" } else { "EU" };
        csv.push_str(&format!("{i},{amount},{region}\n"));
    }
    write_file(d, "orders.csv", csv);
    let job = write_file(
        d,
        "job.yaml",
        format!(
            "input: {{type: csv, path: orders.csv}}\noutput: {output}\n\
             dead_letter: {{type: json, path: rejects.json}}\nsettings: {settings}\n"
        ),
    );
    fust(d, &["run", job.to_str().expect("utf-8")], &[])
}

/// The dead-letter rows of [`into_database`]: orders 7, 13 and 29 as the output's, each
/// with the server's reason (which contains the matching text).
fn assert_refused(d: &std::path::Path, duplicate: &str, check: &str, not_null: &str) {
    let mut rejects = read_rows(&d.join("rejects.json"));
    rejects.sort_by_key(|r| r[3].clone());
    let positions: Vec<&str> = rejects.iter().map(|r| r[3].as_str()).collect();
    assert_eq!(positions, ["row 13", "row 29", "row 7"]);
    let reason = |row: &str| {
        rejects
            .iter()
            .find(|r| r[3] == row)
            .map(|r| r[1].to_lowercase())
            .unwrap_or_default()
    };
    assert!(reason("row 7").contains(duplicate), "{rejects:?}");
    assert!(reason("row 13").contains(check), "{rejects:?}");
    assert!(reason("row 29").contains(not_null), "{rejects:?}");
    assert!(rejects.iter().all(|r| r[2] == "output"));
    assert!(
        rejects
            .iter()
            .any(|r| r[0].contains("\"id\":13") && r[0].contains("-5")),
        "{rejects:?}"
    );
}

const ISOLATING: &str = "{on_error: dead_letter, max_errors: 3, preserve_order: true}";

#[test]
fn rows_postgres_refuses_are_isolated_by_halves_and_dead_lettered() {
    psql(
        "DROP TABLE IF EXISTS bad_records_pg; \
         CREATE TABLE bad_records_pg (id bigint PRIMARY KEY, amount bigint CHECK (amount >= 0), region text NOT NULL); \
         INSERT INTO bad_records_pg VALUES (7, 70, 'old')",
    );
    let dir = tempdir();
    let d = dir.path();
    let pg = format!(
        "{{type: postgres, url: '{}', table: bad_records_pg, batch_size: 16}}",
        PG_URL.as_str()
    );
    let count = || psql("SELECT count(*) FROM bad_records_pg");

    // Over the limit: nothing is written.
    let out = into_database(d, &pg, "{on_error: dead_letter, max_errors: 2}");
    out.failure();
    assert!(
        out.stderr.contains("more than max_errors (2)"),
        "{}",
        out.stderr
    );
    assert_eq!(count(), "1");
    assert!(!d.join("rejects.json").exists());

    into_database(d, &pg, ISOLATING).success();
    assert_eq!(count(), "38", "the 37 good new rows and the old one");
    assert_eq!(
        psql("SELECT region FROM bad_records_pg WHERE id = 7"),
        "old"
    );
    assert_refused(
        d,
        "duplicate key value violates unique constraint",
        "violates check constraint",
        "null value in column \"region\"",
    );
    psql("DROP TABLE bad_records_pg");
}

#[test]
fn rows_mysql_refuses_are_isolated_by_halves_and_dead_lettered() {
    mariadb(
        "DROP TABLE IF EXISTS bad_records_my; \
         CREATE TABLE bad_records_my (id bigint PRIMARY KEY, amount bigint CHECK (amount >= 0), region varchar(10) NOT NULL); \
         INSERT INTO bad_records_my VALUES (7, 70, 'old')",
    );
    let dir = tempdir();
    let d = dir.path();
    let my = format!(
        "{{type: mysql, url: '{}', table: bad_records_my, batch_size: 16}}",
        MY_URL.as_str()
    );
    into_database(d, &my, ISOLATING).success();
    assert_eq!(mariadb("SELECT COUNT(*) FROM bad_records_my"), "38");
    assert_eq!(
        mariadb("SELECT region FROM bad_records_my WHERE id = 7"),
        "old"
    );
    assert_refused(d, "duplicate entry", "constraint", "region");
    mariadb("DROP TABLE bad_records_my");
}

#[test]
fn values_a_processor_cannot_convert_are_bad_records_of_that_step() {
    let dir = tempdir();
    let d = dir.path();
    write_file(
        d,
        "events.csv",
        "id,payload,created,amount\n\
         1,\"{\"\"a\"\": 1}\",01/02/2026 10:00,10\n\
         2,\"{\"\"a\"\": oops\",02/02/2026 11:00,20\n\
         3,\"{\"\"a\"\": 3}\",31/02/2026 12:00,30\n\
         4,\"{\"\"a\"\": 4}\",03/02/2026 13:00,x\n\
         5,,04/02/2026 14:00,\n",
    );
    let pipeline = "input: {type: csv, path: events.csv, all_strings: true}\n\
         pipeline:\n  processors:\n\
         \x20   - type: transform\n\
         \x20     steps:\n\
         \x20       - {op: json_decode, column: payload, schema: {a: bigint}}\n\
         \x20       - {op: date_parse, column: created, format: '%d/%m/%Y %H:%M', timezone: Europe/Paris}\n\
         \x20   - type: mapping\n\
         \x20     cast: {amount: bigint}\n\
         output: {type: json, path: out.json}\n";
    let job = write_file(
        d,
        "job.yaml",
        format!(
            "{pipeline}dead_letter: {{type: json, path: rejects.json}}\nsettings: {{on_error: dead_letter}}\n"
        ),
    );
    let out = fust(d, &["run", job.to_str().expect("utf-8")], &[]);
    out.success();
    let kept: Vec<String> = read_rows_ordered(&d.join("out.json"))
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(kept, ["1", "5"], "a NULL is not a bad value");
    let mut rejects = read_rows(&d.join("rejects.json"));
    rejects.sort_by_key(|r| r[3].clone());
    let got: Vec<(&str, &str)> = rejects
        .iter()
        .map(|r| (r[2].as_str(), r[3].as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("pipeline.processors[1]", "cast"),
            (
                "pipeline.processors[0]",
                "step 1 (json_decode of `payload`)"
            ),
            ("pipeline.processors[0]", "step 2 (date_parse of `created`)"),
        ]
    );
    assert!(
        rejects[0][1].contains("Cannot cast string 'x'"),
        "{rejects:?}"
    );
    assert!(rejects[1][1].contains("'{\"a\": oops'"), "{rejects:?}");
    assert!(rejects[2][1].contains("'31/02/2026 12:00'"), "{rejects:?}");
    assert!(rejects[2][0].contains("\"id\":\"3\""), "{rejects:?}");

    // By default the first one fails the run, naming the processor, the step and the record.
    let job = write_file(d, "fail.yaml", pipeline.replace("out.json", "out2.json"));
    let out = fust(d, &["run", job.to_str().expect("utf-8")], &[]);
    out.failure();
    assert!(
        out.stderr
            .contains("pipeline.processors[0]: bad record at step 1 (json_decode of `payload`)")
            && out.stderr.contains("\"id\":\"2\""),
        "{}",
        out.stderr
    );
    assert!(!d.join("out2.json").exists());
}

#[test]
fn ndjson_lines_that_do_not_parse_or_fit_are_bad_records_with_file_and_line() {
    let dir = tempdir();
    let d = dir.path();
    write_file(
        d,
        "events.ndjson",
        "{\"id\": 1, \"amount\": 10}\n{\"id\": 2, \"amount\": oops}\n\n[1, 2]\n{\"id\": 4, \"amount\": \"forty\"}\n{\"id\": 5, \"amount\": 50}\n",
    );
    let job = |settings: &str| {
        let job = write_file(
            d,
            "job.yaml",
            format!(
                "input: {{type: json, path: events.ndjson, infer_rows: 1}}\noutput: {{type: csv, path: out.csv}}\n\
                 dead_letter: {{type: json, path: rejects.json}}\nsettings: {settings}\n"
            ),
        );
        fust(d, &["run", job.to_str().expect("utf-8")], &[])
    };
    job("{on_error: dead_letter}").success();
    let ids: Vec<String> = read_rows_ordered(&d.join("out.csv"))
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(ids, ["1", "5"]);
    let rejects = read_rows_ordered(&d.join("rejects.json"));
    let got: Vec<(&str, &str)> = rejects
        .iter()
        .map(|r| (r[0].as_str(), r[3].as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("{\"id\": 2, \"amount\": oops}", "events.ndjson:2"),
            ("[1, 2]", "events.ndjson:4"),
            ("{\"id\":4,\"amount\":\"forty\"}", "events.ndjson:5"),
        ]
    );
    assert!(rejects[0][1].contains("invalid JSON"), "{rejects:?}");
    assert!(rejects[2][1].contains("forty"), "{rejects:?}");
}
