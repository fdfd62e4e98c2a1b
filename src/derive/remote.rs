//! Panels of a fleet instance: the values the store computed (PromQL), shaped into the same
//! rows as a scraped target's, so every view, rule and report treats both alike.

use super::panels::{
    BacklogRow, CounterRow, DiskRow, ErrorRow, GaugeRow, HealthRow, LatencyRow, TargetPanels,
};
use super::quantile::{histogram_quantile, parse_le, Bucket};
use super::rate::delta_gauge;
use super::trend::{backlog_trend, fill_trend};
use crate::config::Preset;
use crate::obs::fleet::{PanelKind, QUANTILES};
use crate::store::{remote_key, FleetState, RemoteState, TargetState};

/// The panels of one fleet instance; `fleet` is its fleet's state (for panel problems).
pub fn remote_panels(
    out: &mut TargetPanels,
    t: &TargetState,
    r: &RemoteState,
    fleet: Option<&FleetState>,
    preset: Option<&Preset>,
    window: i64,
    now: i64,
) {
    let v = &r.values;
    out.fleet = fleet.map(|f| f.name.clone());
    out.job = Some(v.job.clone());
    // Increases come from the store over the fleet's own window.
    let window_s = fleet.map_or(window, |f| f.window_ms) as f64 / 1000.0;
    if let Some(f) = fleet {
        let mut notes: Vec<String> = f.notes.iter().map(ToString::to_string).collect();
        if let Some(e) = &f.error {
            notes.insert(0, e.clone());
        }
        if !notes.is_empty() {
            out.warning = Some(notes.join("; "));
        }
    }
    out.health = vec![HealthRow {
        url: format!(
            "up{{job=\"{}\", instance=\"{}\"}} via {}",
            v.job,
            v.instance,
            fleet.map_or("the store", |f| f.url.as_str())
        ),
        healthy: v.up && !r.gone && fleet.is_none_or(|f| f.error.is_none()),
        status_code: None,
        latency_ms: v.scrape_ms.unwrap_or(0.0),
        error: t.last_error.clone(),
        message: None,
        checks: Vec::new(),
    }];
    let Some(p) = preset else {
        out.disks = disks(t, v, window, now);
        return;
    };
    gauge_rows(out, t, v, p, window, now);
    out.latency = p
        .latency
        .iter()
        .filter_map(|l| {
            let (_, raw) = v.latency.iter().find(|(t, _)| *t == l.title)?;
            let [p50, p95, p99] = fleet_quantiles(raw).map(|x| x * l.scale);
            Some(LatencyRow {
                title: l.title.clone(),
                p50,
                p95,
                p99,
                threshold: l.threshold_seconds,
                over: l.threshold_seconds.is_some_and(|th| p95 > th),
                since_start: false,
            })
        })
        .collect();
    out.errors = p
        .errors
        .iter()
        .filter_map(|e| {
            let (_, bad, all) = v.errors.iter().find(|(t, ..)| *t == e.title)?;
            let all = (*all)?;
            let ratio = match bad.unwrap_or(0.0) {
                _ if all <= 0.0 => 0.0,
                b => b / all,
            };
            Some(ErrorRow {
                title: e.title.clone(),
                ratio: Some(ratio),
                requests_per_s: Some(all / window_s),
                warn: e.warn_ratio.is_some_and(|w| ratio > w),
            })
        })
        .collect();
    out.counters = counter_rows(v, p, window_s);
    out.disks = disks(t, v, window, now);
    for s in &p.storage {
        let Some((_, used, limit)) = v.storage.iter().find(|(t, ..)| *t == s.title) else {
            continue;
        };
        if !used.is_finite() || !limit.is_finite() {
            continue;
        }
        let used_ratio = if *limit > 0.0 { used / limit } else { 0.0 };
        out.disks.push(DiskRow {
            source: t.name.clone(),
            label: s.title.clone(),
            used_ratio,
            used_bytes: *used,
            size_bytes: *limit,
            trend: fill_trend(
                t.points(&remote_key(PanelKind::Storage, &s.title, "")),
                *limit,
                window,
                now,
            ),
            warn: s.warn_ratio.is_some_and(|w| used_ratio > w),
        });
    }
}

/// Backlog, SSE and queue rows, with their changes and trends from the kept history.
fn gauge_rows(
    out: &mut TargetPanels,
    t: &TargetState,
    v: &crate::obs::fleet::InstanceValues,
    p: &Preset,
    window: i64,
    now: i64,
) {
    let warn_of = |kind: PanelKind, title: &str| -> Option<f64> {
        let list = match kind {
            PanelKind::Backlog => &p.backlog,
            PanelKind::Sse => &p.sse,
            PanelKind::Queue => &p.queue,
            _ => return None,
        };
        list.iter()
            .find(|g| g.title == title)
            .and_then(|g| g.warn_above)
    };
    for g in &v.gauges {
        let pts = t.points(&remote_key(g.kind, &g.title, &g.labels));
        let warn = warn_of(g.kind, &g.title).is_some_and(|w| g.value > w);
        match g.kind {
            PanelKind::Backlog => out.backlog.push(BacklogRow {
                labels: g.labels.clone(),
                value: g.value,
                trend: backlog_trend(pts, window, now),
                warn,
                source: "promql",
                metric_value: None,
            }),
            PanelKind::Sse | PanelKind::Queue => {
                let row = GaugeRow {
                    title: g.title.clone(),
                    labels: g.labels.clone(),
                    value: g.value,
                    change: delta_gauge(pts, window, now),
                    warn,
                };
                if g.kind == PanelKind::Sse {
                    out.sse.push(row);
                } else {
                    out.queue.push(row);
                }
            }
            _ => {}
        }
    }
}

fn counter_rows(
    v: &crate::obs::fleet::InstanceValues,
    p: &Preset,
    window_s: f64,
) -> Vec<CounterRow> {
    v.counters
        .iter()
        .map(|c| {
            let alert_on = p
                .counters
                .iter()
                .any(|pc| pc.title == c.title && pc.alert_on_increase);
            CounterRow {
                title: c.title.clone(),
                labels: c.labels.clone(),
                value: c.value,
                rate_per_s: c.increase.map(|i| i / window_s),
                increase: c.increase,
                alert: alert_on && c.increase.is_some_and(|i| i > 0.0),
            }
        })
        .collect()
}

/// Filesystem rows as node_exporter reports them (the same arithmetic as a scrape's).
fn disks(
    t: &TargetState,
    v: &crate::obs::fleet::InstanceValues,
    window: i64,
    now: i64,
) -> Vec<DiskRow> {
    let mut rows = Vec::new();
    for (mount, size, avail, free) in &v.disks {
        let (size, Some(avail)) = (*size, *avail) else {
            continue;
        };
        if !size.is_finite() || size <= 0.0 || !avail.is_finite() {
            continue;
        }
        let free = free.filter(|f| f.is_finite()).unwrap_or(avail);
        let used = (size - free).max(0.0);
        let denom = used + avail;
        let used_ratio = if denom > 0.0 { used / denom } else { 0.0 };
        rows.push(DiskRow {
            source: t.name.clone(),
            label: mount.clone(),
            used_ratio,
            used_bytes: used,
            size_bytes: size,
            trend: fill_trend(
                t.points(&remote_key(PanelKind::Disks, mount, "")),
                size - (free - avail),
                window,
                now,
            ),
            warn: used_ratio > 0.9,
        });
    }
    rows
}

/// p50, p95 and p99 of one instance's histogram, from the buckets a fleet's store answered
/// (`le` label, increase over the window). Buckets whose `le` does not parse are skipped.
pub fn fleet_quantiles(raw: &[(String, f64)]) -> [f64; 3] {
    let mut b: Vec<Bucket> = raw
        .iter()
        .filter_map(|(le, count)| {
            Some(Bucket {
                upper_bound: parse_le(le)?,
                count: *count,
            })
        })
        .collect();
    b.sort_by(|x, y| x.upper_bound.total_cmp(&y.upper_bound));
    QUANTILES.map(|x| histogram_quantile(x, &b))
}
