//! Alert evaluation: one rule, one stream of values, a small state machine.
//!
//! The caller computes the value at each evaluation with the other derive
//! functions (a gauge, a [`rate`](super::rate()), an
//! [`increase`](super::increase()), a quantile…) and passes it in with
//! `now_ms`; [`Alert::eval`] moves the alert through
//! `Inactive → Pending → Firing → Inactive` and reports each step the
//! operator is told about as a [`Transition`]. Nothing here reads the clock.
//!
//! # Semantics, and where they differ from Prometheus
//!
//! - **`for`** as in Prometheus: the first evaluation with the condition
//!   true makes the alert pending *since that evaluation*; it fires at the
//!   first evaluation at or after `since + for_ms` at which the condition
//!   still holds. Time between evaluations is not inspected, so with a 3 s
//!   interval a 10 s `for` fires at 12 s. `for_ms == 0` fires at the first
//!   true evaluation, with no pending step in between (Prometheus goes
//!   through pending within the same evaluation; we report only `Firing`).
//! - **Pending resets** on any evaluation where the condition is false — no
//!   hysteresis while pending, as in Prometheus. Leaving pending is not a
//!   [`Transition`] (Prometheus sends nothing either); read [`Alert::state`].
//! - **Hysteresis** (not in Prometheus, which flaps on a value dancing on
//!   the line): a firing `Above(t)` alert keeps firing while the value is
//!   above `t - h` and may clear only at `value <= t - h`; `Below(t)` clears
//!   at `value >= t + h`. The trigger itself stays strict (`>` / `<`, like
//!   PromQL comparisons).
//! - **`keep_firing_for`** as in Prometheus: once a firing alert would clear,
//!   it stays firing until it has kept wanting to clear for `keep_firing_for_ms`
//!   (resolving at the first evaluation at or after that). Any evaluation on
//!   the firing side of the band restarts that wait.
//! - **Missing data** (`None`, or NaN): Prometheus drops the series, which
//!   resolves the alert. We do not by default: a scrape target that went
//!   stale must not make a page silently disappear. See [`Missing`].
//! - **Out-of-order evaluations** (`now_ms` earlier than the previous one)
//!   are ignored: the state machine only moves forward in time.

use thiserror::Error;

/// How urgent an alert is. Ordered, so alerts sort by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// What makes the alert's condition true.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Condition {
    /// True when `value > threshold`.
    Above(f64),
    /// True when `value < threshold`.
    Below(f64),
}

impl Condition {
    /// The threshold, for display.
    pub fn threshold(self) -> f64 {
        match self {
            Condition::Above(t) | Condition::Below(t) => t,
        }
    }

    /// Whether `value` makes the condition true (strict comparison).
    pub fn triggers(self, value: f64) -> bool {
        match self {
            Condition::Above(t) => value > t,
            Condition::Below(t) => value < t,
        }
    }

    /// Whether `value` is far enough back past the threshold for a firing
    /// alert to clear, given a hysteresis band `h` (non-positive or NaN
    /// means no band).
    pub fn clears(self, value: f64, h: f64) -> bool {
        let h = if h > 0.0 { h } else { 0.0 };
        match self {
            Condition::Above(t) => value <= t - h,
            Condition::Below(t) => value >= t + h,
        }
    }
}

/// What an evaluation without a value (no data, stale, NaN) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Missing {
    /// Nothing changes: a firing alert keeps firing, a pending one keeps its
    /// `since` (so if the condition holds again once data returns and the
    /// `for` time has passed, it fires then). The default, because a stale
    /// target must not silently resolve an alert.
    #[default]
    KeepState,
    /// Treat missing data as the condition being clearly false: pending
    /// resets, firing resolves (after `keep_firing_for`, like any clear).
    Resolve,
    /// Treat missing data as the condition being true: for "no data" alerts.
    Fire,
}

/// One alert rule over one value stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub severity: Severity,
    pub condition: Condition,
    /// How long the condition must hold before firing; 0 fires at once.
    pub for_ms: i64,
    /// Width of the band a firing alert must cross back over to clear.
    pub clear_hysteresis: f64,
    /// How long a firing alert stays firing after it would clear.
    pub keep_firing_for_ms: i64,
    pub on_missing: Missing,
}

/// Why a [`Rule`] cannot be used.
#[derive(Debug, Error, PartialEq)]
pub enum RuleError {
    #[error("alert rule has an empty name; give every rule a name")]
    EmptyName,
    #[error("alert rule {rule:?}: threshold {value} is not a finite number")]
    Threshold { rule: String, value: f64 },
    #[error("alert rule {rule:?}: {field} is {value}; it must be 0 or more")]
    Negative {
        rule: String,
        field: &'static str,
        value: f64,
    },
}

impl Rule {
    /// A rule that fires at once, with no hysteresis, no keep-firing and
    /// [`Missing::KeepState`]; set the other fields with struct update.
    pub fn new(name: impl Into<String>, severity: Severity, condition: Condition) -> Rule {
        Rule {
            name: name.into(),
            severity,
            condition,
            for_ms: 0,
            clear_hysteresis: 0.0,
            keep_firing_for_ms: 0,
            on_missing: Missing::default(),
        }
    }

    /// Checks the rule for values that would make it meaningless. [`Alert::eval`]
    /// does not need this (it treats negative durations and bands as 0); it
    /// is for config loading, which should refuse such rules loudly.
    pub fn validate(&self) -> Result<(), RuleError> {
        let negative = |field, value: f64| RuleError::Negative {
            rule: self.name.clone(),
            field,
            value,
        };
        if self.name.trim().is_empty() {
            return Err(RuleError::EmptyName);
        }
        let t = self.condition.threshold();
        if !t.is_finite() {
            return Err(RuleError::Threshold {
                rule: self.name.clone(),
                value: t,
            });
        }
        if self.for_ms < 0 {
            return Err(negative("for", self.for_ms as f64 / 1000.0));
        }
        if self.keep_firing_for_ms < 0 {
            return Err(negative(
                "keep_firing_for",
                self.keep_firing_for_ms as f64 / 1000.0,
            ));
        }
        let h = self.clear_hysteresis;
        if !h.is_finite() || h < 0.0 {
            return Err(negative("clear_hysteresis", self.clear_hysteresis));
        }
        Ok(())
    }
}

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum AlertState {
    #[default]
    Inactive,
    /// The condition has held since `since_ms`, not yet for `for_ms`.
    Pending { since_ms: i64 },
    /// Firing since `since_ms` (the evaluation that fired it). `value` is the
    /// latest value that held it firing — during `keep_firing_for` or a data
    /// gap it stays at the last bad value; `None` only when it fired on
    /// missing data ([`Missing::Fire`]) with no value seen since.
    Firing { since_ms: i64, value: Option<f64> },
}

/// A step the operator is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Pending,
    Firing,
    Resolved,
}

/// The live state of one rule.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Alert {
    pub state: AlertState,
    /// The value of the latest evaluation (`None` when it had no data).
    pub last_value: Option<f64>,
    pub last_eval_ms: Option<i64>,
    /// While firing: since when it has wanted to clear (for
    /// `keep_firing_for`); `None` while the value holds it firing.
    pub keep_firing_since_ms: Option<i64>,
}

/// What one evaluation's input says about the condition.
#[derive(Clone, Copy)]
enum Reading {
    /// The condition is true.
    Triggered,
    /// False, but within the hysteresis band: a firing alert holds.
    InBand,
    /// False and past the band: a firing alert may clear.
    Clear,
    /// No data, and the rule says to keep the state.
    Unknown,
}

impl Alert {
    /// A fresh, inactive alert.
    pub fn new() -> Alert {
        Alert::default()
    }

    /// Whether the alert is firing.
    pub fn is_firing(&self) -> bool {
        matches!(self.state, AlertState::Firing { .. })
    }

    /// Evaluates `rule` against `value` at `now_ms` and returns the
    /// transition it caused, if any (see the module docs for the rules).
    pub fn eval(&mut self, rule: &Rule, value: Option<f64>, now_ms: i64) -> Option<Transition> {
        if self.last_eval_ms.is_some_and(|last| now_ms < last) {
            return None;
        }
        let value = value.filter(|v| !v.is_nan());
        self.last_value = value;
        self.last_eval_ms = Some(now_ms);

        let reading = match (value, rule.on_missing) {
            (Some(v), _) if rule.condition.triggers(v) => Reading::Triggered,
            (Some(v), _) if rule.condition.clears(v, rule.clear_hysteresis) => Reading::Clear,
            (Some(_), _) => Reading::InBand,
            (None, Missing::KeepState) => Reading::Unknown,
            (None, Missing::Resolve) => Reading::Clear,
            (None, Missing::Fire) => Reading::Triggered,
        };
        let for_ms = rule.for_ms.max(0);

        match (self.state, reading) {
            (AlertState::Inactive, Reading::Triggered) => {
                if for_ms == 0 {
                    Some(self.fire(now_ms, value))
                } else {
                    self.state = AlertState::Pending { since_ms: now_ms };
                    Some(Transition::Pending)
                }
            }
            // Unknown (no data, keep state) changes nothing, whatever the state.
            (_, Reading::Unknown) | (AlertState::Inactive, _) => None,
            (AlertState::Pending { since_ms }, Reading::Triggered) => {
                // saturating: a huge `for` just never fires.
                (now_ms.saturating_sub(since_ms) >= for_ms).then(|| self.fire(now_ms, value))
            }
            (AlertState::Pending { .. }, _) => {
                self.state = AlertState::Inactive;
                None
            }
            (
                AlertState::Firing {
                    since_ms,
                    value: held,
                },
                Reading::Triggered | Reading::InBand,
            ) => {
                self.keep_firing_since_ms = None;
                self.state = AlertState::Firing {
                    since_ms,
                    value: value.or(held),
                };
                None
            }
            (AlertState::Firing { .. }, Reading::Clear) => {
                let clearing_since = *self.keep_firing_since_ms.get_or_insert(now_ms);
                if now_ms.saturating_sub(clearing_since) >= rule.keep_firing_for_ms.max(0) {
                    self.state = AlertState::Inactive;
                    self.keep_firing_since_ms = None;
                    Some(Transition::Resolved)
                } else {
                    None
                }
            }
        }
    }

    fn fire(&mut self, now_ms: i64, value: Option<f64>) -> Transition {
        self.state = AlertState::Firing {
            since_ms: now_ms,
            value,
        };
        self.keep_firing_since_ms = None;
        Transition::Firing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn above(t: f64) -> Rule {
        Rule::new("r", Severity::Warning, Condition::Above(t))
    }

    #[test]
    fn zero_for_fires_at_once_without_pending() {
        let mut a = Alert::new();
        assert_eq!(a.eval(&above(1.0), Some(2.0), 5), Some(Transition::Firing));
        assert_eq!(
            a.state,
            AlertState::Firing {
                since_ms: 5,
                value: Some(2.0)
            }
        );
    }

    #[test]
    fn threshold_is_strict() {
        let mut a = Alert::new();
        assert_eq!(a.eval(&above(1.0), Some(1.0), 0), None);
        let below = Rule::new("b", Severity::Info, Condition::Below(1.0));
        assert_eq!(a.eval(&below, Some(1.0), 1), None);
        assert_eq!(a.state, AlertState::Inactive);
    }

    #[test]
    fn below_uses_the_band_above_the_threshold() {
        let rule = Rule {
            clear_hysteresis: 2.0,
            ..Rule::new("free", Severity::Critical, Condition::Below(10.0))
        };
        let mut a = Alert::new();
        assert_eq!(a.eval(&rule, Some(9.0), 0), Some(Transition::Firing));
        assert_eq!(a.eval(&rule, Some(11.9), 1), None);
        assert!(a.is_firing());
        assert_eq!(a.eval(&rule, Some(12.0), 2), Some(Transition::Resolved));
    }

    #[test]
    fn firing_value_tracks_the_latest_bad_value() {
        let rule = Rule {
            clear_hysteresis: 5.0,
            keep_firing_for_ms: 10,
            ..above(100.0)
        };
        let mut a = Alert::new();
        a.eval(&rule, Some(120.0), 0);
        a.eval(&rule, Some(97.0), 1); // in band: still holds it firing
        a.eval(&rule, Some(50.0), 2); // clearing, kept firing
        a.eval(&rule, None, 3);
        assert_eq!(
            a.state,
            AlertState::Firing {
                since_ms: 0,
                value: Some(97.0)
            }
        );
        assert_eq!(a.last_value, None);
        assert_eq!(a.keep_firing_since_ms, Some(2));
    }

    #[test]
    fn out_of_order_evaluations_are_ignored() {
        let rule = Rule {
            for_ms: 10,
            ..above(0.0)
        };
        let mut a = Alert::new();
        assert_eq!(a.eval(&rule, Some(1.0), 100), Some(Transition::Pending));
        assert_eq!(a.eval(&rule, Some(-1.0), 50), None);
        assert_eq!(a.state, AlertState::Pending { since_ms: 100 });
        assert_eq!(a.last_eval_ms, Some(100));
    }

    #[test]
    fn negative_durations_act_as_zero() {
        let rule = Rule {
            for_ms: -5,
            keep_firing_for_ms: -5,
            clear_hysteresis: -3.0,
            ..above(0.0)
        };
        let mut a = Alert::new();
        assert_eq!(a.eval(&rule, Some(1.0), 0), Some(Transition::Firing));
        assert_eq!(a.eval(&rule, Some(0.0), 1), Some(Transition::Resolved));
        assert!(rule.validate().is_err());
    }

    #[test]
    fn validate_names_the_problem() {
        assert_eq!(above(1.0).validate(), Ok(()));
        assert_eq!(
            Rule::new(" ", Severity::Info, Condition::Above(1.0)).validate(),
            Err(RuleError::EmptyName)
        );
        assert!(matches!(
            above(f64::NAN).validate(),
            Err(RuleError::Threshold { .. })
        ));
        let bad_band = Rule {
            clear_hysteresis: f64::NAN,
            ..above(1.0)
        };
        assert!(matches!(
            bad_band.validate(),
            Err(RuleError::Negative {
                field: "clear_hysteresis",
                ..
            })
        ));
        let bad_for = Rule {
            for_ms: -1000,
            ..above(1.0)
        };
        assert_eq!(
            bad_for.validate().map_err(|e| e.to_string()),
            Err("alert rule \"r\": for is -1; it must be 0 or more".to_string())
        );
    }
}
