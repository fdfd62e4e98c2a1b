//! The Kubernetes rollback (runbook 004 §8.2) through the action layer with a `kubectl` shim
//! found on PATH (ahead of any real kubectl), which records every argv it is given: the dry run
//! for the preview, then undo, then rollout status — and nothing at all in read-only mode.
//! The real binary's `action` command runs it, with PATH given to that process only (tests
//! share one process: none may change its environment).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn watchdeck(path: &str, config: &Path, state: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_watchdeck"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("PATH", path)
        .env("XDG_STATE_HOME", state)
        .env_remove("WATCHDECK_CONFIG")
        .env_remove("WATCHDECK_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run watchdeck")
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn kubectl_on_path_gets_dry_run_undo_then_status() {
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

    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
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
        ),
    )
    .expect("config");
    let home = dir.path().join("home");
    let run = |args: &[&str]| watchdeck(&path, &config, &home, args);
    let rollback = ["action", "rollback", "--target", "rest-api"];

    // Read-only: the preview does not run the dry run, and nothing runs at all.
    let preview = run(&[&["--read-only"][..], &rollback, &["--dry-run"]].concat());
    assert_eq!(preview.status.code(), Some(0), "{}", text(&preview));
    assert!(
        !String::from_utf8_lossy(&preview.stdout).contains("dry run:"),
        "{}",
        text(&preview)
    );
    let out = run(&[&["--read-only"][..], &rollback, &["--yes"]].concat());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("refused"),
        "{}",
        text(&out)
    );
    assert!(!log.exists(), "kubectl ran in read-only mode");

    let preview = run(&[&rollback[..], &["--dry-run"]].concat());
    assert_eq!(preview.status.code(), Some(0), "{}", text(&preview));
    assert!(
        String::from_utf8_lossy(&preview.stdout)
            .contains("dry run:\n  | deployment.apps/rosterhub-api rolled back\n"),
        "{}",
        text(&preview)
    );
    // --yes stands for typing the target's name, as the operator would in the cockpit.
    let out = run(&[&rollback[..], &["--yes"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("succeeded"),
        "{}",
        text(&out)
    );
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
