//! The cockpit's whole state. `update` changes it; the view only reads it.
//!
//! Collection never stops: observations always go into `store`. What the panels show is
//! `shown`, derived from the store when something arrives — unless the display is frozen, in
//! which case `shown` keeps the moment of freezing while the store moves on.

use std::collections::{HashMap, VecDeque};

use crate::app::palette::PaletteMatch;
use crate::config::{Config, Preset};
use crate::derive::panels::{local_disks, store_panels, DiskRow, TargetPanels};
use crate::keymap::{Keymap, Mode};
use crate::store::Store;
use crate::theme::Styles;
use crate::view::layout::Screen;
use crate::view::rows::Lists;
pub use crate::view::PanelId;

/// Points kept per sparkline.
pub const SPARK_POINTS: usize = 120;

/// What fills the body of the screen.
#[derive(Debug, Clone, PartialEq)]
pub enum View {
    /// All panels.
    Main,
    /// One target's panels and health in full (Enter on a target).
    Detail { target: usize },
    /// Every series of one target, with a filter.
    Browse(Browse),
    /// One target's actions, running action, backups and audit records.
    Actions { target: usize },
    /// The audit log, newest last.
    Audit { scroll: usize },
    /// The daily checklist walkthrough.
    Checklist,
    /// The configured Alertmanager's alerts and silences.
    Alertmanager { scroll: usize },
}

/// The series browser of one target.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Browse {
    pub target: usize,
    pub filter: String,
    /// True while the filter is being typed.
    pub editing: bool,
    /// Rows matching the filter: `name{labels}` and the value.
    pub rows: Vec<(String, f64)>,
    /// Every series as last received from the collector.
    pub all: Vec<(String, f64)>,
    pub selected: usize,
    /// False until the collector's first full listing arrives.
    pub loaded: bool,
}

/// A popup over the view.
#[derive(Debug, Clone, PartialEq)]
pub enum Popup {
    Help {
        scroll: usize,
    },
    Palette(Palette),
    ConfirmQuit,
    /// A plan waiting for its confirmation.
    Plan(crate::app::acting::PlanPopup),
    /// Choosing the topic to suspend or resume.
    TopicPick(crate::app::acting::TopicPick),
    /// "Cancel the backup on cn-relay?"
    ConfirmCancel {
        target: usize,
    },
    /// Acknowledging an alert with a note, or silencing it.
    Alert(crate::app::alert_ops::AlertPopup),
    /// An alert's whole runbook hint (symptom, cause, action) and its remedy keys.
    AlertHint(Box<crate::derive::rules::AlertRow>),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Palette {
    pub input: String,
    pub matches: Vec<PaletteMatch>,
    pub selected: usize,
}

/// A short message at the bottom, shown until `until_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    pub text: String,
    pub until_ms: i64,
    pub error: bool,
}

/// What the panels show: derived values at one moment.
#[derive(Debug, Clone, Default)]
pub struct Shown {
    pub at_ms: i64,
    pub targets: Vec<TargetPanels>,
    pub local_disks: Vec<DiskRow>,
    /// The overview's order of `targets` (see [`Model::overview_order`]).
    pub order: Vec<usize>,
}

/// Which series a sparkline follows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SparkKey {
    /// Backlog of (target, labels).
    Backlog(String, String),
    /// SSE clients of (target, labels).
    Sse(String, String),
    /// p95 of (target, latency panel title), in seconds.
    P95(String, String),
}

/// What the configured Alertmanager said last.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AmView {
    pub url: String,
    /// When it was last read successfully (unix ms).
    pub at_ms: Option<i64>,
    pub alerts: Vec<crate::obs::alertmanager::Alert>,
    pub silences: Vec<crate::obs::alertmanager::Silence>,
    /// Why the last read failed; the last good answer stays shown.
    pub error: Option<String>,
}

impl AmView {
    /// Alerts (firing first, oldest first) and the silences not yet expired, in the order the
    /// view lists them: the selection counts over alerts, then silences.
    pub fn rows(
        &self,
    ) -> (
        Vec<&crate::obs::alertmanager::Alert>,
        Vec<&crate::obs::alertmanager::Silence>,
    ) {
        use crate::obs::alertmanager::{AlertState, SilenceState};
        let mut alerts: Vec<_> = self.alerts.iter().collect();
        alerts.sort_by_key(|a| (a.state != AlertState::Active, a.starts_at_ms));
        let silences = self
            .silences
            .iter()
            .filter(|s| s.state != SilenceState::Expired)
            .collect();
        (alerts, silences)
    }
}

/// The sparkline points of one target's rows.
pub fn spark_points(t: &crate::derive::panels::TargetPanels) -> Vec<(SparkKey, f64)> {
    let mut points: Vec<(SparkKey, f64)> = Vec::new();
    for b in &t.backlog {
        points.push((SparkKey::Backlog(t.name.clone(), b.labels.clone()), b.value));
    }
    for g in &t.sse {
        points.push((SparkKey::Sse(t.name.clone(), g.labels.clone()), g.value));
    }
    for l in &t.latency {
        points.push((SparkKey::P95(t.name.clone(), l.title.clone()), l.p95));
    }
    points
}

/// The target index the Alertmanager's actions run under (they belong to no target).
pub const AM_TARGET: usize = usize::MAX;

#[allow(clippy::struct_excessive_bools)] // independent switches the operator flips
pub struct Model {
    pub environment: Option<String>,
    /// When this cockpit started (unix ms): an alert pending since then was first seen then.
    pub launch_ms: i64,
    /// How long after launch the first rounds may take (the largest interval, twice).
    pub launch_slack_ms: i64,
    /// The operator has pressed a key: the cockpit no longer moves the focus by itself.
    pub touched: bool,
    /// Each target's metrics `host:port`, as Prometheus labels it `instance`.
    pub instances: Vec<String>,
    /// The clock as of the last message.
    pub now_ms: i64,
    pub store: Store,
    pub presets: Vec<Option<Preset>>,
    pub shown: Shown,
    /// Preset alert rules and their states (evaluated on fresh values, even when frozen).
    pub alerts: crate::derive::rules::AlertBook,
    pub sparks: HashMap<SparkKey, VecDeque<f64>>,
    pub window_ms: i64,
    pub focus: PanelId,
    /// Selected row per panel.
    pub selected: [usize; 7],
    pub view: View,
    pub popup: Option<Popup>,
    pub frozen: bool,
    pub mouse: bool,
    pub read_only: bool,
    /// What each target offers, actions in flight, backups, the audit trail.
    pub acts: crate::app::acting::ActionState,
    /// Selected row of the Actions view.
    pub action_selected: usize,
    /// The terminal went away while actions ran: draw nothing, leave when they end.
    pub hung_up: bool,
    /// Acknowledged and silenced alerts.
    pub marks: crate::app::alert_ops::AlertMarks,
    /// Ring the terminal bell when a critical alert starts firing (`--bell`).
    pub bell: bool,
    /// The daily checklist walkthrough, once opened (`D`).
    pub walk: Option<crate::app::walk::WalkView>,
    /// What the walkthrough's probes gathered (TLS, disks, backups…), per item key, for the
    /// opening numbered `walk_generation`; answers of an older opening are dropped.
    pub walk_gathered: HashMap<String, crate::checklist::Gathered>,
    pub walk_generation: u64,
    /// `F` was pressed once with items still undecided: the next `F` writes the report.
    pub walk_finish_armed: bool,
    /// The configured Alertmanager, as last read (`None` without `[alertmanager]`).
    pub am: Option<AmView>,
    pub keymap: Keymap,
    pub styles: Styles,
    pub toast: Option<Toast>,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    pub quit: bool,
}

impl Model {
    pub fn new(config: &Config, keymap: Keymap, styles: Styles, now_ms: i64) -> Self {
        let store = Store::new(config);
        let presets: Vec<Option<Preset>> = config
            .targets
            .iter()
            .map(|t| t.preset.map(Preset::load))
            .collect();
        let alerts = crate::derive::rules::AlertBook::for_targets(&presets, &config.targets);
        let launch_slack_ms = config
            .targets
            .iter()
            .map(|t| t.interval.as_millis() as i64 * 2)
            .max()
            .unwrap_or(0)
            .max(5_000);
        let mut m = Self {
            environment: config.environment.clone(),
            launch_ms: now_ms,
            launch_slack_ms,
            touched: false,
            instances: config
                .targets
                .iter()
                .filter_map(|t| t.metrics.as_ref())
                .filter_map(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
                .collect(),
            now_ms,
            store,
            alerts,
            presets,
            shown: Shown::default(),
            sparks: HashMap::new(),
            window_ms: crate::derive::panels::DEFAULT_WINDOW_MS,
            focus: PanelId::Overview,
            selected: [0; 7],
            view: View::Main,
            popup: None,
            frozen: false,
            mouse: true,
            read_only: false,
            acts: crate::app::acting::ActionState::new(config),
            action_selected: 0,
            hung_up: false,
            marks: crate::app::alert_ops::AlertMarks::default(),
            bell: false,
            walk: None,
            walk_gathered: HashMap::new(),
            walk_generation: 0,
            walk_finish_armed: false,
            am: config.alertmanager.as_ref().map(|a| AmView {
                url: a.url.to_string(),
                ..AmView::default()
            }),
            keymap,
            styles,
            toast: None,
            size: (80, 24),
            quit: false,
        };
        m.rederive();
        m
    }

    /// Recomputes one target's panels (unless frozen): an observation changes only its own
    /// target, so the others are not derived again.
    pub fn rederive_target(&mut self, target: usize) {
        if self.frozen || self.shown.targets.len() != self.store.targets.len() {
            return self.rederive();
        }
        let Some(panels) = self.panels_now(target) else {
            return;
        };
        self.shown.targets[target] = panels;
        self.settle_shown();
    }

    /// One target's panels derived afresh from the store; `None` for an index with no target.
    fn panels_now(&self, target: usize) -> Option<TargetPanels> {
        let p = self
            .presets
            .get(target)
            .filter(|_| target < self.store.targets.len())?;
        Some(store_panels(
            &self.store,
            target,
            p.as_ref(),
            self.window_ms,
            self.now_ms,
        ))
    }

    /// After targets' panels changed: flag where the database and the metric disagree, order
    /// the overview again and stamp the time.
    fn settle_shown(&mut self) {
        crate::derive::db::flag_disagreements(&mut self.shown.targets);
        self.shown.order = self.order_of_shown();
        self.shown.at_ms = self.now_ms;
    }

    /// Takes in the targets a fleet added to the store since the last call: their presets,
    /// alert rules, (no) actions and panels. Targets are only appended, so indices hold.
    pub fn adopt_new_targets(&mut self) {
        let from = self.presets.len();
        for i in from..self.store.targets.len() {
            let preset = self.store.targets[i]
                .preset
                .as_deref()
                .and_then(|p| p.parse::<crate::config::PresetName>().ok())
                .map(Preset::load);
            self.alerts.add_target(i, preset.as_ref());
            self.acts.add_target();
            self.shown.targets.push(store_panels(
                &self.store,
                i,
                preset.as_ref(),
                self.window_ms,
                self.now_ms,
            ));
            self.presets.push(preset);
        }
        self.shown.order = self.order_of_shown();
    }

    /// Sparkline history a fleet's backfill read: it replaces a shorter line.
    pub fn take_backfill(&mut self) {
        use crate::obs::fleet::PanelKind;
        for (fleet, b) in std::mem::take(&mut self.store.pending_backfill) {
            let Some(f) = self.store.fleets.get(fleet) else {
                continue;
            };
            for ((key, kind, title, labels), points) in b.lines {
                let Some(t) = f.targets.get(&key).and_then(|&i| self.store.targets.get(i)) else {
                    continue;
                };
                let name = t.name.clone();
                let scale = if kind == PanelKind::Latency {
                    self.presets
                        .get(f.targets[&key])
                        .and_then(Option::as_ref)
                        .and_then(|p| p.latency.iter().find(|l| l.title == title))
                        .map_or(1.0, |l| l.scale)
                } else {
                    1.0
                };
                let k = match kind {
                    PanelKind::Backlog => SparkKey::Backlog(name, labels),
                    PanelKind::Sse => SparkKey::Sse(name, labels),
                    PanelKind::Latency => SparkKey::P95(name, title),
                    _ => continue,
                };
                let line: VecDeque<f64> = points
                    .iter()
                    .rev()
                    .take(SPARK_POINTS)
                    .rev()
                    .map(|p| p.1 * scale)
                    .collect();
                let cur = self.sparks.entry(k).or_default();
                if cur.len() < line.len() {
                    *cur = line;
                }
            }
        }
    }

    /// Recomputes the panels of some targets (unless frozen): a fleet round changes only its
    /// own instances.
    pub fn rederive_some(&mut self, targets: &std::collections::HashSet<usize>) {
        if self.frozen || self.shown.targets.len() != self.store.targets.len() {
            return self.rederive();
        }
        for &i in targets {
            if let Some(panels) = self.panels_now(i) {
                self.shown.targets[i] = panels;
            }
        }
        self.settle_shown();
    }

    /// Recomputes the local disk rows (unless frozen).
    pub fn rederive_disks(&mut self) {
        if !self.frozen {
            self.shown.local_disks = local_disks(&self.store.disks, self.window_ms, self.now_ms);
        }
    }

    /// Recomputes what the panels show from the store (unless frozen).
    pub fn rederive(&mut self) {
        if self.frozen {
            return;
        }
        let now = self.now_ms;
        let window = self.window_ms;
        self.shown = Shown {
            at_ms: now,
            targets: self
                .presets
                .iter()
                .enumerate()
                .map(|(i, p)| store_panels(&self.store, i, p.as_ref(), window, now))
                .collect(),
            local_disks: local_disks(&self.store.disks, window, now),
            order: Vec::new(),
        };
        self.settle_shown();
    }

    /// Evaluates the alert rules of one target on its current values.
    pub fn evaluate_alerts(&mut self, target: usize) {
        let fresh;
        let panels = if self.frozen {
            // The display is frozen, the alerts are not: derive the current values anyway.
            let Some(panels) = self.panels_now(target) else {
                return;
            };
            fresh = panels;
            &fresh
        } else {
            let Some(t) = self.shown.targets.get(target) else {
                return;
            };
            t
        };
        self.alerts.evaluate(target, panels, self.now_ms);
    }

    /// Puts points replayed from the past (oldest first) before each line's live points.
    pub fn prepend_sparks(&mut self, past: Vec<(SparkKey, f64)>) {
        let mut lines: HashMap<SparkKey, VecDeque<f64>> = HashMap::new();
        for (k, v) in past {
            lines.entry(k).or_default().push_back(v);
        }
        for (k, mut line) in lines {
            let live = self.sparks.remove(&k).unwrap_or_default();
            line.extend(live);
            while line.len() > SPARK_POINTS {
                line.pop_front();
            }
            self.sparks.insert(k, line);
        }
    }

    /// Appends the current values of one target's rows to their sparklines.
    pub fn record_sparks(&mut self, target: usize) {
        let Some(t) = self.shown.targets.get(target) else {
            return;
        };
        for (k, v) in spark_points(t) {
            let line = self.sparks.entry(k).or_default();
            if line.len() == SPARK_POINTS {
                line.pop_front();
            }
            line.push_back(v);
        }
    }

    /// The sparkline of a row (oldest first); empty when none yet.
    pub fn spark(&self, key: &SparkKey) -> Vec<f64> {
        self.sparks
            .get(key)
            .map(|d| d.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The keymap mode the model is in.
    pub fn mode(&self) -> Mode {
        match (&self.popup, &self.view) {
            (Some(Popup::Help { .. }), _) => Mode::Help,
            (Some(Popup::Palette(_)), _) => Mode::Palette,
            (Some(Popup::ConfirmQuit | Popup::ConfirmCancel { .. }), _) => Mode::Confirm,
            (Some(Popup::Plan(p)), _) if p.prepared.risk == crate::actions::Risk::Low => {
                Mode::Confirm
            }
            (Some(Popup::Plan(_) | Popup::TopicPick(_) | Popup::Alert(_)), _) => Mode::Input,
            (None, View::Browse(_)) => Mode::Browse,
            (None, View::Actions { .. } | View::Audit { .. } | View::Alertmanager { .. }) => {
                Mode::Actions
            }
            (None, View::Checklist) if self.walk.as_ref().is_some_and(|w| w.note.is_some()) => {
                Mode::Input
            }
            (None, View::Checklist) => Mode::Checklist,
            // The hint leaves every alert key working: c, s, r act on the alert it shows.
            (Some(Popup::AlertHint(_)) | None, _) => Mode::Normal,
        }
    }

    /// Alerts as the signals panel lists them: all targets, or the drilled-into one.
    pub fn visible_alerts(&self) -> Vec<crate::derive::rules::AlertRow> {
        let names: Vec<String> = self.shown.targets.iter().map(|t| t.name.clone()).collect();
        let only = match self.view {
            View::Detail { target } => names.get(target).cloned(),
            _ => None,
        };
        self.alerts
            .rows(&names)
            .into_iter()
            .filter(|a| only.as_ref().is_none_or(|o| *o == a.target))
            .collect()
    }

    /// Where the past came from, in a few words: the store and how many targets it answered
    /// for, that it is loading or failed, or that there is none.
    pub fn history_summary(&self) -> String {
        crate::derive::replay::summary(&self.store)
    }

    /// Whether an Alertmanager alert is about one of the watched targets: its `instance`
    /// label is a target's metrics host:port, or its `job`, `service` or `target` label
    /// names a target.
    pub fn am_alert_is_ours(&self, a: &crate::obs::alertmanager::Alert) -> bool {
        let names = self.store.targets.iter().map(|t| t.name.as_str());
        let by_name = ["job", "service", "target"]
            .iter()
            .filter_map(|l| a.labels.get(*l))
            .any(|v| names.clone().any(|n| n == v));
        by_name
            || a.labels
                .get("instance")
                .is_some_and(|i| self.instances.iter().any(|x| x == i))
    }

    /// The configured Alertmanager's active alerts about the watched targets.
    pub fn am_firing_ours(&self) -> usize {
        self.am.as_ref().map_or(0, |am| {
            am.alerts
                .iter()
                .filter(|a| a.state == crate::obs::alertmanager::AlertState::Active)
                .filter(|a| self.am_alert_is_ours(a))
                .count()
        })
    }

    /// Every alert of the shown targets, worst first.
    fn alert_rows(&self) -> Vec<crate::derive::rules::AlertRow> {
        let names: Vec<String> = self.shown.targets.iter().map(|t| t.name.clone()).collect();
        self.alerts.rows(&names)
    }

    /// Pending alerts that are not silenced.
    pub fn pending_count(&self) -> usize {
        self.alert_rows()
            .iter()
            .filter(|r| {
                r.state == crate::derive::rules::AlertPhase::Pending
                    && self.marks.silenced_until(r, self.now_ms).is_none()
            })
            .count()
    }

    /// The single worst alert: firing before pending, critical first, oldest first.
    pub fn worst_alert(&self) -> Option<crate::derive::rules::AlertRow> {
        self.alert_rows()
            .into_iter()
            .find(|r| self.marks.silenced_until(r, self.now_ms).is_none())
    }

    /// Until the operator presses a key, the focus follows the worst alert to its panel.
    pub fn follow_worst(&mut self) {
        use crate::config::AlertValue as V;
        if self.touched || !matches!(self.view, View::Main) || self.popup.is_some() {
            return;
        }
        let Some(a) = self.worst_alert() else {
            return;
        };
        self.focus = match a.watches {
            Some(V::Backlog) => PanelId::Backlog,
            Some(V::LatencyP95) => PanelId::Latency,
            Some(V::DiskUsedRatio) => PanelId::Disk,
            Some(V::HealthFailing) => PanelId::Health,
            Some(V::StaleSeconds) => PanelId::Overview,
            _ => PanelId::Signals,
        };
    }

    /// Firing alerts that are not silenced, how many of those are acknowledged, and how many
    /// firing alerts are silenced.
    pub fn firing_counts(&self) -> (usize, usize, usize) {
        let (mut firing, mut acked, mut silenced) = (0, 0, 0);
        for r in self
            .alert_rows()
            .iter()
            .filter(|r| r.state == crate::derive::rules::AlertPhase::Firing)
        {
            if self.marks.silenced_until(r, self.now_ms).is_some() {
                silenced += 1;
            } else {
                firing += 1;
                acked += usize::from(self.marks.acked(r).is_some());
            }
        }
        (firing, acked, silenced)
    }

    /// Firing critical alerts that are not silenced (the bell rings when this grows).
    pub fn ringing(&self) -> usize {
        self.alert_rows()
            .iter()
            .filter(|r| {
                r.state == crate::derive::rules::AlertPhase::Firing
                    && r.severity == crate::derive::rules::SeverityWord::Critical
            })
            .filter(|r| self.marks.silenced_until(r, self.now_ms).is_none())
            .count()
    }

    /// The index of the target named `name` (the Alertmanager's actions: [`AM_TARGET`]).
    pub fn target_index(&self, name: &str) -> Option<usize> {
        if name == crate::actions::exec::ALERTMANAGER && self.am.is_some() {
            return Some(AM_TARGET);
        }
        self.shown.targets.iter().position(|t| t.name == name)
    }

    /// Actions in flight.
    pub fn actions_running(&self) -> usize {
        self.acts.running.len()
    }

    /// Why actions on `target` are refused, if they are.
    pub fn read_only_reason(&self, target: usize) -> Option<String> {
        if self.read_only {
            return Some("watchdeck runs read-only (--read-only or [actions] read_only)".into());
        }
        self.acts.read_only.get(target).cloned().flatten()
    }

    pub fn targets_up(&self) -> (usize, usize) {
        let shown = self
            .shown
            .targets
            .iter()
            .filter(|t| t.status != crate::derive::panels::TargetStatus::Gone);
        let (mut up, mut all) = (0, 0);
        for t in shown {
            all += 1;
            up += usize::from(t.status == crate::derive::panels::TargetStatus::Up);
        }
        (up, all)
    }

    /// The targets in the overview's order: configured targets as configured, then each
    /// fleet's instances by fleet, job and name; instances gone from their store are left out.
    /// The overview's selection counts rows of this order.
    /// The targets the panels list: the overview's order, or the one of the detail view.
    pub fn listed_targets(&self) -> Vec<&TargetPanels> {
        match self.view {
            View::Detail { target } => self.shown.targets.get(target).into_iter().collect(),
            _ => self
                .overview_order()
                .iter()
                .filter_map(|&i| self.shown.targets.get(i))
                .collect(),
        }
    }

    /// What the layout depends on (see [`crate::view::layout`]).
    pub fn screen(&self) -> Screen {
        let ordered: Vec<&TargetPanels> = self
            .overview_order()
            .iter()
            .filter_map(|&i| self.shown.targets.get(i))
            .collect();
        Screen {
            size: self.size,
            panels: !matches!(self.view, View::Browse(_)),
            detail: matches!(self.view, View::Detail { .. }),
            focus: self.focus,
            alerts: self.visible_alerts().len(),
            overview_rows: crate::view::rows::overview_rows(&ordered),
        }
    }

    /// Selectable rows of `panel` as the view draws them (see [`crate::view::rows`]).
    pub fn selectable_rows(&self, panel: PanelId) -> usize {
        let targets = self.listed_targets();
        crate::view::rows::selectable(
            panel,
            &Lists {
                targets: &targets,
                local_disks: &self.shown.local_disks,
                detail: matches!(self.view, View::Detail { .. }),
                alerts: self.visible_alerts().len(),
            },
        )
    }

    pub fn overview_order(&self) -> &[usize] {
        &self.shown.order
    }

    fn order_of_shown(&self) -> Vec<usize> {
        let fleet_rank = |f: &str| self.store.fleets.iter().position(|x| x.name == f);
        let mut fleet: Vec<(usize, &str, &str, usize)> = Vec::new();
        let mut out = Vec::new();
        for (i, t) in self.shown.targets.iter().enumerate() {
            match (&t.fleet, &t.job) {
                _ if t.status == crate::derive::panels::TargetStatus::Gone => {}
                (Some(f), Some(j)) => {
                    fleet.push((fleet_rank(f).unwrap_or(usize::MAX), j, &t.name, i));
                }
                _ => out.push(i),
            }
        }
        fleet.sort_unstable();
        out.extend(fleet.into_iter().map(|(.., i)| i));
        out
    }

    /// The target of the selected overview row.
    pub fn selected_target(&self) -> Option<usize> {
        self.overview_order()
            .get(self.selected[PanelId::Overview.index()])
            .copied()
    }

    /// Selects `target`'s row in the overview.
    pub fn select_target(&mut self, target: usize) {
        if let Some(row) = self.overview_order().iter().position(|&t| t == target) {
            self.selected[PanelId::Overview.index()] = row;
        }
    }
}
