//! The action layer's safety rules, with real child processes, real lock files and a real audit
//! file: read-only spawns nothing, confirmations by risk, single-flight across 50 triggers,
//! intent before effect, secrets masked.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use watchdeck::actions::{Actions, Confirmation, Ctx, Request};
use watchdeck::config::Config;

const CANARY: &str = "canary-7d1f0c9e";

/// A target with two commands: `touch` (low risk) writing a marker file, and a slow one
/// (high risk) appending a line to a file, then sleeping.
fn config(dir: &Path, read_only_target: bool) -> Config {
    let text = format!(
        r#"
[actions]
state_dir = "{state}"

[[target]]
name = "svc"
health = ["http://127.0.0.1:9/healthz"]
read_only = {read_only_target}
headers = {{ Authorization = "Bearer ${{TOKEN}}" }}

[[target.command]]
name = "touch"
argv = ["touch", "{marker}"]
risk = "low"

[[target.command]]
name = "slow"
argv = ["sh", "-c", "echo run >> {runs}; env > {env}; sleep 1"]
timeout = "20s"

[[target.command]]
name = "leak"
argv = ["echo", "token is {canary}"]
risk = "low"
"#,
        state = dir.join("state").display(),
        marker = dir.join("marker").display(),
        runs = dir.join("runs").display(),
        env = dir.join("env").display(),
        canary = CANARY,
    );
    Config::parse(&text, None, &|k| (k == "TOKEN").then(|| CANARY.to_owned()))
        .expect("config parses")
}

fn actions(dir: &Path, read_only: bool, read_only_target: bool) -> Actions {
    Actions::new(
        &config(dir, read_only_target),
        read_only,
        &dir.join("unused"),
    )
}

fn run_req(name: &str) -> Request {
    Request::Run {
        target: "svc".into(),
        name: name.into(),
    }
}

fn ctx() -> Ctx {
    Ctx::detached(Duration::from_secs(30)).0
}

fn audit_lines(dir: &Path) -> Vec<serde_json::Value> {
    let path: PathBuf = dir.join("state/audit.jsonl");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
        .collect()
}

#[tokio::test]
async fn read_only_spawns_nothing_and_writes_nothing() {
    for (global, per_target) in [(true, false), (false, true)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = actions(dir.path(), global, per_target);
        let plan = a
            .plan(&run_req("touch"), true)
            .await
            .expect("plan is shown");
        let out = a
            .execute(
                &plan,
                &Confirmation::Yes,
                ctx(),
                &Arc::new(AtomicBool::new(false)),
            )
            .await;
        assert_eq!(out.result, "refused");
        assert!(out.summary.contains("read-only"), "{}", out.summary);
        assert!(
            !dir.path().join("marker").exists(),
            "a child ran in read-only mode"
        );
        // Not even a lock file or an audit line: nothing below the gate happened.
        assert!(!dir.path().join("state").exists());
    }
}

#[tokio::test]
async fn confirmation_follows_risk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = actions(dir.path(), false, false);
    let never = Arc::new(AtomicBool::new(false));
    let slow = a.plan(&run_req("slow"), false).await.expect("plan");
    assert_eq!(slow.confirm_word, "svc");
    for bad in [
        Confirmation::Yes,
        Confirmation::Typed(String::new()),
        Confirmation::Typed("y".into()),
        Confirmation::Typed("sv".into()),
        Confirmation::Typed("svc ".into()),
    ] {
        let out = a.execute(&slow, &bad, ctx(), &never).await;
        assert_eq!(
            out.result, "refused",
            "{bad:?} confirmed a high-risk action"
        );
    }
    assert!(!dir.path().join("runs").exists());
    let out = a
        .execute(&slow, &Confirmation::Typed("svc".into()), ctx(), &never)
        .await;
    assert_eq!(out.result, "succeeded", "{}", out.summary);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("runs")).expect("ran"),
        "run\n"
    );

    let touch = a.plan(&run_req("touch"), false).await.expect("plan");
    let out = a.execute(&touch, &Confirmation::Yes, ctx(), &never).await;
    assert!(out.succeeded(), "{}", out.summary);
    assert!(dir.path().join("marker").exists());
}

#[tokio::test]
async fn fifty_concurrent_triggers_run_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Arc::new(actions(dir.path(), false, false));
    let plan = a.plan(&run_req("slow"), false).await.expect("plan");
    let never = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (a, plan, never) = (a.clone(), plan.clone(), never.clone());
        tasks.push(tokio::spawn(async move {
            a.execute(&plan, &Confirmation::Typed("svc".into()), ctx(), &never)
                .await
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.expect("task"));
    }
    let ran: Vec<_> = outcomes.iter().filter(|o| o.succeeded()).collect();
    assert_eq!(ran.len(), 1, "exactly one execution");
    let refused: Vec<_> = outcomes.iter().filter(|o| o.result == "refused").collect();
    assert_eq!(refused.len(), 49);
    assert!(
        refused[0].summary.contains("already running") && refused[0].summary.contains("pid"),
        "{}",
        refused[0].summary
    );
    let runs = std::fs::read_to_string(dir.path().join("runs")).expect("runs");
    assert_eq!(runs.lines().count(), 1);
}

#[tokio::test]
async fn intent_is_written_before_the_effect_and_secrets_never_leak() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = actions(dir.path(), false, false);
    let never = Arc::new(AtomicBool::new(false));
    let plan = a.plan(&run_req("slow"), false).await.expect("plan");
    let out = a
        .execute(&plan, &Confirmation::Typed("svc".into()), ctx(), &never)
        .await;
    assert!(out.succeeded());
    let leak = a.plan(&run_req("leak"), false).await.expect("plan");
    // The plan itself shows the argv masked.
    assert!(
        leak.plan_lines().iter().all(|l| !l.contains(CANARY)),
        "{:?}",
        leak.plan_lines()
    );
    let out = a.execute(&leak, &Confirmation::Yes, ctx(), &never).await;
    assert!(
        out.stdout_tail.iter().all(|l| !l.contains(CANARY)),
        "{:?}",
        out.stdout_tail
    );

    let lines = audit_lines(dir.path());
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0]["phase"], "intent");
    assert_eq!(lines[0]["action"], "run");
    assert_eq!(lines[0]["params"]["name"], "slow");
    assert!(lines[0]["plan"][0]
        .as_str()
        .expect("plan")
        .contains("sh -c"));
    assert_eq!(lines[1]["phase"], "outcome");
    assert_eq!(lines[1]["result"], "succeeded");
    assert_eq!(lines[1]["id"], lines[0]["id"]);
    assert!(lines[1]["duration_ms"].as_u64().is_some());
    assert!(lines[0]["operator"]["uid"].as_u64().is_some());
    let text = std::fs::read_to_string(dir.path().join("state/audit.jsonl")).expect("audit");
    assert!(!text.contains(CANARY));
    // The child's environment never carried the header secret.
    let env = std::fs::read_to_string(dir.path().join("env")).expect("env");
    assert!(!env.contains(CANARY));
    let mode = std::fs::metadata(dir.path().join("state/audit.jsonl"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn cancel_and_timeout_are_outcomes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = actions(dir.path(), false, false);
    let never = Arc::new(AtomicBool::new(false));
    let plan = a.plan(&run_req("slow"), false).await.expect("plan");
    let c = ctx();
    let cancel = c.cancel.clone();
    // Cancel once the command runs (it has written its line and sleeps for a second).
    let runs = dir.path().join("runs");
    tokio::spawn(async move {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !runs.exists() && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        cancel.cancel();
    });
    let out = a
        .execute(&plan, &Confirmation::Typed("svc".into()), c, &never)
        .await;
    assert_eq!(out.result, "cancelled", "{}", out.summary);
    let (mut c, _rx) = Ctx::detached(Duration::from_millis(200));
    c.secrets.clear();
    let out = a
        .execute(&plan, &Confirmation::Typed("svc".into()), c, &never)
        .await;
    assert_eq!(out.result, "timed-out", "{}", out.summary);
    let headless = Arc::new(AtomicBool::new(true));
    let out = a
        .execute(&plan, &Confirmation::Typed("svc".into()), ctx(), &headless)
        .await;
    assert_eq!(out.result, "completed-headless");
}

#[tokio::test]
async fn a_confirmation_is_void_when_the_releases_change_underneath() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("app");
    for r in ["20261101T000000Z", "20261115T000000Z", "20261124T000000Z"] {
        std::fs::create_dir_all(root.join("releases").join(r)).expect("release");
    }
    std::os::unix::fs::symlink("releases/20261124T000000Z", root.join("current")).expect("link");
    let marker = dir.path().join("restarted");
    let text = format!(
        r#"
[actions]
state_dir = "{state}"

[[target]]
name = "overlay"
health = ["http://127.0.0.1:9/healthz"]

[target.rollback]
kind = "symlink"
root = "{root}"
restart = ["touch", "{marker}"]
"#,
        state = dir.path().join("state").display(),
        root = root.display(),
        marker = marker.display(),
    );
    let config = Config::parse(&text, None, &|_| None).expect("config");
    let a = Actions::new(&config, false, dir.path());
    let plan = a
        .plan(
            &Request::Rollback {
                target: "overlay".into(),
            },
            false,
        )
        .await
        .expect("plan");
    assert!(plan.title.contains("to 20261115T000000Z"), "{}", plan.title);
    // A deploy lands between the preview and the confirmation.
    std::fs::create_dir_all(root.join("releases/20261125T000000Z")).expect("new release");
    let out = a
        .execute(
            &plan,
            &Confirmation::Typed("overlay".into()),
            ctx(),
            &Arc::new(AtomicBool::new(false)),
        )
        .await;
    assert_eq!(out.result, "refused");
    assert!(out.summary.contains("void"), "{}", out.summary);
    assert!(!marker.exists(), "nothing ran");
    assert_eq!(
        std::fs::read_link(root.join("current")).expect("link"),
        Path::new("releases/20261124T000000Z")
    );
}

#[test]
fn placeholders_a_command_cannot_fill_are_refused_at_load() {
    let text = r#"
[[target]]
name = "overlay"
health = ["http://127.0.0.1:9/healthz"]

[target.rollback]
kind = "symlink"
root = "/opt/app"
restart = ["systemctl", "restart", "app@{release}"]

[[target.command]]
name = "purge"
argv = ["purge-topic", "{topic}"]
"#;
    let msg = Config::parse(text, None, &|_| None)
        .expect_err("unfillable placeholders")
        .to_string();
    assert!(
        msg.contains("restart: {release} cannot be filled here"),
        "{msg}"
    );
    assert!(msg.contains("argv: {topic} cannot be filled here"), "{msg}");
    // {target} is filled: the restart runs for this target, not the literal text.
    let ok = text
        .replace("app@{release}", "app@{target}")
        .replace("\"{topic}\"", "\"{{topic}}\"");
    Config::parse(&ok, None, &|_| None).expect("{target} and escaped braces are fine");
}
