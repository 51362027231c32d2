//! `lakewatch-rulegen`: SLO specs in, Prometheus rules out. See the crate docs for the
//! pipeline; this file only parses flags, hands each subcommand to its module under
//! `cli/` and maps the outcome to an exit code.

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use cli::flags::{Cli, Command};

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
    let result = match command {
        Command::Generate(args) => cli::generate::run(args),
        Command::Validate { inputs } => cli::validate(&inputs),
        Command::Explain { spec } => cli::explain::run(spec),
        Command::Stock { root } => cli::stock::run(&root),
        Command::Check(args) => return cli::check::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The problems were printed where they were found.
        Err(cli::Failed) => ExitCode::from(1),
    }
}
