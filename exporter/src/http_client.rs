//! A minimal HTTP/1.1 client on hyper's connection API: one connection per request,
//! plain or TLS (tokio-rustls), a cap on the body size, no redirects, no pooling.
//!
//! The exporter talks to a handful of endpoints every few seconds, so a connection pool
//! would save little and cost a background task per target; one connection per request
//! also means a cancelled cycle leaves nothing behind (the connection is driven inside
//! the request's own future, never spawned, so dropping the future closes it).

use std::pin::pin;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HOST, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::error_kind::ErrorKind;
use crate::tls::Connector;

/// Where requests go: `http(s)://host:port/prefix`.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Path prefix without a trailing slash (empty for none), for servers behind a
    /// reverse proxy that mounts them under a path.
    pub base_path: String,
    /// `Some` for https: the TLS setup, built once when the config is loaded.
    pub tls: Option<Connector>,
}

impl Endpoint {
    /// The `Host` header value.
    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The URL of `path` on this endpoint, for messages.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}{}{path}", self.authority(), self.base_path)
    }
}

/// A response, fully read.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

/// Why a request failed. Variants map to the `kind` label of collector errors.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot connect to {addr}: {source}")]
    /// No TCP connection (refused, unreachable, DNS).
    Connect {
        /// `host:port` as dialled.
        addr: String,
        /// The socket error.
        source: std::io::Error,
    },
    #[error("TLS handshake with {addr} failed: {source}")]
    /// The TLS handshake failed (certificate, protocol).
    Tls {
        /// `host:port` as dialled.
        addr: String,
        /// Why the handshake failed.
        source: std::io::Error,
    },
    #[error("HTTP error talking to {addr}: {}", error_chain(.source))]
    /// The connection broke or the peer did not speak HTTP/1.1.
    Protocol {
        /// `host:port` as dialled.
        addr: String,
        /// hyper's error.
        source: hyper::Error,
    },
    #[error("response body from {addr} is larger than {limit} bytes")]
    /// The body exceeded the size limit; reading stopped there.
    TooLarge {
        /// `host:port` as dialled.
        addr: String,
        /// The limit, in bytes.
        limit: usize,
    },
    #[error("invalid request: {0}")]
    /// The request could not be built (a bug, or a bad path in the config).
    Request(#[from] hyper::http::Error),
}

impl HttpError {
    /// The `kind` label for `lakewatch_collector_errors_total`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            HttpError::Connect { .. } => ErrorKind::Connect,
            HttpError::Tls { .. } => ErrorKind::Tls,
            // A server may reject our certificate only after the handshake (TLS 1.3).
            HttpError::Protocol { source, .. } if crate::tls::is_tls_error(source) => {
                ErrorKind::Tls
            }
            _ => ErrorKind::Http,
        }
    }
}

/// Sends one request and reads the whole response body (at most `limit` bytes).
pub async fn request(
    endpoint: &Endpoint,
    method: Method,
    path: &str,
    headers: &[(HeaderName, HeaderValue)],
    body: Option<Bytes>,
    limit: usize,
) -> Result<Response, HttpError> {
    let mut buf = Vec::new();
    let (status, headers) =
        request_streamed(endpoint, method, path, headers, body, limit, |_, d| {
            buf.extend_from_slice(d)
        })
        .await?;
    Ok(Response {
        status,
        headers,
        body: Bytes::from(buf),
    })
}

/// Sends one request and hands the response body to `on_data` as it arrives, with the
/// response status, without keeping it (at most `limit` bytes in all). Returns the status
/// and headers once the body has been read.
pub async fn request_streamed(
    endpoint: &Endpoint,
    method: Method,
    path: &str,
    headers: &[(HeaderName, HeaderValue)],
    body: Option<Bytes>,
    limit: usize,
    on_data: impl FnMut(StatusCode, &[u8]) + Send,
) -> Result<(StatusCode, HeaderMap), HttpError> {
    let addr = endpoint.authority();
    let target = format!("{}{path}", endpoint.base_path);
    let mut builder = Request::builder()
        .method(method)
        .uri(if target.is_empty() { "/" } else { &target })
        .header(HOST, addr.as_str());
    for (k, v) in headers {
        builder = builder.header(k, v);
    }
    let req = builder.body(Full::new(body.unwrap_or_default()))?;
    let stream = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|source| HttpError::Connect {
            addr: addr.clone(),
            source,
        })?;
    // Small request/response exchanges: do not wait for Nagle.
    let _ = stream.set_nodelay(true);
    match &endpoint.tls {
        None => exchange(stream, req, addr, limit, on_data).await,
        Some(tls) => match tls.connect(stream).await {
            Ok(stream) => exchange(stream, req, addr, limit, on_data).await,
            Err(source) => Err(HttpError::Tls { addr, source }),
        },
    }
}

/// One request/response on an open connection, driven in this future. Each body frame
/// goes to `on_data` and is dropped at once, so hyper's read buffer is reused instead of
/// every chunk being kept.
async fn exchange<S>(
    stream: S,
    req: Request<Full<Bytes>>,
    addr: String,
    limit: usize,
    mut on_data: impl FnMut(StatusCode, &[u8]) + Send,
) -> Result<(StatusCode, HeaderMap), HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let protocol = |source| HttpError::Protocol {
        addr: addr.clone(),
        source,
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(protocol)?;
    let exchange = async {
        let resp = sender.send_request(req).await.map_err(protocol)?;
        let (parts, body) = resp.into_parts();
        let mut body = pin!(Limited::new(body, limit));
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| match e.downcast::<hyper::Error>() {
                Ok(e) => protocol(*e),
                Err(_) => HttpError::TooLarge {
                    addr: addr.clone(),
                    limit,
                },
            })?;
            if let Some(data) = frame.data_ref() {
                on_data(parts.status, data);
            }
        }
        Ok((parts.status, parts.headers))
    };
    let mut exchange = pin!(exchange);
    let mut conn = pin!(conn);
    tokio::select! {
        result = &mut exchange => result,
        done = &mut conn => {
            // The connection ended first (the server closed it after answering); the
            // response is then already buffered, or the error is in `done`.
            done.map_err(protocol)?;
            exchange.await
        }
    }
}

/// The error and its sources on one line: hyper's top-level message alone is "client
/// error (Connect)", which tells an operator nothing.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// `key=value&...` with form encoding (for the Trino UI login form).
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_into(&mut out, k);
        out.push('=');
        encode_into(&mut out, v);
    }
    out
}

fn encode_into(out: &mut String, s: &str) {
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
}

/// Basic auth header value for `user:password`.
pub fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_header() {
        assert_eq!(
            basic_auth("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }

    #[test]
    fn form_encoding() {
        assert_eq!(
            form_encode(&[("username", "lake watch"), ("password", "p&s=ü")]),
            "username=lake+watch&password=p%26s%3D%C3%BC"
        );
    }
}
