//! Screens: scripted messages through `update`, rendered to ratatui's TestBackend, snapshotted
//! with insta. Time is a value in the messages, so the screens are reproducible.

use std::sync::Arc;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use watchdeck::app::model::Model;
use watchdeck::app::update::{update, Msg};
use watchdeck::config::Config;
use watchdeck::expo::{Format, ScrapeReport};
use watchdeck::front::cockpit::{self, Options};
use watchdeck::obs::{HealthOutcome, Observation, ScrapeDigest};
use watchdeck::source::health::parse_health;

/// 2026-11-25 14:00:00 UTC.
const T0: i64 = 1_764_079_200_000;

const CONFIG: &str = r#"
environment = "prod"
[[target]]
name = "cn-index"
preset = "community-node"
metrics = "http://127.0.0.1:1/metrics"
health = ["http://127.0.0.1:1/healthz"]
[[target]]
name = "overlay"
preset = "overlay"
metrics = "http://127.0.0.1:2/metrics"
health = ["http://127.0.0.1:2/healthz"]
[[target]]
name = "mail"
preset = "mail"
metrics = "http://127.0.0.1:3/metrics"
health = ["http://127.0.0.1:3/health/ready"]
[[target]]
name = "rest-api"
preset = "rest-api"
metrics = "http://127.0.0.1:4/metrics"
"#;

fn digest(values: &[(&str, f64)]) -> ScrapeDigest {
    ScrapeDigest {
        duration_ms: 3.0,
        body_bytes: 4096,
        format: Format::Prometheus,
        report: ScrapeReport {
            samples: values.len(),
            ..ScrapeReport::default()
        },
        series: values.len(),
        watched: values.iter().map(|(k, v)| (Arc::from(*k), *v)).collect(),
    }
}

fn health(url: &str, status: u16, body: &str) -> HealthOutcome {
    HealthOutcome {
        url: url.to_owned(),
        latency_ms: 4.0,
        result: Ok(parse_health(
            status,
            body.starts_with('{').then_some("application/json"),
            body.as_bytes(),
        )),
    }
}

fn cn_index(round: u32) -> Vec<(&'static str, f64)> {
    let r = f64::from(round);
    vec![
        (
            r#"outbox_backlog{service="cn-index",consumer="index-v1"}"#,
            100.0 + 40.0 * r,
        ),
        (
            r#"outbox_consumer_batch_size{service="cn-index",consumer="index-v1"}"#,
            12.0,
        ),
        (
            r#"http_requests_total{service="cn-index",route="/v1/search",method="GET",status="200"}"#,
            1000.0 + 50.0 * r,
        ),
        (
            r#"http_requests_total{service="cn-index",route="/v1/search",method="GET",status="500"}"#,
            10.0 + r,
        ),
        (
            r#"http_request_duration_seconds_bucket{service="cn-index",route="/v1/search",method="GET",le="0.1"}"#,
            800.0 + 30.0 * r,
        ),
        (
            r#"http_request_duration_seconds_bucket{service="cn-index",route="/v1/search",method="GET",le="0.25"}"#,
            1000.0 + 45.0 * r,
        ),
        (
            r#"http_request_duration_seconds_bucket{service="cn-index",route="/v1/search",method="GET",le="+Inf"}"#,
            1010.0 + 51.0 * r,
        ),
        (
            r#"node_filesystem_size_bytes{device="/dev/vdb",fstype="ext4",mountpoint="/var/lib/postgresql"}"#,
            200e9,
        ),
        (
            r#"node_filesystem_avail_bytes{device="/dev/vdb",fstype="ext4",mountpoint="/var/lib/postgresql"}"#,
            30e9 - 1e9 * r,
        ),
        (
            r#"node_filesystem_free_bytes{device="/dev/vdb",fstype="ext4",mountpoint="/var/lib/postgresql"}"#,
            40e9 - 1e9 * r,
        ),
    ]
}

fn overlay(round: u32) -> Vec<(&'static str, f64)> {
    let r = f64::from(round);
    vec![
        (r#"sse_clients{aud="overlay"}"#, 320.0 - 100.0 * r),
        (r#"sse_clients{aud="dashboard"}"#, 14.0),
        (
            r#"webhook_ack_latency_seconds_bucket{le="0.05"}"#,
            500.0 + 10.0 * r,
        ),
        (
            r#"webhook_ack_latency_seconds_bucket{le="0.2"}"#,
            900.0 + 20.0 * r,
        ),
        (
            r#"webhook_ack_latency_seconds_bucket{le="0.5"}"#,
            1000.0 + 60.0 * r,
        ),
        (
            r#"webhook_ack_latency_seconds_bucket{le="+Inf"}"#,
            1000.0 + 60.0 * r,
        ),
        ("sse_ring_miss_total", 3.0 + r),
    ]
}

fn mail(round: u32) -> Vec<(&'static str, f64)> {
    let r = f64::from(round);
    vec![
        ("mairust_queue_length", 1200.0 + 10.0 * r),
        ("mairust_storage_bytes", 91e9 + 1e8 * r),
        ("mairust_storage_limit_bytes", 100e9),
    ]
}

/// Three rounds a second apart: cn-index backlog climbing, overlay clients dropping and ACK
/// latency over its limit, mail healthy until its last scrape failed (stale), rest-api never
/// reachable.
fn scripted() -> Model {
    let config = Config::parse(CONFIG, None, &|_| None).expect("config");
    let opts = Options {
        theme: Some("monochrome".into()),
        mouse: true,
        read_only: false,
        bell: false,
    };
    let mut m = cockpit::model(&config, &opts).expect("model");
    m.size = (120, 40);
    // The operator is at the keyboard: the focus stays where each test puts it (following
    // the worst alert at launch has a test of its own).
    m.touched = true;
    // The scripted rounds' clock: launch is just before the first of them.
    m.launch_ms = T0 - 3000;
    for round in 1..=3u32 {
        let at = T0 - 3000 + i64::from(round) * 1000;
        m.now_ms = at;
        let cn_health = if round == 3 {
            r#"{"status":"degraded","checks":{"postgres":{"status":"ok","latency_ms":3},"meilisearch":{"status":"fail","latency_ms":850}}}"#
        } else {
            r#"{"status":"ok","checks":{"postgres":{"status":"ok","latency_ms":3},"meilisearch":{"status":"ok","latency_ms":7}}}"#
        };
        let obs = [
            Observation::Target {
                target: 0,
                round,
                at_ms: at,
                scrape: Some(Ok(digest(&cn_index(round)))),
                health: vec![health("http://127.0.0.1:1/healthz", if round == 3 { 503 } else { 200 }, cn_health)],
            },
            Observation::Target {
                target: 1,
                round,
                at_ms: at,
                scrape: Some(Ok(digest(&overlay(round)))),
                health: vec![health("http://127.0.0.1:2/healthz", 200, "ok")],
            },
            Observation::Target {
                target: 2,
                round,
                at_ms: at,
                scrape: Some(if round < 3 {
                    Ok(digest(&mail(round)))
                } else {
                    Err("HTTP 503 Service Unavailable: the server answered with an error status".to_owned())
                }),
                health: vec![health("http://127.0.0.1:3/health/ready", 503, r#"{"status":"unhealthy","checks":{"database":{"status":"unhealthy","error":"pool timed out"}}}"#)],
            },
            Observation::Target {
                target: 3,
                round,
                at_ms: at,
                scrape: Some(Err("connection refused: nothing is listening there; check that the service is running and the host and port are right".to_owned())),
                health: vec![],
            },
        ];
        for o in obs {
            update(&mut m, Msg::Observation(Box::new(o)));
        }
    }
    m.now_ms = T0;
    update(&mut m, Msg::Tick(T0));
    m
}

use crate::common::screen;
use screen::render;
use watchdeck::derive::rules::AlertPhase;

fn key(m: &mut Model, code: KeyCode) {
    update(m, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn chars(m: &mut Model, s: &str) {
    for c in s.chars() {
        key(m, KeyCode::Char(c));
    }
}

#[test]
fn wide_main_view_shows_every_panel_with_normal_empty_stale_and_error_states() {
    let m = scripted();
    let screen = render(&m);
    insta::assert_snapshot!("main_wide", screen);
    assert!(screen.contains(" PROD "));
    assert!(screen.contains("1/4 targets up"), "{screen}");
    assert!(screen.contains("down: mail, rest-api"), "{screen}");
    assert!(screen.contains("STALE"), "mail is stale");
    assert!(
        screen.contains("connection refused"),
        "rest-api error in words"
    );
    assert!(screen.contains("climbing"), "cn-index backlog");
}

#[test]
fn narrow_screen_shows_each_focused_panel() {
    let mut m = scripted();
    m.size = (80, 24);
    let mut all = String::new();
    for (k, title) in [
        ('2', "[2] Outbox backlog"),
        ('3', "[3] SSE clients"),
        ('4', "[4] Latency"),
        ('5', "[5] Disk"),
        ('6', "[6] Health checks"),
        ('7', "[7] Alerts, queues, errors, counters"),
    ] {
        chars(&mut m, &k.to_string());
        let screen = render(&m);
        assert!(screen.contains(title), "{title}:\n{screen}");
        all += "=== focus ";
        all.push(k);
        all.push('\n');
        all += &screen;
    }
    insta::assert_snapshot!("narrow_panels", all);
}

#[test]
fn empty_panels_say_why() {
    let mut m = scripted();
    key(&mut m, KeyCode::Down); // overlay
    key(&mut m, KeyCode::Down); // mail (stale)
    key(&mut m, KeyCode::Enter);
    let stale = render(&m);
    assert!(stale.contains("[1] mail"), "{stale}");
    assert!(
        stale.contains("mail: stale — latest scrape failed"),
        "{stale}"
    );
    key(&mut m, KeyCode::Esc);
    key(&mut m, KeyCode::Down); // rest-api (down)
    key(&mut m, KeyCode::Enter);
    let down = render(&m);
    assert!(down.contains("rest-api: down, no data yet"), "{down}");
    insta::assert_snapshot!(
        "detail_stale_and_down",
        format!("{stale}=== rest-api\n{down}")
    );
}

#[test]
fn popups_help_palette_and_browse() {
    let mut m = scripted();
    chars(&mut m, "?");
    let help = render(&m);
    assert!(help.contains("Keys — ? or Esc closes"));
    assert!(
        help.contains("Freeze"),
        "help comes from the keymap:\n{help}"
    );
    key(&mut m, KeyCode::Esc);
    chars(&mut m, ":frz");
    let palette = render(&m);
    assert!(palette.contains(": frz"), "{palette}");
    key(&mut m, KeyCode::Enter);
    assert!(m.frozen, "the palette ran freeze");
    assert!(render(&m).contains("FROZEN"));
    chars(&mut m, "f");
    chars(&mut m, "b");
    update(
        &mut m,
        Msg::Series {
            target: 0,
            rows: vec![
                (
                    r#"outbox_backlog{service="cn-index",consumer="index-v1"}"#.into(),
                    220.0,
                ),
                ("process_resident_memory_bytes".into(), 1.5e8),
            ],
        },
    );
    chars(&mut m, "/backlog");
    key(&mut m, KeyCode::Enter);
    let browse = render(&m);
    assert!(
        browse.contains("1 of 2 series, filter \"backlog\""),
        "{browse}"
    );
    insta::assert_snapshot!(
        "popups",
        format!("{help}=== palette\n{palette}=== browse\n{browse}")
    );
}

#[test]
fn freeze_keeps_the_display_while_collection_goes_on() {
    let mut m = scripted();
    chars(&mut m, "f");
    let before = render(&m);
    update(
        &mut m,
        Msg::Observation(Box::new(Observation::Target {
            target: 0,
            round: 4,
            at_ms: T0 + 1000,
            scrape: Some(Ok(digest(&cn_index(9)))),
            health: vec![],
        })),
    );
    assert_eq!(m.store.targets[0].rounds, 4, "collected");
    assert_eq!(render(&m), before, "display unchanged while frozen");
    chars(&mut m, "f");
    assert_ne!(render(&m), before, "unfreezing shows the new values");
}

#[test]
fn too_small_and_every_size_render_without_panicking() {
    let mut m = scripted();
    m.size = (39, 10);
    assert!(render(&m).contains("terminal too small"));
    for w in (0..=500u16).step_by(23).chain([1, 2, 40, 79, 80, 119, 120]) {
        for h in (0..=200u16).step_by(17).chain([1, 9, 10, 23, 24, 29, 30]) {
            m.size = (w, h);
            let _ = render(&m);
        }
    }
    // A storm of resizes through update, drawing after each.
    let mut x: u32 = 12345;
    for _ in 0..300 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let (w, h) = ((x % 501) as u16, ((x >> 9) % 201) as u16);
        update(&mut m, Msg::Resize(w, h));
        let _ = render(&m);
    }
}

#[test]
fn a_click_focuses_the_panel_under_it_and_the_wheel_scrolls() {
    use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    use watchdeck::app::model::PanelId;
    let mut m = scripted();
    let disk = watchdeck::view::layout::panel_areas(&m.screen())
        .into_iter()
        .find(|(p, _)| *p == PanelId::Disk)
        .map(|(_, r)| r)
        .expect("disk panel visible at 120x40");
    let click = |kind, column, row| MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    update(
        &mut m,
        Msg::Mouse(click(
            MouseEventKind::Down(MouseButton::Left),
            disk.x + 2,
            disk.y + 1,
        )),
    );
    assert_eq!(m.focus, PanelId::Disk);
    update(
        &mut m,
        Msg::Mouse(click(MouseEventKind::ScrollDown, disk.x + 2, disk.y + 1)),
    );
    assert_eq!(
        m.selected[PanelId::Disk.index()],
        1,
        "two disk rows: the wheel stops at the last"
    );
    // With the mouse switched off, clicks do nothing.
    chars(&mut m, "m");
    update(
        &mut m,
        Msg::Mouse(click(MouseEventKind::Down(MouseButton::Left), 1, 2)),
    );
    assert_eq!(m.focus, PanelId::Disk);
}

#[test]
fn quit_asks_first_while_an_action_runs() {
    use watchdeck::app::model::Popup;
    use watchdeck::app::update::Cmd;
    let mut m = scripted();
    m.acts.running.push(watchdeck::app::acting::Running {
        target: 0,
        kind: watchdeck::actions::ActionKind::Backup,
        title: "Back up".into(),
        started_ms: 0,
        phase: "dumping".into(),
        bytes: None,
        output: std::collections::VecDeque::new(),
    });
    let cmds = update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)),
    );
    assert!(cmds.is_empty());
    assert_eq!(m.popup, Some(Popup::ConfirmQuit));
    assert!(render(&m).contains("1 action(s) still running"));
    key(&mut m, KeyCode::Char('n'));
    assert_eq!(m.popup, None);
    chars(&mut m, "q");
    let cmds = update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE)),
    );
    // Quitting cancels the running action first and leaves when it has ended.
    assert_eq!(
        cmds,
        vec![Cmd::CancelAction {
            target: 0,
            kind: watchdeck::actions::ActionKind::Backup
        }]
    );
    let outcome = watchdeck::actions::Outcome {
        id: "x".into(),
        result: watchdeck::actions::ActionResult::Cancelled,
        summary: "cancelled".into(),
        exit_code: None,
        duration_ms: 1,
        verification: None,
        stdout_tail: Vec::new(),
        stderr_tail: Vec::new(),
    };
    let cmds = update(
        &mut m,
        Msg::ActionDone {
            target: 0,
            kind: watchdeck::actions::ActionKind::Backup,
            outcome: Box::new(outcome),
        },
    );
    assert!(cmds.contains(&Cmd::Quit), "{cmds:?}");
    let mut idle = scripted();
    let cmds = update(
        &mut idle,
        Msg::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)),
    );
    assert_eq!(cmds, vec![Cmd::Quit], "no action running: q quits at once");
}

#[test]
fn the_database_panel_shows_lock_waits_grants_and_an_unreachable_server_in_words() {
    let mut m = db_model();
    pg_round(&mut m, scripted_pg_observation());
    chars(&mut m, "6");
    let screen = render(&m);
    assert!(screen.contains("connections 96/100"), "{screen}");
    assert!(
        screen.contains("lock wait: pid 902 waits 3.1s on transactionid — blocked by pid 811"),
        "{screen}"
    );
    assert!(screen.contains("GRANT pg_monitor TO cn"), "{screen}");
    chars(&mut m, "2");
    let backlog = render(&m);
    assert!(
        backlog.contains("index-v1") && backlog.contains(" db"),
        "SQL backlog:\n{backlog}"
    );
    chars(&mut m, "6");

    pg_unreachable(&mut m);
    let screen = render(&m);
    assert!(
        screen.contains("server unreachable at 127.0.0.1:5432"),
        "{screen}"
    );
    assert!(
        screen.contains("✖ cn-db"),
        "a database-only target is down when its server is:\n{screen}"
    );
    insta::assert_snapshot!("database_panel", screen);
}

/// A round with 96/100 connections, a long query, a lock wait, a missing grant and a failed part.
fn scripted_pg_observation() -> watchdeck::obs::postgres::PgObservation {
    use watchdeck::obs::postgres::{
        Activity, BacklogRow, Blocker, Connections, DatabaseSize, LockWait, PgError, PgObservation,
        Replication,
    };
    PgObservation {
        at_ms: T0,
        duration_ms: 4.0,
        session: Err(PgError::Server {
            code: "XX000".into(),
            message: "scripted".into(),
        }),
        backlog: Ok(vec![BacklogRow {
            consumer: "index-v1".into(),
            backlog: 1234,
        }]),
        connections: Ok(Connections {
            total: 96,
            max: 100,
            reserved: 3,
            by_state: vec![("active".into(), 40), ("idle in transaction".into(), 56)],
            hidden: 0,
        }),
        longest_query: Ok(Some(Activity {
            pid: 811,
            seconds: 42.0,
            state: "active".into(),
            application_name: "cn-index".into(),
            user: "cn".into(),
            query: "UPDATE consumer_offsets SET last_seq = $1".into(),
        })),
        oldest_transaction: Ok(None),
        lock_waits: Ok(vec![LockWait {
            pid: 902,
            waited_seconds: 3.1,
            lock: "transactionid".into(),
            application_name: "cn-index".into(),
            query: "UPDATE consumer_offsets SET last_seq = $1".into(),
            blockers: vec![Blocker {
                pid: 811,
                state: "idle in transaction".into(),
                application_name: "psql".into(),
                query: "BEGIN".into(),
                transaction_seconds: Some(42.0),
            }],
        }]),
        database: Ok(DatabaseSize {
            name: "cn".into(),
            bytes: 7_340_032,
        }),
        tablespaces: Err(PgError::PermissionDenied {
            what: "tablespaces".into(),
            grant: "GRANT pg_monitor TO cn".into(),
        }),
        replication: Ok(Replication {
            in_recovery: false,
            lag_seconds: None,
        }),
    }
}

#[test]
fn a_preset_alert_fires_after_its_for_duration_and_shows_its_runbook_hint() {
    let mut m = scripted();
    let names: Vec<String> = m.shown.targets.iter().map(|t| t.name.clone()).collect();
    let state = |m: &Model, name: &str| {
        m.alerts
            .rows(&names)
            .into_iter()
            .find(|a| a.name == name)
            .map(|a| a.state)
    };
    assert_eq!(
        state(&m, "WebhookAckSlow"),
        Some(AlertPhase::Pending),
        "p95 0.48 > 0.2, for 1m not yet held"
    );
    // The overlay keeps answering slowly: rounds every second until the minute has passed.
    let mut fired_at = None;
    for round in 4..=70u32 {
        let at = slow_overlay_round(&mut m, round);
        if fired_at.is_none() && state(&m, "WebhookAckSlow") == Some(AlertPhase::Firing) {
            fired_at = Some(at);
        }
    }
    // Pending since the first round (T0 - 2000; one scrape gives the since-start p95, already
    // over the limit): fires at the first evaluation 60 s later, not one second sooner.
    assert_eq!(fired_at, Some(T0 - 2000 + 60_000));
    chars(&mut m, "7");
    let screen = render(&m);
    assert!(
        screen.contains("FIRING critical  overlay  WebhookAckSlow"),
        "{screen}"
    );
    assert!(
        screen.contains("Check that the webhook answers 204 at once"),
        "{screen}"
    );
    assert!(screen.contains("2 firing"), "header count:\n{screen}");
}

/// One more round of the overlay answering slowly; returns its time.
fn slow_overlay_round(m: &mut Model, round: u32) -> i64 {
    let at = T0 + i64::from(round - 3) * 1000;
    m.now_ms = at;
    let cmds = update(
        m,
        Msg::Observation(Box::new(Observation::Target {
            target: 1,
            round,
            at_ms: at,
            scrape: Some(Ok(digest(&overlay(round)))),
            health: vec![health("http://127.0.0.1:2/healthz", 200, "ok")],
        })),
    );
    if cmds.contains(&watchdeck::app::update::Cmd::Bell) {
        m.toast = Some(watchdeck::app::model::Toast {
            text: "BELL".into(),
            until_ms: i64::MAX,
            error: false,
        });
    }
    at
}

#[test]
fn an_alert_is_acknowledged_with_a_note_silenced_and_its_remedy_looked_up() {
    use watchdeck::app::update::Cmd;
    let mut m = scripted();
    m.bell = true;
    for round in 4..=70u32 {
        slow_overlay_round(&mut m, round);
    }
    assert_eq!(
        m.toast.as_ref().map(|t| t.text.as_str()),
        Some("BELL"),
        "a new critical alert rings the bell"
    );
    m.toast = None;
    assert_eq!(m.firing_counts(), (2, 0, 0));
    // Select WebhookAckSlow in the signals panel.
    chars(&mut m, "7");
    let at = m
        .visible_alerts()
        .iter()
        .position(|a| a.name == "WebhookAckSlow")
        .expect("listed");
    for _ in 0..at {
        chars(&mut m, "j");
    }
    // Acknowledge with a note: audited with the note.
    chars(&mut m, "c");
    assert!(render(&m).contains("A note for the audit file"));
    chars(&mut m, "rolling back");
    let cmds = update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    let [Cmd::Audit(rec)] = cmds.as_slice() else {
        panic!("one audit record: {cmds:?}");
    };
    assert_eq!(rec.phase, "ack");
    assert_eq!(rec.target, "overlay");
    assert_eq!(rec.note.as_deref(), Some("rolling back"));
    assert_eq!(rec.params["alert"], "WebhookAckSlow");
    assert_eq!(m.firing_counts(), (2, 1, 0));
    let screen = render(&m);
    assert!(screen.contains("2 firing 5 pending (1 acked)"), "{screen}");
    assert!(screen.contains("ACKED by"), "{screen}");
    assert!(screen.contains(": rolling back"), "{screen}");
    // r: its remedy is a rollback, which this target does not offer: said in words.
    chars(&mut m, "r");
    let toast = m.toast.as_ref().map(|t| t.text.clone()).unwrap_or_default();
    assert!(
        toast.contains("the remedy for WebhookAckSlow is rollback")
            && toast.contains("no such action"),
        "{toast}"
    );
    // Silence it for 4h (the list opens on 1h): no longer counted, audited with its end.
    chars(&mut m, "s");
    key(&mut m, KeyCode::Down);
    let cmds = update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    let [Cmd::Audit(rec)] = cmds.as_slice() else {
        panic!("one audit record: {cmds:?}");
    };
    assert_eq!(rec.phase, "silence");
    assert_eq!(rec.params["for"], "4h");
    assert_eq!(m.firing_counts(), (1, 0, 1));
    let screen = render(&m);
    assert!(
        screen.contains("1 firing 5 pending (1 silenced)"),
        "{screen}"
    );
    // The strip says it is silenced, not firing.
    assert!(
        screen.contains("silenced crit  overlay  WebhookAckSlow"),
        "{screen}"
    );
    assert!(screen.contains("silenced critical overlay"), "{screen}");
    // Without an alert under the selection, the keys say what to do.
    chars(&mut m, "1");
    chars(&mut m, "c");
    assert!(m
        .toast
        .as_ref()
        .is_some_and(|t| t.text.contains("select an alert first")));
}

#[test]
fn at_launch_the_focus_follows_the_worst_alert_until_a_key_is_pressed() {
    let mut m = scripted();
    m.touched = false;
    m.focus = watchdeck::app::model::PanelId::Overview;
    // One more round: the worst alert is the overlay's firing SseRingMiss (a counter's
    // increase, shown in [7] Signals).
    slow_overlay_round(&mut m, 4);
    let worst = m.worst_alert().expect("an alert");
    assert_eq!(
        (worst.name.as_str(), worst.state),
        ("SseRingMiss", AlertPhase::Firing)
    );
    assert_eq!(m.focus, watchdeck::app::model::PanelId::Signals);
    // A key, and the cockpit no longer moves the focus by itself.
    key(&mut m, KeyCode::Tab);
    let chosen = m.focus;
    slow_overlay_round(&mut m, 5);
    assert_eq!(m.focus, chosen);
}

#[test]
fn the_alertmanagers_firing_alerts_for_these_targets_count_in_the_header() {
    use watchdeck::obs::alertmanager::{Alert, AlertState};
    let mut m = scripted();
    let alert = |labels: &[(&str, &str)], state| Alert {
        fingerprint: "f".into(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        annotations: std::collections::BTreeMap::new(),
        starts_at_ms: T0 - 600_000,
        ends_at_ms: None,
        state,
        silenced_by: Vec::new(),
        inhibited_by: Vec::new(),
        generator_url: None,
        receivers: Vec::new(),
    };
    m.am = Some(watchdeck::app::model::AmView {
        url: "http://127.0.0.1:9093".into(),
        at_ms: Some(T0),
        alerts: vec![
            // Ours by job, firing.
            alert(
                &[("alertname", "X"), ("job", "overlay")],
                AlertState::Active,
            ),
            // Another team's service: not counted.
            alert(
                &[("alertname", "Y"), ("job", "billing")],
                AlertState::Active,
            ),
            // Ours but silenced there: not counted as firing.
            alert(
                &[("alertname", "Z"), ("job", "mail")],
                AlertState::Suppressed,
            ),
        ],
        silences: Vec::new(),
        error: None,
    });
    m.size = (200, 40);
    assert_eq!(m.am_firing_ours(), 1);
    let screen = render(&m);
    assert!(
        screen
            .lines()
            .next()
            .unwrap_or_default()
            .contains("am: 1 firing"),
        "{screen}"
    );
}

/// `update` moves selections within `view::rows` counts, computed from the derived panels;
/// the view draws rows from the model. The two must agree on every panel, in the main and the
/// detail view, with alerts firing, a database with lock waits, local disks and empty panels.
#[test]
fn the_row_counts_update_uses_are_the_rows_the_view_draws() {
    use watchdeck::app::model::{PanelId, View};
    let check = |m: &Model, what: &str| {
        for p in PanelId::ALL {
            assert_eq!(
                m.selectable_rows(p),
                watchdeck::ui::selectable_rows(m, p),
                "{what}: panel {p:?}"
            );
        }
    };
    // The scripted fleet with the ACK latency alert firing and rows on every panel.
    let mut m = scripted();
    check(&m, "scripted, main view");
    for round in 4..=70u32 {
        slow_overlay_round(&mut m, round);
    }
    assert!(
        m.visible_alerts()
            .iter()
            .any(|a| a.state == AlertPhase::Firing),
        "an alert fires"
    );
    check(&m, "an alert firing, main view");
    for target in 0..m.shown.targets.len() {
        m.view = View::Detail { target };
        check(&m, &format!("detail of target {target}"));
    }
    m.view = View::Main;
    m.size = (80, 24);
    check(&m, "an alert firing, 80x24");

    // A database target: status, connections, hidden sessions, longest query, oldest
    // transaction, lock waits and problems, then the server unreachable.
    let mut db = db_model();
    check(&db, "a database target before its first round");
    pg_round(&mut db, scripted_pg_observation());
    check(&db, "a database with lock waits and a missing grant");
    pg_unreachable(&mut db);
    check(&db, "a database server unreachable");
}

/// A cockpit on one database-only target at 100×30, at `T0`.
fn db_model() -> Model {
    let config = Config::parse(
        "[[target]]\nname = \"cn-db\"\n[target.postgres]\ndsn = \"postgres://cn@127.0.0.1:5432/cn\"\n",
        None,
        &|_| None,
    )
    .expect("config");
    let opts = Options {
        theme: Some("monochrome".into()),
        ..Options::default()
    };
    let mut m = cockpit::model(&config, &opts).expect("model");
    m.size = (100, 30);
    m.now_ms = T0;
    m
}

/// One round of the database target's collector.
fn pg_round(m: &mut Model, obs: watchdeck::obs::postgres::PgObservation) {
    let msg = watchdeck::obs::postgres::PgMsg::Observed {
        target: 0,
        obs: Box::new(obs),
    };
    update(
        m,
        Msg::Observation(Box::new(Observation::Postgres(Box::new(msg)))),
    );
}

/// The database target's server stops answering: a second failed attempt, a second later.
fn pg_unreachable(m: &mut Model) {
    let down = watchdeck::obs::postgres::PgMsg::Unavailable {
        target: 0,
        at_ms: T0 + 1000,
        error: watchdeck::obs::postgres::PgError::Unreachable {
            addr: "127.0.0.1:5432".into(),
            reason: "connection refused".into(),
        },
        attempt: 2,
        retry_in: std::time::Duration::from_secs(2),
    };
    update(
        m,
        Msg::Observation(Box::new(Observation::Postgres(Box::new(down)))),
    );
}
