//! Signals at random points of a headless backup: the real `watchdeck action backup --yes`,
//! the real pg_dump/pg_restore and PostgreSQL (127.0.0.1:5432, trust, user postgres).
//!
//! Each trial sends SIGTERM, SIGKILL or SIGHUP either to watchdeck or to its pg_dump child
//! after a random delay, waits for watchdeck to exit, and checks the backup directory and the
//! audit file. The invariant, after every trial: every file under a final name (`*.dump`)
//! reads back whole with `pg_restore -f /dev/null` and its manifest says verified; no final
//! name ever holds an unverified dump; a `.partial` is left only by a SIGKILL of watchdeck.
//!
//! Why SIGKILL leaves a `.partial`: watchdeck gets no chance to clean up, and pg_dump (or the
//! verifying pg_restore) runs in a process group of its own — the lead's design, so that a
//! terminal's Ctrl-C or hangup reaches watchdeck alone and watchdeck decides what happens to
//! the child (SIGHUP: it finishes; SIGTERM: the whole group is killed). The orphan lives on
//! until it finishes or dies of a broken pipe; nothing renames its output, so it stays a
//! `.partial` that retention and the Backups listing never count. The test kills the orphans
//! it finds (they are its own descendants) before it looks at the directory.
//!
//! Per signal: SIGTERM to watchdeck cancels (exit 1, outcome `cancelled`, no `.partial`);
//! SIGHUP to watchdeck lets the backup finish (exit 0, outcome `completed-headless`, a
//! verified dump); pg_dump killed by any of the three makes the outcome `failed` with a
//! message naming pg_dump and how it ended, and nothing under a final name. A signal that
//! lands before the action has started (while the config loads) kills watchdeck with the
//! default disposition before anything is written — also checked.
//!
//! Where: each signal reaches watchdeck once while it starts up, while pg_dump runs, while
//! pg_restore verifies, and in the last milliseconds (record, rename, outcome), and pg_dump
//! four times (25 trials with one more late SIGKILL). A late SIGTERM may find nothing left to
//! cancel: the run then succeeds. A SIGKILL between "recorded as verified" and the rename
//! leaves the verified `.partial` beside its manifest; the listing says so and counts neither.
//!
//! The delays come from a seeded PRNG; the seed is printed (set `WATCHDECK_KILL_SEED` to
//! replay a run; `--nocapture` shows every trial and a tally).

// File names are watchdeck's own, lower case: an exact suffix is the check wanted.
#![allow(clippy::case_sensitive_file_extension_comparisons)]

use crate::common::headless;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime};

use rustix::process::{kill_process, Pid, Signal};
use serde_json::Value;

use headless::{
    audit_records, children, field, names, pg_restore_reads, proc_stat, procs_mentioning, Proc,
    TestDb, BIN,
};

const TARGET: &str = "kt";
/// Rows seeded: enough for pg_dump (--compress=9) to take about a second on a 2-core box.
const ROWS: u32 = 300_000;
/// How long watchdeck may take to exit after a trial's signal (SIGTERM waits up to the
/// child's 3 s grace).
const EXIT_BOUND: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Victim {
    Watchdeck,
    PgDump,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Sig {
    Term,
    Kill,
    Hup,
}

impl Sig {
    fn signal(self) -> Signal {
        match self {
            Sig::Term => Signal::TERM,
            Sig::Kill => Signal::KILL,
            Sig::Hup => Signal::HUP,
        }
    }

    fn number(self) -> i32 {
        match self {
            Sig::Term => 15,
            Sig::Kill => 9,
            Sig::Hup => 1,
        }
    }
}

/// When the signal is aimed (watchdeck only: pg_dump is signalled while it dumps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aim {
    /// A delay from watchdeck's start, within its observed start-up time.
    Startup,
    /// A delay after pg_dump appeared, well within its observed run time.
    Dumping,
    /// A short delay after the verifying pg_restore appeared.
    Verifying,
    /// A few milliseconds after pg_restore ended: rename, manifest, retention, outcome.
    Late,
}

/// Where the run was when the signal went out, observed just before sending it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// No child yet (config, plan, lock, intent record).
    Startup,
    Dumping,
    Verifying,
    /// The children are done (rename, manifest, outcome).
    Late,
}

/// splitmix64: small, seedable, good enough to pick delays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..=max`.
    fn upto(&mut self, max: u64) -> u64 {
        self.next() % (max + 1)
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.upto(i as u64) as usize;
            v.swap(i, j);
        }
    }
}

fn seed() -> u64 {
    std::env::var("WATCHDECK_KILL_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

/// The database, the config and the directories every trial shares.
struct Bench {
    _tmp: tempfile::TempDir,
    _db: TestDb,
    config: PathBuf,
    backups: PathBuf,
    state_home: PathBuf,
    out: PathBuf,
}

impl Bench {
    fn new() -> Bench {
        let tmp = tempfile::tempdir().expect("tempdir");
        let db = TestDb::new("wd_kill");
        db.sql(&format!(
            "CREATE TABLE events (seq bigint PRIMARY KEY, body text NOT NULL, extra text);
             INSERT INTO events SELECT i, md5(i::text), repeat(md5((i * 7)::text), 2)
               FROM generate_series(1, {ROWS}) i;
             CREATE TABLE users (id int PRIMARY KEY, name text);
             INSERT INTO users SELECT i, 'user' || i FROM generate_series(1, 50) i;"
        ));
        let backups = tmp.path().join("backups");
        let state_home = tmp.path().join("state");
        let out = tmp.path().join("out");
        std::fs::create_dir_all(&out).expect("out dir");
        let config = tmp.path().join("watchdeck.toml");
        // keep = 1000: retention never deletes, so every verified dump must stay as it is.
        std::fs::write(
            &config,
            format!(
                "[[target]]\nname = \"{TARGET}\"\n\n[target.postgres]\ndsn = \"{}\"\n\n\
                 [target.backup]\nkind = \"postgres\"\ndir = \"{}\"\nkeep = 1000\ntimeout = \"5m\"\n",
                db.dsn(),
                backups.display()
            ),
        )
        .expect("config");
        Bench {
            _tmp: tmp,
            _db: db,
            config,
            backups,
            state_home,
            out,
        }
    }

    fn audit(&self) -> PathBuf {
        self.state_home.join("watchdeck").join("audit.jsonl")
    }

    /// Starts `watchdeck action backup --yes`. With `pipes`, stdout and stderr are pipes the
    /// caller may close (a dropped SSH session); otherwise files named after `label`.
    fn spawn(&self, label: &str, pipes: bool) -> Child {
        let mut cmd = Command::new(BIN);
        cmd.arg("--config")
            .arg(&self.config)
            .args(["action", "backup", "--target", TARGET, "--yes"])
            .env("XDG_STATE_HOME", &self.state_home)
            .env_remove("WATCHDECK_CONFIG")
            .env_remove("WATCHDECK_LOG")
            .stdin(Stdio::null());
        if pipes {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        } else {
            let f = |ext: &str| {
                File::create(self.out.join(format!("{label}.{ext}"))).expect("output file")
            };
            cmd.stdout(f("stdout")).stderr(f("stderr"));
        }
        cmd.spawn().expect("start watchdeck")
    }

    fn stdout_of(&self, label: &str) -> String {
        std::fs::read_to_string(self.out.join(format!("{label}.stdout"))).unwrap_or_default()
    }

    fn stderr_of(&self, label: &str) -> String {
        std::fs::read_to_string(self.out.join(format!("{label}.stderr"))).unwrap_or_default()
    }
}

/// Waits for a live child of `wd` named `comm`; `None` if watchdeck ended first or `bound`
/// passed.
fn wait_for_child(wd: &mut Child, comm: &str, bound: Duration) -> Option<Proc> {
    let until = Instant::now() + bound;
    while Instant::now() < until {
        if let Some(p) = children(wd.id()).into_iter().find(|p| p.comm == comm) {
            return Some(p);
        }
        if wd.try_wait().expect("try_wait").is_some() {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    None
}

/// Waits (bounded) for watchdeck to exit; kills it and fails the test if it does not.
fn wait_exit(wd: &mut Child, what: &str) -> ExitStatus {
    let until = Instant::now() + EXIT_BOUND;
    loop {
        if let Some(status) = wd.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > until {
            let _ = wd.kill();
            let _ = wd.wait();
            panic!("{what}: watchdeck did not exit within {EXIT_BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What was running under watchdeck just now.
fn phase_now(wd: u32, aim: Aim) -> Phase {
    let kids = children(wd);
    if kids.iter().any(|p| p.comm == "pg_dump") {
        Phase::Dumping
    } else if kids.iter().any(|p| p.comm == "pg_restore") {
        Phase::Verifying
    } else if aim == Aim::Startup {
        // Start-up delays are bounded by the observed start-up time: no child yet.
        Phase::Startup
    } else {
        Phase::Late
    }
}

fn signal(pid: u32, sig: Sig) -> rustix::io::Result<()> {
    let pid = Pid::from_raw(pid as i32).expect("pid > 0");
    kill_process(pid, sig.signal())
}

/// A baseline run without signals: how long start-up and pg_dump take (the delays are drawn
/// within these), and a first verified dump that every later trial must leave alone.
fn baseline(bench: &Bench, label: &str) -> (Duration, Duration) {
    let start = Instant::now();
    let mut wd = bench.spawn(label, false);
    let dump = wait_for_child(&mut wd, "pg_dump", Duration::from_secs(30))
        .unwrap_or_else(|| panic!("baseline: pg_dump never ran: {}", bench.stdout_of(label)));
    let startup = start.elapsed();
    let dump_start = Instant::now();
    while proc_stat(dump.pid).is_some_and(|p| p.state != 'Z' && p.ppid == wd.id()) {
        assert!(
            dump_start.elapsed() < EXIT_BOUND,
            "baseline: pg_dump still runs after {EXIT_BOUND:?}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let dumping = dump_start.elapsed();
    let status = wait_exit(&mut wd, "baseline");
    assert!(
        status.success(),
        "baseline backup failed ({status}):\n{}\n{}",
        bench.stdout_of(label),
        bench.stderr_of(label)
    );
    (startup, dumping)
}

/// What one trial did and saw.
#[derive(Debug)]
struct Trial {
    n: usize,
    victim: Victim,
    sig: Sig,
    aim: Aim,
    delay_us: u64,
    phase: Phase,
    status: ExitStatus,
    /// Audit records this trial added.
    records: Vec<Value>,
    /// Names that appeared in the backup directory during the trial.
    new_names: Vec<String>,
    /// Orphaned pg_dump/pg_restore found alive after watchdeck died.
    orphans: Vec<Proc>,
    label: String,
}

impl Trial {
    fn describe(&self) -> String {
        format!(
            "trial {} ({:?} {:?}, aimed {:?} +{:.1} ms, observed {:?}): {} — records {:?}, new files {:?}",
            self.n,
            self.victim,
            self.sig,
            self.aim,
            self.delay_us as f64 / 1000.0,
            self.phase,
            self.status,
            self.records
                .iter()
                .map(|r| format!(
                    "{}:{}:{}",
                    field(r, "phase"),
                    field(r, "result"),
                    field(r, "error")
                ))
                .collect::<Vec<_>>(),
            self.new_names
        )
    }

    fn intents(&self) -> Vec<&Value> {
        self.records
            .iter()
            .filter(|r| field(r, "phase") == "intent")
            .collect()
    }

    fn outcome(&self) -> Option<&Value> {
        let outcomes: Vec<&Value> = self
            .records
            .iter()
            .filter(|r| field(r, "phase") == "outcome")
            .collect();
        assert!(outcomes.len() <= 1, "{}", self.describe());
        outcomes.first().copied()
    }

    fn result(&self) -> &str {
        self.outcome().map_or("", |o| field(o, "result"))
    }

    fn new_with(&self, suffix: &str) -> Vec<&String> {
        self.new_names
            .iter()
            .filter(|n| n.ends_with(suffix))
            .collect()
    }

    /// The intent and the outcome belong together.
    fn assert_paired(&self) {
        let intents = self.intents();
        assert_eq!(intents.len(), 1, "one intent: {}", self.describe());
        let intent = intents[0];
        let outcome = self.outcome().expect("an outcome record");
        assert_eq!(
            field(intent, "id"),
            field(outcome, "id"),
            "{}",
            self.describe()
        );
        for r in [intent, outcome] {
            assert_eq!(field(r, "action"), "backup");
            assert_eq!(field(r, "target"), TARGET);
        }
        assert!(
            intent["plan"].as_array().is_some_and(|p| p.iter().any(|l| l
                .as_str()
                .is_some_and(|l| l.contains(" pg_dump --format=custom")))),
            "the intent carries the plan: {intent}"
        );
    }

    /// Ended before the action started: default disposition, nothing written.
    fn killed_before_start(&self) -> bool {
        self.status.signal() == Some(self.sig.number())
            && self.records.is_empty()
            && self.new_names.is_empty()
    }

    /// Cancelled: exit 1, outcome `cancelled`, no `.partial`, nothing under a final name, a
    /// manifest recording the error.
    fn assert_cancelled(&self, bench: &Bench) {
        assert_eq!(self.status.code(), Some(1), "{}", self.describe());
        self.assert_paired();
        assert_eq!(self.result(), "cancelled", "{}", self.describe());
        let error = self.outcome().map_or("", |o| field(o, "error"));
        assert!(
            error.contains("was cancelled") && error.contains("partial file was removed"),
            "{error}"
        );
        self.assert_nothing_final(bench);
        let stdout = bench.stdout_of(&self.label);
        assert!(
            stdout.contains(&format!("cancelled: backup of {TARGET} was cancelled")),
            "{stdout}"
        );
    }

    /// A failed or cancelled attempt: a manifest with the error, no dump, no partial.
    fn assert_nothing_final(&self, bench: &Bench) {
        assert!(self.new_with(".dump").is_empty(), "{}", self.describe());
        assert!(self.new_with(".partial").is_empty(), "{}", self.describe());
        let manifests = self.new_with(".dump.json");
        assert_eq!(manifests.len(), 1, "{}", self.describe());
        let m = manifest(&bench.backups.join(manifests[0]));
        assert_eq!(m["verified"], Value::Bool(false), "{m}");
        assert!(m["error"].is_string() && m["finished"].is_string(), "{m}");
        assert_eq!(
            self.new_names.len(),
            1,
            "only the manifest is new: {}",
            self.describe()
        );
    }

    /// A verified dump added under its final name.
    fn assert_one_new_dump(&self) {
        assert_eq!(self.new_with(".dump").len(), 1, "{}", self.describe());
        assert!(self.new_with(".partial").is_empty(), "{}", self.describe());
        assert_eq!(
            self.new_names.len(),
            2,
            "dump and manifest: {}",
            self.describe()
        );
    }
}

/// Whether an attempt started after `before` is recorded as verified (or already renamed).
fn recorded_verified(backups: &Path, before: &[String]) -> bool {
    names(backups)
        .iter()
        .filter(|n| !before.contains(n))
        .any(|n| {
            n.ends_with(".dump")
                || (n.ends_with(".dump.json")
                    && std::fs::read_to_string(backups.join(n))
                        .ok()
                        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                        .is_some_and(|m| m["verified"] == Value::Bool(true)))
        })
}

fn manifest(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read manifest {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("manifest {}: {e}", path.display()))
}

/// Kills the pg_dump/pg_restore processes watchdeck left behind (they mention the backup
/// directory in their argv) and waits until they are gone.
fn reap_orphans(backups: &Path) -> Vec<Proc> {
    let needle = backups.display().to_string();
    let orphans = procs_mentioning(&needle);
    for p in &orphans {
        let _ = signal(p.pid, Sig::Kill);
    }
    let until = Instant::now() + Duration::from_secs(10);
    while !procs_mentioning(&needle).is_empty() {
        assert!(Instant::now() < until, "orphans did not die: {orphans:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    orphans
}

/// The invariant over the whole directory. `verified` caches the dumps already read back
/// (name -> size): a final dump never changes or goes away (keep = 1000). `allowed` holds the
/// leftovers SIGKILL trials may leave.
fn check_directory(
    backups: &Path,
    verified: &mut BTreeMap<String, u64>,
    allowed: &BTreeSet<String>,
    context: &str,
) {
    let names = names(backups);
    for (name, size) in verified.iter() {
        assert!(
            names.contains(name),
            "{context}: the verified dump {name} disappeared"
        );
        let now = std::fs::metadata(backups.join(name)).map_or(0, |m| m.len());
        assert_eq!(now, *size, "{context}: the verified dump {name} changed");
    }
    for name in &names {
        let path = backups.join(name);
        if name.ends_with(".dump") {
            let m = manifest(&backups.join(format!("{name}.json")));
            assert_eq!(
                m["verified"],
                Value::Bool(true),
                "{context}: {name} is under a final name but its manifest does not say verified: {m}"
            );
            assert_eq!(m["file"].as_str(), Some(name.as_str()), "{m}");
            let size = std::fs::metadata(&path).expect("stat dump").len();
            assert_eq!(m["bytes"].as_u64(), Some(size), "{context}: {m}");
            if !verified.contains_key(name) {
                if let Err(e) = pg_restore_reads(&path) {
                    panic!("{context}: {name} is under a final name but pg_restore cannot read it: {e}");
                }
                verified.insert(name.clone(), size);
            }
        } else if let Some(dump) = name.strip_suffix(".json") {
            let m = manifest(&path);
            if m["verified"] == Value::Bool(true) {
                // Recorded as verified just before the rename: only a SIGKILL in between
                // leaves the record without its file, and then the verified .partial is there.
                let renamed = names.iter().any(|n| n == dump);
                let killed_before_rename =
                    allowed.contains(name) && names.iter().any(|n| *n == format!("{dump}.partial"));
                assert!(
                    renamed || killed_before_rename,
                    "{context}: {name} says verified but {dump} is missing"
                );
                if !renamed {
                    if let Err(e) = pg_restore_reads(&backups.join(format!("{dump}.partial"))) {
                        panic!("{context}: {dump}.partial was recorded as verified but does not read back: {e}");
                    }
                }
            } else {
                assert!(
                    !names.iter().any(|n| n == dump),
                    "{context}: {dump} exists under a final name with an unverified manifest: {m}"
                );
                if m["finished"].is_null() {
                    // The attempt never ended: only a SIGKILL can leave that.
                    assert!(
                        allowed.contains(name),
                        "{context}: {name} is an unfinished attempt but nothing was SIGKILLed: {m}"
                    );
                }
            }
        } else {
            assert!(
                (name.ends_with(".partial") || name.ends_with(".tmp")) && allowed.contains(name),
                "{context}: unexpected file {name} in the backup directory"
            );
        }
    }
    // The Backups listing (and so retention and the freshness alert) counts exactly these.
    let listed = watchdeck::actions::backup::list(backups, TARGET).expect("list");
    let counted: BTreeSet<String> = listed
        .iter()
        .filter(|g| g.is_verified())
        .filter_map(|g| Some(g.file.file_name()?.to_string_lossy().into_owned()))
        .collect();
    let expected: BTreeSet<String> = verified.keys().cloned().collect();
    assert_eq!(
        counted, expected,
        "{context}: the listing counts other dumps"
    );
    for g in &listed {
        let recorded = g.manifest.as_ref().is_some_and(|m| m.verified);
        if recorded && !g.present {
            let why = g.error().unwrap_or_default();
            assert!(
                why.contains("between verifying and renaming"),
                "{context}: {why}"
            );
        }
    }
}

#[test]
#[allow(clippy::too_many_lines)]
fn signals_at_random_points_leave_only_verified_dumps_under_final_names() {
    let seed = seed();
    println!("action_kill: seed {seed} (replay with WATCHDECK_KILL_SEED={seed})");
    let mut rng = Rng(seed);
    let bench = Bench::new();

    // Two baselines: the second on a warm cache, which is what the trials see.
    let (_, first_dump) = baseline(&bench, "baseline-1");
    let (startup, second_dump) = baseline(&bench, "baseline-2");
    let dumping = first_dump.min(second_dump);
    println!("action_kill: start-up {startup:?}, pg_dump {dumping:?} (rows {ROWS})");
    assert!(
        dumping >= Duration::from_millis(250),
        "pg_dump took only {dumping:?}: seed more rows so that signals can land while it runs"
    );
    let mut verified = BTreeMap::new();
    let mut allowed = BTreeSet::new();
    check_directory(&bench.backups, &mut verified, &allowed, "baselines");
    assert_eq!(verified.len(), 2, "the baselines left two verified dumps");

    // Every signal reaches watchdeck once at each point of the run, and pg_dump as often
    // (25 trials); the order and the delays are random.
    let mut plan = Vec::new();
    for sig in [Sig::Term, Sig::Kill, Sig::Hup] {
        for aim in [Aim::Startup, Aim::Dumping, Aim::Verifying, Aim::Late] {
            plan.push((Victim::Watchdeck, sig, aim));
            plan.push((Victim::PgDump, sig, Aim::Dumping));
        }
    }
    // Once more where a SIGKILL can split the record from the rename.
    plan.push((Victim::Watchdeck, Sig::Kill, Aim::Late));
    rng.shuffle(&mut plan);

    let start_ms = startup.as_millis() as u64;
    // Well inside pg_dump's run, so that the load of a shared box cannot make it finish first.
    let dump_ms = (dumping.as_millis() as u64) * 2 / 5;
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    let mut orphans_seen = 0;
    for (n, (victim, sig, aim)) in plan.into_iter().enumerate() {
        let label = format!("trial-{n}");
        let before = names(&bench.backups);
        let records_before = audit_records(&bench.audit()).len();
        // SIGHUP is a dropped session: the pipes go away with it.
        let pipes = sig == Sig::Hup && victim == Victim::Watchdeck;
        let mut wd = bench.spawn(&label, pipes);
        let wd_pid = wd.id();
        let delay_us;
        let phase;
        match aim {
            Aim::Startup => {
                // Up to the observed start-up time plus a little: config, plan, lock, intent.
                delay_us = rng.upto(start_ms + 20) * 1000;
                std::thread::sleep(Duration::from_micros(delay_us));
                phase = phase_now(wd_pid, aim);
                signal(wd_pid, sig).expect("signal watchdeck");
            }
            Aim::Dumping => {
                let dump = wait_for_child(&mut wd, "pg_dump", Duration::from_secs(30))
                    .unwrap_or_else(|| panic!("trial {n}: pg_dump never ran"));
                delay_us = rng.upto(dump_ms) * 1000;
                std::thread::sleep(Duration::from_micros(delay_us));
                phase = phase_now(wd_pid, aim);
                if victim == Victim::PgDump {
                    let alive = proc_stat(dump.pid)
                        .is_some_and(|p| p.state != 'Z' && p.ppid == wd_pid && p.comm == "pg_dump");
                    assert!(
                        alive,
                        "trial {n}: pg_dump finished within {} ms although the baseline took {dumping:?}; the box is too loaded for this seed ({seed})",
                        delay_us / 1000
                    );
                    signal(dump.pid, sig).expect("signal pg_dump");
                } else {
                    signal(wd_pid, sig).expect("signal watchdeck");
                }
            }
            Aim::Verifying => {
                let _ = wait_for_child(&mut wd, "pg_restore", Duration::from_secs(60))
                    .unwrap_or_else(|| panic!("trial {n}: pg_restore never ran"));
                delay_us = rng.upto(30) * 1000;
                std::thread::sleep(Duration::from_micros(delay_us));
                phase = phase_now(wd_pid, aim);
                signal(wd_pid, sig).expect("signal watchdeck");
            }
            Aim::Late => {
                let verify = wait_for_child(&mut wd, "pg_restore", Duration::from_secs(60))
                    .unwrap_or_else(|| panic!("trial {n}: pg_restore never ran"));
                let until = Instant::now() + EXIT_BOUND;
                while proc_stat(verify.pid).is_some_and(|p| p.state != 'Z') {
                    assert!(
                        Instant::now() < until,
                        "trial {n}: pg_restore still runs after {EXIT_BOUND:?}"
                    );
                    std::thread::sleep(Duration::from_micros(200));
                }
                // Then as soon as the attempt is recorded as verified (the rename follows at
                // once), plus up to 1.5 ms: the few milliseconds of bookkeeping at the end.
                let until = Instant::now() + Duration::from_secs(2);
                while Instant::now() < until && !recorded_verified(&bench.backups, &before) {
                    std::thread::yield_now();
                }
                delay_us = rng.upto(1500);
                std::thread::sleep(Duration::from_micros(delay_us));
                phase = phase_now(wd_pid, aim);
                // watchdeck may have exited already; then the signal finds nobody (or a
                // zombie) and the trial is an undisturbed run.
                let _ = signal(wd_pid, sig);
            }
        }
        if pipes {
            drop(wd.stdout.take());
            drop(wd.stderr.take());
        }
        let status = wait_exit(&mut wd, &label);
        let orphans = if victim == Victim::Watchdeck && sig == Sig::Kill {
            reap_orphans(&bench.backups)
        } else {
            // Every other way of ending reaps the children: nothing may be left running.
            let left = procs_mentioning(&bench.backups.display().to_string());
            assert!(
                left.is_empty(),
                "trial {n}: children outlived watchdeck: {left:?}"
            );
            Vec::new()
        };
        orphans_seen += orphans.len();
        let after = names(&bench.backups);
        let new_names: Vec<String> = after
            .iter()
            .filter(|a| !before.contains(a))
            .cloned()
            .collect();
        let records = audit_records(&bench.audit())[records_before..].to_vec();
        let trial = Trial {
            n,
            victim,
            sig,
            aim,
            delay_us,
            phase,
            status,
            records,
            new_names,
            orphans,
            label,
        };
        let verdict = check_trial(&bench, &trial);
        if victim == Victim::Watchdeck && sig == Sig::Kill {
            // A SIGKILL may leave this attempt's .partial, unfinished manifest or temp file.
            allowed.extend(trial.new_names.iter().cloned());
        }
        check_directory(&bench.backups, &mut verified, &allowed, &trial.describe());
        println!("{}", trial.describe());
        *tally
            .entry(format!(
                "{:?} {:?} during {:?}: {verdict}",
                trial.victim, trial.sig, trial.phase
            ))
            .or_default() += 1;
    }
    println!(
        "action_kill: seed {seed}; {} verified dumps; {orphans_seen} orphans killed after SIGKILL",
        verified.len()
    );
    for (what, n) in &tally {
        println!("  {n:2} × {what}");
    }
    let trials: usize = tally.values().sum();
    assert!(trials >= 20);
}

/// Checks one trial against what its signal must do; returns a short verdict for the tally.
fn check_trial(bench: &Bench, t: &Trial) -> String {
    match (t.victim, t.sig, t.phase) {
        (Victim::PgDump, _, phase) => {
            assert_eq!(phase, Phase::Dumping, "{}", t.describe());
            assert_eq!(t.status.code(), Some(1), "{}", t.describe());
            t.assert_paired();
            assert_eq!(t.result(), "failed", "{}", t.describe());
            let error = t.outcome().map_or("", |o| field(o, "error"));
            // pg_dump exits 1 from its own SIGTERM/SIGHUP handling, or dies of the signal.
            let how = [
                format!("killed by signal {}", t.sig.number()),
                "exit 1".to_owned(),
            ];
            assert!(
                error.contains(&format!("pg_dump failed for {TARGET}"))
                    && how.iter().any(|h| error.contains(h.as_str())),
                "the failure names pg_dump and how it ended: {error:?}"
            );
            t.assert_nothing_final(bench);
            format!("failed ({})", error.split(['(', ')']).nth(1).unwrap_or("?"))
        }
        (Victim::Watchdeck, Sig::Term | Sig::Hup, Phase::Startup) if t.killed_before_start() => {
            "killed before the action started; nothing written".into()
        }
        (Victim::Watchdeck, Sig::Term | Sig::Kill, Phase::Late) if t.status.success() => {
            // After verification nothing is cancellable (rename and records finish), and a
            // late signal may find watchdeck already gone.
            t.assert_paired();
            assert_eq!(t.result(), "succeeded", "{}", t.describe());
            t.assert_one_new_dump();
            "succeeded (the run was past its last cancellable step)".into()
        }
        (Victim::Watchdeck, Sig::Term, _) => {
            t.assert_cancelled(bench);
            "cancelled".into()
        }
        (Victim::Watchdeck, Sig::Hup, phase) => {
            assert_eq!(t.status.code(), Some(0), "{}", t.describe());
            t.assert_paired();
            let headless = t.result() == "completed-headless";
            // Only a hangup after the outcome was decided may still say "succeeded".
            assert!(
                headless || (phase == Phase::Late && t.result() == "succeeded"),
                "{}",
                t.describe()
            );
            let outcome = t.outcome().expect("outcome");
            assert!(
                field(outcome, "verification").contains("pg_restore read the whole archive"),
                "{outcome}"
            );
            t.assert_one_new_dump();
            t.result().to_owned()
        }
        (Victim::Watchdeck, Sig::Kill, phase) => {
            assert_eq!(t.status.signal(), Some(9), "{}", t.describe());
            let intents = t.intents();
            assert!(intents.len() <= 1, "{}", t.describe());
            if phase != Phase::Late {
                assert!(
                    t.outcome().is_none(),
                    "a SIGKILLed watchdeck wrote no outcome: {}",
                    t.describe()
                );
                assert!(t.new_with(".dump").is_empty(), "{}", t.describe());
            }
            if matches!(phase, Phase::Dumping | Phase::Verifying) {
                assert_eq!(intents.len(), 1, "the intent came first: {}", t.describe());
                // The attempt's record says it never finished.
                let manifests = t.new_with(".dump.json");
                assert_eq!(manifests.len(), 1, "{}", t.describe());
                let m = manifest(&bench.backups.join(manifests[0]));
                assert!(
                    m["finished"].is_null() && m["verified"] == Value::Bool(false),
                    "{m}"
                );
            }
            let partial = !t.new_with(".partial").is_empty();
            format!(
                "killed; {} .partial left, {} orphan(s) killed",
                if partial { "a" } else { "no" },
                t.orphans.len()
            )
        }
    }
}
