//! The Twitch overlay relay: `EventSub` webhooks in, SSE fan-out to overlays, `SQLite` in WAL
//! mode under `/var/lib/overlay`.
//!
//! ack-latency moves the webhook ACK distribution from ~30 ms median (p95 ~50 ms) to
//! ~320 ms median (p95 well above the 0.2 s alert) when the newest release goes live, 4
//! minutes before launch; running an earlier release (the demo's rollback) brings it back.
//! sse-drop lets the audiences glide down to a handful within a few seconds, 6 minutes before
//! launch, and the ring keeps missing.

use hyper::StatusCode;

use super::disk::{self, Filesystem};
use super::ops::RELEASES;
use super::script::script;
use super::server::{Reply, Sim};
use super::sim::{Counter, Expo, Histogram, Kind, Prng, Profile, Ticker, Wander};
use super::Scenario;

static ACK_BUCKETS: [f64; 9] = [0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0];
static BROADCAST_BUCKETS: [f64; 10] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];
static CHECKPOINT_BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

struct Overlay {
    rng: Prng,
    sse: Vec<(&'static str, Wander)>,
    broadcasts: Ticker,
    broadcast_median: f64,
    broadcast: Histogram,
    ring_miss: Counter,
    ack_median: f64,
    ack_sigma: f64,
    ack: Histogram,
    ingress: Vec<(&'static str, Counter)>,
    invalid_signature: Counter,
    oauth_failures: Counter,
    ttl_deleted: Vec<(&'static str, Counter)>,
    checkpoints: Ticker,
    checkpoint: Histogram,
    filesystem: Filesystem,
    /// The release that slows the ACKs down (ack-latency), if any.
    bad_release: Option<&'static str>,
}

pub(crate) fn new(scenario: Scenario, profile: &Profile) -> Box<dyn Sim> {
    let mut sim = Overlay {
        rng: Prng::for_name(profile.seed),
        sse: vec![
            ("overlay", Wander::new(320.0, 0.03, 0.2)),
            ("dashboard", Wander::new(14.0, 0.1, 0.2)),
            ("tap", Wander::new(3.0, 0.2, 0.2)),
        ],
        broadcasts: Ticker::default(),
        broadcast_median: 0.004,
        broadcast: Histogram::new(&BROADCAST_BUCKETS),
        ring_miss: Counter::new(0.0),
        ack_median: CALM_ACK_MEDIAN,
        ack_sigma: CALM_ACK_SIGMA,
        ack: Histogram::new(&ACK_BUCKETS),
        ingress: vec![
            ("channel.follow", Counter::new(5.0)),
            ("channel.subscribe", Counter::new(2.0)),
            ("channel.cheer", Counter::new(1.5)),
            ("stream.online", Counter::new(0.01)),
        ],
        // A healthy overlay sees no forged or mis-signed deliveries (runbook 001 §10 alerts on
        // any increase), so calm has none.
        invalid_signature: Counter::new(0.0),
        oauth_failures: Counter::new(0.001),
        ttl_deleted: vec![
            ("event_raw", Counter::new(3.0)),
            ("command_log", Counter::new(0.5)),
        ],
        checkpoints: Ticker::default(),
        checkpoint: Histogram::new(&CHECKPOINT_BUCKETS),
        filesystem: Filesystem::new("/dev/vda1", "/var/lib/overlay", 25.0, 0.34),
        bad_release: None,
    };
    sim.scale(profile.load);
    let incident: super::script::Incident<Overlay> = match scenario {
        Scenario::AckLatency => {
            // The newest release is the cause: it was deployed at the onset, and running the
            // one before it (a rollback) brings the ACKs back (`run_release`).
            sim.bad_release = RELEASES.last().copied();
            Some((
                ACK_LATENCY_LEAD,
                (|sim: &mut Overlay| sim.run_release(sim.bad_release)) as fn(&mut Overlay),
            ))
        }
        Scenario::SseDrop => Some((SSE_DROP_LEAD, |sim: &mut Overlay| {
            // Clients are dropped and reconnect past the ring: a fast glide to a handful.
            for (aud, gauge) in &mut sim.sse {
                gauge.mean = if *aud == "overlay" { 4.0 } else { 1.0 };
                gauge.reversion = 1.2;
            }
            sim.ring_miss.rate = 0.8;
            sim.broadcast_median = 0.09;
        })),
        _ => None,
    };
    script(sim, profile, incident)
}

/// ack-latency: the bad release went live 4 minutes before launch, so at launch the ACK p95
/// has been over 0.2 s for almost 4 minutes (`WebhookAckSlow`: for 1m).
pub(crate) const ACK_LATENCY_LEAD: f64 = 4.0 * 60.0;
/// sse-drop: the audiences fell 6 minutes before launch and the ring has missed ever since
/// (`SseRingMiss`: any increase, no `for`).
pub(crate) const SSE_DROP_LEAD: f64 = 6.0 * 60.0;

const CALM_ACK_MEDIAN: f64 = 0.03;
const CALM_ACK_SIGMA: f64 = 0.3;

impl Overlay {
    /// Audiences and deliveries grow with the load.
    fn scale(&mut self, load: f64) {
        for (_, gauge) in &mut self.sse {
            gauge.scale(load);
        }
        for (_, c) in self.ingress.iter_mut().chain(self.ttl_deleted.iter_mut()) {
            c.rate *= load;
        }
    }
}

impl Sim for Overlay {
    fn advance(&mut self, dt: f64) {
        let rng = &mut self.rng;
        for (_, gauge) in &mut self.sse {
            gauge.step(dt, rng);
        }
        // Every EventSub delivery is ACKed once.
        let mut deliveries = 0;
        for (_, c) in &mut self.ingress {
            deliveries += c.advance(dt, rng);
        }
        let (median, sigma) = (self.ack_median, self.ack_sigma);
        self.ack
            .observe_n(deliveries, rng, |r| r.lognormal(median, sigma));
        // Broadcasts: the deliveries plus heartbeats.
        let n = deliveries + self.broadcasts.events(2.0, dt, rng);
        let median = self.broadcast_median;
        self.broadcast
            .observe_n(n, rng, |r| r.lognormal(median, 0.5));
        for c in [
            &mut self.ring_miss,
            &mut self.invalid_signature,
            &mut self.oauth_failures,
        ] {
            c.advance(dt, rng);
        }
        for (_, c) in &mut self.ttl_deleted {
            c.advance(dt, rng);
        }
        let n = self.checkpoints.events(0.2, dt, rng);
        self.checkpoint
            .observe_n(n, rng, |r| r.lognormal(0.012, 0.6));
        self.filesystem.advance(dt, rng);
    }

    fn metrics(&self, out: &mut Expo) {
        out.by_label(
            "sse_clients",
            Kind::Gauge,
            "Connected SSE clients, by audience.",
            "aud",
            self.sse.iter().map(|(aud, gauge)| (*aud, gauge.whole())),
        );
        out.single_histogram(
            "sse_broadcast_latency_seconds",
            "Time from event to SSE broadcast in seconds.",
            &self.broadcast,
        );
        out.single(
            "sse_ring_miss_total",
            Kind::Counter,
            "SSE resumes whose Last-Event-ID had already left the ring.",
            self.ring_miss.value(),
        );
        out.single_histogram(
            "webhook_ack_latency_seconds",
            "Time to ACK an EventSub webhook delivery in seconds.",
            &self.ack,
        );
        out.by_label(
            "eventsub_ingress_total",
            Kind::Counter,
            "EventSub deliveries received, by type.",
            "type",
            self.ingress.iter().map(|(ty, c)| (*ty, c.value())),
        );
        out.counters(&[
            (
                "eventsub_invalid_signature_total",
                "EventSub deliveries rejected for a bad HMAC signature.",
                &self.invalid_signature,
            ),
            (
                "oauth_validate_failures_total",
                "Failed OAuth token validations.",
                &self.oauth_failures,
            ),
        ]);
        out.by_label(
            "db_ttl_deleted_total",
            Kind::Counter,
            "Rows deleted by TTL cleanup, by table.",
            "table",
            self.ttl_deleted
                .iter()
                .map(|(table, c)| (*table, c.value())),
        );
        out.single_histogram(
            "db_checkpoint_seconds",
            "SQLite WAL checkpoint duration in seconds.",
            &self.checkpoint,
        );
        disk::render(out, std::slice::from_ref(&self.filesystem));
    }

    fn health_paths(&self) -> &'static [&'static str] {
        &["/healthz"]
    }

    fn run_release(&mut self, release: Option<&str>) {
        let bad = self.bad_release.is_some() && release == self.bad_release;
        (self.ack_median, self.ack_sigma) = if bad {
            (0.32, 0.35)
        } else {
            (CALM_ACK_MEDIAN, CALM_ACK_SIGMA)
        };
    }

    fn health(&self, _path: &str) -> Reply {
        if self.filesystem.is_full() {
            Reply::text(StatusCode::SERVICE_UNAVAILABLE, "wal: disk I/O error")
        } else {
            Reply::text(StatusCode::OK, "ok")
        }
    }
}
