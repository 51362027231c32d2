//! The command line as clap reads it: every subcommand's flags, their help text and the
//! checks of single values (a duration, a URL, a label). What the flags mean together is
//! decided by each command's module beside this one.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use lakewatch_rulegen::alertmanager::{self, Integration};
use lakewatch_rulegen::model;
use lakewatch_rulegen::output::Flavor;

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
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,

    /// Print this command's man page (roff) and exit; for packagers.
    #[arg(long = "help-man", hide = true)]
    pub(crate) help_man: bool,

    /// Print a completion script for SHELL (bash, zsh, fish, elvish, powershell) and exit.
    #[arg(long = "completion-script", value_name = "SHELL", hide = true)]
    pub(crate) completion_script: Option<clap_complete::Shell>,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Generate rule files (one per service, or per spec file) into a directory, or the
    /// rules onto stdout (-o -). Every problem of every spec is printed before exit 1.
    Generate(GenerateArgs),
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
    Check(CheckArgs),
}

// `generate`'s flags (a plain comment: a doc comment would replace the subcommand's help).
#[derive(clap::Args)]
pub(crate) struct GenerateArgs {
    #[command(flatten)]
    pub(crate) inputs: Inputs,
    /// Output directory (created if missing), or `-` for the rules on stdout: one YAML
    /// document per service, `---` between them (Prometheus reads only a file's first
    /// document: give it one service at a time, or write to a directory).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Add this label to every generated rule, recording and alerting (repeatable;
    /// Sloth's flag). It overrides an SLO's label of the same name; an alert's own
    /// labels override it.
    #[arg(short = 'l', long = "extra-labels", value_name = "NAME=VALUE", value_parser = extra_label)]
    pub(crate) extra_labels: Vec<(String, String)>,
    /// Write no recording rules (Sloth's flag). The alerts read the recorded series, so
    /// they stay silent unless those rules come from another run.
    #[arg(long, conflicts_with_all = ["disable_alerts", "emit_tests"])]
    pub(crate) disable_recordings: bool,
    /// Write no alerting rules, only the recordings (Sloth's flag).
    #[arg(long, conflicts_with = "emit_tests")]
    pub(crate) disable_alerts: bool,
    /// One rule file per spec file rather than per service, as Sloth writes them: a
    /// spec found in a directory keeps its path under it (DIR/team/api.yml gives
    /// OUT/team/api.rules.yml), so each rule file maps back to its spec.
    #[arg(long)]
    pub(crate) per_spec_file: bool,
    /// Output flavour.
    #[arg(long, value_enum, default_value_t = FormatArg::Plain)]
    pub(crate) format: FormatArg,
    /// Replace the value of a parameter the specs declare under `params` for this run
    /// (repeatable), e.g. `--param pg_down_for=30s` for a staging pack.
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = param)]
    pub(crate) params: Vec<(String, String)>,
    /// Also write a `promtool test rules` file per service under DIR/tests/.
    #[arg(long)]
    pub(crate) emit_tests: bool,
    /// Also write a Grafana SLO dashboard per service with SLOs
    /// (<service>.slo.dashboard.json).
    #[arg(long)]
    pub(crate) dashboards: bool,
    /// Also write DIR/slo-overview.dashboard.json: one Grafana table of every SLO given
    /// (objective, period, SLI, budget remaining, alerts firing), each service linked
    /// to its SLO dashboard (--dashboards).
    #[arg(long)]
    pub(crate) overview: bool,
    /// Also write DIR/alertmanager.yml: routes by team and severity, inhibitions and
    /// receiver templates for all given specs.
    #[arg(long)]
    pub(crate) alertmanager: bool,
    /// Integrations of the paging receivers (comma-separated: pagerduty, slack, email, webhook).
    #[arg(long, value_delimiter = ',', default_value = "pagerduty", value_parser = integration)]
    pub(crate) page_via: Vec<Integration>,
    /// Integrations of the ticket receivers (comma-separated: pagerduty, slack, email, webhook).
    #[arg(long, value_delimiter = ',', default_value = "slack", value_parser = integration)]
    pub(crate) ticket_via: Vec<Integration>,
    /// Where Alertmanager finds the receivers' secret files.
    #[arg(long, default_value = "/etc/alertmanager/secrets")]
    pub(crate) secrets_dir: String,
    /// Base URL of webhook receivers: each POSTs to URL/<receiver name>.
    #[arg(long, value_name = "URL", default_value = alertmanager::DEFAULT_WEBHOOK_URL, value_parser = url, requires = "alertmanager")]
    pub(crate) webhook_url: String,
    /// Alertmanager group_wait: how long a new group waits for more alerts.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = lakewatch_rulegen::duration::parse, requires = "alertmanager")]
    pub(crate) group_wait: u64,
    /// Alertmanager group_interval: how often a group's new and resolved alerts are sent.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = interval, requires = "alertmanager")]
    pub(crate) group_interval: u64,
    /// Alertmanager repeat_interval: how often a group still firing is sent again.
    #[arg(long, value_name = "DURATION", default_value = "4h", value_parser = interval, requires = "alertmanager")]
    pub(crate) repeat_interval: u64,
}

// `check`'s flags (a plain comment, as for GenerateArgs).
#[derive(clap::Args)]
pub(crate) struct CheckArgs {
    /// Rule files (YAML, also PrometheusRule objects) and Grafana dashboards (JSON).
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// The Prometheus to ask, e.g. http://localhost:9090.
    #[arg(long, value_name = "URL", value_parser = url)]
    pub(crate) prometheus: String,
    /// A selector is dead when it matched no series within this window before now.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = lakewatch_rulegen::duration::parse)]
    pub(crate) lookback: u64,
    /// What dashboards' $__rate_interval stands for.
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = duration_text)]
    pub(crate) rate_interval: String,
    /// What dashboards' $__interval stands for.
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = duration_text)]
    pub(crate) interval: String,
    /// What dashboards' $__range stands for (their time range).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = duration_text)]
    pub(crate) range: String,
    /// Timeout of each request to Prometheus.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = interval)]
    pub(crate) timeout: u64,
    /// HTTP Basic user for Prometheus (with --prometheus.password-file).
    #[arg(
        long = "prometheus.user",
        value_name = "USER",
        requires = "password_file"
    )]
    pub(crate) user: Option<String>,
    /// File holding the HTTP Basic password.
    #[arg(
        long = "prometheus.password-file",
        value_name = "FILE",
        requires = "user"
    )]
    pub(crate) password_file: Option<PathBuf>,
    /// File holding a bearer token for Prometheus.
    #[arg(
        long = "prometheus.bearer-token-file",
        value_name = "FILE",
        conflicts_with = "user"
    )]
    pub(crate) bearer_token_file: Option<PathBuf>,
}

/// The spec files a run reads, as Sloth's `generate` takes them.
#[derive(clap::Args)]
pub(crate) struct Inputs {
    /// Spec files or directories: native (version: lakewatch/v1), Sloth (version:
    /// prometheus/v1 or its Kubernetes resource, apiVersion: sloth.slok.dev/v1) or OpenSLO
    /// (apiVersion: openslo/v1); a file may hold several specs separated by `---`. A
    /// directory is searched recursively for *.yml and *.yaml files.
    #[arg(required = true, value_name = "SPEC")]
    pub(crate) specs: Vec<PathBuf>,
    /// Skip files found in directories whose path matches this regular expression
    /// (Sloth's flag; it wins over --fs-include).
    #[arg(short = 'e', long, value_name = "REGEX")]
    pub(crate) fs_exclude: Option<regex::Regex>,
    /// Read only files found in directories whose path matches this regular expression
    /// (Sloth's flag).
    #[arg(short = 'n', long, value_name = "REGEX")]
    pub(crate) fs_include: Option<regex::Regex>,
    /// The period of Sloth specs, which have none of their own (Sloth's flag). Native and
    /// OpenSLO specs give theirs.
    #[arg(long, value_name = "DURATION", default_value = "30d", value_parser = slo_period)]
    pub(crate) default_slo_period: u64,
    /// How often Prometheus scrapes the SLIs' series (its scrape_interval): an SLI window
    /// shorter than two scrapes (the 5m rates, an OpenSLO timeSliceWindow) is warned
    /// about, since a rate over it has fewer than two samples.
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = interval)]
    pub(crate) scrape_interval: u64,
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
pub(crate) enum FormatArg {
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
