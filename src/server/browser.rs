//! What a web browser may not do to the server: reach it under a name the server does not
//! answer to (DNS rebinding: `evil.example` resolving to 127.0.0.1), or send it a write from
//! another site (CSRF: a page posting a job with `text/plain`). Applied to every request;
//! `curl` and API clients are unaffected as long as they name a body's type.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Host names (lowercase, no port) the server answers to besides IP addresses and
/// `localhost`: `allowed_hosts` in the config and `--allowed-host`.
#[derive(Clone, Debug, Default)]
pub struct AllowedHosts(pub Arc<Vec<String>>);

/// The body types a write may carry.
const BODY_TYPES: [&str; 3] = ["application/yaml", "application/x-yaml", "application/json"];

pub async fn same_site(State(allowed): State<AllowedHosts>, req: Request, next: Next) -> Response {
    match check(&req, &allowed.0) {
        Ok(()) => next.run(req).await,
        Err((status, message)) => ApiError::new(status, message).into_response(),
    }
}

fn check(req: &Request, allowed: &[String]) -> Result<(), (StatusCode, String)> {
    let headers = req.headers();
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    let host = text(header::HOST).unwrap_or_default();
    if !host.is_empty() && !host_allowed(host_name(host), allowed) {
        return Err((
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "this server does not answer to the name in `Host: {host}`; the operator can add \
                 it with `fust serve --allowed-host NAME` (or `allowed_hosts:`)"
            ),
        ));
    }
    let own_origin = |origin: &str| {
        origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
    };
    // A WebSocket is not bound by the same-origin policy: any page may open one, and the
    // browser sends its cookies and names the page in `Origin` (cross-site WebSocket
    // hijacking). Only the server's own pages may open one.
    let websocket = text(header::UPGRADE).is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    if websocket
        && let Some(origin) = text(header::ORIGIN)
        && !own_origin(origin)
    {
        return Err((
            StatusCode::FORBIDDEN,
            format!("a WebSocket from another site's page (`Origin: {origin}`) is refused"),
        ));
    }
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    // Browsers name the page a write comes from; only the server's own pages may write.
    if let Some(origin) = text(header::ORIGIN)
        && !own_origin(origin)
    {
        return Err((
            StatusCode::FORBIDDEN,
            format!("a write from another site (`Origin: {origin}`) is refused"),
        ));
    }
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site"))
        && (site == "cross-site" || site == "same-site")
    {
        return Err((
            StatusCode::FORBIDDEN,
            format!("a write from another site (`Sec-Fetch-Site: {site}`) is refused"),
        ));
    }
    // A cross-site form can only send text/plain, urlencoded or multipart bodies.
    let has_body = text(header::CONTENT_LENGTH).is_some_and(|n| n != "0")
        || headers.contains_key(header::TRANSFER_ENCODING);
    match text(header::CONTENT_TYPE) {
        Some(ct) => {
            let media = ct
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            if !BODY_TYPES.contains(&media.as_str()) {
                return Err(unsupported(&format!("`Content-Type: {ct}`")));
            }
        }
        None if has_body => return Err(unsupported("a body without a Content-Type")),
        None => {}
    }
    Ok(())
}

fn unsupported(what: &str) -> (StatusCode, String) {
    (
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        format!(
            "{what} is refused: send jobs as `Content-Type: application/yaml` or \
             `application/json` (curl: -H 'Content-Type: application/yaml' --data-binary @job.yaml)"
        ),
    )
}

/// The name part of a `Host` header: `[::1]:8080` → `::1`, `localhost:8080` → `localhost`.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// IP addresses cannot be rebound, and `localhost` resolves only here.
fn host_allowed(name: &str, allowed: &[String]) -> bool {
    name.parse::<IpAddr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || allowed.iter().any(|a| a.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn req(method: &str, headers: &[(&str, &str)]) -> Request {
        let mut b = Request::builder().method(method).uri("/jobs");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    }

    #[test]
    fn hosts_and_cross_site_writes() {
        let allowed = vec!["fust".to_string()];
        let ok = |m, h: &[(&str, &str)]| check(&req(m, h), &allowed).is_ok();
        let status = |m, h: &[(&str, &str)]| check(&req(m, h), &allowed).unwrap_err().0;
        assert!(ok("GET", &[("host", "127.0.0.1:8080")]));
        assert!(ok("GET", &[("host", "[::1]:8080")]));
        assert!(ok("GET", &[("host", "localhost:8080")]));
        assert!(ok("GET", &[("host", "fust:8080")]));
        assert_eq!(
            status("GET", &[("host", "evil.example:8080")]),
            StatusCode::MISDIRECTED_REQUEST
        );
        let yaml = ("content-type", "application/yaml");
        let host = ("host", "127.0.0.1:8080");
        assert!(ok("POST", &[host, yaml, ("content-length", "10")]));
        assert!(ok(
            "POST",
            &[host, ("content-type", "application/json; charset=utf-8")]
        ));
        assert!(
            ok("POST", &[host]),
            "an empty POST without a type (curl -X POST)"
        );
        assert!(ok(
            "POST",
            &[host, yaml, ("origin", "http://127.0.0.1:8080")]
        ));
        assert_eq!(
            status(
                "POST",
                &[
                    host,
                    ("content-type", "text/plain"),
                    ("content-length", "10")
                ]
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            status("POST", &[host, ("content-length", "10")]),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            status("POST", &[host, yaml, ("origin", "http://evil.example")]),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status("POST", &[host, ("origin", "null")]),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status("DELETE", &[host, ("sec-fetch-site", "cross-site")]),
            StatusCode::FORBIDDEN
        );
        // WebSocket upgrades: only from the server's own pages (or no page at all).
        let ws = ("upgrade", "websocket");
        assert!(ok("GET", &[host, ws]));
        assert!(ok("GET", &[host, ws, ("origin", "http://127.0.0.1:8080")]));
        assert_eq!(
            status("GET", &[host, ws, ("origin", "http://evil.example")]),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status("GET", &[host, ("upgrade", "WebSocket"), ("origin", "null")]),
            StatusCode::FORBIDDEN
        );
        assert!(
            ok("GET", &[host, ("origin", "http://evil.example")]),
            "a plain GET"
        );
    }
}
