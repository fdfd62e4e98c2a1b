//! SQLite backups with the online backup API (what `sqlite3 … ".backup"` does, runbook 001
//! §11/§16.2), safe while the service keeps writing.
//!
//! In WAL mode the source connection holds one read transaction for the whole copy, so the
//! copy is the snapshot of the moment the backup began and concurrent commits (which go to the
//! WAL) neither block on it nor restart it. In rollback-journal mode a long read lock would
//! stall writers, so the copy proceeds in steps and SQLite restarts it if a writer commits in
//! between. The copy is switched to `journal_mode=DELETE` so it is one self-contained file,
//! must pass `PRAGMA integrity_check` with exactly `ok`, and only then gets its final name.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::attempt::{partial, Attempt};
use super::pgdump::check_plan;
use super::{
    check_common, fsutil, generations, BackupError, BackupKind, BackupPlan, BackupReport,
    SqliteBackupSpec,
};
use crate::actions::{Ctx, Step};

/// Pages copied per step; between steps the cancel and the deadline are checked.
const PAGES_PER_STEP: i32 = 256;
/// How long the source waits for a lock held by the service.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What a SQLite backup will do. Reads the backup directory and nothing else.
pub fn plan_sqlite(spec: &SqliteBackupSpec) -> Result<BackupPlan, BackupError> {
    check_common(&spec.target, &spec.dir, spec.keep)?;
    let file = spec
        .dir
        .join(BackupKind::Sqlite.file_name(&spec.target, "<YYYYMMDDTHHMMSSZ>"));
    let part = partial(&file);
    let mut steps = Vec::new();
    if !spec.dir.is_dir() {
        steps.push(Step::File {
            what: format!("create {} (mode 0700)", spec.dir.display()),
        });
    }
    steps.extend([
        Step::File {
            what: format!(
                "write manifest {}{}",
                file.display(),
                generations::MANIFEST_SUFFIX
            ),
        },
        Step::File {
            what: format!(
                "online backup of {} to {} ({PAGES_PER_STEP} pages a step, busy_timeout {} ms)",
                spec.db.display(),
                part.display(),
                BUSY_TIMEOUT.as_millis()
            ),
        },
        Step::Note {
            text: "verify: PRAGMA integrity_check on the copy must return exactly ok".into(),
        },
        Step::File {
            what: format!(
                "fsync, rename to {}, fsync {}",
                file.display(),
                spec.dir.display()
            ),
        },
    ]);
    BackupPlan::with_retention(
        BackupKind::Sqlite,
        &spec.target,
        &spec.dir,
        spec.keep,
        steps,
    )
}

/// Runs a confirmed SQLite backup plan.
pub async fn run_sqlite(
    spec: &SqliteBackupSpec,
    plan: &BackupPlan,
    ctx: &Ctx,
) -> Result<BackupReport, BackupError> {
    check_plan(plan, BackupKind::Sqlite, &spec.target, &spec.dir, spec.keep)?;
    let attempt = Attempt::begin(
        BackupKind::Sqlite,
        &spec.target,
        &spec.dir,
        spec.db.display().to_string(),
    )
    .await?;
    ctx.phase("copying");
    let (db, part, target, c) = (
        spec.db.clone(),
        attempt.partial.clone(),
        spec.target.clone(),
        ctx.clone(),
    );
    let copied = tokio::task::spawn_blocking(move || copy_and_check(&target, &db, &part, &c))
        .await
        .unwrap_or_else(|e| {
            Err(BackupError::Sqlite {
                db: spec.db.clone(),
                detail: format!("the backup task ended abnormally: {e}"),
            })
        });
    let leftovers = sidecars(&attempt.partial);
    let verification = match copied {
        Ok(v) => v,
        Err(e) => return Err(attempt.fail(e, &leftovers)),
    };
    let bytes = fsutil::size(&attempt.partial);
    ctx.bytes(bytes);
    ctx.phase("renaming");
    let mut attempt = attempt;
    // Recorded as verified before the rename (see pgdump.rs): a final name always comes with
    // a manifest that says verified.
    if let Err(e) = fsutil::fsync_file(&attempt.partial)
        .and_then(|()| attempt.verified(bytes, &verification))
        .and_then(|()| fsutil::rename_durable(&attempt.partial, &attempt.file))
    {
        return Err(attempt.fail(e, &leftovers));
    }
    ctx.phase("retention");
    let deleted = generations::apply_retention(
        &spec.dir,
        &spec.target,
        BackupKind::Sqlite,
        spec.keep,
        &plan.to_delete,
    )?;
    Ok(BackupReport {
        file: attempt.file.clone(),
        bytes,
        verification,
        deleted,
        drill: None,
        output: Vec::new(),
    })
}

/// `-journal`, `-wal`, `-shm` next to the copy.
fn sidecars(file: &Path) -> Vec<PathBuf> {
    ["-journal", "-wal", "-shm"]
        .iter()
        .map(|s| {
            let mut p = file.as_os_str().to_owned();
            p.push(s);
            PathBuf::from(p)
        })
        .collect()
}

/// The blocking part: copy, make the copy self-contained, check it. Returns the verification.
fn copy_and_check(target: &str, db: &Path, part: &Path, ctx: &Ctx) -> Result<String, BackupError> {
    let err = |detail: String| BackupError::Sqlite {
        db: db.to_owned(),
        detail,
    };
    let sql = |what: &'static str| move |e: rusqlite::Error| err(format!("{what}: {e}"));
    // Read-write without CREATE: a WAL database needs its -shm to read, and a missing file must
    // be an error rather than a new empty database. query_only keeps this connection from
    // ever writing.
    let src = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql("cannot open the database (does the file exist?)"))?;
    src.busy_timeout(BUSY_TIMEOUT)
        .map_err(sql("cannot set busy_timeout"))?;
    src.pragma_update(None, "query_only", true)
        .map_err(sql("cannot set query_only"))?;
    let mode: String = src
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(sql("cannot read journal_mode"))?;
    let wal = mode.eq_ignore_ascii_case("wal");
    if wal {
        // Pin one snapshot for the whole copy (see the module comment).
        src.execute_batch("BEGIN; SELECT count(*) FROM sqlite_master;")
            .map_err(sql("cannot start the read transaction"))?;
    }
    // Made 0600 first: SQLite keeps the mode (and gives its journal the same one).
    super::fsutil::create_private_file(part)?;
    let mut dst = Connection::open(part).map_err(sql("cannot create the copy"))?;
    let copied = step_copy(target, &src, &mut dst, ctx, &err);
    if wal {
        let _ = src.execute_batch("ROLLBACK");
    }
    drop(src);
    copied?;
    dst.pragma_update(None, "journal_mode", "DELETE")
        .map_err(sql("cannot switch the copy to journal_mode=DELETE"))?;
    if ctx.cancel.is_cancelled() {
        return Err(BackupError::Cancelled {
            target: target.to_owned(),
        });
    }
    ctx.phase("verifying");
    // integrity_check of a large file takes a while: cancel and the deadline interrupt it.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (done, handle, cancel, deadline) = (
            done.clone(),
            dst.get_interrupt_handle(),
            ctx.cancel.clone(),
            ctx.deadline,
        );
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                if cancel.is_cancelled() || Instant::now() >= deadline {
                    handle.interrupt();
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let checked: Result<Vec<String>, rusqlite::Error> =
        dst.prepare("PRAGMA integrity_check").and_then(|mut stmt| {
            stmt.query_map([], |r| r.get::<_, String>(0))
                .and_then(Iterator::collect)
        });
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = watcher.join();
    stopped(target, ctx)?;
    let rows = checked.map_err(sql("integrity_check"))?;
    dst.close()
        .map_err(|(_, e)| err(format!("cannot close the copy: {e}")))?;
    if rows != ["ok"] {
        return Err(BackupError::Verify {
            file: part.to_owned(),
            detail: format!("integrity_check returned {}", rows.join("; ")),
        });
    }
    Ok(format!(
        "PRAGMA integrity_check on the copy: ok ({} snapshot)",
        if wal { "WAL" } else { "rollback-journal" }
    ))
}

fn step_copy(
    target: &str,
    src: &Connection,
    dst: &mut Connection,
    ctx: &Ctx,
    err: &dyn Fn(String) -> BackupError,
) -> Result<(), BackupError> {
    let page_size: u64 = src
        .query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0))
        .map_or(4096, |n| n as u64);
    let backup = Backup::new(src, dst).map_err(|e| err(format!("cannot start the backup: {e}")))?;
    loop {
        stopped(target, ctx)?;
        let step = backup
            .step(PAGES_PER_STEP)
            .map_err(|e| err(format!("backup step failed: {e}")))?;
        let p = backup.progress();
        let done_pages = (p.pagecount - p.remaining).max(0) as u64;
        ctx.bytes(done_pages * page_size);
        match step {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            // Busy or Locked: the service holds a lock; wait a little, as the sqlite3 shell
            // does, and step again.
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// `Err` once the operator cancelled or the action's deadline passed.
fn stopped(target: &str, ctx: &Ctx) -> Result<(), BackupError> {
    if ctx.cancel.is_cancelled() {
        return Err(BackupError::Cancelled {
            target: target.to_owned(),
        });
    }
    if Instant::now() >= ctx.deadline {
        return Err(BackupError::TimedOut {
            target: target.to_owned(),
        });
    }
    Ok(())
}
