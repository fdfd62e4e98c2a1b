//! mairust, the mail server: SMTP and an HTTP API on Postgres, with `/health`,
//! `/health/live` and `/health/ready`.
//!
//! dependency-down takes the database away 8 minutes before launch: the `database` check turns
//! unhealthy (503 on `/health` and `/health/ready`, `/health/live` stays 200), SMTP errors
//! jump, the API slows to its timeouts and the queue piles up. disk-fill makes the stored mail
//! climb over the 16 minutes before launch to 96 % of the storage limit (over 90 % from a few
//! minutes before launch), and stop just short of the limit after it.

use serde_json::json;

use super::script::script;
use super::server::{Reply, Sim};
use super::sim::{Counter, Expo, Histogram, Kind, Prng, Profile, Wander};
use super::Scenario;

static SMTP_BUCKETS: [f64; 9] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0];
static API_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

struct Mail {
    rng: Prng,
    database_down: bool,
    smtp_connections: Counter,
    smtp_messages: Counter,
    smtp_errors: Counter,
    smtp_median: f64,
    smtp_duration: Histogram,
    api_requests: Counter,
    api_median: f64,
    api_duration: Histogram,
    hook_calls: Counter,
    plugin_errors: Counter,
    queue: Wander,
    storage: f64,
    storage_limit: f64,
    /// Share of the limit written per second beyond normal growth (disk-fill).
    storage_fill: f64,
    db_latency_ms: Wander,
}

pub(crate) fn new(scenario: Scenario, profile: &Profile) -> Box<dyn Sim> {
    let limit = 100.0 * GIB;
    let mut sim = Mail {
        rng: Prng::for_name(profile.seed),
        database_down: false,
        smtp_connections: Counter::new(3.0),
        smtp_messages: Counter::new(2.5),
        smtp_errors: Counter::new(0.02),
        smtp_median: 0.35,
        smtp_duration: Histogram::new(&SMTP_BUCKETS),
        api_requests: Counter::new(6.0),
        api_median: 0.025,
        api_duration: Histogram::new(&API_BUCKETS),
        hook_calls: Counter::new(5.0),
        plugin_errors: Counter::new(0.0),
        queue: Wander::new(42.0, 0.25, 0.3),
        storage: 0.58 * limit,
        storage_limit: limit,
        storage_fill: 0.0,
        db_latency_ms: Wander::new(5.0, 0.3, 0.5).within(1.0, 10_000.0),
    };
    sim.scale(profile.load);
    let incident: super::script::Incident<Mail> = match scenario {
        Scenario::DependencyDown => Some((DEPENDENCY_DOWN_LEAD, |sim: &mut Mail| {
            sim.database_down = true;
            sim.smtp_errors.rate = 1.5;
            sim.smtp_median = 2.5;
            sim.api_median = 1.8;
            // Nothing drains while the database is gone: ~30/s at first, towards the alert.
            sim.queue.mean = 1500.0;
            sim.queue.reversion = 0.02;
            sim.queue.spread = 0.02;
        })),
        Scenario::DiskFill => Some((DISK_FILL_LEAD, |sim: &mut Mail| {
            // A flood of stored mail that reaches 96 % of the limit at launch (over 90 %
            // from a few minutes before), and stops just short of the limit after it.
            let gap = (STORAGE_AT_LAUNCH * sim.storage_limit - sim.storage) / sim.storage_limit;
            sim.storage_fill = (gap / DISK_FILL_LEAD).max(0.0);
        })),
        _ => None,
    };
    script(sim, profile, incident)
}

/// dependency-down: the database went away 8 minutes before launch (as the rest-api's redis).
const DEPENDENCY_DOWN_LEAD: f64 = super::rest_api::DEPENDENCY_DOWN_LEAD;
/// disk-fill: stored mail starts climbing when the relay's disk does.
const DISK_FILL_LEAD: f64 = super::community::DISK_FILL_LEAD;
/// Share of the storage limit in use at launch in disk-fill.
const STORAGE_AT_LAUNCH: f64 = 0.96;

impl Mail {
    /// Traffic and the queue grow with the load.
    fn scale(&mut self, load: f64) {
        for c in [
            &mut self.smtp_connections,
            &mut self.smtp_messages,
            &mut self.smtp_errors,
            &mut self.api_requests,
            &mut self.hook_calls,
        ] {
            c.rate *= load;
        }
        self.queue.scale(load);
    }
}

impl Sim for Mail {
    fn advance(&mut self, dt: f64) {
        let rng = &mut self.rng;
        self.smtp_connections.advance(dt, rng);
        self.smtp_errors.advance(dt, rng);
        let messages = self.smtp_messages.advance(dt, rng);
        let median = self.smtp_median;
        self.smtp_duration
            .observe_n(messages, rng, |r| r.lognormal(median, 0.6));
        let calls = self.api_requests.advance(dt, rng);
        let median = self.api_median;
        self.api_duration
            .observe_n(calls, rng, |r| r.lognormal(median, 0.7));
        let hooks = self.hook_calls.advance(dt, rng);
        // About one hook call in a thousand hits a plugin error.
        self.plugin_errors.total += rng.binomial(hooks, 0.001);
        self.queue.step(dt, rng);
        self.db_latency_ms.step(dt, rng);
        // Normal growth is ~70 KB per message; the fill scenario writes much more.
        let growth = messages as f64 * 70_000.0 + self.storage_fill * self.storage_limit * dt;
        self.storage = (self.storage + growth).min(0.985 * self.storage_limit);
    }

    fn metrics(&self, out: &mut Expo) {
        out.counters(&[
            (
                "mairust_smtp_connections_total",
                "SMTP connections accepted.",
                &self.smtp_connections,
            ),
            (
                "mairust_smtp_messages_total",
                "Messages received over SMTP.",
                &self.smtp_messages,
            ),
            (
                "mairust_smtp_errors_total",
                "SMTP sessions that ended in an error reply.",
                &self.smtp_errors,
            ),
        ]);
        out.single_histogram(
            "mairust_smtp_duration_seconds",
            "SMTP transaction duration in seconds.",
            &self.smtp_duration,
        );
        out.single_histogram(
            "mairust_api_duration_seconds",
            "API request duration in seconds.",
            &self.api_duration,
        );
        out.counters(&[
            (
                "mairust_api_requests_total",
                "API requests served.",
                &self.api_requests,
            ),
            (
                "mairust_hook_calls_total",
                "Hook invocations.",
                &self.hook_calls,
            ),
            (
                "mairust_plugin_errors_total",
                "Errors raised by plugins.",
                &self.plugin_errors,
            ),
        ]);
        out.single(
            "mairust_queue_length",
            Kind::Gauge,
            "Messages waiting in the delivery queue.",
            self.queue.whole(),
        );
        out.single(
            "mairust_storage_bytes",
            Kind::Gauge,
            "Bytes of stored mail.",
            self.storage.round(),
        );
        out.single(
            "mairust_storage_limit_bytes",
            Kind::Gauge,
            "Configured storage limit in bytes.",
            self.storage_limit,
        );
    }

    fn health_paths(&self) -> &'static [&'static str] {
        &["/health", "/health/live", "/health/ready"]
    }

    fn health(&self, path: &str) -> Reply {
        if path == "/health/live" {
            return Reply::json(true, &json!({ "status": "healthy" }));
        }
        let database = if self.database_down {
            json!({ "status": "unhealthy", "error": "pool timed out while waiting for an open connection" })
        } else {
            json!({ "status": "healthy", "latency_ms": self.db_latency_ms.whole() as u64 })
        };
        let healthy = !self.database_down;
        let body = json!({
            "status": if healthy { "healthy" } else { "unhealthy" },
            "checks": {
                "database": database,
                "storage": { "status": "healthy" },
                "queue": { "status": "healthy", "length": self.queue.whole() as u64 },
            }
        });
        Reply::json(healthy, &body)
    }
}
