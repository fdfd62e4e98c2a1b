//! `watchdeck check`: run the automatic checklist items and the preset alert rules once, save
//! the report, print it, and say by the exit status whether all is well (0), something failed
//! (1) or something could not be checked (2). Fits cron and CI.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::checklist::{self, Checklist, Report, EXIT_CANNOT_CHECK, EXIT_OK, PROBE_TIMEOUT};
use crate::config::{BackupKind, Config};
use crate::front::snapshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Json,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// A shipped checklist's name or a checklist file; `None`: each target's preset checklist.
    pub checklist: Option<String>,
    pub format: Format,
    pub operator: String,
    /// Where reports go; `None`: do not save.
    pub reports_dir: Option<PathBuf>,
    /// Window for rates and quantiles.
    pub window_ms: i64,
}

/// The default reports directory: `$XDG_STATE_HOME/watchdeck/reports` (or
/// `~/.local/state/watchdeck/reports`).
pub fn default_reports_dir() -> Option<PathBuf> {
    crate::logging::state_dir().map(|d| d.join("reports"))
}

/// Runs the check and prints the report to `out`. `Err` is a problem that kept anything from
/// being checked (bad checklist, nothing to check, no round collected); the caller exits 2.
pub async fn run(config: &Config, opts: &Options, out: &mut dyn Write) -> Result<u8, String> {
    let chosen = opts
        .checklist
        .as_deref()
        .map(Checklist::load)
        .transpose()
        .map_err(|e| e.to_string())?;
    let plan = checklist::plan(config, chosen.as_ref()).map_err(|e| e.to_string())?;
    if plan.is_empty() && config.fleets.is_empty() {
        return Err(
            "nothing to check: no target has a preset; name a checklist with --checklist NAME|PATH"
                .into(),
        );
    }
    let started = crate::obs::now_ms();
    // Two rounds, so counter increases, rates and windowed quantiles exist.
    let snap_opts = snapshot::Options {
        rounds: 2,
        format: snapshot::OutputFormat::Json,
        window_ms: opts.window_ms,
    };
    let snap = snapshot::run(config, &snap_opts, |_| {}).await?;
    let outcomes = checklist::judge_all(&plan, config, &snap.targets, PROBE_TIMEOUT).await;
    let mut report = checklist::headless_report(
        &plan,
        &outcomes,
        snap.alerts.clone(),
        &opts.operator,
        config.environment.clone(),
        started,
        crate::obs::now_ms(),
    );
    add_fleet_items(&mut report, &snap);
    let mut code = report.exit_code();
    if let Some(dir) = &opts.reports_dir {
        match report.write(dir) {
            Ok((md, json)) => {
                tracing::info!(md = %md.display(), json = %json.display(), "check report saved");
            }
            Err(e) => {
                eprintln!("watchdeck: the report was not saved: {e}");
                // A run that passed but left no report did not do what cron asked of it.
                if code == EXIT_OK {
                    code = EXIT_CANNOT_CHECK;
                }
            }
        }
    }
    let text = render(&report, opts.format);
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(format!("cannot write the report: {e}"));
        }
    }
    Ok(code)
}

/// One automatic item per `[[fleet]]`: every instance up and every panel read (pass), an
/// instance down (fail), or the store or a panel query failing (could not check).
fn add_fleet_items(report: &mut Report, snap: &snapshot::Snapshot) {
    use crate::checklist::{ItemKind, ItemReport, Status, Summary};
    for f in &snap.fleets {
        let down: Vec<&str> = snap
            .targets
            .iter()
            .filter(|t| t.fleet.as_deref() == Some(f.name.as_str()))
            .filter(|t| t.status == crate::derive::panels::TargetStatus::Down)
            .map(|t| t.name.as_str())
            .collect();
        let (status, evidence) = if let Some(e) = &f.error {
            (
                Status::Unknown,
                format!("the store could not be queried: {e}"),
            )
        } else if !down.is_empty() {
            let shown: Vec<&str> = down.iter().take(10).copied().collect();
            let more = down.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            (
                Status::Fail,
                format!(
                    "{}/{} instances up; down: {}{more}",
                    f.up,
                    f.instances,
                    shown.join(", ")
                ),
            )
        } else if f.notes.iter().any(|n| !n.contains("(sparkline history)")) {
            // A failed or partial panel: its alerts could not be judged.
            (Status::Unknown, f.notes.join("; "))
        } else if f.instances == 0 {
            (Status::Unknown, format!("no instance matched at {}", f.url))
        } else {
            (
                Status::Pass,
                format!(
                    "{}/{} instances up, every panel read ({} queries)",
                    f.up, f.instances, f.queries
                ),
            )
        };
        report.items.push(ItemReport {
            key: format!("fleet/{}", f.name),
            checklist: "fleet".into(),
            target: Some(f.name.clone()),
            title: format!("Fleet {} through {} (promql)", f.name, f.url),
            kind: ItemKind::Auto,
            status,
            evidence,
            note: None,
            at: Some(report.finished.clone()),
            hint: None,
        });
        if !report.checklists.iter().any(|c| c == "fleet") {
            report.checklists.push("fleet".into());
        }
    }
    report.summary = Summary::of(&report.items, &report.alerts);
}

pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Markdown => report.to_markdown(),
        Format::Json => report.to_json(),
    }
}

/// The demo's nightly backup: a fresh demo fleet stands for hosts whose nightly job has
/// already run, so each target with a SQLite `[target.backup]` gets one real backup through
/// the backup action's own code (online copy, integrity check, manifest). Without it the
/// backup-freshness item would fail in every scenario and hide the scenario's own incident.
pub async fn demo_nightly_backups(config: &Config) -> Result<(), String> {
    use crate::actions::backup::{plan_sqlite, run_sqlite, SqliteBackupSpec};
    for t in &config.targets {
        let Some(b) = &t.actions.backup else { continue };
        let BackupKind::Sqlite { database } = &b.kind else {
            continue;
        };
        let spec = SqliteBackupSpec {
            target: t.name.clone(),
            db: database.clone(),
            dir: b.dir.clone(),
            keep: b.keep,
        };
        let plan = plan_sqlite(&spec).map_err(|e| e.to_string())?;
        let (ctx, _progress) = crate::actions::Ctx::detached(Duration::from_secs(60));
        run_sqlite(&spec, &plan, &ctx)
            .await
            .map_err(|e| format!("the demo's nightly backup of {}: {e}", t.name))?;
    }
    Ok(())
}
