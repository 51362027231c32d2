//! `lakewatch-rulegen check` against a real Prometheus (Debian's `prometheus`) that
//! scrapes itself every second into a scratch TSDB: correct rules and dashboards pass,
//! broken ones are reported with their file, name, query and culprit, and a Prometheus
//! that is down or silent is a clear error, not a hang.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use lakewatch_rulegen::check::{self, Answer, Problem, QueryKind};

use crate::support::{Scratch, rulegen, tool};

/// A correct rule file: an alert whose threshold is simply not crossed (`up == 0` while
/// up is 1) and a recording rule over a counter with a label.
const GOOD_RULES: &str = r#"groups:
  - name: good
    rules:
      - alert: PrometheusDown
        expr: up{job="prometheus"} == 0
        for: 1m
      - record: job:prometheus_http_requests:rate1m
        expr: sum by (job) (rate(prometheus_http_requests_total[1m]))
"#;

/// A dashboard with a `job` variable ("All", no allValue: the alternation of the live
/// values) and an `instance` variable that depends on it.
const GOOD_DASHBOARD: &str = r#"{
  "title": "Self",
  "templating": {"list": [
    {"name": "job", "type": "query", "query": {"query": "label_values(up, job)", "refId": "v"},
     "includeAll": true, "multi": true, "current": {"value": ["$__all"]}},
    {"name": "instance", "type": "query", "query": "label_values(up{job=~\"$job\"}, instance)"}
  ]},
  "panels": [
    {"type": "row", "title": "r", "collapsed": true, "panels": [
      {"type": "timeseries", "title": "Requests", "targets": [
        {"refId": "A", "expr": "sum by (job) (rate(prometheus_http_requests_total{job=~\"$job\"}[$__rate_interval]))"}
      ]}
    ]},
    {"type": "stat", "title": "Up", "targets": [
      {"refId": "A", "expr": "up{job=~\"$job\", instance=\"$instance\"}"}
    ]}
  ]
}"#;

const BAD_RULES: &str = r#"groups:
  - name: bad
    rules:
      - alert: Typo
        expr: upp == 0
      - alert: WrongLabel
        expr: up{jbo="prometheus"} == 0
      - alert: WrongJob
        expr: up{job="node"} == 0
      - record: handler:join
        expr: up / on(handler) prometheus_http_requests_total
      - alert: NotCrossed
        expr: up == 0
"#;

const BAD_DASHBOARD: &str = r#"{
  "title": "Broken",
  "templating": {"list": [
    {"name": "job", "type": "query", "query": "label_values(up, jbo)"},
    {"name": "inst", "type": "query", "query": "label_values(up, instance)", "regex": "/^db-.*/"}
  ]},
  "panels": [
    {"type": "timeseries", "title": "Requests by code", "targets": [
      {"refId": "A", "expr": "sum by (code) (rate(prometheus_http_requests_total{code=\"999\"}[$__rate_interval]))"},
      {"refId": "B", "expr": "up + on() group_left prometheus_build_info"}
    ]},
    {"type": "timeseries", "title": "Mismatch", "targets": [
      {"refId": "A", "expr": "up * prometheus_http_requests_total"}
    ]},
    {"type": "stat", "title": "Undefined", "targets": [
      {"refId": "A", "expr": "up{job=~\"$cluster\"}"}
    ]}
  ]
}"#;

/// Path to `prometheus`, or `None` (the reason printed) outside CI.
fn prometheus_bin() -> Option<PathBuf> {
    tool("prometheus", "prometheus")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A Prometheus scraping itself every second (`job="prometheus"`); killed on drop.
struct Server {
    child: Child,
    url: String,
    log: PathBuf,
    /// HTTP Basic user and password the server requires, if any.
    auth: Option<(String, String)>,
    _dir: Scratch,
}

impl Server {
    fn start(bin: &Path, name: &str) -> Server {
        Server::start_with_auth(bin, name, None)
    }

    /// With `auth`, the API (and its own scrape) takes only that Basic user and password.
    fn start_with_auth(bin: &Path, name: &str, auth: Option<(&str, &str)>) -> Server {
        let dir = Scratch::new(name);
        let port = free_port();
        let config = dir.path().join("prometheus.yml");
        let scrape_auth = auth.map_or(String::new(), |(u, p)| {
            format!("    basic_auth: {{username: {u}, password: {p}}}\n")
        });
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prometheus\n{scrape_auth}    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
            ),
        )
        .expect("writing prometheus.yml");
        let log = dir.path().join("prometheus.log");
        let out = std::fs::File::create(&log).expect("creating the log");
        let mut cmd = Command::new(bin);
        if let Some((user, password)) = auth {
            let web = dir.path().join("web.yml");
            let hash = bcrypt::hash(password, 4).expect("bcrypt hashes");
            std::fs::write(&web, format!("basic_auth_users:\n  {user}: '{hash}'\n"))
                .expect("writing web.yml");
            cmd.arg(format!("--web.config.file={}", web.display()));
        }
        let child = cmd
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .expect("prometheus can start");
        let server = Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            auth: auth.map(|(u, p)| (u.to_string(), p.to_string())),
            _dir: dir,
        };
        server.wait_for_data();
        server
    }

    /// Waits until `up` is stored and the request counter of the scrapes has two samples
    /// (so `rate()` has a value).
    fn wait_for_data(&self) {
        let mut prom = check::Prometheus::new(&self.url).expect("a valid URL");
        if let Some((user, password)) = &self.auth {
            prom = prom.with_basic_auth(user, password);
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64();
            let ready = prom
                .query(
                    r#"up{job="prometheus"} and on() count(rate(prometheus_http_requests_total{handler="/metrics"}[1m])) > 0"#,
                    now,
                )
                .is_ok_and(|a| matches!(a, Answer::Vector(v) if !v.is_empty()));
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus at {} stored no `up` within 120 s:\n{}",
                self.url,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write(dir: &Scratch, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).expect("writing a test file");
    p.to_str().expect("utf-8 path").to_string()
}

fn check_cli(url: &str, files: &[&str], extra: &[&str]) -> Output {
    let mut args = vec!["check", "--prometheus", url];
    args.extend(extra);
    args.extend(files);
    rulegen(&args)
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn check_passes_correct_rules_and_dashboards() {
    let Some(bin) = prometheus_bin() else { return };
    let server = Server::start(&bin, "check-good-prom");
    let dir = Scratch::new("check-good");
    let rules = write(&dir, "good.rules.yml", GOOD_RULES);
    let dash = write(&dir, "good.json", GOOD_DASHBOARD);
    let o = check_cli(&server.url, &[&rules, &dash], &[]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "stdout:\n{out}\nstderr:\n{err}");
    for line in [
        format!("ok: {rules}:5: alert \"PrometheusDown\": 1 series"),
        format!("ok: {rules}:8: rule \"job:prometheus_http_requests:rate1m\": 1 series"),
        format!("ok: {dash}: panel \"Self / Requests [A]\": 1 series"),
        format!("ok: {dash}: panel \"Self / Up [A]\": 1 series"),
        format!("ok: {dash}: variable \"Self / job\": 1 value"),
        format!("ok: {dash}: variable \"Self / instance\": 1 value"),
        "checked 6 queries in 2 files: 0 dead selectors, 0 empty joins, 0 without data".to_string(),
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "missing line {line:?} in:\n{out}"
        );
    }
}

#[test]
fn check_reports_broken_rules_and_panels_with_their_culprit() {
    let Some(bin) = prometheus_bin() else { return };
    let server = Server::start(&bin, "check-bad-prom");
    let dir = Scratch::new("check-bad");
    let rules = write(&dir, "bad.rules.yml", BAD_RULES);
    let dash = write(&dir, "broken.json", BAD_DASHBOARD);
    let o = check_cli(&server.url, &[&rules, &dash], &["--rate-interval", "2m"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "stdout:\n{out}\nstderr:\n{err}");
    let expected = [
        format!(
            "{rules}:5: alert \"Typo\": dead selector `upp`: metric `upp` has no series in the last 1h\n  query: upp == 0"
        ),
        format!(
            "{rules}:5: alert \"Typo\": the condition has no data (the alert can never fire on the current series)\n  query: upp == 0"
        ),
        format!(
            "{rules}:7: alert \"WrongLabel\": dead selector `up{{jbo=\"prometheus\"}}`: `jbo=\"prometheus\"` matches none of the 1 series of `up`: none of them has a `jbo` label\n  query: up{{jbo=\"prometheus\"}} == 0"
        ),
        format!(
            "{rules}:9: alert \"WrongJob\": dead selector `up{{job=\"node\"}}`: `job=\"node\"` matches none of the 1 series of `up`; `job` values seen: \"prometheus\"\n  query: up{{job=\"node\"}} == 0"
        ),
        format!(
            "{rules}:11: rule \"handler:join\": empty join `up / on (handler) prometheus_http_requests_total`: the left side has no `handler` label"
        ),
        format!("ok: {rules}:13: alert \"NotCrossed\": 1 series"),
        // Variables are substituted before the query is sent, and shown so.
        format!(
            "{dash}: panel \"Broken / Requests by code [A]\": dead selector `prometheus_http_requests_total{{code=\"999\"}}`: `code=\"999\"` matches none of the"
        ),
        "  query: sum by (code) (rate(prometheus_http_requests_total{code=\"999\"}[2m]))"
            .to_string(),
        format!("ok: {dash}: panel \"Broken / Requests by code [B]\": 1 series"),
        format!(
            "{dash}: panel \"Broken / Mismatch [A]\": empty join `up * prometheus_http_requests_total`: labels only on the right: `code`, `handler`"
        ),
        format!(
            "{dash}: variable \"Broken / job\": dead selector `up{{jbo!=\"\"}}`: `jbo!=\"\"` matches none of the 1 series of `up`: none of them has a `jbo` label\n  query: label_values(up, jbo)"
        ),
        format!(
            "{dash}: panel \"Broken / Undefined [A]\": uses `$cluster`, which the dashboard does not define\n  query: up{{job=~\"$cluster\"}}"
        ),
        format!(
            "{dash}: variable \"Broken / inst\": variable `inst` offers no values: its regex `/^db-.*/` matches none of the values of `instance`"
        ),
        "checked 11 queries in 2 files: 5 dead selectors, 2 empty joins, 6 without data, 2 failed"
            .to_string(),
    ];
    for want in expected {
        assert!(out.contains(&want), "missing {want:?} in:\n{out}");
    }
    // A threshold that is not crossed is not a problem.
    assert!(
        !out.lines().any(|l| l.starts_with(&format!("{rules}:13:"))),
        "{out}"
    );
}

#[test]
fn the_library_api_reports_each_query() {
    let Some(bin) = prometheus_bin() else { return };
    let server = Server::start(&bin, "check-api-prom");
    let dir = Scratch::new("check-api");
    let rules = write(&dir, "r.yml", BAD_RULES);
    let dash = write(&dir, "d.json", GOOD_DASHBOARD);
    let mut queries = check::rule_file_queries(Path::new(&rules)).expect("a valid rule file");
    queries.extend(check::dashboard_queries(Path::new(&dash)).expect("a valid dashboard"));
    let prom = check::Prometheus::new(&server.url).expect("a valid URL");
    let report = check::run(&prom, &queries, &check::Options::default());
    assert_eq!(report.results.len(), queries.len());
    let by_name = |n: &str| {
        report
            .results
            .iter()
            .find(|r| r.query.name == n)
            .unwrap_or_else(|| panic!("no result for {n}:\n{}", report.render()))
    };
    let typo = by_name("Typo");
    assert_eq!(typo.query.kind, QueryKind::Alert);
    assert_eq!(typo.series, 0);
    assert!(
        matches!(
            &typo.problems[..],
            [Problem::DeadSelector { selector, reason }, Problem::NoData { expr }]
                if selector == "upp" && reason.starts_with("metric `upp` has no series") && expr == "upp == bool 0"
        ),
        "{:?}",
        typo.problems
    );
    let crossed = by_name("NotCrossed");
    assert_eq!((crossed.series, crossed.problems.len()), (1, 0));
    let panel = by_name("Self / Requests [A]");
    assert_eq!(panel.query.kind, QueryKind::Panel);
    assert_eq!(
        panel.evaluated,
        "sum by (job) (rate(prometheus_http_requests_total{job=~\"prometheus\"}[1m]))"
    );
    assert!(panel.problems.is_empty() && panel.series == 1, "{panel:?}");
    assert_eq!(by_name("Self / instance").query.kind, QueryKind::Variable);
    assert_eq!(report.problem_count(), 8, "{}", report.render());
}

#[test]
fn check_fails_clearly_when_prometheus_is_down_or_silent() {
    let dir = Scratch::new("check-down");
    let rules = write(&dir, "good.rules.yml", GOOD_RULES);
    let port = free_port();
    let o = check_cli(&format!("http://127.0.0.1:{port}"), &[&rules], &[]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        err.contains(&format!(
            "cannot reach Prometheus at http://127.0.0.1:{port}"
        )),
        "{err}"
    );
    // A server that accepts connections and never answers: the request timeout ends it.
    let silent = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let addr = silent.local_addr().expect("a bound address");
    let o = check_cli(&format!("http://{addr}"), &[&rules], &["--timeout", "1s"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        err.contains(&format!(
            "Prometheus at http://{addr} did not answer within 1 s"
        )),
        "{err}"
    );
    drop(silent);
    // Bad input is a clear error too, with its position.
    let broken = write(
        &dir,
        "broken.rules.yml",
        "groups:\n  - name: g\n    rules:\n      - expr: up\n",
    );
    let o = check_cli("http://127.0.0.1:1", &[&broken], &[]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{broken}:4:9: a rule needs exactly one of `record` and `alert`"
        )),
        "{err}"
    );
}

/// `check` sends the syntax tree printed back (promql-parser's `Display`), not the text
/// the user wrote: Prometheus must read the printed form as the same query. Each of
/// these gives the same series and values written both ways, and its `bool` form is
/// accepted.
#[test]
fn printed_queries_mean_what_was_written() {
    let Some(bin) = prometheus_bin() else { return };
    let server = Server::start(&bin, "check-print-prom");
    let prom = check::Prometheus::new(&server.url).expect("a valid URL");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    for written in [
        r#"up{job="prometheus"} == 1"#,
        r#"sum by (job) (rate(prometheus_http_requests_total{handler=~"/api/.*|/metrics"}[1m]))"#,
        r#"up offset 1s"#,
        r#"max_over_time(up[1m:1s])"#,
        r#"-up + 2 ^ 3 * 1e3 - 0.5 % 7"#,
        r#"up / on (job, instance) group_left (version) prometheus_build_info"#,
        r#"up > bool ignoring (job) up"#,
        r#"topk(1, prometheus_http_requests_total) unless on () absent(up)"#,
        r#"label_replace(up, "x", "a\"b\\c$1", "job", "(prom).*")"#,
        r#"count without (code) (prometheus_http_requests_total{code!~"5.."}) >= 1"#,
        r#"histogram_quantile(0.99, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket[1m])))"#,
        r#"scalar(up{job="prometheus"}) * 2 > bool 1"#,
        r#"time() - process_start_time_seconds{job="prometheus"} > 0"#,
        r#"rate(prometheus_http_requests_total[1m30s]) and on (job) up"#,
    ] {
        let expr = promql_parser::parser::parse(written).expect("the test's queries parse");
        let printed = expr.to_string();
        let answer = |q: &str| -> Vec<String> {
            let mut lines: Vec<String> = match prom.query(q, now) {
                Ok(Answer::Vector(v)) => v.iter().map(|(l, v)| format!("{l:?} {v}")).collect(),
                Ok(Answer::Scalar(s)) => vec![s],
                Err(e) => panic!("Prometheus rejects {q:?}: {e}"),
            };
            lines.sort();
            lines
        };
        let want = answer(written);
        assert!(!want.is_empty(), "{written} has data");
        assert_eq!(answer(&printed), want, "{written} printed as {printed}");
        let boolean = check::bool_form(&expr).to_string();
        assert!(!answer(&boolean).is_empty(), "{boolean}");
    }
}

#[test]
fn check_sends_basic_auth_from_a_file_and_a_refusal_is_clear() {
    let Some(bin) = prometheus_bin() else { return };
    let server = Server::start_with_auth(&bin, "check-auth-prom", Some(("ci", "s3cret pass")));
    let dir = Scratch::new("check-auth");
    let rules = write(&dir, "good.rules.yml", GOOD_RULES);
    let right = write(&dir, "right", "s3cret pass\n");
    let wrong = write(&dir, "wrong", "guess\n");
    let auth = |file: &str| {
        check_cli(
            &server.url,
            &[&rules],
            &[
                "--prometheus.user",
                "ci",
                "--prometheus.password-file",
                file,
            ],
        )
    };
    let o = auth(&right);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("checked 2 queries in 1 file: 0 dead selectors"),
        "{out}"
    );
    for o in [auth(&wrong), check_cli(&server.url, &[&rules], &[])] {
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "stdout:\n{out}\nstderr:\n{err}");
        assert!(err.contains("HTTP 401"), "{err}");
        assert!(!err.contains("s3cret") && !out.contains("s3cret"), "{err}");
    }
}
