//! Helpers shared by the end-to-end tests: run the `fust` binary, write job files, read
//! outputs back through DataFusion, and a moto (S3) server for object-store tests.
#![allow(dead_code)]

pub mod nats;
pub mod opensearch;
pub mod rng;
pub mod server;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::{CsvReadOptions, JsonReadOptions, ParquetReadOptions, SessionContext};

/// The compiled binary under test.
pub const FUST: &str = env!("CARGO_BIN_EXE_fust");

/// The root of the repository (where `examples/` lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What a finished `fust` process did.
#[derive(Debug)]
pub struct Out {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Asserts exit status 0 and returns self.
    #[track_caller]
    pub fn success(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "fust failed\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts the given exit code and returns self.
    #[track_caller]
    pub fn code_is(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "unexpected exit code\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts a failure (non-zero exit, `error:` on stderr) and returns self.
    #[track_caller]
    pub fn failure(&self) -> &Self {
        assert!(
            matches!(self.code, Some(c) if c != 0),
            "expected a failure, got {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        assert!(
            self.stderr.contains("error:"),
            "no `error:` on stderr:\n{}",
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked"),
            "fust panicked:\n{}",
            self.stderr
        );
        self
    }
}

/// A `fust` command with a clean environment for the variables the tests use.
pub fn command(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(FUST);
    cmd.args(args).current_dir(cwd);
    for var in [
        "OUT_DIR",
        "FUST_LOG",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT",
        "AWS_ALLOW_HTTP",
        "AWS_PROFILE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs `fust ARGS` in `cwd` with extra environment variables.
pub fn fust(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    let out = command(cwd, args, env)
        .stdin(Stdio::null())
        .output()
        .expect("start fust");
    Out {
        code: out.status.code(),
        stdout: as_default_servers(&String::from_utf8_lossy(&out.stdout)),
        stderr: as_default_servers(&String::from_utf8_lossy(&out.stderr)),
    }
}

/// The local test servers' URLs as jobs in the tests spell them, and how messages name them.
const DEFAULT_SERVERS: [(&str, &str, &ServerUrl); 4] = [
    ("postgres://postgres@127.0.0.1:5432/test", "", &PG_URL),
    (
        "postgres://postgres@127.0.0.1/test",
        "postgres@127.0.0.1:5432/test",
        &PG_URL,
    ),
    ("mysql://root@127.0.0.1:3306/test", "", &MY_URL),
    (
        "mysql://root@127.0.0.1/test",
        "root@127.0.0.1:3306/test",
        &MY_URL,
    ),
];

/// A job text with the default local servers replaced by the `FUST_TEST_*_URL` ones (the
/// same text when those are unset), so every test can run against servers of one's own.
pub fn at_test_servers(text: &str) -> String {
    let mut text = text.to_string();
    for (default, _, url) in DEFAULT_SERVERS {
        if !url.is_default() {
            text = text.replace(default, url.as_str());
        }
    }
    text
}

/// Fust's output with the configured servers named as the default ones, so the tests'
/// expected messages hold against servers of one's own too.
pub fn as_default_servers(text: &str) -> String {
    let mut text = text.to_string();
    for (_, name, url) in DEFAULT_SERVERS {
        if !name.is_empty() && !url.is_default() {
            text = text.replace(&url.display_name(), name);
        }
    }
    text
}

/// `fust run --quiet JOB` in `cwd`.
pub fn run_job(cwd: &Path, job: &Path, env: &[(&str, &str)]) -> Out {
    fust(
        cwd,
        &["run", "--quiet", job.to_str().expect("utf-8 path")],
        env,
    )
}

/// Starts `fust run JOB` in `cwd`, waits until `mid_run` says the run is under way (e.g.
/// the server shows its query), calls `stop` (which stops the database the job uses) and
/// checks the run then fails cleanly: a non-zero exit, no panic, and a message naming
/// `server`.
pub fn run_while_server_stops(
    cwd: &Path,
    job: &Path,
    mid_run: impl Fn() -> bool,
    stop: impl FnOnce(),
    server: &str,
) {
    let mut child = command(cwd, &["run", job.to_str().expect("utf-8 path")], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start fust");
    let waiting = Instant::now();
    while !mid_run() {
        if waiting.elapsed() > Duration::from_secs(60) || matches!(child.try_wait(), Ok(Some(_))) {
            let _ = child.kill();
            let out = child.wait_with_output().expect("wait for fust");
            panic!(
                "the run was never seen under way:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    stop();
    let out = child.wait_with_output().expect("wait for fust");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(server), "names the server: {stderr}");
}

/// A YAML alias bomb under 1 KB: nine levels of ten aliases each, 10^9 values if expanded.
pub fn alias_bomb() -> String {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    text
}

/// Writes `text` to `dir/name` (creating parent directories) and returns the path.
pub fn write_file(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create dir");
    }
    std::fs::write(&path, text).expect("write file");
    path
}

/// Writes a job file `dir/job.yaml`.
pub fn write_job(dir: &Path, yaml: &str) -> PathBuf {
    write_file(dir, "job.yaml", at_test_servers(yaml))
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Every file under `dir` (recursively), as paths relative to `dir`, sorted.
pub fn list_files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap_or(&p).display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Temporary output files (`.*.tmp`, `.fust-*`) anywhere under `dir`.
pub fn temp_files(dir: &Path) -> Vec<String> {
    list_files(dir)
        .into_iter()
        .filter(|f| {
            let name = Path::new(f)
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            name.ends_with(".tmp") || name.contains(".fust-")
        })
        .collect()
}

/// Asserts that no temporary output file is left anywhere under `dir`.
#[track_caller]
pub fn assert_no_temp_files(dir: &Path) {
    let temps = temp_files(dir);
    assert!(
        temps.is_empty(),
        "temporary files left in {}: {temps:?}",
        dir.display()
    );
}

// ------------------------------------------------------------------ reading outputs

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The file format of an output, from its extension.
fn format_of(path: &Path) -> &'static str {
    let name = path.to_string_lossy();
    if name.ends_with(".parquet") {
        "parquet"
    } else if name.ends_with(".json") || name.ends_with(".ndjson") || name.ends_with(".jsonl") {
        "json"
    } else {
        "csv"
    }
}

/// Reads a Parquet, CSV (with header) or newline-delimited JSON file with DataFusion.
pub fn read_batches(path: &Path) -> (SchemaRef, Vec<RecordBatch>) {
    let rt = runtime();
    rt.block_on(async {
        let ctx = SessionContext::new();
        let p = path.to_str().expect("utf-8 path");
        let ext = path
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        let df = match format_of(path) {
            "parquet" => ctx
                .read_parquet(p, ParquetReadOptions::default().file_extension(&ext))
                .await
                .expect("read parquet"),
            "json" => ctx
                .read_json(p, JsonReadOptions::default().file_extension(&ext))
                .await
                .expect("read json"),
            _ => ctx
                .read_csv(
                    p,
                    CsvReadOptions::new().has_header(true).file_extension(&ext),
                )
                .await
                .expect("read csv"),
        };
        let schema: SchemaRef = df.schema().inner().clone();
        let batches = df.collect().await.expect("collect");
        (schema, batches)
    })
}

/// One cell as text; NULL as `NULL`; floats normalised by [`norm_cell`].
fn cell(array: &dyn Array, row: usize) -> String {
    if array.is_null(row) {
        return "NULL".to_string();
    }
    let options = FormatOptions::default();
    let f = ArrayFormatter::try_new(array, &options).expect("formatter");
    norm_cell(&f.value(row).to_string())
}

/// Normalises a float-looking cell (`385`, `385.0`, `3.85e2`) to Rust's `{:?}` of the f64,
/// so values written by different writers compare equal. Integers and text are unchanged.
pub fn norm_cell(s: &str) -> String {
    let looks_float = (s.contains('.') || s.contains('e') || s.contains('E'))
        && s.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c))
        && s.chars().any(|c| c.is_ascii_digit());
    match s.parse::<f64>() {
        Ok(f) if looks_float => format!("{f:?}"),
        _ => s.to_string(),
    }
}

/// Every row of the batches as text cells, in order.
pub fn batches_to_rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for b in batches {
        for r in 0..b.num_rows() {
            rows.push(b.columns().iter().map(|c| cell(c.as_ref(), r)).collect());
        }
    }
    rows
}

/// Every row of a file as Arrow displays each cell (NULL as `NULL`), in file order, with
/// no normalisation: for comparisons with literal expected values.
pub fn exact_rows(path: &Path) -> Vec<Vec<String>> {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for b in read_batches(path).1 {
        let cells: Vec<ArrayFormatter> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("formatter"))
            .collect();
        for r in 0..b.num_rows() {
            rows.push(cells.iter().map(|f| f.value(r).to_string()).collect());
        }
    }
    rows
}

/// Every row of an output file, in file order.
pub fn read_rows_ordered(path: &Path) -> Vec<Vec<String>> {
    batches_to_rows(&read_batches(path).1)
}

/// Every row of an output file, sorted.
pub fn read_rows(path: &Path) -> Vec<Vec<String>> {
    let mut rows = read_rows_ordered(path);
    rows.sort();
    rows
}

/// The column names of an output file.
pub fn read_columns(path: &Path) -> Vec<String> {
    read_batches(path)
        .0
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

/// Rows given as string slices, for comparisons.
pub fn rows(data: &[&[&str]]) -> Vec<Vec<String>> {
    data.iter()
        .map(|r| r.iter().map(|c| norm_cell(c)).collect())
        .collect()
}

/// Sorted copy.
pub fn sorted(mut rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows.sort();
    rows
}

/// A minimal CSV line parser (RFC 4180 quoting), for reading bundled data independently.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    cur.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut cur)),
                (c, _) => cur.push(c),
            }
        }
        fields.push(cur);
        out.push(fields);
    }
    out
}

// ------------------------------------------------------------------ moto (S3)

/// A moto S3 server on a free local port, killed on drop.
pub struct Moto {
    child: Child,
    pub port: u16,
    pub bucket: String,
    https: bool,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// One raw HTTP/1.1 request; returns the status code and the body.
pub fn http(port: u16, method: &str, path: &str, body: &[u8]) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)?;
    let text = String::from_utf8_lossy(&resp).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((code, body))
}

impl Moto {
    /// Starts `moto_server` and creates `bucket`. Panics (fails the test) when moto_server
    /// is not installed or does not come up: S3 tests must never be skipped silently.
    pub fn start(bucket: &str) -> Moto {
        let moto = Moto::spawn(bucket, &[], false, |port| {
            matches!(http(port, "GET", "/", b""), Ok((200, _)))
        });
        let (code, body) =
            http(moto.port, "PUT", &format!("/{bucket}"), b"").expect("create bucket");
        assert_eq!(code, 200, "creating bucket {bucket} failed: {body}");
        moto
    }

    /// Starts `moto_server` over HTTPS with the certificate `cert` (and its `key`), signed
    /// by `ca`, and creates `bucket`. The raw-HTTP helpers (`put`, `keys`) do not speak TLS;
    /// this server is reached with curl and with fust.
    pub fn start_https(bucket: &str, cert: &str, key: &str, ca: &str) -> Moto {
        let curl = |port: u16, args: &[&str]| {
            Command::new("curl")
                .args(["-sS", "-f", "--max-time", "10", "--cacert", ca])
                .args(args)
                .arg(format!("https://127.0.0.1:{port}/{bucket}"))
                .output()
                .expect("curl runs (install curl)")
        };
        // Ready when the bucket is made.
        Moto::spawn(bucket, &["-c", cert, "-k", key], true, |port| {
            curl(port, &["-X", "PUT"]).status.success()
        })
    }

    /// Spawns moto_server with `args` and waits until `ready(port)`.
    fn spawn(bucket: &str, args: &[&str], https: bool, ready: impl Fn(u16) -> bool) -> Moto {
        let port = free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start `moto_server` ({e}); install it with `pip install 'moto[server]'`"
                )
            });
        let mut moto = Moto {
            child,
            port,
            bucket: bucket.to_string(),
            https,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server exited at start with {status}");
            }
            if ready(port) {
                return moto;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn endpoint(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The environment fust needs to reach this server.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_ENDPOINT_URL".into(), self.endpoint()),
            ("AWS_ALLOW_HTTP".into(), "true".into()),
        ]
    }

    /// Uploads an object with a raw (unsigned) PUT.
    pub fn put(&self, key: &str, body: &[u8]) {
        let (code, resp) =
            http(self.port, "PUT", &format!("/{}/{key}", self.bucket), body).expect("put object");
        assert_eq!(code, 200, "PUT {key}: {resp}");
    }

    /// The keys in the bucket (ListObjectsV2), sorted.
    pub fn keys(&self) -> Vec<String> {
        let (code, body) = http(
            self.port,
            "GET",
            &format!("/{}?list-type=2", self.bucket),
            b"",
        )
        .expect("list objects");
        assert_eq!(code, 200, "list: {body}");
        let mut keys: Vec<String> = body
            .split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_string)
            .collect();
        keys.sort();
        keys
    }
}

impl Moto {
    /// Multipart uploads begun and neither completed nor aborted (ListMultipartUploads).
    pub fn pending_uploads(&self) -> Vec<String> {
        let (code, body) = http(self.port, "GET", &format!("/{}?uploads", self.bucket), b"")
            .expect("list multipart uploads");
        assert_eq!(code, 200, "list uploads: {body}");
        body.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `env` pairs as `&str` tuples.
pub fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// A test server's URL: the environment variable's value, or the local server that
/// `scripts/services` starts. Displays as the URL; `as_str` for argument lists.
pub struct ServerUrl {
    var: &'static str,
    default: &'static str,
    value: std::sync::OnceLock<String>,
}

impl ServerUrl {
    const fn new(var: &'static str, default: &'static str) -> Self {
        Self {
            var,
            default,
            value: std::sync::OnceLock::new(),
        }
    }

    pub fn as_str(&self) -> &str {
        self.value.get_or_init(|| {
            std::env::var(self.var)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| self.default.to_string())
        })
    }

    /// Whether no environment variable overrides the local server.
    pub fn is_default(&self) -> bool {
        self.as_str() == self.default
    }

    /// `user@host:port/db` as Fust's messages name the server.
    pub fn display_name(&self) -> String {
        let (host, port, user) = self.parts();
        let u = url::Url::parse(self.as_str()).expect("a test server URL");
        format!("{user}@{host}:{port}{}", u.path())
    }

    /// Host, port and user for command-line clients.
    pub fn parts(&self) -> (String, u16, String) {
        let u = url::Url::parse(self.as_str()).expect("a test server URL");
        let port = u
            .port()
            .unwrap_or(if u.scheme() == "mysql" { 3306 } else { 5432 });
        (
            u.host_str().unwrap_or("127.0.0.1").to_string(),
            port,
            u.username().to_string(),
        )
    }
}

impl std::ops::Deref for ServerUrl {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The PostgreSQL test database (trust auth on the machine and in CI);
/// `FUST_TEST_PG_URL` points the tests at another server.
pub static PG_URL: ServerUrl = ServerUrl::new(
    "FUST_TEST_PG_URL",
    "postgres://postgres@127.0.0.1:5432/test",
);

/// Runs SQL through psql on [`PG_URL`]; the unaligned output, or psql's message.
pub fn try_psql(sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            PG_URL.as_str(),
            "-c",
            sql,
        ])
        .output()
        .map_err(|e| format!("psql does not run (install postgresql-client): {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).to_string())
    }
}

/// Like [`try_psql`], panicking (the test fails, never skips) when the server is
/// unreachable or the SQL fails.
#[track_caller]
pub fn psql(sql: &str) -> String {
    try_psql(sql).unwrap_or_else(|e| {
        panic!("psql failed (is PostgreSQL running at {PG_URL}? scripts/services starts it)\nSQL: {sql}\n{e}")
    })
}

/// The MariaDB test database (root without a password on the machine and in CI);
/// `FUST_TEST_MYSQL_URL` points the tests at another server.
pub static MY_URL: ServerUrl =
    ServerUrl::new("FUST_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test");

/// `mariadb`/`mariadb-admin` arguments that reach [`MY_URL`]'s server.
pub fn mariadb_login() -> Vec<String> {
    let (host, port, user) = MY_URL.parts();
    vec![
        format!("-h{host}"),
        format!("-P{port}"),
        format!("-u{user}"),
    ]
}

/// Starts (again) a local test server through `scripts/services`, as CI does.
pub fn services_up(name: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/services");
    let status = Command::new("bash")
        .arg(script)
        .args(["up", name])
        .status()
        .expect("bash runs scripts/services");
    assert!(status.success(), "scripts/services up {name} failed");
}

/// Runs SQL through the `mariadb` client in UTC; tab-separated output without headers.
/// Panics (the test fails, never skips) when the server is unreachable or the SQL fails.
#[track_caller]
pub fn mariadb(sql: &str) -> String {
    let out = Command::new("mariadb")
        .args(mariadb_login())
        .args(["test", "-N", "-B", "-e"])
        .arg(format!("SET time_zone = '+00:00'; {sql}"))
        .output()
        .expect("the `mariadb` client runs (install mariadb-client)");
    assert!(
        out.status.success(),
        "mariadb failed (is MariaDB running at {MY_URL}? scripts/services starts it)\nSQL: {sql}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// Rows and distinct ids of the epoch files (`part-*`) in `dir`: what a reader sees.
pub fn dir_counts(dir: &Path) -> (u64, u64) {
    let mut ids = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("part-"))
    });
    for f in files {
        for row in read_rows(&f) {
            ids.push(row[0].clone());
        }
    }
    let rows = ids.len() as u64;
    ids.sort();
    ids.dedup();
    (rows, ids.len() as u64)
}
