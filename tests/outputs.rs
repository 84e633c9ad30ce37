//! Jobs with several outputs: fan-out, `route` with a default, all-or-nothing publishing,
//! and the checks that tie route names to outputs.

mod common;

use common::*;

const ORDERS: &str = "\
id,amount,region
1,50,EU
2,1500,EU
3,2500,US
4,10,
5,999,US
";

fn job(d: &std::path::Path, yaml: &str) -> Out {
    write_file(d, "orders.csv", ORDERS);
    let job = write_file(d, "job.yaml", yaml);
    run_job(d, &job, &[])
}

/// Runs orders.csv into `outputs` (lines under `outputs:`) and one more output, `taken`,
/// that fails at once (a CSV file that exists, with `mode: error_if_exists`).
fn job_with_failing_output(d: &std::path::Path, outputs: &str) -> Out {
    write_file(d, "out/taken.csv", "old\n");
    job(
        d,
        &format!(
            "input: {{type: csv, path: orders.csv}}\noutputs:\n{outputs}  \
             taken: {{type: csv, path: out/taken.csv, mode: error_if_exists}}\n"
        ),
    )
}

fn ids(path: &std::path::Path) -> Vec<String> {
    let mut ids: Vec<String> = read_rows(path).into_iter().map(|r| r[0].clone()).collect();
    ids.sort_by_key(|i| i.parse::<i64>().unwrap_or(0));
    ids
}

#[test]
fn without_a_route_every_output_gets_every_record() {
    let dir = tempdir();
    let d = dir.path();
    let out = job(
        d,
        "input: {type: csv, path: orders.csv}\n\
         outputs:\n  copy: {type: csv, path: out/copy.csv}\n  lines: {type: json, path: out/lines.json}\n",
    );
    out.success();
    assert_eq!(ids(&d.join("out/copy.csv")), ["1", "2", "3", "4", "5"]);
    assert_eq!(ids(&d.join("out/lines.json")), ["1", "2", "3", "4", "5"]);
    assert!(
        out.stderr.contains("copy: ") && out.stderr.contains("lines: "),
        "the summary names each output: {}",
        out.stderr
    );
}

#[test]
fn route_sends_each_record_to_every_matching_output_and_the_rest_to_default() {
    let dir = tempdir();
    let d = dir.path();
    job(
        d,
        "input: {type: csv, path: orders.csv}\n\
         pipeline:\n  processors:\n\
         \x20   - type: route\n\
         \x20     routes: {big: 'amount >= 1000', eu: \"region = 'EU'\"}\n\
         \x20     default: rest\n\
         outputs:\n\
         \x20 big: {type: parquet, path: out/big.parquet}\n\
         \x20 eu: {type: csv, path: out/eu.csv}\n\
         \x20 rest: {type: json, path: out/rest.json}\n",
    )
    .success();
    // 2 is big and in the EU: both. 4 has no region: its EU condition is NULL, not true.
    assert_eq!(ids(&d.join("out/big.parquet")), ["2", "3"]);
    assert_eq!(ids(&d.join("out/eu.csv")), ["1", "2"]);
    assert_eq!(ids(&d.join("out/rest.json")), ["4", "5"]);
}

#[test]
fn when_one_output_fails_none_is_published() {
    let dir = tempdir();
    let d = dir.path();
    let out = job_with_failing_output(
        d,
        "  fine: {type: csv, path: out/fine.csv}\n  fine_too: {type: parquet, path: out/fine.parquet}\n",
    );
    out.failure();
    assert!(
        out.stderr.contains("outputs.taken") && out.stderr.contains("already exists"),
        "{}",
        out.stderr
    );
    assert!(!d.join("out/fine.csv").exists(), "fine.csv was published");
    assert!(
        !d.join("out/fine.parquet").exists(),
        "fine.parquet was published"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("out/taken.csv")).unwrap_or_default(),
        "old\n"
    );
    assert_no_temp_files(d);

    // A record that fails in the pipeline: no output either.
    let out = job(
        d,
        "input: {type: csv, path: orders.csv}\n\
         pipeline:\n  processors:\n    - {type: mapping, cast: {region: bigint}}\n\
         outputs:\n\
         \x20 a: {type: csv, path: out/a.csv}\n\
         \x20 b: {type: csv, path: out/b.csv}\n",
    );
    out.failure();
    assert!(!d.join("out/a.csv").exists() && !d.join("out/b.csv").exists());
    assert_no_temp_files(d);
}

#[test]
fn route_names_and_outputs_must_match_and_route_comes_last() {
    let dir = tempdir();
    let d = dir.path();
    let out = job(
        d,
        "input: {type: csv, path: orders.csv}\n\
         pipeline:\n  processors:\n\
         \x20   - type: route\n\
         \x20     routes: {big: 'amount >= 1000', huge: 'amount > 2000'}\n\
         outputs:\n\
         \x20 big: {type: csv, path: out/big.csv}\n\
         \x20 small: {type: csv, path: out/small.csv}\n",
    );
    out.failure();
    assert!(
        out.stderr.contains("routes.huge") && out.stderr.contains("no output called `huge`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("no route sends records to output `small`"),
        "{}",
        out.stderr
    );

    let out = job(
        d,
        "input: {type: csv, path: orders.csv}\n\
         pipeline:\n  processors:\n\
         \x20   - {type: route, routes: {big: 'amount >= 1000'}}\n\
         \x20   - {type: filter, condition: 'amount > 0'}\n\
         outputs:\n\
         \x20 big: {type: csv, path: out/big.csv}\n",
    );
    out.failure();
    assert!(
        out.stderr.contains("must be the last one"),
        "{}",
        out.stderr
    );

    let out = job(
        d,
        "input: {type: csv, path: orders.csv}\n\
         output: {type: csv, path: out/a.csv}\n\
         outputs:\n  output: {type: csv, path: out/b.csv}\n",
    );
    out.failure();
    assert!(out.stderr.contains("defined twice"), "{}", out.stderr);
}

#[test]
fn a_postgres_output_holds_its_transaction_until_every_output_has_written() {
    psql(
        "DROP TABLE IF EXISTS outputs_pg_all_or_none; \
         CREATE TABLE outputs_pg_all_or_none (id bigint, amount bigint, region text); \
         INSERT INTO outputs_pg_all_or_none VALUES (0, 0, 'old')",
    );
    let pg = format!(
        "{{type: postgres, url: '{}', table: outputs_pg_all_or_none}}",
        PG_URL.as_str()
    );
    let dir = tempdir();
    let d = dir.path();
    let out = job_with_failing_output(d, &format!("  db: {pg}\n"));
    out.failure();
    let rows = || psql("SELECT string_agg(id::text, ',' ORDER BY id) FROM outputs_pg_all_or_none");
    assert_eq!(rows(), "0", "the load was rolled back");

    let out = job(
        d,
        &format!(
            "input: {{type: csv, path: orders.csv}}\n\
             outputs:\n  db: {pg}\n  copy: {{type: csv, path: out/copy.csv}}\n"
        ),
    );
    out.success();
    assert_eq!(rows(), "0,1,2,3,4,5");
    assert_eq!(ids(&d.join("out/copy.csv")), ["1", "2", "3", "4", "5"]);
    psql("DROP TABLE outputs_pg_all_or_none");
}

#[test]
fn a_mysql_output_publishes_only_with_the_others() {
    mariadb(
        "DROP TABLE IF EXISTS outputs_my_existing; DROP TABLE IF EXISTS outputs_my_new; \
         CREATE TABLE outputs_my_existing (id bigint, amount bigint, region text); \
         INSERT INTO outputs_my_existing VALUES (0, 0, 'old')",
    );
    let my = |table: &str| {
        format!(
            "{{type: mysql, url: '{}', table: {table}}}",
            MY_URL.as_str()
        )
    };
    let dir = tempdir();
    let d = dir.path();
    let out = job_with_failing_output(
        d,
        &format!(
            "  existing: {}\n  new: {}\n",
            my("outputs_my_existing"),
            my("outputs_my_new")
        ),
    );
    out.failure();
    let ids = |table: &str| mariadb(&format!("SELECT GROUP_CONCAT(id ORDER BY id) FROM {table}"));
    assert_eq!(ids("outputs_my_existing"), "0", "the load was rolled back");
    assert_eq!(
        mariadb(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'test' \
             AND TABLE_NAME LIKE 'outputs\\_my\\_new%'"
        ),
        "0",
        "neither the new table nor its stage is left"
    );

    job(
        d,
        &format!(
            "input: {{type: csv, path: orders.csv}}\n\
             outputs:\n  existing: {}\n  new: {}\n",
            my("outputs_my_existing"),
            my("outputs_my_new")
        ),
    )
    .success();
    assert_eq!(ids("outputs_my_existing"), "0,1,2,3,4,5");
    assert_eq!(ids("outputs_my_new"), "1,2,3,4,5");
    mariadb("DROP TABLE outputs_my_existing, outputs_my_new");
}
