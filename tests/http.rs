//! The `http` input against a local REST API the tests start (axum, in this process):
//! every pagination style, authentication, 429 with Retry-After, a 500 then success, a
//! slow page, malformed JSON, an OAuth2 token that expires mid-run, incremental reads,
//! the rate limit, and bad records.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use common::*;
use serde_json::{Value, json};

/// 25 orders; `updated_at` grows with `id`.
fn orders() -> Vec<Value> {
    (1..=25)
        .map(|i| {
            json!({
                "id": i,
                "customer": format!("c{}", i % 4),
                "amount": i as f64 * 10.5,
                "updated_at": format!("2026-01-{i:02}T00:00:00Z"),
            })
        })
        .collect()
}

#[derive(Default)]
struct Api {
    /// Requests per path.
    hits: Mutex<HashMap<String, u64>>,
    tokens_issued: AtomicU64,
    /// Orders the API holds (incremental tests add more).
    extra: Mutex<Vec<Value>>,
    /// Request times of `/paced`.
    times: Mutex<Vec<Instant>>,
}

impl Api {
    fn hit(&self, path: &str) -> u64 {
        let mut h = self.hits.lock().expect("lock");
        let n = h.entry(path.to_string()).or_default();
        *n += 1;
        *n
    }

    fn hits(&self, path: &str) -> u64 {
        self.hits
            .lock()
            .expect("lock")
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    fn all(&self) -> Vec<Value> {
        let mut all = orders();
        all.extend(self.extra.lock().expect("lock").iter().cloned());
        all
    }
}

type Params = Query<HashMap<String, String>>;

fn num(p: &HashMap<String, String>, key: &str, default: usize) -> usize {
    p.get(key).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn slice(all: &[Value], from: usize, n: usize) -> Vec<Value> {
    all.iter().skip(from).take(n).cloned().collect()
}

fn authorized(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected)
}

async fn cursor(State(api): State<Arc<Api>>, headers: HeaderMap, Query(p): Params) -> Response {
    api.hit("/cursor");
    if !authorized(&headers, "Bearer s3cret") || p.get("status").map(String::as_str) != Some("paid")
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let from = num(&p, "cursor", 0);
    let items = slice(&api.all(), from, 10);
    let next = (from + 10 < 25).then(|| (from + 10).to_string());
    axum::Json(json!({"data": {"items": items}, "meta": {"next_cursor": next}})).into_response()
}

async fn offset(Query(p): Params) -> Response {
    let items = slice(&orders(), num(&p, "offset", 0), num(&p, "limit", 100));
    axum::Json(Value::Array(items)).into_response()
}

async fn page(Query(p): Params) -> Response {
    let size = num(&p, "per_page", 10);
    let items = slice(&orders(), (num(&p, "page", 1).max(1) - 1) * size, size);
    axum::Json(json!({"results": items})).into_response()
}

async fn next_url(Query(p): Params) -> Response {
    let from = num(&p, "from", 0);
    let next = (from + 10 < 25).then(|| format!("/next?from={}", from + 10));
    axum::Json(json!({"items": slice(&orders(), from, 10), "links": {"next": next}}))
        .into_response()
}

async fn link(Query(p): Params) -> Response {
    let from = num(&p, "from", 0);
    let mut resp = axum::Json(Value::Array(slice(&orders(), from, 10))).into_response();
    if from + 10 < 25 {
        let value = format!(
            "</link?from=0>; rel=\"first\", </link?from={}>; rel=\"next\"",
            from + 10
        );
        resp.headers_mut()
            .insert(header::LINK, value.parse().expect("in a test"));
    }
    resp
}

/// The first request of each run gets 429 with `Retry-After: 1`.
async fn busy(State(api): State<Arc<Api>>) -> Response {
    if api.hit("/busy") % 2 == 1 {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            "slow down",
        )
            .into_response();
    }
    axum::Json(Value::Array(orders())).into_response()
}

/// The first request gets a 500.
async fn flaky(State(api): State<Arc<Api>>) -> Response {
    if api.hit("/flaky") == 1 {
        return (StatusCode::INTERNAL_SERVER_ERROR, "database restarting").into_response();
    }
    axum::Json(Value::Array(orders())).into_response()
}

/// The first request of page 2 takes 3 s (the job's timeout is 1 s); the retry is fast.
async fn slow(State(api): State<Arc<Api>>, Query(p): Params) -> Response {
    let page = num(&p, "page", 1);
    if page == 2 && api.hit("/slow page 2") == 1 {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    axum::Json(Value::Array(slice(&orders(), (page - 1) * 10, 10))).into_response()
}

/// Page 2 is cut off in the middle of a record.
async fn malformed(Query(p): Params) -> Response {
    match num(&p, "page", 1) {
        1 => axum::Json(Value::Array(slice(&orders(), 0, 10))).into_response(),
        2 => (
            [(header::CONTENT_TYPE, "application/json")],
            "[{\"id\": 11, \"customer\": \"c3\",\n {\"id\"",
        )
            .into_response(),
        _ => axum::Json(json!([])).into_response(),
    }
}

async fn token(State(api): State<Arc<Api>>, headers: HeaderMap, body: String) -> Response {
    // client_id "fust", client_secret "pw", as HTTP basic.
    if !authorized(&headers, "Basic ZnVzdDpwdw==")
        || !body.contains("grant_type=client_credentials")
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let n = api.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
    axum::Json(json!({"access_token": format!("t{n}"), "token_type": "bearer", "expires_in": 3600}))
        .into_response()
}

/// Each token is good for two pages, then 401 (it "expired" before its `expires_in`).
async fn oauth_orders(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Query(p): Params,
) -> Response {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let current = format!("t{}", api.tokens_issued.load(Ordering::SeqCst));
    if token != current || api.hit(&format!("/oauth {token}")) > 2 {
        return (StatusCode::UNAUTHORIZED, "token expired").into_response();
    }
    let from = num(&p, "offset", 0);
    axum::Json(Value::Array(slice(&orders(), from, num(&p, "limit", 10)))).into_response()
}

/// Orders updated at or after `since` (inclusive, as many APIs are).
async fn incremental(State(api): State<Arc<Api>>, Query(p): Params) -> Response {
    api.hit("/incremental");
    let since = p.get("since").cloned().unwrap_or_default();
    let items: Vec<Value> = api
        .all()
        .into_iter()
        .filter(|o| o["updated_at"].as_str().unwrap_or("") >= since.as_str())
        .collect();
    axum::Json(json!({"items": items})).into_response()
}

async fn key(headers: HeaderMap, Query(p): Params) -> Response {
    let by_header = headers.get("x-api-key").and_then(|v| v.to_str().ok()) == Some("k1");
    let by_param = p.get("api_key").map(String::as_str) == Some("k1");
    let by_basic = authorized(&headers, "Basic dTpw"); // u:p
    if !(by_header || by_param || by_basic) {
        return (StatusCode::FORBIDDEN, "bad key").into_response();
    }
    axum::Json(Value::Array(slice(&orders(), 0, 3))).into_response()
}

async fn ndjson() -> Response {
    let body = "{\"id\": 1, \"amount\": 10}\n{\"id\": 2, \"amount\": oops}\n{\"id\": 3, \"amount\": 30}\n{\"id\": \"four\", \"amount\": 40}\n";
    ([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response()
}

async fn csv_body() -> Response {
    (
        [(header::CONTENT_TYPE, "text/csv")],
        "id,name\n1,ann\n2,bob\n",
    )
        .into_response()
}

async fn paced(State(api): State<Arc<Api>>, Query(p): Params) -> Response {
    api.times.lock().expect("lock").push(Instant::now());
    let page = num(&p, "page", 1);
    axum::Json(Value::Array(slice(&orders(), (page - 1) * 5, 5))).into_response()
}

async fn post_search(body: String) -> Response {
    let query: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let min = query["min_id"].as_i64().unwrap_or(0);
    let items: Vec<Value> = orders()
        .into_iter()
        .filter(|o| o["id"].as_i64() >= Some(min))
        .collect();
    axum::Json(Value::Array(items)).into_response()
}

/// Starts the API on a free port, in its own thread; it lives as long as the test.
fn start_api() -> (SocketAddr, Arc<Api>) {
    let api = Arc::new(Api::default());
    let app = Router::new()
        .route("/cursor", get(cursor))
        .route("/offset", get(offset))
        .route("/page", get(page))
        .route("/next", get(next_url))
        .route("/link", get(link))
        .route("/busy", get(busy))
        .route("/flaky", get(flaky))
        .route("/slow", get(slow))
        .route("/malformed", get(malformed))
        .route("/oauth/token", post(token))
        .route("/oauth/orders", get(oauth_orders))
        .route("/incremental", get(incremental))
        .route("/key", get(key))
        .route("/ndjson", get(ndjson))
        .route("/csv", get(csv_body))
        .route("/paced", get(paced))
        .route("/search", post(post_search))
        .route(
            "/redirect",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "http://localhost:9/elsewhere")],
                )
            }),
        )
        .with_state(api.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    (addr, api)
}

/// Runs the job `input` (the `http` input's lines) into `out.json`; returns the ids read.
fn run_into_json(d: &std::path::Path, input: &str, extra: &str) -> (Out, Vec<i64>) {
    let job = write_file(
        d,
        "job.yaml",
        format!("input:\n{input}output: {{type: json, path: out.json}}\n{extra}"),
    );
    let out = run_job(d, &job, &[("API_TOKEN", "s3cret")]);
    let mut ids: Vec<i64> = if out.code == Some(0) {
        read_rows(&d.join("out.json"))
            .into_iter()
            .map(|r| r[0].parse().expect("an id"))
            .collect()
    } else {
        Vec::new()
    };
    ids.sort();
    (out, ids)
}

fn all_ids() -> Vec<i64> {
    (1..=25).collect()
}

#[test]
fn cursor_pagination_with_bearer_auth_params_and_records_path() {
    let (addr, api) = start_api();
    let dir = tempdir();
    let (out, ids) = run_into_json(
        dir.path(),
        &format!(
            "  type: http\n  url: http://{addr}/cursor\n  params: {{status: paid}}\n  auth: {{type: bearer, token: \"${{API_TOKEN}}\"}}\n  records_path: data.items\n  pagination: {{type: cursor, cursor_path: meta.next_cursor, cursor_param: cursor}}\n  requests_per_second: 20\n"
        ),
        "",
    );
    out.success();
    assert_eq!(ids, all_ids());
    assert_eq!(api.hits("/cursor"), 3, "three pages of 10, 10 and 5");
    let rows = read_rows(&dir.path().join("out.json"));
    let first = rows.iter().find(|r| r[0] == "1").expect("order 1");
    assert_eq!(first[1..], ["c1", "10.5", "2026-01-01T00:00:00Z"]);
}

#[test]
fn offset_page_next_url_and_link_header_pagination() {
    let (addr, _) = start_api();
    for (name, pagination, path, records_path) in [
        (
            "offset",
            "{type: offset, limit: 10, limit_param: limit, offset_param: offset}",
            "offset",
            "",
        ),
        (
            "page",
            "{type: page, page_param: page, size: 10, size_param: per_page, start: 1}",
            "page",
            "  records_path: results\n",
        ),
        (
            "next_url",
            "{type: next_url, next_path: links.next}",
            "next",
            "  records_path: items\n",
        ),
        ("link_header", "{type: link_header}", "link", ""),
    ] {
        let dir = tempdir();
        let (out, ids) = run_into_json(
            dir.path(),
            &format!(
                "  type: http\n  url: http://{addr}/{path}\n{records_path}  pagination: {pagination}\n"
            ),
            "",
        );
        out.success();
        assert_eq!(ids, all_ids(), "{name}");
    }
}

#[test]
fn a_429_waits_for_retry_after_and_a_500_is_retried() {
    let (addr, api) = start_api();
    let dir = tempdir();
    let started = Instant::now();
    let (out, ids) = run_into_json(
        dir.path(),
        &format!("  type: http\n  url: http://{addr}/busy\n"),
        "",
    );
    out.success();
    assert_eq!(ids, all_ids());
    assert_eq!(api.hits("/busy"), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );

    let dir = tempdir();
    let (out, ids) = run_into_json(
        dir.path(),
        &format!("  type: http\n  url: http://{addr}/flaky\n"),
        "",
    );
    out.success();
    assert_eq!(ids, all_ids());
    assert_eq!(api.hits("/flaky"), 2);
}

#[test]
fn a_slow_page_times_out_and_is_fetched_again() {
    let (addr, api) = start_api();
    let dir = tempdir();
    let (out, ids) = run_into_json(
        dir.path(),
        &format!(
            "  type: http\n  url: http://{addr}/slow\n  timeout: 1s\n  pagination: {{type: page, size: 10}}\n"
        ),
        "",
    );
    out.success();
    assert_eq!(ids, all_ids());
    assert_eq!(
        api.hits("/slow page 2"),
        2,
        "page 2 timed out once, then came"
    );

    // With no retries the timeout fails the run, naming the page.
    let (addr, _) = start_api();
    let dir = tempdir();
    let (out, _) = run_into_json(
        dir.path(),
        &format!(
            "  type: http\n  url: http://{addr}/slow\n  timeout: 1s\n  max_retries: 0\n  pagination: {{type: page, size: 10}}\n"
        ),
        "",
    );
    out.failure();
    assert!(
        out.stderr
            .contains(&format!("http://{addr}/slow?page=2 (page 2)")),
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("out.json").exists(), "nothing published");
}

#[test]
fn a_malformed_page_fails_naming_the_url_page_and_position() {
    let (addr, _) = start_api();
    let dir = tempdir();
    let (out, _) = run_into_json(
        dir.path(),
        &format!("  type: http\n  url: http://{addr}/malformed\n  pagination: {{type: page}}\n"),
        "",
    );
    out.failure();
    assert!(
        out.stderr
            .contains(&format!("http://{addr}/malformed?page=2 page 2"))
            && out.stderr.contains("invalid JSON at line 2 column"),
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("out.json").exists(), "nothing published");
}

#[test]
fn an_oauth2_token_that_expires_mid_run_is_fetched_again() {
    let (addr, api) = start_api();
    let dir = tempdir();
    let (out, ids) = run_into_json(
        dir.path(),
        &format!(
            "  type: http\n  url: http://{addr}/oauth/orders\n  auth: {{type: oauth2, token_url: http://{addr}/oauth/token, client_id: fust, client_secret: pw}}\n  pagination: {{type: offset, limit: 10}}\n"
        ),
        "",
    );
    out.success();
    assert_eq!(ids, all_ids());
    // Pages 1–2 with t1, then a 401, then pages 3 (the last, short) with t2.
    assert_eq!(api.tokens_issued.load(Ordering::SeqCst), 2);

    let dir = tempdir();
    let (out, _) = run_into_json(
        dir.path(),
        &format!(
            "  type: http\n  url: http://{addr}/oauth/orders\n  auth: {{type: oauth2, token_url: http://{addr}/oauth/token, client_id: fust, client_secret: wrong}}\n"
        ),
        "",
    );
    out.failure();
    assert!(
        out.stderr.contains("auth.token_url") && out.stderr.contains("401"),
        "{}",
        out.stderr
    );
}

#[test]
fn api_keys_in_a_header_or_the_query_and_basic_auth() {
    let (addr, _) = start_api();
    for auth in [
        "{type: api_key, key: k1}",
        "{type: api_key, key: k1, param: api_key}",
        "{type: basic, username: u, password: p}",
    ] {
        let dir = tempdir();
        let (out, ids) = run_into_json(
            dir.path(),
            &format!("  type: http\n  url: http://{addr}/key\n  auth: {auth}\n"),
            "",
        );
        out.success();
        assert_eq!(ids, [1, 2, 3], "{auth}");
    }
    let dir = tempdir();
    let (out, _) = run_into_json(
        dir.path(),
        &format!(
            "  type: http\n  url: http://{addr}/key\n  auth: {{type: api_key, key: nope, param: api_key}}\n"
        ),
        "",
    );
    out.failure();
    assert!(
        out.stderr.contains("403") && out.stderr.contains("bad key"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("nope"),
        "the key is masked in messages: {}",
        out.stderr
    );
}

#[test]
fn incremental_reads_send_the_stored_cursor_and_drop_what_was_read() {
    let (addr, api) = start_api();
    let dir = tempdir();
    let input = format!(
        "  type: http\n  url: http://{addr}/incremental\n  records_path: items\n  cursor_field: updated_at\n  cursor_param: since\n  state_file: state.json\n  schema: {{id: bigint, customer: varchar, amount: double, updated_at: varchar}}\n"
    );
    let (out, ids) = run_into_json(dir.path(), &input, "");
    out.success();
    assert_eq!(ids, all_ids());
    let state = std::fs::read_to_string(dir.path().join("state.json")).expect("state saved");
    assert!(state.contains("2026-01-25T00:00:00Z"), "{state}");

    // Two new orders; the API answers `since` inclusively, so order 25 comes again and is dropped.
    api.extra.lock().expect("lock").extend([
        json!({"id": 26, "customer": "c2", "amount": 1.0, "updated_at": "2026-02-01T00:00:00Z"}),
        json!({"id": 27, "customer": "c3", "amount": 2.0, "updated_at": "2026-02-02T00:00:00Z"}),
    ]);
    let (out, ids) = run_into_json(dir.path(), &input, "");
    out.success();
    assert_eq!(ids, [26, 27]);

    // Nothing new: an empty output, the mark kept.
    let (out, ids) = run_into_json(dir.path(), &input, "");
    out.success();
    assert!(ids.is_empty());
    let state = std::fs::read_to_string(dir.path().join("state.json")).expect("state saved");
    assert!(state.contains("2026-02-02T00:00:00Z"), "{state}");
}

#[test]
fn bad_ndjson_lines_fail_the_run_or_go_to_the_dead_letter_output() {
    let (addr, _) = start_api();
    let input = format!(
        "  type: http\n  url: http://{addr}/ndjson\n  format: ndjson\n  schema: {{id: bigint, amount: bigint}}\n"
    );
    let dir = tempdir();
    let (out, _) = run_into_json(dir.path(), &input, "");
    out.failure();
    assert!(
        out.stderr
            .contains(&format!("http://{addr}/ndjson page 1 record 2"))
            && out.stderr.contains("invalid JSON"),
        "{}",
        out.stderr
    );

    let dir = tempdir();
    let (out, ids) = run_into_json(
        dir.path(),
        &input,
        "dead_letter: {type: json, path: rejects.json}\nsettings: {on_error: dead_letter, max_errors: 2}\n",
    );
    out.success();
    assert_eq!(ids, [1, 3]);
    let rejects = read_rows_ordered(&dir.path().join("rejects.json"));
    assert_eq!(rejects.len(), 2, "{rejects:?}");
    // raw, reason, stage, position
    assert_eq!(rejects[0][0], "{\"id\": 2, \"amount\": oops}");
    assert!(rejects[0][1].contains("invalid JSON"), "{:?}", rejects[0]);
    assert_eq!(rejects[0][2], "input");
    assert_eq!(
        rejects[0][3],
        format!("http://{addr}/ndjson page 1 record 2")
    );
    assert!(
        rejects[1][1].contains("four"),
        "the decoder's reason: {:?}",
        rejects[1]
    );
    assert_eq!(
        rejects[1][3],
        format!("http://{addr}/ndjson page 1 record 4")
    );

    // One allowed, two found: the run fails and publishes nothing.
    let dir = tempdir();
    let (out, _) = run_into_json(
        dir.path(),
        &input,
        "dead_letter: {type: json, path: rejects.json}\nsettings: {on_error: dead_letter, max_errors: 1}\n",
    );
    out.failure();
    assert!(out.stderr.contains("max_errors (1)"), "{}", out.stderr);
    assert!(!dir.path().join("out.json").exists() && !dir.path().join("rejects.json").exists());
}

#[test]
fn csv_bodies_post_bodies_and_the_rate_limit() {
    let (addr, api) = start_api();
    let dir = tempdir();
    let job = write_file(
        dir.path(),
        "job.yaml",
        format!(
            "input: {{type: http, url: 'http://{addr}/csv', format: csv}}\noutput: {{type: csv, path: out.csv}}\n"
        ),
    );
    run_job(dir.path(), &job, &[]).success();
    assert_eq!(
        read_rows_ordered(&dir.path().join("out.csv")),
        rows(&[&["1", "ann"], &["2", "bob"]])
    );

    let dir = tempdir();
    let (out, ids) = run_into_json(
        dir.path(),
        &format!(
            "  type: http\n  url: http://{addr}/search\n  method: POST\n  body: {{min_id: 24}}\n"
        ),
        "",
    );
    out.success();
    assert_eq!(ids, [24, 25]);

    let dir = tempdir();
    let (out, ids) = run_into_json(
        dir.path(),
        &format!(
            "  type: http\n  url: http://{addr}/paced\n  pagination: {{type: page, size: 5}}\n  requests_per_second: 5\n"
        ),
        "",
    );
    out.success();
    assert_eq!(ids, all_ids());
    let times = api.times.lock().expect("lock").clone();
    assert_eq!(times.len(), 6, "five full pages and an empty one");
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(190),
            "requests 1/5 s apart: {gap:?}"
        );
    }
}

#[test]
fn options_are_checked_before_any_request() {
    let dir = tempdir();
    let job = write_file(
        dir.path(),
        "job.yaml",
        "input: {type: http, url: 'ftp://x/y'}\noutput: {type: console}\n",
    );
    let out = fust(
        dir.path(),
        &["validate", job.to_str().expect("in a test")],
        &[],
    );
    out.failure();
    assert!(
        out.stderr.contains("url") && out.stderr.contains("not an http"),
        "{}",
        out.stderr
    );
    let job = write_file(
        dir.path(),
        "job.yaml",
        "input: {type: http, url: 'http://127.0.0.1:9/x', format: csv, pagination: {type: cursor, cursor_path: a, cursor_param: b}}\noutput: {type: console}\n",
    );
    let out = fust(
        dir.path(),
        &["validate", job.to_str().expect("in a test")],
        &[],
    );
    out.failure();
    assert!(out.stderr.contains("pagination"), "{}", out.stderr);
}

#[test]
fn the_bundled_example_reads_every_page_then_only_what_is_new() {
    let (addr, api) = start_api();
    let dir = tempdir();
    let d = dir.path();
    let example = repo_root().join("examples/http_orders_api.yaml");
    let url = format!("http://{addr}/cursor");
    let env = [("API_URL", url.as_str()), ("API_TOKEN", "s3cret")];
    run_job(d, &example, &env).success();
    let ids = |rows: Vec<Vec<String>>| -> Vec<i64> {
        let mut ids: Vec<i64> = rows.iter().map(|r| r[0].parse().expect("an id")).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(read_rows(&d.join("out/api_orders.parquet"))), all_ids());
    assert_eq!(api.hits("/cursor"), 3);
    // The API ignores `since`, so the second run gets every page again and keeps none.
    run_job(d, &example, &env).success();
    assert!(read_rows(&d.join("out/api_orders.parquet")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_fust_serve_the_cursor_lives_in_the_metadata_store() {
    let (addr, api) = start_api();
    let dir = tempdir();
    let server = server::Server::start_in(dir.path());
    let job = format!(
        "name: api\ninput:\n  type: http\n  url: http://{addr}/incremental\n  records_path: items\n  \
         cursor_field: updated_at\n  cursor_param: since\n  \
         schema: {{id: bigint, customer: varchar, amount: double, updated_at: varchar}}\n\
         output: {{type: csv, path: out/api.csv}}\n"
    );
    let (status, created) = server.post("/jobs", &job).await;
    assert_eq!(status, 201, "{created}");
    let run = || async {
        let (status, run) = server.post("/jobs/api/runs", "").await;
        assert_eq!(status, 202, "{run}");
        let id = run["id"].as_str().expect("a run id").to_string();
        let done = server.wait_run(&id, Duration::from_secs(60)).await;
        assert_eq!(done["state"], "succeeded", "{done}\n{}", server.log_text());
        done["rows_out"].as_i64().expect("rows_out")
    };
    assert_eq!(run().await, 25);
    api.extra.lock().expect("lock").push(json!(
        {"id": 26, "customer": "c2", "amount": 1.0, "updated_at": "2026-02-01T00:00:00Z"}
    ));
    assert_eq!(run().await, 1, "only the new order");
    assert!(
        !dir.path().join(".fust/state.json").exists(),
        "no state file"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_under_fust_serve_cannot_reach_the_metadata_service_or_be_redirected_away() {
    let (addr, _) = start_api();
    let dir = tempdir();
    let server = server::Server::start_in(dir.path());
    for (input, expected) in [
        (
            "{type: http, url: 'http://169.254.169.254/latest/meta-data/iam/'}".to_string(),
            "may not connect to 169.254.169.254",
        ),
        (
            "{type: http, url: 'http://[::ffff:169.254.169.254]/'}".to_string(),
            "a link-local or cloud metadata address",
        ),
        (
            format!("{{type: http, url: 'http://{addr}/redirect'}}"),
            "a redirect to another host (http://localhost:9) is not followed",
        ),
    ] {
        let job = format!("input: {input}\noutput: {{type: console}}\n");
        let (status, body) = server.post("/validate", &job).await;
        assert_eq!(status, 422, "{job}: {body}");
        assert!(body.to_string().contains(expected), "{job}: {body}");
    }
}
