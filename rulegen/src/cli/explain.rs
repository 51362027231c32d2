//! `explain`: each SLO's burn-rate windows, factors and thresholds, as a table.

use std::collections::BTreeMap;
use std::path::PathBuf;

use lakewatch_rulegen::{Service, model, spec, window};

use super::Failed;
use super::flags::Inputs;

/// Loads one spec file (Sloth's with the default period) and prints its table.
pub(crate) fn run(spec: PathBuf) -> Result<(), Failed> {
    let inputs = Inputs {
        specs: vec![spec],
        fs_exclude: None,
        fs_include: None,
        default_slo_period: spec::LoadOptions::default().sloth_period_secs,
        scrape_interval: spec::LoadOptions::default().scrape_interval_secs,
    };
    let services = super::load(&inputs, BTreeMap::new())?;
    print!("{}", explain(&services));
    Ok(())
}

fn explain(services: &[Service]) -> String {
    let mut out = String::new();
    for s in services {
        for slo in &s.slos {
            out.push_str(&format!(
                "{}/{}: {} SLI, objective {}%, period {}, error budget {}\n",
                s.name,
                slo.name,
                slo.sli.kind(),
                slo.objective,
                lakewatch_rulegen::duration::format(slo.period_secs),
                slo.error_budget_str(),
            ));
            out.push_str(&window::explain_table(slo.objective, slo.period_secs));
            let alerting = &slo.alerting;
            let on = |a: &Option<model::BurnAlert>| match a {
                Some(a) => format!("on (severity {})", a.severity),
                None => "off".to_string(),
            };
            out.push_str(&format!(
                "alert {}: page {}, ticket {}, low-traffic guard {}\n\n",
                alerting.name,
                on(&alerting.page),
                on(&alerting.ticket),
                alerting
                    .min_events
                    .map(|m| format!("{m} events per long window"))
                    .unwrap_or_else(|| "off".into()),
            ));
        }
    }
    out
}
