//! The action layer's front door: requests in, plans out, confirmed plans run under the rules
//! that make them safe on a bad day.
//!
//! `Actions::plan` builds a [`Prepared`] plan without side effects. `Actions::execute` takes that
//! plan and the operator's [`Confirmation`] and, in this order: refuses in read-only mode
//! (before anything else — no lock, no child, no request), checks the confirmation against the
//! plan's risk, re-plans and voids the confirmation if what was confirmed changed underneath,
//! takes the single-flight lock, writes and fsyncs the intent record, runs the driver under the
//! timeout and cancel token, and writes the outcome record. The cockpit, `watchdeck action` and
//! the tests all come through here.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::audit::{new_id, AuditLog, Record};
use super::driver::{self, DriverPlan, DriverReport};
use super::{lock, ActionKind, Ctx, Risk, Step};
use crate::config::{self, Config, TargetConfig};

/// What the operator asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Request {
    Backup {
        target: String,
    },
    Suspend {
        target: String,
        topic: String,
    },
    Resume {
        target: String,
        topic: String,
    },
    Rollback {
        target: String,
    },
    Run {
        target: String,
        name: String,
    },
    /// A silence in the configured Alertmanager for alerts matching every `labels` pair.
    Silence {
        labels: Vec<(String, String)>,
        minutes: u32,
        comment: String,
    },
    /// Expire the Alertmanager silence `id`.
    Unsilence {
        id: String,
    },
}

/// What Alertmanager actions are audited and locked under.
pub const ALERTMANAGER: &str = "alertmanager";

impl Request {
    pub fn target(&self) -> &str {
        match self {
            Request::Backup { target }
            | Request::Suspend { target, .. }
            | Request::Resume { target, .. }
            | Request::Rollback { target }
            | Request::Run { target, .. } => target,
            Request::Silence { .. } | Request::Unsilence { .. } => ALERTMANAGER,
        }
    }

    pub fn kind(&self) -> ActionKind {
        match self {
            Request::Backup { .. } => ActionKind::Backup,
            Request::Suspend { .. } => ActionKind::Suspend,
            Request::Resume { .. } => ActionKind::Resume,
            Request::Rollback { .. } => ActionKind::Rollback,
            Request::Run { .. } => ActionKind::Run,
            Request::Silence { .. } => ActionKind::Silence,
            Request::Unsilence { .. } => ActionKind::Unsilence,
        }
    }

    /// The parameters for the audit record (topic, command name).
    fn params(&self) -> serde_json::Value {
        match self {
            Request::Suspend { topic, .. } | Request::Resume { topic, .. } => {
                serde_json::json!({ "topic": topic })
            }
            Request::Run { name, .. } => serde_json::json!({ "name": name }),
            Request::Silence {
                labels,
                minutes,
                comment,
            } => serde_json::json!({ "matchers": labels, "minutes": minutes, "comment": comment }),
            Request::Unsilence { id } => serde_json::json!({ "silence": id }),
            Request::Backup { .. } | Request::Rollback { .. } => serde_json::Value::Null,
        }
    }
}

/// A plan ready for the operator's confirmation.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub request: Request,
    pub risk: Risk,
    /// One line: "Back up cn-relay with pg_dump".
    pub title: String,
    /// Exactly what will run, secrets masked.
    pub steps: Vec<Step>,
    /// What the operator must type for a high-risk action (the target's name or topic id).
    pub confirm_word: String,
    /// What the confirmation covers; a re-plan with another fingerprint voids it.
    pub fingerprint: String,
    pub timeout: Duration,
    /// Output of a server-side dry run, when the driver has one and it was allowed to run.
    pub dry_run: Option<String>,
    pub(super) driver: DriverPlan,
}

/// Two plans are the same plan when they ask the same thing, show the same steps and cover
/// the same state (the driver's internals follow from those).
impl PartialEq for Prepared {
    fn eq(&self, o: &Prepared) -> bool {
        self.request == o.request && self.steps == o.steps && self.fingerprint == o.fingerprint
    }
}

impl Eq for Prepared {}

impl Prepared {
    pub fn kind(&self) -> ActionKind {
        self.request.kind()
    }

    pub fn target(&self) -> &str {
        self.request.target()
    }

    pub fn plan_lines(&self) -> Vec<String> {
        self.steps.iter().map(Step::describe).collect()
    }
}

/// What the operator did at the confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// `y` on the low-risk dialog (or `--yes` for a low-risk action).
    Yes,
    /// The text typed on the high-risk dialog (or the confirm word with `--yes`).
    Typed(String),
}

crate::text::word_enum! {
    /// How an action ended, as the audit record and the screen say it.
    pub enum ActionResult {
        Succeeded => "succeeded",
        Failed => "failed",
        Cancelled => "cancelled",
        TimedOut => "timed-out",
        Refused => "refused",
        /// The terminal went away and the action finished without it.
        CompletedHeadless => "completed-headless",
        /// The terminal went away and the action failed or was cut short.
        Interrupted => "interrupted",
    }
}

/// How an action ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub id: String,
    pub result: ActionResult,
    /// One line for the toast and the panel.
    pub summary: String,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    pub verification: Option<String>,
    /// Output tails of the last child, for the output view.
    pub stdout_tail: Vec<String>,
    pub stderr_tail: Vec<String>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        matches!(
            self.result,
            ActionResult::Succeeded | ActionResult::CompletedHeadless
        )
    }

    fn refused(id: String, why: String) -> Outcome {
        Outcome {
            id,
            result: ActionResult::Refused,
            summary: why,
            exit_code: None,
            duration_ms: 0,
            verification: None,
            stdout_tail: Vec::new(),
            stderr_tail: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("read-only mode: {0} is refused — watchdeck was started with --read-only or the config sets read_only; no command, request or file change was made")]
    ReadOnly(String),
    #[error(
        "no target named {0:?} — the configured targets are listed by `watchdeck config check`"
    )]
    UnknownTarget(String),
    #[error("{target} has no {kind} action configured — add [target.{section}] to its config")]
    NotConfigured {
        target: String,
        kind: &'static str,
        section: &'static str,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Driver(String),
}

/// The action layer for one config.
#[derive(Debug, Clone)]
pub struct Actions {
    targets: Vec<TargetConfig>,
    alertmanager: Option<crate::config::alertmanager::AlertmanagerConfig>,
    read_only: bool,
    state_dir: PathBuf,
    audit: AuditLog,
}

impl Actions {
    /// `read_only_flag`: `--read-only` on the command line (ORed with the config's switch).
    /// `state_dir`: where locks live; the config's `[actions] state_dir` wins over it.
    pub fn new(config: &Config, read_only_flag: bool, state_dir: &Path) -> Actions {
        let state_dir = config
            .actions
            .state_dir
            .clone()
            .unwrap_or_else(|| state_dir.to_path_buf());
        let audit_path = config
            .actions
            .audit
            .clone()
            .unwrap_or_else(|| state_dir.join("audit.jsonl"));
        let mut secrets: Vec<String> = config
            .targets
            .iter()
            .flat_map(|t| {
                let mut s = config::actions::secrets_of(&t.actions);
                s.extend(t.headers.iter().map(|(_, v)| v.expose().to_owned()));
                if let Some(Ok(Some(pw))) =
                    t.postgres.as_ref().map(config::PostgresConfig::password)
                {
                    s.push(pw.expose().to_owned());
                }
                s
            })
            .collect();
        // "Bearer abc…": the token alone is as secret as the whole value.
        let parts: Vec<String> = secrets
            .iter()
            .filter_map(|s| s.split_once(' ').map(|(_, t)| t.trim().to_owned()))
            .collect();
        secrets.extend(parts);
        secrets.retain(|s| s.len() >= 4);
        // Longest first, so a whole value is masked before its parts.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        if let Some(t) = config.alertmanager.as_ref().and_then(|a| a.token.as_ref()) {
            secrets.push(t.expose().to_owned());
        }
        // What a run killed with -9 left: its temporary password files.
        super::backup::sweep_stale_passfiles(&state_dir);
        Actions {
            targets: config.targets.clone(),
            alertmanager: config.alertmanager.clone(),
            read_only: read_only_flag || config.actions.read_only,
            state_dir,
            audit: AuditLog::new(audit_path, secrets),
        }
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// Whether every action is refused (globally).
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// Whether actions on `target` are refused, and why.
    pub fn read_only_reason(&self, target: &str) -> Option<String> {
        if self.read_only {
            return Some("watchdeck runs read-only".into());
        }
        self.target(target)
            .ok()
            .filter(|t| t.actions.read_only)
            .map(|t| format!("target {} is read_only in the config", t.name))
    }

    fn target(&self, name: &str) -> Result<&TargetConfig, ActionError> {
        self.targets
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| ActionError::UnknownTarget(name.to_owned()))
    }

    /// The Backups section of the target at `index` in the config, when it has a backup.
    pub fn backups(&self, index: usize) -> Option<super::listing::Backups> {
        let t = self.targets.get(index)?;
        let b = t.actions.backup.as_ref()?;
        Some(driver::backups(t, b))
    }

    /// The actions `target` offers, for menus and `--help`-like listings.
    pub fn offered(&self, target: &str) -> Vec<(ActionKind, String)> {
        let Ok(t) = self.target(target) else {
            return Vec::new();
        };
        let a = &t.actions;
        let mut out = Vec::new();
        if a.backup.is_some() {
            out.push((ActionKind::Backup, String::new()));
        }
        if a.topics.is_some() {
            out.push((ActionKind::Suspend, String::new()));
            out.push((ActionKind::Resume, String::new()));
        }
        if a.rollback.is_some() {
            out.push((ActionKind::Rollback, String::new()));
        }
        for c in &a.commands {
            out.push((ActionKind::Run, c.name.clone()));
        }
        out
    }

    /// The plan for `req`, without side effects. `allow_exec`: whether a driver may run a
    /// read-only preview command (a server-side dry run); never in read-only mode.
    pub async fn plan(&self, req: &Request, allow_exec: bool) -> Result<Prepared, ActionError> {
        let mut p = if matches!(req, Request::Silence { .. } | Request::Unsilence { .. }) {
            let am = self.alertmanager.as_ref().ok_or_else(|| {
                ActionError::Invalid(
                    "no Alertmanager configured — add [alertmanager] url = \"http://host:9093\""
                        .into(),
                )
            })?;
            driver::plan_alertmanager(am, req)?
        } else {
            let t = self.target(req.target())?;
            let allow_exec = allow_exec && self.read_only_reason(&t.name).is_none();
            driver::plan(t, req, allow_exec).await?
        };
        let secrets = self.audit.secrets();
        for s in &mut p.steps {
            s.mask(secrets);
        }
        p.title = crate::text::mask_secrets(&p.title, secrets);
        p.dry_run = p.dry_run.map(|d| crate::text::mask_secrets(&d, secrets));
        Ok(p)
    }

    /// Runs a confirmed plan. Never panics on a driver's failure: every way it can end is an
    /// [`Outcome`], audited. `headless` is set by the cockpit when the terminal went away
    /// mid-action; the outcome then says `completed-headless` or `interrupted`.
    pub async fn execute(
        &self,
        prepared: &Prepared,
        confirmation: &Confirmation,
        mut ctx: Ctx,
        headless: &Arc<AtomicBool>,
    ) -> Outcome {
        let id = new_id();
        let req = &prepared.request;
        let target = req.target().to_owned();
        let kind = req.kind();
        // Read-only first: nothing below (lock file, audit, driver) may happen.
        if let Some(why) = self.read_only_reason(&target) {
            return Outcome::refused(
                id,
                ActionError::ReadOnly(format!("{} on {target} ({why})", kind.as_str())).to_string(),
            );
        }
        if let Err(why) = check_confirmation(prepared, confirmation) {
            return self.refuse(id, prepared, why);
        }
        // Void the confirmation if what it covered changed (a new release, a deleted dump).
        let fresh = match self.plan(req, false).await {
            Ok(p) => p,
            Err(e) => return self.refuse(id, prepared, e.to_string()),
        };
        if fresh.fingerprint != prepared.fingerprint {
            return self.refuse(
                id,
                prepared,
                format!(
                    "the confirmation is void: what was confirmed changed since the preview ({}) — review the new plan and confirm again",
                    driver::what_changed(&prepared.fingerprint, &fresh.fingerprint)
                ),
            );
        }
        // Suspending and resuming the same target's topics exclude each other: one lock.
        let lock_kind = if kind == ActionKind::Resume {
            ActionKind::Suspend
        } else {
            kind
        };
        let guard = match lock::acquire(&self.state_dir, &target, lock_kind, &id) {
            Ok(g) => Arc::new(g),
            Err(e) => return self.refuse(id, prepared, e.to_string()),
        };
        ctx.lock = Some(guard.clone());
        ctx.state_dir = Some(self.state_dir.clone());
        let mut intent = Record::new(&id, "intent", &target, kind.as_str());
        intent.params = req.params();
        intent.plan = prepared.plan_lines();
        if let Err(e) = self.audit.append(&intent) {
            return Outcome::refused(id, e.to_string());
        }
        tracing::info!(action = kind.as_str(), target = %target, id = %id, "action started");
        ctx.secrets.extend(self.audit_secrets());
        let started = Instant::now();
        ctx.deadline = ctx.deadline.min(started + prepared.timeout);
        let result = driver::run(&fresh, &ctx).await;
        // The lock is held until the outcome is recorded.
        let _guard = guard;
        let duration_ms = started.elapsed().as_millis() as u64;
        let went_headless = headless.load(Ordering::SeqCst);
        let outcome = outcome_of(id.clone(), result, duration_ms, went_headless, &ctx);
        let mut rec = Record::new(&id, "outcome", &target, kind.as_str());
        rec.params = req.params();
        rec.result = Some(outcome.result.as_str().to_owned());
        rec.exit_code = outcome.exit_code;
        rec.duration_ms = Some(duration_ms);
        rec.verification.clone_from(&outcome.verification);
        if !outcome.succeeded() {
            rec.error = Some(outcome.summary.clone());
        }
        if let Err(e) = self.audit.append(&rec) {
            tracing::error!(error = %e, "audit outcome not written");
        }
        tracing::info!(action = kind.as_str(), target = %target, id = %id, result = %outcome.result, "action ended");
        outcome
    }

    /// The audit log masks its own copy; the driver's context masks child output with it.
    fn audit_secrets(&self) -> Vec<String> {
        self.audit.secrets().to_vec()
    }

    /// A refusal after the read-only gate is audited (it is an operator's attempt).
    fn refuse(&self, id: String, prepared: &Prepared, why: String) -> Outcome {
        let mut rec = Record::new(&id, "outcome", prepared.target(), prepared.kind().as_str());
        rec.params = prepared.request.params();
        rec.result = Some(ActionResult::Refused.as_str().to_owned());
        rec.error = Some(why.clone());
        if let Err(e) = self.audit.append(&rec) {
            tracing::warn!(error = %e, "audit refusal not written");
        }
        Outcome::refused(id, why)
    }
}

fn check_confirmation(p: &Prepared, c: &Confirmation) -> Result<(), String> {
    match (p.risk, c) {
        (Risk::Low, Confirmation::Yes) => Ok(()),
        (_, Confirmation::Typed(t)) if *t == p.confirm_word => Ok(()),
        (Risk::High, Confirmation::Yes) => Err(format!(
            "{} on {} is high-risk: type {:?} to confirm (a y or Enter never confirms it)",
            p.kind().as_str(),
            p.target(),
            p.confirm_word
        )),
        (_, Confirmation::Typed(_)) => Err(format!(
            "the confirmation did not match: type {:?} exactly",
            p.confirm_word
        )),
    }
}

fn outcome_of(
    id: String,
    result: Result<DriverReport, driver::DriverFailure>,
    duration_ms: u64,
    headless: bool,
    ctx: &Ctx,
) -> Outcome {
    match result {
        Ok(r) => Outcome {
            id,
            result: if headless {
                ActionResult::CompletedHeadless
            } else {
                ActionResult::Succeeded
            },
            summary: ctx.mask(&r.summary),
            exit_code: r.exit_code,
            duration_ms,
            verification: r.verification.map(|v| ctx.mask(&v)),
            stdout_tail: r.stdout_tail,
            stderr_tail: r.stderr_tail,
        },
        Err(f) => {
            let result = if headless {
                ActionResult::Interrupted
            } else if f.cancelled || ctx.cancel.is_cancelled() {
                ActionResult::Cancelled
            } else if f.timed_out {
                ActionResult::TimedOut
            } else {
                ActionResult::Failed
            };
            Outcome {
                id,
                result,
                summary: ctx.mask(&f.message),
                exit_code: f.exit_code,
                duration_ms,
                verification: None,
                stdout_tail: f.stdout_tail,
                stderr_tail: f.stderr_tail,
            }
        }
    }
}
