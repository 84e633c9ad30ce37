//! A `fust serve` process on an ephemeral port, for the HTTP tests: started with a config,
//! its stderr captured to a file, stopped (or killed) at the end.

#![allow(clippy::unwrap_used)] // test harness: a failure here is a test failure

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::FUST;

pub struct Server {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
    pub token: Option<String>,
    pub client: reqwest::Client,
}

/// What a server is started with.
pub struct ServerOptions<'a> {
    /// The working directory (also the default data root).
    pub dir: &'a Path,
    pub metadata: String,
    pub config: Option<&'a str>,
    pub env: Vec<(&'a str, String)>,
    pub token: Option<String>,
    /// More `fust serve` arguments.
    pub args: Vec<&'a str>,
}

/// A reqwest client for the tests. The build's reqwest has rustls without a built-in
/// crypto provider (ring is the one provider), so it is installed first.
pub fn test_client() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

impl Server {
    /// A server in `dir` with a SQLite store there and the default config.
    pub fn start_in(dir: &Path) -> Server {
        Server::start_with_args(dir, vec![])
    }

    /// A server in `dir` with a SQLite store there, no config, token or extra
    /// environment, and these `fust serve` arguments.
    pub fn start_with_args(dir: &Path, args: Vec<&str>) -> Server {
        Server::start(ServerOptions {
            dir,
            metadata: sqlite_url(dir),
            config: None,
            env: vec![],
            token: None,
            args,
        })
    }

    pub fn start(opts: ServerOptions<'_>) -> Server {
        let log = opts.dir.join(format!(
            "server-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let mut cmd = Command::new(FUST);
        cmd.current_dir(opts.dir)
            .args(["serve", "--metadata", &opts.metadata]);
        if !opts.args.contains(&"--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        cmd.env("FUST_LOG", "info")
            .env_remove("FUST_API_TOKENS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        if let Some(c) = opts.config {
            let path = opts.dir.join("server.yaml");
            std::fs::write(&path, c).unwrap();
            cmd.args(["--config", path.to_str().unwrap()]);
        }
        cmd.args(&opts.args);
        if let Some(t) = &opts.token {
            cmd.env("FUST_API_TOKENS", t);
        }
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start fust serve");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let Some((scheme, addr)) = line.split_whitespace().find_map(|w| w.split_once("://")) else {
            let _ = child.kill();
            panic!(
                "fust serve did not print its address: {line:?}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        Server {
            child,
            base: format!("{scheme}://{addr}"),
            log,
            token: opts.token,
            client: test_client()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn auth(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// GET, returning status and body text.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .auth(self.client.get(self.url(path)))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// POST a text body (a job as YAML), returning status and parsed JSON (or the text).
    pub async fn post(&self, path: &str, body: &str) -> (u16, Value) {
        self.send(self.client.post(self.url(path)), body).await
    }

    /// PUT a text body, like [`post`](Self::post).
    pub async fn put(&self, path: &str, body: &str) -> (u16, Value) {
        self.send(self.client.put(self.url(path)), body).await
    }

    async fn send(&self, req: reqwest::RequestBuilder, body: &str) -> (u16, Value) {
        let r = self
            .auth(req)
            .header("content-type", "application/yaml")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn delete(&self, path: &str) -> u16 {
        self.auth(self.client.delete(self.url(path)))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Polls a run until it is finished; returns the run.
    pub async fn wait_run(&self, id: &str, timeout: Duration) -> Value {
        let start = Instant::now();
        loop {
            let run = self.get_json(&format!("/runs/{id}")).await;
            let state = run["state"].as_str().unwrap_or_default().to_string();
            if matches!(state.as_str(), "succeeded" | "failed" | "cancelled") {
                return run;
            }
            assert!(
                start.elapsed() < timeout,
                "run {id} still {state} after {timeout:?}: {run}\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls until the run is in `state`.
    pub async fn wait_state(&self, id: &str, state: &str, timeout: Duration) -> Value {
        let start = Instant::now();
        loop {
            let run = self.get_json(&format!("/runs/{id}")).await;
            if run["state"] == state {
                return run;
            }
            assert!(
                start.elapsed() < timeout,
                "run {id} not {state} after {timeout:?}: {run}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for the process to exit.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill9();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A SQLite metadata URL in `dir`.
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("meta.db").display())
}
