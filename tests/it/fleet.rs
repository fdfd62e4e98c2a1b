//! The `promql` source against a real Prometheus scraping the demo fleet: for every preset the
//! panels read through PromQL agree with the panels from scraping the same services directly
//! (one config mixing both, as `snapshot` runs it), within what the two scrape timings allow.

use crate::common::prom;
use crate::common::screen;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use watchdeck::config::Config;
use watchdeck::demo::{Fleet, Scenario};
use watchdeck::derive::panels::TargetPanels;
use watchdeck::front::snapshot::{self, OutputFormat, Snapshot};

/// The fleet's scrape config: one job per preset, each instance labelled with the name its
/// fleet twin gets (`<demo name>-p`).
fn scrape_config(fleet: &Fleet) -> String {
    let mut yml =
        String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n");
    let mut presets: Vec<&str> = fleet.targets.iter().map(|t| t.preset).collect();
    presets.dedup();
    for p in presets {
        let _ = write!(yml, "  - job_name: {p}\n    static_configs:\n");
        for t in fleet.targets.iter().filter(|t| t.preset == p) {
            let hostport = t
                .metrics_url
                .trim_start_matches("http://")
                .trim_end_matches("/metrics");
            let _ = write!(
                yml,
                "      - targets: ['{hostport}']\n        labels: {{wd_name: {}-p}}\n",
                t.name
            );
        }
    }
    yml
}

/// The instant query `q` at `time` (seconds), its result.
async fn instant_at(base: &str, q: &str, time: &str) -> Vec<serde_json::Value> {
    let bytes = reqwest::Client::new()
        .get(format!("{base}/api/v1/query"))
        .query(&[("query", q), ("time", time)])
        .send()
        .await
        .expect("query")
        .bytes()
        .await
        .expect("body");
    let body: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    body["data"]["result"].as_array().expect("vector").clone()
}

/// The latency panels read bucket rates and interpolate the quantiles here: at one instant,
/// that gives exactly what the store's own `histogram_quantile` gives.
async fn quantiles_match_the_stores(base: &str) {
    use watchdeck::derive::quantile::{histogram_quantile, parse_le, Bucket};
    let time = format!("{:.3}", watchdeck::obs::now_ms() as f64 / 1000.0 - 2.0);
    let mut compared = 0;
    for h in [
        "webhook_ack_latency_seconds",
        "outbox_consumer_processing_duration_seconds",
        "http_request_duration_seconds",
    ] {
        let rates = format!("sum by (job, instance, le) (rate({h}_bucket[10s]))");
        let mut by_instance: BTreeMap<String, Vec<Bucket>> = BTreeMap::new();
        for s in instant_at(base, &rates, &time).await {
            let le = parse_le(s["metric"]["le"].as_str().expect("le")).expect("le value");
            let count: f64 = s["value"][1]
                .as_str()
                .expect("value")
                .parse()
                .expect("number");
            let key = s["metric"]["instance"]
                .as_str()
                .expect("instance")
                .to_owned();
            by_instance.entry(key).or_default().push(Bucket {
                upper_bound: le,
                count,
            });
        }
        for q in [0.5, 0.95, 0.99] {
            let theirs =
                instant_at(base, &format!("histogram_quantile({q}, {rates})"), &time).await;
            for s in theirs {
                let key = s["metric"]["instance"].as_str().expect("instance");
                let want: f64 = s["value"][1]
                    .as_str()
                    .expect("value")
                    .parse()
                    .unwrap_or(f64::NAN);
                let mut b = by_instance[key].clone();
                b.sort_by(|x, y| x.upper_bound.total_cmp(&y.upper_bound));
                let got = histogram_quantile(q, &b);
                assert!(
                    (want.is_nan() && got.is_nan())
                        || (want - got).abs() <= 1e-9 * want.abs().max(1.0),
                    "{h} q{q} on {key}: the store says {want}, watchdeck {got}"
                );
                compared += 1;
            }
        }
    }
    assert!(compared >= 15, "only {compared} quantiles compared");
}

/// Waits (up to 60 s) until the result of `query` satisfies `ready`.
async fn wait_for_prometheus(
    base: &str,
    what: &str,
    query: &str,
    ready: impl Fn(&[serde_json::Value]) -> bool,
) {
    let client = reqwest::Client::new();
    let url = format!("{base}/api/v1/query");
    let ready = &ready;
    prom::eventually(what, Duration::from_secs(60), || {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let q = [("query", query)];
            let bytes = client
                .get(&url)
                .query(&q)
                .send()
                .await
                .ok()?
                .bytes()
                .await
                .ok()?;
            let body: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
            ready(body["data"]["result"].as_array()?).then_some(())
        }
    })
    .await;
}

fn fleet_sections(base: &str, presets: &[&str]) -> String {
    let mut out = String::new();
    for p in presets {
        let _ = write!(
            out,
            "\n[[fleet]]\nname = \"prom-{p}\"\nurl = \"{base}\"\npreset = \"{p}\"\nselector = 'job=\"{p}\"'\n\
             interval = \"1s\"\ntimeout = \"1s\"\nwindow = \"10s\"\nname_label = \"wd_name\"\n"
        );
    }
    out
}

fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= abs.max(rel * a.abs().max(b.abs()))
}

struct Cmp<'a> {
    name: &'a str,
    bad: Vec<String>,
    report: &'a mut String,
    /// The direct target's and its fleet twin's panels in the last rounds, for gauges that
    /// move between scrapes.
    recent: Vec<(&'a TargetPanels, &'a TargetPanels)>,
}

impl Cmp<'_> {
    fn check(&mut self, what: &str, a: f64, b: f64, rel: f64, abs: f64) {
        let _ = writeln!(
            self.report,
            "  {what:<60} direct {a:>12.4}  promql {b:>12.4}"
        );
        if !close(a, b, rel, abs) {
            self.bad
                .push(format!("{}: {what}: direct {a} vs promql {b}", self.name));
        }
    }

    /// A gauge that moves between scrapes: over the same last seconds, the values read
    /// through the store and those scraped directly cover overlapping ranges. (Each scrape of
    /// a demo twin advances its simulation, so two scrapers never see one value sequence.)
    fn gauge(&mut self, what: &str, direct: &[f64], promql: &[f64]) {
        let range = |v: &[f64]| {
            (
                v.iter().copied().fold(f64::INFINITY, f64::min),
                v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            )
        };
        let ((dl, dh), (pl, ph)) = (range(direct), range(promql));
        let _ = writeln!(
            self.report,
            "  {what:<60} direct {dl:>7.1}..{dh:<7.1} promql {pl:>7.1}..{ph:<7.1}"
        );
        let slack = 1.0_f64.max(0.05 * dh.abs().max(ph.abs()));
        if direct.is_empty() || promql.is_empty() || pl > dh + slack || ph < dl - slack {
            self.bad.push(format!(
                "{}: {what}: promql {pl}..{ph} does not meet the direct scrapes' {dl}..{dh}",
                self.name
            ));
        }
    }

    fn same_rows(&mut self, what: &str, d: &BTreeMap<String, f64>, r: &BTreeMap<String, f64>) {
        let dk: Vec<&String> = d.keys().collect();
        let rk: Vec<&String> = r.keys().collect();
        if dk != rk {
            self.bad.push(format!(
                "{}: {what} rows differ: direct {dk:?} vs promql {rk:?}",
                self.name
            ));
        }
    }

    fn rows(
        &mut self,
        what: &str,
        d: &BTreeMap<String, f64>,
        r: &BTreeMap<String, f64>,
        rel: f64,
        abs: f64,
    ) {
        self.same_rows(what, d, r);
        for (k, a) in d {
            if let Some(b) = r.get(k) {
                self.check(k, *a, *b, rel, abs);
            }
        }
    }
}

fn keys(rows: impl Iterator<Item = (String, f64)>) -> BTreeMap<String, f64> {
    rows.collect()
}

#[allow(clippy::too_many_lines)] // one comparison per panel kind, read top to bottom
/// Every panel row of `direct` against the same row of `remote`; the differences found.
fn compare<'a>(
    direct: &'a TargetPanels,
    recent: Vec<(&'a TargetPanels, &'a TargetPanels)>,
    remote: &TargetPanels,
    report: &'a mut String,
) -> Vec<String> {
    let mut c = Cmp {
        name: &direct.name,
        bad: Vec::new(),
        report,
        recent,
    };
    // Gauges move between scrapes: compare what both saw over the last seconds.
    let recent = c.recent.clone();
    let gauge_rows = |t: &TargetPanels| -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = t
            .sse
            .iter()
            .map(|g| (format!("sse {} {}", g.title, g.labels), g.value))
            .chain(
                t.queue
                    .iter()
                    .map(|g| (format!("queue {} {}", g.title, g.labels), g.value)),
            )
            .chain(
                t.backlog
                    .iter()
                    .map(|b| (format!("backlog {}", b.labels), b.value)),
            )
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let d: BTreeMap<String, f64> = gauge_rows(direct).into_iter().collect();
    let r: BTreeMap<String, f64> = gauge_rows(remote).into_iter().collect();
    c.same_rows("gauge", &d, &r);
    for k in d.keys() {
        let pick = |t: &TargetPanels| {
            gauge_rows(t)
                .into_iter()
                .filter(|(rk, _)| rk == k)
                .map(|(_, v)| v)
        };
        let seen_d: Vec<f64> = recent.iter().flat_map(|(dt, _)| pick(dt)).collect();
        let seen_p: Vec<f64> = recent.iter().flat_map(|(_, pt)| pick(pt)).collect();
        c.gauge(k, &seen_d, &seen_p);
    }
    // Quantiles over the same 10 s window of the same histograms, sampled a second apart.
    let d: BTreeMap<_, _> = direct
        .latency
        .iter()
        .map(|l| (l.title.clone(), l))
        .collect();
    let r: BTreeMap<_, _> = remote
        .latency
        .iter()
        .map(|l| (l.title.clone(), l))
        .collect();
    if d.keys().collect::<Vec<_>>() != r.keys().collect::<Vec<_>>() {
        c.bad
            .push(format!("{}: latency panels differ", direct.name));
    }
    for (k, a) in &d {
        let Some(b) = r.get(k) else { continue };
        c.check(&format!("latency {k} p50"), a.p50, b.p50, 0.35, 0.005);
        // A p95 of a sparse histogram (a few dozen observations in 10 s) moves a whole bucket
        // when one slow observation falls inside one window and not the other, a second
        // apart: within 35 %, or one bucket step of the usual layouts (×2.5) when that is
        // what happened.
        let (lo, hi) = (a.p95.min(b.p95), a.p95.max(b.p95));
        let one_bucket = lo > 0.0 && hi / lo <= 2.5;
        if one_bucket && !close(a.p95, b.p95, 0.35, 0.005) {
            let _ = writeln!(
                c.report,
                "  latency {k} p95 one bucket apart: {} vs {}",
                a.p95, b.p95
            );
        } else {
            c.check(&format!("latency {k} p95"), a.p95, b.p95, 0.35, 0.005);
        }
    }
    for e in &direct.errors {
        let Some(f) = remote.errors.iter().find(|f| f.title == e.title) else {
            c.bad
                .push(format!("{}: error panel {} missing", direct.name, e.title));
            continue;
        };
        let nan = f64::NAN;
        c.check(
            &format!("errors {} ratio", e.title),
            e.ratio.unwrap_or(nan),
            f.ratio.unwrap_or(nan),
            0.5,
            0.02,
        );
        c.check(
            &format!("errors {} req/s", e.title),
            e.requests_per_s.unwrap_or(nan),
            f.requests_per_s.unwrap_or(nan),
            0.35,
            1.0,
        );
    }
    // Counter totals: the same counter a second apart.
    let row = |x: &watchdeck::derive::panels::CounterRow| {
        (format!("counter {} {}", x.title, x.labels), x.value)
    };
    c.rows(
        "counters",
        &keys(direct.counters.iter().map(row)),
        &keys(remote.counters.iter().map(row)),
        0.05,
        10.0,
    );
    let row = |x: &watchdeck::derive::panels::CounterRow| {
        (
            format!("counter {} {} /s", x.title, x.labels),
            x.rate_per_s.unwrap_or(f64::NAN),
        )
    };
    c.rows(
        "counter rates",
        &keys(direct.counters.iter().map(row)),
        &keys(remote.counters.iter().map(row)),
        0.5,
        1.0,
    );
    let row = |x: &watchdeck::derive::panels::DiskRow| (format!("disk {}", x.label), x.used_ratio);
    c.rows(
        "disks",
        &keys(direct.disks.iter().map(row)),
        &keys(remote.disks.iter().map(row)),
        0.0,
        0.02,
    );
    if direct.status != remote.status {
        c.bad.push(format!(
            "{}: status {} vs {}",
            direct.name, direct.status, remote.status
        ));
    }
    c.bad
}

fn find<'a>(s: &'a Snapshot, name: &str) -> &'a TargetPanels {
    s.targets
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| {
            panic!(
                "no target {name}; have {:?}",
                s.targets.iter().map(|t| &t.name).collect::<Vec<_>>()
            )
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_presets_panels_agree_between_promql_and_direct_scraping() {
    let fleet = Fleet::start(Scenario::Calm, None)
        .await
        .expect("demo fleet");
    let prom = prom::start_prometheus(&scrape_config(&fleet)).await;
    let presets = ["community-node", "overlay", "mail", "rest-api"];
    let text = format!(
        "{}{}",
        fleet.config_toml(Duration::from_secs(1)),
        fleet_sections(&prom.base, &presets)
    );
    let config = Config::parse(&text, None, &fleet.env()).expect("config");
    // Prometheus needs a window of samples before its rates mean anything.
    wait_for_prometheus(
        &prom.base,
        "Prometheus to scrape all six for 12 s",
        "count(count_over_time(up[15s]) >= 12)",
        |r| {
            r.first()
                .and_then(|x| x["value"][1].as_str()?.parse::<f64>().ok())
                .is_some_and(|n| n >= 6.0)
        },
    )
    .await;
    let opts = snapshot::Options {
        rounds: 12,
        format: OutputFormat::Json,
        window_ms: 10_000,
    };
    let mut rounds: Vec<Snapshot> = Vec::new();
    let s = snapshot::run(&config, &opts, |r| rounds.push(r.clone()))
        .await
        .expect("snapshot");
    assert_eq!(s.fleets.len(), 4, "{:?}", s.fleets);
    for f in &s.fleets {
        assert_eq!(f.error, None, "fleet {}", f.name);
        assert!(f.notes.is_empty(), "fleet {}: {:?}", f.name, f.notes);
        assert!(f.instances >= 1 && f.up == f.instances, "{f:?}");
    }
    let mut report = String::new();
    let mut problems = Vec::new();
    for t in &fleet.targets {
        let direct = find(&s, &t.name);
        let remote = find(&s, &format!("{}-p", t.name));
        assert_eq!(
            remote.fleet.as_deref(),
            Some(format!("prom-{}", t.preset).as_str())
        );
        assert_eq!(direct.preset, remote.preset);
        let _ = writeln!(report, "{} ({})", t.name, t.preset);
        let recent: Vec<(&TargetPanels, &TargetPanels)> = rounds[rounds.len().saturating_sub(6)..]
            .iter()
            .map(|r| (find(r, &t.name), find(r, &format!("{}-p", t.name))))
            .collect();
        problems.extend(compare(direct, recent, remote, &mut report));
    }
    println!("{report}");
    quantiles_match_the_stores(&prom.base).await;
    assert!(
        problems.is_empty(),
        "panels disagree:\n{}\n\n{report}",
        problems.join("\n")
    );
    drop(prom);
    fleet.shutdown().await;
}

/// A proxy in front of a real Prometheus that breaks chosen queries the way stores do: an
/// execution error, a partial answer with a warning, an answer too slow for the deadline.
async fn breaking_proxy(upstream: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let client = client.clone();
            let upstream = upstream.clone();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let decoded = percent_decode(&path);
                let body = if decoded.contains("webhook_ack_latency") {
                    r#"{"status":"error","errorType":"execution","error":"query timed out in expression evaluation"}"#.to_owned()
                } else {
                    if decoded.contains("eventsub_ingress") {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                    }
                    let got = match client.get(format!("{upstream}{path}")).send().await {
                        Ok(r) => r.text().await.ok(),
                        Err(_) => None,
                    };
                    let Some(text) = got else {
                        let reply = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 11\r\nConnection: close\r\n\r\nbad gateway";
                        let _ = sock.write_all(reply.as_bytes()).await;
                        return;
                    };
                    if decoded.contains("sse_clients") {
                        let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
                        v["warnings"] =
                            serde_json::json!(["store eu-1 did not answer: partial response"]);
                        v.to_string()
                    } else {
                        text
                    }
                };
                let status = if body.contains("\"status\":\"error\"") {
                    "422 Unprocessable Entity"
                } else {
                    "200 OK"
                };
                let reply = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[allow(clippy::too_many_lines)] // one scenario: the proxy's three faults, check, the store gone
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_panel_fails_alone_in_plain_words_and_check_says_so() {
    let fleet = Fleet::start(Scenario::Calm, None)
        .await
        .expect("demo fleet");
    let prom = prom::start_prometheus(&scrape_config(&fleet)).await;
    let proxy = breaking_proxy(prom.base.clone()).await;
    let text = format!(
        "[[fleet]]\nname = \"ov\"\nurl = \"{proxy}\"\npreset = \"overlay\"\nselector = 'job=\"overlay\"'\n\
         interval = \"2s\"\ntimeout = \"1s\"\nwindow = \"10s\"\n"
    );
    let config = Config::parse(&text, None, &|_| None).expect("config");
    wait_for_prometheus(
        &prom.base,
        "Prometheus to scrape the overlay",
        "count_over_time(up{job=\"overlay\"}[15s]) >= 3",
        |r| !r.is_empty(),
    )
    .await;
    let opts = snapshot::Options {
        rounds: 1,
        format: OutputFormat::Text,
        window_ms: 10_000,
    };
    let s = snapshot::run(&config, &opts, |_| {})
        .await
        .expect("snapshot");
    let f = &s.fleets[0];
    assert_eq!(
        (f.instances, f.up, f.error.as_deref()),
        (1, 1, None),
        "{f:?}"
    );
    let notes = f.notes.join("\n");
    assert!(
        notes.contains("Latency \"Webhook ACK\"")
            && notes.contains(
                "rejected the query (execution): query timed out in expression evaluation"
            ),
        "{notes}"
    );
    assert!(
        notes.contains("SSE \"SSE clients\": partial answer: store eu-1 did not answer"),
        "{notes}"
    );
    assert!(
        notes.contains("Counters \"EventSub ingress\"") && notes.contains("timed out"),
        "{notes}"
    );
    // The rest of the panels are there; the failed ones are empty, the partial one is shown.
    let t = &s.targets[0];
    assert!(
        t.latency.iter().all(|l| l.title != "Webhook ACK"),
        "{:?}",
        t.latency
    );
    assert!(t
        .latency
        .iter()
        .any(|l| l.title == "SSE broadcast" && l.p95.is_finite()));
    assert!(t.sse.iter().any(|g| g.labels == "overlay" && g.value > 0.0));
    assert!(t.counters.iter().all(|c| c.title != "EventSub ingress"));
    assert!(t.counters.iter().any(|c| c.title == "SSE ring misses"));
    let text = snapshot::render_text(&s);
    assert!(
        text.contains("FLEETS (promql)")
            && text.contains("query timed out in expression evaluation"),
        "{text}"
    );

    // `check` cannot vouch for panels it could not read: exit 2, the reasons in the report.
    let mut out = Vec::new();
    let opts = watchdeck::front::check::Options {
        checklist: None,
        format: watchdeck::front::check::Format::Json,
        operator: "test".into(),
        reports_dir: None,
        window_ms: 10_000,
    };
    let code = watchdeck::front::check::run(&config, &opts, &mut out)
        .await
        .expect("check");
    let report = String::from_utf8(out).expect("utf8");
    assert_eq!(code, 2, "{report}");
    assert!(
        report.contains("fleet/ov") && report.contains("Webhook ACK"),
        "{report}"
    );

    // The store gone: every instance is down, with the store's error, and nothing is lost.
    drop(prom);
    let s = snapshot::run(
        &config,
        &snapshot::Options {
            rounds: 1,
            format: OutputFormat::Text,
            window_ms: 10_000,
        },
        |_| {},
    )
    .await
    .expect("snapshot");
    let f = &s.fleets[0];
    assert!(
        f.error
            .as_deref()
            .is_some_and(|e| e.contains("Prometheus at")),
        "{f:?}"
    );
    fleet.shutdown().await;
}

/// Runs the cockpit's model on the collectors of `config` until `done` says the screen is
/// ready (or 30 s pass), and returns the screen as text.
async fn cockpit_screen(
    config: &Config,
    done: impl Fn(&str, &watchdeck::app::model::Model) -> bool,
) -> String {
    use watchdeck::app::update::{update, Msg};
    let opts = watchdeck::front::cockpit::Options {
        theme: Some("monochrome".into()),
        mouse: true,
        read_only: false,
        bell: false,
    };
    let mut m = watchdeck::front::cockpit::model(config, &opts).expect("model");
    m.size = (200, 72);
    let mut collector = watchdeck::source::Collector::start(config, None).expect("collector");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut text = String::new();
    while std::time::Instant::now() < deadline {
        let Ok(Some(obs)) = tokio::time::timeout(Duration::from_secs(5), collector.rx.recv()).await
        else {
            continue;
        };
        m.now_ms = watchdeck::obs::now_ms();
        update(&mut m, Msg::Observation(Box::new(obs)));
        text = screen::render(&m);
        if done(&text, &m) {
            return text;
        }
    }
    panic!("the screen never got there:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cockpit_groups_a_fleet_by_job_with_backfilled_sparklines_and_its_problems() {
    let fleet = Fleet::start(Scenario::Calm, None)
        .await
        .expect("demo fleet");
    let prom = prom::start_prometheus(&scrape_config(&fleet)).await;
    let proxy = breaking_proxy(prom.base.clone()).await;
    let mut text = fleet_sections(&prom.base, &["community-node"]);
    // The overlay through the breaking proxy: its Webhook ACK panel fails.
    let _ = write!(
        text,
        "\n[[fleet]]\nname = \"ov\"\nurl = \"{proxy}\"\npreset = \"overlay\"\nselector = 'job=\"overlay\"'\n\
         interval = \"2s\"\ntimeout = \"1s\"\nwindow = \"10s\"\nname_label = \"wd_name\"\n"
    );
    let config = Config::parse(&text, None, &|_| None).expect("config");
    // Prometheus gathers some history first, for the backfill to show: 8 s of the overlay's
    // series (nine scrapes at 1 s).
    prom::eventually(
        "8 s of the overlay's history in Prometheus",
        Duration::from_secs(60),
        || async {
            let now = format!("{:.3}", watchdeck::obs::now_ms() as f64 / 1000.0);
            let counts = instant_at(
                &prom.base,
                "count_over_time(sse_clients{job=\"overlay\"}[1m])",
                &now,
            )
            .await;
            counts
                .iter()
                .filter_map(|s| s["value"][1].as_str()?.parse::<f64>().ok())
                .any(|n| n >= 9.0)
                .then_some(())
        },
    )
    .await;
    // The SSE row of the overlay gets its sparkline from the backfill: more points than the
    // fleet has had rounds.
    let sse_bars = |s: &str| {
        s.lines()
            .find(|l| l.contains("overlay-p   overlay "))
            .map_or(0, |l| l.chars().filter(|c| ('▁'..='█').contains(c)).count())
    };
    let screen = cockpit_screen(&config, |s, m| {
        let rounds = m
            .store
            .fleets
            .iter()
            .find(|f| f.name == "ov")
            .map_or(0, |f| f.rounds);
        s.contains("overlay-p")
            && s.contains("cn-index-p")
            && s.contains("query timed out")
            && sse_bars(s) >= rounds as usize + 3
    })
    .await;
    assert!(
        screen.contains("── prom-community-node · job community-node · 3/3 up · promql"),
        "{screen}"
    );
    assert!(
        screen.contains("── ov · job overlay · 1/1 up · promql"),
        "{screen}"
    );
    assert!(
        screen.contains(
            "⚠ Latency \"Webhook ACK\": rejected the query (execution): query timed out in expression evaluation"
        ),
        "{screen}"
    );
    assert!(
        screen.contains("6/6 targets up") || screen.contains("4/4 targets up"),
        "{screen}"
    );
    drop(prom);
    fleet.shutdown().await;
}

/// A fleet round as the poller sends it: every instance up, one SSE row each.
fn round(n: u32, at_ms: i64, instances: &[(&str, &str)]) -> watchdeck::obs::Observation {
    use watchdeck::obs::fleet::{FleetRound, GaugeValue, InstanceValues, PanelKind};
    watchdeck::obs::Observation::Fleet(Box::new(FleetRound {
        fleet: 0,
        round: n,
        at_ms,
        error: None,
        notes: Vec::new(),
        queries: 3,
        instances: instances
            .iter()
            .map(|(job, inst)| InstanceValues {
                job: (*job).into(),
                instance: (*inst).into(),
                up: true,
                scraped_ms: Some(at_ms - 500),
                gauges: vec![GaugeValue {
                    kind: PanelKind::Sse,
                    title: "SSE clients".into(),
                    labels: "overlay".into(),
                    value: 10.0,
                }],
                ..InstanceValues::default()
            })
            .collect(),
    }))
}

#[test]
fn instances_that_leave_discovery_leave_the_screen_and_new_ones_join_their_group() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use watchdeck::app::model::View;
    use watchdeck::app::update::{update, Msg};
    let config = Config::parse(
        "[[fleet]]\nname = \"ov\"\nurl = \"http://127.0.0.1:9\"\npreset = \"overlay\"\n",
        None,
        &|_| None,
    )
    .expect("config");
    let opts = watchdeck::front::cockpit::Options {
        theme: Some("monochrome".into()),
        mouse: true,
        read_only: false,
        bell: false,
    };
    let mut m = watchdeck::front::cockpit::model(&config, &opts).expect("model");
    m.size = (160, 48);
    let now = watchdeck::obs::now_ms();
    m.now_ms = now;
    let obs = round(1, now, &[("web", "b:1"), ("web", "d:1"), ("api", "z:1")]);
    update(&mut m, Msg::Observation(Box::new(obs)));
    let screen = screen::render(&m);
    assert!(screen.contains("3/3 targets up"), "{screen}");
    // d:1 leaves `up` (a replaced pod), a:1 and c:1 join the web job.
    m.now_ms = now + 5000;
    let obs = round(
        2,
        now + 5000,
        &[
            ("web", "a:1"),
            ("web", "b:1"),
            ("web", "c:1"),
            ("api", "z:1"),
        ],
    );
    update(&mut m, Msg::Observation(Box::new(obs)));
    let screen = screen::render(&m);
    assert!(
        screen.contains("4/4 targets up"),
        "gone instances are not counted:\n{screen}"
    );
    assert!(
        !screen.contains("d:1"),
        "a gone instance stays on screen:\n{screen}"
    );
    assert_eq!(
        screen.matches("── ov · job web · 3/3 up").count(),
        1,
        "one heading per job, the newcomers under it:\n{screen}"
    );
    assert!(screen.contains("1 left the store's discovery"), "{screen}");
    let order: Vec<usize> = screen
        .lines()
        .filter_map(|l| {
            ["a:1", "b:1", "c:1", "z:1"]
                .iter()
                .position(|n| l.contains(&format!("● {n}")))
        })
        .collect();
    assert_eq!(
        order,
        vec![3, 0, 1, 2],
        "jobs then names, in order:\n{screen}"
    );
    // The second row of the overview is b:1, whatever the order targets were added in.
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)),
    );
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)),
    );
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    let View::Detail { target } = m.view else {
        panic!("Enter did not drill in: {:?}", m.view)
    };
    assert_eq!(m.shown.targets[target].name, "b:1");
}
