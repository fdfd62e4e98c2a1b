//! Backup drivers: `pg_dump` generations with an optional restore drill (runbook 000 §2,
//! 002) and SQLite online backups (runbook 001 §11, §16.2).
//!
//! Every attempt writes `<name>.partial`, verifies it, and only then renames it to its final
//! name; a manifest sidecar (`<final name>.json`) records the attempt whether it worked or
//! not. Retention deletes only verified generations beyond the newest N, only after this run's
//! backup verified, and only what the plan showed the operator. Plans read the directory and
//! nothing else; runs create the directory (0700) when it is missing.

mod attempt;
mod drill;
mod fsutil;
pub mod generations;
mod pgdump;
mod sqlite;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

pub use drill::{DrillSummary, TableCount};
pub use generations::{
    list, newest_verified, retention_eligible, Generation, Manifest, MANIFEST_SUFFIX,
};
pub use pgdump::{
    pg_conn_args, plan_pg, run_pg, sweep_stale_passfiles, verify_dump, write_passfile, EnvVars,
    PassFile,
};
pub use sqlite::{plan_sqlite, run_sqlite};

use super::child::ChildError;
use super::Step;
use crate::config::PostgresConfig;

/// Generations kept by default for Postgres (runbook 000 §2.4 `COMMUNITY_NODE_BACKUP_GENERATIONS`).
pub const DEFAULT_KEEP_PG: usize = 30;
/// Generations kept by default for SQLite (runbook 001 §11: 7–14).
pub const DEFAULT_KEEP_SQLITE: usize = 14;
/// Allowed range of `keep`.
pub const KEEP_RANGE: std::ops::RangeInclusive<usize> = 1..=1000;

/// What a generation holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupKind {
    Postgres,
    Sqlite,
}

impl BackupKind {
    /// The word in file names: `<target>-pgdump-<ts>.dump`, `<target>-sqlite-<ts>.db`.
    pub fn infix(self) -> &'static str {
        match self {
            BackupKind::Postgres => "pgdump",
            BackupKind::Sqlite => "sqlite",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            BackupKind::Postgres => "dump",
            BackupKind::Sqlite => "db",
        }
    }

    /// Final file name of the generation started at `ts` (`YYYYMMDDTHHMMSSZ`).
    pub fn file_name(self, target: &str, ts: &str) -> String {
        format!("{target}-{}-{ts}.{}", self.infix(), self.extension())
    }
}

/// A Postgres backup: what to dump, where to, how many generations to keep, which tables the
/// restore drill compares (empty: no drill).
#[derive(Debug, Clone)]
pub struct PgBackupSpec {
    pub target: String,
    pub postgres: PostgresConfig,
    pub dir: PathBuf,
    pub keep: usize,
    /// `schema.table` (or `table`, meaning `public.table`) plain identifiers.
    pub drill_tables: Vec<String>,
}

/// A SQLite backup of a live database file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteBackupSpec {
    pub target: String,
    pub db: PathBuf,
    pub dir: PathBuf,
    pub keep: usize,
}

/// What a backup will do, shown before confirmation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupPlan {
    pub kind: BackupKind,
    pub target: String,
    pub dir: PathBuf,
    pub keep: usize,
    /// Every step, secrets masked; one `Step::Delete` per retention deletion.
    pub steps: Vec<Step>,
    /// Dumps and manifests retention will delete once this run's backup has verified.
    pub to_delete: Vec<PathBuf>,
    /// A digest of the listing the retention preview was computed from (and of `keep`): what
    /// the operator confirmed.
    pub fingerprint: String,
}

/// What a successful run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupReport {
    /// The verified backup, under its final name.
    pub file: PathBuf,
    pub bytes: u64,
    /// How it was verified, in words ("pg_restore read the whole archive", "integrity_check: ok").
    pub verification: String,
    /// Files retention deleted (a subset of the plan's `to_delete`).
    pub deleted: Vec<PathBuf>,
    pub drill: Option<DrillSummary>,
    /// The last lines the children printed (pg_dump --verbose, pg_restore), secrets masked.
    pub output: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("backup of {target}: {what} — {hint}")]
    Spec {
        target: String,
        what: String,
        hint: String,
    },
    #[error("backup of {target}: the Postgres settings are not usable: {reason}")]
    Config { target: String, reason: String },
    #[error("cannot {action} {}: {source} — check the path, its owner and mode, and free space", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("backup of {target}: {source}")]
    Child {
        target: String,
        #[source]
        source: ChildError,
    },
    #[error(
        "backup of {target} was cancelled; the partial file was removed and nothing was deleted"
    )]
    Cancelled { target: String },
    #[error("backup of {target} did not finish within the action's timeout; the partial file was removed and nothing was deleted")]
    TimedOut { target: String },
    #[error("{program} failed for {target} ({status}): {detail}")]
    Tool {
        program: String,
        target: String,
        status: String,
        detail: String,
    },
    #[error("{} did not verify: {detail} — the file is incomplete or corrupt; it was not kept", file.display())]
    Verify { file: PathBuf, detail: String },
    #[error("SQLite backup of {} failed: {detail}", db.display())]
    Sqlite { db: PathBuf, detail: String },
    #[error("restore drill of {target}: {detail}")]
    Drill { target: String, detail: String },
    #[error("backup of {target}: a generation named {} already exists — another backup started in the same second; try again", file.display())]
    Exists { target: String, file: PathBuf },
}

impl BackupError {
    fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BackupError {
        let path = path.to_owned();
        move |source| BackupError::Io {
            action,
            path,
            source,
        }
    }
}

/// Checks the parts every spec shares.
fn check_common(target: &str, dir: &Path, keep: usize) -> Result<(), BackupError> {
    let spec = |what: String, hint: &str| BackupError::Spec {
        target: target.to_owned(),
        what,
        hint: hint.to_owned(),
    };
    let bad = target.is_empty()
        || target.starts_with(['.', '-'])
        || target
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')));
    if bad {
        return Err(spec(
            format!("target name {target:?} cannot be part of a file name"),
            "use A-Z a-z 0-9 . _ - and do not start with . or -",
        ));
    }
    if !KEEP_RANGE.contains(&keep) {
        return Err(spec(
            format!("keep = {keep} is out of range"),
            "keep between 1 and 1000 generations",
        ));
    }
    if dir.as_os_str().is_empty() {
        return Err(spec(
            "the backup directory is empty".into(),
            "set an absolute directory for the backups",
        ));
    }
    Ok(())
}

/// `YYYYMMDDTHHMMSSZ` of `t` (UTC), the timestamp in generation names.
pub fn timestamp(t: SystemTime) -> String {
    // "2026-11-25T17:34:18Z" -> "20261125T173418Z"
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .replace(['-', ':'], "")
}

/// Parses a `YYYYMMDDTHHMMSSZ` timestamp.
pub fn parse_timestamp(ts: &str) -> Option<SystemTime> {
    let b = ts.as_bytes();
    let shape = b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[9..15].iter().all(u8::is_ascii_digit);
    if !shape {
        return None;
    }
    let rfc = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &ts[0..4],
        &ts[4..6],
        &ts[6..8],
        &ts[9..11],
        &ts[11..13],
        &ts[13..15]
    );
    humantime::parse_rfc3339(&rfc).ok()
}

/// RFC 3339 (seconds, UTC) for manifests.
fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

impl BackupPlan {
    /// A plan of `steps` followed by the retention preview for this kind's generations.
    fn with_retention(
        kind: BackupKind,
        target: &str,
        dir: &Path,
        keep: usize,
        mut steps: Vec<Step>,
    ) -> Result<BackupPlan, BackupError> {
        let (to_delete, retention, fingerprint) = retention_preview(dir, target, kind, keep)?;
        steps.extend(retention);
        Ok(BackupPlan {
            kind,
            target: target.to_owned(),
            dir: dir.to_path_buf(),
            keep,
            steps,
            to_delete,
            fingerprint,
        })
    }
}

/// The retention part of a plan: the preview, its steps and the fingerprint.
fn retention_preview(
    dir: &Path,
    target: &str,
    kind: BackupKind,
    keep: usize,
) -> Result<(Vec<PathBuf>, Vec<Step>, String), BackupError> {
    let listing = generations::list_kind(dir, target, kind)?;
    // This run adds one verified generation when it succeeds, so the existing ones beyond the
    // newest keep-1 are the ones past the newest `keep` afterwards. Nothing is deleted if this
    // run fails.
    let to_delete = generations::preview_for_run(&listing, keep);
    let mut steps = Vec::new();
    for p in &to_delete {
        steps.push(Step::Delete {
            path: p.display().to_string(),
        });
    }
    if steps.is_empty() {
        steps.push(Step::Note {
            text: format!(
                "retention: keep {keep} verified generations — nothing to delete ({} verified now)",
                listing.iter().filter(|g| g.is_verified()).count()
            ),
        });
    } else {
        steps.insert(
            0,
            Step::Note {
                text: format!(
                    "retention: keep {keep} verified generations — only if this backup verifies, delete:"
                ),
            },
        );
    }
    let fingerprint = generations::fingerprint(&listing, keep, &to_delete);
    Ok((to_delete, steps, fingerprint))
}
