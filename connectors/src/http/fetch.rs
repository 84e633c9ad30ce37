//! Fetching the pages of an `http` input: requests with the job's parameters, headers and
//! authentication, at most `requests_per_second`, retried on transient failures, each
//! response read with a size bound and cut into records; then the next page's request.

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, LINK};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::Value;
use url::Url;

use super::config::{Auth, BodyFormat, HttpSourceConfig, Method, Pagination};
use crate::common::http::{self, HttpError, Retry};

/// One response, cut into records.
#[derive(Debug)]
pub struct Page {
    /// From 1.
    pub number: u64,
    /// The request's URL, with secrets masked, for messages.
    pub url: String,
    pub records: Records,
}

impl Page {
    /// `URL (page N)`, for messages and dead-letter positions.
    pub fn position(&self) -> String {
        format!("{} page {}", self.url, self.number)
    }
}

#[derive(Debug)]
pub enum Records {
    /// JSON objects with their index in the page (from 1); `bad` are the entries that
    /// are not (`(index, raw, reason)`).
    Json {
        records: Vec<(usize, Value)>,
        bad: Vec<(usize, String, String)>,
    },
    /// A CSV body, header line included.
    Csv(Bytes),
    /// A body that does not parse: the raw text and the parser's reason.
    Malformed { raw: String, reason: String },
}

impl Records {
    pub fn len(&self) -> usize {
        match self {
            Records::Json { records, bad } => records.len() + bad.len(),
            Records::Csv(bytes) => bytes
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count()
                .saturating_sub(1),
            Records::Malformed { .. } => 0,
        }
    }
}

/// What to request next.
#[derive(Debug, Clone)]
enum Next {
    /// The job's URL with these pagination parameters.
    Params(Vec<(String, String)>),
    /// A URL the server gave.
    Url(Url),
}

/// Walks the pages of one `http` input.
#[derive(Debug)]
pub struct Pager {
    client: Client,
    config: std::sync::Arc<HttpSourceConfig>,
    base: Url,
    retry: Retry,
    /// The stored `cursor_field` value, sent as `cursor_param`.
    since: Option<String>,
    token: Option<(String, Option<Instant>)>,
    last_request: Option<Instant>,
    next: Option<Next>,
    pages: u64,
    /// Where the pagination stands (offset, page number, last cursor).
    offset: u64,
    last_cursor: Option<String>,
}

impl Pager {
    pub fn new(
        config: std::sync::Arc<HttpSourceConfig>,
        since: Option<String>,
    ) -> Result<Self, String> {
        let base = Url::parse(&config.url).map_err(|e| format!("url: {e}"))?;
        let client = http::client(config.ca_file.as_deref(), config.timeout.0, "ca_file")?;
        let retry = Retry {
            max_retries: config.max_retries,
            ..Retry::default()
        };
        let offset = match &config.pagination {
            Some(Pagination::Offset { start, .. }) | Some(Pagination::Page { start, .. }) => *start,
            _ => 0,
        };
        let mut pager = Pager {
            client,
            config,
            base,
            retry,
            since,
            token: None,
            last_request: None,
            next: None,
            pages: 0,
            offset,
            last_cursor: None,
        };
        pager.next = Some(Next::Params(pager.page_params()));
        Ok(pager)
    }

    /// The pagination parameters of the page at `self.offset`.
    fn page_params(&self) -> Vec<(String, String)> {
        match &self.config.pagination {
            Some(Pagination::Offset {
                limit,
                limit_param,
                offset_param,
                ..
            }) => vec![
                (limit_param.clone(), limit.to_string()),
                (offset_param.clone(), self.offset.to_string()),
            ],
            Some(Pagination::Page {
                page_param,
                size,
                size_param,
                ..
            }) => {
                let mut p = vec![(page_param.clone(), self.offset.to_string())];
                if let (Some(size), Some(param)) = (size, size_param) {
                    p.push((param.clone(), size.to_string()));
                }
                p
            }
            Some(Pagination::Cursor { cursor_param, .. }) => self
                .last_cursor
                .iter()
                .map(|c| (cursor_param.clone(), c.clone()))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The next page, or `None` after the last.
    pub async fn next_page(&mut self) -> Result<Option<Page>, String> {
        let Some(next) = self.next.take() else {
            return Ok(None);
        };
        if self.pages >= self.config.max_pages {
            return Err(format!(
                "more than max_pages ({}) pages; the server keeps giving a next page (raise max_pages if that is right)",
                self.config.max_pages
            ));
        }
        self.pages += 1;
        let number = self.pages;
        let url = self.request_url(&next);
        let shown = self.masked(&url);
        let (headers, body) = self
            .fetch(&url)
            .await
            .map_err(|e| format!("{} {shown} (page {number}): {e}", self.method_name()))?;
        let (records, json) = self.cut(&body);
        let page = Page {
            number,
            url: shown,
            records,
        };
        self.next = self.after(&page, json.as_ref(), &headers, &url)?;
        Ok(Some(page))
    }

    fn method_name(&self) -> &'static str {
        match self.config.method {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }

    fn request_url(&self, next: &Next) -> Url {
        let mut url = match next {
            Next::Url(u) => u.clone(),
            Next::Params(_) => self.base.clone(),
        };
        {
            let mut q = url.query_pairs_mut();
            if let Next::Params(pagination) = next {
                for (k, v) in &self.config.params {
                    q.append_pair(k, &v.to_string());
                }
                if let (Some(param), Some(since)) = (&self.config.cursor_param, &self.since) {
                    q.append_pair(param, since);
                }
                for (k, v) in pagination {
                    q.append_pair(k, v);
                }
            }
            if let Some(Auth::ApiKey {
                key,
                param: Some(p),
                ..
            }) = &self.config.auth
            {
                q.append_pair(p, key.expose());
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        url
    }

    /// `url` with the API key parameter's value masked.
    fn masked(&self, url: &Url) -> String {
        let Some(Auth::ApiKey { param: Some(p), .. }) = &self.config.auth else {
            return url.to_string();
        };
        let mut shown = url.clone();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == p.as_str() { "***".into() } else { v };
                (k.into_owned(), v.into_owned())
            })
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
        shown.to_string()
    }

    async fn wait_for_rate(&mut self) {
        if let Some(rps) = self.config.requests_per_second.filter(|r| *r > 0.0) {
            let gap = Duration::from_secs_f64(1.0 / rps);
            if let Some(last) = self.last_request {
                let due = last + gap;
                let now = Instant::now();
                if due > now {
                    tokio::time::sleep(due - now).await;
                }
            }
        }
        self.last_request = Some(Instant::now());
    }

    /// One request with its retries, and a fresh OAuth2 token once on a 401.
    async fn fetch(&mut self, url: &Url) -> Result<(HeaderMap, Bytes), String> {
        let limit = usize::try_from(self.config.max_response_bytes.0).unwrap_or(usize::MAX);
        http::check_url(url).await?;
        for fresh_token in [false, true] {
            let token = self.bearer(fresh_token).await?;
            self.wait_for_rate().await;
            let sent = http::send(
                || self.request(url, token.as_deref()),
                &self.retry,
                |why, wait| {
                    tracing::warn!(url = %self.masked(url), "{why}; retrying in {wait:?}");
                },
            )
            .await;
            match sent {
                Ok(resp) => {
                    let headers = resp.headers().clone();
                    let body = http::read_body(resp, limit).await.map_err(|e| match e {
                        HttpError::TooLarge { limit } => format!(
                            "the response is larger than max_response_bytes ({limit} bytes)"
                        ),
                        other => other.to_string(),
                    })?;
                    return Ok((headers, body));
                }
                Err(HttpError::Status {
                    status: StatusCode::UNAUTHORIZED,
                    ..
                }) if !fresh_token && matches!(self.config.auth, Some(Auth::Oauth2 { .. })) => {
                    // The token expired early: fetch a new one and try again, once.
                    self.token = None;
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Err("the API refused a freshly fetched OAuth2 token (HTTP 401)".into())
    }

    fn request(&self, url: &Url, token: Option<&str>) -> RequestBuilder {
        let mut r = match self.config.method {
            Method::Get => self.client.get(url.clone()),
            Method::Post => self.client.post(url.clone()),
        };
        for (k, v) in &self.config.headers {
            r = r.header(k, v.expose());
        }
        match &self.config.auth {
            Some(Auth::Bearer { token }) => r = r.bearer_auth(token.expose()),
            Some(Auth::Basic { username, password }) => {
                r = r.basic_auth(username, Some(password.expose()))
            }
            Some(Auth::ApiKey {
                key,
                header,
                param: None,
            }) => r = r.header(header.as_deref().unwrap_or("X-API-Key"), key.expose()),
            _ => {}
        }
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(body) = &self.config.body {
            r = match body {
                Value::String(s) => r.body(s.clone()),
                other => r
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(other.to_string()),
            };
        }
        r
    }

    /// The OAuth2 access token, fetched when there is none, it has expired or `fresh`.
    async fn bearer(&mut self, fresh: bool) -> Result<Option<String>, String> {
        let Some(Auth::Oauth2 {
            token_url,
            client_id,
            client_secret,
            scope,
        }) = &self.config.auth
        else {
            return Ok(None);
        };
        if let Some((token, expires)) = &self.token
            && !fresh
            && expires.is_none_or(|at| Instant::now() < at)
        {
            return Ok(Some(token.clone()));
        }
        if let Ok(u) = Url::parse(token_url) {
            http::check_url(&u)
                .await
                .map_err(|e| format!("auth.token_url: {e}"))?;
        }
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            if let Some(s) = scope {
                form.append_pair("scope", s);
            }
            form.finish()
        };
        let resp = http::send(
            || {
                self.client
                    .post(token_url)
                    .basic_auth(client_id, Some(client_secret.expose()))
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(form.clone())
            },
            &self.retry,
            |why, wait| tracing::warn!("OAuth2 token: {why}; retrying in {wait:?}"),
        )
        .await
        .map_err(|e| format!("auth.token_url {token_url}: {e}"))?;
        let body = http::read_body(resp, 1 << 20)
            .await
            .map_err(|e| format!("auth.token_url {token_url}: {e}"))?;
        let json: Value = serde_json::from_slice(&body)
            .map_err(|e| format!("auth.token_url {token_url}: the answer is not JSON: {e}"))?;
        let token = json
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("auth.token_url {token_url}: no access_token in the answer"))?
            .to_string();
        // Renewed a little before it expires, so a request does not carry a stale one.
        let expires = json.get("expires_in").and_then(Value::as_f64).map(|s| {
            Instant::now() + Duration::from_secs_f64((s * 0.9).clamp(0.0, 86_400.0 * 365.0))
        });
        self.token = Some((token.clone(), expires));
        Ok(Some(token))
    }

    /// The body cut into records, and the parsed JSON document (for the pagination).
    fn cut(&self, body: &[u8]) -> (Records, Option<Value>) {
        match self.config.format {
            BodyFormat::Csv => (Records::Csv(Bytes::copy_from_slice(body)), None),
            BodyFormat::Ndjson => {
                let mut records = Vec::new();
                let mut bad = Vec::new();
                for (i, line) in body.split(|b| *b == b'\n').enumerate() {
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    match serde_json::from_slice::<Value>(line) {
                        Ok(v @ Value::Object(_)) => records.push((i + 1, v)),
                        Ok(other) => bad.push((
                            i + 1,
                            other.to_string(),
                            "the line is not a JSON object".into(),
                        )),
                        Err(e) => bad.push((
                            i + 1,
                            String::from_utf8_lossy(line).into_owned(),
                            format!("invalid JSON at column {}: {e}", e.column()),
                        )),
                    }
                }
                (Records::Json { records, bad }, None)
            }
            BodyFormat::Json => match serde_json::from_slice::<Value>(body) {
                Err(e) => (
                    Records::Malformed {
                        raw: String::from_utf8_lossy(body).into_owned(),
                        reason: format!(
                            "invalid JSON at line {} column {}: {e}",
                            e.line(),
                            e.column()
                        ),
                    },
                    None,
                ),
                Ok(doc) => (self.records_of(&doc), Some(doc)),
            },
        }
    }

    fn records_of(&self, doc: &Value) -> Records {
        let found = match &self.config.records_path {
            Some(path) => lookup(doc, path),
            None => Some(doc),
        };
        let list: Vec<&Value> = match found {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().collect(),
            Some(v @ Value::Object(_)) => vec![v],
            Some(other) => {
                return Records::Malformed {
                    raw: doc.to_string(),
                    reason: format!(
                        "records_path `{}` holds {}, not a list of records",
                        self.config.records_path.as_deref().unwrap_or(""),
                        kind(other)
                    ),
                };
            }
        };
        let mut records = Vec::new();
        let mut bad = Vec::new();
        for (i, v) in list.into_iter().enumerate() {
            match v {
                Value::Object(_) => records.push((i + 1, v.clone())),
                other => bad.push((
                    i + 1,
                    other.to_string(),
                    format!("the record is {}, not an object", kind(other)),
                )),
            }
        }
        Records::Json { records, bad }
    }

    /// The request after `page`, or `None` when it was the last.
    fn after(
        &mut self,
        page: &Page,
        doc: Option<&Value>,
        headers: &HeaderMap,
        url: &Url,
    ) -> Result<Option<Next>, String> {
        let count = page.records.len() as u64;
        let malformed = matches!(page.records, Records::Malformed { .. });
        let next = match &self.config.pagination {
            None => None,
            Some(Pagination::Offset { limit, .. }) => {
                if count < *limit && !malformed {
                    None
                } else {
                    self.offset += limit;
                    Some(Next::Params(self.page_params()))
                }
            }
            Some(Pagination::Page { size, .. }) => {
                if !malformed && (count == 0 || size.is_some_and(|s| count < s)) {
                    None
                } else {
                    self.offset += 1;
                    Some(Next::Params(self.page_params()))
                }
            }
            Some(Pagination::Cursor { cursor_path, .. }) => {
                let Some(doc) = doc else {
                    return Err(format!(
                        "{}: the response is not JSON, so the next cursor (`{cursor_path}`) cannot be read",
                        page.position()
                    ));
                };
                match lookup(doc, cursor_path).and_then(scalar_text) {
                    None => None,
                    Some(c) if self.last_cursor.as_deref() == Some(c.as_str()) => {
                        return Err(format!(
                            "{}: the server gave the same cursor `{c}` twice; stopping rather than reading the same page forever",
                            page.position()
                        ));
                    }
                    Some(c) => {
                        self.last_cursor = Some(c);
                        Some(Next::Params(self.page_params()))
                    }
                }
            }
            Some(Pagination::NextUrl { next_path }) => {
                let Some(doc) = doc else {
                    return Err(format!(
                        "{}: the response is not JSON, so the next URL (`{next_path}`) cannot be read",
                        page.position()
                    ));
                };
                match lookup(doc, next_path).and_then(scalar_text) {
                    None => None,
                    Some(link) => Some(Next::Url(self.follow(url, &link, page)?)),
                }
            }
            Some(Pagination::LinkHeader {}) => match next_link(headers) {
                None => None,
                Some(link) => Some(Next::Url(self.follow(url, &link, page)?)),
            },
        };
        Ok(next)
    }

    /// The next page's URL, resolved against the current one; only on the same origin,
    /// since the request carries the job's credentials.
    fn follow(&self, current: &Url, link: &str, page: &Page) -> Result<Url, String> {
        let next = current.join(link).map_err(|e| {
            format!(
                "{}: the next page's URL `{link}` is not valid: {e}",
                page.position()
            )
        })?;
        if next.origin() != self.base.origin() {
            return Err(format!(
                "{}: the next page is on another host ({}); Fust does not send the job's credentials there",
                page.position(),
                next.origin().ascii_serialization()
            ));
        }
        if next == *current {
            return Err(format!(
                "{}: the next page's URL is this page's; stopping rather than reading it forever",
                page.position()
            ));
        }
        Ok(next)
    }
}

/// The value at a dotted path (`data.items`, `links.0.href`).
pub fn lookup<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .filter(|s| !s.is_empty())
        .try_fold(doc, |v, key| match v {
            Value::Object(m) => m.get(key),
            Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
}

/// A string or number as text; `None` for null, an empty string and the rest.
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The `rel="next"` target of the `Link` headers (RFC 8288).
fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(split_links)
        .find(|(_, params)| {
            params.iter().any(|(k, v)| {
                k.eq_ignore_ascii_case("rel")
                    && v.split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
            })
        })
        .map(|(target, _)| target)
}

/// `<a>; rel="next", <b>; rel=prev` → `[(a, [(rel, next)]), (b, [(rel, prev)])]`.
fn split_links(header: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let target = rest[open + 1..open + close].trim().to_string();
        rest = &rest[open + close + 1..];
        // The link's parameters run to the next `,` outside quotes.
        let mut end = rest.len();
        let mut quoted = false;
        for (i, c) in rest.char_indices() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let params = rest[..end]
            .split(';')
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                Some((k.trim().to_string(), v.trim().trim_matches('"').to_string()))
            })
            .collect();
        out.push((target, params));
        rest = &rest[end..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_next() {
        let mut h = HeaderMap::new();
        h.insert(
            LINK,
            r#"<https://x/a?page=1>; rel="prev", <https://x/a?page=3>; rel="next last""#
                .parse()
                .expect("in a test"),
        );
        assert_eq!(next_link(&h).as_deref(), Some("https://x/a?page=3"));
        h.insert(LINK, "<https://x/a?page=1>; rel=prev".parse().expect("in a test"));
        assert_eq!(next_link(&h), None);
    }

    #[test]
    fn dotted_paths() {
        let doc: Value = serde_json::json!({"data": {"items": [1, 2]}, "links": [{"href": "u"}]});
        assert_eq!(lookup(&doc, "data.items.1"), Some(&serde_json::json!(2)));
        assert_eq!(
            lookup(&doc, "links.0.href")
                .and_then(scalar_text)
                .as_deref(),
            Some("u")
        );
        assert_eq!(lookup(&doc, "data.nothing"), None);
    }
}
