//! TLS everywhere a network is crossed, against the local servers `scripts/services` sets
//! up: user `fust_tls` may log in to PostgreSQL only over TLS (`hostssl`) and to MariaDB
//! only over TLS (`REQUIRE SSL`), and their certificates are signed by the test CA in
//! `$FUST_TEST_TLS_DIR` (default /var/lib/fust-tls). Each connector reads (and MySQL
//! writes) with TLS, fails with a message saying what to set without it, and checks the
//! certificate in the verifying modes; `fust serve --tls-cert --tls-key` answers HTTPS; S3
//! over HTTPS (a moto_server with the test certificate) trusts `storage.ca_file`.
//! These tests fail, never skip, when a server or the test CA is missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::server::{Server, ServerOptions};
use common::*;

/// The password `scripts/services` gives `fust_tls`.
const PASSWORD: &str = "fust-tls-pw";

/// A file of the test CA's directory, which must exist.
fn tls_file(name: &str) -> String {
    let dir = std::env::var("FUST_TEST_TLS_DIR").unwrap_or_else(|_| "/var/lib/fust-tls".into());
    let path = PathBuf::from(dir).join(name);
    assert!(
        path.exists(),
        "{} is missing: `scripts/services up postgres mariadb` makes the test CA",
        path.display()
    );
    path.to_str().expect("utf-8 path").to_string()
}

fn ca() -> String {
    tls_file("ca.pem")
}

/// A CA that signed neither server's certificate.
fn other_ca() -> String {
    tls_file("other-ca.pem")
}

const ROWS: &[&[&str]] = &[&["1", "ada"], &["2", "grace"], &["3", "édith"]];

fn run(dir: &Path, yaml: &str) -> Out {
    let job = write_job(dir, yaml);
    run_job(dir, &job, &[])
}

// --- PostgreSQL ---------------------------------------------------------------------------

/// A table of [`ROWS`] that `fust_tls` may read.
fn pg_table(name: &str) {
    psql(&format!(
        "DROP TABLE IF EXISTS {name}; CREATE TABLE {name} (id int PRIMARY KEY, name text);
         INSERT INTO {name} VALUES (1, 'ada'), (2, 'grace'), (3, 'édith');
         GRANT SELECT ON {name} TO fust_tls"
    ));
}

/// A job reading `table` as `fust_tls` into out.csv; `tls` is more YAML for the input.
fn pg_job(url: &str, table: &str, tls: &str) -> String {
    format!(
        "input:\n  type: postgres\n  url: {url}\n  password: {PASSWORD}\n  table: {table}\n{tls}\
         output:\n  type: csv\n  path: out.csv\n"
    )
}

const PG_TLS_URL: &str = "postgres://fust_tls@127.0.0.1:5432/test";

#[test]
fn postgres_reads_with_sslmode_require_and_fails_clearly_with_disable() {
    pg_table("tls_pg_require");
    let dir = tempdir();
    let url = format!("{PG_TLS_URL}?sslmode=require");
    run(dir.path(), &pg_job(&url, "tls_pg_require", "")).success();
    assert_eq!(sorted(read_rows(&dir.path().join("out.csv"))), rows(ROWS));

    // The default (`prefer`) tries TLS first, so the TLS-only user gets in too.
    let dir = tempdir();
    run(dir.path(), &pg_job(PG_TLS_URL, "tls_pg_require", "")).success();
    assert_eq!(sorted(read_rows(&dir.path().join("out.csv"))), rows(ROWS));

    // The field wins over the URL's query.
    let dir = tempdir();
    let out = run(
        dir.path(),
        &pg_job(&url, "tls_pg_require", "  sslmode: disable\n"),
    );
    out.failure();
    for part in [
        "postgres fust_tls@127.0.0.1:5432/test: cannot connect",
        "no encryption",
        "the server accepts this user only over TLS (sslmode is `disable`)",
        "`sslmode: require`",
    ] {
        assert!(
            out.stderr.contains(part),
            "{part:?} not in:\n{}",
            out.stderr
        );
    }
    assert!(!dir.path().join("out.csv").exists());
}

#[test]
fn postgres_verify_full_checks_the_certificate_against_sslrootcert() {
    pg_table("tls_pg_verify");
    for host in ["127.0.0.1", "localhost"] {
        let dir = tempdir();
        let url = format!(
            "postgres://fust_tls@{host}:5432/test?sslmode=verify-full&sslrootcert={}",
            ca()
        );
        run(dir.path(), &pg_job(&url, "tls_pg_verify", "")).success();
        assert_eq!(sorted(read_rows(&dir.path().join("out.csv"))), rows(ROWS));
    }
    // verify-ca as fields.
    let dir = tempdir();
    let tls = format!("  sslmode: verify-ca\n  sslrootcert: {}\n", ca());
    run(dir.path(), &pg_job(PG_TLS_URL, "tls_pg_verify", &tls)).success();
    assert_eq!(sorted(read_rows(&dir.path().join("out.csv"))), rows(ROWS));

    // A CA that did not sign the server's certificate.
    let dir = tempdir();
    let tls = format!("  sslmode: verify-full\n  sslrootcert: {}\n", other_ca());
    let out = run(dir.path(), &pg_job(PG_TLS_URL, "tls_pg_verify", &tls));
    out.failure();
    for part in [
        "postgres fust_tls@127.0.0.1:5432/test: cannot connect",
        "UnknownIssuer",
        &format!("not trusted by sslmode `verify-full` with {}", other_ca()),
        "give `sslrootcert` the CA that signed it",
    ] {
        assert!(
            out.stderr.contains(part),
            "{part:?} not in:\n{}",
            out.stderr
        );
    }

    // A CA file that is not there.
    let dir = tempdir();
    let tls = "  sslmode: verify-full\n  sslrootcert: /nonexistent/ca.pem\n";
    let out = run(dir.path(), &pg_job(PG_TLS_URL, "tls_pg_verify", tls));
    out.failure();
    assert!(
        out.stderr
            .contains("sslrootcert: cannot read CA certificates from /nonexistent/ca.pem"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_bad_tls_mode_is_a_validation_error_listing_the_modes() {
    let dir = tempdir();
    let job = write_job(
        dir.path(),
        &pg_job(PG_TLS_URL, "t", "  sslmode: required\n"),
    );
    let out = fust(dir.path(), &["validate", job.to_str().unwrap()], &[]);
    out.failure();
    for part in [
        "sslmode",
        "`required`",
        "disable, prefer, require, verify-ca, verify-full",
    ] {
        assert!(
            out.stderr.contains(part),
            "{part:?} not in:\n{}",
            out.stderr
        );
    }
    let job = write_job(
        dir.path(),
        "input:\n  type: mysql\n  url: mysql://u@127.0.0.1/test?ssl-mode=on\n  table: t\n\
         output:\n  type: csv\n  path: out.csv\n",
    );
    let out = fust(dir.path(), &["validate", job.to_str().unwrap()], &[]);
    out.failure();
    for part in [
        "ssl_mode",
        "`on`",
        "DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY",
    ] {
        assert!(
            out.stderr.contains(part),
            "{part:?} not in:\n{}",
            out.stderr
        );
    }
}

#[test]
fn the_postgres_metadata_store_connects_with_sslmode_require() {
    let db = format!("fust_meta_tls_{}", std::process::id());
    psql(&format!("DROP DATABASE IF EXISTS {db}"));
    psql(&format!("CREATE DATABASE {db} OWNER fust_tls"));
    let dir = tempdir();
    write_file(dir.path(), "in.csv", "a\n1\n");
    let url = format!("postgres://fust_tls:{PASSWORD}@127.0.0.1:5432/{db}");
    {
        let server = Server::start(ServerOptions {
            dir: dir.path(),
            metadata: format!("{url}?sslmode=require"),
            config: None,
            env: vec![],
            token: None,
            args: vec![],
        });
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let job = "input: {type: csv, path: in.csv}\noutput: {type: csv, path: out.csv}\n";
            let (status, body) = server.put("/jobs/tls_job", job).await;
            assert!(status == 200 || status == 201, "{status}: {body}");
            let jobs = server.get_json("/jobs").await;
            assert!(jobs.to_string().contains("tls_job"), "{jobs}");
        });
    }
    // Without TLS the store is refused, and `fust serve` says why before listening.
    let out = fust(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metadata",
            &format!("{url}?sslmode=disable"),
        ],
        &[],
    );
    out.failure();
    assert!(
        out.stderr.contains("metadata_url") && out.stderr.contains("no encryption"),
        "{}",
        out.stderr
    );
    let _ = try_psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
}

// --- MariaDB ------------------------------------------------------------------------------

const MY_TLS_URL: &str = "mysql://fust_tls@127.0.0.1:3306/test";

fn my_table(name: &str) {
    mariadb(&format!(
        "DROP TABLE IF EXISTS {name}; CREATE TABLE {name} (id int PRIMARY KEY, name varchar(20));
         INSERT INTO {name} VALUES (1, 'ada'), (2, 'grace'), (3, 'édith')"
    ));
}

fn my_read_job(table: &str, tls: &str) -> String {
    format!(
        "input:\n  type: mysql\n  url: {MY_TLS_URL}\n  password: {PASSWORD}\n  table: {table}\n{tls}\
         output:\n  type: csv\n  path: out.csv\n"
    )
}

fn my_write_job(table: &str, tls: &str) -> String {
    format!(
        "input:\n  type: csv\n  path: in.csv\n\
         output:\n  type: mysql\n  url: {MY_TLS_URL}\n  password: {PASSWORD}\n  table: {table}\n  \
         write_mode: overwrite\n{tls}"
    )
}

fn my_rows(table: &str) -> Vec<Vec<String>> {
    mariadb(&format!("SELECT id, name FROM {table} ORDER BY id"))
        .lines()
        .map(|l| l.split('\t').map(String::from).collect())
        .collect()
}

#[test]
fn mysql_reads_and_writes_with_ssl_mode_required_and_fails_clearly_with_disabled() {
    my_table("tls_my_required");
    mariadb("DROP TABLE IF EXISTS tls_my_required_out");
    // Read (Fust's own wire client), then write what was read (mysql_async).
    let dir = tempdir();
    let tls = "  ssl_mode: REQUIRED\n";
    run(dir.path(), &my_read_job("tls_my_required", tls)).success();
    assert_eq!(sorted(read_rows(&dir.path().join("out.csv"))), rows(ROWS));
    std::fs::rename(dir.path().join("out.csv"), dir.path().join("in.csv")).unwrap();
    run(dir.path(), &my_write_job("tls_my_required_out", tls)).success();
    assert_eq!(my_rows("tls_my_required_out"), rows(ROWS));

    // In the URL as the mysql client spells it; and the default, PREFERRED, gets TLS too.
    let dir = tempdir();
    let job = my_read_job("tls_my_required", "")
        .replace(MY_TLS_URL, &format!("{MY_TLS_URL}?ssl-mode=REQUIRED"));
    run(dir.path(), &job).success();
    assert_eq!(sorted(read_rows(&dir.path().join("out.csv"))), rows(ROWS));
    let dir = tempdir();
    run(dir.path(), &my_read_job("tls_my_required", "")).success();
    assert_eq!(sorted(read_rows(&dir.path().join("out.csv"))), rows(ROWS));

    // DISABLED: the server refuses the account, and the message says what to set.
    let dir = tempdir();
    let out = run(
        dir.path(),
        &my_read_job("tls_my_required", "  ssl_mode: DISABLED\n"),
    );
    out.failure();
    let wanted = [
        "mysql fust_tls@127.0.0.1:3306/test: cannot connect",
        "Access denied",
        "this connection is not encrypted (`ssl_mode: DISABLED`)",
        "set `ssl_mode: REQUIRED`",
    ];
    for part in wanted {
        assert!(
            out.stderr.contains(part),
            "{part:?} not in:\n{}",
            out.stderr
        );
    }
    write_file(dir.path(), "in.csv", "id,name\n9,zed\n");
    let out = run(
        dir.path(),
        &my_write_job("tls_my_required_out", "  ssl_mode: DISABLED\n"),
    );
    out.failure();
    for part in wanted {
        assert!(
            out.stderr.contains(part),
            "{part:?} not in:\n{}",
            out.stderr
        );
    }
    assert_eq!(
        my_rows("tls_my_required_out"),
        rows(ROWS),
        "nothing written"
    );
    mariadb("DROP TABLE tls_my_required, tls_my_required_out");
}

#[test]
fn mysql_verify_identity_checks_the_certificate_against_ssl_ca() {
    my_table("tls_my_verify");
    mariadb("DROP TABLE IF EXISTS tls_my_verify_out");
    let dir = tempdir();
    let tls = format!("  ssl_mode: VERIFY_IDENTITY\n  ssl_ca: {}\n", ca());
    run(dir.path(), &my_read_job("tls_my_verify", &tls)).success();
    assert_eq!(sorted(read_rows(&dir.path().join("out.csv"))), rows(ROWS));
    std::fs::rename(dir.path().join("out.csv"), dir.path().join("in.csv")).unwrap();
    run(dir.path(), &my_write_job("tls_my_verify_out", &tls)).success();
    assert_eq!(my_rows("tls_my_verify_out"), rows(ROWS));

    // A CA that did not sign the server's certificate: both clients refuse it.
    let tls = format!("  ssl_mode: VERIFY_IDENTITY\n  ssl_ca: {}\n", other_ca());
    let dir = tempdir();
    write_file(dir.path(), "in.csv", "id,name\n9,zed\n");
    for job in [
        my_read_job("tls_my_verify", &tls),
        my_write_job("tls_my_verify_out", &tls),
    ] {
        let out = run(dir.path(), &job);
        out.failure();
        for part in [
            "mysql fust_tls@127.0.0.1:3306/test: cannot connect",
            &format!(
                "not trusted by `ssl_mode: VERIFY_IDENTITY` with {}",
                other_ca()
            ),
            "give `ssl_ca` the CA that signed it",
        ] {
            assert!(
                out.stderr.contains(part),
                "{part:?} not in:\n{}",
                out.stderr
            );
        }
    }
    assert_eq!(my_rows("tls_my_verify_out"), rows(ROWS), "nothing written");
    mariadb("DROP TABLE tls_my_verify, tls_my_verify_out");
}

// --- fust serve ---------------------------------------------------------------------------

fn curl(args: &[&str]) -> (bool, String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl runs (install curl)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn fust_serve_answers_https_with_the_test_ca_and_not_plain_http() {
    let dir = tempdir();
    let (cert, key) = (tls_file("server.pem"), tls_file("server.key"));
    let server = Server::start_with_args(dir.path(), vec!["--tls-cert", &cert, "--tls-key", &key]);
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );
    let health = server.url("/health");

    let (ok, body, err) = curl(&["--cacert", &ca(), &health]);
    assert!(ok, "curl --cacert {health}: {err}");
    assert!(body.contains("ok"), "{body}");

    // Plain HTTP to the same port gets no answer, nor does a client trusting another CA;
    // neither stops the server.
    let plain = health.replace("https://", "http://");
    let (ok, body, _) = curl(&["-o", "/dev/null", "-w", "%{http_code}", &plain]);
    assert!(!ok || body != "200", "plain HTTP was answered: {body}");
    let (ok, _, err) = curl(&["--cacert", &other_ca(), &health]);
    assert!(!ok && err.contains("certificate"), "{err}");

    let (ok, body, err) = curl(&["--cacert", &ca(), &health]);
    assert!(ok && body.contains("ok"), "after failed handshakes: {err}");
}

#[test]
fn tls_cert_without_tls_key_is_a_usage_error() {
    let dir = tempdir();
    let out = fust(
        dir.path(),
        &["serve", "--listen", "127.0.0.1:0", "--tls-cert", "cert.pem"],
        &[],
    );
    out.code_is(2);
    assert!(out.stderr.contains("--tls-key"), "{}", out.stderr);

    // A key that does not exist is named before anything listens.
    let out = fust(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            &tls_file("server.pem"),
            "--tls-key",
            "missing.key",
        ],
        &[],
    );
    out.failure();
    assert!(
        out.stderr.contains("tls_key") && out.stderr.contains("missing.key"),
        "{}",
        out.stderr
    );
}

// --- S3 over HTTPS ------------------------------------------------------------------------

/// `storage:` for the HTTPS moto server, trusting `ca` when given.
fn s3_storage(moto: &Moto, ca: Option<&str>) -> String {
    let ca = ca.map(|c| format!(", ca_file: '{c}'")).unwrap_or_default();
    format!(
        "{{endpoint: '{}', region: us-east-1, access_key_id: testing, secret_access_key: testing{ca}}}",
        moto.endpoint()
    )
}

#[test]
fn s3_over_https_trusts_storage_ca_file_and_refuses_an_unknown_ca() {
    let (cert, key) = (tls_file("server.pem"), tls_file("server.key"));
    let moto = Moto::start_https("tls-bucket", &cert, &key, &ca());
    assert!(
        moto.endpoint().starts_with("https://"),
        "{}",
        moto.endpoint()
    );
    let dir = tempdir();
    let d = dir.path();
    write_file(d, "people.csv", "id,name\n1,ada\n2,grace\n3,édith\n");
    let storage = s3_storage(&moto, Some(&ca()));
    run(
        d,
        &format!(
            "input: {{type: csv, path: people.csv}}\n\
             output: {{type: parquet, path: 's3://tls-bucket/people.parquet', storage: {storage}}}\n"
        ),
    )
    .success();
    run(
        d,
        &format!(
            "input: {{type: parquet, path: 's3://tls-bucket/people.parquet', storage: {storage}}}\n\
             output: {{type: csv, path: back.csv}}\n"
        ),
    )
    .success();
    assert_eq!(sorted(read_rows(&d.join("back.csv"))), rows(ROWS));

    // The test CA is not among the system's roots, and another CA did not sign the
    // server's certificate: both fail on the certificate.
    for ca in [None, Some(other_ca())] {
        let storage = s3_storage(&moto, ca.as_deref());
        let out = run(
            d,
            &format!(
                "input: {{type: csv, path: people.csv}}\n\
                 output: {{type: csv, path: 's3://tls-bucket/again.csv', storage: {storage}}}\n"
            ),
        );
        out.failure();
        assert!(
            out.stderr.to_lowercase().contains("certificate"),
            "with ca_file {ca:?}: {}",
            out.stderr
        );
    }
}
