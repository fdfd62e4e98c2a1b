//! Issue 14's findings, each reproduced against the real binary: state files and directories
//! (no shared fallback, no symlinks followed, no loose modes), children that must not outlive
//! watchdeck, a terminal that is really gone, files named in the config that are not regular
//! files, backups and logs that take the umask, config values that fail only later, and the
//! `scrape` and read-only messages.
//!
//! Real parts only: the `watchdeck` binary, real files, FIFOs and symlinks in the test's own
//! temporary directory, a real pseudo-terminal, real `kill -9`, and the real PostgreSQL on
//! 127.0.0.1:5432 (trust, user postgres; a database per test). Every wait has a deadline.

use crate::common::headless;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use headless::{all_procs, children, cmdline, files_under, unique, Ran, TestDb, BIN};

/// A test's own directory: config, state home, and whatever the test plants there.
struct Sandbox {
    tmp: tempfile::TempDir,
    config: PathBuf,
}

fn q(p: &Path) -> String {
    format!("{:?}", p.display().to_string())
}

impl Sandbox {
    fn new(config_text: impl FnOnce(&Path) -> String) -> Sandbox {
        let tmp = tempfile::tempdir().expect("tempdir");
        let config = tmp.path().join("watchdeck.toml");
        std::fs::write(&config, config_text(tmp.path())).expect("write config");
        Sandbox { tmp, config }
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

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("--config")
            .arg(&self.config)
            .args(args)
            .env("XDG_STATE_HOME", self.state_home())
            .env_remove("WATCHDECK_CONFIG")
            .env_remove("WATCHDECK_LOG")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Ran {
        Ran::from(&self.command(args).output().expect("run watchdeck"))
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start watchdeck")
    }
}

/// Waits for `child` to exit within `limit`; kills it and returns `None` when it does not.
fn wait_within(child: &mut Child, limit: Duration) -> Option<Ran> {
    let start = Instant::now();
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            let mut stdout = String::new();
            let mut stderr = String::new();
            if let Some(o) = child.stdout.as_mut() {
                let _ = o.read_to_string(&mut stdout);
            }
            if let Some(e) = child.stderr.as_mut() {
                let _ = e.read_to_string(&mut stderr);
            }
            let code = child.try_wait().ok().flatten().and_then(|s| s.code());
            return Some(Ran {
                code,
                stdout,
                stderr,
            });
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls `check` every 50 ms until it holds or `limit` passes.
fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}

/// Kills every live process whose command line mentions `needle` (a test's leftovers).
fn kill_mentioning(needle: &str) {
    for p in all_procs() {
        if cmdline(p.pid).contains(needle) {
            let _ = Command::new("kill")
                .args(["-9", &p.pid.to_string()])
                .status();
        }
    }
}

fn live_mentioning(needle: &str) -> Vec<u32> {
    all_procs()
        .into_iter()
        .filter(|p| cmdline(p.pid).contains(needle))
        .map(|p| p.pid)
        .collect()
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// A target with one low-risk command.
fn command_config(argv: &str, extra: &str) -> String {
    format!(
        "{extra}\n[[target]]\nname = \"svc\"\nhealth = [\"http://127.0.0.1:9/healthz\"]\n\n\
         [[target.command]]\nname = \"job\"\nargv = {argv}\nrisk = \"low\"\ntimeout = \"60s\"\n"
    )
}

// ------------------------------------------------------------------ 1: state directory

/// A real pseudo-terminal running the cockpit, read back through a VT100 parser.
struct Pty {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    master: Option<Box<dyn portable_pty::MasterPty + Send>>,
    writer: Option<Box<dyn Write + Send>>,
    screen: Arc<Mutex<vt100::Parser>>,
    closing: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Pty {
    fn start(cmd: portable_pty::CommandBuilder) -> Pty {
        use portable_pty::{native_pty_system, PtySize};
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: 30,
                cols: 100,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let child = pty.slave.spawn_command(cmd).expect("spawn watchdeck");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("reader");
        let writer = pty.master.take_writer().expect("writer");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(30).expect("rows"),
            std::num::NonZeroU16::new(100).expect("cols"),
            0,
        )));
        let closing = Arc::new(AtomicBool::new(false));
        let (s2, c2) = (screen.clone(), closing.clone());
        let handle = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                if c2.load(Ordering::SeqCst) {
                    return;
                }
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => s2.lock().expect("parser").process(&buf[..n]),
                }
            }
        });
        Pty {
            child,
            master: Some(pty.master),
            writer: Some(writer),
            screen,
            closing,
            reader: Some(handle),
        }
    }

    fn contents(&self) -> String {
        self.screen.lock().expect("parser").screen().contents()
    }

    fn wait_exit(&mut self, limit: Duration) -> Option<portable_pty::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn cockpit_command(sb: &Sandbox) -> portable_pty::CommandBuilder {
    let mut cmd = portable_pty::CommandBuilder::new(BIN);
    cmd.env_clear();
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.env("TERM", "xterm-256color");
    cmd.arg("--config");
    cmd.arg(&sb.config);
    cmd
}

#[test]
fn the_cockpit_without_home_refuses_rather_than_use_the_shared_temp_dir() {
    let sb = Sandbox::new(|_| command_config(r#"["true"]"#, ""));
    let shared_tmp = sb.path("shared-tmp");
    std::fs::create_dir(&shared_tmp).expect("mkdir");
    std::fs::set_permissions(&shared_tmp, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    let mut cmd = cockpit_command(&sb);
    // No HOME, no XDG_STATE_HOME; TMPDIR points at a sticky, world-writable directory as /tmp.
    cmd.env("TMPDIR", &shared_tmp);
    let mut pty = Pty::start(cmd);
    let status = pty.wait_exit(Duration::from_secs(15));
    let screen = pty.contents();
    let status = status.unwrap_or_else(|| {
        panic!("the cockpit started without a state directory of its own; screen:\n{screen}")
    });
    assert_eq!(status.exit_code(), 2, "{screen}");
    assert!(
        screen.contains("no HOME or XDG_STATE_HOME"),
        "the refusal names the cause: {screen}"
    );
    assert!(
        files_under(&shared_tmp).is_empty(),
        "files were made in the shared directory: {:?}",
        files_under(&shared_tmp)
    );
}

#[test]
fn state_files_planted_as_symlinks_are_not_followed() {
    let sb =
        Sandbox::new(|dir| command_config(&format!("[\"touch\", {}]", q(&dir.join("mark"))), ""));
    let state = sb.state_dir();
    std::fs::create_dir_all(state.join("locks")).expect("mkdir");
    std::fs::set_permissions(sb.state_home(), std::fs::Permissions::from_mode(0o700))
        .expect("chmod");
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    std::fs::set_permissions(state.join("locks"), std::fs::Permissions::from_mode(0o700))
        .expect("chmod");
    let victim_lock = sb.path("victim-lock");
    let victim_audit = sb.path("victim-audit");
    std::fs::write(&victim_lock, "precious\n").expect("write");
    std::fs::write(&victim_audit, "precious\n").expect("write");
    std::fs::set_permissions(&victim_audit, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::os::unix::fs::symlink(&victim_lock, state.join("locks/svc.run.lock")).expect("symlink");
    std::os::unix::fs::symlink(&victim_audit, state.join("audit.jsonl")).expect("symlink");

    let r = sb.run(&["action", "run", "--target", "svc", "--name", "job", "--yes"]);
    assert_eq!(
        std::fs::read_to_string(&victim_lock).expect("read"),
        "precious\n",
        "the lock file's symlink was followed: {r:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&victim_audit).expect("read"),
        "precious\n",
        "the audit file's symlink was followed: {r:?}"
    );
    assert_eq!(
        mode(&victim_audit),
        0o644,
        "the symlink's target was chmod'ed"
    );
    assert_ne!(r.code, Some(0), "{r:?}");
    assert!(!sb.path("mark").exists(), "the action ran: {r:?}");
    assert!(r.both().contains("symlink"), "the refusal says why: {r:?}");
}

#[test]
fn a_state_directory_others_can_write_is_refused() {
    let sb =
        Sandbox::new(|dir| command_config(&format!("[\"touch\", {}]", q(&dir.join("mark"))), ""));
    std::fs::create_dir_all(sb.state_dir()).expect("mkdir");
    std::fs::set_permissions(sb.state_dir(), std::fs::Permissions::from_mode(0o777))
        .expect("chmod");
    let r = sb.run(&["action", "run", "--target", "svc", "--name", "job", "--yes"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(!sb.path("mark").exists(), "the action ran: {r:?}");
    assert!(
        r.both().contains("writable by others"),
        "the refusal says why: {r:?}"
    );
}

// ------------------------------------------------------------------ 2: kill -9 and children

/// Starts `action run` and waits until its child (whose argv holds `marker`) runs.
fn start_job(sb: &Sandbox, marker: &str) -> (Child, u32) {
    let mut wd = sb.spawn(&["action", "run", "--target", "svc", "--name", "job", "--yes"]);
    let pid = wd.id();
    let started = eventually(Duration::from_secs(20), || {
        !live_mentioning(marker).is_empty()
    });
    if !started {
        let _ = wd.kill();
        let r = wait_within(&mut wd, Duration::from_secs(5));
        panic!("the job did not start: {:?}", r.map(|r| r.both()));
    }
    (wd, pid)
}

#[test]
fn kill_9_of_watchdeck_takes_its_child_along() {
    let marker = format!("{}.5", 600 + std::process::id() % 100);
    let sb = Sandbox::new(|_| command_config(&format!("[\"sleep\", \"{marker}\"]"), ""));
    let (mut wd, pid) = start_job(&sb, &marker);
    let kids: Vec<u32> = children(pid).iter().map(|p| p.pid).collect();
    assert!(
        kids.iter().any(|k| cmdline(*k).contains(&marker)),
        "sleep is watchdeck's child: {kids:?}"
    );
    Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill");
    let _ = wd.wait();
    let gone = eventually(Duration::from_secs(10), || {
        live_mentioning(&marker).is_empty()
    });
    kill_mentioning(&marker);
    assert!(gone, "the child outlived watchdeck's kill -9");
}

#[test]
fn a_previous_runs_process_group_that_still_lives_blocks_the_next_run() {
    // The shell is watchdeck's child; its background sleep is a grandchild in the same group.
    let marker = format!("{}.25", 700 + std::process::id() % 100);
    let sb = Sandbox::new(|_| {
        command_config(&format!("[\"sh\", \"-c\", \"sleep {marker} & wait\"]"), "")
    });
    let (mut wd, pid) = start_job(&sb, &marker);
    Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill");
    let _ = wd.wait();
    // Whatever PR_SET_PDEATHSIG did to the shell, the grandchild still runs.
    let mut second = sb.spawn(&["action", "run", "--target", "svc", "--name", "job", "--yes"]);
    let r = wait_within(&mut second, Duration::from_secs(10));
    let survivors = live_mentioning(&marker);
    kill_mentioning(&marker);
    let r = r.expect("the second run started while the first one's process group still ran");
    assert!(
        !survivors.is_empty(),
        "the test needs a surviving grandchild"
    );
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.both().contains("process group"),
        "the refusal names the process group: {r:?}"
    );
    // Once the group is gone, the next run goes ahead.
    assert!(eventually(Duration::from_secs(10), || live_mentioning(
        &marker
    )
    .is_empty()));
    let (mut third, pid3) = start_job(&sb, &marker);
    let _ = Command::new("kill")
        .args(["-9", &pid3.to_string()])
        .status();
    let _ = third.wait();
    kill_mentioning(&marker);
}

// ------------------------------------------------------------------ 4: a terminal really gone

#[test]
fn the_cockpit_exits_129_without_a_panic_when_its_terminal_is_really_gone() {
    let sb = Sandbox::new(|_| command_config(r#"["true"]"#, ""));
    std::fs::create_dir_all(sb.state_home()).expect("mkdir");
    let mut cmd = cockpit_command(&sb);
    cmd.env("XDG_STATE_HOME", sb.state_home());
    let mut pty = Pty::start(cmd);
    let start = Instant::now();
    while !pty.contents().contains("svc") {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the cockpit did not draw: {}",
            pty.contents()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Close every descriptor of the master side: the terminal is gone, writes fail with EIO.
    pty.closing.store(true, Ordering::SeqCst);
    drop(pty.writer.take());
    drop(pty.master.take());
    if let Some(h) = pty.reader.take() {
        // The reader lets go after its next read (the clock redraws every second).
        let _ = h.join();
    }
    let status = pty
        .wait_exit(Duration::from_secs(15))
        .expect("the cockpit did not exit after its terminal went away");
    assert_eq!(status.exit_code(), 129, "{status:?} (101 is a panic)");
}

// ------------------------------------------------------------------ 5: files named in the config

/// Runs `config check` on `config`, under a 2 GB address-space limit (so an unbounded read
/// fails fast instead of eating the machine) and a deadline.
fn config_check(sb: &Sandbox) -> Option<Ran> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2000000; exec \"$0\" config check \"$1\"")
        .arg(BIN)
        .arg(&sb.config)
        .env("XDG_STATE_HOME", sb.state_home())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_within(&mut child, Duration::from_secs(15))
}

#[test]
fn files_named_in_the_config_must_be_regular_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fifo = tmp.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let https_target = |ca: &Path| {
        format!(
            "[[target]]\nname = \"svc\"\nmetrics = \"https://127.0.0.1:9/metrics\"\nca_file = {}\n",
            q(ca)
        )
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "theme /dev/zero",
            "theme = \"/dev/zero\"\n".to_owned() + &command_config(r#"["true"]"#, ""),
        ),
        (
            "theme FIFO",
            format!("theme = {}\n", q(&fifo)) + &command_config(r#"["true"]"#, ""),
        ),
        ("ca_file /dev/zero", https_target(Path::new("/dev/zero"))),
        ("ca_file FIFO", https_target(&fifo)),
    ];
    for (what, text) in cases {
        let sb = Sandbox::new(|_| text.clone());
        let r = config_check(&sb).unwrap_or_else(|| panic!("{what}: config check hung"));
        assert_eq!(r.code, Some(2), "{what}: {r:?}");
        assert!(
            r.both().contains("not a regular file"),
            "{what}: the error says why: {r:?}"
        );
    }
}

// ------------------------------------------------------------------ 6, 9: backups

/// A small live SQLite database.
fn sqlite_db(path: &Path) {
    let c = rusqlite::Connection::open(path).expect("open");
    c.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2);")
        .expect("fill");
}

#[test]
fn backups_are_private_and_leftovers_of_killed_ones_are_swept() {
    let sb = Sandbox::new(|dir| {
        format!(
            "[[target]]\nname = \"svc\"\nhealth = [\"http://127.0.0.1:9/healthz\"]\n\
             [target.backup]\nkind = \"sqlite\"\ndatabase = {}\ndir = {}\nkeep = 3\n",
            q(&dir.join("app.db")),
            q(&dir.join("backups"))
        )
    });
    sqlite_db(&sb.path("app.db"));
    let backups = sb.path("backups");
    std::fs::create_dir(&backups).expect("mkdir");
    std::fs::set_permissions(&backups, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // What two killed backups left behind.
    let stale = [
        backups.join("svc-sqlite-20200101T000000Z.db.partial"),
        backups.join("svc-sqlite-20200101T000000Z.db.partial-journal"),
        backups.join("svc-sqlite-20200102T000000Z.db.partial"),
    ];
    for s in &stale {
        std::fs::write(s, vec![0u8; 4096]).expect("write");
    }
    let other = backups.join("notes.txt");
    std::fs::write(&other, "mine").expect("write");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 022; exec \"$0\" --config \"$1\" action backup --target svc --yes")
        .arg(BIN)
        .arg(&sb.config)
        .env("XDG_STATE_HOME", sb.state_home())
        .stdin(Stdio::null());
    let r = Ran::from(&cmd.output().expect("run"));
    assert_eq!(r.code, Some(0), "{r:?}");
    let dbs: Vec<PathBuf> = files_under(&backups)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "db"))
        .collect();
    assert_eq!(dbs.len(), 1, "{:?}", files_under(&backups));
    assert_eq!(mode(&dbs[0]), 0o600, "the copy takes the umask");
    assert_eq!(
        mode(&backups),
        0o700,
        "the backup directory is open to others"
    );
    for s in &stale {
        assert!(!s.exists(), "{} was not swept", s.display());
    }
    assert!(
        other.exists(),
        "a file that is not a backup's leftover was removed"
    );
}

// ------------------------------------------------------------------ 7: interval floor

#[test]
fn an_interval_below_the_floor_is_refused() {
    for (key, value) in [("interval", "1ns"), ("interval", "99ms")] {
        let sb = Sandbox::new(|_| {
            format!(
                "[[target]]\nname = \"svc\"\nmetrics = \"http://127.0.0.1:9/metrics\"\n{key} = \"{value}\"\n"
            )
        });
        let r = sb.run(&["config", "check"]);
        assert_eq!(r.code, Some(2), "{value}: {r:?}");
        assert!(
            r.both().contains("100ms"),
            "{value}: names the floor: {r:?}"
        );
    }
    let sb = Sandbox::new(|_| {
        "[[target]]\nname = \"svc\"\nmetrics = \"http://127.0.0.1:9/metrics\"\ninterval = \"100ms\"\n"
            .to_owned()
    });
    let r = sb.run(&["config", "check"]);
    assert_eq!(r.code, Some(0), "100ms is allowed: {r:?}");
}

#[test]
fn a_repeated_scrape_failure_is_logged_once_then_counted() {
    let sb = Sandbox::new(|_| {
        "[[target]]\nname = \"svc\"\nmetrics = \"http://127.0.0.1:9/metrics\"\ninterval = \"100ms\"\n"
            .to_owned()
    });
    std::fs::create_dir_all(sb.state_home()).expect("mkdir");
    let mut cmd = cockpit_command(&sb);
    cmd.env("XDG_STATE_HOME", sb.state_home());
    let mut pty = Pty::start(cmd);
    let start = Instant::now();
    while !pty.contents().contains("svc") {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{}",
            pty.contents()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Thirty failed scrapes at least.
    std::thread::sleep(Duration::from_secs(4));
    pty.writer
        .as_mut()
        .expect("writer")
        .write_all(b"q")
        .expect("q");
    let _ = pty.wait_exit(Duration::from_secs(10));
    let log: String = files_under(&sb.state_dir())
        .iter()
        .filter(|p| p.to_string_lossy().contains(".log"))
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect();
    let failures = log.lines().filter(|l| l.contains("scrape failed")).count();
    assert!(
        failures == 1,
        "{failures} warning lines for one repeated failure:\n{}",
        log.lines().take(20).collect::<Vec<_>>().join("\n")
    );
}

// ------------------------------------------------------------------ 8: the password file

#[test]
fn the_password_file_does_not_survive_a_kill_9() {
    let db = TestDb::new("wd_harden_pw");
    db.sql("CREATE TABLE events (seq bigint PRIMARY KEY); INSERT INTO events VALUES (1);");
    let canary = format!("canary-{}-pw", unique("x"));
    let sb = Sandbox::new(|dir| {
        format!(
            "[[target]]\nname = \"cn\"\n[target.postgres]\ndsn = \"{}\"\npassword_env = \"WD_HARDEN_PW\"\n\
             [target.backup]\nkind = \"postgres\"\ndir = {}\nkeep = 3\n",
            db.dsn(),
            q(&dir.join("backups"))
        )
    });
    let tmpdir = sb.path("tmp");
    std::fs::create_dir(&tmpdir).expect("mkdir");
    // An open transaction holding the table: pg_dump waits for it, so the backup is in flight.
    let mut holder = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-X",
            "-q",
            "-d",
            &db.name,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("psql");
    holder
        .stdin
        .as_mut()
        .expect("stdin")
        .write_all(b"BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE;\n")
        .expect("write");
    std::thread::sleep(Duration::from_millis(500));
    let backup = |sb: &Sandbox| {
        let mut c = sb.command(&["action", "backup", "--target", "cn", "--yes"]);
        c.env("WD_HARDEN_PW", &canary).env("TMPDIR", &tmpdir);
        c
    };
    let mut wd = backup(&sb)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = wd.id();
    let dumping = eventually(Duration::from_secs(20), || {
        children(pid).iter().any(|p| p.comm == "pg_dump")
    });
    // Regular files only: a FIFO someone left in /tmp would block the read.
    let holds = |p: &Path| {
        std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file())
            && std::fs::read_to_string(p).is_ok_and(|t| t.contains(&canary))
    };
    let holding = |root: &Path| -> Vec<PathBuf> {
        files_under(root).into_iter().filter(|p| holds(p)).collect()
    };
    Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill");
    let _ = wd.wait();
    assert!(dumping, "pg_dump did not start");
    // The next start sweeps what the killed run left.
    let r = Ran::from(
        &sb.command(&["action", "backup", "--target", "cn"])
            .env("WD_HARDEN_PW", &canary)
            .env("TMPDIR", &tmpdir)
            .output()
            .expect("run"),
    );
    let _ = holder.kill();
    let _ = holder.wait();
    let left: Vec<PathBuf> = holding(&tmpdir)
        .into_iter()
        .chain(
            headless::names(&std::env::temp_dir())
                .into_iter()
                .filter(|n| n.starts_with("watchdeck-pgpass-"))
                .map(|n| std::env::temp_dir().join(n))
                .filter(|p| holds(p)),
        )
        .chain(holding(sb.tmp.path()))
        .collect();
    // Leave no orphaned pg_dump behind whatever happened (never a server process: a killed
    // backend would restart every session of the server).
    for p in all_procs() {
        if p.comm == "pg_dump" && cmdline(p.pid).contains(&db.name) {
            let _ = Command::new("kill")
                .args(["-9", &p.pid.to_string()])
                .status();
        }
    }
    assert!(
        left.is_empty(),
        "the password survived the kill -9 in {left:?} ({r:?})"
    );
}

// ------------------------------------------------------------------ 10: log modes

#[test]
fn the_log_directory_and_file_are_private() {
    let sb = Sandbox::new(|_| command_config(r#"["true"]"#, ""));
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 022; exec \"$0\" --config \"$1\" config check")
        .arg(BIN)
        .arg(&sb.config)
        .env("XDG_STATE_HOME", sb.state_home())
        .env("WATCHDECK_LOG", "trace");
    let r = Ran::from(&cmd.output().expect("run"));
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(mode(&sb.state_dir()), 0o700, "the state/log directory");
    let logs: Vec<PathBuf> = files_under(&sb.state_dir())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".log"))
        .collect();
    assert!(!logs.is_empty(), "no log file");
    for l in logs {
        assert_eq!(mode(&l), 0o600, "{}", l.display());
    }
}

// ------------------------------------------------------------------ 11, 12: config check

#[test]
fn config_check_refuses_values_that_would_fail_only_later() {
    let target = "[[target]]\nname = \"svc\"\nmetrics = \"http://127.0.0.1:9/metrics\"\n";
    let cases: &[(&str, String, &str)] = &[
        ("empty audit", format!("[actions]\naudit = \"\"\n{target}"), "audit"),
        (
            "empty state_dir",
            format!("[actions]\nstate_dir = \"\"\n{target}"),
            "state_dir",
        ),
        (
            "empty backup dir",
            format!("{target}[target.backup]\nkind = \"sqlite\"\ndatabase = \"/tmp/x.db\"\ndir = \"\"\n"),
            "dir",
        ),
        (
            "empty database",
            format!("{target}[target.backup]\nkind = \"sqlite\"\ndatabase = \"\"\ndir = \"/tmp/b\"\n"),
            "database",
        ),
        (
            "target named --version",
            "[[target]]\nname = \"--version\"\nmetrics = \"http://127.0.0.1:9/metrics\"\n".to_owned(),
            "--version",
        ),
        (
            "above = nan",
            format!("{target}[[target.alert]]\nname = \"X\"\nseverity = \"warning\"\nvalue = \"stale-seconds\"\nabove = nan\nsymptom = \"s\"\ncause = \"c\"\naction = \"a\"\n"),
            "nan",
        ),
    ];
    for (what, text, word) in cases {
        let sb = Sandbox::new(|_| text.clone());
        let r = sb.run(&["config", "check"]);
        assert_eq!(r.code, Some(2), "{what}: {r:?}");
        assert!(r.stderr.contains(word), "{what}: names {word}: {r:?}");
    }
}

#[test]
fn a_relative_audit_path_is_the_config_directorys() {
    let sb = Sandbox::new(|dir| {
        std::fs::create_dir(dir.join("audit")).expect("mkdir");
        "[actions]\naudit = \"audit/records.jsonl\"\n[[target]]\nname = \"svc\"\nmetrics = \"http://127.0.0.1:9/metrics\"\n"
            .to_owned()
    });
    // The config named by a path relative to the current directory, as `--config etc/wd.toml`.
    let cwd = std::env::current_dir().expect("cwd");
    let mut relative = PathBuf::new();
    for _ in cwd.components().skip(1) {
        relative.push("..");
    }
    relative.push(sb.config.strip_prefix("/").expect("absolute temp dir"));
    let config = watchdeck::config::Config::load(&relative).expect("loads");
    let audit = config.actions.audit.expect("audit");
    assert!(
        audit.is_absolute(),
        "{} depends on the current directory",
        audit.display()
    );
    assert_eq!(
        std::fs::canonicalize(audit.parent().expect("parent")).expect("exists"),
        std::fs::canonicalize(sb.tmp.path())
            .expect("tmp")
            .join("audit"),
    );
}

#[test]
fn a_huge_value_is_not_echoed_whole() {
    let huge = "x".repeat(10 << 20);
    let sb = Sandbox::new(|_| format!("[[target]]\nname = \"svc\"\nmetrics = \"{huge}\"\n"));
    let r = sb.run(&["config", "check"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.both().len() < 16 << 10,
        "the error is {} bytes long",
        r.both().len()
    );
}

// ------------------------------------------------------------------ 13, 14

#[test]
fn scrape_flags_a_sample_over_the_label_limit() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let labels: Vec<String> = (0..65).map(|i| format!("l{i}=\"v\"")).collect();
    let long = "v".repeat(5000);
    let body = format!(
        "ok 1\nwide{{{}}} 1\nlong{{l=\"{long}\"}} 1\n",
        labels.join(",")
    );
    let file = tmp.path().join("metrics.txt");
    std::fs::write(&file, body).expect("write");
    let out = Command::new(BIN)
        .args(["scrape", "--format", "json"])
        .arg(&file)
        .output()
        .expect("run");
    let r = Ran::from(&out);
    assert_eq!(r.code, Some(1), "{r:?}");
    let listing: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let names: Vec<&str> = listing["samples"]
        .as_array()
        .expect("samples")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["ok"], "{r:?}");
    assert_eq!(listing["malformed"].as_array().map(Vec::len), Some(2));
}

#[test]
fn a_read_only_refusal_does_not_point_at_the_audit_file() {
    let sb =
        Sandbox::new(|dir| command_config(&format!("[\"touch\", {}]", q(&dir.join("mark"))), ""));
    let r = sb.run(&[
        "--read-only",
        "action",
        "run",
        "--target",
        "svc",
        "--name",
        "job",
        "--yes",
    ]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stdout.contains("read-only"), "{r:?}");
    assert!(!r.both().contains("audit:"), "{r:?}");
    assert!(!sb.state_dir().join("audit.jsonl").exists());
}

// ------------------------------------------------------------------ 3: the demo's directory

#[test]
fn a_planted_demo_directory_is_not_used() {
    // The demo's directory used to be `$TMPDIR/watchdeck-demo-<pid>-<n>`, made with
    // create_dir_all: another user could plant it with a symlink inside.
    let victim = tempfile::tempdir().expect("victim");
    let base = std::env::temp_dir();
    let mut planted = Vec::new();
    for n in 0..4 {
        let d = base.join(format!("watchdeck-demo-{}-{n}", std::process::id()));
        if std::fs::create_dir(&d).is_ok() {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).expect("chmod");
            std::os::unix::fs::symlink(victim.path(), d.join("overlay")).expect("symlink");
            planted.push(d);
        }
    }
    assert!(!planted.is_empty());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let fleet = watchdeck::demo::Fleet::start(watchdeck::demo::Scenario::Calm, None).await;
        if let Ok(f) = fleet {
            f.shutdown().await;
        }
    });
    let written = files_under(victim.path());
    for d in &planted {
        let _ = std::fs::remove_dir_all(d);
    }
    assert!(
        written.is_empty(),
        "the demo wrote through the planted symlink: {written:?}"
    );
}
