//! The daily checklist walkthrough in the cockpit (`D`): one item at a time with its evidence,
//! the operator's pass / fail / skip and a note, progress, and the report at the end.
//!
//! The model holds a copy of the walkthrough's state to draw; the walkthrough itself (its file,
//! saved after every verdict so an interrupted walkthrough resumes) lives with the event loop,
//! which carries out the `Cmd`s below. Automatic items are judged by the checklist engine on the
//! target's current panels and on probes (TLS, clock, disk, backups) gathered in the
//! background; the operator may accept the automatic result or overrule it.

use crate::checklist::{ItemKind, Outcome, Status, Verdict, WalkState};

use super::model::{Model, SparkKey, View};
use super::update::{toast, Cmd};

/// The walkthrough as the cockpit shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct WalkView {
    pub state: WalkState,
    /// The item on screen.
    pub current: usize,
    /// A note being typed for the current item (`n`), if any.
    pub note: Option<String>,
    /// Items whose value has a sparkline in the cockpit, and which one.
    pub sparks: std::collections::HashMap<String, SparkKey>,
}

impl WalkView {
    pub fn progress(&self) -> (usize, usize) {
        self.state.progress()
    }

    fn current_key(&self) -> Option<String> {
        self.state.items.get(self.current).map(|i| i.key.clone())
    }
}

/// `D`: open (or resume) today's walkthrough.
pub(super) fn open(m: &mut Model) -> Vec<Cmd> {
    if let Some(w) = &m.walk {
        let _ = w;
        m.view = View::Checklist;
        return judge_current(m);
    }
    m.view = View::Checklist;
    // A new opening probes afresh: this morning's TLS or disk answer is not this evening's.
    m.walk_generation += 1;
    m.walk_gathered.clear();
    vec![Cmd::WalkOpen(m.walk_generation)]
}

pub(super) fn opened(m: &mut Model, r: Result<Box<WalkState>, String>) -> Vec<Cmd> {
    match r {
        Ok(state) => {
            let current = state
                .items
                .iter()
                .position(|i| i.verdict.is_none())
                .unwrap_or(0);
            let resumed = state.items.iter().any(|i| i.verdict.is_some());
            m.walk = Some(WalkView {
                state: *state,
                current,
                note: None,
                sparks: std::collections::HashMap::new(),
            });
            if resumed {
                toast(m, "resumed today's walkthrough where it stopped", false);
            }
            judge_current(m)
        }
        Err(e) => {
            m.view = View::Main;
            toast(m, e, true);
            Vec::new()
        }
    }
}

/// Asks for the current item's automatic judgement on the panels as they are now.
fn judge_current(m: &Model) -> Vec<Cmd> {
    let Some(w) = &m.walk else {
        return Vec::new();
    };
    match w.state.items.get(w.current) {
        Some(i) if i.kind == ItemKind::Auto => vec![Cmd::WalkJudge(i.key.clone())],
        _ => Vec::new(),
    }
}

pub(super) fn judged(
    m: &mut Model,
    key: &str,
    outcome: Outcome,
    spark: Option<SparkKey>,
) -> Vec<Cmd> {
    let Some(w) = m.walk.as_mut() else {
        return Vec::new();
    };
    if let Some(item) = w.state.items.iter_mut().find(|i| i.key == key) {
        item.auto = Some(outcome);
    }
    if let Some(s) = spark {
        w.sparks.insert(key.to_owned(), s);
    }
    Vec::new()
}

pub(super) fn step(m: &mut Model, delta: isize) -> Vec<Cmd> {
    let Some(w) = m.walk.as_mut() else {
        return Vec::new();
    };
    let n = w.state.items.len();
    if n == 0 {
        return Vec::new();
    }
    w.current = w.current.saturating_add_signed(delta).min(n - 1);
    w.note = None;
    judge_current(m)
}

/// `p`, `f`, `s`, or Enter (accept the automatic result).
pub(super) fn verdict(m: &mut Model, v: Option<Verdict>) -> Vec<Cmd> {
    let Some(w) = m.walk.as_mut() else {
        return Vec::new();
    };
    let Some(item) = w.state.items.get_mut(w.current) else {
        return Vec::new();
    };
    let v = match v {
        Some(v) => v,
        // Enter: take the automatic result when there is a clear one.
        None => match item.auto.as_ref().map(|o| o.status) {
            Some(Status::Pass) => Verdict::Pass,
            Some(Status::Fail) => Verdict::Fail,
            Some(Status::Skipped) => Verdict::Skip,
            _ => {
                let why = if item.kind == ItemKind::Manual {
                    "a manual item: decide with p (pass), f (fail) or s (skip)"
                } else {
                    "no automatic result to accept yet: decide with p, f or s"
                };
                toast(m, why, true);
                return Vec::new();
            }
        },
    };
    item.verdict = Some(v);
    item.at_ms = Some(m.now_ms);
    let key = item.key.clone();
    let note = item.note.clone();
    let mut cmds = vec![Cmd::WalkRecord {
        key,
        verdict: v,
        note,
    }];
    // On to the next undecided item, if any is left after this one.
    let next = w
        .state
        .items
        .iter()
        .enumerate()
        .skip(w.current + 1)
        .chain(w.state.items.iter().enumerate().take(w.current))
        .find(|(_, i)| i.verdict.is_none())
        .map(|(i, _)| i);
    match next {
        Some(i) => {
            w.current = i;
            cmds.extend(judge_current(m));
        }
        None => toast(m, "every item has a verdict — F writes the report", false),
    }
    cmds
}

/// `n`: start typing a note for the current item (kept with its verdict).
pub(super) fn start_note(m: &mut Model) {
    if let Some(w) = m.walk.as_mut() {
        let existing = w
            .state
            .items
            .get(w.current)
            .and_then(|i| i.note.clone())
            .unwrap_or_default();
        w.note = Some(existing);
    }
}

/// Enter while typing a note: keep it (and save it with the verdict, if there is one).
pub(super) fn end_note(m: &mut Model, keep: bool) -> Vec<Cmd> {
    let Some(w) = m.walk.as_mut() else {
        return Vec::new();
    };
    let Some(note) = w.note.take() else {
        return Vec::new();
    };
    if !keep {
        return Vec::new();
    }
    let Some(item) = w.state.items.get_mut(w.current) else {
        return Vec::new();
    };
    item.note = Some(note.clone()).filter(|n| !n.trim().is_empty());
    match item.verdict {
        Some(v) => vec![Cmd::WalkRecord {
            key: item.key.clone(),
            verdict: v,
            note: item.note.clone(),
        }],
        None => Vec::new(),
    }
}

/// Typing into the note; true when the key was taken.
pub(super) fn type_key(m: &mut Model, c: Option<char>, backspace: bool) -> bool {
    let Some(note) = m.walk.as_mut().and_then(|w| w.note.as_mut()) else {
        return false;
    };
    super::update::edit(note, c, backspace, 500);
    true
}

/// `F`: write the report (Markdown and JSON), close the walkthrough.
pub(super) fn finish(m: &mut Model) -> Vec<Cmd> {
    let Some(w) = &m.walk else {
        return Vec::new();
    };
    let (done, total) = w.progress();
    if done < total {
        toast(
            m,
            format!("{} item(s) have no verdict yet — they go into the report as pending; F again to write it", total - done),
            true,
        );
        if !m.walk_finish_armed {
            m.walk_finish_armed = true;
            return Vec::new();
        }
    }
    m.walk_finish_armed = false;
    vec![Cmd::WalkFinish]
}

pub(super) fn finished(m: &mut Model, r: Result<String, String>) -> Vec<Cmd> {
    match r {
        Ok(path) => {
            m.walk = None;
            m.view = View::Main;
            toast(m, format!("checklist report written: {path}"), false);
        }
        Err(e) => toast(m, e, true),
    }
    Vec::new()
}

/// The key of the item on screen (for the event loop).
pub fn current_key(m: &Model) -> Option<String> {
    m.walk.as_ref().and_then(WalkView::current_key)
}
