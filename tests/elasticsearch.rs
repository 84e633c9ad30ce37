//! The `elasticsearch` output against an OpenSearch-API server (osmem-server, started per
//! test on a free port), through the CLI: documents with their ids and fields, re-runs that
//! overwrite, `create` conflicts and mapping errors as bad records with the server's
//! reason, daily indices, bulk splitting, gzip, auth headers, retries of 429s, TLS. The
//! tests fail (never skip) when osmem-server is missing.

mod common;

use std::path::Path;

use common::opensearch::{Faults, Osmem, Proxy};
use common::*;
use serde_json::{Value, json};

const ORDERS: &str = "\
order_id,customer,amount,note,ordered_at
1,ada,12.5,\"first, of many\",2026-03-01T10:00:00Z
2,grace,-3,,2026-03-01T23:30:00Z
3,alan,1000000.25,\"quote \"\"q\"\"\",2026-03-02T00:15:00Z
4,ada,0,ünïcode,2026-03-03T08:00:00Z
";

/// A job from `orders.csv` in `d` to the output options `output` (YAML flow mapping
/// entries), with `extra` top-level YAML after it.
fn job(d: &Path, output: &str, extra: &str) -> std::path::PathBuf {
    if !d.join("orders.csv").exists() {
        write_file(d, "orders.csv", ORDERS);
    }
    write_job(
        d,
        &format!(
            "input: {{type: csv, path: orders.csv}}\noutput: {{type: elasticsearch, {output}}}\n{extra}"
        ),
    )
}

/// [`job`] into the server at `url`, with the other output options `output`.
fn es_job(d: &Path, url: &str, output: &str) -> std::path::PathBuf {
    job(d, &format!("url: '{url}', {output}"), "")
}

fn ids(docs: &[(String, Value)]) -> Vec<&str> {
    docs.iter().map(|(id, _)| id.as_str()).collect()
}

#[test]
fn rows_become_documents_with_their_id_and_a_rerun_overwrites_them() {
    let os = Osmem::start();
    let dir = tempdir();
    let d = dir.path();
    let j = job(
        d,
        &format!("url: '{}', index: orders, id: order_id", os.url()),
        "",
    );
    let out = fust(d, &["run", j.to_str().expect("utf-8")], &[]);
    out.success();
    let summary = format!("{}{}", out.stdout, out.stderr);
    assert!(
        summary.contains(&format!("elasticsearch {} index orders", os.url())),
        "the summary names the target: {summary}"
    );
    assert!(summary.contains("4 rows out"), "{summary}");

    let docs = os.documents("orders");
    assert_eq!(ids(&docs), ["1", "2", "3", "4"]);
    // The id column stays a field; a NULL is left out; text keeps commas, quotes, UTF-8.
    let (_, first) = &docs[0];
    assert_eq!(first["order_id"], json!(1));
    assert_eq!(first["customer"], json!("ada"));
    assert_eq!(first["amount"], json!(12.5));
    assert_eq!(first["note"], json!("first, of many"));
    assert!(
        first["ordered_at"]
            .as_str()
            .is_some_and(|t| t.starts_with("2026-03-01T10:00:00"))
    );
    assert_eq!(docs[1].1["amount"], json!(-3.0));
    assert!(
        docs[1].1.get("note").is_none(),
        "NULL is left out: {}",
        docs[1].1
    );
    assert_eq!(docs[2].1["note"], json!("quote \"q\""));
    assert_eq!(docs[2].1["amount"], json!(1000000.25));
    assert_eq!(docs[3].1["note"], json!("ünïcode"));
    let (_, doc) = os.request("GET", "/orders/_doc/1", "");
    assert_eq!(doc["_version"], json!(1));

    // Again: the same four documents, each overwritten once.
    run_job(d, &j, &[]).success();
    assert_eq!(os.count("orders"), 4);
    let (_, doc) = os.request("GET", "/orders/_doc/1", "");
    assert_eq!(
        doc["_version"],
        json!(2),
        "overwritten, not duplicated: {doc}"
    );
}

#[test]
fn an_id_expression_names_the_documents() {
    let os = Osmem::start();
    let dir = tempdir();
    let d = dir.path();
    let j = es_job(
        d,
        &os.url(),
        "index: orders, id: \"concat(customer, '-', order_id)\"",
    );
    run_job(d, &j, &[]).success();
    let docs = os.documents("orders");
    assert_eq!(ids(&docs), ["ada-1", "ada-4", "alan-3", "grace-2"]);
    assert_eq!(docs[0].1["order_id"], json!(1));

    // A name that is neither a column nor an expression is an error naming the columns.
    let j = job(
        d,
        &format!("url: '{}', index: orders, id: no_such", os.url()),
        "",
    );
    let out = run_job(d, &j, &[]);
    out.failure();
    assert!(
        out.stderr.contains("id: `no_such`") && out.stderr.contains("order_id, customer"),
        "{}",
        out.stderr
    );
}

#[test]
fn bulk_requests_are_split_by_actions_and_bytes_and_gzipped() {
    let os = Osmem::start();
    let proxy = Proxy::start(os.port, Faults::default());
    let dir = tempdir();
    let d = dir.path();
    let j = es_job(
        d,
        &proxy.url(),
        "index: orders, id: order_id, bulk_actions: 2, concurrency: 2, compression: gzip",
    );
    run_job(d, &j, &[]).success();
    let bulks: Vec<_> = proxy
        .seen()
        .into_iter()
        .filter(|r| r.path().ends_with("/_bulk"))
        .collect();
    assert_eq!(bulks.len(), 2, "4 documents, 2 a request: {bulks:?}");
    for b in &bulks {
        assert_eq!(b.header("content-encoding").as_deref(), Some("gzip"));
        assert_eq!(
            b.header("content-type").as_deref(),
            Some("application/x-ndjson")
        );
        assert_eq!(&b.body[..2], [0x1f, 0x8b], "a gzip body");
    }
    assert_eq!(ids(&os.documents("orders")), ["1", "2", "3", "4"]);

    // 60 documents of about 100 bytes, at most 1 KiB a request.
    let mut csv = String::from("id,text\n");
    for i in 0..60 {
        csv.push_str(&format!("{i},{}\n", "x".repeat(80)));
    }
    write_file(d, "many.csv", &csv);
    let proxy = Proxy::start(os.port, Faults::default());
    let j = write_job(
        d,
        &format!(
            "input: {{type: csv, path: many.csv}}\noutput: {{type: elasticsearch, url: '{}', index: many, id: id, bulk_bytes: 1KB}}\n",
            proxy.url()
        ),
    );
    run_job(d, &j, &[]).success();
    let bulks: Vec<_> = proxy
        .seen()
        .into_iter()
        .filter(|r| r.path().ends_with("/_bulk"))
        .collect();
    assert!(bulks.len() >= 6, "split by bytes: {} requests", bulks.len());
    for b in &bulks {
        assert!(b.body.len() <= 1024, "a body of {} bytes", b.body.len());
    }
    assert_eq!(os.count("many"), 60);
}

#[test]
fn create_on_existing_ids_fails_the_run_with_the_servers_reason() {
    let os = Osmem::start();
    let dir = tempdir();
    let d = dir.path();
    let (code, _) = os.request("PUT", "/orders/_doc/2", r#"{"customer":"already here"}"#);
    assert!(code == 200 || code == 201, "{code}");
    let j = es_job(d, &os.url(), "index: orders, id: order_id, action: create");
    let out = run_job(d, &j, &[]);
    out.failure();
    assert!(
        out.stderr.contains("row 2")
            && out.stderr.contains("version_conflict_engine_exception")
            && out.stderr.contains("document already exists"),
        "names the row and the server's reason: {}",
        out.stderr
    );
    let docs = os.documents("orders");
    let two = docs.iter().find(|(id, _)| id == "2").expect("document 2");
    assert_eq!(two.1["customer"], json!("already here"), "not overwritten");
}

#[test]
fn a_mapping_conflict_is_a_bad_record_with_the_servers_reason() {
    let os = Osmem::start();
    let (code, resp) = os.request(
        "PUT",
        "/typed",
        r#"{"mappings":{"properties":{"qty":{"type":"integer"}}}}"#,
    );
    assert_eq!(code, 200, "{resp}");
    let dir = tempdir();
    let d = dir.path();
    write_file(d, "orders.csv", "order_id,qty\n1,5\n2,7\n3,many\n4,9\n");
    let output = format!("url: '{}', index: typed, id: order_id", os.url());

    let out = run_job(d, &job(d, &output, ""), &[]);
    out.failure();
    assert!(
        out.stderr.contains("row 3")
            && out.stderr.contains("mapper_parsing_exception")
            && out.stderr.contains("failed to parse field [qty]"),
        "names the row and the server's reason: {}",
        out.stderr
    );

    // With a dead-letter output the run goes on; the bad row lands there with the reason.
    let extra =
        "settings: {on_error: dead_letter}\ndead_letter: {type: json, path: rejects.ndjson}\n";
    let out = run_job(d, &job(d, &output, extra), &[]);
    out.success();
    let docs = os.documents("typed");
    assert_eq!(ids(&docs), ["1", "2", "4"]);
    let text = std::fs::read_to_string(d.join("rejects.ndjson")).expect("rejects.ndjson");
    let rejects: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(rejects.len(), 1, "{text}");
    let r = &rejects[0];
    assert_eq!(r["position"], json!("row 3"));
    assert_eq!(r["stage"], json!("output"));
    let reason = r["reason"].as_str().expect("reason");
    assert!(
        reason.starts_with("mapper_parsing_exception: failed to parse field [qty]"),
        "the server's own reason: {reason}"
    );
    let raw: Value = serde_json::from_str(r["raw"].as_str().expect("raw")).expect("raw JSON");
    assert_eq!(raw, json!({"order_id": 3, "qty": "many"}));
}

#[test]
fn one_index_per_day_from_a_time_column_in_utc() {
    let os = Osmem::start();
    let dir = tempdir();
    let d = dir.path();
    let j = es_job(
        d,
        &os.url(),
        "index: 'orders-%Y.%m.%d', index_time_column: ordered_at, id: order_id, refresh: true",
    );
    run_job(d, &j, &[]).success();
    assert_eq!(
        os.indices(),
        [
            "orders-2026.03.01",
            "orders-2026.03.02",
            "orders-2026.03.03"
        ]
    );
    assert_eq!(ids(&os.documents("orders-2026.03.01")), ["1", "2"]);
    assert_eq!(ids(&os.documents("orders-2026.03.02")), ["3"]);
    assert_eq!(ids(&os.documents("orders-2026.03.03")), ["4"]);
}

#[test]
fn update_merges_fields_and_delete_removes_documents() {
    let os = Osmem::start();
    let dir = tempdir();
    let d = dir.path();
    let url = os.url();
    run_job(
        d,
        &job(d, &format!("url: '{url}', index: orders, id: order_id"), ""),
        &[],
    )
    .success();

    write_file(d, "changes.csv", "order_id,note\n1,changed\n9,new\n");
    let j = write_job(
        d,
        &format!(
            "input: {{type: csv, path: changes.csv}}\noutput: {{type: elasticsearch, url: '{url}', index: orders, id: order_id, action: update}}\n"
        ),
    );
    run_job(d, &j, &[]).success();
    let docs = os.documents("orders");
    assert_eq!(ids(&docs), ["1", "2", "3", "4", "9"]);
    assert_eq!(docs[0].1["note"], json!("changed"));
    assert_eq!(docs[0].1["customer"], json!("ada"), "merged, not replaced");
    assert_eq!(docs[4].1, json!({"order_id": 9, "note": "new"}));

    // Deleting a document that is not there is not an error.
    write_file(d, "gone.csv", "order_id\n1\n2\n99\n");
    let j = write_job(
        d,
        &format!(
            "input: {{type: csv, path: gone.csv}}\noutput: {{type: elasticsearch, url: '{url}', index: orders, id: order_id, action: delete}}\n"
        ),
    );
    run_job(d, &j, &[]).success();
    assert_eq!(ids(&os.documents("orders")), ["3", "4", "9"]);
}

#[test]
fn basic_and_api_key_auth_are_sent_and_never_printed() {
    let os = Osmem::start();
    let proxy = Proxy::start(os.port, Faults::default());
    let dir = tempdir();
    let d = dir.path();
    let j = es_job(
        d,
        &proxy.url(),
        "index: orders, id: order_id, auth: {type: basic, username: elastic, password: '${ES_PASSWORD}'}",
    );
    let out = fust(
        d,
        &["run", j.to_str().expect("utf-8")],
        &[("ES_PASSWORD", "s3cret")],
    );
    out.success();
    assert!(!format!("{}{}", out.stdout, out.stderr).contains("s3cret"));
    let seen = proxy.seen();
    assert!(!seen.is_empty());
    for r in &seen {
        assert_eq!(
            r.header("authorization").as_deref(),
            Some("Basic ZWxhc3RpYzpzM2NyZXQ="),
            "{}",
            r.head
        );
    }

    let proxy = Proxy::start(os.port, Faults::default());
    let j = es_job(
        d,
        &proxy.url(),
        "index: orders, id: order_id, auth: {type: api_key, key: '${ES_KEY}'}",
    );
    run_job(d, &j, &[("ES_KEY", "a2V5OnNlY3JldA==")]).success();
    let seen = proxy.seen();
    assert!(!seen.is_empty());
    for r in &seen {
        assert_eq!(
            r.header("authorization").as_deref(),
            Some("ApiKey a2V5OnNlY3JldA==")
        );
    }
    assert_eq!(os.count("orders"), 4);
}

#[test]
fn rejections_for_now_are_retried_and_fail_only_past_max_retries() {
    let os = Osmem::start();
    let dir = tempdir();
    let d = dir.path();
    // The first request gets a 429, the next one a 429 for every document: both retried.
    let proxy = Proxy::start(
        os.port,
        Faults {
            reject_requests: 1,
            reject_items: 1,
        },
    );
    let j = es_job(
        d,
        &proxy.url(),
        "index: orders, id: order_id, retry_delay: 10ms",
    );
    run_job(d, &j, &[]).success();
    assert_eq!(proxy.seen().len(), 3, "a 429, a 429 per item, then written");
    assert_eq!(ids(&os.documents("orders")), ["1", "2", "3", "4"]);

    // Documents still refused after max_retries are bad records with the server's reason.
    let proxy = Proxy::start(
        os.port,
        Faults {
            reject_requests: 0,
            reject_items: 10,
        },
    );
    let j = es_job(
        d,
        &proxy.url(),
        "index: fresh, id: order_id, retry_delay: 10ms, max_retries: 2",
    );
    let out = run_job(d, &j, &[]);
    out.failure();
    assert!(
        out.stderr.contains("es_rejected_execution_exception")
            && out.stderr.contains("still rejected after 2 retries"),
        "{}",
        out.stderr
    );
    assert_eq!(proxy.seen().len(), 3, "the first try and 2 retries");
}

#[test]
fn an_unreachable_node_fails_the_run_naming_it() {
    let dir = tempdir();
    let d = dir.path();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let j = job(
        d,
        &format!(
            "url: 'http://127.0.0.1:{closed}', index: orders, max_retries: 1, retry_delay: 10ms"
        ),
        "",
    );
    let out = run_job(d, &j, &[]);
    out.failure();
    assert!(
        out.stderr
            .contains(&format!("elasticsearch http://127.0.0.1:{closed}")),
        "{}",
        out.stderr
    );
}

fn tls_file(name: &str) -> String {
    let dir = std::env::var("FUST_TEST_TLS_DIR").unwrap_or_else(|_| "/var/lib/fust-tls".into());
    let path = format!("{dir}/{name}");
    assert!(
        Path::new(&path).exists(),
        "{path} is missing: scripts/services makes the test certificates"
    );
    path
}

#[test]
fn https_nodes_are_verified_against_ca_file() {
    let os = Osmem::start();
    let proxy = Proxy::start_tls(os.port, &tls_file("server.pem"), &tls_file("server.key"));
    let dir = tempdir();
    let d = dir.path();
    let url = format!("https://127.0.0.1:{}", proxy.port);
    let j = job(
        d,
        &format!(
            "url: '{url}', index: orders, id: order_id, ca_file: '{}'",
            tls_file("ca.pem")
        ),
        "",
    );
    run_job(d, &j, &[]).success();
    assert_eq!(os.count("orders"), 4);

    let j = job(
        d,
        &format!(
            "url: '{url}', index: other, id: order_id, max_retries: 0, ca_file: '{}'",
            tls_file("other-ca.pem")
        ),
        "",
    );
    let out = run_job(d, &j, &[]);
    out.failure();
    assert!(
        out.stderr.to_lowercase().contains("certificate"),
        "a certificate error: {}",
        out.stderr
    );
}

#[test]
fn the_bundled_example_indexes_every_order_by_month() {
    let os = Osmem::start();
    let url = os.url();
    let out = fust(
        &repo_root(),
        &["run", "--quiet", "examples/csv_to_elasticsearch.yaml"],
        &[("ES_URL", url.as_str())],
    );
    out.success();
    let text =
        std::fs::read_to_string(repo_root().join("examples/data/orders.csv")).expect("orders.csv");
    let orders = &parse_csv(&text)[1..];
    let months: std::collections::BTreeSet<String> = orders
        .iter()
        .map(|o| format!("orders-{}", o[4][..7].replace('-', ".")))
        .collect();
    assert_eq!(os.indices(), months.into_iter().collect::<Vec<_>>());
    let total: u64 = os.indices().iter().map(|i| os.count(i)).sum();
    assert_eq!(total, orders.len() as u64);
}
