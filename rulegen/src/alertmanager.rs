//! Model → Alertmanager configuration: a route tree from the services' severities and team
//! labels, inhibitions, and receiver templates whose secrets are read from files.
//!
//! Routing: pages go to a paging receiver, everything else to a ticket receiver, per team
//! (the `team` label of a service, SLO or alert) and by default. A burn-rate alert carries
//! `urgency` (`page`/`ticket`), which wins over its severity, so an SLO that calls its
//! tickets `critical` still does not page. Threshold alerts page when their severity is one
//! the specs' page alerts use, or `critical`.
//!
//! Inhibitions: a firing page silences the ticket of the same service and SLO; an alert
//! labelled `target_down="true"` silences SLO alerts with the same `target` label, or the
//! same `server` label (the SLO's numbers are meaningless while its target is down).
//! `server` because Postgres metrics and `PostgresDown` carry postgres_exporter's
//! `server`, not `target`. Rules are written with `source_matchers`/`target_matchers`
//! (Alertmanager ≥ 0.22).
//!
//! Secrets never appear in the file: every credential is a `*_file` path under
//! [`Options::secrets_dir`], so the config can be committed and the secrets mounted.
//!
//! Notification timing is Alertmanager's usual defaults (30s / 5m / 4h) unless
//! [`Options`] says otherwise; the end-to-end test uses seconds to see an alert and its
//! resolution within one test run.

use std::collections::BTreeSet;

use crate::duration;
use crate::model::Service;
use crate::output::quote;

/// The label that names the owning team.
pub const TEAM_LABEL: &str = "team";

/// A notification integration a receiver template uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Integration {
    /// A generic webhook (`webhook_configs`).
    Webhook,
    /// Slack (`slack_configs`).
    Slack,
    /// E-mail (`email_configs`).
    Email,
    /// PagerDuty (`pagerduty_configs`).
    PagerDuty,
}

impl Integration {
    /// All integrations, in the order they are written.
    pub const ALL: [Integration; 4] = [
        Integration::PagerDuty,
        Integration::Slack,
        Integration::Email,
        Integration::Webhook,
    ];

    /// Parses a CLI name.
    pub fn parse(s: &str) -> Option<Integration> {
        match s {
            "webhook" => Some(Integration::Webhook),
            "slack" => Some(Integration::Slack),
            "email" => Some(Integration::Email),
            "pagerduty" => Some(Integration::PagerDuty),
            _ => None,
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Integrations of the paging receivers.
    pub page: Vec<Integration>,
    /// Integrations of the ticket receivers.
    pub ticket: Vec<Integration>,
    /// Directory holding the secret files (one per receiver and integration).
    pub secrets_dir: String,
    /// Base URL of webhook receivers; each receiver POSTs to `<base>/<receiver name>`.
    pub webhook_url: String,
    /// `group_wait`: how long a new group waits for more alerts before the first
    /// notification, in seconds.
    pub group_wait_secs: u64,
    /// `group_interval`: how often a group's changes (new or resolved alerts) are sent.
    pub group_interval_secs: u64,
    /// `repeat_interval`: how often an unchanged firing group is sent again.
    pub repeat_interval_secs: u64,
}

/// The default [`Options::webhook_url`]: a placeholder that cannot resolve.
pub const DEFAULT_WEBHOOK_URL: &str = "http://alert-gateway.example.invalid";

impl Default for Options {
    fn default() -> Options {
        Options {
            page: vec![Integration::PagerDuty],
            ticket: vec![Integration::Slack],
            secrets_dir: "/etc/alertmanager/secrets".into(),
            webhook_url: DEFAULT_WEBHOOK_URL.into(),
            group_wait_secs: 30,
            group_interval_secs: 5 * 60,
            repeat_interval_secs: 4 * 3600,
        }
    }
}

/// Teams named by any service, SLO or alert label, sorted.
pub fn teams(services: &[Service]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for s in services {
        out.extend(s.labels.get(TEAM_LABEL).cloned());
        for slo in &s.slos {
            out.extend(slo.labels.get(TEAM_LABEL).cloned());
            for a in [&slo.alerting.page, &slo.alerting.ticket]
                .into_iter()
                .flatten()
            {
                out.extend(a.labels.get(TEAM_LABEL).cloned());
            }
        }
        for a in &s.alerts {
            out.extend(a.labels.get(TEAM_LABEL).cloned());
        }
    }
    out
}

/// Severities that page: those of every SLO's page alert, plus `critical`.
pub fn page_severities(services: &[Service]) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = ["critical".to_string()].into();
    for s in services {
        for slo in &s.slos {
            if let Some(p) = &slo.alerting.page {
                out.insert(p.severity.clone());
            }
        }
    }
    out
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A matcher list item: the whole `name="value"` matcher as one YAML string.
fn matcher(name: &str, op: &str, value: &str) -> String {
    // The matcher's value is a double-quoted string inside the YAML scalar.
    let inner = format!("{name}{op}{}", quote(value));
    quote(&inner)
}

/// Renders `alertmanager.yml` for the given services.
pub fn render(services: &[Service], opts: &Options) -> String {
    let teams = teams(services);
    let severities: Vec<String> = page_severities(services)
        .iter()
        .map(|s| regex_escape(s))
        .collect();
    let page_re = severities.join("|");
    let mut out = String::new();
    out.push_str("# Generated by lakewatch-rulegen; do not edit, regenerate.\n");
    out.push_str(&format!(
        "# Secrets are read from files under {}; create one file per `*_file` path below.\n",
        opts.secrets_dir
    ));
    out.push_str("route:\n");
    out.push_str("  receiver: \"ticket\"\n");
    // `alertname` next to service/slo: threshold alerts have no `slo`, and without it every
    // stock alert of a host would arrive as one notification.
    out.push_str("  group_by: [\"service\", \"slo\", \"alertname\"]\n");
    out.push_str(&format!(
        "  group_wait: {}\n  group_interval: {}\n  repeat_interval: {}\n",
        duration::format(opts.group_wait_secs),
        duration::format(opts.group_interval_secs),
        duration::format(opts.repeat_interval_secs)
    ));
    out.push_str("  routes:\n");
    let urgency_routes = |out: &mut String, indent: &str, prefix: &str| {
        out.push_str(&format!(
            "{indent}- receiver: {}\n{indent}  matchers: [{}]\n",
            quote(&format!("{prefix}ticket")),
            matcher("urgency", "=", "ticket")
        ));
        out.push_str(&format!(
            "{indent}- receiver: {}\n{indent}  matchers: [{}]\n",
            quote(&format!("{prefix}page")),
            matcher("severity", "=~", &page_re)
        ));
    };
    for team in &teams {
        out.push_str(&format!(
            "    - receiver: {}\n      matchers: [{}]\n      routes:\n",
            quote(&format!("{team}-ticket")),
            matcher(TEAM_LABEL, "=", team)
        ));
        urgency_routes(&mut out, "        ", &format!("{team}-"));
    }
    urgency_routes(&mut out, "    ", "");
    out.push_str("inhibit_rules:\n");
    out.push_str("  # A page already covers the ticket of the same SLO.\n");
    out.push_str(&format!(
        "  - source_matchers: [{}]\n    target_matchers: [{}]\n    equal: [\"service\", \"slo\"]\n",
        matcher("urgency", "=", "page"),
        matcher("urgency", "=", "ticket")
    ));
    out.push_str("  # While a target is down, the SLO alerts computed from it only repeat that. Alertmanager\n");
    out.push_str(
        "  # counts a label missing on both sides as equal, hence `=~\".+\"` on both sides.\n",
    );
    // Two rules, one per label that names a target: `target` (the exporter's collectors)
    // and `server` (Postgres, postgres_exporter's name for it).
    for label in ["target", "server"] {
        out.push_str(&format!(
            "  - source_matchers: [{}, {}]\n    target_matchers: [{}, {}]\n    equal: [{}]\n",
            matcher("target_down", "=", "true"),
            matcher(label, "=~", ".+"),
            matcher("slo", "=~", ".+"),
            matcher(label, "=~", ".+"),
            quote(label)
        ));
    }
    out.push_str("receivers:\n");
    let mut names: Vec<(String, &[Integration], &str)> = Vec::new();
    for team in &teams {
        names.push((format!("{team}-page"), &opts.page, "page"));
        names.push((format!("{team}-ticket"), &opts.ticket, "ticket"));
    }
    names.push(("page".into(), &opts.page, "page"));
    names.push(("ticket".into(), &opts.ticket, "ticket"));
    for (name, integrations, urgency) in names {
        receiver(&mut out, &name, integrations, urgency, opts);
    }
    out
}

/// Percent-encodes a receiver name (which holds a team label value) for a URL path.
fn path_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn receiver(
    out: &mut String,
    name: &str,
    integrations: &[Integration],
    urgency: &str,
    opts: &Options,
) {
    out.push_str(&format!("  - name: {}\n", quote(name)));
    let dir = &opts.secrets_dir;
    let secret = |what: &str| quote(&format!("{dir}/{name}-{what}"));
    let resolved = urgency == "page";
    let mut kinds: Vec<Integration> = integrations.to_vec();
    kinds.sort();
    kinds.dedup();
    for kind in Integration::ALL {
        if !kinds.contains(&kind) {
            continue;
        }
        match kind {
            Integration::PagerDuty => {
                // Every alert's summary, not `.CommonAnnotations.summary`: that is empty as
                // soon as a group spans targets, because each summary names its target.
                out.push_str("    pagerduty_configs:\n");
                out.push_str(&format!(
                    "      - routing_key_file: {}\n        send_resolved: true\n        description: '{{{{ .CommonLabels.alertname }}}} ({{{{ .CommonLabels.service }}}}): {{{{ range $i, $a := .Alerts }}}}{{{{ if $i }}}}; {{{{ end }}}}{{{{ $a.Annotations.summary }}}}{{{{ end }}}}'\n",
                    secret("pagerduty-routing-key")
                ));
            }
            Integration::Slack => {
                out.push_str("    slack_configs:\n");
                out.push_str(&format!(
                    "      - api_url_file: {}\n        channel: {}\n        send_resolved: {resolved}\n        title: '[{{{{ .Status | toUpper }}}}] {{{{ .CommonLabels.alertname }}}} ({{{{ .CommonLabels.service }}}})'\n        text: '{{{{ range .Alerts }}}}{{{{ .Annotations.summary }}}} {{{{ .Annotations.runbook_url }}}}{{{{ \"\\n\" }}}}{{{{ end }}}}'\n",
                    secret("slack-webhook-url"),
                    quote(&format!("#alerts-{name}"))
                ));
            }
            Integration::Email => {
                out.push_str("    email_configs:\n");
                out.push_str(&format!(
                    "      - to: {}\n        from: \"alertmanager@example.invalid\"\n        smarthost: \"smtp.example.invalid:587\"\n        auth_username: \"alertmanager@example.invalid\"\n        auth_password_file: {}\n        send_resolved: {resolved}\n",
                    quote(&format!("{name}@example.invalid")),
                    secret("smtp-password")
                ));
            }
            Integration::Webhook => {
                out.push_str("    webhook_configs:\n");
                out.push_str(&format!(
                    "      - url: {}\n        send_resolved: true\n        http_config:\n          authorization:\n            credentials_file: {}\n",
                    quote(&format!(
                        "{}/{}",
                        opts.webhook_url.trim_end_matches('/'),
                        path_segment(name)
                    )),
                    secret("webhook-token")
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_metacharacters_are_escaped() {
        assert_eq!(regex_escape("p1.high|x"), "p1\\.high\\|x");
    }

    #[test]
    fn receiver_names_are_safe_url_path_segments() {
        assert_eq!(path_segment("data-eng_2.page"), "data-eng_2.page");
        assert_eq!(path_segment("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn matchers_are_quoted_twice() {
        assert_eq!(matcher("team", "=", "a\"b"), r#""team=\"a\\\"b\"""#);
    }
}
