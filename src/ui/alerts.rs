//! Firing and pending alerts at the top of the signals panel, each firing one with its runbook
//! hint.
//!
//! ```text
//! FIRING critical overlay WebhookAckSlow 0.73 > 0.2 for 2m
//!     symptom: Webhook ACK p95 is over 0.2 s …
//!     cause:   a slow ACK or an HMAC mismatch
//!     do:      check that the webhook answers 204 at once …
//! pending warning cn-index OutboxBacklogHigh 1234 > 1000 for 40s
//! ```

use ratatui::text::{Line, Span};

use super::fit;
use crate::app::model::Model;
use crate::derive::format_eta;
use crate::fmt::num;

type Row = (bool, Line<'static>);

/// Rows for the alerts of every target (or the drilled-into one).
pub fn rows(m: &Model) -> Vec<Row> {
    let s = &m.styles;
    let mut out = Vec::new();
    for a in m.visible_alerts() {
        let firing = a.state == "firing";
        if let Some(until) = m.marks.silenced_until(&a, m.now_ms) {
            let left = format_eta((until - m.now_ms).max(0) as f64 / 1000.0);
            out.push((
                true,
                Line::from(vec![
                    Span::styled("silenced ", s.dim),
                    Span::styled(fit(a.severity, 9), s.dim),
                    Span::styled(fit(&a.target, 11), s.dim),
                    Span::raw(" "),
                    Span::styled(a.name.clone(), s.dim),
                    Span::styled(format!("  for {left} more"), s.dim),
                ]),
            ));
            continue;
        }
        let style = match (firing, a.severity) {
            (true, "critical") => s.crit,
            (true, _) => s.warn,
            _ => s.dim,
        };
        let age = format_eta((m.now_ms - a.since_ms).max(0) as f64 / 1000.0);
        let value = a.value.map_or_else(|| "no data".to_owned(), num);
        out.push((
            true,
            Line::from(vec![
                Span::styled(fit(if firing { "FIRING" } else { "pending" }, 8), style),
                Span::styled(fit(a.severity, 9), style),
                Span::styled(fit(&a.target, 11), s.dim),
                Span::raw(" "),
                Span::styled(a.name.clone(), s.base),
                Span::styled(format!("  {value} {} for {age}", a.threshold), style),
            ]),
        ));
        if let Some(ack) = m.marks.acked(&a) {
            let note = if ack.note.is_empty() {
                String::new()
            } else {
                format!(": {}", ack.note)
            };
            out.push((
                false,
                Line::styled(
                    format!(
                        "    ACKED by {} {} ago{note}",
                        ack.by,
                        format_eta((m.now_ms - ack.at_ms).max(0) as f64 / 1000.0)
                    ),
                    s.accent,
                ),
            ));
        }
        if firing {
            let remedy = a
                .remedy
                .as_ref()
                .map(|r| format!("  (r: {r})"))
                .unwrap_or_default();
            let todo = format!("{}{remedy}", a.action);
            for (label, text) in [
                ("symptom", &a.symptom),
                ("cause  ", &a.cause),
                ("do     ", &todo),
            ] {
                out.push((
                    false,
                    Line::from(vec![
                        Span::styled(format!("    {label} "), s.dim),
                        Span::styled(text.clone(), s.base),
                    ]),
                ));
            }
        }
    }
    out
}
