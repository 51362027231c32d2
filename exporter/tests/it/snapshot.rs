//! The incremental snapshot encoder's bodies (issue 21) checked by the ecosystem's own
//! readers: `promtool check metrics` on a body spread over many fragments, and a real
//! Prometheus scraping its multi-member gzip body (one member per large cached part).

use std::io::{BufRead as _, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use lakewatch_catalog as cat;
use lakewatch_exporter::collector::Fragment;
use lakewatch_exporter::snapshot::{Encoder, Snapshot, TEXT_CONTENT_TYPE};
use serde_json::Value;

use crate::support::alerting::Server;
use crate::support::{TempDir, eventually_with, promtool_check_metrics, tool};

const TARGETS: usize = 10;
const MOUNTS: usize = 300;
/// Gauges per mount below; every series is a plain gauge, so Prometheus stores one
/// series per sample line.
const PER_MOUNT: usize = 3;

/// Ten disk-like targets sharing the filesystem families, plus self-metrics over all.
fn fragments(generation: u64) -> Vec<Arc<Fragment>> {
    let mut out = Vec::new();
    let mut own = Fragment::default();
    for t in 0..TARGETS {
        let mut f = Fragment::default();
        for m in 0..MOUNTS {
            let device = format!("/dev/mapper/t{t}-data{m}");
            let point = format!("/data/t{t}/lake-{m}");
            let labels = [device.as_str(), "xfs", point.as_str()];
            let v = (m as u64 + generation) as f64;
            f.push(&cat::FILESYSTEM_SIZE, labels, v * 1e9);
            f.push(&cat::FILESYSTEM_FREE, labels, v * 1e8);
            f.push(&cat::FILESYSTEM_AVAIL, labels, v * 1e7);
        }
        own.push(
            &cat::COLLECTOR_UP,
            ["disk".to_string(), format!("t{t}")],
            1.0,
        );
        out.push(Arc::new(f));
    }
    out.push(Arc::new(own));
    out
}

/// The incremental body after a full build and one changed target.
fn body() -> Snapshot {
    let mut encoder = Encoder::default();
    let mut f = fragments(0);
    encoder.build(&f);
    f[3] = fragments(1).swap_remove(3);
    let snap = encoder.build(&f);
    // Not only the same text as a full build, but more than one gzip member.
    let full = Snapshot::build(&f);
    assert_eq!(snap.series, full.series);
    let mut first = flate2::bufread::GzDecoder::new(&snap.text.gzip[..]);
    std::io::copy(&mut first, &mut std::io::sink()).expect("a gzip member");
    let rest = first.into_inner();
    assert!(!rest.is_empty(), "one member only: the test needs several");
    let mut all = Vec::new();
    flate2::read::MultiGzDecoder::new(&snap.text.gzip[..])
        .read_to_end(&mut all)
        .expect("a valid multi-member stream");
    assert_eq!(all, &snap.text.plain[..]);
    snap
}

#[test]
fn promtool_accepts_incremental_bodies() {
    if tool("promtool", &["/usr/bin/promtool"]).is_none() {
        return;
    }
    let snap = body();
    let text = String::from_utf8(snap.text.plain.to_vec()).expect("UTF-8 body");
    if let Some(Err(problems)) = promtool_check_metrics(&text) {
        panic!("promtool check metrics failed:\n{problems}\n--- body ---\n{text}");
    }
}

/// Serves one gzip body to every request until dropped.
struct GzipServer {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl GzipServer {
    fn start(gzip: Bytes) -> GzipServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
        let port = listener.local_addr().expect("a bound address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let mut reader = std::io::BufReader::new(conn.try_clone().expect("a socket"));
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {TEXT_CONTENT_TYPE}\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    gzip.len()
                );
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(&gzip);
            }
        });
        GzipServer { port, stop }
    }
}

impl Drop for GzipServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

#[test]
fn prometheus_ingests_a_multi_member_gzip_body() {
    let Some(prometheus) = tool("prometheus", &["/usr/bin/prometheus"]) else {
        return;
    };
    let snap = body();
    let server = GzipServer::start(snap.text.gzip.clone());
    let dir = TempDir::new("gzip-members");
    let prom = Server::prometheus(
        &prometheus,
        &dir.0,
        &format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: big\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            server.port
        ),
    );
    let want = TARGETS * MOUNTS * PER_MOUNT + TARGETS;
    assert_eq!(snap.series, want);
    let query = |q: &str| -> Option<f64> {
        let (status, body) = prom.get(&format!("/api/v1/query?query={q}"))?;
        let v: Value = serde_json::from_str(&body).ok()?;
        (status == 200).then_some(())?;
        v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    };
    let got = eventually_with(
        Duration::from_secs(60),
        "Prometheus to store a scrape of the body",
        || prom.log_text(),
        || query("scrape_samples_scraped%7Bjob%3D%22big%22%7D"),
    );
    assert_eq!(got as usize, want, "samples in one scrape");
    let up = query("up%7Bjob%3D%22big%22%7D").expect("up after a scrape");
    assert_eq!(up, 1.0);
    let stored = eventually_with(
        Duration::from_secs(60),
        "the scraped series to be queryable",
        || prom.log_text(),
        || query("count(%7Bjob%3D%22big%22,__name__%3D~%22node_.*%7Clakewatch_.*%22%7D)"),
    );
    assert_eq!(stored as usize, want);
}
