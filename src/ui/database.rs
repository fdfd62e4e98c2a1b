//! The database part of the health panel, for targets with a `[target.postgres]` section.
//!
//! ```text
//! ✓ cn-index     postgres cn@127.0.0.1:5432/cn
//!     connections 12/100  active 3 · idle 9
//!     oldest transaction 42.0s pid 811 [idle in transaction]
//!     lock wait: pid 902 waits 3.1s on transactionid — blocked by pid 811: UPDATE …
//! ```

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::fit;
use crate::app::model::Model;
use crate::derive::db::DbPanel;

type Row = (bool, Line<'static>);

/// Rows for one target's database.
pub fn rows(m: &Model, target: &str, db: &DbPanel) -> Vec<Row> {
    let s = &m.styles;
    let mut out = Vec::new();
    let (mark, style) = if db.error.is_some() {
        ("✗", s.crit)
    } else {
        ("✓", s.ok)
    };
    out.push((
        true,
        Line::from(vec![
            Span::styled(format!("{mark} "), style),
            Span::styled(fit(target, 12), s.dim),
            Span::raw(" "),
            Span::styled(format!("postgres {}", db.source), s.base),
            Span::styled(
                db.error
                    .as_ref()
                    .map_or_else(String::new, |e| format!("  {e}")),
                s.crit,
            ),
        ]),
    ));
    let line = |text: String, style: Style| (true, Line::styled(format!("    {text}"), style));
    if let Some((used, max, states)) = &db.connections {
        let by: Vec<String> = states.iter().map(|(st, n)| format!("{st} {n}")).collect();
        let share = *used as f64 / (*max).max(1) as f64;
        let style = if share > 0.9 {
            s.crit
        } else if share > 0.75 {
            s.warn
        } else {
            s.dim
        };
        out.push(line(
            format!("connections {used}/{max}  {}", by.join(" · ")),
            style,
        ));
    }
    if db.hidden_sessions > 0 {
        out.push(line(
            format!(
                "{} sessions hidden — GRANT pg_monitor to see them",
                db.hidden_sessions
            ),
            s.warn,
        ));
    }
    if let Some(a) = &db.longest_query {
        out.push(line(
            format!("longest query {:.1}s pid {} {}", a.seconds, a.pid, a.query),
            s.dim,
        ));
    }
    if let Some(a) = &db.oldest_transaction {
        let style = if a.seconds > 300.0 { s.warn } else { s.dim };
        out.push(line(
            format!(
                "oldest transaction {:.1}s pid {} [{}]",
                a.seconds, a.pid, a.state
            ),
            style,
        ));
    }
    for l in &db.lock_waits {
        let by: Vec<String> = l.blocked_by.iter().map(|(p, _)| p.to_string()).collect();
        out.push(line(
            format!(
                "lock wait: pid {} waits {:.1}s on {} — blocked by pid {}: {}",
                l.pid,
                l.waited_seconds,
                l.lock,
                by.join(","),
                l.query
            ),
            s.crit,
        ));
    }
    if db.in_recovery {
        let lag = db
            .replica_lag_s
            .map_or_else(|| "unknown".to_owned(), |l| format!("{l:.1}s"));
        out.push(line(format!("replica, replay lag {lag}"), s.dim));
    }
    for p in &db.problems {
        out.push(line(format!("✗ {p}"), s.crit));
    }
    out
}
