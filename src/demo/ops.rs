//! The demo fleet's things on disk, so its actions work for real: the overlay's SQLite
//! database (WAL mode, written to continuously like the live service), its `releases/<ts>` tree
//! with `current`, and backup directories.
//!
//! Everything lives in one temporary directory that is removed when the fleet stops.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Releases of the overlay twin, oldest first; the newest is current.
pub const RELEASES: [&str; 3] = ["20261101T090000Z", "20261115T090000Z", "20261124T090000Z"];

/// Generations the overlay's backups keep (runbook 001 §11: 7-14).
const OVERLAY_KEEP: usize = 14;

/// Rows the writer keeps (older ones are deleted in small batches, like the runbook's TTL job).
const KEEP_ROWS: i64 = 20_000;

#[derive(Debug)]
pub struct Ops {
    pub dir: PathBuf,
    stop: Arc<AtomicBool>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Ops {
    /// Creates the directory tree and starts the overlay's writer (about 20 commits/s).
    pub fn start() -> std::io::Result<Ops> {
        // A fresh private directory (mkdtemp-style, 0700), never a predictable name that
        // another user could have planted with a symlink inside.
        let dir = crate::safe_fs::fresh_private_dir(&std::env::temp_dir(), "watchdeck-demo-")?;
        let overlay = dir.join("overlay");
        for d in ["data", "backup", "releases"] {
            std::fs::create_dir_all(overlay.join(d))?;
        }
        std::fs::create_dir_all(dir.join("cn/backup"))?;
        for r in RELEASES {
            let rel = overlay.join("releases").join(r);
            std::fs::create_dir_all(rel.join("bin"))?;
            std::fs::write(rel.join("VERSION"), format!("twi-overlay {r}\n"))?;
        }
        let current = overlay.join("current");
        if !current.exists() {
            std::os::unix::fs::symlink(
                Path::new("releases").join(RELEASES[RELEASES.len() - 1]),
                &current,
            )?;
        }
        let db = overlay.join("data/app.db");
        init_db(&db).map_err(std::io::Error::other)?;
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("demo-overlay-db".into())
                .spawn(move || write_loop(&db, &stop))?
        };
        Ok(Ops {
            dir,
            stop,
            writer: Some(writer),
        })
    }

    pub fn overlay_root(&self) -> PathBuf {
        self.dir.join("overlay")
    }

    pub fn overlay_db(&self) -> PathBuf {
        self.dir.join("overlay/data/app.db")
    }

    /// The overlay's nightly backup, already run when the demo starts (runbook 001 §11: a
    /// daily `.backup`): one verified generation in its backup directory, made by the backup
    /// action's own code (online copy, `integrity_check`, manifest) with the settings
    /// [`actions_toml`](Self::actions_toml) writes.
    pub async fn nightly_backup(&self) -> std::io::Result<()> {
        use crate::actions::backup::{plan_sqlite, run_sqlite, SqliteBackupSpec};
        let spec = SqliteBackupSpec {
            target: "overlay".into(),
            db: self.overlay_db(),
            dir: self.dir.join("overlay/backup"),
            keep: OVERLAY_KEEP,
        };
        let failed = |e: &dyn std::fmt::Display| {
            std::io::Error::other(format!("demo fleet: the overlay's nightly backup: {e}"))
        };
        let plan = plan_sqlite(&spec).map_err(|e| failed(&e))?;
        let (ctx, _progress) = crate::actions::Ctx::detached(Duration::from_secs(60));
        run_sqlite(&spec, &plan, &ctx)
            .await
            .map_err(|e| failed(&e))?;
        Ok(())
    }

    /// Action sections for `target` in the demo's config, if it has any.
    pub fn actions_toml(&self, target: &str, restart: Option<&[String]>, has_pg: bool) -> String {
        let q = |p: &Path| toml::Value::String(p.display().to_string()).to_string();
        let argv = |a: &[String]| {
            a.iter()
                .map(|s| toml::Value::String(s.clone()).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match target {
            "overlay" => {
                let mut out = format!(
                    "\n[target.backup]\nkind = \"sqlite\"\ndatabase = {}\ndir = {}\nkeep = {OVERLAY_KEEP}\nmax_age = \"26h\"\n",
                    q(&self.overlay_db()),
                    q(&self.dir.join("overlay/backup")),
                );
                if let Some(restart) = restart {
                    let _ = write!(
                        out,
                        "\n[target.rollback]\nkind = \"symlink\"\nroot = {}\nrestart = [{}]\nhealthy_checks = 3\ndeadline = \"30s\"\n",
                        q(&self.overlay_root()),
                        argv(restart)
                    );
                }
                out
            }
            "cn-index" if has_pg => format!(
                "\n[target.backup]\nkind = \"postgres\"\ndir = {}\nkeep = 30\ndrill_tables = [\"public.outbox_events\", \"public.consumer_offsets\"]\nmax_age = \"26h\"\n",
                q(&self.dir.join("cn/backup")),
            ),
            _ => String::new(),
        }
    }
}

impl Drop for Ops {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn init_db(path: &Path) -> rusqlite::Result<()> {
    let c = rusqlite::Connection::open(path)?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS event_raw (
             id INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);",
    )
}

/// The overlay's write pattern: small transactions (an event and a counter), a TTL sweep now
/// and then. Errors are logged and retried: the demo must not die of a busy database while a
/// backup reads it.
fn write_loop(path: &Path, stop: &AtomicBool) {
    let Ok(c) = rusqlite::Connection::open(path) else {
        return;
    };
    let _ = c.busy_timeout(Duration::from_secs(5));
    let _ = c.pragma_update(None, "synchronous", "NORMAL");
    let mut n: i64 = 0;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let now = crate::obs::now_ms();
        let r = c.execute_batch(&format!(
            "BEGIN;
             INSERT INTO event_raw (at, kind, payload) VALUES ({now}, 'channel.chat.message', 'demo event {n}');
             INSERT INTO counters (name, value) VALUES ('events', 1)
               ON CONFLICT(name) DO UPDATE SET value = value + 1;
             COMMIT;"
        ));
        if let Err(e) = r {
            tracing::debug!(error = %e, "demo overlay write failed; retrying");
            let _ = c.execute_batch("ROLLBACK;");
        }
        if n % 500 == 0 {
            let _ = c.execute(
                "DELETE FROM event_raw WHERE id IN (SELECT id FROM event_raw ORDER BY id DESC LIMIT -1 OFFSET ?1)",
                [KEEP_ROWS],
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
