//! `lakewatch-rulegen`: SLO specs in, Prometheus rules out. See the crate docs for the
//! pipeline; this file only parses flags, maps errors to exit codes and writes files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use lakewatch_rulegen::alertmanager::{self, Integration};
use lakewatch_rulegen::output::{self, Flavor};
use lakewatch_rulegen::rules::{self, SliSource};
use lakewatch_rulegen::{Service, check, dashboard, model, spec, stock, unittest, window};

fn integration(s: &str) -> Result<Integration, String> {
    Integration::parse(s)
        .ok_or_else(|| format!("`{s}` is not one of pagerduty, slack, email, webhook"))
}

fn param(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not NAME=VALUE"))?;
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(format!(
            "parameter name `{name}` must match [a-z_][a-z0-9_]*"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

/// An Alertmanager interval: a duration of at least one second.
fn interval(s: &str) -> Result<u64, String> {
    match lakewatch_rulegen::duration::parse(s)? {
        0 => Err("must be at least 1s".into()),
        n => Ok(n),
    }
}

fn url(s: &str) -> Result<String, String> {
    if s.starts_with("http://") || s.starts_with("https://") {
        Ok(s.to_string())
    } else {
        Err(format!("`{s}` is not an http:// or https:// URL"))
    }
}

/// Typed SLO definitions to Prometheus recording and alerting rules.
///
/// Exit codes: 0 ok, 1 invalid spec (the message points to file:line:column) or, for
/// `check`, problems found; 2 usage (for `check`: nothing could be checked).
#[derive(Parser)]
#[command(name = "lakewatch-rulegen", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Print this command's man page (roff) and exit; for packagers.
    #[arg(long = "help-man", hide = true)]
    help_man: bool,

    /// Print a completion script for SHELL (bash, zsh, fish, elvish, powershell) and exit.
    #[arg(long = "completion-script", value_name = "SHELL", hide = true)]
    completion_script: Option<clap_complete::Shell>,
}

#[derive(Subcommand)]
enum Command {
    /// Generate rule files (one per service, or per spec file) into a directory, or the
    /// rules onto stdout (-o -). Every problem of every spec is printed before exit 1.
    Generate {
        #[command(flatten)]
        inputs: Inputs,
        /// Output directory (created if missing), or `-` for the rules on stdout: one YAML
        /// document per service, `---` between them (Prometheus reads only a file's first
        /// document: give it one service at a time, or write to a directory).
        #[arg(short = 'o', long = "output", value_name = "DIR")]
        out: PathBuf,
        /// Add this label to every generated rule, recording and alerting (repeatable;
        /// Sloth's flag). It overrides an SLO's label of the same name; an alert's own
        /// labels override it.
        #[arg(short = 'l', long = "extra-labels", value_name = "NAME=VALUE", value_parser = extra_label)]
        extra_labels: Vec<(String, String)>,
        /// Write no recording rules (Sloth's flag). The alerts read the recorded series, so
        /// they stay silent unless those rules come from another run.
        #[arg(long, conflicts_with_all = ["disable_alerts", "emit_tests"])]
        disable_recordings: bool,
        /// Write no alerting rules, only the recordings (Sloth's flag).
        #[arg(long, conflicts_with = "emit_tests")]
        disable_alerts: bool,
        /// One rule file per spec file rather than per service, as Sloth writes them: a
        /// spec found in a directory keeps its path under it (DIR/team/api.yml gives
        /// OUT/team/api.rules.yml), so each rule file maps back to its spec.
        #[arg(long)]
        per_spec_file: bool,
        /// Output flavour.
        #[arg(long, value_enum, default_value_t = FormatArg::Plain)]
        format: FormatArg,
        /// Replace the value of a parameter the specs declare under `params` for this run
        /// (repeatable), e.g. `--param pg_down_for=30s` for a staging pack.
        #[arg(long = "param", value_name = "NAME=VALUE", value_parser = param)]
        params: Vec<(String, String)>,
        /// Also write a `promtool test rules` file per service under DIR/tests/.
        #[arg(long)]
        emit_tests: bool,
        /// Also write a Grafana SLO dashboard per service with SLOs
        /// (<service>.slo.dashboard.json).
        #[arg(long)]
        dashboards: bool,
        /// Also write DIR/slo-overview.dashboard.json: one Grafana table of every SLO given
        /// (objective, period, SLI, budget remaining, alerts firing), each service linked
        /// to its SLO dashboard (--dashboards).
        #[arg(long)]
        overview: bool,
        /// Also write DIR/alertmanager.yml: routes by team and severity, inhibitions and
        /// receiver templates for all given specs.
        #[arg(long)]
        alertmanager: bool,
        /// Integrations of the paging receivers (comma-separated: pagerduty, slack, email, webhook).
        #[arg(long, value_delimiter = ',', default_value = "pagerduty", value_parser = integration)]
        page_via: Vec<Integration>,
        /// Integrations of the ticket receivers (comma-separated: pagerduty, slack, email, webhook).
        #[arg(long, value_delimiter = ',', default_value = "slack", value_parser = integration)]
        ticket_via: Vec<Integration>,
        /// Where Alertmanager finds the receivers' secret files.
        #[arg(long, default_value = "/etc/alertmanager/secrets")]
        secrets_dir: String,
        /// Base URL of webhook receivers: each POSTs to URL/<receiver name>.
        #[arg(long, value_name = "URL", default_value = alertmanager::DEFAULT_WEBHOOK_URL, value_parser = url, requires = "alertmanager")]
        webhook_url: String,
        /// Alertmanager group_wait: how long a new group waits for more alerts.
        #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = lakewatch_rulegen::duration::parse, requires = "alertmanager")]
        group_wait: u64,
        /// Alertmanager group_interval: how often a group's new and resolved alerts are sent.
        #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = interval, requires = "alertmanager")]
        group_interval: u64,
        /// Alertmanager repeat_interval: how often a group still firing is sent again.
        #[arg(long, value_name = "DURATION", default_value = "4h", value_parser = interval, requires = "alertmanager")]
        repeat_interval: u64,
    },
    /// Regenerate the stock pack: alerts/lakewatch.rules.yml from alerts/lakewatch.yml, and
    /// the stock dashboards and their provisioning file under dashboards/.
    Stock {
        /// The repository root (holding alerts/ and dashboards/).
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
    /// Check spec files without writing anything: every problem of every spec, then exit 1.
    Validate {
        #[command(flatten)]
        inputs: Inputs,
    },
    /// Print each SLO's burn-rate windows, factors and thresholds.
    Explain { spec: PathBuf },
    /// Check rule files and Grafana dashboards against a live Prometheus: selectors that
    /// match no series, vector joins that match nothing, queries without data.
    ///
    /// Files ending in .json are dashboards, others Prometheus rule files. Exit codes:
    /// 0 no problems, 1 problems found (each printed with file, rule or panel and query),
    /// 2 nothing could be checked (usage, unreadable file, Prometheus unreachable).
    Check {
        /// Rule files (YAML, also PrometheusRule objects) and Grafana dashboards (JSON).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The Prometheus to ask, e.g. http://localhost:9090.
        #[arg(long, value_name = "URL", value_parser = url)]
        prometheus: String,
        /// A selector is dead when it matched no series within this window before now.
        #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = lakewatch_rulegen::duration::parse)]
        lookback: u64,
        /// What dashboards' $__rate_interval stands for.
        #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = duration_text)]
        rate_interval: String,
        /// What dashboards' $__interval stands for.
        #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = duration_text)]
        interval: String,
        /// What dashboards' $__range stands for (their time range).
        #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = duration_text)]
        range: String,
        /// Timeout of each request to Prometheus.
        #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = interval)]
        timeout: u64,
        /// HTTP Basic user for Prometheus (with --prometheus.password-file).
        #[arg(
            long = "prometheus.user",
            value_name = "USER",
            requires = "password_file"
        )]
        user: Option<String>,
        /// File holding the HTTP Basic password.
        #[arg(
            long = "prometheus.password-file",
            value_name = "FILE",
            requires = "user"
        )]
        password_file: Option<PathBuf>,
        /// File holding a bearer token for Prometheus.
        #[arg(
            long = "prometheus.bearer-token-file",
            value_name = "FILE",
            conflicts_with = "user"
        )]
        bearer_token_file: Option<PathBuf>,
    },
}

/// The spec files a run reads, as Sloth's `generate` takes them.
#[derive(clap::Args)]
struct Inputs {
    /// Spec files or directories: native (version: lakewatch/v1), Sloth (version:
    /// prometheus/v1 or its Kubernetes resource, apiVersion: sloth.slok.dev/v1) or OpenSLO
    /// (apiVersion: openslo/v1); a file may hold several specs separated by `---`. A
    /// directory is searched recursively for *.yml and *.yaml files.
    #[arg(required = true, value_name = "SPEC")]
    specs: Vec<PathBuf>,
    /// Skip files found in directories whose path matches this regular expression
    /// (Sloth's flag; it wins over --fs-include).
    #[arg(short = 'e', long, value_name = "REGEX")]
    fs_exclude: Option<regex::Regex>,
    /// Read only files found in directories whose path matches this regular expression
    /// (Sloth's flag).
    #[arg(short = 'n', long, value_name = "REGEX")]
    fs_include: Option<regex::Regex>,
    /// The period of Sloth specs, which have none of their own (Sloth's flag). Native and
    /// OpenSLO specs give theirs.
    #[arg(long, value_name = "DURATION", default_value = "30d", value_parser = slo_period)]
    default_slo_period: u64,
}

/// A period an SLO can have (at least 1h, longer than its longest burn-rate window).
fn slo_period(s: &str) -> Result<u64, String> {
    model::check_period(s, lakewatch_rulegen::error::Pos::default()).map_err(|p| p.message)
}

/// A label for every rule: a valid Prometheus label name other than the ones the rules
/// select their own series with.
fn extra_label(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not NAME=VALUE"))?;
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid || name.starts_with("__") {
        return Err(format!(
            "`{name}` is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"
        ));
    }
    if name == "service" || name == "slo" {
        return Err(format!(
            "`{name}` is the label the generated rules find their own series by; pick another name"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

/// A duration kept as written (it is pasted into queries), after checking it parses.
fn duration_text(s: &str) -> Result<String, String> {
    match lakewatch_rulegen::duration::parse(s)? {
        0 => Err("must be at least 1s".into()),
        _ => Ok(s.to_string()),
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    /// Prometheus rule files (rule_files:, promtool check rules).
    Plain,
    /// Prometheus Operator PrometheusRule objects.
    Operator,
    /// Mimir/Cortex ruler namespace files.
    Mimir,
}

impl From<FormatArg> for Flavor {
    fn from(f: FormatArg) -> Flavor {
        match f {
            FormatArg::Plain => Flavor::Plain,
            FormatArg::Operator => Flavor::Operator,
            FormatArg::Mimir => Flavor::Mimir,
        }
    }
}

fn main() -> ExitCode {
    // clap exits with 2 on usage errors and 0 for --help/--version.
    let mut cli = Cli::parse();
    if cli.help_man {
        return match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: writing the man page: {e}");
                ExitCode::from(1)
            }
        };
    }
    if let Some(shell) = cli.completion_script {
        clap_complete::generate(
            shell,
            &mut Cli::command(),
            "lakewatch-rulegen",
            &mut std::io::stdout(),
        );
        return ExitCode::SUCCESS;
    }
    // The subcommand is optional only so that the packagers' flags above need none.
    let Some(command) = cli.command.take() else {
        Cli::command()
            .error(
                clap::error::ErrorKind::MissingSubcommand,
                "a subcommand is required (generate, stock, validate, explain, check)",
            )
            .exit();
    };
    let mut params = BTreeMap::new();
    let inputs = match &command {
        Command::Generate {
            inputs, params: p, ..
        } => {
            for (name, value) in p {
                if params.insert(name.clone(), value.clone()).is_some() {
                    Cli::command()
                        .error(
                            clap::error::ErrorKind::ArgumentConflict,
                            format!("--param {name} is given twice"),
                        )
                        .exit();
                }
            }
            Inputs {
                specs: inputs.specs.clone(),
                fs_exclude: inputs.fs_exclude.clone(),
                fs_include: inputs.fs_include.clone(),
                default_slo_period: inputs.default_slo_period,
            }
        }
        Command::Validate { inputs } => Inputs {
            specs: inputs.specs.clone(),
            fs_exclude: inputs.fs_exclude.clone(),
            fs_include: inputs.fs_include.clone(),
            default_slo_period: inputs.default_slo_period,
        },
        Command::Check {
            files,
            prometheus,
            lookback,
            rate_interval,
            interval,
            range,
            timeout,
            user,
            password_file,
            bearer_token_file,
        } => {
            let opts = check::Options {
                lookback_secs: *lookback,
                rate_interval: rate_interval.clone(),
                interval: interval.clone(),
                range: range.clone(),
            };
            let auth = Auth {
                user: user.clone(),
                password_file: password_file.clone(),
                bearer_token_file: bearer_token_file.clone(),
            };
            return run_check(files, prometheus, *timeout, &auth, &opts);
        }
        Command::Explain { spec } => Inputs {
            specs: vec![spec.clone()],
            fs_exclude: None,
            fs_include: None,
            default_slo_period: spec::LoadOptions::default().sloth_period_secs,
        },
        Command::Stock { root } => {
            return match write_stock(root) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(1)
                }
            };
        }
    };
    let filter = lakewatch_rulegen::FileFilter {
        exclude: inputs.fs_exclude,
        include: inputs.fs_include,
    };
    let opts = spec::LoadOptions {
        params,
        sloth_period_secs: inputs.default_slo_period,
    };
    let loaded = lakewatch_rulegen::spec_files(&inputs.specs, &filter)
        .map_err(|e| vec![e])
        .and_then(|files| lakewatch_rulegen::load_files_with(&files, &opts));
    let mut services = match loaded {
        Ok(loaded) => {
            for w in &loaded.warnings {
                eprintln!("warning: {w}");
            }
            loaded.services
        }
        Err(errors) => {
            // Every problem of every spec, so one run shows all there is to fix.
            for e in &errors {
                eprintln!("error: {e}");
            }
            if errors.len() > 1 {
                eprintln!("{} problems; nothing was written", errors.len());
            }
            return ExitCode::from(1);
        }
    };
    let result = match command {
        Command::Generate {
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
        } => {
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
                eprintln!(
                    "error: -o - writes only the rules; --overview needs an output directory"
                );
                return ExitCode::from(1);
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
            generated.and_then(|()| {
                if !overview {
                    return Ok(());
                }
                match dashboard::overview_dashboard(&services) {
                    Some(d) => write(&out.join(dashboard::OVERVIEW_FILE), &dashboard::render(&d)),
                    None => Ok(()),
                }
            })
        }
        Command::Stock { .. } | Command::Check { .. } => {
            unreachable!("handled before specs are loaded")
        }
        Command::Validate { .. } => {
            for s in &services {
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
        Command::Explain { .. } => {
            print!("{}", explain(&services));
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
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

/// Regenerates the stock pack under `root`.
fn write_stock(root: &Path) -> anyhow::Result<()> {
    let spec = root.join(stock::SPEC_PATH);
    let text =
        std::fs::read_to_string(&spec).with_context(|| format!("reading {}", spec.display()))?;
    for f in stock::generate(&text)? {
        let path = root.join(&f.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        write(&path, &f.text)?;
    }
    Ok(())
}

/// Credentials for Prometheus, from files (never from the command line, where `ps`
/// shows them).
struct Auth {
    user: Option<String>,
    password_file: Option<PathBuf>,
    bearer_token_file: Option<PathBuf>,
}

/// `check`: exit 0 when every query is fine, 1 when a problem was found, 2 when nothing
/// could be checked (a file cannot be read, Prometheus does not answer).
fn run_check(
    files: &[PathBuf],
    url: &str,
    timeout_secs: u64,
    auth: &Auth,
    opts: &check::Options,
) -> ExitCode {
    match check_files(files, url, timeout_secs, auth, opts) {
        Ok(report) => {
            print!("{}", report.render());
            if report.problem_count() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            // A check error already names its cause; anyhow's chain would repeat it.
            match e.downcast_ref::<check::CheckError>() {
                Some(e) => eprintln!("error: {e}"),
                None => eprintln!("error: {e:#}"),
            }
            ExitCode::from(2)
        }
    }
}

fn check_files(
    files: &[PathBuf],
    url: &str,
    timeout_secs: u64,
    auth: &Auth,
    opts: &check::Options,
) -> anyhow::Result<check::Report> {
    let mut queries = Vec::new();
    for f in files {
        let is_dashboard = f.extension().is_some_and(|e| e == "json");
        queries.extend(if is_dashboard {
            check::dashboard_queries(f)?
        } else {
            check::rule_file_queries(f)?
        });
    }
    let secret = |p: &Path| -> anyhow::Result<String> {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        Ok(text.trim_end_matches(['\r', '\n']).to_string())
    };
    let mut prom =
        check::Prometheus::new(url)?.with_timeout(std::time::Duration::from_secs(timeout_secs));
    if let (Some(user), Some(p)) = (&auth.user, &auth.password_file) {
        prom = prom.with_basic_auth(user, &secret(p)?);
    }
    if let Some(p) = &auth.bearer_token_file {
        prom = prom.with_bearer_token(&secret(p)?);
    }
    // One request first, so a wrong URL or a Prometheus that is down is one clear error
    // (exit 2) rather than every query failing.
    prom.ping()?;
    let report = check::run(&prom, &queries, opts);
    // A Prometheus that went away mid-run is not a finding about the queries either.
    if let Some(e) = report.unreachable() {
        anyhow::bail!("{e}");
    }
    Ok(report)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
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
