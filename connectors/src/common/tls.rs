//! The TLS client the database connectors share: libpq's `sslmode` and MySQL's
//! `ssl-mode` as one [`TlsMode`], the roots a verifying mode trusts, and the rustls
//! configuration for it — always with ring, the build's one crypto provider.

use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

/// How a database connection uses TLS: libpq's `sslmode` values, which MySQL's
/// `ssl-mode` maps onto one to one (`DISABLED`, `PREFERRED`, `REQUIRED`, `VERIFY_CA`,
/// `VERIFY_IDENTITY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, else plain; the certificate is not checked (as
    /// libpq and the mysql client do), so this protects only against passive listeners.
    Prefer,
    /// TLS or no connection; the certificate is not checked unless a CA file is given.
    Require,
    /// TLS with a certificate signed by a trusted CA, for any host name.
    VerifyCa,
    /// TLS with a certificate signed by a trusted CA and issued for the host connected to.
    VerifyFull,
}

/// The values `sslmode` takes, in the order of [`TlsMode`].
pub const LIBPQ_MODES: [&str; 5] = ["disable", "prefer", "require", "verify-ca", "verify-full"];
/// The values `ssl_mode` (MySQL's `ssl-mode`) takes, in the order of [`TlsMode`].
pub const MYSQL_MODES: [&str; 5] = [
    "DISABLED",
    "PREFERRED",
    "REQUIRED",
    "VERIFY_CA",
    "VERIFY_IDENTITY",
];
const MODES: [TlsMode; 5] = [
    TlsMode::Disable,
    TlsMode::Prefer,
    TlsMode::Require,
    TlsMode::VerifyCa,
    TlsMode::VerifyFull,
];

impl TlsMode {
    /// Parses one of `names` (case-insensitive; `_` and `-` alike, as both clients accept).
    pub fn parse(value: &str, names: &[&str; 5]) -> Option<Self> {
        let norm = |s: &str| s.to_ascii_lowercase().replace('_', "-");
        names
            .iter()
            .position(|n| norm(n) == norm(value))
            .map(|i| MODES[i])
    }

    /// The mode's name among `names` (for messages in the user's vocabulary).
    pub fn name(self, names: &[&'static str; 5]) -> &'static str {
        names[MODES.iter().position(|m| *m == self).unwrap_or(0)]
    }

    /// Whether a server without TLS is refused.
    pub fn requires_tls(self) -> bool {
        !matches!(self, TlsMode::Disable | TlsMode::Prefer)
    }
}

/// TLS settings of one endpoint: the mode and the CA file (`sslrootcert` / `ssl_ca`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    pub mode: TlsMode,
    /// PEM file of the CA certificates to trust instead of the system's roots.
    pub ca_file: Option<String>,
}

impl TlsOptions {
    pub const fn disabled() -> Self {
        TlsOptions {
            mode: TlsMode::Disable,
            ca_file: None,
        }
    }

    /// The rustls configuration for this mode; `Ok(None)` for `Disable`. `ca_key` names the
    /// CA option in messages. With `Require` and a CA file the chain is checked, as libpq
    /// does when it finds a root certificate.
    pub fn client_config(&self, ca_key: &str) -> Result<Option<Arc<ClientConfig>>, String> {
        let provider = provider();
        let verifier: Arc<dyn ServerCertVerifier> = match (self.mode, &self.ca_file) {
            (TlsMode::Disable, _) => return Ok(None),
            (TlsMode::Prefer, _) | (TlsMode::Require, None) => Arc::new(AnyCertificate {
                algorithms: provider.signature_verification_algorithms,
            }),
            (TlsMode::Require | TlsMode::VerifyCa, _) => Arc::new(AnyName(self.webpki(ca_key)?)),
            (TlsMode::VerifyFull, _) => self.webpki(ca_key)?,
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup failed: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(Some(Arc::new(config)))
    }

    /// The standard verifier over the CA file's certificates, or the system's roots.
    fn webpki(&self, ca_key: &str) -> Result<Arc<WebPkiServerVerifier>, String> {
        let mut roots = RootCertStore::empty();
        match &self.ca_file {
            Some(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| {
                        format!("{ca_key}: cannot read CA certificates from {path}: {e}")
                    })?;
                if certs.is_empty() {
                    return Err(format!(
                        "{ca_key}: {path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
                    ));
                }
                for cert in certs {
                    roots.add(cert).map_err(|e| {
                        format!("{ca_key}: a certificate in {path} is not usable: {e}")
                    })?;
                }
            }
            None => {
                roots.add_parsable_certificates(system_roots().iter().cloned());
                if roots.is_empty() {
                    return Err(format!(
                        "no system CA certificates found to verify the server: give `{ca_key}`"
                    ));
                }
            }
        }
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| format!("TLS setup failed: {e}"))
    }
}

/// ring, the crypto provider of every TLS connection Fust makes.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The operating system's trusted roots, loaded once.
pub fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// `prefer` and `require` without a CA: encryption without authentication, as libpq and
/// the mysql client do. The handshake signatures are still checked (against the
/// certificate the server sent), so the session keys belong to that certificate.
#[derive(Debug)]
struct AnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `verify-ca` / `VERIFY_CA`: the chain must lead to a trusted root; the host name is not
/// compared (webpki checks the name after the chain, so a name error means the chain held).
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The name rustls checks the certificate against: the host as given (an IP address
/// matches an IP SAN).
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_string())
        .map_err(|e| format!("`{host}` is not a host name TLS can check ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_in_both_vocabularies() {
        assert_eq!(
            TlsMode::parse("verify-full", &LIBPQ_MODES),
            Some(TlsMode::VerifyFull)
        );
        assert_eq!(
            TlsMode::parse("verify_identity", &MYSQL_MODES),
            Some(TlsMode::VerifyFull)
        );
        assert_eq!(
            TlsMode::parse("REQUIRED", &MYSQL_MODES),
            Some(TlsMode::Require)
        );
        assert_eq!(TlsMode::parse("required", &LIBPQ_MODES), None);
        assert_eq!(TlsMode::VerifyCa.name(&MYSQL_MODES), "VERIFY_CA");
    }

    #[test]
    fn a_missing_ca_file_names_the_option() {
        let t = TlsOptions {
            mode: TlsMode::VerifyFull,
            ca_file: Some("/nonexistent/ca.pem".into()),
        };
        let err = t.client_config("sslrootcert").unwrap_err();
        assert!(err.starts_with("sslrootcert: cannot read"), "{err}");
    }
}
