//! The real binary: exit codes and output of `scrape`, `config` and `snapshot`.

use std::process::Command;

fn watchdeck() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_watchdeck"));
    let state = tempfile::tempdir().expect("tempdir").keep();
    c.env("XDG_STATE_HOME", state)
        .env_remove("WATCHDECK_CONFIG");
    c
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn scrape_lists_every_series_as_json_and_exits_clean() {
    let out = watchdeck()
        .args([
            "scrape",
            &fixture("expo/prometheus_full.txt"),
            "--format",
            "json",
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let samples = v["samples"].as_array().expect("samples");
    assert_eq!(samples.len(), 21);
    let route = samples
        .iter()
        .find(|s| s["labels"]["route"] == "/v1/users/{id}")
        .expect("route template");
    assert_eq!(route["family"], "http_requests_total");
    assert_eq!(route["type"], "counter");
    assert_eq!(route["timestamp_ms"], 1_395_066_363_000_i64);
    assert!(samples.iter().any(|s| s["value"] == "NaN"));
    assert_eq!(v["malformed"].as_array().map(Vec::len), Some(0));
}

#[test]
fn scrape_names_malformed_lines_and_exits_1() {
    let out = watchdeck()
        .args(["scrape", &fixture("expo/malformed.txt")])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("malformed line 3: metric name must start with a letter"),
        "{text}"
    );
    assert!(
        text.contains("4 samples in 1 families, 10 malformed lines"),
        "{text}"
    );
}

#[test]
fn scrape_of_an_unreachable_url_is_a_plain_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let out = watchdeck()
        .args(["scrape", &format!("http://{addr}/metrics")])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("connection refused"), "{err}");
}

#[test]
fn config_check_accepts_the_template_and_names_the_line_of_a_mistake() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.toml");
    let template = watchdeck()
        .args(["config", "template"])
        .output()
        .expect("runs");
    assert!(template.status.success());
    std::fs::write(&good, &template.stdout).expect("write");
    let out = watchdeck()
        .env("CN_TOKEN", "t0ken-value")
        .args(["config", "check"])
        .arg(&good)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[target]]\nname = \"a\"\nmetrics = \"http://127.0.0.1:1/metrics\"\ninterval = \"1s\"\ntimeout = \"5s\"\n",
    )
    .expect("write");
    let out = watchdeck()
        .args(["--config"])
        .arg(&bad)
        .args(["config", "check"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:5"), "{err}");
    assert!(
        err.contains("timeout 5s is longer than interval 1s"),
        "{err}"
    );
}

#[test]
fn snapshot_demo_json_reads_every_target_and_exits_0() {
    let out = watchdeck()
        .args(["snapshot", "--demo", "--format", "json"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let names: Vec<&str> = v["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
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
    assert!(v["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .all(|t| t["status"] == "up"));
}

#[test]
fn snapshot_exits_1_when_a_target_is_down_and_keeps_secrets_out() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[target]]\nname = \"gone\"\nmetrics = \"http://{addr}/metrics\"\ninterval = \"1s\"\n[target.headers]\nAuthorization = \"Bearer ${{SECRET_TOKEN}}\"\n"
        ),
    )
    .expect("write");
    let state = dir.path().join("state");
    let out = watchdeck()
        .env("SECRET_TOKEN", "hunter2-very-secret")
        .env("XDG_STATE_HOME", &state)
        .env("WATCHDECK_LOG", "debug")
        .args(["--config"])
        .arg(&cfg)
        .args(["snapshot"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("gone") && text.contains("down") && text.contains("connection refused"),
        "{text}"
    );
    assert!(!text.contains("hunter2"));
    // The log file exists, recorded the failure, and holds no secret.
    let logs: String = std::fs::read_dir(state.join("watchdeck"))
        .expect("log dir")
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .collect();
    assert!(logs.contains("scrape failed"), "{logs}");
    assert!(!logs.contains("hunter2"), "{logs}");
}
