//! The web console (`web/`, built into `web/dist`), served at `/` from the API's own
//! origin: `GET /` is `index.html`, `GET /assets/*` the hashed bundles, and a root-level
//! file of `web/dist` (a favicon) its file. Outside token auth, like `/docs`: the files hold
//! no data, and the console asks for the token itself.
//!
//! Release builds embed `web/dist` (rust-embed); debug builds read it from disk at run
//! time. When it was not built, `/` explains how to build it. The console's routes are
//! hash routes (`/#/jobs`), so no path of the API is shadowed and no fallback is needed.

use std::borrow::Cow;

use axum::Router;
use axum::extract::{Path, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "web/dist/"]
#[allow_missing = true]
struct Dist;

/// Scripts, styles, images, fonts and connections only from this server; inline styles
/// (which the editor and graph libraries set), `data:` images; no framing, no `<base>`, no
/// plugins, forms post only here.
pub const CSP: &str = "default-src 'self'; connect-src 'self'; img-src 'self' data:; \
    style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; \
    object-src 'none'; form-action 'self'";

/// Hashed file names never change content: a year, immutable.
const ASSETS_CACHE: &str = "public, max-age=31536000, immutable";
/// `index.html` names the current bundles: always revalidate.
const PAGE_CACHE: &str = "no-cache";

/// What `/` says when `web/dist` was not built.
const NOT_BUILT: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Fust console not built</title></head><body>\n\
<h1>The Fust console is not built</h1>\n\
<p>This <code>fust</code> was built without the console's files (<code>web/dist</code>). \
Build them, then build <code>fust</code> again (a debug build reads them at run time):</p>\n\
<pre>cd web &amp;&amp; npm ci &amp;&amp; npm run build</pre>\n\
<p>The API is served all the same: <a href=\"/docs\">/docs</a>, \
<a href=\"/openapi.json\">/openapi.json</a>.</p>\n</body></html>\n";

/// Root-level names that are the API's or the console's own.
const RESERVED: [&str; 2] = ["index.html", "openapi.json"];

/// The console's routes: `/`, `/assets/*` and the root-level files of `web/dist`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut router = Router::new()
        .route("/", get(index))
        .route("/assets/{*path}", get(asset));
    // Root-level files (favicon.svg, robots.txt, …) as the build put them there; only
    // names with an extension, so none can take an API path (`openapi.json` excepted).
    for name in Dist::iter() {
        if !name.contains('/') && name.contains('.') && !RESERVED.contains(&&*name) {
            let route = format!("/{name}");
            let name = name.to_string();
            router = router.route(
                &route,
                get(move |req: Request| async move { file(&name, req.headers(), PAGE_CACHE) }),
            );
        }
    }
    router
}

async fn index(headers: HeaderMap) -> Response {
    if Dist::get("index.html").is_none() {
        let mut resp = (StatusCode::OK, NOT_BUILT).into_response();
        secure(&mut resp, "text/html; charset=utf-8", PAGE_CACHE);
        return resp;
    }
    file("index.html", &headers, PAGE_CACHE)
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    // Debug builds read the folder from disk: no way out of it.
    if path
        .split(['/', '\\'])
        .any(|seg| seg == ".." || seg.is_empty())
    {
        return super::error::ApiError::not_found(format!("no console file `/assets/{path}`"))
            .into_response();
    }
    file(&format!("assets/{path}"), &headers, ASSETS_CACHE)
}

/// The file with its type, cache rule and the console's security headers; 304 when the
/// client has it (ETag: its SHA-256); the API's JSON 404 when there is no such file.
fn file(name: &str, headers: &HeaderMap, cache: &'static str) -> Response {
    let Some(f) = Dist::get(name) else {
        return super::error::ApiError::not_found(format!("no console file `/{name}`"))
            .into_response();
    };
    let etag = format!("\"{}\"", hex(&f.metadata.sha256_hash()));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let body: Cow<'static, [u8]> = f.data;
        body.into_response()
    };
    secure(&mut resp, &content_type(name, f.metadata.mimetype()), cache);
    if let Ok(v) = HeaderValue::from_str(&etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// The media type, with a charset for text.
fn content_type(name: &str, guessed: &str) -> String {
    let media = match name.rsplit_once('.').map(|(_, ext)| ext) {
        // mime_guess says `application/javascript` for some of these on some versions.
        Some("js" | "mjs") => "text/javascript",
        Some("map") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        _ => guessed,
    };
    if media.starts_with("text/") || media == "application/json" || media.ends_with("+json") {
        format!("{media}; charset=utf-8")
    } else {
        media.to_string()
    }
}

fn secure(resp: &mut Response, content_type: &str, cache: &'static str) {
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(
            content_type("assets/a-1.js", "application/javascript"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            content_type("assets/a.css", "text/css"),
            "text/css; charset=utf-8"
        );
        assert_eq!(
            content_type("favicon.svg", "image/svg+xml"),
            "image/svg+xml"
        );
        assert_eq!(content_type("assets/f.woff2", "font/woff2"), "font/woff2");
    }
}
