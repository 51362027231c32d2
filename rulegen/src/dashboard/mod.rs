//! Model + catalog → Grafana dashboards (classic dashboard JSON, `schemaVersion` 39, which
//! Grafana 10–12 import and file provisioning loads).
//!
//! Two kinds: a per-service SLO dashboard built from the validated [`Service`] (one row per
//! SLO: objective, SLI over time, remaining error budget, burn rate per alert window with
//! the alert factors drawn as threshold lines, firing alerts), and the stock dashboards for
//! the exporter's sources, built from the panel definitions in [`crate::stock`] whose units
//! come from `lakewatch-catalog`.
//!
//! Layout is computed, not written by hand: panels flow left to right in 24 columns under
//! their row, so skipping a panel (its collector is not in the catalog yet) never leaves a
//! hole or an overlap. Output is `serde_json`'s pretty printer with every object's keys
//! sorted, so the same input gives byte-identical files.

use std::sync::LazyLock;

use serde::Serialize;
use serde_json::{Value, json};

/// Grafana's grid width.
pub const GRID_COLUMNS: u32 = 24;
/// The classic JSON model version we write (Grafana 10.4+; 11 and 12 migrate it on load).
pub const SCHEMA_VERSION: u32 = 39;
/// The name of the datasource variable every panel uses.
pub const DATASOURCE_VAR: &str = "datasource";

/// A dashboard before layout.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// Grafana's uid: stable, so links and provisioning survive regeneration.
    pub uid: String,
    /// The title shown in Grafana.
    pub title: String,
    /// What the dashboard is for (Grafana's description).
    pub description: String,
    /// Grafana tags, for search and dashboard links.
    pub tags: Vec<String>,
    /// Template variables after the datasource one.
    pub variables: Vec<Value>,
    /// Its rows, top to bottom.
    pub rows: Vec<Row>,
    /// Time range shown by default (`now-<range>` to now).
    pub range: String,
}

/// A titled row of panels.
#[derive(Debug, Clone)]
pub struct Row {
    /// The row's title.
    pub title: String,
    /// Its panels, left to right, wrapping.
    pub panels: Vec<Panel>,
}

/// One visualisation.
#[derive(Debug, Clone)]
pub struct Panel {
    /// The panel's title.
    pub title: String,
    /// Hover text: what the panel shows and how to read it.
    pub description: String,
    /// The visualisation.
    pub kind: Kind,
    /// Width in grid columns (of 24).
    pub width: u32,
    /// Height in grid rows.
    pub height: u32,
    /// Its queries.
    pub targets: Vec<Target>,
    /// Grafana unit id (`bytes`, `s`, `percentunit`, …).
    pub unit: String,
    /// Lower end of the axis or gauge; `None` for Grafana's automatic one.
    pub min: Option<f64>,
    /// Upper end of the axis or gauge; `None` for Grafana's automatic one.
    pub max: Option<f64>,
    /// Threshold steps above the base colour: (value, colour).
    pub thresholds: Vec<(f64, String)>,
    /// Draw thresholds as lines on a time series.
    pub threshold_lines: bool,
    /// A table's cell options (`custom.cellOptions`, e.g. coloured backgrounds).
    pub cells: Option<Value>,
    /// Data links on every value (Grafana's `fieldConfig.defaults.links`).
    pub links: Vec<Value>,
}

/// Panel plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A graph over time.
    TimeSeries,
    /// A single number.
    Stat,
    /// A gauge.
    Gauge,
    /// A table of instant values.
    Table,
}

impl Kind {
    fn plugin(self) -> &'static str {
        match self {
            Kind::TimeSeries => "timeseries",
            Kind::Stat => "stat",
            Kind::Gauge => "gauge",
            Kind::Table => "table",
        }
    }
}

/// A PromQL query of a panel.
#[derive(Debug, Clone)]
pub struct Target {
    /// The PromQL query (may use dashboard variables).
    pub expr: String,
    /// Grafana's legend format (`{{label}}`).
    pub legend: String,
    /// Instant query (tables and current-value stats).
    pub instant: bool,
    /// A table's name for this query's value column (see [`Panel::column`]).
    pub column: Option<String>,
}

impl Panel {
    /// A panel of `kind` with defaults; chain the setters below.
    pub fn new(kind: Kind, title: &str, unit: &str) -> Panel {
        let (width, height) = match kind {
            Kind::Stat | Kind::Gauge => (6, 4),
            _ => (12, 8),
        };
        Panel {
            title: title.to_string(),
            description: String::new(),
            kind,
            width,
            height,
            targets: Vec::new(),
            unit: unit.to_string(),
            min: None,
            max: None,
            thresholds: Vec::new(),
            threshold_lines: false,
            cells: None,
            links: Vec::new(),
        }
    }

    /// Adds a query.
    pub fn query(mut self, expr: &str, legend: &str) -> Panel {
        self.targets.push(Target {
            expr: expr.to_string(),
            legend: legend.to_string(),
            instant: matches!(self.kind, Kind::Table),
            column: None,
        });
        self
    }

    /// Adds a table query whose value column is called `name` instead of Grafana's
    /// `Value` / `Value #A` (a table ignores `legendFormat`).
    pub fn column(mut self, expr: &str, name: &str) -> Panel {
        self = self.query(expr, name);
        if let Some(t) = self.targets.last_mut() {
            t.column = Some(name.to_string());
        }
        self
    }

    /// Width (of 24 grid columns) and height.
    pub fn size(mut self, width: u32, height: u32) -> Panel {
        self.width = width;
        self.height = height;
        self
    }

    /// Hover text.
    pub fn describe(mut self, text: &str) -> Panel {
        self.description = text.to_string();
        self
    }

    /// Axis or gauge bounds.
    pub fn range(mut self, min: Option<f64>, max: Option<f64>) -> Panel {
        self.min = min;
        self.max = max;
        self
    }

    /// Colour steps; for time series also drawn as dashed lines.
    pub fn thresholds(mut self, steps: &[(f64, &str)]) -> Panel {
        self.thresholds = steps.iter().map(|(v, c)| (*v, c.to_string())).collect();
        self.threshold_lines = self.kind == Kind::TimeSeries;
        self
    }
}

/// Lays out and renders a dashboard as pretty JSON with a trailing newline.
pub fn render(d: &Dashboard) -> String {
    let mut text = serde_json::to_string_pretty(&layout(d)).expect("dashboard JSON serializes");
    text.push('\n');
    text
}

/// The dashboard as a JSON value (panels laid out, ids assigned).
pub fn to_json(d: &Dashboard) -> Value {
    serde_json::to_value(layout(d)).expect("dashboard JSON serializes")
}

fn layout(d: &Dashboard) -> DashboardJson<'_> {
    let mut panels = Vec::new();
    let mut id = 0u32;
    let mut y = 0u32;
    for row in &d.rows {
        id += 1;
        panels.push(PanelJson::Row(RowJson {
            collapsed: false,
            grid_pos: GridPos {
                h: 1,
                w: GRID_COLUMNS,
                x: 0,
                y,
            },
            id,
            panels: [],
            title: &row.title,
            kind: "row",
        }));
        y += 1;
        let (mut x, mut line_height) = (0u32, 0u32);
        for p in &row.panels {
            let w = p.width.clamp(1, GRID_COLUMNS);
            if x + w > GRID_COLUMNS {
                y += line_height;
                x = 0;
                line_height = 0;
            }
            id += 1;
            let grid_pos = GridPos {
                h: p.height,
                w,
                x,
                y,
            };
            panels.push(panel_json(p, id, grid_pos));
            x += w;
            line_height = line_height.max(p.height);
        }
        y += line_height;
    }
    let mut variables = vec![json!({
        "type": "datasource",
        "name": DATASOURCE_VAR,
        "label": "Data source",
        "query": "prometheus",
        "refresh": 1,
        "hide": 0,
    })];
    variables.extend(d.variables.iter().cloned());
    DashboardJson {
        annotations: json!({ "list": [{
            "builtIn": 1,
            "datasource": { "type": "grafana", "uid": "-- Grafana --" },
            "enable": true,
            "hide": true,
            "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts",
            "type": "dashboard",
        }]}),
        description: &d.description,
        editable: true,
        graph_tooltip: 1,
        links: [],
        panels,
        refresh: "1m",
        schema_version: SCHEMA_VERSION,
        tags: &d.tags,
        templating: Templating { list: variables },
        time: Time {
            from: format!("now-{}", d.range),
            to: "now",
        },
        timezone: "browser",
        title: &d.title,
        uid: &d.uid,
        version: 1,
    }
}

fn panel_json(p: &Panel, id: u32, grid_pos: GridPos) -> PanelJson<'_> {
    let targets = p
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| TargetJson {
            datasource: PROMETHEUS,
            expr: &t.expr,
            format: if p.kind == Kind::Table {
                "table"
            } else {
                "time_series"
            },
            instant: t.instant,
            legend_format: if t.legend.is_empty() {
                "__auto"
            } else {
                &t.legend
            },
            range: !t.instant,
            ref_id: char::from(b'A' + (i % 26) as u8),
        })
        .collect();
    let mut steps = vec![Step {
        color: "green",
        value: None,
    }];
    steps.extend(p.thresholds.iter().map(|(v, c)| Step {
        color: c,
        value: Some(*v),
    }));
    let time_series = p.kind == Kind::TimeSeries;
    PanelJson::Viz(Box::new(VizJson {
        datasource: PROMETHEUS,
        description: &p.description,
        field_config: FieldConfig {
            defaults: Defaults {
                color: Mode {
                    mode: if time_series {
                        "palette-classic"
                    } else {
                        "thresholds"
                    },
                },
                custom: if time_series {
                    Some(CustomJson::Series(Custom {
                        draw_style: "line",
                        fill_opacity: 10,
                        line_width: 1,
                        show_points: "never",
                        span_nulls: false,
                        thresholds_style: Mode {
                            mode: if p.threshold_lines { "dashed" } else { "off" },
                        },
                    }))
                } else {
                    p.cells
                        .as_ref()
                        .map(|c| CustomJson::Table(json!({ "cellOptions": c })))
                },
                links: &p.links,
                max: p.max,
                min: p.min,
                thresholds: Thresholds {
                    mode: "absolute",
                    steps,
                },
                unit: &p.unit,
            },
            overrides: [],
        },
        grid_pos,
        id,
        options: options(p.kind),
        targets,
        title: &p.title,
        transformations: (p.kind == Kind::Table).then(|| table_transformations(p)),
        kind: p.kind.plugin(),
    }))
}

/// A table's transformations. Instant table queries return one value column per query
/// plus the labels; `merge` joins them on the labels so each series is one row. Grafana
/// names a lone query's value column `Value` and several `Value #<refId>`; `organize`
/// renames those the panel named with [`Panel::column`] and hides the `Time` column.
fn table_transformations(p: &Panel) -> Value {
    let mut list = vec![json!({ "id": "merge", "options": {} })];
    let mut rename = serde_json::Map::new();
    for (i, t) in p.targets.iter().enumerate() {
        if let Some(name) = &t.column {
            let field = if p.targets.len() == 1 {
                "Value".to_string()
            } else {
                format!("Value #{}", char::from(b'A' + (i % 26) as u8))
            };
            rename.insert(field, Value::from(name.as_str()));
        }
    }
    if !rename.is_empty() {
        list.push(json!({
            "id": "organize",
            "options": {
                "excludeByName": { "Time": true, "__name__": true },
                "indexByName": {},
                "renameByName": rename,
            },
        }));
    }
    Value::Array(list)
}

/// A panel's `options`: the same for every panel of a kind, so built once.
fn options(kind: Kind) -> &'static Value {
    static TIME_SERIES: LazyLock<Value> = LazyLock::new(|| {
        json!({
            "legend": { "displayMode": "list", "placement": "bottom", "showLegend": true },
            "tooltip": { "mode": "multi", "sort": "desc" },
        })
    });
    static STAT: LazyLock<Value> = LazyLock::new(|| {
        json!({
            "reduceOptions": { "calcs": ["lastNotNull"], "fields": "", "values": false },
            "colorMode": "value",
            "graphMode": "area",
            "textMode": "auto",
            "justifyMode": "auto",
            "orientation": "auto",
        })
    });
    static GAUGE: LazyLock<Value> = LazyLock::new(|| {
        json!({
            "reduceOptions": { "calcs": ["lastNotNull"], "fields": "", "values": false },
            "showThresholdLabels": false,
            "showThresholdMarkers": true,
        })
    });
    static TABLE: LazyLock<Value> =
        LazyLock::new(|| json!({ "showHeader": true, "cellHeight": "sm" }));
    match kind {
        Kind::TimeSeries => &TIME_SERIES,
        Kind::Stat => &STAT,
        Kind::Gauge => &GAUGE,
        Kind::Table => &TABLE,
    }
}

// ---- the JSON model ----------------------------------------------------------------------
//
// Panels are written straight from these borrowing structs, not through a
// `serde_json::Value` tree: building the tree (a sorted map and owned strings per key) was
// most of rulegen's time on large spec sets (issue 9). Every struct declares its fields in
// the order a `Value` map sorts them, so files stay as the tree printed them;
// `keys_are_sorted_like_a_json_value` checks it.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DashboardJson<'a> {
    annotations: Value,
    description: &'a str,
    editable: bool,
    graph_tooltip: u32,
    links: [(); 0],
    panels: Vec<PanelJson<'a>>,
    refresh: &'static str,
    schema_version: u32,
    tags: &'a [String],
    templating: Templating,
    time: Time,
    timezone: &'static str,
    title: &'a str,
    uid: &'a str,
    version: u32,
}

#[derive(Serialize)]
struct Templating {
    list: Vec<Value>,
}

#[derive(Serialize)]
struct Time {
    from: String,
    to: &'static str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum PanelJson<'a> {
    Row(RowJson<'a>),
    Viz(Box<VizJson<'a>>),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RowJson<'a> {
    collapsed: bool,
    grid_pos: GridPos,
    id: u32,
    panels: [(); 0],
    title: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VizJson<'a> {
    datasource: Datasource,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    field_config: FieldConfig<'a>,
    grid_pos: GridPos,
    id: u32,
    options: &'static Value,
    targets: Vec<TargetJson<'a>>,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    transformations: Option<Value>,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize, Clone, Copy)]
struct GridPos {
    h: u32,
    w: u32,
    x: u32,
    y: u32,
}

#[derive(Serialize)]
struct Datasource {
    #[serde(rename = "type")]
    kind: &'static str,
    uid: &'static str,
}

/// Every panel's and query's datasource: the [`DATASOURCE_VAR`] variable.
const PROMETHEUS: Datasource = Datasource {
    kind: "prometheus",
    uid: "${datasource}",
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TargetJson<'a> {
    datasource: Datasource,
    expr: &'a str,
    format: &'static str,
    instant: bool,
    legend_format: &'a str,
    range: bool,
    ref_id: char,
}

#[derive(Serialize)]
struct FieldConfig<'a> {
    defaults: Defaults<'a>,
    overrides: [(); 0],
}

#[derive(Serialize)]
struct Defaults<'a> {
    color: Mode,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom: Option<CustomJson>,
    #[serde(skip_serializing_if = "<[Value]>::is_empty")]
    links: &'a [Value],
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<f64>,
    thresholds: Thresholds<'a>,
    unit: &'a str,
}

#[derive(Serialize)]
struct Mode {
    mode: &'static str,
}

/// A panel's `custom` field config: a time series' line style, or a table's cells.
#[derive(Serialize)]
#[serde(untagged)]
enum CustomJson {
    Series(Custom),
    Table(Value),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Custom {
    draw_style: &'static str,
    fill_opacity: u32,
    line_width: u32,
    show_points: &'static str,
    span_nulls: bool,
    thresholds_style: Mode,
}

#[derive(Serialize)]
struct Thresholds<'a> {
    mode: &'static str,
    steps: Vec<Step<'a>>,
}

#[derive(Serialize)]
struct Step<'a> {
    color: &'a str,
    value: Option<f64>,
}

/// A Grafana uid (at most 40 characters) derived from a name: readable while it fits,
/// otherwise a prefix plus a stable hash, so renaming nothing never changes a link.
pub fn uid_for(prefix: &str, name: &str) -> String {
    let full = format!("{prefix}-{name}");
    if full.len() <= 40 {
        return full;
    }
    // FNV-1a: fixed, dependency-free and stable across Rust releases (unlike DefaultHasher).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let hash = format!("{h:016x}");
    let keep = 40 - 1 - 12;
    format!("{}-{}", &full[..keep].trim_end_matches('-'), &hash[..12])
}

mod overview;
mod slo;
pub use overview::{OVERVIEW_FILE, overview_dashboard};
pub use slo::{slo_dashboard, slo_file_name};

/// A Prometheus query variable over `query` (a Grafana `label_values(...)`),
/// multi-select with All.
///
/// No custom `allValue`: Grafana's All then stands for the regex of the values the query
/// listed. An All of `.*` would also match the series of other jobs and targets (a real
/// node_exporter, postgres_exporter or cAdvisor emits the same names), and a series that
/// lacks the label entirely.
pub fn query_variable(name: &str, label: &str, query: &str) -> Value {
    serde_json::json!({
        "type": "query",
        "name": name,
        "label": label,
        "datasource": { "type": "prometheus", "uid": "${datasource}" },
        // A plain string query: Grafana 10–12 read it for Prometheus, and the schema
        // only allows objects of objects for the structured form.
        "query": query,
        "definition": query,
        "refresh": 2,
        "multi": true,
        "includeAll": true,
        "sort": 1,
        "hide": 0,
    })
}

/// The labels any of `slos` is grouped by, each once, in the order first seen.
pub fn group_labels<'a>(slos: impl IntoIterator<Item = &'a crate::model::Slo>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for slo in slos {
        for l in slo.group_labels() {
            if !out.contains(l) {
                out.push(l.clone());
            }
        }
    }
    out
}

/// All Grafana template variable references (`$x`, `${x}`, `[[x]]`) replaced by values
/// PromQL accepts, so dashboard queries can be parsed and checked like rules.
pub fn substitute_variables(expr: &str) -> String {
    let mut s = expr.to_string();
    for (var, value) in [
        ("${__rate_interval}", "5m"),
        ("$__rate_interval", "5m"),
        ("$__interval", "1m"),
        ("$__range", "1h"),
    ] {
        s = s.replace(var, value);
    }
    // Remaining `$name` only occur inside label matcher strings in our queries.
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_stable_and_short() {
        assert_eq!(
            uid_for("lakewatch-slo", "checkout"),
            "lakewatch-slo-checkout"
        );
        let long = uid_for("lakewatch-slo", &"a".repeat(100));
        assert_eq!(long.len(), 40);
        assert_eq!(long, uid_for("lakewatch-slo", &"a".repeat(100)));
        assert_ne!(long, uid_for("lakewatch-slo", &"a".repeat(99)));
    }

    #[test]
    fn keys_are_sorted_like_a_json_value() {
        let d = Dashboard {
            uid: "u".into(),
            title: "t".into(),
            description: "d".into(),
            tags: vec!["x".into()],
            variables: vec![json!({ "name": "v", "type": "custom" })],
            range: "1h".into(),
            rows: vec![Row {
                title: "r".into(),
                panels: vec![
                    Panel::new(Kind::TimeSeries, "a", "short")
                        .describe("about a")
                        .range(Some(0.0), Some(1.5))
                        .query("up", "")
                        .query("up", "{{job}}")
                        .thresholds(&[(-1e9, "red"), (0.25, "yellow")]),
                    Panel::new(Kind::Stat, "b", "s").query("up", "x"),
                    Panel::new(Kind::Gauge, "c", "percentunit").thresholds(&[(0.5, "green")]),
                    Panel::new(Kind::Table, "d", "short").query("ALERTS", "{{alertname}}"),
                ],
            }],
        };
        let text = render(&d);
        let value: Value = serde_json::from_str(&text).unwrap();
        // A `Value` prints its objects' keys sorted: the struct fields must be in that order.
        assert_eq!(text, serde_json::to_string_pretty(&value).unwrap() + "\n");
        assert_eq!(value, to_json(&d));
        let a = &value["panels"][1];
        assert_eq!(a["datasource"]["uid"], format!("${{{DATASOURCE_VAR}}}"));
        assert_eq!(
            a["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"],
            -1e9
        );
        assert_eq!(
            a["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"],
            "dashed"
        );
        assert_eq!(a["targets"][1]["refId"], "B");
        assert_eq!(value["panels"][4]["transformations"][0]["id"], "merge");
    }

    #[test]
    fn layout_wraps_rows_at_24_columns() {
        let d = Dashboard {
            uid: "u".into(),
            title: "t".into(),
            description: String::new(),
            tags: vec![],
            variables: vec![],
            range: "1h".into(),
            rows: vec![Row {
                title: "r".into(),
                panels: vec![
                    Panel::new(Kind::TimeSeries, "a", "short").size(16, 8),
                    Panel::new(Kind::TimeSeries, "b", "short").size(16, 6),
                    Panel::new(Kind::Stat, "c", "short").size(8, 4),
                ],
            }],
        };
        let v = to_json(&d);
        let pos: Vec<(u64, u64)> = v["panels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["gridPos"]["x"].as_u64().unwrap(),
                    p["gridPos"]["y"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(pos, [(0, 0), (0, 1), (0, 9), (16, 9)]);
    }
}
