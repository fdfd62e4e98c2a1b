//! Real Prometheus and Alertmanager servers for tests: Debian's `prometheus` and
//! `prometheus-alertmanager`, each started on a free loopback port with a temporary config and
//! data directory (never the packages' own services on 9090/9093), killed when dropped.
//!
//! ```ignore
//! use crate::common::prom;
//! ```

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process of ours; killed (and reaped) when dropped, panics included.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The last lines the server logged, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

pub fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    l.local_addr().expect("addr").port()
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts `program` with a config written into a fresh directory and waits for `/-/ready`.
/// A port taken between choosing and binding it makes the process exit: then it tries again.
async fn start(program: &str, config: &str, args: impl Fn(&Path, u16) -> Vec<String>) -> Server {
    assert!(
        have(program),
        "{program} is not installed: apt-get install prometheus prometheus-alertmanager (scripts/test does)"
    );
    let mut last_log = String::new();
    for _attempt in 0..3 {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("config.yml"), config).expect("config");
        let log = dir.path().join("server.log");
        let port = free_port();
        let out = std::fs::File::create(&log).expect("log");
        let child = Command::new(program)
            .args(args(dir.path(), port))
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("spawn");
        let mut server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        let ready = format!("{}/-/ready", server.base);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if server.child.try_wait().expect("try_wait").is_some() {
                break;
            }
            if let Ok(r) = reqwest::get(&ready).await {
                if r.status().is_success() {
                    return server;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        last_log = server.log_tail();
    }
    panic!("{program} did not become ready; its log ends with:\n{last_log}");
}

/// Prometheus with `config` (a scrape config, e.g. `Fleet::prometheus_config`).
pub async fn start_prometheus(config: &str) -> Server {
    start("prometheus", config, |dir, port| {
        vec![
            format!("--config.file={}", dir.join("config.yml").display()),
            format!("--storage.tsdb.path={}", dir.join("data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ]
    })
    .await
}

/// Alertmanager with a single receiver that sends nowhere, and no gossip port.
pub async fn start_alertmanager() -> Server {
    let config = "route:\n  receiver: nowhere\nreceivers:\n  - name: nowhere\n";
    start("prometheus-alertmanager", config, |dir, port| {
        vec![
            format!("--config.file={}", dir.join("config.yml").display()),
            format!("--storage.path={}", dir.join("data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
            // Empty: no gossip port, so nothing collides with another Alertmanager.
            "--cluster.listen-address=".into(),
        ]
    })
    .await
}

/// Posts alerts (a JSON array in Alertmanager API v2's shape) as Prometheus would.
pub async fn post_alerts(base: &str, alerts: &serde_json::Value) {
    let posted = reqwest::Client::new()
        .post(format!("{base}/api/v2/alerts"))
        .header("Content-Type", "application/json")
        .body(alerts.to_string())
        .send()
        .await
        .expect("post alert");
    assert!(posted.status().is_success(), "{:?}", posted.status());
}

/// Polls `check` every 250 ms until it returns Some, or panics after `within`.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
