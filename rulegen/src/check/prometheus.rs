//! A small client for the Prometheus HTTP API (`/api/v1/query`, `/api/v1/series`,
//! `/api/v1/label/<name>/values`): hyper 1 over a current-thread tokio runtime, one
//! connection per request, every request bounded by a timeout, so a Prometheus that is
//! down or hangs is an error and never a stuck check.

use std::collections::BTreeMap;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::CheckError;

/// A series' labels, `__name__` included.
pub type Labels = BTreeMap<String, String>;

/// Responses larger than this are refused: a series list that big is a selector that
/// matches far too much, not something to hold in memory.
const BODY_LIMIT: usize = 256 << 20;

/// The result of an instant query.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// An instant vector: the labels and value of each series.
    Vector(Vec<(Labels, String)>),
    /// A scalar or string result: one value, no labels.
    Scalar(String),
}

/// A Prometheus server's HTTP API.
pub struct Prometheus {
    url: String,
    host: String,
    port: u16,
    base_path: String,
    tls: Option<tokio_rustls::TlsConnector>,
    authorization: Option<HeaderValue>,
    timeout: Duration,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Prometheus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prometheus")
            .field("url", &self.url)
            .finish()
    }
}

impl Prometheus {
    /// A client for the Prometheus at `base_url` (`http://host:port[/prefix]` or https);
    /// nothing is sent until the first request. Requests time out after 30 s.
    pub fn new(base_url: &str) -> Result<Prometheus, CheckError> {
        let bad = |why: &str| CheckError::Url {
            url: base_url.to_string(),
            message: why.to_string(),
        };
        let (https, rest) = if let Some(r) = base_url.strip_prefix("http://") {
            (false, r)
        } else if let Some(r) = base_url.strip_prefix("https://") {
            (true, r)
        } else {
            return Err(bad("expected http://host:port or https://host:port"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(bad(
                "credentials do not belong in the URL; use --prometheus.user and --prometheus.password-file",
            ));
        }
        let default_port = if https { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, p) = v6.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
            let port = match p.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad("invalid port"))?,
                None if p.is_empty() => default_port,
                None => return Err(bad("unexpected text after `]`")),
            };
            (h.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p.parse().map_err(|_| bad("invalid port"))?),
                None => (authority.to_string(), default_port),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let tls = if https {
            Some(tls_connector().map_err(|m| bad(&m))?)
        } else {
            None
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| bad(&format!("cannot start the I/O runtime: {e}")))?;
        Ok(Prometheus {
            url: base_url.trim_end_matches('/').to_string(),
            host,
            port,
            base_path: path.to_string(),
            tls,
            authorization: None,
            timeout: Duration::from_secs(30),
            runtime,
        })
    }

    /// Sets the timeout of each request (connect, send, read the whole answer).
    pub fn with_timeout(mut self, timeout: Duration) -> Prometheus {
        self.timeout = timeout;
        self
    }

    /// Sends HTTP Basic credentials with every request.
    pub fn with_basic_auth(mut self, user: &str, password: &str) -> Prometheus {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.authorization = HeaderValue::from_str(&format!("Basic {token}")).ok();
        self
    }

    /// Sends a bearer token with every request.
    pub fn with_bearer_token(mut self, token: &str) -> Prometheus {
        self.authorization = HeaderValue::from_str(&format!("Bearer {}", token.trim())).ok();
        self
    }

    /// The base URL, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Checks that the server answers the API (`/api/v1/status/buildinfo`); returns its
    /// version.
    pub fn ping(&self) -> Result<String, CheckError> {
        let data = self.api("/api/v1/status/buildinfo", "")?;
        Ok(data
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string())
    }

    /// The labels of every series `selector` matches between `start` and `end` (Unix
    /// seconds).
    pub fn series(&self, selector: &str, start: f64, end: f64) -> Result<Vec<Labels>, CheckError> {
        let form = format!("match[]={}&start={start:.3}&end={end:.3}", encode(selector));
        let data = self.api("/api/v1/series", &form)?;
        let list = data.as_array().ok_or_else(|| self.bad_response("series"))?;
        Ok(list.iter().map(labels).collect())
    }

    /// The values of `label` on series matching `selector` (all series when `None`)
    /// between `start` and `end`.
    pub fn label_values(
        &self,
        label: &str,
        selector: Option<&str>,
        start: f64,
        end: f64,
    ) -> Result<Vec<String>, CheckError> {
        let mut query = format!("start={start:.3}&end={end:.3}");
        if let Some(s) = selector {
            query.push_str(&format!("&match[]={}", encode(s)));
        }
        // This endpoint takes GET only; its parameters go in the URL.
        let path = format!("/api/v1/label/{}/values?{query}", encode(label));
        let data = self.api(&path, "")?;
        let list = data
            .as_array()
            .ok_or_else(|| self.bad_response("label values"))?;
        Ok(list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect())
    }

    /// Evaluates `expr` as an instant query at `time` (Unix seconds).
    pub fn query(&self, expr: &str, time: f64) -> Result<Answer, CheckError> {
        let form = format!("query={}&time={time:.3}", encode(expr));
        let data = self.api("/api/v1/query", &form)?;
        let result = data.get("result");
        match data.get("resultType").and_then(Value::as_str) {
            Some("vector") => {
                let list = result
                    .and_then(Value::as_array)
                    .ok_or_else(|| self.bad_response("query"))?;
                Ok(Answer::Vector(
                    list.iter()
                        .map(|s| {
                            let value = s
                                .get("value")
                                .and_then(|v| v.get(1))
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string();
                            (labels(s.get("metric").unwrap_or(&Value::Null)), value)
                        })
                        .collect(),
                ))
            }
            Some("scalar" | "string") => Ok(Answer::Scalar(
                result
                    .and_then(|v| v.get(1))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            )),
            _ => Err(self.bad_response("query")),
        }
    }

    fn bad_response(&self, what: &str) -> CheckError {
        CheckError::Response {
            url: self.url.clone(),
            message: format!("unexpected {what} response shape"),
        }
    }

    /// Calls an API endpoint (POST with `form` when it is not empty, else GET) and returns
    /// its `data`, or the API's own error.
    fn api(&self, path: &str, form: &str) -> Result<Value, CheckError> {
        let url = format!("{}{path}", self.url);
        let (status, body) = self
            .runtime
            .block_on(async { tokio::time::timeout(self.timeout, self.request(path, form)).await })
            .map_err(|_| CheckError::Timeout {
                url: self.url.clone(),
                secs: self.timeout.as_secs_f64(),
            })??;
        if status == 401 || status == 403 {
            return Err(CheckError::Response {
                url,
                message: format!(
                    "HTTP {status}: Prometheus wants other credentials (--prometheus.user with --prometheus.password-file, or --prometheus.bearer-token-file)"
                ),
            });
        }
        let json: Value = serde_json::from_slice(&body).map_err(|_| CheckError::Response {
            url: url.clone(),
            message: format!(
                "HTTP {status}, not a Prometheus API answer: {}",
                excerpt(&String::from_utf8_lossy(&body))
            ),
        })?;
        if json.get("status").and_then(Value::as_str) == Some("success") {
            return Ok(json.get("data").cloned().unwrap_or(Value::Null));
        }
        let text = |k: &str| {
            json.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Err(CheckError::Api {
            url,
            status,
            error_type: text("errorType"),
            message: text("error"),
        })
    }

    async fn request(&self, path: &str, form: &str) -> Result<(u16, Bytes), CheckError> {
        let authority = if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        };
        let connect_err = |e: &dyn std::fmt::Display| CheckError::Connect {
            url: self.url.clone(),
            message: e.to_string(),
        };
        let mut builder = Request::builder()
            .uri(format!("{}{path}", self.base_path))
            .header(HOST, authority.as_str());
        if let Some(auth) = &self.authorization {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
        let req = if form.is_empty() {
            builder.method("GET").body(Full::new(Bytes::new()))
        } else {
            builder
                .method("POST")
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Full::new(Bytes::from(form.to_string())))
        }
        .map_err(|e| connect_err(&e))?;
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| connect_err(&e))?;
        let _ = stream.set_nodelay(true);
        match &self.tls {
            None => exchange(stream, req).await,
            Some(tls) => {
                let name = rustls_pki_types::ServerName::try_from(self.host.clone())
                    .map_err(|e| connect_err(&e))?;
                let stream = tls
                    .connect(name, stream)
                    .await
                    .map_err(|e| connect_err(&format!("TLS handshake failed: {e}")))?;
                exchange(stream, req).await
            }
        }
        .map_err(|e| connect_err(&e))
    }
}

/// One request/response on an open connection, the connection driven in this future (not
/// spawned), so a timeout that drops it closes the socket.
async fn exchange<S>(stream: S, req: Request<Full<Bytes>>) -> Result<(u16, Bytes), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    let exchange = async {
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let body = Limited::new(resp.into_body(), BODY_LIMIT)
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?
            .to_bytes();
        Ok((status, body))
    };
    let mut exchange = pin!(exchange);
    let mut conn = pin!(conn);
    tokio::select! {
        result = &mut exchange => result,
        done = &mut conn => {
            // The server closed the connection after answering: the answer is buffered,
            // or the error is in `done`.
            done.map_err(|e| e.to_string())?;
            exchange.await
        }
    }
}

fn tls_connector() -> Result<tokio_rustls::TlsConnector, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        // One unreadable system certificate must not make every https URL fail.
        let _ = roots.add(cert);
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

fn labels(v: &Value) -> Labels {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// `application/x-www-form-urlencoded` value encoding.
fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn excerpt(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_or_refused_with_a_reason() {
        let p = Prometheus::new("http://127.0.0.1:9090/prom/").unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.base_path.as_str()),
            ("127.0.0.1", 9090, "/prom")
        );
        assert_eq!(p.url(), "http://127.0.0.1:9090/prom");
        let p = Prometheus::new("https://[::1]").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("::1", 443));
        for bad in ["localhost:9090", "http://u:p@h:1", "http://h:x", "http://"] {
            assert!(
                matches!(Prometheus::new(bad), Err(CheckError::Url { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_closed_port_is_a_connect_error_not_a_hang() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let p = Prometheus::new(&format!("http://127.0.0.1:{port}")).unwrap();
        let err = p.ping().unwrap_err();
        assert!(matches!(err, CheckError::Connect { .. }), "{err}");
    }

    #[test]
    fn a_silent_server_times_out() {
        // Accepts connections (the kernel backlog does) but never answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let p = Prometheus::new(&format!("http://{addr}"))
            .unwrap()
            .with_timeout(Duration::from_millis(200));
        let err = p.ping().unwrap_err();
        assert!(matches!(err, CheckError::Timeout { .. }), "{err}");
        drop(listener);
    }
}
