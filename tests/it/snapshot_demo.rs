//! `snapshot` against the demo fleet: every preset, every scenario, real HTTP on loopback.

use std::time::Duration;

use watchdeck::config::Config;
use watchdeck::demo::{Fleet, Scenario};
use watchdeck::derive::Direction;
use watchdeck::front::snapshot::{self, Options, OutputFormat, Snapshot};

async fn snap(scenario: Scenario, rounds: u32) -> Snapshot {
    let fleet = Fleet::start(scenario, None)
        .await
        .expect("demo fleet starts");
    // A 2 s interval (timeouts of 1.6 s): a health check slowed by a busy machine is not what
    // these tests are about (at 700 ms, 560 ms timeouts failed under load).
    let config = Config::parse(
        &fleet.config_toml(Duration::from_secs(2)),
        None,
        &fleet.env(),
    )
    .expect("the demo config parses");
    let opts = Options {
        rounds,
        format: OutputFormat::Text,
        window_ms: 60_000,
    };
    let mut seen = 0;
    let last = snapshot::run(&config, &opts, |_| seen += 1)
        .await
        .expect("rounds collected");
    assert_eq!(seen, rounds, "one emitted snapshot per round");
    fleet.shutdown().await;
    last
}

fn target<'a>(s: &'a Snapshot, name: &str) -> &'a watchdeck::derive::panels::TargetPanels {
    s.targets
        .iter()
        .find(|t| t.name == name)
        .expect("target present")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calm_fleet_is_all_up_with_every_panel_filled() {
    let s = snap(Scenario::Calm, 2).await;
    for t in &s.targets {
        assert_eq!(t.status, "up", "{}: {:?} {:?}", t.name, t.error, t.health);
        assert!(!t.stale);
        assert_eq!(t.malformed, 0, "{}: {:?}", t.name, t.malformed_examples);
        assert!(t.series.unwrap_or(0) > 20, "{} has series", t.name);
    }
    assert!(!s.any_down());
    for name in ["cn-relay", "cn-user-api", "cn-index"] {
        let t = target(&s, name);
        assert!(!t.backlog.is_empty(), "{name} has a backlog row");
        assert!(
            t.backlog.iter().all(|b| b.trend.is_some()),
            "two rounds give trends"
        );
        assert!(t.health[0]
            .checks
            .iter()
            .any(|c| c.name == "postgres" && c.healthy));
    }
    let overlay = target(&s, "overlay");
    let ack = overlay
        .latency
        .iter()
        .find(|l| l.title.contains("ACK"))
        .expect("ACK panel");
    assert!(ack.p95 < 0.2 && !ack.over, "calm ACK p95 {}", ack.p95);
    assert!(!ack.since_start, "two rounds give a windowed quantile");
    assert_eq!(overlay.sse.len(), 3, "three audiences");
    let mail = target(&s, "mail");
    assert!(mail
        .disks
        .iter()
        .any(|d| d.label.contains("storage") || d.label.contains("Storage")));
    assert_eq!(mail.queue[0].title, "Mail queue");
    assert!(target(&s, "cn-relay")
        .disks
        .iter()
        .any(|d| d.label == "/var/lib/postgresql"));
    let rest = target(&s, "rest-api");
    assert!(rest.errors[0].ratio.is_some());
    assert!(rest.health.iter().all(|h| h.healthy));

    let text = snapshot::render_text(&s);
    for needle in [
        "TARGETS",
        "HEALTH",
        "OUTBOX BACKLOG",
        "SSE CLIENTS",
        "LATENCY",
        "DISK",
        "cn-index/index-v1",
    ] {
        assert!(text.contains(needle), "text output has {needle}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backlog_stall_shows_the_index_consumer_climbing() {
    // Six rounds: a direction needs evidence beyond a few points (derive::trend).
    let s = snap(Scenario::BacklogStall, 6).await;
    let row = target(&s, "cn-index")
        .backlog
        .iter()
        .find(|b| b.labels == "cn-index/index-v1")
        .expect("index-v1 row");
    let trend = row.trend.expect("trend after six rounds");
    assert_eq!(trend.direction, Direction::Filling, "{row:?}");
    assert!(trend.slope_per_s > 5.0, "climbing: {row:?}");
    // Stalled for minutes before launch: far over the alert's 1000.
    assert!(row.value > 10_000.0 && row.warn, "{row:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_latency_scenario_crosses_the_threshold() {
    let s = snap(Scenario::AckLatency, 2).await;
    let ack = target(&s, "overlay")
        .latency
        .iter()
        .find(|l| l.title.contains("ACK"))
        .expect("ACK panel");
    assert_eq!(ack.threshold, Some(0.2));
    assert!(ack.p95 > 0.2 && ack.over, "{ack:?}");
    assert!(snapshot::render_text(&s).contains("p95 over limit"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_drop_shows_clients_fallen_to_a_handful() {
    // The fall was minutes before launch (the backfill shows it): now a handful remain.
    let s = snap(Scenario::SseDrop, 3).await;
    let overlay = target(&s, "overlay");
    let row = overlay
        .sse
        .iter()
        .find(|g| g.labels == "overlay")
        .expect("overlay audience");
    assert!(row.value <= 10.0, "{row:?}");
    assert!(
        overlay.sse.iter().all(|g| g.value <= 10.0),
        "{:?}",
        overlay.sse
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_fill_shows_the_postgres_volume_full_and_mail_storage_over_its_line() {
    // The volume filled over the minutes before launch; now it is full and stays so.
    let s = snap(Scenario::DiskFill, 3).await;
    let pg = target(&s, "cn-relay")
        .disks
        .iter()
        .find(|d| d.label == "/var/lib/postgresql")
        .expect("pg volume");
    assert!(pg.used_ratio > 0.999 && pg.warn, "{pg:?}");
    let trend = pg.trend.expect("trend");
    assert_eq!(trend.direction, Direction::Flat, "full stays full: {pg:?}");
    let mail = target(&s, "mail")
        .disks
        .iter()
        .find(|d| d.source == "mail")
        .expect("mail storage");
    assert!(mail.used_ratio > 0.9 && mail.warn, "{mail:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependency_down_breaks_out_the_failed_check() {
    let s = snap(Scenario::DependencyDown, 1).await;
    let mail = target(&s, "mail");
    assert_eq!(mail.status, "degraded");
    let ready = mail
        .health
        .iter()
        .find(|h| h.url.ends_with("/health/ready"))
        .expect("ready");
    assert_eq!(ready.status_code, Some(503));
    let db = ready
        .checks
        .iter()
        .find(|c| c.name == "database")
        .expect("database check");
    assert!(!db.healthy);
    let live = mail
        .health
        .iter()
        .find(|h| h.url.ends_with("/health/live"))
        .expect("live");
    assert!(live.healthy);
    let rest = target(&s, "rest-api");
    let redis = rest
        .health
        .iter()
        .flat_map(|h| &h.checks)
        .find(|c| c.name == "redis")
        .expect("redis");
    assert!(!redis.healthy);
    assert!(!s.any_down(), "degraded is not down: metrics still answer");
}
