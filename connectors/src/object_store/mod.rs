//! Where files live: local paths (with globs and directories) and object-store URLs
//! (`s3://bucket/key`, `file:///abs/path`). Registers the object store a URL needs.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::common::{DataFusionError, plan_err};
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;
use fust_config::Secret;
use object_store::aws::AmazonS3Builder;
use object_store::{Certificate, ClientOptions, ObjectStore};
use schemars::JsonSchema;
use serde::Deserialize;
use url::Url;

/// Object-store settings (`storage:`); unset keys come from the usual environment
/// variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
/// `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`). HTTPS goes through rustls (ring) and trusts the
/// system's roots, plus `ca_file`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct StorageOptions {
    /// S3-compatible endpoint, e.g. `http://127.0.0.1:9000` (MinIO, moto, R2, …).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Region, e.g. `us-east-1`.
    #[serde(default)]
    pub region: Option<String>,
    /// Access key id (use `${ENV}` rather than writing it in the file).
    #[serde(default)]
    pub access_key_id: Option<Secret>,
    /// Secret access key (use `${ENV}`).
    #[serde(default)]
    pub secret_access_key: Option<Secret>,
    /// Allow plain `http://` endpoints.
    #[serde(default)]
    pub allow_http: Option<bool>,
    /// PEM file of CA certificates to trust besides the system's roots, for an `https://`
    /// endpoint with a private CA (MinIO, an on-premises S3).
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Extra object_store options by their `aws_*` names.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// Client options that trust the certificates in `path` besides the system's roots.
fn with_ca_file(path: &str) -> Result<ClientOptions> {
    let pem = std::fs::read(path)
        .map_err(|e| DataFusionError::Plan(format!("storage.ca_file: cannot read {path}: {e}")))?;
    let certs = Certificate::from_pem_bundle(&pem).map_err(|e| {
        DataFusionError::Plan(format!(
            "storage.ca_file: {path} is not a PEM certificate bundle: {e}"
        ))
    })?;
    if certs.is_empty() {
        return plan_err!(
            "storage.ca_file: {path} holds no certificate (-----BEGIN CERTIFICATE-----)"
        );
    }
    Ok(certs
        .into_iter()
        .fold(ClientOptions::new(), ClientOptions::with_root_certificate))
}

/// What [`AmazonS3Builder::from_env`] does, on a builder already configured.
fn from_env_after(mut b: AmazonS3Builder) -> AmazonS3Builder {
    for (key, value) in std::env::vars_os() {
        if let (Some(key), Some(value)) = (key.to_str(), value.to_str())
            && key.starts_with("AWS_")
            && let Ok(config_key) = key.to_ascii_lowercase().parse()
        {
            b = b.with_config(config_key, value);
        }
    }
    b
}

fn is_url(path: &str) -> bool {
    path.contains("://")
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Parses a path, glob or URL for reading, registering its object store with `ctx`.
pub fn input_url(
    ctx: &SessionContext,
    path: &str,
    storage: &StorageOptions,
) -> Result<ListingTableUrl> {
    if !is_url(path) {
        if !has_glob(path) && !std::path::Path::new(path).exists() {
            return plan_err!("file not found: {path}");
        }
        return ListingTableUrl::parse(path);
    }
    let url = Url::parse(path)
        .map_err(|e| DataFusionError::Plan(format!("`{path}` is not a valid URL: {e}")))?;
    register_store(ctx, &url, storage)?;
    // DataFusion expands globs only in local paths; split `s3://b/dir/*.csv` ourselves.
    let Some(pos) = url.path().find(['*', '?', '[']) else {
        return ListingTableUrl::parse(path);
    };
    let slash = url.path()[..pos].rfind('/').unwrap_or(0);
    let (prefix, pattern) = url.path().split_at(slash + 1);
    let mut base = url.clone();
    base.set_path(prefix);
    let glob = glob::Pattern::new(pattern)
        .map_err(|e| DataFusionError::Plan(format!("bad glob in `{path}`: {e}")))?;
    ListingTableUrl::try_new(base, Some(glob))
}

/// Checks a job's own object-store endpoint against the server's egress policy.
fn check_endpoint(endpoint: &str) -> Result<()> {
    let url = Url::parse(endpoint).map_err(|e| {
        DataFusionError::Plan(format!("storage.endpoint `{endpoint}` is not a URL: {e}"))
    })?;
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(443);
    fust_engine::egress::check_blocking(host, port)
        .map_err(|m| DataFusionError::Plan(format!("storage.endpoint: {m}")))
}

/// Registers the object store for `url` with the session (no-op for `file://`).
pub fn register_store(
    ctx: &SessionContext,
    url: &Url,
    storage: &StorageOptions,
) -> Result<Arc<dyn ObjectStore>> {
    match url.scheme() {
        "file" => Ok(Arc::new(object_store::local::LocalFileSystem::new())),
        "s3" | "s3a" => {
            let bucket = url
                .host_str()
                .ok_or_else(|| DataFusionError::Plan(format!("`{url}` has no bucket name")))?;
            // A job submitted to `fust serve` that picks its own endpoint gets none of the
            // server's credentials (environment, instance role): they would be sent, signed
            // into each request, to whoever runs that endpoint. It brings its own keys (as
            // `${secret:NAME}`), or its requests go unsigned.
            let own_endpoint = fust_engine::egress::restricted()
                && (storage.endpoint.is_some() || !storage.options.is_empty());
            // The client options replace the builder's, so they come first and the
            // environment (which may set client options too) is applied after them.
            let with_ca = |b: AmazonS3Builder| -> Result<AmazonS3Builder> {
                Ok(match &storage.ca_file {
                    None => b,
                    Some(path) => b.with_client_options(with_ca_file(path)?),
                })
            };
            let mut b = match (own_endpoint, &storage.ca_file) {
                (true, _) => with_ca(AmazonS3Builder::default())?.with_skip_signature(
                    storage.access_key_id.is_none() || storage.secret_access_key.is_none(),
                ),
                (false, None) => AmazonS3Builder::from_env(),
                (false, Some(_)) => from_env_after(with_ca(AmazonS3Builder::default())?),
            }
            .with_bucket_name(bucket);
            if let Some(e) = &storage.endpoint {
                check_endpoint(e)?;
                b = b.with_endpoint(e);
            }
            if let Some(r) = &storage.region {
                b = b.with_region(r);
            }
            if let Some(k) = &storage.access_key_id {
                b = b.with_access_key_id(k.expose());
            }
            if let Some(s) = &storage.secret_access_key {
                b = b.with_secret_access_key(s.expose());
            }
            let endpoint_is_http = storage
                .endpoint
                .clone()
                .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
                .is_some_and(|e| e.starts_with("http://"));
            if storage.allow_http.unwrap_or(endpoint_is_http) {
                b = b.with_allow_http(true);
            }
            for (k, v) in &storage.options {
                if fust_engine::egress::restricted() && k.contains("endpoint") {
                    check_endpoint(v)?;
                }
                let key = k
                    .parse()
                    .map_err(|e| DataFusionError::Plan(format!("storage.options: {e}")))?;
                b = b.with_config(key, v);
            }
            let store: Arc<dyn ObjectStore> = Arc::new(b.build().map_err(|e| {
                DataFusionError::Plan(format!("cannot configure S3 for `{url}`: {e}"))
            })?);
            let base = Url::parse(&format!("{}://{bucket}", url.scheme()))
                .map_err(|e| DataFusionError::Plan(e.to_string()))?;
            ctx.register_object_store(&base, store.clone());
            Ok(store)
        }
        other => plan_err!(
            "unsupported storage scheme `{other}://`; supported: local paths, file://, s3://"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_ca_file_names_the_option() {
        let ctx = SessionContext::new();
        let url = Url::parse("s3://bucket/x.csv").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("ca.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        for path in ["/nonexistent/ca.pem", not_pem.to_str().unwrap()] {
            let storage = StorageOptions {
                ca_file: Some(path.into()),
                ..Default::default()
            };
            let err = register_store(&ctx, &url, &storage)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("storage.ca_file") && err.contains(path),
                "{err}"
            );
        }
    }
}
