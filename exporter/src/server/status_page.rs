//! The landing page at `/`: every collector target with where it came from, its state,
//! schedule and last error; target discovery's sources and problems; and the outcome
//! of the last reload. Plain HTML
//! without scripts, for an engineer with curl or a browser.

use std::time::{Duration, SystemTime};

use crate::config::duration::format_duration;
use crate::scheduler::Hub;

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(super) fn landing_page(hub: &Hub) -> String {
    let discovery = hub.discovery();
    let mut rows = String::new();
    for s in hub.statuses() {
        let state = match (s.cycles, s.up) {
            (0, _) => "<td class=wait>starting</td>",
            (_, true) => "<td class=up>up</td>",
            (_, false) => "<td class=down>down</td>",
        };
        let ago = s
            .last_success
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .map_or("never".to_string(), |d| {
                format!("{} ago", format_duration(Duration::from_secs(d.as_secs())))
            });
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td>{state}<td>{}</td><td>{} / {}</td><td>{:.3}s</td><td>{ago}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            s.collector,
            html_escape(&s.target),
            s.series,
            format_duration(s.schedule.interval),
            format_duration(s.schedule.timeout),
            s.last_duration.as_secs_f64(),
            s.errors.values().sum::<u64>(),
            html_escape(s.last_error.as_deref().unwrap_or("")),
            html_escape(&discovery.origin(s.collector, &s.target).to_string()),
        ));
    }
    let reload = hub.last_reload();
    let loaded = SystemTime::now()
        .duration_since(reload.at)
        .map_or("just now".to_string(), |d| {
            format!("{} ago", format_duration(Duration::from_secs(d.as_secs())))
        });
    let config = match &reload.error {
        None => format!("<p>Configuration loaded {loaded}.</p>"),
        Some(e) => format!(
            "<p class=down>The last reload failed, the configuration loaded {loaded} still runs: {}</p>",
            html_escape(e)
        ),
    };
    let mut sources = String::new();
    for ((collector, source), s) in &discovery.sources {
        let problems = if s.problems.is_empty() {
            "<td class=up>ok</td>".to_string()
        } else {
            let list: Vec<String> = s.problems.iter().map(|p| html_escape(p)).collect();
            format!("<td class=down>{}</td>", list.join("<br>"))
        };
        sources.push_str(&format!(
            "<tr><td>{collector}</td><td>{source}</td><td>{}</td><td>{}</td>{problems}</tr>\n",
            s.targets, s.errors
        ));
    }
    let discovery = if sources.is_empty() {
        String::new()
    } else {
        format!(
            "<h2>Target discovery</h2>\n<table><tr><th>collector</th><th>source</th><th>targets</th><th>errors</th><th>problems</th></tr>\n{sources}</table>\n"
        )
    };
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Lakewatch exporter</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}.up{{color:#1a7f37}}.down{{color:#cf222e;font-weight:bold}}.wait{{color:#9a6700}}</style>
</head><body>
<h1>Lakewatch exporter {version}</h1>
<p><a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a> · <a href="/readyz">/readyz</a></p>
{config}
<table><tr><th>collector</th><th>target</th><th>state</th><th>series</th><th>interval / timeout</th><th>last duration</th><th>last success</th><th>errors</th><th>last error</th><th>origin</th></tr>
{rows}</table>
{discovery}</body></html>
"#,
        version = env!("CARGO_PKG_VERSION"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(html_escape("<b>&\"x\""), "&lt;b&gt;&amp;&quot;x&quot;");
    }
}
