//! The daily checklist walkthrough (`D`): the current item in full, the list beneath.
//!
//! ```text
//! ┌ [D] Daily checklist — overlay, rest-api · 3 of 18 decided · 2 pass 1 FAIL ───────────┐
//! │ overlay/ack-latency                                                     automatic     │
//! │ /metrics: webhook ACK p95 at most 0.2 s                                                │
//! │ automatic result: pass — Webhook ACK: p95 (s) 0.094 ≤ 0.2                              │
//! │ your verdict: —                                                                        │
//! │ p pass · f fail · s skip · Enter accept the automatic result · n note · F report       │
//! ├ Items ─────────────────────────────────────────────────────────────────────────────────┤
//! │ ✓ overlay/tls        TLS certificate renewed automatically…            pass            │
//! │ ▶ overlay/ack-latency …                                                                │
//! └────────────────────────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::{fit, render_list, render_widget};
use crate::app::model::Model;
use crate::app::walk::WalkView;
use crate::checklist::{ItemKind, Status, Verdict, WalkItem};

fn mark(i: &WalkItem) -> &'static str {
    match i.status() {
        Status::Pass => "✓",
        Status::Fail => "✗",
        Status::Skipped => "–",
        Status::Unknown => "?",
        Status::Pending => "·",
    }
}

fn status_style(m: &Model, st: Status) -> ratatui::style::Style {
    match st {
        Status::Pass => m.styles.ok,
        Status::Fail => m.styles.crit,
        Status::Unknown => m.styles.warn,
        Status::Skipped | Status::Pending => m.styles.dim,
    }
}

pub fn render(m: &Model, buf: &mut Buffer, area: Rect) {
    let s = &m.styles;
    let Some(w) = &m.walk else {
        let b = Block::default()
            .borders(Borders::ALL)
            .border_style(s.border_focus)
            .title(Span::styled(" [D] Daily checklist ", s.title));
        let inner = b.inner(area);
        render_widget(buf, b, area);
        render_widget(
            buf,
            Paragraph::new(Line::styled(" opening today's walkthrough…", s.dim)),
            inner,
        );
        return;
    };
    let [top, list] = Layout::vertical([Constraint::Length(13), Constraint::Min(3)]).areas(area);
    current(m, w, buf, top);
    items(m, w, buf, list);
}

fn title(w: &WalkView) -> String {
    let (done, total) = w.progress();
    let count = |st: Status| w.state.items.iter().filter(|i| i.status() == st).count();
    format!(
        " [D] Daily checklist — {} · {done} of {total} decided · {} pass {} FAIL {} skipped ",
        w.state.checklists.join(", "),
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Skipped),
    )
}

fn current(m: &Model, w: &WalkView, buf: &mut Buffer, area: Rect) {
    let s = &m.styles;
    let b = Block::default()
        .borders(Borders::ALL)
        .border_style(s.border_focus)
        .title(Span::styled(title(w), s.title));
    let inner = b.inner(area);
    render_widget(buf, b, area);
    let Some(item) = w.state.items.get(w.current) else {
        render_widget(
            buf,
            Paragraph::new(Line::styled(" this checklist has no items", s.dim)),
            inner,
        );
        return;
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!(" {}", item.key), s.accent),
            Span::styled(
                match item.kind {
                    ItemKind::Auto => "   automatic",
                    ItemKind::Manual => "   manual: you decide",
                },
                s.dim,
            ),
        ]),
        Line::styled(format!(" {}", item.title), s.base),
    ];
    match (&item.auto, item.kind) {
        (Some(o), _) => lines.push(Line::from(vec![
            Span::styled(" automatic result: ", s.dim),
            Span::styled(o.status.word(), status_style(m, o.status)),
            Span::styled(format!(" — {}", o.evidence), s.base),
        ])),
        (None, ItemKind::Auto) => lines.push(Line::styled(" automatic result: checking…", s.dim)),
        (None, ItemKind::Manual) => {}
    }
    if let Some(values) = w
        .sparks
        .get(&item.key)
        .map(|k| m.spark(k))
        .filter(|v| !v.is_empty())
    {
        let width = usize::from(inner.width).saturating_sub(24).min(120);
        lines.push(Line::from(vec![
            Span::styled(" over the last minutes: ", s.dim),
            Span::styled(crate::fmt::spark(&values, width, 0.0), s.sparkline),
        ]));
    }
    let verdict = match item.verdict {
        Some(Verdict::Pass) => ("pass", s.ok),
        Some(Verdict::Fail) => ("FAIL", s.crit),
        Some(Verdict::Skip) => ("skipped", s.dim),
        None => ("—", s.dim),
    };
    lines.push(Line::from(vec![
        Span::styled(" your verdict: ", s.dim),
        Span::styled(verdict.0, verdict.1),
    ]));
    match (&w.note, &item.note) {
        (Some(typing), _) => lines.push(Line::from(vec![
            Span::styled(" note: ", s.accent),
            Span::styled(format!("{typing}▏"), s.base),
            Span::styled("  Enter keeps it · Esc drops it", s.dim),
        ])),
        (None, Some(n)) => lines.push(Line::styled(format!(" note: {n}"), s.base)),
        (None, None) => {}
    }
    let failing = matches!(item.status(), Status::Fail | Status::Unknown);
    if let (true, Some(h)) = (failing, &item.hint) {
        lines.push(Line::styled(format!(" symptom: {}", h.symptom), s.dim));
        lines.push(Line::styled(format!(" cause:   {}", h.cause), s.dim));
        let rb = h
            .runbook
            .as_ref()
            .map(|r| format!("  (runbook {r})"))
            .unwrap_or_default();
        lines.push(Line::styled(format!(" do:      {}{rb}", h.action), s.base));
    }
    render_widget(buf, Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn items(m: &Model, w: &WalkView, buf: &mut Buffer, area: Rect) {
    let s = &m.styles;
    let b = Block::default()
        .borders(Borders::ALL)
        .border_style(s.border)
        .title(Span::styled(
            " Items — ↑↓ move · F writes the report ",
            s.title,
        ));
    let inner = b.inner(area);
    render_widget(buf, b, area);
    let width = usize::from(inner.width);
    let key_w = w
        .state
        .items
        .iter()
        .map(|i| i.key.chars().count())
        .max()
        .unwrap_or(10)
        .min(width / 3);
    let rows: Vec<(bool, Line<'static>)> = w
        .state
        .items
        .iter()
        .map(|i| {
            let st = i.status();
            let word = fit(st.word(), 16);
            let title_w = width.saturating_sub(key_w + 22);
            (
                true,
                Line::from(vec![
                    Span::styled(format!(" {} ", mark(i)), status_style(m, st)),
                    Span::styled(fit(&i.key, key_w), s.base),
                    Span::raw(" "),
                    Span::styled(fit(&i.title, title_w), s.dim),
                    Span::raw(" "),
                    Span::styled(word, status_style(m, st)),
                ]),
            )
        })
        .collect();
    render_list(buf, inner, rows, Some(w.current), s.selection);
}
