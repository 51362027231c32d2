//! Reading the queries to check: Prometheus rule files (YAML: `groups[].rules[]`, also
//! inside a `PrometheusRule`'s `spec`) and Grafana dashboards (JSON: panels, nested rows'
//! panels and the old `rows[]` layout, and `templating.list[]` variables).

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

use super::{CheckError, Query, QueryKind};
use crate::error::{Pos, Problem};

/// A dashboard variable, as much of it as substitution needs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Variable {
    /// The name used as `$name`.
    pub name: String,
    /// Grafana's `type`: `query`, `custom`, `constant`, `textbox`, `interval`, ...
    pub kind: String,
    /// The query (query variables), the comma-separated values (custom) or the value
    /// (constant, textbox).
    pub query: String,
    /// `regex`: filters (and with a group, extracts) the values.
    pub regex: Option<String>,
    /// `multi`: several values may be selected.
    pub multi: bool,
    /// `includeAll`: the variable has an "All" option.
    pub include_all: bool,
    /// `allValue`: what "All" stands for; `None` for the alternation of all values.
    pub all_value: Option<String>,
    /// The saved current value(s).
    pub current: Vec<String>,
    /// The saved options' values (custom and interval variables use them).
    pub options: Vec<String>,
    /// The variable's data source is not Prometheus: its query is not checked.
    pub foreign: bool,
}

#[derive(Deserialize)]
struct RuleFile {
    groups: Option<Vec<Group>>,
    spec: Option<CrdSpec>,
}

#[derive(Deserialize)]
struct CrdSpec {
    groups: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    #[serde(default)]
    rules: Vec<Spanned<Rule>>,
}

/// A rule, with only the fields `check` reads: the rest (`labels`, `for`, ...) is
/// Prometheus' business and `promtool check rules` checks it.
#[derive(Deserialize)]
struct Rule {
    record: Option<String>,
    alert: Option<String>,
    expr: Option<Spanned<ExprText>>,
}

/// An `expr`, which YAML may also read as a number (`expr: 1`).
#[derive(Deserialize)]
#[serde(untagged)]
enum ExprText {
    Text(String),
    Int(i64),
    Float(f64),
}

impl ExprText {
    fn text(&self) -> String {
        match self {
            ExprText::Text(s) => s.clone(),
            ExprText::Int(i) => i.to_string(),
            ExprText::Float(f) => f.to_string(),
        }
    }
}

/// The queries of a Prometheus rule file: one per recording or alerting rule.
pub fn rule_file_queries(path: &Path) -> Result<Vec<Query>, CheckError> {
    let (file, text) = read(path)?;
    rule_text_queries(&file, &text).map_err(|p| CheckError::Spec(p.in_file(&file, &text)))
}

fn rule_text_queries(file: &str, text: &str) -> Result<Vec<Query>, Problem> {
    let doc: Spanned<RuleFile> =
        serde_saphyr::from_str(text).map_err(|e| Problem::from_yaml(&e))?;
    let start = Pos::at(&doc);
    let doc = doc.value;
    let groups = match (doc.groups, doc.spec) {
        (Some(g), _) => g,
        (None, Some(s)) => s.groups,
        (None, None) => {
            return Err(Problem::new(
                start,
                "not a Prometheus rule file: expected `groups:` (or a PrometheusRule's `spec.groups`)",
            ));
        }
    };
    let mut out = Vec::new();
    for rule in groups.iter().flat_map(|g| &g.rules) {
        let pos = Pos::at(rule);
        let (kind, name) = match (&rule.value.record, &rule.value.alert) {
            (Some(r), None) => (QueryKind::Record, r.clone()),
            (None, Some(a)) => (QueryKind::Alert, a.clone()),
            _ => {
                return Err(Problem::new(
                    pos,
                    "a rule needs exactly one of `record` and `alert`",
                ));
            }
        };
        let Some(expr) = &rule.value.expr else {
            return Err(Problem::new(pos, format!("rule `{name}` has no `expr`")));
        };
        out.push(Query {
            kind,
            file: file.to_string(),
            name,
            expr: expr.value.text(),
            line: Pos::at(expr).line,
            ..Query::default()
        });
    }
    Ok(out)
}

/// The queries of a Grafana dashboard: every Prometheus target of every panel (in rows
/// too), then every query variable's query (kind [`QueryKind::Variable`]). Each carries
/// the dashboard's variables, so [`super::run`] substitutes them as Grafana would.
pub fn dashboard_queries(path: &Path) -> Result<Vec<Query>, CheckError> {
    let (file, text) = read(path)?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| {
        let msg = e.to_string();
        let msg = match msg.rfind(" at line ") {
            Some(i) => msg[..i].to_string(),
            None => msg,
        };
        let pos = Pos {
            line: e.line() as u64,
            column: e.column() as u64,
        };
        CheckError::Spec(Problem::new(pos, msg).in_file(&file, &text))
    })?;
    dashboard_value_queries(&file, &doc)
        .map_err(|m| CheckError::Spec(Problem::new(Pos::default(), m).in_file(&file, &text)))
}

fn dashboard_value_queries(file: &str, doc: &Value) -> Result<Vec<Query>, String> {
    // An export through the HTTP API wraps the dashboard in `{"dashboard": ...}`.
    let dash = match doc.get("dashboard") {
        Some(d) if doc.get("panels").is_none() && d.is_object() => d,
        _ => doc,
    };
    if !dash.is_object() || (dash.get("panels").is_none() && dash.get("rows").is_none()) {
        return Err("not a Grafana dashboard: expected an object with `panels`".into());
    }
    let title = str_of(dash.get("title"))
        .unwrap_or("(untitled)")
        .to_string();
    let variables: Arc<Vec<Variable>> = Arc::new(
        dash.pointer("/templating/list")
            .and_then(Value::as_array)
            .map(|l| l.iter().filter_map(variable).collect())
            .unwrap_or_default(),
    );
    let mut out = Vec::new();
    let mut panels = Vec::new();
    for key in ["panels", "rows"] {
        if let Some(list) = dash.get(key).and_then(Value::as_array) {
            flatten_panels(list, &mut panels);
        }
    }
    for panel in panels {
        let panel_title = str_of(panel.get("title"))
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| format!("panel {}", panel.get("id").unwrap_or(&Value::Null)));
        let panel_foreign = foreign(panel.get("datasource"));
        for target in panel
            .get("targets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(expr) = str_of(target.get("expr")).filter(|e| !e.trim().is_empty()) else {
                continue;
            };
            let foreign = match target.get("datasource") {
                Some(ds) if ds.is_object() => foreign(Some(ds)),
                _ => panel_foreign,
            };
            if foreign {
                continue;
            }
            let ref_id = str_of(target.get("refId")).unwrap_or("A");
            out.push(Query {
                kind: QueryKind::Panel,
                file: file.to_string(),
                name: format!("{title} / {panel_title} [{ref_id}]"),
                expr: expr.to_string(),
                variables: variables.clone(),
                ..Query::default()
            });
        }
    }
    for (i, v) in variables.iter().enumerate() {
        if v.kind == "query" && !v.foreign && !v.query.trim().is_empty() {
            out.push(Query {
                kind: QueryKind::Variable,
                file: file.to_string(),
                name: format!("{title} / {}", v.name),
                expr: v.query.clone(),
                variables: variables.clone(),
                variable: Some(i),
                ..Query::default()
            });
        }
    }
    Ok(out)
}

/// Panels in display order, rows replaced by the panels they hold (a collapsed row keeps
/// its panels inside it).
fn flatten_panels<'a>(list: &'a [Value], out: &mut Vec<&'a Value>) {
    for p in list {
        if p.get("targets").is_some() {
            out.push(p);
        }
        if let Some(inner) = p.get("panels").and_then(Value::as_array) {
            flatten_panels(inner, out);
        }
    }
}

/// A data source that is set and is not Prometheus (a string is a name or a
/// `${DS_...}` variable: assumed Prometheus).
fn foreign(ds: Option<&Value>) -> bool {
    ds.and_then(|d| d.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t != "prometheus" && !t.starts_with("${") && t != "datasource")
}

fn variable(v: &Value) -> Option<Variable> {
    let name = str_of(v.get("name"))?.to_string();
    let query = match v.get("query") {
        Some(Value::String(s)) => s.clone(),
        Some(q @ Value::Object(_)) => str_of(q.get("query")).unwrap_or_default().to_string(),
        _ => String::new(),
    };
    let current = match v.pointer("/current/value") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|s| str_of(Some(s)))
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    let options = v
        .get("options")
        .and_then(Value::as_array)
        .map(|o| {
            o.iter()
                .filter_map(|o| str_of(o.get("value")).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Some(Variable {
        name,
        kind: str_of(v.get("type")).unwrap_or("query").to_string(),
        query,
        regex: str_of(v.get("regex"))
            .filter(|r| !r.is_empty())
            .map(str::to_string),
        multi: v.get("multi").and_then(Value::as_bool).unwrap_or(false),
        include_all: v
            .get("includeAll")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        all_value: str_of(v.get("allValue"))
            .filter(|a| !a.is_empty())
            .map(str::to_string),
        current,
        options,
        foreign: foreign(v.get("datasource")),
    })
}

fn str_of(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
}

fn read(path: &Path) -> Result<(String, String), CheckError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| CheckError::Read {
        path: file.clone(),
        source,
    })?;
    Ok((file, text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rule_files_give_one_query_per_rule_with_its_line() {
        let text = "groups:\n  - name: g\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n      - alert: Down\n        expr: up == 0\n        for: 1m\n        labels: {severity: page}\n      - record: one\n        expr: 1\n";
        let q = rule_text_queries("r.yml", text).unwrap();
        let got: Vec<(QueryKind, &str, &str, u64)> = q
            .iter()
            .map(|q| (q.kind, q.name.as_str(), q.expr.as_str(), q.line))
            .collect();
        assert_eq!(
            got,
            [
                (QueryKind::Record, "job:up:sum", "sum by (job) (up)", 5),
                (QueryKind::Alert, "Down", "up == 0", 7),
                (QueryKind::Record, "one", "1", 11),
            ]
        );
        let crd = "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nspec:\n  groups:\n    - name: g\n      rules:\n        - alert: A\n          expr: up\n";
        assert_eq!(rule_text_queries("c.yml", crd).unwrap().len(), 1);
    }

    #[test]
    fn bad_rule_files_point_at_the_line() {
        let e = rule_text_queries(
            "r.yml",
            "groups:\n  - name: g\n    rules:\n      - expr: up\n",
        )
        .unwrap_err()
        .in_file("r.yml", "");
        assert_eq!((e.pos.line, e.pos.column), (4, 9), "{e}");
        assert!(
            e.message.contains("exactly one of `record` and `alert`"),
            "{e}"
        );
        let text = "groups:\n  - name: g\n    rules: [\n";
        let e = rule_text_queries("r.yml", text)
            .unwrap_err()
            .in_file("r.yml", text);
        assert!(e.to_string().starts_with("r.yml:"), "{e}");
        assert!(e.pos.line >= 3, "{e}");
        let e = rule_text_queries("r.yml", "foo: 1\n").unwrap_err();
        assert!(
            e.message.contains("not a Prometheus rule file"),
            "{}",
            e.message
        );
    }

    #[test]
    fn dashboards_give_panel_targets_and_variable_queries() {
        let d = json!({
            "title": "D",
            "templating": {"list": [
                {"name": "job", "type": "query", "query": {"query": "label_values(up, job)"}, "includeAll": true, "allValue": ".+"},
                {"name": "iv", "type": "custom", "query": "a,b", "current": {"value": ["a"]}},
                {"name": "logs", "type": "query", "query": "x", "datasource": {"type": "loki"}}
            ]},
            "panels": [
                {"type": "timeseries", "title": "Up", "targets": [{"expr": "up{job=~\"$job\"}", "refId": "A"}, {"refId": "B"}]},
                {"type": "row", "title": "r", "collapsed": true, "panels": [
                    {"type": "stat", "id": 7, "targets": [{"expr": "count(up)", "refId": "C"}]},
                    {"type": "logs", "title": "L", "datasource": {"type": "loki"}, "targets": [{"expr": "{app=\"x\"}"}]}
                ]}
            ]
        });
        let q = dashboard_value_queries("d.json", &d).unwrap();
        let got: Vec<(QueryKind, &str, &str)> = q
            .iter()
            .map(|q| (q.kind, q.name.as_str(), q.expr.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (QueryKind::Panel, "D / Up [A]", "up{job=~\"$job\"}"),
                (QueryKind::Panel, "D / panel 7 [C]", "count(up)"),
                (QueryKind::Variable, "D / job", "label_values(up, job)"),
            ]
        );
        let vars = &q[0].variables;
        assert_eq!(vars.len(), 3);
        assert_eq!(vars[0].all_value.as_deref(), Some(".+"));
        assert!(vars[0].include_all && !vars[0].foreign && vars[2].foreign);
        assert_eq!(vars[1].current, ["a"]);
        assert_eq!(q[2].variable, Some(0));
        assert!(dashboard_value_queries("x.json", &json!({"a": 1})).is_err());
    }

    #[test]
    fn bad_json_points_at_the_line() {
        let dir = std::env::temp_dir().join(format!("lw-check-json-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("d.json");
        std::fs::write(&path, "{\n  \"panels\": [\n    {\"title\": }\n  ]\n}\n").unwrap();
        let err = dashboard_queries(&path).unwrap_err().to_string();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(err.contains("d.json:3:15: expected value"), "{err}");
    }
}
