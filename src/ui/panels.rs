//! The data panels. Each row names its target and series; each empty panel says why.
//!
//! ```text
//! ┌ [2] Outbox backlog ───────────────────────────────────────────────┐
//! │ cn-index    index-v1          1,234  ▁▂▃▅▆▇█  +35.0/s  full? —     │
//! ├ [4] Latency ──────────────────────────────────────────────────────┤
//! │ overlay     Webhook ACK   p50 31ms p95 80ms p99 96ms ▂▃▂▅ ≤200ms    │
//! ├ [5] Disk ─────────────────────────────────────────────────────────┤
//! │ cn-relay    /var/lib/pg   ███████░░░  71.2%  of 200 GiB  full in 3h │
//! └───────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{fit, rfit};
use crate::app::model::{Model, PanelId, SparkKey, View};
use crate::derive::panels::{BacklogRow, GaugeRow, LatencyRow, TargetPanels};
use crate::derive::{format_eta, Direction, Trend};
use crate::fmt::{bar, bytes, num, secs, spark};

type Row = (bool, Line<'static>);

fn note(text: &str, style: Style) -> Row {
    (false, Line::styled(format!("  {text}"), style))
}

fn targets(m: &Model) -> Vec<&TargetPanels> {
    match m.view {
        View::Detail { target } => m.shown.targets.get(target).into_iter().collect(),
        _ => m
            .overview_order()
            .iter()
            .filter_map(|&i| m.shown.targets.get(i))
            .collect(),
    }
}

/// Why a panel has no row for this target, if it should have had one.
fn missing(t: &TargetPanels) -> Option<String> {
    if t.age_ms.is_none() {
        Some(format!(
            "{}: {}",
            t.name,
            if t.status == crate::derive::panels::TargetStatus::Pending {
                "waiting for the first scrape"
            } else {
                "down, no data yet"
            }
        ))
    } else if t.stale {
        Some(format!("{}: stale — latest scrape failed", t.name))
    } else {
        None
    }
}

/// Notes for a panel with no rows: which targets are down or stale, else that no target here
/// exposes the panel's metrics.
fn empty_notes(m: &Model, what: &str) -> Vec<Row> {
    let ts = targets(m);
    let mut notes: Vec<Row> = ts
        .iter()
        .filter_map(|t| missing(t))
        .map(|n| note(&n, m.styles.warn))
        .collect();
    if notes.is_empty() {
        let scope = if ts.len() == 1 {
            "this target"
        } else {
            "any target"
        };
        notes.push(note(&format!("no {what} on {scope}"), m.styles.dim));
    }
    notes
}

fn trend_text(t: Option<&Trend>, in_bytes: bool) -> (String, Option<f64>) {
    let Some(t) = t else {
        return ("…".to_owned(), None);
    };
    let rate = if in_bytes {
        let sign = if t.slope_per_s < 0.0 { "-" } else { "+" };
        format!("{sign}{}/s", bytes(t.slope_per_s.abs()))
    } else {
        format!("{:+.1}/s", t.slope_per_s)
    };
    match t.direction {
        Direction::Flat => ("flat".to_owned(), None),
        Direction::Draining | Direction::Filling => (rate, t.eta_s),
    }
}

fn stale_mark(m: &Model, t: &TargetPanels) -> Span<'static> {
    if t.stale {
        Span::styled(" STALE", m.styles.stale)
    } else {
        Span::raw("")
    }
}

/// Rows of one panel.
pub fn lines(m: &Model, panel: PanelId, width: u16) -> Vec<Row> {
    lines_upto(m, panel, width, usize::MAX)
}

/// Rows of one panel, stopping once `limit` selectable rows are built (a target's rows are not
/// split): drawing needs only the rows up to the selection and a screenful after it, and a
/// fleet of a thousand instances has ten thousand counter rows.
pub fn lines_upto(m: &Model, panel: PanelId, width: u16, limit: usize) -> Vec<Row> {
    let w = usize::from(width);
    match panel {
        PanelId::Overview => Vec::new(),
        PanelId::Backlog => series(m, w, limit, &BACKLOG, |t| &t.backlog, backlog_row),
        PanelId::Sse => series(m, w, limit, &SSE, |t| &t.sse, sse_row),
        PanelId::Latency => series(m, w, limit, &LATENCY, |t| &t.latency, latency_row),
        PanelId::Disk => disk(m, w, limit),
        PanelId::Health => health(m, w, limit),
        PanelId::Signals => signals(m, w, limit),
    }
}

/// Enough rows built: `limit` selectable ones (headings, notes and alert hints between them
/// do not count, or a selection past many of them would never be built).
fn full(out: &[Row], limit: usize) -> bool {
    limit != usize::MAX && out.iter().filter(|r| r.0).count() >= limit
}

/// Adds each shown target's rows to `out`, stopping once `limit` selectable rows are built (a
/// target's rows are not split).
fn per_target<'m>(
    m: &'m Model,
    limit: usize,
    out: &mut Vec<Row>,
    mut rows: impl FnMut(&'m TargetPanels, &mut Vec<Row>),
) {
    for t in targets(m) {
        if full(out, limit) {
            break;
        }
        rows(t, out);
    }
}

/// A panel of one row per series of each shown target (`items` picks them, `row` draws one),
/// under its heading, up to `limit` rows as [`per_target`] counts them.
fn series<'m, T: 'm>(
    m: &'m Model,
    w: usize,
    limit: usize,
    heading: &Heading,
    items: impl Fn(&'m TargetPanels) -> &'m [T],
    row: impl Fn(&Model, usize, &TargetPanels, &T) -> Row,
) -> Vec<Row> {
    let mut out = Vec::new();
    per_target(m, limit, &mut out, |t, out| {
        out.extend(items(t).iter().map(|item| row(m, w, t, item)));
    });
    with_heading(m, out, heading.what, heading.columns, w)
}

/// A selectable row that starts with the name of its target (or disk source) in the panels'
/// first column.
fn named_row<const N: usize>(m: &Model, name: &str, rest: [Span<'static>; N]) -> Row {
    let mut spans = vec![Span::styled(fit(name, 11), m.styles.dim), Span::raw(" ")];
    spans.extend(rest);
    (true, Line::from(spans))
}

/// A health row's mark, and the style of its status.
fn health_mark(m: &Model, healthy: bool) -> (&'static str, Style) {
    if healthy {
        ("✓", m.styles.ok)
    } else {
        ("✗", m.styles.crit)
    }
}

fn spark_width(w: usize) -> usize {
    w.saturating_sub(52).clamp(4, 30)
}

/// Row labels without a leading `target/` (the target column already says it).
fn short<'a>(labels: &'a str, target: &str) -> &'a str {
    labels
        .strip_prefix(target)
        .and_then(|l| l.strip_prefix('/'))
        .unwrap_or(labels)
}

fn heading(m: &Model, text: &str, w: usize) -> Row {
    (false, Line::styled(fit(text, w), m.styles.dim))
}

/// A panel's rows under their column heading, or the notes saying why there are none.
fn with_heading(m: &Model, mut rows: Vec<Row>, what: &str, columns: &str, w: usize) -> Vec<Row> {
    if rows.is_empty() {
        return empty_notes(m, what);
    }
    rows.insert(0, heading(m, columns, w));
    rows
}

/// What a panel of series rows lists (for the notes when it has none), and its column heading.
struct Heading {
    what: &'static str,
    columns: &'static str,
}

const BACKLOG: Heading = Heading {
    what: "outbox_backlog series",
    columns: "target      consumer          backlog  trend",
};
const SSE: Heading = Heading {
    what: "sse_clients series",
    columns: "target      audience          clients  trend",
};
const LATENCY: Heading = Heading {
    what: "latency histograms",
    columns: "target      histogram            p50    p95    p99 p95 trend",
};

fn backlog_row(m: &Model, w: usize, t: &TargetPanels, b: &BacklogRow) -> Row {
    let s = &m.styles;
    let line = m.spark(&SparkKey::Backlog(t.name.clone(), b.labels.clone()));
    let (trend, eta) = trend_text(b.trend.as_ref(), false);
    let filling = b.trend.is_some_and(|t| t.direction == Direction::Filling);
    // The rest of the row after the fixed columns: the longest wording that fits
    // whole, never a word cut at the panel's edge.
    let line = spark(&line, spark_width(w), 1.0);
    let room = w.saturating_sub(46 + line.chars().count());
    let choices: Vec<String> = match (b.trend.map(|t| t.direction), eta) {
        (Some(Direction::Draining), Some(e)) => {
            vec![format!("empty {}", format_eta(e)), format_eta(e)]
        }
        (Some(Direction::Filling), _) => vec!["climbing".to_owned(), "↑".to_owned()],
        _ => Vec::new(),
    };
    let eta = choices
        .into_iter()
        .find(|c| c.chars().count() <= room)
        .unwrap_or_default();
    let value_style = if b.warn {
        s.crit
    } else if filling {
        s.warn
    } else {
        s.base
    };
    // SQL rows say so, and say when the metric disagrees.
    let source = match (b.source, b.metric_value) {
        ("db", Some(m)) if b.warn => format!(" db ⚠ metric {}", num(m)),
        ("db", Some(_)) => " db = metric".to_owned(),
        ("db", None) => " db".to_owned(),
        _ => String::new(),
    };
    let source = if eta.chars().count() + source.chars().count() <= room {
        source
    } else if b.source == "db" && eta.chars().count() + 3 <= room {
        " db".to_owned()
    } else {
        String::new()
    };
    named_row(
        m,
        &t.name,
        [
            Span::styled(fit(short(&b.labels, &t.name), 16), s.base),
            Span::styled(rfit(&num(b.value), 7), value_style),
            Span::raw(" "),
            Span::styled(line, s.sparkline),
            Span::raw(" "),
            Span::styled(rfit(&trend, 8), if filling { s.warn } else { s.dim }),
            Span::raw(" "),
            Span::styled(eta, s.dim),
            Span::styled(source, if b.warn { s.crit } else { s.accent }),
            stale_mark(m, t),
        ],
    )
}

fn sse_row(m: &Model, w: usize, t: &TargetPanels, g: &GaugeRow) -> Row {
    let s = &m.styles;
    let line = m.spark(&SparkKey::Sse(t.name.clone(), g.labels.clone()));
    let label = if g.labels.is_empty() {
        g.title.clone()
    } else {
        short(&g.labels, &t.name).to_owned()
    };
    let change = g
        .change
        .map_or_else(|| "…".to_owned(), |c| format!("{c:+.0}"));
    let dropping = g
        .change
        .is_some_and(|c| c < 0.0 && c.abs() > 0.2 * g.value.max(1.0));
    named_row(
        m,
        &t.name,
        [
            Span::styled(fit(&label, 16), s.base),
            Span::styled(rfit(&num(g.value), 7), s.base),
            Span::raw(" "),
            Span::styled(spark(&line, spark_width(w), 1.0), s.sparkline),
            Span::raw(" "),
            Span::styled(rfit(&change, 7), if dropping { s.crit } else { s.dim }),
            stale_mark(m, t),
        ],
    )
}

fn latency_row(m: &Model, w: usize, t: &TargetPanels, l: &LatencyRow) -> Row {
    let s = &m.styles;
    let line = m.spark(&SparkKey::P95(t.name.clone(), l.title.clone()));
    let over_style = if l.over { s.crit } else { s.base };
    // The mark carries the alarm without colour (NO_COLOR, monochrome).
    let limit = l.threshold.map_or_else(String::new, |th| {
        format!(" {}{}", if l.over { "⚠>" } else { "≤" }, secs(th))
    });
    let floor = l.threshold.unwrap_or(0.0) * 1.25;
    let scope = if l.p50.is_nan() {
        " no observations"
    } else if l.since_start {
        " since start"
    } else {
        ""
    };
    named_row(
        m,
        &t.name,
        [
            Span::styled(fit(&l.title, 17), s.base),
            Span::styled(rfit(&secs(l.p50), 7), s.dim),
            Span::styled(rfit(&secs(l.p95), 7), over_style),
            Span::styled(rfit(&secs(l.p99), 7), s.dim),
            Span::raw(" "),
            Span::styled(
                spark(&line, spark_width(w).min(16), floor),
                if l.over { s.crit } else { s.sparkline },
            ),
            Span::styled(limit, s.threshold),
            Span::styled(scope.to_owned(), s.dim),
            stale_mark(m, t),
        ],
    )
}

fn disk(m: &Model, w: usize, limit: usize) -> Vec<Row> {
    let s = &m.styles;
    let mut out = Vec::new();
    let only = matches!(m.view, View::Detail { .. });
    let rows = targets(m)
        .into_iter()
        .flat_map(|t| t.disks.iter().map(move |d| (Some(t), d)))
        .chain(
            m.shown
                .local_disks
                .iter()
                .filter(|_| !only)
                .map(|d| (None, d)),
        );
    for (t, d) in rows {
        if full(&out, limit) {
            break;
        }
        if d.used_ratio.is_nan() {
            // A database or tablespace: its size and growth, no capacity.
            let growth = d.trend.map_or_else(
                || "…".to_owned(),
                |t| format!("+{}/s", bytes(t.slope_per_s.max(0.0))),
            );
            out.push(named_row(
                m,
                &d.source,
                [
                    Span::styled(fit(&d.label, 18), s.base),
                    Span::styled(rfit(&bytes(d.used_bytes), 13), s.base),
                    Span::styled(format!("  growing {growth}"), s.dim),
                ],
            ));
            continue;
        }
        let (trend, eta) = trend_text(d.trend.as_ref(), true);
        let eta = match (d.trend.map(|t| t.direction), eta) {
            (Some(Direction::Filling), Some(e)) => format!("full in {}", format_eta(e)),
            _ => String::new(),
        };
        let style = if d.warn {
            s.crit
        } else if d.used_ratio > 0.8 {
            s.warn
        } else {
            s.gauge
        };
        let bar_w = w.saturating_sub(66).clamp(5, 20);
        // The size goes first when the row is too narrow: never a word cut at the edge.
        let room = w.saturating_sub(12 + 18 + 1 + bar_w + 7 + 1 + 15);
        let size = format!(" of {}", bytes(d.size_bytes));
        let size = if size.chars().count() <= room {
            size
        } else {
            String::new()
        };
        out.push(named_row(
            m,
            &d.source,
            [
                Span::styled(fit(&d.label, 18), s.base),
                Span::raw(" "),
                Span::styled(bar(d.used_ratio, bar_w), style),
                Span::styled(rfit(&format!("{:.1}%", d.used_ratio * 100.0), 7), style),
                Span::raw(" "),
                Span::styled(
                    rfit(if eta.is_empty() { &trend } else { &eta }, 15),
                    if d.warn { s.crit } else { s.dim },
                ),
                Span::styled(size, s.dim),
                t.map_or_else(|| Span::raw(""), |t| stale_mark(m, t)),
            ],
        ));
    }
    if out.is_empty() {
        return empty_notes(m, "filesystem metrics");
    }
    out
}

fn health(m: &Model, _w: usize, limit: usize) -> Vec<Row> {
    let s = &m.styles;
    let mut out = Vec::new();
    per_target(m, limit, &mut out, |t, out| {
        for h in &t.health {
            let (mark, style) = health_mark(m, h.healthy);
            let code = h
                .status_code
                .map_or_else(|| "—".to_owned(), |c| c.to_string());
            let why = h.why();
            let path = h.url.split_once("://").map_or(h.url.as_str(), |(_, r)| r);
            let path = path.find('/').map_or("/", |i| &path[i..]);
            out.push((
                true,
                Line::from(vec![
                    Span::styled(format!("{mark} "), style),
                    Span::styled(fit(&t.name, 12), s.dim),
                    Span::raw(" "),
                    Span::styled(fit(path, 16), s.base),
                    Span::styled(rfit(&code, 4), style),
                    Span::styled(rfit(&format!("{:.0}ms", h.latency_ms), 8), s.dim),
                    Span::raw("  "),
                    Span::styled(why, if h.healthy { s.dim } else { s.crit }),
                ]),
            ));
            for c in &h.checks {
                let (mark, style) = health_mark(m, c.healthy);
                let lat = c
                    .latency_ms
                    .map_or_else(String::new, |l| format!(" {l:.0}ms"));
                let detail = c
                    .detail
                    .as_deref()
                    .map_or_else(String::new, |d| format!(" — {d}"));
                out.push((
                    true,
                    Line::from(vec![
                        Span::raw("    "),
                        Span::styled(format!("{mark} "), style),
                        Span::styled(fit(&c.name, 14), s.base),
                        Span::styled(fit(&c.status, 10), style),
                        Span::styled(format!("{lat}{detail}"), s.dim),
                    ]),
                ));
            }
        }
    });
    per_target(m, limit, &mut out, |t, out| {
        if let Some(db) = &t.db {
            out.extend(super::database::rows(m, &t.name, db));
        }
    });
    if out.is_empty() {
        out.push(note("no health URLs or databases configured", s.dim));
    }
    out
}

fn signals(m: &Model, w: usize, limit: usize) -> Vec<Row> {
    let s = &m.styles;
    let mut out = super::alerts::rows(m, w);
    per_target(m, limit, &mut out, |t, out| {
        for g in &t.queue {
            let change = g.change.map_or_else(String::new, |c| format!(" {c:+.0}"));
            out.push(named_row(
                m,
                &t.name,
                [
                    Span::styled(
                        fit(
                            format!("{} {}", g.title, short(&g.labels, &t.name)).trim(),
                            30,
                        ),
                        s.base,
                    ),
                    Span::styled(rfit(&num(g.value), 8), if g.warn { s.crit } else { s.base }),
                    Span::styled(change, s.dim),
                ],
            ));
        }
        for e in &t.errors {
            let ratio = e
                .ratio
                .map_or_else(|| "…".to_owned(), |r| format!("{:.2}%", r * 100.0));
            let rps = e
                .requests_per_s
                .map_or_else(String::new, |r| format!(" of {r:.1} req/s"));
            out.push(named_row(
                m,
                &t.name,
                [
                    Span::styled(fit(&e.title, 30), s.base),
                    Span::styled(rfit(&ratio, 8), if e.warn { s.crit } else { s.base }),
                    Span::styled(rps, s.dim),
                ],
            ));
        }
        for c in &t.counters {
            let rate = c
                .rate_per_s
                .map_or_else(|| "…".to_owned(), |r| format!("{r:.2}/s"));
            out.push(named_row(
                m,
                &t.name,
                [
                    Span::styled(fit(format!("{} {}", c.title, c.labels).trim(), 30), s.base),
                    Span::styled(rfit(&num(c.value), 8), s.base),
                    Span::styled(rfit(&rate, 10), if c.alert { s.crit } else { s.dim }),
                    Span::styled(if c.alert { " ⚠ increased" } else { "" }, s.crit),
                ],
            ));
        }
    });
    if out.is_empty() {
        return empty_notes(m, "queue, error-rate or counter metrics");
    }
    out
}
