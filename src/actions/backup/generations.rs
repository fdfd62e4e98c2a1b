//! Generations on disk: manifests, the listing the Backups panel shows, and retention.
//!
//! A generation is one attempt: `<target>-<kind>-<ts>.<ext>` plus its manifest
//! `<target>-<kind>-<ts>.<ext>.json`. It counts as a backup only when the file is there and the
//! manifest says `verified: true`; a failed attempt leaves just the manifest, with the error.
//! Retention is computed from this listing alone and never touches a file it cannot account
//! for (a dump without a manifest, a stale `.partial`, a failed record).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::drill::DrillSummary;
use super::{fsutil, parse_timestamp, BackupError, BackupKind};

/// Appended to a generation's final file name to name its manifest.
pub const MANIFEST_SUFFIX: &str = ".json";

/// The record of one attempt, written atomically next to the backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub kind: BackupKind,
    pub target: String,
    /// Final file name (in the same directory).
    pub file: String,
    /// What was backed up: `user@host:port/db` or the SQLite path.
    pub source: String,
    /// RFC 3339, UTC.
    pub started: String,
    /// RFC 3339, UTC; absent while the attempt runs (or if watchdeck stopped during it).
    pub finished: Option<String>,
    pub bytes: u64,
    pub verified: bool,
    pub verification: Option<String>,
    pub error: Option<String>,
    pub drill: Option<DrillSummary>,
}

impl Manifest {
    pub(super) fn write(&self, path: &Path) -> Result<(), BackupError> {
        let mut json = serde_json::to_vec_pretty(self).unwrap_or_default();
        json.push(b'\n');
        fsutil::write_atomic(path, &json)
    }
}

/// One attempt as found on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub kind: BackupKind,
    /// `YYYYMMDDTHHMMSSZ` from the name.
    pub ts: String,
    /// When the attempt started (from the name).
    pub started: SystemTime,
    /// The backup's final path (it may not exist: failed attempts).
    pub file: PathBuf,
    pub manifest_path: PathBuf,
    /// Whether the backup file exists.
    pub present: bool,
    /// Size of the backup file (0 when absent).
    pub size: u64,
    /// The manifest, when it exists and parses.
    pub manifest: Option<Manifest>,
    /// Why the manifest is missing or unreadable, if it is.
    pub manifest_problem: Option<String>,
}

impl Generation {
    /// A usable backup: the file is there and its manifest says it verified.
    pub fn is_verified(&self) -> bool {
        self.present && self.manifest.as_ref().is_some_and(|m| m.verified)
    }

    pub fn age(&self, now: SystemTime) -> Duration {
        now.duration_since(self.started).unwrap_or_default()
    }

    /// Why this attempt is not a usable backup, in words; `None` when it is one.
    pub fn error(&self) -> Option<String> {
        if self.is_verified() {
            return None;
        }
        if let Some(p) = &self.manifest_problem {
            return Some(p.clone());
        }
        let m = self.manifest.as_ref()?;
        if let Some(e) = &m.error {
            return Some(e.clone());
        }
        if m.finished.is_none() {
            return Some("in progress, or watchdeck stopped during it".into());
        }
        if m.verified && !self.present {
            let partial = super::attempt::partial(&self.file);
            if partial.exists() {
                // Recorded as verified, killed before the rename.
                return Some(format!(
                    "watchdeck stopped between verifying and renaming it; the verified dump is still {}",
                    partial.display()
                ));
            }
            return Some(format!("{} is missing", self.file.display()));
        }
        Some("not verified".into())
    }

    pub fn drill(&self) -> Option<&DrillSummary> {
        self.manifest.as_ref()?.drill.as_ref()
    }

    /// When it finished (manifest), else when it started (name).
    pub fn finished(&self) -> SystemTime {
        self.manifest
            .as_ref()
            .and_then(|m| m.finished.as_deref())
            .and_then(|f| humantime::parse_rfc3339(f).ok())
            .unwrap_or(self.started)
    }
}

/// Every generation of `target` in `dir`, both kinds, newest first. A missing directory has
/// none.
pub fn list(dir: &Path, target: &str) -> Result<Vec<Generation>, BackupError> {
    let mut all = list_kind(dir, target, BackupKind::Postgres)?;
    all.extend(list_kind(dir, target, BackupKind::Sqlite)?);
    all.sort_by(|a, b| b.ts.cmp(&a.ts).then_with(|| a.file.cmp(&b.file)));
    Ok(all)
}

/// When the newest verified backup of `target` finished, for the freshness alert.
pub fn newest_verified(dir: &Path, target: &str) -> Result<Option<SystemTime>, BackupError> {
    Ok(list(dir, target)?
        .iter()
        .filter(|g| g.is_verified())
        .map(Generation::finished)
        .max())
}

/// Generations of one kind, newest first.
pub(super) fn list_kind(
    dir: &Path,
    target: &str,
    kind: BackupKind,
) -> Result<Vec<Generation>, BackupError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(BackupError::io("list the backup directory", dir)(e)),
    };
    let prefix = format!("{target}-{}-", kind.infix());
    let ext = format!(".{}", kind.extension());
    // ts -> (file present, manifest present)
    let mut seen: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(BackupError::io("list the backup directory", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let (ts, is_manifest) = if let Some(ts) = rest
            .strip_suffix(MANIFEST_SUFFIX)
            .and_then(|r| r.strip_suffix(&ext))
        {
            (ts, true)
        } else if let Some(ts) = rest.strip_suffix(&ext) {
            (ts, false)
        } else {
            continue;
        };
        if parse_timestamp(ts).is_none() {
            continue;
        }
        let slot = seen.entry(ts.to_owned()).or_default();
        if is_manifest {
            slot.1 = true;
        } else {
            slot.0 = entry.file_type().is_ok_and(|t| t.is_file());
        }
    }
    let mut out = Vec::with_capacity(seen.len());
    for (ts, (present, has_manifest)) in seen.into_iter().rev() {
        let file = dir.join(kind.file_name(target, &ts));
        let manifest_path = manifest_path(&file);
        let (manifest, manifest_problem) = if has_manifest {
            read_manifest(&manifest_path, kind, target, &file)
        } else {
            (
                None,
                Some("no manifest: not made or not finished by watchdeck".into()),
            )
        };
        out.push(Generation {
            kind,
            started: parse_timestamp(&ts).unwrap_or(SystemTime::UNIX_EPOCH),
            ts,
            size: if present { fsutil::size(&file) } else { 0 },
            file,
            manifest_path,
            present,
            manifest,
            manifest_problem,
        });
    }
    Ok(out)
}

fn read_manifest(
    path: &Path,
    kind: BackupKind,
    target: &str,
    file: &Path,
) -> (Option<Manifest>, Option<String>) {
    // A manifest is a small regular file; anything else in its place is not read into memory.
    let parsed = crate::safe_fs::read_regular(path, crate::safe_fs::MAX_CONFIG_FILE)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice::<Manifest>(&b).map_err(|e| e.to_string()));
    match parsed {
        Ok(m) => {
            let own = file.file_name().and_then(|n| n.to_str()) == Some(m.file.as_str());
            if m.kind == kind && m.target == target && own {
                (Some(m), None)
            } else {
                (None, Some("manifest describes another file".into()))
            }
        }
        Err(e) => (None, Some(format!("manifest unreadable: {e}"))),
    }
}

/// `<file>.json`.
pub(super) fn manifest_path(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(MANIFEST_SUFFIX);
    PathBuf::from(s)
}

/// Files retention may delete from `listing` (newest first) when `keep` verified generations
/// stay: the verified ones beyond the newest `keep`, each as its backup then its manifest.
/// Failed records, unverified files and anything else are never in it; with `keep` >= 1 the
/// newest verified generation never is.
pub fn retention_eligible(listing: &[Generation], keep: usize) -> Vec<PathBuf> {
    let mut verified: Vec<&Generation> = listing.iter().filter(|g| g.is_verified()).collect();
    verified.sort_by(|a, b| b.ts.cmp(&a.ts));
    verified
        .into_iter()
        .skip(keep)
        .flat_map(|g| [g.file.clone(), g.manifest_path.clone()])
        .collect()
}

/// The preview before a run: the run adds one verified generation when it succeeds, so the
/// existing verified ones beyond the newest `keep - 1` are those beyond the newest `keep`
/// afterwards. Deleted only after this run's backup has verified.
pub(super) fn preview_for_run(listing: &[Generation], keep: usize) -> Vec<PathBuf> {
    retention_eligible(listing, keep.saturating_sub(1))
}

/// After a run: deletes the previewed files that are still eligible, and nothing when the newest
/// attempt (this run's) is not a verified backup. Returns what was deleted.
pub(super) fn apply_retention(
    dir: &Path,
    target: &str,
    kind: BackupKind,
    keep: usize,
    previewed: &[PathBuf],
) -> Result<Vec<PathBuf>, BackupError> {
    let after = list_kind(dir, target, kind)?;
    if !after.first().is_some_and(Generation::is_verified) {
        return Ok(Vec::new());
    }
    let eligible = retention_eligible(&after, keep);
    let mut deleted = Vec::new();
    for path in previewed.iter().filter(|p| eligible.contains(p)) {
        match fs::remove_file(path) {
            Ok(()) => deleted.push(path.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(BackupError::io("delete the old generation", path)(e)),
        }
    }
    if !deleted.is_empty() {
        fsutil::fsync_dir(dir)?;
    }
    Ok(deleted)
}

/// A short digest of the listing, `keep` and the preview: equal fingerprints mean the operator
/// confirmed retention against the same generations.
pub(super) fn fingerprint(listing: &[Generation], keep: usize, to_delete: &[PathBuf]) -> String {
    // FNV-1a: stable across builds and platforms, unlike the std hashers.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |s: &str| {
        for b in s.bytes().chain([b'\n']) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    feed(&format!("keep={keep}"));
    for g in listing {
        feed(&format!("{} {}", g.file.display(), g.is_verified()));
    }
    for p in to_delete {
        feed(&format!("delete {}", p.display()));
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gen(ts: &str, verified: bool) -> Generation {
        let file = PathBuf::from(format!("/b/t-sqlite-{ts}.db"));
        Generation {
            kind: BackupKind::Sqlite,
            ts: ts.into(),
            started: parse_timestamp(ts).expect("ts"),
            manifest_path: manifest_path(&file),
            file,
            present: verified,
            size: 1,
            manifest: Some(Manifest {
                kind: BackupKind::Sqlite,
                target: "t".into(),
                file: String::new(),
                source: String::new(),
                started: String::new(),
                finished: Some(String::new()),
                bytes: 1,
                verified,
                verification: None,
                error: (!verified).then(|| "boom".into()),
                drill: None,
            }),
            manifest_problem: None,
        }
    }

    #[test]
    fn failed_records_do_not_count_and_are_never_eligible() {
        let l = vec![
            gen("20260105T000000Z", false),
            gen("20260104T000000Z", true),
            gen("20260103T000000Z", false),
            gen("20260102T000000Z", true),
            gen("20260101T000000Z", false),
        ];
        assert!(retention_eligible(&l, 2).is_empty());
        let one = retention_eligible(&l, 1);
        assert_eq!(
            one,
            vec![
                PathBuf::from("/b/t-sqlite-20260102T000000Z.db"),
                PathBuf::from("/b/t-sqlite-20260102T000000Z.db.json")
            ]
        );
        // The newest verified is never eligible with keep >= 1.
        assert!(
            !retention_eligible(&l, 1).contains(&PathBuf::from("/b/t-sqlite-20260104T000000Z.db"))
        );
    }

    #[test]
    fn fingerprint_changes_with_listing() {
        let a = vec![gen("20260101T000000Z", true)];
        let b = vec![gen("20260101T000000Z", false)];
        assert_ne!(fingerprint(&a, 2, &[]), fingerprint(&b, 2, &[]));
        assert_eq!(fingerprint(&a, 2, &[]), fingerprint(&a, 2, &[]));
        assert_ne!(fingerprint(&a, 2, &[]), fingerprint(&a, 3, &[]));
    }
}
