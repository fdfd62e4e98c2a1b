//! One backup attempt's bookkeeping: its name, the manifest written when it starts, and the
//! record it leaves when it fails (partial file removed) or succeeds.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::drill::DrillSummary;
use super::generations::{manifest_path, Manifest};
use super::{fsutil, rfc3339, timestamp, BackupError, BackupKind};

pub(super) struct Attempt {
    pub ts: String,
    pub file: PathBuf,
    pub partial: PathBuf,
    pub manifest_path: PathBuf,
    pub manifest: Manifest,
}

impl Attempt {
    /// Creates the directory if needed, picks a free timestamped name and records the start.
    pub async fn begin(
        kind: BackupKind,
        target: &str,
        dir: &Path,
        source: String,
    ) -> Result<Attempt, BackupError> {
        fsutil::ensure_dir(dir)?;
        fsutil::sweep_partials(dir, target, kind.infix());
        // Names have one-second resolution; a second attempt in the same second waits for the
        // next one rather than overwrite the first one's record.
        let mut tries = 0;
        let (started, ts, file) = loop {
            let now = SystemTime::now();
            let ts = timestamp(now);
            let file = dir.join(kind.file_name(target, &ts));
            let taken = file.exists() || manifest_path(&file).exists() || partial(&file).exists();
            if !taken {
                break (now, ts, file);
            }
            tries += 1;
            if tries > 2 {
                return Err(BackupError::Exists {
                    target: target.to_owned(),
                    file,
                });
            }
            tokio::time::sleep(Duration::from_millis(1050)).await;
        };
        let manifest = Manifest {
            kind,
            target: target.to_owned(),
            file: file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            source,
            started: rfc3339(started),
            finished: None,
            bytes: 0,
            verified: false,
            verification: None,
            error: None,
            drill: None,
        };
        let attempt = Attempt {
            ts,
            partial: partial(&file),
            manifest_path: manifest_path(&file),
            file,
            manifest,
        };
        attempt.manifest.write(&attempt.manifest_path)?;
        Ok(attempt)
    }

    /// Removes the partial file (and `extra` leftovers) and records `err`; returns `err`.
    pub fn fail(mut self, err: BackupError, extra: &[PathBuf]) -> BackupError {
        fsutil::remove_quietly(&self.partial);
        for p in extra {
            fsutil::remove_quietly(p);
        }
        self.manifest.finished = Some(rfc3339(SystemTime::now()));
        self.manifest.verified = false;
        self.manifest.error = Some(err.to_string());
        if let Err(e) = self.manifest.write(&self.manifest_path) {
            tracing::warn!("cannot record the failed backup: {e}");
        }
        err
    }

    /// Records the renamed, verified backup.
    pub fn verified(&mut self, bytes: u64, verification: &str) -> Result<(), BackupError> {
        self.manifest.finished = Some(rfc3339(SystemTime::now()));
        self.manifest.bytes = bytes;
        self.manifest.verified = true;
        self.manifest.verification = Some(verification.to_owned());
        self.manifest.write(&self.manifest_path)
    }

    /// Adds the drill's summary to the record.
    pub fn drilled(&mut self, drill: &DrillSummary) -> Result<(), BackupError> {
        self.manifest.drill = Some(drill.clone());
        self.manifest.write(&self.manifest_path)
    }
}

/// `<file>.partial`.
pub(super) fn partial(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}
