//! What one round of a Postgres collector learned, part by part, and how each part failed.

use std::time::Duration;

/// Messages from a Postgres collector.
#[derive(Debug, Clone, PartialEq)]
pub enum PgMsg {
    /// One round on a live connection (each part may still have failed on its own).
    Observed {
        target: usize,
        obs: Box<PgObservation>,
    },
    /// No connection: this attempt failed; the next one follows after `retry_in`.
    Unavailable {
        target: usize,
        at_ms: i64,
        error: PgError,
        /// Failed attempts in a row, from 1.
        attempt: u32,
        retry_in: Duration,
    },
}

impl PgMsg {
    /// The target (index in `Config::targets`) this message is about.
    pub fn target(&self) -> usize {
        match self {
            PgMsg::Observed { target, .. } | PgMsg::Unavailable { target, .. } => *target,
        }
    }
}

/// Everything one round learned. Each part succeeded or failed on its own.
#[derive(Debug, Clone, PartialEq)]
pub struct PgObservation {
    /// When the round started (unix ms).
    pub at_ms: i64,
    /// How long the round took.
    pub duration_ms: f64,
    pub session: Result<SessionInfo, PgError>,
    pub backlog: Result<Vec<BacklogRow>, PgError>,
    pub connections: Result<Connections, PgError>,
    /// The statement running longest in this database, if any is running.
    pub longest_query: Result<Option<Activity>, PgError>,
    /// The transaction open longest in this database, if any is open.
    pub oldest_transaction: Result<Option<Activity>, PgError>,
    pub lock_waits: Result<Vec<LockWait>, PgError>,
    pub database: Result<DatabaseSize, PgError>,
    pub tablespaces: Result<Vec<TablespaceSize>, PgError>,
    pub replication: Result<Replication, PgError>,
}

impl PgObservation {
    /// Whether a part lost the connection or got no answer, so the session must be reopened.
    pub fn needs_reconnect(&self) -> bool {
        self.errors().any(|(_, e)| e.needs_reconnect())
    }

    /// Every failed part with its name (`backlog`, `connections`, …), for panels and logs.
    pub fn errors(&self) -> impl Iterator<Item = (&'static str, &PgError)> {
        [
            ("session", self.session.as_ref().err()),
            ("backlog", self.backlog.as_ref().err()),
            ("connections", self.connections.as_ref().err()),
            ("longest query", self.longest_query.as_ref().err()),
            ("oldest transaction", self.oldest_transaction.as_ref().err()),
            ("lock waits", self.lock_waits.as_ref().err()),
            ("database size", self.database.as_ref().err()),
            ("tablespaces", self.tablespaces.as_ref().err()),
            ("replication", self.replication.as_ref().err()),
        ]
        .into_iter()
        .filter_map(|(name, e)| e.map(|e| (name, e)))
    }
}

/// Who and where this session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub user: String,
    pub database: String,
    /// `server_version`, e.g. "15.20".
    pub server_version: String,
    /// `server_version_num`, e.g. 150020.
    pub server_version_num: i32,
    /// Whether this connection is encrypted.
    pub tls: bool,
    /// Whether the role sees other sessions' state and queries (`pg_read_all_stats`, part of
    /// `pg_monitor`); without it the session-level parts report the missing grant.
    pub sees_all_sessions: bool,
    /// This session's backend pid (what `pg_terminate_backend` would take).
    pub pid: i32,
}

/// One consumer's backlog: events it has not consumed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacklogRow {
    pub consumer: String,
    pub backlog: i64,
}

/// Client connections of the whole server (`max_connections` is server-wide).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connections {
    /// Client backends, this one included.
    pub total: i64,
    /// `max_connections`.
    pub max: i64,
    /// `superuser_reserved_connections`: ordinary roles get `max - reserved`.
    pub reserved: i64,
    /// Counts by state (`active`, `idle`, `idle in transaction`, …), largest first.
    pub by_state: Vec<(String, i64)>,
    /// Sessions whose state this role may not see (no `pg_monitor`).
    pub hidden: i64,
}

/// A session, for the longest query and the oldest transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub pid: i32,
    /// How long the query (or transaction) has run.
    pub seconds: f64,
    pub state: String,
    pub application_name: String,
    pub user: String,
    /// The statement text, on one line, cut to [`QUERY_CHARS`]; string literals are masked
    /// when it mentions a password. Never bind parameters.
    pub query: String,
}

/// A session waiting for a lock, and who holds it up.
#[derive(Debug, Clone, PartialEq)]
pub struct LockWait {
    pub pid: i32,
    /// How long it has waited (PostgreSQL 14+; before that, since its statement began).
    pub waited_seconds: f64,
    /// The kind of lock awaited (`transactionid`, `relation`, `tuple`, …).
    pub lock: String,
    pub application_name: String,
    pub query: String,
    /// From `pg_blocking_pids`; pid 0 is a prepared transaction.
    pub blockers: Vec<Blocker>,
}

/// A session holding a lock that another waits for.
#[derive(Debug, Clone, PartialEq)]
pub struct Blocker {
    pub pid: i32,
    pub state: String,
    pub application_name: String,
    pub query: String,
    /// Age of its open transaction, if it has one.
    pub transaction_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSize {
    pub name: String,
    pub bytes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablespaceSize {
    pub name: String,
    pub bytes: i64,
    /// Directory on the server; empty for `pg_default` and `pg_global`.
    pub location: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Replication {
    /// A replica (hot standby) rather than a primary.
    pub in_recovery: bool,
    /// On a replica: 0 when all received WAL is replayed, else the age of the last replayed
    /// transaction; `None` on a primary or before the first replay.
    pub lag_seconds: Option<f64>,
}

/// One failure of the Postgres source. `Display` is the sentence for the panel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PgError {
    /// Nothing answers at the address (refused, no route, unknown host, no socket).
    #[error("server unreachable at {addr}: {reason} — check that PostgreSQL is running and listening there")]
    Unreachable { addr: String, reason: String },
    /// TCP connect, TLS or authentication did not finish in `connect_timeout`.
    #[error("connecting to {addr} timed out after {} — the server or the network is not answering", fmt_duration(*.after))]
    ConnectTimeout { addr: String, after: Duration },
    /// The server refused the user or the password.
    #[error("authentication failed: {reason} — {hint}")]
    AuthFailed { reason: String, hint: String },
    /// The DSN names a database the server does not have.
    #[error("database {name:?} does not exist — check the database name in dsn")]
    NoDatabase { name: String },
    /// The server is up but takes no connections now (full, starting, shutting down).
    #[error("the server refuses connections: {reason}")]
    Refused { reason: String },
    /// The TLS handshake or certificate check failed.
    #[error("TLS failed: {reason} — {hint}")]
    Tls { reason: String, hint: String },
    /// The server cancelled a statement at `statement_timeout`.
    #[error("{what} timed out after {} (statement_timeout) — make it cheaper or raise statement_timeout in [target.postgres]", fmt_duration(*.after))]
    StatementTimeout { what: String, after: Duration },
    /// The server did not answer at all in time; the connection is dropped.
    #[error("no answer from the server within {} — the connection will be reopened", fmt_duration(*.after))]
    NoAnswer { after: Duration },
    #[error("table {name} does not exist — {hint}")]
    MissingTable { name: String, hint: String },
    #[error("column {name} does not exist — {hint}")]
    MissingColumn { name: String, hint: String },
    #[error("schema {name} does not exist — {hint}")]
    MissingSchema { name: String, hint: String },
    /// The role may not read something; `grant` is the statement that fixes it.
    #[error("{what} — the role needs: {grant}")]
    PermissionDenied { what: String, grant: String },
    /// An established connection broke.
    #[error("connection lost: {reason} — it will be reopened")]
    ConnectionLost { reason: String },
    /// The passfile could not be used.
    #[error("cannot read the password: {reason}")]
    Password { reason: String },
    /// The query ran but its result cannot be used (a NULL backlog, a write attempt…).
    #[error("{reason}")]
    BadResult { reason: String },
    /// The connection settings cannot be used.
    #[error("{reason}")]
    Config { reason: String },
    /// Any other server error, with its SQLSTATE.
    #[error("server error {code}: {message}")]
    Server { code: String, message: String },
}

impl PgError {
    /// Whether the connection cannot be trusted after this error and must be reopened.
    pub fn needs_reconnect(&self) -> bool {
        matches!(
            self,
            PgError::ConnectionLost { .. } | PgError::NoAnswer { .. }
        )
    }
}

pub fn fmt_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}
