//! The Kubernetes rollback (runbook 004 §8.2) through the action layer with a `kubectl` shim
//! found on PATH (ahead of any real kubectl), which records every argv it is given: the dry run
//! for the preview, then undo, then rollout status — and nothing at all in read-only mode.
//! One test in its own binary: it changes PATH for the whole process.

use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use watchdeck::actions::{Actions, Confirmation, Ctx, Request};
use watchdeck::config::Config;

/// Runs `plan` confirmed with the target's name, as the operator would type it.
async fn confirmed(
    actions: &Actions,
    plan: &watchdeck::actions::exec::Prepared,
) -> watchdeck::actions::exec::Outcome {
    let never = Arc::new(AtomicBool::new(false));
    actions
        .execute(
            plan,
            &Confirmation::Typed("rest-api".into()),
            Ctx::detached(Duration::from_secs(30)).0,
            &never,
        )
        .await
}

#[tokio::test]
async fn kubectl_on_path_gets_dry_run_undo_then_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin");
    let log = dir.path().join("kubectl.log");
    let shim = bin.join("kubectl");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> {}\necho \"deployment.apps/rosterhub-api rolled back\"\n",
            log.display()
        ),
    )
    .expect("shim");
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    std::env::set_var("PATH", path);

    let text = format!(
        r#"
[actions]
state_dir = "{state}"

[[target]]
name = "rest-api"
health = ["http://127.0.0.1:9/health"]

[target.rollback]
kind = "command"
undo = ["kubectl", "rollout", "undo", "deployment/rosterhub-api", "-n", "rosterhub"]
status = ["kubectl", "rollout", "status", "deployment/rosterhub-api", "-n", "rosterhub", "--timeout=120s"]
dry_run = ["kubectl", "rollout", "undo", "deployment/rosterhub-api", "-n", "rosterhub", "--dry-run=server"]
"#,
        state = dir.path().join("state").display()
    );
    let config = Config::parse(&text, None, &|_| None).expect("config");
    let req = Request::Rollback {
        target: "rest-api".into(),
    };

    // Read-only: the preview does not run the dry run, and nothing runs at all.
    let ro = Actions::new(&config, true, dir.path());
    let plan = ro.plan(&req, true).await.expect("plan");
    assert!(plan.dry_run.is_none());
    let out = confirmed(&ro, &plan).await;
    assert_eq!(out.result, "refused");
    assert!(!log.exists(), "kubectl ran in read-only mode");

    let a = Actions::new(&config, false, dir.path());
    let plan = a.plan(&req, true).await.expect("plan");
    assert_eq!(
        plan.dry_run.as_deref(),
        Some("deployment.apps/rosterhub-api rolled back")
    );
    let out = confirmed(&a, &plan).await;
    assert_eq!(out.result, "succeeded", "{}", out.summary);
    let calls = std::fs::read_to_string(&log).expect("log");
    assert_eq!(
        calls.lines().collect::<Vec<_>>(),
        [
            "rollout undo deployment/rosterhub-api -n rosterhub --dry-run=server",
            "rollout undo deployment/rosterhub-api -n rosterhub",
            "rollout status deployment/rosterhub-api -n rosterhub --timeout=120s",
        ]
    );
}
