//! Single-flight: one action per target and kind, across processes, by flock.
//!
//! The lock file lives in the state directory (`locks/<target>.<kind>.lock`). flock belongs to
//! the open file description, so the kernel releases it when the holder exits or is killed —
//! no stale locks after a crash, no pid files to clean up. The holder writes who it is into the
//! file so that a refused second trigger can say who holds the lock and since when.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rustix::fs::{flock, FlockOperation};
use serde::{Deserialize, Serialize};

use super::audit::Operator;
use super::ActionKind;

/// What the holder wrote into the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub user: String,
    pub host: String,
    /// RFC 3339 UTC.
    pub since: String,
    pub action_id: String,
    /// The process group of the child the holder runs, once it runs one. A later run that
    /// finds this group still alive (its watchdeck was killed) refuses to start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pgid: Option<i32>,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{kind} on {target} is already running: {}", describe(.holder.as_deref()))]
    Held {
        target: String,
        kind: &'static str,
        holder: Option<Box<Holder>>,
    },
    #[error("{kind} on {target} is still running from a previous run: its process group {pgid} lives on although the watchdeck that started it (pid {}, action {}) is gone — wait for it to end, or stop it with `kill -TERM -{pgid}`", .holder.pid, .holder.action_id)]
    Orphaned {
        target: String,
        kind: &'static str,
        pgid: i32,
        holder: Box<Holder>,
    },
    #[error("cannot use the lock file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn describe(holder: Option<&Holder>) -> String {
    match holder {
        Some(h) => format!(
            "held by pid {} ({}@{}) since {}, action {} — wait for it, or cancel it there",
            h.pid, h.user, h.host, h.since, h.action_id
        ),
        None => "held by another process that has not said who it is yet — try again in a moment"
            .to_owned(),
    }
}

/// Held until dropped (or until the process dies).
#[derive(Debug)]
pub struct LockGuard {
    file: File,
    path: PathBuf,
    holder: std::sync::Mutex<Holder>,
}

impl LockGuard {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records the process group of the child now running, so that a later run can tell
    /// whether it outlived this process.
    pub fn note_child(&self, pgid: i32) {
        let Ok(mut holder) = self.holder.lock() else {
            return;
        };
        holder.pgid = Some(pgid);
        let text = serde_json::to_string(&*holder).unwrap_or_default();
        let mut f = &self.file;
        let written = f
            .set_len(0)
            .and_then(|()| f.seek(SeekFrom::Start(0)))
            .and_then(|_| f.write_all(text.as_bytes()));
        if let Err(e) = written {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot record the child's process group in the lock file");
        }
    }
}

/// Where the lock for `target`/`kind` lives.
pub fn lock_path(state_dir: &Path, target: &str, kind: ActionKind) -> PathBuf {
    state_dir
        .join("locks")
        .join(format!("{target}.{}.lock", kind.as_str()))
}

/// Takes the lock at once or says who holds it; never waits.
pub fn acquire(
    state_dir: &Path,
    target: &str,
    kind: ActionKind,
    action_id: &str,
) -> Result<LockGuard, LockError> {
    let path = lock_path(state_dir, target, kind);
    let io_err = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    // The state directory and its locks directory are this user's own and closed to others,
    // and the lock file is never opened through a symlink.
    crate::safe_fs::private_dir(state_dir).map_err(io_err)?;
    if let Some(dir) = path.parent() {
        crate::safe_fs::private_dir(dir).map_err(io_err)?;
    }
    let mut file = crate::safe_fs::open_state_file(
        &path,
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600),
    )
    .map_err(io_err)?;
    match flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(LockError::Held {
                target: target.to_owned(),
                kind: kind.as_str(),
                holder: serde_json::from_str(text.trim()).ok().map(Box::new),
            });
        }
        Err(e) => return Err(io_err(e.into())),
    }
    // The previous holder is gone (the flock was free), but a child it started may not be:
    // killed with -9, it could not stop its child's group.
    let mut previous = String::new();
    let _ = file.read_to_string(&mut previous);
    if let Ok(prev) = serde_json::from_str::<Holder>(previous.trim()) {
        if let Some(pgid) = prev.pgid.filter(|g| crate::safe_fs::group_alive(*g)) {
            return Err(LockError::Orphaned {
                target: target.to_owned(),
                kind: kind.as_str(),
                pgid,
                holder: Box::new(prev),
            });
        }
    }
    let op = Operator::current();
    let holder = Holder {
        pid: std::process::id(),
        user: op.user,
        host: super::audit::hostname(),
        since: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        action_id: action_id.to_owned(),
        pgid: None,
    };
    let text = serde_json::to_string(&holder).unwrap_or_default();
    file.set_len(0).map_err(io_err)?;
    file.seek(SeekFrom::Start(0)).map_err(io_err)?;
    file.write_all(text.as_bytes()).map_err(io_err)?;
    Ok(LockGuard {
        file,
        path,
        holder: std::sync::Mutex::new(holder),
    })
}

/// Who holds the lock right now, if anyone (for the cockpit's "running elsewhere" marks).
pub fn holder(state_dir: &Path, target: &str, kind: ActionKind) -> Option<Holder> {
    let path = lock_path(state_dir, target, kind);
    let mut file = crate::safe_fs::open_state_file(&path, OpenOptions::new().read(true)).ok()?;
    if flock(&file, FlockOperation::NonBlockingLockShared).is_ok() {
        return None;
    }
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_is_refused_with_the_holder_and_released_on_drop() {
        let dir = tempfile::tempdir().expect("tempdir");
        let g = acquire(dir.path(), "cn-relay", ActionKind::Backup, "id-1").expect("first");
        let err = acquire(dir.path(), "cn-relay", ActionKind::Backup, "id-2").expect_err("held");
        let text = err.to_string();
        assert!(
            text.contains("backup on cn-relay is already running"),
            "{text}"
        );
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(text.contains("id-1"), "{text}");
        // Another kind on the same target is independent.
        let _other =
            acquire(dir.path(), "cn-relay", ActionKind::Rollback, "id-3").expect("other kind");
        assert_eq!(
            holder(dir.path(), "cn-relay", ActionKind::Backup).map(|h| h.action_id),
            Some("id-1".to_owned())
        );
        drop(g);
        assert!(holder(dir.path(), "cn-relay", ActionKind::Backup).is_none());
        acquire(dir.path(), "cn-relay", ActionKind::Backup, "id-4").expect("after release");
    }
}
