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
    let auth = frontend
        .security
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .auth
        .is_some();
    (!auth && req.uri().path() != "/-/reload").then(|| route(hub, req))
}

/// Authenticates (when configured), then routes.
pub(super) async fn handle<B>(hub: &Hub, frontend: &Frontend, req: &Request<B>) -> Resp {
    let auth: Option<Arc<BasicAuth>> = frontend.security().auth;
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
        let mut r = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "405 method not allowed: use POST\n",
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
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

fn plain(status: StatusCode, text: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(text.into()));
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
            let mut r = Response::new(Full::new(Bytes::from(super::status_page::landing_page(
                hub,
            ))));
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
}
