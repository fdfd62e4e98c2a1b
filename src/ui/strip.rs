//! The alert strip under the header: every firing and pending alert, pinned at every size,
//! apart from the counters and never scrolled away with a panel. Its first line says where
//! the past came from (or that there is none); each alert line names its state, target,
//! rule, value and since-when, a pending one its progress (`1:20 / 5m`).
//!
//! ```text
//!  +2 more in [7]  7 Enter: hint  history: 15m from prom:9090 (6/6)
//!  FIRING crit  cn-relay  DbDiskPressure  100 %  since 6m12s (history)  > 90 %
//!  pending warn  mail  HealthCheckFailing  1  0:20 / 30s since launch  > 0
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::render_widget;
use crate::app::model::Model;
use crate::derive::format_eta;
use crate::derive::rules::AlertRow;
use crate::derive::rules::SeverityWord;

/// `1:20 / 5m`: how long a pending alert's condition has held, of its `for:`.
pub fn progress(a: &AlertRow, now_ms: i64) -> String {
    let held = (now_ms - a.since_ms).max(0) / 1000;
    format!(
        "{}:{:02} / {}",
        held / 60,
        held % 60,
        humantime::format_duration(std::time::Duration::from_millis(a.for_ms.max(0) as u64))
    )
}

/// When an alert began, as the operator should read it: from the history store's past, or
/// only since this cockpit started.
pub fn since(a: &AlertRow, m: &Model) -> String {
    let age = format_eta((m.now_ms - a.since_ms).max(0) as f64 / 1000.0);
    if a.from_history {
        format!("since {age} (history)")
    } else if a.since_ms <= m.launch_ms + m.launch_slack_ms {
        format!("since launch ({age})")
    } else {
        format!("since {age}")
    }
}

/// One alert as a single line of words (no cut inside a word: fields are joined by spaces,
/// and the line is clipped at the screen edge only after its last whole word that fits).
pub fn alert_words(a: &AlertRow, m: &Model) -> Vec<(String, ratatui::style::Style)> {
    let s = &m.styles;
    let firing = a.state == crate::derive::rules::AlertPhase::Firing;
    let style = match (firing, a.severity) {
        (true, SeverityWord::Critical) => s.crit,
        (true, _) => s.warn,
        (false, _) => s.base,
    };
    let sev = match a.severity {
        SeverityWord::Critical => "crit",
        SeverityWord::Warning => "warn",
        SeverityWord::Info => "info",
    };
    let silenced = m.marks.silenced_until(a, m.now_ms).is_some();
    let (word, style) = match (silenced, firing) {
        (true, _) => ("silenced", s.dim),
        (false, true) => ("FIRING", style),
        (false, false) => ("pending", style),
    };
    let mut out = vec![
        (format!("{word} {sev}"), style),
        (a.target.clone(), s.dim),
        (a.name.clone(), s.base),
        (a.value_text.clone(), style),
    ];
    // When it began comes before the threshold: on a narrow line the threshold leaves first.
    if firing {
        out.push((since(a, m), s.dim));
    } else {
        let launch = if a.from_history { "" } else { " since launch" };
        let launch = if a.since_ms <= m.launch_ms + m.launch_slack_ms {
            launch
        } else {
            ""
        };
        out.push((format!("{}{launch}", progress(a, m.now_ms)), s.warn));
    }
    out.push((a.threshold.clone(), s.dim));
    out
}

/// Fits words into `width` columns: whole words only, `…` when something was left out.
pub fn fit_words(words: &[(String, ratatui::style::Style)], width: usize) -> Line<'static> {
    let mut spans = Vec::new();
    let mut used = 0;
    for (i, (w, st)) in words.iter().enumerate() {
        let n = w.chars().count() + usize::from(i > 0) * 2;
        // Keep room for the ellipsis if more words follow.
        let room = if i + 1 < words.len() {
            width.saturating_sub(2)
        } else {
            width
        };
        if used + n > room {
            if used + 2 <= width {
                spans.push(Span::styled(" …", *st));
            }
            break;
        }
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(w.clone(), *st));
        used += n;
    }
    Line::from(spans)
}

pub fn render(m: &Model, buf: &mut Buffer, area: Rect) {
    let s = &m.styles;
    let width = usize::from(area.width.saturating_sub(1));
    let alerts = m.visible_alerts();
    let mut lines = Vec::new();
    let room = usize::from(area.height.saturating_sub(1));
    let shown = alerts.len().min(room);
    // Most needed first: a narrow terminal drops the words at the end.
    let mut summary: Vec<(String, ratatui::style::Style)> = Vec::new();
    if alerts.len() > shown {
        summary.push((format!("+{} more in [7]", alerts.len() - shown), s.warn));
    }
    if !alerts.is_empty() {
        summary.push(("7 Enter: hint".to_owned(), s.dim));
    }
    summary.push((m.history_summary(), s.dim));
    lines.push(fit_words(&summary, width));
    for a in alerts.iter().take(shown) {
        lines.push(fit_words(&alert_words(a, m), width));
    }
    let lines: Vec<Line<'static>> = lines
        .into_iter()
        .map(|l| {
            let mut spans = vec![Span::raw(" ")];
            spans.extend(l.spans);
            Line::from(spans)
        })
        .collect();
    render_widget(buf, Paragraph::new(lines), area);
}
