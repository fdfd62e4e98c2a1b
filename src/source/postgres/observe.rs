//! One round against an open session: the backlog in a read-only transaction, then the health
//! statements side by side (tokio-postgres pipelines them on the one connection).
//!
//! Every part is its own statement with its own `Result`, so a missing outbox table or a
//! missing grant leaves the connection counts and sizes standing. A part that gets no answer
//! within `statement_timeout` plus a little slack marks the session for reconnection.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio_postgres::types::FromSql;
use tokio_postgres::{Client, Row};

use super::sql::{
    backlog_sql, CONNECTIONS_SQL, DATABASE_SIZE_SQL, LOCK_WAITS_SQL, LOCK_WAITS_SQL_PRE14,
    LONGEST_QUERY_SQL, OLDEST_TRANSACTION_SQL, REPLICATION_SQL, SESSION_SQL, TABLESPACES_SQL,
};
use crate::client::postgres::error::{classify, quote_ident, Ctx, Part};
use crate::client::postgres::SLACK;
use crate::config::PostgresConfig;
use crate::obs::now_ms;
use crate::obs::postgres::{
    Activity, BacklogRow, Blocker, Connections, DatabaseSize, LockWait, PgError, PgObservation,
    Replication, SessionInfo, TablespaceSize,
};
use crate::text::one_line;

/// Query texts of other sessions are cut to this many characters, on one line.
pub const QUERY_CHARS: usize = 300;

/// Runs one round on `client`. Never fails as a whole: each part carries its own result.
pub async fn collect_once(client: &mut Client, cfg: &PostgresConfig) -> PgObservation {
    // Boxed: seven pipelined parts make a future of some 20 KiB, too big to move around on
    // every caller's stack.
    Box::pin(collect(client, cfg)).await
}

async fn collect(client: &mut Client, cfg: &PostgresConfig) -> PgObservation {
    let started = Instant::now();
    let at_ms = now_ms();
    let patience = cfg.statement_timeout + SLACK;
    let fallback_user = cfg
        .pg_config()
        .ok()
        .and_then(|c| c.get_user().map(str::to_owned))
        .unwrap_or_else(|| "<watchdeck's role>".to_owned());
    let g = Guard {
        cfg,
        patience,
        user: &fallback_user,
    };

    let session = g.run(Part::Session, session(client)).await;
    if let Err(e) = &session {
        if e.needs_reconnect() {
            // The connection is gone; every other part would wait out its own deadline.
            return PgObservation::all_failed(at_ms, started, e);
        }
    }
    let user = session
        .as_ref()
        .map_or_else(|_| fallback_user.clone(), |s| s.user.clone());
    let g = Guard { user: &user, ..g };

    let backlog = g.run(Part::Backlog, backlog(client, cfg)).await;
    if let Err(e) = &backlog {
        if e.needs_reconnect() {
            return PgObservation {
                session,
                ..PgObservation::all_failed(at_ms, started, e)
            };
        }
    }

    let client: &Client = client;
    let sees_all = session
        .as_ref()
        .map(|s| s.sees_all_sessions)
        .map_err(Clone::clone);
    let version = session.as_ref().map_or(0, |s| s.server_version_num);
    let (
        connections,
        longest_query,
        oldest_transaction,
        lock_waits,
        database,
        tablespaces,
        replication,
    ) = tokio::join!(
        g.run(Part::Connections, connections(client)),
        g.gated(
            &sees_all,
            Part::LongestQuery,
            activity(client, LONGEST_QUERY_SQL)
        ),
        g.gated(
            &sees_all,
            Part::OldestTransaction,
            activity(client, OLDEST_TRANSACTION_SQL)
        ),
        g.gated(&sees_all, Part::LockWaits, lock_waits(client, version)),
        g.run(Part::DatabaseSize, database(client)),
        g.run(Part::Tablespaces, tablespaces(client)),
        g.run(Part::Replication, replication(client)),
    );

    PgObservation {
        at_ms,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        session,
        backlog,
        connections,
        longest_query,
        oldest_transaction,
        lock_waits,
        database,
        tablespaces,
        replication,
    }
}

impl PgObservation {
    fn all_failed(at_ms: i64, started: Instant, e: &PgError) -> PgObservation {
        PgObservation {
            at_ms,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            session: Err(e.clone()),
            backlog: Err(e.clone()),
            connections: Err(e.clone()),
            longest_query: Err(e.clone()),
            oldest_transaction: Err(e.clone()),
            lock_waits: Err(e.clone()),
            database: Err(e.clone()),
            tablespaces: Err(e.clone()),
            replication: Err(e.clone()),
        }
    }
}

/// Runs parts with the client-side deadline and classifies their errors.
#[derive(Clone, Copy)]
struct Guard<'a> {
    cfg: &'a PostgresConfig,
    patience: Duration,
    /// The role, for GRANT statements in permission errors.
    user: &'a str,
}

impl Guard<'_> {
    async fn run<T>(
        &self,
        part: Part,
        fut: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, PgError> {
        let cx = Ctx {
            part,
            user: self.user,
            cfg: self.cfg,
        };
        match tokio::time::timeout(self.patience, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(Failure::Pg(e))) => Err(classify(&e, &cx)),
            Ok(Err(Failure::Plain(e))) => Err(e),
            Err(_) => Err(PgError::NoAnswer {
                after: self.patience,
            }),
        }
    }

    /// A part that is only truthful when the role sees every session: without
    /// `pg_read_all_stats` other sessions' state, wait events and queries read as NULL, and an
    /// empty list of lock waits would be a lie.
    async fn gated<T>(
        &self,
        sees_all: &Result<bool, PgError>,
        part: Part,
        fut: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, PgError> {
        match sees_all {
            Ok(true) => self.run(part, fut).await,
            Ok(false) => Err(PgError::PermissionDenied {
                what: "other sessions' state and queries are hidden from this role".into(),
                grant: format!("GRANT pg_monitor TO {}", quote_ident(self.user)),
            }),
            Err(e) => Err(e.clone()),
        }
    }
}

/// A part's failure before classification.
enum Failure {
    Pg(tokio_postgres::Error),
    Plain(PgError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        Failure::Pg(e)
    }
}

fn get<'r, T: FromSql<'r>>(row: &'r Row, idx: usize) -> Result<T, Failure> {
    row.try_get(idx).map_err(Failure::Pg)
}

async fn session(client: &Client) -> Result<SessionInfo, Failure> {
    let row = client.query_one(SESSION_SQL, &[]).await?;
    Ok(SessionInfo {
        user: get(&row, 0)?,
        database: get(&row, 1)?,
        server_version: get(&row, 2)?,
        server_version_num: get(&row, 3)?,
        tls: get(&row, 4)?,
        sees_all_sessions: get(&row, 5)?,
        pid: get(&row, 6)?,
    })
}

async fn backlog(client: &mut Client, cfg: &PostgresConfig) -> Result<Vec<BacklogRow>, Failure> {
    let sql = backlog_sql(&cfg.backlog);
    let tx = client.build_transaction().read_only(true).start().await?;
    // A number only: nothing from the config text reaches this statement.
    tx.batch_execute(&format!(
        "SET LOCAL statement_timeout = {}",
        cfg.statement_timeout.as_millis().max(1)
    ))
    .await?;
    let rows = tx.query(sql.as_str(), &[]).await?;
    tx.commit().await?;
    rows.iter()
        .map(|row| {
            let consumer: Option<String> = get(row, 0)?;
            let backlog: Option<i64> = get(row, 1)?;
            match (consumer, backlog) {
                (Some(consumer), Some(backlog)) => Ok(BacklogRow { consumer, backlog }),
                (consumer, _) => Err(Failure::Plain(PgError::BadResult {
                    reason: format!(
                        "the backlog query returned NULL {} — every row needs a consumer and a \
                         backlog (use coalesce)",
                        consumer.map_or_else(
                            || "as a consumer".to_owned(),
                            |c| format!("as the backlog of {c:?}")
                        )
                    ),
                })),
            }
        })
        .collect()
}

async fn connections(client: &Client) -> Result<Connections, Failure> {
    let rows = client.query(CONNECTIONS_SQL, &[]).await?;
    let mut out = Connections {
        total: 0,
        max: 0,
        reserved: 0,
        by_state: Vec::new(),
        hidden: 0,
    };
    for row in &rows {
        out.max = get(row, 2)?;
        out.reserved = get(row, 3)?;
        let n: i64 = get(row, 1)?;
        out.total += n;
        match get::<Option<String>>(row, 0)? {
            Some(state) if n > 0 => out.by_state.push((state, n)),
            Some(_) => {}
            None => out.hidden += n,
        }
    }
    out.by_state
        .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(out)
}

async fn activity(client: &Client, sql: &str) -> Result<Option<Activity>, Failure> {
    let Some(row) = client.query_opt(sql, &[]).await? else {
        return Ok(None);
    };
    Ok(Some(Activity {
        pid: get(&row, 0)?,
        seconds: get::<Option<f64>>(&row, 1)?.unwrap_or(0.0).max(0.0),
        state: get(&row, 2)?,
        application_name: get(&row, 3)?,
        user: get(&row, 4)?,
        query: one_line(&get::<String>(&row, 5)?, QUERY_CHARS),
    }))
}

async fn lock_waits(client: &Client, version: i32) -> Result<Vec<LockWait>, Failure> {
    let sql = if version >= 140_000 {
        LOCK_WAITS_SQL
    } else {
        LOCK_WAITS_SQL_PRE14
    };
    let rows = client.query(sql, &[]).await?;
    let mut out: Vec<LockWait> = Vec::new();
    for row in &rows {
        let pid: i32 = get(row, 0)?;
        let blocker = Blocker {
            pid: get(row, 5)?,
            state: get(row, 6)?,
            application_name: get(row, 7)?,
            query: one_line(&get::<String>(row, 8)?, QUERY_CHARS),
            transaction_seconds: get::<Option<f64>>(row, 9)?.map(|s| s.max(0.0)),
        };
        // Rows come longest wait first; a waiter's rows may interleave with another's of the
        // same age, so group by pid rather than by adjacency.
        if let Some(wait) = out.iter_mut().find(|w| w.pid == pid) {
            wait.blockers.push(blocker);
            continue;
        }
        out.push(LockWait {
            pid,
            waited_seconds: get::<Option<f64>>(row, 1)?.unwrap_or(0.0).max(0.0),
            lock: get(row, 2)?,
            application_name: get(row, 3)?,
            query: one_line(&get::<String>(row, 4)?, QUERY_CHARS),
            blockers: vec![blocker],
        });
    }
    Ok(out)
}

async fn database(client: &Client) -> Result<DatabaseSize, Failure> {
    let row = client.query_one(DATABASE_SIZE_SQL, &[]).await?;
    Ok(DatabaseSize {
        name: get(&row, 0)?,
        bytes: get(&row, 1)?,
    })
}

async fn tablespaces(client: &Client) -> Result<Vec<TablespaceSize>, Failure> {
    let rows = client.query(TABLESPACES_SQL, &[]).await?;
    rows.iter()
        .map(|row| {
            Ok(TablespaceSize {
                name: get(row, 0)?,
                bytes: get(row, 1)?,
                location: get(row, 2)?,
            })
        })
        .collect()
}

async fn replication(client: &Client) -> Result<Replication, Failure> {
    let row = client.query_one(REPLICATION_SQL, &[]).await?;
    Ok(Replication {
        in_recovery: get(&row, 0)?,
        lag_seconds: get::<Option<f64>>(&row, 1)?.map(|s| s.max(0.0)),
    })
}
