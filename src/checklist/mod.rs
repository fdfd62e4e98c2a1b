//! The daily checklist: checklists from the runbooks (TOML), automatic items judged on the
//! engine's derived panels and on a few probes (TLS certificate, clock, disk, backups),
//! manual items the operator decides, and the report both leave.
//!
//! The flow is the same for `watchdeck check` and the cockpit's walkthrough:
//! [`plan`] binds checklist items to targets, [`probe_for`] says what each item needs
//! gathered, [`gather`] does that I/O, and [`evaluate`] judges an item purely from the
//! target's panels and the gathered facts. [`Walkthrough`] keeps an operator's verdicts on
//! disk as they are made; [`Report`] is what both write. Nothing here draws on a terminal.

mod cert;
mod eval;
mod format;
pub mod probe;
mod report;
mod walk;

use std::time::Duration;

pub use eval::{evaluate, plan, probe_for, Outcome, PlannedItem, Probe, Status};
pub use format::{shipped_names, Check, Checklist, ChecklistError, Hint, Item, ItemKind, SHIPPED};
pub use probe::Gathered;
pub use report::{
    date_of, default_operator, file_safe, rfc3339, ItemReport, Report, Summary, EXIT_CANNOT_CHECK,
    EXIT_FAILED, EXIT_OK,
};
pub use walk::{Verdict, WalkError, WalkItem, WalkState, Walkthrough};

use crate::config::Config;
use crate::derive::panels::TargetPanels;
use crate::derive::rules::AlertRow;

/// How long one probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

fn read_ca(path: Option<&std::path::Path>) -> Result<Option<Vec<u8>>, String> {
    path.map(|p| {
        crate::safe_fs::read_regular(p, crate::safe_fs::MAX_CONFIG_FILE)
            .map_err(|e| format!("cannot read the CA file {}: {e}", p.display()))
    })
    .transpose()
}

/// Gathers what `probe` asks for. Blocking work (a TLS handshake, statvfs, reading a backup
/// directory) runs on blocking threads.
pub async fn gather(probe: &Probe, timeout: Duration) -> Gathered {
    // A probe thread that panics must still leave a fact of the right kind: "could not check".
    async fn blocking<T: Send + 'static>(
        f: impl FnOnce() -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        tokio::task::spawn_blocking(f)
            .await
            .unwrap_or_else(|e| Err(format!("the probe ended abnormally: {e}")))
    }
    match probe.clone() {
        Probe::Panels | Probe::Skip(_) | Probe::Unknown(_) => Gathered::Nothing,
        Probe::Tls { url, ca_file } => Gathered::Tls(
            blocking(move || {
                read_ca(ca_file.as_deref())
                    .and_then(|ca| probe::tls_cert(&url, ca.as_deref(), timeout))
            })
            .await,
        ),
        Probe::Clock { url, ca_file } => match read_ca(ca_file.as_deref()) {
            Err(e) => Gathered::Clock(Err(e)),
            Ok(ca) => Gathered::Clock(probe::clock(&url, ca.as_deref(), timeout).await),
        },
        Probe::Disk { path } => {
            // statvfs on a hung network mount blocks: bound it like the disk collector does.
            let task = tokio::task::spawn_blocking(move || probe::disk(&path));
            match tokio::time::timeout(timeout, task).await {
                Ok(Ok(r)) => Gathered::Disk(r),
                Ok(Err(e)) => Gathered::Disk(Err(format!("the probe ended abnormally: {e}"))),
                Err(_) => Gathered::Disk(Err(format!(
                    "the filesystem did not answer within {}",
                    humantime::format_duration(timeout)
                ))),
            }
        }
        Probe::Backup { dir, target, .. } => {
            Gathered::Backup(blocking(move || probe::backups(&dir, &target)).await)
        }
    }
}

/// Probes every item of `plan` (concurrently) and judges it against its target's panels.
pub async fn judge_all(
    plan: &[PlannedItem],
    config: &Config,
    targets: &[TargetPanels],
    timeout: Duration,
) -> Vec<Outcome> {
    let probes: Vec<Probe> = plan.iter().map(|p| probe_for(p, config)).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, probe) in probes.iter().enumerate() {
        let probe = probe.clone();
        tasks.spawn(async move { (i, gather(&probe, timeout).await) });
    }
    let mut gathered = vec![Gathered::Nothing; plan.len()];
    while let Some(r) = tasks.join_next().await {
        if let Ok((i, g)) = r {
            gathered[i] = g;
        }
    }
    let now = crate::obs::now_ms();
    plan.iter()
        .zip(&probes)
        .zip(&gathered)
        .map(|((item, probe), g)| {
            let panels = item
                .target
                .as_deref()
                .and_then(|n| targets.iter().find(|t| t.name == n));
            evaluate(item, probe, panels, g, now)
        })
        .collect()
}

/// The report of a headless run: automatic items as judged, manual items pending.
pub fn headless_report(
    plan: &[PlannedItem],
    outcomes: &[Outcome],
    alerts: Vec<AlertRow>,
    operator: &str,
    environment: Option<String>,
    started_ms: i64,
    finished_ms: i64,
) -> Report {
    let mut checklists: Vec<String> = Vec::new();
    for p in plan {
        if !checklists.contains(&p.checklist) {
            checklists.push(p.checklist.clone());
        }
    }
    let items: Vec<ItemReport> = plan
        .iter()
        .zip(outcomes)
        .map(|(p, o)| {
            let evidence = if o.status == Status::Pending {
                "manual: not checked headless; decide it in the cockpit's walkthrough".to_owned()
            } else {
                o.evidence.clone()
            };
            ItemReport {
                key: p.key.clone(),
                checklist: p.checklist.clone(),
                target: p.target.clone(),
                title: p.item.title.clone(),
                kind: p.kind(),
                status: o.status,
                evidence,
                note: None,
                at: (o.status != Status::Pending).then(|| rfc3339(finished_ms)),
                hint: matches!(o.status, Status::Fail | Status::Unknown)
                    .then(|| p.item.hint.clone())
                    .flatten(),
            }
        })
        .collect();
    Report {
        checklists,
        operator: operator.to_owned(),
        environment,
        mode: "headless",
        date: date_of(finished_ms),
        started: rfc3339(started_ms),
        finished: rfc3339(finished_ms),
        summary: Summary::of(&items, &alerts),
        items,
        alerts,
    }
}
