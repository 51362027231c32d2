//! The subcommands' bodies, one module each, after `flags.rs` has read the command line:
//! what the flags mean together, which specs to load, what to write and what to print.

pub(crate) mod check;
pub(crate) mod explain;
pub(crate) mod flags;
pub(crate) mod generate;
pub(crate) mod stock;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use lakewatch_rulegen::{Service, spec};

use flags::Inputs;

/// A command failed and has printed why (exit code 1).
pub(crate) struct Failed;

/// Every spec `inputs` names, with its warnings printed; or every problem of every spec
/// printed, so one run shows all there is to fix.
pub(crate) fn load(
    inputs: &Inputs,
    params: BTreeMap<String, String>,
) -> Result<Vec<Service>, Failed> {
    let filter = lakewatch_rulegen::FileFilter {
        exclude: inputs.fs_exclude.clone(),
        include: inputs.fs_include.clone(),
    };
    let opts = spec::LoadOptions {
        params,
        sloth_period_secs: inputs.default_slo_period,
        scrape_interval_secs: inputs.scrape_interval,
    };
    let loaded = lakewatch_rulegen::spec_files(&inputs.specs, &filter)
        .map_err(|e| vec![e])
        .and_then(|files| lakewatch_rulegen::load_files_with(&files, &opts));
    match loaded {
        Ok(loaded) => {
            for w in &loaded.warnings {
                eprintln!("warning: {w}");
            }
            Ok(loaded.services)
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            if errors.len() > 1 {
                eprintln!("{} problems; nothing was written", errors.len());
            }
            Err(Failed)
        }
    }
}

/// `validate`: load the specs and say what each holds.
pub(crate) fn validate(inputs: &Inputs) -> Result<(), Failed> {
    for s in &load(inputs, BTreeMap::new())? {
        println!(
            "ok: {} (service {}: {} SLOs, {} alerts)",
            s.file,
            s.name,
            s.slos.len(),
            s.alerts.len()
        );
    }
    Ok(())
}

/// Prints a command's error with its causes.
pub(crate) fn report(result: anyhow::Result<()>) -> Result<(), Failed> {
    result.map_err(|e| {
        eprintln!("error: {e:#}");
        Failed
    })
}

/// Writes one output file.
pub(crate) fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
