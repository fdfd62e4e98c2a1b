//! Which items apply to which target, what each needs probed, and the pure judgement of an
//! item from the target's derived panels and the gathered facts.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::format::{Check, Checklist, ChecklistError, Hint, Item, ItemKind};
use super::probe::{BackupFacts, ClockReading, Gathered, TlsCert};
use crate::config::{AlertSeverity, AlertSpec, AlertValue, Config, TargetConfig};
use crate::derive::format_eta;
use crate::derive::panels::TargetPanels;
use crate::derive::panels::TargetStatus;
use crate::derive::rules::alert_value;
use crate::obs::DiskUsage;

/// The result of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// The check could not be made (target unreachable, no data, probe failed).
    Unknown,
    /// Does not apply here (no https URL, no backup configured…), or the operator skipped it.
    Skipped,
    /// A manual item nobody has decided yet.
    Pending,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "FAIL",
            Status::Unknown => "could not check",
            Status::Skipped => "skipped",
            Status::Pending => "pending",
        }
    }
}

/// The judgement of one item, with the evidence an operator reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub status: Status,
    pub evidence: String,
    /// The number the item was judged on, when there is one (days left, seconds of skew…).
    pub value: Option<f64>,
}

impl Outcome {
    fn new(status: Status, evidence: impl Into<String>, value: Option<f64>) -> Self {
        Outcome {
            status,
            evidence: evidence.into(),
            value,
        }
    }
}

/// One item bound to the target it checks.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedItem {
    /// `target/id`, or just `id` for a checklist bound to no target. Unique in a plan.
    pub key: String,
    pub checklist: String,
    pub target: Option<String>,
    pub item: Item,
}

impl PlannedItem {
    pub fn kind(&self) -> ItemKind {
        self.item.kind()
    }
    pub fn hint(&self) -> Option<&Hint> {
        self.item.hint.as_ref()
    }
}

/// The items to run. With no checklist named, every target with a preset gets its preset's
/// shipped checklist. A named checklist applies to its `targets`, else to the targets of its
/// `preset`, else to every target; a checklist that matches no target is bound to none (its
/// items that need a target cannot be checked).
pub fn plan(
    config: &Config,
    chosen: Option<&Checklist>,
) -> Result<Vec<PlannedItem>, ChecklistError> {
    let mut out = Vec::new();
    let mut bind = |c: &Checklist, target: Option<&str>| {
        for item in &c.items {
            out.push(PlannedItem {
                key: target.map_or_else(|| item.id.clone(), |t| format!("{t}/{}", item.id)),
                checklist: c.name.clone(),
                target: target.map(str::to_owned),
                item: item.clone(),
            });
        }
    };
    match chosen {
        None => {
            for t in &config.targets {
                if let Some(p) = t.preset {
                    let c = Checklist::shipped(p.as_str())?;
                    bind(&c, Some(&t.name));
                }
            }
        }
        Some(c) => {
            let missing: Vec<String> = c
                .targets
                .iter()
                .filter(|n| !config.targets.iter().any(|t| &t.name == *n))
                .cloned()
                .collect();
            if !missing.is_empty() {
                return Err(ChecklistError::UnknownTargets {
                    checklist: c.name.clone(),
                    missing,
                    known: config.targets.iter().map(|t| t.name.clone()).collect(),
                });
            }
            let targets: Vec<&TargetConfig> = if c.targets.is_empty() {
                config
                    .targets
                    .iter()
                    .filter(|t| c.preset.is_none() || t.preset == c.preset)
                    .collect()
            } else {
                config
                    .targets
                    .iter()
                    .filter(|t| c.targets.contains(&t.name))
                    .collect()
            };
            if targets.is_empty() {
                bind(c, None);
            }
            for t in targets {
                bind(c, Some(&t.name));
            }
        }
    }
    Ok(out)
}

/// What an item needs gathered before it can be judged.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// Judged on the target's panels alone (value, health), or manual.
    Panels,
    Tls {
        url: reqwest::Url,
        ca_file: Option<PathBuf>,
    },
    Clock {
        url: reqwest::Url,
        ca_file: Option<PathBuf>,
    },
    Disk {
        path: PathBuf,
    },
    Backup {
        dir: PathBuf,
        target: String,
        max_age_ms: i64,
    },
    /// Does not apply; the reason is the evidence.
    Skip(String),
    /// Cannot be checked; the reason is the evidence.
    Unknown(String),
}

/// The probe `probe` makes of the URL a checklist item names, or Unknown when it is not a URL.
fn named_url(u: &str, probe: impl FnOnce(reqwest::Url) -> Probe) -> Probe {
    reqwest::Url::parse(u).map_or_else(
        |e| Probe::Unknown(format!("{u:?} is not a URL: {e}")),
        probe,
    )
}

/// Decides what `item` needs probed, from the config alone.
pub fn probe_for(item: &PlannedItem, config: &Config) -> Probe {
    let Some(check) = &item.item.check else {
        return Probe::Panels;
    };
    let target = item
        .target
        .as_deref()
        .and_then(|n| config.targets.iter().find(|t| t.name == n));
    let no_target = || {
        Probe::Unknown(format!(
            "a {} check needs a target, and checklist {} applies to no configured target",
            check.type_name(),
            item.checklist
        ))
    };
    match check {
        Check::Value { .. } | Check::Health {} => Probe::Panels,
        Check::TlsDays { url, .. } => {
            let ca_file = target.and_then(|t| t.ca_file.clone());
            if let Some(u) = url {
                return named_url(u, |url| Probe::Tls { url, ca_file });
            }
            let Some(t) = target else { return no_target() };
            match t
                .metrics
                .iter()
                .chain(&t.health)
                .find(|u| u.scheme() == "https")
            {
                Some(url) => Probe::Tls {
                    url: url.clone(),
                    ca_file,
                },
                None => Probe::Skip(format!(
                    "{} has no https URL; name one with url = \"https://…\" in a checklist file",
                    t.name
                )),
            }
        }
        Check::ClockSkew { url, .. } => {
            let ca_file = target.and_then(|t| t.ca_file.clone());
            if let Some(u) = url {
                return named_url(u, |url| Probe::Clock { url, ca_file });
            }
            let Some(t) = target else { return no_target() };
            match t.health.first().or(t.metrics.as_ref()) {
                Some(url) => Probe::Clock {
                    url: url.clone(),
                    ca_file,
                },
                None => Probe::Skip(format!("{} has no HTTP URL to read a Date from", t.name)),
            }
        }
        Check::DiskFree { path, .. } => {
            if let Some(p) = path {
                return Probe::Disk { path: p.clone() };
            }
            let Some(t) = target else { return no_target() };
            match &t.actions.backup {
                Some(b) => Probe::Disk {
                    path: b.dir.clone(),
                },
                None => Probe::Skip(format!(
                    "{} has no [target.backup] directory; name a path in a checklist file",
                    t.name
                )),
            }
        }
        Check::BackupFresh { max_age } => {
            let Some(t) = target else { return no_target() };
            let Some(b) = &t.actions.backup else {
                return Probe::Skip(format!("{} has no [target.backup] configured", t.name));
            };
            let max_age = max_age
                .as_deref()
                .and_then(|a| humantime::parse_duration(a).ok())
                .unwrap_or(b.max_age);
            Probe::Backup {
                dir: b.dir.clone(),
                target: t.name.clone(),
                max_age_ms: max_age.as_millis() as i64,
            }
        }
    }
}

fn show(v: f64) -> String {
    if v == 0.0 || (v.abs() >= 0.001 && v.abs() < 1e6) {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        format!("{v:.3e}")
    }
}

fn value_label(value: AlertValue, panel: Option<&str>) -> String {
    let what = match value {
        AlertValue::Backlog => "largest backlog",
        AlertValue::LatencyP95 => "p95 (s)",
        AlertValue::CounterIncrease => "increase over the window",
        AlertValue::Gauge => "largest row",
        AlertValue::DiskUsedRatio => "fullest disk, used share",
        AlertValue::ErrorRatio => "error share",
        AlertValue::DbConnectionsRatio => "connections in use / max",
        AlertValue::LockWaits => "sessions waiting on locks",
        AlertValue::StaleSeconds => "seconds since the target last answered",
        AlertValue::HealthFailing => "failing health checks",
    };
    match panel {
        Some(p) => format!("{p}: {what}"),
        None => what.to_owned(),
    }
}

/// Whether the target has the panel rows `value` is read from at all.
fn exported(t: &TargetPanels, value: AlertValue, panel: Option<&str>) -> bool {
    let titled = |title: &str| panel == Some(title);
    match value {
        AlertValue::Backlog => !t.backlog.is_empty(),
        AlertValue::LatencyP95 => t.latency.iter().any(|l| titled(&l.title)),
        AlertValue::CounterIncrease => t.counters.iter().any(|c| titled(&c.title)),
        AlertValue::Gauge => t.queue.iter().chain(&t.sse).any(|g| titled(&g.title)),
        AlertValue::DiskUsedRatio => !t.disks.is_empty(),
        AlertValue::ErrorRatio => t.errors.iter().any(|e| titled(&e.title)),
        AlertValue::DbConnectionsRatio | AlertValue::LockWaits => t.db.is_some(),
        AlertValue::StaleSeconds => true,
        AlertValue::HealthFailing => !t.health.is_empty(),
    }
}

/// The target's metrics are not current (down, nothing collected yet, or stale), so its panel
/// values cannot be judged: `Some(why)`. A degraded target (metrics good, a health check
/// failing) still has good values.
fn unreachable(t: &TargetPanels) -> Option<String> {
    if matches!(t.status, TargetStatus::Up | TargetStatus::Degraded) && !t.stale {
        return None;
    }
    let why = t
        .error
        .clone()
        .unwrap_or_else(|| "no successful scrape".into());
    Some(
        if matches!(t.status, TargetStatus::Up | TargetStatus::Degraded) {
            format!("{} is stale (its latest scrape failed): {why}", t.name)
        } else {
            format!("{} is {}: {why}", t.name, t.status)
        },
    )
}

/// Judges one item. Pure: `now_ms` is passed in, `panels` are the item's target's, and
/// `gathered` holds what the item's [`Probe`] found.
pub fn evaluate(
    item: &PlannedItem,
    probe: &Probe,
    panels: Option<&TargetPanels>,
    gathered: &Gathered,
    now_ms: i64,
) -> Outcome {
    let Some(check) = &item.item.check else {
        return Outcome::new(Status::Pending, "manual item: the operator decides", None);
    };
    match probe {
        Probe::Skip(why) => return Outcome::new(Status::Skipped, why.clone(), None),
        Probe::Unknown(why) => return Outcome::new(Status::Unknown, why.clone(), None),
        _ => {}
    }
    match (check, gathered) {
        (
            Check::Value {
                value,
                panel,
                min,
                max,
            },
            _,
        ) => judge_value(item, panels, *value, panel.as_deref(), *min, *max),
        (Check::Health {}, _) => health(panels),
        (Check::TlsDays { min_days, .. }, Gathered::Tls(r)) => judge_tls(r, *min_days, now_ms),
        (Check::ClockSkew { max_seconds, .. }, Gathered::Clock(r)) => judge_clock(r, *max_seconds),
        (Check::DiskFree { min_percent, .. }, Gathered::Disk(r)) => {
            judge_disk(probe, r, *min_percent)
        }
        (Check::BackupFresh { .. }, Gathered::Backup(r)) => judge_backup(probe, r, now_ms),
        (c, _) => Outcome::new(
            Status::Unknown,
            format!("the {} check was not probed", c.type_name()),
            None,
        ),
    }
}

fn judge_value(
    item: &PlannedItem,
    panels: Option<&TargetPanels>,
    value: AlertValue,
    panel: Option<&str>,
    min: Option<f64>,
    max: Option<f64>,
) -> Outcome {
    let Some(t) = panels else {
        return Outcome::new(Status::Unknown, "no panels for this item's target", None);
    };
    if let Some(why) = unreachable(t) {
        return Outcome::new(Status::Unknown, why, None);
    }
    // The same numbers the presets' alerts watch: one derivation, shared.
    let spec = AlertSpec {
        name: item.key.clone(),
        severity: AlertSeverity::Info,
        value,
        panel: panel.map(str::to_owned),
        above: None,
        below: None,
        for_duration: None,
        hysteresis: 0.0,
        symptom: String::new(),
        cause: String::new(),
        action: String::new(),
        remedy: None,
    };
    let label = value_label(value, panel);
    if !exported(t, value, panel) {
        // Not every target of a preset exports every panel (only the database host has the
        // database disk): the item does not apply to this one.
        return Outcome::new(
            Status::Skipped,
            format!("{label}: {} does not export this", t.name),
            None,
        );
    }
    let Some(v) = alert_value(t, &spec) else {
        return Outcome::new(
            Status::Unknown,
            format!("{label}: no value (no data in the window yet)"),
            None,
        );
    };
    let bounds = match (min, max) {
        (Some(lo), Some(hi)) => format!("between {} and {}", show(lo), show(hi)),
        (Some(lo), None) => format!("min {}", show(lo)),
        (None, Some(hi)) => format!("max {}", show(hi)),
        (None, None) => "no bound".into(),
    };
    let ok = min.is_none_or(|lo| v >= lo) && max.is_none_or(|hi| v <= hi);
    let status = if ok { Status::Pass } else { Status::Fail };
    Outcome::new(status, format!("{label} = {} ({bounds})", show(v)), Some(v))
}

fn judge_tls(r: &Result<TlsCert, String>, min_days: f64, now_ms: i64) -> Outcome {
    let c = match r {
        Err(e) => return Outcome::new(Status::Unknown, e.clone(), None),
        Ok(c) => c,
    };
    let days = (c.not_after_s * 1000 - now_ms) as f64 / 86_400_000.0;
    let (y, m, d) = super::cert::civil_from_days(c.not_after_s.div_euclid(86_400));
    let date = format!("{y:04}-{m:02}-{d:02}");
    let left = if days < 0.0 {
        format!("expired on {date} ({:.1} days ago)", -days)
    } else {
        format!("{days:.1} days left (expires {date})")
    };
    match &c.verify_error {
        Some(e) if days >= 0.0 => Outcome::new(
            Status::Fail,
            format!("the certificate does not verify: {e}; {left}"),
            Some(days),
        ),
        _ => {
            let status = if days < min_days {
                Status::Fail
            } else {
                Status::Pass
            };
            Outcome::new(
                status,
                format!("{left}; need at least {}", show(min_days)),
                Some(days),
            )
        }
    }
}

fn judge_clock(r: &Result<ClockReading, String>, max_seconds: f64) -> Outcome {
    let c = match r {
        Err(e) => return Outcome::new(Status::Unknown, e.clone(), None),
        Ok(c) => c,
    };
    let mid_s = (c.local_before_ms + c.local_after_ms) as f64 / 2000.0;
    // The Date header is truncated to the second: the server's clock was somewhere in
    // [date, date + 1), and the request took some time.
    let skew = c.server_s as f64 + 0.5 - mid_s;
    let slack = 0.5 + (c.local_after_ms - c.local_before_ms).max(0) as f64 / 2000.0;
    let dir = if skew >= 0.0 { "ahead of" } else { "behind" };
    let evidence = format!(
        "server clock {:.1} s {dir} this machine (±{slack:.1} s; Date: {}); max {}",
        skew.abs(),
        c.date_header,
        show(max_seconds)
    );
    let status = if skew.abs() - slack > max_seconds {
        Status::Fail
    } else {
        Status::Pass
    };
    Outcome::new(status, evidence, Some(skew))
}

fn judge_disk(probe: &Probe, r: &Result<DiskUsage, String>, min_percent: f64) -> Outcome {
    let path = match probe {
        Probe::Disk { path } => path.display().to_string(),
        _ => String::new(),
    };
    match r {
        Err(e) => Outcome::new(Status::Unknown, e.clone(), None),
        Ok(u) if u.size_bytes <= 0.0 => Outcome::new(
            Status::Unknown,
            format!("{path}: the filesystem reports size 0"),
            None,
        ),
        Ok(u) => {
            let pct = u.avail_bytes / u.size_bytes * 100.0;
            let status = if pct >= min_percent {
                Status::Pass
            } else {
                Status::Fail
            };
            Outcome::new(
                status,
                format!(
                    "{path}: {pct:.1} % free ({} of {}); min {}",
                    crate::fmt::bytes(u.avail_bytes),
                    crate::fmt::bytes(u.size_bytes),
                    show(min_percent)
                ),
                Some(pct),
            )
        }
    }
}

fn judge_backup(probe: &Probe, r: &Result<BackupFacts, String>, now_ms: i64) -> Outcome {
    let (dir, max_age_ms) = match probe {
        Probe::Backup {
            dir, max_age_ms, ..
        } => (dir.display().to_string(), *max_age_ms),
        _ => (String::new(), 0),
    };
    let max = format_eta(max_age_ms as f64 / 1000.0);
    let f = match r {
        Err(e) => return Outcome::new(Status::Unknown, e.clone(), None),
        Ok(f) => f,
    };
    let Some(t) = f.newest_verified_ms else {
        let last = f
            .newest_error
            .as_deref()
            .map(|e| format!("; the newest attempt failed: {e}"))
            .unwrap_or_default();
        return Outcome::new(
            Status::Fail,
            format!(
                "no verified backup in {dir} ({} attempts){last}",
                f.attempts
            ),
            None,
        );
    };
    let age_ms = (now_ms - t).max(0);
    let age = format_eta(age_ms as f64 / 1000.0);
    let status = if age_ms <= max_age_ms {
        Status::Pass
    } else {
        Status::Fail
    };
    Outcome::new(
        status,
        format!("newest verified backup is {age} old (max {max}) in {dir}"),
        Some(age_ms as f64 / 1000.0),
    )
}

fn health(panels: Option<&TargetPanels>) -> Outcome {
    let Some(t) = panels else {
        return Outcome::new(Status::Unknown, "no panels for this item's target", None);
    };
    if t.health.is_empty() {
        return Outcome::new(
            Status::Skipped,
            format!(
                "{} has no health endpoint configured (or none answered yet)",
                t.name
            ),
            None,
        );
    }
    let mut bad = Vec::new();
    for h in &t.health {
        let failing: Vec<String> = h
            .checks
            .iter()
            .filter(|c| !c.healthy)
            .map(|c| {
                let detail = c
                    .detail
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default();
                format!("{}: {}{detail}", c.name, c.status)
            })
            .collect();
        if h.healthy && failing.is_empty() {
            continue;
        }
        let code = h
            .status_code
            .map_or_else(|| "no answer".into(), |c| c.to_string());
        let why = h.why();
        let mut line = format!("{} {code}", h.url);
        if !why.is_empty() {
            let _ = write!(line, " {why}");
        }
        if !failing.is_empty() {
            let _ = write!(line, " — {}", failing.join(", "));
        }
        bad.push(line);
    }
    if bad.is_empty() {
        let n: usize = t.health.iter().map(|h| h.checks.len()).sum();
        let endpoints = t.health.len();
        let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
        Outcome::new(
            Status::Pass,
            format!(
                "{} healthy, {} ok",
                plural(endpoints, "endpoint"),
                plural(n, "check")
            ),
            None,
        )
    } else {
        // An endpoint that does not answer is a failed health check, not a check we could not
        // make: not answering is what the check is about.
        Outcome::new(Status::Fail, bad.join("; "), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::probe::BackupFacts;
    use crate::derive::panels::{DiskRow, LatencyRow};

    fn planned(check: Check) -> PlannedItem {
        PlannedItem {
            key: "t/i".into(),
            checklist: "c".into(),
            target: Some("t".into()),
            item: Item {
                id: "i".into(),
                title: "i".into(),
                check: Some(check),
                hint: None,
            },
        }
    }

    fn up() -> TargetPanels {
        TargetPanels {
            status: crate::derive::panels::TargetStatus::Up,
            ..TargetPanels::empty("t")
        }
    }

    fn latency(p95: f64) -> LatencyRow {
        LatencyRow {
            title: "ACK".into(),
            p50: p95 / 2.0,
            p95,
            p99: p95,
            threshold: None,
            over: false,
            since_start: false,
        }
    }

    #[test]
    fn value_checks_use_the_alert_values() {
        let item = planned(Check::Value {
            value: AlertValue::LatencyP95,
            panel: Some("ACK".into()),
            min: None,
            max: Some(0.2),
        });
        let mut t = up();
        t.latency.push(latency(0.25));
        let o = evaluate(&item, &Probe::Panels, Some(&t), &Gathered::Nothing, 0);
        assert_eq!(o.status, Status::Fail);
        assert_eq!(o.evidence, "ACK: p95 (s) = 0.25 (max 0.2)");
        t.latency[0] = latency(0.2);
        let o = evaluate(&item, &Probe::Panels, Some(&t), &Gathered::Nothing, 0);
        assert_eq!(o.status, Status::Pass, "the bound is inclusive");
        t.latency[0] = latency(f64::NAN);
        let o = evaluate(&item, &Probe::Panels, Some(&t), &Gathered::Nothing, 0);
        assert_eq!(o.status, Status::Unknown, "no observations: {o:?}");
        t.latency.clear();
        let o = evaluate(&item, &Probe::Panels, Some(&t), &Gathered::Nothing, 0);
        assert_eq!(o.status, Status::Skipped, "not exported: {o:?}");
        t.status = crate::derive::panels::TargetStatus::Down;
        t.error = Some("connection refused".into());
        let o = evaluate(&item, &Probe::Panels, Some(&t), &Gathered::Nothing, 0);
        assert_eq!(o.status, Status::Unknown);
        assert_eq!(o.evidence, "t is down: connection refused");
    }

    #[test]
    fn disk_ratio_takes_the_fullest_disk() {
        let item = planned(Check::Value {
            value: AlertValue::DiskUsedRatio,
            panel: None,
            min: None,
            max: Some(0.9),
        });
        let mut t = up();
        for (label, r) in [("/", 0.5), ("/data", 0.95)] {
            t.disks.push(DiskRow {
                source: "metrics".into(),
                label: label.into(),
                used_ratio: r,
                used_bytes: 0.0,
                size_bytes: 1.0,
                trend: None,
                warn: false,
            });
        }
        let o = evaluate(&item, &Probe::Panels, Some(&t), &Gathered::Nothing, 0);
        assert_eq!((o.status, o.value), (Status::Fail, Some(0.95)));
    }

    #[test]
    fn backup_freshness_against_max_age() {
        let item = planned(Check::BackupFresh { max_age: None });
        let probe = Probe::Backup {
            dir: "/b".into(),
            target: "t".into(),
            max_age_ms: 26 * 3_600_000,
        };
        let facts = |newest: Option<i64>, err: Option<&str>| {
            Gathered::Backup(Ok(BackupFacts {
                newest_verified_ms: newest,
                attempts: 2,
                newest_error: err.map(str::to_owned),
            }))
        };
        let now = 100 * 3_600_000;
        let o = evaluate(
            &item,
            &probe,
            None,
            &facts(Some(now - 3_600_000), None),
            now,
        );
        assert_eq!(o.status, Status::Pass, "{o:?}");
        let o = evaluate(
            &item,
            &probe,
            None,
            &facts(Some(now - 27 * 3_600_000), None),
            now,
        );
        assert_eq!(o.status, Status::Fail, "{o:?}");
        assert!(o.evidence.contains("1d3h old (max 1d2h)"), "{}", o.evidence);
        let o = evaluate(&item, &probe, None, &facts(None, Some("disk full")), now);
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.evidence.contains("the newest attempt failed: disk full"),
            "{}",
            o.evidence
        );
        let o = evaluate(
            &item,
            &probe,
            None,
            &Gathered::Backup(Err("denied".into())),
            now,
        );
        assert_eq!(o.status, Status::Unknown);
    }

    #[test]
    fn skips_and_manual_items() {
        let item = planned(Check::BackupFresh { max_age: None });
        let o = evaluate(
            &item,
            &Probe::Skip("no backup".into()),
            None,
            &Gathered::Nothing,
            0,
        );
        assert_eq!(
            (o.status, o.evidence.as_str()),
            (Status::Skipped, "no backup")
        );
        let mut manual = item.clone();
        manual.item.check = None;
        let o = evaluate(&manual, &Probe::Panels, None, &Gathered::Nothing, 0);
        assert_eq!(o.status, Status::Pending);
    }
}
