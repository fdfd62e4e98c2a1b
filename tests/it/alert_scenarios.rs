//! Scripted scenarios for `watchdeck::derive::alerts`: a value sequence at
//! 1 s steps (t = 0 s, 1 s, 2 s, …) goes through one rule, and the exact
//! times of every transition are asserted. The expected times are worked
//! out by hand in the comments, following Prometheus' alerting rules
//! (`rules/alerting.go` `Eval`) where we follow it, and the module docs where
//! we differ (hysteresis, missing data).

use watchdeck::derive::alerts::{
    Alert, AlertState, Condition, Missing, Rule, Severity, Transition,
};
use watchdeck::derive::panels::TargetStatus;
use watchdeck::derive::rules::AlertPhase;
use watchdeck::derive::{increase, Point};

const S: i64 = 1_000;

/// Evaluates `values[i]` at `i * step_ms`; returns every transition with its
/// time in ms, and the alert as it is after the last evaluation.
fn run_every(rule: &Rule, values: &[Option<f64>], step_ms: i64) -> (Vec<(i64, Transition)>, Alert) {
    let mut alert = Alert::new();
    let mut seen = Vec::new();
    for (i, &v) in values.iter().enumerate() {
        let now = i as i64 * step_ms;
        if let Some(t) = alert.eval(rule, v, now) {
            seen.push((now, t));
        }
    }
    (seen, alert)
}

fn run(rule: &Rule, values: &[Option<f64>]) -> (Vec<(i64, Transition)>, Alert) {
    run_every(rule, values, S)
}

/// `n` copies of `v`.
fn hold(v: f64, n: usize) -> Vec<Option<f64>> {
    vec![Some(v); n]
}

fn gap(n: usize) -> Vec<Option<f64>> {
    vec![None; n]
}

fn above(t: f64) -> Rule {
    Rule::new("queue_high", Severity::Warning, Condition::Above(t))
}

// ---------------------------------------------------------------------------
// for:
// ---------------------------------------------------------------------------

#[test]
fn for_10s_fires_at_10s_not_before() {
    let rule = Rule {
        for_ms: 10 * S,
        ..above(1000.0)
    };
    // Over the line from t=0: pending since 0, fires at the first evaluation
    // with t - 0 >= 10 s, i.e. t = 10 s.
    let (seen, alert) = run(&rule, &hold(1500.0, 15));
    assert_eq!(
        seen,
        vec![(0, Transition::Pending), (10 * S, Transition::Firing)]
    );
    assert_eq!(
        alert.state,
        AlertState::Firing {
            since_ms: 10 * S,
            value: Some(1500.0)
        }
    );

    // Stopping at t = 9 s: still pending.
    let (_, alert) = run(&rule, &hold(1500.0, 10));
    assert_eq!(alert.state, AlertState::Pending { since_ms: 0 });
}

#[test]
fn for_fires_at_first_evaluation_at_or_after_the_hold() {
    let rule = Rule {
        for_ms: 10 * S,
        ..above(1000.0)
    };
    // Evaluated every 3 s: 0, 3, 6, 9, 12. 9 s < 10 s, so it fires at 12 s
    // (Prometheus does the same: it only looks at evaluation times).
    let (seen, _) = run_every(&rule, &hold(1500.0, 6), 3 * S);
    assert_eq!(
        seen,
        vec![(0, Transition::Pending), (12 * S, Transition::Firing)]
    );
}

#[test]
fn a_dip_during_pending_resets_it() {
    let rule = Rule {
        for_ms: 10 * S,
        clear_hysteresis: 50.0, // only for firing alerts, not for pending ones
        ..above(1000.0)
    };
    // Above at 0..=8 s, exactly on the line (not above) at 9 s, above again
    // from 10 s: pending restarts at 10 s and fires at 20 s.
    let mut values = hold(1500.0, 9);
    values.push(Some(1000.0));
    values.extend(hold(1500.0, 12));
    let (seen, alert) = run(&rule, &values);
    assert_eq!(
        seen,
        vec![
            (0, Transition::Pending),
            (10 * S, Transition::Pending),
            (20 * S, Transition::Firing),
        ]
    );
    assert!(alert.is_firing());

    // Right after the dip the alert is inactive, not pending.
    let (_, alert) = run(&rule, &values[..10]);
    assert_eq!(alert.state, AlertState::Inactive);
}

// ---------------------------------------------------------------------------
// hysteresis
// ---------------------------------------------------------------------------

/// 101, 99, 101, 99, … for `n` steps.
fn dancing(n: usize) -> Vec<Option<f64>> {
    (0..n)
        .map(|i| Some(if i % 2 == 0 { 101.0 } else { 99.0 }))
        .collect()
}

#[test]
fn dancing_on_the_line_fires_once_with_hysteresis() {
    let rule = Rule {
        for_ms: 0,
        clear_hysteresis: 5.0,
        ..above(100.0)
    };
    // ±1 around 100 for 60 s, then 96 (still inside the band: > 95), then 95
    // (= 100 - 5, clears) at t = 61 s.
    let mut values = dancing(60);
    values.push(Some(96.0));
    values.push(Some(95.0));
    let (seen, _) = run(&rule, &values);
    assert_eq!(
        seen,
        vec![(0, Transition::Firing), (61 * S, Transition::Resolved)]
    );
}

#[test]
fn without_hysteresis_the_same_input_flaps() {
    // Control for the test above: with no band every 99 resolves and every
    // 101 fires again, so the band is what stops the flapping.
    let (seen, _) = run(&above(100.0), &dancing(6));
    assert_eq!(
        seen,
        vec![
            (0, Transition::Firing),
            (S, Transition::Resolved),
            (2 * S, Transition::Firing),
            (3 * S, Transition::Resolved),
            (4 * S, Transition::Firing),
            (5 * S, Transition::Resolved),
        ]
    );
}

#[test]
fn dancing_with_for_and_hysteresis_pends_then_fires_once() {
    let rule = Rule {
        for_ms: 4 * S,
        clear_hysteresis: 5.0,
        ..above(100.0)
    };
    // Pending has no hysteresis: 101 at 0 s pends, 99 at 1 s resets. To get
    // through `for` the value has to hold: 101 from 10 s pends, fires at 14 s,
    // and the dance that follows never clears it.
    let mut values = dancing(10);
    values.extend(hold(101.0, 5));
    values.extend(dancing(40));
    let (seen, alert) = run(&rule, &values);
    let mut expected: Vec<_> = (0..10)
        .step_by(2)
        .map(|t| (t * S, Transition::Pending))
        .collect();
    expected.push((10 * S, Transition::Pending));
    expected.push((14 * S, Transition::Firing));
    assert_eq!(seen, expected);
    assert!(alert.is_firing());
}

// ---------------------------------------------------------------------------
// counter resets: derive::increase feeding a rule
// ---------------------------------------------------------------------------

#[test]
fn ring_miss_increase_fires_through_a_counter_reset() {
    // sse_ring_miss_total, scraped every second. 7 since before t=0; the
    // process restarts between 19 s and 20 s and has already missed 3 ring
    // slots at the 20 s scrape, then no more.
    let counter: Vec<Point> = (0..40)
        .map(|i| (i * S, if i < 20 { 7.0 } else { 3.0 }))
        .collect();
    // Overlay 001 §10: any increase over the window alerts.
    let rule = Rule::new("sse_ring_miss", Severity::Critical, Condition::Above(0.0));
    let window = 10 * S;
    let values: Vec<Option<f64>> = (0..40).map(|i| increase(&counter, window, i * S)).collect();
    // t = 0: one point in the window, no increase (None, state kept).
    // t = 20: window (10 s, 20 s] = 7 … 7, 3. last - first = -4, plus the
    //         pre-reset 7 = 3 > 0: fires. (A naive last - first is -4 and
    //         would never fire.)
    // t = 28: (18 s, 28 s] still holds the 7 at 19 s and the drop: 3.
    // t = 29: (19 s, 29 s] is left-open, so the 19 s sample is out and the
    //         window is all 3s: increase 0, resolves.
    assert_eq!(values[0], None);
    assert_eq!(values[20], Some(3.0));
    assert_eq!(values[28], Some(3.0));
    assert_eq!(values[29], Some(0.0));
    let (seen, _) = run(&rule, &values);
    assert_eq!(
        seen,
        vec![(20 * S, Transition::Firing), (29 * S, Transition::Resolved)]
    );
}

// ---------------------------------------------------------------------------
// staleness
// ---------------------------------------------------------------------------

/// Firing from 0 s on 150, no data from 5 s to 30 s, 50 at 31 s.
fn goes_stale() -> Vec<Option<f64>> {
    let mut values = hold(150.0, 5);
    values.extend(gap(26));
    values.push(Some(50.0));
    values
}

#[test]
fn stale_data_keeps_a_firing_alert_by_default() {
    let rule = above(100.0);
    assert_eq!(rule.on_missing, Missing::KeepState);
    let (seen, _) = run(&rule, &goes_stale());
    assert_eq!(
        seen,
        vec![(0, Transition::Firing), (31 * S, Transition::Resolved)]
    );
    // Mid-gap: still firing, with the last bad value.
    let (_, alert) = run(&rule, &goes_stale()[..20]);
    assert_eq!(
        alert.state,
        AlertState::Firing {
            since_ms: 0,
            value: Some(150.0)
        }
    );
    assert_eq!(alert.last_value, None);
}

#[test]
fn nan_counts_as_missing() {
    let rule = above(100.0);
    let mut values = hold(150.0, 5);
    values.extend(hold(f64::NAN, 5));
    let (seen, alert) = run(&rule, &values);
    assert_eq!(seen, vec![(0, Transition::Firing)]);
    assert!(alert.is_firing());
    assert_eq!(alert.last_value, None);
}

#[test]
fn stale_data_resolves_with_missing_resolve() {
    let rule = Rule {
        on_missing: Missing::Resolve,
        ..above(100.0)
    };
    let (seen, _) = run(&rule, &goes_stale());
    assert_eq!(
        seen,
        vec![(0, Transition::Firing), (5 * S, Transition::Resolved)]
    );
}

#[test]
fn missing_resolve_still_waits_for_keep_firing_for() {
    let rule = Rule {
        on_missing: Missing::Resolve,
        keep_firing_for_ms: 3 * S,
        ..above(100.0)
    };
    let (seen, _) = run(&rule, &goes_stale());
    assert_eq!(
        seen,
        vec![(0, Transition::Firing), (8 * S, Transition::Resolved)]
    );
}

#[test]
fn missing_fire_pends_and_fires_on_no_data() {
    let rule = Rule {
        on_missing: Missing::Fire,
        for_ms: 10 * S,
        ..above(100.0)
    };
    // Data below the line until 2 s, then nothing: pending at 3 s, firing at
    // 13 s with no value; data back at 20 s, below the line: resolves.
    let mut values = hold(50.0, 3);
    values.extend(gap(17));
    values.push(Some(50.0));
    let (seen, _) = run(&rule, &values);
    assert_eq!(
        seen,
        vec![
            (3 * S, Transition::Pending),
            (13 * S, Transition::Firing),
            (20 * S, Transition::Resolved),
        ]
    );
    let (_, alert) = run(&rule, &values[..15]);
    assert_eq!(
        alert.state,
        AlertState::Firing {
            since_ms: 13 * S,
            value: None
        }
    );
}

#[test]
fn a_gap_during_pending_keeps_the_pending_clock() {
    let rule = Rule {
        for_ms: 10 * S,
        ..above(100.0)
    };
    // Above at 0..=2 s, no data 3..=12 s, above at 13 s: pending since 0 s
    // was kept through the gap, 13 s >= 10 s, fires at 13 s. (Prometheus
    // drops the series during the gap and would restart pending at 13 s.)
    let mut values = hold(150.0, 3);
    values.extend(gap(10));
    values.push(Some(150.0));
    let (seen, _) = run(&rule, &values);
    assert_eq!(
        seen,
        vec![(0, Transition::Pending), (13 * S, Transition::Firing)]
    );
}

// ---------------------------------------------------------------------------
// keep_firing_for
// ---------------------------------------------------------------------------

#[test]
fn keep_firing_for_delays_resolution() {
    let rule = Rule {
        keep_firing_for_ms: 5 * S,
        ..above(100.0)
    };
    // Above 0..=9 s, below from 10 s: wants to clear since 10 s, resolves at
    // the first evaluation with t - 10 s >= 5 s, i.e. 15 s.
    let mut values = hold(150.0, 10);
    values.extend(hold(50.0, 10));
    let (seen, _) = run(&rule, &values);
    assert_eq!(
        seen,
        vec![(0, Transition::Firing), (15 * S, Transition::Resolved)]
    );
    let (_, alert) = run(&rule, &values[..15]);
    assert!(alert.is_firing());
    assert_eq!(alert.keep_firing_since_ms, Some(10 * S));
}

#[test]
fn a_bad_value_during_keep_firing_restarts_the_wait() {
    let rule = Rule {
        keep_firing_for_ms: 5 * S,
        clear_hysteresis: 10.0,
        ..above(100.0)
    };
    // Above 0..=9 s; clear (50) 10..=12 s; 95 at 13 s is below the line but
    // inside the band (> 90), so it holds the alert and restarts the wait;
    // clear again from 14 s: resolves at 19 s.
    let mut values = hold(150.0, 10);
    values.extend(hold(50.0, 3));
    values.push(Some(95.0));
    values.extend(hold(50.0, 10));
    let (seen, _) = run(&rule, &values);
    assert_eq!(
        seen,
        vec![(0, Transition::Firing), (19 * S, Transition::Resolved)]
    );
}

#[test]
fn every_preset_carries_the_runbook_alerts_with_hints() {
    use watchdeck::config::{Preset, PresetName};
    let names = |p: PresetName| -> Vec<String> {
        Preset::load(p)
            .alerts
            .iter()
            .map(|a| a.name.clone())
            .collect()
    };
    assert!(names(PresetName::CommunityNode).contains(&"OutboxBacklogHigh".to_owned()));
    assert!(names(PresetName::CommunityNode).contains(&"DbLockWaits".to_owned()));
    assert!(names(PresetName::Overlay).contains(&"WebhookAckSlow".to_owned()));
    assert!(names(PresetName::Overlay).contains(&"SseRingMiss".to_owned()));
    assert!(names(PresetName::Mail).contains(&"QueueBacklog".to_owned()));
    assert!(names(PresetName::RestApi).contains(&"ApiErrorRateCritical".to_owned()));
    let mail = Preset::load(PresetName::Mail);
    let queue = mail
        .alerts
        .iter()
        .find(|a| a.name == "QueueBacklog")
        .expect("queue alert");
    assert_eq!(
        (queue.above, queue.for_ms()),
        (Some(1000.0), 600_000),
        "runbook 003: > 1000 for 10m"
    );
    for p in PresetName::ALL {
        for a in Preset::load(p).alerts {
            assert!(
                !a.symptom.is_empty() && !a.cause.is_empty() && !a.action.is_empty(),
                "{}",
                a.name
            );
        }
    }
}

#[test]
fn a_bad_preset_alert_is_refused_with_its_name() {
    use watchdeck::config::Preset;
    let base = "name = \"overlay\"\ndescription = \"x\"\n[[latency]]\ntitle = \"Webhook ACK\"\nhistogram = \"webhook_ack_latency_seconds\"\n";
    let both = format!("{base}[[alert]]\nname = \"X\"\nseverity = \"warning\"\nvalue = \"latency-p95\"\npanel = \"Webhook ACK\"\nabove = 1\nbelow = 0\nsymptom = \"s\"\ncause = \"c\"\naction = \"a\"\n");
    let e = Preset::from_toml(&both)
        .expect_err("above and below")
        .to_string();
    assert!(
        e.contains('X') && e.contains("exactly one of `above` and `below`"),
        "{e}"
    );
    let no_panel = format!("{base}[[alert]]\nname = \"Y\"\nseverity = \"warning\"\nvalue = \"latency-p95\"\nabove = 1\nsymptom = \"s\"\ncause = \"c\"\naction = \"a\"\n");
    let e = Preset::from_toml(&no_panel)
        .expect_err("no panel")
        .to_string();
    assert!(e.contains("needs `panel`"), "{e}");
    let wrong_panel = format!("{base}[[alert]]\nname = \"Z\"\nseverity = \"warning\"\nvalue = \"latency-p95\"\npanel = \"Nope\"\nabove = 1\nsymptom = \"s\"\ncause = \"c\"\naction = \"a\"\n");
    let e = Preset::from_toml(&wrong_panel)
        .expect_err("unknown panel")
        .to_string();
    assert!(e.contains("no panel is titled \"Nope\""), "{e}");
}

// ---------------------------------------------------------------------------
// The operator's own rules: [[target.alert]] with staleness and health kinds
// ---------------------------------------------------------------------------

const USER_RULES: &str = r#"
[[target]]
name = "svc"
health = ["http://127.0.0.1:9/healthz"]

[[target.alert]]
name = "SvcStale"
severity = "critical"
value = "stale-seconds"
above = 30
for = "10s"
symptom = "svc stopped answering"
cause = "the process is down or the network is cut"
action = "check the unit with systemctl status svc"
remedy = "rollback"

[[target.alert]]
name = "SvcHealthFailing"
severity = "warning"
value = "health-failing"
above = 0
symptom = "a health check fails"
cause = "a dependency is down"
action = "read the failing check in the health panel"
"#;

#[test]
fn user_rules_fire_on_staleness_and_failing_health_checks() {
    use watchdeck::config::Config;
    use watchdeck::derive::panels::{HealthRow, TargetPanels};
    use watchdeck::derive::rules::AlertBook;

    let config = Config::parse(USER_RULES, None, &|_| None).expect("config");
    assert_eq!(config.targets[0].alerts.len(), 2);
    let mut book = AlertBook::for_targets(&[None], &config.targets);
    let names = vec!["svc".to_owned()];
    let state = |book: &AlertBook, n: &str| {
        book.rows(&names)
            .into_iter()
            .find(|r| r.name == n)
            .map(|r| r.state)
    };
    let mut p = TargetPanels::empty("svc");
    p.status = TargetStatus::Up;
    p.health = vec![HealthRow {
        url: "http://127.0.0.1:9/healthz".into(),
        healthy: true,
        status_code: Some(200),
        latency_ms: 1.0,
        error: None,
        message: None,
        checks: Vec::new(),
    }];
    // Answering: last success 5 s ago, health fine.
    p.age_ms = Some(5_000);
    book.evaluate(0, &p, 0);
    assert_eq!(state(&book, "SvcStale"), None);
    assert_eq!(state(&book, "SvcHealthFailing"), None);
    // Silent for 31 s from t = 26 s on: pending, then firing 10 s later, not sooner.
    for t in 26..=45 {
        p.age_ms = Some((t - 26 + 31) * 1000);
        book.evaluate(0, &p, t * 1000);
        let want = if t < 36 {
            AlertPhase::Pending
        } else {
            AlertPhase::Firing
        };
        assert_eq!(state(&book, "SvcStale"), Some(want), "at t={t}s");
    }
    // A failing health check fires at once (no `for`).
    p.health[0].healthy = false;
    book.evaluate(0, &p, 46_000);
    assert_eq!(state(&book, "SvcHealthFailing"), Some(AlertPhase::Firing));
    let row = book
        .rows(&names)
        .into_iter()
        .find(|r| r.name == "SvcStale")
        .expect("row");
    assert_eq!(row.remedy.as_deref(), Some("rollback"));
    assert_eq!(row.symptom, "svc stopped answering");
}

#[test]
fn a_bad_user_rule_is_refused_with_its_line() {
    let text = USER_RULES.replace("above = 30\n", "above = 30\nbelow = 1\n");
    let err =
        watchdeck::config::Config::parse(&text, None, &|_| None).expect_err("both above and below");
    let msg = err.to_string();
    assert!(
        msg.contains("[[target.alert]] \"SvcStale\": give exactly one of `above` and `below`"),
        "{msg}"
    );
    assert!(msg.contains(":6:"), "the line of the rule: {msg}");
    let text = USER_RULES.replace("remedy = \"rollback\"", "remedy = \"reboot\"");
    let msg = watchdeck::config::Config::parse(&text, None, &|_| None)
        .expect_err("bad remedy")
        .to_string();
    assert!(
        msg.contains("remedy = \"reboot\" is not an action"),
        "{msg}"
    );
    let text = USER_RULES.replace(
        "severity = \"warning\"",
        "severity = \"warning\"\nthreshold = 3",
    );
    let msg = watchdeck::config::Config::parse(&text, None, &|_| None)
        .expect_err("unknown key")
        .to_string();
    assert!(
        msg.contains("unknown key `threshold` in [[target.alert]]"),
        "{msg}"
    );
}
