//! `[target.postgres]` as the engine uses it: where to connect, how to authenticate, and where
//! the outbox backlog lives.
//!
//! The password never sits in the DSN (that string is shown in panels and messages); it comes
//! from an environment variable, read once at load, or from a passfile that must be private to
//! its owner and is read again at every connect, so a rotated password is picked up without a
//! restart. Table and column names are checked as plain SQL identifiers and only ever reach SQL
//! quoted.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use super::Secret;

/// Connect timeout when the file gives none.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Statement timeout when the file gives none (shortened to the target's interval if that is
/// shorter).
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(2);
/// PostgreSQL's NAMEDATALEN - 1: longer names are silently truncated by the server.
const MAX_IDENT_BYTES: usize = 63;

/// A target's database: validated, without the password in any printable field.
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresConfig {
    /// The connection string as written (URL or `key=value` form). It holds no password, no
    /// `sslmode` and no `connect_timeout` (those have their own keys).
    pub dsn: String,
    pub password: PasswordSource,
    /// Deadline for TCP connect, TLS and authentication together.
    pub connect_timeout: Duration,
    /// Server-side deadline of every statement (`statement_timeout`), also the client's
    /// patience for an answer (plus a little slack).
    pub statement_timeout: Duration,
    pub sslmode: SslMode,
    /// CA certificates (PEM) that verify the server with `verify-full`; the system roots
    /// otherwise.
    pub ca_file: Option<PathBuf>,
    pub backlog: BacklogSource,
}

/// Where the password comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// No password (trust, peer or certificate authentication).
    None,
    /// `password_env`: the variable's name and its value, read when the config was loaded.
    Env { var: String, value: Secret },
    /// `passfile`: a file holding only the password, mode 0600 or stricter; read at every
    /// connect.
    File(PathBuf),
}

/// TLS, with libpq's names and meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS if the server offers it, else plain; the certificate is not verified (as libpq).
    Prefer,
    /// TLS or fail; the certificate is not verified (as libpq without a root certificate).
    Require,
    /// TLS, the chain verified against `ca_file` or the system roots, and the host name
    /// matched.
    VerifyFull,
}

impl SslMode {
    pub const ALL: [SslMode; 4] = [
        SslMode::Disable,
        SslMode::Prefer,
        SslMode::Require,
        SslMode::VerifyFull,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SslMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        SslMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                let hint = if s == "verify-ca" {
                    " (verify-ca is not supported: use verify-full, which also checks the host \
                     name)"
                } else {
                    ""
                };
                format!("sslmode {s:?} is not one of disable, prefer, require, verify-full{hint}")
            })
    }
}

/// How the backlog per consumer is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BacklogSource {
    /// `backlog_query`: the operator's query (trailing `;` removed), which must return the
    /// columns `consumer` (text) and `backlog` (an integer or numeric).
    Query(String),
    /// The community-node shape: `max(seq)` of the events table minus each consumer's offset.
    Tables(OutboxTables),
}

/// Names of the community-node outbox tables (runbook 000 §1.3); the defaults are the
/// runbook's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxTables {
    pub schema: SqlIdent,
    pub events_table: SqlIdent,
    pub seq_column: SqlIdent,
    pub offsets_table: SqlIdent,
    pub consumer_column: SqlIdent,
    pub offset_column: SqlIdent,
}

impl Default for OutboxTables {
    fn default() -> Self {
        let ident = |s: &str| SqlIdent(s.to_owned());
        OutboxTables {
            schema: ident("public"),
            events_table: ident("outbox_events"),
            seq_column: ident("seq"),
            offsets_table: ident("consumer_offsets"),
            consumer_column: ident("consumer"),
            offset_column: ident("last_seq"),
        }
    }
}

/// A plain SQL identifier: `[A-Za-z_][A-Za-z0-9_$]*`, at most 63 bytes. It reaches SQL only
/// through [`SqlIdent::quoted`], so it is matched exactly as written (case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SqlIdent(String);

impl SqlIdent {
    /// Checks a name; the error says why it is not usable.
    pub fn new(name: &str) -> Result<Self, String> {
        let mut chars = name.chars();
        let Some(first) = chars.next() else {
            return Err("it is empty".into());
        };
        if !(first.is_ascii_alphabetic() || first == '_') {
            return Err(format!("it starts with {first:?}"));
        }
        if let Some(c) = chars.find(|&c| !(c.is_ascii_alphanumeric() || c == '_' || c == '$')) {
            return Err(format!("it contains {c:?}"));
        }
        if name.len() > MAX_IDENT_BYTES {
            return Err(format!(
                "it is {} bytes long (PostgreSQL keeps {MAX_IDENT_BYTES})",
                name.len()
            ));
        }
        Ok(SqlIdent(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as a quoted identifier, ready for SQL text.
    pub fn quoted(&self) -> String {
        // `new` admits no double quote; doubling keeps this safe even if that ever changes.
        format!("\"{}\"", self.0.replace('"', "\"\""))
    }
}

impl fmt::Display for SqlIdent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PostgresConfig {
    /// A config with the defaults for a DSN (no password, `prefer`, the community-node
    /// tables), checked like the file's `dsn`. For the demo and for tests.
    pub fn from_dsn(dsn: &str) -> Result<PostgresConfig, String> {
        check_dsn(dsn)?;
        Ok(PostgresConfig {
            dsn: dsn.to_owned(),
            password: PasswordSource::None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
            sslmode: SslMode::Prefer,
            ca_file: None,
            backlog: BacklogSource::Tables(OutboxTables::default()),
        })
    }

    /// The parsed DSN, without password, TLS mode or timeouts (the connector adds them).
    pub fn pg_config(&self) -> Result<tokio_postgres::Config, String> {
        parse_dsn(&self.dsn)
    }

    /// `user@host:port/database`, for panels and messages.
    pub fn display(&self) -> String {
        self.pg_config()
            .map_or_else(|_| "<invalid dsn>".to_owned(), |c| display_config(&c))
    }

    /// The password to send, read now (a passfile is re-read at every call).
    pub fn password(&self) -> Result<Option<Secret>, String> {
        match &self.password {
            PasswordSource::None => Ok(None),
            PasswordSource::Env { value, .. } => Ok(Some(value.clone())),
            PasswordSource::File(path) => read_passfile(path).map(Some),
        }
    }
}

/// `user@host:port/database` of a parsed DSN.
pub fn display_config(c: &tokio_postgres::Config) -> String {
    let host = match c.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => c
            .get_hostaddrs()
            .first()
            .map_or_else(|| "?".to_owned(), ToString::to_string),
    };
    let port = c.get_ports().first().copied().unwrap_or(5432);
    let user = c.get_user().unwrap_or("");
    let db = c.get_dbname().or(c.get_user()).unwrap_or("");
    let at = if user.is_empty() { "" } else { "@" };
    format!("{user}{at}{host}:{port}/{db}")
}

fn parse_dsn(dsn: &str) -> Result<tokio_postgres::Config, String> {
    tokio_postgres::Config::from_str(dsn).map_err(|e| {
        // "invalid connection string: unknown option `x`"; neither part quotes a value.
        match std::error::Error::source(&e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        }
    })
}

/// Why a DSN is not usable, if it is not. Never quotes the DSN: it might hold a password.
pub(super) fn check_dsn(dsn: &str) -> Result<tokio_postgres::Config, String> {
    let parsed = parse_dsn(dsn)
        .map_err(|e| format!("dsn is not a valid connection string ({e}) — write it like \"postgres://cn@127.0.0.1:5432/cn\""))?;
    if parsed.get_password().is_some() {
        return Err(
            "dsn carries a password — it would show on screen and in logs; remove it \
                    from the DSN and set password_env = \"NAME_OF_VARIABLE\" or passfile = \
                    \"/path/to/file\" (mode 0600) instead"
                .into(),
        );
    }
    for (key, own) in [
        ("sslmode", "sslmode = \"require\""),
        ("connect_timeout", "connect_timeout = \"3s\""),
    ] {
        if dsn_sets(dsn, key) {
            return Err(format!(
                "dsn sets {key} — set it with the key of [target.postgres] instead, e.g. {own}, \
                 and remove it from the DSN"
            ));
        }
    }
    if parsed.get_hosts().is_empty() && parsed.get_hostaddrs().is_empty() {
        return Err(
            "dsn names no host — write it like \"postgres://cn@127.0.0.1:5432/cn\" (or \
             host=/var/run/postgresql for the local socket)"
                .into(),
        );
    }
    Ok(parsed)
}

/// Whether a URL query or a `key=value` DSN sets `key`.
fn dsn_sets(dsn: &str, key: &str) -> bool {
    let lower = dsn.to_ascii_lowercase();
    lower.match_indices(key).any(|(at, _)| {
        let before = lower[..at].chars().next_back();
        let starts = matches!(before, None | Some('?' | '&' | ' ' | '\t' | '\n'));
        starts && lower[at + key.len()..].trim_start().starts_with('=')
    })
}

/// Reads a passfile: the whole file is the password (one trailing newline dropped). Refused if
/// group or others may read or write it, or if its owner may execute it.
pub fn read_passfile(path: &Path) -> Result<Secret, String> {
    use std::os::unix::fs::PermissionsExt;

    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("passfile {shown} cannot be read: {e} — check the path"))?;
    if !meta.is_file() {
        return Err(format!(
            "passfile {shown} is not a regular file — point it at a file holding only the password"
        ));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o177 != 0 {
        return Err(format!(
            "passfile {shown} has mode {mode:04o} — it must be readable by its owner only \
             (0600 or stricter): run chmod 600 {shown}"
        ));
    }
    let text = crate::safe_fs::read_regular_string(path, crate::safe_fs::MAX_CONFIG_FILE)
        .map_err(|e| format!("passfile {shown} cannot be read: {e} — check its owner and mode"))?;
    let password = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if password.is_empty() {
        return Err(format!(
            "passfile {shown} is empty — write the password as its only content"
        ));
    }
    if password.contains(['\n', '\r']) {
        return Err(format!(
            "passfile {shown} holds more than one line — it must contain only the password \
             (it is not libpq's .pgpass format)"
        ));
    }
    Ok(Secret::new(password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert_eq!(
            SqlIdent::new("outbox_events").map(|i| i.quoted()),
            Ok("\"outbox_events\"".into())
        );
        assert_eq!(
            SqlIdent::new("_a$1").map(|i| i.quoted()),
            Ok("\"_a$1\"".into())
        );
        assert_eq!(SqlIdent::new("").unwrap_err(), "it is empty");
        assert_eq!(SqlIdent::new("1a").unwrap_err(), "it starts with '1'");
        assert_eq!(SqlIdent::new("a b").unwrap_err(), "it contains ' '");
        assert_eq!(
            SqlIdent::new("x\"; DROP TABLE y; --").unwrap_err(),
            "it contains '\"'"
        );
        assert_eq!(SqlIdent::new("a.b").unwrap_err(), "it contains '.'");
        assert!(SqlIdent::new(&"a".repeat(63)).is_ok());
        assert!(SqlIdent::new(&"a".repeat(64))
            .unwrap_err()
            .contains("64 bytes"));
    }

    #[test]
    fn dsn_checks() {
        assert!(check_dsn("postgres://cn@127.0.0.1:5432/cn").is_ok());
        assert!(check_dsn("host=127.0.0.1 user=cn dbname=cn").is_ok());
        let e = check_dsn("postgres://cn:hunter2@127.0.0.1/cn").unwrap_err();
        assert!(
            e.contains("carries a password") && e.contains("password_env"),
            "{e}"
        );
        assert!(!e.contains("hunter2"));
        let e = check_dsn("host=h user=cn password=hunter2").unwrap_err();
        assert!(
            e.contains("carries a password") && !e.contains("hunter2"),
            "{e}"
        );
        let e = check_dsn("postgres://cn@h/cn?sslmode=require").unwrap_err();
        assert!(e.contains("dsn sets sslmode"), "{e}");
        let e = check_dsn("host=h connect_timeout = 5").unwrap_err();
        assert!(e.contains("dsn sets connect_timeout"), "{e}");
        assert!(check_dsn("postgres://cn@h/my_sslmode_db").is_ok());
        let e = check_dsn("postgres://cn@h/cn?bogus=1").unwrap_err();
        assert!(e.contains("unknown option `bogus`"), "{e}");
        let e = check_dsn("user=cn").unwrap_err();
        assert!(e.contains("names no host"), "{e}");
    }

    #[test]
    fn display_names_user_host_port_db() {
        let c = PostgresConfig::from_dsn("postgres://cn@10.0.0.5:6432/events").expect("dsn");
        assert_eq!(c.display(), "cn@10.0.0.5:6432/events");
        let c = PostgresConfig::from_dsn("host=db user=app").expect("dsn");
        assert_eq!(c.display(), "app@db:5432/app");
    }

    #[test]
    fn sslmode_names() {
        for m in SslMode::ALL {
            assert_eq!(m.as_str().parse::<SslMode>(), Ok(m));
        }
        assert!("verify-ca"
            .parse::<SslMode>()
            .unwrap_err()
            .contains("use verify-full"));
    }
}
