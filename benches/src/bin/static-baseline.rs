//! The limit for serving `/metrics`: the smallest hyper 1.x server that answers every
//! request with one fixed body read from a file at start-up (same hyper, same runtime
//! and connection settings as the exporter, no routing, no negotiation).
//!
//! Usage: static-baseline ADDR BODY_FILE [CONTENT_ENCODING]
//!
//! With `BASELINE_TIMER=1` in its environment, it keeps one timer pending (a task
//! sleeping an hour), as any server with deadlines has: tokio then parks with a
//! timeout, which costs the kernel a timer on every `epoll_wait`.

use std::convert::Infallible;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper::header::HeaderValue;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(file)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: static-baseline ADDR BODY_FILE [CONTENT_ENCODING]");
    };
    // Header values made once: the limit does no per-request work it could avoid.
    const CONTENT_TYPE: HeaderValue =
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
    let encoding: Option<HeaderValue> = match args.next() {
        Some(e) => Some(
            e.parse()
                .context("CONTENT_ENCODING is not a header value")?,
        ),
        None => None,
    };
    let body = Bytes::from(std::fs::read(&file).with_context(|| format!("reading {file}"))?);
    if std::env::var("BASELINE_TIMER").is_ok_and(|v| v == "1") {
        tokio::spawn(tokio::time::sleep(std::time::Duration::from_secs(3600)));
    }
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    eprintln!("static-baseline listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let body = body.clone();
        let encoding = encoding.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_req| {
                let mut r = Response::new(Full::new(body.clone()));
                r.headers_mut()
                    .insert(hyper::header::CONTENT_TYPE, CONTENT_TYPE);
                if let Some(enc) = &encoding {
                    r.headers_mut()
                        .insert(hyper::header::CONTENT_ENCODING, enc.clone());
                }
                async move { Ok::<_, Infallible>(r) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
