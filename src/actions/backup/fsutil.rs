//! Small durable file operations the drivers share: a private backup directory, fsync of a
//! file and of its directory, atomic writes, and removal that tolerates a missing file.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use super::BackupError;

/// Creates `dir` (and its parents) with mode 0700 when it is missing; an existing directory
/// keeps its mode (the operator may have chosen another).
pub(super) fn ensure_dir(dir: &Path) -> Result<(), BackupError> {
    if dir.is_dir() {
        // Backups hold the whole database: a directory of ours that others can enter is
        // closed (it may have been made by hand, or by an older version, with the umask).
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if let Ok(meta) = fs::metadata(dir) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 && meta.uid() == rustix::process::geteuid().as_raw() {
                tracing::warn!(dir = %dir.display(), mode = format!("{mode:04o}"), "closing the backup directory to others (0700)");
                fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                    .map_err(BackupError::io("chmod 700 the backup directory", dir))?;
            }
        }
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(BackupError::io("create the backup directory", dir))
}

/// Flushes a file's data and metadata to disk.
pub(super) fn fsync_file(path: &Path) -> Result<(), BackupError> {
    fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(BackupError::io("fsync", path))
}

/// Flushes a directory, so a rename or unlink in it survives a crash.
pub(super) fn fsync_dir(dir: &Path) -> Result<(), BackupError> {
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(BackupError::io("fsync the directory", dir))
}

/// Renames `from` to `to` and makes the rename durable.
pub(super) fn rename_durable(from: &Path, to: &Path) -> Result<(), BackupError> {
    fs::rename(from, to).map_err(BackupError::io("rename the verified backup to", to))?;
    fsync_dir(to.parent().unwrap_or(Path::new(".")))
}

/// Writes `bytes` to `path` through a temporary sibling, fsync and rename: readers see the old
/// content or the new one, never half of it. Mode 0600 (manifests name the database).
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let write = || -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(BackupError::io("write", path)(e));
    }
    fs::rename(&tmp, path).map_err(BackupError::io("write", path))?;
    fsync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Removes a file; a missing one is not an error.
pub(super) fn remove_quietly(path: &Path) {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!("cannot remove {}: {e}", path.display()),
    }
}

/// Size of a file, 0 when it cannot be read.
pub(super) fn size(path: &Path) -> u64 {
    fs::metadata(path).map_or(0, |m| m.len())
}

/// Creates `path` empty with mode 0600 (never through a symlink, never an existing file), so
/// that a tool that then writes into it (pg_dump, SQLite) keeps that mode whatever the umask.
pub(super) fn create_private_file(path: &Path) -> Result<(), BackupError> {
    crate::safe_fs::no_follow(
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600),
    )
    .open(path)
    .map(drop)
    .map_err(BackupError::io("create", path))
}

/// Removes what killed attempts for `target` left in `dir`: `<target>-<infix>-*.partial` and
/// SQLite's `-journal`, `-wal` and `-shm` beside them. Called under the backup's lock, so no
/// attempt of this target is running.
pub(super) fn sweep_partials(dir: &Path, target: &str, infix: &str) {
    let prefix = format!("{target}-{infix}-");
    let Ok(rd) = fs::read_dir(dir) else {
        return;
    };
    for e in rd.filter_map(Result::ok) {
        let name = e.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let Some(attempt) = name.starts_with(&prefix).then_some(()).and_then(|()| {
            ["", "-journal", "-wal", "-shm"]
                .iter()
                .find_map(|s| name.strip_suffix(&format!(".partial{s}")))
        }) else {
            continue;
        };
        // A kill between "recorded as verified" and the rename leaves a verified `.partial`:
        // a whole backup, listed as such. It stays.
        let manifest = dir.join(format!("{attempt}{}", super::generations::MANIFEST_SUFFIX));
        let verified = fs::read(&manifest)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|m| m["verified"] == serde_json::Value::Bool(true));
        if !verified && e.file_type().is_ok_and(|t| t.is_file()) {
            tracing::info!(file = %e.path().display(), "removing what a killed backup left");
            remove_quietly(&e.path());
        }
    }
}
