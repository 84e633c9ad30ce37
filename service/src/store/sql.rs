//! Helpers shared by the store's files: sqlx errors in the store's words, placeholder
//! rewriting, URL parsing and redaction, write-race detection and backoff.

use std::time::Duration;

use super::types::{Backend, StoreError, StoreResult};

pub fn not_found_run(id: &str) -> StoreError {
    StoreError::NotFound {
        what: "run",
        name: id.to_owned(),
    }
}

/// Milliseconds since the Unix epoch, UTC.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Wraps a sqlx error with what the store was doing.
pub fn db_error(backend: Backend, context: &str, e: sqlx::Error) -> StoreError {
    crate::metrics::store_error();
    StoreError::Db {
        backend: backend.as_str(),
        message: format!("{context}: {}", describe(&e)),
    }
}

/// The message of a sqlx error without sqlx's own prefixes.
pub fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} (code {code})", db.message()),
            None => db.message().to_owned(),
        },
        sqlx::Error::PoolTimedOut => {
            "timed out waiting for a connection (the database is slow or unreachable)".into()
        }
        other => other.to_string(),
    }
}

/// A write that lost a race with a concurrent one: a duplicate key, a deadlock or a
/// serialization failure. Retrying it may succeed.
pub fn is_conflict(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    db.is_unique_violation()
        || matches!(db.code().as_deref(), Some("40001" | "40P01"))
        // SQLite (extended codes): SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE.
        || matches!(db.code().as_deref(), Some("1555" | "2067"))
}

/// A short, growing pause before retrying a write that lost a race.
pub async fn backoff(attempt: u32) {
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 8);
    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 2 + jitter)).await;
}

/// Rewrites `?` placeholders to `$1, $2, …` for PostgreSQL. Our SQL never has `?` inside
/// a literal.
pub fn placeholders(sql: &str, backend: Backend) -> String {
    if backend != Backend::Postgres {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Picks the backend from the URL and puts it in the form sqlx expects.
pub fn normalize_url(url: &str) -> StoreResult<(Backend, String)> {
    let url = url.trim();
    let (scheme, rest) = match url.split_once(':') {
        Some((scheme, rest)) if scheme.len() > 1 => (scheme.to_ascii_lowercase(), rest),
        _ => (String::new(), url),
    };
    match scheme.as_str() {
        "sqlite" => Ok((Backend::Sqlite, sqlite_url(rest))),
        "postgres" | "postgresql" => Ok((Backend::Postgres, format!("{scheme}:{rest}"))),
        "mysql" | "mariadb" => Ok((Backend::Mysql, format!("mysql:{rest}"))),
        _ if !url.contains("://")
            && [".db", ".sqlite", ".sqlite3"]
                .iter()
                .any(|ext| url.to_ascii_lowercase().ends_with(ext)) =>
        {
            let path = url
                .replace('%', "%25")
                .replace('?', "%3F")
                .replace('#', "%23");
            Ok((Backend::Sqlite, sqlite_url(&path)))
        }
        _ => Err(StoreError::Schema(format!(
            "cannot tell the database of `{}`: use sqlite://PATH, a path ending in .db or \
             .sqlite, postgres://USER@HOST/DB or mysql://USER@HOST/DB",
            redact_url(url)
        ))),
    }
}

/// `sqlite:` + `rest`, with `mode=rwc` (create if missing) unless a mode is given.
pub fn sqlite_url(rest: &str) -> String {
    let (path, params) = match rest.split_once('?') {
        Some((path, params)) => (path, Some(params)),
        None => (rest, None),
    };
    match params {
        Some(params) if params.split('&').any(|p| p.starts_with("mode=")) => {
            format!("sqlite:{path}?{params}")
        }
        Some(params) if !params.is_empty() => format!("sqlite:{path}?{params}&mode=rwc"),
        _ => format!("sqlite:{path}?mode=rwc"),
    }
}

/// The URL with its password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
        None => url.to_owned(),
    }
}

/// Removes the URL's password from a message, should a driver ever echo it.
pub fn scrub(message: &str, url: &str) -> String {
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split(['/', '?', '#']).next())
        .and_then(|authority| authority.rsplit_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password)
        .filter(|password| !password.is_empty());
    match password {
        Some(password) => message.replace(password, "***"),
        None => message.to_owned(),
    }
}
