//! Connecting to MySQL or MariaDB with a predictable session, and its errors as messages
//! that name the server (never the password) and what Fust was doing.

use datafusion::common::DataFusionError;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};

use tokio::net::TcpStream;

use super::wire::{self, WireError};
use crate::common::database::Endpoint;

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
    fust_engine::egress::check(&e.host, e.port)
        .await
        .map_err(|m| external(format!("mysql {e}: {m}")))?;
    let opts = OptsBuilder::default()
        .ip_or_hostname(e.host.clone())
        .tcp_port(e.port)
        .user(Some(e.user.clone()))
        .pass(e.password.as_ref().map(|p| p.expose().to_string()))
        .db_name(Some(e.database.clone()))
        .prefer_socket(false)
        .stmt_cache_size(8);
    let mut conn = in_time(e, Conn::new(opts))
        .await?
        .map_err(|err| my_error(e, "cannot connect", &err))?;
    for s in SESSION {
        conn.query_drop(*s)
            .await
            .map_err(|err| my_error(e, "setting up the session", &err))?;
    }
    if let Some([maria, mysql]) = timeout_statements(e)
        && let Err(err) = conn.query_drop(maria).await
    {
        conn.query_drop(mysql)
            .await
            .map_err(|_| my_error(e, "setting statement_timeout", &err))?;
    }
    Ok(conn)
}

/// `connecting`, unless the server gives no answer within `connect_timeout`.
async fn in_time<T>(
    e: &Endpoint,
    connecting: impl Future<Output = T>,
) -> Result<T, DataFusionError> {
    tokio::time::timeout(e.connect_timeout, connecting)
        .await
        .map_err(|_| {
            external(format!(
                "mysql {e}: cannot connect: no answer within {:?}",
                e.connect_timeout
            ))
        })
}

/// The statements that set `statement_timeout`: MariaDB's max_statement_time (seconds, any
/// statement), else MySQL's max_execution_time (milliseconds, SELECT only).
fn timeout_statements(e: &Endpoint) -> Option<[String; 2]> {
    let t = e.statement_timeout?;
    Some([
        format!("SET SESSION max_statement_time = {}", t.as_secs_f64()),
        format!("SET SESSION max_execution_time = {}", t.as_millis().max(1)),
    ])
}

/// [`connect`] through Fust's own client ([`wire`]), which the reads use: it hands over
/// each row as its bytes in the read buffer.
pub async fn connect_wire(e: &Endpoint) -> Result<wire::Conn<TcpStream>, DataFusionError> {
    fust_engine::egress::check(&e.host, e.port)
        .await
        .map_err(|m| external(format!("mysql {e}: {m}")))?;
    let login = wire::Login {
        user: &e.user,
        password: e.password.as_ref().map_or("", |p| p.expose()),
        database: &e.database,
    };
    let mut conn = in_time(e, async {
        let stream = TcpStream::connect((e.host.as_str(), e.port)).await?;
        stream.set_nodelay(true)?;
        wire::Conn::login(stream, &login).await
    })
    .await?
    .map_err(|err| wire_error(e, "cannot connect", &err))?;
    for s in SESSION {
        conn.execute(s)
            .await
            .map_err(|err| wire_error(e, "setting up the session", &err))?;
    }
    if let Some([maria, mysql]) = timeout_statements(e)
        && let Err(err) = conn.execute(&maria).await
    {
        conn.execute(&mysql)
            .await
            .map_err(|_| wire_error(e, "setting statement_timeout", &err))?;
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
        mysql_async::Error::Server(s) => server_detail(&s.message, s.code),
        other => with_sources(other),
    };
    external(format!("mysql {e}: {doing}: {detail}"))
}

/// [`my_error`] for the reads through [`wire`].
pub fn wire_error(e: &Endpoint, doing: &str, err: &WireError) -> DataFusionError {
    let detail = match err {
        WireError::Server(code, message) => server_detail(message, *code),
        other => other.to_string(),
    };
    external(format!("mysql {e}: {doing}: {detail}"))
}

fn server_detail(message: &str, code: u16) -> String {
    let hint = match code {
        1045 => "; check `user` and `password`",
        1049 => "; check `database`",
        1146 => "; check `table` (and `database`)",
        1969 | 3024 => "; raise `statement_timeout` or narrow the query",
        _ => "",
    };
    format!("{message} (error {code}){hint}")
}

/// The error and each of its sources not already in its text.
fn with_sources(err: &dyn std::error::Error) -> String {
    let mut s = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(&format!(": {text}"));
        }
        source = inner.source();
    }
    s
}
