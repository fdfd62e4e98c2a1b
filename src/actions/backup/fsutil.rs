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
