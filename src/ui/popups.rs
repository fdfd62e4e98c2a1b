//! Help (generated from the keymap), the command palette, and the quit confirmation.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::render_widget;

use super::fit;
use crate::actions::Risk;
use crate::app::acting::{PlanPopup, TopicPick};
use crate::app::alert_ops::AlertPopup;
use crate::app::model::{Model, Palette, Popup};
use crate::keymap::Mode;

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [r] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(area);
    let [r] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(r);
    r
}

fn frame(m: &Model, buf: &mut Buffer, r: Rect, title: &str) -> Rect {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(m.styles.border_focus)
        .title(Span::styled(format!(" {title} "), m.styles.title))
        .style(m.styles.base);
    let inner = block.inner(r);
    render_widget(buf, Clear, r);
    render_widget(buf, block, r);
    inner
}

/// An alert's whole runbook hint, wrapped at word boundaries: nothing is cut.
fn alert_hint(m: &Model, a: &crate::derive::rules::AlertRow, buf: &mut Buffer, area: Rect) {
    let s = &m.styles;
    let w = area.width.saturating_sub(4).min(100);
    let text_w = usize::from(w.saturating_sub(2 + 9)).max(10);
    let mut lines: Vec<Line<'static>> = Vec::new();
    let state = if a.state == crate::derive::rules::AlertPhase::Firing {
        super::strip::since(a, m)
    } else {
        format!("pending {}", super::strip::progress(a, m.now_ms))
    };
    let head = format!(
        "{} {} on {}: {} {} — {state}",
        a.state.as_str().to_uppercase(),
        a.severity,
        a.target,
        a.value_text,
        a.threshold
    );
    for l in crate::fmt::wrap_words(&head, usize::from(w.saturating_sub(2))) {
        lines.push(Line::styled(
            l,
            if a.state == crate::derive::rules::AlertPhase::Firing {
                s.crit
            } else {
                s.warn
            },
        ));
    }
    let remedy = a.remedy.as_ref().map_or_else(
        || "none named by the rule".to_owned(),
        |r| format!("{r} (r opens its plan)"),
    );
    for (label, text) in [
        ("symptom", a.symptom.as_str()),
        ("cause", a.cause.as_str()),
        ("action", a.action.as_str()),
        ("remedy", remedy.as_str()),
    ] {
        for (i, l) in crate::fmt::wrap_words(text, text_w).into_iter().enumerate() {
            let label = if i == 0 { label } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!("{label:<8} "), s.dim),
                Span::styled(l, s.base),
            ]));
        }
    }
    lines.push(Line::styled(
        "r remedy · c acknowledge with a note · s silence · Esc close",
        s.accent,
    ));
    let h = (lines.len() as u16 + 2).min(area.height);
    let r = centered(area, w, h);
    let inner = frame(m, buf, r, &a.name);
    render_widget(buf, Paragraph::new(lines), inner);
}

pub fn render(m: &Model, p: &Popup, buf: &mut Buffer, area: Rect) {
    match p {
        Popup::Help { scroll } => help(m, *scroll, buf, area),
        Popup::Palette(pal) => palette(m, pal, buf, area),
        Popup::ConfirmQuit => {
            let r = centered(area, 50, 5);
            let inner = frame(m, buf, r, "Quit?");
            let text = vec![
                Line::styled(
                    format!("{} action(s) still running.", m.actions_running()),
                    m.styles.warn,
                ),
                Line::from("Quit and cancel them? y = quit, n / Esc = stay"),
            ];
            render_widget(buf, Paragraph::new(text), inner);
        }
        Popup::Plan(p) => plan(m, p, buf, area),
        Popup::Alert(p) => alert(m, p, buf, area),
        Popup::AlertHint(a) => alert_hint(m, a, buf, area),
        Popup::TopicPick(p) => topic_pick(m, p, buf, area),
        Popup::ConfirmCancel { target } => {
            let r = centered(area, 64, 6);
            let inner = frame(m, buf, r, "Cancel the action?");
            let what: Vec<String> = m
                .acts
                .running_on(*target)
                .map(|r| r.title.clone())
                .collect();
            let text = vec![
                Line::styled(what.join(", "), m.styles.warn),
                Line::from("Its process group is killed and partial files are removed."),
                Line::from("y = cancel it · n / Enter / Esc = let it run"),
            ];
            render_widget(buf, Paragraph::new(text), inner);
        }
    }
}

/// The plan and its confirmation: low risk is a dialog whose focus is on Cancel (only `y`
/// runs it); high risk asks for the target's name or the topic id, typed exactly.
fn plan(m: &Model, p: &PlanPopup, buf: &mut Buffer, area: Rect) {
    let s = &m.styles;
    let pr = &p.prepared;
    let w = area.width.saturating_sub(4).min(110);
    let inner_w = usize::from(w.saturating_sub(2));
    let mut lines = vec![
        Line::styled(pr.title.clone(), s.title),
        Line::from(vec![
            Span::styled("risk ", s.dim),
            match pr.risk {
                Risk::Low => Span::styled("low", s.ok),
                Risk::High => Span::styled("HIGH", s.crit),
            },
            Span::styled(
                format!("   timeout {}", humantime::format_duration(pr.timeout)),
                s.dim,
            ),
        ]),
        Line::styled("What will run, in order:", s.dim),
    ];
    for (i, l) in pr.plan_lines().iter().enumerate() {
        // Long argv lines wrap onto continuation lines rather than being cut: the operator
        // confirms what is shown, so all of it is shown.
        let text = format!("{:>2}. {l}", i + 1);
        let mut rest: &str = &text;
        let mut first = true;
        while !rest.is_empty() {
            let width = if first {
                inner_w
            } else {
                inner_w.saturating_sub(4)
            }
            .max(8);
            let cut = rest
                .char_indices()
                .nth(width)
                .map_or(rest.len(), |(b, _)| b);
            let (chunk, tail) = rest.split_at(cut);
            let shown = if first {
                chunk.to_owned()
            } else {
                format!("    {chunk}")
            };
            lines.push(Line::styled(shown, s.base));
            rest = tail;
            first = false;
        }
    }
    if let Some(d) = &pr.dry_run {
        lines.push(Line::styled("Server-side dry run:", s.dim));
        for l in d.lines().take(8) {
            lines.push(Line::styled(fit(&format!(" | {l}"), inner_w), s.dim));
        }
    }
    lines.push(Line::raw(""));
    match pr.risk {
        Risk::Low => {
            lines.push(Line::from(vec![
                Span::styled("[ Cancel ]", s.selection),
                Span::raw("   "),
                Span::styled("[ Run: y ]", s.base),
            ]));
            lines.push(Line::styled("y runs it · Enter, n or Esc cancels", s.dim));
        }
        Risk::High => {
            lines.push(Line::from(vec![
                Span::styled("Type ", s.base),
                Span::styled(pr.confirm_word.clone(), s.accent),
                Span::styled(" and Enter to run it (Esc cancels):", s.base),
            ]));
            lines.push(Line::from(vec![
                Span::styled("> ", s.accent),
                Span::styled(format!("{}▏", p.typed), s.base),
            ]));
            if let Some(e) = &p.error {
                lines.push(Line::styled(e.clone(), s.crit));
            }
        }
    }
    let h = (lines.len() as u16 + 2).min(area.height);
    let r = centered(area, w, h);
    let title = match pr.risk {
        Risk::Low => "Confirm",
        Risk::High => "Confirm — high risk",
    };
    let inner = frame(m, buf, r, title);
    render_widget(buf, Paragraph::new(lines), inner);
}

fn topic_pick(m: &Model, p: &TopicPick, buf: &mut Buffer, area: Rect) {
    let s = &m.styles;
    let r = centered(area, 64, 16);
    let inner = frame(m, buf, r, &format!("{} which topic?", p.kind.as_str()));
    let mut lines = vec![
        Line::from(vec![
            Span::styled("topic: ", s.accent),
            Span::styled(format!("{}▏", p.input), s.base),
        ]),
        Line::styled(
            "type to filter or give an id · ↑↓ · Enter plans · Esc",
            s.dim,
        ),
    ];
    let matches = p.matches();
    let visible = usize::from(inner.height.saturating_sub(2));
    let offset = p.selected.saturating_sub(visible.saturating_sub(1));
    let w = usize::from(inner.width);
    for (i, (id, rate)) in matches.iter().enumerate().skip(offset).take(visible) {
        let rate = rate.map_or_else(|| "—".to_owned(), |r| format!("{}/s", crate::fmt::num(r)));
        let mut line = Line::from(vec![
            Span::styled(fit(&format!("  {id}"), w.saturating_sub(12)), s.base),
            Span::styled(super::rfit(&rate, 12), s.dim),
        ]);
        if i == p.selected {
            line = line.patch_style(s.selection);
        }
        lines.push(line);
    }
    if matches.is_empty() {
        lines.push(Line::styled(
            if p.input.is_empty() {
                "  no topics seen in the metrics — type the id"
            } else {
                "  no listed topic matches — Enter plans for the id as typed"
            },
            s.dim,
        ));
    }
    render_widget(buf, Paragraph::new(lines), inner);
}

/// Help lines for every mode, straight from the keymap.
pub fn help_lines(m: &Model) -> Vec<Line<'static>> {
    let s = &m.styles;
    let mut out = Vec::new();
    for (mode, title) in [
        (Mode::Normal, "Everywhere"),
        (Mode::Browse, "Series browser"),
        (Mode::Palette, "Command palette"),
        (Mode::Help, "This help"),
        (Mode::Confirm, "Confirmations"),
        (Mode::Actions, "Actions view and audit log"),
        (Mode::Input, "Typing a confirmation, a topic or a note"),
        (Mode::Checklist, "Daily checklist walkthrough"),
    ] {
        out.push(Line::styled(title.to_owned(), s.title));
        for b in m.keymap.bindings(mode) {
            out.push(Line::from(vec![
                Span::styled(format!("  {}", fit(&b.on.to_string(), 12)), s.accent),
                Span::styled(b.desc.clone(), s.base),
            ]));
        }
        out.push(Line::raw(""));
    }
    out.push(Line::styled(
        "Ctrl-C always quits. Mouse: click a panel to focus it, wheel to scroll.",
        s.dim,
    ));
    out
}

fn help(m: &Model, scroll: usize, buf: &mut Buffer, area: Rect) {
    let r = centered(area, 72, area.height.saturating_sub(4).max(8));
    let inner = frame(m, buf, r, "Keys — ? or Esc closes");
    let lines = help_lines(m);
    let max = lines.len().saturating_sub(usize::from(inner.height));
    let scroll = scroll.min(max) as u16;
    render_widget(buf, Paragraph::new(lines).scroll((scroll, 0)), inner);
}

fn palette(m: &Model, p: &Palette, buf: &mut Buffer, area: Rect) {
    let s = &m.styles;
    let r = centered(area, 64, 14);
    let inner = frame(m, buf, r, "Command");
    let mut lines = vec![Line::from(vec![
        Span::styled(": ", s.accent),
        Span::styled(format!("{}▏", p.input), s.base),
    ])];
    let visible = usize::from(inner.height.saturating_sub(1));
    let offset = p.selected.saturating_sub(visible.saturating_sub(1));
    for (i, mat) in p.matches.iter().enumerate().skip(offset).take(visible) {
        let name = mat.command.name();
        let mut spans: Vec<Span<'static>> = name
            .chars()
            .enumerate()
            .map(|(ci, c)| {
                let st = if mat.name_positions.contains(&ci) {
                    s.accent
                } else {
                    s.base
                };
                Span::styled(c.to_string(), st)
            })
            .collect();
        spans.insert(0, Span::raw("  "));
        spans.push(Span::raw(
            " ".repeat(18usize.saturating_sub(name.chars().count())),
        ));
        spans.push(Span::styled(mat.command.description().to_owned(), s.dim));
        let mut line = Line::from(spans);
        if i == p.selected {
            line = line.patch_style(s.selection);
        }
        lines.push(line);
    }
    if p.matches.is_empty() {
        lines.push(Line::styled("  no command matches", s.dim));
    }
    render_widget(buf, Paragraph::new(lines), inner);
}

/// Acknowledge with a note, or pick how long to silence.
fn alert(m: &Model, p: &AlertPopup, buf: &mut Buffer, area: Rect) {
    let s = &m.styles;
    match p {
        AlertPopup::Ack { row, note } => {
            let r = centered(area, 72, 7);
            let inner = frame(m, buf, r, "Acknowledge");
            let lines = vec![
                Line::styled(
                    format!("{} on {} ({})", row.name, row.target, row.severity),
                    s.title,
                ),
                Line::styled(
                    "A note for the audit file and the next shift (optional):",
                    s.dim,
                ),
                Line::from(vec![
                    Span::styled("> ", s.accent),
                    Span::styled(format!("{note}▏"), s.base),
                ]),
                Line::styled("Enter records it · Esc cancels", s.dim),
            ];
            render_widget(buf, Paragraph::new(lines), inner);
        }
        AlertPopup::Silence { row, selected } => {
            let r = centered(area, 60, 5 + crate::app::alert_ops::SILENCES.len() as u16);
            let inner = frame(m, buf, r, "Silence");
            let mut lines = vec![Line::styled(
                format!("{} on {} — silence for:", row.name, row.target),
                s.title,
            )];
            for (i, (label, _)) in crate::app::alert_ops::SILENCES.iter().enumerate() {
                let line = Line::styled(format!("  {label}"), s.base);
                lines.push(if i == *selected {
                    line.patch_style(s.selection)
                } else {
                    line
                });
            }
            lines.push(Line::styled(
                "↑↓ choose · Enter silences · Esc cancels",
                s.dim,
            ));
            render_widget(buf, Paragraph::new(lines), inner);
        }
    }
}
