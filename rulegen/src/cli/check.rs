//! `check`: read rule files and dashboards back and ask a live Prometheus about their
//! queries.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use lakewatch_rulegen::check;

use super::flags::CheckArgs;

/// Runs `check` with its own exit codes (see [`run_check`]).
pub(crate) fn run(args: &CheckArgs) -> ExitCode {
    let opts = check::Options {
        lookback_secs: args.lookback,
        rate_interval: args.rate_interval.clone(),
        interval: args.interval.clone(),
        range: args.range.clone(),
    };
    let auth = Auth {
        user: args.user.clone(),
        password_file: args.password_file.clone(),
        bearer_token_file: args.bearer_token_file.clone(),
    };
    run_check(&args.files, &args.prometheus, args.timeout, &auth, &opts)
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
