//! The cockpit's side of remediation: what each target offers, the plan on screen, the
//! confirmation being typed, actions in flight with their progress and output, backups and the
//! audit trail as last read.
//!
//! Flow (ARCHITECTURE.md): a key opens the target's Actions view; Enter on an action asks the
//! action layer for a plan (`Cmd::Plan`); the plan arrives (`Msg::Planned`) and is shown with
//! the confirmation its risk needs; confirming sends `Cmd::Execute`; progress and the outcome
//! come back as messages. Nothing here runs anything: the action layer does, and it enforces
//! read-only and the confirmation again on its own.

use std::collections::{HashMap, VecDeque};

use crate::actions::audit::Record;
use crate::actions::{ActionKind, Outcome, Prepared, Progress, Request, Risk, Stream};
use crate::config::Config;
use crate::derive::panels::split_key;
use crate::store::TargetState;

/// Output lines kept per running action for the output view.
pub const OUTPUT_LINES: usize = 200;

/// One action a target offers, as listed in its Actions view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub kind: ActionKind,
    /// The command's name for `run`; empty otherwise.
    pub name: String,
    pub label: String,
    pub risk: Risk,
}

pub use crate::actions::listing::{BackupRow, Backups};

/// An action in flight.
#[derive(Debug, Clone, PartialEq)]
pub struct Running {
    pub target: usize,
    pub kind: ActionKind,
    pub title: String,
    pub started_ms: i64,
    pub phase: String,
    pub bytes: Option<u64>,
    pub output: VecDeque<(Stream, String)>,
}

/// How the last action on a target ended, with its output tails.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub kind: ActionKind,
    pub title: String,
    pub outcome: Outcome,
    pub at_ms: i64,
}

/// The high-risk confirmation being typed, or the low-risk dialog (Cancel focused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanPopup {
    pub prepared: Box<Prepared>,
    pub typed: String,
    pub error: Option<String>,
}

/// Picking a topic for suspend/resume: typed text filters, Enter takes the selected row (or
/// the text itself when nothing matches).
#[derive(Debug, Clone, PartialEq)]
pub struct TopicPick {
    pub target: usize,
    pub kind: ActionKind,
    pub input: String,
    /// Topic ids with their ingest rate per second, busiest first.
    pub topics: Vec<(String, Option<f64>)>,
    pub selected: usize,
}

impl TopicPick {
    pub fn matches(&self) -> Vec<&(String, Option<f64>)> {
        let f = self.input.to_lowercase();
        self.topics
            .iter()
            .filter(|(id, _)| f.is_empty() || id.to_lowercase().contains(&f))
            .collect()
    }

    /// The topic Enter would take.
    pub fn choice(&self) -> Option<String> {
        let m = self.matches();
        match m.get(self.selected) {
            Some((id, _)) => Some(id.clone()),
            None if !self.input.trim().is_empty() => Some(self.input.trim().to_owned()),
            None => None,
        }
    }
}

/// Everything about actions the cockpit shows.
#[derive(Debug, Clone, Default)]
pub struct ActionState {
    /// Per target index.
    pub offered: Vec<Vec<Offer>>,
    /// Per target index: why its actions are refused by its own config, when they are.
    pub read_only: Vec<Option<String>>,
    /// Per target index: the counter and label whose values are topics.
    pub topic_metric: Vec<Option<(String, String)>>,
    pub running: Vec<Running>,
    pub last: HashMap<usize, Finished>,
    pub backups: HashMap<usize, Backups>,
    /// The audit file's last records, oldest first.
    pub audit: Vec<Record>,
    pub audit_error: Option<String>,
    /// A plan is being prepared (a dry run may take a moment): the request and what the
    /// footer says. Only the answer to this request is shown; Esc forgets it.
    pub planning: Option<(Request, String)>,
    /// When the backup directories were last read (for the freshness alert).
    pub backups_scanned_ms: i64,
    /// The cancel handle of each action in flight, made when it is confirmed and dropped when
    /// its outcome arrives; the cancel key and quitting cancel through it.
    pub cancels: HashMap<(usize, ActionKind), tokio_util::sync::CancellationToken>,
}

/// How often the backup directories are read for the freshness alert.
pub const BACKUP_SCAN_MS: i64 = 60_000;

impl ActionState {
    /// Targets whose newest verified backup is older than their `max_age`.
    pub fn stale_backups(&self, now_ms: i64) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .backups
            .iter()
            .filter(|(_, b)| b.stale(now_ms))
            .map(|(t, _)| *t)
            .collect();
        v.sort_unstable();
        v
    }
}

impl ActionState {
    /// A target added at run time (a fleet instance): it offers no actions.
    pub fn add_target(&mut self) {
        self.offered.push(Vec::new());
        self.read_only.push(None);
        self.topic_metric.push(None);
    }

    pub fn new(config: &Config) -> ActionState {
        let mut s = ActionState::default();
        for t in &config.targets {
            let a = &t.actions;
            let mut offers = Vec::new();
            if let Some(b) = &a.backup {
                let how = match b.kind {
                    crate::config::BackupKind::Postgres => "pg_dump, verified by pg_restore",
                    crate::config::BackupKind::Sqlite { .. } => {
                        "SQLite online backup, integrity_check"
                    }
                };
                offers.push(Offer {
                    kind: ActionKind::Backup,
                    name: String::new(),
                    label: format!("Back up ({how}; keep {})", b.keep),
                    risk: Risk::Low,
                });
            }
            if a.topics.is_some() {
                for (kind, label) in [
                    (ActionKind::Suspend, "Suspend a topic…"),
                    (ActionKind::Resume, "Resume a topic…"),
                ] {
                    offers.push(Offer {
                        kind,
                        name: String::new(),
                        label: label.into(),
                        risk: Risk::High,
                    });
                }
            }
            if let Some(r) = &a.rollback {
                let how = match &r.kind {
                    crate::config::RollbackKind::Symlink { .. } => "previous release, health-gated",
                    crate::config::RollbackKind::Command { .. } => "rollout undo",
                };
                offers.push(Offer {
                    kind: ActionKind::Rollback,
                    name: String::new(),
                    label: format!("Roll back ({how})"),
                    risk: Risk::High,
                });
            }
            for c in &a.commands {
                offers.push(Offer {
                    kind: ActionKind::Run,
                    name: c.name.clone(),
                    label: format!(
                        "Run {}{}",
                        c.name,
                        c.description
                            .as_ref()
                            .map(|d| format!(" — {d}"))
                            .unwrap_or_default()
                    ),
                    risk: c.risk,
                });
            }
            s.offered.push(offers);
            s.read_only.push(
                a.read_only
                    .then(|| format!("target {} is read_only in the config", t.name)),
            );
            s.topic_metric.push(
                a.topics
                    .as_ref()
                    .and_then(|tp| tp.metric.clone().map(|m| (m, tp.label.clone()))),
            );
            if let Some(b) = &a.backup {
                s.backups.insert(
                    s.offered.len() - 1,
                    Backups {
                        max_age_ms: b.max_age.as_millis() as i64,
                        ..Backups::default()
                    },
                );
            }
        }
        s
    }

    pub fn running_on(&self, target: usize) -> impl Iterator<Item = &Running> {
        self.running.iter().filter(move |r| r.target == target)
    }

    /// Applies a progress report to the running action it belongs to.
    pub fn progress(&mut self, target: usize, kind: ActionKind, p: Progress) {
        let Some(r) = self
            .running
            .iter_mut()
            .find(|r| r.target == target && r.kind == kind)
        else {
            return;
        };
        match p {
            Progress::Phase(ph) => r.phase = ph,
            Progress::Bytes(n) => r.bytes = Some(n),
            Progress::Output { stream, line } => {
                if r.output.len() == OUTPUT_LINES {
                    r.output.pop_front();
                }
                r.output.push_back((stream, line));
            }
        }
    }
}

/// The request an offer makes for `target` (topic filled in later for suspend/resume).
pub fn request_of(offer: &Offer, target: &str, topic: Option<String>) -> Option<Request> {
    let target = target.to_owned();
    Some(match offer.kind {
        ActionKind::Backup => Request::Backup { target },
        ActionKind::Rollback => Request::Rollback { target },
        ActionKind::Run => Request::Run {
            target,
            name: offer.name.clone(),
        },
        ActionKind::Suspend => Request::Suspend {
            target,
            topic: topic?,
        },
        ActionKind::Resume => Request::Resume {
            target,
            topic: topic?,
        },
        // Not offered per target: planned from the Alertmanager view.
        ActionKind::Silence | ActionKind::Unsilence => return None,
    })
}

/// Topics seen in the target's counter, with their rate over the window, busiest first.
pub fn topics_from_store(
    t: &TargetState,
    metric: &str,
    label: &str,
    window_ms: i64,
    now_ms: i64,
) -> Vec<(String, Option<f64>)> {
    let mut rows: HashMap<String, Option<f64>> = HashMap::new();
    for (key, points) in &t.series {
        let (name, labels) = split_key(key);
        if name != metric {
            continue;
        }
        let Some(id) = labels.get(label) else {
            continue;
        };
        let r = crate::derive::rate::rate(points, window_ms, now_ms);
        let e = rows.entry(id.into_owned()).or_insert(None);
        if let Some(r) = r {
            *e = Some(e.unwrap_or(0.0) + r);
        }
    }
    let mut out: Vec<(String, Option<f64>)> = rows.into_iter().collect();
    out.sort_by(|a, b| {
        b.1.unwrap_or(-1.0)
            .total_cmp(&a.1.unwrap_or(-1.0))
            .then_with(|| a.0.cmp(&b.0))
    });
    out
}
