//! The demo fleet's past, over real loopback HTTP: its history server answers Prometheus range
//! queries over what every twin's `/metrics` said (the incident's minutes before launch
//! included), refuses what Prometheus refuses, and the overlay opens with a fresh verified
//! backup. And a remedy heals: rolling the overlay back off its bad release brings the
//! webhook ACK latency down.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::Value;
use watchdeck::actions::rollback::{plan_symlink, run_symlink, SymlinkSpec};
use watchdeck::actions::Ctx;
use watchdeck::demo::{ops::RELEASES, DemoTarget, Fleet, Scenario};
use watchdeck::expo::{Format, Lexer, Line};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

fn target<'a>(fleet: &'a Fleet, name: &str) -> &'a DemoTarget {
    fleet
        .targets
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no target {name}"))
}

/// `host:port` of a target's metrics URL: its `instance` label.
fn instance(t: &DemoTarget) -> String {
    let u = reqwest::Url::parse(&t.metrics_url).expect("url");
    format!(
        "{}:{}",
        u.host_str().expect("host"),
        u.port().expect("port")
    )
}

/// Every sample of a `/metrics` body: name and its non-empty labels, sorted, with the value.
fn exposition(body: &str) -> BTreeMap<Vec<(String, String)>, f64> {
    let mut out = BTreeMap::new();
    for line in Lexer::new(body.as_bytes(), Format::Prometheus) {
        let Ok(Line::Sample(s)) = line else { continue };
        let mut labels: Vec<(String, String)> = s
            .labels
            .iter()
            .filter_map(Result::ok)
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_owned(), v.into_owned()))
            .collect();
        labels.push(("__name__".into(), s.name.to_owned()));
        labels.sort();
        out.insert(labels, s.value);
    }
    out
}

async fn metrics(http: &reqwest::Client, t: &DemoTarget) -> String {
    let resp = http.get(&t.metrics_url).send().await.expect("scrape");
    assert_eq!(resp.status(), 200);
    resp.text().await.expect("body")
}

fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64()
}

/// `GET /api/v1/query_range`: status and JSON body.
async fn range(
    http: &reqwest::Client,
    fleet: &Fleet,
    query: &str,
    start: &str,
    end: &str,
    step: &str,
) -> (u16, Value) {
    let base = fleet.history_url().expect("the fleet serves its history");
    let resp = http
        .get(format!("{base}/api/v1/query_range"))
        .query(&[
            ("query", query),
            ("start", start),
            ("end", end),
            ("step", step),
        ])
        .send()
        .await
        .expect("query_range");
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_eq!(ct.as_deref(), Some("application/json"));
    let body = resp.text().await.expect("body");
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}")),
    )
}

/// The series of a successful matrix answer: sorted labels → points `(t, value)`.
/// A series' labels and its points.
type Matrix = BTreeMap<Vec<(String, String)>, Vec<(f64, f64)>>;

fn matrix(v: &Value) -> Matrix {
    assert_eq!(v["status"], "success", "{v}");
    assert_eq!(v["data"]["resultType"], "matrix", "{v}");
    let mut out = BTreeMap::new();
    for series in v["data"]["result"].as_array().expect("result") {
        let metric = series["metric"].as_object().expect("metric");
        let keys: Vec<&String> = metric.keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(
            keys, sorted,
            "labels come sorted by name, as Prometheus sorts them"
        );
        let labels = metric
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("label value").to_owned()))
            .collect();
        let points = series["values"]
            .as_array()
            .expect("values")
            .iter()
            .map(|p| {
                let value = p[1].as_str().expect("a value is a string");
                let v = match value {
                    "+Inf" => f64::INFINITY,
                    "-Inf" => f64::NEG_INFINITY,
                    other => other.parse().expect("a number"),
                };
                (p[0].as_f64().expect("a timestamp is a number"), v)
            })
            .collect();
        out.insert(labels, points);
    }
    out
}

/// A selector for every sample name of a body, on one instance.
fn everything_of(body: &str, instance: &str) -> String {
    let names: BTreeSet<String> = exposition(body)
        .keys()
        .filter_map(|l| {
            l.iter()
                .find(|(k, _)| k == "__name__")
                .map(|(_, v)| v.clone())
        })
        .collect();
    let names: Vec<String> = names.into_iter().collect();
    format!(
        "{{__name__=~\"{}\",instance=\"{instance}\"}}",
        names.join("|")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_serves_every_twins_past_as_prometheus_would() {
    let fleet = Fleet::start(Scenario::Calm, None).await.expect("fleet");
    let http = client();
    let base = fleet.history_url().expect("history url").to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let ready = http
        .get(format!("{base}/-/ready"))
        .send()
        .await
        .expect("ready");
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.text().await.expect("text").trim(),
        "Prometheus Server is Ready."
    );
    let index = http.get(&base).send().await.expect("index");
    assert_eq!(index.status(), 200);
    assert!(index
        .text()
        .await
        .expect("text")
        .contains("/api/v1/query_range"));
    let missing = http
        .get(format!("{base}/api/v1/query"))
        .send()
        .await
        .expect("404");
    assert_eq!(missing.status(), 404);

    let end_ms = (now_s() * 1000.0) as i64;
    let start_ms = end_ms - 15 * 60_000;
    let secs = |ms: i64| format!("{}.{:03}", ms / 1000, ms % 1000);
    for t in &fleet.targets {
        let body = metrics(&http, t).await;
        let inst = instance(t);
        let (status, v) = range(
            &http,
            &fleet,
            &everything_of(&body, &inst),
            &secs(start_ms),
            &secs(end_ms),
            "5",
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let got = matrix(&v);
        // Exactly the series `/metrics` shows (histogram buckets, sums and counts included),
        // each with the twin's instance and job.
        let want: BTreeSet<Vec<(String, String)>> = exposition(&body)
            .into_keys()
            .map(|mut l| {
                l.push(("instance".into(), inst.clone()));
                l.push(("job".into(), t.name.clone()));
                l.sort();
                l
            })
            .collect();
        let have: BTreeSet<Vec<(String, String)>> = got.keys().cloned().collect();
        assert_eq!(have, want, "{}", t.name);
        // The whole 15 minutes, a point every step from the first.
        for (labels, points) in &got {
            assert_eq!(points.len(), 181, "{}: {labels:?}", t.name);
            assert!((points[0].0 * 1000.0 - start_ms as f64).abs() < 0.5);
            assert!(points
                .windows(2)
                .all(|w| (w[1].0 - w[0].0 - 5.0).abs() < 1e-6));
        }
    }
    // A later backfill reads the time since launch too, and other instances are left out.
    let relay = target(&fleet, "cn-relay");
    let forty_minutes_ago = std::time::SystemTime::now() - Duration::from_secs(40 * 60);
    let (status, v) = range(
        &http,
        &fleet,
        &format!("ws_connections{{instance=\"{}\"}}", instance(relay)),
        &humantime::format_rfc3339_millis(forty_minutes_ago).to_string(),
        &format!("{:.3}", now_s()),
        "1m",
    )
    .await;
    assert_eq!(status, 200);
    let got = matrix(&v);
    assert_eq!(got.len(), 1, "{v}");
    let points = got.values().next().expect("one series");
    // Kept: the 20 minutes before launch (the lookback reaches 5 minutes past the oldest
    // frame), not forty.
    assert!(
        (20..=26).contains(&points.len()),
        "20-25 minutes of points a minute apart: {}",
        points.len()
    );
    let (_, v) = range(&http, &fleet, "{job=\"nobody\"}", "0", "1", "1").await;
    assert_eq!(matrix(&v).len(), 0);
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_refuses_what_prometheus_refuses() {
    let fleet = Fleet::start(Scenario::Calm, None).await.expect("fleet");
    let http = client();
    let cases = [
        ("rate(up[5m])", "0", "60", "5", "invalid parameter \"query\""),
        ("{job!=\"x\"}", "0", "60", "5", "only = and =~"),
        ("{job=~\"a.*\"}", "0", "60", "5", "regular-expression operator"),
        ("{__name__=~\".|\"}", "0", "60", "5", "non-empty matcher"),
        ("up", "60", "0", "5", "end timestamp must not be before start time"),
        ("up", "0", "60", "0", "zero or negative query resolution step widths"),
        ("up", "0", "60", "soon", "invalid parameter \"step\""),
        ("up", "yesterday", "60", "5", "invalid parameter \"start\""),
        (
            "up",
            "0",
            "11001",
            "1",
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ),
    ];
    for (query, start, end, step, want) in cases {
        let (status, v) = range(&http, &fleet, query, start, end, step).await;
        assert_eq!(status, 400, "{query} {start} {end} {step}: {v}");
        assert_eq!(v["status"], "error");
        assert_eq!(v["errorType"], "bad_data");
        let error = v["error"].as_str().expect("error text");
        assert!(error.contains(want), "{query}: {error}");
    }
    // …and reads what Prometheus reads: RFC 3339 times, duration steps, a bare name.
    let (status, v) = range(
        &http,
        &fleet,
        "up",
        "2025-12-06T23:00:00Z",
        "2025-12-07T08:00:00.5+09:00",
        "2500ms",
    )
    .await;
    assert_eq!(
        (status, &v["status"]),
        (200, &Value::from("success")),
        "{v}"
    );
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sse_drop_began_minutes_before_launch_and_the_history_shows_the_fall() {
    let fleet = Fleet::start(Scenario::SseDrop, None).await.expect("fleet");
    let http = client();
    let overlay = target(&fleet, "overlay");
    let now = exposition(&metrics(&http, overlay).await);
    let aud = |labels: &Vec<(String, String)>| {
        labels.contains(&("__name__".into(), "sse_clients".into()))
            && labels.contains(&("aud".into(), "overlay".into()))
    };
    let (_, clients) = now.iter().find(|(l, _)| aud(l)).expect("overlay audience");
    assert!(*clients <= 10.0, "a handful at launch: {clients}");
    let end = now_s();
    let (_, v) = range(
        &http,
        &fleet,
        &format!(
            "sse_clients{{aud=\"overlay\",instance=\"{}\"}}",
            instance(overlay)
        ),
        &format!("{:.3}", end - 900.0),
        &format!("{end:.3}"),
        "5",
    )
    .await;
    let got = matrix(&v);
    let points = got.values().next().expect("the audience's past");
    let before: Vec<f64> = points
        .iter()
        .filter(|p| p.0 < end - 7.0 * 60.0)
        .map(|p| p.1)
        .collect();
    let after: Vec<f64> = points
        .iter()
        .filter(|p| p.0 > end - 5.0 * 60.0)
        .map(|p| p.1)
        .collect();
    assert!(
        before.len() > 50 && before.iter().all(|c| *c >= 200.0),
        "{before:?}"
    );
    assert!(
        after.len() > 50 && after.iter().all(|c| *c <= 10.0),
        "{after:?}"
    );
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overlay_opens_with_a_fresh_verified_backup() {
    let fleet = Fleet::start(Scenario::Calm, None).await.expect("fleet");
    let dir = fleet.ops.dir.join("overlay/backup");
    let listing = watchdeck::actions::backup::list(&dir, "overlay").expect("listing");
    assert_eq!(listing.len(), 1, "{listing:?}");
    assert!(
        listing[0].present && listing[0].is_verified(),
        "{listing:?}"
    );
    assert!(watchdeck::actions::backup::newest_verified(&dir, "overlay")
        .expect("read")
        .is_some());
    fleet.shutdown().await;
}

/// Webhook ACK p95 over the deliveries between two scrapes, once at least `min` arrived
/// (waits for them, with a deadline).
async fn ack_p95_over(http: &reqwest::Client, overlay: &DemoTarget, min: f64) -> f64 {
    let buckets = |body: &str| -> Vec<(f64, f64)> {
        let mut b: Vec<(f64, f64)> = exposition(body)
            .into_iter()
            .filter_map(|(labels, v)| {
                labels
                    .contains(&(
                        "__name__".into(),
                        "webhook_ack_latency_seconds_bucket".into(),
                    ))
                    .then(|| {
                        labels
                            .iter()
                            .find(|(k, _)| k == "le")
                            .map(|(_, le)| le.clone())
                    })
                    .flatten()
                    .map(|le| {
                        let le = if le == "+Inf" {
                            f64::INFINITY
                        } else {
                            le.parse().expect("le")
                        };
                        (le, v)
                    })
            })
            .collect();
        b.sort_by(|x, y| x.0.total_cmp(&y.0));
        b
    };
    let first = buckets(&metrics(http, overlay).await);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let later = buckets(&metrics(http, overlay).await);
        let deltas: Vec<(f64, f64)> = first
            .iter()
            .zip(&later)
            .map(|(a, b)| (b.0, b.1 - a.1))
            .collect();
        let total = deltas.last().map_or(0.0, |d| d.1);
        if total >= min {
            let rank = 0.95 * total;
            let mut prev = (0.0, 0.0);
            for &(le, count) in &deltas {
                if count >= rank {
                    return if le.is_infinite() {
                        prev.0
                    } else {
                        prev.0 + (le - prev.0) * (rank - prev.1) / (count - prev.1)
                    };
                }
                prev = (le, count);
            }
        }
        assert!(Instant::now() < deadline, "only {total} deliveries in 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_back_the_bad_release_brings_the_ack_latency_back() {
    let fleet = Fleet::start(Scenario::AckLatency, None)
        .await
        .expect("fleet");
    let http = client();
    let overlay = target(&fleet, "overlay");
    let slow = ack_p95_over(&http, overlay, 40.0).await;
    assert!(slow > 0.2, "the bad release ACKs slowly: p95 {slow}");

    // The demo's own rollback: `watchdeck demo restart URL` restarts the twin, the health gate
    // checks /healthz, exactly as the demo config's [target.rollback] does.
    let restart = vec![
        env!("CARGO_BIN_EXE_watchdeck").to_owned(),
        "demo".into(),
        "restart".into(),
        fleet.restart_url().expect("restart url").to_owned(),
    ];
    let health = overlay
        .health_urls
        .iter()
        .map(|u| reqwest::Url::parse(u).expect("url"))
        .collect();
    let mut spec = SymlinkSpec::new("overlay", fleet.ops.overlay_root(), restart, health);
    spec.health_interval = Duration::from_millis(200);
    spec.health_deadline = Duration::from_secs(20);
    let plan = plan_symlink(&spec).expect("plan");
    let (ctx, _progress) = Ctx::detached(Duration::from_secs(60));
    run_symlink(&spec, &plan, &ctx)
        .await
        .expect("the rollback passes its health gate");
    let current = std::fs::read_link(fleet.ops.overlay_root().join("current")).expect("current");
    assert!(
        current.ends_with(RELEASES[RELEASES.len() - 2]),
        "{}",
        current.display()
    );

    let healed = ack_p95_over(&http, overlay, 40.0).await;
    assert!(
        healed < 0.1,
        "the previous release ACKs at once again: p95 {healed}"
    );
    fleet.shutdown().await;
}
