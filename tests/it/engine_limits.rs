//! Broken and hostile targets side by side with a good one, through the whole engine
//! (collector → store → panels): each fails with its own clear error, the others keep working.

use crate::common::badserver;

use std::time::Duration;

use badserver::{Behaviour, Reply};
use watchdeck::config::Config;
use watchdeck::front::snapshot::{self, Options, OutputFormat, Snapshot};

const GOOD_METRICS: &str = "# TYPE outbox_backlog gauge\n\
outbox_backlog{service=\"cn-index\",consumer=\"index-v1\"} 42\n\
# TYPE http_requests_total counter\n\
http_requests_total{service=\"cn-index\",route=\"/v1/users/{id}\",method=\"GET\",status=\"200\"} 7\n";

fn good() -> Behaviour {
    Behaviour::Routes(vec![
        (
            "/metrics".into(),
            Reply::new(200)
                .header("Content-Type", "text/plain; version=0.0.4")
                .body(GOOD_METRICS),
        ),
        ("/healthz".into(), Reply::new(200).body("ok")),
    ])
}

async fn target(name: &str, behaviour: Behaviour, health: bool) -> String {
    let addr = badserver::spawn(behaviour).await;
    let metrics = badserver::url(addr, "/metrics");
    let health = if health {
        format!("health = [\"{}\"]", badserver::url(addr, "/healthz"))
    } else {
        String::new()
    };
    format!(
        "[[target]]\nname = \"{name}\"\npreset = \"community-node\"\nmetrics = \"{metrics}\"\n{health}\ninterval = \"2s\"\ntimeout = \"1s\"\n[target.limits]\nmax_body = \"1MiB\"\n\n"
    )
}

async fn run(config: &str, rounds: u32) -> Snapshot {
    let config = Config::parse(config, None, &|_| None).expect("test config parses");
    let opts = Options {
        rounds,
        format: OutputFormat::Json,
        window_ms: 60_000,
    };
    snapshot::run(&config, &opts, |_| {})
        .await
        .expect("a round")
}

fn find<'a>(s: &'a Snapshot, name: &str) -> &'a watchdeck::derive::panels::TargetPanels {
    s.targets.iter().find(|t| t.name == name).expect("target")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_broken_target_fails_alone_with_its_own_error() {
    let mut cfg = String::new();
    cfg += &target("good", good(), true).await;
    cfg += &target(
        "slow",
        Behaviour::TrickleBody {
            status: 200,
            interval: Duration::from_millis(400),
            content_length: 100,
        },
        false,
    )
    .await;
    cfg += &target("endless", Behaviour::EndlessBody, false).await;
    cfg += &target("bomb", Behaviour::GzipBomb, false).await;
    cfg += &target(
        "short",
        Behaviour::ShortBody {
            announced: 1000,
            sent: 10,
        },
        false,
    )
    .await;
    cfg += &target(
        "loop",
        Behaviour::Routes(vec![
            ("/metrics".into(), Reply::redirect(302, "/a")),
            ("/a".into(), Reply::redirect(302, "/metrics")),
        ]),
        false,
    )
    .await;
    cfg += &target(
        "login",
        Behaviour::Routes(vec![
            ("/metrics".into(), Reply::new(200).body(GOOD_METRICS)),
            ("/healthz".into(), Reply::redirect(302, "/login")),
        ]),
        true,
    )
    .await;
    cfg += &target(
        "error500",
        Behaviour::Respond(Reply::new(500).body("database is down")),
        false,
    )
    .await;
    let mut not_utf8 = GOOD_METRICS.as_bytes().to_vec();
    not_utf8.extend_from_slice(b"outbox_backlog{service=\"\xff\xfe\",consumer=\"x\"} 1\n");
    cfg += &target(
        "latin1",
        Behaviour::Respond(Reply::new(200).body(not_utf8)),
        false,
    )
    .await;

    let s = run(&cfg, 1).await;

    let good = find(&s, "good");
    assert_eq!(good.status, "up", "{good:?}");
    assert!((good.backlog[0].value - 42.0).abs() < f64::EPSILON);
    assert_eq!(good.backlog[0].labels, "cn-index/index-v1");

    let expect = |name: &str, needle: &str| {
        let t = find(&s, name);
        assert_eq!(t.status, "down", "{name}: {t:?}");
        let err = t.error.as_deref().unwrap_or_default();
        assert!(
            err.contains(needle),
            "{name}: error {err:?} should contain {needle:?}"
        );
        assert!(t.backlog.is_empty(), "{name} shows no values");
    };
    expect("slow", "timed out after 1s while reading the body");
    expect("endless", "the body exceeds the 1 MiB limit");
    expect(
        "bomb",
        "the body exceeds the 1 MiB limit (counted after decompression)",
    );
    expect("short", "connection closed after 10 of 1000 bytes");
    expect("loop", "redirect loop");
    expect("error500", "HTTP 500");
    expect("error500", "database is down");

    let login = find(&s, "login");
    assert_eq!(login.status, "degraded", "metrics fine, health redirected");
    let h = &login.health[0];
    assert!(!h.healthy);
    assert_eq!(
        h.error.as_deref(),
        Some("health check redirected to /login; a redirect is not healthy")
    );

    let latin1 = find(&s, "latin1");
    assert_eq!(
        latin1.status, "degraded",
        "the scrape worked; one line was bad"
    );
    assert_eq!(latin1.malformed, 1);
    assert!(latin1.malformed_examples[0].contains("label value is not valid UTF-8"));
    assert_eq!(latin1.backlog.len(), 1, "the good lines still count");
    assert!(s.any_down());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_after_a_failed_scrape_are_stale_with_their_age() {
    let flaky = Behaviour::Sequence(vec![
        Behaviour::Respond(Reply::new(200).body(GOOD_METRICS)),
        Behaviour::Respond(Reply::new(503).body("overloaded")),
    ]);
    let mut cfg = target("flaky", flaky, false).await;
    cfg = cfg.replace(
        "interval = \"2s\"\ntimeout = \"1s\"",
        "interval = \"500ms\"\ntimeout = \"400ms\"",
    );
    let s = run(&cfg, 2).await;
    let t = find(&s, "flaky");
    assert_eq!(t.status, "down");
    assert!(t.stale, "{t:?}");
    assert!(t.error.as_deref().unwrap_or_default().contains("HTTP 503"));
    assert!(
        t.age_ms.is_some_and(|a| a >= 400),
        "age counts from the last good scrape: {t:?}"
    );
    let text = snapshot::render_text(&s);
    assert!(text.contains("STALE"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_target_is_down_in_plain_words() {
    let addr = badserver::refused_addr().await;
    let cfg = format!(
        "[[target]]\nname = \"gone\"\nmetrics = \"{}\"\ninterval = \"1s\"\n",
        badserver::url(addr, "/metrics")
    );
    let s = run(&cfg, 1).await;
    let t = find(&s, "gone");
    assert_eq!(t.status, "down");
    assert!(
        t.error
            .as_deref()
            .unwrap_or_default()
            .starts_with("connection refused"),
        "{t:?}"
    );
}
