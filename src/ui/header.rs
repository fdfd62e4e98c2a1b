//! ```text
//!  PROD  watchdeck   5/6 targets up   2 firing            FROZEN  READ-ONLY  14:03:07 UTC
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::render_widget;

use crate::app::model::Model;

pub use crate::fmt::clock;

pub fn render(m: &Model, buf: &mut Buffer, area: Rect) {
    let s = &m.styles;
    let (up, total) = m.targets_up();
    let mut left = Vec::new();
    if let Some(env) = &m.environment {
        left.push(Span::styled(
            format!(" {} ", env.to_uppercase()),
            m.styles.env_banner(env),
        ));
        left.push(Span::raw(" "));
    }
    left.push(Span::styled("watchdeck", s.title));
    left.push(Span::raw("  "));
    let health_style = if up == total { s.ok } else { s.crit };
    left.push(Span::styled(
        format!("{up}/{total} targets up"),
        health_style,
    ));
    let (firing, acked, silenced) = m.firing_counts();
    left.push(Span::raw("  "));
    let mut notes = Vec::new();
    if acked > 0 {
        notes.push(format!("{acked} acked"));
    }
    if silenced > 0 {
        notes.push(format!("{silenced} silenced"));
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join(", "))
    };
    left.push(if firing > 0 {
        Span::styled(format!("{firing} firing{notes}"), s.crit)
    } else {
        Span::styled(format!("no alerts firing{notes}"), s.dim)
    });

    let stale = m.acts.stale_backups(m.now_ms);
    if !stale.is_empty() {
        let names: Vec<&str> = stale
            .iter()
            .filter_map(|t| m.shown.targets.get(*t).map(|t| t.name.as_str()))
            .collect();
        left.push(Span::raw("  "));
        left.push(Span::styled(
            format!("backup stale: {}", names.join(", ")),
            s.crit,
        ));
    }
    let mut right = Vec::new();
    // An action in flight shows on every view: what, where, which phase.
    if let Some(r) = m.acts.running.first() {
        let target = m
            .shown
            .targets
            .get(r.target)
            .map_or(crate::actions::exec::ALERTMANAGER, |t| t.name.as_str());
        let more = if m.acts.running.len() > 1 {
            format!(" +{}", m.acts.running.len() - 1)
        } else {
            String::new()
        };
        right.push(Span::styled(
            // The phase is cut short here (the Actions view has it in full): the clock and
            // the badges on the right must stay visible.
            format!(
                " ▶ {} {target}: {}{more} ",
                r.kind.as_str(),
                super::fit(&r.phase, 24).trim_end()
            ),
            s.badge_frozen,
        ));
        right.push(Span::raw(" "));
    }
    if m.frozen {
        right.push(Span::styled(" FROZEN ", s.badge_frozen));
        right.push(Span::raw(" "));
    }
    if m.read_only {
        right.push(Span::styled(" READ-ONLY ", s.badge_read_only));
        right.push(Span::raw(" "));
    }
    right.push(Span::styled(clock(m.now_ms), s.dim));
    right.push(Span::raw(" "));

    let used: usize = left
        .iter()
        .chain(&right)
        .map(|sp| sp.content.chars().count())
        .sum();
    let gap = usize::from(area.width).saturating_sub(used);
    let mut spans = left;
    spans.push(Span::raw(" ".repeat(gap)));
    spans.extend(right);
    render_widget(buf, Paragraph::new(Line::from(spans)).style(s.header), area);
}

#[cfg(test)]
mod tests {
    #[test]
    fn clock_is_utc_time_of_day() {
        assert_eq!(super::clock(0), "00:00:00 UTC");
        assert_eq!(super::clock(1_764_079_387_000), "14:03:07 UTC");
    }
}
