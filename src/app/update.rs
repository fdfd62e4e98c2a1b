//! `update(&mut Model, Msg) -> Vec<Cmd>`: the only place the cockpit's state changes.
//!
//! Input, observations, clock ticks and signals all arrive as `Msg`s; side effects leave as
//! `Cmd`s for the event loop to carry out. The clock is in the messages, never read here.

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::act_update as act;
use super::acting::Backups;
use super::alert_ops;
use super::model::{Browse, Model, Palette, PanelId, Popup, Toast, View};
use super::palette::rank;
use super::walk;
use crate::actions::audit::Record;
use crate::actions::{ActionKind, Confirmation, Outcome, Prepared, Progress, Request};
use crate::checklist::{Verdict, WalkState};
use crate::keymap::command::Command;
use crate::keymap::Mode;
use crate::obs::Observation;

/// Everything that can happen to the cockpit.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    Observation(Box<Observation>),
    /// Every series of a target, for the browser.
    Series {
        target: usize,
        rows: Vec<(String, f64)>,
    },
    /// The clock moved (for ages and toasts).
    Tick(i64),
    /// SIGHUP, or the terminal went away (EOF/EIO): stop drawing and leave.
    Hangup,
    /// SIGTERM or SIGINT.
    Terminate,
    /// A plan the action layer prepared for this request (or why it could not).
    Planned(Request, Result<Box<Prepared>, String>),
    /// Progress of a running action.
    ActionProgress {
        target: usize,
        kind: ActionKind,
        progress: Progress,
    },
    /// A running action ended (audited by the action layer before this arrives).
    ActionDone {
        target: usize,
        kind: ActionKind,
        outcome: Box<Outcome>,
    },
    /// A target's backup generations, as read from its directory.
    Backups {
        target: usize,
        backups: Box<Backups>,
    },
    /// The audit file's last records (or why it could not be read).
    Audit(Result<Vec<Record>, String>),
    /// Today's walkthrough, opened or resumed (or why not).
    WalkOpened(Result<Box<WalkState>, String>),
    /// A probe for this item came back (for the opening numbered `generation`): it can be
    /// judged.
    WalkGathered {
        generation: u64,
        key: String,
        gathered: Box<crate::checklist::Gathered>,
    },
    /// An automatic item's judgement.
    WalkJudged {
        key: String,
        outcome: Box<crate::checklist::Outcome>,
        /// The sparkline that shows this item's value over time, when it has one.
        spark: Option<super::model::SparkKey>,
    },
    /// The report was written (its Markdown path), or why not.
    WalkFinished(Result<String, String>),
    /// Saving the walkthrough failed.
    WalkError(String),
    /// What the configured Alertmanager answered (alerts, silences), or why it did not.
    Alertmanager {
        at_ms: i64,
        answer: Result<Box<AmAnswer>, String>,
    },
}

pub use crate::obs::alertmanager::AmAnswer;

/// Side effects requested by `update`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    /// Leave the event loop and restore the terminal.
    Quit,
    /// Leave without touching the terminal (it is gone).
    QuitNoRestore,
    /// Ask the collectors for every series of this target (None: stop).
    Browse(Option<usize>),
    /// Turn mouse capture on or off.
    SetMouse(bool),
    /// Ask the action layer for a plan.
    Plan(Request),
    /// Run a confirmed plan.
    /// Run a confirmed plan; the token is its cancel handle, kept in the model.
    Execute(
        Box<Prepared>,
        Confirmation,
        tokio_util::sync::CancellationToken,
    ),
    /// Cancel the running action of this target and kind.
    CancelAction { target: usize, kind: ActionKind },
    /// Read a target's backup generations.
    LoadBackups(usize),
    /// Read the audit file's last records.
    LoadAudit,
    /// The terminal is gone but actions run: stop drawing, let them finish headless.
    GoHeadless,
    /// Append a record (an alert acknowledged or silenced) to the audit file.
    Audit(Box<Record>),
    /// Ring the terminal bell.
    Bell,
    /// Open (or resume) today's checklist walkthrough; its probes answer for this opening.
    WalkOpen(u64),
    /// Judge this automatic item now, on the current panels and what was gathered for it.
    WalkJudge(String),
    /// Record (and save) the operator's verdict and note on an item.
    WalkRecord {
        key: String,
        verdict: Verdict,
        note: Option<String>,
    },
    /// Write the report and close the walkthrough.
    WalkFinish,
}

/// An observation of one target (or of the local disks).
fn observation(m: &mut Model, obs: Observation) -> Vec<Cmd> {
    let target = match &obs {
        Observation::Target { target, .. } => Some(*target),
        Observation::Postgres(msg) => Some(msg.target()),
        Observation::Disks { .. }
        | Observation::Series { .. }
        | Observation::Fleet(_)
        | Observation::FleetBackfill(_)
        | Observation::History(_)
        | Observation::Alertmanager { .. } => None,
    };
    let disks = matches!(&obs, Observation::Disks { .. });
    m.store.apply(obs);
    match target {
        Some(t) => m.rederive_target(t),
        None if disks => m.rederive_disks(),
        None => {}
    }
    let mut cmds = Vec::new();
    if let Some(t) = target {
        // The alert rows are only built for the bell when it is on: this runs at every
        // observation.
        let ringing = m.bell.then(|| m.ringing());
        m.evaluate_alerts(t);
        if ringing.is_some_and(|before| m.ringing() > before) {
            cmds.push(Cmd::Bell);
        }
    }
    // A frozen display shows one moment: its sparklines do not move either.
    if let Some(t) = target.filter(|_| !m.frozen) {
        m.record_sparks(t);
    }
    m.follow_worst();
    cmds
}

/// A fleet round: its instances (new ones become targets), their panels, alerts, sparklines.
fn fleet_round(m: &mut Model, obs: Observation) -> Vec<Cmd> {
    let Observation::Fleet(round) = &obs else {
        return Vec::new();
    };
    let fleet = round.fleet;
    m.store.apply(obs);
    m.adopt_new_targets();
    m.take_backfill();
    let mut targets: std::collections::HashSet<usize> = m
        .store
        .fleets
        .get(fleet)
        .map(|f| f.targets.values().copied().collect())
        .unwrap_or_default();
    let ringing = m.bell.then(|| m.ringing());
    // The round's instances in one pass: per-target rederives would redo the cross-target
    // checks once per instance.
    if m.frozen {
        // The display keeps its moment; the alerts run on the current values.
        for &t in &targets {
            m.evaluate_alerts(t);
        }
    } else {
        m.rederive_some(&targets);
        let gone: Vec<usize> = targets
            .iter()
            .copied()
            .filter(|&t| {
                m.shown
                    .targets
                    .get(t)
                    .is_some_and(|p| p.status == crate::derive::panels::TargetStatus::Gone)
            })
            .collect();
        for t in &gone {
            targets.remove(t);
        }
        // One pass over the rules for all of them.
        m.alerts.forget_where(&|t| gone.contains(&t));
        let now = m.now_ms;
        m.alerts
            .evaluate_where(&m.shown.targets, &|t| targets.contains(&t), now);
        for &t in &targets {
            m.record_sparks(t);
        }
    }
    if ringing.is_some_and(|before| m.ringing() > before) {
        vec![Cmd::Bell]
    } else {
        Vec::new()
    }
}

/// A target's past from its history store: at launch it is replayed through derive and the
/// rules (restoring `for:` state and sparklines), then folded into the store; after a gap it
/// only fills the gap's points.
fn history(m: &mut Model, obs: Observation) -> Vec<Cmd> {
    let Observation::History(b) = &obs else {
        return Vec::new();
    };
    let t = b.target;
    if t >= m.store.targets.len() {
        return Vec::new();
    }
    let ringing = m.bell.then(|| m.ringing());
    if b.at_launch && !b.steps.is_empty() {
        let preset = m.presets.get(t).cloned().flatten();
        let mut past_sparks: Vec<(crate::app::model::SparkKey, f64)> = Vec::new();
        crate::derive::replay::replay(
            &mut m.alerts,
            t,
            &m.store.targets[t],
            preset.as_ref(),
            &b.steps,
            m.window_ms,
            m.store.limits,
            |_, panels| past_sparks.extend(crate::app::model::spark_points(panels)),
        );
        m.prepend_sparks(past_sparks);
    }
    m.store.apply(obs);
    m.rederive_target(t);
    m.evaluate_alerts(t);
    m.follow_worst();
    if ringing.is_some_and(|before| m.ringing() > before) {
        vec![Cmd::Bell]
    } else {
        Vec::new()
    }
}

/// Applies one message. Returns the side effects to carry out.
pub fn update(m: &mut Model, msg: Msg) -> Vec<Cmd> {
    match msg {
        Msg::Key(k) if k.kind != KeyEventKind::Release => {
            m.touched = true;
            key(m, k)
        }
        Msg::Key(_) => Vec::new(),
        Msg::Mouse(e) => mouse(m, e),
        Msg::Resize(w, h) => {
            m.size = (w, h);
            Vec::new()
        }
        Msg::Observation(obs) if matches!(&*obs, Observation::Fleet(_)) => fleet_round(m, *obs),
        Msg::Observation(obs) if matches!(&*obs, Observation::FleetBackfill(_)) => {
            m.store.apply(*obs);
            m.take_backfill();
            m.rederive();
            Vec::new()
        }
        Msg::Observation(obs) if matches!(&*obs, Observation::History(_)) => history(m, *obs),
        Msg::Observation(obs) => observation(m, *obs),
        Msg::Series { target, rows } => {
            if let View::Browse(b) = &mut m.view {
                if b.target == target {
                    b.all = rows;
                    b.loaded = true;
                    refilter(b);
                }
            }
            Vec::new()
        }
        Msg::Tick(now) => {
            m.now_ms = now;
            if m.toast.as_ref().is_some_and(|t| t.until_ms <= now) {
                m.toast = None;
            }
            // Backup freshness is an alert: read the directories now and then.
            if now - m.acts.backups_scanned_ms >= super::acting::BACKUP_SCAN_MS {
                m.acts.backups_scanned_ms = now;
                let mut targets: Vec<usize> = m.acts.backups.keys().copied().collect();
                targets.sort_unstable();
                return targets.into_iter().map(Cmd::LoadBackups).collect();
            }
            Vec::new()
        }
        Msg::Hangup => act::hangup(m),
        Msg::Terminate => act::quit_after_cancel(m),
        Msg::Planned(req, r) => act::planned(m, &req, r),
        Msg::ActionProgress {
            target,
            kind,
            progress,
        } => act::progress(m, target, kind, progress),
        Msg::ActionDone {
            target,
            kind,
            outcome,
        } => {
            m.acts.cancels.remove(&(target, kind));
            act::done(m, target, kind, *outcome)
        }
        Msg::Backups { target, backups } => {
            m.acts.backups.insert(target, *backups);
            Vec::new()
        }
        Msg::WalkOpened(r) => walk::opened(m, r),
        Msg::WalkGathered {
            generation,
            key,
            gathered,
        } => {
            if generation != m.walk_generation {
                return Vec::new();
            }
            m.walk_gathered.insert(key.clone(), *gathered);
            vec![Cmd::WalkJudge(key)]
        }
        Msg::WalkJudged {
            key,
            outcome,
            spark,
        } => walk::judged(m, &key, *outcome, spark),
        Msg::WalkFinished(r) => walk::finished(m, r),
        Msg::Alertmanager { at_ms, answer } => {
            am_answer(m, at_ms, answer);
            Vec::new()
        }
        Msg::WalkError(e) => {
            toast(m, e, true);
            Vec::new()
        }
        Msg::Audit(Ok(records)) => {
            m.acts.audit = records;
            m.acts.audit_error = None;
            Vec::new()
        }
        Msg::Audit(Err(e)) => {
            m.acts.audit_error = Some(e);
            Vec::new()
        }
    }
}

/// The last good answer stays shown when a read fails; the failure is said beside it.
fn am_answer(m: &mut Model, at_ms: i64, answer: Result<Box<AmAnswer>, String>) {
    let Some(am) = m.am.as_mut() else {
        return;
    };
    match answer {
        Ok(a) => {
            let (alerts, silences) = *a;
            am.alerts = alerts;
            am.silences = silences;
            am.at_ms = Some(at_ms);
            am.error = None;
        }
        Err(e) => am.error = Some(e),
    }
}

pub(super) fn toast(m: &mut Model, text: impl Into<String>, error: bool) {
    m.toast = Some(Toast {
        text: text.into(),
        until_ms: m.now_ms + 4000,
        error,
    });
}

/// Offers a key to a text field as `type_key(character, backspace)`: Backspace deletes, a
/// character without Ctrl is typed. Whether the field took it.
fn typed(k: &KeyEvent, type_key: impl FnOnce(Option<char>, bool) -> bool) -> bool {
    let control = k.modifiers.contains(KeyModifiers::CONTROL);
    match k.code {
        KeyCode::Backspace => type_key(None, true),
        KeyCode::Char(c) if !control => type_key(Some(c), false),
        _ => false,
    }
}

fn key(m: &mut Model, k: KeyEvent) -> Vec<Cmd> {
    // Text entry first: the browse filter and the palette input take printable keys.
    if let View::Browse(b) = &mut m.view {
        if b.editing && m.popup.is_none() {
            match k.code {
                KeyCode::Enter => b.editing = false,
                KeyCode::Esc => {
                    b.editing = false;
                    b.filter.clear();
                    refilter(b);
                }
                KeyCode::Backspace => {
                    b.filter.pop();
                    refilter(b);
                }
                KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
                    b.filter.push(c);
                    refilter(b);
                }
                _ => {}
            }
            return Vec::new();
        }
    }
    if m.hung_up {
        return Vec::new();
    }
    if matches!(m.popup, Some(Popup::TopicPick(_) | Popup::Plan(_)))
        && typed(&k, |c, back| act::type_key(m, c, back))
    {
        return Vec::new();
    }
    if m.popup.is_none()
        && matches!(m.view, View::Checklist)
        && typed(&k, |c, back| walk::type_key(m, c, back))
    {
        return Vec::new();
    }
    if let Some(Popup::Alert(p)) = &mut m.popup {
        if typed(&k, |c, back| alert_ops::type_key(p, c, back)) {
            return Vec::new();
        }
    }
    if let Some(Popup::Palette(p)) = &mut m.popup {
        let typed = match k.code {
            KeyCode::Backspace => {
                p.input.pop();
                true
            }
            KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
                p.input.push(c);
                true
            }
            _ => false,
        };
        if typed {
            p.matches = rank(&p.input);
            p.selected = 0;
            return Vec::new();
        }
    }
    let mode = m.mode();
    // Ctrl-C always quits, whatever the keymap says: the operator's way out. In an action's
    // dialog it backs out of the dialog first, as that dialog's help says (an operator who
    // thinks better of a rollback should not lose the cockpit); a second Ctrl-C quits.
    if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
        if matches!(
            m.popup,
            Some(Popup::Plan(_) | Popup::TopicPick(_) | Popup::ConfirmCancel { .. })
        ) {
            m.popup = None;
            return Vec::new();
        }
        return command(m, Command::Quit);
    }
    match m.keymap.lookup(mode, &k) {
        Some(c) => command(m, c),
        None => Vec::new(),
    }
}

fn refilter(b: &mut Browse) {
    let f = b.filter.to_lowercase();
    b.rows = b
        .all
        .iter()
        .filter(|(k, _)| f.is_empty() || k.to_lowercase().contains(&f))
        .cloned()
        .collect();
    b.selected = b.selected.min(b.rows.len().saturating_sub(1));
}

/// Number of rows the focused list has, for moving the selection: exactly the rows the view
/// draws as selectable.
fn rows_in(m: &Model, panel: PanelId) -> usize {
    m.selectable_rows(panel)
}

fn page(m: &Model) -> usize {
    usize::from(m.size.1 / 2).max(1)
}

fn move_sel(m: &mut Model, delta: isize) {
    match &mut m.view {
        View::Browse(b) => {
            let n = b.rows.len();
            b.selected = step(b.selected, delta, n);
            return;
        }
        View::Actions { target } => {
            let n = m.acts.offered.get(*target).map_or(0, Vec::len);
            m.action_selected = step(m.action_selected, delta, n);
            return;
        }
        View::Audit { scroll } => {
            let n = m.acts.audit.len();
            *scroll = step((*scroll).min(n.saturating_sub(1)), delta, n);
            return;
        }
        View::Alertmanager { scroll } => {
            let n =
                m.am.as_ref()
                    .map_or(0, |a| a.alerts.len() + a.silences.len());
            *scroll = step(*scroll, delta, n);
            return;
        }
        _ => {}
    }
    let n = rows_in(m, m.focus);
    let i = m.focus.index();
    m.selected[i] = step(m.selected[i], delta, n);
}

fn step(cur: usize, delta: isize, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    cur.saturating_add_signed(delta).min(n - 1)
}

fn focus(m: &mut Model, p: PanelId) {
    m.focus = p;
    if matches!(
        m.view,
        View::Browse(_) | View::Actions { .. } | View::Audit { .. }
    ) {
        m.view = View::Main;
    }
}

/// Carries out one command.
#[allow(clippy::too_many_lines)] // one arm per command: a table, read as one
pub fn command(m: &mut Model, c: Command) -> Vec<Cmd> {
    let mut cmds = Vec::new();
    match c {
        Command::Quit => {
            if m.actions_running() > 0 && m.popup != Some(Popup::ConfirmQuit) {
                m.popup = Some(Popup::ConfirmQuit);
            } else {
                m.popup = None;
                cmds.extend(act::quit_after_cancel(m));
            }
        }
        Command::Confirm => {
            if m.popup == Some(Popup::ConfirmQuit) {
                m.popup = None;
                cmds.extend(act::quit_after_cancel(m));
            } else {
                cmds.extend(act::confirm(m));
            }
        }
        Command::Actions => cmds.extend(act::open_actions(m)),
        Command::Audit => cmds.extend(act::open_audit(m)),
        Command::Alertmanager => {
            if m.am.is_some() {
                m.view = View::Alertmanager { scroll: 0 };
            } else {
                toast(
                    m,
                    "no Alertmanager configured — add [alertmanager] url = \"http://host:9093\" to the config",
                    true,
                );
            }
        }
        Command::CancelAction if matches!(m.view, View::Alertmanager { .. }) => {
            cmds.extend(act::am_expire(m));
        }
        Command::SilenceAlert if matches!(m.view, View::Alertmanager { .. }) => {
            cmds.extend(act::am_silence(m));
        }
        Command::CancelAction => cmds.extend(act::cancel_action(m)),
        Command::Run | Command::Close
            if m.popup.is_none() && m.walk.as_ref().is_some_and(|w| w.note.is_some()) =>
        {
            cmds.extend(walk::end_note(m, c == Command::Run));
        }
        Command::Cancel | Command::Close => m.popup = None,
        Command::Help => {
            m.popup = match m.popup {
                Some(Popup::Help { .. }) => None,
                _ => Some(Popup::Help { scroll: 0 }),
            }
        }
        Command::Palette => {
            m.popup = Some(Popup::Palette(Palette {
                input: String::new(),
                matches: rank(""),
                selected: 0,
            }));
        }
        Command::Run if matches!(m.popup, Some(Popup::TopicPick(_) | Popup::Plan(_))) => {
            cmds.extend(act::submit(m));
        }
        Command::Run if matches!(m.popup, Some(Popup::Alert(_))) => {
            if let Some(Popup::Alert(p)) = m.popup.take() {
                cmds.extend(alert_ops::submit(m, p));
            }
        }
        Command::Checklist => cmds.extend(walk::open(m)),
        Command::Pass => cmds.extend(walk::verdict(m, Some(Verdict::Pass))),
        Command::Fail => cmds.extend(walk::verdict(m, Some(Verdict::Fail))),
        Command::Skip => cmds.extend(walk::verdict(m, Some(Verdict::Skip))),
        Command::Note => walk::start_note(m),
        Command::Finish => cmds.extend(walk::finish(m)),
        Command::AckAlert => cmds.extend(alert_ops::ack(m)),
        Command::SilenceAlert => cmds.extend(alert_ops::silence(m)),
        Command::Remedy => cmds.extend(alert_ops::remedy(m)),
        Command::Run => {
            if let Some(Popup::Palette(p)) = m.popup.take() {
                if let Some(found) = p.matches.get(p.selected) {
                    let chosen = found.command;
                    if chosen != Command::Run && chosen != Command::Palette {
                        cmds.extend(command(m, chosen));
                    }
                }
            }
        }
        Command::Filter => {
            if let View::Browse(b) = &mut m.view {
                b.editing = true;
            } else {
                cmds.extend(open_browse(m, true));
            }
        }
        Command::Freeze => {
            m.frozen = !m.frozen;
            if m.frozen {
                toast(m, "display frozen — collection goes on; f to resume", false);
            } else {
                m.rederive();
                toast(m, "display live again", false);
            }
        }
        Command::FocusNext | Command::Right => focus(m, m.focus.next()),
        Command::FocusPrev | Command::Left => focus(m, m.focus.prev()),
        Command::FocusOverview => focus(m, PanelId::Overview),
        Command::FocusBacklog => focus(m, PanelId::Backlog),
        Command::FocusSse => focus(m, PanelId::Sse),
        Command::FocusLatency => focus(m, PanelId::Latency),
        Command::FocusDisk => focus(m, PanelId::Disk),
        Command::FocusHealth => focus(m, PanelId::Health),
        Command::FocusSignals => focus(m, PanelId::Signals),
        Command::Up | Command::Down if m.popup.is_none() && matches!(m.view, View::Checklist) => {
            cmds.extend(walk::step(m, if c == Command::Up { -1 } else { 1 }));
        }
        Command::Up => scroll_or_move(m, -1),
        Command::Down => scroll_or_move(m, 1),
        Command::PageUp => scroll_or_move(m, -(page(m) as isize)),
        Command::PageDown => scroll_or_move(m, page(m) as isize),
        Command::Top => scroll_or_move(m, isize::MIN / 2),
        Command::Bottom => scroll_or_move(m, isize::MAX / 2),
        Command::Drill => {
            if let Some(Popup::Palette(_)) = m.popup {
                cmds.extend(command(m, Command::Run));
            } else if matches!(m.view, View::Actions { .. }) && m.popup.is_none() {
                cmds.extend(act::choose(m));
            } else if matches!(m.view, View::Checklist) && m.popup.is_none() {
                cmds.extend(walk::verdict(m, None));
            } else if let Some(a) = crate::app::alert_ops::selected_alert(m) {
                m.popup = Some(Popup::AlertHint(Box::new(a)));
            } else if m.focus == PanelId::Overview && matches!(m.view, View::Main) {
                if let Some(t) = m.selected_target() {
                    m.view = View::Detail { target: t };
                    m.focus = PanelId::Backlog;
                }
            }
        }
        Command::Back if m.acts.planning.is_some() && m.popup.is_none() => {
            m.acts.planning = None;
            toast(m, "the plan asked for was dropped", false);
        }
        Command::Back => {
            if m.popup.is_some() {
                m.popup = None;
            } else {
                match m.view {
                    View::Browse(_) => {
                        m.view = View::Main;
                        cmds.push(Cmd::Browse(None));
                    }
                    View::Detail { target } | View::Actions { target } => {
                        m.view = View::Main;
                        m.focus = PanelId::Overview;
                        m.select_target(target);
                    }
                    View::Audit { .. } | View::Checklist | View::Alertmanager { .. } => {
                        m.view = View::Main;
                    }
                    View::Main => {}
                }
            }
        }
        Command::Browse => cmds.extend(open_browse(m, false)),
        Command::ToggleMouse => {
            m.mouse = !m.mouse;
            cmds.push(Cmd::SetMouse(m.mouse));
            let state = if m.mouse {
                "on"
            } else {
                "off (terminal selection works)"
            };
            toast(m, format!("mouse {state}"), false);
        }
    }
    cmds
}

fn scroll_or_move(m: &mut Model, delta: isize) {
    match &mut m.popup {
        Some(Popup::Help { scroll }) => *scroll = step(*scroll, delta, 500),
        Some(Popup::Palette(p)) => p.selected = step(p.selected, delta, p.matches.len()),
        Some(Popup::TopicPick(p)) => p.selected = step(p.selected, delta, p.matches().len()),
        Some(Popup::Alert(alert_ops::AlertPopup::Silence { selected, .. })) => {
            *selected = step(*selected, delta, alert_ops::SILENCES.len());
        }
        Some(
            Popup::Alert(alert_ops::AlertPopup::Ack { .. })
            | Popup::ConfirmQuit
            | Popup::Plan(_)
            | Popup::ConfirmCancel { .. }
            // c, s and r act on the selected alert: it must not move under its hint.
            | Popup::AlertHint(_),
        ) => {}
        None => move_sel(m, delta),
    }
}

/// Opens the series browser on the selected (or drilled-into) target.
fn open_browse(m: &mut Model, editing: bool) -> Vec<Cmd> {
    let target = match m.view {
        View::Detail { target } => target,
        _ => m.selected_target().unwrap_or(usize::MAX),
    };
    if target >= m.shown.targets.len() {
        toast(m, "no target selected", true);
        return Vec::new();
    }
    if m.store
        .targets
        .get(target)
        .is_some_and(|t| t.remote.is_some())
    {
        toast(
            m,
            "a fleet instance is read through its store's PromQL, not scraped: there are no series to browse here",
            true,
        );
        return Vec::new();
    }
    m.view = View::Browse(Browse {
        target,
        editing,
        ..Browse::default()
    });
    vec![Cmd::Browse(Some(target))]
}

fn mouse(m: &mut Model, e: MouseEvent) -> Vec<Cmd> {
    if !m.mouse {
        return Vec::new();
    }
    match e.kind {
        MouseEventKind::ScrollDown => scroll_or_move(m, 3),
        MouseEventKind::ScrollUp => scroll_or_move(m, -3),
        MouseEventKind::Down(MouseButton::Left)
            if m.popup.is_none() && matches!(m.view, View::Main | View::Detail { .. }) =>
        {
            let at = ratatui::layout::Position::new(e.column, e.row);
            if let Some((p, _)) = crate::view::layout::panel_areas(&m.screen())
                .iter()
                .find(|(_, r)| r.contains(at))
            {
                m.focus = *p;
            }
        }
        _ => {}
    }
    Vec::new()
}

/// One key typed into a text field of at most `max` characters: a character, or Backspace.
pub(super) fn edit(field: &mut String, c: Option<char>, backspace: bool, max: usize) {
    if backspace {
        field.pop();
    } else if let Some(c) = c {
        if field.chars().count() < max {
            field.push(c);
        }
    }
}

/// True when the keymap mode takes free text (for the footer).
pub fn typing(m: &Model) -> bool {
    matches!(&m.view, View::Browse(b) if b.editing) || m.mode() == Mode::Palette
}
