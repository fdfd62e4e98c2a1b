//! The `NestJS` REST API on Kubernetes: HTTP traffic by route template, Node.js process
//! metrics, the database pool, and Terminus health endpoints.
//!
//! dependency-down takes redis away 8 minutes before launch: `/health/ready` and `/health` answer 503 with redis under
//! `"error"` (liveness stays up), and the cached routes start failing and slowing down.

use serde_json::{json, Value};

use super::script::script;
use super::server::{Reply, Sim};
use super::sim::{Expo, Kind, Prng, Profile, Wander};
use super::traffic::{self, Route};
use super::Scenario;

static HTTP_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0];
const MIB: f64 = 1024.0 * 1024.0;
const POOL_MAX: f64 = 20.0;

const OK: &[(&str, f64)] = &[("200", 99.0), ("404", 0.8), ("500", 0.1)];

struct RestApi {
    rng: Prng,
    redis_down: bool,
    routes: Vec<Route>,
    cpu_seconds: f64,
    cpu_cores: Wander,
    rss: Wander,
    heap: Wander,
    pool_active: Wander,
    pool_idle: Wander,
}

pub(crate) fn new(scenario: Scenario, profile: &Profile) -> Box<dyn Sim> {
    let b = &HTTP_BUCKETS;
    let routes = vec![
        Route::new("GET", "/api/v1/orders", 20.0, 0.035, OK, b),
        Route::new(
            "POST",
            "/api/v1/orders",
            4.0,
            0.08,
            &[("201", 97.0), ("400", 3.0)],
            b,
        ),
        Route::new(
            "GET",
            "/api/v1/orders/{id}",
            15.0,
            0.02,
            &[("200", 96.0), ("404", 4.0)],
            b,
        ),
        Route::new("GET", "/api/v1/products", 25.0, 0.015, OK, b),
        Route::new("GET", "/api/v1/users/{id}", 8.0, 0.018, OK, b),
        Route::new("POST", "/api/v1/imports/csv", 0.1, 0.4, &[("202", 1.0)], b),
    ];
    let mut sim = RestApi {
        rng: Prng::for_name(profile.seed),
        redis_down: false,
        routes,
        cpu_seconds: 0.0,
        cpu_cores: Wander::new(0.35, 0.15, 0.3),
        rss: Wander::new(310.0 * MIB, 0.02, 0.1),
        heap: Wander::new(180.0 * MIB, 0.04, 0.2),
        pool_active: Wander::new(6.0, 0.3, 0.5).within(0.0, POOL_MAX),
        pool_idle: Wander::new(5.0, 0.3, 0.5).within(0.0, POOL_MAX),
    };
    sim.scale(profile.load);
    let incident = (scenario == Scenario::DependencyDown).then_some((
        DEPENDENCY_DOWN_LEAD,
        (|sim: &mut RestApi| {
            sim.redis_down = true;
            // Reads that go through the cache fail or fall back to slow database queries: ~9 %
            // of the reads, ~8.5 % of all requests (`ApiErrorRateCritical`: > 5 % for 5m).
            for r in sim.routes.iter_mut().filter(|r| r.method == "GET") {
                r.failing = 0.09;
                r.slowdown = 3.0;
            }
        }) as fn(&mut RestApi),
    ));
    script(sim, profile, incident)
}

/// dependency-down: redis went away 8 minutes before launch, so at launch the 5xx ratio has
/// been over 5 % for almost 8 minutes.
pub(crate) const DEPENDENCY_DOWN_LEAD: f64 = 8.0 * 60.0;

impl RestApi {
    /// Requests, CPU and busy pool connections grow with the load.
    fn scale(&mut self, load: f64) {
        for r in &mut self.routes {
            r.scale(load);
        }
        self.cpu_cores.scale(load);
        self.pool_active.scale(load);
    }
}

impl Sim for RestApi {
    fn advance(&mut self, dt: f64) {
        let rng = &mut self.rng;
        for r in &mut self.routes {
            r.advance(dt, rng);
        }
        self.cpu_cores.step(dt, rng);
        self.cpu_seconds += self.cpu_cores.value * dt;
        for g in [
            &mut self.rss,
            &mut self.heap,
            &mut self.pool_active,
            &mut self.pool_idle,
        ] {
            g.step(dt, rng);
        }
    }

    fn metrics(&self, out: &mut Expo) {
        traffic::render(out, &self.routes, None);
        out.single(
            "process_cpu_seconds_total",
            Kind::Counter,
            "Total user and system CPU time spent in seconds.",
            (self.cpu_seconds * 1000.0).round() / 1000.0,
        );
        out.single(
            "process_resident_memory_bytes",
            Kind::Gauge,
            "Resident memory size in bytes.",
            self.rss.value.round(),
        );
        out.single(
            "nodejs_heap_size_used_bytes",
            Kind::Gauge,
            "Process heap size used from Node.js in bytes.",
            self.heap.value.round(),
        );
        let active = self.pool_active.whole();
        let idle = self.pool_idle.whole().min(POOL_MAX - active);
        out.family(
            "db_pool_connections",
            Kind::Gauge,
            "Database pool connections, by state.",
        );
        out.sample("db_pool_connections", &[("state", "active")], active);
        out.sample("db_pool_connections", &[("state", "idle")], idle);
        out.single(
            "db_pool_max_connections",
            Kind::Gauge,
            "Database pool size limit.",
            POOL_MAX,
        );
    }

    fn health_paths(&self) -> &'static [&'static str] {
        &["/health", "/health/live", "/health/ready"]
    }

    fn health(&self, path: &str) -> Reply {
        let up = json!({ "status": "up" });
        let checks: Vec<(&str, Value)> = if path == "/health/live" {
            vec![("memory_heap", up)]
        } else {
            let redis = if self.redis_down {
                json!({ "status": "down", "message": "connect ECONNREFUSED 10.0.3.7:6379" })
            } else {
                up.clone()
            };
            vec![("database", up), ("redis", redis)]
        };
        terminus(&checks)
    }
}

/// A `NestJS` Terminus health result: passing checks under "info", failing ones under
/// "error", all under "details"; any failure makes it `"status":"error"` with 503.
fn terminus(checks: &[(&str, Value)]) -> Reply {
    let (mut info, mut error, mut details) = (json!({}), json!({}), json!({}));
    let mut ok = true;
    for (name, result) in checks {
        let is_up = result.get("status").and_then(Value::as_str) == Some("up");
        ok &= is_up;
        let bucket = if is_up { &mut info } else { &mut error };
        bucket[*name] = result.clone();
        details[*name] = result.clone();
    }
    let body = json!({
        "status": if ok { "ok" } else { "error" },
        "info": info,
        "error": error,
        "details": details,
    });
    Reply::json(ok, &body)
}
