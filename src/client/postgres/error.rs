//! What went wrong with a database, in the words an operator acts on.
//!
//! tokio-postgres reports a handful of kinds (connect, TLS, authentication, closed, server
//! error with an SQLSTATE); this module turns each into a [`PgError`] that says what happened
//! and what to do: start the server, fix the password, grant `pg_monitor`, add an index. No
//! variant can hold the password: nothing here ever sees it, and server messages do not carry
//! it.

use tokio_postgres::error::SqlState;

use crate::config::{BacklogSource, PostgresConfig};
use crate::obs::postgres::PgError;

/// Which statement failed, for the message and for the grant that fixes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Connect,
    Session,
    Backlog,
    Connections,
    LongestQuery,
    OldestTransaction,
    LockWaits,
    DatabaseSize,
    Tablespaces,
    Replication,
}

impl Part {
    fn label(self) -> &'static str {
        match self {
            Part::Connect => "connecting",
            Part::Session => "the session query",
            Part::Backlog => "the backlog query",
            Part::Connections => "the connection count",
            Part::LongestQuery => "the longest-query lookup",
            Part::OldestTransaction => "the oldest-transaction lookup",
            Part::LockWaits => "the lock-wait lookup",
            Part::DatabaseSize => "the database size",
            Part::Tablespaces => "the tablespace sizes",
            Part::Replication => "the replication lag",
        }
    }
}

/// What classification needs to know besides the error.
pub struct Ctx<'a> {
    pub part: Part,
    /// The role watchdeck logs in as, for GRANT statements.
    pub user: &'a str,
    pub cfg: &'a PostgresConfig,
}

/// The error for a connect attempt or a statement.
pub fn classify(err: &tokio_postgres::Error, cx: &Ctx<'_>) -> PgError {
    if let Some(db) = err.as_db_error() {
        return classify_db(db.code(), db.message(), cx);
    }
    let cause = chain(err);
    let addr = cx.cfg.display();
    match err.to_string().as_str() {
        "error connecting to server" => match io_kind(err) {
            Some(std::io::ErrorKind::TimedOut) => PgError::ConnectTimeout {
                addr,
                after: cx.cfg.connect_timeout,
            },
            Some(std::io::ErrorKind::ConnectionRefused) => PgError::Unreachable {
                addr,
                reason: "connection refused".into(),
            },
            _ => PgError::Unreachable {
                addr,
                reason: cause,
            },
        },
        "timeout waiting for server" => PgError::ConnectTimeout {
            addr,
            after: cx.cfg.connect_timeout,
        },
        "error performing TLS handshake" => tls(cause),
        "invalid configuration" if cause.contains("password missing") => PgError::AuthFailed {
            reason: "the server asks for a password and none is configured".into(),
            hint: "set password_env or passfile in [target.postgres]".into(),
        },
        "invalid configuration" | "invalid connection string" => PgError::Config { reason: cause },
        "authentication error" => PgError::AuthFailed {
            reason: cause,
            hint: "check the user in dsn and the password in password_env/passfile".into(),
        },
        "connection closed" if cx.part == Part::Connect => PgError::Unreachable {
            addr,
            reason: "the server closed the connection during startup".into(),
        },
        _ if err.is_closed() => PgError::ConnectionLost { reason: cause },
        "error communicating with the server" => PgError::ConnectionLost { reason: cause },
        _ => PgError::BadResult {
            reason: format!("{}: {cause}", cx.part.label()),
        },
    }
}

fn classify_db(code: &SqlState, message: &str, cx: &Ctx<'_>) -> PgError {
    let quoted = first_quoted(message);
    match code {
        c if *c == SqlState::QUERY_CANCELED && message.contains("statement timeout") => {
            PgError::StatementTimeout {
                what: cx.part.label().to_owned(),
                after: cx.cfg.statement_timeout,
            }
        }
        c if *c == SqlState::UNDEFINED_TABLE => PgError::MissingTable {
            name: quoted.unwrap_or_else(|| message.to_owned()),
            hint: missing_hint(cx),
        },
        c if *c == SqlState::UNDEFINED_COLUMN => PgError::MissingColumn {
            name: column_name(message),
            hint: missing_hint(cx),
        },
        c if *c == SqlState::INVALID_SCHEMA_NAME => PgError::MissingSchema {
            name: quoted.unwrap_or_else(|| message.to_owned()),
            hint: missing_hint(cx),
        },
        c if *c == SqlState::INSUFFICIENT_PRIVILEGE => PgError::PermissionDenied {
            what: message.to_owned(),
            grant: grant_for(message, cx),
        },
        c if *c == SqlState::INVALID_PASSWORD => PgError::AuthFailed {
            reason: message.to_owned(),
            hint: "check the password in password_env/passfile".into(),
        },
        c if *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => PgError::AuthFailed {
            reason: message.to_owned(),
            hint: "check the user in dsn and the server's pg_hba.conf".into(),
        },
        c if *c == SqlState::INVALID_CATALOG_NAME => PgError::NoDatabase {
            name: quoted.unwrap_or_else(|| message.to_owned()),
        },
        c if *c == SqlState::TOO_MANY_CONNECTIONS
            || *c == SqlState::CANNOT_CONNECT_NOW
            || *c == SqlState::ADMIN_SHUTDOWN
            || *c == SqlState::CRASH_SHUTDOWN =>
        {
            PgError::Refused {
                reason: message.to_owned(),
            }
        }
        c if *c == SqlState::READ_ONLY_SQL_TRANSACTION => PgError::BadResult {
            reason: format!(
                "{} tried to write ({message}) — watchdeck runs it in a read-only transaction; \
                 make it a plain SELECT",
                cx.part.label()
            ),
        },
        c => PgError::Server {
            code: c.code().to_owned(),
            message: message.to_owned(),
        },
    }
}

fn missing_hint(cx: &Ctx<'_>) -> String {
    match (cx.part, &cx.cfg.backlog) {
        (Part::Backlog, BacklogSource::Query(_)) => {
            "check backlog_query in [target.postgres] (it must return the columns consumer and \
             backlog)"
                .into()
        }
        (Part::Backlog, BacklogSource::Tables(_)) => {
            "check schema, events_table, seq_column, offsets_table, consumer_column and \
             offset_column in [target.postgres], or set backlog_query"
                .into()
        }
        _ => "this PostgreSQL version may be too old for watchdeck (it needs 10 or newer)".into(),
    }
}

/// The GRANT that lifts a permission error.
fn grant_for(message: &str, cx: &Ctx<'_>) -> String {
    let user = quote_ident(cx.user);
    let object = first_word_after(message, "permission denied for ");
    match (object.as_deref(), cx.part) {
        (Some("database"), _) => format!(
            "GRANT CONNECT ON DATABASE {} TO {user}",
            first_quoted(message).unwrap_or_else(
                || after_kind(message, "database").unwrap_or_else(|| "<database>".into())
            )
        ),
        (Some("schema"), _) => format!(
            "GRANT USAGE ON SCHEMA {} TO {user}",
            after_kind(message, "schema").unwrap_or_else(|| "<schema>".into())
        ),
        (Some("table" | "relation" | "view" | "sequence"), Part::Backlog) => {
            match &cx.cfg.backlog {
                // Both tables at once: granting only the one named would fail on the other
                // at the next round.
                BacklogSource::Tables(t) => format!(
                    "GRANT SELECT ON {schema}.{}, {schema}.{} TO {user}",
                    quote_ident(t.events_table.as_str()),
                    quote_ident(t.offsets_table.as_str()),
                    schema = quote_ident(t.schema.as_str()),
                ),
                BacklogSource::Query(_) => {
                    let table = after_kind(message, object.as_deref().unwrap_or("table"))
                        .unwrap_or_else(|| "<table>".into());
                    format!("GRANT SELECT ON {} TO {user}", quote_ident(&table))
                }
            }
        }
        (_, Part::Backlog) => {
            format!("GRANT SELECT ON the tables that the backlog query reads TO {user}")
        }
        _ => format!("GRANT pg_monitor TO {user}"),
    }
}

/// A name as SQL wants it: bare if it is a plain lower-case name, else quoted.
pub fn quote_ident(user: &str) -> String {
    let plain = user
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && user
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        user.to_owned()
    } else {
        format!("\"{}\"", user.replace('"', "\"\""))
    }
}

fn first_word_after(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    rest.split_whitespace().next().map(str::to_owned)
}

/// The name after "permission denied for <kind> ".
fn after_kind(message: &str, kind: &str) -> Option<String> {
    let needle = format!("{kind} ");
    let at = message.find(&needle)?;
    message[at + needle.len()..]
        .split_whitespace()
        .next()
        .map(|s| s.trim_matches('"').to_owned())
}

/// The text between the first pair of double quotes: `relation "public.x" does not exist`.
fn first_quoted(message: &str) -> Option<String> {
    let start = message.find('"')? + 1;
    let len = message[start..].find('"')?;
    Some(message[start..start + len].to_owned())
}

/// `column "seq" does not exist` or `column o.last_seq does not exist`.
fn column_name(message: &str) -> String {
    first_quoted(message)
        .or_else(|| {
            message
                .strip_prefix("column ")
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| message.to_owned())
}

fn tls(reason: String) -> PgError {
    let lower = reason.to_ascii_lowercase();
    let hint = if lower.contains("server does not support tls") {
        "the server has ssl = off; enable TLS there or set sslmode = \"prefer\" or \"disable\""
    } else if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        "the server's certificate is not signed by a trusted CA; set ca_file to the CA that \
         signed it"
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        "the certificate does not name the host in dsn; connect with the name the certificate \
         carries"
    } else if lower.contains("expired") {
        "the server's certificate has expired; renew it"
    } else {
        "check sslmode and ca_file in [target.postgres] and the server's TLS setup"
    };
    PgError::Tls {
        reason,
        hint: hint.to_owned(),
    }
}

/// The error's causes joined with ": ", without the top-level kind.
fn chain(err: &tokio_postgres::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    if parts.is_empty() {
        err.to_string()
    } else {
        parts.join(": ")
    }
}

fn io_kind(err: &tokio_postgres::Error) -> Option<std::io::ErrorKind> {
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = s.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(dsn: &str) -> PostgresConfig {
        PostgresConfig::from_dsn(dsn).expect("dsn")
    }

    /// The GRANT suggested for `message` when `user` read `part` of `cfg`.
    fn grant(message: &str, part: Part, user: &str, cfg: &PostgresConfig) -> String {
        grant_for(message, &Ctx { part, user, cfg })
    }

    #[test]
    fn permission_messages_name_the_grant() {
        let c = cfg("postgres://cn@h/db");
        assert_eq!(
            grant(
                "permission denied for table consumer_offsets",
                Part::Backlog,
                "cn",
                &c
            ),
            "GRANT SELECT ON public.outbox_events, public.consumer_offsets TO cn"
        );
        let mut custom = c.clone();
        custom.backlog = BacklogSource::Query("SELECT …".into());
        assert_eq!(
            grant(
                "permission denied for table Jobs",
                Part::Backlog,
                "cn",
                &custom
            ),
            "GRANT SELECT ON \"Jobs\" TO cn"
        );
        assert_eq!(
            grant("permission denied for schema app", Part::Backlog, "cn", &c),
            "GRANT USAGE ON SCHEMA app TO cn"
        );
        assert_eq!(
            grant(
                "permission denied for tablespace pg_global",
                Part::Tablespaces,
                "Ops User",
                &c
            ),
            "GRANT pg_monitor TO \"Ops User\""
        );
    }

    #[test]
    fn names_are_extracted() {
        assert_eq!(
            first_quoted("relation \"public.x\" does not exist").as_deref(),
            Some("public.x")
        );
        assert_eq!(
            column_name("column o.last_seq does not exist"),
            "o.last_seq"
        );
        assert_eq!(column_name("column \"seq\" does not exist"), "seq");
    }

    #[test]
    fn tls_hints() {
        let PgError::Tls { hint, .. } = tls("invalid peer certificate: UnknownIssuer".into())
        else {
            panic!("tls");
        };
        assert!(hint.contains("ca_file"), "{hint}");
    }
}
