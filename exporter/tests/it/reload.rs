//! Configuration reload against the real binary: `POST /-/reload`, `SIGHUP` and
//! `--config.watch`, applied as a diff to real Postgres targets (whose backend pids
//! tell whether a connection survived), an invalid file, and 50 reloads under
//! continuous scraping.

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::postgres::{PASSWORD, PgServer};
use crate::support::{Exporter, Response, TempDir, eventually, http, try_http, value};

const WAIT: Duration = Duration::from_secs(60);

/// A config with the disk collector `disk` (on or off) and one Postgres target per
/// `(name, database)`, each labelled `db=<database>` so their series differ.
fn pg_yaml(dir: &TempDir, pg: &PgServer, targets: &[(&str, &str)], interval: &str) -> String {
    // Up to 5 s for a cycle: a loaded machine may need more than a second, and an
    // hourly target's first cycle is its only one in a test.
    let (timeout, statement) = if interval == "1s" {
        ("1s", "800ms")
    } else {
        ("5s", "4s")
    };
    let pw = dir.write("pgpass", &format!("{PASSWORD}\n"));
    let mut yaml = format!(
        "collectors:\n  disk:\n    enabled: false\n  postgres:\n    interval: {interval}\n    timeout: {timeout}\n    statement_timeout: {statement}\n    targets:\n"
    );
    for (name, db) in targets {
        yaml.push_str(&format!(
            "      - name: {name}\n        dsn: postgresql://postgres@127.0.0.1:{}/{db}?sslmode=disable\n        password_file: {}\n        labels: {{db: {db}}}\n",
            pg.port,
            pw.display()
        ));
    }
    yaml
}

/// The exporter's backends on database `db`.
fn backends(pg: &PgServer, db: &str) -> Vec<u32> {
    let out = pg.psql(
        "postgres",
        &format!(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'lakewatch' AND datname = '{db}' ORDER BY pid"
        ),
    );
    out.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

fn reload(exp: &Exporter) -> Response {
    http(exp.addr, "POST", "/-/reload", &[])
}

fn metric(exp: &Exporter, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    value(&exp.metrics(), name, labels)
}

fn last_success(exp: &Exporter, target: &str) -> Option<f64> {
    metric(
        exp,
        "lakewatch_collector_last_success_timestamp_seconds",
        &[("collector", "postgres"), ("target", target)],
    )
}

#[test]
fn targets_are_added_rescheduled_and_removed_as_a_diff() {
    let Some(pg) = PgServer::start() else {
        return;
    };
    pg.psql("postgres", "CREATE DATABASE other");
    let dir = TempDir::new("reload-diff");
    let config = dir.write(
        "lakewatch.yml",
        &pg_yaml(&dir, &pg, &[("main", "postgres")], "1h"),
    );
    let exp = Exporter::start(&[
        "--config",
        config.to_str().unwrap(),
        "--web.enable-lifecycle",
    ]);
    exp.wait_ready(WAIT);
    eventually(WAIT, "main up", || {
        (metric(&exp, "pg_up", &[("db", "postgres")]) == Some(1.0)).then_some(())
    });
    let pid = eventually(WAIT, "main's one backend", || {
        match backends(&pg, "postgres")[..] {
            [pid] => Some(pid),
            _ => None,
        }
    });
    let main_cycle = last_success(&exp, "main").expect("main has succeeded");

    // Add a target: it starts; main keeps its session and runs no extra cycle (its
    // interval is an hour, so any cycle since start would move its timestamp).
    dir.write(
        "lakewatch.yml",
        &pg_yaml(&dir, &pg, &[("main", "postgres"), ("other", "other")], "1h"),
    );
    let r = reload(&exp);
    assert_eq!(r.status, 200, "{}\n{}", r.text(), exp.log_text());
    assert!(
        r.text().contains("started: postgres/other;"),
        "{}",
        r.text()
    );
    eventually(WAIT, "the added target up", || {
        (metric(&exp, "pg_up", &[("db", "other")]) == Some(1.0)).then_some(())
    });
    assert_eq!(backends(&pg, "postgres"), [pid], "main's session survives");
    assert_eq!(
        last_success(&exp, "main"),
        Some(main_cycle),
        "no extra cycle"
    );
    let other_pid = eventually(WAIT, "other's one backend", || {
        match backends(&pg, "other")[..] {
            [pid] => Some(pid),
            _ => None,
        }
    });
    assert_eq!(
        metric(&exp, "lakewatch_config_last_reload_successful", &[]),
        Some(1.0)
    );

    // A new interval: both keep their sessions and cycle every 5 s from now on.
    dir.write(
        "lakewatch.yml",
        &pg_yaml(&dir, &pg, &[("main", "postgres"), ("other", "other")], "5s"),
    );
    let r = reload(&exp);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text()
            .contains("rescheduled: postgres/main, postgres/other;"),
        "{}",
        r.text()
    );
    let later = eventually(WAIT, "main cycling on the new interval", || {
        last_success(&exp, "main").filter(|t| *t > main_cycle)
    });
    eventually(WAIT, "a second cycle on the new interval", || {
        last_success(&exp, "main").filter(|t| *t > later)
    });
    assert_eq!(backends(&pg, "postgres"), [pid]);
    assert_eq!(backends(&pg, "other"), [other_pid]);
    assert!(
        exp.get("/").text().contains("5s / 5s"),
        "the status page shows the new interval"
    );

    // Remove a target: its series leave the next snapshot and its session closes.
    dir.write(
        "lakewatch.yml",
        &pg_yaml(&dir, &pg, &[("main", "postgres")], "5s"),
    );
    let r = reload(&exp);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().contains("stopped: postgres/other;"),
        "{}",
        r.text()
    );
    eventually(WAIT, "the removed target's series gone", || {
        let body = exp.metrics();
        (value(&body, "pg_up", &[("db", "other")]).is_none()
            && value(&body, "lakewatch_collector_up", &[("target", "other")]).is_none())
        .then_some(())
    });
    eventually(WAIT, "the removed target's session closed", || {
        backends(&pg, "other").is_empty().then_some(())
    });
    assert_eq!(backends(&pg, "postgres"), [pid]);
    assert_eq!(metric(&exp, "pg_up", &[("db", "postgres")]), Some(1.0));

    // A changed setting (the session's statement_timeout): the target restarts with a
    // new session, and the old one is closed.
    dir.write(
        "lakewatch.yml",
        &pg_yaml(&dir, &pg, &[("main", "postgres")], "5s")
            .replace("statement_timeout: 4s", "statement_timeout: 3s"),
    );
    let r = reload(&exp);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().contains("restarted: postgres/main;"),
        "{}",
        r.text()
    );
    let new_pid = eventually(WAIT, "one new session for main", || {
        match backends(&pg, "postgres")[..] {
            [p] if p != pid => Some(p),
            _ => None,
        }
    });
    assert_ne!(new_pid, pid);
    eventually(WAIT, "main up again", || {
        (metric(&exp, "pg_up", &[("db", "postgres")]) == Some(1.0)).then_some(())
    });
}

#[test]
fn an_invalid_file_changes_nothing_and_says_where() {
    let dir = TempDir::new("reload-invalid");
    let good = "collectors:\n  disk:\n    interval: 1s\n    timeout: 1s\n";
    let config = dir.write("lakewatch.yml", good);
    let exp = Exporter::start(&[
        "--config",
        config.to_str().unwrap(),
        "--web.enable-lifecycle",
    ]);
    exp.wait_ready(WAIT);
    let started = metric(
        &exp,
        "lakewatch_config_last_reload_success_timestamp_seconds",
        &[],
    )
    .expect("the start-up load counts");
    assert!(started > 1.7e9, "{started}");
    assert_eq!(
        metric(&exp, "lakewatch_config_last_reload_successful", &[]),
        Some(1.0)
    );

    // Line 7 is wrong (a misspelt key), line 6 holds a password.
    let secret = "Sup3r-Secret-Pw-7731";
    dir.write(
        "lakewatch.yml",
        &format!(
            "collectors:\n  postgres:\n    targets:\n      - name: db\n        dsn: postgresql://u:{secret}@127.0.0.1/x\n        password: {secret}\n        passwrd: {secret}\n"
        ),
    );
    let r = reload(&exp);
    assert_eq!(r.status, 400, "{}", r.text());
    let text = r.text();
    assert!(text.contains("lakewatch.yml:7:"), "names the line: {text}");
    assert!(!text.contains(secret), "leaks the password: {text}");
    eventually(WAIT, "the failure logged with its line", || {
        let log = exp.log_text();
        log.lines()
            .any(|l| l.contains("configuration reload failed") && l.contains("lakewatch.yml:7:"))
            .then_some(())
    });
    assert!(
        !exp.log_text().contains(secret),
        "the log leaks the password"
    );
    eventually(WAIT, "the failure counted", || {
        (metric(&exp, "lakewatch_config_last_reload_successful", &[]) == Some(0.0)).then_some(())
    });
    let body = exp.metrics();
    assert_eq!(
        value(
            &body,
            "lakewatch_config_last_reload_success_timestamp_seconds",
            &[]
        ),
        Some(started),
        "a failed reload is not a success"
    );
    assert_eq!(
        value(&body, "lakewatch_collector_up", &[("collector", "disk")]),
        Some(1.0),
        "the old config keeps serving"
    );
    assert!(
        value(
            &body,
            "lakewatch_collector_up",
            &[("collector", "postgres")]
        )
        .is_none()
    );
    let page = exp.get("/").text();
    assert!(
        page.contains("The last reload failed") && page.contains("lakewatch.yml:7:"),
        "the status page says why: {page}"
    );
    assert!(!page.contains(secret), "the status page leaks the password");

    // Fixed again: the metric recovers.
    dir.write("lakewatch.yml", good);
    assert_eq!(reload(&exp).status, 200);
    eventually(WAIT, "the success counted", || {
        (metric(&exp, "lakewatch_config_last_reload_successful", &[]) == Some(1.0)).then_some(())
    });
    assert!(
        metric(
            &exp,
            "lakewatch_config_last_reload_success_timestamp_seconds",
            &[]
        )
        .unwrap()
            > started
    );

    // Only POST; other methods get 405 naming it.
    let r = http(exp.addr, "GET", "/-/reload", &[]);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("POST"));
}

#[test]
fn the_endpoint_needs_the_lifecycle_flag_and_the_credentials() {
    let dir = TempDir::new("reload-auth");
    let config = dir.write(
        "lakewatch.yml",
        "collectors:\n  disk:\n    enabled: false\n",
    );
    let off = Exporter::start(&["--config", config.to_str().unwrap()]);
    assert_eq!(reload(&off).status, 404, "without --web.enable-lifecycle");

    let hash = bcrypt::hash("correct horse", 4).unwrap();
    let web = dir.write(
        "web.yml",
        &format!("basic_auth_users:\n  prometheus: '{hash}'\n"),
    );
    let exp = Exporter::start(&[
        "--config",
        config.to_str().unwrap(),
        "--web.config.file",
        web.to_str().unwrap(),
        "--web.enable-lifecycle",
    ]);
    assert_eq!(reload(&exp).status, 401);
    use base64::Engine as _;
    let right = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("prometheus:correct horse")
    );
    let r = http(exp.addr, "POST", "/-/reload", &[("Authorization", &right)]);
    assert_eq!(r.status, 200, "{}", r.text());

    // The web config is re-read too: a new password applies after the reload.
    let hash = bcrypt::hash("battery staple", 4).unwrap();
    dir.write(
        "web.yml",
        &format!("basic_auth_users:\n  prometheus: '{hash}'\n"),
    );
    let r = http(exp.addr, "POST", "/-/reload", &[("Authorization", &right)]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        http(exp.addr, "GET", "/metrics", &[("Authorization", &right)]).status,
        401,
        "the old password no longer works"
    );
    let new = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("prometheus:battery staple")
    );
    assert_eq!(
        http(exp.addr, "GET", "/metrics", &[("Authorization", &new)]).status,
        200
    );

    // An invalid web config changes nothing either, the config file's jobs included.
    dir.write("web.yml", "basic_auth_users:\n  prometheus: plaintext\n");
    dir.write(
        "lakewatch.yml",
        "collectors:\n  disk:\n    interval: 1s\n    timeout: 1s\n",
    );
    let r = http(exp.addr, "POST", "/-/reload", &[("Authorization", &new)]);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text()
            .contains("web.yml:2:15: basic_auth_users.prometheus: not a bcrypt hash"),
        "{}",
        r.text()
    );
    // The status page lists a job from the moment a reload starts it.
    let page = http(exp.addr, "GET", "/", &[("Authorization", &new)]);
    assert_eq!(page.status, 200, "the password in force still works");
    assert!(
        !page.text().contains("<td>disk</td>"),
        "the valid config file is not applied alone: {}",
        page.text()
    );
}

#[test]
fn sighup_reloads_the_running_binary() {
    let dir = TempDir::new("reload-hup");
    let config = dir.write(
        "lakewatch.yml",
        "collectors:\n  disk:\n    interval: 1s\n    timeout: 1s\n",
    );
    let exp = Exporter::start(&["--config", config.to_str().unwrap()]);
    exp.wait_ready(WAIT);
    assert_eq!(
        metric(&exp, "lakewatch_collector_up", &[("collector", "disk")]),
        Some(1.0)
    );
    dir.write(
        "lakewatch.yml",
        "collectors:\n  disk:\n    enabled: false\n",
    );
    let ok = Command::new("kill")
        .args(["-HUP", &exp.pid().to_string()])
        .status()
        .expect("running kill");
    assert!(ok.success());
    eventually(WAIT, "the disk collector stopped by the reload", || {
        metric(&exp, "lakewatch_collector_up", &[("collector", "disk")])
            .is_none()
            .then_some(())
    });
    // The reload logs after it applied the change: the line may follow the scrape.
    eventually(WAIT, "the reload logged with its trigger", || {
        exp.log_text()
            .lines()
            .any(|l| l.contains("configuration reloaded") && l.contains("SIGHUP"))
            .then_some(())
    });
    assert_eq!(exp.get("/healthz").status, 200, "still serving");
}

#[test]
fn config_watch_follows_a_configmap_symlink_swap() {
    // A ConfigMap volume: lakewatch.yml -> ..data/lakewatch.yml, ..data -> a
    // timestamped directory; an update writes a new directory and renames a new
    // ..data symlink over the old one.
    let dir = TempDir::new("reload-watch");
    let v1 = dir.0.join("..2026_01_01_v1");
    let v2 = dir.0.join("..2026_01_02_v2");
    std::fs::create_dir_all(&v1).unwrap();
    std::fs::create_dir_all(&v2).unwrap();
    std::fs::write(
        v1.join("lakewatch.yml"),
        "collectors:\n  disk:\n    interval: 1s\n    timeout: 1s\n",
    )
    .unwrap();
    std::fs::write(
        v2.join("lakewatch.yml"),
        "collectors:\n  disk:\n    enabled: false\n",
    )
    .unwrap();
    let data = dir.0.join("..data");
    std::os::unix::fs::symlink(&v1, &data).unwrap();
    let config = dir.0.join("lakewatch.yml");
    std::os::unix::fs::symlink("..data/lakewatch.yml", &config).unwrap();

    let exp = Exporter::start(&["--config", config.to_str().unwrap(), "--config.watch"]);
    exp.wait_ready(WAIT);
    assert_eq!(
        metric(&exp, "lakewatch_collector_up", &[("collector", "disk")]),
        Some(1.0)
    );
    let tmp = dir.0.join("..data_tmp");
    std::os::unix::fs::symlink(&v2, &tmp).unwrap();
    std::fs::rename(&tmp, &data).unwrap();
    eventually(WAIT, "the swapped-in config applied", || {
        metric(&exp, "lakewatch_collector_up", &[("collector", "disk")])
            .is_none()
            .then_some(())
    });
    let reloads = || {
        exp.log_text()
            .lines()
            .filter(|l| l.contains("configuration reloaded") && l.contains("file change"))
            .count()
    };
    assert_eq!(reloads(), 1, "{}", exp.log_text());

    // A second swap, back to v1: when it is applied the count is two, so the first
    // change was applied once, not again on every poll since.
    std::os::unix::fs::symlink(&v1, &tmp).unwrap();
    std::fs::rename(&tmp, &data).unwrap();
    eventually(WAIT, "the second swap applied", || {
        metric(&exp, "lakewatch_collector_up", &[("collector", "disk")]).map(|_| ())
    });
    assert_eq!(reloads(), 2, "{}", exp.log_text());
}

/// Resident memory of a process, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/PID/status");
    kb * 1024
}

/// RSS may grow by this much over 50 reloads (allocator arenas settling, the snapshot
/// of a second collector); a leak of a collector, its session or a task per reload
/// would show up as more, and fds as strictly more.
const RSS_BOUND: u64 = 16 * 1024 * 1024;

#[test]
fn fifty_reloads_under_continuous_scraping() {
    let Some(pg) = PgServer::start() else {
        return;
    };
    let dir = TempDir::new("reload-fifty");
    // Two configs that differ in a kept target's interval (rescheduled) and in a whole
    // collector (disk: started, then stopped).
    let base = pg_yaml(&dir, &pg, &[("main", "postgres")], "1s");
    let a = base.clone();
    let b = base
        .replace("    interval: 1s\n", "    interval: 2s\n")
        .replace(
            "  disk:\n    enabled: false\n",
            "  disk:\n    interval: 1s\n    timeout: 1s\n",
        );
    assert_ne!(a, b);
    let config = dir.write("lakewatch.yml", &a);
    let exp = Exporter::start(&[
        "--config",
        config.to_str().unwrap(),
        "--web.enable-lifecycle",
    ]);
    exp.wait_ready(WAIT);
    let pid = eventually(WAIT, "main's one backend", || {
        match backends(&pg, "postgres")[..] {
            [pid] => Some(pid),
            _ => None,
        }
    });
    let addr = exp.addr;

    let stop = AtomicBool::new(false);
    let scrapes = AtomicUsize::new(0);
    // Scrape latencies are kept for the printed comparison only (no test asserts on
    // time): before the reloads (the baseline) and while they run.
    let reloading = AtomicBool::new(false);
    let (failures, latencies, most, pids, fds_before, rss_before) = std::thread::scope(|scope| {
        let scraper = scope.spawn(|| {
            let mut failures = Vec::new();
            let mut latencies: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
            while !stop.load(Ordering::Relaxed) {
                let phase = usize::from(reloading.load(Ordering::Relaxed));
                let start = std::time::Instant::now();
                let result = try_http(addr, "GET", "/metrics", &[]);
                latencies[phase].push(start.elapsed());
                match result {
                    Ok(r) if r.status == 200 => {
                        let body = r.text();
                        if value(&body, "pg_up", &[("db", "postgres")]) != Some(1.0) {
                            failures.push(format!("no pg_up 1 for main:\n{body}"));
                        }
                    }
                    Ok(r) => failures.push(format!("status {}", r.status)),
                    Err(e) => failures.push(e.to_string()),
                }
                scrapes.fetch_add(1, Ordering::Relaxed);
            }
            (failures, latencies)
        });
        // The exporter's sessions, polled throughout: how many at once, which pids.
        let sessions = scope.spawn(|| {
            let mut most = 0;
            let mut pids = std::collections::BTreeSet::new();
            while !stop.load(Ordering::Relaxed) {
                let now = pg.psql(
                    "postgres",
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 'lakewatch'",
                );
                let now: Vec<u32> = now.lines().filter_map(|l| l.trim().parse().ok()).collect();
                most = most.max(now.len());
                pids.extend(now);
            }
            (most, pids)
        });
        eventually(WAIT, "a baseline of scrapes", || {
            (scrapes.load(Ordering::Relaxed) >= 200).then_some(())
        });
        let fds_before = exp.open_fds();
        let rss_before = rss(exp.pid());
        reloading.store(true, Ordering::Relaxed);
        for i in 0..50 {
            dir.write("lakewatch.yml", if i % 2 == 0 { &b } else { &a });
            let r = reload(&exp);
            assert_eq!(r.status, 200, "reload {i}: {}", r.text());
            assert!(
                r.text().contains("rescheduled: postgres/main;"),
                "reload {i}: {}",
                r.text()
            );
        }
        // The last config (i = 49) is `a`: no disk collector. A few more scrapes.
        let n = scrapes.load(Ordering::Relaxed);
        reloading.store(false, Ordering::Relaxed);
        eventually(WAIT, "scrapes after the last reload", || {
            (scrapes.load(Ordering::Relaxed) >= n + 5).then_some(())
        });
        stop.store(true, Ordering::Relaxed);
        let (failures, latencies) = scraper.join().expect("the scraper thread");
        let (most, pids) = sessions.join().expect("the sessions thread");
        (failures, latencies, most, pids, fds_before, rss_before)
    });
    let total = scrapes.load(Ordering::Relaxed);
    assert!(
        failures.is_empty(),
        "{} of {total} scrapes failed; first: {}",
        failures.len(),
        failures[0]
    );
    assert_eq!(most, 1, "at most one session for the one target");
    assert_eq!(
        pids.into_iter().collect::<Vec<_>>(),
        [pid],
        "the same session throughout"
    );
    // Connections of the scraper close asynchronously: wait for the count to settle.
    let fds_after = eventually(WAIT, "fds back to the baseline", || {
        let n = exp.open_fds();
        (n <= fds_before).then_some(n)
    });
    let rss_after = rss(exp.pid());
    for (phase, mut l) in ["without reloads", "during reloads"]
        .into_iter()
        .zip(latencies)
    {
        l.sort();
        let at = |q: f64| l[((l.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
        eprintln!(
            "scrape latency {phase}: {} scrapes, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            l.len(),
            at(0.5),
            at(0.99),
            at(1.0)
        );
    }
    eprintln!(
        "50 reloads, {total} scrapes: fds {fds_before} -> {fds_after}, RSS {} -> {} KiB",
        rss_before / 1024,
        rss_after / 1024
    );
    assert!(
        rss_after <= rss_before + RSS_BOUND,
        "RSS grew from {rss_before} to {rss_after} bytes"
    );
    assert!(
        metric(&exp, "lakewatch_collector_up", &[("collector", "disk")]).is_none(),
        "the last config has no disk collector"
    );
}
