//! Rollback drivers: the release-symlink rollback (`current -> releases/<ts>`, restart,
//! health gate, automatic revert) and the command rollback (`kubectl rollout undo`, then
//! `kubectl rollout status`).
//!
//! A symlink rollback is planned against a scan of the tree; the plan carries a fingerprint
//! of what it was based on, and the run refuses with [`RollbackError::Changed`] when the tree
//! no longer matches, so a confirmation never applies to a tree the operator did not see.
//! After the switch, anything short of "restart succeeded and N consecutive healthy checks
//! within the deadline" puts the old release back, restarts again and marks the release that
//! failed as bad, so the next plan skips it.

mod health;
pub mod kube;
pub mod releases;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::child::{self, ChildError, Finished};
use super::{Ctx, Step};
pub use crate::text::masked_url;
pub use kube::{plan_command, preview_dry_run, run_command, CommandOutcome, CommandRollbackSpec};
pub use releases::{scan, Refusal, Tree};

/// What to roll back and how to check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymlinkSpec {
    /// The target's configured name (for messages and single-flight keys).
    pub target: String,
    /// The directory holding `current` and `releases/` (e.g. `/opt/twi-overlay`).
    pub root: PathBuf,
    /// Restart argv, e.g. `["systemctl", "restart", "twi-overlay"]`.
    pub restart: Vec<String>,
    /// Health URLs; every one must answer 2xx for a check to count as healthy.
    pub health: Vec<reqwest::Url>,
    /// Consecutive healthy checks needed.
    pub healthy_needed: u32,
    /// How long after the restart the checks may take.
    pub health_deadline: Duration,
    /// Pause between checks.
    pub health_interval: Duration,
    /// Budget for the revert (switch back and restart). The revert runs even after a cancel
    /// or past the action's deadline: leaving a release that failed live is worse.
    pub revert_timeout: Duration,
}

impl SymlinkSpec {
    pub const DEFAULT_HEALTHY_NEEDED: u32 = 3;
    pub const DEFAULT_HEALTH_DEADLINE: Duration = Duration::from_secs(90);
    pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(1);
    pub const DEFAULT_REVERT_TIMEOUT: Duration = Duration::from_secs(60);

    /// A spec with the default health gate (3 checks, 90 s, 1 s apart).
    pub fn new(
        target: impl Into<String>,
        root: impl Into<PathBuf>,
        restart: Vec<String>,
        health: Vec<reqwest::Url>,
    ) -> Self {
        SymlinkSpec {
            target: target.into(),
            root: root.into(),
            restart,
            health,
            healthy_needed: Self::DEFAULT_HEALTHY_NEEDED,
            health_deadline: Self::DEFAULT_HEALTH_DEADLINE,
            health_interval: Self::DEFAULT_HEALTH_INTERVAL,
            revert_timeout: Self::DEFAULT_REVERT_TIMEOUT,
        }
    }
}

/// What a symlink rollback will do, as confirmed by the operator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SymlinkPlan {
    pub target: String,
    pub steps: Vec<Step>,
    /// The release live now.
    pub from: String,
    /// The release it rolls back to.
    pub to: String,
    /// `current`'s link text now (restored verbatim on revert).
    pub from_link: PathBuf,
    /// The link text `current` gets (same relative/absolute style).
    pub to_link: PathBuf,
    /// The tree the plan was made from; see [`Tree::fingerprint`].
    pub fingerprint: String,
}

/// How a successful symlink rollback went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymlinkOutcome {
    pub from: String,
    pub to: String,
    pub restart: Finished,
    pub healthy_checks: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    #[error("{target}: the spec is unusable: {why}")]
    Spec { target: String, why: String },
    #[error("{target}: cannot read the releases under {root}: {source}")]
    Scan {
        target: String,
        root: PathBuf,
        source: std::io::Error,
    },
    #[error("{target}: nothing to roll back to: {why}")]
    NoCandidate { target: String, why: Refusal },
    #[error("{target}: the releases under {root} changed since the plan was made (current, releases or bad marks); nothing was done — review the new plan and confirm again")]
    Changed {
        target: String,
        root: PathBuf,
        /// The tree's fingerprint now, for the audit record.
        now: String,
    },
    #[error("{target}: cancelled before switching; nothing was changed")]
    Cancelled { target: String },
    #[error("{target}: could not switch {root}/current to {to}: {source}; current is unchanged")]
    Switch {
        target: String,
        root: PathBuf,
        to: String,
        source: std::io::Error,
    },
    /// The switch happened, then the restart or the health gate failed (or the operator
    /// cancelled): the old release is live again and the failed one is marked bad.
    #[error("{}: rollback to {} was reverted: {}. current points to {} again, {}", .0.target, .0.to, .0.why, .0.from, .0.after)]
    Reverted(Box<AfterSwitch>),
    /// As [`RollbackError::Reverted`], but putting the old release back failed too.
    #[error("{}: rollback to {} failed ({}) AND the revert to {} failed: {}. The service may be down: check {}/current and restart it by hand", .0.target, .0.to, .0.why, .0.from, .0.after, .0.root.display())]
    RevertFailed(Box<AfterSwitch>),
    #[error("{target}: {program} failed: {detail}")]
    Command {
        target: String,
        program: String,
        detail: String,
    },
    #[error("{target}: {source}")]
    Child { target: String, source: ChildError },
}

/// What happened to a rollback that failed after `current` was switched.
#[derive(Debug)]
pub struct AfterSwitch {
    pub target: String,
    pub root: PathBuf,
    /// The release that was live before (and is again, unless the revert failed).
    pub from: String,
    /// The release that failed.
    pub to: String,
    /// Why the rollback failed.
    pub why: String,
    /// What the revert did (restart status, bad mark), or how it failed.
    pub after: String,
}

/// Scans the tree and plans a rollback to the candidate release. No side effects.
pub fn plan_symlink(spec: &SymlinkSpec) -> Result<SymlinkPlan, RollbackError> {
    check_spec(spec)?;
    let tree = scan_for(spec)?;
    let candidate = tree
        .candidate()
        .map_err(|why| RollbackError::NoCandidate {
            target: spec.target.clone(),
            why,
        })?
        .name
        .clone();
    // candidate() succeeded, so current is a link to a release.
    let releases::Current::Link {
        target: from_link,
        release: Some(from),
        ..
    } = &tree.current
    else {
        return Err(RollbackError::Spec {
            target: spec.target.clone(),
            why: "current does not point to a release".into(),
        });
    };
    let (from, from_link) = (from.clone(), from_link.clone());
    let to_link = releases::link_for(&spec.root, &candidate, tree.current_is_absolute()).map_err(
        |source| RollbackError::Scan {
            target: spec.target.clone(),
            root: spec.root.clone(),
            source,
        },
    )?;
    let urls: Vec<String> = spec.health.iter().map(masked_url).collect();
    let mut steps = vec![
        Step::File {
            what: format!(
                "current: releases/{from} -> releases/{candidate}  (in {}, atomic symlink swap)",
                spec.root.display()
            ),
        },
        Step::Exec {
            argv: spec.restart.clone(),
            env: Vec::new(),
        },
        Step::Note {
            text: format!(
                "health gate: {} consecutive healthy checks of {} within {} s",
                spec.healthy_needed,
                urls.join(", "),
                spec.health_deadline.as_secs()
            ),
        },
        Step::Note {
            text: format!(
                "if the restart fails, health is not reached or the action is cancelled after the switch: \
                 current goes back to releases/{from}, the restart runs again, and releases/{candidate} \
                 is marked bad (releases/{candidate}/{})",
                releases::BAD_MARK
            ),
        },
    ];
    for r in tree
        .releases
        .iter()
        .filter(|r| r.name > candidate && r.name < from)
    {
        if let Some(b) = &r.bad {
            steps.push(Step::Note {
                text: format!(
                    "skipping releases/{} (marked bad: {})",
                    r.name,
                    crate::text::one_line(&b.reason, 200)
                ),
            });
        }
    }
    Ok(SymlinkPlan {
        target: spec.target.clone(),
        steps,
        from,
        to: candidate,
        from_link,
        to_link,
        fingerprint: tree.fingerprint(),
    })
}

fn check_spec(spec: &SymlinkSpec) -> Result<(), RollbackError> {
    let why = if spec.restart.is_empty() {
        "the restart command is empty"
    } else if spec.health.is_empty() {
        "no health URL is configured; a rollback without a health gate cannot be verified"
    } else if spec.healthy_needed == 0 {
        "healthy_needed must be at least 1"
    } else {
        return Ok(());
    };
    Err(RollbackError::Spec {
        target: spec.target.clone(),
        why: why.into(),
    })
}

fn scan_for(spec: &SymlinkSpec) -> Result<Tree, RollbackError> {
    releases::scan(&spec.root).map_err(|source| RollbackError::Scan {
        target: spec.target.clone(),
        root: spec.root.clone(),
        source,
    })
}

/// Runs a confirmed plan: re-scan (refuse if changed), switch, restart, health gate; on any
/// failure after the switch, revert and mark the release bad.
pub async fn run_symlink(
    spec: &SymlinkSpec,
    plan: &SymlinkPlan,
    ctx: &Ctx,
) -> Result<SymlinkOutcome, RollbackError> {
    check_spec(spec)?;
    ctx.phase("checking releases");
    let tree = scan_for(spec)?;
    let now = tree.fingerprint();
    if now != plan.fingerprint {
        return Err(RollbackError::Changed {
            target: spec.target.clone(),
            root: spec.root.clone(),
            now,
        });
    }
    // The plan is data the caller holds: check that it is the plan this tree gives (same
    // from, same candidate, same link text) before acting on its links.
    let fresh = plan_symlink(spec)?;
    if (&fresh.from, &fresh.to, &fresh.from_link, &fresh.to_link)
        != (&plan.from, &plan.to, &plan.from_link, &plan.to_link)
    {
        return Err(RollbackError::Spec {
            target: spec.target.clone(),
            why: format!(
                "the plan (releases/{} -> releases/{}) is not the one this tree gives (releases/{} -> releases/{}); plan again",
                plan.from, plan.to, fresh.from, fresh.to
            ),
        });
    }
    if ctx.cancel.is_cancelled() {
        return Err(RollbackError::Cancelled {
            target: spec.target.clone(),
        });
    }

    ctx.phase("switching current");
    releases::swap_current(&spec.root, &plan.to_link).map_err(|source| RollbackError::Switch {
        target: spec.target.clone(),
        root: spec.root.clone(),
        to: plan.to.clone(),
        source,
    })?;

    ctx.phase("restarting");
    let restart = match child::run(&child::Command::new(spec.restart.clone()), ctx).await {
        Ok(f) if f.success() => f,
        Ok(f) => {
            let why = format!("the restart failed ({}{})", f.describe(), last_line(&f));
            return Err(revert(spec, plan, ctx, why).await);
        }
        Err(e) => {
            let why = format!("the restart did not complete: {e}");
            return Err(revert(spec, plan, ctx, why).await);
        }
    };

    match health::gate(spec, ctx).await {
        Ok(checks) => Ok(SymlinkOutcome {
            from: plan.from.clone(),
            to: plan.to.clone(),
            restart,
            healthy_checks: checks,
        }),
        Err(why) => Err(revert(spec, plan, ctx, ctx.mask(&why)).await),
    }
}

fn last_line(f: &Finished) -> String {
    f.last_error_line()
        .map(|l| format!(": {l}"))
        .unwrap_or_default()
}

/// Puts `from` back, restarts, marks `to` bad. Runs under its own context: the operator's
/// cancel or the action's deadline may be what brought us here, and must not stop the revert.
async fn revert(spec: &SymlinkSpec, plan: &SymlinkPlan, ctx: &Ctx, why: String) -> RollbackError {
    ctx.phase("reverting");
    let rctx = Ctx {
        progress: ctx.progress.clone(),
        cancel: CancellationToken::new(),
        deadline: Instant::now() + spec.revert_timeout,
        secrets: ctx.secrets.clone(),
        lock: ctx.lock.clone(),
        state_dir: ctx.state_dir.clone(),
    };
    let swapped = releases::swap_current(&spec.root, &plan.from_link);
    // Marked whatever happens next: this release failed, and must not be offered again.
    let mark = match releases::mark_bad(&spec.root, &plan.to, &why) {
        Ok(()) => format!(", and {} is marked bad", plan.to),
        Err(e) => format!(
            "; marking {} bad failed ({e}), so it may be offered again",
            plan.to
        ),
    };
    let info = |after: String| {
        Box::new(AfterSwitch {
            target: spec.target.clone(),
            root: spec.root.clone(),
            from: plan.from.clone(),
            to: plan.to.clone(),
            why: why.clone(),
            after,
        })
    };
    let fail = |revert: String| RollbackError::RevertFailed(info(revert));
    if let Err(e) = swapped {
        return fail(format!("switching current back failed: {e}{mark}"));
    }
    ctx.phase("restarting (revert)");
    match child::run(&child::Command::new(spec.restart.clone()), &rctx).await {
        Ok(f) if f.success() => RollbackError::Reverted(info(format!(
            "the restart ran again ({}){mark}",
            f.describe()
        ))),
        Ok(f) => fail(format!(
            "current points to {} again but its restart failed ({}{}){mark}",
            plan.from,
            f.describe(),
            last_line(&f)
        )),
        Err(e) => fail(format!(
            "current points to {} again but its restart did not complete: {e}{mark}",
            plan.from
        )),
    }
}
