//! The community node's Postgres twin (`watchdeck demo --postgres DSN`): a database of its own
//! with the runbook's outbox schema, kept in step with the simulated consumers so the backlog
//! from SQL (`max(seq) - consumer_offsets.last_seq`) and from metrics agree, and a stalled
//! consumer climbs in both. The database is dropped when the fleet shuts down.

use std::io;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::config::Host;
use tokio_postgres::{Client, NoTls};

use super::server::Node;

/// How often the twin writes the consumers' positions.
const TICK: Duration = Duration::from_millis(200);

fn err(msg: String) -> io::Error {
    io::Error::other(msg)
}

/// A running twin.
pub(crate) struct PgTwin {
    /// The DSN of the twin's database, for the generated config (no password: there is none).
    pub(crate) dsn: String,
    pub(crate) task: JoinHandle<()>,
}

async fn connect(cfg: &tokio_postgres::Config) -> io::Result<Client> {
    let (client, conn) = tokio::time::timeout(Duration::from_secs(5), cfg.connect(NoTls))
        .await
        .map_err(|_| err("demo: the Postgres server did not answer within 5s".into()))?
        .map_err(|e| err(format!("demo: cannot connect to Postgres: {e}")))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Creates the twin's database and schema and starts keeping it in step with `nodes`.
pub(crate) async fn start(
    admin_dsn: &str,
    nodes: Vec<Arc<Node>>,
    stop: watch::Receiver<bool>,
) -> io::Result<PgTwin> {
    let admin = tokio_postgres::Config::from_str(admin_dsn).map_err(|e| {
        err(format!(
            "demo: --postgres {admin_dsn:?} is not a valid DSN: {e}"
        ))
    })?;
    if admin.get_password().is_some() {
        return Err(err(
            "demo: --postgres must not contain a password (generated configs never carry one); use a role with trust or peer auth on a local server".into(),
        ));
    }
    let host = match admin.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        _ => return Err(err(
            "demo: --postgres needs a TCP host, e.g. postgres://postgres@127.0.0.1:5432/postgres"
                .into(),
        )),
    };
    let port = admin.get_ports().first().copied().unwrap_or(5432);
    let user = admin.get_user().unwrap_or("postgres").to_owned();
    let db = format!(
        "watchdeck_demo_{}_{}",
        std::process::id(),
        crate::source::now_ms() % 1_000_000
    );
    let client = connect(&admin).await?;
    client
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .map_err(|e| err(format!("demo: cannot create database {db}: {e}")))?;
    let mut own = admin.clone();
    own.dbname(&db);
    let twin = connect(&own).await?;
    twin.batch_execute(
        "CREATE TABLE outbox_events (seq bigint PRIMARY KEY, topic text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
         CREATE TABLE consumer_offsets (consumer text PRIMARY KEY, last_seq bigint NOT NULL);",
    )
    .await
    .map_err(|e| err(format!("demo: cannot create the outbox schema: {e}")))?;
    let dsn = format!("postgres://{user}@{host}:{port}/{db}");
    let task = tokio::spawn(run(twin, client, db, nodes, stop));
    Ok(PgTwin { dsn, task })
}

async fn run(
    twin: Client,
    admin: Client,
    db: String,
    nodes: Vec<Arc<Node>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut max_seq: i64 = 0;
    let mut ticker = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => break,
        }
        let consumers: Vec<(&'static str, u64)> = nodes.iter().flat_map(|n| n.outbox()).collect();
        let deepest = consumers.iter().map(|c| c.1 as i64).max().unwrap_or(0);
        // The outbox grows steadily and always holds at least the deepest backlog.
        let next = (max_seq + 4).max(deepest);
        let write = async {
            twin.execute(
                "INSERT INTO outbox_events (seq, topic) SELECT g, 'demo' FROM generate_series($1::int8, $2::int8) g",
                &[&(max_seq + 1), &next],
            )
            .await?;
            for (name, backlog) in &consumers {
                twin.execute(
                    "INSERT INTO consumer_offsets (consumer, last_seq) VALUES ($1, $2)
                     ON CONFLICT (consumer) DO UPDATE SET last_seq = excluded.last_seq",
                    &[name, &(next - *backlog as i64)],
                )
                .await?;
            }
            Ok::<(), tokio_postgres::Error>(())
        };
        match write.await {
            Ok(()) => max_seq = next,
            Err(e) => tracing::warn!(error = %e, "demo postgres twin: write failed"),
        }
    }
    drop(twin);
    if let Err(e) = admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await
    {
        tracing::warn!(error = %e, database = %db, "demo postgres twin: cannot drop its database");
    }
}
