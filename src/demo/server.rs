//! The loopback HTTP side of the demo fleet: one hyper http1 server per simulated service,
//! each connection in its own task, routing `/`, `/metrics` and the service's health paths.
//!
//! A service's state sits behind a plain mutex and is advanced by the wall time elapsed since
//! the previous request, so values move with time however often they are polled, and no
//! background ticker is needed; a recording service fills in its history on the way (see
//! `history.rs`).
//!
//! A service that carries topics (the relay) also answers the authenticated `/admin/topics`
//! routes of `topics.rs`.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::history::{Clocked, History};
use super::pgtwin::TopicDb;
use super::sim::Expo;
use super::topics::{self, TopicState};

/// Content type of the Prometheus text exposition format 0.0.4.
pub(crate) const METRICS_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
pub(crate) const JSON_TYPE: &str = "application/json";
pub(crate) const TEXT_TYPE: &str = "text/plain; charset=utf-8";

/// A finished response, before it becomes a hyper `Response`.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) content_type: &'static str,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn json(healthy: bool, body: &serde_json::Value) -> Self {
        let status = if healthy {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        Self {
            status,
            content_type: JSON_TYPE,
            body: body.to_string(),
        }
    }

    pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: TEXT_TYPE,
            body: body.into(),
        }
    }

    /// The refusal of a read-only server: a 404 for a path it does not `know`, a 405 (with the
    /// methods for `Allow`) for anything but GET and HEAD; `None` when the request may go on.
    pub(crate) fn refuse(
        known: bool,
        method: &Method,
        path: &str,
    ) -> Option<(Reply, Option<&'static str>)> {
        if !known {
            return Some((
                Reply::text(StatusCode::NOT_FOUND, format!("not found: {path}\n")),
                None,
            ));
        }
        if method != Method::GET && method != Method::HEAD {
            return Some((
                Reply::text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n"),
                Some("GET, HEAD"),
            ));
        }
        None
    }
}

/// One simulated service: how it moves, what it exposes and how it reports health.
pub(crate) trait Sim: Send + 'static {
    /// Moves the state forward by `dt` seconds.
    fn advance(&mut self, dt: f64);
    /// Writes every metric family.
    fn metrics(&self, out: &mut Expo);
    /// Health endpoint paths this service answers, e.g. `/healthz`.
    fn health_paths(&self) -> &'static [&'static str];
    /// The answer for one of `health_paths`.
    fn health(&self, path: &str) -> Reply;
    /// Outbox consumers as (name, backlog), for the Postgres twin.
    fn outbox(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
    /// Topics this service carries, with their state; empty for services without topics.
    fn topics(&self) -> Vec<TopicState> {
        Vec::new()
    }
    /// Suspends or resumes a topic; `None` when the service has no such topic.
    fn set_topic(&mut self, _id: &str, _suspended: bool) -> Option<TopicState> {
        None
    }
    /// The service (re)started running `release` (the overlay's releases tree); a service
    /// whose behaviour follows its release changes with it.
    fn run_release(&mut self, _release: Option<&str>) {}
}

/// A simulated service with its clock, ready to answer requests.
pub(crate) struct Node {
    name: String,
    preset: &'static str,
    scenario: &'static str,
    health_paths: &'static [&'static str],
    /// Wall time at launch, as a monotonic instant and as unix ms: the twin's clock.
    origin: (Instant, i64),
    state: Mutex<Clocked>,
    /// Bearer token of the `/admin/topics` routes; `None` when the service has no topics.
    admin_token: Option<String>,
    /// The Postgres twin's `topics` table, when the twin runs: the admin routes write it.
    topic_db: OnceLock<Arc<TopicDb>>,
    /// The overlay's releases tree: restart and health follow `current`.
    releases: OnceLock<super::release::Releases>,
    /// The REST API's Deployment: `kubectl rollout undo` moves its revision back.
    rollout: OnceLock<super::rollout::Rollout>,
}

impl Node {
    /// `sim` as a builder returns it, at the start of its simulated past: it is played up to
    /// now (launch), recorded on the way and on after launch when `record` is set (the normal
    /// fleet's history server reads it), in one step otherwise. `admin_token`: the bearer
    /// token of `/admin/topics` (only a service with topics uses it); `None` leaves the
    /// service without admin routes.
    pub(crate) fn new(
        name: &str,
        preset: &'static str,
        scenario: &'static str,
        sim: Box<dyn Sim>,
        admin_token: Option<&str>,
        record: bool,
    ) -> Self {
        // Without a token (the scaled fleet), a service with topics has no admin routes.
        let admin_token = admin_token
            .filter(|_| !sim.topics().is_empty())
            .map(str::to_owned);
        let launch_ms = crate::obs::now_ms();
        Self {
            name: name.to_owned(),
            preset,
            scenario,
            health_paths: sim.health_paths(),
            origin: (Instant::now(), launch_ms),
            state: Mutex::new(Clocked::launch(sim, launch_ms, record)),
            admin_token,
            topic_db: OnceLock::new(),
            releases: OnceLock::new(),
            rollout: OnceLock::new(),
        }
    }

    /// Gives this service a Deployment with a rollout history (the REST API twin).
    pub(crate) fn attach_rollout(&self) {
        let _ = self.rollout.set(super::rollout::Rollout::new());
    }

    /// Makes this service run the release `root/current` points at (the overlay twin).
    pub(crate) fn attach_releases(&self, root: &std::path::Path) {
        let _ = self.releases.set(super::release::Releases::new(root));
    }

    /// Whether this service carries topics (and so answers `/admin/topics`).
    pub(crate) fn has_topics(&self) -> bool {
        self.admin_token.is_some()
    }

    pub(crate) fn admin_token(&self) -> Option<&str> {
        self.admin_token.as_deref()
    }

    /// Attaches the twin's topics table; later admin changes are written there first.
    pub(crate) fn attach_topic_db(&self, db: Arc<TopicDb>) {
        let _ = self.topic_db.set(db);
    }

    pub(crate) fn topic_db(&self) -> Option<&Arc<TopicDb>> {
        self.topic_db.get()
    }

    /// The topics and their state, advanced to now.
    pub(crate) fn topics(&self) -> Vec<TopicState> {
        self.with_sim(|sim| sim.topics())
    }

    /// Suspends or resumes a topic. The state is advanced to now first, so a topic counts
    /// exactly while it is not suspended. `None` for an unknown topic.
    pub(crate) fn set_topic(&self, id: &str, suspended: bool) -> Option<TopicState> {
        self.with_sim(|sim| sim.set_topic(id, suspended))
    }

    /// The service's outbox consumers as (name, backlog), advanced to now.
    pub(crate) fn outbox(&self) -> Vec<(&'static str, u64)> {
        self.with_sim(|sim| sim.outbox())
    }

    pub(crate) fn health_paths(&self) -> &'static [&'static str] {
        self.health_paths
    }

    /// Runs `f` on the state after advancing it to now. A panic in an earlier request must
    /// not take the service down, so a poisoned lock is simply taken over.
    fn with_sim<T>(&self, f: impl FnOnce(&mut dyn Sim) -> T) -> T {
        self.with_clocked(|c| f(c.sim()))
    }

    /// Runs `f` on the service's recorded past (`None` when it records none), up to now.
    pub(crate) fn with_history<T>(&self, f: impl FnOnce(Option<&History>) -> T) -> T {
        self.with_clocked(|c| f(c.history()))
    }

    fn with_clocked<T>(&self, f: impl FnOnce(&mut Clocked) -> T) -> T {
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (instant, ms) = self.origin;
        let elapsed = Instant::now()
            .saturating_duration_since(instant)
            .as_millis();
        guard.advance_to(ms.saturating_add(i64::try_from(elapsed).unwrap_or(i64::MAX)));
        f(&mut guard)
    }

    /// `POST /admin/restart`: the service restarts on the release `current` points at, and
    /// behaves as that release does from then on.
    fn restart(&self, releases: &super::release::Releases) -> Reply {
        let reply = releases.restart();
        let running = releases.running();
        self.with_sim(|sim| sim.run_release(running.as_deref()));
        reply
    }

    /// The reply and, for a 405, the methods to list in `Allow`.
    pub(crate) fn respond(&self, method: &Method, path: &str) -> (Reply, Option<&'static str>) {
        let known = path == "/" || path == "/metrics" || self.health_paths().contains(&path);
        if let Some(refused) = Reply::refuse(known, method, path) {
            return refused;
        }
        let reply = match path {
            "/" => Reply::text(StatusCode::OK, self.index()),
            "/metrics" => {
                let mut out = Expo::default();
                self.with_sim(|sim| sim.metrics(&mut out));
                Reply {
                    status: StatusCode::OK,
                    content_type: METRICS_TYPE,
                    body: out.finish(),
                }
            }
            health => match (
                self.releases
                    .get()
                    .and_then(super::release::Releases::health),
                self.rollout.get().and_then(|r| r.health(health)),
            ) {
                (Some(reply), _) | (None, Some(reply)) => reply,
                (None, None) => self.with_sim(|sim| sim.health(health)),
            },
        };
        (reply, None)
    }

    fn index(&self) -> String {
        let mut page = format!(
            "watchdeck demo fleet: {} (preset {}, scenario {})\n\n",
            self.name, self.preset, self.scenario
        );
        let routes = [("/metrics", "Prometheus text format 0.0.4")]
            .into_iter()
            .chain(self.health_paths.iter().map(|p| (*p, "health")))
            .chain([("/", "this page")]);
        for (path, what) in routes {
            let _ = writeln!(page, "GET {path:<15}{what}");
        }
        if self.has_topics() {
            page.push_str(topics::INDEX);
        }
        page
    }
}

pub(crate) fn to_response(reply: Reply, allow: Option<&'static str>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(reply.body)));
    *resp.status_mut() = reply.status;
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(methods) = allow {
        headers.insert(ALLOW, HeaderValue::from_static(methods));
    }
    resp
}

/// Serves one service until `stop` changes (or its sender is gone).
pub(crate) async fn serve(listener: TcpListener, node: Arc<Node>, stop: watch::Receiver<bool>) {
    accept(listener, stop, move |stream| {
        connection(stream, Arc::clone(&node))
    })
    .await;
}

/// Accepts connections until `stop` changes (or its sender is gone), each served by
/// `conn`. Connection tasks live in a `JoinSet`, so ending this task, by signal or by abort,
/// also ends every connection.
pub(crate) async fn accept<F, Fut>(listener: TcpListener, mut stop: watch::Receiver<bool>, conn: F)
where
    F: Fn(tokio::net::TcpStream) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    conns.spawn(conn(stream));
                }
                Err(err) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    tracing::warn!(%err, "demo fleet: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn connection(stream: tokio::net::TcpStream, node: Arc<Node>) {
    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
        let node = Arc::clone(&node);
        async move {
            let path = req.uri().path();
            let (reply, allow) = if topics::is_admin_path(path) && node.has_topics() {
                topics::admin(&node, &req).await
            } else if let (Some(r), true) =
                (node.rollout.get(), path.starts_with("/admin/rollout/"))
            {
                match (req.method(), path) {
                    (&Method::POST, "/admin/rollout/undo") => {
                        let dry = req
                            .uri()
                            .query()
                            .is_some_and(|q| q.contains("dry_run=server"));
                        (r.undo(dry), None)
                    }
                    (&Method::GET, "/admin/rollout/status") => (r.status(), None),
                    _ => (
                        Reply::text(StatusCode::NOT_FOUND, "unknown rollout route\n"),
                        None,
                    ),
                }
            } else if let (Some(r), "/admin/restart") = (node.releases.get(), path) {
                if req.method() == Method::POST {
                    (node.restart(r), None)
                } else {
                    (
                        Reply::text(StatusCode::METHOD_NOT_ALLOWED, "POST only\n"),
                        Some("POST"),
                    )
                }
            } else {
                node.respond(req.method(), path)
            };
            Ok::<_, Infallible>(to_response(reply, allow))
        }
    });
    serve_connection(stream, service, "fleet").await;
}

/// Serves one HTTP/1 connection until it ends; `what` names the server in the log.
pub(crate) async fn serve_connection<S>(stream: tokio::net::TcpStream, service: S, what: &str)
where
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = Full<Bytes>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // With a timer, hyper closes connections that never finish their headers (30 s).
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service);
    if let Err(err) = conn.await {
        tracing::debug!(%err, "demo {what}: connection ended with an error");
    }
}
