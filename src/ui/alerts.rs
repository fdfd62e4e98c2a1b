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
use crate::derive::rules::SeverityWord;
use crate::fmt::num;

type Row = (bool, Line<'static>);

/// Rows for the alerts of every target (or the drilled-into one), `w` columns wide.
#[allow(clippy::too_many_lines)] // silenced, firing and pending rows with their hints
pub fn rows(m: &Model, w: usize) -> Vec<Row> {
    let s = &m.styles;
    let mut out = Vec::new();
    for a in m.visible_alerts() {
        let firing = a.state == crate::derive::rules::AlertPhase::Firing;
        if let Some(until) = m.marks.silenced_until(&a, m.now_ms) {
            let left = format_eta((until - m.now_ms).max(0) as f64 / 1000.0);
            out.push((
                true,
                Line::from(vec![
                    Span::styled("silenced ", s.dim),
                    Span::styled(fit(a.severity.as_str(), 9), s.dim),
                    Span::styled(fit(&a.target, 11), s.dim),
                    Span::raw(" "),
                    Span::styled(a.name.clone(), s.dim),
                    Span::styled(format!("  for {left} more"), s.dim),
                ]),
            ));
            continue;
        }
        let style = match (firing, a.severity) {
            (true, SeverityWord::Critical) => s.crit,
            (true, _) => s.warn,
            _ => s.dim,
        };
        let age = if firing {
            super::strip::since(&a, m)
        } else {
            super::strip::progress(&a, m.now_ms)
        };
        let _ = num;
        let mut head = vec![
            (
                format!(
                    "{} {}",
                    if firing { "FIRING" } else { "pending" },
                    a.severity
                ),
                style,
            ),
            (a.target.clone(), s.dim),
            (a.name.clone(), s.base),
            (format!("{} {}", a.value_text, a.threshold), style),
            (age, style),
        ];
        if w == 0 {
            head.truncate(3);
        }
        out.push((true, super::strip::fit_words(&head, w)));
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
            // Whole words only: two lines of each, then `… (Enter: all)` — the whole hint
            // is one Enter away.
            let room = w.saturating_sub(12).max(10);
            for (label, text) in [
                ("symptom", &a.symptom),
                ("cause  ", &a.cause),
                ("do     ", &todo),
            ] {
                let mut lines = crate::fmt::wrap_words(text, room);
                if lines.len() > 2 {
                    lines.truncate(2);
                    let last = crate::fmt::wrap_words(&lines[1], room.saturating_sub(16).max(4));
                    lines[1] = format!("{} … (Enter: all)", last[0]);
                }
                for (i, l) in lines.into_iter().enumerate() {
                    out.push((
                        false,
                        Line::from(vec![
                            Span::styled(
                                format!("    {} ", if i == 0 { label } else { "       " }),
                                s.dim,
                            ),
                            Span::styled(l, s.base),
                        ]),
                    ));
                }
            }
        }
    }
    out
}
