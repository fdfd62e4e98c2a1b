//! Command rollback: an undo argv (`kubectl rollout undo deployment/<name> -n <ns>`), then an
//! optional status argv that waits for the rollout (`kubectl rollout status … --timeout=120s`).
//! The dry run (`--dry-run=server`) is a separate call so the caller can decide whether
//! spawning anything is allowed for a preview (never in read-only mode).

use super::RollbackError;
use crate::actions::child::{self, Finished};
use crate::actions::{Ctx, Step};

/// What to run. The argv are used as given (argv only, never a shell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRollbackSpec {
    pub target: String,
    pub undo: Vec<String>,
    pub status: Option<Vec<String>>,
    pub dry_run: Option<Vec<String>>,
}

/// The argv of a command rollback, as confirmed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CommandRollbackPlan {
    pub target: String,
    pub steps: Vec<Step>,
}

/// How it went: both children ran and exited 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    pub undo: Finished,
    pub status: Option<Finished>,
}

impl CommandRollbackSpec {
    /// The runbook's Kubernetes rollback for `deployment/<deployment>` in `namespace`:
    /// undo, then `rollout status` bounded by `status_timeout_secs`, and a server-side dry run.
    pub fn kubectl(
        target: impl Into<String>,
        deployment: &str,
        namespace: &str,
        status_timeout_secs: u64,
    ) -> Result<Self, RollbackError> {
        let target = target.into();
        for (what, v) in [("deployment", deployment), ("namespace", namespace)] {
            if !is_k8s_name(v) {
                return Err(RollbackError::Spec {
                    target,
                    why: format!(
                        "{what} {v:?} is not a Kubernetes name (lowercase letters, digits, '-' and '.', starting with a letter or digit, at most 253 characters)"
                    ),
                });
            }
        }
        let resource = format!("deployment/{deployment}");
        let base = |verb: &str| -> Vec<String> {
            ["kubectl", "rollout", verb, &resource, "-n", namespace]
                .map(str::to_owned)
                .to_vec()
        };
        let mut status = base("status");
        status.push(format!("--timeout={status_timeout_secs}s"));
        let mut dry_run = base("undo");
        dry_run.push("--dry-run=server".into());
        Ok(CommandRollbackSpec {
            target,
            undo: base("undo"),
            status: Some(status),
            dry_run: Some(dry_run),
        })
    }
}

fn is_k8s_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

fn check(spec: &CommandRollbackSpec) -> Result<(), RollbackError> {
    let empty = |a: &Option<Vec<String>>| a.as_ref().is_some_and(Vec::is_empty);
    if spec.undo.is_empty() || empty(&spec.status) || empty(&spec.dry_run) {
        return Err(RollbackError::Spec {
            target: spec.target.clone(),
            why: "a rollback command (undo, status or dry run) is configured but empty".into(),
        });
    }
    Ok(())
}

/// The plan: the undo argv, then the status argv. No side effects.
pub fn plan_command(spec: &CommandRollbackSpec) -> Result<CommandRollbackPlan, RollbackError> {
    check(spec)?;
    let mut steps = vec![Step::Exec {
        argv: spec.undo.clone(),
        env: Vec::new(),
    }];
    match &spec.status {
        Some(status) => steps.push(Step::Exec {
            argv: status.clone(),
            env: Vec::new(),
        }),
        None => steps.push(Step::Note {
            text: "no status command: the rollout is not waited for; check it by hand".into(),
        }),
    }
    Ok(CommandRollbackPlan {
        target: spec.target.clone(),
        steps,
    })
}

/// Runs the dry-run argv and returns its stdout lines for the preview. Spawns a process: the
/// caller must not call this in read-only mode. `Ok(None)` when no dry run is configured.
pub async fn preview_dry_run(
    spec: &CommandRollbackSpec,
    ctx: &Ctx,
) -> Result<Option<Vec<String>>, RollbackError> {
    check(spec)?;
    let Some(argv) = &spec.dry_run else {
        return Ok(None);
    };
    ctx.phase("dry run");
    let f = run_checked(spec, argv, ctx).await?;
    Ok(Some(f.stdout_tail))
}

/// Runs undo, then status; a non-zero exit stops it with that command's last stderr line.
pub async fn run_command(
    spec: &CommandRollbackSpec,
    ctx: &Ctx,
) -> Result<CommandOutcome, RollbackError> {
    check(spec)?;
    if ctx.cancel.is_cancelled() {
        return Err(RollbackError::Cancelled {
            target: spec.target.clone(),
        });
    }
    ctx.phase("rolling back");
    let undo = run_checked(spec, &spec.undo, ctx).await?;
    let status = match &spec.status {
        Some(argv) => {
            ctx.phase("waiting for the rollout");
            Some(run_checked(spec, argv, ctx).await?)
        }
        None => None,
    };
    Ok(CommandOutcome { undo, status })
}

async fn run_checked(
    spec: &CommandRollbackSpec,
    argv: &[String],
    ctx: &Ctx,
) -> Result<Finished, RollbackError> {
    // "kubectl rollout undo": enough to tell the two steps apart in a one-line error.
    let program = argv.iter().take(3).cloned().collect::<Vec<_>>().join(" ");
    let f = child::run(&child::Command::new(argv.to_vec()), ctx)
        .await
        .map_err(|source| RollbackError::Child {
            target: spec.target.clone(),
            source,
        })?;
    if f.success() {
        return Ok(f);
    }
    let detail = match f.last_error_line() {
        Some(line) => format!("{}: {line}", f.describe()),
        None => format!("{} with no error output", f.describe()),
    };
    Err(RollbackError::Command {
        target: spec.target.clone(),
        program,
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_spec_follows_the_runbook() {
        let s = CommandRollbackSpec::kubectl("api", "rosterhub-api", "rosterhub", 120).expect("ok");
        assert_eq!(
            s.undo.join(" "),
            "kubectl rollout undo deployment/rosterhub-api -n rosterhub"
        );
        assert_eq!(
            s.status.as_ref().map(|v| v.join(" ")).as_deref(),
            Some("kubectl rollout status deployment/rosterhub-api -n rosterhub --timeout=120s")
        );
        assert!(s
            .dry_run
            .as_ref()
            .is_some_and(|d| d.last().map(String::as_str) == Some("--dry-run=server")));
        for bad in ["-n", "Api", "", "a b", "x;y"] {
            assert!(
                CommandRollbackSpec::kubectl("api", bad, "ns", 120).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn plan_shows_undo_then_status() {
        let s = CommandRollbackSpec::kubectl("api", "web", "prod", 60).expect("ok");
        let p = plan_command(&s).expect("plan");
        let lines: Vec<String> = p.steps.iter().map(Step::describe).collect();
        assert_eq!(
            lines,
            [
                "kubectl rollout undo deployment/web -n prod",
                "kubectl rollout status deployment/web -n prod --timeout=60s"
            ]
        );
    }
}
