//! Sloth's way in: its own example specs (multi-document files and the Kubernetes
//! resource included, under `tests/fixtures/sloth-examples/`), directories as input with
//! `--fs-exclude`/`--fs-include`, `-o -`, and Sloth's generate flags.

use std::path::Path;

use crate::support::{Scratch, files_under, fixture, promtool, promtool_ok, rulegen};

fn ok(args: &[&str]) -> String {
    let o = rulegen(args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn example(name: &str) -> String {
    format!("tests/fixtures/sloth-examples/{name}")
}

fn file_names(dir: &Path) -> Vec<String> {
    files_under(dir)
        .iter()
        .map(|f| f.strip_prefix(dir).unwrap().display().to_string())
        .collect()
}

#[test]
fn every_sloth_example_generates_and_passes_promtool() {
    let examples: Vec<_> = files_under(&fixture("sloth-examples"))
        .into_iter()
        .filter(|f| {
            f.extension().is_some_and(|e| e == "yml")
                && !f.starts_with(fixture("sloth-examples/_gen"))
        })
        .collect();
    assert!(examples.len() >= 9, "{examples:?}");
    for spec in &examples {
        let scratch = Scratch::new(&format!(
            "sloth-example-{}",
            spec.file_stem().unwrap().to_string_lossy()
        ));
        ok(&[
            "generate",
            spec.to_str().unwrap(),
            "-o",
            scratch.path().to_str().unwrap(),
        ]);
        let files = file_names(scratch.path());
        assert!(!files.is_empty(), "{}", spec.display());
        if let Some(promtool) = promtool() {
            for f in &files {
                promtool_ok(&promtool, scratch.path(), &["check", "rules", f]);
            }
        }
    }
}

#[test]
fn a_multi_document_file_gives_one_service_per_document() {
    for name in ["multifile.yml", "k8s-multifile.yml"] {
        let out = ok(&["validate", &example(name)]);
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            [
                format!(
                    "ok: {} (service myservice: 1 SLOs, 0 alerts)",
                    example(name)
                ),
                format!(
                    "ok: {} (service myservice2: 1 SLOs, 0 alerts)",
                    example(name)
                ),
            ],
            "{name}"
        );
    }
}

#[test]
fn the_kubernetes_resource_reads_like_the_plain_spec() {
    let scratch = Scratch::new("sloth-k8s-vs-plain");
    let plain = scratch.path().join("plain");
    let k8s = scratch.path().join("k8s");
    for (spec, out) in [
        ("getting-started.yml", &plain),
        ("k8s-getting-started.yml", &k8s),
    ] {
        ok(&["generate", &example(spec), "-o", out.to_str().unwrap()]);
    }
    let read = |dir: &Path| {
        std::fs::read_to_string(dir.join("myservice.rules.yml"))
            .unwrap()
            .lines()
            .skip(1) // The header names the spec file.
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(read(&plain), read(&k8s));
    // A resource of another kind is refused where the kind is written.
    let bad = scratch.path().join("bad.yml");
    let text = std::fs::read_to_string(fixture("sloth-examples/k8s-getting-started.yml"))
        .unwrap()
        .replace("kind: PrometheusServiceLevel", "kind: ServiceLevel");
    std::fs::write(&bad, text).unwrap();
    let o = rulegen(&["validate", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("bad.yml:7:7: unsupported kind `ServiceLevel`"),
        "{stderr}"
    );
}

#[test]
fn directories_are_walked_and_filtered_as_sloth_does() {
    let scratch = Scratch::new("sloth-dirs");
    let dir = scratch.path().join("specs");
    std::fs::create_dir_all(dir.join("team-a/deep")).unwrap();
    std::fs::create_dir_all(dir.join("team-b")).unwrap();
    let copy = |from: &str, to: &str| {
        std::fs::copy(fixture(&format!("sloth-examples/{from}")), dir.join(to)).unwrap();
    };
    copy("getting-started.yml", "team-a/deep/api.yaml");
    copy("home-wifi.yml", "team-a/wifi.yml");
    copy("kubernetes-apiserver.yml", "team-b/apiserver.yml");
    copy("no-alerts.yml", "team-b/no-alerts.yml");
    // Not a spec: ignored by its extension.
    std::fs::write(dir.join("team-b/README.md"), "# notes\n").unwrap();
    let d = dir.to_str().unwrap();
    let services = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["validate", d];
        all.extend(args);
        ok(&all)
            .lines()
            .map(|l| {
                l.split("(service ")
                    .nth(1)
                    .unwrap()
                    .split(':')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(
        services(&[]),
        ["myservice", "home-wifi", "k8s-apiserver", "myapp"]
    );
    assert_eq!(
        services(&["--fs-exclude", "team-b"]),
        ["myservice", "home-wifi"]
    );
    assert_eq!(
        services(&["--fs-include", "team-b"]),
        ["k8s-apiserver", "myapp"]
    );
    // Exclude wins over include, as in Sloth.
    assert_eq!(
        services(&["-n", "team-b", "-e", "no-alerts"]),
        ["k8s-apiserver"]
    );
    let o = rulegen(&["validate", d, "--fs-include", "nothing-matches"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no *.yml or *.yaml spec files"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn dash_writes_the_rules_to_stdout() {
    let one = ok(&["generate", &example("getting-started.yml"), "-o", "-"]);
    let scratch = Scratch::new("sloth-stdout");
    ok(&[
        "generate",
        &example("getting-started.yml"),
        "-o",
        scratch.path().to_str().unwrap(),
    ]);
    let file = std::fs::read_to_string(scratch.path().join("myservice.rules.yml")).unwrap();
    assert_eq!(one, file, "one service: the very rule file");
    assert!(!Path::new("rulegen/-").exists() && !crate::support::crate_dir().join("-").exists());
    let two = ok(&["generate", &example("multifile.yml"), "-o", "-"]);
    let docs: Vec<&str> = two.split("---\n").collect();
    assert_eq!(docs.len(), 2, "{two}");
    assert!(
        docs[0].contains("service: \"myservice\"") && docs[1].contains("service: \"myservice2\"")
    );
    if let Some(promtool) = promtool() {
        std::fs::write(scratch.path().join("stdout.yml"), &one).unwrap();
        promtool_ok(&promtool, scratch.path(), &["check", "rules", "stdout.yml"]);
    }
    // What needs files is refused, not written to a directory named `-`.
    let o = rulegen(&[
        "generate",
        &example("getting-started.yml"),
        "-o",
        "-",
        "--dashboards",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("need an output directory"));
}

#[test]
fn sloth_generate_flags() {
    let spec = example("getting-started.yml");
    let all = ok(&["generate", &spec, "-o", "-"]);
    let count = |text: &str, what: &str| {
        text.lines()
            .filter(|l| l.trim_start().starts_with(what))
            .count()
    };
    assert!(count(&all, "- record:") > 0 && count(&all, "- alert:") > 0);

    let no_alerts = ok(&["generate", &spec, "-o", "-", "--disable-alerts"]);
    assert_eq!(count(&no_alerts, "- alert:"), 0);
    assert_eq!(count(&no_alerts, "- record:"), count(&all, "- record:"));
    let no_recordings = ok(&["generate", &spec, "-o", "-", "--disable-recordings"]);
    assert_eq!(count(&no_recordings, "- record:"), 0);
    assert_eq!(count(&no_recordings, "- alert:"), count(&all, "- alert:"));

    let labelled = ok(&[
        "generate",
        &spec,
        "-o",
        "-",
        "-l",
        "env=prod",
        "--extra-labels",
        "cmd=test",
    ]);
    let rules = count(&all, "- record:") + count(&all, "- alert:");
    assert_eq!(count(&labelled, "env: \"prod\""), rules, "{labelled}");
    assert_eq!(count(&labelled, "cmd: \"test\""), rules);
    let o = rulegen(&["generate", &spec, "-o", "-", "-l", "slo=x"]);
    assert_eq!(o.status.code(), Some(2));

    // The period window follows --default-slo-period.
    let week = ok(&["generate", &spec, "-o", "-", "--default-slo-period", "7d"]);
    assert!(all.contains("ratio_rate30d") && !all.contains("ratio_rate7d"));
    assert!(
        week.contains("ratio_rate7d") && !week.contains("ratio_rate30d"),
        "{week}"
    );
    let explained = ok(&["validate", &spec, "--default-slo-period", "7d"]);
    assert!(explained.starts_with("ok: "));
    let o = rulegen(&["generate", &spec, "-o", "-", "--default-slo-period", "10m"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn per_spec_file_writes_one_rule_file_per_spec_where_the_spec_was() {
    let scratch = Scratch::new("sloth-per-spec-file");
    let dir = scratch.path().join("specs");
    std::fs::create_dir_all(dir.join("team-a/deep")).unwrap();
    std::fs::copy(
        fixture("sloth-examples/multifile.yml"),
        dir.join("team-a/deep/two.yaml"),
    )
    .unwrap();
    std::fs::copy(
        fixture("sloth-examples/home-wifi.yml"),
        dir.join("wifi.yml"),
    )
    .unwrap();
    let out = scratch.path().join("out");
    ok(&[
        "generate",
        dir.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--per-spec-file",
    ]);
    assert_eq!(
        file_names(&out),
        ["team-a/deep/two.rules.yml", "wifi.rules.yml"]
    );
    // Both services of the two-document spec, in one `groups:` list.
    let two = std::fs::read_to_string(out.join("team-a/deep/two.rules.yml")).unwrap();
    assert_eq!(two.matches("\ngroups:\n").count(), 1, "{two}");
    assert!(two.contains("name: \"slo-myservice-requests-availability\""));
    assert!(two.contains("name: \"slo-myservice2-requests-availability\""));
    if let Some(promtool) = promtool() {
        promtool_ok(
            &promtool,
            &out,
            &[
                "check",
                "rules",
                "team-a/deep/two.rules.yml",
                "wifi.rules.yml",
            ],
        );
    }
    let o = rulegen(&[
        "generate",
        dir.to_str().unwrap(),
        "-o",
        "-",
        "--per-spec-file",
    ]);
    assert_eq!(o.status.code(), Some(1));
}

/// The minutes at which each `sloth_severity` (page, ticket) of `MyServiceHighErrorRate`
/// fires under `rule_file` in a 12-hour run: 10 requests/s, 5% of them errors from 6h to
/// 8h. Read from promtool's report of a test expecting no alert at every minute.
/// `groups` is the file's group evaluation order: without one promtool evaluates a
/// file's groups in random order at each time (a Go map), so an alert group may read
/// its recordings of the previous minute, firing a minute late in some runs.
fn firing_minutes(
    promtool: &Path,
    dir: &Path,
    rule_file: &str,
    groups: &[&str],
) -> std::collections::BTreeMap<String, Vec<u32>> {
    let times: String = (0..=720)
        .map(|m| {
            format!(
                "  - eval_time: {m}m\n    alertname: MyServiceHighErrorRate\n    exp_alerts: []\n"
            )
        })
        .collect();
    let test = format!(
        r#"rule_files: [{rule_file}]
evaluation_interval: 1m
group_eval_order: [{groups}]
tests:
- interval: 1m
  input_series:
  - series: 'http_request_duration_seconds_count{{job="myservice",code="200"}}'
    values: '0+600x360 216570+570x120 284970+600x239'
  - series: 'http_request_duration_seconds_count{{job="myservice",code="500"}}'
    values: '0x360 30+30x119 3600x240'
  alert_rule_test:
{times}"#,
        groups = groups.join(", ")
    );
    let name = format!("{rule_file}.timing.yml");
    std::fs::write(dir.join(&name), test).unwrap();
    let o = std::process::Command::new(promtool)
        .args(["test", "rules", &name])
        .current_dir(dir)
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let minutes = |t: &str| -> u32 {
        let (h, m) = t.split_once('h').unwrap_or(("0", t));
        h.parse::<u32>().unwrap() * 60 + m.trim_end_matches('m').parse::<u32>().unwrap_or(0)
    };
    let mut firing: std::collections::BTreeMap<String, Vec<u32>> = Default::default();
    let mut at = None;
    for line in report.lines() {
        if let Some(t) = line.split(", time: ").nth(1) {
            at = Some(minutes(t.trim().trim_end_matches(',')));
        }
        for severity in ["page", "ticket"] {
            if line.contains(&format!("sloth_severity=\"{severity}\"")) {
                firing
                    .entry(severity.to_string())
                    .or_default()
                    .push(at.expect("labels follow a time"));
            }
        }
    }
    firing
}

/// Sloth's own rules for its getting-started example and ours, on the same series: each
/// alert fires at the very same evaluations (every minute of a 12-hour run compared).
/// For Sloth specs rulegen records each window's ratio from the SLI's queries over that
/// window, as Sloth does, rather than summing recorded 5m rates (which lags by up to 5m).
#[test]
fn alerts_fire_at_the_same_evaluations_as_sloths() {
    let Some(promtool) = promtool() else { return };
    let scratch = Scratch::new("sloth-timing");
    std::fs::copy(
        fixture("sloth-examples/_gen/getting-started.yml"),
        scratch.path().join("sloth.yml"),
    )
    .unwrap();
    ok(&[
        "generate",
        &example("getting-started.yml"),
        "-o",
        scratch.path().to_str().unwrap(),
    ]);
    let sloth = firing_minutes(
        &promtool,
        scratch.path(),
        "sloth.yml",
        &[
            "sloth-slo-sli-recordings-myservice-requests-availability",
            "sloth-slo-meta-recordings-myservice-requests-availability",
            "sloth-slo-alerts-myservice-requests-availability",
        ],
    );
    let ours = firing_minutes(
        &promtool,
        scratch.path(),
        "myservice.rules.yml",
        &["slo-myservice-requests-availability"],
    );
    for severity in ["page", "ticket"] {
        let s = &sloth[severity];
        // One unbroken stretch, starting after the errors do (at 6h).
        assert!(
            s.windows(2).all(|w| w[1] == w[0] + 1) && s[0] > 360,
            "{severity}: {s:?}"
        );
        assert_eq!(
            &ours[severity], s,
            "{severity}: ours vs Sloth's firing minutes"
        );
    }
    // The page stops after the errors do (8h); the ticket's 3d window keeps it on.
    assert!(sloth["page"].last().unwrap() < &720);
}

/// `--extra-labels` on a native spec: on every rule, over the service's label of the same
/// name, under a threshold alert's own.
#[test]
fn extra_labels_yield_to_an_alerts_own() {
    let scratch = Scratch::new("sloth-extra-labels");
    let spec = scratch.path().join("s.yml");
    std::fs::write(
        &spec,
        "version: lakewatch/v1\nservice: api\nlabels: { team: payments }\nalerts:\n  - name: Mine\n    expr: up == 0\n    labels: { env: staging }\n  - name: Other\n    expr: up == 0\n",
    )
    .unwrap();
    let out = ok(&[
        "generate",
        spec.to_str().unwrap(),
        "-o",
        "-",
        "-l",
        "env=prod",
        "-l",
        "team=sre",
    ]);
    let alert = |name: &str| {
        let start = out.find(&format!("- alert: \"{name}\"")).unwrap();
        let rest = &out[start + 1..];
        rest[..rest.find("- alert:").unwrap_or(rest.len())].to_string()
    };
    assert!(alert("Mine").contains("env: \"staging\""), "{out}");
    assert!(alert("Other").contains("env: \"prod\""), "{out}");
    assert!(alert("Mine").contains("team: \"sre\""), "{out}");
}
