//! The demo's history server: the part of the Prometheus HTTP API a backfill asks, over the
//! recorded past of every twin of the fleet, as a Prometheus that had scraped them would
//! answer it.
//!
//! ```text
//! GET /api/v1/query_range?query={__name__=~"a|b",instance="127.0.0.1:PORT"}&start=S&end=E&step=STEP
//!     → {"status":"success","data":{"resultType":"matrix","result":[{"metric":{…},"values":[[t,"v"],…]}]}}
//! GET /-/ready → Prometheus Server is Ready.
//! GET /        → an index
//! ```
//!
//! Each series carries the labels `/metrics` wrote plus `instance` (the host:port of the
//! twin's metrics URL) and `job` (the service's name), sorted by name as Prometheus sorts them.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;

use hyper::service::service_fn;
use hyper::{Method, Request, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::history::{prom_time, prom_value, STEP_MS};
use super::query::{parse_range, select, RangeQuery};
use super::server::{accept, serve_connection, to_response, Node, Reply, JSON_TYPE};

/// One twin as the history server labels it.
#[allow(clippy::struct_field_names)] // `instance` is the Prometheus label it stands for
pub(crate) struct Instance {
    /// `host:port` of its metrics URL.
    pub(crate) instance: String,
    /// The service's name.
    pub(crate) job: String,
    pub(crate) node: Arc<Node>,
}

/// Serves the history of `instances` until `stop` changes.
pub(crate) async fn serve(
    listener: TcpListener,
    instances: Arc<Vec<Instance>>,
    stop: watch::Receiver<bool>,
) {
    accept(listener, stop, move |stream| {
        connection(stream, Arc::clone(&instances))
    })
    .await;
}

async fn connection(stream: tokio::net::TcpStream, instances: Arc<Vec<Instance>>) {
    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
        let instances = Arc::clone(&instances);
        async move {
            let (reply, allow) = respond(
                &instances,
                req.method(),
                req.uri().path(),
                req.uri().query().unwrap_or_default(),
            );
            Ok::<_, Infallible>(to_response(reply, allow))
        }
    });
    serve_connection(stream, service, "history").await;
}

/// The reply to one request and, for a 405, the methods to list in `Allow`.
pub(crate) fn respond(
    instances: &[Instance],
    method: &Method,
    path: &str,
    query: &str,
) -> (Reply, Option<&'static str>) {
    let known = matches!(path, "/" | "/-/ready" | "/api/v1/query_range");
    if let Some(refused) = Reply::refuse(known, method, path) {
        return refused;
    }
    let reply = match path {
        "/-/ready" => Reply::text(StatusCode::OK, "Prometheus Server is Ready.\n"),
        "/" => Reply::text(StatusCode::OK, index(instances)),
        _ => match parse_range(query) {
            Ok(q) => Reply {
                status: StatusCode::OK,
                content_type: JSON_TYPE,
                body: matrix(instances, &q),
            },
            Err(e) => bad_data(&e),
        },
    };
    (reply, None)
}

/// Prometheus' answer to a request it cannot read.
fn bad_data(error: &str) -> Reply {
    Reply {
        status: StatusCode::BAD_REQUEST,
        content_type: JSON_TYPE,
        body: serde_json::json!({"status": "error", "errorType": "bad_data", "error": error})
            .to_string(),
    }
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The `success` body of a range query: every matching series of every twin.
fn matrix(instances: &[Instance], q: &RangeQuery) -> String {
    let mut out = String::from(r#"{"status":"success","data":{"resultType":"matrix","result":["#);
    let mut first = true;
    for inst in instances {
        inst.node.with_history(|history| {
            let Some(h) = history else { return };
            let pick = |m: &_| select(&q.matchers, m, &inst.instance, &inst.job);
            for (id, points) in h.range(&pick, q.start, q.end, q.step) {
                let meta = &h.series()[id];
                let mut labels: Vec<(&str, &str)> = meta
                    .labels
                    .iter()
                    .map(|(k, v)| (&**k, &**v))
                    .filter(|(k, _)| !matches!(*k, "instance" | "job"))
                    .chain([
                        ("__name__", &*meta.name),
                        ("instance", inst.instance.as_str()),
                        ("job", inst.job.as_str()),
                    ])
                    .collect();
                labels.sort_unstable();
                if !std::mem::take(&mut first) {
                    out.push(',');
                }
                out.push_str(r#"{"metric":{"#);
                for (i, (k, v)) in labels.iter().enumerate() {
                    let sep = if i > 0 { "," } else { "" };
                    let _ = write!(out, "{sep}{}:{}", json_str(k), json_str(v));
                }
                out.push_str(r#"},"values":["#);
                for (i, (t, v)) in points.iter().enumerate() {
                    let sep = if i > 0 { "," } else { "" };
                    let _ = write!(out, "{sep}[{},\"{}\"]", prom_time(*t), prom_value(*v));
                }
                out.push_str("]}");
            }
        });
    }
    out.push_str("]}}");
    out
}

fn index(instances: &[Instance]) -> String {
    let mut page = format!(
        "watchdeck demo fleet: history server (the Prometheus query API over the twins' recorded \
         past: a frame every {} s, the last 30 minutes)\n\n\
         GET /api/v1/query_range?query=SELECTOR&start=S&end=E&step=STEP\n\
         \x20   SELECTOR: {{__name__=~\"a|b\",instance=\"host:port\"}} or name{{label=\"value\"}}\n\
         GET /-/ready\nGET /              this page\n\ninstances:\n",
        STEP_MS / 1000
    );
    for i in instances {
        let _ = writeln!(page, "  {:<22} job={}", i.instance, i.job);
    }
    page
}
