//! Rollback drivers and templated commands against real parts: a temporary releases tree,
//! a restart program (a script that records each call and what `current` pointed to), a real
//! HTTP health server on 127.0.0.1 whose answer the test sets, a `kubectl` shim, and real
//! child processes for the template injection corpus.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use watchdeck::actions::child;
use watchdeck::actions::command::{expand, validate_template, TemplateError, Vars};
use watchdeck::actions::rollback::releases::{self, BAD_MARK};
use watchdeck::actions::rollback::{
    plan_command, plan_symlink, preview_dry_run, run_command, run_symlink, CommandRollbackSpec,
    RollbackError, SymlinkSpec,
};
use watchdeck::actions::{Ctx, Progress, Step};

const A: &str = "20240101T000000Z";
const B: &str = "20240201T000000Z";
const C: &str = "20240301T000000Z";

/// A health endpoint answering whatever status the test sets; counts requests.
struct Health {
    url: Url,
    status: Arc<AtomicU16>,
    hits: Arc<AtomicUsize>,
}

fn health_server(status: u16) -> Health {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let status = Arc::new(AtomicU16::new(status));
    let hits = Arc::new(AtomicUsize::new(0));
    let (st, h) = (status.clone(), hits.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            h.fetch_add(1, Ordering::SeqCst);
            let code = st.load(Ordering::SeqCst);
            let _ = write!(
                s,
                "HTTP/1.1 {code} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            );
        }
    });
    Health {
        url: Url::parse(&format!("http://{addr}/healthz")).expect("url"),
        status,
        hits,
    }
}

/// Writes an executable script and waits until it can be executed: a concurrent fork in
/// another test may briefly hold the write descriptor (ETXTBSY). Scripts exit 0 on `__probe`.
fn write_script(path: &Path, body: &str) {
    fs::write(
        path,
        format!("#!/bin/sh\n[ \"$1\" = __probe ] && exit 0\n{body}"),
    )
    .expect("write");
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod");
    for _ in 0..100 {
        match std::process::Command::new(path).arg("__probe").status() {
            Ok(s) if s.success() => return,
            Err(e) if e.raw_os_error() == Some(26) => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => panic!("script probe failed: {other:?}"),
        }
    }
    panic!("script stayed busy");
}

/// A tree with releases A, B, C, `current -> releases/C`, and a restart script that appends
/// "<current link> <args>" to `restart.log` and fails when current names `fail_on`.
struct Site {
    _dir: tempfile::TempDir,
    root: PathBuf,
    log: PathBuf,
    restart: PathBuf,
}

fn site(current: Option<&str>, fail_on: Option<&str>) -> Site {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("twi-overlay");
    for r in [A, B, C] {
        fs::create_dir_all(root.join("releases").join(r).join("bin")).expect("mkdir");
    }
    if let Some(c) = current {
        std::os::unix::fs::symlink(c, root.join("current")).expect("symlink");
    }
    let log = dir.path().join("restart.log");
    let restart = dir.path().join("restart");
    let fail = fail_on.map_or(String::new(), |f| {
        format!("case \"$link\" in *{f}) echo 'Job for twi-overlay.service failed' >&2; exit 1;; esac\n")
    });
    write_script(
        &restart,
        &format!(
            "link=$(readlink '{}/current')\necho \"$link $*\" >> '{}'\n{fail}",
            root.display(),
            log.display()
        ),
    );
    Site {
        _dir: dir,
        root,
        log,
        restart,
    }
}

impl Site {
    fn spec(&self, health: &Health) -> SymlinkSpec {
        let mut s = SymlinkSpec::new(
            "overlay",
            &self.root,
            vec![self.restart.display().to_string(), "twi-overlay".into()],
            vec![health.url.clone()],
        );
        s.health_interval = Duration::from_millis(30);
        s.health_deadline = Duration::from_secs(2);
        s
    }

    fn current(&self) -> PathBuf {
        fs::read_link(self.root.join("current")).expect("current is a link")
    }

    fn restarts(&self) -> Vec<String> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn bad(&self, name: &str) -> Option<String> {
        fs::read_to_string(self.root.join("releases").join(name).join(BAD_MARK)).ok()
    }
}

fn phases(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Progress>) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(p) = rx.try_recv() {
        if let Progress::Phase(p) = p {
            out.push(p);
        }
    }
    out
}

#[tokio::test]
async fn rollback_switches_to_the_candidate_and_restarts_once() {
    let s = site(Some(&format!("releases/{C}")), None);
    let health = health_server(200);
    let spec = s.spec(&health);
    let plan = plan_symlink(&spec).expect("plan");
    assert_eq!((plan.from.as_str(), plan.to.as_str()), (C, B));
    let lines: Vec<String> = plan.steps.iter().map(Step::describe).collect();
    assert!(lines[0].starts_with(&format!("current: releases/{C} -> releases/{B}")));
    assert!(lines[1].ends_with("restart twi-overlay"), "{lines:?}");
    assert!(
        lines[2].contains("3 consecutive healthy checks of http://127.0.0.1")
            && lines[2].contains("within 2 s"),
        "{lines:?}"
    );
    assert!(lines[3].contains("marked bad"), "{lines:?}");

    let (ctx, mut rx) = Ctx::detached(Duration::from_secs(30));
    let out = run_symlink(&spec, &plan, &ctx).await.expect("rollback");
    assert_eq!(out.healthy_checks, 3);
    assert_eq!(s.current(), PathBuf::from(format!("releases/{B}")));
    // One restart, and it ran after the switch.
    assert_eq!(s.restarts(), [format!("releases/{B} twi-overlay")]);
    assert!(health.hits.load(Ordering::SeqCst) >= 3);
    assert!(s.bad(B).is_none());
    let ph = phases(&mut rx);
    for want in [
        "switching current",
        "restarting",
        "health 1/3",
        "health 3/3",
    ] {
        assert!(ph.iter().any(|p| p == want), "{want} not in {ph:?}");
    }
    assert!(!ph.iter().any(|p| p == "reverting"), "{ph:?}");
}

#[tokio::test]
async fn failing_health_reverts_marks_bad_and_the_next_plan_skips_it() {
    let s = site(Some(&format!("releases/{C}")), None);
    let health = health_server(503);
    let spec = s.spec(&health);
    let plan = plan_symlink(&spec).expect("plan");
    assert_eq!(plan.to, B);
    let (ctx, mut rx) = Ctx::detached(Duration::from_secs(30));
    let err = run_symlink(&spec, &plan, &ctx)
        .await
        .expect_err("health never reached");
    assert!(matches!(err, RollbackError::Reverted(_)), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("reverted") && msg.contains("503"), "{msg}");
    assert_eq!(s.current(), PathBuf::from(format!("releases/{C}")));
    assert_eq!(
        s.restarts(),
        [
            format!("releases/{B} twi-overlay"),
            format!("releases/{C} twi-overlay")
        ]
    );
    let mark = s.bad(B).expect("B is marked bad");
    assert!(mark.contains("health not reached"), "{mark}");
    assert!(phases(&mut rx).iter().any(|p| p == "reverting"));

    // Health recovers, but B stays out: the next plan goes to A and says why.
    health.status.store(200, Ordering::SeqCst);
    let next = plan_symlink(&spec).expect("plan again");
    assert_eq!(next.to, A);
    assert!(next
        .steps
        .iter()
        .any(|st| st.describe().contains(&format!("skipping releases/{B}"))));
}

#[tokio::test]
async fn failing_restart_reverts_without_a_health_check() {
    let s = site(Some(&format!("releases/{C}")), Some(B));
    let health = health_server(200);
    let spec = s.spec(&health);
    let plan = plan_symlink(&spec).expect("plan");
    let (ctx, _rx) = Ctx::detached(Duration::from_secs(30));
    let err = run_symlink(&spec, &plan, &ctx)
        .await
        .expect_err("restart fails");
    let msg = err.to_string();
    assert!(
        matches!(err, RollbackError::Reverted(_)) && msg.contains("twi-overlay.service failed"),
        "{msg}"
    );
    assert_eq!(s.current(), PathBuf::from(format!("releases/{C}")));
    assert_eq!(s.restarts().len(), 2);
    assert!(s.bad(B).is_some());
    assert_eq!(health.hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn cancel_after_the_switch_still_reverts() {
    let s = site(Some(&format!("releases/{C}")), None);
    let health = health_server(503);
    let mut spec = s.spec(&health);
    spec.health_deadline = Duration::from_secs(60);
    let plan = plan_symlink(&spec).expect("plan");
    let (ctx, _rx) = Ctx::detached(Duration::from_secs(120));
    let cancel = ctx.cancel.clone();
    let hits = health.hits.clone();
    tokio::spawn(async move {
        while hits.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        cancel.cancel();
    });
    let err = run_symlink(&spec, &plan, &ctx)
        .await
        .expect_err("cancelled");
    let msg = err.to_string();
    assert!(
        matches!(err, RollbackError::Reverted(_)) && msg.contains("cancelled"),
        "{msg}"
    );
    // The revert's restart ran although the action's token was cancelled.
    assert_eq!(s.restarts().len(), 2);
    assert_eq!(s.current(), PathBuf::from(format!("releases/{C}")));
    assert!(s.bad(B).is_some());
}

#[test]
fn no_candidate_is_a_clear_refusal() {
    let health = health_server(200);
    let cases: [(Option<String>, &str); 3] = [
        (None, "does not exist"),
        (Some(format!("releases/{A}")), "oldest"),
        (Some("releases/19990101T000000Z".into()), "does not exist"),
    ];
    for (current, want) in cases {
        let s = site(current.as_deref(), None);
        let err = plan_symlink(&s.spec(&health)).expect_err("refused");
        assert!(matches!(err, RollbackError::NoCandidate { .. }), "{err}");
        assert!(err.to_string().contains(want), "{err}");
    }
    let s = site(Some(&format!("releases/{C}")), None);
    for r in [A, B] {
        releases::mark_bad(&s.root, r, "earlier failure").expect("mark");
    }
    let err = plan_symlink(&s.spec(&health)).expect_err("all bad");
    assert!(err.to_string().contains("marked bad"), "{err}");
}

#[tokio::test]
async fn a_tree_changed_after_the_plan_is_refused() {
    let s = site(Some(&format!("releases/{C}")), None);
    let health = health_server(200);
    let spec = s.spec(&health);
    let (ctx, _rx) = Ctx::detached(Duration::from_secs(30));

    // A new release was deployed after the plan.
    let plan = plan_symlink(&spec).expect("plan");
    fs::create_dir(s.root.join("releases/20240401T000000Z")).expect("mkdir");
    let err = run_symlink(&spec, &plan, &ctx).await.expect_err("changed");
    assert!(matches!(err, RollbackError::Changed { .. }), "{err}");

    // Someone marked the candidate bad after the plan.
    let plan = plan_symlink(&spec).expect("plan");
    releases::mark_bad(&s.root, B, "by hand").expect("mark");
    let err = run_symlink(&spec, &plan, &ctx).await.expect_err("changed");
    assert!(matches!(err, RollbackError::Changed { .. }), "{err}");
    assert!(err.to_string().contains("confirm again"), "{err}");

    // A plan edited by its holder (a different target release) is refused too.
    releases::clear_bad(&s.root, B).expect("clear");
    let mut plan = plan_symlink(&spec).expect("plan");
    plan.to = A.to_owned();
    plan.to_link = PathBuf::from(format!("releases/{A}"));
    let err = run_symlink(&spec, &plan, &ctx).await.expect_err("tampered");
    assert!(matches!(err, RollbackError::Spec { .. }), "{err}");

    assert_eq!(s.current(), PathBuf::from(format!("releases/{C}")));
    assert!(s.restarts().is_empty());
}

#[tokio::test]
async fn an_absolute_current_stays_absolute() {
    let s = site(None, None);
    std::os::unix::fs::symlink(s.root.join("releases").join(C), s.root.join("current"))
        .expect("symlink");
    let health = health_server(200);
    let spec = s.spec(&health);
    let plan = plan_symlink(&spec).expect("plan");
    let (ctx, _rx) = Ctx::detached(Duration::from_secs(30));
    run_symlink(&spec, &plan, &ctx).await.expect("rollback");
    assert_eq!(s.current(), s.root.join("releases").join(B));
}

#[test]
fn current_never_goes_missing_during_swaps() {
    let s = site(Some(&format!("releases/{C}")), None);
    let link = s.root.join("current");
    let stop = Arc::new(AtomicBool::new(false));
    let (misses, reads) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let reader = {
        let (stop, misses, reads, link) =
            (stop.clone(), misses.clone(), reads.clone(), link.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if fs::metadata(&link).is_err() {
                    misses.fetch_add(1, Ordering::SeqCst);
                }
                reads.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    // Let the reader start before the swaps.
    let until = std::time::Instant::now() + Duration::from_secs(30);
    while reads.load(Ordering::SeqCst) == 0 {
        assert!(
            std::time::Instant::now() < until && !reader.is_finished(),
            "the reader thread did not start within 30 s"
        );
        std::thread::yield_now();
    }
    for i in 0..1000 {
        let to = if i % 2 == 0 { A } else { B };
        releases::swap_current(&s.root, Path::new(&format!("releases/{to}"))).expect("swap");
    }
    stop.store(true, Ordering::SeqCst);
    reader.join().expect("reader");
    assert_eq!(misses.load(Ordering::SeqCst), 0, "current was missing");
    assert!(reads.load(Ordering::SeqCst) > 1);
    assert_eq!(s.current(), PathBuf::from(format!("releases/{B}")));
    let leftovers: Vec<_> = fs::read_dir(&s.root)
        .expect("ls")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".current.tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary links left behind");
}

/// A `kubectl` shim that appends its argv to a log; `status` fails when `fail_status`.
fn kubectl_shim(dir: &Path, fail_status: bool) -> (PathBuf, PathBuf) {
    let log = dir.join("kubectl.log");
    let shim = dir.join("kubectl");
    let fail = if fail_status {
        "[ \"$2\" = status ] && { echo 'Waiting for deployment \"web\" rollout to finish' >&2; echo 'error: deployment \"web\" exceeded its progress deadline' >&2; exit 1; }\n"
    } else {
        ""
    };
    write_script(
        &shim,
        &format!(
            "echo \"$*\" >> '{}'\n{fail}echo \"deployment.apps/web rolled back\"\n",
            log.display()
        ),
    );
    (shim, log)
}

fn with_program(spec: &mut CommandRollbackSpec, program: &Path) {
    let p = program.display().to_string();
    spec.undo[0].clone_from(&p);
    for argv in [&mut spec.status, &mut spec.dry_run].into_iter().flatten() {
        argv[0].clone_from(&p);
    }
}

#[tokio::test]
async fn kubectl_rollback_runs_undo_then_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (shim, log) = kubectl_shim(dir.path(), false);
    let mut spec = CommandRollbackSpec::kubectl("api", "web", "prod", 120).expect("spec");
    with_program(&mut spec, &shim);
    let plan = plan_command(&spec).expect("plan");
    assert_eq!(plan.steps.len(), 2);

    let (ctx, _rx) = Ctx::detached(Duration::from_secs(30));
    let preview = preview_dry_run(&spec, &ctx).await.expect("dry run");
    assert_eq!(
        preview,
        Some(vec!["deployment.apps/web rolled back".to_owned()])
    );
    fs::remove_file(&log).expect("reset log");

    let out = run_command(&spec, &ctx).await.expect("rollback");
    assert!(out.undo.success() && out.status.is_some_and(|s| s.success()));
    assert_eq!(
        fs::read_to_string(&log).expect("log"),
        "rollout undo deployment/web -n prod\nrollout status deployment/web -n prod --timeout=120s\n"
    );
}

#[tokio::test]
async fn kubectl_status_failure_reports_its_last_stderr_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (shim, log) = kubectl_shim(dir.path(), true);
    let mut spec = CommandRollbackSpec::kubectl("api", "web", "prod", 120).expect("spec");
    with_program(&mut spec, &shim);
    let (ctx, _rx) = Ctx::detached(Duration::from_secs(30));
    let err = run_command(&spec, &ctx).await.expect_err("status fails");
    let msg = err.to_string();
    assert!(
        msg.contains("rollout status")
            && msg.contains("exit 1: error: deployment \"web\" exceeded its progress deadline"),
        "{msg}"
    );
    assert_eq!(fs::read_to_string(&log).expect("log").lines().count(), 2);
}

#[tokio::test]
async fn template_injection_corpus_is_rejected_or_stays_one_literal_argument() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display();
    let corpus = [
        "--help".to_owned(),
        "-f/etc/passwd".to_owned(),
        format!("x;touch {d}/pwned1"),
        format!("$(touch {d}/pwned2)"),
        format!("`touch {d}/pwned3`"),
        format!("a && touch {d}/pwned4"),
        "'); drop table t;--".to_owned(),
        "../".to_owned(),
        "../../etc/shadow".to_owned(),
        format!("x\ntouch {d}/pwned5"),
        "a\r\nb".to_owned(),
        "{target}".to_owned(),
        "%s%s%n".to_owned(),
    ];
    let template: Vec<String> = ["printf", "%s", "{topic}"].map(str::to_owned).to_vec();
    validate_template(&template).expect("valid template");
    let (mut accepted, mut rejected) = (0, 0);
    for value in &corpus {
        match expand(&template, &Vars::now().target("t").topic(value.clone())) {
            Err(e) => {
                assert!(
                    matches!(&e, TemplateError::Invalid { name, .. } if name == "topic"),
                    "{value:?}: {e}"
                );
                rejected += 1;
            }
            Ok(argv) => {
                assert_eq!(argv.len(), 3, "{value:?} changed the argument count");
                assert_eq!(&argv[2], value, "{value:?} was altered");
                let (ctx, _rx) = Ctx::detached(Duration::from_secs(10));
                let f = child::run(&child::Command::new(argv), &ctx)
                    .await
                    .expect("printf runs");
                assert!(f.success());
                assert_eq!(f.stdout_tail, std::slice::from_ref(value), "{value:?}");
                accepted += 1;
            }
        }
    }
    // Shell metacharacters pass through as data; option-like, traversal and multi-line
    // values are refused.
    assert_eq!((accepted, rejected), (7, 6));
    for i in 1..=5 {
        assert!(
            !dir.path().join(format!("pwned{i}")).exists(),
            "pwned{i} was created"
        );
    }
}
