//! Connecting to MySQL or MariaDB with a predictable session, and its errors as messages
//! that name the server (never the password) and what Fust was doing.

use datafusion::common::DataFusionError;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};

use crate::database::Endpoint;

/// The session every connection gets: UTC (so TIMESTAMP values and pushed-down literals
/// mean the same on both sides), strict writes, backslash escapes on (what
/// `SqlFlavor::MySql::string` produces), and utf8mb4.
const SESSION: &[&str] = &[
    "SET NAMES utf8mb4",
    "SET time_zone = '+00:00'",
    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
];

/// Opens a connection over TCP to exactly the host and port given (no switch to a local
/// socket) and sets up the session, including `statement_timeout`.
pub async fn connect(e: &Endpoint) -> Result<Conn, DataFusionError> {
    let opts = OptsBuilder::default()
        .ip_or_hostname(e.host.clone())
        .tcp_port(e.port)
        .user(Some(e.user.clone()))
        .pass(e.password.as_ref().map(|p| p.expose().to_string()))
        .db_name(Some(e.database.clone()))
        .prefer_socket(false)
        .stmt_cache_size(8);
    let mut conn = tokio::time::timeout(e.connect_timeout, Conn::new(opts))
        .await
        .map_err(|_| {
            external(format!(
                "mysql {e}: cannot connect: no answer within {:?}",
                e.connect_timeout
            ))
        })?
        .map_err(|err| my_error(e, "cannot connect", &err))?;
    for s in SESSION {
        conn.query_drop(*s)
            .await
            .map_err(|err| my_error(e, "setting up the session", &err))?;
    }
    if let Some(t) = e.statement_timeout {
        // MariaDB: max_statement_time (seconds, any statement); MySQL: max_execution_time
        // (milliseconds, SELECT only).
        let maria = format!("SET SESSION max_statement_time = {}", t.as_secs_f64());
        if let Err(err) = conn.query_drop(maria).await {
            let mysql = format!("SET SESSION max_execution_time = {}", t.as_millis().max(1));
            conn.query_drop(mysql)
                .await
                .map_err(|_| my_error(e, "setting statement_timeout", &err))?;
        }
    }
    Ok(conn)
}

/// The result columns of `SELECT * FROM {from} LIMIT 0` (a table or a subquery).
pub async fn probe_columns(
    conn: &mut Conn,
    e: &Endpoint,
    from: &str,
    doing: &str,
) -> Result<std::sync::Arc<[mysql_async::Column]>, DataFusionError> {
    let result = conn
        .query_iter(format!("SELECT * FROM {from} LIMIT 0"))
        .await
        .map_err(|err| my_error(e, doing, &err))?;
    let columns = result
        .columns()
        .unwrap_or_else(|| std::sync::Arc::from(Vec::new()));
    result
        .drop_result()
        .await
        .map_err(|err| my_error(e, doing, &err))?;
    Ok(columns)
}

pub fn external(msg: String) -> DataFusionError {
    DataFusionError::External(msg.into())
}

/// `mysql user@host:port/db: {doing}: {server's message} (error {code})`, with a hint for
/// the errors users meet most.
pub fn my_error(e: &Endpoint, doing: &str, err: &mysql_async::Error) -> DataFusionError {
    let detail = match err {
        mysql_async::Error::Server(s) => {
            let hint = match s.code {
                1045 => "; check `user` and `password`",
                1049 => "; check `database`",
                1146 => "; check `table` (and `database`)",
                1969 | 3024 => "; raise `statement_timeout` or narrow the query",
                _ => "",
            };
            format!("{} (error {}){hint}", s.message, s.code)
        }
        other => {
            let mut s = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(inner) = source {
                let text = inner.to_string();
                if !s.contains(&text) {
                    s.push_str(&format!(": {text}"));
                }
                source = inner.source();
            }
            s
        }
    };
    external(format!("mysql {e}: {doing}: {detail}"))
}
