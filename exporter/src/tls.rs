//! TLS material shared by the server (`web.rs`) and the collectors' clients (Trino,
//! Postgres, Docker, pass-through endpoints): PEM loading and one client configuration
//! type, so every outgoing connection verifies certificates the same way.
//!
//! One TLS stack: rustls with the ring provider. Trust roots are the system's (via
//! `rustls-native-certs`, which hyper-rustls already brings) plus an optional CA file,
//! like Prometheus' `tls_config`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;

/// The one crypto provider of the binary.
pub fn provider() -> Arc<CryptoProvider> {
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}

/// Reads every certificate of a PEM file; an empty file is an error.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("invalid PEM in {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", path.display()));
    }
    Ok(certs)
}

/// Reads the first private key (PKCS#8, PKCS#1 or SEC1) of a PEM file.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|e| format!("cannot read key {}: {e}", path.display()))
}

/// How a collector's client verifies a server and presents itself: the fields of
/// Prometheus' `tls_config`, validated (paths are absolute or relative to the config).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTls {
    /// Extra trust roots, added to the system's.
    pub ca_file: Option<PathBuf>,
    /// Client certificate and key, for servers that require one (mTLS).
    pub cert: Option<(PathBuf, PathBuf)>,
    /// Name to verify the certificate against, when it differs from the host we dial.
    pub server_name: Option<String>,
    /// Skip certificate verification entirely (the connection is still encrypted).
    /// For `sslmode=require` and test clusters; never the default.
    pub insecure_skip_verify: bool,
    /// Check the chain against `ca_file` only and accept any name in the certificate:
    /// libpq's `sslmode=verify-ca`. The system roots are left out on purpose: any public
    /// CA vouches for whatever domain its customer owns, so without the name check a
    /// public chain proves nothing.
    pub any_server_name: bool,
}

impl ClientTls {
    /// A hash of the files' contents (unreadable files hash as empty), to notice a
    /// rotation between two loads of the same settings.
    fn files_digest(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        let files = self
            .ca_file
            .iter()
            .chain(self.cert.iter().flat_map(|(c, k)| [c, k]));
        for f in files {
            std::fs::read(f).unwrap_or_default().hash(&mut h);
        }
        h.finish()
    }

    /// Builds the rustls configuration. Files are read now, so call this when a
    /// connection is (re)made if rotated files should be picked up.
    pub fn client_config(&self) -> Result<rustls::ClientConfig, String> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup: {e}"))?;
        let builder = if self.insecure_skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(provider())))
        } else if self.any_server_name {
            let ca = self
                .ca_file
                .as_ref()
                .ok_or("checking the chain but not the name needs a CA file")?;
            let mut roots = rustls::RootCertStore::empty();
            for cert in load_certs(ca)? {
                roots
                    .add(cert)
                    .map_err(|e| format!("invalid CA certificate in {}: {e}", ca.display()))?;
            }
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly {
                    roots: Arc::new(roots),
                    provider: provider(),
                }))
        } else {
            builder.with_root_certificates(self.roots()?)
        };
        match &self.cert {
            None => Ok(builder.with_no_client_auth()),
            Some((cert, key)) => builder
                .with_client_auth_cert(load_certs(cert)?, load_key(key)?)
                .map_err(|e| format!("client certificate {}: {e}", cert.display())),
        }
    }

    /// System roots plus `ca_file`. Unreadable system certificates are skipped (a
    /// minimal container may have none); an unreadable `ca_file` is an error.
    fn roots(&self) -> Result<rustls::RootCertStore, String> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            // One odd system certificate must not disable TLS altogether.
            let _ = roots.add(cert);
        }
        if let Some(ca) = &self.ca_file {
            for cert in load_certs(ca)? {
                roots
                    .add(cert)
                    .map_err(|e| format!("invalid CA certificate in {}: {e}", ca.display()))?;
            }
        }
        if roots.is_empty() {
            return Err("no trust roots: the system has no CA certificates; set ca_file".into());
        }
        Ok(roots)
    }

    /// The name the server certificate must carry: `server_name`, else `host`.
    pub fn server_name(&self, host: &str) -> Result<ServerName<'static>, String> {
        let name = self.server_name.as_deref().unwrap_or(host);
        ServerName::try_from(name.to_string())
            .map_err(|e| format!("invalid TLS server name {name:?}: {e}"))
    }
}

/// A client TLS setup for one server: the rustls configuration, built once at start-up
/// and shared by every connection to it, and the name its certificate must carry.
#[derive(Clone)]
pub struct Connector {
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
    /// What it was built from, the files' contents included, so a reload can tell
    /// whether a rebuilt connector would differ (a rotated CA file does).
    source: (ClientTls, String, u64),
}

impl PartialEq for Connector {
    fn eq(&self, other: &Connector) -> bool {
        self.source == other.source
    }
}

impl Connector {
    /// Reads the files of `tls` now and fixes the name to verify for `host`.
    pub fn new(tls: &ClientTls, host: &str) -> Result<Connector, String> {
        Ok(Connector {
            config: Arc::new(tls.client_config()?),
            name: tls.server_name(host)?,
            source: (tls.clone(), host.to_string(), tls.files_digest()),
        })
    }

    /// Runs the TLS handshake over an open connection. A certificate problem is an
    /// `io::Error` whose inner error is a `rustls::Error` (see [`is_tls_error`]).
    pub async fn connect<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        io: S,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<S>> {
        tokio_rustls::TlsConnector::from(self.config.clone())
            .connect(self.name.clone(), io)
            .await
    }

    /// The same for blocking I/O (start-up probes run before the runtime exists); the
    /// handshake happens on the first read or write.
    pub fn connect_blocking<S: std::io::Read + std::io::Write>(
        &self,
        io: S,
    ) -> Result<rustls::StreamOwned<rustls::ClientConnection, S>, String> {
        let conn = rustls::ClientConnection::new(self.config.clone(), self.name.clone())
            .map_err(|e| format!("TLS setup: {e}"))?;
        Ok(rustls::StreamOwned::new(conn, io))
    }
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("server_name", &self.name)
            .finish_non_exhaustive()
    }
}

/// True when a rustls error is somewhere in `e`'s chain: the failure is about
/// certificates or the TLS handshake (including the server rejecting our client
/// certificate after the handshake, as TLS 1.3 does), not about the network.
pub fn is_tls_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if e.is::<rustls::Error>() {
            return true;
        }
        // `io::Error::source` skips the error it wraps; look inside explicitly.
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            && is_tls_error(inner)
        {
            return true;
        }
        next = e.source();
    }
    false
}

/// `insecure_skip_verify`: accepts any certificate but still checks the handshake
/// signatures, so the session is encrypted to whoever holds the presented key.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
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
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `any_server_name`: the chain must lead to one of `roots`, the name is not checked.
#[derive(Debug)]
struct ChainOnly {
    roots: Arc<rustls::RootCertStore>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        NoVerify(self.provider.clone()).verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        NoVerify(self.provider.clone()).verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ca_file_is_an_error_naming_it() {
        let tls = ClientTls {
            ca_file: Some(PathBuf::from("/nonexistent/ca.pem")),
            ..ClientTls::default()
        };
        let err = tls.client_config().unwrap_err();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn skip_verify_needs_no_roots() {
        let tls = ClientTls {
            insecure_skip_verify: true,
            ..ClientTls::default()
        };
        assert!(tls.client_config().is_ok());
    }

    #[test]
    fn tls_errors_are_found_inside_io_errors() {
        use std::io::{Error, ErrorKind};
        let alert = rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired);
        let io = Error::new(ErrorKind::InvalidData, alert);
        assert!(is_tls_error(&io));
        #[derive(Debug, thiserror::Error)]
        #[error("wrapped")]
        struct Wrapper(#[source] Error);
        assert!(is_tls_error(&Wrapper(io)), "found below a wrapper");
        assert!(!is_tls_error(&Error::from(ErrorKind::ConnectionRefused)));
    }

    #[test]
    fn chain_only_needs_its_own_ca() {
        // Never the system roots: a public chain without a name check proves nothing.
        let tls = ClientTls {
            any_server_name: true,
            ..ClientTls::default()
        };
        let err = tls.client_config().unwrap_err();
        assert!(err.contains("needs a CA file"), "{err}");
        let tls = ClientTls {
            any_server_name: true,
            ca_file: Some(PathBuf::from("/nonexistent/ca.pem")),
            ..ClientTls::default()
        };
        assert!(
            tls.client_config()
                .unwrap_err()
                .contains("/nonexistent/ca.pem")
        );
    }

    #[test]
    fn server_name_override() {
        let tls = ClientTls {
            server_name: Some("db.internal".into()),
            ..ClientTls::default()
        };
        assert_eq!(
            tls.server_name("10.0.0.1").unwrap(),
            ServerName::try_from("db.internal").unwrap()
        );
        assert!(ClientTls::default().server_name("").is_err());
    }
}
