//! `rift`: a fault-injection test harness for replicated data stores.
//!
//! `main` parses, runs, and maps the outcome to an exit code; the work is in the modules.

mod check;
mod cli;
mod cluster_cmd;
mod convert;
mod demo;
mod exec;
mod exit;
mod heal_cmd;
mod nemesis;
mod nodes;
mod report_cmd;
mod serve;
mod test_cmd;

use clap::Parser;
use exit::Exit;
use std::process::ExitCode;

fn main() -> ExitCode {
    let exit = match cli::Cli::try_parse() {
        Ok(cli) => run(cli),
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

fn run(cli: cli::Cli) -> Exit {
    let outcome = match cli.command {
        cli::Command::Check(args) => check::run(args),
        cli::Command::Convert(args) => convert::run(args),
        cli::Command::Cluster(command) => cluster_cmd::run(command),
        cli::Command::Exec(args) => exec::run(args),
        cli::Command::Test(args) => test_cmd::run(*args),
        cli::Command::Heal(args) => heal_cmd::run(args),
        cli::Command::Demo(args) => demo::run(args),
        cli::Command::Serve(args) => serve::run(args),
        cli::Command::Report(args) => report_cmd::run(args),
    };
    outcome.unwrap_or_else(|e| {
        eprintln!("rift: error: {e:#}");
        exit::classify(&e)
    })
}
