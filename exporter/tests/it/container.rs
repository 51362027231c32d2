//! The container collector against real containers on the machine's Docker engine.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::docker::{self, Forwarder, LABEL, Scene, api_stats, inspect};
use crate::support::{
    Exporter, Sample, TempDir, config_file, eventually, eventually_with, parse_exposition,
    sample_value,
};

/// A CPU-bound loop without forks (about a CPU-second here), then idle: the shell execs
/// `sleep`, which uses no CPU, so from then on the container's CPU counter stands still.
const BURST: &str = "i=0; while [ $i -lt 1000000 ]; do i=$((i+1)); done; exec sleep 3600";

/// Waits until a container's burst is over: its one process is the `sleep` its shell
/// exec'd.
fn wait_idle(id: &str) {
    // Docker needs the pid column to map ps' output to the container.
    let processes = || docker::docker(&["top", id, "-o", "pid,comm"]);
    eventually_with(
        Duration::from_secs(60),
        "the burst to end (its shell to exec sleep)",
        || {
            format!(
                "processes {:?}; state {}; stats {}",
                processes(),
                docker::inspect(id, "{{.State.Status}} {{.State.ExitCode}}"),
                api_stats(id)
            )
        },
        || {
            let commands: Vec<String> = processes()
                .lines()
                .skip(1)
                .filter_map(|l| l.split_whitespace().last().map(str::to_string))
                .collect();
            (commands == ["sleep"]).then_some(())
        },
    );
}

/// Docker's CPU counter of a container, in seconds, converted as the exporter does.
fn docker_cpu(id: &str) -> f64 {
    let ns = api_stats(id)["cpu_stats"]["cpu_usage"]["total_usage"]
        .as_u64()
        .expect("total_usage in Docker's stats");
    ns as f64 / 1e9
}

/// A config that watches only this scene's containers, every second.
fn scene_config(dir: &TempDir, scene: &Scene, extra: &str) -> String {
    config_file(
        dir,
        &format!(
            "collectors:\n  container:\n    enabled: true\n    interval: 1s\n    timeout: 1s\n    labels_include: ['{LABEL}={}']\n    label_allowlist: [com.docker.compose.project, {LABEL}]\n{extra}",
            scene.id
        ),
    )
}

fn samples(exp: &Exporter) -> Vec<Sample> {
    parse_exposition(&exp.metrics()).0
}

fn value(samples: &[Sample], name: &str, container: &str, extra: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels.get("name").map(String::as_str) == Some(container)
                && extra
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

fn within(a: f64, b: f64, rel: f64, what: &str) {
    let tolerance = rel * a.abs().max(b.abs());
    assert!(
        (a - b).abs() <= tolerance,
        "{what}: exporter {a} vs docker {b} differ by more than {}%",
        rel * 100.0
    );
}

#[test]
fn metrics_agree_with_docker() {
    if !docker::ready() {
        return;
    }
    let scene = Scene::new("agree");
    // Burns about a CPU-second, then idles: its CPU counter is stable when compared.
    let burst = scene.run(
        "burst",
        &[
            "--label",
            "com.docker.compose.project=lake",
            "--label",
            "secret.token=hunter2",
        ],
        BURST,
    );
    // Burns CPU forever under a 0.1 CPU quota: throttled, and its counter moves. The quota
    // is small so that it is hit even when a loaded machine gives the burner only a
    // fraction of a core (a 0.5 quota was never reached at a load average of 12).
    let burner = scene.run("burner", &["--cpus", "0.1"], "while :; do :; done");
    // Holds 32 MB in /dev/shm (page cache of a tmpfs, counted by its memory cgroup).
    let mem = scene.run(
        "mem",
        &[],
        "head -c 33554432 /dev/zero > /dev/shm/fill; exec sleep 3600",
    );
    let sick = scene.run(
        "sick",
        &[
            "--health-cmd",
            "false",
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
        ],
        "exec sleep 3600",
    );
    let flaky = scene.run("flaky", &["--restart", "on-failure:2"], "sleep 0.3; exit 3");
    // dd's 64 MB buffer cannot fit under a 16 MB limit without swap.
    let oom = scene.run(
        "oom",
        &["--memory", "16m", "--memory-swap", "16m"],
        "dd if=/dev/zero of=/dev/null bs=64M count=1",
    );

    let states = || {
        [
            inspect(&flaky, "{{.State.Status}} {{.RestartCount}}"),
            inspect(&oom, "{{.State.Status}} {{.State.OOMKilled}}"),
            inspect(&sick, "{{.State.Health.Status}}"),
        ]
    };
    // A test timeout, not a speed requirement: a busy dockerd (parallel Docker tests on
    // two cores) can take a while to run the restarts and health checks.
    eventually_with(
        Duration::from_secs(180),
        "the scene to settle (flaky: exited 2, oom: exited true, sick: unhealthy)",
        || format!("last seen: {:?}", states()),
        || (states() == ["exited 2", "exited true", "unhealthy"]).then_some(()),
    );
    wait_idle(&burst);

    let dir = TempDir::new("container-agree");
    let cfg = scene_config(&dir, &scene, "");
    let exp = Exporter::start(&["--config", &cfg]);
    exp.wait_ready(Duration::from_secs(20));
    // A cycle that ran while a container was still starting has no stats for it yet.
    let s = eventually_with(
        Duration::from_secs(30),
        "usage of the burst, mem and burner containers",
        || exp.metrics(),
        || {
            let s = samples(&exp);
            ["burst", "mem", "burner"]
                .iter()
                .all(|c| {
                    value(&s, "container_cpu_usage_seconds_total", &scene.name(c), &[]).is_some()
                })
                .then_some(s)
        },
    );
    let text = exp.metrics();

    // The burst is over: its counter stands still, and ours is Docker's to the nanosecond.
    let cpu = value(
        &s,
        "container_cpu_usage_seconds_total",
        &scene.name("burst"),
        &[("cpu", "total")],
    )
    .expect("burst CPU");
    assert_eq!(
        cpu,
        docker_cpu(&burst),
        "CPU seconds of the burst container"
    );
    // Memory against the stats API at (nearly) the same moment.
    let api = api_stats(&mem);
    let docker_mem = api["memory_stats"]["usage"].as_f64().unwrap();
    let usage =
        value(&s, "container_memory_usage_bytes", &scene.name("mem"), &[]).expect("mem usage");
    within(usage, docker_mem, 0.05, "memory usage of the mem container");
    assert!(usage > 30e6, "32 MB held: {usage}");
    let ws = value(
        &s,
        "container_memory_working_set_bytes",
        &scene.name("mem"),
        &[],
    )
    .unwrap();
    assert!(ws <= usage && ws > 30e6, "working set {ws}");

    // The throttled burner: quota from its spec, throttling, and a moving counter.
    assert_eq!(
        value(&s, "container_spec_cpu_quota", &scene.name("burner"), &[]),
        Some(10_000.0)
    );
    assert_eq!(
        value(&s, "container_spec_cpu_period", &scene.name("burner"), &[]),
        Some(100_000.0)
    );
    let burner_cpu = |s: &[Sample]| {
        value(
            s,
            "container_cpu_usage_seconds_total",
            &scene.name("burner"),
            &[("cpu", "total")],
        )
    };
    let cpu1 = burner_cpu(&s).expect("burner CPU");
    // The burner's counter moves: ours reaches what Docker read after our first look, and
    // is never ahead of what Docker reads after our second. (Freezing the burner to
    // compare a still counter fails: runc cannot always freeze a throttled cgroup.)
    let before = docker_cpu(&burner);
    let (s2, cpu2) = eventually_with(
        Duration::from_secs(30),
        "our CPU counter of the burner to reach Docker's earlier reading",
        || format!("Docker read {before} s\n{}", exp.metrics()),
        || {
            let s2 = samples(&exp);
            let cpu2 = burner_cpu(&s2)?;
            (cpu2 >= before).then_some((s2, cpu2))
        },
    );
    let stats = api_stats(&burner);
    let after = docker_cpu(&burner);
    assert!(
        cpu2 > cpu1,
        "the burner's CPU counter moves: {cpu1} → {cpu2}"
    );
    assert!(
        cpu2 <= after,
        "ours ({cpu2} s) is never ahead of Docker's later reading ({after} s)"
    );
    // CFS allows the burner at most its 10 ms quota in each 100 ms period it was
    // runnable, plus what it overran the last one by (a tick at most, carried as debt)
    // and the period in progress.
    let periods = stats["cpu_stats"]["throttling_data"]["periods"]
        .as_f64()
        .expect("CFS periods in Docker's stats");
    assert!(
        cpu2 <= (periods + 2.0) * 0.010,
        "the burner stays within its quota: {cpu2} s of CPU in {periods} periods of 100 ms"
    );
    assert!(
        value(
            &s2,
            "container_cpu_cfs_throttled_seconds_total",
            &scene.name("burner"),
            &[]
        )
        .unwrap()
            > 0.0
    );
    // The kernel's CFS counters: periods elapse and the burner is throttled in them.
    let burner_value = |s: &[Sample], name: &str| {
        value(s, name, &scene.name("burner"), &[]).unwrap_or_else(|| panic!("{name} of the burner"))
    };
    let periods = |s: &[Sample]| burner_value(s, "container_cpu_cfs_periods_total");
    let throttled = |s: &[Sample]| burner_value(s, "container_cpu_cfs_throttled_periods_total");
    assert!(
        periods(&s2) > periods(&s) && throttled(&s2) > throttled(&s),
        "CFS periods {} → {}, throttled {} → {}",
        periods(&s),
        periods(&s2),
        throttled(&s),
        throttled(&s2)
    );
    assert!(throttled(&s2) <= periods(&s2));
    // cAdvisor reports CFS series only for containers with a quota.
    assert_eq!(
        value(
            &s,
            "container_cpu_cfs_periods_total",
            &scene.name("burst"),
            &[]
        ),
        None
    );
    let api = api_stats(&burner);
    within(
        value(&s2, "container_processes", &scene.name("burner"), &[]).unwrap(),
        api["pids_stats"]["current"].as_f64().unwrap(),
        0.0,
        "processes",
    );

    // Docker facts match docker inspect.
    assert_eq!(
        value(
            &s,
            "lakewatch_container_restarts_total",
            &scene.name("flaky"),
            &[]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &s,
            "lakewatch_container_exit_code",
            &scene.name("flaky"),
            &[]
        ),
        Some(3.0)
    );
    assert_eq!(
        value(
            &s,
            "lakewatch_container_state",
            &scene.name("flaky"),
            &[("state", "exited")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &s,
            "lakewatch_container_state",
            &scene.name("flaky"),
            &[("state", "running")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &s,
            "lakewatch_container_health_status",
            &scene.name("sick"),
            &[("status", "unhealthy")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &s,
            "lakewatch_container_health_status",
            &scene.name("burst"),
            &[("status", "none")]
        ),
        Some(1.0)
    );
    assert!(value(&s, "container_oom_events_total", &scene.name("oom"), &[]).unwrap() >= 1.0);
    assert_eq!(
        value(&s, "lakewatch_container_exit_code", &scene.name("oom"), &[]),
        Some(137.0)
    );
    assert_eq!(
        value(&s, "container_oom_events_total", &scene.name("mem"), &[]),
        Some(0.0)
    );
    // Usage series exist only while the container runs, as in cAdvisor.
    assert_eq!(
        value(&s, "container_memory_usage_bytes", &scene.name("oom"), &[]),
        None
    );

    // cAdvisor's labels.
    let info = s
        .iter()
        .find(|x| x.name == "lakewatch_container_info" && x.labels["name"] == scene.name("burst"))
        .expect("info of burst");
    assert_eq!(info.labels["id"], format!("/docker/{burst}"));
    assert_eq!(info.labels["image"], docker::IMAGE);
    assert_eq!(
        info.labels["container_label_com_docker_compose_project"],
        "lake"
    );
    assert_eq!(info.labels["container_label_lakewatch_test"], scene.id);
    assert!(
        !text.contains("hunter2"),
        "a label outside the allow-list leaked"
    );
    let up = s
        .iter()
        .find(|x| x.name == "lakewatch_collector_up" && x.labels["collector"] == "container")
        .unwrap();
    assert_eq!(up.value, 1.0);
}

#[test]
fn cgroup_and_api_paths_agree() {
    if !docker::ready() {
        return;
    }
    let scene = Scene::new("paths");
    // A quota, so that both paths report CFS periods (which stop with the burst).
    let burst = scene.run("burst", &["--cpus", "1"], BURST);
    scene.run(
        "mem",
        &[],
        "head -c 16777216 /dev/zero > /dev/shm/fill; exec sleep 3600",
    );
    wait_idle(&burst);
    let dir_c = TempDir::new("paths-cgroup");
    let dir_a = TempDir::new("paths-api");
    let cg = Exporter::start(&[
        "--config",
        &scene_config(&dir_c, &scene, "    stats_source: cgroup\n"),
    ]);
    let api = Exporter::start(&[
        "--config",
        &scene_config(&dir_a, &scene, "    stats_source: api\n"),
    ]);
    cg.wait_ready(Duration::from_secs(20));
    api.wait_ready(Duration::from_secs(20));
    // Both paths must have read usage for both containers before comparing: a cycle
    // that ran while a container was still starting has no stats for it yet.
    let has_both = |exp: &Exporter| {
        let s = samples(exp);
        [scene.name("burst"), scene.name("mem")]
            .iter()
            .all(|c| value(&s, "container_cpu_usage_seconds_total", c.as_str(), &[]).is_some())
    };
    eventually(
        Duration::from_secs(30),
        "usage of both containers on both paths",
        || (has_both(&cg) && has_both(&api)).then_some(()),
    );
    let compared = [
        "container_cpu_usage_seconds_total",
        "container_cpu_user_seconds_total",
        "container_cpu_system_seconds_total",
        "container_memory_usage_bytes",
        "container_memory_working_set_bytes",
        "container_memory_rss",
        "container_memory_cache",
        "container_processes",
        "container_network_receive_bytes_total",
        "container_network_transmit_packets_total",
        "container_cpu_cfs_periods_total",
        "container_cpu_cfs_throttled_periods_total",
        "container_network_receive_errors_total",
        "container_network_transmit_errors_total",
        "container_network_receive_packets_dropped_total",
        "container_network_transmit_packets_dropped_total",
        "container_spec_memory_limit_bytes",
    ];
    // Every series the cgroup path has, the API path has too, with the same value. The two
    // exporters read at different moments, so counters that still move (the burst's `sleep`
    // accrues a CFS period or two as it starts) are compared until two reads agree; a path
    // that reads a different quantity never does.
    let disagreements = |from_cg: &[Sample], from_api: &[Sample]| -> (Vec<String>, usize) {
        let mut bad = Vec::new();
        let mut n = 0;
        for name in compared {
            let of_name: Vec<&Sample> = from_cg.iter().filter(|s| s.name == name).collect();
            if of_name.is_empty() {
                bad.push(format!("no {name} on the cgroup path"));
            }
            for a in of_name {
                let Some(b) = from_api
                    .iter()
                    .find(|b| b.name == name && b.labels == a.labels)
                else {
                    bad.push(format!("{name}{:?}: not on the API path", a.labels));
                    continue;
                };
                // Idle containers' memory moves by a few pages between two reads, and their
                // interfaces still see the odd packet (IPv6 router solicitations and the like).
                let slack = if name.contains("memory") {
                    256.0 * 1024.0
                } else if name.contains("network") {
                    if name.ends_with("bytes_total") {
                        1024.0
                    } else {
                        8.0
                    }
                } else {
                    0.0
                };
                let tolerance = 0.05 * a.value.max(b.value) + slack;
                if (a.value - b.value).abs() > tolerance {
                    bad.push(format!(
                        "{name}{:?}: cgroup {} vs api {}",
                        a.labels, a.value, b.value
                    ));
                }
                n += 1;
            }
        }
        (bad, n)
    };
    let n = eventually_with(
        Duration::from_secs(30),
        "the API path to agree with the cgroup path on every series",
        || format!("{:#?}", disagreements(&samples(&cg), &samples(&api)).0),
        || {
            let (bad, n) = disagreements(&samples(&cg), &samples(&api));
            bad.is_empty().then_some(n)
        },
    );
    // Both containers have every series but the CFS ones (only the burst has a quota).
    assert!(n >= 2 * compared.len() - 2, "compared {n} series");
}

#[test]
fn containers_come_and_go() {
    if !docker::ready() {
        return;
    }
    let scene = Scene::new("churn");
    let dir = TempDir::new("container-churn");
    let exp = Exporter::start(&["--config", &scene_config(&dir, &scene, "")]);
    exp.wait_ready(Duration::from_secs(20));
    let name = scene.name("late");
    assert_eq!(
        value(&samples(&exp), "lakewatch_container_info", &name, &[]),
        None
    );
    let id = scene.run("late", &[], "exec sleep 3600");
    eventually(
        Duration::from_secs(10),
        "the new container to appear",
        || value(&samples(&exp), "container_memory_usage_bytes", &name, &[]),
    );
    docker::docker(&["rm", "-f", &id]);
    eventually(
        Duration::from_secs(10),
        "the removed container to disappear",
        || (!exp.metrics().contains(&name)).then_some(()),
    );
}

#[test]
fn unreachable_docker_reports_down() {
    let dir = TempDir::new("container-dead");
    let cfg = config_file(
        &dir,
        "collectors:\n  container:\n    enabled: true\n    interval: 1s\n    timeout: 1s\n",
    );
    let dead = format!("unix://{}/docker.sock", dir.0.display());
    let exp = Exporter::start_with_env(&["--config", &cfg], &[("DOCKER_HOST", &dead)]);
    exp.wait_ready(Duration::from_secs(20));
    let s = samples(&exp);
    let up = |c: &str| {
        s.iter()
            .find(|x| x.name == "lakewatch_collector_up" && x.labels["collector"] == c)
            .map(|x| x.value)
    };
    assert_eq!(up("container"), Some(0.0));
    assert_eq!(up("disk"), Some(1.0), "everything else still serves");
    assert!(s.iter().any(|x| x.name == "node_filesystem_size_bytes"));
    assert!(!s.iter().any(|x| x.name.starts_with("container_")));
    assert!(
        exp.log_text()
            .contains("cannot reach the Docker daemon at unix://"),
        "{}",
        exp.log_text()
    );

    // enabled: auto with no daemon: the collector is simply not started.
    let cfg = config_file(&dir, "collectors:\n  container:\n    enabled: auto\n");
    let exp = Exporter::start_with_env(&["--config", &cfg], &[("DOCKER_HOST", &dead)]);
    exp.wait_ready(Duration::from_secs(20));
    let text = exp.metrics();
    assert!(!text.contains("collector=\"container\""), "{text}");
    assert!(exp.log_text().contains("container collector not started"));
}

/// `lakewatch_collector_up{collector="container"}`.
fn container_up(s: &[Sample]) -> Option<f64> {
    sample_value(s, "lakewatch_collector_up", &[("collector", "container")])
}

/// Names of the containers that have a `lakewatch_container_info` series.
fn exported(s: &[Sample]) -> BTreeSet<String> {
    s.iter()
        .filter(|x| x.name == "lakewatch_container_info")
        .map(|x| x.labels["name"].clone())
        .collect()
}

/// More containers than `max_containers`: exactly the cap is exported, running ones
/// first, and the rest are counted in `lakewatch_containers_dropped` with a warning.
#[test]
fn max_containers_caps_what_is_exported() {
    if !docker::ready() {
        return;
    }
    let scene = Scene::new("cap");
    // Sorts first by name, but exited: the cap keeps running containers first.
    let done = scene.run("a-done", &[], "exit 0");
    scene.run("b-run", &[], "exec sleep 3600");
    scene.run("c-run", &[], "exec sleep 3600");
    eventually(Duration::from_secs(30), "a-done to exit", || {
        (inspect(&done, "{{.State.Status}}") == "exited").then_some(())
    });
    let dir = TempDir::new("container-cap");
    let cfg = scene_config(&dir, &scene, "    max_containers: 2\n");
    let exp = Exporter::start(&["--config", &cfg]);
    exp.wait_ready(Duration::from_secs(20));
    let s = samples(&exp);
    assert_eq!(container_up(&s), Some(1.0), "{}", exp.log_text());
    assert_eq!(
        exported(&s),
        BTreeSet::from([scene.name("b-run"), scene.name("c-run")])
    );
    assert!(
        !s.iter()
            .any(|x| x.labels.get("name") == Some(&scene.name("a-done"))),
        "no series at all for the container over the cap"
    );
    assert_eq!(
        sample_value(&s, "lakewatch_containers_dropped", &[]),
        Some(1.0)
    );
    let log = exp.log_text();
    assert!(
        log.contains("more containers than max_containers")
            && log.contains("dropped=1")
            && log.contains("max_containers=2"),
        "{log}"
    );
}

/// The events stream breaks (every connection to the daemon is dropped) and comes
/// back: the collector reports down while the daemon is gone, opens a new stream when
/// it returns, and containers started or removed afterwards show up without restarting
/// the exporter.
#[test]
fn events_stream_reconnects_after_the_daemon_connection_drops() {
    if !docker::ready() {
        return;
    }
    let scene = Scene::new("reconnect");
    let before = scene.run("before", &[], "exec sleep 3600");
    let mut fwd = Forwarder::plain();
    let dir = TempDir::new("container-reconnect");
    let cfg = scene_config(&dir, &scene, "");
    let exp = Exporter::start_with_env(&["--config", &cfg], &[("DOCKER_HOST", &fwd.host())]);
    exp.wait_ready(Duration::from_secs(20));
    let events = |f: &Forwarder| {
        f.requests()
            .iter()
            .filter(|r| r.contains("/events"))
            .count()
    };
    eventually(
        Duration::from_secs(20),
        "the first container and the events stream",
        || {
            (exported(&samples(&exp)).contains(&scene.name("before")) && events(&fwd) == 1)
                .then_some(())
        },
    );

    fwd.stop();
    eventually(
        Duration::from_secs(20),
        "the collector to report down and try to reconnect",
        || {
            let reconnecting = exp
                .log_text()
                .contains(&format!("cannot reach the Docker daemon at {}", fwd.host()));
            (container_up(&samples(&exp)) == Some(0.0) && reconnecting).then_some(())
        },
    );
    fwd.start();
    eventually(Duration::from_secs(20), "a new events stream", || {
        (events(&fwd) == 2 && container_up(&samples(&exp)) == Some(1.0)).then_some(())
    });

    // From here on only the new stream tells the collector what changed (its next full
    // listing is minutes away).
    docker::docker(&["rm", "-f", &before]);
    scene.run("after", &[], "exec sleep 3600");
    eventually(Duration::from_secs(20), "after in, before out", || {
        (exported(&samples(&exp)) == BTreeSet::from([scene.name("after")])).then_some(())
    });
}

/// Docker over TLS like `docker -H tcp://...:2376 --tlsverify`: a TLS-terminating proxy
/// in front of the real daemon that requires a client certificate signed by the test
/// CA. `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH` (or a `tls:` block) with the client
/// certificate → container metrics; without one → the collector is down with a `tls`
/// error and a clear log line, and the disk metrics are still served.
#[test]
fn docker_over_tls_requires_the_client_certificate() {
    if !docker::ready() || !crate::support::tls_tools() {
        return;
    }
    let scene = Scene::new("tls");
    scene.run("svc", &[], "exec sleep 3600");
    let pki = TempDir::new("docker-tls-pki");
    crate::support::pki(&pki.0);
    let cert_dir = |tag: &str, files: &[(&str, &str)]| {
        let d = TempDir::new(tag);
        for (from, to) in files {
            std::fs::copy(pki.0.join(from), d.0.join(to)).expect("copying test certificates");
        }
        d
    };
    let full = cert_dir(
        "docker-certs",
        &[
            ("ca.crt", "ca.pem"),
            ("client.crt", "cert.pem"),
            ("client.key", "key.pem"),
        ],
    );
    let ca_only = cert_dir("docker-certs-ca", &[("ca.crt", "ca.pem")]);
    let proxy = Forwarder::tls(crate::support::tls_server_config(&pki.0, "server1", true));
    let path = |d: &TempDir| d.0.display().to_string();

    let dir = TempDir::new("container-tls");
    let env_cfg = scene_config(&dir, &scene, "");
    let tls_env = |certs: &TempDir| {
        vec![
            ("DOCKER_HOST".to_string(), proxy.host()),
            ("DOCKER_TLS_VERIFY".to_string(), "1".to_string()),
            ("DOCKER_CERT_PATH".to_string(), path(certs)),
        ]
    };
    let start = |cfg: &str, env: &[(String, String)]| {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Exporter::start_with_env(&["--config", cfg], &env)
    };
    let by_env = start(&env_cfg, &tls_env(&full));
    let block_dir = TempDir::new("container-tls-block");
    let block_cfg = scene_config(
        &block_dir,
        &scene,
        &format!(
            "    docker_host: {}\n    tls:\n      ca_file: {}/ca.crt\n      cert_file: {}/client.crt\n      key_file: {}/client.key\n",
            proxy.host(),
            path(&pki),
            path(&pki),
            path(&pki)
        ),
    );
    let by_block = start(&block_cfg, &[]);
    let no_cert = start(&env_cfg, &tls_env(&ca_only));
    // enabled: auto probes /_ping over TLS at start-up.
    let auto_dir = TempDir::new("container-tls-auto");
    let auto_cfg = config_file(
        &auto_dir,
        &std::fs::read_to_string(&env_cfg)
            .unwrap()
            .replace("enabled: true", "enabled: auto"),
    );
    let auto = start(&auto_cfg, &tls_env(&full));
    let auto_no_cert = start(&auto_cfg, &tls_env(&ca_only));

    let svc = scene.name("svc");
    for exp in [&by_env, &by_block, &auto] {
        eventually(Duration::from_secs(20), "the container over TLS", || {
            let s = samples(exp);
            value(&s, "container_memory_usage_bytes", &svc, &[]).map(|_| s)
        });
        assert_eq!(container_up(&samples(exp)), Some(1.0));
        assert!(
            exp.log_text().contains("connected to the Docker daemon"),
            "{}",
            exp.log_text()
        );
    }
    assert!(
        by_env
            .log_text()
            .contains(&format!("DOCKER_CERT_PATH={}", path(&full))),
        "the log says where TLS settings came from: {}",
        by_env.log_text()
    );
    assert!(
        proxy
            .requests()
            .iter()
            .any(|r| r.starts_with("GET /containers/json")),
        "the listing went through the TLS proxy: {:?}",
        proxy.requests()
    );

    no_cert.wait_ready(Duration::from_secs(20));
    let s = samples(&no_cert);
    assert_eq!(container_up(&s), Some(0.0));
    assert!(
        sample_value(
            &s,
            "lakewatch_collector_errors_total",
            &[("collector", "container"), ("kind", "tls")]
        )
        .is_some_and(|n| n >= 1.0),
        "a tls error is counted"
    );
    assert!(!s.iter().any(|x| x.name.starts_with("container_")));
    assert_eq!(
        sample_value(&s, "lakewatch_collector_up", &[("collector", "disk")]),
        Some(1.0)
    );
    assert!(s.iter().any(|x| x.name == "node_filesystem_size_bytes"));
    let log = no_cert.log_text();
    assert!(
        log.contains(&format!(
            "cannot reach the Docker daemon at {}",
            proxy.host()
        )) && log.contains("CertificateRequired")
            && log.contains("no client certificate"),
        "{log}"
    );

    auto_no_cert.wait_ready(Duration::from_secs(20));
    let log = auto_no_cert.log_text();
    assert!(
        log.contains("container collector not started") && log.contains("CertificateRequired"),
        "{log}"
    );
    assert!(!auto_no_cert.metrics().contains("collector=\"container\""));
}

/// A config for the stats-API path only, through `fwd`, every two seconds (a first read
/// waits up to a second on dockerd's sampling tick).
fn api_config(dir: &TempDir, scene: &Scene, fwd: &Forwarder, extra: &str) -> String {
    config_file(
        dir,
        &format!(
            "collectors:\n  container:\n    enabled: true\n    interval: 2s\n    timeout: 2s\n    docker_host: {}\n    stats_source: api\n    labels_include: ['{LABEL}={}']\n{extra}",
            fwd.host(),
            scene.id
        ),
    )
}

/// `container_cpu_usage_seconds_total` of one container.
fn cpu_of(s: &[Sample], name: &str) -> Option<f64> {
    value(
        s,
        "container_cpu_usage_seconds_total",
        name,
        &[("cpu", "total")],
    )
}

/// Whether every one of the scene's containers `names` has usage in `s`.
fn all_have_usage(s: &[Sample], scene: &Scene, names: &[String]) -> bool {
    names.iter().all(|n| cpu_of(s, &scene.name(n)).is_some())
}

/// How many stats calls went through `fwd`.
fn stats_calls(fwd: &Forwarder) -> usize {
    fwd.requests()
        .iter()
        .filter(|r| r.contains("/stats"))
        .count()
}

/// The API path reads ahead of the cycle and follows containers as they start and
/// stop: each new container gets usage, a removed one's series go, and once they are
/// all gone no stats call is open and the exporter holds no more file descriptors than
/// before the first one started (no leaked call, connection or task).
#[test]
fn api_path_follows_containers_that_start_and_stop() {
    if !docker::ready() {
        return;
    }
    let scene = Scene::new("api-churn");
    let fwd = Forwarder::plain();
    let dir = TempDir::new("container-api-churn");
    let exp = Exporter::start(&["--config", &api_config(&dir, &scene, &fwd, "")]);
    exp.wait_ready(Duration::from_secs(20));
    let context = || {
        format!(
            "open stats calls {}, events {}, fds {}\n{}",
            fwd.open("/stats"),
            fwd.open("/events"),
            exp.open_fds(),
            exp.log_text()
        )
    };
    eventually_with(
        Duration::from_secs(20),
        "the events stream and no stats call",
        context,
        || (fwd.open("/events") == 1 && fwd.open("/stats") == 0).then_some(()),
    );
    let baseline = exp.open_fds();
    for round in 0..2 {
        let names: Vec<String> = (0..3).map(|i| format!("r{round}-{i}")).collect();
        let ids: Vec<String> = names
            .iter()
            .map(|n| scene.run(n, &[], "exec sleep 3600"))
            .collect();
        eventually_with(
            Duration::from_secs(30),
            "usage of every new container",
            || exp.metrics(),
            || all_have_usage(&samples(&exp), &scene, &names).then_some(()),
        );
        // The background reads keep them: several cycles later they still have usage.
        let reads = stats_calls(&fwd);
        eventually(Duration::from_secs(30), "background reads", || {
            (stats_calls(&fwd) >= reads + 2 * ids.len()).then_some(())
        });
        assert!(
            all_have_usage(&samples(&exp), &scene, &names),
            "usage lost: {}",
            exp.metrics()
        );
        let mut args = vec!["rm", "-f"];
        args.extend(ids.iter().map(String::as_str));
        docker::docker(&args);
        eventually(
            Duration::from_secs(20),
            "the removed containers to disappear",
            || {
                let text = exp.metrics();
                names
                    .iter()
                    .all(|n| !text.contains(&scene.name(n)))
                    .then_some(())
            },
        );
    }
    eventually_with(
        Duration::from_secs(30),
        "no stats call open and no more descriptors than before",
        context,
        || {
            (fwd.open("/stats") == 0 && fwd.open("/events") == 1 && exp.open_fds() <= baseline)
                .then_some(())
        },
    );
    assert_eq!(container_up(&samples(&exp)), Some(1.0));
}

/// More running containers than `stats_concurrency`: every one is exported with usage
/// that keeps moving, and no more calls than the bound were ever open at once.
#[test]
fn api_path_bound_holds() {
    if !docker::ready() {
        return;
    }
    let scene = Scene::new("api-bound");
    // Burns a little CPU forever: its counter moves only if it is read again.
    scene.run("burner", &["--cpus", "0.05"], "while :; do :; done");
    let names: Vec<String> = std::iter::once("burner".to_string())
        .chain((0..4).map(|i| format!("idle{i}")))
        .collect();
    for n in &names[1..] {
        scene.run(n, &[], "exec sleep 3600");
    }
    let fwd = Forwarder::plain();
    let dir = TempDir::new("container-api-bound");
    let cfg = api_config(&dir, &scene, &fwd, "    stats_concurrency: 2\n");
    let exp = Exporter::start(&["--config", &cfg]);
    exp.wait_ready(Duration::from_secs(20));
    let first = eventually_with(
        Duration::from_secs(30),
        "usage of all five containers",
        || exp.metrics(),
        || {
            let s = samples(&exp);
            all_have_usage(&s, &scene, &names)
                .then(|| cpu_of(&s, &scene.name("burner")))
                .flatten()
        },
    );
    eventually_with(
        Duration::from_secs(30),
        "the burner's counter to move",
        || exp.metrics(),
        || {
            let s = samples(&exp);
            (all_have_usage(&s, &scene, &names) && cpu_of(&s, &scene.name("burner"))? > first)
                .then_some(())
        },
    );
    let calls = stats_calls(&fwd);
    assert!(calls >= 2 * names.len(), "{calls} stats calls");
    let peak = fwd.peak_open("/stats");
    assert!(
        (1..=2).contains(&peak),
        "at most stats_concurrency (2) calls open at once, saw {peak}"
    );
    assert_eq!(
        sample_value(&samples(&exp), "lakewatch_containers_dropped", &[]),
        Some(0.0)
    );
}

/// Every connection to the daemon drops (as when dockerd restarts) while the API path
/// is in use: the collector reports down, and once the daemon is back its usage is read
/// afresh (the counter moves past what it was before the drop).
#[test]
fn api_path_recovers_after_the_daemon_connection_drops() {
    if !docker::ready() {
        return;
    }
    let scene = Scene::new("api-drop");
    scene.run("burner", &["--cpus", "0.05"], "while :; do :; done");
    let burner = scene.name("burner");
    let mut fwd = Forwarder::plain();
    let dir = TempDir::new("container-api-drop");
    let exp = Exporter::start(&["--config", &api_config(&dir, &scene, &fwd, "")]);
    exp.wait_ready(Duration::from_secs(20));
    let before = eventually_with(
        Duration::from_secs(30),
        "the burner's usage",
        || exp.metrics(),
        || cpu_of(&samples(&exp), &burner),
    );
    fwd.stop();
    eventually_with(
        Duration::from_secs(20),
        "the collector to report down",
        || exp.log_text(),
        || (container_up(&samples(&exp)) == Some(0.0)).then_some(()),
    );
    assert_eq!(
        cpu_of(&samples(&exp), &burner),
        None,
        "no usage while the daemon is away"
    );
    let calls = fwd.requests().len();
    fwd.start();
    eventually_with(
        Duration::from_secs(30),
        "fresh usage after the daemon came back",
        || format!("{}\n{}", exp.metrics(), exp.log_text()),
        || {
            let s = samples(&exp);
            (container_up(&s) == Some(1.0) && cpu_of(&s, &burner)? > before).then_some(())
        },
    );
    assert!(
        fwd.requests()[calls..].iter().any(|r| r.contains("/stats")),
        "stats read again through the new connection"
    );
}
