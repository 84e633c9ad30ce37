//! MySQL/MariaDB source and sink against the real server on 127.0.0.1:3306 (database
//! `test`, user root): every mapped type through Parquet and back, pushdown in the plan,
//! partitioned reads, write modes, atomic failure, incremental cursors and connection
//! errors. These tests fail, never skip, when the server is unreachable.

mod common;

use std::path::Path;

use common::*;

static URL: &ServerUrl = &MY_URL;

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

#[test]
fn every_type_survives_mysql_to_parquet_to_mysql() {
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
fn filters_and_columns_are_pushed_into_the_sql_and_ranges_read_in_parallel() {
    let t = "fust_my_push_orders";
    drop_tables(&[t]);
    mariadb(&format!(
        "CREATE TABLE {t} (id bigint, qty int, note varchar(20), day date);
         INSERT INTO {t} WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 1000)
           SELECT n, n % 50, CONCAT('n', n), DATE '2024-01-01' + INTERVAL (n % 30) DAY FROM g;
         INSERT INTO {t} VALUES (NULL, 45, 'no id', NULL)"
    ));
    let dir = tempdir();
    let d = dir.path();
    let job = write_job(
        d,
        &format!(
            "input: {{type: mysql, url: '{URL}', table: {t}, partition_column: id, partitions: 3}}
pipeline:
  processors:
    - {{type: filter, condition: 'qty > 40'}}
    - {{type: sql, query: 'SELECT id, qty FROM input'}}
output: {{type: csv, path: out.csv}}
"
        ),
    );
    let plan = fust(d, &["explain", job.to_str().unwrap()], &[]);
    plan.success();
    assert!(
        plan.stdout.contains("DbScanExec: mysql, partitions=3"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("WHERE ((`qty` > 40))"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("SELECT `id`, `qty` FROM `fust_my_push_orders`"),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("`note`"),
        "unused column read: {}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("`id` IS NULL"),
        "NULL ids belong to a range: {}",
        plan.stdout
    );

    run_job(d, &job, &[]).success();
    let got = read_rows(&d.join("out.csv"));
    let want = mariadb(&format!(
        "SELECT COUNT(*), SUM(COALESCE(id, 0)) FROM {t} WHERE qty > 40"
    ));
    let sum: i64 = got.iter().map(|r| r[0].parse::<i64>().unwrap_or(0)).sum();
    assert_eq!(format!("{}\t{sum}", got.len()), want);
}

#[test]
fn append_upsert_and_overwrite() {
    let t = "fust_my_modes_t";
    drop_tables(&[t]);
    mariadb(&format!(
        "CREATE TABLE {t} (id int PRIMARY KEY, name varchar(20), amount decimal(10,2) DEFAULT 0)"
    ));
    let dir = tempdir();
    let d = dir.path();
    write_file(d, "a.csv", "id,name,amount\n1,ada,1.50\n2,bob,2.00\n");
    write_file(d, "b.csv", "id,name,amount\n2,bobby,20.00\n3,cy,3.25\n");
    let job = |file: &str, mode: &str| {
        format!(
            "input: {{type: csv, path: {file}}}\noutput: {{type: mysql, url: '{URL}', table: {t}, write_mode: {mode}, key_columns: [id]}}\n"
        )
    };
    let select = format!("SELECT id, name, amount FROM {t} ORDER BY id");
    run(d, &job("a.csv", "append")).success();
    assert_eq!(mariadb(&select), "1\tada\t1.50\n2\tbob\t2.00");
    run(d, &job("b.csv", "upsert")).success();
    assert_eq!(
        mariadb(&select),
        "1\tada\t1.50\n2\tbobby\t20.00\n3\tcy\t3.25"
    );
    run(d, &job("a.csv", "overwrite")).success();
    assert_eq!(mariadb(&select), "1\tada\t1.50\n2\tbob\t2.00");
    // pre_sql and post_sql run in the same transaction as the load.
    run(
        d,
        &format!(
            "input: {{type: csv, path: b.csv}}\noutput: {{type: mysql, url: '{URL}', table: {t}, \
             pre_sql: ['DELETE FROM {t} WHERE id = 1'], post_sql: ['UPDATE {t} SET name = UPPER(name)'], write_mode: upsert, key_columns: [id]}}\n"
        ),
    )
    .success();
    assert_eq!(
        mariadb(&format!("SELECT id, name FROM {t} ORDER BY id")),
        "2\tBOBBY\n3\tCY"
    );
    // An upsert into a table Fust creates gets a primary key on key_columns.
    let fresh = "fust_my_modes_fresh";
    drop_tables(&[fresh]);
    let job = format!(
        "input: {{type: csv, path: b.csv}}\noutput: {{type: mysql, url: '{URL}', table: {fresh}, write_mode: upsert, key_columns: [id]}}\n"
    );
    run(d, &job).success();
    run(d, &job).success();
    assert_eq!(
        mariadb(&format!("SELECT id, name FROM {fresh} ORDER BY id")),
        "2\tbobby\n3\tcy"
    );
    assert_eq!(leftovers("fust_my_modes"), "");
}

#[test]
fn a_failed_load_leaves_the_table_as_it_was() {
    let t = "fust_my_atomic_t";
    let fresh = "fust_my_atomic_fresh";
    drop_tables(&[t, fresh]);
    mariadb(&format!(
        "CREATE TABLE {t} (id int PRIMARY KEY, small smallint); INSERT INTO {t} VALUES (1, 1), (2, 2)"
    ));
    let before = mariadb(&format!("SELECT * FROM {t} ORDER BY id"));
    let dir = tempdir();
    let d = dir.path();
    // Many good rows, then a duplicate key far into the stream (150 is also in the range,
    // so every mode meets a duplicate).
    let mut csv = String::from("id,small\n");
    for i in 100..20_000 {
        csv.push_str(&format!("{i},{}\n", i % 100));
    }
    csv.push_str("1,5\n150,5\n");
    write_file(d, "dup.csv", &csv);
    for mode in ["append", "overwrite", "upsert"] {
        let out = run(
            d,
            &format!(
                "input: {{type: csv, path: dup.csv}}\noutput: {{type: mysql, url: '{URL}', table: {t}, write_mode: {mode}, key_columns: [id]}}\n"
            ),
        );
        out.failure();
        assert!(
            out.stderr.contains("Duplicate entry"),
            "{mode}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("mysql root@127.0.0.1:3306/test"),
            "names the server: {}",
            out.stderr
        );
        assert!(out.stderr.contains("output"), "{}", out.stderr);
        assert_eq!(
            mariadb(&format!("SELECT * FROM {t} ORDER BY id")),
            before,
            "{mode}"
        );
    }
    // A value that does not fit the column.
    write_file(d, "big.csv", "id,small\n10,1\n11,70000\n");
    for mode in ["append", "overwrite", "upsert"] {
        let out = run(
            d,
            &format!(
                "input: {{type: csv, path: big.csv}}\noutput: {{type: mysql, url: '{URL}', table: {t}, write_mode: {mode}, key_columns: [id]}}\n"
            ),
        );
        out.failure();
        assert!(
            out.stderr.contains("Out of range value for column 'small'"),
            "{mode}: {}",
            out.stderr
        );
        assert_eq!(
            mariadb(&format!("SELECT * FROM {t} ORDER BY id")),
            before,
            "{mode}"
        );
    }
    // A table that would be created is not left behind, whether the load or post_sql fails.
    for (file, post) in [
        ("dup.csv", "[]"),
        ("big.csv", "['SELECT * FROM fust_my_nope']"),
    ] {
        let out = run(
            d,
            &format!(
                "input: {{type: csv, path: {file}}}\noutput: {{type: mysql, url: '{URL}', table: {fresh}, write_mode: upsert, key_columns: [id], post_sql: {post}}}\n"
            ),
        );
        out.failure();
        assert_eq!(
            mariadb(&format!(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'test' AND TABLE_NAME = '{fresh}'"
            )),
            "0",
            "{}",
            out.stderr
        );
    }
    assert_eq!(
        leftovers("fust_my_atomic"),
        "",
        "staging tables left behind"
    );
}

#[test]
fn incremental_reads_continue_after_the_last_mark() {
    let t = "fust_my_cursor_events";
    drop_tables(&[t]);
    mariadb(&format!(
        "CREATE TABLE {t} (id int, at datetime);
         INSERT INTO {t} WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 5)
           SELECT n, TIMESTAMP '2024-01-01 00:00:00' + INTERVAL n HOUR FROM g"
    ));
    let dir = tempdir();
    let d = dir.path();
    let job = write_job(
        d,
        &format!(
            "input: {{type: mysql, url: '{URL}', table: {t}, cursor_column: at, state_file: state/marks.json}}\noutput: {{type: csv, path: out.csv}}\n"
        ),
    );
    run_job(d, &job, &[]).success();
    assert_eq!(read_rows(&d.join("out.csv")).len(), 5);
    let state = std::fs::read_to_string(d.join("state/marks.json")).unwrap();
    assert!(state.contains("2024-01-01 05:00:00"), "{state}");

    mariadb(&format!(
        "INSERT INTO {t} VALUES (6, '2024-01-01 06:00'), (7, '2024-01-01 07:00'), (0, '2023-12-31')"
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
    let (geo, times) = ("fust_my_errors_geo", "fust_my_errors_times");
    drop_tables(&[geo, times]);
    mariadb(&format!(
        "CREATE TABLE {geo} (id int, p point);
         CREATE TABLE {times} (id int, t time); INSERT INTO {times} VALUES (1, '12:00:00'), (2, '-838:59:59')"
    ));
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
    // A value with no Arrow form fails the read (the message comes from the running plan,
    // which does not know the job key) and says what to do.
    let job = write_job(
        d,
        "input: {type: mysql, url: 'mysql://root@127.0.0.1/test', table: fust_my_errors_times}\noutput: {type: csv, path: out.csv}\n",
    );
    let out = run_job(d, &job, &[]);
    out.failure();
    for e in [
        "mysql root@127.0.0.1:3306/test",
        "row 2, column `t`",
        "-838:59:59",
        "TIME_TO_SEC",
    ] {
        assert!(out.stderr.contains(e), "expected `{e}` in:\n{}", out.stderr);
    }
    assert!(!d.join("out.csv").exists());

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
