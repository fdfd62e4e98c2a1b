//! `M`: the configured Alertmanager's alerts (firing first, with since-when, labels, summary
//! and runbook URL) and its silences.
//!
//! ```text
//! ┌ [M] Alertmanager http://am:9093 — 3 alerts, 1 silence · read 4s ago ──────────────┐
//! │ active      2m   HighErrorRate  job=api instance=api-7 severity=critical            │
//! │     5xx above 5 % for 10 minutes   runbook: https://runbooks/api#errors             │
//! │ Silences                                                                            │
//! │ active   until 16:04  alertname=HighErrorRate  by alice: deploy in progress         │
//! └─────────────────────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};

use super::{fit, render_list, render_widget};
use crate::app::model::Model;
use crate::derive::trend::format_eta;
use crate::obs::alertmanager::{AlertState, SilenceState};

fn ago(now_ms: i64, at_ms: i64) -> String {
    format_eta(((now_ms - at_ms).max(0) / 1000) as f64)
}

pub fn render(m: &Model, scroll: usize, buf: &mut Buffer, area: Rect) {
    let s = &m.styles;
    let Some(am) = &m.am else {
        return;
    };
    let counts = format!(
        "{} alert(s), {} silence(s)",
        am.alerts.len(),
        am.silences
            .iter()
            .filter(|x| x.state != SilenceState::Expired)
            .count()
    );
    let read = am.at_ms.map_or_else(
        || "not read yet".to_owned(),
        |t| format!("read {} ago", ago(m.now_ms, t)),
    );
    let b = Block::default()
        .borders(Borders::ALL)
        .border_style(s.border_focus)
        .title(Span::styled(
            format!(" [M] Alertmanager {} — {counts} · {read} ", am.url),
            s.title,
        ));
    let inner = b.inner(area);
    render_widget(buf, b, area);
    let w = usize::from(inner.width);
    let mut rows: Vec<(bool, Line<'static>)> = Vec::new();
    if let Some(e) = &am.error {
        rows.push((
            false,
            Line::styled(fit(&format!(" cannot read it: {e}"), w), s.crit),
        ));
    }
    let (alerts, _) = am.rows();
    if alerts.is_empty() && am.at_ms.is_some() {
        rows.push((false, Line::styled(" no alerts", s.dim)));
    }
    for a in alerts {
        let (state, st) = match a.state {
            AlertState::Active => ("active", s.crit),
            AlertState::Suppressed => ("suppressed", s.dim),
            AlertState::Unprocessed => ("unprocessed", s.warn),
        };
        let labels: Vec<String> = a
            .labels
            .iter()
            .filter(|(k, _)| k.as_str() != "alertname")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        rows.push((
            true,
            Line::from(vec![
                Span::styled(format!(" {}", fit(state, 11)), st),
                Span::styled(fit(&ago(m.now_ms, a.starts_at_ms), 6), s.dim),
                Span::styled(format!("{}  ", a.name()), s.base),
                Span::styled(labels.join(" "), s.dim),
            ]),
        ));
        let summary = a
            .annotations
            .get("summary")
            .or_else(|| a.annotations.get("description"))
            .cloned()
            .unwrap_or_default();
        let runbook = a
            .runbook_url()
            .map(|u| format!("   runbook: {u}"))
            .unwrap_or_default();
        if !summary.is_empty() || !runbook.is_empty() {
            rows.push((
                false,
                Line::styled(fit(&format!("     {summary}{runbook}"), w), s.dim),
            ));
        }
    }
    silence_rows(m, am, &mut rows);
    render_list(buf, inner, rows, Some(scroll), s.selection);
}

fn silence_rows(m: &Model, am: &crate::app::model::AmView, rows: &mut Vec<(bool, Line<'static>)>) {
    let s = &m.styles;
    rows.push((false, Line::styled(" Silences", s.header)));
    let (_, live) = am.rows();
    if live.is_empty() {
        rows.push((false, Line::styled(" none active or pending", s.dim)));
    }
    for x in live {
        let matchers: Vec<String> = x
            .matchers
            .iter()
            .map(|mt| {
                let op = match (mt.is_equal, mt.is_regex) {
                    (true, false) => "=",
                    (false, false) => "!=",
                    (true, true) => "=~",
                    (false, true) => "!~",
                };
                format!("{}{op}{}", mt.name, mt.value)
            })
            .collect();
        let state = if x.state == SilenceState::Active {
            "active"
        } else {
            "pending"
        };
        rows.push((
            true,
            Line::from(vec![
                Span::styled(format!(" {}", fit(state, 9)), s.accent),
                Span::styled(
                    fit(&format!("until {}", super::header::clock(x.ends_at_ms)), 20),
                    s.dim,
                ),
                Span::styled(format!("{}  ", matchers.join(",")), s.base),
                Span::styled(format!("by {}: {}", x.created_by, x.comment), s.dim),
            ]),
        ));
    }
}
