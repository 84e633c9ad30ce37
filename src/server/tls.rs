//! HTTPS for `fust serve` (`--tls-cert`, `--tls-key`): a listener that completes each TLS
//! handshake beside the others and hands axum only finished ones, so a slow or failed
//! handshake neither blocks other clients nor stops the server.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fust_engine::Error;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take over its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; connections beyond are closed (a flood of clients that
/// never finish cannot make the server hold unbounded sockets).
const MAX_HANDSHAKES: usize = 1024;

/// The server's TLS settings from the PEM certificate chain and private key, with ring
/// (the build's one crypto provider) and HTTP/1.1 offered by ALPN.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, Error> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            Error::user(
                "tls_cert",
                format!(
                    "cannot read a PEM certificate chain from {}: {e}",
                    cert.display()
                ),
            )
        })?;
    if certs.is_empty() {
        return Err(Error::user(
            "tls_cert",
            format!(
                "{} holds no certificate (-----BEGIN CERTIFICATE-----)",
                cert.display()
            ),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        Error::user(
            "tls_key",
            format!("cannot read a PEM private key from {}: {e}", key.display()),
        )
    })?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::external("tls_cert", format!("TLS setup failed: {e}")))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| {
                Error::user(
                    "tls_key",
                    format!("the key does not go with the certificate, or is not usable: {e}"),
                )
            })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A TCP listener whose connections are TLS sessions, for `axum::serve`.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<Option<(TlsStream<TcpStream>, SocketAddr)>>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> Self {
        TlsListener {
            tcp,
            acceptor,
            handshakes: JoinSet::new(),
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    /// Cancel-safe, as axum needs: accepting a socket and collecting a finished handshake
    /// both are, and nothing is held between them.
    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            tokio::select! {
                (tcp, addr) = axum::serve::Listener::accept(&mut self.tcp) => {
                    if self.handshakes.len() >= MAX_HANDSHAKES {
                        tracing::warn!(%addr, "Closed a connection: too many TLS handshakes in progress");
                        continue;
                    }
                    let acceptor = self.acceptor.clone();
                    self.handshakes.spawn(async move {
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                            Ok(Ok(tls)) => Some((tls, addr)),
                            Ok(Err(error)) => {
                                tracing::debug!(%addr, %error, "TLS handshake failed");
                                None
                            }
                            Err(_) => {
                                tracing::debug!(%addr, "TLS handshake timed out");
                                None
                            }
                        }
                    });
                }
                Some(done) = self.handshakes.join_next() => {
                    if let Ok(Some(session)) = done {
                        return session;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
