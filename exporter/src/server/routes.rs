//! What each path answers: authentication, routing, `/-/reload`, and `/metrics`'
//! content negotiation (format and gzip) over the pre-encoded snapshot. The
//! connection handling around it (limits, timeouts, shutdown) is [`super`]'s.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::{Frontend, Lifecycle};
use crate::scheduler::Hub;
use crate::snapshot::{OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};
use crate::web::BasicAuth;

/// The response, when it needs no await: no basic auth configured, not `/-/reload`.
pub(super) fn answer_now<B>(hub: &Hub, frontend: &Frontend, req: &Request<B>) -> Option<Resp> {
    (!frontend.security.auth_required() && req.uri().path() != "/-/reload").then(|| route(hub, req))
}

/// Authenticates (when configured), then routes.
pub(super) async fn handle<B>(hub: &Hub, frontend: &Frontend, req: &Request<B>) -> Resp {
    let auth: Option<Arc<BasicAuth>> = frontend.security.load().auth;
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
    if req.uri().path() == "/-/reload" {
        return match &frontend.lifecycle {
            Some(lifecycle) => reload(lifecycle.as_ref(), req.method()).await,
            None => plain(
                StatusCode::NOT_FOUND,
                "404 not found: /-/reload needs --web.enable-lifecycle\n",
            ),
        };
    }
    route(hub, req)
}

/// `/-/reload`: POST reloads and answers 200, or 400 with why nothing changed.
async fn reload(lifecycle: &dyn Lifecycle, method: &Method) -> Resp {
    if method != Method::POST {
        return method_not_allowed("POST");
    }
    match lifecycle.reload().await {
        Ok(summary) => plain(StatusCode::OK, format!("reloaded: {summary}\n")),
        Err(why) => plain(
            StatusCode::BAD_REQUEST,
            format!("reload failed, the previous configuration keeps running: {why}\n"),
        ),
    }
}

pub(super) type Resp = Response<Full<Bytes>>;

// Header values, checked once when compiling: `HeaderValue::from_static` called at run
// time checks every byte again (about 400 instructions of a `/metrics` answer).
const PLAIN_TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const HTML: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");
const TEXT: HeaderValue = HeaderValue::from_static(TEXT_CONTENT_TYPE);
const OPENMETRICS: HeaderValue = HeaderValue::from_static(OPENMETRICS_CONTENT_TYPE);
const GZIP: HeaderValue = HeaderValue::from_static("gzip");

fn plain(status: StatusCode, text: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(text.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, PLAIN_TEXT);
    r
}

/// 405 with the methods the path takes in `Allow`.
fn method_not_allowed(allow: &'static str) -> Resp {
    let mut r = plain(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "405 method not allowed: use {}\n",
            allow.replace(", ", " or ")
        ),
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// Routes one request. HEAD is answered like GET; hyper omits the body.
pub fn route<B>(hub: &Hub, req: &Request<B>) -> Resp {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return method_not_allowed("GET, HEAD");
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
            let mut r = Response::new(Full::new(Bytes::from(super::status_page::landing_page(
                hub,
            ))));
            r.headers_mut().insert(header::CONTENT_TYPE, HTML);
            r
        }
        _ => plain(StatusCode::NOT_FOUND, "404 not found: try /metrics\n"),
    }
}

/// What the request asks of `/metrics`: OpenMetrics (`Accept`), gzip
/// (`Accept-Encoding`). One pass over its headers (a scrape sends a handful) costs less
/// than a lookup for each of the two.
fn negotiate(headers: &HeaderMap) -> (bool, bool) {
    let (mut accept, mut gzip) = (None, false);
    for (name, value) in headers {
        if name == header::ACCEPT {
            // The first `Accept` decides, as `HeaderMap::get` would.
            accept.get_or_insert(value);
        } else if name == header::ACCEPT_ENCODING {
            gzip = gzip || value.to_str().is_ok_and(accepts_gzip);
        }
    }
    let openmetrics = accept
        .and_then(|v| v.to_str().ok())
        .is_some_and(wants_openmetrics);
    (openmetrics, gzip)
}

/// True when an `Accept` value prefers OpenMetrics (Prometheus asks for it first).
fn wants_openmetrics(accept: &str) -> bool {
    // Pick the highest-q media range we can serve; ties go to the first listed.
    let mut best: Option<(f32, bool)> = None;
    for (media, q) in weighted(accept) {
        let om = if media.eq_ignore_ascii_case("application/openmetrics-text") {
            true
        } else if ["text/plain", "text/*", "*/*"]
            .iter()
            .any(|m| media.eq_ignore_ascii_case(m))
        {
            false
        } else {
            continue;
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, om));
        }
    }
    best.is_some_and(|(_, om)| om)
}

/// True when an `Accept-Encoding` value takes gzip (`gzip`, not `gzip;q=0`).
fn accepts_gzip(accept_encoding: &str) -> bool {
    // What Prometheus sends, answered without splitting (about 450 instructions).
    if accept_encoding.eq_ignore_ascii_case("gzip") {
        return true;
    }
    weighted(accept_encoding)
        .any(|(name, q)| (name.eq_ignore_ascii_case("gzip") || name == "*") && q > 0.0)
}

/// The items of a comma-separated header value with their `q=` weights (1 when absent):
/// `Accept`'s media ranges, `Accept-Encoding`'s codings.
fn weighted(value: &str) -> impl Iterator<Item = (&str, f32)> {
    value.split(',').map(|item| {
        let mut parts = item.split(';').map(str::trim);
        let name = parts.next().unwrap_or("");
        let q = parts
            .filter_map(|p| p.strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        (name, q)
    })
}

/// The snapshot's body for the request's format and encoding. Without `Vary`, as
/// Prometheus' own `promhttp` answers: no cache stands between a scraper and an exporter
/// (and these answers carry no validators or lifetime a cache could use), and the header
/// was a sixth of what a `/metrics` answer cost us more than the static server
/// (`benches/load/instructions.sh`).
fn metrics(hub: &Hub, headers: &HeaderMap) -> Resp {
    let (openmetrics, gzip) = negotiate(headers);
    let (bytes, content_type) = hub.with_snapshot(|snapshot| {
        let (body, content_type) = if openmetrics {
            (&snapshot.openmetrics, OPENMETRICS)
        } else {
            (&snapshot.text, TEXT)
        };
        let bytes = if gzip { &body.gzip } else { &body.plain };
        (bytes.clone(), content_type)
    });
    let mut r = Response::new(Full::new(bytes));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, content_type);
    if gzip {
        h.insert(header::CONTENT_ENCODING, GZIP);
    }
    r
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

    fn om(pairs: &[(&'static str, &'static str)]) -> bool {
        negotiate(&headers(pairs)).0
    }

    fn gz(pairs: &[(&'static str, &'static str)]) -> bool {
        negotiate(&headers(pairs)).1
    }

    #[test]
    fn negotiates_like_prometheus() {
        // Prometheus 2.x's default scrape Accept header.
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert!(om(&[("accept", prom)]));
        assert!(!om(&[]));
        assert!(!om(&[("accept", "*/*")]));
        assert!(!om(&[("accept", "text/plain;version=0.0.4")]));
        assert!(!om(&[(
            "accept",
            "application/openmetrics-text;q=0.2,text/plain;q=0.9"
        )]));
        assert!(!om(&[("accept", "application/openmetrics-text;q=0")]));
        assert!(om(&[("accept", "Application/OpenMetrics-Text")]));
        // The first Accept header decides.
        assert!(!om(&[("accept", "text/plain"), ("accept", prom)]));
        // A whole scrape's headers, as Prometheus sends them.
        let scrape = [
            ("accept", prom),
            ("accept-encoding", "gzip"),
            ("user-agent", "Prometheus/2.45.0"),
            ("x-prometheus-scrape-timeout-seconds", "10"),
        ];
        assert_eq!(negotiate(&headers(&scrape)), (true, true));
    }

    #[test]
    fn gzip_only_when_accepted() {
        assert!(gz(&[("accept-encoding", "gzip")]));
        assert!(gz(&[("accept-encoding", "deflate, gzip;q=0.5")]));
        assert!(!gz(&[("accept-encoding", "gzip;q=0")]));
        assert!(!gz(&[("accept-encoding", "br")]));
        assert!(!gz(&[]));
        // Every Accept-Encoding header counts.
        assert!(gz(&[
            ("accept-encoding", "br"),
            ("accept-encoding", "GZIP")
        ]));
        assert!(gz(&[("accept-encoding", "*")]));
    }
}
