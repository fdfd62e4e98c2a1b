//! The backup drivers against real parts: the PostgreSQL 15 server on 127.0.0.1:5432 (trust
//! auth, user postgres) with the real pg_dump/pg_restore, and real SQLite files in WAL mode.
//! Every Postgres test works in a database of its own (`wd_bk_<pid>_<n>`), dropped by a guard
//! even when the test fails, so tests run in parallel.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc::UnboundedReceiver;
use tokio_postgres::Client;
use watchdeck::actions::backup::{
    list, newest_verified, plan_pg, plan_sqlite, retention_eligible, run_pg, run_sqlite, timestamp,
    verify_dump, BackupError, BackupKind, DrillSummary, Generation, Manifest, PgBackupSpec,
    SqliteBackupSpec,
};
use watchdeck::actions::{Ctx, Progress, Step};
use watchdeck::config::{PasswordSource, PostgresConfig, Secret};

/// A password with the characters a passfile must escape; it must never show anywhere.
const SECRET: &str = r"pw:SECRET\never-shown";

use crate::common::pgdb;
use pgdb::{client, TestDb, ADMIN};

/// `cn_relay.events` (1000 rows) and `public.users` (50 rows).
async fn seed(db: &TestDb) {
    db.admin()
        .await
        .batch_execute(
            "CREATE SCHEMA cn_relay;
             CREATE TABLE cn_relay.events (seq bigint PRIMARY KEY, body text NOT NULL);
             INSERT INTO cn_relay.events SELECT i, md5(i::text) FROM generate_series(1, 1000) i;
             CREATE TABLE users (id int PRIMARY KEY, name text);
             INSERT INTO users SELECT i, 'user' || i FROM generate_series(1, 50) i;",
        )
        .await
        .expect("seed");
}

async fn new_db() -> TestDb {
    TestDb::new("wd_bk").await
}

async fn count(c: &Client, table: &str) -> i64 {
    c.query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .expect("count")
        .get(0)
}

fn pg_spec(db: &TestDb, dir: &Path) -> PgBackupSpec {
    PgBackupSpec {
        target: "cn".into(),
        postgres: db.config(),
        dir: dir.to_owned(),
        keep: 30,
        drill_tables: Vec::new(),
    }
}

fn drain(rx: &mut UnboundedReceiver<Progress>) -> Vec<Progress> {
    let mut out = Vec::new();
    while let Ok(p) = rx.try_recv() {
        out.push(p);
    }
    out
}

fn phases(progress: &[Progress]) -> Vec<String> {
    progress
        .iter()
        .filter_map(|p| match p {
            Progress::Phase(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn read_manifest(file: &Path) -> Manifest {
    let path = PathBuf::from(format!("{}.json", file.display()));
    serde_json::from_slice(&std::fs::read(&path).expect("manifest")).expect("manifest json")
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn passfiles_of_this_process() -> Vec<String> {
    let prefix = format!("watchdeck-pgpass-{}-", std::process::id());
    names(&std::env::temp_dir())
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

// ---------------------------------------------------------------- Postgres

/// Restores `file` into a fresh database with the real pg_restore and compares row counts.
async fn assert_restorable(db: &TestDb, file: &Path) {
    let other = new_db().await;
    let restored = std::process::Command::new("pg_restore")
        .args(["-h", "127.0.0.1", "-U", "postgres", "--exit-on-error", "-d"])
        .arg(&other.name)
        .arg(file)
        .output()
        .expect("pg_restore");
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    let (src, dst) = (db.admin().await, other.admin().await);
    for table in ["cn_relay.events", "users"] {
        assert_eq!(
            count(&src, table).await,
            count(&dst, table).await,
            "{table}"
        );
    }
    assert_eq!(count(&dst, "cn_relay.events").await, 1000);
}

#[tokio::test]
async fn pg_backup_verifies_restores_and_never_shows_the_password() {
    let db = new_db().await;
    seed(&db).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("backups");
    let mut spec = pg_spec(&db, &dir);
    spec.postgres.password = PasswordSource::Env {
        var: "WD_PW".into(),
        value: Secret::new(SECRET),
    };

    let plan = plan_pg(&spec).expect("plan");
    assert!(!dir.exists(), "planning must not create the directory");
    let shown: Vec<String> = plan.steps.iter().map(Step::describe).collect();
    let dump = plan
        .steps
        .iter()
        .find_map(|s| match s {
            Step::Exec { argv, env } if argv[0] == "pg_dump" => Some((argv.clone(), env.clone())),
            _ => None,
        })
        .expect("a pg_dump step");
    assert!(
        dump.0.contains(&"--format=custom".to_owned()),
        "{:?}",
        dump.0
    );
    assert!(dump.0.contains(&"--compress=9".to_owned()), "{:?}", dump.0);
    assert!(
        dump.1.iter().any(|(k, _)| k == "PGPASSFILE"),
        "{:?}",
        dump.1
    );
    assert!(shown.iter().any(|l| l.contains("pg_restore -f /dev/null")));
    let plan_json = serde_json::to_string(&plan).expect("json");
    for text in shown.iter().chain([&plan_json]) {
        assert!(!text.contains("SECRET"), "password in the plan: {text}");
    }

    let (ctx, mut rx) = Ctx::detached(Duration::from_secs(120));
    let report = run_pg(&spec, &plan, &ctx).await.expect("backup");
    let progress = drain(&mut rx);

    // Verified, under its final name, with its manifest.
    assert!(report.file.is_file());
    let name = report
        .file
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with("cn-pgdump-") && Path::new(&name).extension().is_some_and(|e| e == "dump"),
        "{name}"
    );
    assert!(
        report.verification.contains("pg_restore"),
        "{}",
        report.verification
    );
    let m = read_manifest(&report.file);
    assert!(
        m.verified && m.error.is_none() && m.finished.is_some(),
        "{m:?}"
    );
    assert_eq!(
        m.bytes,
        std::fs::metadata(&report.file).expect("meta").len()
    );
    assert!(!names(&dir).iter().any(|n| n.ends_with(".partial")));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&dir).expect("dir").permissions(),
    ) & 0o777;
    assert_eq!(mode, 0o700, "the backup directory is created private");

    // Progress: the phases in order and bytes.
    let ph = phases(&progress);
    for want in ["dumping", "verifying", "renaming", "retention"] {
        assert!(ph.iter().any(|p| p == want), "phases {ph:?}");
    }
    assert!(progress
        .iter()
        .any(|p| matches!(p, Progress::Bytes(n) if *n > 0)));

    // The password is nowhere in what the children printed (pg_dump --verbose is chatty).
    assert!(
        !report.output.is_empty(),
        "pg_dump --verbose printed nothing"
    );
    for line in &report.output {
        assert!(!line.contains("SECRET"), "{line}");
    }
    for p in &progress {
        if let Progress::Output { line, .. } = p {
            assert!(!line.contains("SECRET"), "{line}");
        }
    }
    assert!(
        passfiles_of_this_process().is_empty(),
        "the temporary passfile outlived the run"
    );

    assert_restorable(&db, &report.file).await;

    // The listing the Backups panel uses.
    let gens = list(&dir, "cn").expect("list");
    assert_eq!(gens.len(), 1);
    assert!(gens[0].is_verified() && gens[0].error().is_none());
    assert_eq!(gens[0].kind, BackupKind::Postgres);
    assert!(newest_verified(&dir, "cn").expect("newest").is_some());
}

#[tokio::test]
async fn a_truncated_dump_is_rejected_by_verify() {
    let db = new_db().await;
    seed(&db).await;
    db.admin()
        .await
        .batch_execute(
            "CREATE TABLE filler AS SELECT i, md5(i::text) || md5((i * 7)::text) AS t
             FROM generate_series(1, 50000) i",
        )
        .await
        .expect("filler");
    let tmp = tempfile::tempdir().expect("tempdir");
    let spec = pg_spec(&db, tmp.path());
    let plan = plan_pg(&spec).expect("plan");
    let (ctx, _rx) = Ctx::detached(Duration::from_secs(120));
    let report = run_pg(&spec, &plan, &ctx).await.expect("backup");

    // The whole file verifies…
    verify_dump(&report.file, &ctx)
        .await
        .expect("full dump verifies");
    // …the first 10 % of it does not.
    let bytes = std::fs::read(&report.file).expect("read");
    let cut = tmp.path().join("cut.dump");
    std::fs::write(&cut, &bytes[..bytes.len() / 10]).expect("write");
    let err = verify_dump(&cut, &ctx).await.expect_err("truncated dump");
    assert!(matches!(err, BackupError::Verify { .. }), "{err}");
    assert!(err.to_string().contains("did not verify"), "{err}");
}

#[tokio::test]
async fn restore_drill_writes_its_summary_and_drops_the_scratch_database() {
    let db = new_db().await;
    seed(&db).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut spec = pg_spec(&db, tmp.path());
    spec.drill_tables = vec!["cn_relay.events".into(), "users".into()];
    let plan = plan_pg(&spec).expect("plan");
    let shown: Vec<String> = plan.steps.iter().map(Step::describe).collect();
    assert!(
        shown
            .iter()
            .any(|l| l.contains("pg_restore --exit-on-error --no-owner --no-acl")),
        "{shown:#?}"
    );
    assert!(shown.iter().any(|l| l.contains("DROP DATABASE")));

    let (ctx, mut rx) = Ctx::detached(Duration::from_secs(120));
    let report = run_pg(&spec, &plan, &ctx).await.expect("backup");
    assert!(phases(&drain(&mut rx)).iter().any(|p| p == "drill"));
    let drill = report.drill.clone().expect("drill ran");
    assert!(drill.ok, "{drill:?}");
    assert!(drill.restored && drill.scratch_dropped && drill.error.is_none());
    let counts: Vec<(String, Option<i64>, Option<i64>)> = drill
        .tables
        .iter()
        .map(|t| (t.table.clone(), t.source, t.restored))
        .collect();
    assert_eq!(
        counts,
        vec![
            ("cn_relay.events".into(), Some(1000), Some(1000)),
            ("public.users".into(), Some(50), Some(50)),
        ]
    );

    // The summary files say the same, and the manifest carries it.
    let ts = report
        .file
        .file_name()
        .expect("name")
        .to_string_lossy()
        .trim_start_matches("cn-pgdump-")
        .trim_end_matches(".dump")
        .to_owned();
    for f in [
        format!("cn-drill-{ts}-summary.json"),
        "latest-summary.json".into(),
    ] {
        let s: DrillSummary =
            serde_json::from_slice(&std::fs::read(tmp.path().join(&f)).expect("summary"))
                .expect("summary json");
        assert_eq!(s, drill, "{f}");
    }
    let raw: serde_json::Value = serde_json::from_slice(
        &std::fs::read(tmp.path().join("latest-summary.json")).expect("summary"),
    )
    .expect("json");
    for key in ["tables", "ok", "duration_ms", "scratch_database", "dump"] {
        assert!(raw.get(key).is_some(), "summary lacks {key}: {raw}");
    }
    assert_eq!(read_manifest(&report.file).drill.as_ref(), Some(&drill));

    // The scratch database is gone.
    let admin = client(ADMIN).await;
    let left = admin
        .query(
            "SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2",
            &[&drill.scratch_database, &format!("{}_drill_%", db.name)],
        )
        .await
        .expect("pg_database");
    assert!(left.is_empty(), "scratch database left behind");
}

#[tokio::test]
async fn a_failed_drill_still_drops_the_scratch_database_and_deletes_nothing() {
    let db = new_db().await;
    seed(&db).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut spec = pg_spec(&db, tmp.path());
    spec.keep = 1;
    spec.drill_tables = vec!["cn_relay.no_such_table".into()];
    // One older verified generation that retention would delete if the drill passed.
    let old = fake(
        tmp.path(),
        "cn",
        BackupKind::Postgres,
        "20200101T000000Z",
        true,
    );
    let plan = plan_pg(&spec).expect("plan");
    assert_eq!(plan.to_delete.len(), 2, "{:?}", plan.to_delete);
    let (ctx, _rx) = Ctx::detached(Duration::from_secs(120));
    let report = run_pg(&spec, &plan, &ctx)
        .await
        .expect("backup itself verified");
    let drill = report.drill.expect("drill ran");
    assert!(
        !drill.ok && drill.restored && drill.scratch_dropped,
        "{drill:?}"
    );
    assert!(
        drill
            .error
            .as_deref()
            .unwrap_or("")
            .contains("no_such_table"),
        "{drill:?}"
    );
    assert!(report.deleted.is_empty());
    assert!(old.is_file(), "a failed drill must keep older generations");
    let admin = client(ADMIN).await;
    let left = admin
        .query(
            "SELECT 1 FROM pg_database WHERE datname = $1",
            &[&drill.scratch_database],
        )
        .await
        .expect("pg_database");
    assert!(left.is_empty(), "scratch database left behind");
}

#[tokio::test]
async fn cancel_during_pg_dump_leaves_no_partial_and_no_dump() {
    let db = new_db().await;
    db.admin()
        .await
        .batch_execute(
            "CREATE TABLE big AS SELECT i, repeat(md5(i::text), 4) AS t
             FROM generate_series(1, 600000) i",
        )
        .await
        .expect("big table");
    let tmp = tempfile::tempdir().expect("tempdir");
    let spec = pg_spec(&db, tmp.path());
    let plan = plan_pg(&spec).expect("plan");
    let (ctx, mut rx) = Ctx::detached(Duration::from_secs(300));
    let cancel = ctx.cancel.clone();
    let saw_bytes = Arc::new(AtomicBool::new(false));
    let saw = saw_bytes.clone();
    // Cancel as soon as pg_dump has written its first bytes.
    let watcher = tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            if matches!(p, Progress::Bytes(n) if n > 0) {
                saw.store(true, Ordering::SeqCst);
                cancel.cancel();
                break;
            }
        }
    });
    let err = run_pg(&spec, &plan, &ctx).await.expect_err("cancelled");
    watcher.abort();
    assert!(saw_bytes.load(Ordering::SeqCst), "no bytes were reported");
    assert!(matches!(err, BackupError::Cancelled { .. }), "{err}");
    let left = names(tmp.path());
    assert!(!left.iter().any(|n| n.ends_with(".partial")), "{left:?}");
    assert!(
        !left
            .iter()
            .any(|n| Path::new(n).extension().is_some_and(|e| e == "dump")),
        "{left:?}"
    );
    // The attempt is recorded as failed.
    let gens = list(tmp.path(), "cn").expect("list");
    assert_eq!(gens.len(), 1);
    assert!(!gens[0].is_verified());
    assert!(
        gens[0].error().unwrap_or_default().contains("cancelled"),
        "{:?}",
        gens[0].error()
    );
    assert!(newest_verified(tmp.path(), "cn").expect("newest").is_none());
}

// ---------------------------------------------------------------- SQLite

fn open_wal(path: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).expect("open");
    c.busy_timeout(Duration::from_secs(5)).expect("busy");
    let mode: String = c
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .expect("wal");
    assert_eq!(mode, "wal");
    c.execute_batch("PRAGMA synchronous=NORMAL").expect("sync");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backup_under_a_concurrent_writer_is_consistent() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("app.db");
    {
        let c = open_wal(&db);
        c.execute_batch(
            "CREATE TABLE queue (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
             INSERT INTO queue (body) SELECT printf('%.500c', 'x') FROM n;",
        )
        .expect("seed");
    }
    // The service: ~100 commits a second on its own connection.
    let stop = Arc::new(AtomicBool::new(false));
    let committed = Arc::new(AtomicU64::new(20_000));
    let writer = {
        let (stop, committed, db) = (stop.clone(), committed.clone(), db.clone());
        std::thread::spawn(move || {
            let c = open_wal(&db);
            while !stop.load(Ordering::SeqCst) {
                c.execute("INSERT INTO queue (body) VALUES ('live')", [])
                    .expect("writer insert");
                committed.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let until = std::time::Instant::now() + Duration::from_secs(30);
    while committed.load(Ordering::SeqCst) < 20_030 {
        assert!(
            std::time::Instant::now() < until && !writer.is_finished(),
            "the writer did not commit 30 rows in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let dir = tmp.path().join("backup");
    let spec = SqliteBackupSpec {
        target: "overlay".into(),
        db: db.clone(),
        dir: dir.clone(),
        keep: 14,
    };
    let plan = plan_sqlite(&spec).expect("plan");
    let before = committed.load(Ordering::SeqCst);
    let (ctx, mut rx) = Ctx::detached(Duration::from_secs(120));
    let report = run_sqlite(&spec, &plan, &ctx).await;
    let during = committed.load(Ordering::SeqCst);
    // Keep writing a little after the backup: the service was never blocked.
    let until = std::time::Instant::now() + Duration::from_secs(30);
    while committed.load(Ordering::SeqCst) < during + 5 {
        assert!(
            std::time::Instant::now() < until && !writer.is_finished(),
            "the writer did not commit 5 more rows in 30 s after the backup"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::SeqCst);
    writer.join().expect("writer thread");
    let report = report.expect("backup");
    let progress = drain(&mut rx);

    assert!(
        report.verification.contains("integrity_check"),
        "{}",
        report.verification
    );
    assert!(progress
        .iter()
        .any(|p| matches!(p, Progress::Bytes(n) if *n > 0)));
    let copy = rusqlite::Connection::open_with_flags(
        &report.file,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open copy");
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
    assert_eq!(check, "ok");
    let rows: i64 = copy
        .query_row("SELECT count(*) FROM queue", [], |r| r.get(0))
        .expect("count");
    assert!(
        rows as u64 >= before,
        "the copy has {rows} rows, {before} were committed before the backup began"
    );
    let mode: String = copy
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "delete", "the copy is one self-contained file");
    drop(copy);
    let left = names(&dir);
    assert_eq!(left.len(), 2, "backup and manifest only: {left:?}");
    assert!(read_manifest(&report.file).verified);
}

#[tokio::test]
async fn sqlite_backup_of_a_missing_database_fails_and_is_recorded() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let spec = SqliteBackupSpec {
        target: "overlay".into(),
        db: tmp.path().join("nope.db"),
        dir: tmp.path().join("b"),
        keep: 14,
    };
    let plan = plan_sqlite(&spec).expect("plan");
    let (ctx, _rx) = Ctx::detached(Duration::from_secs(30));
    let err = run_sqlite(&spec, &plan, &ctx).await.expect_err("fails");
    assert!(err.to_string().contains("cannot open"), "{err}");
    assert!(
        !tmp.path().join("nope.db").exists(),
        "must not create the source"
    );
    let gens = list(&spec.dir, "overlay").expect("list");
    assert_eq!(gens.len(), 1);
    assert!(!gens[0].present && !gens[0].is_verified());
    assert!(gens[0].error().is_some());
    assert_eq!(names(&spec.dir).len(), 1, "{:?}", names(&spec.dir));
}

// ---------------------------------------------------------------- retention

/// A generation as a run leaves it: backup + verified manifest, or a failed manifest alone.
fn fake(dir: &Path, target: &str, kind: BackupKind, ts: &str, verified: bool) -> PathBuf {
    std::fs::create_dir_all(dir).expect("dir");
    let file = dir.join(kind.file_name(target, ts));
    if verified {
        std::fs::write(&file, b"backup").expect("file");
    }
    let m = Manifest {
        kind,
        target: target.into(),
        file: file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned(),
        source: "test".into(),
        started: "2020-01-01T00:00:00Z".into(),
        finished: Some("2020-01-01T00:00:01Z".into()),
        bytes: 6,
        verified,
        verification: verified.then(|| "test".into()),
        error: (!verified).then(|| "boom".into()),
        drill: None,
    };
    std::fs::write(
        format!("{}.json", file.display()),
        serde_json::to_vec(&m).expect("json"),
    )
    .expect("manifest");
    file
}

fn live_sqlite(dir: &Path) -> PathBuf {
    let db = dir.join("live.db");
    let c = open_wal(&db);
    c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .expect("seed");
    db
}

fn sqlite_spec(tmp: &Path, db: PathBuf, keep: usize) -> SqliteBackupSpec {
    SqliteBackupSpec {
        target: "ov".into(),
        db,
        dir: tmp.join("b"),
        keep,
    }
}

#[tokio::test]
async fn retention_keep_2_with_2_verified_and_3_failed_deletes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("b");
    let k = BackupKind::Sqlite;
    let all = [
        fake(&dir, "ov", k, "20200105T000000Z", false),
        fake(&dir, "ov", k, "20200104T000000Z", true),
        fake(&dir, "ov", k, "20200103T000000Z", false),
        fake(&dir, "ov", k, "20200102T000000Z", true),
        fake(&dir, "ov", k, "20200101T000000Z", false),
    ];
    let listing = list(&dir, "ov").expect("list");
    assert_eq!(listing.len(), 5);
    assert_eq!(listing.iter().filter(|g| g.is_verified()).count(), 2);
    assert!(retention_eligible(&listing, 2).is_empty());
    // Newest first, with the failed ones' errors.
    assert_eq!(listing[0].ts, "20200105T000000Z");
    assert_eq!(listing[0].error().as_deref(), Some("boom"));

    // A run with keep 3 (2 old + this one = 3 verified) previews and deletes nothing either.
    let db = live_sqlite(tmp.path());
    let spec = sqlite_spec(tmp.path(), db, 3);
    let plan = plan_sqlite(&spec).expect("plan");
    assert!(plan.to_delete.is_empty(), "{:?}", plan.to_delete);
    assert!(!plan.steps.iter().any(|s| matches!(s, Step::Delete { .. })));
    let (ctx, _rx) = Ctx::detached(Duration::from_secs(30));
    let report = run_sqlite(&spec, &plan, &ctx).await.expect("backup");
    assert!(report.deleted.is_empty());
    for f in &all {
        assert!(
            PathBuf::from(format!("{}.json", f.display())).is_file(),
            "{f:?} lost its record"
        );
    }
}

#[tokio::test]
async fn retention_deletes_exactly_the_preview_after_a_verified_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("b");
    let k = BackupKind::Sqlite;
    let v1 = fake(&dir, "ov", k, "20200101T000000Z", true);
    let f1 = fake(&dir, "ov", k, "20200102T000000Z", false);
    let v2 = fake(&dir, "ov", k, "20200103T000000Z", true);
    let v3 = fake(&dir, "ov", k, "20200104T000000Z", true);
    let f2 = fake(&dir, "ov", k, "20200105T000000Z", false);
    // Another target's and another kind's generations are never touched.
    let other = fake(&dir, "other", k, "20200101T000000Z", true);
    let pg = fake(&dir, "ov", BackupKind::Postgres, "20200101T000000Z", true);

    let db = live_sqlite(tmp.path());
    let spec = sqlite_spec(tmp.path(), db, 2);
    let plan = plan_sqlite(&spec).expect("plan");
    let json = |p: &Path| PathBuf::from(format!("{}.json", p.display()));
    // keep 2 = this run + v3: v1 and v2 go, each backup then its manifest.
    let want = vec![v2.clone(), json(&v2), v1.clone(), json(&v1)];
    assert_eq!(plan.to_delete, want);
    let deletes: Vec<String> = plan
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Delete { path } => Some(path.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        deletes,
        want.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        plan.fingerprint,
        plan_sqlite(&spec).expect("again").fingerprint
    );

    let (ctx, _rx) = Ctx::detached(Duration::from_secs(30));
    let report = run_sqlite(&spec, &plan, &ctx).await.expect("backup");
    assert_eq!(report.deleted, plan.to_delete);
    for p in &want {
        assert!(!p.exists(), "{p:?} should be gone");
    }
    for p in [&v3, &json(&f1), &json(&f2), &other, &pg] {
        assert!(p.exists(), "{p:?} must stay");
    }
    let listing = list(&dir, "ov").expect("list");
    let verified: Vec<_> = listing
        .iter()
        .filter(|g| g.is_verified() && g.kind == k)
        .collect();
    assert_eq!(verified.len(), 2, "keep 2 verified");
    assert_eq!(verified[0].file, report.file);
}

#[tokio::test]
async fn retention_deletes_nothing_when_this_run_fails() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("b");
    let k = BackupKind::Sqlite;
    let v = [
        fake(&dir, "ov", k, "20200101T000000Z", true),
        fake(&dir, "ov", k, "20200102T000000Z", true),
        fake(&dir, "ov", k, "20200103T000000Z", true),
    ];
    // keep 1: the plan previews all three old ones, to go only if this run verifies.
    let spec = sqlite_spec(tmp.path(), tmp.path().join("missing.db"), 1);
    let plan = plan_sqlite(&spec).expect("plan");
    assert_eq!(plan.to_delete.len(), 6);
    let (ctx, _rx) = Ctx::detached(Duration::from_secs(30));
    run_sqlite(&spec, &plan, &ctx).await.expect_err("fails");
    for f in &v {
        assert!(f.is_file(), "{f:?} deleted after a failed run");
    }
    // The last verified backup is still the newest old one, and it is still there.
    let newest = list(&dir, "ov")
        .expect("list")
        .into_iter()
        .find(Generation::is_verified)
        .expect("a verified generation");
    assert_eq!(newest.file, v[2]);
    assert_eq!(
        newest_verified(&dir, "ov").expect("newest"),
        Some(humantime::parse_rfc3339("2020-01-01T00:00:01Z").expect("t"))
    );
    // And a listing whose newest attempt failed keeps every verified one with keep >= 1.
    let listing = list(&dir, "ov").expect("list");
    assert!(!listing[0].is_verified());
    assert!(!retention_eligible(&listing, 1).contains(&v[2]));
}

#[tokio::test]
async fn retention_never_deletes_what_was_not_previewed_or_is_no_longer_eligible() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("b");
    let k = BackupKind::Sqlite;
    let a = fake(&dir, "ov", k, "20200101T000000Z", true);
    let b = fake(&dir, "ov", k, "20200102T000000Z", true);
    let c = fake(&dir, "ov", k, "20200103T000000Z", true);
    let db = live_sqlite(tmp.path());
    let spec = sqlite_spec(tmp.path(), db, 2);
    let plan = plan_sqlite(&spec).expect("plan");
    assert!(plan.to_delete.contains(&a) && plan.to_delete.contains(&b));
    assert!(!plan.to_delete.contains(&c));
    // After confirmation: `b` turns out bad (no longer a verified generation, so no longer
    // eligible), and an older verified one appears that the operator never saw.
    let mut m: Manifest =
        serde_json::from_slice(&std::fs::read(format!("{}.json", b.display())).expect("read"))
            .expect("json");
    m.verified = false;
    m.error = Some("found corrupt".into());
    std::fs::write(
        format!("{}.json", b.display()),
        serde_json::to_vec(&m).expect("json"),
    )
    .expect("write");
    let unseen = fake(&dir, "ov", k, "20190101T000000Z", true);

    let (ctx, _rx) = Ctx::detached(Duration::from_secs(30));
    let report = run_sqlite(&spec, &plan, &ctx).await.expect("backup");
    assert_eq!(
        report.deleted,
        vec![a.clone(), PathBuf::from(format!("{}.json", a.display()))]
    );
    assert!(b.is_file(), "a record that is no longer eligible stays");
    assert!(unseen.is_file(), "a file the plan did not show stays");
    assert!(c.is_file());
    assert!(report.deleted.iter().all(|p| plan.to_delete.contains(p)));
}

#[tokio::test]
async fn plans_check_their_input_and_have_no_side_effects() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("not-yet");
    let mut spec = SqliteBackupSpec {
        target: "ov".into(),
        db: tmp.path().join("x.db"),
        dir: dir.clone(),
        keep: 0,
    };
    assert!(plan_sqlite(&spec)
        .expect_err("keep 0")
        .to_string()
        .contains("keep"));
    spec.keep = 1001;
    assert!(plan_sqlite(&spec).is_err());
    spec.keep = 14;
    spec.target = "../etc".into();
    assert!(plan_sqlite(&spec).is_err());
    spec.target = "ov".into();
    let plan = plan_sqlite(&spec).expect("plan");
    assert!(!dir.exists());
    assert!(plan.to_delete.is_empty());
    assert!(plan
        .steps
        .iter()
        .any(|s| s.describe().contains("mode 0700")));

    let pg = PgBackupSpec {
        target: "cn".into(),
        postgres: PostgresConfig::from_dsn("postgres://cn@127.0.0.1:5432/cn").expect("dsn"),
        dir: dir.clone(),
        keep: 30,
        drill_tables: vec!["cn_relay.events; DROP TABLE x".into()],
    };
    assert!(plan_pg(&pg)
        .expect_err("bad table")
        .to_string()
        .contains("drill table"));
    assert!(!dir.exists());
    // A plan for one spec is refused by another's run.
    let other = SqliteBackupSpec {
        target: "other".into(),
        ..spec.clone()
    };
    let (ctx, _rx) = Ctx::detached(Duration::from_secs(5));
    assert!(run_sqlite(&other, &plan, &ctx).await.is_err());
    assert!(!dir.exists());
    // Timestamps in names.
    let ts = timestamp(SystemTime::UNIX_EPOCH + Duration::from_secs(86_400 + 3661));
    assert_eq!(ts, "19700102T010101Z");
}
