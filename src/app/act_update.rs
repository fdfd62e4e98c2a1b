//! `update` for actions: opening the Actions view, planning, confirming, progress, outcomes.
//!
//! The cockpit refuses early where it can (read-only, already running) so the operator hears
//! it at once, but the action layer checks everything again: this file is convenience, not
//! the safety boundary.

use crate::actions::{ActionKind, Confirmation, Outcome, Prepared, Progress, Request, Risk};

use super::acting::{request_of, topics_from_store, Finished, PlanPopup, Running, TopicPick};
use super::model::{AmView, Model, Popup, View};
use super::update::{toast, Cmd};

/// The target the operator means: the drilled-into one, the one whose Actions view is open,
/// or the selected overview row.
pub(super) fn current_target(m: &Model) -> Option<usize> {
    let t = match m.view {
        View::Detail { target } | View::Actions { target } => target,
        View::Browse(ref b) => b.target,
        _ => m.selected_target()?,
    };
    (t < m.shown.targets.len()).then_some(t)
}

pub(super) fn open_actions(m: &mut Model) -> Vec<Cmd> {
    let Some(target) = current_target(m) else {
        toast(m, "no target selected", true);
        return Vec::new();
    };
    let mut cmds = vec![Cmd::LoadAudit];
    if !matches!(m.view, View::Actions { target: t } if t == target) {
        m.action_selected = 0;
    }
    m.view = View::Actions { target };
    if m.acts.backups.contains_key(&target) {
        cmds.push(Cmd::LoadBackups(target));
    }
    cmds
}

pub(super) fn open_audit(m: &mut Model) -> Vec<Cmd> {
    m.view = View::Audit { scroll: usize::MAX };
    vec![Cmd::LoadAudit]
}

/// Enter on an action row.
pub(super) fn choose(m: &mut Model) -> Vec<Cmd> {
    let View::Actions { target } = m.view else {
        return Vec::new();
    };
    let Some(offer) = m
        .acts
        .offered
        .get(target)
        .and_then(|o| o.get(m.action_selected))
        .cloned()
    else {
        toast(
            m,
            "this target has no actions configured — see `watchdeck config template`",
            true,
        );
        return Vec::new();
    };
    let name = m.shown.targets[target].name.clone();
    if let Some(why) = m.read_only_reason(target) {
        toast(
            m,
            format!(
                "read-only: {} on {name} is refused — {why}",
                offer.kind.as_str()
            ),
            true,
        );
        return Vec::new();
    }
    if m.acts.running_on(target).any(|r| r.kind == offer.kind) {
        toast(
            m,
            format!(
                "{} on {name} is already running — x cancels it",
                offer.kind.as_str()
            ),
            true,
        );
        return Vec::new();
    }
    if matches!(offer.kind, ActionKind::Suspend | ActionKind::Resume) {
        let topics = match (&m.acts.topic_metric[target], m.store.targets.get(target)) {
            (Some((metric, label)), Some(t)) => {
                topics_from_store(t, metric, label, m.window_ms, m.now_ms)
            }
            _ => Vec::new(),
        };
        m.popup = Some(Popup::TopicPick(TopicPick {
            target,
            kind: offer.kind,
            input: String::new(),
            topics,
            selected: 0,
        }));
        return Vec::new();
    }
    let Some(req) = request_of(&offer, &name, None) else {
        return Vec::new();
    };
    let what = format!("preparing the plan: {} on {name}…", offer.kind.as_str());
    ask_plan(m, req, what)
}

/// Asks for one plan at a time: a second request while one is out is refused in words.
fn ask_plan(m: &mut Model, req: Request, what: String) -> Vec<Cmd> {
    if let Some((_, pending)) = &m.acts.planning {
        let pending = pending.clone();
        toast(
            m,
            format!("still {pending} — wait for it, or Esc to drop it"),
            true,
        );
        return Vec::new();
    }
    m.acts.planning = Some((req.clone(), what));
    vec![Cmd::Plan(req)]
}

/// Enter in a text field: take the topic, or check the typed confirmation.
pub(super) fn submit(m: &mut Model) -> Vec<Cmd> {
    match m.popup.take() {
        Some(Popup::TopicPick(p)) => {
            let Some(topic) = p.choice() else {
                m.popup = Some(Popup::TopicPick(p));
                return Vec::new();
            };
            let name = m.shown.targets[p.target].name.clone();
            let offer = super::acting::Offer {
                kind: p.kind,
                name: String::new(),
                label: String::new(),
                risk: Risk::High,
            };
            let Some(req) = request_of(&offer, &name, Some(topic.clone())) else {
                return Vec::new();
            };
            let what = format!(
                "preparing the plan: {} {topic:?} on {name}…",
                p.kind.as_str()
            );
            ask_plan(m, req, what)
        }
        Some(Popup::Plan(mut p)) if p.prepared.risk == Risk::High => {
            if p.typed == p.prepared.confirm_word {
                let typed = std::mem::take(&mut p.typed);
                execute(m, p.prepared, Confirmation::Typed(typed))
            } else {
                p.error = Some(format!(
                    "{:?} does not match — type {:?} exactly, or Esc to cancel",
                    p.typed, p.prepared.confirm_word
                ));
                p.typed.clear();
                m.popup = Some(Popup::Plan(p));
                Vec::new()
            }
        }
        other => {
            m.popup = other;
            Vec::new()
        }
    }
}

/// `y` on a yes/no popup that is about an action.
pub(super) fn confirm(m: &mut Model) -> Vec<Cmd> {
    match m.popup.take() {
        Some(Popup::Plan(p)) if p.prepared.risk == Risk::Low => {
            execute(m, p.prepared, Confirmation::Yes)
        }
        Some(Popup::ConfirmCancel { target }) => m
            .acts
            .running_on(target)
            .map(|r| Cmd::CancelAction {
                target,
                kind: r.kind,
            })
            .collect(),
        other => {
            m.popup = other;
            Vec::new()
        }
    }
}

fn execute(m: &mut Model, prepared: Box<Prepared>, c: Confirmation) -> Vec<Cmd> {
    let Some(target) = m.target_index(prepared.target()) else {
        return Vec::new();
    };
    // Checked again at confirmation: two plans asked for in a row must not start twice (the
    // action layer's lock would refuse the second, but the screen must not lose the first).
    if m.acts.running_on(target).any(|r| r.kind == prepared.kind()) {
        toast(
            m,
            format!(
                "{} on {} is already running — x cancels it",
                prepared.kind().as_str(),
                prepared.target()
            ),
            true,
        );
        return Vec::new();
    }
    m.acts.running.push(Running {
        target,
        kind: prepared.kind(),
        title: prepared.title.clone(),
        started_ms: m.now_ms,
        phase: "starting".into(),
        bytes: None,
        output: std::collections::VecDeque::new(),
    });
    if target != super::model::AM_TARGET {
        m.view = View::Actions { target };
    }
    let cancel = tokio_util::sync::CancellationToken::new();
    m.acts
        .cancels
        .insert((target, prepared.kind()), cancel.clone());
    vec![Cmd::Execute(prepared, c, cancel)]
}

pub(super) fn cancel_action(m: &mut Model) -> Vec<Cmd> {
    let Some(target) = current_target(m) else {
        return Vec::new();
    };
    if m.acts.running_on(target).next().is_none() {
        toast(m, "nothing is running on this target", false);
    } else {
        m.popup = Some(Popup::ConfirmCancel { target });
    }
    Vec::new()
}

pub(super) fn planned(
    m: &mut Model,
    req: &Request,
    result: Result<Box<Prepared>, String>,
) -> Vec<Cmd> {
    // Only the answer to the plan still awaited, and never over another dialog: a late plan
    // must not take the place of a quit confirmation and catch a `y` meant for it.
    if m.acts.planning.as_ref().is_none_or(|(r, _)| r != req) {
        return Vec::new();
    }
    m.acts.planning = None;
    if m.popup.is_some() {
        toast(
            m,
            "the plan arrived while another dialog was open and was dropped — Enter asks again",
            true,
        );
        return Vec::new();
    }
    match result {
        Ok(p) => {
            m.popup = Some(Popup::Plan(PlanPopup {
                prepared: p,
                typed: String::new(),
                error: None,
            }));
        }
        Err(e) => toast(m, e, true),
    }
    Vec::new()
}

pub(super) fn progress(m: &mut Model, target: usize, kind: ActionKind, p: Progress) -> Vec<Cmd> {
    m.acts.progress(target, kind, p);
    Vec::new()
}

pub(super) fn done(m: &mut Model, target: usize, kind: ActionKind, outcome: Outcome) -> Vec<Cmd> {
    let title = m
        .acts
        .running
        .iter()
        .find(|r| r.target == target && r.kind == kind)
        .map_or_else(|| kind.as_str().to_owned(), |r| r.title.clone());
    if let Some(i) = m
        .acts
        .running
        .iter()
        .position(|r| r.target == target && r.kind == kind)
    {
        m.acts.running.remove(i);
    }
    let ok = outcome.succeeded();
    toast(
        m,
        format!("{}: {} — {}", title, outcome.result, outcome.summary),
        !ok,
    );
    m.acts.last.insert(
        target,
        Finished {
            kind,
            title,
            outcome,
            at_ms: m.now_ms,
        },
    );
    let mut cmds = vec![Cmd::LoadAudit];
    if kind == ActionKind::Backup {
        cmds.push(Cmd::LoadBackups(target));
    }
    if m.acts.running.is_empty() {
        if m.hung_up {
            cmds.push(Cmd::QuitNoRestore);
        } else if m.quit {
            cmds.push(Cmd::Quit);
        }
    }
    cmds
}

/// Quit (confirmed) or SIGTERM with actions in flight: cancel them, leave when they end.
pub(super) fn quit_after_cancel(m: &mut Model) -> Vec<Cmd> {
    m.quit = true;
    if m.acts.running.is_empty() {
        return vec![Cmd::Quit];
    }
    toast(m, "cancelling the running actions before quitting…", true);
    m.acts
        .running
        .iter()
        .map(|r| Cmd::CancelAction {
            target: r.target,
            kind: r.kind,
        })
        .collect()
}

/// The terminal went away. Actions in flight finish headless (a backup completes, a rollback
/// completes or reverts); the audit records say so; then the process leaves.
pub(super) fn hangup(m: &mut Model) -> Vec<Cmd> {
    if m.acts.running.is_empty() {
        return vec![Cmd::QuitNoRestore];
    }
    m.hung_up = true;
    vec![Cmd::GoHeadless]
}

/// Typing into a popup's text field; returns true when the key was taken.
pub(super) fn type_key(m: &mut Model, c: Option<char>, backspace: bool) -> bool {
    let field = match &mut m.popup {
        Some(Popup::TopicPick(p)) => {
            p.selected = 0;
            &mut p.input
        }
        Some(Popup::Plan(p)) if p.prepared.risk == Risk::High => {
            p.error = None;
            &mut p.typed
        }
        _ => return false,
    };
    super::update::edit(field, c, backspace, 256);
    true
}

/// The Alertmanager view's selected row and what the view lists; `None` in another view or
/// before the Alertmanager has answered.
fn am_selection(m: &Model) -> Option<(usize, &AmView)> {
    let View::Alertmanager { scroll } = m.view else {
        return None;
    };
    Some((scroll, m.am.as_ref()?))
}

/// `s` on an Alertmanager alert: plan a silence of exactly its labels (1 h).
pub(super) fn am_silence(m: &mut Model) -> Vec<Cmd> {
    let Some((scroll, am)) = am_selection(m) else {
        return Vec::new();
    };
    let (alerts, _) = am.rows();
    let Some(a) = alerts.get(scroll) else {
        toast(
            m,
            "move onto an alert to silence it (s), or onto a silence to expire it (x)",
            true,
        );
        return Vec::new();
    };
    let labels: Vec<(String, String)> = a
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let comment = format!("silenced from watchdeck: {}", a.name());
    let req = Request::Silence {
        labels,
        minutes: 60,
        comment,
    };
    ask_plan(m, req, "preparing the silence…".into())
}

/// `x` on an Alertmanager silence: plan its expiry.
pub(super) fn am_expire(m: &mut Model) -> Vec<Cmd> {
    let Some((scroll, am)) = am_selection(m) else {
        return Vec::new();
    };
    let (alerts, silences) = am.rows();
    let Some(s) = scroll
        .checked_sub(alerts.len())
        .and_then(|i| silences.get(i))
    else {
        toast(
            m,
            "move onto a silence to expire it (x), or onto an alert to silence it (s)",
            true,
        );
        return Vec::new();
    };
    let req = Request::Unsilence { id: s.id.clone() };
    ask_plan(m, req, "preparing the expiry…".into())
}
