//! Connecting to PostgreSQL, and its errors as messages that name the server (never the
//! password) and what Fust was doing.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use datafusion::common::DataFusionError;
use datafusion::common::runtime::SpawnedTask;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_postgres::{Client, Socket};

use crate::common::database::Endpoint;
use crate::common::tls::{self, LIBPQ_MODES, TlsMode};

/// A client and the task that drives its connection; dropping it closes the connection
/// (and the server rolls back an open transaction).
pub struct PgConn {
    pub client: Client,
    _driver: SpawnedTask<()>,
}

/// Opens a session in UTC with ISO dates, so timestamps and pushed-down literals mean the
/// same on both sides.
pub async fn connect(e: &Endpoint) -> Result<PgConn, DataFusionError> {
    fust_engine::egress::check(&e.host, e.port)
        .await
        .map_err(|m| external(format!("postgres {e}: {m}")))?;
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&e.host)
        .port(e.port)
        .user(&e.user)
        .dbname(&e.database)
        .application_name("fust")
        .connect_timeout(e.connect_timeout);
    if let Some(p) = &e.password {
        cfg.password(p.expose());
    }
    let mut options = "-c TimeZone=UTC -c DateStyle=ISO,YMD -c extra_float_digits=3".to_string();
    if let Some(t) = e.statement_timeout {
        options.push_str(&format!(" -c statement_timeout={}", t.as_millis()));
    }
    cfg.options(&options);
    cfg.ssl_mode(match e.tls.mode {
        TlsMode::Disable => SslMode::Disable,
        TlsMode::Prefer => SslMode::Prefer,
        TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
    });
    let tls = e
        .tls
        .client_config("sslrootcert")
        .map_err(|msg| external(format!("postgres {e}: cannot connect: {msg}")))?;
    let connecting = cfg.connect(Rustls(tls));
    let (client, connection) = tokio::time::timeout(e.connect_timeout, connecting)
        .await
        .map_err(|_| {
            external(format!(
                "postgres {e}: cannot connect: no answer within {:?}",
                e.connect_timeout
            ))
        })?
        .map_err(|err| tls_hint(e, pg_error(e, "cannot connect", &err)))?;
    let driver = SpawnedTask::spawn(async move {
        if let Err(err) = connection.await {
            tracing::debug!(error = %err, "PostgreSQL connection ended");
        }
    });
    Ok(PgConn {
        client,
        _driver: driver,
    })
}

/// Adds what to set when a connection failed over TLS, or for want of it.
fn tls_hint(e: &Endpoint, err: DataFusionError) -> DataFusionError {
    let text = err.to_string();
    let mode = e.tls.mode.name(&LIBPQ_MODES);
    let ca = e.tls.ca_file.as_deref().unwrap_or("the system's roots");
    let hint = if text.contains("no encryption") {
        format!(
            "the server accepts this user only over TLS (sslmode is `{mode}`): set \
             `sslmode: require`, or `verify-full` with `sslrootcert`"
        )
    } else if text.contains("server does not support TLS") {
        format!(
            "sslmode `{mode}` needs TLS but the server does not offer it: turn on `ssl` in \
             the server, or set `sslmode: prefer`"
        )
    } else if text.contains("UnknownIssuer") || text.contains("invalid peer certificate") {
        format!(
            "the server's certificate is not trusted by sslmode `{mode}` with {ca}: give \
             `sslrootcert` the CA that signed it"
        )
    } else {
        return err;
    };
    external(format!(
        "{}; {hint}",
        text.trim_start_matches("External error: ")
    ))
}

/// tokio-postgres's TLS hook over rustls; `None` when `sslmode` is `disable` (then it is
/// never asked to connect).
struct Rustls(Option<Arc<ClientConfig>>);

impl MakeTlsConnect<Socket> for Rustls {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, host: &str) -> io::Result<RustlsConnect> {
        let config = self.0.clone();
        let name = match &config {
            Some(_) => Some(tls::server_name(host).map_err(io::Error::other)?),
            None => None,
        };
        Ok(RustlsConnect { config, name })
    }
}

struct RustlsConnect {
    config: Option<Arc<ClientConfig>>,
    name: Option<ServerName<'static>>,
}

impl TlsConnect<Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        Box::pin(async move {
            let (Some(config), Some(name)) = (self.config, self.name) else {
                return Err(io::Error::other("TLS is disabled (sslmode: disable)"));
            };
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, stream)
                .await?;
            Ok(RustlsStream(Box::new(stream)))
        })
    }
}

/// A PostgreSQL connection over TLS. It offers no channel binding, so SCRAM runs without
/// `-PLUS` (as libpq with `channel_binding=prefer` against a server that does not need it).
struct RustlsStream(Box<tokio_rustls::client::TlsStream<Socket>>);

impl TlsStream for RustlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for RustlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

pub fn external(msg: String) -> DataFusionError {
    DataFusionError::External(msg.into())
}

/// `postgres user@host:port/db: {doing}: {server's message, detail and hint}`.
pub fn pg_error(e: &Endpoint, doing: &str, err: &tokio_postgres::Error) -> DataFusionError {
    let detail = match err.as_db_error() {
        Some(db) => {
            let mut s = db.message().to_string();
            if let Some(d) = db.detail() {
                s.push_str(&format!(" ({d})"));
            }
            if let Some(h) = db.hint() {
                s.push_str(&format!("; hint: {h}"));
            }
            s
        }
        None => {
            let mut s = err.to_string();
            let mut source = std::error::Error::source(err);
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
    external(format!("postgres {e}: {doing}: {detail}"))
}
