//! Panel values for one target: what the cockpit and `snapshot` show.
//!
//! Pure: takes the store, the target's preset and `now`. Each panel row names where its
//! numbers come from (labels) and carries enough to say why it is empty or stale.

use std::collections::BTreeMap;

use serde::Serialize;

use super::quantile::{histogram_quantile, parse_le, quantile_over_window, Bucket};
use super::rate::{delta_gauge, increase, rate};
use super::trend::{backlog_trend, fill_trend, Trend};
use super::Point;
use crate::config::{LatencyPanel, Preset};
use crate::expo::RawLabels;
use crate::store::{DiskState, Status, TargetState};

/// Rates, quantiles and trends look this far back.
pub const DEFAULT_WINDOW_MS: i64 = 60_000;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GaugeRow {
    pub title: String,
    pub labels: String,
    pub value: f64,
    /// Change over the window.
    pub change: Option<f64>,
    pub warn: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BacklogRow {
    pub labels: String,
    pub value: f64,
    pub trend: Option<Trend>,
    /// Over the preset's threshold, or (db rows) disagreeing with the metric.
    pub warn: bool,
    /// Where the number comes from: `metrics` or `db` (SQL on the target's database).
    pub source: &'static str,
    /// For `db` rows: the metric of the same consumer, when a target exports it.
    pub metric_value: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LatencyRow {
    pub title: String,
    /// Seconds; NaN when there were no observations (as PromQL).
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub threshold: Option<f64>,
    pub over: bool,
    /// True when fewer than two scrapes were in the window, so the quantiles cover everything
    /// observed since the process started rather than the window.
    pub since_start: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ErrorRow {
    pub title: String,
    pub ratio: Option<f64>,
    pub requests_per_s: Option<f64>,
    pub warn: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CounterRow {
    pub title: String,
    pub labels: String,
    pub value: f64,
    pub rate_per_s: Option<f64>,
    pub increase: Option<f64>,
    pub alert: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DiskRow {
    pub source: String,
    pub label: String,
    pub used_ratio: f64,
    pub used_bytes: f64,
    pub size_bytes: f64,
    pub trend: Option<Trend>,
    pub warn: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CheckRow {
    pub name: String,
    pub healthy: bool,
    pub status: String,
    pub latency_ms: Option<f64>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HealthRow {
    pub url: String,
    pub healthy: bool,
    pub status_code: Option<u16>,
    pub latency_ms: f64,
    pub error: Option<String>,
    pub message: Option<String>,
    pub checks: Vec<CheckRow>,
}

impl HealthRow {
    /// What went wrong, else what the service said; empty when neither.
    pub fn why(&self) -> String {
        self.error
            .clone()
            .or_else(|| self.message.clone())
            .unwrap_or_default()
    }
}

crate::text::word_enum! {
    /// A target's state as the overview shows it.
    pub enum TargetStatus {
        /// Nothing collected yet.
        Pending => "pending",
        /// Latest scrape and every health check good.
        Up => "up",
        /// Metrics good but a health check fails, or the scrape had malformed lines.
        Degraded => "degraded",
        /// The latest scrape failed, or (health-only target) every health check fails.
        Down => "down",
        /// A fleet instance its store no longer lists.
        Gone => "gone",
    }
}

impl From<Status> for TargetStatus {
    fn from(s: Status) -> TargetStatus {
        match s {
            Status::Pending => TargetStatus::Pending,
            Status::Up => TargetStatus::Up,
            Status::Degraded => TargetStatus::Degraded,
            Status::Down => TargetStatus::Down,
        }
    }
}

/// Everything shown for one target.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TargetPanels {
    pub name: String,
    pub preset: Option<String>,
    /// For a fleet instance: its `[[fleet]]` and its `job` label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    pub status: TargetStatus,
    pub stale: bool,
    pub age_ms: Option<i64>,
    /// When the values shown were scraped (unix ms), so a view can keep the age current.
    pub last_success_ms: Option<i64>,
    pub error: Option<String>,
    pub warning: Option<String>,
    pub series: Option<usize>,
    pub malformed: usize,
    pub malformed_examples: Vec<String>,
    pub health: Vec<HealthRow>,
    pub backlog: Vec<BacklogRow>,
    pub sse: Vec<GaugeRow>,
    pub queue: Vec<GaugeRow>,
    pub latency: Vec<LatencyRow>,
    pub errors: Vec<ErrorRow>,
    pub counters: Vec<CounterRow>,
    pub disks: Vec<DiskRow>,
    /// The database panel, for a target with a `[target.postgres]` section.
    pub db: Option<super::db::DbPanel>,
}

impl TargetPanels {
    /// A target with nothing known yet.
    pub fn empty(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            preset: None,
            fleet: None,
            job: None,
            status: TargetStatus::Pending,
            stale: false,
            age_ms: None,
            last_success_ms: None,
            error: None,
            warning: None,
            series: None,
            malformed: 0,
            malformed_examples: Vec::new(),
            health: Vec::new(),
            backlog: Vec::new(),
            sse: Vec::new(),
            queue: Vec::new(),
            latency: Vec::new(),
            errors: Vec::new(),
            counters: Vec::new(),
            disks: Vec::new(),
            db: None,
        }
    }
}

/// `name{labels}` → (name, labels).
pub fn split_key(key: &str) -> (&str, RawLabels<'_>) {
    match key.find('{') {
        Some(i) if key.ends_with('}') => (
            &key[..i],
            RawLabels::new(&key.as_bytes()[i + 1..key.len() - 1]),
        ),
        _ => (key, RawLabels::default()),
    }
}

fn label_values(labels: &RawLabels<'_>, by: &[String]) -> String {
    by.iter()
        .map(|l| {
            labels
                .get(l)
                .map(std::borrow::Cow::into_owned)
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn matches(labels: &RawLabels<'_>, matchers: &[(String, String)]) -> bool {
    matchers
        .iter()
        .all(|(k, v)| labels.get(k).as_deref() == Some(v.as_str()))
}

/// Present series of one sample name, with their labels.
fn present<'a>(
    t: &'a TargetState,
    name: &'a str,
) -> impl Iterator<Item = (&'a str, RawLabels<'a>)> {
    t.present.iter().filter_map(move |k| {
        let (n, labels) = split_key(k);
        (n == name).then_some((k.as_ref(), labels))
    })
}

/// Sum of several aligned histories (all series of one target share scrape times), from the
/// last point before `since` on: every caller looks at a window, and a history read from the
/// past at launch holds 15 minutes, so summing all of it every scrape would be wasted work.
fn sum_points<'a>(series: impl Iterator<Item = &'a [Point]>, since: i64) -> Vec<Point> {
    let series: Vec<&[Point]> = series
        .map(|s| &s[s.partition_point(|p| p.0 < since).saturating_sub(1)..])
        .collect();
    // Usual case: every series was in every scrape, so the timestamps line up one to one.
    if let Some(first) = series.first() {
        let aligned = series
            .iter()
            .all(|s| s.len() == first.len() && s.iter().zip(first.iter()).all(|(a, b)| a.0 == b.0));
        if aligned {
            let mut sum: Vec<Point> = first.iter().map(|p| (p.0, 0.0)).collect();
            for s in &series {
                for (acc, p) in sum.iter_mut().zip(s.iter()) {
                    acc.1 += p.1;
                }
            }
            return sum;
        }
    }
    let mut sum: BTreeMap<i64, f64> = BTreeMap::new();
    for pts in series {
        for &(t, v) in pts {
            *sum.entry(t).or_insert(0.0) += v;
        }
    }
    sum.into_iter().collect()
}

fn gauges(t: &TargetState, p: &crate::config::GaugePanel, window: i64, now: i64) -> Vec<GaugeRow> {
    present(t, &p.metric)
        .map(|(key, labels)| {
            let pts = t.points(key);
            let value = pts.last().map_or(f64::NAN, |p| p.1);
            GaugeRow {
                title: p.title.clone(),
                labels: label_values(&labels, &p.by),
                value,
                change: delta_gauge(pts, window, now),
                warn: p.warn_above.is_some_and(|w| value > w),
            }
        })
        .collect()
}

fn latency(t: &TargetState, p: &LatencyPanel, window: i64, now: i64) -> Option<LatencyRow> {
    let bucket_name = format!("{}_bucket", p.histogram);
    let mut by_le: BTreeMap<u64, (f64, Vec<&[Point]>)> = BTreeMap::new();
    for (key, labels) in present(t, &bucket_name) {
        if !matches(&labels, &p.matchers) {
            continue;
        }
        let Some(le) = labels.get("le").and_then(|s| parse_le(&s)) else {
            continue;
        };
        by_le
            .entry(le.to_bits())
            .or_insert((le, Vec::new()))
            .1
            .push(t.points(key));
    }
    if by_le.is_empty() {
        return None;
    }
    let summed: Vec<(f64, Vec<Point>)> = by_le
        .into_values()
        .map(|(le, series)| (le, sum_points(series.into_iter(), now - window)))
        .collect();
    let in_window = |pts: &Vec<Point>| {
        pts.iter()
            .filter(|p| p.0 > now - window && p.0 <= now)
            .count()
    };
    let since_start = summed.iter().any(|(_, pts)| in_window(pts) < 2);
    let q = |q: f64| {
        let v = if since_start {
            let buckets: Vec<Bucket> = summed
                .iter()
                .filter_map(|(le, pts)| {
                    pts.last().map(|p| Bucket {
                        upper_bound: *le,
                        count: p.1,
                    })
                })
                .collect();
            histogram_quantile(q, &buckets)
        } else {
            let refs: Vec<(f64, &[Point])> = summed
                .iter()
                .map(|(le, pts)| (*le, pts.as_slice()))
                .collect();
            quantile_over_window(q, &refs, window, now)
        };
        v * p.scale
    };
    let (p50, p95, p99) = (q(0.5), q(0.95), q(0.99));
    Some(LatencyRow {
        title: p.title.clone(),
        p50,
        p95,
        p99,
        threshold: p.threshold_seconds,
        over: p.threshold_seconds.is_some_and(|th| p95 > th),
        since_start,
    })
}

fn errors(
    t: &TargetState,
    p: &crate::config::ErrorRatePanel,
    window: i64,
    now: i64,
) -> Option<ErrorRow> {
    let all: Vec<(&str, RawLabels<'_>)> = present(t, &p.metric).collect();
    if all.is_empty() {
        return None;
    }
    let total = sum_points(all.iter().map(|(k, _)| t.points(k)), now - window);
    let bad = sum_points(
        all.iter()
            .filter(|(_, l)| {
                l.get(&p.status_label)
                    .is_some_and(|s| s.starts_with(p.error_prefix.as_str()))
            })
            .map(|(k, _)| t.points(k)),
        now - window,
    );
    let total_inc = increase(&total, window, now);
    let bad_inc = if bad.is_empty() {
        total_inc.map(|_| 0.0)
    } else {
        increase(&bad, window, now)
    };
    let ratio = match (bad_inc, total_inc) {
        (Some(b), Some(a)) if a > 0.0 => Some(b / a),
        (Some(_), Some(_)) => Some(0.0),
        _ => None,
    };
    Some(ErrorRow {
        title: p.title.clone(),
        ratio,
        requests_per_s: rate(&total, window, now),
        warn: matches!((ratio, p.warn_ratio), (Some(r), Some(w)) if r > w),
    })
}

fn counters(
    t: &TargetState,
    p: &crate::config::CounterPanel,
    window: i64,
    now: i64,
) -> Vec<CounterRow> {
    // Rows are the `by` groups, summed, so `reason` rows stay few whatever else is labelled.
    let mut groups: BTreeMap<String, Vec<&[Point]>> = BTreeMap::new();
    for (key, labels) in present(t, &p.metric) {
        groups
            .entry(label_values(&labels, &p.by))
            .or_default()
            .push(t.points(key));
    }
    groups
        .into_iter()
        .map(|(labels, series)| {
            let pts = sum_points(series.into_iter(), now - window);
            let inc = increase(&pts, window, now);
            CounterRow {
                title: p.title.clone(),
                labels,
                value: pts.last().map_or(f64::NAN, |p| p.1),
                rate_per_s: rate(&pts, window, now),
                increase: inc,
                alert: p.alert_on_increase && inc.is_some_and(|i| i > 0.0),
            }
        })
        .collect()
}

/// Disk rows from node_exporter's filesystem metrics.
fn node_filesystems(t: &TargetState, window: i64, now: i64) -> Vec<DiskRow> {
    let mut rows = Vec::new();
    for (size_key, labels) in present(t, "node_filesystem_size_bytes") {
        let label_str = std::str::from_utf8(labels.as_bytes()).unwrap_or_default();
        let free_key = format!("node_filesystem_free_bytes{{{label_str}}}");
        let avail_key = format!("node_filesystem_avail_bytes{{{label_str}}}");
        let (Some(size), Some(avail)) = (t.points(size_key).last(), t.points(&avail_key).last())
        else {
            continue;
        };
        let size = size.1;
        if size <= 0.0 {
            continue;
        }
        let free_pts = t.points(&free_key);
        let free = free_pts.last().map_or(avail.1, |p| p.1);
        let used = (size - free).max(0.0);
        let denom = used + avail.1;
        let used_ratio = if denom > 0.0 { used / denom } else { 0.0 };
        let used_pts: Vec<Point> = if free_pts.is_empty() {
            t.points(&avail_key)
                .iter()
                .map(|&(ts, a)| (ts, size - a))
                .collect()
        } else {
            free_pts.iter().map(|&(ts, f)| (ts, size - f)).collect()
        };
        rows.push(DiskRow {
            source: t.name.clone(),
            label: labels
                .get("mountpoint")
                .map(std::borrow::Cow::into_owned)
                .unwrap_or_default(),
            used_ratio,
            used_bytes: used,
            size_bytes: size,
            trend: fill_trend(&used_pts, size - (free - avail.1), window, now),
            warn: used_ratio > 0.9,
        });
    }
    rows
}

fn storage(
    t: &TargetState,
    p: &crate::config::StoragePanel,
    window: i64,
    now: i64,
) -> Option<DiskRow> {
    let used_key = present(t, &p.used).next()?.0;
    let limit_key = present(t, &p.limit).next()?.0;
    let used_pts = t.points(used_key);
    let used = used_pts.last()?.1;
    let limit = t.points(limit_key).last()?.1;
    let used_ratio = if limit > 0.0 { used / limit } else { 0.0 };
    Some(DiskRow {
        source: t.name.clone(),
        label: p.title.clone(),
        used_ratio,
        used_bytes: used,
        size_bytes: limit,
        trend: fill_trend(used_pts, limit, window, now),
        warn: p.warn_ratio.is_some_and(|w| used_ratio > w),
    })
}

/// Disk rows for local paths watched through statvfs.
pub fn local_disks(disks: &[DiskState], window: i64, now: i64) -> Vec<DiskRow> {
    disks
        .iter()
        .filter_map(|d| {
            let u = d.last.as_ref()?.as_ref().ok()?;
            let capacity = u.used_bytes() + u.avail_bytes;
            Some(DiskRow {
                source: "local".to_owned(),
                label: format!("{} ({})", d.name, d.path),
                used_ratio: u.used_ratio(),
                used_bytes: u.used_bytes(),
                size_bytes: u.size_bytes,
                trend: fill_trend(&d.used, capacity, window, now),
                warn: u.used_ratio() > 0.9,
            })
        })
        .collect()
}

fn health_rows(t: &TargetState) -> Vec<HealthRow> {
    t.health
        .iter()
        .map(|h| match &h.result {
            Ok(r) => HealthRow {
                url: h.url.clone(),
                healthy: r.healthy,
                status_code: Some(r.status_code),
                latency_ms: h.latency_ms,
                error: None,
                message: r.message.clone(),
                checks: r
                    .checks
                    .iter()
                    .map(|c| CheckRow {
                        name: c.name.clone(),
                        healthy: c.healthy,
                        status: c.status.clone(),
                        latency_ms: c.latency_ms,
                        detail: c.detail.clone(),
                    })
                    .collect(),
            },
            Err(e) => HealthRow {
                url: h.url.clone(),
                healthy: false,
                status_code: None,
                latency_ms: h.latency_ms,
                error: Some(e.clone()),
                message: None,
                checks: Vec::new(),
            },
        })
        .collect()
}

/// All panels of target `i` of the store (a fleet instance's carry its fleet's problems).
pub fn store_panels(
    store: &crate::store::Store,
    i: usize,
    preset: Option<&Preset>,
    window: i64,
    now: i64,
) -> TargetPanels {
    let t = &store.targets[i];
    let fleet = t.remote.as_ref().and_then(|r| store.fleets.get(r.fleet));
    target_panels_with(t, fleet, preset, window, now)
}

/// All panels of one target.
pub fn target_panels(
    t: &TargetState,
    preset: Option<&Preset>,
    window: i64,
    now: i64,
) -> TargetPanels {
    target_panels_with(t, None, preset, window, now)
}

fn target_panels_with(
    t: &TargetState,
    fleet: Option<&crate::store::FleetState>,
    preset: Option<&Preset>,
    window: i64,
    now: i64,
) -> TargetPanels {
    let status: Status = t.status();
    let mut out = TargetPanels {
        name: t.name.clone(),
        preset: t.preset.clone(),
        fleet: None,
        job: None,
        status: status.into(),
        stale: t.is_stale(),
        age_ms: t.age_ms(now),
        last_success_ms: t.last_good_ms(),
        error: t.last_error.clone().or_else(|| {
            // A database-only target: its database error is the target's error.
            t.pg.as_ref()
                .filter(|_| !t.has_metrics)
                .and_then(|p| p.error.clone())
        }),
        warning: t.scrape.as_ref().and_then(|s| s.warning.clone()),
        series: t.scrape.as_ref().map(|s| s.series),
        malformed: t.scrape.as_ref().map_or(0, |s| s.malformed_count),
        malformed_examples: t
            .scrape
            .as_ref()
            .map(|s| {
                s.malformed
                    .iter()
                    .take(3)
                    .map(|m| format!("line {}: {} ({})", m.line, m.reason, m.excerpt))
                    .collect()
            })
            .unwrap_or_default(),
        health: health_rows(t),
        backlog: Vec::new(),
        sse: Vec::new(),
        queue: Vec::new(),
        latency: Vec::new(),
        errors: Vec::new(),
        counters: Vec::new(),
        disks: node_filesystems(t, window, now),
        db: None,
    };
    if let Some(r) = &t.remote {
        if r.gone {
            // Left the store's discovery: not shown, not counted (see `store::fleet`).
            out.status = TargetStatus::Gone;
        }
        out.disks.clear();
        super::remote::remote_panels(&mut out, t, r, fleet, preset, window, now);
        return out;
    }
    if let Some(p) = preset {
        preset_panels(&mut out, t, p, window, now);
    }
    if let Some(pg) = &t.pg {
        super::db::add_postgres(&mut out, pg, window, now);
    }
    out
}

/// The panels a preset defines, from the target's watched series.
fn preset_panels(out: &mut TargetPanels, t: &TargetState, p: &Preset, window: i64, now: i64) {
    for g in &p.backlog {
        for (key, labels) in present(t, &g.metric) {
            let pts = t.points(key);
            let value = pts.last().map_or(f64::NAN, |p| p.1);
            out.backlog.push(BacklogRow {
                labels: label_values(&labels, &g.by),
                value,
                trend: backlog_trend(pts, window, now),
                warn: g.warn_above.is_some_and(|w| value > w),
                source: "metrics",
                metric_value: None,
            });
        }
    }
    for g in &p.sse {
        out.sse.extend(gauges(t, g, window, now));
    }
    for g in &p.queue {
        out.queue.extend(gauges(t, g, window, now));
    }
    out.latency = p
        .latency
        .iter()
        .filter_map(|l| latency(t, l, window, now))
        .collect();
    out.errors = p
        .errors
        .iter()
        .filter_map(|e| errors(t, e, window, now))
        .collect();
    for c in &p.counters {
        out.counters.extend(counters(t, c, window, now));
    }
    out.disks
        .extend(p.storage.iter().filter_map(|s| storage(t, s, window, now)));
}
