//! The `watchdeck` binary: parses the command line and hands off to the library's front ends.

use std::process::ExitCode;

use clap::Parser;

use watchdeck::front::cli::{Cli, Command, DemoArgs};
use watchdeck::front::{run, say, EXIT_ERROR};
use watchdeck::logging;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = logging::init();
    let screen = matches!(
        cli.command,
        None | Some(Command::Demo(DemoArgs { command: None, .. }))
    );
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            say(&format!("watchdeck: {e:#}"));
            ExitCode::from(EXIT_ERROR)
        }
    };
    if screen {
        if let Some(p) = &log.path {
            say(&format!("watchdeck: logs are in {}", p.display()));
        }
        if let Some(problem) = &log.problem {
            say(&format!("watchdeck: {problem}"));
        }
    }
    code
}
