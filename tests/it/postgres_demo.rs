//! The demo's Postgres twin against the real server on this machine: backlog from SQL and from
//! metrics agree, a stalled consumer climbs in both, and the twin's database is dropped after.

use std::time::Duration;

use watchdeck::config::Config;
use watchdeck::demo::{Fleet, Scenario};
use watchdeck::derive::Direction;
use watchdeck::front::snapshot::{self, Options, OutputFormat};

const ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Whether the database `name` exists on the server.
async fn database_exists(name: &str) -> bool {
    let (client, conn) = tokio_postgres::connect(ADMIN, tokio_postgres::NoTls)
        .await
        .expect("the test server at 127.0.0.1:5432 answers (scripts/test starts it)");
    tokio::spawn(conn);
    client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .expect("look up the database")
        .is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stalled_consumer_climbs_in_sql_and_in_metrics_alike() {
    let fleet = Fleet::start_with(Scenario::BacklogStall, None, Some(ADMIN))
        .await
        .expect("demo fleet with its Postgres twin");
    // The twin's own database (other tests of this process run twins of their own).
    let dsn = fleet.postgres_dsn().expect("the twin's DSN").to_owned();
    let name = dsn.rsplit('/').next().expect("a database name").to_owned();
    assert!(
        name.starts_with(&format!("watchdeck_demo_{}_", std::process::id())),
        "{dsn}"
    );
    assert!(
        database_exists(&name).await,
        "the twin made its own database"
    );
    // A 2 s interval: at 700 ms, rounds delayed by a busy machine scattered the six points
    // enough for the climb's trend to read as flat.
    let text = fleet.config_toml(Duration::from_secs(2));
    assert!(text.contains("[target.postgres]"), "{text}");
    let config = Config::parse(&text, None, &fleet.env()).expect("config");
    // Six rounds: a direction needs evidence beyond a few points (derive::trend).
    let opts = Options {
        rounds: 6,
        format: OutputFormat::Text,
        window_ms: 60_000,
    };
    let s = snapshot::run(&config, &opts, |_| {}).await.expect("rounds");
    let index = s
        .targets
        .iter()
        .find(|t| t.name == "cn-index")
        .expect("cn-index");
    let db = index.db.as_ref().expect("database panel");
    assert_eq!(db.error, None);
    assert!(
        db.connections.as_ref().is_some_and(|c| c.0 >= 1 && c.1 > 0),
        "{db:?}"
    );
    assert!(db.size_bytes.is_some_and(|b| b > 0.0));
    let sql = index
        .backlog
        .iter()
        .find(|b| b.source == "db" && b.labels == "index-v1")
        .expect("index-v1 from SQL");
    let trend = sql.trend.expect("trend over six rounds");
    assert_eq!(trend.direction, Direction::Filling, "{sql:?}");
    assert!(trend.slope_per_s > 5.0, "{sql:?}");
    let metric = sql
        .metric_value
        .expect("the metric of the same consumer is found");
    assert!(
        !sql.warn,
        "SQL {} and metric {metric} agree within tolerance",
        sql.value
    );
    for consumer in ["moderation-v1", "trust-v1", "notify-v1"] {
        assert!(
            index
                .backlog
                .iter()
                .any(|b| b.source == "db" && b.labels == consumer),
            "{consumer} from SQL"
        );
    }
    let text = snapshot::render_text(&s);
    assert!(text.contains("index-v1 [db]"), "{text}");
    assert!(text.contains("DATABASE cn-index"), "{text}");
    fleet.shutdown().await;
    assert!(
        !database_exists(&name).await,
        "the twin dropped its database"
    );
}
