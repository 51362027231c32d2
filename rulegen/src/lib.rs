//! `lakewatch-rulegen` turns typed SLO and alert definitions (native `lakewatch/v1`,
//! Sloth `prometheus/v1`, OpenSLO `openslo/v1`) into Prometheus recording and alerting
//! rules, as plain rule files, Prometheus Operator `PrometheusRule` CRDs or Mimir/Cortex
//! ruler files, plus `promtool test rules` files that prove the alerts fire, Alertmanager
//! routing ([`alertmanager`]) and Grafana SLO dashboards ([`dashboard`]). It also owns the
//! [`stock`] pack: alerts and dashboards for everything lakewatch-exporter collects.
//!
//! The pipeline is spec → parse (errors at `file:line:column`) → validated [`model`] →
//! generators ([`rules`], [`alertmanager`], [`dashboard`]) → [`output`]. It is not a rule evaluator, does not talk to
//! Prometheus or Alertmanager, and does not discover metrics: it checks metric names only
//! against `lakewatch-catalog`, and accepts names it does not know (the user's own apps).

pub mod alertmanager;
pub mod dashboard;
pub mod duration;
pub mod error;
#[doc(hidden)]
pub mod fuzz;
pub mod model;
mod num;
pub mod output;
pub mod promql;
pub mod rules;
pub mod spec;
pub mod stock;
pub mod unittest;
pub mod window;

pub use error::{Error, SpecError};
pub use model::Service;

use std::collections::{BTreeMap, BTreeSet};

/// Reads and validates spec files, failing on the first invalid one. Service names must be
/// unique across all files, since outputs are written per service. `params` replace the
/// values of native specs' parameters of the same name; each must be declared by at least
/// one of the specs (an override nobody reads is a typo).
pub fn load_files(
    paths: &[std::path::PathBuf],
    params: &BTreeMap<String, String>,
) -> Result<Vec<Service>, Error> {
    let mut services: Vec<Service> = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for path in paths {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: display.clone(),
            source,
        })?;
        for s in spec::load_with_params(&display, &text, params)? {
            if let Some(first) = seen.insert(s.name.clone(), display.clone()) {
                return Err(Error::DuplicateService {
                    service: s.name,
                    first,
                    second: display,
                });
            }
            services.push(s);
        }
    }
    for name in params.keys() {
        if !services.iter().any(|s| s.params.contains_key(name)) {
            let declared: BTreeSet<&str> = services
                .iter()
                .flat_map(|s| s.params.keys().map(String::as_str))
                .collect();
            return Err(Error::UnknownParam {
                name: name.clone(),
                declared: if declared.is_empty() {
                    "none".into()
                } else {
                    declared.into_iter().collect::<Vec<_>>().join(", ")
                },
            });
        }
    }
    Ok(services)
}

/// The spec's file name without directories, as recorded in generated headers (so output
/// does not depend on where rulegen was run from).
pub fn source_name(service: &Service) -> String {
    std::path::Path::new(&service.file)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| service.file.clone())
}
