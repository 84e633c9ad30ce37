//! An OpenSearch-API server for the `elasticsearch` output's tests: osmem-server (PyPI
//! `osmem-server`, an in-memory imitation of the OpenSearch 3 REST API, installed by
//! `scripts/services`) on a free port, killed on drop; and [`Proxy`], a recording HTTP(S)
//! proxy in front of it that shows the requests Fust sends and can answer the first ones
//! with 429s.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// An osmem-server process on a free local port.
pub struct Osmem {
    child: Child,
    /// Held open: the server exits when its stdin closes (and when this process ends).
    _stdin: Option<ChildStdin>,
    pub port: u16,
}

/// The osmem-server binary: `$OSMEM_SERVER_BIN`, or the one the PyPI package bundles.
fn osmem_binary() -> String {
    if let Ok(bin) = std::env::var("OSMEM_SERVER_BIN")
        && !bin.is_empty()
    {
        return bin;
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import osmem_server; print(osmem_server.resolve_binary())",
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 to find osmem-server: {e}"));
    assert!(
        out.status.success(),
        "osmem-server is not installed ({}); install it with `pip install osmem-server` (scripts/services does)",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Osmem {
    /// Starts the server. Panics (fails the test, never skips) when it is not installed
    /// or does not answer.
    pub fn start() -> Osmem {
        let port = super::free_port();
        let mut child = Command::new(osmem_binary())
            .args(["--addr", &format!("127.0.0.1:{port}"), "--no-ja"])
            .args(["--parent-pid", &std::process::id().to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start osmem-server ({e})"));
        let stdin = child.stdin.take();
        let mut server = Osmem {
            child,
            _stdin: stdin,
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("osmem-server exited at start with {status}");
            }
            if matches!(server.try_request("GET", "/", ""), Ok((200, _))) {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "osmem-server did not answer on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn try_request(&self, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.port,
            body.len()
        );
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.write_all(head.as_bytes())?;
        s.write_all(body.as_bytes())?;
        let mut resp = Vec::new();
        s.read_to_end(&mut resp)?;
        let (code, body) =
            split_response(&resp).ok_or_else(|| std::io::Error::other("not an HTTP response"))?;
        Ok((code, String::from_utf8_lossy(body).into_owned()))
    }

    /// A request with a JSON body; the status and the decoded JSON answer.
    #[track_caller]
    pub fn request(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        let (code, text) = self
            .try_request(method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"));
        (code, json)
    }

    /// Every document of `index` as `(id, source)`, sorted by id.
    #[track_caller]
    pub fn documents(&self, index: &str) -> Vec<(String, Value)> {
        self.request("POST", &format!("/{index}/_refresh"), "");
        let (code, resp) = self.request("GET", &format!("/{index}/_search?size=10000"), "");
        assert_eq!(code, 200, "search {index}: {resp}");
        let mut docs: Vec<(String, Value)> = resp["hits"]["hits"]
            .as_array()
            .unwrap_or_else(|| panic!("search {index}: no hits: {resp}"))
            .iter()
            .map(|h| {
                (
                    h["_id"].as_str().expect("_id").to_string(),
                    h["_source"].clone(),
                )
            })
            .collect();
        docs.sort_by(|a, b| a.0.cmp(&b.0));
        docs
    }

    /// `_count` of `index`.
    #[track_caller]
    pub fn count(&self, index: &str) -> u64 {
        self.request("POST", &format!("/{index}/_refresh"), "");
        let (code, resp) = self.request("GET", &format!("/{index}/_count"), "");
        assert_eq!(code, 200, "count {index}: {resp}");
        resp["count"].as_u64().expect("count")
    }

    /// The names of the indices, sorted.
    #[track_caller]
    pub fn indices(&self) -> Vec<String> {
        let (code, resp) = self.request("GET", "/_cat/indices?format=json", "");
        assert_eq!(code, 200, "_cat/indices: {resp}");
        let mut names: Vec<String> = resp
            .as_array()
            .expect("a list of indices")
            .iter()
            .map(|i| i["index"].as_str().expect("index").to_string())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Osmem {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status code and the body of a raw HTTP/1.1 response (read to its end).
fn split_response(resp: &[u8]) -> Option<(u16, &[u8])> {
    let end = find(resp, b"\r\n\r\n")?;
    let head = std::str::from_utf8(&resp[..end]).ok()?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, &resp[end + 4..]))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Request line and headers.
    pub head: String,
    /// The body as sent (gzipped when it was).
    pub body: Vec<u8>,
}

impl Seen {
    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    pub fn path(&self) -> String {
        self.head
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string()
    }
}

/// What the proxy answers by itself before it forwards.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// The first this many requests get a `429 Too Many Requests` (with `Retry-After: 0`).
    pub reject_requests: usize,
    /// The first this many bulk requests after those get a 200 whose every item is a 429
    /// `es_rejected_execution_exception` (the bodies must be plain, `action: index`).
    pub reject_items: usize,
}

/// A recording HTTP proxy to a server on `target` (one request per connection), over TLS
/// when given a certificate.
pub struct Proxy {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    pub fn start(target: u16, faults: Faults) -> Proxy {
        Proxy::spawn(target, faults, None)
    }

    /// Over TLS with the certificate and key (PEM files) given.
    pub fn start_tls(target: u16, cert: &str, key: &str) -> Proxy {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .and_then(|c| c.collect())
            .unwrap_or_else(|e| panic!("read {cert}: {e}"));
        let key = PrivateKeyDer::from_pem_file(key).unwrap_or_else(|e| panic!("read {key}: {e}"));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("TLS certificate");
        Proxy::spawn(target, Faults::default(), Some(Arc::new(config)))
    }

    fn spawn(target: u16, faults: Faults, tls: Option<Arc<rustls::ServerConfig>>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let counter = Arc::new(AtomicUsize::new(0));
        let (s, st) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (s, counter, tls) = (s.clone(), counter.clone(), tls.clone());
                std::thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
                    match tls {
                        None => serve(conn, target, &s, &counter, faults),
                        Some(config) => {
                            let Ok(session) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            let mut tls = rustls::StreamOwned::new(session, conn);
                            serve(&mut tls, target, &s, &counter, faults);
                            tls.conn.send_close_notify();
                            let _ = tls.flush();
                        }
                    }
                });
            }
        });
        Proxy { port, seen, stop }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The requests so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees `stop`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Reads one request from `client`, records it, and answers it (a fault, or the target's
/// answer).
fn serve(
    mut client: impl Read + Write,
    target: u16,
    seen: &Mutex<Vec<Seen>>,
    counter: &AtomicUsize,
    faults: Faults,
) {
    let Some(request) = read_request(&mut client) else {
        return;
    };
    if let Ok(mut s) = seen.lock() {
        s.push(request.clone());
    }
    let n = counter.fetch_add(1, Ordering::SeqCst);
    let answer = if n < faults.reject_requests {
        respond(
            429,
            "Too Many Requests",
            "Retry-After: 0\r\n",
            r#"{"error":{"type":"es_rejected_execution_exception","reason":"busy"},"status":429}"#,
        )
    } else if n < faults.reject_requests + faults.reject_items && request.path().contains("_bulk") {
        let lines = request
            .body
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty());
        let items = lines.count() / 2;
        let item = r#"{"index":{"_index":"x","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"}}}"#;
        let body = format!(
            r#"{{"took":1,"errors":true,"items":[{}]}}"#,
            vec![item; items].join(",")
        );
        respond(200, "OK", "", &body)
    } else {
        match forward(&request, target) {
            Some(a) => a,
            None => return,
        }
    };
    let _ = client.write_all(&answer);
    let _ = client.flush();
}

fn respond(code: u16, reason: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Sends the request to the target with `Connection: close`; its whole answer.
fn forward(request: &Seen, target: u16) -> Option<Vec<u8>> {
    let mut upstream = TcpStream::connect(("127.0.0.1", target)).ok()?;
    upstream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let mut head: Vec<&str> = request
        .head
        .lines()
        .filter(|l| {
            !l.to_ascii_lowercase().starts_with("connection:")
                && !l.to_ascii_lowercase().starts_with("keep-alive:")
        })
        .collect();
    head.push("Connection: close");
    upstream
        .write_all(format!("{}\r\n\r\n", head.join("\r\n")).as_bytes())
        .ok()?;
    upstream.write_all(&request.body).ok()?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer).ok()?;
    let _ = upstream.shutdown(Shutdown::Both);
    Some(answer)
}

/// One request: head up to the blank line, then `Content-Length` bytes of body.
fn read_request(client: &mut impl Read) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            break end;
        }
        let n = client.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut body = buf[end + 4..].to_vec();
    let seen = Seen {
        head,
        body: Vec::new(),
    };
    let length: usize = seen
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while body.len() < length {
        let n = client.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen { body, ..seen })
}
