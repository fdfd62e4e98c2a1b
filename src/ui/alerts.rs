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
use crate::app::model::{Model, View};
use crate::derive::format_eta;
use crate::fmt::num;

type Row = (bool, Line<'static>);

/// Rows for the alerts of every target (or the drilled-into one).
pub fn rows(m: &Model) -> Vec<Row> {
    let s = &m.styles;
    let names: Vec<String> = m.shown.targets.iter().map(|t| t.name.clone()).collect();
    let only = match m.view {
        View::Detail { target } => names.get(target).cloned(),
        _ => None,
    };
    let mut out = Vec::new();
    for a in m.alerts.rows(&names) {
        if only.as_ref().is_some_and(|o| *o != a.target) {
            continue;
        }
        let firing = a.state == "firing";
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
        if firing {
            for (label, text) in [
                ("symptom", &a.symptom),
                ("cause  ", &a.cause),
                ("do     ", &a.action),
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
