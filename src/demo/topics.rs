//! The relay's topic admin routes (runbook 000 §4.3: suspend accepting a topic, later resume):
//!
//! ```text
//! GET  /admin/topics                 every topic with its state
//! GET  /admin/topics/{id}            one topic
//! POST /admin/topics/{id}/suspend    stop accepting it
//! POST /admin/topics/{id}/resume     accept it again
//! ```
//!
//! `{id}` is one percent-encoded path segment (`/` inside an id is `%2F`). Every route needs
//! `Authorization: Bearer <token>` (the fleet's admin token). With the Postgres twin running,
//! a change is written to its `cn_relay.topics` table first and then applied to the relay, so
//! the table and the relay's counting never disagree for longer than one twin tick.

use hyper::header::AUTHORIZATION;
use hyper::{Method, Request, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::json;

use super::server::{Node, Reply, JSON_TYPE};

/// Lines for the relay's index page.
pub(crate) const INDEX: &str = "\
GET  /admin/topics                 topics and their state (Authorization: Bearer …)
GET  /admin/topics/{id}            one topic ({id} percent-encoded)
POST /admin/topics/{id}/suspend    stop accepting a topic
POST /admin/topics/{id}/resume     accept it again
";

const PREFIX: &str = "/admin/topics";

/// A topic as the relay reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopicState {
    pub(crate) id: String,
    pub(crate) suspended: bool,
    /// Events accepted so far (`ingest_topic_received_total`).
    pub(crate) received: u64,
}

impl TopicState {
    pub(crate) fn json(&self) -> serde_json::Value {
        json!({
            "topic": self.id,
            "state": if self.suspended { "suspended" } else { "active" },
            "suspended": self.suspended,
            "received_total": self.received,
        })
    }
}

pub(crate) fn is_admin_path(path: &str) -> bool {
    path == PREFIX || path.starts_with("/admin/topics/")
}

fn reply(status: StatusCode, body: &serde_json::Value) -> Reply {
    Reply {
        status,
        content_type: JSON_TYPE,
        body: body.to_string(),
    }
}

fn error(status: StatusCode, message: &str) -> Reply {
    reply(status, &json!({ "error": message }))
}

/// Compares without stopping at the first difference, so timing does not reveal a prefix.
fn same_token(given: &[u8], want: &[u8]) -> bool {
    given.len() == want.len()
        && given
            .iter()
            .zip(want)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn authorized<B>(node: &Node, req: &Request<B>) -> bool {
    let Some(token) = node.admin_token() else {
        return false;
    };
    req.headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .is_some_and(|given| same_token(given, token.as_bytes()))
}

/// What a path under `/admin/topics` asks for.
enum Route {
    List,
    Get(String),
    Set(String, bool),
}

fn route(path: &str) -> Result<Route, Reply> {
    let rest = path.strip_prefix(PREFIX).unwrap_or_default();
    if rest.is_empty() || rest == "/" {
        return Ok(Route::List);
    }
    let rest = rest.trim_start_matches('/');
    let mut parts = rest.split('/');
    let (Some(raw), verb, None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(error(StatusCode::NOT_FOUND, "no such admin route"));
    };
    let id = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                "the topic id is not UTF-8 once percent-decoded",
            )
        })?
        .into_owned();
    match verb {
        None => Ok(Route::Get(id)),
        Some("suspend") => Ok(Route::Set(id, true)),
        Some("resume") => Ok(Route::Set(id, false)),
        Some(_) => Err(error(StatusCode::NOT_FOUND, "no such admin route")),
    }
}

fn unknown(id: &str) -> Reply {
    reply(
        StatusCode::NOT_FOUND,
        &json!({ "error": "unknown topic", "topic": id }),
    )
}

/// Answers one `/admin/topics…` request; the second value is the `Allow` header of a 405.
pub(crate) async fn admin<B>(node: &Node, req: &Request<B>) -> (Reply, Option<&'static str>) {
    if !authorized(node, req) {
        return (
            error(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token (Authorization: Bearer <token>)",
            ),
            None,
        );
    }
    let route = match route(req.uri().path()) {
        Ok(r) => r,
        Err(reply) => return (reply, None),
    };
    let method = req.method();
    match route {
        Route::List | Route::Get(_) if method != Method::GET => (
            error(StatusCode::METHOD_NOT_ALLOWED, "only GET"),
            Some("GET"),
        ),
        Route::Set(..) if method != Method::POST => (
            error(StatusCode::METHOD_NOT_ALLOWED, "only POST"),
            Some("POST"),
        ),
        Route::List => {
            let all: Vec<_> = node.topics().iter().map(TopicState::json).collect();
            (reply(StatusCode::OK, &json!({ "topics": all })), None)
        }
        Route::Get(id) => {
            let found = node.topics().into_iter().find(|t| t.id == id);
            let r = found.map_or_else(|| unknown(&id), |t| reply(StatusCode::OK, &t.json()));
            (r, None)
        }
        Route::Set(id, suspended) => {
            let result = match node.topic_db() {
                Some(db) => db.set(node, &id, suspended).await,
                None => Ok(node.set_topic(&id, suspended)),
            };
            let r = match result {
                Ok(Some(state)) => reply(StatusCode::OK, &state.json()),
                Ok(None) => unknown(&id),
                Err(e) => error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("cannot write the topics table: {e}"),
                ),
            };
            (r, None)
        }
    }
}
