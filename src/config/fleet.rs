//! `[[fleet]]`: a `promql` source. The instances of a fleet are read from a
//! Prometheus-compatible store (Prometheus, VictoriaMetrics, Thanos, Mimir) instead of being
//! scraped one by one: discovery from `up`, the preset's panels as PromQL.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::endpoint::url;
use super::error::Problems;
use super::preset::PresetName;
use super::secret::{is_env_name, Secret};
use super::validate::{positive_duration, Context};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FleetFile {
    pub name: Spanned<String>,
    pub url: Spanned<String>,
    pub preset: Option<Spanned<String>>,
    pub selector: Option<Spanned<String>>,
    pub filter: Option<Spanned<String>>,
    pub token_env: Option<Spanned<String>>,
    pub basic_user: Option<Spanned<String>>,
    pub basic_password_env: Option<Spanned<String>>,
    pub tenant: Option<Spanned<String>>,
    pub interval: Option<Spanned<toml::Value>>,
    pub timeout: Option<Spanned<toml::Value>>,
    pub window: Option<Spanned<toml::Value>>,
    pub name_label: Option<Spanned<String>>,
}

pub(super) const FLEET_KEYS: &[&str] = &[
    "name",
    "url",
    "preset",
    "selector",
    "filter",
    "token_env",
    "basic_user",
    "basic_password_env",
    "tenant",
    "interval",
    "timeout",
    "window",
    "name_label",
];

/// How a fleet's store is authenticated.
#[derive(Debug, Clone, PartialEq)]
pub enum FleetAuth {
    None,
    Bearer(Secret),
    Basic { user: String, password: Secret },
}

/// A validated `[[fleet]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetConfig {
    /// Shown as the group of its instances; unique among fleets and targets.
    pub name: String,
    /// Base URL of the HTTP API, e.g. `http://prometheus:9090` (`/api/v1/…` is appended).
    pub url: reqwest::Url,
    /// The panels every instance of the fleet gets.
    pub preset: Option<PresetName>,
    /// PromQL label matchers choosing the instances, e.g. `job="overlay"`: they go inside
    /// `up{…}` and every panel's selector.
    pub selector: Option<String>,
    /// Kept when the job or the instance contains this text (case-insensitive).
    pub filter: Option<String>,
    pub auth: FleetAuth,
    /// `X-Scope-OrgID`, for multi-tenant stores (Mimir, Cortex, Thanos with a tenancy proxy).
    pub tenant: Option<String>,
    /// How often the panels are queried.
    pub interval: Duration,
    /// Deadline of one query.
    pub timeout: Duration,
    /// The range of `rate()` and `histogram_quantile()`; at least twice the store's scrape
    /// interval, or rates come back empty.
    pub window: Duration,
    /// The label that names an instance on screen (`instance` by default; e.g. `pod`).
    pub name_label: String,
}

pub(super) fn fleet(
    f: &Spanned<FleetFile>,
    cx: &Context<'_>,
    p: &mut Problems<'_>,
) -> Option<FleetConfig> {
    let f = f.get_ref();
    let ctx = format!("[[fleet]] {:?}: ", f.name.get_ref());
    if let Some(why) = super::validate::target_name_problem(f.name.get_ref()) {
        p.push(
            &f.name.span(),
            format!(
                "{ctx}the name {why} — use 1-64 letters, digits, '.', '_' or '-' (it is shown as the group of the fleet's instances)"
            ),
        );
    }
    let url = url(&ctx, "url", &f.url, p);
    let preset = match &f.preset {
        None => Some(None),
        Some(raw) => match raw.get_ref().parse::<PresetName>() {
            Ok(preset) => Some(Some(preset)),
            Err(e) => {
                p.push(&raw.span(), format!("{ctx}preset: {e}"));
                None
            }
        },
    };
    let selector = match &f.selector {
        None => Some(None),
        Some(raw) => match check_selector(raw.get_ref()) {
            Ok(()) if raw.get_ref().trim().is_empty() => Some(None),
            Ok(()) => Some(Some(raw.get_ref().trim().to_owned())),
            Err(why) => {
                p.push(
                    &raw.span(),
                    format!(
                        "{ctx}selector {:?}: {why} — write PromQL label matchers such as 'job=\"overlay\", env!=\"dev\"'",
                        raw.get_ref()
                    ),
                );
                None
            }
        },
    };
    let auth = auth(f, &ctx, cx, p);
    let interval = duration_or(&ctx, "interval", f.interval.as_ref(), 15, p);
    // Without a timeout of its own, a query may take at most the interval (and 10 s).
    let timeout = match (&f.timeout, interval) {
        (None, Some(i)) => Some(i.min(Duration::from_secs(10))),
        _ => duration_or(&ctx, "timeout", f.timeout.as_ref(), 10, p),
    };
    let window = duration_or(&ctx, "window", f.window.as_ref(), 60, p);
    check_timing(f, &ctx, interval, timeout, window, p);
    let name_label = match &f.name_label {
        None => Some("instance".to_owned()),
        Some(l)
            if check_selector(&format!("{}=\"\"", l.get_ref())).is_ok()
                && !l.get_ref().contains(',')
                && !l.get_ref().trim().is_empty() =>
        {
            Some(l.get_ref().trim().to_owned())
        }
        Some(l) => {
            p.push(
                &l.span(),
                format!("{ctx}name_label {:?} is not a label name", l.get_ref()),
            );
            None
        }
    };
    let tenant = match &f.tenant {
        Some(t) if t.get_ref().trim().is_empty() || t.get_ref().chars().any(char::is_control) => {
            p.push(
                &t.span(),
                format!("{ctx}tenant must be visible text without line breaks"),
            );
            None
        }
        Some(t) => Some(Some(t.get_ref().trim().to_owned())),
        None => Some(None),
    };
    Some(FleetConfig {
        name: f.name.get_ref().clone(),
        url: url?,
        preset: preset?,
        selector: selector?,
        filter: f
            .filter
            .as_ref()
            .map(|s| s.get_ref().trim().to_owned())
            .filter(|s| !s.is_empty()),
        auth: auth?,
        tenant: tenant?,
        interval: interval?,
        timeout: timeout?,
        window: window?,
        name_label: name_label?,
    })
}

/// The timeout fits in the interval; the window is whole seconds, 10 s or more.
fn check_timing(
    f: &FleetFile,
    ctx: &str,
    interval: Option<Duration>,
    timeout: Option<Duration>,
    window: Option<Duration>,
    p: &mut Problems<'_>,
) {
    if let (Some(i), Some(t), Some(raw)) = (interval, timeout, &f.timeout) {
        if t > i {
            p.push(
                &raw.span(),
                format!(
                    "{ctx}timeout ({}) is longer than the interval ({}) — queries would pile up; make it at most the interval",
                    humantime::format_duration(t),
                    humantime::format_duration(i)
                ),
            );
        }
    }
    if let (Some(w), Some(raw)) = (window, &f.window) {
        if w.as_millis() % 1000 != 0 || w < Duration::from_secs(10) {
            p.push(
                &raw.span(),
                format!(
                    "{ctx}window must be whole seconds, 10s or more (it becomes the [range] of rate()), not {}",
                    humantime::format_duration(w)
                ),
            );
        }
    }
}

fn duration_or(
    ctx: &str,
    key: &str,
    raw: Option<&Spanned<toml::Value>>,
    default_s: u64,
    p: &mut Problems<'_>,
) -> Option<Duration> {
    raw.map_or(Some(Duration::from_secs(default_s)), |v| {
        positive_duration(ctx, key, v, p)
    })
}

fn secret_from_env(
    ctx: &str,
    key: &str,
    name: &Spanned<String>,
    cx: &Context<'_>,
    p: &mut Problems<'_>,
) -> Option<Secret> {
    if !is_env_name(name.get_ref()) {
        p.push(
            &name.span(),
            format!(
                "{ctx}{key} {:?} is not a variable name — give the name of the variable holding the secret, e.g. \"PROM_TOKEN\"",
                name.get_ref()
            ),
        );
        return None;
    }
    match (cx.env)(name.get_ref()) {
        Some(v) if !v.is_empty() => Some(Secret::new(v)),
        _ => {
            p.push(
                &name.span(),
                format!(
                    "{ctx}{key}: ${} is not set — export it, or remove {key}",
                    name.get_ref()
                ),
            );
            None
        }
    }
}

fn auth(f: &FleetFile, ctx: &str, cx: &Context<'_>, p: &mut Problems<'_>) -> Option<FleetAuth> {
    match (&f.token_env, &f.basic_user, &f.basic_password_env) {
        (None, None, None) => Some(FleetAuth::None),
        (Some(t), None, None) => secret_from_env(ctx, "token_env", t, cx, p).map(FleetAuth::Bearer),
        (None, Some(user), Some(pw)) => {
            let password = secret_from_env(ctx, "basic_password_env", pw, cx, p)?;
            if user.get_ref().is_empty() || user.get_ref().contains(':') {
                p.push(
                    &user.span(),
                    format!("{ctx}basic_user must be non-empty and without ':'"),
                );
                return None;
            }
            Some(FleetAuth::Basic {
                user: user.get_ref().clone(),
                password,
            })
        }
        (Some(t), _, _) => {
            p.push(
                &t.span(),
                format!("{ctx}give either token_env or basic_user + basic_password_env, not both"),
            );
            None
        }
        (None, Some(user), None) => {
            p.push(
                &user.span(),
                format!(
                    "{ctx}basic_user needs basic_password_env (the variable holding the password)"
                ),
            );
            None
        }
        (None, None, Some(pw)) => {
            p.push(
                &pw.span(),
                format!("{ctx}basic_password_env needs basic_user"),
            );
            None
        }
    }
}

/// Checks PromQL label matchers (`name op "value", …`): they are pasted inside `{…}` of every
/// query, so anything else could change what the queries mean.
pub fn check_selector(text: &str) -> Result<(), String> {
    let b = text.as_bytes();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i == b.len() {
            return Ok(());
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            i += 1;
        }
        if start == i || b[start].is_ascii_digit() {
            return Err(format!("expected a label name at byte {start}"));
        }
        if &text[start..i] == "__name__" {
            return Err("__name__ cannot be matched: every query names its own metric".into());
        }
        skip_ws(&mut i);
        let op_len = match b.get(i..(i + 2).min(b.len())) {
            Some(b"!=" | b"=~" | b"!~") => 2,
            _ if b.get(i) == Some(&b'=') => 1,
            _ => return Err(format!("expected =, !=, =~ or !~ at byte {i}")),
        };
        i += op_len;
        skip_ws(&mut i);
        if b.get(i) != Some(&b'"') {
            return Err(format!("expected a double-quoted value at byte {i}"));
        }
        i += 1;
        loop {
            match b.get(i) {
                None => return Err("a quoted value is not closed".into()),
                // The escapes PromQL's strings accept (Go's); a regex's `\.` is written `\\.`.
                Some(b'\\') => match b.get(i + 1) {
                    Some(b'a' | b'b' | b'f' | b'n' | b'r' | b't' | b'v' | b'\\' | b'\'' | b'"') => {
                        i += 2;
                    }
                    _ => {
                        return Err(format!(
                            "an escape PromQL does not accept at byte {i} — write a backslash as \\\\ (a regex's \\. is \\\\.)"
                        ))
                    }
                },
                Some(b'"') => {
                    i += 1;
                    break;
                }
                Some(b'\n' | b'\r') => return Err("a line break inside a value".into()),
                Some(_) => i += 1,
            }
        }
        skip_ws(&mut i);
        match b.get(i) {
            None => return Ok(()),
            Some(b',') => {
                i += 1;
                skip_ws(&mut i);
                if i == b.len() {
                    return Err(
                        "a trailing ',' (PromQL refuses \"a\",, when more matchers follow)".into(),
                    );
                }
            }
            Some(_) => return Err(format!("expected ',' between matchers at byte {i}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_selector;

    #[test]
    fn selectors_are_matchers_only() {
        for ok in [
            "",
            r#"job="overlay""#,
            r#"job=~"api|web", env!="dev""#,
            r#" instance !~ "10\\.0\\..*" "#,
            r#"a="x\"y""#,
        ] {
            assert_eq!(check_selector(ok), Ok(()), "{ok:?}");
        }
        for bad in [
            "job",
            "job=overlay",
            r#"job="a"} or vector(1) or up{x="y""#,
            r#"job="a" x="b""#,
            r#"1a="b""#,
            r#"job="open"#,
            r#"job=="a""#,
            r#"job="a","#,
            r#"instance=~"10\.0""#,
            r#"__name__="up""#,
        ] {
            assert!(check_selector(bad).is_err(), "{bad:?} accepted");
        }
    }
}

#[cfg(test)]
mod config_tests {
    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, String> {
        let env = |name: &str| (name == "PROM_TOKEN" || name == "PROM_PW").then(|| "s3cret".into());
        Config::parse(text, None, &env).map_err(|e| e.to_string())
    }

    #[test]
    fn a_fleet_reads_with_its_defaults() {
        let c = parse("[[fleet]]\nname = \"web\"\nurl = \"http://prom:9090\"\npreset = \"rest-api\"\nselector = 'job=\"api\"'\ntoken_env = \"PROM_TOKEN\"\ntenant = \"team-a\"\n")
            .expect("valid");
        let f = &c.fleets[0];
        assert_eq!(f.selector.as_deref(), Some("job=\"api\""));
        assert_eq!(f.interval.as_secs(), 15);
        assert_eq!(f.window.as_secs(), 60);
        assert_eq!(f.name_label, "instance");
        assert!(matches!(&f.auth, super::FleetAuth::Bearer(t) if t.expose() == "s3cret"));
        assert!(
            !format!("{c:?}").contains("s3cret"),
            "the token leaks through Debug"
        );
    }

    #[test]
    fn every_fleet_mistake_is_reported_with_its_line() {
        let err = parse(
            "[[target]]\nname = \"web\"\nmetrics = \"http://a:1/metrics\"\n\n[[fleet]]\nname = \"web\"\nurl = \"prom:9090\"\npreset = \"nginx\"\nselector = 'job=\"a\"} or vector(1'\ntoken_env = \"PROM_TOKEN\"\nbasic_user = \"u\"\ninterval = \"5s\"\ntimeout = \"10s\"\nwindow = \"2s\"\nname_label = \"a b\"\n",
        )
        .expect_err("invalid");
        for needle in [
            "<config>:6:",
            "names a target or fleet already",
            "<config>:7:",
            "does not start with http://",
            "<config>:8:",
            "unknown preset \"nginx\"",
            "<config>:9:",
            "PromQL label matchers",
            "either token_env or basic_user",
            "<config>:13:",
            "longer than the interval",
            "<config>:14:",
            "window must be whole seconds, 10s or more",
            "<config>:15:",
            "not a label name",
        ] {
            assert!(err.contains(needle), "{needle:?} missing from:\n{err}");
        }
        let err = parse("[[fleet]]\nname = \"x\"\nurl = \"http://p:9090\"\ntoken_env = \"NOPE\"\nquery = \"up\"\n")
            .expect_err("invalid");
        assert!(
            err.contains("query") && err.contains("<config>:5:"),
            "{err}"
        );
        let err = parse("[[fleet]]\nname = \"x\"\nurl = \"http://p:9090\"\ntoken_env = \"NOPE\"\n")
            .expect_err("invalid");
        assert!(err.contains("$NOPE is not set"), "{err}");
    }
}
