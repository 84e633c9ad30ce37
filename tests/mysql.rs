//! What only MySQL/MariaDB has, against the real server on 127.0.0.1:3306 (database
//! `test`, user root): every MySQL type through Parquet and back with its column type,
//! and connection errors. Write modes, atomic loads, incremental reads and pushdown are
//! in the conformance suite (`tests/conformance`). These tests fail, never skip, when the
//! server is unreachable.

mod common;

use std::path::Path;

use common::*;

static URL: &ServerUrl = &MY_URL;

/// One test of this file at a time: one of them turns the server's `local_infile` off.
static SERVER: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    SERVER.lock().unwrap_or_else(|e| e.into_inner())
}

/// Drops the given tables (and any staging leftovers of them).
fn drop_tables(names: &[&str]) {
    let list = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    mariadb(&format!("DROP TABLE IF EXISTS {list}"));
}

/// Tables in `test` whose name says Fust left them behind.
fn leftovers(prefix: &str) -> String {
    mariadb(&format!(
        "SELECT COALESCE(GROUP_CONCAT(TABLE_NAME), '') FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = 'test' AND TABLE_NAME LIKE '{prefix}%' AND TABLE_NAME LIKE '%\\_\\_fust%'"
    ))
}

fn column_types(table: &str) -> String {
    mariadb(&format!(
        "SELECT GROUP_CONCAT(COLUMN_TYPE ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = 'test' AND TABLE_NAME = '{table}'"
    ))
}

fn run(dir: &Path, yaml: &str) -> Out {
    let job = write_job(dir, yaml);
    run_job(dir, &job, &[])
}

const ALL_TYPES: &str = "
    id int PRIMARY KEY,
    ti tinyint, tu tinyint unsigned, si smallint, su smallint unsigned,
    mi mediumint, mu mediumint unsigned, i int, iu int unsigned, bi bigint, bu bigint unsigned,
    d15 decimal(15,2), d38 decimal(38,10), d65 decimal(65,30),
    f float, db double, bo bool, b1 bit(1), b64 bit(64),
    ch char(5), vc varchar(20), tx text, lt longtext,
    bn binary(4), vb varbinary(10), bl blob,
    dt date, dtm datetime(6), ts timestamp(6) NULL, tm time(6), yr year,
    js json, en enum('a','b','c d'), st set('x','y','z')";

const ALL_VALUES: &str = r#"
    (1, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
     -9999999999999.99, -9999999999999999999999999999.9999999999,
     -99999999999999999999999999999999999.999999999999999999999999999999,
     -3.40282e38, -1.7976931348623157e308, 0, b'0', b'0',
     '', '', '', '', X'00000000', X'', X'',
     '1000-01-01', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000000', '00:00:00', 1901,
     '[]', 'a', ''),
    (2, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,
     9223372036854775807, 18446744073709551615,
     9999999999999.99, 9999999999999999999999999999.9999999999,
     99999999999999999999999999999999999.999999999999999999999999999999,
     3.40282e38, 1.7976931348623157e308, 1, b'1',
     b'1111111111111111111111111111111111111111111111111111111111111111',
     'abcde', 'ünïcödé ✓ 日本', 'tab\there "q" back\\slash', 'new\nline\r\n',
     X'ffffffff', X'00ff0a09', X'0001025c0d',
     '9999-12-31', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', '23:59:59.999999', 2155,
     '{"a": [1, 2, {"b": null}], "s": "\u00e9"}', 'c d', 'x,z'),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL),
    (4, 0, 1, -1, 1, 0, 1, 0, 1, -1, 1, 0.01, -0.0000000001, 0.000000000000000000000000000001,
     1.17549e-38, 2.2250738585072014e-308, 1, b'0', b'1010',
     'a b', 'x\\y', 'NULL', '\\N', X'0a090d00', X'5c4e', X'00',
     '2024-02-29', '2024-02-29 12:34:56.789012', '2024-02-29 12:34:56.000001', '12:00:00.5', 2024,
     '{}', 'b', 'y')"#;

/// Every column of `src` equal (NULL-safe) to the same column of `dst`.
fn mismatches(src: &str, dst: &str) -> String {
    let cols = [
        "ti", "tu", "si", "su", "mi", "mu", "i", "iu", "bi", "bu", "d15", "d38", "f", "db", "bo",
        "b1", "b64", "ch", "vc", "tx", "lt", "bn", "vb", "bl", "dt", "dtm", "ts", "tm", "yr", "js",
        "en", "st",
    ];
    let mut same: Vec<String> = cols
        .iter()
        .map(|c| format!("s.`{c}` <=> d.`{c}`"))
        .collect();
    // Wider than 38 digits travels as exact text.
    same.push("s.d65 <=> CAST(d.d65 AS DECIMAL(65,30))".into());
    same.push("CAST(s.d65 AS CHAR) <=> CAST(d.d65 AS CHAR)".into());
    mariadb(&format!(
        "SELECT COUNT(*) FROM `{src}` s LEFT JOIN `{dst}` d ON s.id = d.id WHERE d.id IS NULL OR NOT ({})",
        same.join(" AND ")
    ))
}

/// DECIMALs of 19 and 20 digits (past i64, which the reader's fast path once summed in)
/// and MySQL's widest TIME values come back exact, and TIME goes back to MySQL as TIME.
#[test]
fn wide_decimals_and_long_times_are_exact() {
    let _one = one_at_a_time();
    let (src, dst) = ("fust_my_wide_src", "fust_my_wide_dst");
    drop_tables(&[src, dst]);
    mariadb(&format!(
        "CREATE TABLE {src} (id int PRIMARY KEY, d19 decimal(19,0), d20 decimal(20,1), tm time(6));
         INSERT INTO {src} VALUES
           (1, 9999999999999999999, 1234567890123456789.5, '838:59:59.000000'),
           (2, -9999999999999999999, -9223372036854775809.0, '-838:59:59.000000'),
           (3, 9223372036854775808, 0.1, '-00:00:00.000001'),
           (4, NULL, NULL, NULL)"
    ));
    let dir = tempdir();
    let d = dir.path();
    run(
        d,
        &format!(
            "input: {{type: mysql, url: '{URL}', table: {src}}}\n\
             pipeline: {{processors: [{{type: sql, query: 'SELECT * FROM input ORDER BY id'}}]}}\n\
             output: {{type: csv, path: wide.csv}}\n\
             settings: {{preserve_order: true}}\n"
        ),
    )
    .success();
    let text = std::fs::read_to_string(d.join("wide.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "id,d19,d20,tm");
    assert!(
        lines[1].starts_with("1,9999999999999999999,1234567890123456789.5,"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("2,-9999999999999999999,-9223372036854775809.0,"),
        "{text}"
    );
    assert!(lines[3].starts_with("3,9223372036854775808,0.1,"), "{text}");
    run(
        d,
        &format!(
            "input: {{type: mysql, url: '{URL}', table: {src}}}\n\
             output: {{type: mysql, url: '{URL}', table: {dst}}}\n"
        ),
    )
    .success();
    assert_eq!(
        mariadb(&format!(
            "SELECT COUNT(*) FROM {src} s JOIN {dst} d ON s.id = d.id \
             WHERE s.d19 <=> d.d19 AND s.d20 <=> d.d20 AND s.tm <=> d.tm"
        )),
        "4"
    );
    assert_eq!(column_types(dst), column_types(src));
    drop_tables(&[src, dst]);
}

#[test]
fn every_type_survives_mysql_to_parquet_to_mysql() {
    let _one = one_at_a_time();
    let (src, dst, copy) = (
        "fust_my_types_src",
        "fust_my_types_dst",
        "fust_my_types_copy",
    );
    drop_tables(&[src, dst, copy]);
    mariadb(&format!(
        "CREATE TABLE {src} ({ALL_TYPES}); INSERT INTO {src} VALUES {ALL_VALUES}"
    ));
    let dir = tempdir();
    let d = dir.path();
    run(
        d,
        &format!(
            "input: {{type: mysql, url: '{URL}', table: {src}}}\noutput: {{type: parquet, path: all.parquet}}\n"
        ),
    )
    .success();
    let out = run(
        d,
        &format!(
            "input: {{type: parquet, path: all.parquet}}\noutput: {{type: mysql, url: '{URL}', table: {dst}}}\n"
        ),
    );
    out.success();
    assert!(out.stderr.contains("4 rows out"), "{}", out.stderr);
    assert_eq!(mariadb(&format!("SELECT COUNT(*) FROM {dst}")), "4");
    assert_eq!(
        mismatches(src, dst),
        "0",
        "rows differ after the round trip"
    );
    // Fust's Parquet files keep the field metadata (`mysql_type`), so the created table
    // gets every column type back, enum and set included.
    assert_eq!(column_types(dst), column_types(src));

    // MySQL to MySQL keeps every column type, JSON check, enum and set included.
    let out = run(
        d,
        &format!(
            "input: {{type: mysql, url: '{URL}', table: {src}}}\noutput: {{type: mysql, url: '{URL}', table: {copy}}}\n"
        ),
    );
    out.success();
    assert_eq!(mismatches(src, copy), "0", "rows differ after the copy");
    assert_eq!(column_types(copy), column_types(src));
    assert_eq!(
        mariadb(&format!(
            "SELECT COUNT(*) FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = 'test' \
             AND TABLE_NAME = '{copy}' AND CHECK_CLAUSE = 'json_valid(`js`)'"
        )),
        "1",
        "the JSON column is recreated as JSON"
    );
    assert_eq!(leftovers("fust_my_types"), "");
}

#[test]
fn connection_and_object_errors_are_clear_and_never_show_the_password() {
    let _one = one_at_a_time();
    let geo = "fust_my_errors_geo";
    drop_tables(&[geo]);
    mariadb(&format!("CREATE TABLE {geo} (id int, p point)"));
    let dir = tempdir();
    let d = dir.path();
    let canary = "Canary-pw-7731";
    let env = [("MYPW", canary)];
    let cases: &[(&str, &[&str])] = &[
        (
            "input: {type: mysql, url: 'mysql://root:${MYPW}@127.0.0.1:1/test', table: t}",
            &["mysql root@127.0.0.1:1/test: cannot connect"],
        ),
        (
            "input: {type: mysql, url: 'mysql://root@127.0.0.1/test', password: '${MYPW}', table: t}",
            &[
                "mysql root@127.0.0.1:3306/test: cannot connect",
                "Access denied",
            ],
        ),
        (
            "input: {type: mysql, url: 'mysql://root@127.0.0.1/test', password: '', table: fust_my_errors_missing}",
            &[
                "mysql root@127.0.0.1:3306/test",
                "fust_my_errors_missing",
                "doesn't exist",
            ],
        ),
        (
            "input: {type: mysql, url: 'mysql://root@127.0.0.1/test', table: fust_my_errors_geo}",
            &[
                "column `p` of `fust_my_errors_geo` has type geometry",
                "query:",
            ],
        ),
        (
            "input: {type: mysql, url: 'mysql://root@127.0.0.1/test', query: 'SELECT SLEEP(5) AS z', statement_timeout: 200ms}",
            &[
                "mysql root@127.0.0.1:3306/test",
                "max_statement_time exceeded",
                "statement_timeout",
            ],
        ),
    ];
    for (input, expected) in cases {
        let job = write_job(
            d,
            &format!("{input}\noutput: {{type: csv, path: out.csv}}\n"),
        );
        let out = run_job(d, &job, &env);
        out.failure();
        for e in *expected {
            assert!(out.stderr.contains(e), "expected `{e}` in:\n{}", out.stderr);
        }
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
    // The sink: a wrong password and a missing table with create_table: never.
    write_file(d, "a.csv", "id\n1\n");
    for (output, expected) in [
        (
            "output: {type: mysql, url: 'mysql://root:${MYPW}@127.0.0.1/test', table: x}",
            "Access denied",
        ),
        (
            "output: {type: mysql, url: 'mysql://root@127.0.0.1/test', table: fust_my_errors_none, create_table: never}",
            "fust_my_errors_none does not exist",
        ),
    ] {
        let job = write_job(d, &format!("input: {{type: csv, path: a.csv}}\n{output}\n"));
        let out = run_job(d, &job, &env);
        out.failure();
        assert!(out.stderr.contains(expected), "{}", out.stderr);
        assert!(out.stderr.contains("output"), "{}", out.stderr);
        assert!(
            !out.stderr.contains(canary),
            "password leaked:\n{}",
            out.stderr
        );
    }
}

/// A server counter from `SHOW GLOBAL STATUS`.
fn status(name: &str) -> i64 {
    let line = mariadb(&format!("SHOW GLOBAL STATUS LIKE '{name}'"));
    line.split('\t')
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no status {name}: {line:?}"))
}

/// Turns `local_infile` back on however the test ends.
struct LocalInfile;

impl LocalInfile {
    fn set(on: bool) -> Self {
        mariadb(&format!("SET GLOBAL local_infile = {}", on as i32));
        LocalInfile
    }
}

impl Drop for LocalInfile {
    fn drop(&mut self) {
        mariadb("SET GLOBAL local_infile = 1");
    }
}

/// With the server's `local_infile` off the sink falls back to multi-row `INSERT`s (no
/// `LOAD DATA` reaches the server) and stores the same values as the `LOAD DATA` path.
#[test]
fn without_local_infile_rows_go_in_by_insert() {
    let _one = one_at_a_time();
    let dir = tempdir();
    let d = dir.path();
    write_file(
        d,
        "odd.csv",
        "id,txt,amount\n1,\"tab\there\",1.50\n2,back\\slash,\n3,\"quote \"\"q\"\"\",-2.25\n4,ünï ✓,0\n5,,7\n",
    );
    let want = "1\ttab\\there\t1.50\n2\tback\\\\slash\tNULL\n3\tquote \"q\"\t-2.25\n4\tünï ✓\t0.00\n5\tNULL\t7.00";
    for (on, table) in [(true, "fust_my_infile_on"), (false, "fust_my_infile_off")] {
        drop_tables(&[table]);
        mariadb(&format!(
            "CREATE TABLE {table} (id int PRIMARY KEY, txt varchar(20), amount decimal(10,2))"
        ));
        let _setting = LocalInfile::set(on);
        let (loads, inserts) = (status("Com_load"), status("Com_insert"));
        run(
            d,
            &format!("input: {{type: csv, path: odd.csv}}\noutput: {{type: mysql, url: '{URL}', table: {table}}}\n"),
        )
        .success();
        let (loads, inserts) = (status("Com_load") - loads, status("Com_insert") - inserts);
        match on {
            true => assert!(loads >= 1, "local_infile on: {loads} LOAD DATA"),
            false => assert!(
                loads == 0 && inserts >= 1,
                "local_infile off: {loads} LOAD DATA, {inserts} INSERT"
            ),
        }
        assert_eq!(
            mariadb(&format!("SELECT id, txt, amount FROM {table} ORDER BY id")),
            want,
            "local_infile {on}"
        );
    }
}
