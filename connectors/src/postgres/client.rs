//! Connecting to PostgreSQL, and its errors as messages that name the server (never the
//! password) and what Fust was doing.

use datafusion::common::DataFusionError;
use datafusion::common::runtime::SpawnedTask;
use tokio_postgres::{Client, NoTls};

use crate::common::database::Endpoint;

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
    let connecting = cfg.connect(NoTls);
    let (client, connection) = tokio::time::timeout(e.connect_timeout, connecting)
        .await
        .map_err(|_| {
            external(format!(
                "postgres {e}: cannot connect: no answer within {:?}",
                e.connect_timeout
            ))
        })?
        .map_err(|err| pg_error(e, "cannot connect", &err))?;
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
