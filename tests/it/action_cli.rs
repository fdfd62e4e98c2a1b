//! `watchdeck action …`, the headless front end of the action layer, through the real binary:
//! plans without `--yes` change nothing and never show the password, read-only refuses before
//! any child starts, high-risk commands are audited under one id, a second run of a running
//! action is refused at once naming the holder, bad requests are plain refusals, and hostile
//! topic ids are refused at plan time or passed to SQL literally.
//!
//! Real parts: PostgreSQL on 127.0.0.1:5432 (trust, user postgres; a database per test, made
//! and dropped with psql), pg_dump/pg_restore, and marker files written by configured argvs.
//! Every run has `XDG_STATE_HOME` in the test's temporary directory, so locks, the audit file
//! and the logs are the test's own.

use crate::common::headless;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use headless::{audit_records, field, files_under, names, unique, Ran, TestDb, BIN};

/// The variable `password_env` names; set only in watchdeck's environment.
const PW_VAR: &str = "WATCHDECK_TEST_PG_PASSWORD";

/// One test's directory: config, state (locks, audit, logs), backups, markers.
struct Sandbox {
    tmp: tempfile::TempDir,
    config: PathBuf,
    /// Extra environment for every run.
    env: Vec<(String, String)>,
}

impl Sandbox {
    fn new(config_text: impl FnOnce(&Path) -> String) -> Sandbox {
        let tmp = tempfile::tempdir().expect("tempdir");
        let config = tmp.path().join("watchdeck.toml");
        std::fs::write(&config, config_text(tmp.path())).expect("write config");
        Sandbox {
            tmp,
            config,
            env: Vec::new(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn state_home(&self) -> PathBuf {
        self.path("state")
    }

    fn state_dir(&self) -> PathBuf {
        self.state_home().join("watchdeck")
    }

    fn audit(&self) -> PathBuf {
        self.state_dir().join("audit.jsonl")
    }

    fn command(&self, args: &[&str]) -> Command {
        self.command_with(&self.config, args)
    }

    fn command_with(&self, config: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("--config")
            .arg(config)
            .args(args)
            .env("XDG_STATE_HOME", self.state_home())
            .env_remove("WATCHDECK_CONFIG")
            .env_remove("WATCHDECK_LOG")
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    fn run(&self, args: &[&str]) -> Ran {
        let out = self.command(args).output().expect("run watchdeck");
        Ran::from(&out)
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start watchdeck")
    }

    /// Everything watchdeck wrote under its state directory (audit, locks, logs), as text.
    fn state_text(&self) -> String {
        files_under(&self.state_home())
            .iter()
            .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Neither an audit record nor a lock: the action layer was not entered.
    fn assert_no_audit_and_no_lock(&self, context: &str) {
        assert!(
            !self.audit().exists(),
            "{context}: an audit file was written: {:?}",
            std::fs::read_to_string(self.audit())
        );
        assert!(
            !self.state_dir().join("locks").exists(),
            "{context}: a lock was taken: {:?}",
            names(&self.state_dir().join("locks"))
        );
    }
}

fn toml_str(p: &Path) -> String {
    format!("{:?}", p.display().to_string())
}

// ------------------------------------------------------------------ plan without --yes

#[test]
fn the_plan_shows_the_exact_argv_never_the_password_and_changes_nothing() {
    let db = TestDb::new("wd_cli_plan");
    db.sql("CREATE TABLE events (seq bigint PRIMARY KEY, body text); INSERT INTO events SELECT i, md5(i::text) FROM generate_series(1, 500) i;");
    let canary = format!("canary-{}-pw", unique("x"));
    let mut sb = Sandbox::new(|dir| {
        format!(
            "[[target]]\nname = \"cn\"\n[target.postgres]\ndsn = \"{}\"\npassword_env = \"{PW_VAR}\"\n\
             [target.backup]\nkind = \"postgres\"\ndir = {}\nkeep = 3\n",
            db.dsn(),
            toml_str(&dir.join("backups"))
        )
    });
    sb.env.push((PW_VAR.into(), canary.clone()));
    let backups = sb.path("backups");

    for args in [
        &["action", "backup", "--target", "cn"][..],
        &["action", "backup", "--target", "cn", "--dry-run"],
        &["action", "backup", "--target", "cn", "--dry-run", "--yes"],
    ] {
        let r = sb.run(args);
        assert_eq!(r.code, Some(0), "{args:?}: {r:?}");
        let expected_argv = format!(
            "PGSSLMODE=prefer PGCONNECT_TIMEOUT=3 PGAPPNAME=watchdeck-backup \
             PGPASSFILE='<temporary 0600 file, removed after the run>' \
             pg_dump --format=custom --compress=9 --verbose -f '{}/cn-pgdump-<YYYYMMDDTHHMMSSZ>.dump.partial' \
             -h 127.0.0.1 -p 5432 -U postgres -d {} -w",
            backups.display(),
            db.name
        );
        assert!(
            r.stdout.contains(&expected_argv),
            "{args:?}: the plan shows the exact argv\nwant: {expected_argv}\n{r:?}"
        );
        assert!(
            r.stdout.contains("pg_restore -f /dev/null"),
            "{args:?}: {r:?}"
        );
        assert!(
            r.stdout
                .contains("Nothing was changed. Run again with --yes to backup."),
            "{args:?}: {r:?}"
        );
        assert!(
            !r.both().contains(&canary),
            "{args:?}: the password was shown: {r:?}"
        );
        assert!(
            !backups.exists(),
            "{args:?}: the plan created the backup directory"
        );
        sb.assert_no_audit_and_no_lock(&format!("{args:?}"));
        assert!(
            !sb.state_text().contains(&canary),
            "{args:?}: the password is in the state directory (logs)"
        );
    }

    // And the real run: the password goes to pg_dump in a passfile, nowhere else.
    let r = sb.run(&["action", "backup", "--target", "cn", "--yes"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("succeeded: wrote cn-pgdump-"), "{r:?}");
    assert!(!r.both().contains(&canary), "{r:?}");
    let records = audit_records(&sb.audit());
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(field(&records[0], "phase"), "intent");
    assert_eq!(field(&records[1], "result"), "succeeded");
    assert_eq!(field(&records[0], "id"), field(&records[1], "id"));
    let state = sb.state_text();
    assert!(
        state.contains("pg_dump --format=custom"),
        "the audit holds the plan"
    );
    assert!(
        !state.contains(&canary),
        "the password is in the audit file or the logs"
    );
    for f in files_under(&backups) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).expect("read")).into_owned();
        assert!(
            !text.contains(&canary),
            "{} holds the password",
            f.display()
        );
    }
    let leftovers: Vec<String> = names(&std::env::temp_dir())
        .into_iter()
        .filter(|n| n.starts_with("watchdeck-pgpass-"))
        .filter(|n| {
            std::fs::read_to_string(std::env::temp_dir().join(n)).is_ok_and(|t| t.contains(&canary))
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "the passfile was left behind: {leftovers:?}"
    );
}

// ------------------------------------------------------------------ read-only

#[test]
fn read_only_refuses_with_exit_2_before_any_child_starts() {
    let db = TestDb::new("wd_cli_ro");
    db.sql("CREATE TABLE events (seq bigint PRIMARY KEY); INSERT INTO events VALUES (1);");
    // Two targets with the same actions; "locked" is read_only in the config.
    let sb = Sandbox::new(|dir| {
        let mut text = String::new();
        for (name, ro) in [("open", false), ("locked", true)] {
            let _ = write!(
                text,
                "[[target]]\nname = \"{name}\"\nread_only = {ro}\n\
                 [target.postgres]\ndsn = \"{dsn}\"\n\
                 [target.backup]\nkind = \"postgres\"\ndir = {backups}\n\
                 [target.rollback]\nkind = \"command\"\nundo = [\"touch\", {undo}]\ndry_run = [\"touch\", {preview}]\n\
                 [[target.command]]\nname = \"mark\"\nargv = [\"touch\", {mark}]\nrisk = \"low\"\n\n",
                dsn = db.dsn(),
                backups = toml_str(&dir.join(format!("backups-{name}"))),
                undo = toml_str(&dir.join(format!("undo-{name}"))),
                preview = toml_str(&dir.join(format!("preview-{name}"))),
                mark = toml_str(&dir.join(format!("mark-{name}"))),
            );
        }
        text
    });
    let refused = [
        &["action", "run", "--target", "T", "--name", "mark", "--yes"][..],
        &["action", "backup", "--target", "T", "--yes"],
        &["action", "rollback", "--target", "T", "--yes"],
    ];
    for (target, flag) in [("open", true), ("locked", false), ("locked", true)] {
        for args in refused {
            let mut argv: Vec<&str> = if flag { vec!["--read-only"] } else { vec![] };
            argv.extend(args.iter().map(|a| if *a == "T" { target } else { a }));
            let r = sb.run(&argv);
            assert_eq!(r.code, Some(2), "{argv:?}: {r:?}");
            assert!(r.stdout.contains("read-only"), "{argv:?}: {r:?}");
            assert!(
                r.stdout
                    .contains("no command, request or file change was made"),
                "{argv:?}: {r:?}"
            );
        }
        // The rollback's server-side preview is a child too: not run read-only.
        let mut argv: Vec<&str> = if flag { vec!["--read-only"] } else { vec![] };
        argv.extend(["action", "rollback", "--target", target, "--dry-run"]);
        let r = sb.run(&argv);
        assert_eq!(r.code, Some(0), "{argv:?}: {r:?}");
        assert!(
            r.stdout.contains("read-only: this action is refused"),
            "{argv:?}: {r:?}"
        );
        assert!(!r.stdout.contains("dry run:"), "{argv:?}: {r:?}");
    }
    // `[actions] read_only = true`: the same, for every target.
    let global = sb.path("global.toml");
    let text = std::fs::read_to_string(&sb.config).expect("config");
    std::fs::write(&global, format!("[actions]\nread_only = true\n\n{text}")).expect("write");
    for args in refused {
        let argv: Vec<&str> = args
            .iter()
            .map(|a| if *a == "T" { "open" } else { a })
            .collect();
        let r = Ran::from(&sb.command_with(&global, &argv).output().expect("run"));
        assert_eq!(r.code, Some(2), "{argv:?}: {r:?}");
        assert!(
            r.stdout.contains("watchdeck runs read-only"),
            "{argv:?}: {r:?}"
        );
    }
    let made: Vec<String> = names(sb.tmp.path())
        .into_iter()
        .filter(|n| !["watchdeck.toml", "global.toml", "state"].contains(&n.as_str()))
        .collect();
    assert!(made.is_empty(), "read-only runs created {made:?}");
    sb.assert_no_audit_and_no_lock("read-only");

    // The same requests without read-only do run: the markers above could have appeared.
    let r = sb.run(&[
        "action", "run", "--target", "open", "--name", "mark", "--yes",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(sb.path("mark-open").exists());
    let r = sb.run(&["action", "rollback", "--target", "open", "--dry-run"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("dry run:"), "{r:?}");
    assert!(sb.path("preview-open").exists());
    assert!(!sb.path("undo-open").exists(), "a dry run never undoes");
}

// ------------------------------------------------------------------ high risk, audited

#[test]
fn a_high_risk_command_runs_with_yes_and_its_records_share_one_id() {
    let sb = Sandbox::new(|dir| {
        format!(
            "[[target]]\nname = \"ov\"\nhealth = [\"http://127.0.0.1:9/healthz\"]\n\
             [[target.command]]\nname = \"maint-on\"\nargv = [\"touch\", {}]\nrisk = \"high\"\n\
             description = \"maintenance mode\"\n",
            toml_str(&dir.join("maint-{target}"))
        )
    });
    let marker = sb.path("maint-ov");
    let r = sb.run(&["action", "run", "--target", "ov", "--name", "maint-on"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("risk: high"), "{r:?}");
    assert!(
        r.stdout.contains(&format!("1. touch {}", marker.display())),
        "the plan shows the expanded argv: {r:?}"
    );
    assert!(!marker.exists(), "the plan ran the command");
    sb.assert_no_audit_and_no_lock("plan");

    let r = sb.run(&[
        "action", "run", "--target", "ov", "--name", "maint-on", "--yes",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(marker.exists(), "--yes ran the command: {r:?}");
    let records = audit_records(&sb.audit());
    assert_eq!(records.len(), 2, "{records:?}");
    let (intent, outcome) = (&records[0], &records[1]);
    assert_eq!(field(intent, "phase"), "intent");
    assert_eq!(field(outcome, "phase"), "outcome");
    let id = field(intent, "id");
    assert!(!id.is_empty());
    assert_eq!(field(outcome, "id"), id);
    assert!(r.stdout.contains(&format!("(id {id},")), "{r:?}");
    for rec in [intent, outcome] {
        assert_eq!(field(rec, "action"), "run");
        assert_eq!(field(rec, "target"), "ov");
        assert_eq!(rec["params"]["name"], "maint-on");
    }
    assert_eq!(
        intent["plan"][0].as_str(),
        Some(format!("touch {}", marker.display()).as_str())
    );
    assert_eq!(field(outcome, "result"), "succeeded");
    assert_eq!(outcome["exit_code"], 0);
}

// ------------------------------------------------------------------ single flight

#[test]
fn a_second_run_while_the_first_runs_is_refused_at_once_naming_the_holder() {
    let sb = Sandbox::new(|_| {
        "[[target]]\nname = \"ov\"\nhealth = [\"http://127.0.0.1:9/healthz\"]\n\
         [[target.command]]\nname = \"slow\"\nargv = [\"sleep\", \"2\"]\nrisk = \"low\"\n"
            .to_owned()
    });
    let args = ["action", "run", "--target", "ov", "--name", "slow", "--yes"];
    let mut first = sb.spawn(&args);
    let first_pid = first.id();
    // The first holds the lock once its intent is on disk (the lock comes first).
    let until = Instant::now() + Duration::from_secs(20);
    while audit_records(&sb.audit()).is_empty() {
        assert!(Instant::now() < until, "the first run never started");
        assert!(
            first.try_wait().expect("try_wait").is_none(),
            "the first run ended early"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let second = sb.run(&args);
    let first_still_running = first.try_wait().expect("try_wait").is_none();
    assert_eq!(second.code, Some(2), "{second:?}");
    assert!(
        first_still_running,
        "the second run waited for the first instead of being refused at once"
    );
    assert!(
        second.stdout.contains("run on ov is already running")
            && second.stdout.contains(&format!("held by pid {first_pid} ")),
        "{second:?}"
    );
    let out = first.wait_with_output().expect("first");
    assert_eq!(out.status.code(), Some(0), "{:?}", Ran::from(&out));

    let records = audit_records(&sb.audit());
    let results: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (field(r, "phase"), field(r, "result")))
        .collect();
    assert_eq!(
        results,
        [
            ("intent", ""),
            ("outcome", "refused"),
            ("outcome", "succeeded")
        ],
        "{records:?}"
    );
    assert_eq!(field(&records[0], "id"), field(&records[2], "id"));
    assert_ne!(field(&records[0], "id"), field(&records[1], "id"));
    assert!(field(&records[1], "error").contains(&format!("pid {first_pid}")));
    // Released at exit: a third run goes through.
    let third = sb.run(&args);
    assert_eq!(third.code, Some(0), "{third:?}");
}

// ------------------------------------------------------------------ bad requests

#[test]
fn an_unknown_target_or_a_missing_parameter_is_a_plain_refusal() {
    let sb = Sandbox::new(|_| {
        "[[target]]\nname = \"ov\"\nhealth = [\"http://127.0.0.1:9/healthz\"]\n\
         [[target.command]]\nname = \"noop\"\nargv = [\"true\"]\n"
            .to_owned()
    });
    let r = sb.run(&["action", "backup", "--target", "nope", "--yes"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stdout.contains("no target named \"nope\"")
            && r.stdout.contains("watchdeck config check"),
        "{r:?}"
    );
    let r = sb.run(&["action", "backup", "--target", "ov", "--yes"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stdout.contains("ov has no backup action configured"),
        "{r:?}"
    );
    for (action, flag) in [
        ("suspend", "--topic"),
        ("resume", "--topic"),
        ("run", "--name"),
    ] {
        let r = sb.run(&["action", action, "--target", "ov", "--yes"]);
        assert_eq!(r.code, Some(2), "{action}: {r:?}");
        assert!(
            r.stderr
                .contains(&format!("{flag} is required for `action {action}`")),
            "{action}: {r:?}"
        );
    }
    let r = sb.run(&["action", "run", "--target", "ov", "--name", "nope", "--yes"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stdout
            .contains("ov has no command named \"nope\" — its commands: noop"),
        "{r:?}"
    );
    sb.assert_no_audit_and_no_lock("bad requests");
}

// ------------------------------------------------------------------ hostile topic ids

#[test]
fn hostile_topic_ids_are_refused_at_plan_time_or_passed_literally() {
    let db = TestDb::new("wd_cli_topics");
    db.sql(
        "CREATE TABLE topics (topic_id text PRIMARY KEY, suspended bool NOT NULL DEFAULT false);
         INSERT INTO topics (topic_id) VALUES ('t1'), ('admin'), ('x');
         CREATE TABLE t (v int); INSERT INTO t VALUES (42);",
    );
    let sb = Sandbox::new(|_| {
        format!(
            "[[target]]\nname = \"relay\"\n[target.postgres]\ndsn = \"{}\"\n\
             [target.topics]\ndriver = \"sql\"\n\
             suspend_sql = \"UPDATE topics SET suspended = true WHERE topic_id = $1\"\n\
             resume_sql = \"UPDATE topics SET suspended = false WHERE topic_id = $1\"\n\
             state_sql = \"SELECT CASE WHEN suspended THEN 'suspended' ELSE 'active' END FROM topics WHERE topic_id = $1\"\n",
            db.dsn()
        )
    });
    let pwned = std::env::temp_dir().join(unique("pwned"));
    let injected = format!("x;touch {}", pwned.display());
    let table = || db.sql("SELECT topic_id || '=' || suspended FROM topics ORDER BY topic_id");
    let pristine = table();
    assert_eq!(pristine, "admin=false\nt1=false\nx=false");

    let corpus: Vec<(&str, bool)> = vec![
        // (id, refused at plan time)
        ("--help", true),
        ("-f/etc/passwd", true),
        (injected.as_str(), false),
        ("$(id)", false),
        ("'); drop table t;--", false),
        ("../", true),
        ("a\nb", true),
        ("x\n", true),
    ];
    let mut audited = 0;
    for (id, refused) in &corpus {
        for action in ["suspend", "resume"] {
            let topic = format!("--topic={id}");
            let r = sb.run(&["action", action, "--target", "relay", &topic, "--yes"]);
            let records = audit_records(&sb.audit());
            if *refused {
                assert_eq!(r.code, Some(2), "{id:?}: {r:?}");
                assert!(
                    r.stdout
                        .starts_with(&format!("watchdeck: topic id {id:?} is not usable: it ")),
                    "{id:?}: a plan-time refusal says why: {r:?}"
                );
                assert_eq!(
                    records.len(),
                    audited,
                    "{id:?}: a refused plan is not audited"
                );
            } else {
                // Passed literally: the UPDATE ran with the id as its $1, matched no row.
                assert_eq!(r.code, Some(1), "{id:?}: {r:?}");
                assert_eq!(records.len(), audited + 2, "{id:?}: {r:?}");
                let (intent, outcome) = (&records[audited], &records[audited + 1]);
                assert_eq!(intent["params"]["topic"].as_str(), Some(*id));
                assert_eq!(field(intent, "id"), field(outcome, "id"));
                assert_eq!(field(outcome, "result"), "failed", "{outcome}");
                assert!(
                    field(outcome, "error").contains("changed no row"),
                    "{outcome}"
                );
                audited += 2;
            }
        }
        // The separate-argument form: clap takes a leading '-' for an option, never a value.
        let r = sb.run(&[
            "action", "suspend", "--target", "relay", "--topic", id, "--yes",
        ]);
        if id.starts_with('-') {
            assert_eq!(r.code, Some(2), "{id:?}: {r:?}");
        }
        audited = audit_records(&sb.audit()).len();
        assert_eq!(table(), pristine, "{id:?} changed a row");
    }
    let r = sb.run(&["action", "suspend", "--target", "relay", "--topic", "$(id)"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout.contains("$1='$(id)'"),
        "the plan shows the id as one quoted parameter: {r:?}"
    );
    assert_eq!(
        db.sql("SELECT count(*) FROM t"),
        "1",
        "table t is still there"
    );
    assert!(!pwned.exists(), "the injected command ran");
    assert_eq!(table(), pristine);

    // The control: a real id changes exactly its row, so "no row changed" above means
    // something.
    let r = sb.run(&[
        "action",
        "suspend",
        "--target",
        "relay",
        "--topic=t1",
        "--yes",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(table(), "admin=false\nt1=true\nx=false");
}
