//! `rift`, as a library: the command line ([`main`]) and everything it runs. The binary is
//! `main` with the built-in stores; tests and other binaries call [`main_with`] with a
//! [`stores::Registry`] of their own (a store registered there runs through `rift test`
//! unchanged, since nothing here names a concrete store).

mod check;
pub mod cli;
mod cluster_cmd;
mod convert;
mod demo;
mod exec;
mod exit;
mod heal_cmd;
mod nemesis;
mod new_cmd;
mod nodes;
pub mod plan;
mod report_cmd;
pub mod run;
mod serve;
mod test_cmd;

use clap::{CommandFactory, FromArgMatches};
use exit::Exit;
use std::ffi::OsString;
use std::process::ExitCode;

/// `rift` with the stores built in.
pub fn main() -> ExitCode {
    main_with(std::env::args_os(), &stores::Registry::builtin())
}

/// `rift` with these arguments (the first is the program's name) and these stores.
pub fn main_with<I, T>(args: I, registry: &stores::Registry) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let command = cli::Cli::command().mut_subcommand("test", |t| t.after_help(registry.describe()));
    let parsed = command
        .try_get_matches_from(args)
        .and_then(|m| cli::Cli::from_arg_matches(&m));
    let exit = match parsed {
        Ok(cli) => run(cli, registry),
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() {
                Exit::BadArguments
            } else {
                Exit::Valid
            }
        }
    };
    ExitCode::from(exit as u8)
}

fn run(cli: cli::Cli, registry: &stores::Registry) -> Exit {
    let outcome = match cli.command {
        cli::Command::Check(args) => check::run(args),
        cli::Command::Convert(args) => convert::run(args),
        cli::Command::Cluster(command) => cluster_cmd::run(command),
        cli::Command::Exec(args) => exec::run(args),
        cli::Command::Test(args) => test_cmd::run(*args, registry),
        cli::Command::Heal(args) => heal_cmd::run(args),
        cli::Command::Demo(args) => demo::run(args, registry),
        cli::Command::Serve(args) => serve::run(args),
        cli::Command::Report(args) => report_cmd::run(args),
        cli::Command::New(command) => new_cmd::run(command),
    };
    outcome.unwrap_or_else(|e| {
        eprintln!("rift: error: {e:#}");
        exit::classify(&e)
    })
}
