//! History at launch against a real Prometheus whose past truly predates the test: the
//! samples are written as OpenMetrics, turned into TSDB blocks by `promtool tsdb
//! create-blocks-from openmetrics`, and served by a Prometheus started over that data
//! directory. Then `snapshot` (the same engine as the cockpit) starts on live targets whose
//! `instance` matches, and its first round must already know the past.

use crate::common::badserver;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use badserver::{Behaviour, Reply};
use watchdeck::config::Config;
use watchdeck::derive::rules::AlertPhase;
use watchdeck::front::snapshot::{self, OutputFormat, Snapshot};

const STEP_S: i64 = 5;

/// A live target serving one backlog value, as a community node would.
async fn target(backlog: f64) -> SocketAddr {
    let body = format!(
        "# TYPE outbox_backlog gauge\noutbox_backlog{{service=\"cn\",consumer=\"index-v1\"}} {backlog}\n"
    );
    badserver::spawn(Behaviour::Respond(
        Reply::new(200)
            .header("Content-Type", "text/plain; version=0.0.4")
            .body(body),
    ))
    .await
}

/// One series of the past: `value(t)` every 5 s from `from` to `to` (unix seconds).
fn series(om: &mut String, instance: &str, from: i64, to: i64, value: impl Fn(i64) -> f64) {
    let mut t = from;
    while t <= to {
        let _ = writeln!(
            om,
            "outbox_backlog{{consumer=\"index-v1\",instance=\"{instance}\",job=\"cn\",service=\"cn\"}} {} {t}",
            value(t)
        );
        t += STEP_S;
    }
}

/// A Prometheus serving `openmetrics` as its past (no scraping of its own).
struct Prom {
    child: std::process::Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prom {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn prometheus_with_past(openmetrics: &str) -> Prom {
    let dir = tempfile::tempdir().expect("tempdir");
    let om = dir.path().join("past.om");
    std::fs::write(&om, openmetrics).expect("write openmetrics");
    let data = dir.path().join("data");
    let out = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(&data)
        .output()
        .expect(
            "promtool is installed with Debian's prometheus package (scripts/test installs it)",
        );
    assert!(
        out.status.success(),
        "promtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(dir.path().join("prom.yml"), "global: {}\n").expect("config");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let child = Command::new("prometheus")
        .arg(format!(
            "--config.file={}",
            dir.path().join("prom.yml").display()
        ))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn prometheus");
    let base = format!("http://127.0.0.1:{port}");
    let prom = Prom {
        child,
        base,
        _dir: dir,
    };
    // Ready, and the blocks loaded: a query over the past answers with data.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let url = format!(
            "{}/api/v1/query?query=count(outbox_backlog)&time={}",
            prom.base,
            now_s() - 60
        );
        if let Ok(r) = reqwest::get(&url).await {
            if r.text().await.is_ok_and(|t| t.contains("\"result\":[{")) {
                return prom;
            }
        }
        assert!(
            Instant::now() < deadline,
            "prometheus did not serve the past within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn now_s() -> i64 {
    watchdeck::obs::now_ms() / 1000
}

fn config(history: &str, targets: &[(&str, SocketAddr)], timeout: &str) -> Config {
    let mut text = format!(
        "[history]\nurl = \"{history}\"\ntimeout = \"{timeout}\"\n\n[defaults]\ninterval = \"2s\"\n"
    );
    for (name, addr) in targets {
        let _ = write!(
            text,
            "\n[[target]]\nname = \"{name}\"\npreset = \"community-node\"\nmetrics = \"http://{addr}/metrics\"\n"
        );
    }
    Config::parse(&text, None, &|_| None).expect("config parses")
}

async fn first_round(config: &Config) -> Snapshot {
    let opts = snapshot::Options {
        rounds: 1,
        format: OutputFormat::Json,
        window_ms: 60_000,
    };
    tokio::time::timeout(
        Duration::from_secs(60),
        snapshot::run(config, &opts, |_| {}),
    )
    .await
    .expect("the first round within 60 s")
    .expect("a round")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_round_knows_the_past_from_a_real_prometheus() {
    let now = now_s();
    let onset = now - 8 * 60; // the stall began eight minutes ago
    let live_a = 1200.0 + 5.0 * (now - onset) as f64;
    let a = target(live_a).await;
    let b = target(100.0).await;
    let mut om = String::from("# TYPE outbox_backlog gauge\n");
    // A: calm, then a backlog over 1000 and climbing 5/s since the onset.
    series(&mut om, &a.to_string(), now - 20 * 60, now - 10, |t| {
        if t < onset {
            200.0
        } else {
            1200.0 + 5.0 * (t - onset) as f64
        }
    });
    // B: over 1000 for six minutes, cleared eight minutes before launch.
    series(&mut om, &b.to_string(), now - 20 * 60, now - 10, |t| {
        if (now - 14 * 60..now - 8 * 60).contains(&t) {
            1500.0
        } else {
            100.0
        }
    });
    om.push_str("# EOF\n");
    let prom = prometheus_with_past(&om).await;

    let cfg = config(&prom.base, &[("cn-a", a), ("cn-b", b)], "10s");
    let snap = first_round(&cfg).await;

    // Where history came from is said.
    assert!(
        snap.history.starts_with("history: 15m from 127.0.0.1:") && snap.history.ends_with("(2/2)"),
        "{}",
        snap.history
    );
    // A rule whose condition has held for eight minutes fires on the first round, with its
    // true since-time: the first evaluation at or after onset + for (5m), on the replay's
    // 10 s evaluation grid over 5 s samples.
    let high: Vec<_> = snap
        .alerts
        .iter()
        .filter(|r| r.name == "OutboxBacklogHigh")
        .collect();
    assert_eq!(high.len(), 1, "{:#?}", snap.alerts);
    let r = high[0];
    assert_eq!((r.target.as_str(), r.state), ("cn-a", AlertPhase::Firing));
    assert!(r.from_history);
    let expected_ms = (onset + 300) * 1000;
    assert!(
        (r.since_ms - expected_ms).abs() <= 15_000,
        "fired at {} ms, expected about {expected_ms} ms",
        r.since_ms
    );
    // B's condition cleared before launch: not firing, not pending.
    assert!(
        snap.alerts.iter().all(|r| r.target != "cn-b"),
        "{:#?}",
        snap.alerts
    );

    // Backfilled rates: the backlog's trend over the window is known on the first round
    // (one live scrape alone has none), and it is the past's slope of +5/s.
    let ta = snap
        .targets
        .iter()
        .find(|t| t.name == "cn-a")
        .expect("cn-a");
    let row = ta.backlog.first().expect("a backlog row");
    assert!(
        (row.value - live_a).abs() < 1e-9,
        "{} vs {live_a}",
        row.value
    );
    let trend = row.trend.as_ref().expect("a trend from the past");
    assert!(
        (trend.slope_per_s - 5.0).abs() < 1.0,
        "slope {}",
        trend.slope_per_s
    );
    let tb = snap
        .targets
        .iter()
        .find(|t| t.name == "cn-b")
        .expect("cn-b");
    let flat = tb
        .backlog
        .first()
        .and_then(|r| r.trend.as_ref())
        .expect("trend");
    assert!(flat.slope_per_s.abs() < 0.5, "slope {}", flat.slope_per_s);

    // The cockpit's own path (collector → update → model) on the same store: the backlog's
    // sparkline holds the past, calm at first and climbing at the end, before a second scrape.
    cockpit_sparkline_holds_the_past(&cfg, live_a).await;
}

async fn cockpit_sparkline_holds_the_past(cfg: &Config, live: f64) {
    use watchdeck::app::model::SparkKey;
    use watchdeck::app::update::{update, Msg};
    use watchdeck::obs::Observation;
    use watchdeck::source::Collector;

    let mut m =
        watchdeck::front::cockpit::model(cfg, &watchdeck::front::cockpit::Options::default())
            .expect("model");
    let mut collector = Collector::start(cfg, Some(1)).expect("collector");
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut histories, mut scrapes) = (0, 0);
    while histories < 2 || scrapes < 2 {
        let obs = tokio::time::timeout_at(deadline.into(), collector.rx.recv())
            .await
            .expect("history and a scrape of each target within 60 s")
            .expect("observations");
        match &obs {
            Observation::History(_) => histories += 1,
            Observation::Target { .. } => scrapes += 1,
            _ => {}
        }
        m.now_ms = watchdeck::obs::now_ms();
        update(&mut m, Msg::Observation(Box::new(obs)));
    }
    let a = m
        .shown
        .targets
        .iter()
        .find(|t| t.name == "cn-a")
        .expect("cn-a");
    let row = a.backlog.first().expect("backlog row");
    let line = m.spark(&SparkKey::Backlog("cn-a".into(), row.labels.clone()));
    // 15 minutes replayed on the 10 s grid, then the live point.
    assert!(line.len() >= 60, "{} points: {line:?}", line.len());
    assert!(
        (line[0] - 200.0).abs() < 1e-9,
        "the calm past first: {line:?}"
    );
    let last = *line.last().expect("points");
    assert!(
        (last - live).abs() < 1e-9,
        "the live value last: {last} vs {live}"
    );
    let rows = m.visible_alerts();
    let high = rows
        .iter()
        .find(|r| r.name == "OutboxBacklogHigh")
        .expect("firing");
    assert_eq!((high.state, high.from_history), (AlertPhase::Firing, true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_is_down_or_slow_leaves_the_cockpit_running_and_says_so() {
    let a = target(1500.0).await;
    // Down: nothing listens.
    let down = badserver::refused_addr().await;
    let snap = first_round(&config(&format!("http://{down}"), &[("cn-a", a)], "2s")).await;
    assert!(snap.history.starts_with("no history: "), "{}", snap.history);
    assert_eq!(snap.targets[0].status, "up");
    // Without history, a rule whose condition holds at launch is pending, not firing, and
    // not from history: it counts from launch.
    let r = snap
        .alerts
        .iter()
        .find(|r| r.name == "OutboxBacklogHigh")
        .expect("pending");
    assert_eq!(r.state, "pending");
    assert!(!r.from_history);

    // Slow: the store accepts and never answers; the deadline ends the wait.
    let silent = badserver::spawn(Behaviour::Silent).await;
    let snap = first_round(&config(&format!("http://{silent}"), &[("cn-a", a)], "1s")).await;
    assert!(snap.history.starts_with("no history: "), "{}", snap.history);
    assert_eq!(snap.targets[0].status, "up");
}

/// A gap in scraping (the target refused for eight rounds) is read from the store once the
/// target answers again: the store then holds points inside the gap that no scrape made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_in_scraping_is_filled_from_the_store() {
    use watchdeck::obs::Observation;
    use watchdeck::source::Collector;
    use watchdeck::store::Store;

    let ok = Reply::new(200)
        .header("Content-Type", "text/plain; version=0.0.4")
        .body(
            "# TYPE outbox_backlog gauge\noutbox_backlog{service=\"cn\",consumer=\"index-v1\"} 7\n",
        );
    let mut seq = vec![Behaviour::Respond(ok.clone())];
    seq.extend(std::iter::repeat_n(Behaviour::CloseImmediately, 8));
    seq.push(Behaviour::Respond(ok));
    let a = badserver::spawn(Behaviour::Sequence(seq)).await;
    let now = now_s();
    let mut om = String::from("# TYPE outbox_backlog gauge\n");
    // The store's samples run on past the test's end: every step of the gap has one.
    series(&mut om, &a.to_string(), now - 20 * 60, now + 120, |_| 7.0);
    om.push_str("# EOF\n");
    let prom = prometheus_with_past(&om).await;
    let mut cfg = config(&prom.base, &[("cn-a", a)], "10s");
    cfg.targets[0].interval = Duration::from_secs(1);
    cfg.targets[0].timeout = Duration::from_millis(500);

    let mut collector = Collector::start(&cfg, Some(11)).expect("collector");
    let mut store = Store::new(&cfg);
    let mut scraped: Vec<i64> = Vec::new();
    let mut gap = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    while gap.is_none() {
        let obs = tokio::time::timeout_at(deadline.into(), collector.rx.recv())
            .await
            .expect("the gap's backfill within 60 s")
            .expect("observations until then");
        match &obs {
            Observation::Target {
                at_ms,
                scrape: Some(Ok(_)),
                ..
            } => scraped.push(*at_ms),
            Observation::History(b) if !b.at_launch => gap = Some((b.from_ms, b.to_ms)),
            _ => {}
        }
        store.apply(obs);
    }
    let (from, to) = gap.expect("a gap");
    assert_eq!(scraped.len(), 2, "one scrape before the gap, one after");
    assert_eq!((from, to), (scraped[0], scraped[1]));
    let key = "outbox_backlog{consumer=\"index-v1\",service=\"cn\"}";
    let inside: Vec<i64> = store.targets[0]
        .points(key)
        .iter()
        .map(|p| p.0)
        .filter(|&t| t > from && t < to)
        .collect();
    assert!(
        !inside.is_empty(),
        "no point inside the gap {from}..{to}: {:?}",
        store.targets[0].points(key)
    );
}
