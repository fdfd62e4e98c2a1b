//! The front ends: the cockpit, `snapshot`, `check`, `action`, `scrape`, `config` and the demo
//! commands. Each turns command-line arguments into a call on the engine and an exit status;
//! nothing below this folder knows they exist.

pub mod action;
pub mod check;
pub mod cli;
pub mod cockpit;
pub mod config_cmd;
pub mod demo_cmd;
mod effects;
mod run;
pub mod scrape;
pub mod snapshot;

use anyhow::{anyhow, Context, Result};

pub use run::run;

use crate::demo::Scenario;

/// Exit statuses: 0 fine, 1 something watched is wrong (target down, malformed lines),
/// 2 watchdeck could not do what was asked (bad config, unreachable endpoint).
pub const EXIT_PROBLEM: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

/// One line on stderr; a failed write is ignored. After a hangup the terminal is gone and
/// the write fails with EIO: `eprintln!` would panic (exit 101) where the exit must be 129.
pub fn say(line: &str) {
    use std::io::Write as _;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}").and_then(|()| err.flush());
}

/// The async runtime the front ends run the engine on: two workers.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    runtime_with(2)
}

pub fn runtime_with(workers: usize) -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// A scenario by name, or the list of names.
pub fn parse_scenario(s: &str) -> Result<Scenario> {
    s.parse::<Scenario>().map_err(|_| {
        let all: Vec<String> = Scenario::ALL.iter().map(ToString::to_string).collect();
        anyhow!("unknown scenario {s:?}; choose one of: {}", all.join(", "))
    })
}

/// Where locks and the audit file live: the config's `state_dir` or the user's state
/// directory, never a shared one (the temporary directory), and closed to others. Neither the
/// cockpit nor `action` starts without one of the operator's own.
pub fn state_dir(config: &crate::config::Config) -> Result<std::path::PathBuf> {
    let state_dir = config
        .actions
        .state_dir
        .clone()
        .or_else(crate::logging::state_dir)
        .ok_or_else(|| {
            anyhow!("no HOME or XDG_STATE_HOME: set one, or [actions] state_dir in the config")
        })?;
    crate::safe_fs::private_dir(&state_dir)
        .with_context(|| format!("cannot use the state directory {}", state_dir.display()))?;
    Ok(state_dir)
}
