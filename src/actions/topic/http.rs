//! The HTTP topic driver: URL templates filled with the percent-encoded id, the request with
//! the configured headers, the status check and the state re-read.
//!
//! Everything outside RFC 3986's unreserved characters is encoded, so an id can never leave
//! its path segment or query value (`/` → `%2F`, `?` → `%3F`, `#` → `%23`, `%` → `%25`).
//! Redirects are not followed: a redirect would carry the token to wherever it points.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};

use super::{bounded, done_word, TopicDriver, TopicError, TopicPlan};
use crate::actions::{ActionKind, Ctx, Step};
use crate::text::mask_secrets;
use crate::text::one_line;

/// Characters encoded in an id: all but ALPHA / DIGIT / `-` / `.` / `_` / `~`.
pub(super) const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// Most of an answer that is read (the rest is dropped): state answers are small.
const MAX_BODY: usize = 64 * 1024;
/// Characters of a server's answer quoted in a message.
const EXCERPT: usize = 200;

/// The id as it appears in a URL.
pub fn encode_topic(topic: &str) -> String {
    utf8_percent_encode(topic, ENCODE).to_string()
}

/// `template` with every `{topic}` replaced by the encoded id, parsed and checked.
fn fill(template: &str, topic: &str, what: &str) -> Result<Url, TopicError> {
    let bad = |reason: String| TopicError::BadDriver {
        what: what.to_owned(),
        reason,
    };
    if !template.contains("{topic}") {
        return Err(bad(
            "it has no {topic} hole — the topic id goes where {topic} stands".into(),
        ));
    }
    let url = Url::parse(&template.replace("{topic}", &encode_topic(topic)))
        .map_err(|e| bad(format!("it is not a URL once filled in ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!(
            "its scheme is {:?}; use http or https",
            url.scheme()
        )));
    }
    Ok(url)
}

/// The password of a URL template, if it has one long enough to be worth masking.
pub(super) fn url_password(template: &str) -> Option<String> {
    let url = Url::parse(&template.replace("{topic}", "x")).ok()?;
    url.password().filter(|p| p.len() >= 4).map(str::to_owned)
}

/// The URL as shown: a password in it becomes `***`.
fn shown(url: &Url) -> String {
    let mut u = url.clone();
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    u.to_string()
}

struct Parts<'a> {
    action: Url,
    state: Option<Url>,
    method: &'a Method,
    headers: HeaderMap,
    names: Vec<(String, String)>,
    expect: u16,
    timeout: std::time::Duration,
}

fn parts<'a>(
    driver: &'a TopicDriver,
    kind: ActionKind,
    topic: &str,
) -> Result<Parts<'a>, TopicError> {
    let TopicDriver::Http {
        suspend_url,
        resume_url,
        state_url,
        method,
        headers,
        expect_status,
        timeout,
    } = driver
    else {
        unreachable!("http::parts is only called for the HTTP driver");
    };
    let (template, what) = if kind == ActionKind::Suspend {
        (suspend_url, "suspend_url")
    } else {
        (resume_url, "resume_url")
    };
    let action = fill(template, topic, what)?;
    let state = state_url
        .as_deref()
        .map(|t| fill(t, topic, "state_url"))
        .transpose()?;
    if !(100..=599).contains(expect_status) {
        return Err(TopicError::BadDriver {
            what: "expect_status".into(),
            reason: format!("{expect_status} is not an HTTP status"),
        });
    }
    let mut map = HeaderMap::new();
    let mut names = Vec::new();
    for (name, value) in headers {
        let bad = |reason: &str| TopicError::BadDriver {
            what: format!("header {name}"),
            reason: reason.to_owned(),
        };
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| bad("its name is not a valid header name"))?;
        let mut v = HeaderValue::from_str(value.expose())
            .map_err(|_| bad("its value has characters a header cannot carry"))?;
        v.set_sensitive(true);
        map.append(n, v);
        names.push((name.clone(), "***".to_owned()));
    }
    Ok(Parts {
        action,
        state,
        method,
        headers: map,
        names,
        expect: *expect_status,
        timeout: *timeout,
    })
}

pub(super) fn steps(
    driver: &TopicDriver,
    kind: ActionKind,
    topic: &str,
) -> Result<Vec<Step>, TopicError> {
    let p = parts(driver, kind, topic)?;
    let mut steps = vec![Step::Http {
        method: p.method.to_string(),
        url: shown(&p.action),
        headers: p.names.clone(),
        expect_status: p.expect,
    }];
    steps.push(match &p.state {
        Some(url) => Step::Http {
            method: "GET".into(),
            url: shown(url),
            headers: p.names,
            expect_status: 200,
        },
        None => Step::Note {
            text: "the state is not re-read: the driver has no state_url".into(),
        },
    });
    Ok(steps)
}

fn status_text(s: StatusCode) -> String {
    match s.canonical_reason() {
        Some(r) => format!("{} {r}", s.as_u16()),
        None => s.as_u16().to_string(),
    }
}

/// Sends one request and reads (at most [`MAX_BODY`] of) the answer.
async fn send(
    client: &reqwest::Client,
    method: &Method,
    url: &Url,
    headers: &HeaderMap,
    secrets: &[String],
) -> Result<(StatusCode, Vec<u8>), TopicError> {
    let fail = |e: &reqwest::Error| {
        let mut reason = error_text(e);
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            reason.push_str(": ");
            reason.push_str(&s.to_string());
            source = s.source();
        }
        let hint = if e.is_connect() {
            " — is the service running and is the URL right?"
        } else if e.is_timeout() {
            " — the service did not answer within the driver's timeout"
        } else {
            ""
        };
        TopicError::Request {
            method: method.to_string(),
            url: shown(url),
            reason: mask_secrets(&format!("{reason}{hint}"), secrets),
        }
    };
    let mut resp = client
        .request(method.clone(), url.clone())
        .headers(headers.clone())
        .send()
        .await
        .map_err(|e| fail(&e))?;
    let status = resp.status();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| fail(&e))? {
        let room = MAX_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room <= chunk.len() {
            break;
        }
    }
    Ok((status, body))
}

/// reqwest's own sentence without the URL (it is shown separately, masked).
fn error_text(e: &reqwest::Error) -> String {
    let text = e.to_string();
    // "error sending request for url (http://…)": the part before the URL is enough.
    match text.find(" for url (") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

fn excerpt(body: &[u8], secrets: &[String]) -> String {
    let text = mask_secrets(&String::from_utf8_lossy(body), secrets);
    one_line(&text, EXCERPT)
}

pub(super) async fn run(
    driver: &TopicDriver,
    plan: &TopicPlan,
    ctx: &Ctx,
    secrets: &[String],
) -> Result<(String, String), TopicError> {
    let p = parts(driver, plan.kind, &plan.topic)?;
    let remaining = ctx.remaining();
    // As the collectors: no redirects (the token must not follow one to another host), no
    // *_PROXY (a proxy meant for the internet must not see an admin request and its token),
    // no Referer.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .referer(false)
        .timeout(
            p.timeout
                .min(remaining.max(std::time::Duration::from_millis(1))),
        )
        .build()
        .map_err(|e| TopicError::BadDriver {
            what: "the HTTP client".into(),
            reason: e.to_string(),
        })?;
    let verb = plan.kind.as_str();
    ctx.phase(format!(
        "{verb} {}: {} {}",
        plan.topic,
        p.method,
        shown(&p.action)
    ));
    let (status, body) = bounded(
        ctx,
        &format!("waiting for {}", shown(&p.action)),
        true,
        send(&client, p.method, &p.action, &p.headers, secrets),
    )
    .await?;
    check_status(
        status,
        &body,
        p.method,
        &p.action,
        p.expect,
        &plan.topic,
        secrets,
    )?;
    let outcome = format!("HTTP {}", status_text(status));
    let Some(state_url) = &p.state else {
        return Ok((outcome, "not re-read (no state_url)".into()));
    };
    ctx.phase(format!("re-reading the state of {}", plan.topic));
    let done = done_word(plan.kind).to_owned();
    let unreadable = |reason: String| TopicError::StateUnreadable {
        done: done.clone(),
        reason,
    };
    let (status, body) = bounded(
        ctx,
        "re-reading the state",
        false,
        send(&client, &Method::GET, state_url, &p.headers, secrets),
    )
    .await
    .map_err(|e| unreadable(e.to_string()))?;
    if !status.is_success() {
        return Err(unreadable(format!(
            "GET {} answered {}{}",
            shown(state_url),
            status_text(status),
            said(&body, secrets)
        )));
    }
    Ok((outcome, parse_state(&body)))
}

fn said(body: &[u8], secrets: &[String]) -> String {
    let e = excerpt(body, secrets);
    if e.is_empty() {
        String::new()
    } else {
        format!(" — the server said: {e}")
    }
}

fn check_status(
    status: StatusCode,
    body: &[u8],
    method: &Method,
    url: &Url,
    expect: u16,
    topic: &str,
    secrets: &[String],
) -> Result<(), TopicError> {
    if status.as_u16() == expect {
        return Ok(());
    }
    match status {
        StatusCode::NOT_FOUND => Err(TopicError::NoTopic {
            topic: topic.to_owned(),
            detail: format!(
                "{method} {} answered 404 Not Found{}",
                shown(url),
                said(body, secrets)
            ),
        }),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(TopicError::Unauthorized {
            url: shown(url),
            status: status_text(status),
        }),
        _ => Err(TopicError::UnexpectedStatus {
            method: method.to_string(),
            url: shown(url),
            status: status_text(status),
            expected: expect,
            body: said(body, secrets),
        }),
    }
}

/// The state from an answer: JSON `state` or `status` (text) or `suspended` (bool), a bare
/// JSON string or boolean, else the text itself on one line.
pub(super) fn parse_state(body: &[u8]) -> String {
    use serde_json::Value;
    let word = |b: bool| if b { "suspended" } else { "active" }.to_owned();
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        if let Some(s) = v.get("state").and_then(Value::as_str) {
            return one_line(s, 100);
        }
        if let Some(b) = v.get("suspended").and_then(Value::as_bool) {
            return word(b);
        }
        if let Some(s) = v.get("status").and_then(Value::as_str) {
            return one_line(s, 100);
        }
        match v {
            Value::String(s) => return one_line(&s, 100),
            Value::Bool(b) => return word(b),
            _ => {}
        }
    }
    let text = one_line(&String::from_utf8_lossy(body), 100);
    if text.is_empty() {
        "(empty answer)".into()
    } else {
        text
    }
}
