//! `pg_dump --format=custom --compress=9` generations (runbook 000 §2.2/§2.4).
//!
//! The connection goes to pg_dump as `-h/-p/-U/-d` flags and libpq environment variables; the
//! password only ever sits in a 0600 temporary PGPASSFILE that is removed when the run ends,
//! never in argv or another variable (argv is visible to every user in `ps`). A dump counts
//! only after `pg_restore -f /dev/null` has read the whole archive: `--list` reads just the
//! table of contents and accepts a truncated file.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::attempt::{partial, Attempt};
use super::drill;
use super::{
    check_common, fsutil, generations, BackupError, BackupKind, BackupPlan, BackupReport,
    PgBackupSpec,
};
use crate::actions::child::{self, ChildError, Finished};
use crate::actions::{Ctx, Step};
use crate::config::{PasswordSource, PostgresConfig, SslMode};

/// How often the `.partial` file's size is reported while pg_dump writes it.
const POLL: Duration = Duration::from_millis(250);
/// Placeholder for the run's timestamp in a plan.
const TS_PLACEHOLDER: &str = "<YYYYMMDDTHHMMSSZ>";
/// Shown instead of the passfile's path in a plan (the path is chosen at run time).
const PASSFILE_SHOWN: &str = "<temporary 0600 file, removed after the run>";

/// A 0600 file holding `*:*:*:*:<password>` for libpq, in a private directory (the state
/// directory's `tmp/`, 0700); removed when dropped, so an error or a cancel does not leave it
/// behind. A `kill -9` can: the next start sweeps files whose process is gone
/// ([`sweep_stale_passfiles`]).
#[derive(Debug)]
pub struct PassFile {
    path: PathBuf,
    /// A private directory made for this file alone, removed with it.
    own_dir: Option<PathBuf>,
}

impl PassFile {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PassFile {
    fn drop(&mut self) {
        fsutil::remove_quietly(&self.path);
        if let Some(d) = &self.own_dir {
            let _ = fs::remove_dir(d);
        }
    }
}

/// Where temporary password files go under `state_dir`.
pub fn passfile_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("tmp")
}

const PASSFILE_PREFIX: &str = "watchdeck-pgpass-";

/// Removes password files left by runs whose process is gone (killed with -9).
pub fn sweep_stale_passfiles(state_dir: &Path) {
    let dir = passfile_dir(state_dir);
    let Ok(rd) = fs::read_dir(&dir) else {
        return;
    };
    for e in rd.filter_map(Result::ok) {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PASSFILE_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let alive = Path::new("/proc").join(pid.to_string()).exists()
            || rustix::process::Pid::from_raw(pid)
                .is_some_and(|p| rustix::process::test_kill_process(p).is_ok());
        if !alive {
            fsutil::remove_quietly(&e.path());
        }
    }
}

/// Writes a libpq password file for `password` (`:` and `\` escaped) with mode 0600, in
/// `state_dir`'s private `tmp/` (or, without one, in a fresh private directory).
pub fn write_passfile(password: &str, state_dir: Option<&Path>) -> Result<PassFile, BackupError> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    if password.contains(['\n', '\r']) {
        return Err(BackupError::Config {
            target: String::new(),
            reason: "the password holds a line break, which a libpq password file cannot carry"
                .into(),
        });
    }
    let (dir, own_dir) = if let Some(s) = state_dir {
        let d = passfile_dir(s);
        crate::safe_fs::private_dir(&d)
            .map_err(BackupError::io("create the private directory", &d))?;
        (d, None)
    } else {
        let tmp = std::env::temp_dir();
        let d = crate::safe_fs::fresh_private_dir(&tmp, "watchdeck-pg-")
            .map_err(BackupError::io("create a private directory in", &tmp))?;
        (d.clone(), Some(d))
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let name = format!(
        "{PASSFILE_PREFIX}{}-{nanos}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let path = dir.join(name);
    let escaped = password.replace('\\', "\\\\").replace(':', "\\:");
    // create_new and O_NOFOLLOW: never follow or reuse a file someone else put there.
    let mut f = crate::safe_fs::no_follow(
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600),
    )
    .open(&path)
    .map_err(BackupError::io("create the temporary password file", &path))?;
    let guard = PassFile { path, own_dir };
    f.write_all(format!("*:*:*:*:{escaped}\n").as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(BackupError::io(
            "write the temporary password file",
            &guard.path,
        ))?;
    Ok(guard)
}

/// Variables added to a child's environment.
pub type EnvVars = Vec<(String, String)>;

/// libpq connection flags (`-h -p -U -d`) and environment (`PGSSLMODE`, …) for `cfg`, with
/// the database replaced by `dbname` when given. Never the password.
pub fn pg_conn_args(
    cfg: &PostgresConfig,
    dbname: Option<&str>,
) -> Result<(Vec<String>, EnvVars), String> {
    use tokio_postgres::config::Host;
    let pg = cfg.pg_config()?;
    let mut args = Vec::new();
    let mut env = Vec::new();
    let hosts: Vec<String> = pg
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(h) => h.clone(),
            Host::Unix(p) => p.display().to_string(),
        })
        .collect();
    if !hosts.is_empty() {
        args.extend(["-h".to_owned(), hosts.join(",")]);
    }
    if !pg.get_hostaddrs().is_empty() {
        let addrs: Vec<String> = pg.get_hostaddrs().iter().map(ToString::to_string).collect();
        env.push(("PGHOSTADDR".to_owned(), addrs.join(",")));
    }
    if !pg.get_ports().is_empty() {
        let ports: Vec<String> = pg.get_ports().iter().map(ToString::to_string).collect();
        args.extend(["-p".to_owned(), ports.join(",")]);
    }
    if let Some(user) = pg.get_user() {
        args.extend(["-U".to_owned(), user.to_owned()]);
    }
    if let Some(db) = dbname.or(pg.get_dbname()) {
        args.extend(["-d".to_owned(), dbname_arg(db)]);
    }
    // -w: never prompt; a missing password is an error, not a hang.
    args.push("-w".to_owned());
    env.push(("PGSSLMODE".to_owned(), cfg.sslmode.as_str().to_owned()));
    if cfg.sslmode == SslMode::VerifyFull {
        if let Some(ca) = &cfg.ca_file {
            env.push(("PGSSLROOTCERT".to_owned(), ca.display().to_string()));
        }
    }
    env.push((
        "PGCONNECT_TIMEOUT".to_owned(),
        cfg.connect_timeout.as_secs().max(2).to_string(),
    ));
    env.push((
        "PGAPPNAME".to_owned(),
        pg.get_application_name()
            .unwrap_or("watchdeck-backup")
            .to_owned(),
    ));
    if let Some(o) = pg.get_options() {
        env.push(("PGOPTIONS".to_owned(), o.to_owned()));
    }
    Ok((args, env))
}

/// A database name as `-d` takes it: libpq reads a value with `=` or a URI prefix as a whole
/// connection string, so such a name is wrapped as `dbname='…'`.
fn dbname_arg(db: &str) -> String {
    if db.contains('=') || db.starts_with("postgres://") || db.starts_with("postgresql://") {
        format!("dbname='{}'", db.replace('\\', "\\\\").replace('\'', "\\'"))
    } else {
        db.to_owned()
    }
}

fn dump_argv(conn: &[String], out: &str) -> Vec<String> {
    let mut argv: Vec<String> = [
        "pg_dump",
        "--format=custom",
        "--compress=9",
        "--verbose",
        "-f",
        out,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    argv.extend(conn.iter().cloned());
    argv
}

fn verify_argv(file: &str) -> Vec<String> {
    ["pg_restore", "-f", "/dev/null", file]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

fn shown_env(env: &[(String, String)], has_password: bool) -> Vec<(String, String)> {
    let mut shown = env.to_vec();
    if has_password {
        shown.push(("PGPASSFILE".to_owned(), PASSFILE_SHOWN.to_owned()));
    }
    shown
}

fn config_error(target: &str) -> impl Fn(String) -> BackupError + '_ {
    move |reason| BackupError::Config {
        target: target.to_owned(),
        reason,
    }
}

/// What a Postgres backup will do. Reads the backup directory and nothing else.
pub fn plan_pg(spec: &PgBackupSpec) -> Result<BackupPlan, BackupError> {
    check_common(&spec.target, &spec.dir, spec.keep)?;
    let tables = drill::parse_tables(&spec.drill_tables).map_err(|what| BackupError::Spec {
        target: spec.target.clone(),
        what,
        hint: "write drill tables as schema.table with plain identifiers".into(),
    })?;
    let (conn, env) = pg_conn_args(&spec.postgres, None).map_err(config_error(&spec.target))?;
    let has_password = !matches!(spec.postgres.password, PasswordSource::None);
    let file = spec
        .dir
        .join(BackupKind::Postgres.file_name(&spec.target, TS_PLACEHOLDER));
    let part = partial(&file);
    let mut steps = Vec::new();
    if !spec.dir.is_dir() {
        steps.push(Step::File {
            what: format!("create {} (mode 0700)", spec.dir.display()),
        });
    }
    steps.push(Step::File {
        what: format!(
            "write manifest {}{}",
            file.display(),
            generations::MANIFEST_SUFFIX
        ),
    });
    if has_password {
        steps.push(Step::File {
            what: format!("write the password to {PASSFILE_SHOWN}"),
        });
    }
    steps.push(Step::Exec {
        argv: dump_argv(&conn, &part.display().to_string()),
        env: shown_env(&env, has_password),
    });
    steps.push(Step::Exec {
        argv: verify_argv(&part.display().to_string()),
        env: Vec::new(),
    });
    steps.push(Step::File {
        what: format!(
            "fsync, rename to {}, fsync {}",
            file.display(),
            spec.dir.display()
        ),
    });
    if !tables.is_empty() {
        steps.extend(drill::plan_steps(spec, &tables, &file, &conn, &env));
    }
    BackupPlan::with_retention(
        BackupKind::Postgres,
        &spec.target,
        &spec.dir,
        spec.keep,
        steps,
    )
}

/// Checks that `plan` was made for this spec.
pub(super) fn check_plan(
    plan: &BackupPlan,
    kind: BackupKind,
    target: &str,
    dir: &Path,
    keep: usize,
) -> Result<(), BackupError> {
    if plan.kind != kind || plan.target != target || plan.dir != dir || plan.keep != keep {
        return Err(BackupError::Spec {
            target: target.to_owned(),
            what: "the confirmed plan was made for another backup".into(),
            hint: "plan again and confirm the new plan".into(),
        });
    }
    Ok(())
}

/// Runs a confirmed Postgres backup plan.
pub async fn run_pg(
    spec: &PgBackupSpec,
    plan: &BackupPlan,
    ctx: &Ctx,
) -> Result<BackupReport, BackupError> {
    check_plan(
        plan,
        BackupKind::Postgres,
        &spec.target,
        &spec.dir,
        spec.keep,
    )?;
    let target = spec.target.as_str();
    let tables = drill::parse_tables(&spec.drill_tables).map_err(|what| BackupError::Spec {
        target: target.to_owned(),
        what,
        hint: "write drill tables as schema.table with plain identifiers".into(),
    })?;
    let (conn, mut env) = pg_conn_args(&spec.postgres, None).map_err(config_error(target))?;
    let password = spec.postgres.password().map_err(config_error(target))?;
    let mut ctx = ctx.clone();
    let passfile = match &password {
        Some(p) => {
            ctx.secrets.push(p.expose().to_owned());
            let pf = write_passfile(p.expose(), ctx.state_dir.as_deref()).map_err(|e| match e {
                BackupError::Config { reason, .. } => config_error(target)(reason),
                other => other,
            })?;
            env.push(("PGPASSFILE".to_owned(), pf.path().display().to_string()));
            Some(pf)
        }
        None => None,
    };
    let mut attempt = Attempt::begin(
        BackupKind::Postgres,
        target,
        &spec.dir,
        spec.postgres.display(),
    )
    .await?;
    let mut output = Vec::new();
    let dumped = dump_and_verify(target, &attempt, &conn, &env, &ctx, &mut output).await;
    let (bytes, verification) = match dumped {
        Ok(v) => v,
        Err(e) => return Err(attempt.fail(e, &[])),
    };
    ctx.phase("renaming");
    // Recorded as verified before the rename, so that a final name never shows up with a
    // manifest that does not say verified. A kill between the two leaves the verified
    // `.partial` beside a manifest whose file is missing: listed as such, never counted.
    if let Err(e) = attempt.verified(bytes, &verification) {
        return Err(attempt.fail(e, &[]));
    }
    if let Err(e) = fsutil::rename_durable(&attempt.partial, &attempt.file) {
        return Err(attempt.fail(e, &[]));
    }
    let mut drill_summary = None;
    if !tables.is_empty() {
        ctx.phase("drill");
        let summary = drill::run(
            spec,
            &tables,
            &attempt.file,
            &attempt.ts,
            &conn,
            &env,
            &ctx,
            &mut output,
        )
        .await;
        drill::write_summary(&spec.dir, target, &attempt.ts, &summary)?;
        attempt.drilled(&summary)?;
        drill_summary = Some(summary);
    }
    drop(passfile);
    // A drill that could not restore the dump is a reason to keep every older generation.
    let deleted = if drill_summary.as_ref().is_none_or(|d| d.ok) {
        ctx.phase("retention");
        generations::apply_retention(
            &spec.dir,
            target,
            BackupKind::Postgres,
            spec.keep,
            &plan.to_delete,
        )?
    } else {
        Vec::new()
    };
    Ok(BackupReport {
        file: attempt.file.clone(),
        bytes,
        verification,
        deleted,
        drill: drill_summary,
        output,
    })
}

/// pg_dump into the `.partial` file with its size reported, fsync, then verification.
async fn dump_and_verify(
    target: &str,
    attempt: &Attempt,
    conn: &[String],
    env: &[(String, String)],
    ctx: &Ctx,
    output: &mut Vec<String>,
) -> Result<(u64, String), BackupError> {
    ctx.phase("dumping");
    // pg_dump writes into a file made 0600 here, so the dump never takes the umask.
    fsutil::create_private_file(&attempt.partial)?;
    let mut cmd = child::Command::new(dump_argv(conn, &attempt.partial.display().to_string()));
    cmd.env = env.to_vec();
    let run = child::run(&cmd, ctx);
    tokio::pin!(run);
    let mut tick = tokio::time::interval(POLL);
    let finished = loop {
        tokio::select! {
            r = &mut run => break r,
            _ = tick.tick() => ctx.bytes(fsutil::size(&attempt.partial)),
        }
    };
    let finished = finished.map_err(|e| child_error(target, e))?;
    keep_tail(output, &finished);
    if !finished.success() {
        return Err(tool_error("pg_dump", target, &finished));
    }
    let bytes = fsutil::size(&attempt.partial);
    ctx.bytes(bytes);
    fsutil::fsync_file(&attempt.partial)?;
    ctx.phase("verifying");
    let verification = verify(target, &attempt.partial, ctx, output).await?;
    Ok((bytes, verification))
}

/// Reads the whole archive with `pg_restore -f /dev/null`; exit 0 means every data block
/// decompressed. Returns the verification in words.
pub async fn verify_dump(file: &Path, ctx: &Ctx) -> Result<String, BackupError> {
    let mut output = Vec::new();
    verify(&file.display().to_string(), file, ctx, &mut output).await
}

async fn verify(
    target: &str,
    file: &Path,
    ctx: &Ctx,
    output: &mut Vec<String>,
) -> Result<String, BackupError> {
    let cmd = child::Command::new(verify_argv(&file.display().to_string()));
    let finished = child::run(&cmd, ctx)
        .await
        .map_err(|e| child_error(target, e))?;
    keep_tail(output, &finished);
    if !finished.success() {
        return Err(BackupError::Verify {
            file: file.to_owned(),
            detail: format!(
                "pg_restore {}: {}",
                finished.describe(),
                finished.last_error_line().unwrap_or("no message")
            ),
        });
    }
    Ok(format!(
        "pg_restore read the whole archive ({} bytes) to /dev/null",
        fsutil::size(file)
    ))
}

pub(super) fn child_error(target: &str, e: ChildError) -> BackupError {
    match e {
        ChildError::Cancelled { .. } => BackupError::Cancelled {
            target: target.to_owned(),
        },
        ChildError::TimedOut { .. } => BackupError::TimedOut {
            target: target.to_owned(),
        },
        source => BackupError::Child {
            target: target.to_owned(),
            source,
        },
    }
}

pub(super) fn tool_error(program: &str, target: &str, f: &Finished) -> BackupError {
    let last = f.last_error_line();
    // Killed by a signal watchdeck did not send (its own cancel and timeout are reported as
    // such): the last line is then whatever --verbose printed last, not an error, so say so.
    let detail = match (f.signal, last) {
        (Some(_), Some(line)) => format!(
            "it was killed from outside watchdeck (an operator, the OOM killer?); its last output: {line}"
        ),
        (Some(_), None) => "it was killed from outside watchdeck (an operator, the OOM killer?)".to_owned(),
        (None, Some(line)) => line.to_owned(),
        (None, None) => "it printed nothing on stderr".to_owned(),
    };
    BackupError::Tool {
        program: program.to_owned(),
        target: target.to_owned(),
        status: f.describe(),
        detail,
    }
}

/// Keeps the children's last lines for the report (already masked by the runner).
pub(super) fn keep_tail(output: &mut Vec<String>, f: &Finished) {
    output.extend(f.stdout_tail.iter().cloned());
    output.extend(f.stderr_tail.iter().cloned());
    let excess = output.len().saturating_sub(child::TAIL_LINES);
    output.drain(..excess);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn passfile_is_private_escaped_and_removed() {
        let pf = write_passfile(r"a:b\c", None).expect("passfile");
        let path = pf.path().to_owned();
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            "*:*:*:*:a\\:b\\\\c\n"
        );
        drop(pf);
        assert!(!path.exists());
        assert!(write_passfile("a\nb", None).is_err());
    }

    #[test]
    fn conn_args_carry_no_password() {
        let mut cfg =
            PostgresConfig::from_dsn("postgres://cn@db.example:6432/events").expect("dsn");
        cfg.password = PasswordSource::Env {
            var: "PW".into(),
            value: Secret::new("hunter2"),
        };
        cfg.sslmode = SslMode::Require;
        let (args, env) = pg_conn_args(&cfg, None).expect("args");
        assert_eq!(
            args,
            [
                "-h",
                "db.example",
                "-p",
                "6432",
                "-U",
                "cn",
                "-d",
                "events",
                "-w"
            ]
        );
        assert!(env.contains(&("PGSSLMODE".into(), "require".into())));
        let all = format!("{args:?}{env:?}");
        assert!(!all.contains("hunter2"));
        let (args, _) = pg_conn_args(&cfg, Some("x=y")).expect("args");
        assert!(args.contains(&"dbname='x=y'".to_owned()), "{args:?}");
    }
}
