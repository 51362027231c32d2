//! The Postgres collector against a real PostgreSQL server (Debian's `postgresql`),
//! side by side with Debian's prometheus-postgres-exporter and scraped by a real
//! Prometheus.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lakewatch_catalog::{self as cat, Kind};

use crate::support::alerting::Server;
use crate::support::postgres::{PASSWORD, PgServer};
use crate::support::{
    Exporter, PostgresExporter, Sample, TempDir, config_file, eventually, eventually_with,
    parse_exposition, tool, try_http,
};

/// A config with one target on `pg` over TCP, its password in a file.
pub(crate) fn config(dir: &TempDir, pg: &PgServer, extra: &str, password: &str) -> String {
    let pw = dir.write("pgpass", &format!("{password}\n"));
    config_file(
        dir,
        &format!(
            "collectors:\n  disk:\n    enabled: false\n  postgres:\n{extra}    targets:\n      - name: main\n        dsn: {}\n        password_file: {}\n",
            pg.dsn(),
            pw.display()
        ),
    )
}

/// Collector settings for tests: a cycle a second.
pub(crate) const FAST: &str =
    "    interval: 1s\n    timeout: 1s\n    statement_timeout: 800ms\n    lock_timeout: 200ms\n";

pub(crate) fn find<'a>(
    samples: &'a [Sample],
    name: &str,
    labels: &[(&str, &str)],
) -> Option<&'a Sample> {
    samples.iter().find(|s| {
        s.name == name
            && labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
    })
}

/// Polls `/metrics` until `pred` holds; panics with the body and log otherwise.
pub(crate) fn wait_for(
    exp: &Exporter,
    what: &str,
    within: Duration,
    pred: impl Fn(&[Sample]) -> bool,
) {
    eventually_with(
        within,
        what,
        || {
            format!(
                "--- metrics ---\n{}\n--- log ---\n{}",
                exp.metrics(),
                exp.log_text()
            )
        },
        || pred(&parse_exposition(&exp.metrics()).0).then_some(()),
    );
}

pub(crate) fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    find(samples, name, labels).map(|s| s.value)
}

fn up_is(v: f64) -> impl Fn(&[Sample]) -> bool {
    move |s| value(s, "pg_up", &[]) == Some(v)
}

fn fetch_until(addr: std::net::SocketAddr, within: Duration, ok: impl Fn(&str) -> bool) -> String {
    eventually(within, &format!("{addr} to answer as expected"), || {
        try_http(addr, "GET", "/metrics", &[])
            .ok()
            .map(|r| r.text())
            .filter(|t| ok(t))
    })
}

#[test]
fn matches_postgres_exporter() {
    let Some(pg) = PgServer::start() else { return };
    let Some(pe) = tool(
        "prometheus-postgres-exporter",
        &["/usr/bin/prometheus-postgres-exporter"],
    ) else {
        return;
    };
    pg.psql("postgres", "CREATE DATABASE lake");
    pg.psql(
        "lake",
        "CREATE TABLE t AS SELECT g AS i, md5(g::text) AS s FROM generate_series(1, 20000) g",
    );
    let dir = TempDir::new("pg-compat");
    let exp = Exporter::start(&["--config", &config(&dir, &pg, FAST, PASSWORD)]);
    wait_for(
        &exp,
        "pg_up 1 and the lake database",
        Duration::from_secs(30),
        |s| up_is(1.0)(s) && find(s, "pg_database_size_bytes", &[("datname", "lake")]).is_some(),
    );

    let pe = PostgresExporter::start(&pe, &pg, &[]);
    let theirs = fetch_until(pe.addr, Duration::from_secs(30), |t| {
        t.contains("\npg_up 1") && t.contains("datname=\"lake\"")
    });
    let ours = exp.metrics();
    let (their_samples, their_types) = parse_exposition(&theirs);
    let (our_samples, our_types) = parse_exposition(&ours);

    // Every series we emit is a catalog metric with its declared labels.
    for s in &our_samples {
        let m = cat::lookup(&s.name).unwrap_or_else(|| panic!("{} not in the catalog", s.name));
        let labels: BTreeSet<&str> = s.labels.keys().map(String::as_str).collect();
        assert_eq!(labels, m.labels.iter().copied().collect(), "{}", s.name);
    }

    let mut compared = BTreeSet::new();
    for m in cat::POSTGRES.iter() {
        let (Some(ours_t), Some(theirs_t)) = (our_types.get(m.name), their_types.get(m.name))
        else {
            continue;
        };
        compared.insert(m.name);
        // postgres_exporter types pg_stat_database_xact_commit & co. as counters
        // without `_total`; we keep the name and say `untyped` (OpenMetrics `unknown`),
        // which is why Prometheus stores the same series name (see the test below).
        let same_type = ours_t == theirs_t
            || (m.kind == Kind::Unknown && ours_t == "untyped" && theirs_t == "counter");
        assert!(same_type, "{}: ours {ours_t}, theirs {theirs_t}", m.name);
        let label_set = |samples: &[Sample]| -> BTreeSet<String> {
            samples
                .iter()
                .filter(|s| s.name == m.name)
                .flat_map(|s| s.labels.keys().cloned())
                .collect()
        };
        let mut mine = label_set(&our_samples);
        // postgres_exporter 0.11 has one pg_up per process; we serve many targets from
        // one endpoint, so ours carries `server` to say which (documented in the README).
        if m.name == "pg_up" {
            mine.remove("server");
        }
        // postgres_exporter 0.20 added usename, application_name, backend_type,
        // wait_event_type and wait_event to 0.11's datname and state; we follow 0.20
        // (checked against its list in pg_depth.rs), so 0.11's labels are a subset.
        if m.name.starts_with("pg_stat_activity_") {
            let theirs = label_set(&their_samples);
            assert!(
                theirs.is_subset(&mine),
                "label names of {}: {theirs:?} ⊄ {mine:?}",
                m.name
            );
            continue;
        }
        assert_eq!(mine, label_set(&their_samples), "label names of {}", m.name);
    }
    for required in [
        "pg_up",
        "pg_static",
        "pg_stat_activity_count",
        "pg_stat_activity_max_tx_duration",
        "pg_stat_database_xact_commit",
        "pg_stat_database_blks_hit",
        "pg_stat_database_numbackends",
        "pg_database_size_bytes",
        "pg_locks_count",
        "pg_settings_max_connections",
        "pg_settings_shared_buffers_bytes",
    ] {
        assert!(
            compared.contains(required),
            "{required} not compared: {compared:?}"
        );
    }

    // postgres_exporter 0.11 reads the checkpoint columns Postgres 17 moved out of
    // pg_stat_bgwriter, so on 17 it has no pg_stat_bgwriter_* at all; our side of that
    // is checked in `version_specific_views_follow_the_server`.
    if pg.version_num() < 170000 {
        assert!(
            compared.contains("pg_stat_bgwriter_buffers_alloc_total"),
            "pg_stat_bgwriter_buffers_alloc_total not compared: {compared:?}"
        );
    }

    let both = |name: &str, labels: &[(&str, &str)]| {
        (
            value(&our_samples, name, labels).unwrap_or_else(|| panic!("ours lacks {name}")),
            value(&their_samples, name, labels).unwrap_or_else(|| panic!("theirs lacks {name}")),
        )
    };
    let (o, t) = both("pg_settings_max_connections", &[]);
    assert_eq!(o, t, "pg_settings_max_connections");
    let (o, t) = both("pg_database_size_bytes", &[("datname", "lake")]);
    assert!(
        (o - t).abs() <= t * 0.01,
        "pg_database_size_bytes ours {o} theirs {t}"
    );
    // Neither exporter runs transactions in `lake`, but autovacuum may still analyze the
    // new table, and before Postgres 15 a session's commits are published a moment after
    // it ends: once the count settles, both read the same number.
    let commits = || {
        let of = |text: &str| {
            value(
                &parse_exposition(text).0,
                "pg_stat_database_xact_commit",
                &[("datname", "lake")],
            )
        };
        let theirs = try_http(pe.addr, "GET", "/metrics", &[]).ok()?.text();
        Some((of(&exp.metrics())?, of(&theirs)?))
    };
    eventually_with(
        Duration::from_secs(60),
        "both exporters to read the same xact_commit of lake",
        || format!("(ours, theirs): {:?}", commits()),
        || commits().filter(|(o, t)| *o > 0.0 && o == t),
    );
    let ours_static = find(&our_samples, "pg_static", &[]).expect("our pg_static");
    let theirs_static = find(&their_samples, "pg_static", &[]).expect("their pg_static");
    assert_eq!(ours_static.labels, theirs_static.labels, "pg_static labels");
}

#[test]
fn at_most_one_connection_per_target_under_scrape_load() {
    let Some(pg) = PgServer::start() else { return };
    let dir = TempDir::new("pg-load");
    let pw = dir.write("pgpass", PASSWORD);
    // Two targets on the same server: over TCP and over the unix socket.
    let cfg = config_file(
        &dir,
        &format!(
            "collectors:\n  disk:\n    enabled: false\n  postgres:\n{FAST}    targets:\n      - name: tcp\n        dsn: {}\n        password_file: {}\n      - name: socket\n        host: {}\n        port: {}\n        user: postgres\n        dbname: postgres\n",
            pg.dsn(),
            pw.display(),
            pg.socket_dir().display(),
            pg.port
        ),
    );
    let exp = Arc::new(Exporter::start(&["--config", &cfg]));
    exp.wait_ready(Duration::from_secs(30));

    let stop = Arc::new(AtomicBool::new(false));
    let scrapes = Arc::new(AtomicUsize::new(0));
    // The issue's bar: 50 scrapes/s for 30 s.
    let load = Duration::from_secs(30);
    let workers: Vec<_> = (0..5)
        .map(|_| {
            let (exp, stop, scrapes) = (exp.clone(), stop.clone(), scrapes.clone());
            std::thread::spawn(move || {
                let start = Instant::now();
                // 5 threads x 10/s = 50 scrapes/s, bounded in time.
                while !stop.load(Ordering::Relaxed) && start.elapsed() < load {
                    let t = Instant::now();
                    assert_eq!(exp.get("/metrics").status, 200);
                    scrapes.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(100).saturating_sub(t.elapsed()));
                }
            })
        })
        .collect();
    let start = Instant::now();
    let mut max_seen: BTreeMap<String, usize> = BTreeMap::new();
    while start.elapsed() < load {
        let rows = pg.psql(
            "postgres",
            "SELECT COALESCE(host(client_addr), 'socket') FROM pg_stat_activity WHERE application_name = 'lakewatch'",
        );
        let mut now: BTreeMap<String, usize> = BTreeMap::new();
        for r in rows.lines().filter(|l| !l.is_empty()) {
            *now.entry(r.to_string()).or_default() += 1;
        }
        for (k, n) in now {
            assert!(n <= 1, "{n} lakewatch connections from {k} at once");
            let e = max_seen.entry(k).or_default();
            *e = (*e).max(n);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("scrape worker");
    }
    assert_eq!(
        max_seen.keys().map(String::as_str).collect::<Vec<_>>(),
        ["127.0.0.1", "socket"],
        "both targets were connected"
    );
    assert!(scrapes.load(Ordering::Relaxed) > 1_000, "load actually ran");
    let text = exp.metrics();
    for target in ["tcp", "socket"] {
        assert!(
            text.contains(&format!(
                "lakewatch_collector_up{{collector=\"postgres\",target=\"{target}\"}} 1"
            )),
            "{text}"
        );
    }
}

#[test]
fn blocked_query_is_cut_and_the_next_cycle_recovers() {
    let Some(pg) = PgServer::start() else { return };
    let dir = TempDir::new("pg-lock");
    let exp = Exporter::start(&[
        "--config",
        &config(
            &dir,
            &pg,
            "    interval: 2s\n    timeout: 2s\n    statement_timeout: 1s\n    lock_timeout: 100ms\n",
            PASSWORD,
        ),
    ]);
    let collector_up = |v: f64| {
        move |s: &[Sample]| {
            value(s, "lakewatch_collector_up", &[("collector", "postgres")]) == Some(v)
        }
    };
    wait_for(
        &exp,
        "a good first cycle",
        Duration::from_secs(30),
        collector_up(1.0),
    );
    // An exclusive lock on pg_database, as a long DDL would take: every query that
    // reads pg_database (pg_stat_activity, pg_stat_database, pg_locks' join) queues
    // behind it. lock_timeout must cut them; the rest of the cycle still reports.
    let _holder = pg.psql_background(
        "postgres",
        "BEGIN; LOCK TABLE pg_catalog.pg_database IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(6); COMMIT;",
    );
    wait_for(
        &exp,
        "the cut query reported",
        Duration::from_secs(20),
        |s| {
            value(s, "lakewatch_collector_errors_total", &[("kind", "query")])
                .is_some_and(|v| v >= 1.0)
        },
    );
    let during = exp.metrics();
    let (samples, _) = parse_exposition(&during);
    assert_eq!(
        value(&samples, "pg_up", &[]),
        Some(1.0),
        "the server is up: {during}"
    );
    assert!(
        find(&samples, "pg_settings_max_connections", &[]).is_some(),
        "queries not behind the lock still report: {during}"
    );
    assert!(
        exp.log_text().contains("lock timeout"),
        "the log says why: {}",
        exp.log_text()
    );
    wait_for(
        &exp,
        "recovery after the lock",
        Duration::from_secs(30),
        collector_up(1.0),
    );
}

/// Postgres 17 moved the checkpoint counters from pg_stat_bgwriter to
/// pg_stat_checkpointer (and dropped `buffers_backend*`): each server gets the series its
/// views have, with the views' values, and no error from a view or column it lacks.
#[test]
fn version_specific_views_follow_the_server() {
    let Some(pg) = PgServer::start() else { return };
    let v17 = pg.version_num() >= 170000;
    eprintln!("server_version_num {}", pg.version_num());
    let dir = TempDir::new("pg-versions");
    let exp = Exporter::start(&["--config", &config(&dir, &pg, FAST, PASSWORD)]);
    // A requested checkpoint moves the counter the test then reads from both sides.
    pg.psql("postgres", "CHECKPOINT");
    let (view, column, metric) = if v17 {
        (
            "pg_stat_checkpointer",
            "num_requested",
            "pg_stat_checkpointer_num_requested_total",
        )
    } else {
        (
            "pg_stat_bgwriter",
            "checkpoints_req",
            "pg_stat_bgwriter_checkpoints_req_total",
        )
    };
    // The checkpointer reports its counts a moment after CHECKPOINT returns (before 15,
    // through the stats collector), so the view is polled until the count arrives.
    let want = eventually(
        Duration::from_secs(30),
        "the count after CHECKPOINT",
        || {
            let n: f64 = pg
                .psql("postgres", &format!("SELECT {column} FROM {view}"))
                .parse()
                .expect("a number");
            (n >= 1.0).then_some(n)
        },
    );
    wait_for(
        &exp,
        &format!("{metric} = {want}"),
        Duration::from_secs(30),
        |s| value(s, metric, &[]) == Some(want),
    );
    let samples = parse_exposition(&exp.metrics()).0;
    let has = |name: &str| samples.iter().any(|s| s.name == name);
    // Present on every version.
    for name in [
        "pg_stat_bgwriter_buffers_clean_total",
        "pg_stat_bgwriter_maxwritten_clean_total",
        "pg_stat_bgwriter_buffers_alloc_total",
    ] {
        assert!(has(name), "{name} missing on {}", pg.version_num());
    }
    let only_before_17 = [
        "pg_stat_bgwriter_checkpoints_timed_total",
        "pg_stat_bgwriter_checkpoints_req_total",
        "pg_stat_bgwriter_buffers_backend_total",
        "pg_stat_bgwriter_buffers_backend_fsync_total",
    ];
    let only_since_17 = [
        "pg_stat_checkpointer_num_timed_total",
        "pg_stat_checkpointer_num_requested_total",
        "pg_stat_checkpointer_restartpoints_done_total",
        "pg_stat_checkpointer_buffers_written_total",
    ];
    for name in only_before_17 {
        assert_eq!(has(name), !v17, "{name} on {}", pg.version_num());
    }
    for name in only_since_17 {
        assert_eq!(has(name), v17, "{name} on {}", pg.version_num());
    }
    let log = exp.log_text();
    assert!(
        !log.contains("does not exist"),
        "a missing view or column was queried: {log}"
    );
}

#[test]
fn server_restart_flips_pg_up_without_exporter_restart() {
    let Some(mut pg) = PgServer::start() else {
        return;
    };
    let dir = TempDir::new("pg-restart");
    let exp = Exporter::start(&["--config", &config(&dir, &pg, FAST, PASSWORD)]);
    wait_for(&exp, "pg_up 1", Duration::from_secs(30), up_is(1.0));
    pg.stop();
    // Generous bound (no speed assertion): a cycle is 1s.
    wait_for(
        &exp,
        "pg_up 0 after stop",
        Duration::from_secs(15),
        up_is(0.0),
    );
    let down = exp.metrics();
    assert!(
        !down.contains("pg_stat_database_xact_commit"),
        "no stale series: {down}"
    );
    pg.start_again();
    wait_for(
        &exp,
        "pg_up 1 after restart",
        Duration::from_secs(60),
        up_is(1.0),
    );
}

#[test]
fn wrong_password_is_reported_without_the_password() {
    let Some(pg) = PgServer::start() else { return };
    let dir = TempDir::new("pg-auth");
    let wrong = "Wr0ng-Zebra-Pa55";
    let exp = Exporter::start(&["--config", &config(&dir, &pg, FAST, wrong)]);
    wait_for(
        &exp,
        "pg_up 0 with an auth error",
        Duration::from_secs(30),
        |s| {
            up_is(0.0)(s)
                && value(s, "lakewatch_collector_errors_total", &[("kind", "auth")]).is_some()
        },
    );
    let log = exp.log_text();
    assert!(log.contains("password authentication failed"), "{log}");
    assert!(!log.contains(wrong), "the log leaks the password: {log}");
    assert!(!exp.metrics().contains(wrong));
    assert!(
        !exp.get("/").text().contains(wrong),
        "landing page leaks it"
    );
}

/// A real Prometheus scrapes us (OpenMetrics) and stores postgres_exporter's exact
/// series names, `_total`-less counters included.
#[test]
fn prometheus_stores_postgres_exporter_names() {
    let Some(prom) = tool("prometheus", &["/usr/bin/prometheus"]) else {
        return;
    };
    let Some(pg) = PgServer::start() else { return };
    let dir = TempDir::new("pg-prom");
    let exp = Exporter::start(&["--config", &config(&dir, &pg, FAST, PASSWORD)]);
    exp.wait_ready(Duration::from_secs(30));
    let prom = Server::prometheus(
        &prom,
        &dir.0,
        &format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: lakewatch\n    static_configs:\n      - targets: ['{}']\n",
            exp.addr
        ),
    );
    let query = || {
        prom.get("/api/v1/query?query=pg_stat_database_xact_commit")
            .map(|(_, body)| body)
            .unwrap_or_default()
    };
    eventually_with(
        Duration::from_secs(60),
        "Prometheus to store pg_stat_database_xact_commit",
        || format!("its answer: {}\nits log:\n{}", query(), prom.log_text()),
        || {
            let body = query();
            (body.contains("\"__name__\":\"pg_stat_database_xact_commit\"")
                && body.contains("\"datname\":\"postgres\""))
            .then_some(())
        },
    );
}

/// Top-N statements with a hard cap; without the extension, one log line and a
/// healthy collector.
#[test]
fn stat_statements_top_n_is_capped_and_optional() {
    let Some(pg) = PgServer::start() else { return };
    let dir = TempDir::new("pg-statements");
    let extra = format!("{FAST}    stat_statements: true\n    stat_statements_limit: 3\n");
    let exp = Exporter::start(&["--config", &config(&dir, &pg, &extra, PASSWORD)]);
    wait_for(
        &exp,
        "a healthy cycle without the extension",
        Duration::from_secs(30),
        |s| value(s, "lakewatch_collector_up", &[("collector", "postgres")]) == Some(1.0),
    );
    assert_eq!(
        exp.log_text().matches("skipping this query").count(),
        1,
        "one log line for the missing view: {}",
        exp.log_text()
    );
    drop(exp);
    pg.psql("postgres", "CREATE EXTENSION pg_stat_statements");
    // Ten statements of different shapes (constants alone would be one normalized
    // statement), so there are more than the cap.
    for i in 1..=10 {
        let columns: Vec<String> = (0..i).map(|c| c.to_string()).collect();
        pg.psql(
            "postgres",
            &format!("SELECT {} FROM pg_class LIMIT 1", columns.join(", ")),
        );
    }
    let exp = Exporter::start(&["--config", &config(&dir, &pg, &extra, PASSWORD)]);
    wait_for(
        &exp,
        "pg_stat_statements series",
        Duration::from_secs(30),
        |s| find(s, "pg_stat_statements_calls_total", &[]).is_some(),
    );
    let (samples, _) = parse_exposition(&exp.metrics());
    let calls: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.name == "pg_stat_statements_calls_total")
        .collect();
    assert_eq!(calls.len(), 3, "capped at 3 of more statements: {calls:?}");
    assert!(
        samples
            .iter()
            .all(|s| s.labels.values().all(|v| !v.contains("SELECT"))),
        "query text never becomes a label"
    );
}

/// libpq's sslmode semantics against a server that only accepts TLS (hostssl lines
/// only): what each mode connects to, and why it does not when it must not. Each target
/// carries a `case` label (per-target labels), so their `pg_up` series stay apart.
#[test]
fn tls_modes_against_a_hostssl_only_server() {
    let Some(pg) = PgServer::start_tls() else {
        return;
    };
    let dir = TempDir::new("pg-tls");
    let pw = dir.write("pgpass", PASSWORD);
    let ca = pg.ca_file().display().to_string();
    let certs = pg.socket_dir().display().to_string();
    let target = |name: &str, dsn: String, extra: &str| {
        format!(
            "      - name: {name}\n        dsn: '{dsn}'\n        password_file: {}\n        labels: {{case: {name}}}\n{extra}",
            pw.display()
        )
    };
    let targets = [
        // Chain and name checked; SCRAM bound to the TLS session (channel binding).
        target(
            "verify_full",
            pg.dsn_with(
                "127.0.0.1",
                "postgres",
                &format!("sslmode=verify-full&sslrootcert={ca}&channel_binding=require"),
            ),
            "",
        ),
        // Same through the tls block, dialing a name the certificate lacks: refused.
        target(
            "verify_full_wrong_name",
            pg.dsn_with("127.0.0.2", "postgres", "sslmode=verify-full"),
            &format!("        tls:\n          ca_file: {ca}\n"),
        ),
        // verify-ca checks the chain only, so the other address is fine.
        target(
            "verify_ca",
            pg.dsn_with(
                "127.0.0.2",
                "postgres",
                &format!("sslmode=verify-ca&sslrootcert={ca}"),
            ),
            "",
        ),
        // The test CA is not among the system's roots.
        target(
            "verify_full_no_ca",
            pg.dsn_with("127.0.0.1", "postgres", "sslmode=verify-full"),
            "",
        ),
        target(
            "require",
            pg.dsn_with("127.0.0.1", "postgres", "sslmode=require"),
            "",
        ),
        // libpq's default: TLS when offered.
        target(
            "prefer",
            pg.dsn_with("127.0.0.1", "postgres", "application_name=x"),
            "",
        ),
        target(
            "disable",
            pg.dsn_with("127.0.0.1", "postgres", "sslmode=disable"),
            "",
        ),
        // A role the server only lets in with a client certificate.
        target(
            "client_cert",
            pg.dsn_with(
                "127.0.0.1",
                "prometheus",
                &format!("sslmode=verify-full&sslrootcert={ca}"),
            ),
            &format!(
                "        tls:\n          cert_file: {certs}/client.crt\n          key_file: {certs}/client.key\n"
            ),
        ),
    ];
    let cfg = config_file(
        &dir,
        &format!(
            "collectors:\n  disk:\n    enabled: false\n  postgres:\n    interval: 2s\n    timeout: 2s\n    targets:\n{}",
            targets.concat()
        ),
    );
    let exp = Exporter::start(&["--config", &cfg]);
    let expected = [
        ("verify_full", 1.0),
        ("verify_full_wrong_name", 0.0),
        ("verify_ca", 1.0),
        ("verify_full_no_ca", 0.0),
        ("require", 1.0),
        ("prefer", 1.0),
        ("disable", 0.0),
        ("client_cert", 1.0),
    ];
    wait_for(
        &exp,
        "every mode up or down as libpq would",
        Duration::from_secs(60),
        |s| {
            expected
                .iter()
                .all(|(case, up)| value(s, "pg_up", &[("case", case)]) == Some(*up))
        },
    );
    let log = exp.log_text();
    let line = |target: &str| {
        log.lines()
            .find(|l| l.contains("collection failed") && l.contains(&format!("target={target}")))
            .unwrap_or_else(|| panic!("no failure logged for {target}:\n{log}"))
            .to_string()
    };
    let no_ca = line("verify_full_no_ca");
    assert!(
        no_ca.contains("invalid peer certificate") && no_ca.contains("UnknownIssuer"),
        "names the certificate problem: {no_ca}"
    );
    let wrong_name = line("verify_full_wrong_name");
    assert!(
        wrong_name.contains("invalid peer certificate") && wrong_name.contains("127.0.0.2"),
        "names the name mismatch: {wrong_name}"
    );
    let disable = line("disable");
    assert!(
        // Postgres 14+ says "no encryption", 13 "SSL off".
        disable.contains("no pg_hba.conf entry")
            && (disable.contains("no encryption") || disable.contains("SSL off")),
        "the server refused the plain session: {disable}"
    );
    assert!(!log.contains(PASSWORD), "the log leaks the password: {log}");

    // The server's view: every lakewatch session is encrypted, the client certificate
    // was presented, and no plain session got in.
    let rows = pg.psql(
        "postgres",
        "SELECT a.usename, s.ssl, COALESCE(s.client_dn, '') FROM pg_stat_activity a \
         JOIN pg_stat_ssl s USING (pid) WHERE a.application_name = 'lakewatch' ORDER BY 1, 3",
    );
    let rows: Vec<&str> = rows.lines().collect();
    assert_eq!(rows.len(), 5, "one session per connected target: {rows:?}");
    assert!(
        rows.iter().all(|r| r.split('|').nth(1) == Some("t")),
        "{rows:?}"
    );
    assert!(
        rows.contains(&"prometheus|t|/CN=prometheus"),
        "client certificate seen by the server: {rows:?}"
    );
}

/// A custom queries file read by us and by Debian's postgres_exporter
/// (`--extend.query-path`) on the same server gives the same series: names (COUNTER
/// without `_total`), label names and values, unlisted columns and NULLs included.
#[test]
fn custom_queries_match_postgres_exporter() {
    let Some(pg) = PgServer::start() else { return };
    let Some(pe) = tool(
        "prometheus-postgres-exporter",
        &["/usr/bin/prometheus-postgres-exporter"],
    ) else {
        return;
    };
    pg.psql(
        "postgres",
        "CREATE TABLE lake_t AS SELECT g AS i FROM generate_series(1, 1234) g",
    );
    // Before Postgres 15 the statistics collector publishes the insert counts a moment
    // later; both exporters must read the same settled numbers.
    eventually(
        Duration::from_secs(30),
        "lake_t's inserts in the statistics",
        || {
            let n = pg.psql(
                "postgres",
                "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'lake_t'",
            );
            (n == "1234").then_some(())
        },
    );
    let dir = TempDir::new("pg-queries");
    let queries = dir.write(
        "queries.yaml",
        r#"lake_table:
  query: "SELECT relname, schemaname, n_tup_ins, seq_scan, 42.5::float8 AS fixed, NULL::int AS nothing, true AS flag FROM pg_stat_user_tables WHERE relname = 'lake_t'"
  metrics:
    - relname:
        usage: "LABEL"
        description: "Table"
    - schemaname:
        usage: "LABEL"
        description: "Schema"
    - n_tup_ins:
        usage: "GAUGE"
        description: "Rows inserted"
    - seq_scan:
        usage: "COUNTER"
        description: "Sequential scans"
    - fixed:
        usage: "GAUGE"
        description: "A constant"
    - nothing:
        usage: "GAUGE"
        description: "Always NULL"
    - flag:
        usage: "GAUGE"
        description: "A boolean"
lake_settings:
  query: "SELECT name, setting::float8 AS value, 7 AS unlisted, 'x' AS dropped FROM pg_settings WHERE name IN ('max_connections', 'work_mem')"
  master: true
  cache_seconds: 30
  metrics:
    - name:
        usage: "LABEL"
        description: "Setting name"
    - value:
        usage: "GAUGE"
        description: "Setting value"
    - dropped:
        usage: "DISCARD"
        description: "Not exported"
lake_postmaster:
  query: "SELECT pg_postmaster_start_time() AS start_time_seconds"
  metrics:
    - start_time_seconds:
        usage: "GAUGE"
        description: "Time at which postmaster started"
lake_future:
  query: "SELECT 1 AS one"
  runonserver: ">=99.0.0"
  metrics:
    - one:
        usage: "GAUGE"
        description: "Only on Postgres 99"
"#,
    );
    let exp = Exporter::start(&[
        "--config",
        &config(
            &dir,
            &pg,
            &format!("{FAST}    queries_file: {}\n", queries.display()),
            PASSWORD,
        ),
    ]);
    wait_for(&exp, "custom series", Duration::from_secs(30), |s| {
        find(s, "lake_table_n_tup_ins", &[]).is_some()
            && find(s, "lake_postmaster_start_time_seconds", &[]).is_some()
    });
    let query_path = format!("--extend.query-path={}", queries.display());
    let pe = PostgresExporter::start(&pe, &pg, &[&query_path]);
    let theirs = fetch_until(pe.addr, Duration::from_secs(30), |t| {
        t.contains("\nlake_table_n_tup_ins{") && t.contains("\nlake_postmaster_")
    });
    let ours = exp.metrics();
    let (their_samples, their_types) = parse_exposition(&theirs);
    let (our_samples, our_types) = parse_exposition(&ours);
    // postgres_exporter 0.11 reads `runonserver` but never applies it; we do, so
    // lake_future (for Postgres 99) is left out of the comparison.
    let custom = |samples: &[Sample]| -> BTreeMap<String, Vec<Sample>> {
        let mut by: BTreeMap<String, Vec<Sample>> = BTreeMap::new();
        for s in samples
            .iter()
            .filter(|s| s.name.starts_with("lake_") && !s.name.starts_with("lake_future_"))
        {
            by.entry(s.name.clone()).or_default().push(s.clone());
        }
        by
    };
    let (mine, theirs_by) = (custom(&our_samples), custom(&their_samples));
    assert_eq!(
        mine.keys().collect::<Vec<_>>(),
        theirs_by.keys().collect::<Vec<_>>(),
        "same series names"
    );
    assert!(
        mine.contains_key("lake_table_seq_scan") && mine.contains_key("lake_settings_unlisted"),
        "COUNTER without _total, unlisted column exported: {:?}",
        mine.keys()
    );
    assert!(
        find(&our_samples, "lake_future_one", &[]).is_none(),
        "runonserver applied"
    );
    assert!(!mine.contains_key("lake_settings_dropped"), "DISCARD");
    for (name, ours_s) in &mine {
        let (ours_t, theirs_t) = (&our_types[name], &their_types[name]);
        let same_type = ours_t == theirs_t || (ours_t == "untyped" && theirs_t == "counter");
        assert!(same_type, "{name}: ours {ours_t}, theirs {theirs_t}");
        let theirs_s = &theirs_by[name];
        assert_eq!(ours_s.len(), theirs_s.len(), "{name}: series count");
        for o in ours_s {
            let t = theirs_s
                .iter()
                .find(|t| t.labels == o.labels)
                .unwrap_or_else(|| panic!("{name}{:?} not in theirs: {theirs_s:?}", o.labels));
            assert!(
                o.value == t.value || (o.value.is_nan() && t.value.is_nan()),
                "{name}{:?}: ours {} theirs {}",
                o.labels,
                o.value,
                t.value
            );
        }
    }
    assert_eq!(
        value(
            &our_samples,
            "lake_table_n_tup_ins",
            &[("relname", "lake_t")]
        ),
        Some(1234.0)
    );
    assert!(
        value(&our_samples, "lake_table_nothing", &[]).is_some_and(f64::is_nan),
        "NULL is NaN, as postgres_exporter writes it"
    );
    assert_eq!(
        value(
            &our_samples,
            "lake_settings_value",
            &[("name", "max_connections")]
        ),
        Some(40.0)
    );
}

/// A custom `pg_sleep` query longer than statement_timeout is cut, logged and counted;
/// every other series of the target still appears, each with the target's `labels`.
#[test]
fn slow_custom_query_is_cut_and_target_labels_are_everywhere() {
    let Some(pg) = PgServer::start() else { return };
    let dir = TempDir::new("pg-slow");
    let queries = dir.write(
        "queries.yaml",
        "lake_slow:\n  query: SELECT pg_sleep(5) AS slept\n  metrics:\n    - slept: {usage: GAUGE}\nlake_fast:\n  query: SELECT 'a' AS kind, 1 AS one, 'abc' AS word\n  metrics:\n    - kind: {usage: LABEL}\n    - one: {usage: GAUGE}\n    - word: {usage: GAUGE}\n",
    );
    let pw = dir.write("pgpass", PASSWORD);
    let cfg = config_file(
        &dir,
        &format!(
            "collectors:\n  disk:\n    enabled: false\n  postgres:\n    interval: 3s\n    timeout: 3s\n    statement_timeout: 1s\n    targets:\n      - name: main\n        dsn: {}\n        password_file: {}\n        queries_file: {}\n        labels: {{env: prod, team: data}}\n",
            pg.dsn(),
            pw.display(),
            queries.display()
        ),
    );
    let exp = Exporter::start(&["--config", &cfg]);
    wait_for(
        &exp,
        "the cut query counted in two cycles",
        Duration::from_secs(30),
        |s| {
            value(s, "lakewatch_collector_errors_total", &[("kind", "query")])
                .is_some_and(|v| v >= 2.0)
                && find(s, "lake_fast_one", &[]).is_some()
        },
    );
    let text = exp.metrics();
    let (samples, _) = parse_exposition(&text);
    assert_eq!(value(&samples, "pg_up", &[]), Some(1.0), "{text}");
    assert!(
        find(&samples, "pg_settings_max_connections", &[]).is_some(),
        "{text}"
    );
    assert!(find(&samples, "lake_slow_slept", &[]).is_none(), "{text}");
    let log = exp.log_text();
    assert!(
        log.contains("custom query lake_slow") && log.contains("statement timeout"),
        "the log says which query and why: {log}"
    );
    // A text value in a GAUGE column: skipped, said once (not every cycle).
    assert!(find(&samples, "lake_fast_word", &[]).is_none(), "{text}");
    assert_eq!(
        log.matches("values of column \"word\"").count(),
        1,
        "one warning for the unparsable column: {log}"
    );
    // Every series of the target (they all carry `server`) has the extra labels.
    let target_series: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.labels.contains_key("server"))
        .collect();
    assert!(target_series.len() > 50, "{text}");
    for s in target_series {
        assert_eq!(
            (
                s.labels.get("env").map(String::as_str),
                s.labels.get("team").map(String::as_str)
            ),
            (Some("prod"), Some("data")),
            "{} {:?}",
            s.name,
            s.labels
        );
    }
    assert_eq!(
        value(&samples, "lake_fast_one", &[("kind", "a"), ("env", "prod")]),
        Some(1.0)
    );
}
