//! The scaled demo fleet: many instances from one process, each on a port of its own with a
//! simulation of its own, scraped by a real Prometheus (Debian's `prometheus`, started by
//! `common/prom.rs`) with the scrape config the library writes; and `demo serve --instances`.

use crate::common::prom;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use prom::{eventually, start_prometheus};
use serde_json::Value;
use watchdeck::demo::{DemoTarget, Fleet, Scenario, MAX_INSTANCES};

const KINDS: [(&str, &str); 6] = [
    ("cn-relay", "community-node"),
    ("cn-user-api", "community-node"),
    ("cn-index", "community-node"),
    ("overlay", "overlay"),
    ("mail", "mail"),
    ("rest-api", "rest-api"),
];

fn hostport(t: &DemoTarget) -> &str {
    t.metrics_url
        .trim_start_matches("http://")
        .trim_end_matches("/metrics")
}

/// `query` through Prometheus' HTTP API: every series as (labels, value).
async fn instant(base: &str, query: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    let body = reqwest::Client::new()
        .get(format!("{base}/api/v1/query"))
        .query(&[("query", query)])
        .send()
        .await
        .expect("query sent")
        .bytes()
        .await
        .expect("body");
    let v: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["status"], "success", "{query}: {v}");
    v["data"]["result"]
        .as_array()
        .expect("vector")
        .iter()
        .map(|s| {
            let labels = s["metric"]
                .as_object()
                .expect("labels")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect();
            let value = s["value"][1]
                .as_str()
                .and_then(|x| x.parse().ok())
                .expect("value");
            (labels, value)
        })
        .collect()
}

/// The body of a GET of `url`.
async fn text(url: &str) -> String {
    reqwest::get(url)
        .await
        .expect("scrape")
        .text()
        .await
        .expect("body")
}

/// The value of `name{labels}` in a scrape of `url`.
async fn scraped(url: &str, series: &str) -> f64 {
    text(url)
        .await
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in {url}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_every_instance_of_a_scaled_fleet() {
    let n = 60;
    let fleet = Fleet::start_scaled(Scenario::Calm, n)
        .await
        .expect("scaled fleet");
    assert_eq!(fleet.targets.len(), n);
    let prom = start_prometheus(&fleet.prometheus_config(Duration::from_secs(1))).await;

    let up = eventually("every instance up", Duration::from_secs(30), || async {
        let up = instant(&prom.base, "up").await;
        (up.len() == n && up.iter().all(|(_, v)| (*v - 1.0).abs() < f64::EPSILON)).then_some(up)
    })
    .await;
    let by_target: BTreeMap<&str, &BTreeMap<String, String>> = up
        .iter()
        .map(|(labels, _)| (labels["target"].as_str(), labels))
        .collect();
    assert_eq!(by_target.len(), n, "one series per target: {up:?}");
    for t in &fleet.targets {
        let labels = by_target
            .get(t.name.as_str())
            .unwrap_or_else(|| panic!("{} is not scraped", t.name));
        assert_eq!(labels["job"], t.preset, "{}", t.name);
        assert_eq!(labels["instance"], hostport(t), "{}", t.name);
    }
    let jobs: BTreeMap<&str, usize> = up.iter().fold(BTreeMap::new(), |mut m, (l, _)| {
        *m.entry(l["job"].as_str()).or_default() += 1;
        m
    });
    let expected = [
        ("community-node", 30),
        ("mail", 10),
        ("overlay", 10),
        ("rest-api", 10),
    ];
    assert_eq!(jobs, BTreeMap::from(expected));

    // Each instance runs a simulation of its own: its gauges wander apart, and its counters,
    // six hours of simulated history at start, never agree.
    let sse = instant(&prom.base, "sse_clients{aud=\"overlay\"}").await;
    assert_eq!(sse.len(), 10, "{sse:?}");
    let levels: BTreeSet<u64> = sse.iter().map(|(_, v)| *v as u64).collect();
    assert!(
        levels.len() >= 8,
        "overlays share SSE client counts: {sse:?}"
    );
    let follows = instant(
        &prom.base,
        "eventsub_ingress_total{type=\"channel.follow\"}",
    )
    .await;
    let totals: BTreeSet<u64> = follows.iter().map(|(_, v)| *v as u64).collect();
    assert_eq!(totals.len(), 10, "overlays agree on a counter: {follows:?}");

    // Prometheus' value for an instance is the one that instance serves: a counter read there
    // afterwards is at least as high, and far below any other instance's.
    for (labels, value) in &follows {
        let t = fleet
            .targets
            .iter()
            .find(|t| t.name == labels["target"])
            .expect("known target");
        assert_eq!(labels["instance"], hostport(t));
        let now = scraped(
            &t.metrics_url,
            "eventsub_ingress_total{type=\"channel.follow\"}",
        )
        .await;
        let nearest_other = follows
            .iter()
            .filter(|(l, _)| l["target"] != labels["target"])
            .map(|(_, v)| (v - value).abs())
            .fold(f64::INFINITY, f64::min);
        assert!(
            now >= *value && now - value < nearest_other,
            "{}: Prometheus has {value}, the instance now {now}",
            t.name
        );
    }
    drop(prom);
    fleet.shutdown().await;
}

/// The metric families (`# TYPE` lines) a service exposes.
async fn families(metrics_url: &str) -> BTreeSet<String> {
    text(metrics_url)
        .await
        .lines()
        .filter(|l| l.starts_with("# TYPE "))
        .map(str::to_owned)
        .collect()
}

async fn status(url: &str) -> u16 {
    reqwest::get(url).await.expect("request").status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaled_instances_are_named_per_kind_and_play_the_scenario_on_the_first() {
    let fleet = Fleet::start_scaled(Scenario::DependencyDown, 13)
        .await
        .expect("scaled fleet");
    let names: Vec<&str> = fleet.targets.iter().map(|t| t.name.as_str()).collect();
    let mut expected: Vec<String> = Vec::new();
    for i in 0..13 {
        let (kind, preset) = KINDS[i % 6];
        expected.push(format!("{kind}-{:04}", i / 6));
        assert_eq!(fleet.targets[i].preset, preset);
    }
    assert_eq!(names, expected);
    let ports: BTreeSet<&str> = fleet.targets.iter().map(hostport).collect();
    assert_eq!(ports.len(), 13, "every instance on a port of its own");

    let target = |name: &str| {
        fleet
            .targets
            .iter()
            .find(|t| t.name == name)
            .expect("target")
    };
    // dependency-down takes mail-0000's database away; mail-0001 is calm.
    let health = |name: &str| {
        target(name)
            .health_urls
            .iter()
            .find(|u| u.ends_with("/health"))
            .expect("/health")
            .clone()
    };
    assert_eq!(status(&health("mail-0000")).await, 503);
    assert_eq!(status(&health("mail-0001")).await, 200);
    for t in &fleet.targets {
        for url in &t.health_urls {
            if t.name != "mail-0000" && t.name != "rest-api-0000" {
                assert_eq!(status(url).await, 200, "{url} of {}", t.name);
            }
        }
    }
    // Metrics and health only: the relay's topic admin is not there.
    let relay = target("cn-relay-0001");
    let admin = relay.metrics_url.replace("/metrics", "/admin/topics");
    assert_eq!(status(&admin).await, 404);

    // The same families as the normal fleet's services of the same kind.
    let normal = Fleet::start(Scenario::Calm, None).await.expect("fleet");
    for t in &normal.targets {
        let scaled = target(&format!("{}-0001", t.name));
        assert_eq!(
            families(&t.metrics_url).await,
            families(&scaled.metrics_url).await,
            "{}",
            t.name
        );
    }
    normal.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_scaled_fleet_has_one_to_max_instances() {
    for n in [0, MAX_INSTANCES + 1] {
        let err = Fleet::start_scaled(Scenario::Calm, n)
            .await
            .expect_err("refused");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("1 to 5000"), "{err}");
    }
}

fn watchdeck() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_watchdeck"));
    let state = tempfile::tempdir().expect("tempdir").keep();
    c.env("XDG_STATE_HOME", state)
        .env_remove("WATCHDECK_CONFIG");
    c
}

#[test]
fn demo_serve_refuses_bad_instance_counts() {
    for (args, says) in [
        (
            &["--instances", "0"][..],
            "the normal demo fleet has 6 services",
        ),
        (
            &["--instances", "5"],
            "give 6 for the normal fleet, or 7 to 5000",
        ),
        (&["--instances", "5001"], "at most 5000 instances"),
        (&["--instances", "many"], "not a whole number"),
        (
            &["--instances", "12", "--port", "4000"],
            "--port is for the normal fleet",
        ),
        (&["--scrape-interval", "0s"], "at least 1ms"),
    ] {
        let out = watchdeck()
            .args(["demo", "serve"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// The soft and hard `Max open files` of a process.
fn open_files_limits(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("Max open files");
    let mut words = line.split_whitespace().skip(3);
    let mut next = || {
        words
            .next()
            .map_or(u64::MAX, |w| w.parse().unwrap_or(u64::MAX))
    };
    (next(), next())
}

#[test]
fn demo_serve_writes_the_prometheus_config_of_the_scaled_fleet() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("prometheus.yml");
    // Started with a soft limit of 256 open files, too few for 300 listeners: the fleet
    // raises it (to 3 per instance + 1024, within the hard limit) before binding.
    let n = 300;
    let mut child = Command::new("sh")
        .args(["-c", "ulimit -Sn 256 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_watchdeck"))
        .args(["demo", "serve", "--instances", &n.to_string()])
        .args(["--scrape-interval", "2s"])
        .env("XDG_STATE_HOME", dir.path())
        .env_remove("WATCHDECK_CONFIG")
        .arg("--prometheus-config")
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !path.exists() {
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "demo serve exited"
        );
        assert!(Instant::now() < deadline, "no Prometheus config written");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (soft, hard) = open_files_limits(child.id());
    assert_eq!(
        soft,
        hard.min(3 * n + 1024),
        "soft limit {soft}, hard {hard}"
    );
    let yml = std::fs::read_to_string(&path).expect("config");
    let mode = std::fs::metadata(&path)
        .expect("metadata")
        .permissions()
        .mode();
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::TERM,
    )
    .expect("SIGTERM");
    let status = child.wait().expect("wait");
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("stdout");
    assert!(status.success(), "demo serve ended with {status}");
    assert_eq!(mode & 0o777, 0o644);
    assert!(yml.contains("scrape_interval: 2s"), "{yml}");
    for job in ["community-node", "overlay", "mail", "rest-api"] {
        assert!(yml.contains(&format!("- job_name: '{job}'")), "{yml}");
    }
    assert_eq!(
        yml.matches("- targets: ['127.0.0.1:").count(),
        n as usize,
        "{yml}"
    );
    for name in ["cn-relay-0000", "rest-api-0001", "overlay-0049"] {
        assert!(yml.contains(&format!("{{target: '{name}'}}")), "{yml}");
        assert!(stdout.contains(&format!("name = \"{name}\"")), "{stdout}");
    }
    assert_eq!(stdout.matches("[[target]]").count(), n as usize, "{stdout}");
    assert!(stdout.contains("interval = \"2s\""), "{stdout}");
    // No temporary file is left next to the config.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .filter(|f| f.to_string_lossy().contains("prometheus"))
        .collect();
    assert_eq!(left, [std::ffi::OsString::from("prometheus.yml")]);
}
