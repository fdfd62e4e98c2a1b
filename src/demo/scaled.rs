//! Many simulated instances from one process, for benchmarks against a real Prometheus: the
//! six kinds of [`SERVICES`](super::SERVICES) in turn, each instance a server of its own on
//! an OS-chosen loopback port (so Prometheus gives each a distinct `instance` label) with a
//! simulation of its own. Its noise, simulated uptime (1 to 72 hours) and load (0.5 to 2 times
//! the normal fleet's traffic and audiences) follow from its name, so instances differ from
//! each other in every counter and most gauges, and `overlay-0007` is the same in every run.
//!
//! A scaled instance serves `/`, `/metrics` and its health endpoints only: no SQLite ops,
//! releases, rollouts, topic admin, Postgres twin or history (its scenario's past is played
//! in one step, unrecorded). Idle, an instance is a listener, an
//! accept task and its simulation's state (a few KiB); nothing ticks, since the state is
//! advanced by the wall time elapsed when it is asked.

use std::io;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::server::{self, Node};
use super::sim::Profile;
use super::{config_header, target_toml, DemoTarget, Fleet, Scenario, SERVICES};

/// The most instances a scaled fleet runs.
pub const MAX_INSTANCES: usize = 5000;

/// Descriptors per instance a scaled fleet asks for: its listener, a scraper's connection
/// (Prometheus keeps one open per target), and one more for a second client such as
/// watchdeck scraping directly.
const FDS_PER_INSTANCE: u64 = 3;
/// Descriptors beyond the instances': the runtime, stdio, a client's own connections.
const FDS_SPARE: u64 = 1024;

/// A running scaled fleet. Servers stop on [`ScaledFleet::shutdown`] or when it is dropped.
#[derive(Debug)]
pub struct ScaledFleet {
    /// Every instance, in start order: `cn-relay-0000`, `cn-user-api-0000`, …,
    /// `rest-api-0000`, `cn-relay-0001`, …
    pub targets: Vec<DemoTarget>,
    scenario: Scenario,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Fleet {
    /// Starts `instances` (1 to [`MAX_INSTANCES`]) simulated services on 127.0.0.1, cycling
    /// over the six demo kinds; each is named `<kind>-<NNNN>` (numbered per kind from 0000)
    /// and listens on a port of its own. The scenario plays on the first instance of each
    /// kind (`cn-index-0000` stalls, `mail-0000` loses its database, …); all others are calm.
    ///
    /// Raises the soft `RLIMIT_NOFILE` first when it is too low for the instances and their
    /// scrapers (see [`raise_nofile_limit`]); fails, before binding anything, when even the
    /// hard limit is too low.
    pub async fn start_scaled(scenario: Scenario, instances: usize) -> io::Result<ScaledFleet> {
        if !(1..=MAX_INSTANCES).contains(&instances) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "demo fleet: {instances} instances; a scaled fleet runs 1 to {MAX_INSTANCES}"
                ),
            ));
        }
        let wanted = instances as u64 * FDS_PER_INSTANCE + FDS_SPARE;
        let limit = raise_nofile_limit(wanted)?;
        if limit < wanted {
            return Err(io::Error::other(format!(
                "demo fleet: {instances} instances need about {wanted} open files (a listener and \
                 scrape connections each), but the limit is {limit} and cannot be raised: raise \
                 the hard limit (ulimit -Hn, LimitNOFILE=) or start fewer instances"
            )));
        }
        // Bind everything first, so a failure leaves nothing running.
        let mut listeners = Vec::with_capacity(instances);
        for i in 0..instances {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .await
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!(
                            "demo fleet: cannot bind instance {} of {instances} on 127.0.0.1: {e}",
                            i + 1
                        ),
                    )
                })?;
            listeners.push(listener);
        }
        let (stop, stop_rx) = watch::channel(false);
        let mut fleet = ScaledFleet {
            targets: Vec::with_capacity(instances),
            scenario,
            stop,
            tasks: Vec::with_capacity(instances),
        };
        for (i, listener) in listeners.into_iter().enumerate() {
            let (kind, preset, build) = SERVICES[i % SERVICES.len()];
            let number = i / SERVICES.len();
            let name = instance_name(kind, number);
            let played = if number == 0 {
                scenario
            } else {
                Scenario::Calm
            };
            let node = Arc::new(Node::new(
                &name,
                preset,
                played.name(),
                build(played, &Profile::scaled(&name)),
                None,
                false,
            ));
            let base = format!("http://{}", listener.local_addr()?);
            fleet
                .targets
                .push(DemoTarget::served(name, preset, &base, &node));
            fleet
                .tasks
                .push(tokio::spawn(server::serve(listener, node, stop_rx.clone())));
        }
        Ok(fleet)
    }
}

/// `overlay-0007`: the kind and the instance's number among its kind.
fn instance_name(kind: &str, number: usize) -> String {
    format!("{kind}-{number:04}")
}

impl ScaledFleet {
    /// The scenario the first instance of each kind plays.
    pub fn scenario(&self) -> Scenario {
        self.scenario
    }

    /// A watchdeck config file (TOML) with every instance as a target (metrics and health,
    /// no actions).
    pub fn config_toml(&self, interval: Duration) -> String {
        let mut out = config_header(self.scenario, interval);
        for t in &self.targets {
            target_toml(&mut out, t);
        }
        out
    }

    /// A Prometheus scrape config (YAML) for this fleet: see [`prometheus_config`](super::prometheus_config).
    pub fn prometheus_config(&self, scrape_interval: Duration) -> String {
        super::prometheus_config(&self.targets, scrape_interval)
    }

    /// Stops the servers and waits until their ports are released.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for ScaledFleet {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Makes sure this process may open `wanted` files: when the soft `RLIMIT_NOFILE` is lower,
/// it is raised to `wanted`, or to the hard limit when that is lower still. Returns the soft
/// limit now in effect (`u64::MAX` for unlimited).
///
/// The soft limit is raised only as far as needed, not to the hard limit, since child
/// processes inherit it and some programs close every possible descriptor when they start
/// one (slow with a limit in the millions).
pub fn raise_nofile_limit(wanted: u64) -> io::Result<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current.unwrap_or(u64::MAX);
    if soft >= wanted {
        return Ok(soft);
    }
    let raised = limit.maximum.map_or(wanted, |hard| hard.min(wanted));
    if raised <= soft {
        return Ok(soft);
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(raised),
            maximum: limit.maximum,
        },
    )?;
    tracing::info!(
        from = soft,
        to = raised,
        "demo fleet: raised the open files limit"
    );
    Ok(raised)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_numbered_per_kind() {
        assert_eq!(instance_name("overlay", 7), "overlay-0007");
        assert_eq!(instance_name("cn-relay", 833), "cn-relay-0833");
    }

    #[test]
    fn the_open_files_limit_is_kept_when_high_enough() {
        let now = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        let soft = now.current.unwrap_or(u64::MAX);
        assert_eq!(raise_nofile_limit(1).ok(), Some(soft));
        assert_eq!(
            rustix::process::getrlimit(rustix::process::Resource::Nofile),
            now
        );
    }
}
