//! The S3 collector against a real S3 server (moto, from PyPI) and the pass-through
//! against Debian's prometheus-node-exporter.

use std::time::Duration;

use crate::support::s3::Admin;
use crate::support::{
    Exporter, Moto, TempDir, config_file, eventually, node_exporter, promtool_check_metrics, value,
};

/// A secret no test ever expects to see in output.
const SECRET: &str = "lw-s3cr3t-DO-NOT-LEAK-7f3a91";

fn promtool_check(body: &str) {
    if let Some(problems) = promtool(body) {
        panic!("promtool check metrics failed:\n{problems}\n--- body ---\n{body}");
    }
}

/// Passes when promtool's only complaints are naming lints about upstream families
/// (MinIO's `minio_node_drive_latency_us` abbreviates its unit; node_exporter has
/// camelCase names): those are upstream's names, kept on purpose. Format errors, and
/// any complaint about a name of ours, fail.
fn promtool_upstream_lint_only(body: &str) {
    let Some(problems) = promtool(body) else {
        return;
    };
    assert!(
        !problems.contains("parsing error") && !problems.contains("error while linting"),
        "{problems}\n--- body ---\n{body}"
    );
    for line in problems.lines().filter(|l| !l.trim().is_empty()) {
        let name = line.split_whitespace().next().unwrap_or("");
        assert!(
            lakewatch_catalog::lookup(name).is_none() && body.contains(name),
            "unexpected promtool complaint: {line}"
        );
    }
}

/// Runs `promtool check metrics`; `None` when it passed (or promtool is missing and the
/// test may skip), otherwise its complaints.
fn promtool(body: &str) -> Option<String> {
    promtool_check_metrics(body)?.err()
}

fn assert_no_secret(exp: &Exporter) {
    let metrics = exp.metrics();
    let status = exp.get("/").text();
    let log = exp.log_text();
    for (what, text) in [
        ("metrics", &metrics),
        ("status page", &status),
        ("log", &log),
    ] {
        assert!(
            !text.contains(SECRET),
            "the secret key leaked into the {what}"
        );
    }
}

fn s3_config(dir: &TempDir, endpoint: &str, extra: &str) -> String {
    let secret_file = dir.write("s3_secret", &format!("{SECRET}\n"));
    config_file(
        dir,
        &format!(
            "collectors:\n  disk:\n    interval: 1s\n    timeout: 1s\n  s3:\n    interval: 1s\n    timeout: 1s\n    targets:\n      - name: lake\n        endpoint: {endpoint}\n        access_key: lakewatch\n        secret_key_file: {}\n{extra}",
            secret_file.display()
        ),
    )
}

#[test]
fn bucket_usage_is_exact_and_only_published_after_complete_passes() {
    let Some(moto) = Moto::start(&[]) else {
        return;
    };
    let admin = Admin::new(&moto.endpoint());
    let alpha: Vec<usize> = (1..=25).collect(); // 3 pages of 10
    admin.bucket("alpha", &alpha);
    admin.bucket("beta", &[100, 2000, 0]);
    admin.bucket("big", &[10; 60]); // 6 pages: needs several cycles
    admin.bucket("canary", &[]);
    admin.bucket("skipped", &[1]);

    // node_exporter stands in for MinIO's endpoint: any Prometheus text must pass.
    let node = node_exporter(&["loadavg", "cpu"]);
    let minio = if let Some(node) = &node {
        format!(
            "        minio_metrics:\n          url: http://{}/metrics\n          allow: [node_load*, node_cpu_seconds_total, node_filesystem_*]\n",
            node.addr
        )
    } else {
        String::new()
    };

    let dir = TempDir::new("s3-usage");
    let cfg = s3_config(
        &dir,
        &moto.endpoint(),
        &format!(
            "        page_size: 10\n        page_budget: 3\n        buckets_exclude: '^skipped$'\n        probe: {{ bucket: canary, prefix: .lakewatch/ }}\n{minio}"
        ),
    );
    let exp = Exporter::start(&["--config", &cfg]);
    exp.wait_ready(Duration::from_secs(30));

    // Every published count of `big` is the whole bucket, never a partial pass.
    let b = |bucket: &'static str| [("target", "lake"), ("bucket", bucket)];
    let text = eventually(Duration::from_secs(30), "all buckets scanned", || {
        let text = exp.metrics();
        if let Some(n) = value(&text, "minio_bucket_usage_object_total", &b("big")) {
            assert_eq!(n, 60.0, "a half-counted bucket was published:\n{text}");
        } else {
            assert_eq!(
                value(&text, "lakewatch_s3_bucket_scan_complete", &b("big")),
                Some(0.0),
                "{text}"
            );
        }
        let done = ["alpha", "beta", "big", "canary"]
            .iter()
            .all(|bk| value(&text, "lakewatch_s3_bucket_scan_complete", &b(bk)) == Some(1.0));
        done.then_some(text)
    });
    let usage = |bk| value(&text, "minio_bucket_usage_total_bytes", &b(bk));
    let objects = |bk| value(&text, "minio_bucket_usage_object_total", &b(bk));
    let largest = |bk| value(&text, "lakewatch_s3_bucket_largest_object_bytes", &b(bk));
    assert_eq!(usage("alpha"), Some(325.0));
    assert_eq!(objects("alpha"), Some(25.0));
    assert_eq!(largest("alpha"), Some(25.0));
    assert_eq!(usage("beta"), Some(2100.0));
    assert_eq!(objects("beta"), Some(3.0));
    assert_eq!(largest("beta"), Some(2000.0));
    assert_eq!(usage("big"), Some(600.0));
    assert_eq!(objects("big"), Some(60.0));
    assert_eq!(objects("canary"), Some(0.0), "probe objects are deleted");
    assert_eq!(objects("skipped"), None, "buckets_exclude is honoured");
    assert!(
        value(
            &text,
            "lakewatch_s3_bucket_scan_last_complete_timestamp_seconds",
            &b("big")
        )
        .is_some_and(|t| t > 1.6e9)
    );

    // The canary: every op succeeded and its latency histogram has observations.
    assert_eq!(value(&text, "s3_up", &[("target", "lake")]), Some(1.0));
    for op in ["put", "get", "delete"] {
        let l = [("target", "lake"), ("op", op)];
        assert_eq!(
            value(&text, "lakewatch_s3_probe_success", &l),
            Some(1.0),
            "{op}"
        );
        assert!(
            value(&text, "lakewatch_s3_probe_duration_seconds_count", &l).is_some_and(|n| n >= 1.0),
            "{op} histogram empty:\n{text}"
        );
        let inf = [("target", "lake"), ("op", op), ("le", "+Inf")];
        assert!(value(&text, "lakewatch_s3_probe_duration_seconds_bucket", &inf).is_some());
    }

    if node.is_some() {
        // Pass-through: allow-listed node_exporter families under their own names, with
        // our target label; the catalog's own node_filesystem_* are never overwritten.
        let text = eventually(Duration::from_secs(20), "pass-through families", || {
            let t = exp.metrics();
            value(&t, "node_load1", &[("target", "lake")]).map(|_| t)
        });
        assert!(
            text.contains("# TYPE node_cpu_seconds_total counter"),
            "{text}"
        );
        assert!(
            value(
                &text,
                "node_cpu_seconds_total",
                &[("target", "lake"), ("mode", "idle")]
            )
            .is_some()
        );
        assert!(!text.contains("go_gc_duration_seconds"), "not allow-listed");
        promtool_check(&text);
        let om = exp
            .request(
                "GET",
                "/metrics",
                &[(
                    "Accept",
                    "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
                )],
            )
            .text();
        assert!(om.contains("# TYPE node_cpu_seconds counter\n"), "{om}");
        assert!(om.ends_with("# EOF\n"));
    } else {
        promtool_check(&text);
    }
    assert_no_secret(&exp);
}

#[test]
fn probe_failures_endpoint_down_and_recovery() {
    let Some(mut moto) = Moto::start(&[]) else {
        return;
    };
    let admin = Admin::new(&moto.endpoint());
    admin.bucket("canary", &[]);
    let dir = TempDir::new("s3-probe");
    let cfg = s3_config(
        &dir,
        &moto.endpoint(),
        "        probe: { bucket: canary }\n",
    );
    let exp = Exporter::start(&["--config", &cfg]);
    exp.wait_ready(Duration::from_secs(30));
    let up = [("target", "lake")];
    let s3_up = |want: f64, what: &str| {
        eventually(Duration::from_secs(20), what, || {
            let t = exp.metrics();
            (value(&t, "s3_up", &up) == Some(want)).then_some(t)
        })
    };
    s3_up(1.0, "s3_up 1");

    // The probe bucket is deleted: PUT fails, reason not_found.
    admin.delete_bucket("canary");
    let text = s3_up(0.0, "s3_up 0 after the bucket was deleted");
    let put = [("target", "lake"), ("op", "put")];
    assert_eq!(value(&text, "lakewatch_s3_probe_success", &put), Some(0.0));
    let text = eventually(Duration::from_secs(10), "not_found counted", || {
        let t = exp.metrics();
        let l = [("collector", "s3"), ("kind", "not_found")];
        value(&t, "lakewatch_collector_errors_total", &l).map(|_| t)
    });
    assert!(
        value(&text, "lakewatch_s3_probe_duration_seconds_count", &put).is_some(),
        "a failed cycle still publishes the probe histogram"
    );

    // The endpoint dies: s3_up 0, reason connect, everything else still served.
    moto.kill();
    let text = eventually(Duration::from_secs(20), "connect error counted", || {
        let t = exp.metrics();
        let l = [("collector", "s3"), ("kind", "connect")];
        value(&t, "lakewatch_collector_errors_total", &l).map(|_| t)
    });
    assert_eq!(value(&text, "s3_up", &up), Some(0.0));
    assert_eq!(
        value(
            &text,
            "lakewatch_collector_up",
            &[("collector", "disk"), ("target", "localhost")]
        ),
        Some(1.0),
        "the disk collector is unaffected:\n{text}"
    );
    assert!(value(&text, "node_filesystem_size_bytes", &[]).is_some());

    // Back up (moto restarts empty, so the bucket is created again).
    moto.restart();
    Admin::new(&moto.endpoint()).bucket("canary", &[]);
    s3_up(1.0, "s3_up 1 after the restart");
    assert!(
        exp.log_text().contains("collector recovered"),
        "recovery is logged"
    );
    assert_no_secret(&exp);
}

#[test]
fn wrong_credentials_are_auth_errors_and_read_mode_probes() {
    // With this variable moto checks signatures and keys like AWS does.
    let Some(moto) = Moto::start(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]) else {
        return;
    };
    let dir = TempDir::new("s3-auth");
    let cfg = s3_config(
        &dir,
        &moto.endpoint(),
        "        probe: { bucket: canary, mode: read }\n",
    );
    let exp = Exporter::start(&["--config", &cfg]);
    exp.wait_ready(Duration::from_secs(30));
    let text = eventually(Duration::from_secs(20), "auth error counted", || {
        let t = exp.metrics();
        let l = [("collector", "s3"), ("kind", "auth")];
        value(&t, "lakewatch_collector_errors_total", &l).map(|_| t)
    });
    assert_eq!(value(&text, "s3_up", &[("target", "lake")]), Some(0.0));
    for op in ["list", "head"] {
        assert_eq!(
            value(
                &text,
                "lakewatch_s3_probe_success",
                &[("target", "lake"), ("op", op)]
            ),
            Some(0.0),
            "{op}"
        );
    }
    let status = exp.get("/").text();
    assert!(status.contains("auth"), "the status page shows the reason");
    assert_no_secret(&exp);
}

#[test]
fn minio_fixture_passes_promtool_after_pass_through() {
    let body = include_str!("../fixtures/minio_v2_cluster.prom");
    let allow = lakewatch_exporter::passthrough::AllowList::new(
        lakewatch_exporter::collector::s3::settings::MINIO_ALLOW,
    )
    .unwrap();
    let frag = lakewatch_exporter::collector::Fragment {
        passthrough: lakewatch_exporter::passthrough::select(
            body,
            &allow,
            |n| lakewatch_catalog::lookup(n).is_some(),
            &[("target", "lake")],
        )
        .expect("the fixture parses"),
        ..Default::default()
    };
    let snap = lakewatch_exporter::snapshot::Snapshot::build(&[std::sync::Arc::new(frag)]);
    let text = String::from_utf8(snap.text.plain.to_vec()).unwrap();
    assert!(
        text.contains("# TYPE minio_cluster_drive_offline_total untyped"),
        "{text}"
    );
    promtool_upstream_lint_only(&text);
}

#[test]
fn passthrough_of_a_real_node_exporter_is_promtool_valid() {
    let Some(node) = node_exporter(&[]) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let body = rt
        .block_on(lakewatch_exporter::passthrough::fetch(
            &lakewatch_exporter::http_client::Endpoint {
                host: node.addr.ip().to_string(),
                port: node.addr.port(),
                base_path: "/metrics".into(),
                tls: None,
            },
            None,
            Duration::from_secs(10),
        ))
        .expect("fetching node_exporter");
    let encode = |globs: &[&str]| {
        let allow = lakewatch_exporter::passthrough::AllowList::new(globs).unwrap();
        let families = lakewatch_exporter::passthrough::select(
            &body,
            &allow,
            |n| lakewatch_catalog::lookup(n).is_some(),
            &[("target", "node")],
        )
        .expect("node_exporter's body parses");
        let frag = lakewatch_exporter::collector::Fragment {
            passthrough: families.clone(),
            ..Default::default()
        };
        let snap = lakewatch_exporter::snapshot::Snapshot::build(&[std::sync::Arc::new(frag)]);
        (
            families,
            String::from_utf8(snap.text.plain.to_vec()).unwrap(),
        )
    };
    // Everything node_exporter has, except the catalog's own names: it must parse.
    // node_exporter's own names break some of promtool's naming lints
    // (node_memory_AnonPages_bytes is camelCase), which are upstream's to fix, so only
    // format errors count here.
    let (families, text) = encode(&["*"]);
    assert!(families.len() > 20, "{} families", families.len());
    assert!(families.iter().any(|f| f.name == "node_cpu_seconds"));
    assert!(
        !families
            .iter()
            .any(|f| f.name == "node_filesystem_size_bytes")
    );
    promtool_upstream_lint_only(&text);
    // Families whose upstream names are lint-clean pass promtool entirely, histogram,
    // counters, gauges and untyped alike.
    let (_, text) = encode(&[
        "node_cpu_*",
        "node_load*",
        "node_disk_*",
        "node_network_*",
        "process_*",
        "promhttp_*",
    ]);
    assert!(
        text.contains("# TYPE node_cpu_seconds_total counter"),
        "{text}"
    );
    promtool_check(&text);
}
