//! TLS for tokio-postgres over tokio-rustls: the `MakeTlsConnect`/`TlsConnect` pair the
//! driver asks for, built from a [`ClientTls`](crate::tls::ClientTls) so Postgres
//! verifies certificates exactly like every other client of the exporter.
//!
//! Written here rather than taken from `tokio-postgres-rustls` because the target's
//! `server_name` must be able to differ from the host we dial, and it needs no
//! dependency beyond the ones the exporter already has. It also supplies SCRAM channel
//! binding (`tls-server-end-point`, RFC 5929), so `channel_binding=require` works and a
//! man in the middle of an unverified `sslmode=require` session cannot relay the
//! password exchange.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::Socket;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

use crate::collector::BoxFuture;

/// Makes one TLS connector per connection attempt.
#[derive(Clone)]
pub(super) struct MakeRustls {
    config: Arc<rustls::ClientConfig>,
    /// The name to verify instead of the host tokio-postgres dials.
    server_name: Option<ServerName<'static>>,
}

impl MakeRustls {
    pub(super) fn new(
        config: rustls::ClientConfig,
        server_name: Option<ServerName<'static>>,
    ) -> Self {
        MakeRustls {
            config: Arc::new(config),
            server_name,
        }
    }
}

impl MakeTlsConnect<Socket> for MakeRustls {
    type Stream = RustlsStream;
    type TlsConnect = Connect;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, host: &str) -> Result<Connect, Self::Error> {
        let name = match &self.server_name {
            Some(n) => n.clone(),
            None => ServerName::try_from(host.to_string())?,
        };
        Ok(Connect {
            connector: tokio_rustls::TlsConnector::from(self.config.clone()),
            name,
        })
    }
}

/// One handshake.
pub(super) struct Connect {
    connector: tokio_rustls::TlsConnector,
    name: ServerName<'static>,
}

impl TlsConnect<Socket> for Connect {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = BoxFuture<'static, io::Result<RustlsStream>>;

    fn connect(self, socket: Socket) -> Self::Future {
        Box::pin(async move {
            let stream = self.connector.connect(self.name, socket).await?;
            Ok(RustlsStream(Box::new(stream)))
        })
    }
}

/// An established TLS session (boxed: the rustls state is large and the enum that
/// tokio-postgres keeps it in should not be).
pub(super) struct RustlsStream(Box<tokio_rustls::client::TlsStream<Socket>>);

impl TlsStream for RustlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        let (_, conn) = self.0.get_ref();
        conn.peer_certificates()
            .and_then(|certs| certs.first())
            .and_then(|cert| tls_server_end_point(cert))
            .map_or_else(ChannelBinding::none, ChannelBinding::tls_server_end_point)
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

/// RFC 5929 `tls-server-end-point`: the server certificate hashed with the hash of its
/// signature algorithm (SHA-256 when that is MD5 or SHA-1). `None` for algorithms
/// without a single hash (Ed25519, RSA-PSS); Postgres offers no channel binding for
/// those certificates either.
pub(super) fn tls_server_end_point(cert: &[u8]) -> Option<Vec<u8>> {
    use ring::digest::{SHA256, SHA384, SHA512, digest};
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
    let (0x30, body, _) = der(cert)? else {
        return None;
    };
    let (0x30, _tbs, rest) = der(body)? else {
        return None;
    };
    let (0x30, algorithm, _) = der(rest)? else {
        return None;
    };
    let (0x06, oid, _) = der(algorithm)? else {
        return None;
    };
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01]; // 1.2.840.113549.1.1
    const ECDSA_SHA2: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03]; // 1.2.840.10045.4.3
    const ECDSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01]; // 1.2.840.10045.4.1
    let hash = match oid {
        [rsa @ .., n] if rsa == RSA => match n {
            4 | 5 | 11 | 14 => &SHA256, // md5, sha1, sha256, sha224 (as OpenSSL maps it)
            12 => &SHA384,
            13 => &SHA512,
            _ => return None,
        },
        [ec @ .., n] if ec == ECDSA_SHA2 => match n {
            1 | 2 => &SHA256,
            3 => &SHA384,
            4 => &SHA512,
            _ => return None,
        },
        o if o == ECDSA_SHA1 => &SHA256,
        _ => return None,
    };
    Some(digest(hash, cert).as_ref().to_vec())
}

/// One DER element: (tag, contents, what follows).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for b in input.get(2..2 + n)? {
            len = (len << 8) | usize::from(*b);
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    Some((tag, input.get(header..end)?, input.get(end..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate skeleton with the given signature algorithm OID.
    fn cert_with(oid: &[u8]) -> Vec<u8> {
        let tbs = [0x30, 0x03, 0x02, 0x01, 0x01];
        let mut alg = vec![0x06, oid.len() as u8];
        alg.extend_from_slice(oid);
        let mut alg_seq = vec![0x30, alg.len() as u8];
        alg_seq.extend(alg);
        let sig = [0x03, 0x02, 0x00, 0xff];
        let body: Vec<u8> = tbs.iter().chain(&alg_seq).chain(&sig).copied().collect();
        let mut cert = vec![0x30, 0x81, body.len() as u8];
        cert.extend(body);
        cert
    }

    #[test]
    fn end_point_hash_follows_the_signature_algorithm() {
        let ecdsa_sha256 = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
        let ecdsa_sha384 = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
        let rsa_sha1 = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05];
        let rsa_sha512 = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
        let ed25519 = [0x2b, 0x65, 0x70];
        let len = |oid: &[u8]| tls_server_end_point(&cert_with(oid)).map(|h| h.len());
        assert_eq!(len(&ecdsa_sha256), Some(32));
        assert_eq!(len(&ecdsa_sha384), Some(48));
        assert_eq!(len(&rsa_sha1), Some(32), "SHA-1 is upgraded to SHA-256");
        assert_eq!(len(&rsa_sha512), Some(64));
        assert_eq!(len(&ed25519), None);
        let c = cert_with(&ecdsa_sha256);
        assert_eq!(
            tls_server_end_point(&c).unwrap(),
            ring::digest::digest(&ring::digest::SHA256, &c).as_ref()
        );
    }

    #[test]
    fn truncated_der_is_no_binding() {
        let c = cert_with(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]);
        for cut in 0..c.len() {
            assert_eq!(tls_server_end_point(&c[..cut]), None, "cut at {cut}");
        }
    }
}
