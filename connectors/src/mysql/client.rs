//! Connecting to MySQL or MariaDB with a predictable session, and its errors as messages
//! that name the server (never the password) and what Fust was doing.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use datafusion::common::DataFusionError;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, SslOpts};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::wire::{self, StartTls, WireError};
use crate::common::database::Endpoint;
use crate::common::tls::{self, MYSQL_MODES, TlsMode};

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
    let mut conn = match ssl_opts(e) {
        None => in_time(e, Conn::new(opts)).await?,
        Some(ssl) => match in_time(e, Conn::new(opts.clone().ssl_opts(ssl))).await? {
            // PREFERRED: plain when the server offers no TLS (mysql_async has no such mode).
            Err(mysql_async::Error::Driver(
                mysql_async::DriverError::NoClientSslFlagFromServer,
            )) if e.tls.mode == TlsMode::Prefer => in_time(e, Conn::new(opts)).await?,
            other => other,
        },
    }
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

/// mysql_async's TLS settings for `ssl_mode`: the same trust as [`tls::TlsOptions`] (the
/// CA file, else the system's roots rather than mysql_async's built-in list).
fn ssl_opts(e: &Endpoint) -> Option<SslOpts> {
    let roots = || match &e.tls.ca_file {
        Some(path) => vec![std::path::PathBuf::from(path).into()],
        None => tls::system_roots()
            .iter()
            .map(|c| c.to_vec().into())
            .collect(),
    };
    let opts = SslOpts::default().with_disable_built_in_roots(true);
    match (e.tls.mode, &e.tls.ca_file) {
        (TlsMode::Disable, _) => None,
        // Its verifier is built even when it accepts anything, and needs some root: the
        // built-in ones stay for that.
        (TlsMode::Prefer, _) | (TlsMode::Require, None) => {
            Some(SslOpts::default().with_danger_accept_invalid_certs(true))
        }
        (TlsMode::Require | TlsMode::VerifyCa, _) => Some(
            opts.with_root_certs(roots())
                .with_danger_skip_domain_validation(true),
        ),
        (TlsMode::VerifyFull, _) => Some(opts.with_root_certs(roots())),
    }
}

/// A wire connection's stream: plain TCP, or TLS over it.
pub enum MyStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for MyStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MyStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MyStream::Tls(s) => Pin::new(&mut **s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MyStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MyStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MyStream::Tls(s) => Pin::new(&mut **s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MyStream::Plain(s) => Pin::new(s).poll_flush(cx),
            MyStream::Tls(s) => Pin::new(&mut **s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MyStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MyStream::Tls(s) => Pin::new(&mut **s).poll_shutdown(cx),
        }
    }
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
pub async fn connect_wire(e: &Endpoint) -> Result<wire::Conn<MyStream>, DataFusionError> {
    fust_engine::egress::check(&e.host, e.port)
        .await
        .map_err(|m| external(format!("mysql {e}: {m}")))?;
    let login = wire::Login {
        user: &e.user,
        password: e.password.as_ref().map_or("", |p| p.expose()),
        database: &e.database,
    };
    let cannot = |msg: String| external(format!("mysql {e}: cannot connect: {msg}"));
    let config = e.tls.client_config("ssl_ca").map_err(cannot)?;
    let upgrade = match &config {
        Some(config) => {
            let name = tls::server_name(&e.host).map_err(cannot)?;
            let connector = tokio_rustls::TlsConnector::from(config.clone());
            Some(move |s: MyStream| async move {
                match s {
                    MyStream::Plain(tcp) => {
                        Ok(MyStream::Tls(Box::new(connector.connect(name, tcp).await?)))
                    }
                    tls @ MyStream::Tls(_) => Ok(tls),
                }
            })
        }
        None => None,
    };
    let start_tls = match (e.tls.mode, upgrade) {
        (TlsMode::Prefer, Some(u)) => StartTls::Prefer(u),
        (_, Some(u)) => StartTls::Require(u),
        (_, None) => StartTls::Off,
    };
    let mut conn = in_time(e, async {
        let stream = TcpStream::connect((e.host.as_str(), e.port)).await?;
        stream.set_nodelay(true)?;
        wire::Conn::login_with(MyStream::Plain(stream), &login, start_tls).await
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
        mysql_async::Error::Server(s) => {
            server_detail(&s.message, s.code) + &denied_hint(e, s.code)
        }
        mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer) => {
            no_tls_hint(e)
        }
        other => tls_hint(e, with_sources(other)),
    };
    external(format!("mysql {e}: {doing}: {detail}"))
}

/// [`my_error`] for the reads through [`wire`].
pub fn wire_error(e: &Endpoint, doing: &str, err: &WireError) -> DataFusionError {
    let detail = match err {
        WireError::Server(code, message) => server_detail(message, *code) + &denied_hint(e, *code),
        WireError::NoTls => no_tls_hint(e),
        other => tls_hint(e, other.to_string()),
    };
    external(format!("mysql {e}: {doing}: {detail}"))
}

/// MySQL refuses an account created `REQUIRE SSL` over plain TCP as it refuses a wrong
/// password (error 1045), so a refusal over a connection Fust did not encrypt says so.
fn denied_hint(e: &Endpoint, code: u16) -> String {
    if code == 1045 && e.tls.mode == TlsMode::Disable {
        "; this connection is not encrypted (`ssl_mode: DISABLED`): if the account requires \
         TLS (REQUIRE SSL), set `ssl_mode: REQUIRED`"
            .into()
    } else {
        String::new()
    }
}

fn no_tls_hint(e: &Endpoint) -> String {
    format!(
        "`ssl_mode: {}` needs TLS but the server does not offer it: give the server \
         `ssl_cert` and `ssl_key`, or set `ssl_mode: PREFERRED`",
        e.tls.mode.name(&MYSQL_MODES)
    )
}

/// A failed TLS handshake, with what to set.
fn tls_hint(e: &Endpoint, detail: String) -> String {
    let mode = e.tls.mode.name(&MYSQL_MODES);
    let ca = e.tls.ca_file.as_deref().unwrap_or("the system's roots");
    if detail.contains("NotValidForName") {
        format!(
            "{detail}; the server's certificate is not issued for `{}` (`ssl_mode: {mode}`): \
             connect by a name in it, or use `VERIFY_CA`",
            e.host
        )
    } else if detail.contains("UnknownIssuer") || detail.contains("invalid peer certificate") {
        format!(
            "{detail}; the server's certificate is not trusted by `ssl_mode: {mode}` with \
             {ca}: give `ssl_ca` the CA that signed it"
        )
    } else {
        detail
    }
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
