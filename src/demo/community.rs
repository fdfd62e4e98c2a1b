//! The community-node services: relay (`cn-relay`), user-api (`cn-user-api`) and index
//! (`cn-index`). They share HTTP traffic, outbox consumers, memory and `/healthz`; the relay
//! adds WebSocket, ingest and the Postgres host's disks, the user-api the suggest stages.
//!
//! backlog-stall stops the `index-v1` consumer (and slows meilisearch, its usual cause) 8
//! minutes before launch; disk-fill fills the relay's `/var/lib/postgresql` over the 16 minutes
//! before launch; once it is full, the relay's postgres check fails and `/healthz` answers 503
//! "degraded".
//!
//! The relay carries a few topics, each with its own ingest counter
//! (`ingest_topic_received_total{topic}`); a suspended topic (runbook 000 §4.3: WS publish
//! refused, gossip subscription stopped) accepts nothing, so its counter stands still until
//! it is resumed. The admin endpoint in `topics.rs` and the Postgres twin flip that state.

use serde_json::json;

use super::disk::{self, Filesystem};
use super::outbox::{self, Consumer};
use super::script::script;
use super::server::{Reply, Sim};
use super::sim::{Counter, Expo, Histogram, Kind, Prng, Profile, Wander};
use super::topics::TopicState;
use super::traffic::{self, Route};
use super::Scenario;

/// The documented `http_request_duration_seconds` buckets (180 ms is the search gate).
static HTTP_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.18, 0.25, 0.5, 1.0, 2.5];
/// Suggest stages are measured in milliseconds (gate: 80 ms).
static SUGGEST_BUCKETS: [f64; 9] = [1.0, 2.0, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0];
const MIB: f64 = 1024.0 * 1024.0;

const OK: &[(&str, f64)] = &[("200", 99.0), ("404", 0.8), ("500", 0.1)];
const CREATED: &[(&str, f64)] = &[("201", 96.0), ("400", 2.5), ("429", 1.0), ("500", 0.1)];

/// WebSocket and ingest traffic of the relay, plus its host's filesystems.
struct Relay {
    ws_connections: Wander,
    ws_req: Counter,
    ws_event: Counter,
    received: Vec<(&'static str, Counter)>,
    rejected: Vec<(&'static str, Counter)>,
    topics: Vec<Topic>,
    filesystems: Vec<Filesystem>,
}

/// Topics the demo relay carries and their publish rates (events per second). The last one
/// has characters a URL or a shell would treat specially, so drivers must encode or bind it.
pub(crate) const TOPICS: [(&str, f64); 4] = [
    ("kukuri:tauri:public", 9.0),
    ("kukuri:topic:rust", 4.0),
    ("kukuri:topic:spam-wave", 15.0),
    ("kukuri:topic:q&a/help #1", 2.0),
];

/// One topic on the relay: what it has accepted and whether it is suspended.
struct Topic {
    id: &'static str,
    received: Counter,
    suspended: bool,
}

impl Topic {
    fn state(&self) -> TopicState {
        TopicState {
            id: self.id.to_owned(),
            suspended: self.suspended,
            received: self.received.total,
        }
    }
}

/// The two stages of `/v1/suggest` on the user-api.
struct Suggest {
    calls: Counter,
    stage_a: Histogram,
    stage_b: Histogram,
}

struct CommunityNode {
    service: &'static str,
    rng: Prng,
    routes: Vec<Route>,
    consumers: Vec<Consumer>,
    rss: Wander,
    postgres_ms: Wander,
    meili_ms: Wander,
    relay: Option<Relay>,
    suggest: Option<Suggest>,
}

impl CommunityNode {
    fn new(
        service: &'static str,
        profile: &Profile,
        routes: Vec<Route>,
        consumers: Vec<Consumer>,
        rss_mib: f64,
    ) -> Self {
        Self {
            service,
            rng: Prng::for_name(profile.seed),
            routes,
            consumers,
            rss: Wander::new(rss_mib * MIB, 0.02, 0.1),
            postgres_ms: Wander::new(3.0, 0.3, 0.5).within(1.0, 10_000.0),
            meili_ms: Wander::new(7.0, 0.3, 0.5).within(1.0, 10_000.0),
            relay: None,
            suggest: None,
        }
    }
}

pub(crate) fn relay(scenario: Scenario, profile: &Profile) -> Box<dyn Sim> {
    let routes = vec![
        Route::new("GET", "/v1/events", 18.0, 0.012, OK, &HTTP_BUCKETS),
        Route::new("POST", "/v1/events", 9.0, 0.02, CREATED, &HTTP_BUCKETS),
        Route::new(
            "GET",
            "/v1/topics/{topic_id}/events",
            6.0,
            0.018,
            OK,
            &HTTP_BUCKETS,
        ),
    ];
    let consumers = vec![
        Consumer::new("moderation-v1", 12.0, 2.0, 4_812_337),
        Consumer::new("trust-v1", 12.0, 1.0, 4_812_337),
    ];
    let mut node = CommunityNode::new("cn-relay", profile, routes, consumers, 220.0);
    let reasons = [
        ("invalid", 0.3),
        ("ratelimit", 0.5),
        ("auth", 0.1),
        ("consent", 0.05),
        ("quota", 0.05),
        ("other", 0.02),
    ];
    node.relay = Some(Relay {
        ws_connections: Wander::new(140.0, 0.05, 0.2),
        ws_req: Counter::new(25.0),
        ws_event: Counter::new(60.0),
        received: vec![("iroh", Counter::new(12.0)), ("ws", Counter::new(20.0))],
        rejected: reasons
            .iter()
            .map(|(r, rate)| (*r, Counter::new(*rate)))
            .collect(),
        topics: TOPICS
            .iter()
            .map(|(id, rate)| Topic {
                id,
                received: Counter::new(*rate),
                suspended: false,
            })
            .collect(),
        filesystems: vec![
            Filesystem::new("/dev/sda1", "/", 40.0, 0.41),
            Filesystem::new("/dev/sdb1", "/var/lib/postgresql", 200.0, 0.72),
        ],
    });
    node.scale(profile.load);
    let incident = (scenario == Scenario::DiskFill).then_some((
        DISK_FILL_LEAD,
        (|node: &mut CommunityNode| {
            if let Some(relay) = &mut node.relay {
                relay.filesystems[1].fill_within(DISK_FILL_SECS);
            }
        }) as fn(&mut CommunityNode),
    ));
    script(node, profile, incident)
}

/// disk-fill: the relay's `/var/lib/postgresql` starts filling 16 minutes before launch
/// (a runaway of ~70 MB/s, from 70 % used) and is full 2 minutes before launch, so at launch
/// it has been over 90 % for about 6½ minutes (`DbDiskPressure`: for 5m) and stays full.
pub(crate) const DISK_FILL_LEAD: f64 = 16.0 * 60.0;
const DISK_FILL_SECS: f64 = 14.0 * 60.0;

/// backlog-stall: `index-v1` stops 8 minutes before launch; its backlog passes 1000 within
/// half a minute and is over 15,000 at launch (`OutboxBacklogHigh`: > 1000 for 5m).
pub(crate) const STALL_LEAD: f64 = 8.0 * 60.0;

pub(crate) fn user_api(_scenario: Scenario, profile: &Profile) -> Box<dyn Sim> {
    let routes = vec![
        Route::new("GET", "/v1/search", 14.0, 0.045, OK, &HTTP_BUCKETS),
        Route::new("GET", "/v1/suggest", 10.0, 0.015, OK, &HTTP_BUCKETS),
        Route::new(
            "GET",
            "/v1/users/{id}",
            12.0,
            0.008,
            &[("200", 95.0), ("404", 5.0)],
            &HTTP_BUCKETS,
        ),
        Route::new(
            "GET",
            "/v1/topics/{topic_id}/posts",
            16.0,
            0.02,
            OK,
            &HTTP_BUCKETS,
        ),
        Route::new(
            "POST",
            "/v1/personal-data-export-requests",
            0.05,
            0.03,
            &[("202", 1.0)],
            &HTTP_BUCKETS,
        ),
    ];
    let consumers = vec![Consumer::new("notify-v1", 5.0, 2.0, 4_812_337)];
    let mut node = CommunityNode::new("cn-user-api", profile, routes, consumers, 160.0);
    node.suggest = Some(Suggest {
        calls: Counter::new(10.0),
        stage_a: Histogram::new(&SUGGEST_BUCKETS),
        stage_b: Histogram::new(&SUGGEST_BUCKETS),
    });
    node.scale(profile.load);
    script(node, profile, None)
}

pub(crate) fn index(scenario: Scenario, profile: &Profile) -> Box<dyn Sim> {
    let routes = vec![
        Route::new(
            "GET",
            "/v1/index/status",
            1.0,
            0.003,
            &[("200", 1.0)],
            &HTTP_BUCKETS,
        ),
        Route::new(
            "POST",
            "/v1/index/rebuild",
            0.01,
            0.05,
            &[("202", 1.0)],
            &HTTP_BUCKETS,
        ),
    ];
    let consumer = Consumer::new("index-v1", 35.0, 4.0, 4_812_337);
    let mut node = CommunityNode::new("cn-index", profile, routes, vec![consumer], 410.0);
    node.scale(profile.load);
    let incident = (scenario == Scenario::BacklogStall).then_some((
        STALL_LEAD,
        (|node: &mut CommunityNode| {
            node.consumers[0].stalled = true;
            // Still answering, just slowly: the check stays "ok" but the latency tells the story.
            node.meili_ms.mean = 850.0;
        }) as fn(&mut CommunityNode),
    ));
    script(node, profile, incident)
}

impl CommunityNode {
    /// Traffic, produced outbox events and WebSocket clients grow with the load.
    fn scale(&mut self, load: f64) {
        for route in &mut self.routes {
            route.scale(load);
        }
        for consumer in &mut self.consumers {
            consumer.scale(load);
        }
        if let Some(relay) = &mut self.relay {
            relay.ws_connections.scale(load);
            let counters = relay
                .received
                .iter_mut()
                .chain(relay.rejected.iter_mut())
                .map(|(_, c)| c)
                .chain(relay.topics.iter_mut().map(|t| &mut t.received))
                .chain([&mut relay.ws_req, &mut relay.ws_event]);
            for c in counters {
                c.rate *= load;
            }
        }
        if let Some(s) = &mut self.suggest {
            s.calls.rate *= load;
        }
    }
}

impl Sim for CommunityNode {
    fn advance(&mut self, dt: f64) {
        let rng = &mut self.rng;
        for route in &mut self.routes {
            route.advance(dt, rng);
        }
        for consumer in &mut self.consumers {
            consumer.advance(dt, rng);
        }
        for gauge in [&mut self.rss, &mut self.postgres_ms, &mut self.meili_ms] {
            gauge.step(dt, rng);
        }
        if let Some(relay) = &mut self.relay {
            relay.ws_connections.step(dt, rng);
            relay.ws_req.advance(dt, rng);
            relay.ws_event.advance(dt, rng);
            for (_, c) in relay.received.iter_mut().chain(relay.rejected.iter_mut()) {
                c.advance(dt, rng);
            }
            for topic in relay.topics.iter_mut().filter(|t| !t.suspended) {
                topic.received.advance(dt, rng);
            }
            for fs in &mut relay.filesystems {
                fs.advance(dt, rng);
            }
        }
        if let Some(s) = &mut self.suggest {
            let n = s.calls.advance(dt, rng);
            s.stage_a.observe_n(n, rng, |r| r.lognormal(6.0, 0.5));
            s.stage_b.observe_n(n, rng, |r| r.lognormal(28.0, 0.5));
        }
    }

    fn metrics(&self, out: &mut Expo) {
        let svc = self.service;
        outbox::render(out, svc, &self.consumers);
        traffic::render(out, &self.routes, Some(svc));
        if let Some(relay) = &self.relay {
            out.single(
                "ws_connections",
                Kind::Gauge,
                "Open WebSocket connections.",
                relay.ws_connections.whole(),
            );
            out.counters(&[
                (
                    "ws_req_total",
                    "WebSocket REQ messages received.",
                    &relay.ws_req,
                ),
                (
                    "ws_event_total",
                    "WebSocket EVENT messages received.",
                    &relay.ws_event,
                ),
            ]);
            out.by_label(
                "ingest_received_total",
                Kind::Counter,
                "Events received for ingest, by source.",
                "source",
                relay
                    .received
                    .iter()
                    .map(|(source, c)| (*source, c.value())),
            );
            out.by_label(
                "ingest_rejected_total",
                Kind::Counter,
                "Events rejected at ingest, by reason.",
                "reason",
                relay
                    .rejected
                    .iter()
                    .map(|(reason, c)| (*reason, c.value())),
            );
            out.by_label(
                "ingest_topic_received_total",
                Kind::Counter,
                "Events accepted for ingest, by topic (a suspended topic accepts none).",
                "topic",
                relay.topics.iter().map(|t| (t.id, t.received.value())),
            );
        }
        if let Some(s) = &self.suggest {
            let stages = [
                (
                    "suggest_stage_a_latency_ms",
                    "Suggest stage A (prefix lookup) latency in milliseconds.",
                    &s.stage_a,
                ),
                (
                    "suggest_stage_b_latency_ms",
                    "Suggest stage B (ranking) latency in milliseconds.",
                    &s.stage_b,
                ),
            ];
            for (name, help, h) in stages {
                out.family(name, Kind::Histogram, help);
                out.histogram(name, &[("service", svc)], h);
            }
        }
        out.single(
            "process_resident_memory_bytes",
            Kind::Gauge,
            "Resident memory size in bytes.",
            self.rss.value.round(),
        );
        if let Some(relay) = &self.relay {
            disk::render(out, &relay.filesystems);
        }
    }

    fn outbox(&self) -> Vec<(&'static str, u64)> {
        self.consumers
            .iter()
            .map(|c| (c.name, c.backlog()))
            .collect()
    }

    fn health_paths(&self) -> &'static [&'static str] {
        &["/healthz"]
    }

    fn topics(&self) -> Vec<TopicState> {
        self.relay
            .as_ref()
            .map(|r| r.topics.iter().map(Topic::state).collect())
            .unwrap_or_default()
    }

    fn set_topic(&mut self, id: &str, suspended: bool) -> Option<TopicState> {
        let topic = self
            .relay
            .as_mut()?
            .topics
            .iter_mut()
            .find(|t| t.id == id)?;
        topic.suspended = suspended;
        Some(topic.state())
    }

    fn health(&self, _path: &str) -> Reply {
        // Postgres refuses writes once its data disk is full; the check then fails.
        let pg_full = self.relay.as_ref().is_some_and(|r| {
            r.filesystems
                .iter()
                .any(|fs| fs.mountpoint() == "/var/lib/postgresql" && fs.is_full())
        });
        let postgres = if pg_full {
            json!({ "status": "fail", "error": "could not extend file: No space left on device" })
        } else {
            json!({ "status": "ok", "latency_ms": self.postgres_ms.whole() as u64 })
        };
        let body = json!({
            "status": if pg_full { "degraded" } else { "ok" },
            "checks": {
                "postgres": postgres,
                "meilisearch": { "status": "ok", "latency_ms": self.meili_ms.whole() as u64 },
            }
        });
        Reply::json(!pg_full, &body)
    }
}
