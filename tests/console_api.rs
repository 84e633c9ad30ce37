//! What the web console needs from `fust serve`, over real HTTP and a real WebSocket client:
//! live events over WebSocket equal to the Server-Sent Events, their auth (header or
//! subprotocol) and origin rules; `/explain`, enabling and disabling jobs, the jobs' last
//! runs, `/overview` against `/metrics`; the console's files and headers; and
//! `web/openapi.json` equal to the served document.

#![allow(clippy::unwrap_used)] // helpers here fail the test they serve

mod common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use common::server::{Server, ServerOptions, sqlite_url};
use common::{PG_URL, fust, repo_root, write_file};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const CSV: &str = "id,name,amount\n1,ann,10.5\n2,bob,20\n3,cy,30.25\n4,dee,5\n";
const WAIT: Duration = Duration::from_secs(30);

fn job(name: &str, extra: &str) -> String {
    format!(
        "name: {name}
input:
  type: csv
  path: data/orders.csv
pipeline:
  processors:
    - type: filter
      condition: amount > 6
output:
  type: csv
  path: out/{name}.csv
{extra}"
    )
}

fn server_with(dir: &std::path::Path, token: Option<&str>) -> Server {
    Server::start(ServerOptions {
        dir,
        metadata: sqlite_url(dir),
        config: None,
        env: vec![],
        token: token.map(str::to_string),
        args: vec![],
    })
}

// ---------- WebSocket and SSE clients ----------

/// Opens a WebSocket to `path` with these extra request headers.
async fn ws_connect(
    server: &Server,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(Ws, tungstenite::handshake::client::Response), u16> {
    let url = format!("{}{path}", server.base.replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    for (k, v) in headers {
        req.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok(ok) => Ok(ok),
        Err(tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("WebSocket to {path}: {e}"),
    }
}

/// The next event of a WebSocket; None when it closed (with the close frame's code).
async fn ws_next(ws: &mut Ws) -> Result<Value, Option<CloseCode>> {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a WebSocket message within 30 s");
        match msg {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(t.as_str()).unwrap()),
            Some(Ok(Message::Close(frame))) => return Err(frame.map(|f| f.code)),
            None => return Err(None),
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("WebSocket error: {e}"),
        }
    }
}

/// Reads Server-Sent Events.
struct Sse {
    resp: reqwest::Response,
    buf: String,
}

impl Sse {
    async fn open(server: &Server, path: &str) -> Sse {
        let resp = server
            .client
            .get(server.url(path))
            .timeout(Duration::from_secs(600))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        Sse {
            resp,
            buf: String::new(),
        }
    }

    /// The next event's data; None at the end of the stream.
    async fn next(&mut self) -> Option<Value> {
        loop {
            if let Some(i) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..i + 2).collect();
                if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                    assert!(block.contains("event: state"), "{block}");
                    return Some(serde_json::from_str(data).unwrap());
                }
                continue;
            }
            let chunk = tokio::time::timeout(WAIT, self.resp.chunk())
                .await
                .expect("an event within 30 s")
                .unwrap()?;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

fn terminal(ev: &Value) -> bool {
    matches!(
        ev["state"].as_str(),
        Some("succeeded" | "failed" | "cancelled")
    )
}

fn without_at(ev: &Value) -> Value {
    let mut ev = ev.clone();
    ev.as_object_mut().unwrap().remove("at");
    ev
}

// ---------- the tests ----------

/// The token in a header or in the `bearer.` subprotocol; a wrong or missing one is 401,
/// another site's page 403 (also with the right token), not an upgrade 426, no such run
/// 404; a client that sends too much is disconnected.
#[tokio::test]
async fn websocket_auth_origin_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    // Characters a subprotocol cannot carry as they are: `+`, `/`, `=`, `?`.
    let token = "tok+en/=1?";
    let server = server_with(dir.path(), Some(token));
    let bearer = format!("Bearer {token}");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token);
    let protocols = format!("fust, bearer.{b64}");

    // The header.
    let (mut ws, resp) = ws_connect(&server, "/events/ws", &[("authorization", &bearer)])
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 101);
    ws.close(None).await.unwrap();
    // The subprotocol, as a browser sends it: the server answers `fust`.
    let (mut ws, resp) = ws_connect(
        &server,
        "/events/ws",
        &[("sec-websocket-protocol", &protocols)],
    )
    .await
    .unwrap();
    assert_eq!(resp.headers()["sec-websocket-protocol"], "fust");
    // A small message is ignored; a big one closes the socket.
    ws.send(Message::text("hello")).await.unwrap();
    ws.send(Message::text("x".repeat(10_000))).await.unwrap();
    let closed = tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(_)) => {}
                None | Some(Err(_)) => return None,
            }
        }
    })
    .await
    .expect("the socket closes after an oversized message");
    assert!(matches!(closed, None | Some(CloseCode::Size)), "{closed:?}");

    // Wrong or missing tokens.
    let wrong = format!(
        "fust, bearer.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("wrong")
    );
    for headers in [
        vec![],
        vec![("sec-websocket-protocol", "fust")],
        vec![("sec-websocket-protocol", wrong.as_str())],
        vec![("sec-websocket-protocol", "fust, bearer.%%%")],
        vec![("authorization", "Bearer wrong")],
    ] {
        for path in ["/events/ws", "/runs/x/ws"] {
            assert_eq!(
                ws_connect(&server, path, &headers).await.err(),
                Some(401),
                "{path} {headers:?}"
            );
        }
    }
    // Another site's page, even with the token; the server's own page may.
    let evil = [
        ("sec-websocket-protocol", protocols.as_str()),
        ("origin", "http://evil.example"),
    ];
    assert_eq!(
        ws_connect(&server, "/events/ws", &evil).await.err(),
        Some(403)
    );
    let own_origin = server.base.clone();
    let own = [
        ("sec-websocket-protocol", protocols.as_str()),
        ("origin", own_origin.as_str()),
    ];
    let (mut ws, _) = ws_connect(&server, "/events/ws", &own).await.unwrap();
    ws.close(None).await.unwrap();
    // No such run; not an upgrade.
    assert_eq!(
        ws_connect(&server, "/runs/nope/ws", &[("authorization", &bearer)])
            .await
            .err(),
        Some(404)
    );
    let plain = server
        .client
        .get(server.url("/events/ws"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status().as_u16(), 426);
    assert_eq!(plain.headers()["upgrade"], "websocket");
    let body: Value = plain.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("WebSocket"),
        "{body}"
    );
    // The token in a subprotocol counts only on an upgrade.
    let r = server
        .client
        .get(server.url("/jobs"))
        .header("sec-websocket-protocol", &protocols)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

/// A slow job (PostgreSQL sleeps): the same events, the same JSON, over WebSocket and SSE,
/// for one run (from its pending state to its end, when both close) and for every run.
#[tokio::test]
async fn websocket_events_equal_the_sse_streams() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(dir.path(), None);
    let slow = format!(
        "name: slow
input:
  type: postgres
  url: {PG_URL}
  query: SELECT g FROM generate_series(1, 2) g, pg_sleep(1.2) s
output:
  type: csv
  path: out/slow.csv
"
    );
    let (status, body) = server.post("/jobs", &slow).await;
    assert_eq!(status, 201, "{body}");

    // Every run's events, from before the runs exist.
    let (mut all_ws, _) = ws_connect(&server, "/events/ws", &[]).await.unwrap();
    let mut all_sse = Sse::open(&server, "/events").await;

    // Run A holds the job's turn; run B waits behind it, pending, while we connect.
    let (_, a) = server.post("/jobs/slow/runs", "").await;
    let (_, b) = server.post("/jobs/slow/runs", "").await;
    let (a, b) = (
        a["id"].as_str().unwrap().to_string(),
        b["id"].as_str().unwrap().to_string(),
    );
    let (mut run_ws, _) = ws_connect(&server, &format!("/runs/{b}/ws"), &[])
        .await
        .unwrap();
    let mut run_sse = Sse::open(&server, &format!("/runs/{b}/events")).await;

    let mut over_ws = Vec::new();
    let close = loop {
        match ws_next(&mut run_ws).await {
            Ok(ev) => over_ws.push(ev),
            Err(code) => break code,
        }
    };
    assert_eq!(close, Some(CloseCode::Normal), "closes after the end");
    let mut over_sse = Vec::new();
    while let Some(ev) = run_sse.next().await {
        over_sse.push(ev);
    }
    assert_eq!(over_ws[0]["state"], "pending", "{over_ws:?}");
    assert_eq!(without_at(&over_ws[0]), without_at(&over_sse[0]));
    assert_eq!(
        over_ws[1..],
        over_sse[1..],
        "the same events after the first"
    );
    let last = over_ws.last().unwrap();
    assert_eq!(last["state"], "succeeded", "{over_ws:?}");
    assert_eq!(last["rows_out"], 2);
    assert!(
        over_ws
            .iter()
            .all(|e| e["run_id"] == b.as_str() && e["job"] == "slow")
    );
    assert!(
        over_ws.iter().any(|e| e["state"] == "running"),
        "{over_ws:?}"
    );

    // Every run: the same sequence on both, both runs to their end.
    let until_both_end = |events: &[Value]| {
        [&a, &b].iter().all(|id| {
            events
                .iter()
                .any(|e| e["run_id"] == id.as_str() && terminal(e))
        })
    };
    let mut all_over_ws = Vec::new();
    while !until_both_end(&all_over_ws) {
        all_over_ws.push(ws_next(&mut all_ws).await.unwrap());
    }
    let mut all_over_sse = Vec::new();
    while all_over_sse.len() < all_over_ws.len() {
        all_over_sse.push(all_sse.next().await.unwrap());
    }
    assert_eq!(all_over_ws, all_over_sse);
    for id in [&a, &b] {
        let states: Vec<&str> = all_over_ws
            .iter()
            .filter(|e| e["run_id"] == id.as_str())
            .map(|e| e["state"].as_str().unwrap())
            .collect();
        assert_eq!(states.first(), Some(&"running"), "{id}: {states:?}");
        assert_eq!(states.last(), Some(&"succeeded"), "{id}: {states:?}");
    }

    // A watcher that connects later starts with the runs still active (none now).
    let (mut late, _) = ws_connect(&server, "/events/ws", &[]).await.unwrap();
    let (_, c) = server.post("/jobs/slow/runs", "").await;
    let first = ws_next(&mut late).await.unwrap();
    assert_eq!(first["run_id"], c["id"], "{first}");
}

/// `/explain` prints what `fust explain` prints; jobs can be disabled (no cron or `after:`
/// runs, manual runs still start) and enabled; the jobs list shows each job's last run;
/// `/overview` agrees with `/metrics`.
#[tokio::test]
async fn explain_enable_disable_last_run_and_overview() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "data/orders.csv", CSV);
    let server = server_with(dir.path(), None);

    // Explain: the CLI's text.
    let text = job("orders", "");
    let (status, explained) = server.post("/explain", &text).await;
    assert_eq!(status, 200, "{explained}");
    write_file(dir.path(), "orders.yaml", &text);
    let cli = fust(dir.path(), &["explain", "orders.yaml"], &[]);
    cli.success();
    assert_eq!(explained["plan"].as_str().unwrap(), cli.stdout.trim_end());
    assert!(cli.stdout.contains("physical_plan"), "{}", cli.stdout);
    let (status, bad) = server
        .post(
            "/explain",
            "input: {type: csv, path: data/orders.csv}\noutput: {type: nope}\n",
        )
        .await;
    assert_eq!(status, 422, "{bad}");
    assert!(bad["error"].as_str().unwrap().contains(":2:"), "{bad}");

    // A cron job every second: enabled by default, with its next time.
    let ticker = job("ticker", "schedule:\n  cron: \"* * * * * *\"\n");
    let (status, created) = server.post("/jobs", &ticker).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["enabled"], true);
    assert!(created["next_run_at"].is_i64(), "{created}");
    assert_eq!(created["last_run"], Value::Null);
    let runs_of = |job: &'static str| {
        let server = &server;
        async move {
            server
                .get_json(&format!("/runs?job={job}"))
                .await
                .as_array()
                .unwrap()
                .clone()
        }
    };
    let start = Instant::now();
    while runs_of("ticker").await.is_empty() {
        assert!(start.elapsed() < WAIT, "no cron run within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Disabled: no cron runs; a manual run still starts.
    let (status, off) = server.post("/jobs/ticker/disable", "").await;
    assert_eq!(status, 200, "{off}");
    assert_eq!(
        (off["enabled"].clone(), off["next_run_at"].clone()),
        (Value::Bool(false), Value::Null)
    );
    assert_eq!(off["version"], 1, "no new version");
    for run in runs_of("ticker").await {
        server.wait_run(run["id"].as_str().unwrap(), WAIT).await;
    }
    let before = runs_of("ticker").await.len();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        runs_of("ticker").await.len(),
        before,
        "a disabled job ran by cron"
    );
    let (status, manual) = server.post("/jobs/ticker/runs", "").await;
    assert_eq!(status, 202, "{manual}");
    let manual_id = manual["id"].as_str().unwrap();
    let done = server.wait_run(manual_id, WAIT).await;
    assert_eq!(done["state"], "succeeded", "{done}");

    // The last run, in the list (one request) and for one job.
    let jobs = server.get_json("/jobs").await;
    let listed = jobs
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == "ticker")
        .unwrap()
        .clone();
    assert_eq!(listed["enabled"], false);
    assert_eq!(listed["last_run"]["id"], manual_id);
    assert_eq!(listed["last_run"]["state"], "succeeded");
    assert_eq!(listed["last_run"]["trigger"], "api");
    assert_eq!(listed["last_run"]["finished_at"], done["finished_at"]);
    let one = server.get_json("/jobs/ticker").await;
    assert_eq!(one["last_run"], listed["last_run"]);

    // Enabled again: cron runs resume.
    let (status, on) = server.post("/jobs/ticker/enable", "").await;
    assert_eq!(status, 200, "{on}");
    assert_eq!(on["enabled"], true);
    assert!(on["next_run_at"].is_i64(), "{on}");
    let start = Instant::now();
    while !runs_of("ticker")
        .await
        .iter()
        .any(|r| r["trigger"] == "cron" && r["created_at"].as_i64() > done["finished_at"].as_i64())
    {
        assert!(start.elapsed() < WAIT, "no cron run after enabling");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(server.post("/jobs/nope/enable", "").await.0, 404);
    assert_eq!(server.post("/jobs/nope/disable", "").await.0, 404);
    assert_eq!(server.post("/jobs/ticker/disable", "").await.0, 200);

    // `after:` starts no run of a disabled job.
    let upstream = job("upstream", "");
    let follower = job("follower", "schedule:\n  after: [upstream]\n");
    assert_eq!(server.post("/jobs", &upstream).await.0, 201);
    assert_eq!(server.post("/jobs", &follower).await.0, 201);
    assert_eq!(server.post("/jobs/follower/disable", "").await.0, 200);
    let (_, up) = server.post("/jobs/upstream/runs", "").await;
    server.wait_run(up["id"].as_str().unwrap(), WAIT).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        runs_of("follower").await.is_empty(),
        "a disabled job ran after its upstream"
    );
    assert_eq!(server.post("/jobs/follower/enable", "").await.0, 200);
    let (_, up) = server.post("/jobs/upstream/runs", "").await;
    server.wait_run(up["id"].as_str().unwrap(), WAIT).await;
    let start = Instant::now();
    while runs_of("follower").await.is_empty() {
        assert!(start.elapsed() < WAIT, "no `after:` run once enabled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A failed job needs attention.
    let broken = "name: broken\ninput: {type: csv, path: data/missing.csv}\noutput: {type: csv, path: out/b.csv}\n";
    assert_eq!(server.post("/jobs", broken).await.0, 201);
    let (_, run) = server.post("/jobs/broken/runs", "").await;
    let failed = server.wait_run(run["id"].as_str().unwrap(), WAIT).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    for run in server
        .get_json("/runs?limit=1000")
        .await
        .as_array()
        .unwrap()
    {
        server.wait_run(run["id"].as_str().unwrap(), WAIT).await;
    }

    let overview = server.get_json("/overview").await;
    let (_, metrics) = server.get("/metrics").await;
    let metric = |line: &str| -> i64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(line)?.trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no `{line}` in {metrics}")) as i64
    };
    for state in ["pending", "running", "succeeded", "failed", "cancelled"] {
        assert_eq!(
            overview["runs_total_by_state"][state].as_i64().unwrap(),
            metric(&format!("fust_runs{{state=\"{state}\"}}")),
            "{state}: {overview}"
        );
        assert_eq!(
            overview["runs_by_state"][state], overview["runs_total_by_state"][state],
            "every run is from the last 24 h"
        );
    }
    assert_eq!(
        overview["executing"].as_i64().unwrap(),
        metric("fust_active_runs")
    );
    assert_eq!(
        overview["queued"].as_i64().unwrap(),
        metric("fust_queue_depth")
    );
    assert_eq!(
        overview["workers"].as_i64().unwrap(),
        metric("fust_workers")
    );
    assert_eq!(overview["active_runs"], Value::Array(vec![]), "{overview}");
    assert!(overview["runs_by_state"]["failed"].as_i64().unwrap() >= 1);
    let failed_runs = overview["failed_runs"].as_array().unwrap();
    assert_eq!(failed_runs.len(), 1, "{overview}");
    assert_eq!(failed_runs[0], failed, "the whole run");
    let scheduler = &overview["scheduler"];
    assert_eq!(scheduler["running"], true, "{overview}");
    assert!(scheduler["ticks"].as_i64().unwrap() > 0);
    assert!(scheduler["ticks"].as_i64().unwrap() <= metric("fust_scheduler_ticks_total"));
    assert!(scheduler["last_tick_at"].is_i64());
    // ticker is disabled, so nothing is scheduled; enabling it schedules it.
    assert_eq!(scheduler["scheduled_jobs"], 0, "{overview}");
    assert_eq!(scheduler["disabled_jobs"], 1, "{overview}");
    assert_eq!(scheduler["next_run_at"], Value::Null);
    assert_eq!(server.post("/jobs/ticker/enable", "").await.0, 200);
    let overview = server.get_json("/overview").await;
    assert_eq!(overview["scheduler"]["scheduled_jobs"], 1, "{overview}");
    assert_eq!(overview["scheduler"]["next_job"], "ticker");
    assert!(overview["scheduler"]["next_run_at"].as_i64() > overview["at"].as_i64());
}

/// `/` serves the console (or, when `web/dist` was not built, how to build it) with its
/// security headers, outside token auth; `/assets/*` with long caching; the API stays
/// behind the token.
#[tokio::test]
async fn the_console_is_served_with_its_headers() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(dir.path(), Some("console-token"));
    let anon = common::server::test_client().build().unwrap();
    let page = anon.get(server.url("/")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let h = page.headers().clone();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert_eq!(h["cache-control"], "no-cache");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "style-src 'self' 'unsafe-inline'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    let html = page.text().await.unwrap();
    let built = repo_root().join("web/dist/index.html").exists();
    if built {
        // The page's own bundles are there, typed and cached for good.
        let script = html
            .split('"')
            .filter_map(|s| s.strip_prefix("./").or_else(|| s.strip_prefix('/')))
            .find(|s| s.starts_with("assets/") && s.ends_with(".js"))
            .unwrap_or_else(|| panic!("no assets/*.js in index.html: {html}"));
        let js = anon
            .get(server.url(&format!("/{script}")))
            .send()
            .await
            .unwrap();
        assert_eq!(js.status().as_u16(), 200, "{script}");
        assert_eq!(
            js.headers()["content-type"],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            js.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(js.headers()["x-content-type-options"], "nosniff");
        // Revalidation of the page: 304 with its ETag.
        let etag = h["etag"].to_str().unwrap();
        let again = anon
            .get(server.url("/"))
            .header("if-none-match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status().as_u16(), 304);
    } else {
        assert!(html.contains("npm ci &amp;&amp; npm run build"), "{html}");
    }
    let missing = anon
        .get(server.url("/assets/nope-123.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let traversal = anon
        .get(server.url("/assets/..%2F..%2FCargo.toml"))
        .send()
        .await
        .unwrap();
    assert_eq!(traversal.status().as_u16(), 404);
    // The API is not the console's: it wants the token.
    assert_eq!(
        anon.get(server.url("/jobs"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        anon.get(server.url("/overview"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    assert_eq!(server.get("/overview").await.0, 200);
}

/// `web/openapi.json`, which the console's typed client is generated from, is the
/// document the server serves.
#[tokio::test]
async fn web_openapi_json_is_the_served_document() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(dir.path(), None);
    let served = server.get_json("/openapi.json").await;
    let path = repo_root().join("web/openapi.json");
    let snapshot: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    // Key order included: compare the serialized forms.
    assert!(
        serde_json::to_string(&served).unwrap() == serde_json::to_string(&snapshot).unwrap(),
        "web/openapi.json differs from the server's /openapi.json: regenerate it with \
         `bash scripts/update-docs` (then rebuild the console's client in web/)"
    );
    // What the console relies on is typed.
    let schemas = &served["components"]["schemas"];
    for (schema, field) in [
        ("JobView", "enabled"),
        ("JobView", "last_run"),
        ("Overview", "failed_runs"),
        ("Explained", "plan"),
        ("RunEvent", "state"),
    ] {
        assert!(
            schemas[schema]["properties"][field].is_object(),
            "{schema}.{field}"
        );
    }
    for path in [
        "/overview",
        "/explain",
        "/events",
        "/events/ws",
        "/runs/{id}/ws",
        "/jobs/{name}/enable",
        "/jobs/{name}/disable",
    ] {
        assert!(served["paths"][path].is_object(), "{path}");
    }
}
