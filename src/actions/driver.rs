//! From a target's config and a request to the driver that does the work: plan and run.
//!
//! Each driver (backup, topic, rollback, command) owns its plan type; this module wraps them in
//! one enum so that `exec` can treat every action alike: a plan with steps and a fingerprint, a
//! run that ends in a report or a failure.

use std::time::SystemTime;

use super::child::{self, ChildError};
use super::exec::{ActionError, Prepared, Request};
use super::listing::Backups;
use super::{Ctx, Step};
use crate::config::TargetConfig;

/// The driver-specific part of a plan.
#[derive(Debug, Clone)]
pub(super) enum DriverPlan {
    Command { argv: Vec<String> },
}

/// A successful run.
#[derive(Debug, Clone, Default)]
pub(super) struct DriverReport {
    pub summary: String,
    pub exit_code: Option<i32>,
    pub verification: Option<String>,
    pub stdout_tail: Vec<String>,
    pub stderr_tail: Vec<String>,
}

/// A failed run, already in plain words.
#[derive(Debug, Clone, Default)]
pub(super) struct DriverFailure {
    pub message: String,
    pub cancelled: bool,
    pub timed_out: bool,
    pub exit_code: Option<i32>,
    pub stdout_tail: Vec<String>,
    pub stderr_tail: Vec<String>,
}

impl From<ChildError> for DriverFailure {
    fn from(e: ChildError) -> DriverFailure {
        let tails = e.tails().cloned();
        DriverFailure {
            message: e.to_string(),
            cancelled: matches!(e, ChildError::Cancelled { .. }),
            timed_out: matches!(e, ChildError::TimedOut { .. }),
            exit_code: None,
            stdout_tail: tails
                .as_ref()
                .map(|t| t.stdout_tail.clone())
                .unwrap_or_default(),
            stderr_tail: tails.map(|t| t.stderr_tail).unwrap_or_default(),
        }
    }
}

/// Plans `req` on `t`. `allow_exec`: a driver may run a preview command (never in read-only).
#[allow(clippy::unused_async)] // the rollback driver awaits a dry run here
pub(super) async fn plan(
    t: &TargetConfig,
    req: &Request,
    _allow_exec: bool,
) -> Result<Prepared, ActionError> {
    match req {
        Request::Run { name, .. } => {
            let Some(c) = t.actions.commands.iter().find(|c| &c.name == name) else {
                return Err(ActionError::Invalid(format!(
                    "{} has no command named {name:?} — its commands: {}",
                    t.name,
                    names(t)
                )));
            };
            let argv = expand(&c.argv, &t.name).map_err(ActionError::Invalid)?;
            let steps = vec![Step::Exec {
                argv: argv.clone(),
                env: Vec::new(),
            }];
            Ok(Prepared {
                request: req.clone(),
                risk: c.risk,
                title: format!(
                    "Run {name} on {}{}",
                    t.name,
                    c.description
                        .as_ref()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                ),
                steps,
                confirm_word: t.name.clone(),
                fingerprint: format!("command {name}: {}", c.argv.join(" ")),
                timeout: c.timeout,
                dry_run: None,
                driver: DriverPlan::Command { argv },
            })
        }
        other => Err(ActionError::NotConfigured {
            target: t.name.clone(),
            kind: other.kind().as_str(),
            section: section(other),
        }),
    }
}

fn section(req: &Request) -> &'static str {
    match req {
        Request::Backup { .. } => "backup",
        Request::Suspend { .. } | Request::Resume { .. } => "topics",
        Request::Rollback { .. } => "rollback",
        Request::Run { .. } => "command",
    }
}

fn names(t: &TargetConfig) -> String {
    let n: Vec<&str> = t.actions.commands.iter().map(|c| c.name.as_str()).collect();
    if n.is_empty() {
        "none".into()
    } else {
        n.join(", ")
    }
}

/// Reads a target's backup generations for the Backups section.
pub(super) fn backups(_t: &TargetConfig, b: &crate::config::BackupConfig) -> Backups {
    Backups {
        max_age_ms: b.max_age.as_millis() as i64,
        error: Some("backup listing arrives with the backup driver".into()),
        ..Backups::default()
    }
}

/// Runs a plan made by [`plan`].
pub(super) async fn run(p: &Prepared, ctx: &Ctx) -> Result<DriverReport, DriverFailure> {
    match &p.driver {
        DriverPlan::Command { argv } => {
            ctx.phase(format!("running {}", argv[0]));
            let f = child::run(&child::Command::new(argv.iter().cloned()), ctx).await?;
            if f.success() {
                Ok(DriverReport {
                    summary: format!("{} finished ({})", argv[0], f.describe()),
                    exit_code: f.code,
                    verification: None,
                    stdout_tail: f.stdout_tail,
                    stderr_tail: f.stderr_tail,
                })
            } else {
                Err(DriverFailure {
                    message: format!(
                        "{} failed ({}){}",
                        argv[0],
                        f.describe(),
                        f.last_error_line()
                            .map(|l| format!(": {l}"))
                            .unwrap_or_default()
                    ),
                    exit_code: f.code,
                    stdout_tail: f.stdout_tail.clone(),
                    stderr_tail: f.stderr_tail.clone(),
                    ..DriverFailure::default()
                })
            }
        }
    }
}

/// A short description of what differs between two fingerprints.
pub(super) fn what_changed(old: &str, new: &str) -> String {
    let old: Vec<&str> = old.split('\n').collect();
    let new: Vec<&str> = new.split('\n').collect();
    let gone: Vec<&str> = old.iter().filter(|l| !new.contains(l)).copied().collect();
    let came: Vec<&str> = new.iter().filter(|l| !old.contains(l)).copied().collect();
    let mut parts = Vec::new();
    if !came.is_empty() {
        parts.push(format!("now: {}", came.join("; ")));
    }
    if !gone.is_empty() {
        parts.push(format!("was: {}", gone.join("; ")));
    }
    if parts.is_empty() {
        "the plan differs".into()
    } else {
        parts.join(" — ")
    }
}

/// Fills `{target}`, `{ts}` and `{date}` in a command's argv.
fn expand(argv: &[String], target: &str) -> Result<Vec<String>, String> {
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let date = now[..10].to_owned();
    let ts = now.replace(['-', ':'], "");
    argv.iter()
        .map(|a| {
            let mut out = a.replace("{{", "\u{0}").replace("}}", "\u{1}");
            for (k, v) in [("{target}", target), ("{ts}", ts.as_str()), ("{date}", date.as_str())] {
                out = out.replace(k, v);
            }
            if out.contains('{') {
                return Err(format!("{a:?} uses a placeholder that `run` cannot fill (only {{target}}, {{ts}}, {{date}})"));
            }
            Ok(out.replace('\u{0}', "{").replace('\u{1}', "}"))
        })
        .collect()
}
