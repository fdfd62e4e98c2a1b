//! The Postgres source against the real server on this machine (127.0.0.1:5432, trust auth,
//! user postgres). Every test works in a database of its own (`wd_test_<pid>_<n>`) and roles of
//! its own, dropped by a guard even when the test fails, so tests run in parallel.
//!
//! The config tests at the end need no server.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use tokio::sync::mpsc;
use watchdeck::client::postgres::connect;
use watchdeck::config::{Config, PasswordSource, PostgresConfig};
use watchdeck::obs::postgres::{BacklogRow, PgError, PgMsg, PgObservation};
use watchdeck::source::postgres::{collect_once, spawn_rounds};

const SECRET: &str = "pw-SECRET-never-shown";

use crate::common::pgdb;
use pgdb::{client, TestDb};

fn env(name: &str) -> Option<String> {
    (name == "WD_TEST_PG_PASSWORD").then(|| SECRET.to_owned())
}

/// `[target.postgres]` with `body`, through the real config parser.
fn parse_pg(body: &str) -> Result<PostgresConfig, String> {
    let text = format!("[[target]]\nname = \"db\"\n[target.postgres]\n{body}\n");
    Config::parse(&text, None, &env)
        .map(|c| c.targets[0].postgres.clone().expect("postgres section"))
        .map_err(|e| e.to_string())
}

fn pg(body: &str) -> PostgresConfig {
    parse_pg(body).unwrap_or_else(|e| panic!("{e}"))
}

async fn observe(cfg: &PostgresConfig) -> PgObservation {
    let mut session = connect(cfg)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    collect_once(&mut session.client, cfg).await
}

const SEED: &str = "
CREATE TABLE outbox_events (seq bigint PRIMARY KEY, payload text NOT NULL);
INSERT INTO outbox_events SELECT g, 'e' || g FROM generate_series(1, 120) AS g;
CREATE TABLE consumer_offsets (consumer text PRIMARY KEY, last_seq bigint);
INSERT INTO consumer_offsets VALUES ('index', 120), ('moderation', 100), ('trust', 37),
  ('fresh', NULL);
";

fn rows(list: &[(&str, i64)]) -> Vec<BacklogRow> {
    list.iter()
        .map(|(c, b)| BacklogRow {
            consumer: (*c).to_owned(),
            backlog: *b,
        })
        .collect()
}

// ---------------------------------------------------------------- backlog

#[tokio::test]
async fn default_backlog_is_max_seq_minus_last_seq() {
    let db = TestDb::new("wd_test").await;
    let admin = db.admin().await;
    admin.batch_execute(SEED).await.expect("seed");
    let cfg = pg(&format!("dsn = \"{}\"\nsslmode = \"disable\"", db.dsn()));

    let obs = observe(&cfg).await;
    // max(seq) = 120: index is caught up, moderation 20 and trust 83 behind, and a consumer
    // without an offset is behind by every event.
    assert_eq!(
        obs.backlog,
        Ok(rows(&[
            ("fresh", 120),
            ("index", 0),
            ("moderation", 20),
            ("trust", 83)
        ]))
    );
    assert!(
        obs.errors().next().is_none(),
        "{:?}",
        obs.errors().collect::<Vec<_>>()
    );

    // New events raise every backlog; a consumer that advances lowers its own.
    admin
        .batch_execute(
            "INSERT INTO outbox_events SELECT g, 'x' FROM generate_series(121, 150) AS g;
             UPDATE consumer_offsets SET last_seq = 140 WHERE consumer = 'moderation';",
        )
        .await
        .expect("advance");
    let obs = observe(&cfg).await;
    assert_eq!(
        obs.backlog,
        Ok(rows(&[
            ("fresh", 150),
            ("index", 30),
            ("moderation", 10),
            ("trust", 113)
        ]))
    );

    // No events at all (all pruned): nothing to consume.
    admin
        .batch_execute("TRUNCATE outbox_events")
        .await
        .expect("truncate");
    let obs = observe(&cfg).await;
    assert_eq!(
        obs.backlog,
        Ok(rows(&[
            ("fresh", 0),
            ("index", 0),
            ("moderation", 0),
            ("trust", 0)
        ]))
    );
}

#[tokio::test]
async fn custom_table_names_are_quoted_and_used() {
    let db = TestDb::new("wd_test").await;
    db.admin()
        .await
        .batch_execute(
            "CREATE SCHEMA outbox;
             CREATE TABLE outbox.\"Events\" (event_seq bigint NOT NULL);
             INSERT INTO outbox.\"Events\" VALUES (5), (9), (42);
             CREATE TABLE outbox.progress (worker text NOT NULL, done_seq numeric NOT NULL);
             INSERT INTO outbox.progress VALUES ('relay', 42), ('search', 9), ('audit', 0);",
        )
        .await
        .expect("seed");
    let cfg = pg(&format!(
        "dsn = \"{}\"\nsslmode = \"disable\"\nschema = \"outbox\"\nevents_table = \"Events\"\n\
         seq_column = \"event_seq\"\noffsets_table = \"progress\"\n\
         consumer_column = \"worker\"\noffset_column = \"done_seq\"",
        db.dsn()
    ));
    let obs = observe(&cfg).await;
    assert_eq!(
        obs.backlog,
        Ok(rows(&[("audit", 42), ("relay", 0), ("search", 33)]))
    );
}

#[tokio::test]
async fn custom_backlog_query_returns_consumer_and_numeric_backlog() {
    let db = TestDb::new("wd_test").await;
    db.admin()
        .await
        .batch_execute(
            "CREATE TABLE queue (topic text NOT NULL, produced numeric NOT NULL, acked numeric NOT NULL);
             INSERT INTO queue VALUES ('mail', 1000, 250), ('sms', 7, 7);",
        )
        .await
        .expect("seed");
    let cfg = pg(&format!(
        "dsn = \"{}\"\nsslmode = \"disable\"\n\
         backlog_query = \"SELECT topic AS consumer, produced - acked AS backlog FROM queue; \"",
        db.dsn()
    ));
    let obs = observe(&cfg).await;
    assert_eq!(obs.backlog, Ok(rows(&[("mail", 750), ("sms", 0)])));

    // A query without the expected columns is named as the thing to fix.
    let wrong = pg(&format!(
        "dsn = \"{}\"\nsslmode = \"disable\"\nbacklog_query = \"SELECT topic FROM queue\"",
        db.dsn()
    ));
    let obs = observe(&wrong).await;
    let err = obs.backlog.expect_err("no such column");
    assert!(
        matches!(&err, PgError::MissingColumn { name, .. } if name == "backlog_query.consumer"),
        "{err:?}"
    );
    assert!(err.to_string().contains("check backlog_query"), "{err}");
}

#[tokio::test]
async fn backlog_runs_read_only() {
    let db = TestDb::new("wd_test").await;
    db.admin()
        .await
        .batch_execute("CREATE SEQUENCE wd_seq")
        .await
        .expect("seed");
    let cfg = pg(&format!(
        "dsn = \"{}\"\nsslmode = \"disable\"\n\
         backlog_query = \"SELECT 'a' AS consumer, nextval('wd_seq') AS backlog\"",
        db.dsn()
    ));
    let obs = observe(&cfg).await;
    let err = obs.backlog.expect_err("a write must fail");
    assert!(
        matches!(&err, PgError::BadResult { reason } if reason.contains("read-only")),
        "{err:?}"
    );
    let value: i64 = db
        .admin()
        .await
        .query_one("SELECT last_value FROM wd_seq", &[])
        .await
        .expect("read")
        .get(0);
    assert_eq!(value, 1, "the sequence was not advanced");
}

#[tokio::test]
async fn missing_table_is_named_and_hides_nothing_else() {
    let db = TestDb::new("wd_test").await;
    db.admin().await.batch_execute(SEED).await.expect("seed");
    let cfg = pg(&format!(
        "dsn = \"{}\"\nsslmode = \"disable\"\nevents_table = \"no_such_events\"",
        db.dsn()
    ));
    let obs = observe(&cfg).await;
    let err = obs.backlog.clone().expect_err("missing table");
    assert_eq!(
        err,
        PgError::MissingTable {
            name: "public.no_such_events".into(),
            hint: "check schema, events_table, seq_column, offsets_table, consumer_column and \
                   offset_column in [target.postgres], or set backlog_query"
                .into()
        }
    );
    assert!(
        err.to_string()
            .starts_with("table public.no_such_events does not exist — check schema, events_table"),
        "{err}"
    );
    // Every other part still answers.
    let connections = obs.connections.clone().expect("connections");
    assert!(
        connections.total >= 1 && connections.max > 0,
        "{connections:?}"
    );
    assert_eq!(
        obs.database.as_ref().map(|d| d.name.as_str()),
        Ok(db.name.as_str())
    );
    assert!(obs.database.as_ref().is_ok_and(|d| d.bytes > 0));
    assert!(obs.lock_waits.is_ok() && obs.tablespaces.is_ok() && obs.replication.is_ok());
    assert!(!obs.needs_reconnect());

    let column = pg(&format!(
        "dsn = \"{}\"\nsslmode = \"disable\"\nseq_column = \"sequence_no\"",
        db.dsn()
    ));
    let err = observe(&column).await.backlog.expect_err("missing column");
    assert!(
        matches!(&err, PgError::MissingColumn { name, .. } if name == "e.sequence_no"),
        "{err:?}"
    );
}

#[tokio::test]
async fn statement_timeout_is_reported_in_plain_words() {
    let db = TestDb::new("wd_test").await;
    let cfg = pg(&format!(
        "dsn = \"{}\"\nsslmode = \"disable\"\nstatement_timeout = \"1s\"\n\
         backlog_query = \"SELECT 'slow' AS consumer, 1 AS backlog FROM pg_sleep(5)\"",
        db.dsn()
    ));
    let mut session = connect(&cfg).await.expect("connect");
    let obs = collect_once(&mut session.client, &cfg).await;
    let err = obs.backlog.clone().expect_err("timeout");
    assert_eq!(
        err,
        PgError::StatementTimeout {
            what: "the backlog query".into(),
            after: Duration::from_secs(1)
        }
    );
    assert!(
        err.to_string()
            .starts_with("the backlog query timed out after 1s (statement_timeout)"),
        "{err}"
    );
    // The server cancelled the statement; the session is fine and the rest was read.
    assert!(!obs.needs_reconnect());
    assert!(obs.connections.is_ok() && obs.database.is_ok());
    let again = collect_once(&mut session.client, &cfg).await;
    assert!(again.session.is_ok(), "{:?}", again.session);
}

// ---------------------------------------------------------------- health

/// Polls until the server shows session `pid` waiting for a lock; panics 30 s after `sent`.
async fn wait_until_waiting(admin: &tokio_postgres::Client, pid: i32, sent: std::time::Instant) {
    let deadline = Duration::from_secs(30);
    loop {
        let waiting = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
                &[&pid],
            )
            .await
            .expect("poll")
            .get::<_, i64>(0);
        if waiting == 1 {
            return;
        }
        assert!(
            sent.elapsed() < deadline,
            "session B (pid {pid}) was not waiting for a lock {deadline:?} after its UPDATE"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn lock_wait_names_the_blocked_and_the_blocking_session() {
    let db = TestDb::new("wd_test").await;
    let admin = db.admin().await;
    admin
        .batch_execute(
            "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
             INSERT INTO accounts VALUES (1, 100);",
        )
        .await
        .expect("seed");
    let dsn = format!("host=127.0.0.1 port=5432 user=postgres dbname={}", db.name);

    // Session A takes the row lock and keeps its transaction open.
    let holder = client(&dsn).await;
    let holder_pid: i32 = holder
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0);
    holder.batch_execute("BEGIN").await.expect("begin");
    holder
        .batch_execute("UPDATE accounts SET balance = 90 WHERE id = 1")
        .await
        .expect("lock");

    // Session B blocks on the same row.
    let waiter = client(&dsn).await;
    let waiter_pid: i32 = waiter
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0);
    let sent = std::time::Instant::now();
    let blocked = tokio::spawn(async move {
        waiter
            .batch_execute("UPDATE accounts SET balance = 80 WHERE id = 1")
            .await
    });
    wait_until_waiting(&admin, waiter_pid, sent).await;
    // Let B wait a known while (on purpose): its wait is at least that long when observed.
    let known = Duration::from_millis(300);
    tokio::time::sleep(known).await;

    let cfg = pg(&format!("dsn = \"{}\"\nsslmode = \"disable\"", db.dsn()));
    let obs = observe(&cfg).await;
    let since_sent = sent.elapsed().as_secs_f64();
    let waits = obs.lock_waits.clone().expect("lock waits");
    assert_eq!(waits.len(), 1, "{waits:?}");
    let wait = &waits[0];
    assert_eq!(wait.pid, waiter_pid);
    assert_eq!(wait.lock, "transactionid");
    assert_eq!(wait.query, "UPDATE accounts SET balance = 80 WHERE id = 1");
    // How long B has waited: at least the known while, at most since its UPDATE was sent (a
    // little slack for the server's clock against ours).
    assert!(
        wait.waited_seconds >= known.as_secs_f64() - 0.02
            && wait.waited_seconds <= since_sent + 0.05,
        "waited {} s; B was seen waiting, then {known:?} passed; its UPDATE was sent {since_sent:.3} s before the observation ended",
        wait.waited_seconds
    );
    assert_eq!(wait.blockers.len(), 1, "{:?}", wait.blockers);
    let blocker = &wait.blockers[0];
    assert_eq!(blocker.pid, holder_pid);
    assert_eq!(blocker.state, "idle in transaction");
    assert_eq!(
        blocker.query,
        "UPDATE accounts SET balance = 90 WHERE id = 1"
    );
    // The holder's transaction began before B's wait did.
    assert!(
        blocker
            .transaction_seconds
            .is_some_and(|t| t > wait.waited_seconds),
        "{blocker:?} {wait:?}"
    );

    // The holder has the oldest transaction; the waiter runs the longest statement.
    let oldest = obs
        .oldest_transaction
        .expect("oldest")
        .expect("one is open");
    assert_eq!(oldest.pid, holder_pid);
    assert_eq!(oldest.state, "idle in transaction");
    let longest = obs.longest_query.expect("longest").expect("one runs");
    assert_eq!(longest.pid, waiter_pid);
    assert_eq!(longest.state, "active");
    let connections = obs.connections.expect("connections");
    assert!(
        connections
            .by_state
            .iter()
            .any(|(s, n)| s == "idle in transaction" && *n >= 1),
        "{connections:?}"
    );

    // Releasing the lock lets B finish, and the wait disappears.
    holder.batch_execute("ROLLBACK").await.expect("rollback");
    blocked.await.expect("join").expect("update");
    let obs = observe(&cfg).await;
    assert_eq!(obs.lock_waits, Ok(vec![]));
}

#[tokio::test]
async fn permission_denied_names_the_missing_grant() {
    let mut db = TestDb::new("wd_test").await;
    let admin = db.admin().await;
    admin.batch_execute(SEED).await.expect("seed");
    let role = db.role().await;
    let cfg = pg(&format!(
        "dsn = \"{}\"\nsslmode = \"disable\"",
        db.dsn_as(&role)
    ));

    let obs = observe(&cfg).await;
    let session = obs.session.clone().expect("session");
    assert_eq!(session.user, role);
    assert!(!session.sees_all_sessions);

    let err = obs.backlog.clone().expect_err("no SELECT");
    let PgError::PermissionDenied { what, grant } = &err else {
        panic!("{err:?}");
    };
    // Which table the server names first is its business; the grant covers both.
    assert!(
        what == "permission denied for table consumer_offsets"
            || what == "permission denied for table outbox_events",
        "{what}"
    );
    let both = format!("GRANT SELECT ON public.outbox_events, public.consumer_offsets TO {role}");
    assert_eq!(grant, &both);
    assert_eq!(err.to_string(), format!("{what} — the role needs: {both}"));

    let monitor = format!("GRANT pg_monitor TO {role}");
    for (part, result) in [
        ("lock waits", obs.lock_waits.as_ref().err()),
        ("longest query", obs.longest_query.as_ref().err()),
        ("oldest transaction", obs.oldest_transaction.as_ref().err()),
        ("tablespaces", obs.tablespaces.as_ref().err()),
    ] {
        match result {
            Some(PgError::PermissionDenied { grant, .. }) => assert_eq!(grant, &monitor, "{part}"),
            other => panic!("{part}: {other:?}"),
        }
    }
    // What needs no grant still works, and the hidden sessions are counted as such.
    let connections = obs.connections.clone().expect("connections");
    assert!(connections.total >= 1, "{connections:?}");
    assert!(obs.database.is_ok() && obs.replication.is_ok());

    // With the grants the same role sees everything.
    admin
        .batch_execute(&format!(
            "GRANT pg_monitor TO {role}; GRANT SELECT ON outbox_events, consumer_offsets TO {role}"
        ))
        .await
        .expect("grant");
    let obs = observe(&cfg).await;
    assert!(
        obs.errors().next().is_none(),
        "{:?}",
        obs.errors().collect::<Vec<_>>()
    );
    assert_eq!(obs.backlog.map(|b| b.len()), Ok(4));
    assert_eq!(obs.connections.map(|c| c.hidden), Ok(0));
}

#[tokio::test]
async fn replication_and_sizes_on_a_primary() {
    let db = TestDb::new("wd_test").await;
    let cfg = pg(&format!("dsn = \"{}\"\nsslmode = \"disable\"", db.dsn()));
    let obs = observe(&cfg).await;
    let replication = obs.replication.expect("replication");
    assert!(!replication.in_recovery);
    assert_eq!(replication.lag_seconds, None);
    let spaces = obs.tablespaces.expect("tablespaces");
    assert!(
        spaces.iter().any(|t| t.name == "pg_default" && t.bytes > 0),
        "{spaces:?}"
    );
    let session = obs.session.expect("session");
    assert_eq!(session.database, db.name);
    assert!(session.server_version_num >= 100_000);
    assert!(!session.tls);
}

// ---------------------------------------------------------------- connecting

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[tokio::test]
async fn unreachable_server_is_a_plain_error() {
    let port = closed_port();
    let cfg = pg(&format!(
        "dsn = \"postgres://postgres@127.0.0.1:{port}/x\"\nsslmode = \"disable\"\n\
         password_env = \"WD_TEST_PG_PASSWORD\""
    ));
    let Err(err) = connect(&cfg).await else {
        panic!("connected to a closed port");
    };
    assert_eq!(
        err,
        PgError::Unreachable {
            addr: format!("postgres@127.0.0.1:{port}/x"),
            reason: "connection refused".into()
        }
    );
    let text = err.to_string();
    assert_eq!(
        text,
        format!(
            "server unreachable at postgres@127.0.0.1:{port}/x: connection refused — check that \
             PostgreSQL is running and listening there"
        )
    );
    assert!(!text.contains(SECRET) && !format!("{err:?}").contains(SECRET));

    // The collector reports it, with the first backoff step, and carries on.
    let (tx, mut rx) = mpsc::channel(4);
    let task = spawn_rounds(3, &cfg, Duration::from_millis(10), Some(1), tx);
    let msg = rx.recv().await.expect("a message");
    task.await.expect("task ends after its round");
    let PgMsg::Unavailable {
        target,
        error,
        attempt,
        retry_in,
        ..
    } = msg
    else {
        panic!("{msg:?}");
    };
    assert_eq!((target, attempt), (3, 1));
    assert!(matches!(error, PgError::Unreachable { .. }));
    assert!(
        (Duration::from_millis(800)..=Duration::from_millis(1200)).contains(&retry_in),
        "{retry_in:?}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // Accepts the TCP connection, then says nothing: only watchdeck's own deadline ends it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mute = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let cfg = pg(&format!(
        "dsn = \"postgres://postgres@127.0.0.1:{port}/x\"\nsslmode = \"disable\"\n\
         connect_timeout = \"1s\""
    ));
    let Err(err) = connect(&cfg).await else {
        panic!("connected to a mute server");
    };
    assert_eq!(
        err.to_string(),
        format!(
            "connecting to postgres@127.0.0.1:{port}/x timed out after 1s — the server or the \
             network is not answering"
        )
    );
    mute.abort();
}

#[tokio::test]
async fn unknown_role_and_database_are_named() {
    let db = TestDb::new("wd_test").await;
    let cfg = pg(&format!(
        "dsn = \"{}\"\nsslmode = \"disable\"",
        db.dsn_as("wd_nobody_at_all")
    ));
    let Err(err) = connect(&cfg).await else {
        panic!("connected as a missing role");
    };
    assert!(
        matches!(&err, PgError::AuthFailed { reason, .. } if reason.contains("wd_nobody_at_all")),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("authentication failed: "),
        "{err}"
    );

    let cfg =
        pg("dsn = \"postgres://postgres@127.0.0.1:5432/wd_no_such_db\"\nsslmode = \"disable\"");
    let Err(err) = connect(&cfg).await else {
        panic!("connected to a missing database");
    };
    assert_eq!(
        err,
        PgError::NoDatabase {
            name: "wd_no_such_db".into()
        }
    );
}

#[tokio::test]
async fn tls_modes() {
    let db = TestDb::new("wd_test").await;
    let ssl_on = db
        .admin()
        .await
        .query_one("SHOW ssl", &[])
        .await
        .expect("show ssl")
        .get::<_, String>(0)
        == "on";
    let require = pg(&format!("dsn = \"{}\"\nsslmode = \"require\"", db.dsn()));
    let verify = pg(&format!(
        "dsn = \"{}\"\nsslmode = \"verify-full\"",
        db.dsn()
    ));
    if ssl_on {
        let obs = observe(&require).await;
        assert_eq!(obs.session.map(|s| s.tls), Ok(true));
        // The server's certificate is self-signed, or names another host than 127.0.0.1
        // (Debian's snake-oil certificate names localhost): verify-full refuses it either way.
        let Err(err) = connect(&verify).await else {
            panic!("verify-full accepted a certificate it cannot verify");
        };
        assert!(
            matches!(&err, PgError::Tls { reason, .. } if reason.contains("invalid peer certificate")),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("TLS failed: "), "{err}");
    } else {
        let Err(err) = connect(&require).await else {
            panic!("require connected without TLS");
        };
        assert!(
            err.to_string().contains("server does not support TLS"),
            "{err}"
        );
    }
    let prefer = pg(&format!("dsn = \"{}\"", db.dsn()));
    let obs = observe(&prefer).await;
    assert_eq!(obs.session.map(|s| s.tls), Ok(ssl_on));
}

#[tokio::test]
async fn collector_reconnects_after_the_server_drops_it() {
    let db = TestDb::new("wd_test").await;
    db.admin().await.batch_execute(SEED).await.expect("seed");
    let cfg = pg(&format!("dsn = \"{}\"\nsslmode = \"disable\"", db.dsn()));
    let (tx, mut rx) = mpsc::channel(8);
    let task = spawn_rounds(0, &cfg, Duration::from_millis(50), None, tx);

    let first_pid = match rx.recv().await.expect("message") {
        PgMsg::Observed { obs, .. } => obs.session.expect("session").pid,
        other @ PgMsg::Unavailable { .. } => panic!("{other:?}"),
    };
    let admin = db.admin().await;
    admin
        .query_one("SELECT pg_terminate_backend($1)", &[&first_pid])
        .await
        .expect("terminate");
    // Rounds go on; a later one comes from a new session with every part answering.
    let within = Duration::from_secs(30);
    tokio::time::timeout(within, async {
        loop {
            match rx.recv().await.expect("message") {
                PgMsg::Observed { obs, .. } => {
                    if let Ok(s) = &obs.session {
                        if s.pid != first_pid {
                            assert_eq!(obs.backlog.map(|b| b.len()), Ok(4));
                            break;
                        }
                    }
                }
                PgMsg::Unavailable { error, .. } => panic!("server is up: {error}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!("no round from a new session within {within:?} of pg_terminate_backend")
    });
    task.abort();
}

// ---------------------------------------------------------------- config

#[test]
fn a_password_in_the_dsn_is_refused_without_showing_it() {
    let err = parse_pg("dsn = \"postgres://cn:hunter2@127.0.0.1:5432/cn\"").expect_err("refused");
    assert!(
        err.starts_with("<config>:4:7: target \"db\": [target.postgres] dsn carries a password"),
        "{err}"
    );
    assert!(
        err.contains("password_env") && err.contains("passfile"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn password_from_the_environment_never_prints() {
    let cfg = pg("dsn = \"postgres://cn@127.0.0.1/cn\"\npassword_env = \"WD_TEST_PG_PASSWORD\"");
    assert_eq!(
        cfg.password().map(|p| p.map(|s| s.expose().to_owned())),
        Ok(Some(SECRET.to_owned()))
    );
    assert!(
        matches!(&cfg.password, PasswordSource::Env { var, .. } if var == "WD_TEST_PG_PASSWORD")
    );
    assert!(!format!("{cfg:?}").contains(SECRET));

    let err = parse_pg("dsn = \"postgres://cn@127.0.0.1/cn\"\npassword_env = \"WD_UNSET_VAR\"")
        .expect_err("unset");
    assert!(
        err.contains("password_env names WD_UNSET_VAR, which is not set")
            && err.contains("export WD_UNSET_VAR"),
        "{err}"
    );
}

#[test]
fn passfile_must_be_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let passfile = dir.path().join("pg.pass");
    std::fs::write(&passfile, format!("{SECRET}\n")).expect("write");
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[[target]]\nname = \"db\"\n[target.postgres]\ndsn = \"postgres://cn@127.0.0.1/cn\"\n\
         passfile = \"pg.pass\"\n",
    )
    .expect("write");

    let err = Config::load(&config).expect_err("0644 refused").to_string();
    let shown = passfile.display();
    assert!(
        err.ends_with(&format!(
            ":5:12: target \"db\": [target.postgres] passfile {shown} has mode 0644 — it must be \
             readable by its owner only (0600 or stricter): run chmod 600 {shown}"
        )),
        "{err}"
    );
    assert!(!err.contains(SECRET));

    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let loaded = Config::load(&config).unwrap_or_else(|e| panic!("{e}"));
    let cfg = loaded.targets[0].postgres.clone().expect("postgres");
    assert_eq!(cfg.password, PasswordSource::File(passfile.clone()));
    assert_eq!(
        cfg.password().map(|p| p.map(|s| s.expose().to_owned())),
        Ok(Some(SECRET.to_owned()))
    );
    assert!(!format!("{loaded:?}").contains(SECRET));

    // Loosened after loading: the next connect refuses it, in plain words.
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let err = cfg.password().expect_err("0640 refused");
    assert!(err.contains("has mode 0640"), "{err}");
}

#[tokio::test]
async fn a_refused_passfile_stops_the_connect_without_showing_the_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let passfile = dir.path().join("pg.pass");
    std::fs::write(&passfile, SECRET).expect("write");
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let cfg = pg(&format!(
        "dsn = \"postgres://postgres@127.0.0.1:{}/x\"\nsslmode = \"disable\"\npassfile = \"{}\"",
        closed_port(),
        passfile.display()
    ));
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let Err(err) = connect(&cfg).await else {
        panic!("connected");
    };
    assert!(matches!(err, PgError::Password { .. }), "{err:?}");
    assert!(err.to_string().contains("chmod 600"), "{err}");
    assert!(!err.to_string().contains(SECRET) && !format!("{err:?}").contains(SECRET));
}

#[test]
fn postgres_settings_are_checked_with_their_lines() {
    let err = parse_pg(
        "dsn = \"postgres://cn@h/cn?sslmode=require\"\n\
         sslmode = \"verify-ca\"\n\
         statement_timeout = \"10s\"\n\
         connect_timeout = \"0s\"\n\
         events_table = \"outbox events\"\n\
         ca_file = \"/etc/ca.pem\"\n\
         zzz = 1",
    )
    .expect_err("invalid");
    // Unknown keys are reported first, alone (as for every table).
    assert!(
        err.contains("unknown key `zzz` in [target.postgres]"),
        "{err}"
    );

    let err = parse_pg(
        "dsn = \"postgres://cn@h/cn?sslmode=require\"\n\
         sslmode = \"verify-ca\"\n\
         statement_timeout = \"10s\"\n\
         connect_timeout = \"0s\"\n\
         events_table = \"outbox events\"\n\
         ca_file = \"/etc/ca.pem\"\n\
         backlog_query = \"SELECT 1\"\n\
         password_env = \"A\"\n\
         passfile = \"/p\"",
    )
    .expect_err("invalid");
    let lines: Vec<&str> = err.lines().collect();
    let expect = [
        "<config>:4:7: target \"db\": [target.postgres] dsn sets sslmode",
        "<config>:5:11: target \"db\": [target.postgres] sslmode \"verify-ca\" is not one of",
        "<config>:6:21: target \"db\": [target.postgres] statement_timeout 10s is longer than the target's interval 5s",
        "<config>:7:19: target \"db\": [target.postgres] connect_timeout \"0s\" must be greater than 0",
        "<config>:8:16: target \"db\": [target.postgres] events_table is set together with backlog_query",
        "<config>:9:11: target \"db\": [target.postgres] ca_file is only used with sslmode = \"verify-full\"",
        "<config>:12:12: target \"db\": [target.postgres] password_env and passfile are both set",
    ];
    assert_eq!(lines.len(), expect.len(), "{err}");
    for (line, want) in lines.iter().zip(expect) {
        assert!(line.starts_with(want), "{line}\n  wanted: {want}");
    }

    let err =
        parse_pg("dsn = \"postgres://cn@h/cn\"\noffset_column = \"last seq\"").expect_err("bad");
    assert!(
        err.contains("offset_column \"last seq\" is not a plain SQL identifier: it contains ' '"),
        "{err}"
    );

    // A target may watch only its database.
    let cfg = pg("dsn = \"postgres://cn@127.0.0.1:5432/cn\"");
    assert_eq!(cfg.statement_timeout, Duration::from_secs(2));
    assert_eq!(cfg.connect_timeout, Duration::from_secs(3));
    assert_eq!(cfg.display(), "cn@127.0.0.1:5432/cn");
}

#[test]
fn the_templates_postgres_section_parses() {
    let template = watchdeck::config::template();
    let body: Vec<&str> = template
        .lines()
        .skip_while(|l| *l != "# [target.postgres]")
        .skip(1)
        .map_while(|l| l.strip_prefix("# ").filter(|kv| kv.contains(" = ")))
        .collect();
    assert_eq!(body.len(), 11, "{body:?}");
    let text = format!(
        "[[target]]\nname = \"db\"\ninterval = \"2s\"\n[target.postgres]\n{}\n",
        body.join("\n")
    );
    let env = |name: &str| (name == "CN_PG_PASSWORD").then(|| SECRET.to_owned());
    let config = Config::parse(&text, None, &env).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let cfg = config.targets[0].postgres.clone().expect("postgres");
    assert_eq!(
        watchdeck::source::postgres::sql::backlog_sql(&cfg.backlog),
        watchdeck::source::postgres::sql::DEFAULT_BACKLOG_SQL
    );
}
