//! The `promql` and Alertmanager clients against real servers: Debian's `prometheus` scraping
//! the demo fleet, and `prometheus-alertmanager`, each started by `common/prom.rs` on a free
//! loopback port with a temporary config and data directory (never the packages' own services
//! on 9090/9093), plus misbehaving raw servers for auth headers, timeouts and oversized bodies.

use crate::common::badserver;
use crate::common::prom;
use crate::common::screen;

use std::time::{Duration, Instant};

use badserver::{Behaviour, Reply};
use prom::{eventually, free_port, start_alertmanager, start_prometheus};
use watchdeck::actions::am::{
    create_silence, create_silence_plan, expire_silence, expire_silence_plan, NewSilence,
};
use watchdeck::client::alertmanager::{format_time, AlertFilter, AmClient};
use watchdeck::client::api::{ApiError, ApiSpec, Auth};
use watchdeck::client::http::{FetchError, HttpLimits};
use watchdeck::client::promql::{Discovery, PromClient, QueryData, Range};
use watchdeck::config::Secret;
use watchdeck::demo::{Fleet, Scenario};
use watchdeck::obs::alertmanager::{AlertState, Matcher, SilenceState};
use watchdeck::obs::now_ms;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_serves_the_demo_fleet_through_the_promql_client() {
    let started = Instant::now();
    let fleet = Fleet::start(Scenario::Calm, None).await.expect("fleet");
    let prom = start_prometheus(&fleet.prometheus_config(Duration::from_secs(1))).await;
    let client = PromClient::new(&ApiSpec::new(&prom.base)).expect("client");

    check_discovery(&client, &fleet).await;
    check_queries(&client).await;
    eprintln!("prometheus test took {:?}", started.elapsed());
    drop(prom);
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_is_a_plain_error() {
    let port = free_port();
    let client =
        PromClient::new(&ApiSpec::new(format!("http://127.0.0.1:{port}"))).expect("client");
    let err = client.instant("up", None).await.expect_err("closed port");
    assert!(
        matches!(
            err,
            ApiError::Transport {
                source: FetchError::ConnectionRefused,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("connection refused"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_and_tenant_are_sent_but_never_shown() {
    // The echo server answers 401 with the request head: the headers must have been sent,
    // and the error quoting the body must not repeat the token.
    let addr = badserver::spawn(Behaviour::EchoRequest { status: 401 }).await;
    let mut spec = ApiSpec::new(format!("http://{addr}/prom"));
    spec.auth = Auth::Bearer(Secret::new("tok-9f8e7d6c5b4a"));
    spec.tenant = Some("team-a".into());
    let client = PromClient::new(&spec).expect("client");
    let err = client.instant("up", None).await.expect_err("401");
    let text = err.to_string();
    assert!(text.contains("HTTP 401"), "{text}");
    assert!(text.contains("GET /prom/api/v1/query?query=up"), "{text}");
    assert!(
        text.to_lowercase().contains("x-scope-orgid: team-a"),
        "{text}"
    );
    assert!(text.contains("Bearer ***"), "{text}");
    assert!(!text.contains("tok-9f8e7d6c5b4a") && !format!("{err:?}").contains("tok-9f8e"));

    let mut spec = ApiSpec::new(format!("http://{addr}"));
    spec.auth = Auth::Basic {
        user: "ops".into(),
        password: Secret::new("pw-0123456789"),
    };
    let client = AmClient::new(&spec).expect("client");
    let err = client.silences().await.expect_err("401");
    // Sent (the echo has the header) but masked: base64("ops:pw-0123456789") is a secret too.
    let text = err.to_string();
    assert!(text.contains("Basic ***"), "{text}");
    assert!(
        !text.contains("b3BzOnB3LTAxMjM0NTY3ODk=") && !text.contains("pw-0123"),
        "{text}"
    );
    assert!(format!("{client:?}").contains("Basic(ops:***)"));
    assert!(ApiSpec::new("http://u:p@host").base_url.contains('@'));
    assert!(PromClient::new(&ApiSpec::new("http://u:p@host")).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_oversized_bodies_and_non_api_answers_are_plain_errors() {
    let limits = HttpLimits {
        timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_secs(2),
        max_body_bytes: 64 * 1024,
    };
    let spec = |addr: std::net::SocketAddr| ApiSpec {
        limits,
        ..ApiSpec::new(format!("http://{addr}"))
    };

    let silent = badserver::spawn(Behaviour::Silent).await;
    let err = PromClient::new(&spec(silent))
        .expect("client")
        .instant("up", None)
        .await
        .expect_err("silent");
    assert!(err.to_string().contains("timed out after"), "{err}");

    let endless = badserver::spawn(Behaviour::EndlessBody).await;
    let err = PromClient::new(&spec(endless))
        .expect("client")
        .instant("up", None)
        .await
        .expect_err("endless");
    assert!(
        err.to_string().contains("exceeds the 64 KiB limit"),
        "{err}"
    );

    let html = badserver::spawn(Behaviour::Respond(
        Reply::new(502).body("<html>bad gateway</html>"),
    ))
    .await;
    let err = PromClient::new(&spec(html))
        .expect("client")
        .instant("up", None)
        .await
        .expect_err("502");
    assert!(
        err.to_string()
            .contains("answered HTTP 502: <html>bad gateway"),
        "{err}"
    );

    let warn = badserver::spawn(Behaviour::Respond(
        Reply::new(200)
            .header("Content-Type", "application/json")
            .body(r#"{"status":"success","warnings":["store-b: context deadline exceeded"],"data":{"resultType":"vector","result":[]}}"#),
    ))
    .await;
    let o = PromClient::new(&spec(warn))
        .expect("client")
        .instant("up", None)
        .await
        .expect("partial answer");
    assert!(o.partial());
    assert_eq!(
        o.notes(),
        ["partial answer: store-b: context deadline exceeded"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_alerts_and_silences_round_trip() {
    let am = start_alertmanager().await;
    let client = AmClient::new(&ApiSpec::new(&am.base)).expect("client");

    // Alerts come from Prometheus normally; post one the way it would.
    let starts = now_ms() - 60_000;
    let alert = serde_json::json!([{
        "labels": {"alertname": "DiskFull", "instance": "cn-index", "severity": "page"},
        "annotations": {"summary": "disk / is 97% full", "runbook_url": "https://runbooks.example/disk-full"},
        "startsAt": format_time(starts),
        "generatorURL": "http://prometheus.example/graph"
    }]);
    prom::post_alerts(&am.base, &alert).await;

    let alerts = eventually("the posted alert", Duration::from_secs(10), || async {
        let a = client.alerts(&AlertFilter::default()).await.ok()?;
        (a.len() == 1 && a[0].state == AlertState::Active).then_some(a)
    })
    .await;
    let a = &alerts[0];
    assert_eq!(a.name(), "DiskFull");
    assert_eq!(a.labels["instance"], "cn-index");
    assert_eq!(a.annotations["summary"], "disk / is 97% full");
    assert_eq!(a.runbook_url(), Some("https://runbooks.example/disk-full"));
    assert_eq!(a.starts_at_ms, starts);
    assert_eq!(
        a.generator_url.as_deref(),
        Some("http://prometheus.example/graph")
    );
    assert!(!a.fingerprint.is_empty());
    let none = client
        .alerts(&AlertFilter {
            matchers: vec![r#"severity="ticket""#.into()],
            ..AlertFilter::default()
        })
        .await
        .expect("filtered");
    assert!(none.is_empty(), "{none:?}");

    // Create a silence: plan first, then the same request.
    let silence = NewSilence {
        matchers: vec![Matcher::equal("alertname", "DiskFull")],
        starts_at_ms: now_ms(),
        ends_at_ms: now_ms() + 3_600_000,
        created_by: "watchdeck-test".into(),
        comment: "disk cleanup in progress".into(),
    };
    let plan = create_silence_plan(&client, &silence).expect("plan");
    assert_eq!(
        plan[0].describe(),
        format!(
            "POST {}/api/v2/silences  Content-Type: application/json  (expect 200)",
            am.base
        )
    );
    let id = create_silence(&client, &silence)
        .await
        .expect("create silence");
    let listed = client.silences().await.expect("silences");
    let s = listed.iter().find(|s| s.id == id).expect("listed");
    assert_eq!(s.state, SilenceState::Active);
    assert_eq!(s.matchers, silence.matchers);
    assert_eq!(s.created_by, "watchdeck-test");
    assert_eq!(s.comment, "disk cleanup in progress");

    // The alert is now silenced by it.
    eventually(
        "the alert to be suppressed",
        Duration::from_secs(10),
        || async {
            let a = client.alerts(&AlertFilter::default()).await.ok()?;
            (a.first()?.state == AlertState::Suppressed && a[0].silenced_by == [id.clone()])
                .then_some(())
        },
    )
    .await;

    // Expire it.
    let plan = expire_silence_plan(&client, &id).expect("plan");
    assert_eq!(
        plan[0].describe(),
        format!("DELETE {}/api/v2/silence/{id}  (expect 200)", am.base)
    );
    expire_silence(&client, &id).await.expect("expire");
    let listed = client.silences().await.expect("silences");
    let s = listed.iter().find(|s| s.id == id).expect("still listed");
    assert_eq!(s.state, SilenceState::Expired);

    // Expiring an unknown silence is the server's error, in words.
    let err = expire_silence(&client, "00000000-0000-0000-0000-000000000000")
        .await
        .expect_err("unknown id");
    assert!(err.to_string().contains("Alertmanager at"), "{err}");
    // Bad input never reaches the server.
    let bad = NewSilence {
        matchers: Vec::new(),
        ..silence
    };
    assert!(create_silence(&client, &bad).await.is_err());
    drop(am);
}

/// Discovery: the six instances, grouped by job, all up; filters on the server and here.
async fn check_discovery(client: &PromClient, fleet: &Fleet) {
    let found = eventually(
        "up to show six instances",
        Duration::from_secs(20),
        || async {
            let d = client.discover(&Discovery::default()).await.ok()?;
            (d.instances.len() == 6 && d.instances.iter().all(|i| i.up)).then_some(d)
        },
    )
    .await;
    let groups: Vec<(String, usize)> = found
        .by_job()
        .iter()
        .map(|g| (g.job.clone(), g.up_count()))
        .collect();
    assert_eq!(
        groups,
        [
            ("community-node".to_owned(), 3),
            ("mail".to_owned(), 1),
            ("overlay".to_owned(), 1),
            ("rest-api".to_owned(), 1)
        ]
    );
    for t in &fleet.targets {
        let hostport = t
            .metrics_url
            .trim_start_matches("http://")
            .trim_end_matches("/metrics");
        assert!(
            found
                .instances
                .iter()
                .any(|i| i.instance == hostport && i.job == t.preset),
            "{hostport} missing from {:?}",
            found.instances
        );
    }
    let filtered = client
        .discover(&Discovery {
            selector: Some(r#"job=~"overlay|mail""#.into()),
            contains: None,
        })
        .await
        .expect("discover");
    assert_eq!(filtered.instances.len(), 2);
    let text = client
        .discover(&Discovery {
            selector: None,
            contains: Some("COMMUNITY".into()),
        })
        .await
        .expect("discover");
    assert_eq!(text.by_job().len(), 1);
    assert_eq!(text.instances.len(), 3);
}

/// Instant, histogram and range queries; the server's errors.
async fn check_queries(client: &PromClient) {
    // An instant query of a gauge the three community nodes and the REST API export.
    let gauge = client
        .instant("process_resident_memory_bytes", None)
        .await
        .expect("instant");
    let QueryData::Vector(series) = &gauge.data else {
        panic!("not a vector: {gauge:?}")
    };
    let mut targets: Vec<&str> = series.iter().filter_map(|s| s.label("target")).collect();
    targets.sort_unstable();
    assert_eq!(targets, ["cn-index", "cn-relay", "cn-user-api", "rest-api"]);
    assert!(series
        .iter()
        .all(|s| s.last().is_some_and(|v| v.is_finite() && v > 0.0)));
    assert!(!gauge.partial(), "{:?}", gauge.notes());

    // Rates and the overlay's p95 need two samples inside the window: a few scrapes.
    let p95 = "histogram_quantile(0.95, sum by (le, instance) (rate(webhook_ack_latency_seconds_bucket[1m])))";
    let quantile = eventually("the p95 ACK latency", Duration::from_secs(20), || async {
        let o = client.instant(p95, None).await.ok()?;
        let v = o.data.series().first()?.last()?;
        v.is_finite().then_some((o, v))
    })
    .await;
    assert_eq!(quantile.0.data.series().len(), 1, "{:?}", quantile.0);
    // The calm overlay ACKs in ~30 ms median, p95 ~50 ms: well under a second.
    assert!(quantile.1 > 0.0 && quantile.1 < 1.0, "p95 = {}", quantile.1);

    // A range query for sparklines: a matrix (the relay's REQ rate) on the step grid. The
    // first steps may predate the second scrape (no rate yet), so wait for a few points.
    let (range, series) = eventually(
        "a few points of the REQ rate",
        Duration::from_secs(15),
        || async {
            let now = now_ms();
            let range = Range {
                start_ms: now - 10_000,
                end_ms: now,
                step: Duration::from_secs(1),
            };
            let o = client.range("rate(ws_req_total[5s])", &range).await.ok()?;
            let QueryData::Matrix(series) = o.data else {
                panic!("not a matrix: {o:?}")
            };
            (series.len() == 1 && series[0].samples.len() >= 3).then_some((range, series))
        },
    )
    .await;
    assert_eq!(series[0].label("target"), Some("cn-relay"));
    for s in &series[0].samples {
        assert_eq!(
            (s.at_ms - range.start_ms) % 1000,
            0,
            "{s:?} off the step grid"
        );
        assert!(s.at_ms >= range.start_ms && s.at_ms <= range.end_ms);
        // The calm relay receives about 25 REQs a second.
        assert!(s.value.is_finite() && s.value > 0.0, "{s:?}");
    }
    let now = range.end_ms;

    // The server's own error, in words.
    let err = client.instant("sum(", None).await.expect_err("bad query");
    let text = err.to_string();
    assert!(
        matches!(err, ApiError::Rejected { ref kind, .. } if kind == "bad_data"),
        "{text}"
    );
    assert!(
        text.contains("Prometheus at") && text.contains("parse error"),
        "{text}"
    );
    let err = client
        .range(
            "up",
            &Range {
                start_ms: now,
                end_ms: now - 1,
                step: Duration::from_secs(1),
            },
        )
        .await
        .expect_err("backwards range");
    assert!(
        err.to_string().contains("end not before its start"),
        "{err}"
    );
}

/// The cockpit's `M` view over a real Alertmanager: the alert with its summary and runbook URL,
/// suppressed by the silence, and the silence with its author and comment; a failed read keeps
/// the last answer on screen and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one scenario, step by step against one server
async fn the_cockpit_shows_the_alertmanagers_alerts_and_silences() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use watchdeck::app::update::{update, Msg};
    use watchdeck::config::Config;
    use watchdeck::front::cockpit::{self, Options};

    let am = start_alertmanager().await;
    let client = AmClient::new(&ApiSpec::new(&am.base)).expect("client");
    let alert = serde_json::json!([{
        "labels": {"alertname": "OutboxStalled", "instance": "cn-index", "severity": "page"},
        "annotations": {"summary": "index-v1 has not moved for 10m",
                        "runbook_url": "https://runbooks.example/outbox"},
        "startsAt": format_time(now_ms() - 120_000),
    }]);
    prom::post_alerts(&am.base, &alert).await;
    let id = create_silence(
        &client,
        &NewSilence {
            matchers: vec![Matcher::equal("alertname", "OutboxStalled")],
            starts_at_ms: now_ms(),
            ends_at_ms: now_ms() + 3_600_000,
            created_by: "alice".into(),
            comment: "reindex running".into(),
        },
    )
    .await
    .expect("silence");
    let alerts = eventually("the alert, suppressed", Duration::from_secs(10), || async {
        let a = client.alerts(&AlertFilter::default()).await.ok()?;
        (a.len() == 1 && a[0].state == AlertState::Suppressed).then_some(a)
    })
    .await;
    let silences = client.silences().await.expect("silences");
    assert!(silences.iter().any(|s| s.id == id));

    let text = format!(
        "[[target]]\nname = \"svc\"\nhealth = [\"http://127.0.0.1:9/healthz\"]\n\n[alertmanager]\nurl = \"{}\"\ninterval = \"5s\"\n",
        am.base
    );
    let config = Config::parse(&text, None, &|_| None).expect("config");
    let opts = Options {
        theme: Some("monochrome".into()),
        mouse: false,
        read_only: false,
        bell: false,
    };
    let mut m = cockpit::model(&config, &opts).expect("model");
    m.size = (140, 30);
    let at = now_ms();
    m.now_ms = at + 4_000;
    update(
        &mut m,
        Msg::Alertmanager {
            at_ms: at,
            answer: Ok(Box::new((alerts, silences))),
        },
    );
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Char('M'), KeyModifiers::NONE)),
    );
    let render = screen::render;
    let screen = render(&m);
    for want in [
        &format!("[M] Alertmanager {}/", am.base) as &str,
        "1 alert(s), 1 silence(s) · read 4s ago",
        "suppressed",
        "OutboxStalled",
        "instance=cn-index severity=page",
        "index-v1 has not moved for 10m   runbook: https://runbooks.example/outbox",
        "alertname=OutboxStalled",
        "by alice: reindex running",
    ] {
        assert!(screen.contains(want), "{want:?} missing:\n{screen}");
    }
    // `s` on the alert asks for a silence of exactly its labels; `x` on the silence, its expiry.
    let cmds = update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::NONE)),
    );
    let [watchdeck::app::update::Cmd::Plan(watchdeck::actions::Request::Silence {
        labels,
        minutes,
        ..
    })] = cmds.as_slice()
    else {
        panic!("a silence plan: {cmds:?}");
    };
    assert_eq!(*minutes, 60);
    assert!(labels.contains(&("alertname".to_owned(), "OutboxStalled".to_owned())));
    m.acts.planning = None;
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)),
    );
    let cmds = update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE)),
    );
    assert_eq!(
        cmds,
        vec![watchdeck::app::update::Cmd::Plan(
            watchdeck::actions::Request::Unsilence { id: id.clone() }
        )]
    );
    // The Alertmanager goes away: the last answer stays, the failure is said.
    drop(am);
    update(
        &mut m,
        Msg::Alertmanager {
            at_ms: at + 5_000,
            answer: Err("cannot connect to 127.0.0.1: connection refused".into()),
        },
    );
    let screen = render(&m);
    assert!(
        screen.contains("cannot read it: cannot connect"),
        "{screen}"
    );
    assert!(screen.contains("OutboxStalled"), "{screen}");
}

#[test]
fn the_alertmanager_section_is_checked_like_the_rest() {
    use watchdeck::config::Config;
    let base = "[[target]]\nname = \"svc\"\nhealth = [\"http://127.0.0.1:9/healthz\"]\n\n";
    let err = |body: &str| {
        Config::parse(&format!("{base}{body}"), None, &|_| None)
            .expect_err("refused")
            .to_string()
    };
    let msg =
        err("[alertmanager]\nurl = \"127.0.0.1:9093\"\ntoken_env = \"AM_TOKEN\"\nurgency = 1\n");
    assert!(
        msg.contains("unknown key `urgency` in [alertmanager]"),
        "{msg}"
    );
    let msg = err("[alertmanager]\nurl = \"localhost:9093\"\ntoken_env = \"AM_TOKEN\"\n");
    assert!(
        msg.contains("does not start with http:// or https://"),
        "{msg}"
    );
    assert!(msg.contains("token_env: $AM_TOKEN is not set"), "{msg}");
    let ok = Config::parse(
        &format!("{base}[alertmanager]\nurl = \"http://127.0.0.1:9093\"\ntoken_env = \"AM_TOKEN\"\ntenant = \"team-a\"\n"),
        None,
        &|k| (k == "AM_TOKEN").then(|| "s3cret-token".to_owned()),
    )
    .expect("valid");
    let am = ok.alertmanager.expect("configured");
    assert_eq!(am.tenant.as_deref(), Some("team-a"));
    assert_eq!(am.interval, Duration::from_secs(15));
    assert!(
        !format!("{am:?}").contains("s3cret-token"),
        "the token never prints"
    );
}

/// A silence made and expired from watchdeck goes through the action layer: plan (the exact
/// request), confirmation, audit records, and it shows in Alertmanager; read-only refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silences_are_created_and_expired_as_audited_actions() {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use watchdeck::actions::{Actions, Confirmation, Ctx, Request};
    use watchdeck::config::Config;

    let am = start_alertmanager().await;
    let state = tempfile::tempdir().expect("state");
    let text = format!(
        "[[target]]\nname = \"svc\"\nhealth = [\"http://127.0.0.1:9/healthz\"]\n\n[actions]\nstate_dir = \"{}\"\n\n[alertmanager]\nurl = \"{}\"\n",
        state.path().display(),
        am.base
    );
    let config = Config::parse(&text, None, &|_| None).expect("config");
    let never = Arc::new(AtomicBool::new(false));
    let ctx = || Ctx::detached(Duration::from_secs(30)).0;

    let read_only = Actions::new(&config, true, state.path());
    let req = Request::Silence {
        labels: vec![("alertname".into(), "OutboxStalled".into())],
        minutes: 60,
        comment: "reindex running".into(),
    };
    let plan = read_only.plan(&req, true).await.expect("plan");
    let out = read_only
        .execute(&plan, &Confirmation::Yes, ctx(), &never)
        .await;
    assert_eq!(out.result, "refused");
    let client = AmClient::new(&ApiSpec::new(&am.base)).expect("client");
    assert!(client.silences().await.expect("silences").is_empty());

    let actions = Actions::new(&config, false, state.path());
    let plan = actions.plan(&req, true).await.expect("plan");
    assert!(
        plan.plan_lines()[0].starts_with(&format!("POST {}/api/v2/silences", am.base)),
        "{:?}",
        plan.plan_lines()
    );
    let out = actions
        .execute(&plan, &Confirmation::Yes, ctx(), &never)
        .await;
    assert_eq!(out.result, "succeeded", "{}", out.summary);
    let listed = client.silences().await.expect("silences");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, SilenceState::Active);
    assert_eq!(listed[0].comment, "reindex running");
    assert!(out.summary.contains(&listed[0].id), "{}", out.summary);

    let expire = Request::Unsilence {
        id: listed[0].id.clone(),
    };
    let plan = actions.plan(&expire, true).await.expect("plan");
    let out = actions
        .execute(&plan, &Confirmation::Yes, ctx(), &never)
        .await;
    assert_eq!(out.result, "succeeded", "{}", out.summary);
    let listed = client.silences().await.expect("silences");
    assert_eq!(listed[0].state, SilenceState::Expired);

    let audit = std::fs::read_to_string(state.path().join("audit.jsonl")).expect("audit");
    let records: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let kinds: Vec<(&str, &str)> = records
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap_or_default(),
                r["phase"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("silence", "intent"),
            ("silence", "outcome"),
            ("unsilence", "intent"),
            ("unsilence", "outcome")
        ]
    );
    assert_eq!(records[0]["target"], "alertmanager");
    assert_eq!(records[0]["params"]["comment"], "reindex running");
}
