//! ```text
//!  PROD  watchdeck  5/6 up  2 firing 1 pending  CRIT DbDiskPressure cn-relay 100 %  mail down   14:03:07 UTC
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::render_widget;

use crate::app::model::Model;
use crate::derive::rules::{AlertPhase, SeverityWord};

pub use crate::fmt::clock;

/// The header names the worst thing: counts of firing and pending alerts, the down and
/// degraded targets by name, and the single worst signal. Segments are whole words, kept in
/// order of importance: on a narrow terminal the least important leave first, never cut.
/// The left side's segments: (text, style, priority; lower stays longer).
type Segment = (String, ratatui::style::Style, u8);

fn segments(m: &Model) -> (Vec<Segment>, String) {
    let s = &m.styles;
    let (up, total) = m.targets_up();
    // (text, style, priority: lower stays longer)
    let mut left: Vec<Segment> = Vec::new();
    if let Some(env) = &m.environment {
        left.push((
            format!(" {} ", env.to_uppercase()),
            m.styles.env_banner(env),
            0,
        ));
    }
    left.push(("watchdeck".to_owned(), s.title, 9));
    let health_style = if up == total { s.ok } else { s.crit };
    left.push((format!("{up}/{total} targets up"), health_style, 1));
    let short_up = format!("{up}/{total} up");
    let (firing, acked, silenced) = m.firing_counts();
    let pending = m.pending_count();
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
    let loading = m.store.targets.iter().any(|t| t.history.is_loading());
    match (firing, pending) {
        (0, 0) if loading => left.push(("reading history…".to_owned(), s.warn, 2)),
        (0, 0) => left.push((format!("no alerts firing{notes}"), s.dim, 2)),
        (f, 0) => left.push((format!("{f} firing{notes}"), s.crit, 2)),
        (0, p) => left.push((format!("{p} pending{notes}"), s.warn, 2)),
        (f, p) => left.push((format!("{f} firing {p} pending{notes}"), s.crit, 2)),
    }
    if let Some(a) = m.worst_alert() {
        let sev = match (a.state, a.severity) {
            (AlertPhase::Firing, SeverityWord::Critical) => "CRIT",
            (AlertPhase::Firing, SeverityWord::Warning) => "WARN",
            (AlertPhase::Firing, _) => "INFO",
            _ => "PEND",
        };
        let style = if a.state == crate::derive::rules::AlertPhase::Firing {
            s.crit
        } else {
            s.warn
        };
        left.push((
            format!("{sev} {} {} {}", a.name, a.target, a.value_text),
            style,
            3,
        ));
    }
    let am_firing = m.am_firing_ours();
    if am_firing > 0 {
        left.push((format!("am: {am_firing} firing"), s.crit, 5));
    }
    // Down targets by name, then degraded ones (each list cut to three names and a count).
    for (status, prio) in [("down", 4), ("degraded", 6)] {
        let names: Vec<&str> = m
            .shown
            .targets
            .iter()
            .filter(|t| t.status == status)
            .map(|t| t.name.as_str())
            .collect();
        if names.is_empty() {
            continue;
        }
        let more = if names.len() > 3 {
            format!(" +{}", names.len() - 3)
        } else {
            String::new()
        };
        let shown: Vec<&str> = names.iter().take(3).copied().collect();
        left.push((
            format!("{status}: {}{more}", shown.join(", ")),
            s.crit,
            prio,
        ));
    }
    let stale = m.acts.stale_backups(m.now_ms);
    if !stale.is_empty() {
        let names: Vec<&str> = stale
            .iter()
            .filter_map(|t| m.shown.targets.get(*t).map(|t| t.name.as_str()))
            .collect();
        left.push((format!("backup stale: {}", names.join(", ")), s.crit, 7));
    }
    (left, short_up)
}

pub fn render(m: &Model, buf: &mut Buffer, area: Rect) {
    let s = &m.styles;
    let (mut left, short_up) = segments(m);
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

    let right_w: usize = right.iter().map(|sp| sp.content.chars().count()).sum();
    // Drop whole segments, least important first, until the left side fits beside the right.
    let room = usize::from(area.width).saturating_sub(right_w + 1);
    let width =
        |segs: &[Segment]| -> usize { segs.iter().map(|(t, ..)| t.chars().count() + 2).sum() };
    // Whole segments leave, least important first; before the worst signal or the counts
    // would have to go, the target count takes its short form.
    let mut shortened = false;
    while width(&left) > room && !left.is_empty() {
        let (worst, prio) = left
            .iter()
            .enumerate()
            .max_by_key(|(_, (.., p))| *p)
            .map_or((0, 0), |(i, (.., p))| (i, *p));
        if prio <= 4 && !shortened {
            shortened = true;
            if let Some(seg) = left.iter_mut().find(|(_, _, p)| *p == 1) {
                seg.0.clone_from(&short_up);
                continue;
            }
        }
        left.remove(worst);
    }
    let mut spans = Vec::new();
    let mut padded = false;
    for (i, (text, style, _)) in left.into_iter().enumerate() {
        // The environment banner brings its own padding.
        let pad = match (i, text.starts_with(' '), padded) {
            (0, true, _) => "",
            (0, false, _) | (_, _, true) => " ",
            _ => "  ",
        };
        padded = text.ends_with(' ');
        spans.push(Span::raw(pad));
        spans.push(Span::styled(text, style));
    }
    let used: usize = spans.iter().map(|sp| sp.content.chars().count()).sum();
    let gap = usize::from(area.width).saturating_sub(used + right_w);
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
