//! What the operator does with an alert: acknowledge it with a note, silence it for a while,
//! or jump to the remediation action that fits. Acks and silences are the operator's, not the
//! rule's: the rule keeps evaluating, the header stops shouting. Both are written to the audit
//! file (via `Cmd::Audit`) so the next shift can read who took what.

use std::collections::HashMap;

use crate::actions::audit::{new_id, Record};
use crate::actions::ActionKind;
use crate::derive::rules::AlertRow;

use super::model::{Model, PanelId, Popup, View};
use super::update::{toast, Cmd};

/// Silence durations offered, shortest first.
pub const SILENCES: [(&str, i64); 5] = [
    ("15m", 15 * 60_000),
    ("1h", 3_600_000),
    ("4h", 4 * 3_600_000),
    ("12h", 12 * 3_600_000),
    ("24h", 24 * 3_600_000),
];

/// An acknowledgement of one firing episode of an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub by: String,
    pub note: String,
    pub at_ms: i64,
    /// The episode acknowledged: a new firing after a resolve is not acknowledged.
    pub since_ms: i64,
}

/// Acks and silences by (target, alert name).
#[derive(Debug, Clone, Default)]
pub struct AlertMarks {
    pub acks: HashMap<(String, String), Ack>,
    pub silences: HashMap<(String, String), i64>,
}

fn key(row: &AlertRow) -> (String, String) {
    (row.target.clone(), row.name.clone())
}

impl AlertMarks {
    /// The ack of this firing episode, if any.
    pub fn acked(&self, row: &AlertRow) -> Option<&Ack> {
        self.acks.get(&key(row)).filter(|a| {
            a.since_ms == row.since_ms && row.state == crate::derive::rules::AlertPhase::Firing
        })
    }

    /// Until when the alert is silenced, if it is now.
    pub fn silenced_until(&self, row: &AlertRow, now_ms: i64) -> Option<i64> {
        self.silences
            .get(&key(row))
            .copied()
            .filter(|&u| u > now_ms)
    }
}

/// The alert popups: a note for an ack, a duration for a silence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertPopup {
    Ack {
        row: Box<AlertRowKey>,
        note: String,
    },
    Silence {
        row: Box<AlertRowKey>,
        selected: usize,
    },
}

/// What an ack or silence refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRowKey {
    pub target: String,
    pub name: String,
    pub severity: String,
    pub since_ms: i64,
    pub value: Option<String>,
}

/// The alert under the selection in the signals panel, if the selection is on one.
pub fn selected_alert(m: &Model) -> Option<AlertRow> {
    if m.focus != PanelId::Signals || !matches!(m.view, View::Main | View::Detail { .. }) {
        return None;
    }
    m.visible_alerts()
        .into_iter()
        .nth(m.selected[PanelId::Signals.index()])
}

fn need_alert(m: &mut Model) -> Option<AlertRow> {
    let row = selected_alert(m);
    if row.is_none() {
        toast(
            m,
            "select an alert first: focus the signals panel (7) and move onto a FIRING or pending row",
            true,
        );
    }
    row
}

fn row_key(row: &AlertRow) -> AlertRowKey {
    AlertRowKey {
        target: row.target.clone(),
        name: row.name.clone(),
        severity: row.severity.as_str().to_owned(),
        since_ms: row.since_ms,
        value: row.value.map(crate::fmt::num),
    }
}

pub(super) fn ack(m: &mut Model) -> Vec<Cmd> {
    let Some(row) = need_alert(m) else {
        return Vec::new();
    };
    if row.state != crate::derive::rules::AlertPhase::Firing {
        toast(
            m,
            format!("{} is only pending: nothing to acknowledge yet", row.name),
            true,
        );
        return Vec::new();
    }
    m.popup = Some(Popup::Alert(AlertPopup::Ack {
        row: Box::new(row_key(&row)),
        note: String::new(),
    }));
    Vec::new()
}

pub(super) fn silence(m: &mut Model) -> Vec<Cmd> {
    let Some(row) = need_alert(m) else {
        return Vec::new();
    };
    m.popup = Some(Popup::Alert(AlertPopup::Silence {
        row: Box::new(row_key(&row)),
        selected: 1,
    }));
    Vec::new()
}

/// Enter in an alert popup: record the ack or the silence, and audit it.
pub(super) fn submit(m: &mut Model, p: AlertPopup) -> Vec<Cmd> {
    let user = crate::actions::audit::Operator::current().user;
    match p {
        AlertPopup::Ack { row, note } => {
            m.marks.acks.insert(
                (row.target.clone(), row.name.clone()),
                Ack {
                    by: user,
                    note: note.clone(),
                    at_ms: m.now_ms,
                    since_ms: row.since_ms,
                },
            );
            toast(
                m,
                format!("{} on {} acknowledged", row.name, row.target),
                false,
            );
            let mut rec = Record::new(&new_id(), "ack", &row.target, "ack");
            rec.params = serde_json::json!({
                "alert": row.name, "severity": row.severity, "value": row.value,
                "firing_since_ms": row.since_ms,
            });
            rec.note = Some(note);
            vec![Cmd::Audit(Box::new(rec))]
        }
        AlertPopup::Silence { row, selected } => {
            let (label, ms) = SILENCES[selected.min(SILENCES.len() - 1)];
            let until = m.now_ms + ms;
            m.marks
                .silences
                .insert((row.target.clone(), row.name.clone()), until);
            toast(
                m,
                format!("{} on {} silenced for {label}", row.name, row.target),
                false,
            );
            let mut rec = Record::new(&new_id(), "silence", &row.target, "silence");
            rec.params = serde_json::json!({
                "alert": row.name, "for": label, "until_ms": until,
            });
            vec![Cmd::Audit(Box::new(rec))]
        }
    }
}

/// `r`: open the Actions view of the alert's target on the action its rule names.
pub(super) fn remedy(m: &mut Model) -> Vec<Cmd> {
    let Some(row) = need_alert(m) else {
        return Vec::new();
    };
    let Some(remedy) = row.remedy.clone() else {
        toast(
            m,
            format!(
                "{} names no remedy action; its hint: {}",
                row.name, row.action
            ),
            true,
        );
        return Vec::new();
    };
    let Some(target) = m.target_index(&row.target) else {
        return Vec::new();
    };
    let (kind, name) = match remedy.split_once(':') {
        Some(("run", n)) => (Some(ActionKind::Run), n.to_owned()),
        _ => (ActionKind::parse(&remedy), String::new()),
    };
    let offers = m.acts.offered.get(target).cloned().unwrap_or_default();
    let Some(i) = offers
        .iter()
        .position(|o| Some(o.kind) == kind && (name.is_empty() || o.name == name))
    else {
        toast(
            m,
            format!(
                "the remedy for {} is {remedy}, but {} has no such action configured — add it to the target's config",
                row.name, row.target
            ),
            true,
        );
        return Vec::new();
    };
    m.select_target(target);
    m.view = View::Actions { target };
    let cmds = super::act_update::open_actions(m);
    m.action_selected = i;
    cmds
}

/// Typing into the ack note; returns true when the key was taken.
pub(super) fn type_key(p: &mut AlertPopup, c: Option<char>, backspace: bool) -> bool {
    let AlertPopup::Ack { note, .. } = p else {
        return false;
    };
    super::update::edit(note, c, backspace, 500);
    true
}
