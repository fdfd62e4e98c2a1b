//! End-to-end tests of the demo fleet over real loopback HTTP: exposition shape and names per
//! preset, health shapes per scenario, monotone counters, and each scripted incident.
//!
//! The exposition is read with a small local splitter because label values such as
//! `/v1/users/{id}` contain braces, which `prometheus-parse` drops.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::Value;
use watchdeck::demo::{DemoTarget, Fleet, Scenario};

const METRICS_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

// ---------------------------------------------------------------------------------------------
// A minimal exposition reader.

#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

impl Sample {
    fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Identity of the series: name and labels in order.
    fn key(&self) -> String {
        format!("{}{:?}", self.name, self.labels)
    }
}

#[derive(Debug, Default)]
struct Scrape {
    help: HashSet<String>,
    types: HashMap<String, String>,
    samples: Vec<Sample>,
}

fn parse(text: &str) -> Scrape {
    let mut out = Scrape::default();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().expect("HELP has a name");
            assert!(
                out.help.insert(name.to_owned()),
                "duplicate HELP for {name}"
            );
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let name = parts.next().expect("TYPE has a name");
            let kind = parts.next().expect("TYPE has a kind");
            assert!(
                out.types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "duplicate TYPE for {name}"
            );
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.samples.push(parse_sample(line));
    }
    out
}

fn parse_sample(line: &str) -> Sample {
    let name_end = line
        .find(['{', ' '])
        .unwrap_or_else(|| panic!("no value in {line:?}"));
    let name = line[..name_end].to_owned();
    let mut labels = Vec::new();
    let mut rest = &line[name_end..];
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices();
        loop {
            let mut key = String::new();
            let mut closed_at = None;
            for (i, c) in chars.by_ref() {
                match c {
                    '=' => break,
                    '}' if key.is_empty() => {
                        closed_at = Some(i);
                        break;
                    }
                    c => key.push(c),
                }
            }
            if let Some(i) = closed_at {
                rest = &body[i + 1..];
                break;
            }
            assert_eq!(
                chars.next().map(|c| c.1),
                Some('"'),
                "label value must be quoted in {line:?}"
            );
            let mut value = String::new();
            let mut escaped = false;
            for (_, c) in chars.by_ref() {
                match (escaped, c) {
                    (true, 'n') => {
                        value.push('\n');
                        escaped = false;
                    }
                    (true, c) => {
                        value.push(c);
                        escaped = false;
                    }
                    (false, '\\') => escaped = true,
                    (false, '"') => break,
                    (false, c) => value.push(c),
                }
            }
            labels.push((key, value));
            match chars.next() {
                Some((_, ',')) => {}
                Some((i, '}')) => {
                    rest = &body[i + 1..];
                    break;
                }
                other => panic!("bad label list in {line:?}: {other:?}"),
            }
        }
    }
    let raw = rest.trim().split(' ').next().expect("a value");
    let value = match raw {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v
            .parse()
            .unwrap_or_else(|e| panic!("bad value {v:?} in {line:?}: {e}")),
    };
    Sample {
        name,
        labels,
        value,
    }
}

impl Scrape {
    fn find<'a>(
        &'a self,
        name: &'a str,
        want: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples
            .iter()
            .filter(move |s| s.name == name && want.iter().all(|(k, v)| s.label(k) == Some(v)))
    }

    fn value(&self, name: &str, want: &[(&str, &str)]) -> f64 {
        let mut hits = self.find(name, want);
        let first = hits
            .next()
            .unwrap_or_else(|| panic!("no sample {name}{want:?}"));
        assert!(hits.next().is_none(), "{name}{want:?} is ambiguous");
        first.value
    }

    fn sum(&self, name: &str, want: &[(&str, &str)]) -> f64 {
        self.find(name, want).map(|s| s.value).sum()
    }

    /// The family a sample line belongs to, per its TYPE.
    fn family_of(&self, sample: &str) -> Option<String> {
        if self.types.contains_key(sample) {
            return Some(sample.to_owned());
        }
        ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
            let base = sample.strip_suffix(suffix)?;
            (self.types.get(base).map(String::as_str) == Some("histogram")).then(|| base.to_owned())
        })
    }

    /// `(le, cumulative count)` of one histogram series, summed over series matching `want`.
    fn buckets(&self, name: &str, want: &[(&str, &str)]) -> Vec<(f64, f64)> {
        let mut by_le: Vec<(f64, f64)> = Vec::new();
        for s in self
            .find(&format!("{name}_bucket"), want)
            .collect::<Vec<_>>()
        {
            let le: f64 = match s.label("le").expect("bucket has le") {
                "+Inf" => f64::INFINITY,
                v => v.parse().expect("numeric le"),
            };
            match by_le.iter_mut().find(|(l, _)| l.total_cmp(&le).is_eq()) {
                Some(entry) => entry.1 += s.value,
                None => by_le.push((le, s.value)),
            }
        }
        by_le.sort_by(|a, b| a.0.total_cmp(&b.0));
        by_le
    }
}

/// `histogram_quantile` over the increase of a histogram between two scrapes.
fn quantile_between(q: f64, before: &Scrape, after: &Scrape, name: &str) -> f64 {
    let (b0, b1) = (before.buckets(name, &[]), after.buckets(name, &[]));
    assert_eq!(b0.len(), b1.len());
    let deltas: Vec<(f64, f64)> = b0.iter().zip(&b1).map(|(x, y)| (y.0, y.1 - x.1)).collect();
    let total = deltas.last().expect("buckets").1;
    assert!(total > 0.0, "no {name} observations between the scrapes");
    let rank = q * total;
    let mut prev = (0.0, 0.0);
    for &(le, count) in &deltas {
        if count >= rank {
            if le.is_infinite() {
                return prev.0;
            }
            return prev.0 + (le - prev.0) * (rank - prev.1) / (count - prev.1);
        }
        prev = (le, count);
    }
    unreachable!("the +Inf bucket holds every observation")
}

#[test]
fn splitter_reads_braces_and_escapes() {
    let s = parse_sample(r#"m{route="/v1/users/{id}",x="a\"b\\c}",le="+Inf"} 7"#);
    assert_eq!(s.label("route"), Some("/v1/users/{id}"));
    assert_eq!(s.label("x"), Some("a\"b\\c}"));
    assert!((s.value - 7.0).abs() < f64::EPSILON);
    assert!(parse_sample("up 1").labels.is_empty());
    let q = quantile_between(
        0.5,
        &parse("# TYPE h histogram\nh_bucket{le=\"1\"} 0\nh_bucket{le=\"2\"} 0\nh_bucket{le=\"+Inf\"} 0\n"),
        &parse("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 4\nh_bucket{le=\"+Inf\"} 4\n"),
        "h",
    );
    assert!((q - 1.0).abs() < 1e-9, "{q}");
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers.

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
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

async fn scrape(http: &reqwest::Client, t: &DemoTarget) -> Scrape {
    let resp = http
        .get(&t.metrics_url)
        .send()
        .await
        .expect("metrics request");
    assert_eq!(resp.status(), 200, "{}", t.metrics_url);
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_eq!(ct.as_deref(), Some(METRICS_TYPE));
    parse(&resp.text().await.expect("metrics body"))
}

async fn get(http: &reqwest::Client, url: &str) -> (u16, String) {
    let resp = http
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

async fn health(http: &reqwest::Client, fleet: &Fleet, name: &str, path: &str) -> (u16, Value) {
    let t = target(fleet, name);
    let url = t
        .health_urls
        .iter()
        .find(|u| u.ends_with(path))
        .unwrap_or_else(|| panic!("{name} has no {path}"));
    let (status, body) = get(http, url).await;
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url} is not JSON ({e}): {body}")),
    )
}

/// Every name metrics.md lists for the preset of `target` (histograms by family name).
fn expected_names(target: &str) -> Vec<&'static str> {
    let community = [
        "outbox_backlog",
        "outbox_consumer_batches_total",
        "outbox_consumer_processing_duration_seconds",
        "outbox_consumer_batch_size",
        "http_requests_total",
        "http_request_duration_seconds",
        "process_resident_memory_bytes",
    ];
    let disk = [
        "node_filesystem_size_bytes",
        "node_filesystem_avail_bytes",
        "node_filesystem_free_bytes",
    ];
    let mut names: Vec<&'static str> = match target {
        "cn-relay" | "cn-user-api" | "cn-index" => community.to_vec(),
        "overlay" => vec![
            "sse_clients",
            "sse_broadcast_latency_seconds",
            "sse_ring_miss_total",
            "webhook_ack_latency_seconds",
            "eventsub_ingress_total",
            "eventsub_invalid_signature_total",
            "oauth_validate_failures_total",
            "db_ttl_deleted_total",
            "db_checkpoint_seconds",
        ],
        "mail" => vec![
            "mairust_smtp_connections_total",
            "mairust_smtp_messages_total",
            "mairust_smtp_errors_total",
            "mairust_smtp_duration_seconds",
            "mairust_api_duration_seconds",
            "mairust_api_requests_total",
            "mairust_hook_calls_total",
            "mairust_plugin_errors_total",
            "mairust_queue_length",
            "mairust_storage_bytes",
            "mairust_storage_limit_bytes",
        ],
        "rest-api" => vec![
            "http_requests_total",
            "http_request_duration_seconds",
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "nodejs_heap_size_used_bytes",
            "db_pool_connections",
            "db_pool_max_connections",
        ],
        other => panic!("unexpected target {other}"),
    };
    match target {
        "cn-relay" => {
            let relay = [
                "ws_connections",
                "ws_req_total",
                "ws_event_total",
                "ingest_received_total",
                "ingest_rejected_total",
            ];
            names.extend(relay);
            names.extend(disk);
        }
        "cn-user-api" => names.extend(["suggest_stage_a_latency_ms", "suggest_stage_b_latency_ms"]),
        "overlay" => names.extend(disk),
        _ => {}
    }
    names
}

// ---------------------------------------------------------------------------------------------
// Shape.

#[tokio::test]
async fn every_target_serves_its_preset_metrics() {
    let fleet = Fleet::start(Scenario::Calm, None)
        .await
        .expect("fleet starts");
    let http = client();
    let names: Vec<&str> = fleet.targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "cn-relay",
            "cn-user-api",
            "cn-index",
            "overlay",
            "mail",
            "rest-api"
        ]
    );
    for t in &fleet.targets {
        let s = scrape(&http, t).await;
        for name in expected_names(&t.name) {
            assert!(s.help.contains(name), "{}: no HELP for {name}", t.name);
            assert!(s.types.contains_key(name), "{}: no TYPE for {name}", t.name);
            let sample = if s.types[name] == "histogram" {
                format!("{name}_count")
            } else {
                name.to_owned()
            };
            assert!(
                s.find(&sample, &[]).next().is_some(),
                "{}: no samples of {name}",
                t.name
            );
        }
        for sample in &s.samples {
            let family = s.family_of(&sample.name);
            let family =
                family.unwrap_or_else(|| panic!("{}: {} has no TYPE", t.name, sample.name));
            assert!(s.help.contains(&family), "{}: {family} has no HELP", t.name);
            assert!(
                sample.value.is_finite() && sample.value >= 0.0,
                "{}: {sample:?}",
                t.name
            );
        }
        check_histograms(&t.name, &s);
    }

    fleet.shutdown().await;
}

#[tokio::test]
async fn labels_are_as_documented() {
    let fleet = Fleet::start(Scenario::Calm, None)
        .await
        .expect("fleet starts");
    let http = client();
    let index = scrape(&http, target(&fleet, "cn-index")).await;
    index.value(
        "outbox_backlog",
        &[("service", "cn-index"), ("consumer", "index-v1")],
    );
    let relay = scrape(&http, target(&fleet, "cn-relay")).await;
    for consumer in ["moderation-v1", "trust-v1"] {
        relay.value(
            "outbox_backlog",
            &[("service", "cn-relay"), ("consumer", consumer)],
        );
        for result in ["success", "error"] {
            let labels = [
                ("service", "cn-relay"),
                ("consumer", consumer),
                ("result", result),
            ];
            relay.value("outbox_consumer_batches_total", &labels);
            relay.value("outbox_consumer_processing_duration_seconds_count", &labels);
        }
    }
    for reason in ["invalid", "ratelimit", "auth", "consent", "quota", "other"] {
        relay.value("ingest_rejected_total", &[("reason", reason)]);
    }
    for source in ["iroh", "ws"] {
        relay.value("ingest_received_total", &[("source", source)]);
    }
    for mount in ["/", "/var/lib/postgresql"] {
        relay.value("node_filesystem_avail_bytes", &[("mountpoint", mount)]);
    }
    let user = scrape(&http, target(&fleet, "cn-user-api")).await;
    user.value(
        "outbox_backlog",
        &[("service", "cn-user-api"), ("consumer", "notify-v1")],
    );
    user.value(
        "suggest_stage_b_latency_ms_count",
        &[("service", "cn-user-api")],
    );
    assert!(user
        .find(
            "http_requests_total",
            &[
                ("service", "cn-user-api"),
                ("route", "/v1/users/{id}"),
                ("method", "GET")
            ]
        )
        .any(|s| s.label("status") == Some("200")));
    user.value(
        "http_request_duration_seconds_count",
        &[("route", "/v1/search"), ("method", "GET")],
    );
    let overlay = scrape(&http, target(&fleet, "overlay")).await;
    for aud in ["overlay", "dashboard", "tap"] {
        overlay.value("sse_clients", &[("aud", aud)]);
    }
    for ty in [
        "channel.follow",
        "channel.subscribe",
        "channel.cheer",
        "stream.online",
    ] {
        overlay.value("eventsub_ingress_total", &[("type", ty)]);
    }
    for table in ["event_raw", "command_log"] {
        overlay.value("db_ttl_deleted_total", &[("table", table)]);
    }
    overlay.value(
        "node_filesystem_size_bytes",
        &[("mountpoint", "/var/lib/overlay")],
    );
    let rest = scrape(&http, target(&fleet, "rest-api")).await;
    assert!(rest
        .find("http_requests_total", &[])
        .all(|s| s.label("service").is_none()
            && s.label("method").is_some()
            && s.label("route").is_some()
            && s.label("status").is_some()));
    rest.value("db_pool_connections", &[("state", "active")]);
    rest.value("db_pool_connections", &[("state", "idle")]);
    fleet.shutdown().await;
}

/// Buckets are cumulative in `le`, end in `+Inf`, and `+Inf` equals `_count`.
fn check_histograms(target: &str, s: &Scrape) {
    for (family, _) in s.types.iter().filter(|(_, k)| *k == "histogram") {
        for count in s.find(&format!("{family}_count"), &[]) {
            let want: Vec<(&str, &str)> = count
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let bucket_name = format!("{family}_bucket");
            let buckets: Vec<&Sample> = s
                .find(&bucket_name, &want)
                .filter(|b| b.labels.len() == want.len() + 1)
                .collect();
            assert!(
                buckets.len() >= 2,
                "{target}: {family}{want:?} has too few buckets"
            );
            assert!(
                buckets.windows(2).all(|w| w[0].value <= w[1].value),
                "{target}: {family} not cumulative"
            );
            let last = buckets.last().expect("buckets");
            assert_eq!(last.label("le"), Some("+Inf"), "{target}: {family}");
            assert!(
                (last.value - count.value).abs() < f64::EPSILON,
                "{target}: {family} +Inf != _count"
            );
            let sum_name = format!("{family}_sum");
            let sum = s
                .find(&sum_name, &want)
                .filter(|x| x.labels.len() == want.len())
                .count();
            assert_eq!(sum, 1, "{target}: {family}{want:?} has no single _sum");
        }
    }
}

#[tokio::test]
async fn index_page_unknown_paths_and_methods() {
    let fleet = Fleet::start(Scenario::Calm, None)
        .await
        .expect("fleet starts");
    let http = client();
    for t in &fleet.targets {
        let base = t.metrics_url.trim_end_matches("/metrics");
        let (status, body) = get(&http, &format!("{base}/")).await;
        assert_eq!(status, 200);
        assert!(
            body.contains(&t.name) && body.contains("/metrics"),
            "{body}"
        );
        for url in &t.health_urls {
            let path = url.trim_start_matches(base);
            assert!(
                body.contains(path),
                "index of {} does not list {path}",
                t.name
            );
        }
        assert_eq!(get(&http, &format!("{base}/nope")).await.0, 404);
        let head = http.head(&t.metrics_url).send().await.expect("HEAD");
        assert_eq!(head.status(), 200);
        assert!(head.bytes().await.expect("HEAD body").is_empty());
        let post = http.post(&t.metrics_url).send().await.expect("POST");
        assert_eq!(post.status(), 405);
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn config_toml_points_at_the_fleet() {
    let fleet = Fleet::start(Scenario::DiskFill, None)
        .await
        .expect("fleet starts");
    let text = fleet.config_toml(Duration::from_secs(1));
    let doc: toml::Value = toml::from_str(&text).expect("config is TOML");
    assert_eq!(doc["environment"].as_str(), Some("demo"));
    assert_eq!(doc["defaults"]["interval"].as_str(), Some("1s"));
    assert_eq!(doc["defaults"]["timeout"].as_str(), Some("800ms"));
    // The backfill reads the incident's past from the fleet's history server; its table
    // follows [defaults], before the targets.
    assert_eq!(doc["history"]["url"].as_str(), fleet.history_url());
    let at = |table: &str| {
        text.find(table)
            .unwrap_or_else(|| panic!("{table}:\n{text}"))
    };
    assert!(
        at("\n[defaults]\n") < at("\n[history]\n") && at("\n[history]\n") < at("\n[[target]]\n")
    );
    let targets = doc["target"].as_array().expect("[[target]]");
    assert_eq!(targets.len(), fleet.targets.len());
    for (t, d) in fleet.targets.iter().zip(targets) {
        assert_eq!(d["name"].as_str(), Some(t.name.as_str()));
        assert_eq!(d["preset"].as_str(), Some(t.preset));
        assert_eq!(d["metrics"].as_str(), Some(t.metrics_url.as_str()));
        let health: Vec<&str> = d["health"]
            .as_array()
            .expect("health list")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(health, t.health_urls);
        let keys: Vec<&str> = d
            .as_table()
            .expect("table")
            .keys()
            .map(String::as_str)
            .collect();
        let extra: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| !["name", "preset", "metrics", "health"].contains(k))
            .collect();
        // Actions the twins really implement: the overlay's SQLite backup, the relay's topics.
        let expected: &[&str] = match t.name.as_str() {
            "overlay" => &["backup"],
            "cn-relay" => &["topics"],
            _ => &[],
        };
        assert_eq!(extra, expected, "{}: {keys:?}", t.name);
    }
    let config = watchdeck::config::Config::parse(&text, None, &fleet.env())
        .expect("the demo config parses with the fleet's token");
    assert!(config.targets.iter().any(|t| t.actions.backup.is_some()));
    let presets: HashSet<&str> = fleet.targets.iter().map(|t| t.preset).collect();
    assert_eq!(
        presets,
        HashSet::from(["community-node", "overlay", "mail", "rest-api"])
    );
    fleet.shutdown().await;
}

#[tokio::test]
async fn ports_are_checked_and_released() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = busy.local_addr().expect("addr").port();
    let err = Fleet::start(Scenario::Calm, Some(port))
        .await
        .expect_err("port is taken");
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse, "{err}");
    let err = Fleet::start(Scenario::Calm, Some(u16::MAX - 2))
        .await
        .expect_err("no room");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");

    let fleet = Fleet::start(Scenario::Calm, None)
        .await
        .expect("fleet starts");
    let url = fleet.targets[0].metrics_url.clone();
    let http = client();
    assert_eq!(get(&http, &url).await.0, 200);
    fleet.shutdown().await;
    assert!(
        http.get(&url).send().await.is_err(),
        "{url} still answers after shutdown"
    );
}

// ---------------------------------------------------------------------------------------------
// Movement and incidents.

/// Scrapes `t` again until some sample moved from `first` (every counter and histogram part
/// checked never to fall on each look); how many counters grew. Panics after 15 s.
async fn until_moved(
    http: &reqwest::Client,
    scenario: Scenario,
    t: &DemoTarget,
    first: &Scrape,
) -> usize {
    let old: HashMap<String, f64> = first.samples.iter().map(|s| (s.key(), s.value)).collect();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let second = scrape(http, t).await;
        let (mut moved, mut grew) = (0, 0);
        for s in &second.samples {
            let family = second.family_of(&s.name).expect("typed");
            let monotone = second.types[&family] == "counter" || s.name != family;
            let Some(prev) = old.get(&s.key()) else {
                continue;
            };
            if monotone {
                assert!(
                    s.value >= *prev,
                    "{scenario}/{}: {} fell from {prev} to {}",
                    t.name,
                    s.key(),
                    s.value
                );
                grew += usize::from(s.value > *prev);
            }
            moved += usize::from((s.value - *prev).abs() > 0.0);
        }
        if moved > 0 {
            return grew;
        }
        assert!(
            Instant::now() < deadline,
            "{scenario}/{}: nothing moved in 15 s",
            t.name
        );
    }
}

#[tokio::test]
async fn counters_never_decrease_in_any_scenario() {
    let http = client();
    for scenario in Scenario::ALL {
        let fleet = Fleet::start(scenario, None).await.expect("fleet starts");
        let mut before = Vec::new();
        let mut grew = 0;
        for t in &fleet.targets {
            before.push(scrape(&http, t).await);
        }
        for (t, first) in fleet.targets.iter().zip(&before) {
            grew += until_moved(&http, scenario, t, first).await;
        }
        assert!(grew > 0, "{scenario}: no counter grew");
        fleet.shutdown().await;
    }
}

#[tokio::test]
async fn health_shapes_when_calm() {
    let fleet = Fleet::start(Scenario::Calm, None)
        .await
        .expect("fleet starts");
    let http = client();
    for name in ["cn-relay", "cn-user-api", "cn-index"] {
        let (status, body) = health(&http, &fleet, name, "/healthz").await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["status"], "ok");
        for dep in ["postgres", "meilisearch"] {
            assert_eq!(body["checks"][dep]["status"], "ok", "{name}: {body}");
            assert!(body["checks"][dep]["latency_ms"].is_u64(), "{name}: {body}");
        }
    }
    let (status, text) = get(&http, &target(&fleet, "overlay").health_urls[0]).await;
    assert_eq!((status, text.as_str()), (200, "ok"));
    for path in ["/health", "/health/ready"] {
        let (status, body) = health(&http, &fleet, "mail", path).await;
        assert_eq!(status, 200, "mail {path}: {body}");
        assert_eq!(body["status"], "healthy");
        assert_eq!(body["checks"]["database"]["status"], "healthy");
        assert!(body["checks"]["database"]["latency_ms"].is_u64());
        assert_eq!(body["checks"]["storage"]["status"], "healthy");
        assert!(body["checks"]["queue"]["length"].is_u64());
    }
    let (status, body) = health(&http, &fleet, "mail", "/health/live").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("healthy")));
    for path in ["/health", "/health/ready", "/health/live"] {
        let (status, body) = health(&http, &fleet, "rest-api", path).await;
        assert_eq!(status, 200, "rest-api {path}: {body}");
        assert_eq!(body["status"], "ok");
        assert_eq!(body["error"], serde_json::json!({}));
        assert_eq!(body["info"], body["details"]);
    }
    let (_, body) = health(&http, &fleet, "rest-api", "/health/ready").await;
    assert_eq!(body["info"]["database"]["status"], "up");
    assert_eq!(body["info"]["redis"]["status"], "up");
    fleet.shutdown().await;
}

#[tokio::test]
async fn dependency_down_fails_mail_database_and_rest_api_redis() {
    let fleet = Fleet::start(Scenario::DependencyDown, None)
        .await
        .expect("fleet starts");
    let http = client();
    for path in ["/health", "/health/ready"] {
        let (status, body) = health(&http, &fleet, "mail", path).await;
        assert_eq!(status, 503, "mail {path}: {body}");
        assert_eq!(body["status"], "unhealthy");
        assert_eq!(body["checks"]["database"]["status"], "unhealthy");
        assert_eq!(body["checks"]["storage"]["status"], "healthy");
    }
    let (status, body) = health(&http, &fleet, "mail", "/health/live").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("healthy")));
    for path in ["/health", "/health/ready"] {
        let (status, body) = health(&http, &fleet, "rest-api", path).await;
        assert_eq!(status, 503, "rest-api {path}: {body}");
        assert_eq!(body["status"], "error");
        assert_eq!(body["error"]["redis"]["status"], "down");
        assert!(body["error"]["redis"]["message"].is_string());
        assert_eq!(body["details"]["redis"]["status"], "down");
        assert_eq!(body["info"]["database"]["status"], "up");
        assert!(body["info"].get("redis").is_none());
    }
    let (status, body) = health(&http, &fleet, "rest-api", "/health/live").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = health(&http, &fleet, "cn-relay", "/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    // The outage shows in the traffic too: 503s on the cached routes.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let rest = scrape(&http, target(&fleet, "rest-api")).await;
        if rest.sum("http_requests_total", &[("status", "503")]) > 0.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no 503 in rest-api's http_requests_total within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn backlog_stall_climbs_while_calm_stays_low() {
    let (calm, stall) = (
        Fleet::start(Scenario::Calm, None)
            .await
            .expect("calm fleet"),
        Fleet::start(Scenario::BacklogStall, None)
            .await
            .expect("stall fleet"),
    );
    let http = client();
    let labels = [("service", "cn-index"), ("consumer", "index-v1")];
    let (c0, s0) = (
        scrape(&http, target(&calm, "cn-index")).await,
        scrape(&http, target(&stall, "cn-index")).await,
    );
    // Until the stalled backlog has climbed by 15 and the calm consumer took a batch; both
    // fleets are read at each look, so what follows compares the same stretch of time.
    let batches = |s: &Scrape| s.sum("outbox_consumer_batches_total", &labels);
    let deadline = Instant::now() + Duration::from_secs(15);
    let (c1, s1) = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (c1, s1) = (
            scrape(&http, target(&calm, "cn-index")).await,
            scrape(&http, target(&stall, "cn-index")).await,
        );
        if s1.value("outbox_backlog", &labels) - s0.value("outbox_backlog", &labels) >= 15.0
            && batches(&c1) > batches(&c0)
        {
            break (c1, s1);
        }
        assert!(
            Instant::now() < deadline,
            "in 15 s the stalled backlog went {} -> {}, the calm consumer's batches {} -> {}",
            s0.value("outbox_backlog", &labels),
            s1.value("outbox_backlog", &labels),
            batches(&c0),
            batches(&c1)
        );
    };

    let (a, b) = (
        s0.value("outbox_backlog", &labels),
        s1.value("outbox_backlog", &labels),
    );
    assert!(b - a >= 15.0, "stalled backlog went {a} -> {b}");
    assert!(
        (batches(&s1) - batches(&s0)).abs() < f64::EPSILON,
        "a stalled consumer took batches"
    );

    let (a, b) = (
        c0.value("outbox_backlog", &labels),
        c1.value("outbox_backlog", &labels),
    );
    assert!(
        a <= 50.0 && b <= 50.0 && b - a < 25.0,
        "calm backlog went {a} -> {b}"
    );
    assert!(
        batches(&c1) > batches(&c0),
        "a calm consumer took no batches"
    );
    calm.shutdown().await;
    stall.shutdown().await;
}

#[tokio::test]
async fn ack_latency_p95_crosses_the_alert_only_in_its_scenario() {
    let (calm, slow) = (
        Fleet::start(Scenario::Calm, None)
            .await
            .expect("calm fleet"),
        Fleet::start(Scenario::AckLatency, None)
            .await
            .expect("ack-latency fleet"),
    );
    let http = client();
    let (c0, s0) = (
        scrape(&http, target(&calm, "overlay")).await,
        scrape(&http, target(&slow, "overlay")).await,
    );
    // Until each has ACKed at least 40 deliveries since the first scrape (a p95 of a few
    // would be noise).
    let acked = |a: &Scrape, b: &Scrape| {
        b.sum("webhook_ack_latency_seconds_count", &[])
            - a.sum("webhook_ack_latency_seconds_count", &[])
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let (c1, s1) = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (c1, s1) = (
            scrape(&http, target(&calm, "overlay")).await,
            scrape(&http, target(&slow, "overlay")).await,
        );
        if acked(&c0, &c1) >= 40.0 && acked(&s0, &s1) >= 40.0 {
            break (c1, s1);
        }
        assert!(
            Instant::now() < deadline,
            "in 30 s only {} (calm) and {} (ack-latency) deliveries were ACKed",
            acked(&c0, &c1),
            acked(&s0, &s1)
        );
    };
    let calm_p95 = quantile_between(0.95, &c0, &c1, "webhook_ack_latency_seconds");
    let slow_p95 = quantile_between(0.95, &s0, &s1, "webhook_ack_latency_seconds");
    assert!(calm_p95 < 0.15, "calm p95 {calm_p95}");
    assert!(slow_p95 > 0.25, "ack-latency p95 {slow_p95}");
    calm.shutdown().await;
    slow.shutdown().await;
}

#[tokio::test]
async fn sse_clients_are_down_to_a_handful_and_the_ring_keeps_missing() {
    // The drop itself happened minutes before launch (tests/it/demo_history.rs reads it back).
    let (calm, drop) = (
        Fleet::start(Scenario::Calm, None)
            .await
            .expect("calm fleet"),
        Fleet::start(Scenario::SseDrop, None)
            .await
            .expect("sse-drop fleet"),
    );
    let http = client();
    let aud = [("aud", "overlay")];
    let first = scrape(&http, target(&drop, "overlay")).await;
    assert!(
        first.value("sse_clients", &aud) <= 10.0,
        "a handful at launch"
    );
    let misses = first.value("sse_ring_miss_total", &[]);
    let calm_first = scrape(&http, target(&calm, "overlay")).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut later = scrape(&http, target(&drop, "overlay")).await;
    while later.value("sse_ring_miss_total", &[]) <= misses {
        assert!(
            std::time::Instant::now() < deadline,
            "ring misses did not grow"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        later = scrape(&http, target(&drop, "overlay")).await;
    }
    assert!(later.value("sse_clients", &aud) <= 10.0);
    let calm_later = scrape(&http, target(&calm, "overlay")).await;
    assert!(calm_later.value("sse_clients", &aud) >= 200.0);
    assert!(
        (calm_later.value("sse_ring_miss_total", &[])
            - calm_first.value("sse_ring_miss_total", &[]))
        .abs()
            < f64::EPSILON
    );
    calm.shutdown().await;
    drop.shutdown().await;
}

#[tokio::test]
async fn disk_fill_has_filled_the_relay_disk_and_most_of_mail_storage() {
    // The fill ran over the minutes before launch (its climb is in the history, see
    // demo::soak_tests and tests/it/demo_history.rs): at launch the disk is full.
    let (calm, fill) = (
        Fleet::start(Scenario::Calm, None)
            .await
            .expect("calm fleet"),
        Fleet::start(Scenario::DiskFill, None)
            .await
            .expect("disk-fill fleet"),
    );
    let http = client();
    let pg = [("mountpoint", "/var/lib/postgresql")];
    let used = |s: &Scrape| {
        let avail = s.value("node_filesystem_avail_bytes", &pg);
        assert!(avail >= 0.0);
        assert!(s.value("node_filesystem_free_bytes", &pg) >= avail);
        1.0 - avail / s.value("node_filesystem_size_bytes", &pg)
    };
    let mail_used = |s: &Scrape| {
        s.value("mairust_storage_bytes", &[]) / s.value("mairust_storage_limit_bytes", &[])
    };

    let relay = scrape(&http, target(&fill, "cn-relay")).await;
    assert!(
        relay.value("node_filesystem_avail_bytes", &pg) <= 0.0,
        "the relay postgres disk is full at launch ({} used)",
        used(&relay)
    );
    let mail_share = mail_used(&scrape(&http, target(&fill, "mail")).await);
    assert!(
        mail_share > 0.9 && mail_share < 1.0,
        "mail storage at {mail_share}"
    );
    // The disk is full, so the relay's postgres check fails.
    let (status, body) = health(&http, &fill, "cn-relay", "/healthz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["checks"]["postgres"]["status"], "fail");
    assert_eq!(body["checks"]["meilisearch"]["status"], "ok");
    // …and stays full.
    let again = scrape(&http, target(&fill, "cn-relay")).await;
    assert!(again.value("node_filesystem_avail_bytes", &pg) <= 0.0);

    let calm_relay = scrape(&http, target(&calm, "cn-relay")).await;
    assert!(used(&calm_relay) < 0.8);
    assert!(mail_used(&scrape(&http, target(&calm, "mail")).await) < 0.9);
    calm.shutdown().await;
    fill.shutdown().await;
}
