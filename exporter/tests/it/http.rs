//! The real binary on an ephemeral port: what `/metrics` contains and how the HTTP
//! surface, readiness, timeouts and shutdown behave.

use std::collections::BTreeSet;
use std::io::Read;
use std::process::Command;
use std::time::Duration;

use lakewatch_catalog::{self as cat, Kind};

use crate::support::{Exporter, TempDir, config_file, eventually, parse_exposition};

const OPENMETRICS: &str =
    "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";

#[test]
fn every_series_is_a_catalog_metric_with_its_type_and_labels() {
    let exp = Exporter::start(&[]);
    exp.wait_ready(Duration::from_secs(20));
    let text = exp.metrics();
    let (samples, types) = parse_exposition(&text);
    assert!(!samples.is_empty());
    for s in &samples {
        let metric =
            cat::lookup(&s.name).unwrap_or_else(|| panic!("{} is not in the catalog", s.name));
        let family = match metric.kind {
            Kind::Histogram => metric.name,
            _ => s.name.as_str(),
        };
        let expected_type = match metric.kind {
            Kind::Counter => "counter",
            Kind::Gauge | Kind::Info => "gauge",
            Kind::Histogram => "histogram",
            Kind::Unknown => "untyped",
        };
        assert_eq!(
            types.get(family).map(String::as_str),
            Some(expected_type),
            "TYPE of {family}"
        );
        let mut labels: BTreeSet<&str> = s.labels.keys().map(String::as_str).collect();
        if s.name.ends_with("_bucket") {
            assert!(labels.remove("le"), "{} has no le", s.name);
        }
        if metric.name == cat::CONTAINER_INFO.name {
            // Allow-listed Docker labels, the one place extra labels are allowed.
            labels.retain(|l| !l.starts_with(cat::CONTAINER_LABEL_PREFIX));
        }
        let declared: BTreeSet<&str> = metric.labels.iter().copied().collect();
        assert_eq!(labels, declared, "labels of {}", s.name);
    }
    let names: BTreeSet<&str> = samples.iter().map(|s| s.name.as_str()).collect();
    for required in [
        "lakewatch_build_info",
        "lakewatch_collector_up",
        "lakewatch_collector_duration_seconds",
        "lakewatch_collector_last_success_timestamp_seconds",
        "node_filesystem_size_bytes",
        "node_filesystem_avail_bytes",
        "node_filesystem_readonly",
        "node_filesystem_device_error",
        "process_resident_memory_bytes",
    ] {
        assert!(names.contains(required), "{required} missing from:\n{text}");
    }
    let up = samples
        .iter()
        .find(|s| s.name == "lakewatch_collector_up" && s.labels["collector"] == "disk")
        .expect("disk collector status");
    assert_eq!(up.value, 1.0);
    assert_eq!(up.labels["target"], "localhost");
}

#[test]
fn openmetrics_when_asked() {
    let exp = Exporter::start(&[]);
    exp.wait_ready(Duration::from_secs(20));
    let r = exp.request("GET", "/metrics", &[("Accept", OPENMETRICS)]);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let body = r.text();
    assert!(body.ends_with("# EOF\n"), "{body}");
    assert!(body.contains("# TYPE lakewatch_build info\n"), "{body}");
    assert!(
        body.contains("# UNIT node_filesystem_size_bytes bytes\n"),
        "{body}"
    );
    let plain = exp.get("/metrics");
    assert_eq!(
        plain.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(!plain.text().contains("# EOF"));
}

#[test]
fn gzip_negotiation() {
    let exp = Exporter::start(&[]);
    exp.wait_ready(Duration::from_secs(20));
    let gz = exp.request("GET", "/metrics", &[("Accept-Encoding", "gzip, deflate")]);
    assert_eq!(gz.status, 200);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    // As promhttp: no `Vary` (server/routes.rs says why).
    assert_eq!(gz.header("vary"), None);
    let mut text = String::new();
    // The body is several gzip members once it is large (one per cached part).
    flate2::read::MultiGzDecoder::new(&gz.body[..])
        .read_to_string(&mut text)
        .expect("a valid gzip body");
    assert!(text.contains("lakewatch_build_info{version="), "{text}");

    let refused = exp.request(
        "GET",
        "/metrics",
        &[("Accept-Encoding", "gzip;q=0, identity")],
    );
    assert_eq!(refused.header("content-encoding"), None);
    assert!(refused.text().starts_with("# HELP "));
}

#[test]
fn status_codes() {
    let exp = Exporter::start(&[]);
    assert_eq!(exp.get("/healthz").status, 200);
    assert_eq!(exp.get("/nope").status, 404);
    assert_eq!(exp.get("/metrics/extra").status, 404);
    let post = exp.request("POST", "/metrics", &[("Content-Length", "0")]);
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    exp.wait_ready(Duration::from_secs(20));
    let head = exp.request("HEAD", "/metrics", &[]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert!(
        head.header("content-length")
            .is_some_and(|l| l.parse::<usize>().unwrap() > 100)
    );
    let landing = exp.get("/");
    assert_eq!(landing.status, 200);
    assert!(
        landing
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let html = landing.text();
    assert!(
        html.contains("<td>disk</td><td>localhost</td><td class=up>up</td>"),
        "{html}"
    );
}

#[test]
fn sigterm_exits_cleanly() {
    let mut exp = Exporter::start(&[]);
    exp.wait_ready(Duration::from_secs(20));
    let status = exp.terminate(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    assert!(exp.log_text().contains("SIGTERM received"));
}

/// A `procfs` whose mountinfo is a FIFO nobody writes: reading it blocks forever, like
/// a hung mount. The scrape must not notice, the cycle must time out and be reported,
/// and shutdown must not wait for the stuck thread.
#[test]
fn hung_collector_times_out_without_stalling_metrics() {
    let dir = TempDir::new("hung");
    for sub in ["proc/1", "proc/self"] {
        std::fs::create_dir_all(dir.0.join(sub)).unwrap();
        let fifo = dir.0.join(sub).join("mountinfo");
        assert!(
            Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
    }
    let cfg = config_file(
        &dir,
        &format!(
            "collectors:\n  disk:\n    interval: 1m\n    timeout: 4s\n    mount_timeout: 1s\n    procfs: {}\n",
            dir.0.join("proc").display()
        ),
    );
    // While the first cycle hangs: not ready, yet /metrics answers. The exporter marks
    // itself ready only after publishing the first cycle's status, so when /metrics,
    // asked second, has no status yet, /readyz was asked during the hang. On a machine
    // too slow to look within the 4 s timeout, start again.
    let (mut exp, ready, during) = eventually(
        Duration::from_secs(120),
        "a look at /readyz and /metrics while the first cycle hangs",
        || {
            let exp = Exporter::start(&["--config", &cfg]);
            let ready = exp.get("/readyz");
            let during = exp.get("/metrics");
            (!during.text().contains("lakewatch_collector_up{")).then_some((exp, ready, during))
        },
    );
    assert_eq!(ready.status, 503, "ready before the first cycle ended");
    assert_eq!(during.status, 200);
    assert!(during.text().contains("lakewatch_build_info"));

    exp.wait_ready(Duration::from_secs(20));
    let text = exp.metrics();
    assert!(
        text.contains("lakewatch_collector_up{collector=\"disk\",target=\"localhost\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("lakewatch_collector_errors_total{collector=\"disk\",target=\"localhost\",kind=\"timeout\"} 1"),
        "{text}"
    );
    assert!(
        !text.contains("node_filesystem_size_bytes"),
        "no data from a failed cycle"
    );
    assert!(
        exp.log_text().contains("collection failed"),
        "a log line says why"
    );
    let status = exp.terminate(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
}
