//! Single-flight: one action per target and kind, across processes, by flock.
//!
//! The lock file lives in the state directory (`locks/<target>.<kind>.lock`). flock belongs to
//! the open file description, so the kernel releases it when the holder exits or is killed —
//! no stale locks after a crash, no pid files to clean up. The holder writes who it is into the
//! file so that a refused second trigger can say who holds the lock and since when.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
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
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{kind} on {target} is already running: {}", describe(.holder.as_deref()))]
    Held {
        target: String,
        kind: &'static str,
        holder: Option<Box<Holder>>,
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
    _file: File,
    path: PathBuf,
}

impl LockGuard {
    pub fn path(&self) -> &Path {
        &self.path
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
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err)?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
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
    let op = Operator::current();
    let holder = Holder {
        pid: std::process::id(),
        user: op.user,
        host: super::audit::hostname(),
        since: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        action_id: action_id.to_owned(),
    };
    let text = serde_json::to_string(&holder).unwrap_or_default();
    file.set_len(0).map_err(io_err)?;
    file.seek(SeekFrom::Start(0)).map_err(io_err)?;
    file.write_all(text.as_bytes()).map_err(io_err)?;
    Ok(LockGuard { _file: file, path })
}

/// Who holds the lock right now, if anyone (for the cockpit's "running elsewhere" marks).
pub fn holder(state_dir: &Path, target: &str, kind: ActionKind) -> Option<Holder> {
    let path = lock_path(state_dir, target, kind);
    let mut file = File::open(&path).ok()?;
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
