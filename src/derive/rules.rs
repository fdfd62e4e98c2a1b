//! Preset alert rules applied to a target's derived panel values: which number each rule
//! watches, and the book of alert states across evaluations, with the runbook hint of each.

use serde::Serialize;

use super::alerts::{Alert, AlertState, Condition, Missing, Rule, Severity};
use super::panels::TargetPanels;
use super::panels::TargetStatus;
use crate::config::{AlertSeverity, AlertSpec, AlertValue, Preset};

/// The number a rule watches on one target, if the target has it now.
pub fn alert_value(t: &TargetPanels, spec: &AlertSpec) -> Option<f64> {
    let panel = spec.panel.as_deref().unwrap_or_default();
    let max = |it: &mut dyn Iterator<Item = f64>| {
        it.filter(|v| v.is_finite())
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
    };
    match spec.value {
        AlertValue::Backlog => max(&mut t.backlog.iter().map(|b| b.value)),
        AlertValue::LatencyP95 => t
            .latency
            .iter()
            .find(|l| l.title == panel)
            .map(|l| l.p95)
            .filter(|v| v.is_finite()),
        AlertValue::CounterIncrease => {
            let incs: Vec<f64> = t
                .counters
                .iter()
                .filter(|c| c.title == panel)
                .filter_map(|c| c.increase)
                .collect();
            (!incs.is_empty()).then(|| incs.iter().sum())
        }
        AlertValue::Gauge => max(&mut t
            .queue
            .iter()
            .chain(&t.sse)
            .filter(|g| g.title == panel)
            .map(|g| g.value)),
        AlertValue::DiskUsedRatio => max(&mut t.disks.iter().map(|d| d.used_ratio)),
        AlertValue::ErrorRatio => t
            .errors
            .iter()
            .find(|e| e.title == panel)
            .and_then(|e| e.ratio),
        AlertValue::DbConnectionsRatio => {
            t.db.as_ref()
                .and_then(|d| d.connections.as_ref())
                .filter(|c| c.1 > 0)
                .map(|c| c.0 as f64 / c.1 as f64)
        }
        AlertValue::StaleSeconds => Some(match (t.age_ms, t.status) {
            (Some(age), _) => age as f64 / 1000.0,
            // Never answered and given up on: as stale as it gets.
            (None, TargetStatus::Down) => f64::INFINITY,
            (None, _) => return None,
        }),
        AlertValue::HealthFailing => {
            if t.health.is_empty() {
                return None;
            }
            let urls = t.health.iter().filter(|h| !h.healthy).count();
            let deps = t
                .health
                .iter()
                .flat_map(|h| &h.checks)
                .filter(|c| !c.healthy)
                .count();
            Some((urls + deps) as f64)
        }
        AlertValue::LockWaits => {
            t.db.as_ref()
                .filter(|d| d.error.is_none())
                .map(|d| d.lock_waits.len() as f64)
        }
    }
}

fn rule(spec: &AlertSpec) -> Rule {
    let condition = match (spec.above, spec.below) {
        (Some(a), _) => Condition::Above(a),
        (None, Some(b)) => Condition::Below(b),
        (None, None) => Condition::Above(f64::INFINITY),
    };
    Rule {
        name: spec.name.clone(),
        severity: match spec.severity {
            AlertSeverity::Info => Severity::Info,
            AlertSeverity::Warning => Severity::Warning,
            AlertSeverity::Critical => Severity::Critical,
        },
        condition,
        for_ms: spec.for_ms(),
        clear_hysteresis: spec.hysteresis,
        keep_firing_for_ms: 0,
        // A target that stops answering must not silently resolve its alerts.
        on_missing: Missing::KeepState,
    }
}

crate::text::word_enum! {
    /// Where an alert shown to the operator stands: its condition holds and has held for its
    /// `for:` (firing), or not yet (pending).
    pub enum AlertPhase {
        Firing => "firing",
        Pending => "pending",
    }
}

crate::text::word_enum! {
    /// How urgent an alert is, in the runbook's words.
    pub enum SeverityWord {
        Critical => "critical",
        Warning => "warning",
        Info => "info",
    }
}

/// An alert as the operator sees it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertRow {
    pub target: String,
    pub name: String,
    pub severity: SeverityWord,
    pub state: AlertPhase,
    pub since_ms: i64,
    pub value: Option<f64>,
    /// `> 0.2`, `< 10`.
    pub threshold: String,
    pub symptom: String,
    pub cause: String,
    pub action: String,
    /// The remediation action that fits (`backup`, `suspend`, `rollback`, `run:<name>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
    /// How long the condition must hold before the alert fires (ms).
    pub for_ms: i64,
    /// The state was restored from the history store, so `since_ms` is when the condition
    /// really began; otherwise it is when this process first saw it.
    pub from_history: bool,
    /// `watchdeck` (its own rules) or `alertmanager`.
    pub origin: &'static str,
    /// The value in the rule's unit, e.g. `100 %`, `662ms`, `12.5k`.
    pub value_text: String,
    /// What the rule watches (which panel shows it).
    #[serde(skip)]
    pub watches: Option<AlertValue>,
}

/// A threshold in its value's unit (a plain number for counts and seconds-stale).
fn threshold_text(kind: AlertValue, t: f64) -> String {
    match kind {
        AlertValue::DiskUsedRatio
        | AlertValue::DbConnectionsRatio
        | AlertValue::ErrorRatio
        | AlertValue::LatencyP95 => value_text(kind, Some(t)),
        _ => format!("{t}"),
    }
}

/// A rule's value as the operator reads it: ratios in percent, latencies in time units.
pub fn value_text(kind: AlertValue, value: Option<f64>) -> String {
    let Some(v) = value.filter(|v| !v.is_nan()) else {
        return "no data".to_owned();
    };
    match kind {
        AlertValue::DiskUsedRatio | AlertValue::DbConnectionsRatio | AlertValue::ErrorRatio => {
            let pct = v * 100.0;
            if pct >= 10.0 || pct == 0.0 {
                format!("{pct:.0} %")
            } else {
                format!("{pct:.1} %")
            }
        }
        AlertValue::LatencyP95 => crate::fmt::secs(v),
        AlertValue::StaleSeconds if v.is_infinite() => "never answered".to_owned(),
        AlertValue::StaleSeconds => format!("{v:.0}s stale"),
        _ => crate::fmt::num(v),
    }
}

struct Entry {
    target: usize,
    spec: AlertSpec,
    rule: Rule,
    alert: Alert,
    /// The state a replay of the target's past is building (see [`AlertBook::replay_step`]).
    replay: Option<Alert>,
    /// The alert's state was restored from the past (its since-time is the true one).
    from_history: bool,
}

impl Entry {
    fn new(target: usize, spec: &AlertSpec) -> Self {
        Entry {
            target,
            spec: spec.clone(),
            rule: rule(spec),
            alert: Alert::new(),
            replay: None,
            from_history: false,
        }
    }
}

/// Every preset rule of every target, with its state.
#[derive(Default)]
pub struct AlertBook {
    entries: Vec<Entry>,
}

impl std::fmt::Debug for AlertBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertBook")
            .field("rules", &self.entries.len())
            .finish()
    }
}

impl AlertBook {
    /// One entry per rule of each target's preset.
    pub fn new(presets: &[Option<Preset>]) -> Self {
        let entries = presets
            .iter()
            .enumerate()
            .flat_map(|(i, p)| {
                p.iter()
                    .flat_map(move |p| p.alerts.iter().map(move |spec| Entry::new(i, spec)))
            })
            .collect();
        Self { entries }
    }

    /// The presets' rules plus each target's own `[[target.alert]]` rules from the config.
    pub fn for_targets(
        presets: &[Option<Preset>],
        targets: &[crate::config::TargetConfig],
    ) -> Self {
        let mut book = Self::new(presets);
        for (i, t) in targets.iter().enumerate() {
            for spec in &t.alerts {
                book.entries.push(Entry::new(i, spec));
            }
        }
        book
    }

    /// Adds the preset rules of a target that appeared at run time (a fleet instance).
    pub fn add_target(&mut self, target: usize, preset: Option<&Preset>) {
        for spec in preset.iter().flat_map(|p| &p.alerts) {
            self.entries.push(Entry::new(target, spec));
        }
    }

    /// Evaluates the rules of every target `only` picks, one pass over the rules (a fleet
    /// round touches a thousand targets at once).
    pub fn evaluate_where(
        &mut self,
        panels: &[TargetPanels],
        only: &dyn Fn(usize) -> bool,
        now_ms: i64,
    ) {
        for e in self.entries.iter_mut().filter(|e| only(e.target)) {
            if let Some(p) = panels.get(e.target) {
                let value = alert_value(p, &e.spec);
                e.alert.eval(&e.rule, value, now_ms);
            }
        }
    }

    /// Clears the alerts of the targets that are gone (left its store's discovery): nothing will
    /// resolve them otherwise.
    pub fn forget_where(&mut self, gone: &dyn Fn(usize) -> bool) {
        for e in self.entries.iter_mut().filter(|e| gone(e.target)) {
            e.alert = Alert::new();
        }
    }

    /// Evaluates the rules of one target against its freshly derived panels.
    pub fn evaluate(&mut self, target: usize, panels: &TargetPanels, now_ms: i64) {
        for e in self.entries.iter_mut().filter(|e| e.target == target) {
            let value = alert_value(panels, &e.spec);
            e.alert.eval(&e.rule, value, now_ms);
        }
    }

    /// Evaluates the target's rules at a past time `at_ms` on panels derived from its past,
    /// into a replay state beside the live one (Prometheus restores `for:` state after a
    /// restart the same way: from the series it kept). Call in time order, then
    /// [`finish_replay`](Self::finish_replay).
    pub fn replay_step(&mut self, target: usize, panels: &TargetPanels, at_ms: i64) {
        for e in self.entries.iter_mut().filter(|e| e.target == target) {
            let value = alert_value(panels, &e.spec);
            let r = e.replay.get_or_insert_with(Alert::new);
            // A rule the past has no value for (a health check, a database) is not replayed.
            if value.is_some() || r.last_eval_ms.is_some() {
                r.eval(&e.rule, value, at_ms);
            }
        }
    }

    /// Adopts the replayed state of each rule the past had values for: a rule whose
    /// condition held long enough fires with its true since-time, one that cleared before
    /// launch is inactive. Rules without values in the past keep their live state.
    pub fn finish_replay(&mut self, target: usize) {
        for e in self.entries.iter_mut().filter(|e| e.target == target) {
            if let Some(r) = e.replay.take().filter(|r| r.last_eval_ms.is_some()) {
                e.alert = r;
                e.from_history = true;
            }
        }
    }

    /// Rules whose condition holds now but that are not firing yet (pending), and rules
    /// firing: for `check`, which never passes while a condition holds.
    pub fn holding(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| !matches!(e.alert.state, AlertState::Inactive))
            .count()
    }

    /// Pending alerts.
    pub fn pending(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e.alert.state, AlertState::Pending { .. }))
            .count()
    }

    /// Firing alerts.
    pub fn firing(&self) -> usize {
        self.entries.iter().filter(|e| e.alert.is_firing()).count()
    }

    /// Firing critical alerts (for the bell: it rings when this grows).
    pub fn firing_critical(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| e.alert.is_firing() && e.rule.severity == Severity::Critical)
            .count()
    }

    /// Firing alerts (most severe first), then pending ones.
    pub fn rows(&self, target_names: &[String]) -> Vec<AlertRow> {
        let mut rows: Vec<(u8, u8, AlertRow)> = self
            .entries
            .iter()
            .filter_map(|e| {
                let (state, since_ms, rank) = match e.alert.state {
                    AlertState::Firing { since_ms, .. } => (AlertPhase::Firing, since_ms, 0),
                    AlertState::Pending { since_ms } => (AlertPhase::Pending, since_ms, 1),
                    AlertState::Inactive => return None,
                };
                let severity = match e.rule.severity {
                    Severity::Critical => SeverityWord::Critical,
                    Severity::Warning => SeverityWord::Warning,
                    Severity::Info => SeverityWord::Info,
                };
                let sev_rank = match e.rule.severity {
                    Severity::Critical => 0,
                    Severity::Warning => 1,
                    Severity::Info => 2,
                };
                // In the value's own unit: `> 90 %`, `> 200ms`.
                let threshold = match e.rule.condition {
                    Condition::Above(t) => format!("> {}", threshold_text(e.spec.value, t)),
                    Condition::Below(t) => format!("< {}", threshold_text(e.spec.value, t)),
                };
                Some((
                    rank,
                    sev_rank,
                    AlertRow {
                        target: target_names.get(e.target).cloned().unwrap_or_default(),
                        name: e.spec.name.clone(),
                        severity,
                        state,
                        since_ms,
                        value: e.alert.last_value,
                        threshold,
                        symptom: e.spec.symptom.clone(),
                        cause: e.spec.cause.clone(),
                        action: e.spec.action.clone(),
                        remedy: e.spec.remedy.clone(),
                        for_ms: e.rule.for_ms,
                        from_history: e.from_history,
                        origin: "watchdeck",
                        value_text: value_text(e.spec.value, e.alert.last_value),
                        watches: Some(e.spec.value),
                    },
                ))
            })
            .collect();
        rows.sort_by_key(|(rank, sev, r)| (*rank, *sev, r.since_ms));
        rows.into_iter().map(|(_, _, r)| r).collect()
    }
}
