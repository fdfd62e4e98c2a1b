//! The Actions view of one target (`a`) and the audit log (`A`).
//!
//! ```text
//! ┌ [a] cn-relay — actions ─────────────────────────────────────────────┐
//! │ ▶ Back up (pg_dump, verified by pg_restore; keep 30)          low  │
//! │   Suspend a topic…                                            high │
//! ├ Running ────────────────────────────────────────────────────────────┤
//! │ backup  dumping  12.3MB  0:41   (x cancels)                         │
//! │ | pg_dump: dumping contents of table "cn_relay.events"              │
//! ├ Backups — keep 30, alert when the newest verified is older than 1d ─┤
//! │ cn-relay-pgdump-20261125T174501Z.dump   12.3MB   3m   verified      │
//! ├ Audit — this target ────────────────────────────────────────────────┤
//! │ 17:45:01  intent   backup  alice  …                                 │
//! └─────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{fit, render_list, render_widget, rfit};
use crate::actions::audit::Record;
use crate::actions::{Risk, Stream};
use crate::app::acting::Backups;
use crate::app::model::Model;
use crate::derive::trend::format_eta;

fn block<'a>(m: &Model, title: String, focused: bool) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(if focused {
            m.styles.border_focus
        } else {
            m.styles.border
        })
        .title(Span::styled(title, m.styles.title))
}

fn age(now_ms: i64, at_ms: i64) -> String {
    format_eta(((now_ms - at_ms).max(0) / 1000) as f64)
}

pub fn render(m: &Model, target: usize, buf: &mut Buffer, area: Rect) {
    let s = &m.styles;
    let name = m.shown.targets.get(target).map_or("?", |t| t.name.as_str());
    let offers = m.acts.offered.get(target).cloned().unwrap_or_default();
    let backups = m.acts.backups.get(&target);
    let list_h = (offers.len().max(1) as u16 + 2 + u16::from(m.read_only_reason(target).is_some()))
        .min(area.height / 3)
        .max(3);
    let backups_h = backups.map_or(0, |b| (b.rows.len().clamp(1, 6) as u16) + 3);
    let [list, running, back, audit] = Layout::vertical([
        Constraint::Length(list_h),
        // The running action's output and the audit records share what is left.
        Constraint::Fill(3),
        Constraint::Length(backups_h),
        Constraint::Fill(2),
    ])
    .areas(area);

    // Actions offered.
    let b = block(m, format!(" [a] {name} — actions "), true);
    let inner = b.inner(list);
    render_widget(buf, b, list);
    let w = usize::from(inner.width);
    let mut rows: Vec<(bool, Line<'static>)> = offers
        .iter()
        .map(|o| {
            let risk = match o.risk {
                Risk::Low => ("low", s.dim),
                Risk::High => ("high", s.warn),
            };
            (
                true,
                Line::from(vec![
                    Span::styled(fit(&format!(" {}", o.label), w.saturating_sub(6)), s.base),
                    Span::styled(rfit(risk.0, 5), risk.1),
                ]),
            )
        })
        .collect();
    if offers.is_empty() {
        rows.push((
            false,
            Line::styled(
                " no actions configured for this target — add [target.backup], [target.topics], [target.rollback] or [[target.command]]",
                s.dim,
            ),
        ));
    }
    if let Some(why) = m.read_only_reason(target) {
        rows.push((
            false,
            Line::styled(
                format!(" READ-ONLY: every action is refused — {why}"),
                s.warn,
            ),
        ));
    }
    render_list(buf, inner, rows, Some(m.action_selected), s.selection);

    running_section(m, target, buf, running);
    if let Some(bk) = backups {
        backups_section(m, bk, buf, back);
    }
    let recs: Vec<&Record> = m.acts.audit.iter().filter(|r| r.target == name).collect();
    let b = block(m, " Audit — this target (A: all) ".into(), false);
    let inner = b.inner(audit);
    render_widget(buf, b, audit);
    let take = usize::from(inner.height);
    let lines: Vec<Line<'static>> = if recs.is_empty() {
        vec![Line::styled(
            m.acts
                .audit_error
                .clone()
                .unwrap_or_else(|| " no actions recorded for this target".into()),
            s.dim,
        )]
    } else {
        recs[recs.len().saturating_sub(take)..]
            .iter()
            .map(|r| audit_line(m, r, usize::from(inner.width), false))
            .collect()
    };
    render_widget(buf, Paragraph::new(lines), inner);
}

fn running_section(m: &Model, target: usize, buf: &mut Buffer, area: Rect) {
    let s = &m.styles;
    let run: Vec<_> = m.acts.running_on(target).collect();
    let title = if run.is_empty() {
        " Last action "
    } else {
        " Running — x cancels "
    };
    let b = block(m, title.into(), false);
    let inner = b.inner(area);
    render_widget(buf, b, area);
    let w = usize::from(inner.width);
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut output: Vec<(Stream, String)> = Vec::new();
    if let Some(r) = run.first() {
        let written = r
            .bytes
            .map(|n| format!("  {} written", crate::fmt::bytes(n as f64)))
            .unwrap_or_default();
        let text = format!(
            " {}  {}{written}  {}",
            r.title,
            r.phase,
            age(m.now_ms, r.started_ms)
        );
        lines.push(Line::styled(fit(&text, w), s.accent));
        output.extend(r.output.iter().cloned());
    } else if let Some(f) = m.acts.last.get(&target) {
        let st = if f.outcome.succeeded() { s.ok } else { s.crit };
        // The title on a line of its own and the summary wrapped below it: the summary is why
        // it failed, and one shared line cut it off after the title.
        lines.push(Line::styled(fit(&format!(" {}", f.title), w), st));
        let summary = format!(
            " {} {} ago: {}",
            f.outcome.result,
            age(m.now_ms, f.at_ms),
            f.outcome.summary
        );
        for l in wrap(&summary, w, 3) {
            lines.push(Line::styled(l, st));
        }
        if let Some(v) = &f.outcome.verification {
            lines.push(Line::styled(fit(&format!(" verification: {v}"), w), s.dim));
        }
        output.extend(
            f.outcome
                .stdout_tail
                .iter()
                .map(|l| (Stream::Stdout, l.clone())),
        );
        output.extend(
            f.outcome
                .stderr_tail
                .iter()
                .map(|l| (Stream::Stderr, l.clone())),
        );
    } else {
        lines.push(Line::styled(
            " nothing has run on this target in this session",
            s.dim,
        ));
    }
    let room = usize::from(inner.height).saturating_sub(lines.len());
    for (stream, line) in output.iter().skip(output.len().saturating_sub(room)) {
        let st = if *stream == Stream::Stderr {
            s.warn
        } else {
            s.dim
        };
        lines.push(Line::styled(fit(&format!(" | {line}"), w), st));
    }
    render_widget(buf, Paragraph::new(lines), inner);
}

/// `text` cut into lines of `w` characters (continuations indented), at most `max` lines, the
/// last one ending in `…` when text is left over.
fn wrap(text: &str, w: usize, max: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut at = 0;
    while at < chars.len() && out.len() < max {
        let indent = if at == 0 { "" } else { "   " };
        let room = w.saturating_sub(indent.chars().count()).max(1);
        let end = (at + room).min(chars.len());
        let mut line: String = chars[at..end].iter().collect();
        at = end;
        if out.len() + 1 == max && at < chars.len() {
            line = fit(&format!("{line}…"), room);
        }
        out.push(format!("{indent}{line}"));
    }
    out
}

fn backups_section(m: &Model, bk: &Backups, buf: &mut Buffer, area: Rect) {
    let s = &m.styles;
    let title = format!(
        " Backups — alert when the newest verified is older than {} ",
        format_eta((bk.max_age_ms / 1000) as f64)
    );
    let b = block(m, title, false);
    let inner = b.inner(area);
    render_widget(buf, b, area);
    let w = usize::from(inner.width);
    let mut lines = Vec::new();
    if !bk.loaded {
        lines.push(Line::styled(" reading the backup directory…", s.dim));
    } else if let Some(e) = &bk.error {
        lines.push(Line::styled(
            fit(&format!(" cannot list backups: {e}"), w),
            s.crit,
        ));
    } else if bk.stale(m.now_ms) {
        let text = match bk.newest_verified_ms() {
            Some(t) => format!(
                " STALE: the newest verified backup is {} old",
                age(m.now_ms, t)
            ),
            None => " STALE: no verified backup yet".into(),
        };
        lines.push(Line::styled(fit(&text, w), s.crit));
    }
    if let Some(d) = &bk.drill {
        lines.push(Line::styled(fit(&format!(" last drill: {d}"), w), s.dim));
    }
    // The name column is as wide as the longest name, not the whole row: the note after the
    // state is the verification or, for a FAILED row, the error, and must stay readable.
    let longest = bk
        .rows
        .iter()
        .map(|r| r.file.chars().count() + 2)
        .max()
        .unwrap_or(0);
    let name_w = longest.min(w.saturating_sub(34)).max(10);
    for r in &bk.rows {
        let (state, st) = if r.verified {
            ("verified", s.ok)
        } else {
            ("FAILED", s.crit)
        };
        lines.push(Line::from(vec![
            Span::styled(fit(&format!(" {}", r.file), name_w), s.base),
            Span::styled(rfit(&crate::fmt::bytes(r.bytes as f64), 9), s.dim),
            Span::styled(rfit(&age(m.now_ms, r.at_ms), 8), s.dim),
            Span::raw("  "),
            Span::styled(fit(state, 9), st),
            Span::styled(fit(&r.note, w.saturating_sub(name_w + 28)), s.dim),
        ]));
    }
    if bk.loaded && bk.rows.is_empty() && bk.error.is_none() {
        lines.push(Line::styled(" no backups in the directory yet", s.dim));
    }
    render_widget(buf, Paragraph::new(lines), inner);
}

fn audit_line(m: &Model, r: &Record, w: usize, with_target: bool) -> Line<'static> {
    let s = &m.styles;
    let time = r.time.get(11..19).unwrap_or(&r.time).to_owned();
    let result = r.result.clone().unwrap_or_else(|| r.phase.clone());
    let st = match result.as_str() {
        "succeeded" | "completed-headless" => s.ok,
        "intent" | "ack" => s.dim,
        _ => s.crit,
    };
    let detail = r
        .error
        .clone()
        .or_else(|| r.verification.clone())
        .or_else(|| r.plan.first().cloned())
        .unwrap_or_default();
    let mut spans = vec![
        Span::styled(format!(" {time} "), s.dim),
        Span::styled(fit(&result, 19), st),
    ];
    if with_target {
        spans.push(Span::styled(fit(&r.target, 14), s.base));
    }
    spans.push(Span::styled(fit(&r.action, 9), s.base));
    spans.push(Span::styled(fit(&r.operator.user, 10), s.dim));
    let used: usize = spans.iter().map(|sp| sp.content.chars().count()).sum();
    spans.push(Span::styled(fit(&detail, w.saturating_sub(used)), s.dim));
    Line::from(spans)
}

/// The audit log, all targets, newest last.
pub fn render_audit(m: &Model, scroll: usize, buf: &mut Buffer, area: Rect) {
    let s = &m.styles;
    let b = block(
        m,
        " [A] Audit log — every action, newest last ".into(),
        true,
    );
    let inner = b.inner(area);
    render_widget(buf, b, area);
    let w = usize::from(inner.width);
    let mut rows: Vec<(bool, Line<'static>)> = vec![(
        false,
        Line::styled(
            fit(
                " time     result             target        action   user      detail",
                w,
            ),
            s.header,
        ),
    )];
    if let Some(e) = &m.acts.audit_error {
        rows.push((
            false,
            Line::styled(format!(" cannot read the audit file: {e}"), s.crit),
        ));
    } else if m.acts.audit.is_empty() {
        rows.push((false, Line::styled(" no actions recorded yet", s.dim)));
    }
    rows.extend(
        m.acts
            .audit
            .iter()
            .map(|r| (true, audit_line(m, r, w, true))),
    );
    let sel = scroll.min(m.acts.audit.len().saturating_sub(1));
    render_list(buf, inner, rows, Some(sel), s.selection);
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrap_keeps_everything_that_fits_and_marks_the_rest() {
        assert_eq!(wrap("abc", 10, 3), vec!["abc"]);
        assert_eq!(wrap("abcdefg", 4, 4), vec!["abcd", "   e", "   f", "   g"]);
        assert_eq!(wrap("abcdefghij", 6, 2), vec!["abcdef", "   gh…"]);
        assert_eq!(wrap("abcdefghijkl", 5, 2), vec!["abcde", "   f…"]);
        assert_eq!(wrap("abcdefg", 5, 2), vec!["abcde", "   fg"]);
        assert!(wrap("", 5, 2).is_empty());
    }
}
