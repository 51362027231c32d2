//! `generate`: rule files (one per service, or per spec file, or stdout), and beside them
//! promtool tests, SLO and overview dashboards and the Alertmanager configuration.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::CommandFactory;
use lakewatch_rulegen::alertmanager;
use lakewatch_rulegen::output::{self, Flavor};
use lakewatch_rulegen::rules::{self, SliSource};
use lakewatch_rulegen::{Service, dashboard, unittest};

use super::flags::{Cli, GenerateArgs};
use super::{Failed, report, write};

/// Loads the specs and writes what `args` asks for.
pub(crate) fn run(args: GenerateArgs) -> Result<(), Failed> {
    let mut params = BTreeMap::new();
    for (name, value) in &args.params {
        if params.insert(name.clone(), value.clone()).is_some() {
            Cli::command()
                .error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!("--param {name} is given twice"),
                )
                .exit();
        }
    }
    let mut services = super::load(&args.inputs, params)?;
    let GenerateArgs {
        inputs,
        out,
        format,
        extra_labels,
        disable_recordings,
        disable_alerts,
        per_spec_file,
        emit_tests,
        dashboards,
        overview,
        alertmanager,
        page_via,
        ticket_via,
        secrets_dir,
        webhook_url,
        group_wait,
        group_interval,
        repeat_interval,
        ..
    } = args;
    add_labels(&mut services, &extra_labels);
    let keep = Keep {
        recordings: !disable_recordings,
        alerts: !disable_alerts,
    };
    let files = RuleFiles {
        flavor: format.into(),
        keep,
        per_spec_file: per_spec_file.then(|| inputs.specs.clone()),
    };
    if overview && out == Path::new("-") {
        eprintln!("error: -o - writes only the rules; --overview needs an output directory");
        return Err(Failed);
    }
    let generated = generate(
        &services,
        &out,
        &files,
        emit_tests,
        dashboards,
        alertmanager.then_some(alertmanager::Options {
            page: page_via,
            ticket: ticket_via,
            secrets_dir,
            webhook_url,
            group_wait_secs: group_wait,
            group_interval_secs: group_interval,
            repeat_interval_secs: repeat_interval,
        }),
    );
    report(generated.and_then(|()| {
        if !overview {
            return Ok(());
        }
        match dashboard::overview_dashboard(&services) {
            Some(d) => write(&out.join(dashboard::OVERVIEW_FILE), &dashboard::render(&d)),
            None => Ok(()),
        }
    }))
}

/// Sloth's `--extra-labels`: merged into every SLO's labels, which go on its recordings
/// and alerts (an alert's own labels win, as in Sloth), and into every threshold alert's.
fn add_labels(services: &mut [Service], labels: &[(String, String)]) {
    for s in services {
        for slo in &mut s.slos {
            slo.labels.extend(labels.iter().cloned());
        }
        for a in &mut s.alerts {
            for (k, v) in labels {
                a.labels.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
}

/// Which kinds of rules a run writes (Sloth's `--disable-recordings`/`--disable-alerts`).
#[derive(Clone, Copy)]
struct Keep {
    recordings: bool,
    alerts: bool,
}

impl Keep {
    /// `set` without the rules this run does not write, and without groups left empty
    /// (Prometheus refuses a group without rules).
    fn apply(self, mut set: rules::RuleSet) -> rules::RuleSet {
        for g in &mut set.groups {
            g.rules.retain(|r| match r.kind {
                rules::RuleKind::Record(_) => self.recordings,
                rules::RuleKind::Alert(_) => self.alerts,
            });
        }
        set.groups.retain(|g| !g.rules.is_empty());
        set
    }
}

/// How rules are written.
struct RuleFiles {
    flavor: Flavor,
    keep: Keep,
    /// With `--per-spec-file`: the inputs as given, to place each spec's rule file.
    per_spec_file: Option<Vec<PathBuf>>,
}

impl RuleFiles {
    /// One service's rule set, as written.
    fn rules(&self, s: &Service) -> anyhow::Result<rules::RuleSet> {
        Ok(self
            .keep
            .apply(rules::generate(s, SliSource::Spec).map_err(anyhow::Error::msg)?))
    }
}

/// Where `--per-spec-file` writes the rules of `spec`, relative to the output directory:
/// its path under the input directory it was found in, or its file name when it was given
/// as a file, with the flavour's suffix for its extension.
fn spec_rule_file(spec: &Path, inputs: &[PathBuf], flavor: Flavor) -> PathBuf {
    let rel = inputs
        .iter()
        .filter(|i| i.is_dir())
        .find_map(|dir| spec.strip_prefix(dir).ok())
        .unwrap_or_else(|| Path::new(spec.file_name().unwrap_or(spec.as_os_str())));
    let stem = rel
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    rel.with_file_name(flavor.file_name(&stem))
}

fn generate(
    services: &[Service],
    out: &Path,
    files: &RuleFiles,
    emit_tests: bool,
    dashboards: bool,
    alertmanager: Option<alertmanager::Options>,
) -> anyhow::Result<()> {
    if out == Path::new("-") {
        if emit_tests || dashboards || alertmanager.is_some() || files.per_spec_file.is_some() {
            anyhow::bail!(
                "-o - writes only the rules; --emit-tests, --dashboards, --alertmanager and --per-spec-file need an output directory"
            );
        }
        let rendered = lakewatch_rulegen::parallel_map(services, |s| -> anyhow::Result<String> {
            let source = lakewatch_rulegen::source_name(s);
            Ok(output::render(
                files.flavor,
                &s.name,
                &source,
                &files.rules(s)?,
            ))
        });
        let docs = rendered.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
        let mut stdout = std::io::stdout().lock();
        std::io::Write::write_all(&mut stdout, docs.join("---\n").as_bytes())
            .and_then(|()| std::io::Write::flush(&mut stdout))
            .context("writing the rules to stdout")?;
        return Ok(());
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let written = lakewatch_rulegen::parallel_map(services, |s| -> anyhow::Result<()> {
        let source = lakewatch_rulegen::source_name(s);
        if files.per_spec_file.is_none() {
            write(
                &out.join(files.flavor.file_name(&s.name)),
                &output::render(files.flavor, &s.name, &source, &files.rules(s)?),
            )?;
        }
        if emit_tests && !s.slos.is_empty() {
            let dir = out.join("tests");
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            for (name, text) in unittest::emit(s, &source).map_err(anyhow::Error::msg)? {
                write(&dir.join(name), &text)?;
            }
        }
        if dashboards && let Some(d) = dashboard::slo_dashboard(s) {
            write(
                &out.join(dashboard::slo_file_name(&s.name)),
                &dashboard::render(&d),
            )?;
        }
        Ok(())
    });
    // The first failure in service order, as a sequential run would report it.
    written.into_iter().collect::<anyhow::Result<()>>()?;
    if let Some(inputs) = &files.per_spec_file {
        // Services in the order read, so a spec file's services are next to each other;
        // their groups go into one file (Prometheus reads only a file's first document).
        let mut by_file: Vec<(&str, Vec<&Service>)> = Vec::new();
        for s in services {
            match by_file.last_mut() {
                Some((f, v)) if *f == s.file => v.push(s),
                _ => by_file.push((&s.file, vec![s])),
            }
        }
        for (file, specs) in by_file {
            let mut set = rules::RuleSet { groups: Vec::new() };
            for s in &specs {
                set.groups.extend(files.rules(s)?.groups);
            }
            let spec = Path::new(file);
            let path = out.join(spec_rule_file(spec, inputs, files.flavor));
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.split('.').next())
                .unwrap_or("rules")
                .to_string();
            let source = lakewatch_rulegen::source_name(specs[0]);
            write(&path, &output::render(files.flavor, &name, &source, &set))?;
        }
    }
    if let Some(opts) = alertmanager {
        write(
            &out.join("alertmanager.yml"),
            &alertmanager::render(services, &opts),
        )?;
    }
    Ok(())
}
