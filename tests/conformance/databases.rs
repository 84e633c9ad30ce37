//! The SQL databases (PostgreSQL, MySQL/MariaDB): the [`Connector`] impls, the
//! [`Database`] trait and the checks every database passes — write modes, atomic loads,
//! incremental reads and pushdown. Tables live in the test database's default schema.

use std::path::Path;

use super::{Connector, run, with_options};
use crate::common::*;

/// What the database checks need beyond [`Connector`].
pub trait Database: Connector {
    /// Runs SQL with the database's own client; the rows of the last statement as text.
    fn query(&self, sql: &str) -> Vec<Vec<String>>;
    /// `ident` quoted as the database quotes identifiers in generated SQL.
    fn quote(&self, ident: &str) -> String;
    /// The server's message for a duplicate primary key.
    fn duplicate_key(&self) -> &'static str;
    /// The server as Fust's messages name it (`user@host:port/db`).
    fn server(&self) -> String;
    /// A URL of this database's scheme for a server on 127.0.0.1:`port`.
    fn url_at(&self, port: u16) -> String;
}

/// Rows given as string slices, compared verbatim (`1.50` stays `1.50`).
fn text(data: &[&[&str]]) -> Vec<Vec<String>> {
    data.iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

fn split(text: String, sep: char) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split(sep).map(str::to_string).collect())
        .collect()
}

pub struct Postgres;

impl Connector for Postgres {
    fn kind(&self) -> &'static str {
        "postgres"
    }
    fn input(&self, name: &str) -> String {
        format!("{{type: postgres, url: '{PG_URL}', table: {name}}}")
    }
    fn output(&self, name: &str) -> String {
        self.input(name)
    }
    fn reset(&self, _dir: &Path, name: &str) {
        psql(&format!("DROP TABLE IF EXISTS {name} CASCADE"));
    }
    fn exists(&self, _dir: &Path, name: &str) -> bool {
        psql(&format!("SELECT to_regclass('{name}') IS NOT NULL")) == "t"
    }
    fn leftovers(&self, dir: &Path, prefix: &str) -> Vec<String> {
        let mut left = temp_files(dir);
        left.extend(
            psql(&format!(
                "SELECT relname FROM pg_class WHERE relname LIKE '{prefix}%\\_\\_fust%'"
            ))
            .lines()
            .map(str::to_string),
        );
        left
    }
    fn keeps_types(&self) -> bool {
        true
    }
    fn bad_value(&self) -> (&'static str, &'static str) {
        ("partitions", "many")
    }
}

impl Database for Postgres {
    fn query(&self, sql: &str) -> Vec<Vec<String>> {
        split(psql(sql), '|')
    }
    fn quote(&self, ident: &str) -> String {
        format!("\"{ident}\"")
    }
    fn duplicate_key(&self) -> &'static str {
        "duplicate key"
    }
    fn server(&self) -> String {
        PG_URL.display_name()
    }
    fn url_at(&self, port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/test")
    }
}

pub struct Mysql;

impl Connector for Mysql {
    fn kind(&self) -> &'static str {
        "mysql"
    }
    fn input(&self, name: &str) -> String {
        format!("{{type: mysql, url: '{MY_URL}', table: {name}}}")
    }
    fn output(&self, name: &str) -> String {
        self.input(name)
    }
    fn reset(&self, _dir: &Path, name: &str) {
        mariadb(&format!("DROP TABLE IF EXISTS `{name}`"));
    }
    fn exists(&self, _dir: &Path, name: &str) -> bool {
        mariadb(&format!(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'test' AND TABLE_NAME = '{name}'"
        )) == "1"
    }
    fn leftovers(&self, dir: &Path, prefix: &str) -> Vec<String> {
        let mut left = temp_files(dir);
        left.extend(
            mariadb(&format!(
                "SELECT TABLE_NAME FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = 'test' AND TABLE_NAME LIKE '{prefix}%' AND TABLE_NAME LIKE '%\\_\\_fust%'"
            ))
            .lines()
            .map(str::to_string),
        );
        left
    }
    fn keeps_types(&self) -> bool {
        true
    }
    fn bad_value(&self) -> (&'static str, &'static str) {
        ("partitions", "many")
    }
    fn boolean_as_integer(&self) -> bool {
        true
    }
}

impl Database for Mysql {
    fn query(&self, sql: &str) -> Vec<Vec<String>> {
        split(mariadb(sql), '\t')
    }
    fn quote(&self, ident: &str) -> String {
        format!("`{ident}`")
    }
    fn duplicate_key(&self) -> &'static str {
        "Duplicate entry"
    }
    fn server(&self) -> String {
        format!("mysql {}", MY_URL.display_name())
    }
    fn url_at(&self, port: u16) -> String {
        format!("mysql://root@127.0.0.1:{port}/test")
    }
}

/// Loads `csv` (with column types `schema`) into table `name` through Fust, replacing it.
fn load(db: &dyn Database, dir: &Path, name: &str, csv: &str, schema: &str) {
    write_file(dir, "load.csv", csv);
    db.reset(dir, name);
    run(
        db,
        dir,
        &format!(
            "input: {{type: csv, path: load.csv, schema: {schema}}}\noutput: {}\n",
            db.output(name)
        ),
    )
    .success();
}

pub mod checks {
    use super::*;

    pub fn write_modes(db: &dyn Database) {
        let dir = tempdir();
        let d = dir.path();
        let t = "fust_conf_modes";
        db.reset(d, t);
        db.query(&format!(
            "CREATE TABLE {t} (id int PRIMARY KEY, name varchar(20), amount decimal(10,2) DEFAULT 0)"
        ));
        write_file(d, "a.csv", "id,name,amount\n1,ada,1.50\n2,bob,2.00\n");
        write_file(d, "b.csv", "id,name,amount\n2,bobby,20.00\n3,cy,3.25\n");
        let job = |file: &str, options: &str| {
            format!(
                "input: {{type: csv, path: {file}}}\noutput: {}\n",
                with_options(db.output(t), options)
            )
        };
        let select = format!("SELECT id, name, amount FROM {t} ORDER BY id");
        run(db, d, &job("a.csv", "write_mode: append")).success();
        assert_eq!(
            db.query(&select),
            text(&[&["1", "ada", "1.50"], &["2", "bob", "2.00"]])
        );
        run(
            db,
            d,
            &job("b.csv", "write_mode: upsert, key_columns: [id]"),
        )
        .success();
        assert_eq!(
            db.query(&select),
            text(&[
                &["1", "ada", "1.50"],
                &["2", "bobby", "20.00"],
                &["3", "cy", "3.25"]
            ])
        );
        run(db, d, &job("a.csv", "write_mode: overwrite")).success();
        assert_eq!(
            db.query(&select),
            text(&[&["1", "ada", "1.50"], &["2", "bob", "2.00"]])
        );
        // pre_sql and post_sql run in the same transaction as the load.
        let options = format!(
            "pre_sql: ['DELETE FROM {t} WHERE id = 1'], post_sql: ['UPDATE {t} SET name = UPPER(name)'], \
             write_mode: upsert, key_columns: [id]"
        );
        run(db, d, &job("b.csv", &options)).success();
        assert_eq!(
            db.query(&format!("SELECT id, name FROM {t} ORDER BY id")),
            text(&[&["2", "BOBBY"], &["3", "CY"]])
        );
        // An upsert into a table Fust creates gets a primary key on key_columns, so a
        // second run updates instead of duplicating.
        let fresh = "fust_conf_modes_fresh";
        db.reset(d, fresh);
        let upsert = format!(
            "input: {{type: csv, path: b.csv}}\noutput: {}\n",
            with_options(db.output(fresh), "write_mode: upsert, key_columns: [id]")
        );
        run(db, d, &upsert).success();
        run(db, d, &upsert).success();
        assert_eq!(
            db.query(&format!("SELECT id, name FROM {fresh} ORDER BY id")),
            text(&[&["2", "bobby"], &["3", "cy"]])
        );
        let left = db.leftovers(d, "fust_conf_modes");
        assert!(left.is_empty(), "{left:?}");
    }

    pub fn atomic_loads(db: &dyn Database) {
        let dir = tempdir();
        let d = dir.path();
        let (t, fresh) = ("fust_conf_atomic", "fust_conf_atomic_fresh");
        db.reset(d, t);
        db.reset(d, fresh);
        db.query(&format!(
            "CREATE TABLE {t} (id int PRIMARY KEY, small smallint); INSERT INTO {t} VALUES (1, 1), (2, 2)"
        ));
        let select = format!("SELECT id, small FROM {t} ORDER BY id");
        let before = db.query(&select);
        // Many good rows, then duplicate keys far into the stream (150 is in the data
        // too, so overwrite and upsert meet a duplicate as well).
        let mut csv = String::from("id,small\n");
        for i in 100..20_000 {
            csv.push_str(&format!("{i},{}\n", i % 100));
        }
        csv.push_str("1,5\n150,5\n");
        write_file(d, "dup.csv", &csv);
        write_file(d, "big.csv", "id,small\n10,1\n11,70000\n");
        let server = db.server();
        for (file, mode, message) in [
            ("dup.csv", "append", db.duplicate_key()),
            ("dup.csv", "overwrite", db.duplicate_key()),
            ("dup.csv", "upsert", ""),
            ("big.csv", "append", "small"),
            ("big.csv", "overwrite", "small"),
            ("big.csv", "upsert", "small"),
        ] {
            let out = run(
                db,
                d,
                &format!(
                    "input: {{type: csv, path: {file}}}\noutput: {}\n",
                    with_options(
                        db.output(t),
                        &format!("write_mode: {mode}, key_columns: [id]")
                    )
                ),
            );
            out.failure();
            assert!(
                out.stderr.contains(message),
                "{file} {mode}: {}",
                out.stderr
            );
            assert!(
                out.stderr.contains("output"),
                "names the job key: {}",
                out.stderr
            );
            if file == "dup.csv" {
                assert!(
                    out.stderr.contains(&server),
                    "names the server: {}",
                    out.stderr
                );
            }
            assert_eq!(db.query(&select), before, "{file} {mode} changed the table");
        }
        // A table that would be created is not left behind, whether the load or post_sql fails.
        for (file, post) in [
            ("dup.csv", "[]"),
            ("big.csv", "['SELECT * FROM fust_conf_nope']"),
        ] {
            let out = run(
                db,
                d,
                &format!(
                    "input: {{type: csv, path: {file}}}\noutput: {}\n",
                    with_options(
                        db.output(fresh),
                        &format!("write_mode: upsert, key_columns: [id], post_sql: {post}")
                    )
                ),
            );
            out.failure();
            assert!(!db.exists(d, fresh), "{file}: {}", out.stderr);
        }
        let left = db.leftovers(d, "fust_conf_atomic");
        assert!(left.is_empty(), "{left:?}");
    }

    pub fn incremental_reads(db: &dyn Database) {
        let dir = tempdir();
        let d = dir.path();
        let t = "fust_conf_cursor";
        let schema = "{id: int, at: timestamp}";
        let mut events = String::from("id,at\n");
        for h in 1..=5 {
            events.push_str(&format!("{h},2024-01-01 0{h}:00:00\n"));
        }
        load(db, d, t, &events, schema);
        let job = write_file(
            d,
            "cursor.yaml",
            at_test_servers(&format!(
                "input: {}\noutput: {{type: csv, path: out.csv}}\n",
                with_options(
                    db.input(t),
                    "cursor_column: at, state_file: state/marks.json"
                )
            )),
        );
        let env = db.env();
        let env = env_refs(&env);
        run_job(d, &job, &env).success();
        assert_eq!(read_rows(&d.join("out.csv")).len(), 5);
        let state = std::fs::read_to_string(d.join("state/marks.json")).expect("state file");
        assert!(state.contains("2024-01-01 05:00:00"), "{state}");

        // New rows after the mark are read; a late row before it is not.
        write_file(
            d,
            "more.csv",
            "id,at\n6,2024-01-01 06:00:00\n7,2024-01-01 07:00:00\n0,2023-12-31 00:00:00\n",
        );
        run(
            db,
            d,
            &format!(
                "input: {{type: csv, path: more.csv, schema: {schema}}}\noutput: {}\n",
                db.output(t)
            ),
        )
        .success();
        run_job(d, &job, &env).success();
        let ids: Vec<String> = read_rows(&d.join("out.csv"))
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
        assert_eq!(ids, ["6", "7"]);

        // Nothing new: an empty output, the mark unchanged.
        run_job(d, &job, &env).success();
        assert_eq!(read_rows(&d.join("out.csv")).len(), 0);
        let state = std::fs::read_to_string(d.join("state/marks.json")).expect("state file");
        assert!(state.contains("07:00:00"), "{state}");
    }

    /// Text literals in a pushed-down filter mean what they say: backslashes, quotes and
    /// LIKE wildcards select exactly the rows the same filter selects in Fust, and no
    /// literal can extend the query.
    pub fn pushdown_literals(db: &dyn Database) {
        let dir = tempdir();
        let d = dir.path();
        let t = "fust_conf_literals";
        let notes = [
            r"a\b",
            r"x\'y",
            "it's",
            r"ends\",
            "100%",
            "under_score",
            "plain",
            r"x' OR '1'='1",
        ];
        let mut csv = String::from("id,note\n");
        for (i, n) in notes.iter().enumerate() {
            csv.push_str(&format!("{i},\"{}\"\n", n.replace('"', "\"\"")));
        }
        load(db, d, t, &csv, "{id: int, note: text}");
        for (i, n) in notes.iter().enumerate() {
            let sql_literal = format!("'{}'", n.replace('\'', "''"));
            let job = write_file(
                d,
                "lit.yaml",
                at_test_servers(&format!(
                    "input: {}\npipeline:\n  processors:\n    - type: filter\n      condition: {}\noutput: {{type: csv, path: out.csv}}\n",
                    db.input(t),
                    serde_json::to_string(&format!("note = {sql_literal}")).expect("quoted")
                )),
            );
            let env = db.env();
            let out = run_job(d, &job, &env_refs(&env));
            out.success();
            let got = read_rows(&d.join("out.csv"));
            assert_eq!(
                got,
                vec![vec![i.to_string(), n.to_string()]],
                "note = {sql_literal}"
            );
        }
    }

    /// A server that accepts the connection and never answers: `connect_timeout` ends the
    /// wait (well before the 10 s default), for the source and the sink.
    pub fn connect_timeout(db: &dyn Database) {
        let dir = tempdir();
        let d = dir.path();
        let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a local port");
        let port = silent.local_addr().expect("its address").port();
        // Accepted connections are kept open, unanswered, until the check ends.
        let keep =
            std::thread::spawn(move || silent.incoming().take(2).flatten().collect::<Vec<_>>());
        write_file(d, "a.csv", "id\n1\n");
        let url = db.url_at(port);
        let kind = db.kind();
        for (job, key) in [
            (
                format!(
                    "input: {{type: {kind}, url: '{url}', table: t, connect_timeout: 1s}}\noutput: {{type: csv, path: out.csv}}\n"
                ),
                "input",
            ),
            (
                format!(
                    "input: {{type: csv, path: a.csv}}\noutput: {{type: {kind}, url: '{url}', table: t, connect_timeout: 1s}}\n"
                ),
                "output",
            ),
        ] {
            let started = std::time::Instant::now();
            let out = run(db, d, &job);
            let took = started.elapsed();
            out.failure();
            assert!(out.stderr.contains("no answer within 1s"), "{}", out.stderr);
            assert!(
                out.stderr.contains(key),
                "names the job key: {}",
                out.stderr
            );
            assert!(took < std::time::Duration::from_secs(8), "took {took:?}");
            assert!(!d.join("out.csv").exists());
        }
        drop(keep);
    }

    pub fn pushdown(db: &dyn Database) {
        let dir = tempdir();
        let d = dir.path();
        let t = "fust_conf_push";
        let mut orders = String::from("id,qty,note,day\n");
        for g in 1..=1000 {
            orders.push_str(&format!("{g},{},n{g},2024-01-{:02}\n", g % 50, g % 30 + 1));
        }
        orders.push_str(",45,no id,\n");
        load(
            db,
            d,
            t,
            &orders,
            "{id: bigint, qty: int, note: text, day: date}",
        );
        let job = write_job(
            d,
            &format!(
                "input: {}
pipeline:
  processors:
    - {{type: filter, condition: 'qty > 40'}}
    - {{type: sql, query: 'SELECT id, qty FROM input'}}
output: {{type: csv, path: out.csv}}
",
                with_options(db.input(t), "partition_column: id, partitions: 3")
            ),
        );
        let env = db.env();
        let env = env_refs(&env);
        let plan = fust(d, &["explain", job.to_str().expect("utf-8")], &env);
        plan.success();
        let q = |c: &str| db.quote(c);
        for want in [
            format!("DbScanExec: {}, partitions=3", db.kind()),
            format!("WHERE (({} > 40))", q("qty")),
            format!("SELECT {}, {} FROM", q("id"), q("qty")),
            // NULL ids belong to a range.
            format!("{} IS NULL", q("id")),
        ] {
            assert!(
                plan.stdout.contains(&want),
                "lacks {want:?}:\n{}",
                plan.stdout
            );
        }
        assert!(
            !plan.stdout.contains(&q("note")),
            "unused column read: {}",
            plan.stdout
        );

        run_job(d, &job, &env).success();
        let got = read_rows(&d.join("out.csv"));
        let sum: i64 = got.iter().map(|r| r[0].parse::<i64>().unwrap_or(0)).sum();
        let want = db.query(&format!(
            "SELECT COUNT(*), SUM(COALESCE(id, 0)) FROM {t} WHERE qty > 40"
        ));
        assert_eq!(vec![vec![got.len().to_string(), sum.to_string()]], want);
    }
}
