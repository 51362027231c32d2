//! Target discovery against the real binary and a real Postgres: targets files that
//! appear, change, break and go while the exporter runs, and names that collide.

use std::path::Path;
use std::time::Duration;

use crate::support::postgres::{PASSWORD, PgServer};
use crate::support::{Exporter, TempDir, eventually_with, exporter_bin, http, value};

const WAIT: Duration = Duration::from_secs(60);

/// One target entry of the Postgres `targets:` format, labelled `db=<db>` plus `extra`.
fn pg_target(pg: &PgServer, pw: &Path, name: &str, db: &str, extra: &str) -> String {
    format!(
        "- name: {name}\n  dsn: postgresql://postgres@127.0.0.1:{}/{db}?sslmode=disable\n  password_file: {}\n  labels: {{db: {db}{extra}}}\n",
        pg.port,
        pw.display()
    )
}

/// Writes a targets file as tools should: whole, by renaming a hidden temporary file
/// (which the `*.yml` glob does not match).
fn publish(dir: &Path, name: &str, text: &str) {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

/// An exporter with the static target `main` (database `postgres`) and the targets
/// files `<dir>/sd/*.yml`.
fn start(dir: &TempDir, pg: &PgServer) -> (Exporter, std::path::PathBuf, std::path::PathBuf) {
    let pw = dir.write("pgpass", &format!("{PASSWORD}\n"));
    let sd = dir.0.join("sd");
    std::fs::create_dir_all(&sd).unwrap();
    let mut yaml = format!(
        "collectors:\n  disk:\n    enabled: false\n  container:\n    enabled: false\n  postgres:\n    interval: 1s\n    timeout: 1s\n    statement_timeout: 800ms\n    targets_files: [{}/*.yml]\n    targets:\n",
        sd.display()
    );
    for line in pg_target(pg, &pw, "main", "postgres", "").lines() {
        yaml.push_str(&format!("      {line}\n"));
    }
    let config = dir.write("lakewatch.yml", &yaml);
    let exp = Exporter::start(&[
        "--config",
        config.to_str().unwrap(),
        "--web.enable-lifecycle",
    ]);
    exp.wait_ready(WAIT);
    (exp, sd, pw)
}

fn discovery(exp: &Exporter, name: &str) -> Option<f64> {
    value(
        &exp.metrics(),
        &format!("lakewatch_discovery_{name}"),
        &[("collector", "postgres"), ("source", "file")],
    )
}

/// Waits until the exposition satisfies `check`; shows the log and the body if not.
fn until(exp: &Exporter, what: &str, check: impl Fn(&str) -> bool) {
    eventually_with(
        WAIT,
        what,
        || format!("{}\n{}", exp.log_text(), exp.metrics()),
        || check(&exp.metrics()).then_some(()),
    );
}

#[test]
fn targets_files_add_change_break_and_remove_targets() {
    let Some(pg) = PgServer::start() else {
        return;
    };
    pg.psql("postgres", "CREATE DATABASE other");
    let dir = TempDir::new("discovery-files");
    let (exp, sd, pw) = start(&dir, &pg);
    until(&exp, "main up, nothing discovered yet", |m| {
        value(m, "pg_up", &[("db", "postgres")]) == Some(1.0)
            && value(
                m,
                "lakewatch_discovery_targets",
                &[("collector", "postgres")],
            ) == Some(0.0)
    });

    // Add: a file appears with one target.
    publish(&sd, "a.yml", &pg_target(&pg, &pw, "found", "other", ""));
    until(&exp, "the discovered target up", |m| {
        value(m, "pg_up", &[("db", "other")]) == Some(1.0)
    });
    assert_eq!(discovery(&exp, "targets"), Some(1.0));
    assert_eq!(discovery(&exp, "last_refresh_successful"), Some(1.0));
    let page = exp.get("/").text();
    let file = sd.join("a.yml");
    let row = |target: &str| {
        page.lines()
            .find(|l| l.starts_with(&format!("<tr><td>postgres</td><td>{target}</td>")))
            .unwrap_or_else(|| panic!("no row for {target}: {page}"))
    };
    assert!(
        row("found").ends_with(&format!("<td>file {}</td></tr>", file.display())),
        "{page}"
    );
    assert!(row("main").ends_with("<td>static</td></tr>"), "{page}");

    // Change: a new label replaces the target's series.
    publish(
        &sd,
        "a.yml",
        &pg_target(&pg, &pw, "found", "other", ", v: '2'"),
    );
    until(&exp, "the changed target's series", |m| {
        value(m, "pg_up", &[("db", "other"), ("v", "2")]) == Some(1.0)
            && m.lines()
                .filter(|l| l.starts_with("pg_up{") && l.contains("db=\"other\""))
                .count()
                == 1
    });

    // Break: a typo (next to a password) keeps the old targets and reports the error.
    publish(
        &sd,
        "a.yml",
        "- name: found\n  password: Zq9-file-secret\n  passwrd: Zq9-file-secret\n",
    );
    until(&exp, "the broken file reported", |m| {
        value(
            m,
            "lakewatch_discovery_last_refresh_successful",
            &[("collector", "postgres")],
        ) == Some(0.0)
    });
    assert_eq!(discovery(&exp, "errors_total"), Some(1.0));
    let page = exp.get("/").text();
    assert!(
        page.contains(&format!("{}:3:3: unknown field `passwrd`", file.display())),
        "{page}"
    );
    assert!(!page.contains("Zq9-file-secret"), "{page}");
    assert!(!exp.log_text().contains("Zq9-file-secret"));
    // Still collected: the old definition is kept.
    let before = value(
        &exp.metrics(),
        "lakewatch_collector_last_success_timestamp_seconds",
        &[("target", "found")],
    )
    .expect("found still runs");
    until(&exp, "the kept target still cycling", |m| {
        value(
            m,
            "lakewatch_collector_last_success_timestamp_seconds",
            &[("target", "found")],
        )
        .is_some_and(|t| t > before)
            && value(m, "pg_up", &[("db", "other"), ("v", "2")]) == Some(1.0)
    });

    // Remove: the file goes, its target's series go; the error is over.
    std::fs::remove_file(&file).unwrap();
    until(&exp, "the removed target's series gone", |m| {
        value(m, "pg_up", &[("db", "other")]).is_none()
            && !m.contains("target=\"found\"")
            && value(
                m,
                "lakewatch_discovery_last_refresh_successful",
                &[("collector", "postgres")],
            ) == Some(1.0)
    });
    assert_eq!(discovery(&exp, "targets"), Some(0.0));
    assert_eq!(
        value(&exp.metrics(), "pg_up", &[("db", "postgres")]),
        Some(1.0),
        "the static target is untouched"
    );
}

#[test]
fn a_name_already_taken_is_an_error_for_the_newer_claim() {
    let Some(pg) = PgServer::start() else {
        return;
    };
    pg.psql("postgres", "CREATE DATABASE other");
    pg.psql("postgres", "CREATE DATABASE third");
    let dir = TempDir::new("discovery-collision");
    let (exp, sd, pw) = start(&dir, &pg);

    // `z.yml` claims the static `main` (rejected) and `extra` (taken).
    let z = format!(
        "{}{}",
        pg_target(&pg, &pw, "main", "other", ""),
        pg_target(&pg, &pw, "extra", "other", "")
    );
    publish(&sd, "z.yml", &z);
    until(&exp, "extra up", |m| {
        value(m, "pg_up", &[("db", "other")]) == Some(1.0)
    });
    assert_eq!(discovery(&exp, "targets"), Some(1.0));
    assert_eq!(discovery(&exp, "errors_total"), Some(1.0));
    assert_eq!(discovery(&exp, "last_refresh_successful"), Some(0.0));
    let page = exp.get("/").text();
    assert!(
        page.contains(&format!(
            "file {}: target &quot;main&quot; is already defined (static); ignored",
            sd.join("z.yml").display()
        )),
        "{page}"
    );

    // `a.yml` sorts first but comes later: its `extra` is the newer claim and loses.
    publish(&sd, "a.yml", &pg_target(&pg, &pw, "extra", "third", ""));
    until(&exp, "the second collision counted", |m| {
        value(
            m,
            "lakewatch_discovery_errors_total",
            &[("collector", "postgres")],
        ) == Some(2.0)
    });
    let m = exp.metrics();
    assert_eq!(value(&m, "pg_up", &[("db", "other")]), Some(1.0), "{m}");
    assert_eq!(value(&m, "pg_up", &[("db", "third")]), None, "{m}");
    assert_eq!(value(&m, "pg_up", &[("db", "postgres")]), Some(1.0), "{m}");
    let page = exp.get("/").text();
    assert!(
        page.contains(&format!(
            "target &quot;extra&quot; is already defined (file {}); ignored",
            sd.join("z.yml").display()
        )),
        "{page}"
    );
}

#[test]
fn a_reload_applies_static_and_discovered_targets_as_one_diff() {
    let Some(pg) = PgServer::start() else {
        return;
    };
    pg.psql("postgres", "CREATE DATABASE other");
    let dir = TempDir::new("discovery-reload");
    let (exp, sd, pw) = start(&dir, &pg);
    publish(&sd, "a.yml", &pg_target(&pg, &pw, "found", "other", ""));
    until(&exp, "the discovered target up", |m| {
        value(m, "pg_up", &[("db", "other")]) == Some(1.0)
    });

    // An unchanged file and config: both targets keep running.
    let r = http(exp.addr, "POST", "/-/reload", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().contains(
            "started: none; restarted: none; stopped: none; rescheduled: none; unchanged: 2"
        ),
        "{}",
        r.text()
    );

    // Without targets_files the discovered target stops; the static one is kept.
    let config = dir.0.join("lakewatch.yml");
    let yaml = std::fs::read_to_string(&config).unwrap();
    let without: String = yaml
        .lines()
        .filter(|l| !l.contains("targets_files"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&config, without).unwrap();
    let r = http(exp.addr, "POST", "/-/reload", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().contains("stopped: postgres/found;") && r.text().contains("unchanged: 1"),
        "{}",
        r.text()
    );
    until(&exp, "the discovered target's series gone", |m| {
        value(m, "pg_up", &[("db", "other")]).is_none()
            && value(m, "pg_up", &[("db", "postgres")]) == Some(1.0)
    });
    assert!(
        !exp.metrics().contains("lakewatch_discovery_targets"),
        "no discovery metrics without targets_files"
    );
}

#[test]
fn check_config_reads_the_targets_files() {
    let dir = TempDir::new("discovery-check");
    let sd = dir.0.join("sd");
    std::fs::create_dir_all(&sd).unwrap();
    std::fs::write(sd.join("a.yml"), "- name: found\n  host: db\n  user: u\n").unwrap();
    let config = dir.write(
        "lakewatch.yml",
        &format!(
            "collectors:\n  disk:\n    enabled: false\n  container:\n    enabled: false\n  postgres:\n    targets_files: ['{}/*.yml']\n",
            sd.display()
        ),
    );
    let check = || {
        let out = std::process::Command::new(exporter_bin())
            .args(["--check-config", "--config", config.to_str().unwrap()])
            .output()
            .expect("running the exporter");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = check();
    assert!(ok, "{out}{err}");
    assert!(out.contains("  postgres found every 30s"), "{out}");
    std::fs::write(sd.join("b.yml"), "- name: b\n  hst: db\n").unwrap();
    let (ok, out, err) = check();
    assert!(!ok, "a broken targets file fails the check: {out}");
    assert!(
        err.contains(&format!(
            "postgres file discovery: {}:2:3: unknown field `hst`",
            sd.join("b.yml").display()
        )),
        "{err}"
    );
}

/// Docker discovery against a real daemon: a labelled container forwarding its port
/// 5432 to a real Postgres on the host becomes a target without a config edit, a
/// container with a broken label is reported and skipped, a stopped container's
/// series leave, and one recreated with other labels comes back as they say.
#[test]
fn labelled_containers_become_postgres_targets() {
    use crate::support::docker::{Scene, docker, ready};
    if !ready() {
        return;
    }
    // Containers reach the host through the bridge: listen everywhere, and let any
    // address in with the password.
    let dir = TempDir::new("discovery-docker");
    let hba = dir.write(
        "hba.conf",
        "local all all trust\nhost all all 0.0.0.0/0 scram-sha-256\n",
    );
    let hba_setting = format!("hba_file={}", hba.display());
    let Some(pg) = PgServer::start_with_settings(&["listen_addresses=*", &hba_setting]) else {
        return;
    };
    let pw = dir.write("pgpass", &format!("{PASSWORD}\n"));
    let yaml = format!(
        "collectors:\n  disk:\n    enabled: false\n  container:\n    enabled: false\n  postgres:\n    interval: 1s\n    timeout: 1s\n    statement_timeout: 800ms\n    docker_discovery:\n      network: bridge\n      user: postgres\n      dbname: postgres\n      sslmode: disable\n      password_file: {}\n",
        pw.display()
    );
    let config = dir.write("lakewatch.yml", &yaml);
    let exp = Exporter::start(&["--config", config.to_str().unwrap()]);
    let docker_source = |name: &str| {
        value(
            &exp.metrics(),
            &format!("lakewatch_discovery_{name}"),
            &[("collector", "postgres"), ("source", "docker")],
        )
    };
    until(&exp, "docker discovery reporting, nothing yet", |m| {
        value(
            m,
            "lakewatch_discovery_targets",
            &[("collector", "postgres"), ("source", "docker")],
        ) == Some(0.0)
    });

    let scene = Scene::new("discovery");
    // The default route of a bridge container is the host; busybox nc forks a
    // forwarder per connection (-ll -e).
    let forward = format!(
        "printf '#!/bin/sh\\nexec nc %s {}\\n' $(ip route | awk '/default/ {{print $3}}') > /tmp/fwd && chmod +x /tmp/fwd && exec nc -ll -p 5432 -e /tmp/fwd",
        pg.port
    );
    scene.run(
        "db",
        &["--label", "lakewatch.postgres.enable=true"],
        &forward,
    );
    scene.run(
        "broken",
        &[
            "--label",
            "lakewatch.postgres.enable=true",
            "--label",
            "lakewatch.postgres.port=abc",
        ],
        "exec sleep 600",
    );
    let db = scene.name("db");
    let broken = scene.name("broken");
    // Both containers listed: the good one cycling, the broken one reported (the two
    // starts may reach discovery in different lists).
    until(
        &exp,
        "the container's pg_up and the broken one reported",
        |m| {
            let docker = [("collector", "postgres"), ("source", "docker")];
            value(m, "pg_up", &[("name", &db)]) == Some(1.0)
                && value(m, "lakewatch_discovery_last_refresh_successful", &docker) == Some(0.0)
        },
    );
    assert_eq!(docker_source("targets"), Some(1.0));
    assert_eq!(docker_source("last_refresh_successful"), Some(0.0));
    assert!(docker_source("errors_total").is_some_and(|e| e >= 1.0));
    let page = exp.get("/").text();
    assert!(
        page.contains(&format!(
            "container {broken}: label lakewatch.postgres.port=&quot;abc&quot;: "
        )),
        "{page}"
    );
    assert!(
        page.contains(&format!("<tr><td>postgres</td><td>{db}</td>"))
            && page.contains(&format!("<td>docker container {db}</td></tr>")),
        "{page}"
    );
    assert!(
        !exp.metrics().contains(&format!("name=\"{broken}\"")),
        "the broken container is skipped"
    );

    // Stop it: its series leave, without a config edit.
    docker(&["stop", "-t", "1", &db]);
    until(&exp, "the stopped container's series gone", |m| {
        !m.contains(&format!("name=\"{db}\""))
            && value(
                m,
                "lakewatch_discovery_targets",
                &[("collector", "postgres"), ("source", "docker")],
            ) == Some(0.0)
    });

    // Relabel (containers are recreated to change labels): the new target name applies.
    docker(&["rm", &db]);
    scene.run(
        "db",
        &[
            "--label",
            "lakewatch.postgres.enable=true",
            "--label",
            "lakewatch.postgres.name=orders",
        ],
        &forward,
    );
    until(&exp, "the relabelled container's pg_up", |m| {
        value(m, "pg_up", &[("name", &db)]) == Some(1.0)
    });
    let page = exp.get("/").text();
    assert!(
        page.contains("<tr><td>postgres</td><td>orders</td>")
            && page.contains(&format!("<td>docker container {db}</td></tr>")),
        "{page}"
    );

    // Churn, in this same test: discovery sees every labelled container on the daemon,
    // so a second test doing this in parallel would see these containers too.
    docker(&["rm", "-f", &db, &broken]);
    until(&exp, "no docker targets before the churn", |m| {
        value(
            m,
            "lakewatch_discovery_targets",
            &[("collector", "postgres"), ("source", "docker")],
        ) == Some(0.0)
    });
    churn_under_scraping(&exp, &pg, &scene, &forward);
}

/// 20 labelled containers start and stop, twice, while a thread scrapes without pause:
/// no scrape fails, each round's targets come up and leave, and afterwards nothing
/// leaks: no session of the exporter left in Postgres, no file descriptor (socket,
/// Docker connection) above the count before the churn. A task left behind by a removed
/// target would hold its session or its socket, so these two counts cover tasks too.
fn churn_under_scraping(
    exp: &Exporter,
    pg: &PgServer,
    scene: &crate::support::docker::Scene,
    forward: &str,
) {
    use crate::support::docker::docker;
    use crate::support::try_http;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    const N: usize = 20;
    let sessions = || {
        pg.psql(
            "postgres",
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lakewatch'",
        )
        .trim()
        .parse::<usize>()
        .expect("a count")
    };
    eventually_with(
        WAIT,
        "no session of the exporter before the churn",
        || exp.log_text(),
        || (sessions() == 0).then_some(()),
    );
    let fds_before = exp.open_fds();
    let addr = exp.addr;
    let stop = AtomicBool::new(false);
    let scrapes = AtomicUsize::new(0);
    let failures = std::thread::scope(|scope| {
        let scraper = scope.spawn(|| {
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match try_http(addr, "GET", "/metrics", &[]) {
                    Ok(r) if r.status == 200 => {}
                    Ok(r) => failures.push(format!("status {}", r.status)),
                    Err(e) => failures.push(e.to_string()),
                }
                scrapes.fetch_add(1, Ordering::Relaxed);
            }
            failures
        });
        for round in 0..2 {
            let names: Vec<String> = (0..N)
                .map(|i| {
                    let suffix = format!("churn{round}-{i}");
                    scene.run(
                        &suffix,
                        &["--label", "lakewatch.postgres.enable=true"],
                        forward,
                    );
                    scene.name(&suffix)
                })
                .collect();
            until(exp, &format!("round {round}: pg_up 1 for all {N}"), |m| {
                names
                    .iter()
                    .all(|n| value(m, "pg_up", &[("name", n)]) == Some(1.0))
            });
            let mut rm = vec!["rm", "-f"];
            rm.extend(names.iter().map(String::as_str));
            docker(&rm);
            until(
                exp,
                &format!("round {round}: every churned target gone"),
                |m| {
                    value(
                        m,
                        "lakewatch_discovery_targets",
                        &[("collector", "postgres"), ("source", "docker")],
                    ) == Some(0.0)
                        && !names.iter().any(|n| m.contains(&format!("name=\"{n}\"")))
                },
            );
        }
        stop.store(true, Ordering::Relaxed);
        scraper.join().expect("the scraper thread")
    });
    let total = scrapes.load(Ordering::Relaxed);
    assert!(total > 0, "the scraper ran");
    assert!(
        failures.is_empty(),
        "{} of {total} scrapes failed; first: {}",
        failures.len(),
        failures[0]
    );
    eventually_with(
        WAIT,
        "every session of the churned targets closed",
        || format!("{} sessions\n{}", sessions(), exp.log_text()),
        || (sessions() == 0).then_some(()),
    );
    // The scraper's connections close asynchronously: wait for the count to settle.
    eventually_with(
        WAIT,
        "file descriptors back to the count before the churn",
        || format!("{} open, {fds_before} before", exp.open_fds()),
        || (exp.open_fds() <= fds_before).then_some(()),
    );
    eprintln!("churn: {total} scrapes, none failed; fds {fds_before} before, back after");
}

/// The script of a busybox container that listens on `listen` and forwards every
/// connection to `port` on the host (the default route of a bridge container); busybox
/// nc forks a forwarder per connection (-ll -e).
fn forward_to_host(port: u16, listen: u16) -> String {
    format!(
        "printf '#!/bin/sh\\nexec nc %s {port}\\n' $(ip route | awk '/default/ {{print $3}}') > /tmp/fwd && chmod +x /tmp/fwd && exec nc -ll -p {listen} -e /tmp/fwd"
    )
}

/// Docker discovery of S3 and Trino, turned on and off by reloads: a container
/// forwarding to a real S3 server (moto) and one forwarding to the replay coordinator
/// become targets at the URLs their labels give (a probe bucket, a non-default port),
/// their series carry the container's `name` and its allow-listed Compose label, and a
/// reload that adds or drops a collector's `docker_discovery:` starts or stops its
/// containers' targets.
#[test]
fn s3_and_trino_containers_follow_their_labels_and_reloads() {
    use crate::support::Moto;
    use crate::support::docker::{Scene, ready};
    use crate::support::replay::{Replay, fixture, list, ok, q};
    if !ready() {
        return;
    }
    let Some(moto) = Moto::start_everywhere(&[]) else {
        return;
    };
    crate::support::s3::Admin::new(&moto.endpoint()).bucket("canary", &[3]);
    let trino = Replay::start_everywhere();
    trino.route("/v1/info", vec![ok(fixture("info.json"))]);
    trino.route("/v1/info/state", vec![ok(fixture("state.json"))]);
    trino.route("/v1/query", vec![list(&[q("a", "RUNNING")])]);

    let dir = TempDir::new("discovery-docker-s3-trino");
    let secret = dir.write("s3secret", "lakewatch-secret\n");
    let base = "collectors:\n  disk:\n    enabled: false\n  container:\n    enabled: false\n";
    let s3 = format!(
        "  s3:\n    interval: 1s\n    timeout: 1s\n    docker_discovery:\n      network: bridge\n      access_key: lakewatch\n      secret_key_file: {}\n",
        secret.display()
    );
    let trino_block = "  trino:\n    interval: 1s\n    timeout: 1s\n    docker_discovery:\n      network: bridge\n      user: probe\n";
    let config = dir.write("lakewatch.yml", &format!("{base}{s3}"));
    let exp = Exporter::start(&[
        "--config",
        config.to_str().unwrap(),
        "--web.enable-lifecycle",
    ]);
    exp.wait_ready(WAIT);

    let scene = Scene::new("disc-s3");
    scene.run(
        "lake",
        &[
            "--label",
            "lakewatch.s3.enable=true",
            "--label",
            "lakewatch.s3.probe_bucket=canary",
            "--label",
            "com.docker.compose.project=lakehouse",
        ],
        &forward_to_host(moto.port, 9000),
    );
    // Port 8081: the default (8080) has nothing listening, so trino_up 1 shows the label
    // was read.
    scene.run(
        "coord",
        &[
            "--label",
            "lakewatch.trino.enable=true",
            "--label",
            "lakewatch.trino.port=8081",
        ],
        &forward_to_host(trino.addr.port(), 8081),
    );
    let (lake, coord) = (scene.name("lake"), scene.name("coord"));
    until(&exp, "the S3 container's s3_up and probe", |m| {
        let labels = [
            ("target", lake.as_str()),
            ("name", lake.as_str()),
            ("container_label_com_docker_compose_project", "lakehouse"),
        ];
        value(m, "s3_up", &labels) == Some(1.0)
            && value(m, "lakewatch_s3_probe_success", &labels) == Some(1.0)
            && value(
                m,
                "minio_bucket_usage_object_total",
                &[("bucket", "canary"), ("name", lake.as_str())],
            ) == Some(1.0)
    });
    let m = exp.metrics();
    assert!(!m.contains(&coord), "trino discovers nothing yet\n{m}");
    assert_eq!(
        value(
            &m,
            "lakewatch_discovery_targets",
            &[("collector", "s3"), ("source", "docker")]
        ),
        Some(1.0)
    );

    // A reload turns Trino's discovery on: its container becomes a target.
    std::fs::write(&config, format!("{base}{s3}{trino_block}")).unwrap();
    let r = http(exp.addr, "POST", "/-/reload", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    until(&exp, "the Trino container's trino_up", |m| {
        value(m, "trino_up", &[("target", &coord), ("name", &coord)]) == Some(1.0)
    });
    let page = exp.get("/").text();
    assert!(
        page.contains(&format!("<tr><td>trino</td><td>{coord}</td>"))
            && page.contains(&format!("<td>docker container {coord}</td></tr>")),
        "{page}"
    );

    // A reload turns S3's discovery off: its target stops, Trino's keeps running.
    std::fs::write(&config, format!("{base}{trino_block}")).unwrap();
    let r = http(exp.addr, "POST", "/-/reload", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().contains(&format!("stopped: s3/{lake};")),
        "{}",
        r.text()
    );
    until(&exp, "the S3 container's series gone", |m| {
        !m.contains(&lake)
            && value(m, "trino_up", &[("target", &coord)]) == Some(1.0)
            && value(
                m,
                "lakewatch_discovery_targets",
                &[("collector", "s3"), ("source", "docker")],
            )
            .is_none()
    });
}
