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

