//! The community node's Postgres twin (`watchdeck demo --postgres DSN`): a database of its own
//! with the runbook's outbox schema, kept in step with the simulated consumers so the backlog
//! from SQL (`max(seq) - consumer_offsets.last_seq`) and from metrics agree, and a stalled
//! consumer climbs in both. The database is dropped when the fleet shuts down.
//!
//! It also holds the relay's topics in `cn_relay.topics (topic_id, suspended, updated_at)`.
//! The table is the source of truth while the twin runs: every tick the relay takes the
//! suspended flags from it (so an operator's `UPDATE … WHERE topic_id = $1` takes effect), and
//! the relay's admin routes write the table before they change the relay.

use std::io;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::config::Host;
use tokio_postgres::{Client, NoTls};

use super::server::Node;
use super::topics::TopicState;

/// Keeps the databases of fleets started in the same millisecond apart (tests start several
/// at once).
static DB_SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// How often the twin writes the consumers' positions.
const TICK: Duration = Duration::from_millis(200);

fn err(msg: String) -> io::Error {
    io::Error::other(msg)
}

/// The twin's `cn_relay.topics` table, shared by the twin's tick and the relay's admin routes.
/// One lock over the session orders table writes and relay updates, so a tick that read the
/// table just before an admin write cannot undo that write on the relay.
pub(crate) struct TopicDb {
    client: tokio::sync::Mutex<Client>,
}

impl TopicDb {
    /// Writes the flag to the table, then to the relay. `Ok(None)`: no such topic.
    pub(crate) async fn set(
        &self,
        node: &Node,
        id: &str,
        suspended: bool,
    ) -> Result<Option<TopicState>, tokio_postgres::Error> {
        let client = self.client.lock().await;
        let rows = client
            .execute(
                "UPDATE cn_relay.topics SET suspended = $2, updated_at = now() WHERE topic_id = $1",
                &[&id, &suspended],
            )
            .await?;
        Ok(if rows == 0 {
            None
        } else {
            node.set_topic(id, suspended)
        })
    }

    /// Applies the table's flags to the relay.
    async fn sync(&self, node: &Node) -> Result<(), tokio_postgres::Error> {
        let client = self.client.lock().await;
        let rows = client
            .query("SELECT topic_id, suspended FROM cn_relay.topics", &[])
            .await?;
        let current = node.topics();
        for row in rows {
            let (id, suspended): (String, bool) = (row.get(0), row.get(1));
            if current
                .iter()
                .any(|t| t.id == id && t.suspended != suspended)
            {
                node.set_topic(&id, suspended);
            }
        }
        Ok(())
    }
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

/// `CREATE DATABASE`, retried while another session copies the template at the same time
/// (PostgreSQL refuses concurrent copies of template1 with SQLSTATE 55006).
async fn create_database(client: &Client, db: &str) -> io::Result<()> {
    let mut attempt = 0;
    loop {
        match client.batch_execute(&format!("CREATE DATABASE {db}")).await {
            Ok(()) => return Ok(()),
            Err(e)
                if attempt < 20
                    && e.code() == Some(&tokio_postgres::error::SqlState::OBJECT_IN_USE) =>
            {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => {
                let why = e
                    .as_db_error()
                    .map_or_else(|| e.to_string(), |d| d.message().to_owned());
                return Err(err(format!("demo: cannot create database {db}: {why}")));
            }
        }
    }
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
        "watchdeck_demo_{}_{}_{}",
        std::process::id(),
        crate::obs::now_ms() % 1_000_000,
        DB_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let client = connect(&admin).await?;
    create_database(&client, &db).await?;
    let mut own = admin.clone();
    own.dbname(&db);
    let twin = connect(&own).await?;
    twin.batch_execute(
        "CREATE TABLE outbox_events (seq bigint PRIMARY KEY, topic text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
         CREATE TABLE consumer_offsets (consumer text PRIMARY KEY, last_seq bigint NOT NULL);",
    )
    .await
    .map_err(|e| err(format!("demo: cannot create the outbox schema: {e}")))?;
    let relay = nodes.iter().find(|n| n.has_topics()).cloned();
    let topics = match &relay {
        Some(relay) => Some(topic_table(&own, relay).await?),
        None => None,
    };
    let dsn = format!("postgres://{user}@{host}:{port}/{db}");
    let task = tokio::spawn(run(twin, client, db, nodes, relay.zip(topics), stop));
    Ok(PgTwin { dsn, task })
}

/// Creates and seeds `cn_relay.topics` on a session of its own and attaches it to the relay.
async fn topic_table(own: &tokio_postgres::Config, relay: &Node) -> io::Result<Arc<TopicDb>> {
    let client = connect(own).await?;
    let create = async {
        client
            .batch_execute(
                "CREATE SCHEMA cn_relay;
                 CREATE TABLE cn_relay.topics (
                     topic_id text PRIMARY KEY,
                     suspended boolean NOT NULL DEFAULT false,
                     updated_at timestamptz NOT NULL DEFAULT now());",
            )
            .await?;
        for t in relay.topics() {
            client
                .execute(
                    "INSERT INTO cn_relay.topics (topic_id, suspended) VALUES ($1, $2)",
                    &[&t.id, &t.suspended],
                )
                .await?;
        }
        Ok::<(), tokio_postgres::Error>(())
    };
    create
        .await
        .map_err(|e| err(format!("demo: cannot create the topics table: {e}")))?;
    let db = Arc::new(TopicDb {
        client: tokio::sync::Mutex::new(client),
    });
    relay.attach_topic_db(Arc::clone(&db));
    Ok(db)
}

async fn run(
    twin: Client,
    admin: Client,
    db: String,
    nodes: Vec<Arc<Node>>,
    topics: Option<(Arc<Node>, Arc<TopicDb>)>,
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
        if let Some((relay, table)) = &topics {
            if let Err(e) = table.sync(relay).await {
                tracing::warn!(error = %e, "demo postgres twin: cannot read the topics table");
            }
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
