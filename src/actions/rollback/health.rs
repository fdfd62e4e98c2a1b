//! The post-restart health gate: N consecutive rounds in which every health URL answers 2xx,
//! within a deadline, a fixed interval apart. A failed round resets the count: one lucky 200
//! between 503s is not a recovered service.

use crate::text::masked_url;
use std::time::{Duration, Instant};

use reqwest::redirect::Policy;
use reqwest::{Client, Url};

use super::SymlinkSpec;
use crate::actions::Ctx;

/// Longest single health request; a hung endpoint fails its round rather than the gate.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const USER_AGENT: &str = concat!("watchdeck/", env!("CARGO_PKG_VERSION"), " (rollback gate)");

/// Runs the gate; `Ok(checks)` once `healthy_needed` consecutive rounds passed, otherwise
/// why it did not (deadline, cancel), with the last failure seen.
pub(super) async fn gate(spec: &SymlinkSpec, ctx: &Ctx) -> Result<u32, String> {
    let needed = spec.healthy_needed;
    // Same stance as the collectors (source/http.rs): no proxy, no redirects, verified TLS.
    let client = Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(Policy::none())
        .referer(false)
        .no_proxy()
        .tls_built_in_root_certs(true)
        .build()
        .map_err(|e| format!("cannot build the health client: {}", deepest(&e)))?;
    let gate_deadline = (Instant::now() + spec.health_deadline).min(ctx.deadline);
    let deadline = tokio::time::Instant::from_std(gate_deadline);
    let mut ok = 0u32;
    let mut last_failure: Option<String> = None;
    // The last status a server answered with: a final round cut short by the gate's own
    // deadline ends in a timeout, which must not hide the 503 every round before it got.
    let mut last_answer: Option<String> = None;
    ctx.phase(format!("health 0/{needed}"));
    loop {
        let remaining = gate_deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            break;
        }
        let round = round(&client, &spec.health, remaining.min(REQUEST_TIMEOUT));
        let result = tokio::select! {
            r = round => r,
            () = ctx.cancel.cancelled() => return Err(cancelled(ok, needed)),
            () = tokio::time::sleep_until(deadline) => break,
        };
        match result {
            Ok(()) => {
                ok += 1;
                ctx.phase(format!("health {ok}/{needed}"));
                if ok >= needed {
                    return Ok(ok);
                }
            }
            Err((why, answered)) => {
                ok = 0;
                ctx.phase(format!("health 0/{needed} ({why})"));
                if answered {
                    last_answer = Some(why.clone());
                }
                last_failure = Some(why);
            }
        }
        tokio::select! {
            () = tokio::time::sleep(spec.health_interval) => {}
            () = ctx.cancel.cancelled() => return Err(cancelled(ok, needed)),
            () = tokio::time::sleep_until(deadline) => break,
        }
    }
    let urls: Vec<String> = spec.health.iter().map(masked_url).collect();
    let mut why = format!(
        "health not reached: {ok}/{needed} consecutive healthy checks of {} within {} s",
        urls.join(", "),
        spec.health_deadline.as_secs()
    );
    if let Some(last) = &last_failure {
        why.push_str("; last failure: ");
        why.push_str(last);
    }
    if let Some(answer) = last_answer.filter(|a| Some(a) != last_failure.as_ref()) {
        why.push_str("; last answer: ");
        why.push_str(&answer);
    }
    Err(why)
}

fn cancelled(ok: u32, needed: u32) -> String {
    format!("cancelled during the health gate (at {ok}/{needed} healthy checks)")
}

/// One round: every URL must answer 2xx. A failure says whether a server answered.
async fn round(client: &Client, urls: &[Url], timeout: Duration) -> Result<(), (String, bool)> {
    for url in urls {
        match client.get(url.clone()).timeout(timeout).send().await {
            Ok(resp) if resp.status().is_success() => {}
            Ok(resp) => {
                return Err((
                    format!("{} answered {}", masked_url(url), resp.status()),
                    true,
                ))
            }
            Err(e) => return Err((format!("{}: {}", masked_url(url), deepest(&e)), false)),
        }
    }
    Ok(())
}

/// The innermost cause: more specific than reqwest's top line, and without the URL.
fn deepest(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    if let Some(e) = err.downcast_ref::<reqwest::Error>() {
        if e.is_timeout() {
            return "timed out".into();
        }
    }
    cur.to_string().replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_masked_for_display() {
        let u = Url::parse("http://ops:hunter2@127.0.0.1:8080/healthz?token=abc&x=1").expect("url");
        let shown = masked_url(&u);
        assert!(
            !shown.contains("hunter2") && !shown.contains("abc"),
            "{shown}"
        );
        assert!(
            shown.contains("ops:***@") && shown.contains("token=***"),
            "{shown}"
        );
    }
}
