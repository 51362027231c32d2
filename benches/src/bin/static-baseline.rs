//! The limit for serving `/metrics`: the smallest hyper 1.x server that answers every
//! request with one fixed body read from a file at start-up (same hyper, same runtime
//! and connection settings as the exporter, no routing, no negotiation).
//!
//! Usage: static-baseline ADDR BODY_FILE [CONTENT_ENCODING]

use std::convert::Infallible;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(file)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: static-baseline ADDR BODY_FILE [CONTENT_ENCODING]");
    };
    let encoding = args.next();
    let body = Bytes::from(std::fs::read(&file).with_context(|| format!("reading {file}"))?);
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
                r.headers_mut().insert(
                    hyper::header::CONTENT_TYPE,
                    hyper::header::HeaderValue::from_static(
                        "text/plain; version=0.0.4; charset=utf-8",
                    ),
                );
                if let Some(enc) = encoding.as_deref().and_then(|e| e.parse().ok()) {
                    r.headers_mut().insert(hyper::header::CONTENT_ENCODING, enc);
                }
                async move { Ok::<_, Infallible>(r) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
