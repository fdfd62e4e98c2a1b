//! Screens of the remediation actions: the Actions view, the plan dialogs, the topic picker, the
//! cancel confirmation and the audit log, rendered from scripted messages (like `screens.rs`)
//! and snapshotted with insta. Plans are real: built by `Actions::plan` (a `[[target.command]]`
//! or a backup of a temporary SQLite file — planning has no side effects) and fed back as
//! `Msg::Planned`, exactly as the cockpit's runner does. The behaviour checks drive `update`
//! with keys and look at the `Cmd`s it emits: nothing may reach `Cmd::Execute` without the
//! confirmation its risk needs.

use std::path::Path;
use std::sync::Arc;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use watchdeck::actions::audit::{Operator, Record};
use watchdeck::actions::{
    ActionKind, Actions, Confirmation, Outcome, Prepared, Progress, Request, Risk, Stream,
};
use watchdeck::app::acting::{BackupRow, Backups};
use watchdeck::app::model::{Model, Popup, View};
use watchdeck::app::update::{update, Cmd, Msg};
use watchdeck::config::Config;
use watchdeck::expo::{Format, ScrapeReport};
use watchdeck::front::cockpit::{self, Options};
use watchdeck::obs::{Observation, ScrapeDigest};

/// 2026-11-25 14:00:00 UTC.
const T0: i64 = 1_764_079_200_000;
const HOUR: i64 = 3_600_000;

/// cn-relay offers every kind of action; overlay only a backup; mail nothing. Paths are fake
/// except where a test substitutes real ones (`config_with`): planning a command reads none.
fn config_text(db: &Path, backup_dir: &Path) -> String {
    let q = |p: &Path| toml::Value::String(p.display().to_string()).to_string();
    format!(
        r#"
environment = "prod"

[[target]]
name = "cn-relay"
preset = "community-node"
metrics = "http://127.0.0.1:1/metrics"
health = ["http://127.0.0.1:1/healthz"]

[target.backup]
kind = "sqlite"
database = {db}
dir = {dir}
keep = 7
max_age = "1d"

[target.topics]
driver = "http"
suspend_url = "http://127.0.0.1:1/admin/topics/{{topic}}/suspend"
resume_url = "http://127.0.0.1:1/admin/topics/{{topic}}/resume"
metric = "ingest_topic_received_total"
label = "topic"

[target.rollback]
kind = "command"
undo = ["kubectl", "rollout", "undo", "deployment/cn-relay", "-n", "cn"]

[[target.command]]
name = "flush-cache"
argv = ["/usr/local/bin/cn-relay-admin", "cache", "flush", "--all"]
risk = "low"
description = "drop the relay's read cache"

[[target.command]]
name = "restart"
argv = ["systemctl", "restart", "cn-relay"]
risk = "high"

[[target]]
name = "overlay"
preset = "overlay"
metrics = "http://127.0.0.1:2/metrics"

[target.backup]
kind = "sqlite"
database = "/srv/overlay/data/app.db"
dir = "/srv/overlay/backup"

[[target]]
name = "mail"
preset = "mail"
metrics = "http://127.0.0.1:3/metrics"
"#,
        db = q(db),
        dir = q(backup_dir),
    )
}

fn config_with(db: &Path, backup_dir: &Path) -> Config {
    Config::parse(&config_text(db, backup_dir), None, &|_| None).expect("config parses")
}

fn fake_config() -> Config {
    config_with(
        Path::new("/srv/cn-relay/data/app.db"),
        Path::new("/srv/cn-relay/backup"),
    )
}

fn digest(values: &[(String, f64)]) -> ScrapeDigest {
    ScrapeDigest {
        duration_ms: 3.0,
        body_bytes: 4096,
        format: Format::Prometheus,
        report: ScrapeReport {
            samples: values.len(),
            ..ScrapeReport::default()
        },
        series: values.len(),
        watched: values
            .iter()
            .map(|(k, v)| (Arc::from(k.as_str()), *v))
            .collect(),
    }
}

/// Topics of the relay and their rates (events/s); the counters grow by that each second.
const TOPICS: [(&str, f64); 4] = [
    ("kukuri:tauri:public", 9.0),
    ("kukuri:topic:rust", 4.0),
    ("kukuri:topic:spam-wave", 15.0),
    ("kukuri:topic:q&a/help #1", 2.0),
];

fn model_of(config: &Config, read_only: bool) -> Model {
    let opts = Options {
        theme: Some("monochrome".into()),
        mouse: true,
        read_only,
        bell: false,
    };
    let mut m = cockpit::model(config, &opts).expect("model");
    // The operator is at the keyboard: the focus stays where each test puts it.
    m.touched = true;
    m.size = (120, 40);
    // Three rounds a second apart: every target up, the relay's topic counters moving.
    for round in 1..=3u32 {
        let at = T0 - 3000 + i64::from(round) * 1000;
        m.now_ms = at;
        for target in 0..3usize {
            let mut values = vec![("process_resident_memory_bytes".to_owned(), 1.5e8)];
            if target == 0 {
                for (id, rate) in TOPICS {
                    values.push((
                        format!("ingest_topic_received_total{{topic=\"{id}\"}}"),
                        1000.0 + rate * f64::from(round),
                    ));
                }
            }
            update(
                &mut m,
                Msg::Observation(Box::new(Observation::Target {
                    target,
                    round,
                    at_ms: at,
                    scrape: Some(Ok(digest(&values))),
                    health: vec![],
                })),
            );
        }
    }
    m.now_ms = T0;
    update(&mut m, Msg::Tick(T0));
    m
}

fn model() -> Model {
    model_of(&fake_config(), false)
}

use crate::common::screen;
use screen::render;

fn press(m: &mut Model, code: KeyCode) -> Vec<Cmd> {
    update(m, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ctrl_c() -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))
}

fn typed(m: &mut Model, s: &str) -> Vec<Cmd> {
    s.chars().flat_map(|c| press(m, KeyCode::Char(c))).collect()
}

/// Selects overview row `row` and opens its Actions view.
fn open_actions(m: &mut Model, row: usize) -> Vec<Cmd> {
    press(m, KeyCode::Char('1'));
    press(m, KeyCode::Char('g'));
    for _ in 0..row {
        press(m, KeyCode::Char('j'));
    }
    press(m, KeyCode::Char('a'))
}

/// Moves the Actions view's selection to the offer whose label starts with `label`.
fn select_offer(m: &mut Model, label: &str) {
    let View::Actions { target } = m.view else {
        panic!("not in the Actions view: {:?}", m.view);
    };
    let i = m.acts.offered[target]
        .iter()
        .position(|o| o.label.starts_with(label))
        .unwrap_or_else(|| panic!("no offer {label:?}: {:?}", m.acts.offered[target]));
    press(m, KeyCode::Char('g'));
    for _ in 0..i {
        press(m, KeyCode::Char('j'));
    }
    assert_eq!(m.action_selected, i);
}

fn actions_of(config: &Config) -> Actions {
    Actions::new(config, false, Path::new("/nonexistent/watchdeck-state"))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A real plan for `req` on the fake config (commands and topics need no files).
fn plan(req: &Request) -> Prepared {
    rt().block_on(actions_of(&fake_config()).plan(req, false))
        .expect("plan")
}

fn run_req(name: &str) -> Request {
    Request::Run {
        target: "cn-relay".into(),
        name: name.into(),
    }
}

/// A plan arrives as the cockpit's runner sends it: the answer to the plan awaited.
fn deliver(m: &mut Model, p: Prepared) {
    if m.acts.planning.is_none() {
        m.acts.planning = Some((p.request.clone(), "preparing the plan…".into()));
    }
    update(m, Msg::Planned(p.request.clone(), Ok(Box::new(p))));
}

/// Enter on the selected offer must ask for exactly this plan; the plan then arrives.
fn plan_selected(m: &mut Model, expect: &Request) {
    let cmds = press(m, KeyCode::Enter);
    assert_eq!(cmds, vec![Cmd::Plan(expect.clone())]);
    assert!(
        m.acts.planning.is_some(),
        "the footer says a plan is coming"
    );
    let p = plan(expect);
    deliver(m, p);
    assert!(matches!(m.popup, Some(Popup::Plan(_))), "{:?}", m.popup);
}

fn executes(cmds: &[Cmd]) -> Vec<(&Prepared, &Confirmation)> {
    cmds.iter()
        .filter_map(|c| match c {
            Cmd::Execute(p, c, _) => Some((&**p, c)),
            _ => None,
        })
        .collect()
}

fn outcome(result: &str, summary: &str) -> Outcome {
    Outcome {
        id: "01JDX4Q2W3E4R5T6Y7U8I9O0PA".into(),
        result: result.parse().expect("an action result word"),
        summary: summary.into(),
        exit_code: Some(0),
        duration_ms: 2400,
        verification: None,
        stdout_tail: Vec::new(),
        stderr_tail: Vec::new(),
    }
}

fn record(id: &str, phase: &str, time: &str, target: &str, action: &str) -> Record {
    Record {
        id: id.into(),
        time: time.into(),
        phase: phase.into(),
        operator: Operator {
            user: "alice".into(),
            uid: 1000,
            ssh_connection: None,
        },
        host: "ops-1".into(),
        target: target.into(),
        action: action.into(),
        params: serde_json::Value::Null,
        plan: Vec::new(),
        result: None,
        exit_code: None,
        duration_ms: None,
        verification: None,
        error: None,
        note: None,
    }
}

fn audit_records() -> Vec<Record> {
    let mut out = Vec::new();
    let mut intent = record("a1", "intent", "2026-11-25T13:10:02Z", "cn-relay", "backup");
    intent.plan = vec!["SQLite online backup of /srv/cn-relay/data/app.db".into()];
    out.push(intent);
    let mut done = record(
        "a1",
        "outcome",
        "2026-11-25T13:10:05Z",
        "cn-relay",
        "backup",
    );
    done.result = Some("succeeded".into());
    done.verification = Some("integrity_check ok, 20000 rows in event_raw".into());
    out.push(done);
    let mut i2 = record(
        "a2",
        "intent",
        "2026-11-25T13:40:11Z",
        "cn-relay",
        "suspend",
    );
    i2.params = serde_json::json!({ "topic": "kukuri:topic:spam-wave" });
    i2.plan = vec![
        "POST http://127.0.0.1:1/admin/topics/kukuri%3Atopic%3Aspam-wave/suspend  (expect 200)"
            .into(),
    ];
    out.push(i2);
    let mut o2 = record(
        "a2",
        "outcome",
        "2026-11-25T13:40:11Z",
        "cn-relay",
        "suspend",
    );
    o2.result = Some("failed".into());
    o2.error = Some("POST answered 503 Service Unavailable".into());
    out.push(o2);
    let mut o3 = record("a3", "outcome", "2026-11-25T13:55:40Z", "overlay", "backup");
    o3.result = Some("refused".into());
    o3.error = Some("backup on overlay is already running (lock held by 01JDX…)".into());
    out.push(o3);
    out
}

// ---------------------------------------------------------------------------------------------
// Screens.

#[test]
fn actions_view_lists_the_offers_and_nothing_running() {
    let mut m = model();
    let cmds = open_actions(&mut m, 0);
    assert_eq!(m.view, View::Actions { target: 0 });
    assert!(cmds.contains(&Cmd::LoadAudit), "{cmds:?}");
    assert!(cmds.contains(&Cmd::LoadBackups(0)), "{cmds:?}");
    let screen = render(&m);
    for want in [
        "[a] cn-relay — actions",
        "Back up (SQLite online backup, integrity_check; keep 7)",
        "Suspend a topic…",
        "Resume a topic…",
        "Roll back (rollout undo)",
        "Run flush-cache — drop the relay's read cache",
        "Run restart",
        "nothing has run on this target in this session",
        "reading the backup directory…",
        "no actions recorded for this target",
    ] {
        assert!(screen.contains(want), "{want:?}:\n{screen}");
    }
    insta::assert_snapshot!("actions_offers", screen);

    // A target without actions says how to add some, and Enter says so too.
    let mut m = model();
    open_actions(&mut m, 2);
    let screen = render(&m);
    assert!(
        screen.contains("no actions configured for this target"),
        "{screen}"
    );
    let cmds = press(&mut m, KeyCode::Enter);
    assert!(cmds.is_empty(), "{cmds:?}");
    let toast = m.toast.as_ref().map(|t| t.text.clone()).unwrap_or_default();
    assert!(toast.contains("no actions configured"), "{toast}");
}

/// Starts `flush-cache` (low risk) with `y`; returns the model with it running.
fn running_flush() -> Model {
    let mut m = model();
    open_actions(&mut m, 0);
    select_offer(&mut m, "Run flush-cache");
    plan_selected(&mut m, &run_req("flush-cache"));
    let cmds = press(&mut m, KeyCode::Char('y'));
    assert_eq!(executes(&cmds).len(), 1, "{cmds:?}");
    assert_eq!(m.popup, None);
    m
}

#[test]
fn actions_view_with_a_running_action_and_its_output_tail() {
    let mut m = running_flush();
    update(&mut m, Msg::Tick(T0 + 41_000));
    for p in [
        Progress::Phase("running /usr/local/bin/cn-relay-admin".into()),
        Progress::Output {
            stream: Stream::Stdout,
            line: "flushing 1834 cached pages".into(),
        },
        Progress::Output {
            stream: Stream::Stderr,
            line: "warning: shard 3 answered slowly (2.1 s)".into(),
        },
        Progress::Output {
            stream: Stream::Stdout,
            line: "flushed 1834 pages".into(),
        },
    ] {
        update(
            &mut m,
            Msg::ActionProgress {
                target: 0,
                kind: ActionKind::Run,
                progress: p,
            },
        );
    }
    let screen = render(&m);
    assert!(
        screen.contains("▶ run cn-relay: running /usr/local/bin/…"),
        "the header shows the action in flight (its phase cut short):\n{screen}"
    );
    assert!(screen.contains("Running — x cancels"), "{screen}");
    assert!(
        screen.contains("| warning: shard 3 answered slowly"),
        "{screen}"
    );
    assert!(screen.contains("| flushed 1834 pages"), "{screen}");
    insta::assert_snapshot!("actions_running", screen);

    // A progress report for another action changes nothing.
    update(
        &mut m,
        Msg::ActionProgress {
            target: 1,
            kind: ActionKind::Backup,
            progress: Progress::Phase("dumping".into()),
        },
    );
    assert_eq!(m.acts.running.len(), 1);
    assert_eq!(
        m.acts.running[0].phase,
        "running /usr/local/bin/cn-relay-admin"
    );

    // Enter on the same action while it runs is refused at once.
    let cmds = press(&mut m, KeyCode::Enter);
    assert!(cmds.is_empty(), "{cmds:?}");
    let toast = m.toast.as_ref().map(|t| t.text.clone()).unwrap_or_default();
    assert!(toast.contains("already running — x cancels it"), "{toast}");
}

#[test]
fn actions_view_with_a_finished_outcome() {
    let mut m = running_flush();
    update(&mut m, Msg::Tick(T0 + 3000));
    let mut o = outcome(
        "failed",
        "/usr/local/bin/cn-relay-admin failed (exit 2): shard 3 unreachable",
    );
    o.exit_code = Some(2);
    o.stdout_tail = vec!["flushing 1834 cached pages".into()];
    o.stderr_tail = vec!["error: shard 3 unreachable".into()];
    let cmds = update(
        &mut m,
        Msg::ActionDone {
            target: 0,
            kind: ActionKind::Run,
            outcome: Box::new(o),
        },
    );
    assert_eq!(
        cmds,
        vec![Cmd::LoadAudit],
        "a command reloads only the audit"
    );
    assert!(m.acts.running.is_empty());
    let toast = m.toast.clone().expect("toast");
    assert!(toast.error, "a failure is an error toast");
    update(&mut m, Msg::Tick(T0 + 65_000));
    let screen = render(&m);
    assert!(!screen.contains("▶ run"), "nothing in flight:\n{screen}");
    assert!(screen.contains(" Last action "), "{screen}");
    assert!(
        screen.contains("failed 1m ago: /usr/local/bin/cn-relay-admin failed (exit 2)"),
        "{screen}"
    );
    assert!(screen.contains("| error: shard 3 unreachable"), "{screen}");
    insta::assert_snapshot!("actions_finished", screen);

    // A succeeded backup reloads the audit and the backups, and shows its verification.
    let mut m = model();
    open_actions(&mut m, 0);
    plan_selected(
        &mut m,
        &Request::Backup {
            target: "cn-relay".into(),
        },
    );
    let cmds = press(&mut m, KeyCode::Char('y'));
    assert_eq!(executes(&cmds).len(), 1);
    let mut o = outcome(
        "succeeded",
        "wrote cn-relay-sqlite-20261125T140000Z.db (12.3 MB), verified",
    );
    o.verification = Some("integrity_check ok".into());
    let cmds = update(
        &mut m,
        Msg::ActionDone {
            target: 0,
            kind: ActionKind::Backup,
            outcome: Box::new(o),
        },
    );
    assert_eq!(cmds, vec![Cmd::LoadAudit, Cmd::LoadBackups(0)]);
    let screen = render(&m);
    assert!(
        screen.contains("succeeded 0s ago: wrote cn-relay-sqlite"),
        "{screen}"
    );
    assert!(
        screen.contains("verification: integrity_check ok"),
        "{screen}"
    );
}

#[test]
fn actions_view_backups_with_a_stale_and_a_failed_generation() {
    let mut m = model();
    open_actions(&mut m, 0);
    update(
        &mut m,
        Msg::Backups {
            target: 0,
            backups: Box::new(Backups {
                rows: vec![
                    BackupRow {
                        file: "cn-relay-sqlite-20261125T020000Z.db".into(),
                        at_ms: T0 - 12 * HOUR,
                        bytes: 0,
                        verified: false,
                        note: "integrity_check: database disk image is malformed".into(),
                    },
                    BackupRow {
                        file: "cn-relay-sqlite-20261123T020000Z.db".into(),
                        at_ms: T0 - 60 * HOUR,
                        bytes: 12_900_000,
                        verified: true,
                        note: "integrity_check ok".into(),
                    },
                ],
                error: None,
                drill: None,
                max_age_ms: 24 * HOUR,
                loaded: true,
            }),
        },
    );
    update(&mut m, Msg::Audit(Ok(audit_records())));
    let screen = render(&m);
    assert!(
        screen.contains("STALE: the newest verified backup is 2d12h old"),
        "{screen}"
    );
    assert!(screen.contains("FAILED"), "{screen}");
    assert!(screen.contains("verified"), "{screen}");
    assert!(
        screen.contains("alert when the newest verified is older than 1d"),
        "{screen}"
    );
    // The audit section shows this target's records only.
    assert!(
        screen.contains("integrity_check ok, 20000 rows"),
        "{screen}"
    );
    assert!(
        !screen.contains("already running"),
        "overlay's record:\n{screen}"
    );
    insta::assert_snapshot!("actions_backups", screen);

    // A directory that cannot be read says so instead of "STALE".
    update(
        &mut m,
        Msg::Backups {
            target: 0,
            backups: Box::new(Backups {
                error: Some("/srv/cn-relay/backup: permission denied".into()),
                max_age_ms: 24 * HOUR,
                loaded: true,
                ..Backups::default()
            }),
        },
    );
    let screen = render(&m);
    assert!(
        screen.contains("cannot list backups: /srv/cn-relay/backup: permission denied"),
        "{screen}"
    );
    assert!(!screen.contains("STALE"), "{screen}");
}

#[test]
fn read_only_shows_a_banner_and_enter_plans_nothing() {
    let mut m = model_of(&fake_config(), true);
    open_actions(&mut m, 0);
    let screen = render(&m);
    assert!(screen.contains("READ-ONLY"), "{screen}");
    assert!(
        screen.contains("READ-ONLY: every action is refused"),
        "{screen}"
    );
    insta::assert_snapshot!("actions_read_only", screen);
    for i in 0..m.acts.offered[0].len() {
        press(&mut m, KeyCode::Char('g'));
        for _ in 0..i {
            press(&mut m, KeyCode::Char('j'));
        }
        m.toast = None;
        let cmds = press(&mut m, KeyCode::Enter);
        assert!(
            !cmds.iter().any(|c| matches!(c, Cmd::Plan(_))),
            "offer {i} planned in read-only mode: {cmds:?}"
        );
        assert!(m.popup.is_none(), "offer {i}: {:?}", m.popup);
        assert!(m.acts.planning.is_none());
        let toast = m.toast.clone().expect("a refusal toast");
        assert!(toast.error);
        assert!(toast.text.starts_with("read-only:"), "{}", toast.text);
    }
}

#[test]
fn a_target_read_only_in_its_config_is_refused_too() {
    let text = config_text(Path::new("/srv/a.db"), Path::new("/srv/b")).replace(
        "health = [\"http://127.0.0.1:1/healthz\"]",
        "health = [\"http://127.0.0.1:1/healthz\"]\nread_only = true",
    );
    let config = Config::parse(&text, None, &|_| None).expect("config");
    let mut m = model_of(&config, false);
    open_actions(&mut m, 0);
    let screen = render(&m);
    assert!(
        screen.contains("target cn-relay is read_only in the config"),
        "{screen}"
    );
    assert!(!screen.contains(" READ-ONLY "), "not global:\n{screen}");
    let cmds = press(&mut m, KeyCode::Enter);
    assert!(cmds.is_empty(), "{cmds:?}");
    // The overlay has no such switch.
    press(&mut m, KeyCode::Esc);
    open_actions(&mut m, 1);
    let cmds = press(&mut m, KeyCode::Enter);
    assert_eq!(
        cmds,
        vec![Cmd::Plan(Request::Backup {
            target: "overlay".into()
        })]
    );
}

#[test]
fn low_risk_plan_popup_focuses_cancel() {
    let mut m = model();
    open_actions(&mut m, 0);
    select_offer(&mut m, "Run flush-cache");
    plan_selected(&mut m, &run_req("flush-cache"));
    let screen = render(&m);
    assert!(screen.contains("Confirm"), "{screen}");
    assert!(
        screen.contains("Run flush-cache on cn-relay (drop the relay's read cache)"),
        "{screen}"
    );
    assert!(
        screen.contains("1. /usr/local/bin/cn-relay-admin cache flush --all"),
        "{screen}"
    );
    assert!(screen.contains("[ Cancel ]   [ Run: y ]"), "{screen}");
    assert!(
        screen.contains("y runs it · Enter, n or Esc cancels"),
        "{screen}"
    );
    insta::assert_snapshot!("plan_low_risk", screen);
}

#[test]
fn a_real_backup_plan_of_a_sqlite_file_shows_every_step() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("app.db");
    {
        let c = rusqlite::Connection::open(&db).expect("open");
        c.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
            .expect("create");
    }
    let backup_dir = dir.path().join("backup");
    let config = config_with(&db, &backup_dir);
    let mut m = model_of(&config, false);
    open_actions(&mut m, 0);
    let req = Request::Backup {
        target: "cn-relay".into(),
    };
    assert_eq!(press(&mut m, KeyCode::Enter), vec![Cmd::Plan(req.clone())]);
    let p = rt()
        .block_on(actions_of(&config).plan(&req, true))
        .expect("plan");
    assert_eq!(p.risk, Risk::Low);
    let lines = p.plan_lines();
    deliver(&mut m, p.clone());
    m.size = (160, 40);
    let screen = render(&m);
    assert!(
        screen.contains("Back up cn-relay (SQLite online backup, integrity_check, keep 7)"),
        "{screen}"
    );
    assert!(screen.contains("risk low"), "{screen}");
    assert!(!lines.is_empty());
    for (i, l) in lines.iter().enumerate() {
        // Each plan line is shown in full (wrapped if long): its first 40 characters at least.
        let head: String = format!("{:>2}. {l}", i + 1).chars().take(40).collect();
        assert!(screen.contains(&head), "{head:?}:\n{screen}");
    }
    assert!(
        !backup_dir.exists() || std::fs::read_dir(&backup_dir).expect("dir").count() == 0,
        "planning wrote nothing"
    );
    // Enter cancels; y runs this very plan with a plain yes.
    let cmds = press(&mut m, KeyCode::Enter);
    assert!(cmds.is_empty() && m.popup.is_none(), "{cmds:?}");
    deliver(&mut m, p.clone());
    let cmds = press(&mut m, KeyCode::Char('y'));
    let ex = executes(&cmds);
    assert_eq!(ex.len(), 1, "{cmds:?}");
    assert_eq!(*ex[0].0, p);
    assert_eq!(*ex[0].1, Confirmation::Yes);
    assert_eq!(m.acts.running.len(), 1);
    assert_eq!(m.acts.running[0].kind, ActionKind::Backup);
    assert!(render(&m).contains("▶ backup cn-relay: starting"));
}

#[test]
fn high_risk_popup_before_and_after_a_wrong_confirmation() {
    let mut m = model();
    open_actions(&mut m, 0);
    select_offer(&mut m, "Run restart");
    plan_selected(&mut m, &run_req("restart"));
    let before = render(&m);
    assert!(before.contains("Confirm — high risk"), "{before}");
    assert!(before.contains("risk HIGH"), "{before}");
    assert!(
        before.contains("Type cn-relay and Enter to run it (Esc cancels):"),
        "{before}"
    );
    typed(&mut m, "cn-rel");
    let typing = render(&m);
    assert!(typing.contains("> cn-rel▏"), "{typing}");
    let cmds = press(&mut m, KeyCode::Enter);
    assert!(cmds.is_empty(), "{cmds:?}");
    let after = render(&m);
    assert!(
        after.contains("\"cn-rel\" does not match — type \"cn-relay\" exactly, or Esc to cancel"),
        "{after}"
    );
    assert!(after.contains("> ▏"), "the field is cleared:\n{after}");
    insta::assert_snapshot!(
        "plan_high_risk",
        format!("{before}=== after a wrong word\n{after}")
    );
    // Typing again clears the error.
    typed(&mut m, "c");
    assert!(!render(&m).contains("does not match"));
}

#[test]
fn topic_picker_lists_the_topics_by_rate_and_filters() {
    let mut m = model();
    open_actions(&mut m, 0);
    select_offer(&mut m, "Suspend a topic");
    let cmds = press(&mut m, KeyCode::Enter);
    assert!(cmds.is_empty(), "the picker comes first: {cmds:?}");
    let Some(Popup::TopicPick(p)) = &m.popup else {
        panic!("{:?}", m.popup);
    };
    let ids: Vec<&str> = p.topics.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "kukuri:topic:spam-wave",
            "kukuri:tauri:public",
            "kukuri:topic:rust",
            "kukuri:topic:q&a/help #1"
        ],
        "busiest first"
    );
    let screen = render(&m);
    assert!(screen.contains("suspend which topic?"), "{screen}");
    assert!(screen.contains("15/s"), "{screen}");
    insta::assert_snapshot!("topic_picker", screen);

    // Down then Enter takes the second row.
    press(&mut m, KeyCode::Down);
    let cmds = press(&mut m, KeyCode::Enter);
    assert_eq!(
        cmds,
        vec![Cmd::Plan(Request::Suspend {
            target: "cn-relay".into(),
            topic: "kukuri:tauri:public".into()
        })]
    );
    assert!(m.popup.is_none());
    // One plan at a time: while it is awaited another is refused; Esc drops the awaited one
    // (and keeps the view).
    assert!(m.acts.planning.is_some());
    press(&mut m, KeyCode::Esc);
    assert!(m.acts.planning.is_none());
    assert_eq!(m.view, View::Actions { target: 0 });

    // Typing filters; an id nobody has seen is planned as typed.
    press(&mut m, KeyCode::Enter);
    typed(&mut m, "rust");
    let screen = render(&m);
    assert!(screen.contains("kukuri:topic:rust"), "{screen}");
    assert!(!screen.contains("spam-wave"), "{screen}");
    for _ in 0..4 {
        press(&mut m, KeyCode::Backspace);
    }
    typed(&mut m, "kukuri:topic:new one");
    assert!(render(&m).contains("no listed topic matches"));
    let cmds = press(&mut m, KeyCode::Enter);
    assert_eq!(
        cmds,
        vec![Cmd::Plan(Request::Suspend {
            target: "cn-relay".into(),
            topic: "kukuri:topic:new one".into()
        })]
    );
    // The picker's keys do not leak: `j`, `q`, `a` were typed, not run.
    assert_eq!(m.view, View::Actions { target: 0 });
    assert!(!m.quit);
}

#[test]
fn cancel_confirmation_and_nothing_running() {
    let mut m = model();
    open_actions(&mut m, 0);
    let cmds = press(&mut m, KeyCode::Char('x'));
    assert!(cmds.is_empty());
    assert!(m.popup.is_none());
    let toast = m.toast.clone().expect("toast");
    assert_eq!(toast.text, "nothing is running on this target");

    let mut m = running_flush();
    let cmds = press(&mut m, KeyCode::Char('x'));
    assert!(cmds.is_empty());
    assert_eq!(m.popup, Some(Popup::ConfirmCancel { target: 0 }));
    let screen = render(&m);
    assert!(screen.contains("Cancel the action?"), "{screen}");
    assert!(
        screen.contains("Run flush-cache on cn-relay (drop the relay's read cache)"),
        "{screen}"
    );
    insta::assert_snapshot!("confirm_cancel", screen);
    // Enter, n and Esc let it run.
    for k in [KeyCode::Enter, KeyCode::Char('n'), KeyCode::Esc] {
        let cmds = press(&mut m, k);
        assert!(cmds.is_empty(), "{k:?}: {cmds:?}");
        assert!(m.popup.is_none(), "{k:?}");
        press(&mut m, KeyCode::Char('x'));
    }
    let cmds = press(&mut m, KeyCode::Char('y'));
    assert_eq!(
        cmds,
        vec![Cmd::CancelAction {
            target: 0,
            kind: ActionKind::Run
        }]
    );
    assert!(m.popup.is_none());
}

#[test]
fn audit_view_lists_every_record_newest_last() {
    let mut m = model();
    let cmds = press(&mut m, KeyCode::Char('A'));
    assert_eq!(cmds, vec![Cmd::LoadAudit]);
    assert!(render(&m).contains("no actions recorded yet"));
    update(&mut m, Msg::Audit(Ok(audit_records())));
    let screen = render(&m);
    assert!(screen.contains("[A] Audit log"), "{screen}");
    assert!(screen.contains("POST answered 503"), "{screen}");
    assert!(screen.contains("overlay"), "{screen}");
    insta::assert_snapshot!("audit_view", screen);
    // An unreadable file says so.
    update(
        &mut m,
        Msg::Audit(Err(
            "/var/lib/watchdeck/audit.jsonl: permission denied".into()
        )),
    );
    assert!(render(&m)
        .contains("cannot read the audit file: /var/lib/watchdeck/audit.jsonl: permission denied"));
    press(&mut m, KeyCode::Esc);
    assert_eq!(m.view, View::Main);
}

// ---------------------------------------------------------------------------------------------
// Behaviour: what confirms and what does not.

#[test]
fn enter_never_confirms_a_low_risk_plan() {
    let mut m = model();
    open_actions(&mut m, 0);
    for key in [
        KeyCode::Enter,
        KeyCode::Char('n'),
        KeyCode::Esc,
        KeyCode::Char('Y'),
    ] {
        plan_selected(
            &mut m,
            &Request::Backup {
                target: "cn-relay".into(),
            },
        );
        let cmds = press(&mut m, key);
        assert!(executes(&cmds).is_empty(), "{key:?}: {cmds:?}");
        assert!(m.acts.running.is_empty(), "{key:?}");
        if key != KeyCode::Char('Y') {
            assert!(m.popup.is_none(), "{key:?} closes the dialog");
        }
        m.popup = None;
    }
}

#[test]
fn only_the_exact_word_confirms_a_high_risk_plan() {
    for (req, word) in [
        (run_req("restart"), "cn-relay"),
        (
            Request::Rollback {
                target: "cn-relay".into(),
            },
            "cn-relay",
        ),
        (
            Request::Suspend {
                target: "cn-relay".into(),
                topic: "kukuri:topic:spam-wave".into(),
            },
            "kukuri:topic:spam-wave",
        ),
    ] {
        let p = plan(&req);
        assert_eq!(p.risk, Risk::High, "{req:?}");
        assert_eq!(p.confirm_word, word);
        let mut m = model();
        open_actions(&mut m, 0);
        deliver(&mut m, p.clone());
        let prefix: String = word.chars().take(word.chars().count() - 1).collect();
        let attempts: Vec<Vec<KeyCode>> = vec![
            vec![KeyCode::Char('y')],
            vec![KeyCode::Enter],
            "yyyy".chars().map(KeyCode::Char).collect(),
            prefix.chars().map(KeyCode::Char).collect(),
            format!("{word}x").chars().map(KeyCode::Char).collect(),
            word.to_uppercase().chars().map(KeyCode::Char).collect(),
            format!(" {word}").chars().map(KeyCode::Char).collect(),
        ];
        for keys in attempts {
            let mut cmds = Vec::new();
            for k in &keys {
                cmds.extend(press(&mut m, *k));
            }
            // A key repeat of Enter, too.
            cmds.extend(update(
                &mut m,
                Msg::Key(KeyEvent::new_with_kind(
                    KeyCode::Enter,
                    KeyModifiers::NONE,
                    KeyEventKind::Press,
                )),
            ));
            cmds.extend(update(
                &mut m,
                Msg::Key(KeyEvent::new_with_kind(
                    KeyCode::Enter,
                    KeyModifiers::NONE,
                    KeyEventKind::Repeat,
                )),
            ));
            assert!(executes(&cmds).is_empty(), "{req:?} {keys:?}: {cmds:?}");
            assert!(m.acts.running.is_empty());
            assert!(
                matches!(&m.popup, Some(Popup::Plan(pp)) if pp.typed.is_empty() && pp.error.is_some()),
                "still asking, field cleared: {:?}",
                m.popup
            );
            assert_eq!(
                m.view,
                View::Actions { target: 0 },
                "keys were typed, not run"
            );
        }
        // Backspace fixes a typo; then the exact word and Enter run it.
        typed(&mut m, &format!("{word}z"));
        press(&mut m, KeyCode::Backspace);
        let cmds = press(&mut m, KeyCode::Enter);
        let ex = executes(&cmds);
        assert_eq!(ex.len(), 1, "{req:?}: {cmds:?}");
        assert_eq!(*ex[0].0, p);
        assert_eq!(*ex[0].1, Confirmation::Typed(word.to_owned()));
        assert!(m.popup.is_none());
        assert_eq!(m.acts.running.len(), 1);
    }
}

#[test]
fn esc_and_ctrl_c_close_every_action_popup_and_never_confirm() {
    let mut m = model();
    open_actions(&mut m, 0);
    // Plan dialogs.
    for req in [run_req("flush-cache"), run_req("restart")] {
        deliver(&mut m, plan(&req));
        typed(&mut m, "cr");
        let cmds = press(&mut m, KeyCode::Esc);
        assert!(cmds.is_empty());
        assert!(m.popup.is_none(), "{req:?}");
        assert_eq!(
            m.view,
            View::Actions { target: 0 },
            "Esc closes only the popup"
        );
        // Ctrl-C backs out of the dialog (its help says Cancel); it neither runs nor quits.
        deliver(&mut m, plan(&req));
        let cmds = update(&mut m, ctrl_c());
        assert!(cmds.is_empty(), "{cmds:?}");
        assert!(m.popup.is_none(), "{req:?}");
        assert!(m.acts.running.is_empty());
    }
    // The topic picker.
    select_offer(&mut m, "Resume a topic");
    press(&mut m, KeyCode::Enter);
    assert!(matches!(m.popup, Some(Popup::TopicPick(_))));
    typed(&mut m, "spam");
    press(&mut m, KeyCode::Esc);
    assert!(m.popup.is_none());
    press(&mut m, KeyCode::Enter);
    assert!(update(&mut m, ctrl_c()).is_empty());
    assert!(m.popup.is_none());
    // The cancel confirmation.
    m.popup = Some(Popup::ConfirmCancel { target: 0 });
    press(&mut m, KeyCode::Esc);
    assert!(m.popup.is_none());
    // With no dialog open, Ctrl-C quits as always.
    assert_eq!(update(&mut m, ctrl_c()), vec![Cmd::Quit]);
    // A failed plan is a toast, not a dialog.
    let req = Request::Run {
        target: "cn-relay".into(),
        name: "x".into(),
    };
    m.acts.planning = Some((req.clone(), "preparing".into()));
    update(
        &mut m,
        Msg::Planned(req, Err("cn-relay has no command named \"x\"".into())),
    );
    assert!(m.popup.is_none());
    assert!(m.acts.planning.is_none());
    assert!(m.toast.as_ref().is_some_and(|t| t.error));
}

#[test]
fn a_confirmed_plan_for_an_unknown_target_runs_nothing() {
    // A plan whose target is not in this model (a config reload, a stale message) is dropped.
    let other = Config::parse(
        "[[target]]\nname = \"elsewhere\"\nhealth = [\"http://127.0.0.1:9/healthz\"]\n[[target.command]]\nname = \"x\"\nargv = [\"true\"]\nrisk = \"low\"\n",
        None,
        &|_| None,
    )
    .expect("config");
    let p = rt()
        .block_on(actions_of(&other).plan(
            &Request::Run {
                target: "elsewhere".into(),
                name: "x".into(),
            },
            false,
        ))
        .expect("plan");
    let mut m = model();
    open_actions(&mut m, 0);
    deliver(&mut m, p);
    let cmds = press(&mut m, KeyCode::Char('y'));
    assert!(executes(&cmds).is_empty(), "{cmds:?}");
    assert!(m.acts.running.is_empty());
}

#[test]
fn a_late_plan_never_takes_the_place_of_another_dialog_or_another_request() {
    let mut m = model();
    open_actions(&mut m, 0);
    select_offer(&mut m, "Run flush-cache");
    let req = run_req("flush-cache");
    assert_eq!(press(&mut m, KeyCode::Enter), vec![Cmd::Plan(req.clone())]);
    // While the plan is out, the operator opens the quit confirmation.
    m.acts.running.push(watchdeck::app::acting::Running {
        target: 2,
        kind: ActionKind::Backup,
        title: "Back up mail".into(),
        started_ms: T0,
        phase: "dumping".into(),
        bytes: None,
        output: std::collections::VecDeque::new(),
    });
    typed(&mut m, "q");
    assert_eq!(m.popup, Some(Popup::ConfirmQuit));
    // The plan arrives: dropped, the quit dialog stays, and `y` answers the quit question.
    update(&mut m, Msg::Planned(req.clone(), Ok(Box::new(plan(&req)))));
    assert_eq!(m.popup, Some(Popup::ConfirmQuit));
    assert!(m.acts.planning.is_none());
    assert!(m.toast.as_ref().is_some_and(|t| t.text.contains("dropped")));
    let cmds = typed(&mut m, "y");
    assert!(
        !cmds.iter().any(|c| matches!(c, Cmd::Execute(..))),
        "y answered the quit dialog, it ran nothing: {cmds:?}"
    );
    // A plan for a request nobody is waiting for is ignored.
    let mut m = model();
    open_actions(&mut m, 0);
    update(&mut m, Msg::Planned(req.clone(), Ok(Box::new(plan(&req)))));
    assert!(m.popup.is_none());
}

#[test]
fn a_second_plan_of_a_running_action_is_refused_at_confirmation() {
    let mut m = model();
    open_actions(&mut m, 0);
    select_offer(&mut m, "Run flush-cache");
    let req = run_req("flush-cache");
    plan_selected(&mut m, &req);
    let cmds = typed(&mut m, "y");
    assert!(matches!(cmds.as_slice(), [Cmd::Execute(..)]), "{cmds:?}");
    // The same action planned again (asked for before the first ran) and confirmed.
    deliver(&mut m, plan(&req));
    let cmds = typed(&mut m, "y");
    assert!(cmds.is_empty(), "no second run: {cmds:?}");
    assert_eq!(m.acts.running.len(), 1, "the running one is still tracked");
    assert!(m
        .toast
        .as_ref()
        .is_some_and(|t| t.text.contains("already running")));
}
