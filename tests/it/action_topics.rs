//! Topic suspension end to end: the demo fleet's relay with its Postgres twin (the real server
//! at 127.0.0.1:5432, a database of its own per fleet), driven over its HTTP admin API and over
//! SQL. A suspended topic's ingest counter stands still while the others keep counting; a
//! resumed one counts again; bad tokens, unknown topics and hostile ids fail plainly.

use std::time::Duration;

use watchdeck::actions::topic::{
    self, check_statements, list_sql, TopicDriver, TopicError, TopicReport,
};
use watchdeck::actions::{ActionKind, Ctx};
use watchdeck::config::{PostgresConfig, Secret};
use watchdeck::demo::{Fleet, Scenario};

const ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const METRIC: &str = "ingest_topic_received_total";
/// Long enough for every topic used here to count several events (the slowest runs ~4/s).
const WINDOW: Duration = Duration::from_secs(2);

const CORPUS: [&str; 7] = [
    "--help",
    "-f/etc/passwd",
    "x;touch /tmp/pwned",
    "$(id)",
    "'); drop table t;--",
    "../",
    "a\nb",
];
/// The ones `validate_topic` refuses; the rest must reach the twin literally.
const REFUSED: [&str; 4] = ["--help", "-f/etc/passwd", "../", "a\nb"];

async fn fleet() -> Fleet {
    Fleet::start_with(Scenario::Calm, None, Some(ADMIN))
        .await
        .expect("demo fleet with its Postgres twin (the server at 127.0.0.1:5432 answers)")
}

fn relay_metrics(fleet: &Fleet) -> String {
    fleet
        .targets
        .iter()
        .find(|t| t.name == "cn-relay")
        .expect("cn-relay")
        .metrics_url
        .clone()
}

/// The topic's ingest counter as the relay exposes it now.
async fn counter(http: &reqwest::Client, fleet: &Fleet, topic: &str) -> i64 {
    let body = http
        .get(relay_metrics(fleet))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("body");
    let prefix = format!("{METRIC}{{topic=\"{topic}\"}} ");
    body.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in\n{body}"))
        .parse::<f64>()
        .expect("a number") as i64
}

/// How much the counter grows over [`WINDOW`].
async fn growth(http: &reqwest::Client, fleet: &Fleet, topic: &str) -> i64 {
    let before = counter(http, fleet, topic).await;
    tokio::time::sleep(WINDOW).await;
    counter(http, fleet, topic).await - before
}

fn http_driver(fleet: &Fleet, token: &str) -> TopicDriver {
    let admin = fleet.topic_admin_url().expect("relay admin url");
    TopicDriver::Http {
        suspend_url: format!("{admin}/{{topic}}/suspend"),
        resume_url: format!("{admin}/{{topic}}/resume"),
        state_url: Some(format!("{admin}/{{topic}}")),
        method: reqwest::Method::POST,
        headers: vec![(
            "Authorization".into(),
            Secret::new(format!("Bearer {token}")),
        )],
        expect_status: 200,
        timeout: Duration::from_secs(5),
    }
}

fn pg(fleet: &Fleet) -> PostgresConfig {
    PostgresConfig::from_dsn(fleet.postgres_dsn().expect("twin dsn")).expect("dsn")
}

fn sql_driver(fleet: &Fleet) -> TopicDriver {
    TopicDriver::Sql {
        postgres: pg(fleet),
        suspend_sql:
            "UPDATE cn_relay.topics SET suspended = true, updated_at = now() WHERE topic_id = $1"
                .into(),
        resume_sql:
            "UPDATE cn_relay.topics SET suspended = false, updated_at = now() WHERE topic_id = $1"
                .into(),
        state_sql: Some(
            "SELECT CASE WHEN suspended THEN 'suspended' ELSE 'active' END \
             FROM cn_relay.topics WHERE topic_id = $1"
                .into(),
        ),
    }
}

async fn act(
    driver: &TopicDriver,
    kind: ActionKind,
    topic: &str,
) -> Result<TopicReport, TopicError> {
    let plan = topic::plan(driver, kind, topic)?;
    let (ctx, _rx) = Ctx::detached(Duration::from_secs(30));
    topic::run(driver, &plan, &ctx).await
}

/// A session on the twin's database for checks.
async fn twin_sql(fleet: &Fleet) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(
        fleet.postgres_dsn().expect("twin dsn"),
        tokio_postgres::NoTls,
    )
    .await
    .expect("connect to the twin");
    tokio::spawn(conn);
    client
}

/// Waits until the relay itself reports the topic in the wanted state (the twin applies the
/// table every 200 ms).
async fn relay_reports(http: &reqwest::Client, fleet: &Fleet, topic: &str, suspended: bool) {
    let url = format!(
        "{}/{}",
        fleet.topic_admin_url().expect("admin"),
        topic::encode_topic(topic)
    );
    for _ in 0..50 {
        let body = http
            .get(&url)
            .bearer_auth(fleet.admin_token())
            .send()
            .await
            .expect("GET topic")
            .text()
            .await
            .expect("body");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        if v["suspended"].as_bool() == Some(suspended) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the relay never reported {topic} suspended={suspended}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_and_resume_over_http() {
    let fleet = fleet().await;
    let http = reqwest::Client::new();
    let driver = http_driver(&fleet, fleet.admin_token());
    let spam = "kukuri:topic:spam-wave";
    assert!(growth(&http, &fleet, spam).await > 0, "counts before");

    let report = act(&driver, ActionKind::Suspend, spam)
        .await
        .expect("suspend");
    assert_eq!(report.outcome, "HTTP 200 OK");
    assert_eq!(report.state_after, "suspended");
    assert_eq!(report.confirmed, Some(true));
    assert_eq!(
        growth(&http, &fleet, spam).await,
        0,
        "suspended counts nothing"
    );
    assert!(
        growth(&http, &fleet, "kukuri:tauri:public").await > 0,
        "the other topics keep counting"
    );
    let db = twin_sql(&fleet).await;
    let row = db
        .query_one(
            "SELECT suspended FROM cn_relay.topics WHERE topic_id = $1",
            &[&spam],
        )
        .await
        .expect("row");
    assert!(
        row.get::<_, bool>(0),
        "the HTTP suspension reached the table"
    );

    let report = act(&driver, ActionKind::Resume, spam)
        .await
        .expect("resume");
    assert_eq!(report.state_after, "active");
    assert_eq!(report.confirmed, Some(true));
    assert!(growth(&http, &fleet, spam).await > 0, "counts again");

    // An id with `&`, `/`, a space and `#` reaches the relay intact, percent-encoded.
    let odd = "kukuri:topic:q&a/help #1";
    let report = act(&driver, ActionKind::Suspend, odd)
        .await
        .expect("suspend odd id");
    assert_eq!(report.state_after, "suspended");
    assert_eq!(growth(&http, &fleet, odd).await, 0);
    act(&driver, ActionKind::Resume, odd)
        .await
        .expect("resume odd id");
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_and_resume_over_sql() {
    let fleet = fleet().await;
    let http = reqwest::Client::new();
    let driver = sql_driver(&fleet);
    check_statements(&driver).await.expect("statements prepare");
    let rust = "kukuri:topic:rust";

    let report = act(&driver, ActionKind::Suspend, rust)
        .await
        .expect("suspend");
    assert_eq!(report.outcome, "1 row updated");
    assert_eq!(report.state_after, "suspended");
    assert_eq!(report.confirmed, Some(true));
    relay_reports(&http, &fleet, rust, true).await;
    assert_eq!(
        growth(&http, &fleet, rust).await,
        0,
        "suspended counts nothing"
    );

    let listed = list_sql(
        &pg(&fleet),
        "SELECT topic_id, suspended FROM cn_relay.topics ORDER BY topic_id",
    )
    .await
    .expect("listing");
    assert_eq!(listed.len(), 4, "{listed:?}");
    let state = |id: &str| {
        listed
            .iter()
            .find(|l| l.id == id)
            .and_then(|l| l.state.clone())
    };
    assert_eq!(state(rust).as_deref(), Some("suspended"));
    assert_eq!(state("kukuri:tauri:public").as_deref(), Some("active"));

    let report = act(&driver, ActionKind::Resume, rust)
        .await
        .expect("resume");
    assert_eq!(report.state_after, "active");
    relay_reports(&http, &fleet, rust, false).await;
    assert!(growth(&http, &fleet, rust).await > 0, "counts again");

    let e = act(&driver, ActionKind::Suspend, "kukuri:topic:nope")
        .await
        .expect_err("unknown topic");
    assert!(matches!(e, TopicError::NoTopic { .. }), "{e}");
    assert!(
        e.to_string().contains("no topic \"kukuri:topic:nope\""),
        "{e}"
    );
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_and_unknown_topic_are_plain_errors() {
    let fleet = Fleet::start(Scenario::Calm, None).await.expect("fleet");
    let wrong = http_driver(&fleet, "not-the-token-4711");
    let e = act(&wrong, ActionKind::Suspend, "kukuri:topic:rust")
        .await
        .expect_err("wrong token");
    let text = e.to_string();
    assert!(matches!(e, TopicError::Unauthorized { .. }), "{text}");
    assert!(
        text.contains("401") && text.contains("check the token"),
        "{text}"
    );
    assert!(!text.contains("not-the-token-4711"), "{text}");
    let mut none = http_driver(&fleet, "x");
    if let TopicDriver::Http { headers, .. } = &mut none {
        headers.clear();
    }
    let e = act(&none, ActionKind::Suspend, "kukuri:topic:rust")
        .await
        .expect_err("no token");
    assert!(matches!(e, TopicError::Unauthorized { .. }), "{e}");

    let good = http_driver(&fleet, fleet.admin_token());
    let e = act(&good, ActionKind::Resume, "kukuri:topic:nope")
        .await
        .expect_err("unknown");
    let text = e.to_string();
    assert!(matches!(e, TopicError::NoTopic { .. }), "{text}");
    assert!(text.starts_with("no topic \"kukuri:topic:nope\""), "{text}");
    assert!(!text.contains(fleet.admin_token()), "{text}");

    // The admin routes themselves: listing, and the wrong method or no token.
    let http = reqwest::Client::new();
    let admin = fleet.topic_admin_url().expect("admin");
    let list = http
        .get(&admin)
        .bearer_auth(fleet.admin_token())
        .send()
        .await
        .expect("list");
    assert_eq!(list.status(), 200);
    let v: serde_json::Value =
        serde_json::from_str(&list.text().await.expect("body")).expect("json");
    let ids: Vec<&str> = v["topics"]
        .as_array()
        .expect("topics")
        .iter()
        .filter_map(|t| t["topic"].as_str())
        .collect();
    assert!(
        ids.contains(&"kukuri:topic:spam-wave") && ids.len() == 4,
        "{v}"
    );
    assert_eq!(
        http.get(&admin).send().await.expect("no token").status(),
        401
    );
    let get_suspend = http
        .get(format!("{admin}/kukuri%3Atopic%3Arust/suspend"))
        .bearer_auth(fleet.admin_token())
        .send()
        .await
        .expect("GET suspend");
    assert_eq!(get_suspend.status(), 405);

    let text = fleet.config_toml(Duration::from_secs(1));
    assert!(!text.contains(fleet.admin_token()), "{text}");
    assert!(text.contains("${WATCHDECK_DEMO_ADMIN_TOKEN}"), "{text}");
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_ids_are_refused_or_passed_literally() {
    let fleet = fleet().await;
    let pwned = std::path::Path::new("/tmp/pwned");
    let existed = pwned.exists();
    let db = twin_sql(&fleet).await;
    db.batch_execute("CREATE TABLE t (x int); INSERT INTO t VALUES (1);")
        .await
        .expect("table t");
    let snapshot = || async {
        db.query(
            "SELECT topic_id, suspended, updated_at::text FROM cn_relay.topics ORDER BY 1",
            &[],
        )
        .await
        .expect("topics")
        .iter()
        .map(|r| {
            (
                r.get::<_, String>(0),
                r.get::<_, bool>(1),
                r.get::<_, String>(2),
            )
        })
        .collect::<Vec<_>>()
    };
    let before = snapshot().await;
    let drivers = [http_driver(&fleet, fleet.admin_token()), sql_driver(&fleet)];
    for driver in &drivers {
        for id in CORPUS {
            let result = act(driver, ActionKind::Suspend, id).await;
            let e = result.expect_err(id);
            if REFUSED.contains(&id) {
                assert!(matches!(e, TopicError::InvalidTopic { .. }), "{id:?}: {e}");
                continue;
            }
            assert!(matches!(e, TopicError::NoTopic { .. }), "{id:?}: {e}");
            if driver.kind() == "http" {
                // The relay's 404 echoes the id it decoded: exactly what was typed.
                let echoed = format!("\"topic\":{}", serde_json::Value::from(id));
                assert!(e.to_string().contains(&echoed), "{id:?}: {e}");
            }
        }
    }
    let count: i64 = db
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .expect("table t still exists")
        .get(0);
    assert_eq!(count, 1);
    assert_eq!(snapshot().await, before, "no topic row changed");
    assert_eq!(pwned.exists(), existed, "nothing ran a shell");
    fleet.shutdown().await;
}
