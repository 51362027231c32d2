//! End to end, the whole alerting chain with real components: Postgres → lakewatch-exporter
//! → Debian's `prometheus` evaluating the generated stock rules → Debian's
//! `prometheus-alertmanager` with the generated routing → a webhook receiver in this test.
//! Stopping Postgres must page (PostgresDown at the `page` receiver, with the stock labels
//! and annotations); starting it again must send the resolved notification.
//!
//! Rules and routing are made by rulegen from `alerts/lakewatch.yml`, the way a user would
//! make a test-sized pack: `--param pg_down_for=2s`, and `--webhook-url` and short
//! Alertmanager timers. The only timings this test writes itself are Prometheus' scrape and
//! evaluation intervals (1 s). Everything listens on loopback, on free ports.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use lakewatch_rulegen::output::{self, Flavor};
use lakewatch_rulegen::rules::{self, SliSource};
use serde_json::Value;

use crate::postgres::{FAST, config};
use crate::support::alerting::{Post, Server, Webhook, alerts_named, strings};
use crate::support::postgres::{PASSWORD, PgServer};
use crate::support::{Exporter, TempDir, eventually_with, tool};

/// What Alertmanager sends as the webhook's bearer token (from the generated `*_file`).
const TOKEN: &str = "e2e-webhook-token";

#[test]
fn postgres_down_pages_through_prometheus_and_alertmanager_then_resolves() {
    let Some(prometheus) = tool("prometheus", &["/usr/bin/prometheus"]) else {
        return;
    };
    let Some(am_bin) = tool(
        "prometheus-alertmanager",
        &["/usr/bin/prometheus-alertmanager"],
    ) else {
        return;
    };
    let Some(mut pg) = PgServer::start() else {
        return;
    };
    let dir = TempDir::new("e2e");
    let exp = Exporter::start(&["--config", &config(&dir, &pg, FAST, PASSWORD)]);
    exp.wait_ready(Duration::from_secs(30));
    let server = format!("127.0.0.1:{}", pg.port);

    // The stock pack, generated as `lakewatch-rulegen generate alerts/lakewatch.yml
    // --param pg_down_for=2s --alertmanager --page-via webhook --ticket-via webhook ...`.
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../alerts/lakewatch.yml");
    let params = [("pg_down_for".to_string(), "2s".to_string())].into();
    let services = lakewatch_rulegen::load_files(&[spec], &params)
        .unwrap_or_else(|e| panic!("the stock spec: {e}"));
    let stock = &services[0];
    let set = rules::generate(stock, SliSource::Spec).expect("stock rules generate");
    let rule_text = output::render(
        Flavor::Plain,
        &stock.name,
        &lakewatch_rulegen::source_name(stock),
        &set,
    );
    assert!(
        rule_text
            .contains("- alert: \"PostgresDown\"\n        expr: \"pg_up{job=~\\\"lakewatch\\\"} == 0\"\n        for: 2s\n"),
        "the override reached the rule:\n{rule_text}"
    );
    dir.write("lakewatch.rules.yml", &rule_text);
    let webhook = Webhook::start();
    let am = Server::alertmanager(
        &am_bin,
        &dir.0,
        &services,
        &format!("http://{}/hooks", webhook.addr),
        TOKEN,
    );
    let prom = Server::prometheus(
        &prometheus,
        &dir.0,
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [lakewatch.rules.yml]\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{}']\nscrape_configs:\n  - job_name: lakewatch\n    static_configs:\n      - targets: ['{}']\n",
            am.addr, exp.addr
        ),
    );

    let context = || {
        format!(
            "--- webhook posts ---\n{:#?}\n--- Prometheus alerts ---\n{}\n--- prometheus.log ---\n{}\n--- alertmanager.log ---\n{}\n--- exporter log ---\n{}",
            webhook.posts(),
            prom.get("/api/v1/alerts").map(|r| r.1).unwrap_or_default(),
            prom.log_text(),
            am.log_text(),
            exp.log_text()
        )
    };
    let long = Duration::from_secs(60);
    eventually_with(long, "Alertmanager to be ready", context, || {
        am.get("/-/ready").filter(|r| r.0 == 200)
    });
    eventually_with(long, "Prometheus to load PostgresDown", context, || {
        prom.get("/api/v1/rules")
            .filter(|r| r.1.contains("\"name\":\"PostgresDown\""))
    });
    eventually_with(long, "Prometheus to store pg_up 1", context, || {
        prom.get("/api/v1/query?query=pg_up%20%3D%3D%201")
            .filter(|r| r.1.contains(&format!("\"server\":\"{server}\"")))
    });
    let mentions_pg = |p: &Post| p.body.contains("PostgresDown");
    assert!(
        !webhook.posts().iter().any(mentions_pg),
        "PostgresDown while Postgres is up\n{}",
        context()
    );

    pg.stop();
    let (post, firing) = eventually_with(long, "the PostgresDown page", context, || {
        webhook.posts().into_iter().find_map(|p| {
            let v: Value = serde_json::from_str(&p.body).ok()?;
            (v["status"] == "firing" && !alerts_named(&v, "PostgresDown").is_empty())
                .then_some((p, v))
        })
    });
    // Restart at once: the exporter's reconnect backoff grows while the server is down.
    pg.start_again();

    assert_eq!(post.path, "/hooks/page", "routed to the paging receiver");
    assert_eq!(
        post.authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str()),
        "the token from the generated credentials_file"
    );
    assert_eq!(firing["receiver"], "page");
    assert_eq!(firing["version"], "4", "webhook payload version");
    assert_eq!(
        strings(&firing["groupLabels"]),
        [
            ("alertname".to_string(), "PostgresDown".to_string()),
            ("service".to_string(), "lakewatch".to_string()),
        ]
        .into(),
        "grouped by the generated group_by"
    );
    let alert = alerts_named(&firing, "PostgresDown")[0];
    assert_eq!(alert["status"], "firing");
    let want_labels: BTreeMap<String, String> = [
        ("alertname", "PostgresDown"),
        ("severity", "critical"),
        ("service", "lakewatch"),
        ("target_down", "true"),
        ("server", server.as_str()),
        ("job", "lakewatch"),
        ("instance", &exp.addr.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(strings(&alert["labels"]), want_labels);
    let annotations = strings(&alert["annotations"]);
    assert_eq!(
        annotations.get("summary").map(String::as_str),
        Some(format!("Postgres {server} is unreachable").as_str()),
        "summary, templated by Prometheus"
    );
    assert_eq!(
        annotations.get("description").map(String::as_str),
        Some(format!("lakewatch-exporter cannot connect to or query Postgres {server}.").as_str())
    );
    assert_eq!(
        annotations.get("runbook_url"),
        Some(&format!("{}#postgresdown", stock.params["runbook"]))
    );

    let fingerprint = alert["fingerprint"].clone();
    let (post, resolved) = eventually_with(long, "the resolved notification", context, || {
        webhook.posts().into_iter().find_map(|p| {
            let v: Value = serde_json::from_str(&p.body).ok()?;
            (v["status"] == "resolved" && !alerts_named(&v, "PostgresDown").is_empty())
                .then_some((p, v))
        })
    });
    assert_eq!(post.path, "/hooks/page", "resolved where it paged");
    assert_eq!(resolved["receiver"], "page");
    let alert = alerts_named(&resolved, "PostgresDown")[0];
    assert_eq!(alert["status"], "resolved");
    assert_eq!(alert["fingerprint"], fingerprint, "the same alert");
    assert_eq!(strings(&alert["labels"]), want_labels);
    // Go's zero time is what a still-firing alert carries.
    assert!(
        alert["endsAt"]
            .as_str()
            .is_some_and(|t| !t.starts_with("0001-") && alert["startsAt"] != t),
        "a resolved alert has an end: {alert}"
    );
}
