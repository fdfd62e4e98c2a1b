//! The audit log: an append-only JSON Lines file, mode 0600, one intent record fsynced before
//! any side effect and one outcome record after.
//!
//! Records are written with one `write` on an `O_APPEND` descriptor under an exclusive flock, so
//! two watchdeck processes acting at once never interleave lines. Every line passes through the
//! secret mask last, whatever the caller put in it. Reading (`tail`) tolerates a torn or foreign
//! line: it is skipped, never fatal, because the Audit panel must keep working on a bad day.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::SystemTime;

use rustix::fs::{flock, FlockOperation};
use serde::{Deserialize, Serialize};

use crate::text::mask_secrets;

/// Who is acting: the audit trail's first question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    pub user: String,
    pub uid: u32,
    /// `$SSH_CONNECTION` ("client-ip client-port server-ip server-port"), when over SSH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_connection: Option<String>,
}

impl Operator {
    /// The operator of this process, from its uid and environment.
    pub fn current() -> Operator {
        let uid = rustix::process::getuid().as_raw();
        let user = ["USER", "LOGNAME"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
            .or_else(|| passwd_name(uid))
            .unwrap_or_else(|| format!("uid{uid}"));
        Operator {
            user,
            uid,
            ssh_connection: std::env::var("SSH_CONNECTION")
                .ok()
                .filter(|v| !v.is_empty()),
        }
    }
}

/// The login name of `uid` from /etc/passwd (no NSS: good enough for local accounts, and the
/// uid is recorded beside it anyway).
fn passwd_name(uid: u32) -> Option<String> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let id: u32 = f.nth(1)?.parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_owned())
    })
}

/// This machine's name, for records read on another host later.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned())
}

/// One line of the audit file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Shared by an action's intent and outcome records.
    pub id: String,
    /// RFC 3339, UTC, seconds.
    pub time: String,
    /// "intent", "outcome", or "ack" (an alert acknowledged with a note).
    pub phase: String,
    pub operator: Operator,
    pub host: String,
    pub target: String,
    pub action: String,
    /// Parameters (topic, release, file…), secrets masked.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub params: serde_json::Value,
    /// The plan lines exactly as previewed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<String>,
    /// Outcome: "succeeded", "failed", "cancelled", "timed-out", "refused",
    /// "completed-headless", "interrupted".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Free text: the operator's note on an acknowledgement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Record {
    /// A record stamped now for this operator and host.
    pub fn new(id: &str, phase: &str, target: &str, action: &str) -> Record {
        Record {
            id: id.to_owned(),
            time: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            phase: phase.to_owned(),
            operator: Operator::current(),
            host: hostname(),
            target: target.to_owned(),
            action: action.to_owned(),
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
}

/// Masks secrets in every string of a JSON value, keys left alone.
fn mask_value(v: &mut serde_json::Value, secrets: &[String]) {
    match v {
        serde_json::Value::String(s) => *s = mask_secrets(s, secrets),
        serde_json::Value::Array(a) => a.iter_mut().for_each(|v| mask_value(v, secrets)),
        serde_json::Value::Object(o) => o.values_mut().for_each(|v| mask_value(v, secrets)),
        _ => {}
    }
}

/// A new id, unique across processes on this host: time, pid and a counter.
pub fn new_id() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!(
        "{ms:x}-{:x}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(
        "cannot open the audit file {path}: {source} — actions are refused until it can be written"
    )]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot write the audit file {path}: {source} — actions are refused until it can be written")]
    Write { path: PathBuf, source: io::Error },
}

/// The audit file. Cheap to clone; each append opens, locks, writes and syncs.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
    secrets: Vec<String>,
}

impl AuditLog {
    pub fn new(path: impl Into<PathBuf>, secrets: Vec<String>) -> AuditLog {
        AuditLog {
            path: path.into(),
            secrets,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The values masked in every line.
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// Appends one record and syncs it to disk before returning: an intent record is durable
    /// before the side effect it announces.
    pub fn append(&self, record: &Record) -> Result<(), AuditError> {
        // Masked last, in every string value (not in the JSON text, where escaping could hide
        // a secret and a secret equal to a key would break the line): whatever a driver put in
        // an error or a plan.
        let mut value = serde_json::to_value(record).map_err(|e| AuditError::Write {
            path: self.path.clone(),
            source: io::Error::other(e),
        })?;
        mask_value(&mut value, &self.secrets);
        let mut line = value.to_string();
        line.push('\n');
        let file = self.open()?;
        let write = |f: &File| -> io::Result<()> {
            flock(f, FlockOperation::LockExclusive)?;
            let mut w = f;
            w.write_all(line.as_bytes())?;
            f.sync_data()
        };
        write(&file).map_err(|source| AuditError::Write {
            path: self.path.clone(),
            source,
        })
    }

    fn open(&self) -> Result<File, AuditError> {
        let err = |source| AuditError::Open {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(err)?;
        }
        // Never through a symlink: a link planted here would make records (and the chmod
        // below) land on a file of someone else's choosing.
        let file = crate::safe_fs::open_state_file(
            &self.path,
            OpenOptions::new().append(true).create(true).mode(0o600),
        )
        .map_err(err)?;
        // A file created by hand or by an older tool with a looser mode is tightened: the plan
        // lines name hosts, databases and paths.
        let meta = file.metadata().map_err(err)?;
        if meta.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(err)?;
        }
        Ok(file)
    }

    /// The last `n` records, oldest first. Lines that do not parse are skipped.
    pub fn tail(&self, n: usize) -> io::Result<Vec<Record>> {
        let mut file =
            match crate::safe_fs::open_state_file(&self.path, OpenOptions::new().read(true)) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(e),
            };
        // Read at most the last 1 MiB: the panel wants the recent past, not the whole year.
        let len = file.metadata()?.len();
        let start = len.saturating_sub(1 << 20);
        file.seek(SeekFrom::Start(start))?;
        let mut lines = BufReader::new(file).lines();
        if start > 0 {
            let _ = lines.next(); // a partial first line
        }
        let mut out: Vec<Record> = lines
            .map_while(Result::ok)
            .filter_map(|l| serde_json::from_str(&l).ok())
            .collect();
        if out.len() > n {
            out.drain(..out.len() - n);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_is_0600_masked_and_readable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = AuditLog::new(dir.path().join("a/audit.jsonl"), vec!["s3cret".into()]);
        let mut r = Record::new(&new_id(), "intent", "cn-relay", "backup");
        r.plan = vec!["PGPASSWORD=s3cret pg_dump".into()];
        log.append(&r).expect("append");
        let mut o = Record::new(&r.id, "outcome", "cn-relay", "backup");
        o.result = Some("succeeded".into());
        log.append(&o).expect("append");
        let text = std::fs::read_to_string(log.path()).expect("read");
        assert!(!text.contains("s3cret"));
        assert_eq!(text.lines().count(), 2);
        let mode = std::fs::metadata(log.path())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let back = log.tail(10).expect("tail");
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].plan, vec!["PGPASSWORD=*** pg_dump".to_string()]);
        assert_eq!(back[1].result.as_deref(), Some("succeeded"));
    }

    #[test]
    fn secrets_are_masked_in_values_even_when_json_escapes_them_or_they_equal_a_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let secrets = vec!["pa\"ss\\word".to_owned(), "target".to_owned()];
        let log = AuditLog::new(dir.path().join("audit.jsonl"), secrets);
        let mut r = Record::new("id", "intent", "t", "backup");
        r.error = Some("login failed for pa\"ss\\word at target".into());
        log.append(&r).expect("append");
        let back = log.tail(5).expect("tail");
        assert_eq!(back.len(), 1, "the line still parses");
        assert_eq!(
            back[0].error.as_deref(),
            Some("login failed for *** at ***")
        );
        assert_eq!(back[0].target, "t");
    }

    #[test]
    fn loose_mode_is_tightened_and_torn_lines_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        std::fs::write(&path, "{\"torn\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let log = AuditLog::new(&path, vec![]);
        log.append(&Record::new("x", "intent", "t", "run"))
            .expect("append");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(log.tail(5).expect("tail").len(), 1);
    }
}
