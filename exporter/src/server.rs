//! HTTP: `/metrics` (the pre-encoded snapshot), `/healthz`, `/readyz` and `/` (a landing
//! page). Serving `/metrics` is a content-negotiation decision and an `Arc` clone; no
//! collection, encoding or compression happens on a request.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::config::format_duration;
use crate::scheduler::Hub;
use crate::snapshot::{OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};
use crate::web::BasicAuth;

/// How long a client may take to send its request headers (slowloris guard).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight requests may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Optional TLS and authentication from `--web.config.file`.
#[derive(Clone, Default)]
pub struct Security {
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    pub auth: Option<Arc<BasicAuth>>,
}

/// Serves until `shutdown` completes, then lets in-flight requests finish (bounded).
pub async fn serve(
    listener: TcpListener,
    hub: Arc<Hub>,
    security: Security,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (hub, auth) = (hub.clone(), security.auth.clone());
        let service = service_fn(move |req| {
            let (hub, auth) = (hub.clone(), auth.clone());
            async move { Ok::<_, Infallible>(handle(&hub, auth.as_ref(), &req).await) }
        });
        let watcher = graceful.watcher();
        let http = http.clone();
        let tls = security.tls.clone();
        tokio::spawn(async move {
            let result = match tls {
                None => {
                    watcher
                        .watch(http.serve_connection(TokioIo::new(stream), service))
                        .await
                }
                Some(acceptor) => {
                    // The handshake shares the header timeout: a client that opens a
                    // socket and says nothing must not hold it forever.
                    match tokio::time::timeout(HEADER_READ_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            watcher
                                .watch(http.serve_connection(TokioIo::new(tls), service))
                                .await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!("TLS handshake failed: {e}");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!("TLS handshake timed out");
                            return;
                        }
                    }
                }
            };
            if let Err(e) = result {
                tracing::debug!("connection ended with error: {e}");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish within {SHUTDOWN_GRACE:?}; closing them");
    }
}

/// Authenticates (when configured), then routes.
async fn handle<B>(hub: &Hub, auth: Option<&Arc<BasicAuth>>, req: &Request<B>) -> Resp {
    if let Some(auth) = auth
        && !auth.check(req.headers().get(header::AUTHORIZATION)).await
    {
        let mut r = plain(StatusCode::UNAUTHORIZED, "401 unauthorized\n");
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"lakewatch\", charset=\"UTF-8\""),
        );
        return r;
    }
    route(hub, req)
}

type Resp = Response<Full<Bytes>>;

fn plain(status: StatusCode, text: &'static str) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Routes one request. HEAD is answered like GET; hyper omits the body.
pub fn route<B>(hub: &Hub, req: &Request<B>) -> Resp {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "405 method not allowed: use GET or HEAD\n",
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    match req.uri().path() {
        "/metrics" => metrics(hub, req.headers()),
        "/healthz" => plain(StatusCode::OK, "ok\n"),
        "/readyz" => {
            if hub.ready() {
                plain(StatusCode::OK, "ready\n")
            } else {
                plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not ready: waiting for every collector's first cycle\n",
                )
            }
        }
        "/" => {
            let mut r = Response::new(Full::new(Bytes::from(landing_page(hub))));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r
        }
        _ => plain(StatusCode::NOT_FOUND, "404 not found: try /metrics\n"),
    }
}

/// True when the `Accept` header prefers OpenMetrics (Prometheus asks for it first).
fn wants_openmetrics(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    // Pick the highest-q media range we can serve; ties go to the first listed.
    let mut best: Option<(f32, bool)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let om = match media.as_str() {
            "application/openmetrics-text" => true,
            "text/plain" | "text/*" | "*/*" => false,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, om));
        }
    }
    best.is_some_and(|(_, om)| om)
}

/// True when the client accepts gzip (`Accept-Encoding: gzip`, not `gzip;q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let q = parts
                .filter_map(|p| p.strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            (name.eq_ignore_ascii_case("gzip") || name == "*") && q > 0.0
        })
}

fn metrics(hub: &Hub, headers: &HeaderMap) -> Resp {
    let snapshot = hub.snapshot();
    let (body, content_type) = if wants_openmetrics(headers) {
        (&snapshot.openmetrics, OPENMETRICS_CONTENT_TYPE)
    } else {
        (&snapshot.text, TEXT_CONTENT_TYPE)
    };
    let gzip = accepts_gzip(headers);
    let bytes = if gzip {
        body.gzip.clone()
    } else {
        body.plain.clone()
    };
    let mut r = Response::new(Full::new(bytes));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding"),
    );
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    r
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn landing_page(hub: &Hub) -> String {
    let mut rows = String::new();
    for s in hub.statuses() {
        let state = match (s.cycles, s.up) {
            (0, _) => "<td class=wait>starting</td>",
            (_, true) => "<td class=up>up</td>",
            (_, false) => "<td class=down>down</td>",
        };
        let ago = s
            .last_success
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .map_or("never".to_string(), |d| {
                format!("{} ago", format_duration(Duration::from_secs(d.as_secs())))
            });
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td>{state}<td>{}</td><td>{} / {}</td><td>{:.3}s</td><td>{ago}</td><td>{}</td><td>{}</td></tr>\n",
            s.collector,
            html_escape(&s.target),
            s.series,
            format_duration(s.schedule.interval),
            format_duration(s.schedule.timeout),
            s.last_duration.as_secs_f64(),
            s.errors.values().sum::<u64>(),
            html_escape(s.last_error.as_deref().unwrap_or("")),
        ));
    }
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Lakewatch exporter</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}.up{{color:#1a7f37}}.down{{color:#cf222e;font-weight:bold}}.wait{{color:#9a6700}}</style>
</head><body>
<h1>Lakewatch exporter {version}</h1>
<p><a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a> · <a href="/readyz">/readyz</a></p>
<table><tr><th>collector</th><th>target</th><th>state</th><th>series</th><th>interval / timeout</th><th>last duration</th><th>last success</th><th>errors</th><th>last error</th></tr>
{rows}</table>
</body></html>
"#,
        version = env!("CARGO_PKG_VERSION"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn negotiates_like_prometheus() {
        // Prometheus 2.x's default scrape Accept header.
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert!(wants_openmetrics(&headers(&[("accept", prom)])));
        assert!(!wants_openmetrics(&headers(&[])));
        assert!(!wants_openmetrics(&headers(&[("accept", "*/*")])));
        assert!(!wants_openmetrics(&headers(&[(
            "accept",
            "text/plain;version=0.0.4"
        )])));
        assert!(!wants_openmetrics(&headers(&[(
            "accept",
            "application/openmetrics-text;q=0.2,text/plain;q=0.9"
        )])));
        assert!(!wants_openmetrics(&headers(&[(
            "accept",
            "application/openmetrics-text;q=0"
        )])));
    }

    #[test]
    fn gzip_only_when_accepted() {
        assert!(accepts_gzip(&headers(&[("accept-encoding", "gzip")])));
        assert!(accepts_gzip(&headers(&[(
            "accept-encoding",
            "deflate, gzip;q=0.5"
        )])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "gzip;q=0")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "br")])));
        assert!(!accepts_gzip(&headers(&[])));
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(html_escape("<b>&\"x\""), "&lt;b&gt;&amp;&quot;x&quot;");
    }
}
