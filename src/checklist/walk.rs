//! The walkthrough's state: one verdict (pass, fail, skip), note and time per item, saved as
//! JSON after every change so an interrupted walkthrough resumes where it stopped. The
//! cockpit drives it; nothing here draws anything.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::eval::{Outcome, PlannedItem, Status};
use super::format::{Hint, ItemKind};
use super::report::{
    checklists_stem, date_of, file_safe, make_private_dir, rfc3339, write_private, ItemReport,
    Report, Summary,
};
use crate::derive::rules::AlertRow;

/// What the operator decided about an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Skip,
}

/// One item of a walkthrough.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalkItem {
    pub key: String,
    pub checklist: String,
    pub target: Option<String>,
    pub title: String,
    pub kind: ItemKind,
    pub hint: Option<Hint>,
    /// The automatic judgement, for auto items, once made.
    pub auto: Option<Outcome>,
    /// The operator's verdict.
    pub verdict: Option<Verdict>,
    pub note: Option<String>,
    /// When the verdict was recorded (unix ms).
    pub at_ms: Option<i64>,
}

impl WalkItem {
    /// The item's status for the report: the operator's verdict, else the automatic result,
    /// else pending.
    pub fn status(&self) -> Status {
        match (self.verdict, &self.auto) {
            (Some(Verdict::Pass), _) => Status::Pass,
            (Some(Verdict::Fail), _) => Status::Fail,
            (Some(Verdict::Skip), _) => Status::Skipped,
            (None, Some(o)) if o.status != Status::Pending => o.status,
            (None, _) => Status::Pending,
        }
    }
}

/// The saved state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalkState {
    pub version: u32,
    pub checklists: Vec<String>,
    pub operator: String,
    pub environment: Option<String>,
    /// `YYYY-MM-DD` (UTC) the walkthrough belongs to.
    pub date: String,
    pub started_ms: i64,
    pub items: Vec<WalkItem>,
}

impl WalkState {
    /// `(decided, total)`: items with a verdict.
    pub fn progress(&self) -> (usize, usize) {
        let done = self.items.iter().filter(|i| i.verdict.is_some()).count();
        (done, self.items.len())
    }
}

/// Why the walkthrough state could not be read or saved.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("cannot save the walkthrough to {}: {source} — check the reports directory's owner, mode and free space", path.display())]
    Save {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the saved walkthrough {}: {reason} — move it away to start afresh", path.display())]
    Load { path: PathBuf, reason: String },
    #[error("no item {key:?} in this walkthrough")]
    NoItem { key: String },
}

/// A walkthrough in progress, bound to its state file.
#[derive(Debug)]
pub struct Walkthrough {
    path: PathBuf,
    pub state: WalkState,
}

const VERSION: u32 = 1;

impl Walkthrough {
    /// The state file of `operator`'s walkthrough of these checklists on `date`.
    pub fn state_path(dir: &Path, date: &str, operator: &str, checklists: &[String]) -> PathBuf {
        dir.join(format!(
            "{date}-{}-{}.walkthrough.json",
            file_safe(operator),
            checklists_stem(checklists)
        ))
    }

    /// Resumes today's walkthrough of `plan` from `dir`, or starts one (and saves it). On
    /// resume, items still in the plan keep their verdicts, new items are added, and items no
    /// longer in the plan are dropped.
    pub fn load_or_new(
        dir: &Path,
        plan: &[PlannedItem],
        operator: &str,
        environment: Option<&str>,
        now_ms: i64,
    ) -> Result<Walkthrough, WalkError> {
        let mut checklists: Vec<String> = Vec::new();
        for p in plan {
            if !checklists.contains(&p.checklist) {
                checklists.push(p.checklist.clone());
            }
        }
        let date = date_of(now_ms);
        let path = Self::state_path(dir, &date, operator, &checklists);
        let saved: Option<WalkState> =
            match crate::safe_fs::read_regular(&path, crate::safe_fs::MAX_CONFIG_FILE) {
                Ok(bytes) => Some(serde_json::from_slice(&bytes).map_err(|e| WalkError::Load {
                    path: path.clone(),
                    reason: e.to_string(),
                })?),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => {
                    return Err(WalkError::Load {
                        path,
                        reason: e.to_string(),
                    })
                }
            };
        let items = plan
            .iter()
            .map(|p| {
                let old = saved
                    .as_ref()
                    .and_then(|s| s.items.iter().find(|i| i.key == p.key));
                WalkItem {
                    key: p.key.clone(),
                    checklist: p.checklist.clone(),
                    target: p.target.clone(),
                    title: p.item.title.clone(),
                    kind: p.kind(),
                    hint: p.item.hint.clone(),
                    auto: old.and_then(|o| o.auto.clone()),
                    verdict: old.and_then(|o| o.verdict),
                    note: old.and_then(|o| o.note.clone()),
                    at_ms: old.and_then(|o| o.at_ms),
                }
            })
            .collect();
        let w = Walkthrough {
            path,
            state: WalkState {
                version: VERSION,
                checklists,
                operator: operator.to_owned(),
                environment: saved
                    .as_ref()
                    .and_then(|s| s.environment.clone())
                    .or_else(|| environment.map(str::to_owned)),
                date,
                started_ms: saved.as_ref().map_or(now_ms, |s| s.started_ms),
                items,
            },
        };
        w.save()?;
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn items(&self) -> &[WalkItem] {
        &self.state.items
    }

    /// `(decided, total)`: items with a verdict.
    pub fn progress(&self) -> (usize, usize) {
        self.state.progress()
    }

    /// The first item without a verdict.
    pub fn next_open(&self) -> Option<usize> {
        self.state.items.iter().position(|i| i.verdict.is_none())
    }

    fn item_mut(&mut self, key: &str) -> Result<&mut WalkItem, WalkError> {
        self.state
            .items
            .iter_mut()
            .find(|i| i.key == key)
            .ok_or_else(|| WalkError::NoItem {
                key: key.to_owned(),
            })
    }

    /// Stores an automatic item's judgement (the evidence shown with it), and saves.
    pub fn set_auto(&mut self, key: &str, outcome: Outcome) -> Result<(), WalkError> {
        self.item_mut(key)?.auto = Some(outcome);
        self.save()
    }

    /// Records the operator's verdict and note now, and saves.
    pub fn record(
        &mut self,
        key: &str,
        verdict: Verdict,
        note: Option<String>,
    ) -> Result<(), WalkError> {
        self.record_at(key, verdict, note, crate::obs::now_ms())
    }

    /// As [`record`](Self::record), at a given time (unix ms).
    pub fn record_at(
        &mut self,
        key: &str,
        verdict: Verdict,
        note: Option<String>,
        at_ms: i64,
    ) -> Result<(), WalkError> {
        let item = self.item_mut(key)?;
        item.verdict = Some(verdict);
        item.note = note.filter(|n| !n.trim().is_empty());
        item.at_ms = Some(at_ms);
        self.save()
    }

    /// Writes the state file (0600, its directory 0700) atomically.
    pub fn save(&self) -> Result<(), WalkError> {
        let err = |source| WalkError::Save {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            make_private_dir(dir).map_err(err)?;
        }
        let json = serde_json::to_vec_pretty(&self.state).unwrap_or_default();
        write_private(&self.path, &json).map_err(err)
    }

    /// The report of the walkthrough as it stands.
    pub fn finish(&self, alerts: Vec<AlertRow>, now_ms: i64) -> Report {
        let items: Vec<ItemReport> = self
            .state
            .items
            .iter()
            .map(|i| {
                let status = i.status();
                let evidence = match (&i.auto, i.kind) {
                    (Some(o), _) => o.evidence.clone(),
                    (None, ItemKind::Manual) => "manual".into(),
                    (None, ItemKind::Auto) => "not evaluated".into(),
                };
                ItemReport {
                    key: i.key.clone(),
                    checklist: i.checklist.clone(),
                    target: i.target.clone(),
                    title: i.title.clone(),
                    kind: i.kind,
                    status,
                    evidence,
                    note: i.note.clone(),
                    at: i.at_ms.map(rfc3339),
                    hint: matches!(status, Status::Fail | Status::Unknown)
                        .then(|| i.hint.clone())
                        .flatten(),
                }
            })
            .collect();
        Report {
            checklists: self.state.checklists.clone(),
            operator: self.state.operator.clone(),
            environment: self.state.environment.clone(),
            mode: "walkthrough",
            date: self.state.date.clone(),
            started: rfc3339(self.state.started_ms),
            finished: rfc3339(now_ms),
            summary: Summary::of(&items, &alerts),
            items,
            alerts,
        }
    }

    /// Removes the state file once the report is saved, so tomorrow starts afresh.
    pub fn close(self) -> Result<(), WalkError> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(WalkError::Save {
                path: self.path,
                source: e,
            }),
            _ => Ok(()),
        }
    }
}
