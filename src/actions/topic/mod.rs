//! Topic suspension and resumption (runbook 000 §4.2–4.3: stop a relay accepting a topic,
//! later accept it again), through an HTTP admin API or through SQL.
//!
//! The topic id is what the operator types, so it is data and only ever fills a hole: the
//! `{topic}` of a URL template, percent-encoded so that `/`, `?`, `#`, `%` or spaces stay
//! inside one path segment, or `$1` of a prepared statement. It is never pasted into SQL, a
//! shell or a header. [`validate_topic`] refuses ids no topic system would mint and that only
//! make sense as an attack on a tool (`--help`, `../`, a newline).
//!
//! [`plan`] shows the exact request or statement (header values as `***`) and the state
//! re-read, without side effects; [`run`] performs it under a [`Ctx`], checks the status or
//! the rows changed, and re-reads the topic's state. [`list`] helps a picker: topics with
//! their traffic from a counter, and topics with their state from SQL.

mod http;
pub mod list;
mod sql;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{ActionKind, Ctx, Risk, Step};
use crate::config::{PostgresConfig, Secret};
use crate::text::mask_secrets;

pub use http::encode_topic;
pub use list::{
    list_sql, merge, traffic, traffic_from_index, CounterSample, TopicListing, TopicRow,
    TopicTraffic,
};
pub use sql::check_statements;

/// Longest topic id accepted, in characters.
pub const MAX_TOPIC_CHARS: usize = 200;
/// Status an HTTP driver expects when the file gives none.
pub const DEFAULT_EXPECT_STATUS: u16 = 200;
/// Deadline of one HTTP request when the file gives none.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// How a target suspends and resumes topics.
// One per target, built once from the config: the size of the SQL variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum TopicDriver {
    /// An admin API. The URLs are templates whose `{topic}` becomes the percent-encoded id.
    Http {
        suspend_url: String,
        resume_url: String,
        /// Answers the topic's state: JSON with `state` (text) or `suspended` (bool), or plain
        /// text.
        state_url: Option<String>,
        /// Method of the suspend and resume requests (the state is read with GET).
        method: reqwest::Method,
        /// Sent with every request, the state read included. Values are never shown.
        headers: Vec<(String, Secret)>,
        expect_status: u16,
        /// Deadline of each request (the action's own deadline still applies).
        timeout: Duration,
    },
    /// Statements run on the target's database, `$1` bound to the topic id.
    Sql {
        postgres: PostgresConfig,
        /// Must change exactly one row (`UPDATE … WHERE topic_id = $1`).
        suspend_sql: String,
        resume_sql: String,
        /// One row whose first column is the state as text, or a boolean "is suspended".
        state_sql: Option<String>,
    },
}

impl TopicDriver {
    /// An HTTP driver with the defaults: POST, no headers, expect 200, 10 s per request.
    pub fn http(suspend_url: impl Into<String>, resume_url: impl Into<String>) -> TopicDriver {
        TopicDriver::Http {
            suspend_url: suspend_url.into(),
            resume_url: resume_url.into(),
            state_url: None,
            method: reqwest::Method::POST,
            headers: Vec::new(),
            expect_status: DEFAULT_EXPECT_STATUS,
            timeout: DEFAULT_HTTP_TIMEOUT,
        }
    }

    /// "http" or "sql", for messages and the audit record.
    pub fn kind(&self) -> &'static str {
        match self {
            TopicDriver::Http { .. } => "http",
            TopicDriver::Sql { .. } => "sql",
        }
    }

    /// The values to mask in anything shown: header values and URL passwords.
    fn secrets(&self) -> Vec<String> {
        match self {
            TopicDriver::Http {
                headers,
                suspend_url,
                resume_url,
                state_url,
                ..
            } => {
                let mut out: Vec<String> =
                    headers.iter().map(|(_, v)| v.expose().to_owned()).collect();
                // A bearer value is also masked on its own, should a server echo it.
                out.extend(headers.iter().filter_map(|(_, v)| {
                    v.expose()
                        .split_once(' ')
                        .map(|(_, t)| t.trim().to_owned())
                        .filter(|t| t.len() >= 4)
                }));
                for url in [Some(suspend_url), Some(resume_url), state_url.as_ref()]
                    .into_iter()
                    .flatten()
                {
                    out.extend(http::url_password(url));
                }
                out
            }
            TopicDriver::Sql { .. } => Vec::new(),
        }
    }
}

/// What will be done, as shown before confirmation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicPlan {
    pub kind: ActionKind,
    pub topic: String,
    /// "http" or "sql".
    pub driver: &'static str,
    /// The operator types the topic id to confirm.
    pub risk: Risk,
    pub steps: Vec<Step>,
    /// The plan's steps in one string; [`run`] refuses a plan whose driver has changed since.
    pub fingerprint: String,
}

impl TopicPlan {
    /// One line per step, for the preview and the audit record.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "{} topic {}",
            self.kind.as_str(),
            super::shell_quote(&self.topic)
        );
        for (i, s) in self.steps.iter().enumerate() {
            let _ = write!(out, "\n  {}. {}", i + 1, s.describe());
        }
        out
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicReport {
    pub kind: ActionKind,
    pub topic: String,
    /// "HTTP 200 OK" or "1 row updated".
    pub outcome: String,
    /// The state re-read afterwards ("suspended", "active", …), or why it was not read.
    pub state_after: String,
    /// Whether `state_after` shows the topic suspended (for suspend) or not (for resume);
    /// `None` when the state could not be interpreted.
    pub confirmed: Option<bool>,
    #[serde(with = "millis")]
    pub elapsed: Duration,
}

mod millis {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
}

/// Why a topic action could not be planned or did not complete. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("topic id {shown} is not usable: {reason}")]
    InvalidTopic { shown: String, reason: String },
    #[error("{kind} is not a topic action — use suspend or resume")]
    WrongKind { kind: &'static str },
    #[error("{what} is not usable: {reason}")]
    BadDriver { what: String, reason: String },
    #[error("no topic {topic:?} — {detail}; check the id (the topic list shows the known ones)")]
    NoTopic { topic: String, detail: String },
    #[error("{url} refused the credentials ({status}) — check the token in the headers of the topic driver")]
    Unauthorized { url: String, status: String },
    #[error("{method} {url} answered {status}, expected {expected}{body}")]
    UnexpectedStatus {
        method: String,
        url: String,
        status: String,
        expected: u16,
        body: String,
    },
    #[error("{method} {url} failed: {reason}")]
    Request {
        method: String,
        url: String,
        reason: String,
    },
    #[error("cannot connect to {addr}: {reason}")]
    Connect { addr: String, reason: String },
    #[error("{what} failed: {reason}")]
    Sql { what: String, reason: String },
    #[error("{what} changed {rows} rows for one topic; rolled back — its WHERE must match exactly one topic")]
    TooManyRows { what: String, rows: u64 },
    #[error("the topic was {done}, but its state could not be read back: {reason}")]
    StateUnreadable { done: String, reason: String },
    #[error("cancelled {during}{maybe}")]
    Cancelled { during: String, maybe: String },
    #[error("timed out {during}{maybe}")]
    TimedOut { during: String, maybe: String },
    #[error("the plan no longer matches the topic driver (its settings changed) — plan again")]
    StalePlan,
    /// Another error whose text had a secret in it, masked.
    #[error("{0}")]
    Masked(String),
}

/// Checks a topic id. Everything not refused here is passed on literally.
pub fn validate_topic(topic: &str) -> Result<(), TopicError> {
    let reason = if topic.is_empty() {
        Some("it is empty")
    } else if topic.chars().count() > MAX_TOPIC_CHARS {
        Some("it is longer than 200 characters")
    } else if topic.chars().any(char::is_control) {
        Some("it contains a control character or a line break")
    } else if topic.starts_with('-') {
        Some("it starts with '-' (it would read as an option)")
    } else if topic.contains("..") {
        Some("it contains '..' (it would read as a parent directory)")
    } else if topic == "." {
        Some("it is '.' (it would read as the current directory)")
    } else if topic.trim() != topic {
        Some("it starts or ends with white space")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(TopicError::InvalidTopic {
            shown: format!("{topic:?}"),
            reason: reason.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Builds the plan for suspending or resuming `topic`. No side effects.
pub fn plan(driver: &TopicDriver, kind: ActionKind, topic: &str) -> Result<TopicPlan, TopicError> {
    if !matches!(kind, ActionKind::Suspend | ActionKind::Resume) {
        return Err(TopicError::WrongKind {
            kind: kind.as_str(),
        });
    }
    validate_topic(topic)?;
    let steps = match driver {
        TopicDriver::Http { .. } => http::steps(driver, kind, topic)?,
        TopicDriver::Sql { .. } => sql::steps(driver, kind, topic)?,
    };
    let secrets = driver.secrets();
    let steps: Vec<Step> = steps.into_iter().map(|s| mask_step(s, &secrets)).collect();
    let fingerprint = steps
        .iter()
        .map(Step::describe)
        .collect::<Vec<_>>()
        .join("\n");
    Ok(TopicPlan {
        kind,
        topic: topic.to_owned(),
        driver: driver.kind(),
        risk: Risk::High,
        steps,
        fingerprint: format!("{} {}\n{fingerprint}", kind.as_str(), topic),
    })
}

/// Masks any secret left in a step's text (a password in a URL).
fn mask_step(step: Step, secrets: &[String]) -> Step {
    let m = |s: String| mask_secrets(&s, secrets);
    match step {
        Step::Http {
            method,
            url,
            headers,
            expect_status,
        } => Step::Http {
            method,
            url: m(url),
            headers,
            expect_status,
        },
        other => other,
    }
}

/// Performs a plan made by [`plan`] with the same driver.
pub async fn run(
    driver: &TopicDriver,
    plan: &TopicPlan,
    ctx: &Ctx,
) -> Result<TopicReport, TopicError> {
    let fresh = self::plan(driver, plan.kind, &plan.topic)?;
    if fresh.fingerprint != plan.fingerprint {
        return Err(TopicError::StalePlan);
    }
    let started = Instant::now();
    let mut secrets = driver.secrets();
    secrets.extend(ctx.secrets.iter().cloned());
    let result = match driver {
        TopicDriver::Http { .. } => http::run(driver, plan, ctx, &secrets).await,
        TopicDriver::Sql { .. } => sql::run(driver, plan, ctx).await,
    };
    let (outcome, state_after) = result.map_err(|e| mask_error(e, &secrets))?;
    let confirmed = is_suspended(&state_after).map(|s| s == (plan.kind == ActionKind::Suspend));
    Ok(TopicReport {
        kind: plan.kind,
        topic: plan.topic.clone(),
        outcome: mask_secrets(&outcome, &secrets),
        state_after: mask_secrets(&state_after, &secrets),
        confirmed,
        elapsed: started.elapsed(),
    })
}

/// Reads a state word: `Some(true)` for suspended, `Some(false)` for active, else `None`.
pub fn is_suspended(state: &str) -> Option<bool> {
    match state.trim().to_ascii_lowercase().as_str() {
        "suspended" | "paused" | "disabled" | "blocked" | "true" | "t" => Some(true),
        "active" | "resumed" | "enabled" | "accepting" | "ok" | "false" | "f" => Some(false),
        _ => None,
    }
}

/// Masks secrets in every text an error carries (server bodies and transport errors might
/// echo them).
fn mask_error(e: TopicError, secrets: &[String]) -> TopicError {
    let text = e.to_string();
    if secrets
        .iter()
        .all(|s| s.is_empty() || !text.contains(s.as_str()))
    {
        return e;
    }
    TopicError::Masked(mask_secrets(&text, secrets))
}

/// The verb for messages: "suspended" / "resumed".
fn done_word(kind: ActionKind) -> &'static str {
    if kind == ActionKind::Suspend {
        "suspended"
    } else {
        "resumed"
    }
}

/// Runs `fut` until it ends, the action is cancelled or its deadline passes. `during` names
/// the phase for the error; `applied_maybe` says whether the change may have happened.
async fn bounded<T>(
    ctx: &Ctx,
    during: &str,
    applied_maybe: bool,
    fut: impl std::future::Future<Output = Result<T, TopicError>>,
) -> Result<T, TopicError> {
    let maybe = if applied_maybe {
        " — the change may or may not have been applied; re-read the topic's state".to_owned()
    } else {
        String::new()
    };
    let deadline = tokio::time::Instant::from_std(ctx.deadline);
    tokio::select! {
        r = fut => r,
        () = ctx.cancel.cancelled() => Err(TopicError::Cancelled { during: during.to_owned(), maybe }),
        () = tokio::time::sleep_until(deadline) => Err(TopicError::TimedOut { during: during.to_owned(), maybe }),
    }
}

#[cfg(test)]
mod tests;
