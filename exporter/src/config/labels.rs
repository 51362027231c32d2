//! A target's `labels:`: extra labels on every series of that target (Postgres, S3 and
//! Trino targets take them; discovery fills them with the container's name and its
//! allow-listed Docker labels).

use serde_saphyr::Spanned;

use crate::config::error::{ConfigError, Entries, Validator};

/// Labels every series of a collector has besides its catalog labels, or may have
/// (`le`, `quantile`): a target label cannot take these names.
const ALWAYS: [&str; 4] = ["target", "collector", "le", "quantile"];

impl Validator<'_> {
    /// `labels:` of a target of the collector whose series are `catalog`: valid label
    /// names, none reserved by Prometheus (`__*`) or used by the collector's own series,
    /// nor refused by `also` (which returns why), sorted by name.
    pub(crate) fn target_labels(
        &self,
        raw: Option<Entries<Spanned<String>>>,
        collector: &str,
        catalog: &[&lakewatch_catalog::Metric],
        also: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<(String, String)>, ConfigError> {
        use lakewatch_catalog::name;
        let mut out: Vec<(String, String)> = Vec::new();
        for (k, v) in raw.map(|e| e.0).unwrap_or_default() {
            let invalid = if !name::is_label_name(&k.value) {
                Some("not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)".to_string())
            } else if name::is_reserved_label_name(&k.value) {
                Some("names starting with __ are reserved for Prometheus".to_string())
            } else {
                None
            };
            if let Some(why) = invalid {
                return Err(self.error(&k, format!("label {:?}: {why}", k.value)));
            }
            let builtin = catalog
                .iter()
                .flat_map(|m| m.labels.iter())
                .chain(&ALWAYS)
                .any(|l| *l == k.value);
            if builtin {
                return Err(self.error(
                    &k,
                    format!(
                        "label {:?} is reserved: Lakewatch's {collector} series already use it",
                        k.value
                    ),
                ));
            }
            if let Some(why) = also(&k.value) {
                return Err(self.error(&k, why));
            }
            out.push((k.value, v.value));
        }
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::config::testing::invalid;

    const S3: &str = "collectors:\n  s3:\n    targets:\n      - name: lake\n        endpoint: http://minio:9000\n        access_key: a\n        secret_key: b\n";
    const TRINO: &str =
        "collectors:\n  trino:\n    targets:\n      - name: t\n        url: http://trino:8080\n";

    #[test]
    fn s3_and_trino_targets_take_labels_sorted() {
        let c = Config::parse(
            &format!("{S3}        labels: {{z: 1, env: prod}}\n"),
            "c.yml",
        )
        .unwrap();
        assert_eq!(
            c.s3.unwrap().targets[0].labels,
            [("env".into(), "prod".into()), ("z".into(), "1".into())]
        );
        let c = Config::parse(&format!("{TRINO}        labels: {{team: bi}}\n"), "c.yml").unwrap();
        assert_eq!(
            c.trino.unwrap().targets[0].labels,
            [("team".into(), "bi".into())]
        );
    }

    #[test]
    fn a_label_the_series_have_or_prometheus_reserves_is_refused_where_written() {
        let e = invalid(&format!("{S3}        labels: {{bucket: x}}\n"));
        assert!(
            e.contains("c.yml:8:18")
                && e.contains("label \"bucket\" is reserved: Lakewatch's S3 series already use it"),
            "{e}"
        );
        let e = invalid(&format!("{TRINO}        labels: {{state: x}}\n"));
        assert!(e.contains("Lakewatch's Trino series already use it"), "{e}");
        let e = invalid(&format!("{TRINO}        labels: {{target: x}}\n"));
        assert!(e.contains("label \"target\" is reserved"), "{e}");
        let e = invalid(&format!("{S3}        labels: {{__x: y}}\n"));
        assert!(e.contains("reserved for Prometheus"), "{e}");
        let e = invalid(&format!("{S3}        labels: {{\"a-b\": y}}\n"));
        assert!(e.contains("not a valid Prometheus label name"), "{e}");
    }
}
