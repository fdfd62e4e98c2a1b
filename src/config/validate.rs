//! File schema → runtime types, collecting every problem with its place in the file.
//!
//! Each check reports and carries on with a placeholder, so one pass finds everything wrong;
//! the caller throws the result away if any problem was reported. Messages name the target and
//! key, quote the bad value (never a header value, and never URL credentials), and end with a
//! fix after " — ".

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;
use toml::Spanned;

use super::endpoint::{ca_file, url};
use super::error::Problems;
use super::file::{DefaultsFile, DiskFile, FileConfig, LimitsFile, TargetFile};
use super::headers::headers;
use super::postgres_validate::postgres;
use super::units::{format_duration, parse_duration, parse_size};
use super::{Config, DiskConfig, Limits, PresetName, TargetConfig};
use crate::keymap::{overrides_from_file, KeyOverrides};

const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
const MAX_NAME: usize = 64;
const MAX_ENVIRONMENT: usize = 40;

/// What validation may look at besides the text.
pub(super) struct Context<'a> {
    /// The config file, to resolve a relative `ca_file` against its directory.
    pub source: Option<&'a Path>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// Whether to check that `ca_file` exists and holds PEM (only `Config::load` does I/O).
    pub check_files: bool,
}

pub(super) fn build(file: FileConfig, cx: &Context<'_>, p: &mut Problems<'_>) -> Config {
    let environment = file.environment.and_then(|e| environment(&e, p));
    let defaults = defaults(file.defaults.as_ref(), p);
    let limits = limits(&Limits::default(), file.limits.as_ref(), "[limits] ", p);

    let history = file
        .history
        .as_ref()
        .and_then(|h| super::history::history(h, cx, p));
    let mut seen: HashMap<String, Range<usize>> = HashMap::new();
    let mut targets = Vec::with_capacity(file.targets.len());
    for t in &file.targets {
        let name = t.get_ref().name.get_ref();
        if let Some(first) = seen.get(name) {
            p.push(
                &t.get_ref().name.span(),
                format!(
                    "target {name:?} is defined twice (lines {} and {}) — target names must be \
                     unique; rename one",
                    p.line_of(first),
                    p.line_of(&t.get_ref().name.span()),
                ),
            );
        } else {
            seen.insert(name.clone(), t.get_ref().name.span());
        }
        targets.push(target(t, &defaults, &limits, history.as_ref(), cx, p));
    }

    let disks = disks(&file.disks, p);
    let mut fleets = Vec::with_capacity(file.fleets.len());
    for f in &file.fleets {
        let name = f.get_ref().name.get_ref();
        if let Some(first) = seen.get(name) {
            p.push(
                &f.get_ref().name.span(),
                format!(
                    "{name:?} names a target or fleet already (line {}) — fleet names share one \
                     namespace with target names; rename one",
                    p.line_of(first),
                ),
            );
        } else {
            seen.insert(name.clone(), f.get_ref().name.span());
        }
        fleets.extend(super::fleet::fleet(f, cx, p));
    }
    let theme = file.theme.as_ref().and_then(|t| theme(t, cx, p));
    let keys = file.keys.as_ref().map_or_else(KeyOverrides::default, |k| {
        let (overrides, problems) = overrides_from_file(k);
        for (span, message) in problems {
            p.push(&span, message);
        }
        overrides
    });
    if targets.is_empty() && disks.is_empty() && file.fleets.is_empty() {
        p.push(
            &(0..0),
            "nothing to watch — add a [[target]] with a metrics or health URL, a [[fleet]] or a [[disk]]; \
             `watchdeck config template` prints a commented sample",
        );
    }
    let actions = super::actions::actions(file.actions.as_ref(), cx);
    super::actions::check_actions_paths(file.actions.as_ref(), p);
    Config {
        source: cx.source.map(Path::to_path_buf),
        environment,
        targets,
        disks,
        theme,
        keys,
        actions,
        alertmanager: file
            .alertmanager
            .as_ref()
            .and_then(|a| super::alertmanager::alertmanager(a, cx, p)),
        fleets,
        history,
    }
}

/// A shipped theme's name as is, or a theme file's path resolved against the config's
/// directory. `Config::load` also reads and checks the file, so `config check` catches a
/// broken theme before the cockpit starts.
fn theme(t: &Spanned<String>, cx: &Context<'_>, p: &mut Problems<'_>) -> Option<String> {
    let raw = t.get_ref().trim();
    if crate::theme::shipped_source(raw).is_some() {
        return Some(raw.to_string());
    }
    if !crate::theme::is_path(raw) {
        let err = crate::theme::ThemeError::Unknown {
            name: raw.to_string(),
        };
        p.push(&t.span(), format!("theme: {err}"));
        return None;
    }
    let path = match cx.source.and_then(Path::parent) {
        Some(dir) if Path::new(raw).is_relative() => dir.join(raw),
        _ => PathBuf::from(raw),
    };
    let path = path.to_string_lossy().into_owned();
    if cx.check_files {
        if let Err(err) = crate::theme::check(&path) {
            // A theme file's problems carry their own file and line; keep one per line.
            for line in err.to_string().lines() {
                p.push(&t.span(), format!("theme: {line}"));
            }
            return None;
        }
    }
    Some(path)
}

fn environment(e: &Spanned<String>, p: &mut Problems<'_>) -> Option<String> {
    let text = e.get_ref().trim();
    if text.is_empty()
        || text.chars().count() > MAX_ENVIRONMENT
        || text.chars().any(char::is_control)
    {
        p.push(
            &e.span(),
            format!(
                "environment {:?} is not usable as a header label — use 1-{MAX_ENVIRONMENT} \
                 printable characters, e.g. \"prod\"",
                e.get_ref()
            ),
        );
        return None;
    }
    Some(text.to_string())
}

struct Defaults {
    interval: Duration,
    timeout: Duration,
}

fn defaults(d: Option<&DefaultsFile>, p: &mut Problems<'_>) -> Defaults {
    let ctx = "[defaults] ";
    let interval = d
        .and_then(|d| d.interval.as_ref())
        .and_then(|v| positive_duration(ctx, "interval", v, p))
        .unwrap_or(DEFAULT_INTERVAL);
    let timeout = match d.and_then(|d| d.timeout.as_ref()) {
        Some(v) => positive_duration(ctx, "timeout", v, p)
            .inspect(|&t| fits(ctx, t, interval, &v.span(), p))
            .unwrap_or(DEFAULT_TIMEOUT),
        None => DEFAULT_TIMEOUT,
    };
    Defaults { interval, timeout }
}

#[allow(clippy::too_many_lines)] // one key of [[target]] after another
fn target(
    spanned: &Spanned<TargetFile>,
    defaults: &Defaults,
    base_limits: &Limits,
    default_history: Option<&super::history::HistoryConfig>,
    cx: &Context<'_>,
    p: &mut Problems<'_>,
) -> TargetConfig {
    let t = spanned.get_ref();
    let name = t.name.get_ref().clone();
    if let Some(reason) = target_name_problem(&name) {
        p.push(
            &t.name.span(),
            format!(
                "target name {name:?} {reason} — use 1-{MAX_NAME} characters from \
                 A-Z a-z 0-9 . _ -"
            ),
        );
    }
    let ctx = format!("target {name:?}: ");

    let preset = t
        .preset
        .as_ref()
        .and_then(|raw| match raw.get_ref().parse::<PresetName>() {
            Ok(preset) => Some(preset),
            Err(err) => {
                p.push(&raw.span(), format!("{ctx}{err}"));
                None
            }
        });

    let metrics = t.metrics.as_ref().and_then(|u| url(&ctx, "metrics", u, p));
    let health: Vec<Url> = t
        .health
        .iter()
        .filter_map(|u| url(&ctx, "health", u, p))
        .collect();
    if t.metrics.is_none() && t.health.is_empty() && t.postgres.is_none() {
        p.push(
            &spanned.span(),
            format!(
                "{ctx}nothing to watch — give metrics = \"http://host:port/metrics\" or \
                 health = [\"http://host:port/healthz\"] (or both), or a [target.postgres] \
                 section"
            ),
        );
    }

    let interval = t
        .interval
        .as_ref()
        .and_then(|v| positive_duration(&ctx, "interval", v, p))
        .unwrap_or(defaults.interval);
    let timeout = match &t.timeout {
        Some(v) => positive_duration(&ctx, "timeout", v, p)
            .inspect(|&timeout| fits(&ctx, timeout, interval, &v.span(), p))
            .unwrap_or(DEFAULT_TIMEOUT),
        // The default deadline shrinks to fit a faster interval instead of failing: the
        // operator did not write it, and min(default, interval) is the documented rule.
        None => defaults.timeout.min(interval),
    };

    let ca_file = t
        .ca_file
        .as_ref()
        .and_then(|raw| ca_file(&ctx, raw, metrics.iter().chain(&health), cx, p));
    let headers = t
        .headers
        .as_ref()
        .map(|h| headers(&ctx, h, cx.env, p))
        .unwrap_or_default();
    let limits = limits(
        base_limits,
        t.limits.as_ref(),
        &format!("{ctx}[target.limits] "),
        p,
    );
    let postgres = t
        .postgres
        .as_ref()
        .and_then(|pg| postgres(&name, pg, interval, cx, p));

    let actions = super::actions::target_actions(
        &super::actions::TargetActionFiles {
            read_only: t.read_only,
            backup: t.backup.as_ref(),
            topics: t.topics.as_ref(),
            rollback: t.rollback.as_ref(),
            commands: &t.command,
        },
        &super::actions::TargetFacts {
            name: &name,
            has_postgres: postgres.is_some() || t.postgres.is_some(),
            has_health: !t.health.is_empty(),
        },
        cx,
        p,
    );
    let alerts = user_alerts(&ctx, &t.alert, p);
    let history = super::history::target_history(
        &ctx,
        default_history,
        t.history_url.as_ref(),
        t.history_selector.as_ref(),
        metrics.as_ref(),
        p,
    );
    TargetConfig {
        name,
        preset,
        metrics,
        health,
        interval,
        timeout,
        headers,
        ca_file,
        limits,
        postgres,
        actions,
        alerts,
        history,
    }
}

/// `[[target.alert]]`: each rule checked like a preset's, names unique per target.
fn user_alerts(
    ctx: &str,
    rules: &[Spanned<super::preset::AlertSpec>],
    p: &mut Problems<'_>,
) -> Vec<super::preset::AlertSpec> {
    let mut seen_rules: Vec<&str> = Vec::new();
    rules
        .iter()
        .filter_map(|a| {
            let spec = a.get_ref();
            let problem = spec.check().err().or_else(|| {
                seen_rules
                    .contains(&spec.name.as_str())
                    .then(|| "is defined twice on this target — rename one".to_owned())
            });
            seen_rules.push(&spec.name);
            match problem {
                Some(why) => {
                    p.push(
                        &a.span(),
                        format!("{ctx}[[target.alert]] {:?}: {why}", spec.name),
                    );
                    None
                }
                None => Some(spec.clone()),
            }
        })
        .collect()
}

/// Why a target name is not usable, if it is not: it shows in every panel and in the audit
/// log, so it stays short and free of spaces and quoting.
pub(super) fn target_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty".into());
    }
    if let Some(c) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Some(format!("contains {c:?}"));
    }
    if name.starts_with(['-', '.']) {
        // `--version` would read as an option on every command line that names the target,
        // and a leading dot as a hidden file in lock and backup names.
        return Some(format!("starts with {:?}", &name[..1]));
    }
    let n = name.chars().count();
    (n > MAX_NAME).then(|| format!("is {n} characters long"))
}

/// A duration value that must be above zero: a zero interval would spin, a zero timeout
/// would fail every request.
pub(super) fn positive_duration(
    ctx: &str,
    key: &str,
    v: &Spanned<toml::Value>,
    p: &mut Problems<'_>,
) -> Option<Duration> {
    let parsed = match v.get_ref() {
        toml::Value::String(text) => parse_duration(text).map_err(|reason| {
            format!(
                "{ctx}{key} {text:?} is not a duration: {reason} — write it like \"5s\", \
                 \"500ms\" or \"1m\""
            )
        }),
        toml::Value::Integer(n) => Err(format!(
            "{ctx}{key} = {n} has no unit — write it as a string like \"{n}s\" or \"{n}ms\""
        )),
        other => Err(format!(
            "{ctx}{key} must be a duration string like \"5s\", not a {}",
            other.type_str()
        )),
    };
    match parsed {
        Ok(d) if d.is_zero() => {
            let why = if key == "timeout" {
                "a zero deadline fails every request; remove the key to use the default"
            } else {
                "a zero interval would poll without pause; e.g. \"5s\""
            };
            p.push(
                &v.span(),
                format!(
                    "{ctx}{key} {} must be greater than 0 — {why}",
                    value_text(v.get_ref())
                ),
            );
            None
        }
        Ok(d) if key == "interval" && d < MIN_INTERVAL => {
            p.push(
                &v.span(),
                format!(
                    "{ctx}interval {} is below the floor of 100ms — polling faster only burns CPU \
                     and fills the log; write e.g. \"1s\" (100ms at the least)",
                    value_text(v.get_ref())
                ),
            );
            None
        }
        Ok(d) => Some(d),
        Err(message) => {
            p.push(&v.span(), message);
            None
        }
    }
}

/// The shortest interval between polls of anything (scrapes, health checks, fleets).
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// A scalar as the operator wrote it, for quoting in messages.
fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn fits(
    ctx: &str,
    timeout: Duration,
    interval: Duration,
    span: &Range<usize>,
    p: &mut Problems<'_>,
) {
    if timeout > interval {
        p.push(
            span,
            format!(
                "{ctx}timeout {} is longer than interval {} — the scrape deadline must fit in \
                 the interval; lower timeout or raise interval",
                format_duration(timeout),
                format_duration(interval),
            ),
        );
    }
}

fn limits(base: &Limits, file: Option<&LimitsFile>, ctx: &str, p: &mut Problems<'_>) -> Limits {
    let Some(f) = file else {
        return base.clone();
    };
    let count =
        |key: &str, v: Option<&Spanned<toml::Value>>, fallback: usize, p: &mut Problems<'_>| {
            let Some(v) = v else { return fallback };
            let message = match v.get_ref() {
                toml::Value::Integer(n) => match usize::try_from(*n) {
                    Ok(n) if n > 0 => return n,
                    _ => format!(
                    "{ctx}{key} = {n} must be greater than 0 — raise it, or remove the key for \
                     the default"
                ),
                },
                other => format!(
                    "{ctx}{key} must be a whole number such as {fallback}, not {}",
                    value_text(other)
                ),
            };
            p.push(&v.span(), message);
            fallback
        };
    Limits {
        max_body_bytes: f
            .max_body
            .as_ref()
            .and_then(|v| size(ctx, "max_body", v, p))
            .unwrap_or(base.max_body_bytes),
        max_samples: count("max_samples", f.max_samples.as_ref(), base.max_samples, p),
        max_labels: count("max_labels", f.max_labels.as_ref(), base.max_labels, p),
        max_label_length: count(
            "max_label_length",
            f.max_label_length.as_ref(),
            base.max_label_length,
            p,
        ),
    }
}

fn size(ctx: &str, key: &str, v: &Spanned<toml::Value>, p: &mut Problems<'_>) -> Option<usize> {
    let parsed = match v.get_ref() {
        toml::Value::Integer(n) => u64::try_from(*n)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{ctx}{key} = {n} must be greater than 0 — e.g. \"16MiB\"")),
        toml::Value::String(text) => parse_size(text).map_err(|reason| {
            format!(
                "{ctx}{key} {text:?} is not a size: {reason} — write bytes as a number or with \
                 a unit, e.g. \"512KiB\", \"16MiB\", \"1GiB\""
            )
        }),
        other => Err(format!(
            "{ctx}{key} must be a size like \"16MiB\" or a number of bytes, not a {}",
            other.type_str()
        )),
    };
    match parsed.and_then(|n| {
        usize::try_from(n)
            .map_err(|_| format!("{ctx}{key} is too large for this machine — lower it"))
    }) {
        Ok(n) => Some(n),
        Err(message) => {
            p.push(&v.span(), message);
            None
        }
    }
}

fn disks(list: &[Spanned<DiskFile>], p: &mut Problems<'_>) -> Vec<DiskConfig> {
    let mut paths: HashMap<PathBuf, Range<usize>> = HashMap::new();
    let mut names: HashMap<String, Range<usize>> = HashMap::new();
    let mut out = Vec::with_capacity(list.len());
    for d in list {
        let d = d.get_ref();
        let raw = d.path.get_ref();
        let path = PathBuf::from(raw);
        if !path.is_absolute() {
            // statvfs on a relative path would depend on where watchdeck was started.
            p.push(
                &d.path.span(),
                format!("[[disk]] path {raw:?} is not absolute — write the full path, e.g. \"/var/lib/postgresql\""),
            );
        } else if let Some(first) = paths.get(&path) {
            p.push(
                &d.path.span(),
                format!(
                    "[[disk]] path {raw:?} is listed twice (lines {} and {}) — remove one",
                    p.line_of(first),
                    p.line_of(&d.path.span())
                ),
            );
        } else {
            paths.insert(path.clone(), d.path.span());
        }

        let (name, span) = match &d.name {
            Some(n) => {
                let text = n.get_ref();
                if text.trim().is_empty()
                    || text.chars().count() > MAX_NAME
                    || text.chars().any(char::is_control)
                {
                    p.push(
                        &n.span(),
                        format!("[[disk]] name {text:?} is not usable — use 1-{MAX_NAME} printable characters, e.g. \"pgdata\""),
                    );
                }
                (text.clone(), n.span())
            }
            None => (raw.clone(), d.path.span()),
        };
        if let Some(first) = names.get(&name) {
            p.push(
                &span,
                format!(
                    "[[disk]] name {name:?} is used twice (lines {} and {}) — give each disk its own name",
                    p.line_of(first),
                    p.line_of(&span)
                ),
            );
        } else {
            names.insert(name.clone(), span);
        }
        out.push(DiskConfig { path, name });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_names() {
        assert_eq!(target_name_problem("cn-relay.v1_a"), None);
        assert_eq!(target_name_problem("").as_deref(), Some("is empty"));
        assert_eq!(
            target_name_problem("cn relay").as_deref(),
            Some("contains ' '")
        );
        assert_eq!(target_name_problem("ä").as_deref(), Some("contains 'ä'"));
        assert_eq!(target_name_problem(&"a".repeat(64)), None);
        assert_eq!(
            target_name_problem(&"a".repeat(65)).as_deref(),
            Some("is 65 characters long")
        );
    }
}
