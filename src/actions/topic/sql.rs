//! The SQL topic driver: the operator's statement, prepared, with the topic id bound as `$1`.
//!
//! The statement runs in its own read-write transaction (watchdeck's sessions are read-only
//! by default) and must change exactly one row: none means the topic does not exist, more
//! means the WHERE clause is wrong, and both roll back. The state is read on the same session,
//! read-only again.

use std::collections::BTreeSet;

use tokio_postgres::types::Type;
use tokio_postgres::{Client, GenericClient, Statement};

use super::{bounded, done_word, TopicDriver, TopicError, TopicPlan};
use crate::actions::{ActionKind, Ctx, Step};
use crate::client::postgres::{connect, PgSession};
use crate::config::PostgresConfig;
use crate::text::one_line;

/// The `$N` placeholders a statement uses, outside string literals and quoted names.
pub(super) fn placeholders(sql: &str) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
        } else if c == '\'' || c == '"' {
            quote = Some(c);
        } else if c == '$' {
            let mut n = String::new();
            while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                n.push(d);
                chars.next();
            }
            if let Ok(n) = n.parse() {
                out.insert(n);
            }
        }
    }
    out
}

/// The statement must use `$1` and no other placeholder.
fn check_text(sql: &str, what: &str) -> Result<(), TopicError> {
    let bad = |reason: String| TopicError::BadDriver {
        what: what.to_owned(),
        reason,
    };
    if sql.trim().is_empty() {
        return Err(bad("it is empty".into()));
    }
    let used = placeholders(sql);
    if !used.contains(&1) {
        return Err(bad(
            "it does not use $1 — the topic id is bound as $1 (never pasted into the SQL)".into(),
        ));
    }
    if let Some(other) = used.iter().find(|&&n| n != 1) {
        return Err(bad(format!(
            "it uses ${other}; only $1 (the topic id) is bound"
        )));
    }
    Ok(())
}

/// An SQL driver's database, `suspend_sql`, `resume_sql` and `state_sql`; `None` for another
/// driver.
fn statements(driver: &TopicDriver) -> Option<(&PostgresConfig, &str, &str, Option<&str>)> {
    let TopicDriver::Sql {
        postgres,
        suspend_sql,
        resume_sql,
        state_sql,
    } = driver
    else {
        return None;
    };
    Some((postgres, suspend_sql, resume_sql, state_sql.as_deref()))
}

fn parts(driver: &TopicDriver, kind: ActionKind) -> (&PostgresConfig, &str, &str, Option<&str>) {
    let Some((postgres, suspend_sql, resume_sql, state_sql)) = statements(driver) else {
        unreachable!("sql::parts is only called for the SQL driver");
    };
    let (sql, what) = if kind == ActionKind::Suspend {
        (suspend_sql, "suspend_sql")
    } else {
        (resume_sql, "resume_sql")
    };
    (postgres, sql, what, state_sql)
}

pub(super) fn steps(
    driver: &TopicDriver,
    kind: ActionKind,
    topic: &str,
) -> Result<Vec<Step>, TopicError> {
    let (pg, sql, what, state) = parts(driver, kind);
    check_text(sql, what)?;
    if let Some(s) = state {
        check_text(s, "state_sql")?;
    }
    let params = vec![topic.to_owned()];
    let mut steps = vec![
        Step::Note {
            text: format!(
                "on {} in one transaction; it must change exactly one row",
                pg.display()
            ),
        },
        Step::Sql {
            statement: sql.trim().to_owned(),
            params: params.clone(),
        },
    ];
    steps.push(match state {
        Some(s) => Step::Sql {
            statement: s.trim().to_owned(),
            params,
        },
        None => Step::Note {
            text: "the state is not re-read: the driver has no state_sql".into(),
        },
    });
    Ok(steps)
}

/// The server's words for a failed statement: message, then detail and hint if any.
pub(super) fn db_text(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut out = format!("{} (SQLSTATE {})", db.message(), db.code().code());
        if let Some(d) = db.detail() {
            out.push_str(" — ");
            out.push_str(d);
        }
        if let Some(h) = db.hint() {
            out.push_str(" — hint: ");
            out.push_str(h);
        }
        return one_line(&out, 400);
    }
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn sql_error(what: &str) -> impl Fn(tokio_postgres::Error) -> TopicError + '_ {
    move |e| TopicError::Sql {
        what: what.to_owned(),
        reason: db_text(&e),
    }
}

/// Opens a session on the driver's database.
pub(super) async fn open(pg: &PostgresConfig) -> Result<PgSession, TopicError> {
    connect(pg).await.map_err(|e| TopicError::Connect {
        addr: pg.display(),
        reason: e.to_string(),
    })
}

/// Prepares `sql` and checks that it takes exactly one parameter that a text id can fill.
async fn prepare<C: GenericClient + Sync>(
    client: &C,
    sql: &str,
    what: &str,
) -> Result<Statement, TopicError> {
    let st = client.prepare(sql).await.map_err(sql_error(what))?;
    let bad = |reason: String| TopicError::BadDriver {
        what: what.to_owned(),
        reason,
    };
    match st.params() {
        [t] if [
            Type::TEXT,
            Type::VARCHAR,
            Type::BPCHAR,
            Type::NAME,
            Type::UNKNOWN,
        ]
        .contains(t) =>
        {
            Ok(st)
        }
        [t] => Err(bad(format!(
            "PostgreSQL reads $1 as {t}; the topic id is text — write $1::text"
        ))),
        ps => Err(bad(format!(
            "it takes {} parameters; it must take exactly one, $1 = the topic id",
            ps.len()
        ))),
    }
}

/// Prepares every statement of an SQL driver (no side effects): each must take exactly one
/// text parameter and name tables and columns that exist. For a config check or a test.
pub async fn check_statements(driver: &TopicDriver) -> Result<(), TopicError> {
    let Some((postgres, suspend_sql, resume_sql, state_sql)) = statements(driver) else {
        return Ok(());
    };
    let session = open(postgres).await?;
    for (sql, what) in [
        (Some(suspend_sql), "suspend_sql"),
        (Some(resume_sql), "resume_sql"),
        (state_sql, "state_sql"),
    ] {
        if let Some(sql) = sql {
            check_text(sql, what)?;
            prepare(&session.client, sql, what).await?;
        }
    }
    Ok(())
}

pub(super) async fn run(
    driver: &TopicDriver,
    plan: &TopicPlan,
    ctx: &Ctx,
) -> Result<(String, String), TopicError> {
    let (pg, sql, what, state) = parts(driver, plan.kind);
    let topic = plan.topic.as_str();
    ctx.phase(format!("connecting to {}", pg.display()));
    let mut session = bounded(ctx, "connecting", false, open(pg)).await?;
    ctx.phase(format!("{} {topic}: {what}", plan.kind.as_str()));
    let change = async {
        let tx = session
            .client
            .build_transaction()
            .read_only(false)
            .start()
            .await
            .map_err(sql_error("starting a transaction"))?;
        let st = prepare(&tx, sql, what).await?;
        let rows = tx.execute(&st, &[&topic]).await.map_err(sql_error(what))?;
        if rows != 1 {
            tx.rollback().await.map_err(sql_error("rolling back"))?;
            return Err(if rows == 0 {
                TopicError::NoTopic {
                    topic: topic.to_owned(),
                    detail: format!("{what} changed no row"),
                }
            } else {
                TopicError::TooManyRows {
                    what: what.to_owned(),
                    rows,
                }
            });
        }
        tx.commit().await.map_err(sql_error("committing"))?;
        Ok("1 row updated".to_owned())
    };
    let outcome = bounded(ctx, &format!("running {what}"), true, change).await?;
    let Some(state) = state else {
        return Ok((outcome, "not re-read (no state_sql)".into()));
    };
    ctx.phase(format!("re-reading the state of {topic}"));
    let unreadable = |e: TopicError| TopicError::StateUnreadable {
        done: done_word(plan.kind).to_owned(),
        reason: e.to_string(),
    };
    let read = read_state(&session.client, state, topic);
    let state = bounded(ctx, "re-reading the state", false, read)
        .await
        .map_err(unreadable)?;
    Ok((outcome, state))
}

/// The first column of the state query's first row: text as is, a boolean as
/// "suspended"/"active".
async fn read_state(client: &Client, sql: &str, topic: &str) -> Result<String, TopicError> {
    let st = prepare(client, sql, "state_sql").await?;
    let rows = client
        .query(&st, &[&topic])
        .await
        .map_err(sql_error("state_sql"))?;
    let Some(row) = rows.first() else {
        return Err(TopicError::Sql {
            what: "state_sql".into(),
            reason: "it returned no row for the topic".into(),
        });
    };
    column_text(row, 0).ok_or_else(|| TopicError::Sql {
        what: "state_sql".into(),
        reason: format!(
            "its first column is {}; return text or a boolean (true = suspended)",
            row.columns()
                .first()
                .map_or("missing".into(), |c| c.type_().to_string())
        ),
    })
}

/// A column as text: text types as they are, booleans as "suspended"/"active", NULL as
/// "(null)". `None` for other types.
pub(super) fn column_text(row: &tokio_postgres::Row, i: usize) -> Option<String> {
    let ty = row.columns().get(i)?.type_().clone();
    if ty == Type::BOOL {
        let b: Option<bool> = row.try_get(i).ok()?;
        return Some(
            b.map_or("(null)", |b| if b { "suspended" } else { "active" })
                .into(),
        );
    }
    let s: Option<String> = row.try_get(i).ok()?;
    Some(s.map_or_else(|| "(null)".into(), |s| one_line(&s, 200)))
}
