//! Prometheus' rules for metric and label names: the one check behind the catalog's own
//! names, the exporter's pass-through and custom queries, and rulegen's spec labels.
//!
//! These are the classic (pre-UTF-8) rules every Prometheus version and every scraper
//! accepts, the ones the text exposition format can write without quoting:
//! <https://prometheus.io/docs/concepts/data_model/#metric-names-and-labels>.

/// A metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`. Colons are valid, though by convention only
/// recording rules use them.
///
/// ```
/// use lakewatch_catalog::name::is_metric_name;
/// assert!(is_metric_name("node_filesystem_size_bytes"));
/// assert!(is_metric_name("job:requests:rate5m"));
/// assert!(!is_metric_name("5xx_total"));
/// assert!(!is_metric_name("requests-total"));
/// assert!(!is_metric_name(""));
/// ```
pub fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if is_metric_name_char(c) && !c.is_ascii_digit())
        && chars.all(is_metric_name_char)
}

/// A character a metric name may contain after its first: `[a-zA-Z0-9_:]`.
///
/// ```
/// use lakewatch_catalog::name::is_metric_name_char;
/// assert!("minio_bucket:usage_2".chars().all(is_metric_name_char));
/// assert!(!is_metric_name_char('-'));
/// ```
pub fn is_metric_name_char(c: char) -> bool {
    is_label_name_char(c) || c == ':'
}

/// A label name: `[a-zA-Z_][a-zA-Z0-9_]*`. This is the syntax only: names starting with
/// `__` are valid but reserved for Prometheus (see [`is_reserved_label_name`]).
///
/// ```
/// use lakewatch_catalog::name::is_label_name;
/// assert!(is_label_name("mountpoint"));
/// assert!(is_label_name("__name__"));
/// assert!(!is_label_name("job:x"));
/// assert!(!is_label_name("1st"));
/// assert!(!is_label_name(""));
/// ```
pub fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if is_label_name_char(c) && !c.is_ascii_digit())
        && chars.all(is_label_name_char)
}

/// True for label names Prometheus reserves for itself (`__name__`, `__address__`, any
/// name starting with `__`): a user or an exporter may not set them.
///
/// ```
/// use lakewatch_catalog::name::is_reserved_label_name;
/// assert!(is_reserved_label_name("__meta_x"));
/// assert!(!is_reserved_label_name("_private"));
/// ```
pub fn is_reserved_label_name(name: &str) -> bool {
    name.starts_with("__")
}

fn is_label_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}
