//! ```text
//! ┌ [1] Targets ──────────────────────────────────────────────────────────────┐
//! │   target        status    age       series  bad  health      detail        │
//! │ ● cn-relay      up        1s           127    0  ✓ 2/2       community-node│
//! │ ✖ mail          down      STALE 9s      34    0  ✗ database  HTTP 503 …     │
//! └───────────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::text::{Line, Span};

use super::{fit, rfit};
use crate::app::model::{Model, View};
use crate::derive::format_eta;
use crate::derive::panels::TargetPanels;
use crate::derive::panels::TargetStatus;

fn health_summary(t: &TargetPanels) -> (bool, String) {
    if t.health.is_empty() {
        return (true, "—".to_owned());
    }
    let failing: Vec<&str> = t
        .health
        .iter()
        .flat_map(|h| {
            let mut names: Vec<&str> = h
                .checks
                .iter()
                .filter(|c| !c.healthy)
                .map(|c| c.name.as_str())
                .collect();
            if !h.healthy && names.is_empty() {
                names.push(h.url.rsplit('/').next().unwrap_or("health"));
            }
            names
        })
        .collect();
    if failing.is_empty() {
        let checks: usize = t.health.iter().map(|h| h.checks.len().max(1)).sum();
        (true, format!("✓ {checks}/{checks}"))
    } else {
        let mut uniq = failing.clone();
        uniq.dedup();
        (false, format!("✗ {}", uniq.join(",")))
    }
}

/// Rows of the overview (all targets, or the drilled-into one).
pub fn lines(m: &Model, width: u16) -> Vec<(bool, Line<'static>)> {
    lines_upto(m, width, usize::MAX)
}

/// Rows of the overview, stopping after about `limit` (see `panels::lines_upto`).
pub fn lines_upto(m: &Model, width: u16, limit: usize) -> Vec<(bool, Line<'static>)> {
    let s = &m.styles;
    let w = usize::from(width);
    let mut out = vec![(
        false,
        Line::styled(
            fit(
                "  target         status    age        series  bad  health        detail",
                w,
            ),
            s.dim,
        ),
    )];
    let only = match m.view {
        View::Detail { target } => Some(target),
        _ => None,
    };
    if m.shown.targets.is_empty() {
        out.push((false, Line::styled("  no targets configured", s.dim)));
    }
    let groups = group_counts(m);
    let mut group: Option<(&str, &str)> = None;
    let order = match only {
        Some(o) => vec![o],
        None => m.overview_order().to_vec(),
    };
    let mut selectable = 0;
    for i in order {
        let Some(t) = m.shown.targets.get(i) else {
            continue;
        };
        if selectable >= limit {
            break;
        }
        selectable += 1;
        if let (Some(f), Some(job)) = (t.fleet.as_deref(), t.job.as_deref()) {
            if group != Some((f, job)) {
                group = Some((f, job));
                out.push((false, group_header(m, f, job, &groups, w)));
            }
        } else {
            group = None;
        }
        let (mark, style) = match t.status {
            TargetStatus::Up => ("●", s.ok),
            TargetStatus::Degraded => ("▲", s.warn),
            TargetStatus::Down => ("✖", s.crit),
            _ => ("…", s.dim),
        };
        // Ages move with the clock between observations (the panels are derived less often).
        let clock = if m.frozen { m.shown.at_ms } else { m.now_ms };
        let age_ms = t.last_success_ms.map(|s| (clock - s).max(0));
        let age = match age_ms {
            None => "never".to_owned(),
            Some(a) => {
                let age = format_eta(a as f64 / 1000.0);
                if t.stale {
                    format!("STALE {age}")
                } else {
                    age
                }
            }
        };
        let (healthy, health) = health_summary(t);
        let detail = detail(t, only.is_some());
        let detail_style = if t.error.is_some() { s.crit } else { s.dim };
        let spans = vec![
            Span::styled(format!("{mark} "), style),
            Span::styled(fit(&t.name, 14), s.base),
            Span::raw(" "),
            Span::styled(fit(t.status.as_str(), 9), style),
            Span::raw(" "),
            Span::styled(fit(&age, 10), if t.stale { s.stale } else { s.dim }),
            Span::styled(
                rfit(
                    &t.series.map_or_else(|| "—".to_owned(), |n| n.to_string()),
                    6,
                ),
                s.base,
            ),
            Span::styled(
                rfit(&t.malformed.to_string(), 5),
                if t.malformed > 0 { s.warn } else { s.dim },
            ),
            Span::raw("  "),
            Span::styled(fit(&health, 13), if healthy { s.ok } else { s.crit }),
            Span::raw(" "),
            Span::styled(detail, detail_style),
        ];
        out.push((true, Line::from(spans)));
    }
    out
}

/// The overview's last column: the error, else a warning, else malformed lines, else the
/// preset. A fleet's panel problems are on its group's heading, not on each of its instances
/// (but on the one drilled into).
fn detail(t: &TargetPanels, drilled: bool) -> String {
    let warning = t.warning.clone().filter(|_| t.fleet.is_none() || drilled);
    t.error
        .clone()
        .or(warning)
        .or_else(|| {
            (t.malformed > 0).then(|| t.malformed_examples.first().cloned().unwrap_or_default())
        })
        .unwrap_or_else(|| t.preset.clone().unwrap_or_else(|| "no preset".to_owned()))
}

/// (fleet, job) → (instances, up).
fn group_counts(m: &Model) -> std::collections::HashMap<(String, String), (usize, usize)> {
    let mut out: std::collections::HashMap<(String, String), (usize, usize)> =
        std::collections::HashMap::new();
    for t in m
        .shown
        .targets
        .iter()
        .filter(|t| t.status != crate::derive::panels::TargetStatus::Gone)
    {
        if let (Some(f), Some(j)) = (&t.fleet, &t.job) {
            let e = out.entry((f.clone(), j.clone())).or_default();
            e.0 += 1;
            e.1 += usize::from(t.status == crate::derive::panels::TargetStatus::Up);
        }
    }
    out
}

/// `── fleet overlays · job overlay · 250/250 up · promql http://prom:9090 ── problems`.
fn group_header(
    m: &Model,
    fleet: &str,
    job: &str,
    groups: &std::collections::HashMap<(String, String), (usize, usize)>,
    w: usize,
) -> Line<'static> {
    let s = &m.styles;
    let (n, up) = groups
        .get(&(fleet.to_owned(), job.to_owned()))
        .copied()
        .unwrap_or_default();
    let f = m.store.fleets.iter().find(|f| f.name == fleet);
    let url = f.map(|f| f.url.clone()).unwrap_or_default();
    let gone = f.map_or(0, |f| f.gone);
    let gone = if gone > 0 {
        format!("· {gone} left the store's discovery ")
    } else {
        String::new()
    };
    let mut spans = vec![Span::styled(
        format!("── {fleet} · job {job} · {up}/{n} up · promql {url} {gone}"),
        if up < n { s.warn } else { s.dim },
    )];
    if let Some(f) = f {
        if let Some(e) = &f.error {
            spans.push(Span::styled(format!("✖ {e}"), s.crit));
        } else if let Some(first) = f.notes.first() {
            let more = f.notes.len() - 1;
            let more = if more > 0 {
                format!(" (+{more} more: Enter on an instance lists them)")
            } else {
                String::new()
            };
            // The store's URL is already on the heading.
            let text = first
                .text
                .strip_prefix("Prometheus at ")
                .and_then(|t| t.split_once(' ').map(|(_, rest)| rest))
                .unwrap_or(&first.text);
            spans.push(Span::styled(
                format!("⚠ {}: {text}{more}", first.panel),
                s.warn,
            ));
        }
    }
    let text: String = spans.iter().map(|sp| sp.content.as_ref()).collect();
    if text.chars().count() > w {
        let style = spans.last().map_or(s.dim, |sp| sp.style);
        return Line::styled(fit(&text, w), style);
    }
    Line::from(spans)
}
