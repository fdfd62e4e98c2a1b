//! The restore drill (runbook 002): restore the new dump into a scratch database on the same
//! server, compare row counts of the configured tables with the source, drop the scratch
//! database whatever happened, and leave a JSON summary.
//!
//! The source counts are read right after the restore, from the live database: with writers
//! running they may differ from the dump's snapshot (the runbook stops writers first), and the
//! summary then says which table differed.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use super::pgdump::{child_error, keep_tail, pg_conn_args, tool_error};
use super::{fsutil, rfc3339, BackupError, PgBackupSpec};
use crate::actions::child;
use crate::actions::{Ctx, Step};
use crate::client::postgres::{connect, connect_db, PgSession};
use crate::config::SqlIdent;

/// The longest a scratch database's DROP may take after the drill.
const DROP_TIMEOUT: Duration = Duration::from_secs(60);

/// One compared table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCount {
    /// `schema.table`.
    pub table: String,
    pub source: Option<i64>,
    pub restored: Option<i64>,
    pub ok: bool,
}

/// What a drill found; written as `<target>-drill-<ts>-summary.json` and `latest-summary.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillSummary {
    pub target: String,
    /// The dump's file name.
    pub dump: String,
    pub scratch_database: String,
    pub started: String,
    pub finished: String,
    pub duration_ms: u64,
    pub tables: Vec<TableCount>,
    pub restored: bool,
    pub scratch_dropped: bool,
    /// Restored, every count equal, and the scratch database dropped.
    pub ok: bool,
    pub error: Option<String>,
}

/// `schema.table` or `table` (schema `public`), both plain identifiers.
pub(super) fn parse_tables(tables: &[String]) -> Result<Vec<(SqlIdent, SqlIdent)>, String> {
    tables
        .iter()
        .map(|t| {
            let (schema, table) = t.split_once('.').unwrap_or(("public", t));
            let s = SqlIdent::new(schema)
                .map_err(|e| format!("drill table {t:?}: schema name is not usable: {e}"))?;
            let n = SqlIdent::new(table)
                .map_err(|e| format!("drill table {t:?}: table name is not usable: {e}"))?;
            Ok((s, n))
        })
        .collect()
}

fn count_sql(schema: &SqlIdent, table: &SqlIdent) -> String {
    format!(
        "SELECT count(*) FROM {}.{}",
        schema.quoted(),
        table.quoted()
    )
}

/// A scratch database name: `<db>_drill_<ts>` in lower case, within 63 bytes.
fn scratch_name(db: &str, ts: &str) -> String {
    let suffix = format!("_drill_{}", ts.to_ascii_lowercase());
    let base: String = db
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(63 - suffix.len())
        .collect();
    format!("{base}{suffix}")
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn restore_argv(conn: &[String], file: &str) -> Vec<String> {
    let mut argv: Vec<String> = ["pg_restore", "--exit-on-error", "--no-owner", "--no-acl"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    argv.extend(conn.iter().cloned());
    argv.push(file.to_owned());
    argv
}

fn source_db(spec: &PgBackupSpec) -> String {
    spec.postgres
        .pg_config()
        .ok()
        .and_then(|c| c.get_dbname().or(c.get_user()).map(str::to_owned))
        .unwrap_or_else(|| "db".to_owned())
}

/// The drill's steps for a plan.
pub(super) fn plan_steps(
    spec: &PgBackupSpec,
    tables: &[(SqlIdent, SqlIdent)],
    file: &Path,
    _conn: &[String],
    env: &[(String, String)],
) -> Vec<Step> {
    let scratch = scratch_name(&source_db(spec), "<ts>");
    let mut steps = vec![Step::Sql {
        statement: format!(
            "CREATE DATABASE {} TEMPLATE template0",
            quote_ident(&scratch)
        ),
        params: Vec::new(),
    }];
    let conn = pg_conn_args(&spec.postgres, Some(&scratch))
        .map(|(c, _)| c)
        .unwrap_or_default();
    let mut env = env.to_vec();
    if !matches!(spec.postgres.password, crate::config::PasswordSource::None) {
        env.push((
            "PGPASSFILE".to_owned(),
            "<the same temporary 0600 file>".to_owned(),
        ));
    }
    steps.push(Step::Exec {
        argv: restore_argv(&conn, &file.display().to_string()),
        env,
    });
    for (s, t) in tables {
        steps.push(Step::Sql {
            statement: format!("{}  (source and scratch)", count_sql(s, t)),
            params: Vec::new(),
        });
    }
    steps.push(Step::Sql {
        statement: format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)  (always, even after a failure)",
            quote_ident(&scratch)
        ),
        params: Vec::new(),
    });
    steps.push(Step::File {
        what: format!(
            "write {} and {}",
            spec.dir
                .join(format!("{}-drill-<ts>-summary.json", spec.target))
                .display(),
            spec.dir.join("latest-summary.json").display()
        ),
    });
    steps
}

/// Runs the drill; never fails as such: what went wrong is in the summary.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run(
    spec: &PgBackupSpec,
    tables: &[(SqlIdent, SqlIdent)],
    file: &Path,
    ts: &str,
    _conn: &[String],
    env: &[(String, String)],
    ctx: &Ctx,
    output: &mut Vec<String>,
) -> DrillSummary {
    let began = Instant::now();
    let started = SystemTime::now();
    let scratch = scratch_name(&source_db(spec), ts);
    let mut summary = DrillSummary {
        target: spec.target.clone(),
        dump: file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        scratch_database: scratch.clone(),
        started: rfc3339(started),
        finished: String::new(),
        duration_ms: 0,
        tables: Vec::new(),
        restored: false,
        scratch_dropped: false,
        ok: false,
        error: None,
    };
    let mut created = false;
    let result = restore_and_count(
        spec,
        tables,
        file,
        &scratch,
        env,
        ctx,
        output,
        &mut created,
        &mut summary,
    )
    .await;
    if let Err(e) = &result {
        summary.error = Some(e.clone());
    }
    // Dropped whatever happened above; a database that was never created needs no DROP.
    let dropped = if created {
        drop_scratch(spec, &scratch).await
    } else {
        Ok(())
    };
    summary.scratch_dropped = dropped.is_ok();
    if let Err(e) = dropped {
        let msg =
            format!("the scratch database {scratch} could not be dropped: {e} — drop it by hand");
        summary.error = Some(match summary.error.take() {
            Some(prev) => format!("{prev}; {msg}"),
            None => msg,
        });
    }
    summary.ok = result.is_ok()
        && summary.restored
        && summary.scratch_dropped
        && summary.tables.iter().all(|t| t.ok);
    if summary.error.is_none() && !summary.ok {
        let differing: Vec<&str> = summary
            .tables
            .iter()
            .filter(|t| !t.ok)
            .map(|t| t.table.as_str())
            .collect();
        summary.error = Some(format!(
            "row counts differ for {} (were writers running during the backup?)",
            differing.join(", ")
        ));
    }
    summary.finished = rfc3339(SystemTime::now());
    summary.duration_ms = began.elapsed().as_millis() as u64;
    summary
}

#[allow(clippy::too_many_arguments)]
async fn restore_and_count(
    spec: &PgBackupSpec,
    tables: &[(SqlIdent, SqlIdent)],
    file: &Path,
    scratch: &str,
    env: &[(String, String)],
    ctx: &Ctx,
    output: &mut Vec<String>,
    created: &mut bool,
    summary: &mut DrillSummary,
) -> Result<(), String> {
    let admin = writable_session(spec, None, ctx).await?;
    let create = format!(
        "CREATE DATABASE {} TEMPLATE template0",
        quote_ident(scratch)
    );
    admin.client.batch_execute(&create).await.map_err(|e| {
        format!(
            "cannot create the scratch database {scratch}: {}",
            pg_text(&e)
        )
    })?;
    *created = true;

    let (conn, _) = pg_conn_args(&spec.postgres, Some(scratch))?;
    let mut cmd = child::Command::new(restore_argv(&conn, &file.display().to_string()));
    cmd.env = env.to_vec();
    let finished = child::run(&cmd, ctx)
        .await
        .map_err(|e| child_error(&spec.target, e).to_string())?;
    keep_tail(output, &finished);
    if !finished.success() {
        return Err(tool_error("pg_restore", &spec.target, &finished).to_string());
    }
    summary.restored = true;

    let restored = writable_session(spec, Some(scratch), ctx).await?;
    for (s, t) in tables {
        let sql = count_sql(s, t);
        let source = count(&admin, &sql).await;
        let copy = count(&restored, &sql).await;
        let name = format!("{s}.{t}");
        let (source, copy) = match (source, copy) {
            (Ok(a), Ok(b)) => (Some(a), Some(b)),
            (a, b) => {
                let why = a.err().or(b.err()).unwrap_or_default();
                summary.tables.push(TableCount {
                    table: name.clone(),
                    source: None,
                    restored: None,
                    ok: false,
                });
                return Err(format!("cannot count {name}: {why}"));
            }
        };
        summary.tables.push(TableCount {
            table: name,
            ok: source == copy,
            source,
            restored: copy,
        });
    }
    Ok(())
}

async fn count(session: &PgSession, sql: &str) -> Result<i64, String> {
    let row = session
        .client
        .query_one(sql, &[])
        .await
        .map_err(|e| pg_text(&e))?;
    row.try_get::<_, i64>(0).map_err(|e| pg_text(&e))
}

/// A session that may write (CREATE/DROP DATABASE), with a statement timeout of what is left
/// of the action's time.
async fn writable_session(
    spec: &PgBackupSpec,
    db: Option<&str>,
    ctx: &Ctx,
) -> Result<PgSession, String> {
    let session = if db.is_some() {
        connect_db(&spec.postgres, db).await
    } else {
        connect(&spec.postgres).await
    }
    .map_err(|e| format!("cannot connect: {e}"))?;
    let ms = ctx.remaining().as_millis().clamp(1000, 86_400_000);
    session
        .client
        .batch_execute(&format!(
            "SET default_transaction_read_only = off; SET statement_timeout = {ms}"
        ))
        .await
        .map_err(|e| pg_text(&e))?;
    Ok(session)
}

async fn drop_scratch(spec: &PgBackupSpec, scratch: &str) -> Result<(), String> {
    let attempt = async {
        let admin = connect(&spec.postgres)
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        // Separate statements: DROP DATABASE cannot run inside the implicit transaction of a
        // multi-statement query, and the SETs must take effect before it starts.
        admin
            .client
            .batch_execute(&format!(
                "SET default_transaction_read_only = off; SET statement_timeout = {}",
                DROP_TIMEOUT.as_millis()
            ))
            .await
            .map_err(|e| pg_text(&e))?;
        admin
            .client
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(scratch)
            ))
            .await
            .map_err(|e| pg_text(&e))
    };
    tokio::time::timeout(DROP_TIMEOUT + Duration::from_secs(5), attempt)
        .await
        .unwrap_or_else(|_| Err("DROP DATABASE did not finish in time".into()))
}

/// A server error's own message rather than tokio-postgres' "db error".
fn pg_text(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_owned())
}

/// Writes the summary as `<target>-drill-<ts>-summary.json` and `latest-summary.json`.
pub(super) fn write_summary(
    dir: &Path,
    target: &str,
    ts: &str,
    summary: &DrillSummary,
) -> Result<(), BackupError> {
    let mut json = serde_json::to_vec_pretty(summary).unwrap_or_default();
    json.push(b'\n');
    fsutil::write_atomic(
        &dir.join(format!("{target}-drill-{ts}-summary.json")),
        &json,
    )?;
    fsutil::write_atomic(&dir.join("latest-summary.json"), &json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_checked() {
        let ok = parse_tables(&["cn_relay.events".into(), "users".into()]).expect("ok");
        assert_eq!(ok[0].0.as_str(), "cn_relay");
        assert_eq!(ok[1].0.as_str(), "public");
        assert!(parse_tables(&["a.b; drop table x".into()]).is_err());
        assert!(parse_tables(&["a.b.c".into()]).is_err());
    }

    #[test]
    fn scratch_names_fit() {
        let n = scratch_name(&"Very-Long".repeat(10), "20260101T000000Z");
        assert!(n.len() <= 63, "{n}");
        assert!(n.ends_with("_drill_20260101t000000z"));
        assert_eq!(
            scratch_name("cn", "20260101T000000Z"),
            "cn_drill_20260101t000000z"
        );
    }
}
