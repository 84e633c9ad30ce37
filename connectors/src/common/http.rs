//! The HTTP client the web connectors share (`http` input, `elasticsearch` output):
//! rustls with ring and the system's roots (plus a CA file), retries with exponential
//! backoff and jitter on connection errors, 429 and 5xx (honouring `Retry-After`), and
//! response bodies read with a size bound.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use url::Url;

use super::tls::{TlsMode, TlsOptions};

/// A client for `ca_file` (PEM, trusted instead of the system's roots when given), with a
/// per-request `timeout`. `key` names the CA option in messages.
pub fn client(ca_file: Option<&str>, timeout: Duration, key: &str) -> Result<Client, String> {
    let tls = TlsOptions {
        mode: TlsMode::VerifyFull,
        ca_file: ca_file.map(str::to_string),
    };
    let config = tls
        .client_config(key)?
        .ok_or_else(|| "TLS setup failed".to_string())?;
    Client::builder()
        .tls_backend_preconfigured((*config).clone())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(30)))
        .user_agent(concat!("fust/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(EgressResolver)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let first = attempt.previous().first().map(Url::origin);
            if attempt.previous().len() >= 10 {
                attempt.error("more than 10 redirects")
            } else if fust_engine::egress::restricted() && first != Some(attempt.url().origin()) {
                let to = attempt.url().origin().ascii_serialization();
                attempt.error(format!(
                    "a redirect to another host ({to}) is not followed for jobs submitted to this server"
                ))
            } else {
                attempt.follow()
            }
        }))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {}", with_causes(&e)))
}

/// Checks `url`'s host against `fust serve`'s egress policy (nothing without one): call
/// before the first request to a URL a job names.
pub async fn check_url(url: &Url) -> Result<(), String> {
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return Ok(());
    };
    fust_engine::egress::check(host.trim_start_matches('[').trim_end_matches(']'), port).await
}

/// The system resolver, refusing under `fust serve` the addresses no job may reach (link-
/// local and cloud metadata ones): the check is on the very addresses the connection then
/// uses, so a name whose DNS answer changes cannot slip through.
struct EgressResolver;

impl Resolve for EgressResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if fust_engine::egress::restricted()
                && let Some(a) = addrs
                    .iter()
                    .find(|a| fust_engine::egress::forbidden(a.ip()))
            {
                return Err(format!(
                    "jobs submitted to this server may not connect to {host}: it resolves to {}, a link-local or cloud metadata address, which no job may reach",
                    a.ip()
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// How often and how long to retry a request that may succeed later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first wait; each next one doubles, up to `max_delay`, with jitter.
    pub initial_delay: Duration,
    /// The longest wait, also the most a `Retry-After` is honoured for.
    pub max_delay: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            max_retries: 5,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl Retry {
    /// The wait before retry number `attempt` (from 0): exponential with "full jitter"
    /// between half and all of it, or the server's `Retry-After` when it sent one.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(d) = retry_after {
            return d.min(self.max_delay);
        }
        let base = self
            .initial_delay
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.max_delay);
        let jitter = random_u64() % 1000;
        base / 2 + base / 2 * (jitter as u32) / 1000
    }
}

/// Whether a response status is worth retrying: 429 and the 5xx a restart or a load
/// balancer gives (not 501, which will not change).
pub fn retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || (status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED)
}

/// `Retry-After` in seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Why a request failed for good.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// No response (connection refused, DNS, TLS, timeout), after the retries.
    #[error("{0}")]
    Transport(String),
    /// A response with an error status, after the retries for a retryable one; `body` is
    /// its start, for the message.
    #[error("HTTP {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Status { status: StatusCode, body: String },
    /// A body larger than the bound.
    #[error("the response is larger than {limit} bytes")]
    TooLarge { limit: usize },
}

/// Sends the request `build` makes, retrying per `retry`; returns the first response with
/// a success status. `on_retry` hears of each retry (what failed, the wait).
pub async fn send(
    build: impl Fn() -> RequestBuilder,
    retry: &Retry,
    mut on_retry: impl FnMut(&str, Duration),
) -> Result<Response, HttpError> {
    let mut attempt = 0;
    loop {
        let (failure, wait) = match build().send().await {
            Ok(resp) if resp.status().is_success() => return Ok(resp),
            Ok(resp) => {
                let status = resp.status();
                let after = retry_after(resp.headers());
                if !retryable_status(status) || attempt >= retry.max_retries {
                    let body = error_body(resp).await;
                    return Err(HttpError::Status { status, body });
                }
                (format!("HTTP {status}"), retry.delay(attempt, after))
            }
            Err(e) => {
                let message = with_causes(&e);
                if attempt >= retry.max_retries
                    || !(e.is_connect() || e.is_timeout() || e.is_request())
                {
                    let tries = attempt + 1;
                    return Err(HttpError::Transport(if tries > 1 {
                        format!("{message} (after {tries} attempts)")
                    } else {
                        message
                    }));
                }
                (message, retry.delay(attempt, None))
            }
        };
        on_retry(&failure, wait);
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// The start of an error response's body, for a message.
async fn error_body(resp: Response) -> String {
    const KEEP: usize = 500;
    let bytes = read_body(resp, 64 << 10).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim();
    match text.char_indices().nth(KEEP) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// The whole body, refusing one larger than `limit` bytes.
pub async fn read_body(resp: Response, limit: usize) -> Result<Bytes, HttpError> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(HttpError::TooLarge { limit });
    }
    let mut body = BytesMut::new();
    let mut chunks = resp.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| HttpError::Transport(with_causes(&e)))?;
        if body.len() + chunk.len() > limit {
            return Err(HttpError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// An error's message with its causes (reqwest hides a TLS reason under "error sending
/// request").
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = cause.source();
    }
    msg
}

fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_honours_retry_after() {
        let r = Retry {
            max_retries: 5,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for attempt in 0..6 {
            let full = Duration::from_millis(100 * (1 << attempt)).min(Duration::from_secs(1));
            let d = r.delay(attempt, None);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
        assert_eq!(
            r.delay(0, Some(Duration::from_secs(3))),
            Duration::from_secs(1)
        );
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "2".parse().expect("in a test"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
    }

    #[test]
    fn which_statuses_retry() {
        assert!(retryable_status(StatusCode::TOO_MANY_REQUESTS));
        assert!(retryable_status(StatusCode::BAD_GATEWAY));
        assert!(!retryable_status(StatusCode::NOT_IMPLEMENTED));
        assert!(!retryable_status(StatusCode::BAD_REQUEST));
    }
}
