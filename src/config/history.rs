//! `[history]`: the Prometheus-compatible store (Prometheus, VictoriaMetrics, Thanos, Mimir)
//! the cockpit reads each target's recent past from at launch and after a gap in scraping,
//! so the first frame knows what happened before it started. A target may name its own
//! store (`history_url`) and the selector that finds its series there (`history_selector`);
//! the default selector is `instance="host:port"` of its metrics URL, as Prometheus labels
//! a scraped target.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::endpoint::url;
use super::error::Problems;
use super::secret::Secret;
use super::validate::{positive_duration, Context};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HistoryFile {
    pub url: Spanned<String>,
    pub token_env: Option<Spanned<String>>,
    pub tenant: Option<Spanned<String>>,
    pub window: Option<Spanned<toml::Value>>,
    pub timeout: Option<Spanned<toml::Value>>,
}

pub(super) const HISTORY_KEYS: &[&str] = &["url", "token_env", "tenant", "window", "timeout"];

/// How far back the cockpit reads by default: the store keeps 15 minutes of every watched
/// series, and every panel window and rule `for:` of the presets fits in it.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_WINDOW: Duration = Duration::from_secs(15 * 60);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A validated `[history]`: the default store of every target.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryConfig {
    pub url: reqwest::Url,
    pub token: Option<Secret>,
    /// `X-Scope-OrgID`, for multi-tenant stores (Mimir, Cortex).
    pub tenant: Option<String>,
    /// How far back to read at launch.
    pub window: Duration,
    /// Deadline of one range query (the first frame never waits on it).
    pub timeout: Duration,
}

/// Where one target's past is read from.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetHistory {
    pub url: reqwest::Url,
    pub token: Option<Secret>,
    pub tenant: Option<String>,
    pub window: Duration,
    pub timeout: Duration,
    /// Label matchers without braces, e.g. `instance="10.0.0.5:9100"` or
    /// `job="relay",instance="10.0.0.5:9100"`.
    pub selector: String,
    /// The label names the selector pins (dropped from the series read back, since the
    /// target's own scrape does not carry them), plus `job` and `instance`.
    pub pinned: Vec<String>,
}

pub(super) fn history(
    f: &Spanned<HistoryFile>,
    cx: &Context<'_>,
    p: &mut Problems<'_>,
) -> Option<HistoryConfig> {
    let f = f.get_ref();
    let ctx = "[history] ";
    let url = url(ctx, "url", &f.url, p);
    let token = super::alertmanager::token_env(ctx, f.token_env.as_ref(), "PROM_TOKEN", cx, p).ok();
    let window = match &f.window {
        None => Some(DEFAULT_WINDOW),
        Some(v) => positive_duration(ctx, "window", v, p).and_then(|w| {
            if w > MAX_WINDOW {
                p.push(
                    &v.span(),
                    format!(
                        "{ctx}window {} is longer than the 15 minutes the cockpit keeps — use \"15m\" or less",
                        humantime::format_duration(w)
                    ),
                );
                None
            } else {
                Some(w)
            }
        }),
    };
    let timeout = f.timeout.as_ref().map_or(Some(DEFAULT_TIMEOUT), |v| {
        positive_duration(ctx, "timeout", v, p)
    });
    Some(HistoryConfig {
        url: url?,
        token: token?,
        tenant: f.tenant.as_ref().map(|t| t.get_ref().clone()),
        window: window?,
        timeout: timeout?,
    })
}

/// One target's history: its own URL or the default, its own selector or `instance` from
/// the metrics URL. `None` when neither a store nor a way to find the series is known.
pub(super) fn target_history(
    ctx: &str,
    default: Option<&HistoryConfig>,
    own_url: Option<&Spanned<String>>,
    own_selector: Option<&Spanned<String>>,
    metrics: Option<&reqwest::Url>,
    p: &mut Problems<'_>,
) -> Option<TargetHistory> {
    let own_url = own_url.and_then(|u| url(ctx, "history_url", u, p));
    let selector = match own_selector {
        Some(s) => match parse_selector(s.get_ref()) {
            Ok(pinned) => Some((selector_body(s.get_ref()), pinned)),
            Err(why) => {
                p.push(&s.span(), format!("{ctx}history_selector {why}"));
                return None;
            }
        },
        None => metrics.and_then(|m| {
            let host = m.host_str()?;
            let port = m.port_or_known_default()?;
            let host = if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]")
            } else {
                host.to_owned()
            };
            Some((
                format!("instance=\"{host}:{port}\""),
                vec!["instance".to_owned()],
            ))
        }),
    };
    let (url, token, tenant, window, timeout) = match (own_url, default) {
        (Some(u), Some(d)) => (u, d.token.clone(), d.tenant.clone(), d.window, d.timeout),
        (Some(u), None) => (u, None, None, DEFAULT_WINDOW, DEFAULT_TIMEOUT),
        (None, Some(d)) => (
            d.url.clone(),
            d.token.clone(),
            d.tenant.clone(),
            d.window,
            d.timeout,
        ),
        (None, None) => {
            if let Some(s) = own_selector {
                p.push(
                    &s.span(),
                    format!("{ctx}history_selector is set but no store is named — add a [history] table with its url, or history_url on this target"),
                );
            }
            return None;
        }
    };
    let (selector, mut pinned) = selector?;
    for l in ["job", "instance"] {
        if !pinned.iter().any(|p| p == l) {
            pinned.push(l.to_owned());
        }
    }
    Some(TargetHistory {
        url,
        token,
        tenant,
        window,
        timeout,
        selector,
        pinned,
    })
}

fn selector_body(s: &str) -> String {
    let t = s.trim();
    t.strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(t)
        .trim()
        .trim_end_matches(',')
        .to_owned()
}

/// Checks `{label="value", label=~"re", …}` (braces optional) and returns the label names
/// pinned by equality or regex matchers.
pub fn parse_selector(s: &str) -> Result<Vec<String>, String> {
    let body = selector_body(s);
    let b = body.as_bytes();
    let mut i = 0;
    let mut names = Vec::new();
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i >= b.len() {
            break;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            i += 1;
        }
        let name = &body[start..i];
        if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
            return Err(format!(
                "{s:?}: expected a label name at column {} — write matchers such as {{job=\"relay\",instance=\"10.0.0.5:9100\"}}",
                start + 1
            ));
        }
        if name == "__name__" {
            return Err(format!("{s:?} names __name__ — the cockpit picks the metric names itself; match the target's labels only"));
        }
        skip_ws(&mut i);
        let op_len = if body[i..].starts_with("=~")
            || body[i..].starts_with("!~")
            || body[i..].starts_with("!=")
        {
            2
        } else if body[i..].starts_with('=') {
            1
        } else {
            return Err(format!("{s:?}: expected =, !=, =~ or !~ after {name:?}"));
        };
        let op = &body[i..i + op_len];
        i += op_len;
        skip_ws(&mut i);
        if i >= b.len() || b[i] != b'"' {
            return Err(format!(
                "{s:?}: the value of {name:?} must be in double quotes"
            ));
        }
        i += 1;
        let mut closed = false;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => {
                    closed = true;
                    i += 1;
                    break;
                }
                _ => i += 1,
            }
        }
        if !closed {
            return Err(format!("{s:?}: the value of {name:?} has no closing quote"));
        }
        if op == "=" || op == "=~" {
            names.push(name.to_owned());
        }
        skip_ws(&mut i);
        if i < b.len() {
            if b[i] != b',' {
                return Err(format!(
                    "{s:?}: expected a comma after the value of {name:?}"
                ));
            }
            i += 1;
        }
    }
    if names.is_empty() {
        return Err(format!(
            "{s:?} pins no label — give at least one = or =~ matcher, e.g. instance=\"10.0.0.5:9100\""
        ));
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_are_checked_and_their_labels_pinned() {
        assert_eq!(
            parse_selector(r#"{job="relay", instance="10.0.0.5:9100"}"#),
            Ok(vec!["job".to_owned(), "instance".to_owned()])
        );
        assert_eq!(
            parse_selector(r#"pod=~"api-.*",env!="dev""#),
            Ok(vec!["pod".to_owned()])
        );
        assert_eq!(parse_selector(r#"{a="x\"y"}"#), Ok(vec!["a".to_owned()]));
        for bad in [
            "{}",
            r"{job=relay}",
            r#"{job="relay" instance="x"}"#,
            r#"{__name__="up"}"#,
            r#"{job="relay}"#,
            r#"{env!="dev"}"#,
            r#"{1a="x"}"#,
        ] {
            assert!(parse_selector(bad).is_err(), "{bad} should be refused");
        }
        assert_eq!(selector_body(r#" { job="a", } "#), r#"job="a""#);
    }
}
