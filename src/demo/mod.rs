//! The built-in demo fleet: simulated twins of the four kinds of service watchdeck serves,
//! each a real HTTP server on loopback with `/metrics` (Prometheus text 0.0.4) and its health
//! endpoints, named exactly as the presets expect (see `notes/metrics.md`).
//!
//! Values move with wall time (counters grow, histograms fill, gauges wander), and a
//! [`Scenario`] scripts one incident as a paged operator meets it: it began some minutes
//! before launch. Each twin records what its `/metrics` said over the simulated past (and on
//! after launch), and the fleet's history server answers Prometheus range queries over it, so
//! the cockpit's backfill opens on the incident's true past. Operators can try watchdeck and
//! tests can exercise it end to end without real services. Nothing in the product depends on
//! this module.

mod community;
mod disk;
mod history;
mod history_api;
mod mail;
pub mod ops;
mod outbox;
mod overlay;
mod pgtwin;
mod query;
mod release;
mod rest_api;
mod rollout;
mod scaled;
mod scrape;
mod script;
mod server;
mod sim;
#[cfg(test)]
mod soak_tests;
mod topics;
mod traffic;

use std::fmt::{self, Write as _};
use std::io;
use std::net::Ipv4Addr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use server::{Node, Sim};
use sim::Profile;

pub use scaled::{raise_nofile_limit, ScaledFleet, MAX_INSTANCES};
pub use scrape::prometheus_config;

/// The incident the demo fleet plays out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scenario {
    /// Everything healthy and moving.
    #[default]
    Calm,
    /// The `index-v1` consumer on cn-index stalls and its backlog climbs.
    BacklogStall,
    /// Overlay webhook ACK latency p95 rises above 0.2 s.
    AckLatency,
    /// Overlay SSE clients drop sharply.
    SseDrop,
    /// The relay's Postgres disk and mail storage fill up.
    DiskFill,
    /// Mail's database and rest-api's redis are down.
    DependencyDown,
}

impl Scenario {
    /// Every scenario, in the order they are listed to users.
    pub const ALL: [Scenario; 6] = [
        Scenario::Calm,
        Scenario::BacklogStall,
        Scenario::AckLatency,
        Scenario::SseDrop,
        Scenario::DiskFill,
        Scenario::DependencyDown,
    ];

    /// The kebab-case name used by `--scenario`.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Calm => "calm",
            Scenario::BacklogStall => "backlog-stall",
            Scenario::AckLatency => "ack-latency",
            Scenario::SseDrop => "sse-drop",
            Scenario::DiskFill => "disk-fill",
            Scenario::DependencyDown => "dependency-down",
        }
    }

    /// One line for help texts and the index pages.
    pub fn description(self) -> &'static str {
        match self {
            Scenario::Calm => "everything healthy and moving",
            Scenario::BacklogStall => {
                "cn-index consumer index-v1 stalls: its outbox backlog climbs ~20-60/s"
            }
            Scenario::AckLatency => "overlay webhook ACK latency p95 rises above 0.2 s",
            Scenario::SseDrop => "overlay SSE clients fall from hundreds to a handful",
            Scenario::DiskFill => {
                "relay /var/lib/postgresql fills towards full; mail storage passes 90 % of its limit"
            }
            Scenario::DependencyDown => {
                "mail database check fails (503); rest-api redis is down in /health/ready"
            }
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A scenario name that is not one of [`Scenario::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown demo scenario {name:?}; choose one of: {}", scenario_names())]
pub struct UnknownScenario {
    pub name: String,
}

fn scenario_names() -> String {
    Scenario::ALL.map(Scenario::name).join(", ")
}

impl FromStr for Scenario {
    type Err = UnknownScenario;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|sc| sc.name() == s.trim())
            .ok_or_else(|| UnknownScenario { name: s.to_owned() })
    }
}

/// One running demo service, as a config file would name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoTarget {
    pub name: String,
    pub preset: &'static str,
    pub metrics_url: String,
    pub health_urls: Vec<String>,
}

impl DemoTarget {
    /// A service of the fleet served at `base` (`http://127.0.0.1:PORT`).
    fn served(name: String, preset: &'static str, base: &str, node: &Node) -> DemoTarget {
        DemoTarget {
            name,
            preset,
            metrics_url: format!("{base}/metrics"),
            health_urls: node
                .health_paths()
                .iter()
                .map(|p| format!("{base}{p}"))
                .collect(),
        }
    }
}

/// Builds a service's simulation for a scenario and a profile (noise, uptime, load).
type Build = fn(Scenario, &Profile) -> Box<dyn Sim>;

/// The services of the fleet, in port order: name, preset, constructor.
const SERVICES: [(&str, &str, Build); 6] = [
    ("cn-relay", "community-node", community::relay),
    ("cn-user-api", "community-node", community::user_api),
    ("cn-index", "community-node", community::index),
    ("overlay", "overlay", overlay::new),
    ("mail", "mail", mail::new),
    ("rest-api", "rest-api", rest_api::new),
];

/// The environment variable that holds the bearer token of the relay's `/admin/topics` routes.
/// When it is unset or empty, the fleet makes up a token of its own ([`Fleet::admin_token`]).
pub const ADMIN_TOKEN_ENV: &str = "WATCHDECK_DEMO_ADMIN_TOKEN";

/// The token from [`ADMIN_TOKEN_ENV`], or a fresh random one.
fn admin_token() -> String {
    use std::hash::BuildHasher;
    if let Some(t) = std::env::var(ADMIN_TOKEN_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty())
    {
        return t;
    }
    // RandomState is seeded from the OS's randomness per process and per instance; two of
    // them give 128 bits, plenty for a loopback demo.
    let word = || std::collections::hash_map::RandomState::new().hash_one(crate::obs::now_ms());
    format!("demo-{:016x}{:016x}", word(), word())
}

/// The running fleet. Servers stop on [`Fleet::shutdown`] or when the fleet is dropped.
#[derive(Debug)]
pub struct Fleet {
    pub targets: Vec<DemoTarget>,
    scenario: Scenario,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// DSN of the Postgres twin's database, when started with one.
    postgres: Option<String>,
    /// The overlay's SQLite database, releases and backup directories.
    pub ops: ops::Ops,
    /// Bearer token of the relay's `/admin/topics` routes.
    admin_token: String,
    /// The overlay twin's restart endpoint, for the demo's rollback.
    restart_url: Option<String>,
    /// The REST API twin's base URL, for the demo's `kubectl` stand-in.
    rollout_url: Option<String>,
    /// `http://127.0.0.1:PORT` of the history server.
    history_url: Option<String>,
}

impl Fleet {
    /// Binds every service on 127.0.0.1; `base_port` None = OS-chosen ports, Some(p) = p, p+1, ...
    pub async fn start(scenario: Scenario, base_port: Option<u16>) -> io::Result<Fleet> {
        Self::start_with(scenario, base_port, None).await
    }

    /// As [`start`](Self::start); with `postgres` (an admin DSN without a password), the
    /// community-node services are backed by a real database of their own, created here and
    /// dropped at [`shutdown`](Self::shutdown), and `cn-index` gets a `[target.postgres]`.
    pub async fn start_with(
        scenario: Scenario,
        base_port: Option<u16>,
        postgres: Option<&str>,
    ) -> io::Result<Fleet> {
        // Check every port and bind everything first, so a bad base port or a busy port
        // fails the start before anything runs. The history server takes the port after the
        // services'.
        let mut ports = [0u16; SERVICES.len() + 1];
        if let Some(base) = base_port {
            for (i, port) in ports.iter_mut().enumerate() {
                *port = base.checked_add(i as u16).ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "demo fleet: base port {base} leaves no room for {} services and the history server; pick one below {}",
                            SERVICES.len(),
                            u16::MAX - SERVICES.len() as u16 + 1
                        ),
                    )
                })?;
            }
        }
        let names = SERVICES.iter().map(|(name, ..)| *name).chain(["history"]);
        let mut listeners = Vec::with_capacity(ports.len());
        for (name, port) in names.zip(ports) {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await.map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("demo fleet: cannot bind {name} on 127.0.0.1:{port}: {e}; choose another base port"),
                )
            })?;
            listeners.push(listener);
        }
        let history_listener = listeners
            .pop()
            .ok_or_else(|| io::Error::other("no listener"))?;
        let (stop, stop_rx) = watch::channel(false);
        let ops = ops::Ops::start()?;
        // The overlay's nightly backup has run: one verified generation, through the backup
        // action's own code, so the demo opens with a fresh backup as a healthy host has.
        ops.nightly_backup().await?;
        let mut fleet = Fleet {
            targets: Vec::new(),
            scenario,
            stop,
            tasks: Vec::new(),
            postgres: None,
            ops,
            admin_token: admin_token(),
            restart_url: None,
            rollout_url: None,
            history_url: None,
        };
        let mut community = Vec::new();
        let mut recorded = Vec::new();
        for ((name, preset, build), listener) in SERVICES.into_iter().zip(listeners) {
            let base = format!("http://{}", listener.local_addr()?);
            let node = Arc::new(Node::new(
                name,
                preset,
                scenario.name(),
                build(scenario, &Profile::normal(name)),
                Some(&fleet.admin_token),
                true,
            ));
            recorded.push(history_api::Instance {
                instance: listener.local_addr()?.to_string(),
                job: name.to_owned(),
                node: Arc::clone(&node),
            });
            if preset == "community-node" {
                community.push(Arc::clone(&node));
            }
            if name == "rest-api" {
                node.attach_rollout();
                fleet.rollout_url = Some(base.clone());
            }
            if name == "overlay" {
                node.attach_releases(&fleet.ops.overlay_root());
                fleet.restart_url = Some(format!("{base}/admin/restart"));
            }
            fleet
                .targets
                .push(DemoTarget::served(name.to_owned(), preset, &base, &node));
            fleet
                .tasks
                .push(tokio::spawn(server::serve(listener, node, stop_rx.clone())));
        }
        fleet.history_url = Some(format!("http://{}", history_listener.local_addr()?));
        fleet.tasks.push(tokio::spawn(history_api::serve(
            history_listener,
            Arc::new(recorded),
            stop_rx.clone(),
        )));
        if let Some(dsn) = postgres {
            let twin = pgtwin::start(dsn, community, stop_rx.clone()).await?;
            fleet.postgres = Some(twin.dsn);
            fleet.tasks.push(twin.task);
        }
        Ok(fleet)
    }

    /// The scenario this fleet plays.
    pub fn scenario(&self) -> Scenario {
        self.scenario
    }

    /// The bearer token of the relay's `/admin/topics` routes (from [`ADMIN_TOKEN_ENV`] or made
    /// up at start). Never written into [`config_toml`](Self::config_toml).
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// `http://127.0.0.1:PORT/admin/topics` of the relay.
    pub fn topic_admin_url(&self) -> Option<String> {
        self.targets.iter().find(|t| t.name == "cn-relay").map(|t| {
            format!(
                "{}/admin/topics",
                t.metrics_url.trim_end_matches("/metrics")
            )
        })
    }

    /// `http://127.0.0.1:PORT` of the fleet's history server: the Prometheus range-query API
    /// over what every twin's `/metrics` said in the last 30 minutes (the simulated past
    /// before launch included), as a backfill asks it.
    pub fn history_url(&self) -> Option<&str> {
        self.history_url.as_deref()
    }

    /// The overlay twin's `POST /admin/restart` URL (what the demo's rollback restarts with).
    pub fn restart_url(&self) -> Option<&str> {
        self.restart_url.as_deref()
    }

    /// The DSN of the Postgres twin's database, when the fleet runs one.
    pub fn postgres_dsn(&self) -> Option<&str> {
        self.postgres.as_deref()
    }

    /// A watchdeck config file (TOML) that points at this fleet. The timeout is four fifths
    /// of the interval so a slow scrape never overlaps the next one.
    pub fn config_toml(&self, interval: Duration) -> String {
        let mut out = config_header(self.scenario, interval);
        if let Some(url) = &self.history_url {
            // The backfill at start reads the incident's past from the demo's history server.
            let _ = write!(out, "\n[history]\nurl = {}\n", q(url));
        }
        // The demo's restart is this binary asking the twin to restart (argv only, as a
        // real `systemctl restart` would be); without a known binary there is no rollback.
        // (A test binary is not watchdeck: no rollback then.)
        let exe = std::env::current_exe()
            .ok()
            .filter(|e| e.file_name().is_some_and(|n| n == "watchdeck"));
        let restart: Option<Vec<String>> = match (&self.restart_url, &exe) {
            (Some(url), Some(exe)) => Some(vec![
                exe.display().to_string(),
                "demo".into(),
                "restart".into(),
                url.clone(),
            ]),
            _ => None,
        };
        // The REST API's rollback: `watchdeck demo kubectl` stands in for kubectl, same argv.
        let kubectl: Option<Vec<String>> = match (&self.rollout_url, &exe) {
            (Some(url), Some(exe)) => Some(vec![
                exe.display().to_string(),
                "demo".into(),
                "kubectl".into(),
                format!("--server={url}"),
            ]),
            _ => None,
        };
        for t in &self.targets {
            target_toml(&mut out, t);
            if let (Some(dsn), "cn-index") = (&self.postgres, t.name.as_str()) {
                let _ = write!(out, "\n[target.postgres]\ndsn = {}\n", q(dsn));
            }
            out.push_str(&self.ops.actions_toml(
                &t.name,
                restart.as_deref(),
                self.postgres.is_some(),
            ));
            if let (Some(k), "rest-api") = (&kubectl, t.name.as_str()) {
                let argv = |extra: &[&str]| {
                    k.iter()
                        .map(String::as_str)
                        .chain(["rollout"])
                        .chain(extra.iter().copied())
                        .map(q)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let _ = write!(
                    out,
                    "\n# Runbook 004 §8.2: kubectl rollout undo, then rollout status.\n\
                     [target.rollback]\nkind = \"command\"\nundo = [{}]\nstatus = [{}]\ndry_run = [{}]\ntimeout = \"2m\"\n",
                    argv(&["undo", "deployment/rest-api", "-n", "demo"]),
                    argv(&["status", "deployment/rest-api", "-n", "demo", "--timeout=60s"]),
                    argv(&["undo", "deployment/rest-api", "-n", "demo", "--dry-run=server"]),
                );
            }
            if t.name == "cn-relay" {
                if let Some(admin) = self.topic_admin_url() {
                    // The token stays in the environment (${VAR}), never in the file.
                    let _ = write!(
                        out,
                        "\n# Topic suspension (runbook 000 §4.3); the id is percent-encoded into {{topic}}.\n\
                         [target.topics]\ndriver = \"http\"\n\
                         suspend_url = {}\nresume_url = {}\nstate_url = {}\n\
                         headers = {{ Authorization = \"Bearer ${{{ADMIN_TOKEN_ENV}}}\" }}\n\
                         metric = \"ingest_topic_received_total\"\nlabel = \"topic\"\n",
                        q(&format!("{admin}/{{topic}}/suspend")),
                        q(&format!("{admin}/{{topic}}/resume")),
                        q(&format!("{admin}/{{topic}}")),
                    );
                }
            }
            if let (true, "cn-index") = (self.postgres.is_some(), t.name.as_str()) {
                out.push_str(
                    "\n# The same suspension in SQL on the twin's database ($1 = topic id).\n\
                     [target.topics]\ndriver = \"sql\"\n\
                     suspend_sql = \"UPDATE cn_relay.topics SET suspended = true, updated_at = now() WHERE topic_id = $1\"\n\
                     resume_sql = \"UPDATE cn_relay.topics SET suspended = false, updated_at = now() WHERE topic_id = $1\"\n\
                     state_sql = \"SELECT CASE WHEN suspended THEN 'suspended' ELSE 'active' END FROM cn_relay.topics WHERE topic_id = $1\"\n",
                );
            }
        }
        out
    }

    /// A Prometheus scrape config (YAML) for this fleet: see [`prometheus_config`].
    pub fn prometheus_config(&self, scrape_interval: Duration) -> String {
        prometheus_config(&self.targets, scrape_interval)
    }

    /// The environment the demo's own config is read with: the process environment, plus the
    /// fleet's admin token when the operator has not set one.
    pub fn env(&self) -> impl Fn(&str) -> Option<String> + '_ {
        move |k| {
            std::env::var(k)
                .ok()
                .filter(|v| !v.is_empty())
                .or_else(|| (k == ADMIN_TOKEN_ENV).then(|| self.admin_token.clone()))
        }
    }

    /// Stops the servers and waits until their ports are released.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

/// A TOML string, quoted and escaped.
fn q(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The start of a watchdeck config for a demo fleet: the scenario, `environment` and the
/// `[defaults]`. The timeout is four fifths of the interval so a slow scrape never overlaps
/// the next one.
fn config_header(scenario: Scenario, interval: Duration) -> String {
    let timeout = interval * 4 / 5;
    format!(
        "# watchdeck demo fleet, scenario {scenario}: {desc}\nenvironment = \"demo\"\n\n[defaults]\ninterval = {interval}\ntimeout = {timeout}\n",
        desc = scenario.description(),
        interval = q(&humantime::format_duration(interval).to_string()),
        timeout = q(&humantime::format_duration(timeout).to_string()),
    )
}

/// One `[[target]]` table: name, preset, metrics and health URLs.
fn target_toml(out: &mut String, t: &DemoTarget) {
    let health: Vec<String> = t.health_urls.iter().map(|u| q(u)).collect();
    let _ = write!(
        out,
        "\n[[target]]\nname = {}\npreset = {}\nmetrics = {}\nhealth = [{}]\n",
        q(&t.name),
        q(t.preset),
        q(&t.metrics_url),
        health.join(", "),
    );
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_round_trip() {
        for sc in Scenario::ALL {
            assert_eq!(sc.to_string().parse::<Scenario>(), Ok(sc));
            assert!(!sc.description().is_empty());
        }
        let err = "meltdown".parse::<Scenario>().err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("\"meltdown\"") && e.contains("disk-fill")));
    }
}
