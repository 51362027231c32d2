//! The checks the spec readers share: names, labels, objectives, periods, windows,
//! queries and selectors, each turning raw input into a model value or a located
//! [`Problem`]; and the warnings about suspicious but legal input.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use lakewatch_catalog::name::{is_label_name, is_reserved_label_name};
use regex::Regex;

use super::{DEFAULT_MAX_GROUPS, Grouping, Sli, WINDOW_PLACEHOLDER};
use crate::error::{Pos, Problem};
use crate::{duration, promql, window};

/// [`WINDOW_PLACEHOLDER`] as users write it, spaces allowed.
static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{\s*\.window\s*\}\}").expect("static regex is valid"));

/// SLO and service names become label values, group names and file names: keep them to
/// a portable alphabet.
pub fn check_name(what: &str, name: &str, pos: Pos) -> Result<String, Problem> {
    static NAME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^[a-z0-9]([a-z0-9_.-]{0,126}[a-z0-9])?$").expect("static regex is valid")
    });
    if NAME.is_match(name) {
        Ok(name.to_string())
    } else {
        Err(Problem::new(
            pos,
            format!(
                "{what} `{name}` is not a valid name: use 1-128 lowercase letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit"
            ),
        ))
    }
}

/// Alert names follow Prometheus metric-name rules so they are valid everywhere.
pub fn check_alert_name(name: &str, pos: Pos) -> Result<String, Problem> {
    static ALERT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*$").expect("static regex is valid"));
    if ALERT.is_match(name) {
        Ok(name.to_string())
    } else {
        Err(Problem::new(
            pos,
            format!("alert name `{name}` must match [A-Za-z_][A-Za-z0-9_]*"),
        ))
    }
}

/// Label names must be valid Prometheus label names and not reserved.
pub fn check_labels(
    labels: &BTreeMap<String, String>,
    pos: Pos,
) -> Result<BTreeMap<String, String>, Problem> {
    for k in labels.keys() {
        if !is_label_name(k) || is_reserved_label_name(k) {
            return Err(Problem::new(
                pos,
                format!(
                    "`{k}` is not a valid label name (letters, digits and `_`, not starting with `__`)"
                ),
            ));
        }
    }
    Ok(labels.clone())
}

/// The objective must leave a budget and ask for something.
pub fn check_objective(percent: f64, pos: Pos) -> Result<f64, Problem> {
    check_objective_inner(percent, pos)
}

/// A warning for a legal but suspicious objective: one below 1 (percent) is almost always
/// a ratio written where a percentage is expected (`0.999` for 99.9%), and would alert
/// on nearly everything being broken.
pub fn objective_warning(percent: f64, pos: Pos) -> Option<Problem> {
    (percent < 1.0).then(|| {
        Problem::new(
            pos,
            format!(
                "objective {} is in percent: {}% of events must be good; for {}% write {}",
                crate::num::format(percent, 6),
                crate::num::format(percent, 6),
                crate::num::format(percent * 100.0, 6),
                crate::num::format(percent * 100.0, 6),
            ),
        )
    })
}

/// The scrape interval rulegen assumes when `--scrape-interval` is not given: Prometheus'
/// default `scrape_interval`.
pub const DEFAULT_SCRAPE_INTERVAL_SECS: u64 = 60;

/// A warning for an SLI window of `window_secs` that holds fewer than two scrapes at
/// `scrape_secs`: `rate()` needs two samples in its range, so over such a window it is
/// empty or rests on one pair (on Prometheus 3, whose ranges are open at their start,
/// a window of one scrape interval always holds one sample).
pub fn window_warning(what: &str, window_secs: u64, scrape_secs: u64, pos: Pos) -> Option<Problem> {
    (window_secs < 2 * scrape_secs).then(|| {
        Problem::new(
            pos,
            format!(
                "{what} of {} is shorter than two scrape intervals ({} each, --scrape-interval): a rate over it has fewer than two samples and is often empty",
                duration::format(window_secs),
                duration::format(scrape_secs),
            ),
        )
    })
}

fn check_objective_inner(percent: f64, pos: Pos) -> Result<f64, Problem> {
    if percent.is_finite() && percent > 0.0 && percent < 100.0 {
        Ok(percent)
    } else {
        Err(Problem::new(
            pos,
            format!(
                "objective must be in (0, 100), got {}",
                crate::num::format(percent, 6)
            ),
        ))
    }
}

/// The period must be at least an hour and longer than every alert window it implies.
pub fn check_period(text: &str, pos: Pos) -> Result<u64, Problem> {
    let secs = duration::parse(text).map_err(|e| Problem::new(pos, format!("period: {e}")))?;
    if secs < 3600 {
        return Err(Problem::new(
            pos,
            format!("period must be at least 1h, got {text}"),
        ));
    }
    let longest = window::burn_windows(secs)
        .iter()
        .map(|w| w.long_secs)
        .max()
        .unwrap_or(0);
    if longest >= secs {
        return Err(Problem::new(
            pos,
            format!(
                "period {text} is not longer than its longest alert window ({})",
                duration::format(longest)
            ),
        ));
    }
    Ok(secs)
}

/// A ratio query: has the window placeholder, parses as PromQL once the placeholder is
/// filled in, and fits the catalog. Returns the query with the placeholder normalised.
pub fn check_window_query(what: &str, query: &str, pos: Pos) -> Result<String, Problem> {
    if !PLACEHOLDER.is_match(query) {
        return Err(Problem::new(
            pos,
            format!(
                "{what} has no {WINDOW_PLACEHOLDER} placeholder: write the range as [{WINDOW_PLACEHOLDER}] so every alert window can be computed"
            ),
        ));
    }
    let normalised = PLACEHOLDER
        .replace_all(query.trim(), WINDOW_PLACEHOLDER)
        .into_owned();
    check_query(what, &fill_window(&normalised, "5m"), pos)?;
    Ok(normalised)
}

/// A query without a window: parses as PromQL and fits the catalog.
pub fn check_query(what: &str, query: &str, pos: Pos) -> Result<String, Problem> {
    if PLACEHOLDER.is_match(query) {
        return Err(Problem::new(
            pos,
            format!("{what} must not use {WINDOW_PLACEHOLDER} here"),
        ));
    }
    let expr = promql::parse(query)
        .map_err(|e| Problem::new(pos, format!("{what} is not valid PromQL: {e}")))?;
    promql::check_catalog(&expr).map_err(|e| Problem::new(pos, format!("{what}: {e}")))?;
    Ok(query.trim().to_string())
}

/// The SLI's two 5m rates, as the rules record them ([`Sli::rates_by`] `group`), parse
/// and fit the catalog. Every spec reader runs this on every SLI, so rule generation does
/// not parse the rates (and compile their regex matchers) a second time.
pub fn check_sli_rates(sli: &Sli, group: &[String], pos: Pos) -> Result<(), Problem> {
    let (errors, total) = sli.rates_by(window::BASE_WINDOW_SECS, group);
    for q in [errors, total] {
        check_query("SLI", &q, pos)?;
    }
    Ok(())
}

/// `group_by` of a grouped SLO: label names, each once, none of those the rules find
/// their own series by, and a `max_groups` of at least 1.
pub fn check_grouping(
    labels: &[(String, Pos)],
    max_groups: Option<(u64, Pos)>,
) -> Result<Grouping, Problem> {
    let mut seen: Vec<&str> = Vec::new();
    for (l, pos) in labels {
        if !is_label_name(l) || is_reserved_label_name(l) {
            return Err(Problem::new(
                *pos,
                format!(
                    "`{l}` is not a valid label name (letters, digits and `_`, not starting with `__`)"
                ),
            ));
        }
        if ["service", "slo"].contains(&l.as_str()) {
            return Err(Problem::new(
                *pos,
                format!(
                    "`{l}` is the label the generated rules find their own series by; it cannot be a group label"
                ),
            ));
        }
        if seen.contains(&l.as_str()) {
            return Err(Problem::new(
                *pos,
                format!("`{l}` is listed twice in group_by"),
            ));
        }
        seen.push(l);
    }
    let max_groups = match max_groups {
        Some((0, pos)) => {
            return Err(Problem::new(pos, "max_groups must be at least 1"));
        }
        Some((n, _)) => n,
        None => DEFAULT_MAX_GROUPS,
    };
    Ok(Grouping {
        labels: labels.iter().map(|(l, _)| l.clone()).collect(),
        max_groups,
    })
}

/// A query of a grouped SLO must keep the group labels: rulegen sums its result by them,
/// and a query whose outermost aggregation drops one (`sum(rate(...))`) would leave
/// one group with every event in it.
pub fn check_keeps_labels(
    what: &str,
    query: &str,
    group: &[String],
    pos: Pos,
) -> Result<(), Problem> {
    use promql_parser::label::Labels;
    use promql_parser::parser::{Expr, LabelModifier};
    if group.is_empty() {
        return Ok(()); // nothing to keep, and no parse to pay for
    }
    let Ok(expr) = promql::parse(&fill_window(query, "5m")) else {
        return Ok(()); // reported by the query's own check
    };
    let mut e = &expr;
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    let Expr::Aggregate(agg) = e else {
        return Ok(());
    };
    let kept = |l: &String| match &agg.modifier {
        Some(LabelModifier::Include(Labels { labels })) => labels.contains(l),
        Some(LabelModifier::Exclude(Labels { labels })) => !labels.contains(l),
        None => false,
    };
    match group.iter().find(|l| !kept(l)) {
        Some(l) => Err(Problem::new(
            pos,
            format!(
                "{what} aggregates `{l}` away, but the SLO is grouped by it: write `sum by ({}) (...)` or leave the aggregation to rulegen",
                group.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

/// Replaces the window placeholder with a concrete range.
pub fn fill_window(template: &str, range: &str) -> String {
    template.replace(WINDOW_PLACEHOLDER, range)
}

/// A metric name plus an optional `{...}` selector, as used by latency and availability
/// SLIs. Returns the matchers without braces.
pub fn check_selector(metric: &str, selector: Option<&str>, pos: Pos) -> Result<String, Problem> {
    let inner = match selector.map(str::trim) {
        None | Some("") => String::new(),
        Some(s) => {
            let Some(inner) = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
                return Err(Problem::new(
                    pos,
                    format!(
                        "selector `{s}` must be label matchers in braces, like {{job=\"api\"}}"
                    ),
                ));
            };
            inner.trim().trim_end_matches(',').trim().to_string()
        }
    };
    let probe = format!("{metric}{{{inner}}}");
    match promql::parse(&probe) {
        Ok(promql_parser::parser::Expr::VectorSelector(_)) => Ok(inner),
        Ok(_) => Err(Problem::new(
            pos,
            format!("`{probe}` is not a plain metric selector"),
        )),
        Err(e) => Err(Problem::new(
            pos,
            format!("`{probe}` is not a valid selector: {e}"),
        )),
    }
}

/// Latency thresholds: a number of seconds (`0.3`) or a duration in `ms`/`s` (`300ms`).
/// Returns the value as Prometheus writes the `le` label.
pub fn check_latency_threshold(text: &str, pos: Pos) -> Result<String, Problem> {
    let t = text.trim();
    let secs = if let Some(ms) = t.strip_suffix("ms") {
        ms.parse::<f64>().map(|v| v / 1000.0)
    } else if let Some(s) = t.strip_suffix('s') {
        s.parse::<f64>()
    } else {
        t.parse::<f64>()
    };
    match secs {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(crate::num::format(v, 9)),
        _ => Err(Problem::new(
            pos,
            format!(
                "latency threshold `{text}` must be a positive bucket boundary in seconds (0.3) or a duration (300ms, 1.5s)"
            ),
        )),
    }
}

/// Turns `requests-availability` into `RequestsAvailability` for default alert names.
pub fn camel_case(parts: &[&str]) -> String {
    parts
        .iter()
        .flat_map(|p| p.split(|c: char| !c.is_ascii_alphanumeric()))
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Fails on the second SLO with a name already used in the service.
pub fn check_unique<'a>(
    what: &str,
    items: impl IntoIterator<Item = (&'a str, Pos)>,
) -> Result<(), Problem> {
    let mut seen = BTreeMap::new();
    for (name, pos) in items {
        if let Some(first) = seen.insert(name, pos) {
            return Err(Problem::new(
                pos,
                format!(
                    "{what} `{name}` is defined twice (first at line {})",
                    first.line
                ),
            ));
        }
    }
    Ok(())
}

/// A query that must be a plain vector selector (OpenSLO counters, to which rulegen
/// applies `rate()` itself). Returns it trimmed.
pub fn check_selector_expr(query: &str, pos: Pos) -> Result<String, Problem> {
    match promql::parse(query) {
        Ok(promql_parser::parser::Expr::VectorSelector(_)) => Ok(query.trim().to_string()),
        Ok(_) => Err(Problem::new(
            pos,
            format!(
                "with `counter: true` the query must be a counter selector like `http_requests_total{{job=\"web\"}}`, got `{query}`"
            ),
        )),
        Err(e) => Err(Problem::new(
            pos,
            format!("`{query}` is not valid PromQL: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventQuery, SliceBudget};

    const P: Pos = Pos { line: 3, column: 5 };

    #[test]
    fn objective_bounds() {
        assert_eq!(check_objective(99.9, P), Ok(99.9));
        for bad in [0.0, 100.0, -1.0, 120.0, f64::NAN] {
            let e = check_objective(bad, P).unwrap_err();
            assert!(e.message.starts_with("objective must be in (0, 100)"));
            assert_eq!(e.pos, P);
        }
        assert_eq!(
            check_objective(100.0, P).unwrap_err().message,
            "objective must be in (0, 100), got 100"
        );
    }

    #[test]
    fn period_bounds() {
        assert_eq!(check_period("30d", P), Ok(30 * 86400));
        assert_eq!(check_period("1h", P), Ok(3600));
        assert!(
            check_period("59m", P)
                .unwrap_err()
                .message
                .contains("at least 1h")
        );
        assert!(check_period("thirty", P).is_err());
    }

    #[test]
    fn names() {
        assert!(check_name("slo", "requests-availability", P).is_ok());
        assert!(check_name("slo", "a", P).is_ok());
        for bad in ["", "Upper", "-x", "x-", "a b", "é"] {
            assert!(check_name("slo", bad, P).is_err(), "{bad:?}");
        }
        assert!(check_alert_name("HighErrorRate", P).is_ok());
        assert!(check_alert_name("high-error", P).is_err());
        assert_eq!(
            camel_case(&["checkout", "requests-availability"]),
            "CheckoutRequestsAvailability"
        );
    }

    #[test]
    fn window_queries_need_the_placeholder_and_valid_promql() {
        let q = "sum(rate(http_requests_total{code=~\"5..\"}[{{ .window }}]))";
        assert_eq!(
            check_window_query("errors query", q, P).unwrap(),
            "sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}]))"
        );
        let e = check_window_query("errors query", "sum(rate(x[5m]))", P).unwrap_err();
        assert!(e.message.contains("placeholder"), "{}", e.message);
        let e = check_window_query("errors query", "sum(rate(x[{{.window}}])", P).unwrap_err();
        assert!(e.message.contains("not valid PromQL"), "{}", e.message);
    }

    #[test]
    fn selectors_and_thresholds() {
        assert_eq!(
            check_selector("m", Some("{job=\"a\",}"), P).unwrap(),
            "job=\"a\""
        );
        assert_eq!(check_selector("m", None, P).unwrap(), "");
        assert!(check_selector("m", Some("job=\"a\""), P).is_err());
        assert!(check_selector("m", Some("{job=}"), P).is_err());
        assert_eq!(check_latency_threshold("0.3", P).unwrap(), "0.3");
        assert_eq!(check_latency_threshold("300ms", P).unwrap(), "0.3");
        assert_eq!(check_latency_threshold("1s", P).unwrap(), "1");
        for bad in ["0", "-1", "fast", "1m", "NaN", "inf"] {
            assert!(check_latency_threshold(bad, P).is_err(), "{bad}");
        }
    }

    #[test]
    fn grouped_rates_keep_the_group_and_default_errors_per_group() {
        let sli = Sli::Ratio {
            errors: EventQuery::Errors("rate(e[{{.window}}])".into()),
            total: "rate(t[{{.window}}])".into(),
        };
        let (errors, total) = sli.rates_by(300, &["route".into()]);
        assert_eq!(total, "sum by (route) (rate(t[5m]))");
        assert_eq!(
            errors,
            "(sum by (route) (rate(e[5m])) or 0 * sum by (route) (rate(t[5m])))"
        );
        assert_eq!(sli.rates().0, "(sum(rate(e[5m])) or vector(0))");
    }

    #[test]
    fn time_slices_read_whole_slices_of_each_window() {
        let per_slice = Sli::Ratio {
            errors: EventQuery::Errors("rate(e[{{.window}}])".into()),
            total: "rate(t[{{.window}}])".into(),
        };
        let sli = Sli::TimeSlices {
            per_slice: Box::new(per_slice),
            slice_secs: 60,
            budget: SliceBudget::Good(0.95),
        };
        let (errors, total) = sli.rates();
        let slice = "((sum(rate(e[1m])) or vector(0))) / (sum(rate(t[1m]))) >= 0 > bool 0.05";
        assert_eq!(errors, format!("sum_over_time(({slice})[4m59s:1m]) / 300"));
        assert_eq!(total, format!("count_over_time(({slice})[4m59s:1m]) / 300"));
        promql::parse(&errors).unwrap();
        assert_eq!(sli.kind(), "timeslices");
    }

    #[test]
    fn windows_of_fewer_than_two_scrapes_warn() {
        assert!(window_warning("w", 120, 60, P).is_none());
        let w = window_warning("timeSliceWindow", 60, 60, P).unwrap();
        assert!(
            w.message
                .starts_with("timeSliceWindow of 1m is shorter than two scrape intervals (1m each"),
            "{}",
            w.message
        );
    }

    #[test]
    fn duplicates_point_at_the_second() {
        let p2 = Pos { line: 9, column: 5 };
        let e = check_unique("SLO", [("a", P), ("b", P), ("a", p2)]).unwrap_err();
        assert_eq!(e.pos, p2);
        assert!(e.message.contains("first at line 3"));
    }
}
