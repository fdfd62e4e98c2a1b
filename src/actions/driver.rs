//! From a target's config and a request to the driver that does the work: plan and run.
//!
//! Each driver (backup, topic, rollback, command) owns its plan type; this module wraps them in
//! one enum so that `exec` can treat every action alike: a plan with steps and a fingerprint, a
//! run that ends in a report or a failure.

use std::time::{Duration, SystemTime};

use super::backup::{self, BackupError, BackupPlan, PgBackupSpec, SqliteBackupSpec};
use super::child::{self, ChildError, Finished};
use super::command::{self, Vars};
use super::exec::{ActionError, Prepared, Request};
use super::listing::{BackupRow, Backups};
use super::rollback::{self, CommandRollbackSpec, RollbackError, SymlinkPlan, SymlinkSpec};
use super::topic::{self, TopicDriver, TopicError, TopicPlan};
use super::{ActionKind, Ctx, Risk, Step};
use crate::config::{BackupConfig, BackupKind, RollbackKind, TargetConfig, TopicDriverConfig};

/// The driver-specific part of a plan.
#[derive(Debug, Clone)]
pub(super) enum DriverPlan {
    Command {
        argv: Vec<String>,
    },
    PgBackup(Box<(PgBackupSpec, BackupPlan)>),
    SqliteBackup(Box<(SqliteBackupSpec, BackupPlan)>),
    Symlink(Box<(SymlinkSpec, SymlinkPlan)>),
    Kube(Box<CommandRollbackSpec>),
    Topic(Box<(TopicDriver, TopicPlan)>),
    Alertmanager(
        Box<(
            crate::config::alertmanager::AlertmanagerConfig,
            super::am::AmPlan,
        )>,
    ),
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

impl From<BackupError> for DriverFailure {
    fn from(e: BackupError) -> DriverFailure {
        let cancelled = matches!(e, BackupError::Cancelled { .. })
            || matches!(&e, BackupError::Child { source, .. } if matches!(source, ChildError::Cancelled { .. }));
        let timed_out = matches!(e, BackupError::TimedOut { .. })
            || matches!(&e, BackupError::Child { source, .. } if matches!(source, ChildError::TimedOut { .. }));
        DriverFailure {
            message: e.to_string(),
            cancelled,
            timed_out,
            ..DriverFailure::default()
        }
    }
}

impl From<TopicError> for DriverFailure {
    fn from(e: TopicError) -> DriverFailure {
        DriverFailure {
            cancelled: matches!(e, TopicError::Cancelled { .. }),
            timed_out: matches!(e, TopicError::TimedOut { .. }),
            message: e.to_string(),
            ..DriverFailure::default()
        }
    }
}

impl From<RollbackError> for DriverFailure {
    fn from(e: RollbackError) -> DriverFailure {
        let cancelled = matches!(e, RollbackError::Cancelled { .. })
            || matches!(&e, RollbackError::Child { source, .. } if matches!(source, ChildError::Cancelled { .. }));
        let timed_out = matches!(&e, RollbackError::Child { source, .. } if matches!(source, ChildError::TimedOut { .. }));
        DriverFailure {
            message: e.to_string(),
            cancelled,
            timed_out,
            ..DriverFailure::default()
        }
    }
}

fn invalid(e: impl std::fmt::Display) -> ActionError {
    ActionError::Invalid(e.to_string())
}

/// The target's section that `req` needs, or the error that it has none.
fn configured<'a, T>(
    t: &TargetConfig,
    req: &Request,
    section: Option<&'a T>,
) -> Result<&'a T, ActionError> {
    section.ok_or_else(|| not_configured(t, req))
}

fn not_configured(t: &TargetConfig, req: &Request) -> ActionError {
    ActionError::NotConfigured {
        target: t.name.clone(),
        kind: req.kind().as_str(),
        section: match req {
            Request::Backup { .. } => "backup",
            Request::Suspend { .. } | Request::Resume { .. } => "topics",
            Request::Rollback { .. } => "rollback",
            Request::Run { .. } => "command",
            Request::Silence { .. } | Request::Unsilence { .. } => "alertmanager",
        },
    }
}

/// The parts of a [`Prepared`] every driver fills.
struct Shown {
    risk: Risk,
    title: String,
    steps: Vec<Step>,
    confirm_word: String,
    fingerprint: String,
    timeout: Duration,
    dry_run: Option<String>,
}

fn prepared(req: &Request, s: Shown, driver: DriverPlan) -> Prepared {
    Prepared {
        request: req.clone(),
        risk: s.risk,
        title: s.title,
        steps: s.steps,
        confirm_word: s.confirm_word,
        fingerprint: s.fingerprint,
        timeout: s.timeout,
        dry_run: s.dry_run,
        driver,
    }
}

/// Plans `req` on `t`. `allow_exec`: a driver may run a preview command (never in read-only).
pub(super) async fn plan(
    t: &TargetConfig,
    req: &Request,
    allow_exec: bool,
) -> Result<Prepared, ActionError> {
    match req {
        Request::Run { name, .. } => plan_run(t, req, name),
        Request::Backup { .. } => {
            let b = configured(t, req, t.actions.backup.as_ref())?;
            plan_backup(t, req, b)
        }
        Request::Rollback { .. } => {
            let r = configured(t, req, t.actions.rollback.as_ref())?;
            match &r.kind {
                RollbackKind::Symlink {
                    root,
                    restart,
                    healthy_checks,
                    deadline,
                    health_interval,
                } => {
                    let restart = fill(restart, t)?;
                    let mut spec = SymlinkSpec::new(&t.name, root, restart, t.health.clone());
                    spec.healthy_needed = *healthy_checks;
                    spec.health_deadline = *deadline;
                    spec.health_interval = *health_interval;
                    let p = rollback::plan_symlink(&spec).map_err(invalid)?;
                    let shown = Shown {
                        risk: Risk::High,
                        title: format!("Roll back {} from release {} to {}", t.name, p.from, p.to),
                        steps: p.steps.clone(),
                        confirm_word: t.name.clone(),
                        fingerprint: p.fingerprint.clone(),
                        timeout: r.timeout,
                        dry_run: None,
                    };
                    Ok(prepared(
                        req,
                        shown,
                        DriverPlan::Symlink(Box::new((spec, p))),
                    ))
                }
                RollbackKind::Command {
                    undo,
                    status,
                    dry_run,
                } => {
                    let spec = CommandRollbackSpec {
                        target: t.name.clone(),
                        undo: fill(undo, t)?,
                        status: status.as_ref().map(|s| fill(s, t)).transpose()?,
                        dry_run: dry_run.as_ref().map(|s| fill(s, t)).transpose()?,
                    };
                    let p = rollback::plan_command(&spec).map_err(invalid)?;
                    let preview = if allow_exec && spec.dry_run.is_some() {
                        let (ctx, _rx) = Ctx::detached(Duration::from_secs(30));
                        Some(match rollback::preview_dry_run(&spec, &ctx).await {
                            Ok(Some(lines)) => lines.join("\n"),
                            Ok(None) => String::new(),
                            Err(e) => format!("the dry run failed: {e}"),
                        })
                    } else {
                        None
                    };
                    let shown = Shown {
                        risk: Risk::High,
                        title: format!(
                            "Roll back {} with its undo command{}",
                            t.name,
                            if status.is_some() {
                                ", then wait for the rollout"
                            } else {
                                ""
                            }
                        ),
                        steps: p.steps,
                        confirm_word: t.name.clone(),
                        fingerprint: format!("rollback command: {}", undo.join(" ")),
                        timeout: r.timeout,
                        dry_run: preview,
                    };
                    Ok(prepared(req, shown, DriverPlan::Kube(Box::new(spec))))
                }
            }
        }
        Request::Suspend { topic, .. } | Request::Resume { topic, .. } => plan_topic(t, req, topic),
        Request::Silence { .. } | Request::Unsilence { .. } => Err(not_configured(t, req)),
    }
}

/// Plans a silence change in the configured Alertmanager.
pub(super) fn plan_alertmanager(
    am: &crate::config::alertmanager::AlertmanagerConfig,
    req: &Request,
) -> Result<Prepared, ActionError> {
    let (risk, title, steps, fingerprint, plan) = super::am::plan(am, req)?;
    let shown = Shown {
        risk,
        title,
        steps,
        confirm_word: super::exec::ALERTMANAGER.to_owned(),
        fingerprint,
        timeout: Duration::from_secs(30),
        dry_run: None,
    };
    Ok(prepared(
        req,
        shown,
        DriverPlan::Alertmanager(Box::new((am.clone(), plan))),
    ))
}

fn topic_driver(t: &TargetConfig, req: &Request) -> Result<(TopicDriver, Duration), ActionError> {
    let tp = configured(t, req, t.actions.topics.as_ref())?;
    let driver = match &tp.driver {
        TopicDriverConfig::Http {
            method,
            suspend_url,
            resume_url,
            state_url,
            headers,
            expect_status,
        } => TopicDriver::Http {
            suspend_url: suspend_url.clone(),
            resume_url: resume_url.clone(),
            state_url: state_url.clone(),
            method: reqwest::Method::from_bytes(method.as_bytes()).map_err(invalid)?,
            headers: headers.clone(),
            expect_status: *expect_status,
            timeout: tp.timeout,
        },
        TopicDriverConfig::Sql {
            suspend_sql,
            resume_sql,
            state_sql,
        } => TopicDriver::Sql {
            postgres: t.postgres.clone().ok_or_else(|| {
                invalid(format!(
                    "{}: the sql topic driver needs [target.postgres]",
                    t.name
                ))
            })?,
            suspend_sql: suspend_sql.clone(),
            resume_sql: resume_sql.clone(),
            state_sql: state_sql.clone(),
        },
    };
    Ok((driver, tp.timeout))
}

fn plan_topic(t: &TargetConfig, req: &Request, id: &str) -> Result<Prepared, ActionError> {
    let (driver, timeout) = topic_driver(t, req)?;
    let kind = req.kind();
    let p = topic::plan(&driver, kind, id).map_err(invalid)?;
    let verb = if kind == ActionKind::Suspend {
        "Suspend"
    } else {
        "Resume"
    };
    let shown = Shown {
        risk: p.risk,
        title: format!("{verb} topic {id:?} on {} ({} driver)", t.name, p.driver),
        steps: p.steps.clone(),
        // The operator types the topic id: the thing that changes, not just where.
        confirm_word: id.to_owned(),
        fingerprint: p.fingerprint.clone(),
        timeout,
        dry_run: None,
    };
    Ok(prepared(
        req,
        shown,
        DriverPlan::Topic(Box::new((driver, p))),
    ))
}

/// A configured argv with `{target}`, `{ts}` and `{date}` filled in.
fn fill(argv: &[String], t: &TargetConfig) -> Result<Vec<String>, ActionError> {
    command::expand(argv, &Vars::now().target(&t.name)).map_err(invalid)
}

fn plan_run(t: &TargetConfig, req: &Request, name: &str) -> Result<Prepared, ActionError> {
    let Some(c) = t.actions.commands.iter().find(|c| c.name == name) else {
        let names: Vec<&str> = t.actions.commands.iter().map(|c| c.name.as_str()).collect();
        return Err(ActionError::Invalid(format!(
            "{} has no command named {name:?} — its commands: {}",
            t.name,
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            }
        )));
    };
    let argv = fill(&c.argv, t)?;
    let shown = Shown {
        risk: c.risk,
        title: format!(
            "Run {name} on {}{}",
            t.name,
            c.description
                .as_ref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ),
        steps: vec![Step::Exec {
            argv: argv.clone(),
            env: Vec::new(),
        }],
        confirm_word: t.name.clone(),
        // The template, not the expansion: {ts} moves every second.
        fingerprint: format!("command {name}: {}", c.argv.join(" ")),
        timeout: c.timeout,
        dry_run: None,
    };
    Ok(prepared(req, shown, DriverPlan::Command { argv }))
}

fn plan_backup(t: &TargetConfig, req: &Request, b: &BackupConfig) -> Result<Prepared, ActionError> {
    let (title, plan, driver) = match &b.kind {
        BackupKind::Postgres => {
            let pg = t.postgres.clone().ok_or_else(|| {
                invalid(format!(
                    "{}: a postgres backup needs [target.postgres]",
                    t.name
                ))
            })?;
            let spec = PgBackupSpec {
                target: t.name.clone(),
                postgres: pg,
                dir: b.dir.clone(),
                keep: b.keep,
                drill_tables: b.drill_tables.clone(),
            };
            let plan = backup::plan_pg(&spec).map_err(invalid)?;
            let drill = if b.drill_tables.is_empty() {
                ""
            } else {
                ", restore drill"
            };
            (
                format!(
                    "Back up {} with pg_dump (verify{drill}, keep {})",
                    t.name, b.keep
                ),
                plan.clone(),
                DriverPlan::PgBackup(Box::new((spec, plan))),
            )
        }
        BackupKind::Sqlite { database } => {
            let spec = SqliteBackupSpec {
                target: t.name.clone(),
                db: database.clone(),
                dir: b.dir.clone(),
                keep: b.keep,
            };
            let plan = backup::plan_sqlite(&spec).map_err(invalid)?;
            (
                format!(
                    "Back up {} (SQLite online backup, integrity_check, keep {})",
                    t.name, b.keep
                ),
                plan.clone(),
                DriverPlan::SqliteBackup(Box::new((spec, plan))),
            )
        }
    };
    let shown = Shown {
        risk: Risk::Low,
        title,
        steps: plan.steps.clone(),
        confirm_word: t.name.clone(),
        fingerprint: plan.fingerprint.clone(),
        timeout: b.timeout,
        dry_run: None,
    };
    Ok(prepared(req, shown, driver))
}

/// Reads a target's backup generations for the Backups section.
pub(super) fn backups(t: &TargetConfig, b: &BackupConfig) -> Backups {
    let mut out = Backups {
        max_age_ms: b.max_age.as_millis() as i64,
        loaded: true,
        ..Backups::default()
    };
    match backup::list(&b.dir, &t.name) {
        Ok(gens) => {
            let ms = |t: SystemTime| {
                t.duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64)
            };
            out.drill = gens
                .iter()
                .find_map(|g| g.drill())
                .map(|d| format!("{} at {}", drill_line(d), d.finished));
            out.rows = gens
                .iter()
                .take(50)
                .map(|g| BackupRow {
                    file: g
                        .file
                        .file_name()
                        .map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
                    at_ms: ms(g.finished()),
                    bytes: g.size,
                    verified: g.is_verified(),
                    note: g.error().unwrap_or_else(|| {
                        g.manifest
                            .as_ref()
                            .and_then(|m| m.verification.clone())
                            .unwrap_or_default()
                    }),
                })
                .collect();
        }
        Err(e) => out.error = Some(e.to_string()),
    }
    out
}

/// Runs a plan made by [`plan`].
pub(super) async fn run(p: &Prepared, ctx: &Ctx) -> Result<DriverReport, DriverFailure> {
    match &p.driver {
        DriverPlan::Command { argv } => {
            ctx.phase(format!("running {}", argv[0]));
            let f = child::run(&child::Command::new(argv.iter().cloned()), ctx).await?;
            finished(&argv[0], f, "")
        }
        DriverPlan::PgBackup(b) => {
            let report = backup::run_pg(&b.0, &b.1, ctx).await?;
            Ok(backup_report(&report))
        }
        DriverPlan::SqliteBackup(b) => {
            let report = backup::run_sqlite(&b.0, &b.1, ctx).await?;
            Ok(backup_report(&report))
        }
        DriverPlan::Symlink(s) => {
            let o = rollback::run_symlink(&s.0, &s.1, ctx).await?;
            Ok(DriverReport {
                summary: format!(
                    "current now points to release {} (was {}); restart {}",
                    o.to,
                    o.from,
                    o.restart.describe()
                ),
                exit_code: o.restart.code,
                verification: Some(format!("{} consecutive healthy checks", o.healthy_checks)),
                stdout_tail: o.restart.stdout_tail,
                stderr_tail: o.restart.stderr_tail,
            })
        }
        DriverPlan::Topic(tp) => {
            let r = topic::run(&tp.0, &tp.1, ctx).await?;
            let confirmed = match r.confirmed {
                Some(true) => "confirmed",
                Some(false) => "NOT confirmed",
                None => "not interpretable",
            };
            Ok(DriverReport {
                summary: format!("{}; the topic is now {}", r.outcome, r.state_after),
                exit_code: None,
                verification: Some(format!("state re-read: {} ({confirmed})", r.state_after)),
                stdout_tail: Vec::new(),
                stderr_tail: Vec::new(),
            })
        }
        DriverPlan::Alertmanager(a) => match super::am::run(&a.0, &a.1, ctx).await {
            Ok(summary) => Ok(DriverReport {
                summary,
                ..DriverReport::default()
            }),
            Err(message) => Err(DriverFailure {
                cancelled: ctx.cancel.is_cancelled(),
                message,
                ..DriverFailure::default()
            }),
        },
        DriverPlan::Kube(spec) => {
            let o = rollback::run_command(spec, ctx).await?;
            let last = o.status.unwrap_or(o.undo);
            finished(&spec.undo[0], last, "rollout undone")
        }
    }
}

fn finished(program: &str, f: Finished, what: &str) -> Result<DriverReport, DriverFailure> {
    if f.success() {
        Ok(DriverReport {
            summary: if what.is_empty() {
                format!("{program} finished ({})", f.describe())
            } else {
                format!("{what}: {program} finished ({})", f.describe())
            },
            exit_code: f.code,
            verification: None,
            stdout_tail: f.stdout_tail,
            stderr_tail: f.stderr_tail,
        })
    } else {
        Err(DriverFailure {
            message: format!(
                "{program} failed ({}){}",
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

fn backup_report(r: &backup::BackupReport) -> DriverReport {
    let name = r
        .file
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    let deleted = if r.deleted.is_empty() {
        String::new()
    } else {
        format!("; retention deleted {} old generation(s)", r.deleted.len())
    };
    let mut verification = r.verification.clone();
    if let Some(d) = &r.drill {
        verification.push_str("; restore drill ");
        verification.push_str(&drill_line(d));
    }
    DriverReport {
        summary: format!(
            "wrote {name} ({}), verified{deleted}",
            crate::fmt::bytes(r.bytes as f64)
        ),
        exit_code: Some(0),
        verification: Some(verification),
        stdout_tail: Vec::new(),
        stderr_tail: r.output.clone(),
    }
}

/// "ok: cn_relay.events 1200=1200 (3.2 s)": a drill in one line (source=restored counts).
fn drill_line(d: &backup::DrillSummary) -> String {
    let counts: Vec<String> = d
        .tables
        .iter()
        .map(|c| {
            let n = |v: Option<i64>| v.map_or_else(|| "?".to_owned(), |v| v.to_string());
            format!("{} {}={}", c.table, n(c.source), n(c.restored))
        })
        .collect();
    let mut line = format!(
        "{}: {} ({:.1} s)",
        if d.ok { "ok" } else { "FAILED" },
        counts.join(", "),
        d.duration_ms as f64 / 1000.0
    );
    if let Some(e) = &d.error {
        line.push_str(" — ");
        line.push_str(e);
    }
    line
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
