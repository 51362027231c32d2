//! PromQL checks shared by validation and generation: every user query and every
//! expression we generate goes through `promql-parser` before it is written, and selectors
//! that name a metric from `lakewatch-catalog` are type-checked against it.

use lakewatch_catalog::{Kind, Metric};
use promql_parser::parser::{self, Expr};

/// Labels Prometheus attaches at scrape time: present on every series whatever the catalog
/// says.
const TARGET_LABELS: [&str; 2] = ["job", "instance"];

/// Functions whose argument must be a counter.
const COUNTER_FUNCTIONS: [&str; 4] = ["rate", "irate", "increase", "resets"];

/// Parses a PromQL expression, returning the parser's message on failure.
pub fn parse(expr: &str) -> Result<Expr, String> {
    parser::parse(expr).map_err(|e| e.trim().to_string())
}

/// A vector selector found in a query, and whether it sits under `rate()` & co.
struct Use<'a> {
    name: Option<String>,
    labels: Vec<&'a str>,
    under_counter_fn: bool,
}

fn collect<'a>(expr: &'a Expr, under: bool, out: &mut Vec<Use<'a>>) {
    match expr {
        Expr::Aggregate(a) => {
            collect(&a.expr, under, out);
            if let Some(p) = &a.param {
                collect(p, under, out);
            }
        }
        Expr::Unary(u) => collect(&u.expr, under, out),
        Expr::Binary(b) => {
            collect(&b.lhs, under, out);
            collect(&b.rhs, under, out);
        }
        Expr::Paren(p) => collect(&p.expr, under, out),
        // A subquery's points are instant values, whatever the outer function does.
        Expr::Subquery(s) => collect(&s.expr, false, out),
        Expr::VectorSelector(vs) => out.push(selector_use(vs, under)),
        Expr::MatrixSelector(ms) => out.push(selector_use(&ms.vs, under)),
        Expr::Call(c) => {
            let counter_fn = COUNTER_FUNCTIONS.contains(&c.func.name);
            for arg in &c.args.args {
                collect(arg, counter_fn, out);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

fn selector_use(vs: &promql_parser::parser::VectorSelector, under: bool) -> Use<'_> {
    let name = vs.name.clone().or_else(|| {
        vs.matchers
            .matchers
            .iter()
            .find(|m| m.name == "__name__" && m.op.to_string() == "=")
            .map(|m| m.value.clone())
    });
    let labels = vs
        .matchers
        .matchers
        .iter()
        .chain(vs.matchers.or_matchers.iter().flatten())
        .map(|m| m.name.as_str())
        .filter(|n| *n != "__name__")
        .collect();
    Use {
        name,
        labels,
        under_counter_fn: under,
    }
}

/// Checks every selector in `expr` that names a catalog metric: the series exists, its type
/// fits how it is used, and its label matchers use labels it has. Unknown metric names are
/// the user's own and pass.
pub fn check_catalog(expr: &Expr) -> Result<(), String> {
    let mut uses = Vec::new();
    collect(expr, false, &mut uses);
    for u in uses {
        let Some(name) = u.name.as_deref() else {
            continue;
        };
        let Some(metric) = lakewatch_catalog::lookup(name) else {
            continue;
        };
        check_use(metric, name, &u.labels, u.under_counter_fn)?;
    }
    Ok(())
}

fn check_use(metric: &Metric, series: &str, labels: &[&str], under: bool) -> Result<(), String> {
    let counter_like = match metric.kind {
        Kind::Counter => true,
        Kind::Histogram => {
            if series == metric.name {
                return Err(format!(
                    "`{series}` is a histogram: query `{series}_bucket`, `{series}_sum` or `{series}_count`"
                ));
            }
            true
        }
        Kind::Gauge | Kind::Info => false,
        // Counter-like values without `_total`: both uses are legitimate.
        Kind::Unknown => return check_labels(metric, series, labels),
    };
    if counter_like && !under {
        return Err(format!(
            "`{series}` is a {}: wrap it in rate() or increase()",
            metric.kind.as_str()
        ));
    }
    if !counter_like && under {
        return Err(format!(
            "`{series}` is a {}: rate() and increase() need a counter",
            metric.kind.as_str()
        ));
    }
    check_labels(metric, series, labels)
}

fn check_labels(metric: &Metric, series: &str, labels: &[&str]) -> Result<(), String> {
    let bucket = metric.kind == Kind::Histogram && series.ends_with("_bucket");
    for l in labels {
        let known =
            metric.labels.contains(l) || TARGET_LABELS.contains(l) || (bucket && *l == "le");
        if !known {
            let mut have: Vec<&str> = metric.labels.to_vec();
            have.extend(TARGET_LABELS);
            return Err(format!(
                "`{series}` has no label `{l}` (it has: {})",
                have.join(", ")
            ));
        }
    }
    Ok(())
}

/// The metric names every selector in `expr` reads (by name or `__name__="..."`), sorted
/// and deduplicated. Selectors without a fixed name are left out.
pub fn metric_names(expr: &Expr) -> Vec<String> {
    let mut uses = Vec::new();
    collect(expr, false, &mut uses);
    let mut names: Vec<String> = uses.into_iter().filter_map(|u| u.name).collect();
    names.sort();
    names.dedup();
    names
}

/// Parses a generated expression; a failure is a bug in rulegen, not in the user's spec,
/// and the message says so.
pub fn check_generated(expr: &str) -> Result<(), String> {
    parse(expr).map(|_| ()).map_err(|e| {
        format!("rulegen generated invalid PromQL (a bug, please report it): {e}\n{expr}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(q: &str) -> Result<(), String> {
        check_catalog(&parse(q)?)
    }

    #[test]
    fn unknown_metrics_pass() {
        assert_eq!(
            check("sum(rate(my_app_requests_total{code=~\"5..\"}[5m]))"),
            Ok(())
        );
        assert_eq!(check("my_gauge > 3"), Ok(()));
    }

    #[test]
    fn counters_need_rate_and_gauges_must_not_have_it() {
        assert_eq!(check("rate(lakewatch_collector_errors_total[5m])"), Ok(()));
        let e = check("lakewatch_collector_errors_total > 1").unwrap_err();
        assert!(e.contains("is a counter"), "{e}");
        let e = check("rate(node_filesystem_avail_bytes[5m])").unwrap_err();
        assert!(e.contains("is a gauge"), "{e}");
        assert_eq!(
            check("avg_over_time(node_filesystem_avail_bytes[5m]) < 10"),
            Ok(())
        );
    }

    #[test]
    fn labels_must_exist() {
        assert_eq!(
            check("node_filesystem_avail_bytes{mountpoint=\"/\", job=\"node\"} < 1"),
            Ok(())
        );
        let e = check("node_filesystem_avail_bytes{mount=\"/\"} < 1").unwrap_err();
        assert!(e.contains("no label `mount`"), "{e}");
        assert!(e.contains("mountpoint"), "{e}");
    }

    #[test]
    fn name_matcher_is_a_metric_name() {
        let e = check("{__name__=\"node_filesystem_avail_bytes\", foo=\"x\"}").unwrap_err();
        assert!(e.contains("no label `foo`"), "{e}");
    }

    #[test]
    fn metric_names_are_collected() {
        let e = parse("sum(rate(a_total[5m])) / on() b{x=\"1\"} + {__name__=\"c\"} + max_over_time((d)[5m:1m])").unwrap();
        assert_eq!(metric_names(&e), ["a_total", "b", "c", "d"]);
    }

    #[test]
    fn parse_errors_are_reported() {
        assert!(parse("sum(rate(x[5m])").is_err());
        assert!(parse("rate(x[{{.window}}])").is_err());
        assert!(check_generated("1 +").unwrap_err().contains("a bug"));
    }
}
