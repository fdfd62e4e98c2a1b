//! Helpers for tests that drive the real `watchdeck` binary's `action` command: a database of
//! the test's own on the real PostgreSQL (127.0.0.1:5432, trust, user postgres) set up with
//! the real `psql`, the audit file read back as JSON Lines, and a look at /proc for the
//! processes watchdeck starts.
//!
//! ```ignore
//! use crate::common::headless;
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::pgdb;

/// A name no other test (or test process) uses at the same time.
pub use pgdb::unique;

pub const BIN: &str = env!("CARGO_BIN_EXE_watchdeck");

/// Runs `sql` with psql on `db`; panics with psql's message when it fails.
pub fn psql(db: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            "5432",
            "-U",
            "postgres",
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            db,
            "-c",
            sql,
        ])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql on {db} failed: {}\n{sql}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A database of the test's own, dropped (with its sessions) on drop.
pub struct TestDb {
    pub name: String,
}

impl TestDb {
    pub fn new(prefix: &str) -> TestDb {
        let name = unique(prefix);
        psql("postgres", &format!("CREATE DATABASE {name}"));
        TestDb { name }
    }

    pub fn sql(&self, sql: &str) -> String {
        psql(&self.name, sql)
    }

    pub fn dsn(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let out = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-X",
                "-q",
                "-d",
                "postgres",
                "-c",
            ])
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .output();
        let ok = out.as_ref().is_ok_and(|o| o.status.success());
        assert!(
            ok || std::thread::panicking(),
            "could not drop the test database {}: {out:?}",
            self.name
        );
    }
}

/// Every record of a JSON Lines audit file (none when it does not exist). A line that does
/// not parse fails the test: watchdeck writes whole lines or nothing.
pub fn audit_records(path: &Path) -> Vec<serde_json::Value> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("torn audit line {l:?}: {e}")))
        .collect()
}

/// A string field of a record ("" when absent).
pub fn field<'a>(r: &'a serde_json::Value, key: &str) -> &'a str {
    r.get(key).and_then(serde_json::Value::as_str).unwrap_or("")
}

/// A process as /proc shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    pub ppid: u32,
    pub comm: String,
    /// R, S, D, Z…
    pub state: char,
}

/// Reads `/proc/<pid>/stat`; `None` when the process is gone.
pub fn proc_stat(pid: u32) -> Option<Proc> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split at the last ')'.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_owned();
    let mut rest = text[close + 1..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some(Proc {
        pid,
        ppid,
        comm,
        state,
    })
}

/// Every live (not zombie) process.
pub fn all_procs() -> Vec<Proc> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(proc_stat)
        .filter(|p| p.state != 'Z')
        .collect()
}

/// Live children of `pid`.
pub fn children(pid: u32) -> Vec<Proc> {
    all_procs().into_iter().filter(|p| p.ppid == pid).collect()
}

/// The command line of `pid`, NUL-separated arguments joined by spaces.
pub fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// Live processes whose command line mentions `needle` (e.g. a test's own directory).
pub fn procs_mentioning(needle: &str) -> Vec<Proc> {
    all_procs()
        .into_iter()
        .filter(|p| cmdline(p.pid).contains(needle))
        .collect()
}

/// File names in `dir`, sorted (none when it does not exist).
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `pg_restore -f /dev/null FILE`: reads the whole archive; `Err` with its stderr if not.
pub fn pg_restore_reads(file: &Path) -> Result<(), String> {
    let out = Command::new("pg_restore")
        .args(["-f", "/dev/null"])
        .arg(file)
        .output()
        .map_err(|e| format!("cannot run pg_restore: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// How a run of the binary ended.
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn from(out: &Output) -> Ran {
        Ran {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Stdout then stderr.
    pub fn both(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Debug for Ran {
    /// Exit status and both streams, each cut to 4000 characters (a runaway output must not
    /// drown the failure).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cut = |s: &str| s.chars().take(4000).collect::<String>();
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code,
            cut(&self.stdout),
            cut(&self.stderr)
        )
    }
}
