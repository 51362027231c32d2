//! The Trino collector against the replay coordinator (`support::replay`): scripted
//! bodies whose shapes follow Trino's source, polled by the real exporter binary.

use std::collections::BTreeSet;
use std::time::Duration;

use lakewatch_catalog as cat;
use serde_json::{Value, json};

use crate::support::replay::{Q, Replay, Reply, entry, fixture, list, ok, q};
use crate::support::{
    Exporter, Sample, TempDir, config_file, eventually, free_port, parse_exposition,
    sample_value as value,
};

fn metrics(exp: &Exporter) -> (String, Vec<Sample>) {
    let text = exp.metrics();
    let (samples, _) = parse_exposition(&text);
    (text, samples)
}

/// Every Trino series is a catalog metric with exactly its labels.
fn assert_catalog_labels(samples: &[Sample]) {
    for s in samples.iter().filter(|s| s.name.contains("trino")) {
        let m = cat::lookup(&s.name).unwrap_or_else(|| panic!("{} not in the catalog", s.name));
        let mut labels: BTreeSet<&str> = s.labels.keys().map(String::as_str).collect();
        if s.name.ends_with("_bucket") {
            assert!(labels.remove("le"));
        }
        assert_eq!(
            labels,
            m.labels.iter().copied().collect(),
            "labels of {}",
            s.name
        );
    }
}

fn start(dir: &TempDir, yaml: &str) -> Exporter {
    let cfg = config_file(dir, yaml);
    Exporter::start(&["--config", &cfg])
}

#[test]
fn lifecycle_counts_each_query_once_with_exact_histograms() {
    let replay = Replay::start();
    replay.route("/v1/info", vec![ok(fixture("info.json"))]);
    let blocked = || Q {
        blocked: true,
        ..q("c", "RUNNING")
    };
    let a_done = || Q {
        execution: "1.50s",
        queued: "200.00ms",
        cpu: "3.20m",
        input: "12.30MB",
        ..q("a", "FINISHED")
    };
    // Failed at once: zero durations, still counted.
    let b_failed = || Q {
        execution: "0.00ns",
        queued: "0.00ms",
        cpu: "0.00s",
        input: "0B",
        error_type: Some("USER_ERROR"),
        ..q("b", "FAILED")
    };
    let c_failed = || Q {
        execution: "999.90ms",
        queued: "0.00ms",
        cpu: "1.00s",
        input: "8650480B",
        error_type: Some("INSUFFICIENT_RESOURCES"),
        ..q("c", "FAILED")
    };
    // Appeared and finished between two polls.
    let d_done = || Q {
        execution: "2.00h",
        queued: "3.20m",
        cpu: "34.72d",
        input: "5GB",
        ..q("d", "FINISHED")
    };
    replay.route(
        "/v1/query",
        vec![
            list(&[q("old", "FINISHED"), q("a", "QUEUED")]),
            list(&[
                q("old", "FINISHED"),
                q("a", "RUNNING"),
                q("b", "QUEUED"),
                blocked(),
            ]),
            list(&[q("old", "FINISHED"), a_done(), b_failed(), blocked()]),
            list(&[a_done(), b_failed(), c_failed(), d_done()]),
            list(&[c_failed(), d_done()]),
        ],
    );
    replay.route("/ui/login", vec![Reply::Login("tok-1")]);
    replay.route(
        "/ui/api/stats",
        vec![Reply::NeedsCookie("tok-1", fixture("ui-stats.json"))],
    );

    let dir = TempDir::new("trino-life");
    let exp = start(
        &dir,
        &format!(
            "collectors:\n  trino:\n    interval: 2s\n    timeout: 2s\n    targets:\n      - name: main\n        url: {}\n        password: pw\n        ui_stats: true\n",
            replay.url("")
        ),
    );
    // Five scripted polls, then two repeats of the last list; the eighth request means
    // the seventh cycle has been published (a target's cycles run one after another).
    replay.wait_served("/v1/query", 8, Duration::from_secs(60));
    let (text, s) = metrics(&exp);
    let t = ("target", "main");
    let v = |name: &str, extra: &[(&str, &str)]| {
        let mut labels = vec![t];
        labels.extend_from_slice(extra);
        value(&s, name, &labels).unwrap_or_else(|| panic!("{name}{extra:?} missing:\n{text}"))
    };
    assert_eq!(v("trino_up", &[]), 1.0);
    assert_eq!(
        v("trino_queries_total", &[("state", "FINISHED")]),
        2.0,
        "{text}"
    );
    assert_eq!(
        v("trino_queries_total", &[("state", "FAILED")]),
        2.0,
        "{text}"
    );
    assert_eq!(
        v(
            "trino_failed_queries_total",
            &[("error_type", "USER_ERROR")]
        ),
        1.0
    );
    assert_eq!(
        v(
            "trino_failed_queries_total",
            &[("error_type", "INSUFFICIENT_RESOURCES")]
        ),
        1.0
    );
    assert_eq!(
        v(
            "trino_failed_queries_total",
            &[("error_type", "INTERNAL_ERROR")]
        ),
        0.0
    );
    assert_eq!(
        v("trino_failed_queries_total", &[("error_type", "EXTERNAL")]),
        0.0
    );
    // Execution times observed: 1.5, 0, 0.9999, 7200.
    let exec = "trino_query_execution_time_seconds";
    assert_eq!(v(&format!("{exec}_count"), &[]), 4.0);
    assert_eq!(v(&format!("{exec}_sum"), &[]), 1.5 + 0.0 + 0.9999 + 7200.0);
    for (le, n) in [
        ("0.1", 1.0),
        ("0.5", 1.0),
        ("1.0", 2.0),
        ("2.5", 3.0),
        ("3600.0", 3.0),
        ("+Inf", 4.0),
    ] {
        assert_eq!(
            v(&format!("{exec}_bucket"), &[("le", le)]),
            n,
            "le={le}\n{text}"
        );
    }
    assert_eq!(v("trino_query_queued_time_seconds_sum", &[]), 0.2 + 192.0);
    assert_eq!(v("trino_query_queued_time_seconds_count", &[]), 4.0);
    assert_eq!(
        v("trino_query_cpu_time_seconds_sum", &[]),
        192.0 + 0.0 + 1.0 + 2_999_808.0
    );
    assert_eq!(
        v("trino_query_input_bytes_total", &[]),
        (12_897_484u64 + 8_650_480 + 5 * (1 << 30)) as f64
    );
    for g in [
        "trino_running_queries",
        "trino_queued_queries",
        "trino_blocked_queries",
        "trino_reserved_memory_bytes",
    ] {
        assert_eq!(v(g, &[]), 0.0, "{g}");
    }
    assert_eq!(v("lakewatch_trino_malformed_queries_total", &[]), 0.0);
    assert_eq!(
        v(
            "trino_info",
            &[
                ("version", "476"),
                ("environment", "production"),
                ("coordinator", "true")
            ]
        ),
        1.0
    );
    assert_eq!(v("trino_uptime_seconds", &[]), 300.0);
    assert_eq!(v("trino_starting", &[]), 0.0);
    assert_eq!(v("trino_node_state", &[("state", "ACTIVE")]), 1.0);
    assert_eq!(v("trino_node_state", &[("state", "DRAINING")]), 0.0);
    assert_eq!(v("trino_active_workers", &[]), 3.0);
    assert_eq!(v("trino_total_available_processors", &[]), 48.0);
    assert_eq!(
        value(&s, "lakewatch_collector_up", &[("collector", "trino"), t]),
        Some(1.0)
    );
    assert_catalog_labels(&s);

    // The API gets the user and Basic auth; the public /v1/info gets no credentials;
    // the UI was logged in to once and its cookie reused.
    let q = &replay.requests("/v1/query")[0];
    assert_eq!(
        q.headers.get("x-trino-user").map(String::as_str),
        Some("lakewatch")
    );
    assert_eq!(
        q.headers.get("authorization").map(String::as_str),
        Some("Basic bGFrZXdhdGNoOnB3")
    );
    assert!(
        replay
            .requests("/v1/info")
            .iter()
            .all(|r| !r.headers.contains_key("authorization"))
    );
    let logins = replay.requests("/ui/login");
    assert_eq!(logins.len(), 1, "one login, then the cookie is reused");
    assert_eq!(logins[0].method, "POST");
    assert!(replay.served("/ui/api/stats") >= 7);
}

#[test]
fn thousands_of_queries_and_malformed_entries() {
    let replay = Replay::start();
    replay.route("/v1/info", vec![ok(fixture("info.json"))]);
    let ids: Vec<String> = (0..3000)
        .map(|i| format!("20250301_101500_{i:05}_x7k2p"))
        .collect();
    let mut malformed_missing_state = entry(&q("bad1", "RUNNING"), "bad1");
    malformed_missing_state
        .as_object_mut()
        .unwrap()
        .remove("state");
    let bad_duration = entry(
        &Q {
            execution: "1.5 seconds",
            ..q("bad2", "FINISHED")
        },
        "bad2",
    );
    let running: Vec<Value> = ids
        .iter()
        .map(|id| entry(&q("x", "RUNNING"), id))
        .chain([malformed_missing_state.clone()])
        .collect();
    let finished: Vec<Value> = ids
        .iter()
        .map(|id| {
            entry(
                &Q {
                    execution: "1.00s",
                    ..q("x", "FINISHED")
                },
                id,
            )
        })
        .chain([malformed_missing_state, bad_duration])
        .collect();
    replay.route(
        "/v1/query",
        vec![
            ok(Value::Array(running).to_string()),
            ok(Value::Array(finished).to_string()),
        ],
    );
    let dir = TempDir::new("trino-many");
    let exp = start(
        &dir,
        &format!(
            "collectors:\n  trino:\n    interval: 1s\n    timeout: 1s\n    targets:\n      - name: big\n        url: {}\n",
            replay.url("")
        ),
    );
    // Both lists have been polled and counted once the finished ones show; a loaded
    // machine may need more than one interval for a cycle over 3,000 entries.
    let t = ("target", "big");
    let (text, s) = eventually(
        Duration::from_secs(60),
        "the finished queries counted",
        || {
            let (text, s) = metrics(&exp);
            let finished = value(&s, "trino_queries_total", &[t, ("state", "FINISHED")]);
            let malformed = value(&s, "lakewatch_trino_malformed_queries_total", &[t]);
            (finished == Some(3000.0) && malformed == Some(2.0)).then_some((text, s))
        },
    );
    assert!(replay.served("/v1/query") >= 2, "both lists were served");
    assert_eq!(
        value(&s, "trino_queries_total", &[t, ("state", "FINISHED")]),
        Some(3000.0),
        "{text}"
    );
    assert_eq!(
        value(&s, "trino_query_execution_time_seconds_count", &[t]),
        Some(3000.0)
    );
    assert_eq!(
        value(&s, "trino_query_execution_time_seconds_sum", &[t]),
        Some(3000.0)
    );
    // bad1 (no state) and bad2 (bad duration), each once across all polls.
    assert_eq!(
        value(&s, "lakewatch_trino_malformed_queries_total", &[t]),
        Some(2.0),
        "{text}"
    );
    assert_eq!(value(&s, "trino_up", &[t]), Some(1.0));
}

#[test]
fn restart_takes_the_new_list_as_it_comes() {
    let replay = Replay::start();
    let info = |uptime: &str| {
        let mut v: Value = serde_json::from_str(&fixture("info-351.json")).unwrap();
        v["uptime"] = json!(uptime);
        ok(v.to_string())
    };
    replay.route(
        "/v1/info",
        vec![
            info("10.00m"),
            info("10.10m"),
            info("10.20m"),
            info("3.00s"),
            info("4.00s"),
        ],
    );
    replay.route("/v1/info/state", vec![ok(fixture("state.json"))]);
    let d_failed = || Q {
        error_type: Some("EXTERNAL"),
        ..q("d", "FAILED")
    };
    replay.route(
        "/v1/query",
        vec![
            list(&[q("a", "FINISHED"), q("b", "RUNNING")]),
            list(&[q("a", "FINISHED"), q("b", "FINISHED")]),
            list(&[q("a", "FINISHED"), q("b", "FINISHED")]),
            // After the restart: finished on the new coordinator before our next poll.
            list(&[q("c", "FINISHED"), d_failed()]),
        ],
    );
    let dir = TempDir::new("trino-restart");
    let exp = start(
        &dir,
        &format!(
            "collectors:\n  trino:\n    interval: 2s\n    timeout: 2s\n    targets:\n      - name: old\n        url: {}\n",
            replay.url("")
        ),
    );
    // The seventh request: the sixth cycle has been published.
    replay.wait_served("/v1/query", 7, Duration::from_secs(60));
    let (text, s) = metrics(&exp);
    let t = ("target", "old");
    assert_eq!(
        value(&s, "trino_queries_total", &[t, ("state", "FINISHED")]),
        Some(2.0),
        "b and c:\n{text}"
    );
    assert_eq!(
        value(&s, "trino_queries_total", &[t, ("state", "FAILED")]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &s,
            "trino_failed_queries_total",
            &[t, ("error_type", "EXTERNAL")]
        ),
        Some(1.0)
    );
    assert_eq!(value(&s, "trino_uptime_seconds", &[t]), Some(4.0));
    assert_eq!(
        value(&s, "trino_node_state", &[t, ("state", "ACTIVE")]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &s,
            "trino_info",
            &[t, ("version", "351"), ("environment", "legacy")]
        ),
        Some(1.0)
    );
    assert!(exp.log_text().contains("restarted"), "{}", exp.log_text());
}

/// Trino's own `/metrics` is re-exported through the generic pass-through: only the
/// allow-listed families, with the target label, never a family named like ours.
#[test]
fn own_metrics_pass_through_the_allow_list() {
    let replay = Replay::start();
    replay.route("/v1/info", vec![ok(fixture("info.json"))]);
    replay.route("/v1/info/state", vec![ok(fixture("state.json"))]);
    replay.route("/v1/query", vec![list(&[q("a", "RUNNING")])]);
    replay.route("/metrics", vec![ok(fixture("metrics.txt"))]);
    let dir = TempDir::new("trino-own-metrics");
    let exp = start(
        &dir,
        &format!(
            "collectors:\n  trino:\n    interval: 2s\n    timeout: 2s\n    targets:\n      - name: main\n        url: {}\n        user: probe\n        metrics_allow: ['trino_execution_name_QueryManager_*', trino_running_queries]\n",
            replay.url("")
        ),
    );
    // The third request: the second cycle has been published.
    replay.wait_served("/metrics", 3, Duration::from_secs(60));
    let (text, s) = metrics(&exp);
    let t = ("target", "main");
    assert_eq!(
        value(&s, "trino_execution_name_QueryManager_RunningQueries", &[t]),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value(
            &s,
            "trino_execution_name_QueryManager_FailedQueries_TotalCount",
            &[t]
        ),
        Some(7.0)
    );
    assert!(
        !text.contains("ClusterTotalMemoryReservation"),
        "not allow-listed: {text}"
    );
    assert_eq!(
        value(&s, "trino_running_queries", &[t]),
        Some(1.0),
        "the catalog's trino_running_queries comes from /v1/query, not from upstream's 999: {text}"
    );
    assert!(
        replay.requests("/metrics").iter().all(|r| r
            .headers
            .get("x-trino-user")
            .map(String::as_str)
            == Some("probe")),
        "sent as the configured user"
    );
}

/// 401, 503, garbage and a hang each fail only their own target, with the documented
/// `trino_up` and error kind; the disk collector and the healthy target are untouched.
#[test]
fn errors_mark_only_their_target() {
    let replay = Replay::start();
    let info = || ok(fixture("info.json"));
    let good = || list(&[q("a", "FINISHED")]);
    replay.route("/ok/v1/info", vec![info()]);
    replay.route("/ok/v1/query", vec![good()]);
    replay.route("/unauth/v1/info", vec![info()]);
    replay.route("/unauth/v1/query", vec![Reply::Body(401, String::new())]);
    replay.route(
        "/down/v1/info",
        vec![Reply::Body(503, "Service Unavailable".into())],
    );
    replay.route(
        "/garbage/v1/info",
        vec![ok("<html><body>proxy error</body></html>")],
    );
    replay.route("/badlist/v1/info", vec![info()]);
    replay.route("/badlist/v1/query", vec![ok(r#"{"queries": ["#)]);
    replay.route("/hang/v1/info", vec![Reply::Hang]);
    let refused = format!("http://127.0.0.1:{}", free_port());
    let mut targets = String::new();
    for name in ["ok", "unauth", "down", "garbage", "badlist", "hang"] {
        targets.push_str(&format!(
            "      - name: {name}\n        url: {}\n",
            replay.url(&format!("/{name}"))
        ));
    }
    targets.push_str(&format!("      - name: refused\n        url: {refused}\n"));
    let dir = TempDir::new("trino-errors");
    let exp = start(
        &dir,
        &format!(
            "collectors:\n  trino:\n    interval: 1s\n    timeout: 500ms\n    targets:\n{targets}"
        ),
    );
    exp.wait_ready(Duration::from_secs(20));
    let (text, s) = metrics(&exp);
    let up = |target: &str| value(&s, "trino_up", &[("target", target)]);
    let collector_up = |target: &str| {
        value(
            &s,
            "lakewatch_collector_up",
            &[("collector", "trino"), ("target", target)],
        )
    };
    let errors = |target: &str, kind: &str| {
        value(
            &s,
            "lakewatch_collector_errors_total",
            &[("collector", "trino"), ("target", target), ("kind", kind)],
        )
    };
    // (target, trino_up, error kind)
    for (target, trino_up, kind) in [
        ("unauth", 1.0, "auth"),
        ("down", 0.0, "http"),
        ("garbage", 0.0, "parse"),
        ("badlist", 1.0, "parse"),
        ("hang", 0.0, "timeout"),
        ("refused", 0.0, "connect"),
    ] {
        assert_eq!(up(target), Some(trino_up), "trino_up of {target}:\n{text}");
        assert_eq!(collector_up(target), Some(0.0), "{target}");
        assert!(
            errors(target, kind).is_some_and(|n| n >= 1.0),
            "{target} counts a {kind} error:\n{text}"
        );
        assert_eq!(
            value(
                &s,
                "trino_queries_total",
                &[("target", target), ("state", "FINISHED")]
            ),
            None,
            "no query series from failed {target}"
        );
    }
    assert_eq!(up("ok"), Some(1.0));
    assert_eq!(collector_up("ok"), Some(1.0));
    assert_eq!(
        value(
            &s,
            "trino_queries_total",
            &[("target", "ok"), ("state", "FINISHED")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &s,
            "lakewatch_collector_up",
            &[("collector", "disk"), ("target", "localhost")]
        ),
        Some(1.0)
    );
    assert!(text.contains("node_filesystem_size_bytes{"), "{text}");
    assert_catalog_labels(&s);
    // The hung target costs only its own cycle: /metrics answers meanwhile. The hang
    // never ends, so a scrape waiting on it would never return (the test client's read
    // timeout would fail it).
    assert_eq!(exp.get("/metrics").status, 200);
}

/// Trino over https: a coordinator whose certificate is signed by the CA in `ca_file` is
/// read as usual; without that CA (the system's roots do not know it) or with a
/// `server_name` the certificate does not carry, the handshake fails: `trino_up 0`, a
/// `tls` error and a log line, and the rest of `/metrics` is untouched;
/// `insecure_skip_verify` connects anyway.
#[test]
fn https_targets_verify_the_coordinator() {
    if !crate::support::tls_tools() {
        return;
    }
    let dir = TempDir::new("trino-tls");
    crate::support::pki(&dir.0);
    // An unrelated CA as the "system" roots, so the outcome does not depend on the
    // machine's CA bundle.
    crate::support::openssl(
        &dir.0,
        "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.crt -days 2 -subj /CN=other-ca",
    );
    let replay = Replay::start_tls(&dir.0);
    replay.route("/v1/info", vec![ok(fixture("info.json"))]);
    replay.route(
        "/v1/query",
        vec![list(&[
            q("a", "RUNNING"),
            q("b", "QUEUED"),
            q("c", "QUEUED"),
        ])],
    );
    let url = replay.url("");
    let ca = dir.0.join("ca.crt").display().to_string();
    let targets = [
        format!(
            "      - name: trusted\n        url: {url}\n        tls:\n          ca_file: {ca}\n"
        ),
        format!("      - name: untrusted\n        url: {url}\n"),
        format!(
            "      - name: wrong_name\n        url: {url}\n        tls: {{ ca_file: {ca}, server_name: trino.example }}\n"
        ),
        format!(
            "      - name: skip\n        url: {url}\n        tls: {{ insecure_skip_verify: true }}\n"
        ),
    ];
    let yaml = format!(
        "collectors:\n  trino:\n    interval: 5s\n    timeout: 5s\n    targets:\n{}",
        targets.concat()
    );
    let cfg = config_file(&dir, &yaml);
    let other = dir.0.join("other.crt").display().to_string();
    let exp = Exporter::start_with_env(&["--config", &cfg], &[("SSL_CERT_FILE", &other)]);
    exp.wait_ready(Duration::from_secs(20));
    let (text, s) = metrics(&exp);
    let t = |name: &'static str| ("target", name);
    for up in ["trusted", "skip"] {
        assert_eq!(value(&s, "trino_up", &[t(up)]), Some(1.0), "{up}:\n{text}");
        assert_eq!(
            value(&s, "trino_running_queries", &[t(up)]),
            Some(1.0),
            "{text}"
        );
        assert_eq!(value(&s, "trino_queued_queries", &[t(up)]), Some(2.0));
        assert_eq!(
            value(&s, "trino_info", &[t(up), ("version", "476")]),
            Some(1.0)
        );
        assert_eq!(
            value(
                &s,
                "lakewatch_collector_up",
                &[("collector", "trino"), t(up)]
            ),
            Some(1.0)
        );
    }
    for down in ["untrusted", "wrong_name"] {
        assert_eq!(
            value(&s, "trino_up", &[t(down)]),
            Some(0.0),
            "{down}:\n{text}"
        );
        assert!(
            value(
                &s,
                "lakewatch_collector_errors_total",
                &[("collector", "trino"), t(down), ("kind", "tls")]
            )
            .is_some_and(|n| n >= 1.0),
            "{down} counts a tls error:\n{text}"
        );
        assert_eq!(value(&s, "trino_queued_queries", &[t(down)]), None);
    }
    let log = exp.log_text();
    assert!(
        log.contains("TLS handshake with 127.0.0.1:") && log.contains("UnknownIssuer"),
        "{log}"
    );
    assert!(
        log.contains("certificate not valid for name \"trino.example\""),
        "{log}"
    );
    assert_eq!(
        value(
            &s,
            "lakewatch_collector_up",
            &[("collector", "disk"), ("target", "localhost")]
        ),
        Some(1.0)
    );
    assert!(text.contains("node_filesystem_size_bytes{"), "{text}");
    assert_catalog_labels(&s);
}
