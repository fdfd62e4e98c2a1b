//! `watchdeck config check [PATH]`: load the config as the cockpit would and say what it holds,
//! with the PromQL each fleet will send.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, Result};

use crate::config::Config;

use super::EXIT_ERROR;

/// Checks the config at `path` (or the one found as the cockpit would find it).
pub fn check(path: Option<&Path>) -> Result<ExitCode> {
    let path = Config::locate(path).ok_or_else(|| {
        anyhow!(
            "no config file: pass --config PATH, set WATCHDECK_CONFIG, or create {}",
            Config::default_path().map_or_else(
                || "~/.config/watchdeck/config.toml".to_owned(),
                |p| p.display().to_string()
            )
        )
    })?;
    match Config::load(&path) {
        Ok(c) => {
            println!(
                "{}: ok — {} targets, {} disks, {} fleets",
                path.display(),
                c.targets.len(),
                c.disks.len(),
                c.fleets.len()
            );
            // The PromQL each fleet sends, for review by whoever runs the store.
            for f in &c.fleets {
                let queries = crate::source::fleet::describe(f);
                println!(
                    "\nfleet {} ({}): {} queries per refresh, every {}:",
                    f.name,
                    crate::text::display_url(&f.url),
                    queries.lines().count(),
                    humantime::format_duration(f.interval)
                );
                for q in queries.lines() {
                    println!("  {q}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            super::say(&e.to_string());
            Ok(ExitCode::from(EXIT_ERROR))
        }
    }
}
