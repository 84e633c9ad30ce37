//! Connecting to NATS, for the `nats` input and output.

use std::time::Duration;

use datafusion::error::{DataFusionError, Result};

use super::config::NatsAuth;

/// Connects to the servers `url` (comma-separated), each first checked against the egress
/// policy of `fust serve`. The client reconnects by itself after a lost connection.
pub async fn connect(
    url: &str,
    auth: Option<&NatsAuth>,
    tls: bool,
    ca_file: Option<&str>,
) -> Result<async_nats::Client> {
    let mut opts = async_nats::ConnectOptions::new()
        .name("fust")
        .connection_timeout(Duration::from_secs(10));
    if let Some(a) = auth {
        if let (Some(user), Some(password)) = (&a.user, &a.password) {
            opts = opts.user_and_password(user.clone(), password.expose().to_string());
        }
        if let Some(token) = &a.token {
            opts = opts.token(token.expose().to_string());
        }
        if let Some(path) = &a.credentials_file {
            opts = opts.credentials_file(path).await.map_err(|e| {
                DataFusionError::Plan(format!("auth.credentials_file: cannot read {path}: {e}"))
            })?;
        }
    }
    if tls || url.trim_start().starts_with("tls://") {
        opts = opts.require_tls(true);
    }
    if let Some(path) = ca_file {
        opts = opts.add_root_certificates(path.into());
    }
    let urls: Vec<&str> = url.split(',').map(str::trim).collect();
    for u in &urls {
        let parsed = url::Url::parse(u)
            .or_else(|_| url::Url::parse(&format!("nats://{u}")))
            .map_err(|e| DataFusionError::Plan(format!("url: `{u}` is not a NATS URL: {e}")))?;
        let host = parsed.host_str().unwrap_or_default();
        fust_engine::egress::check(host, parsed.port().unwrap_or(4222))
            .await
            .map_err(|m| external(format!("nats {u}: {m}")))?;
    }
    opts.connect(urls.as_slice())
        .await
        .map_err(|e| external(format!("nats {url}: cannot connect: {e}")))
}

pub fn external(msg: String) -> DataFusionError {
    DataFusionError::External(msg.into())
}
