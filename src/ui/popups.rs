//! Help (generated from the keymap), the command palette, and the quit confirmation.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::render_widget;

use super::fit;
use crate::app::keymap::Mode;
use crate::app::model::{Model, Palette, Popup};

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

pub fn render(m: &Model, p: &Popup, buf: &mut Buffer, area: Rect) {
    match p {
        Popup::Help { scroll } => help(m, *scroll, buf, area),
        Popup::Palette(pal) => palette(m, pal, buf, area),
        Popup::ConfirmQuit => {
            let r = centered(area, 50, 5);
            let inner = frame(m, buf, r, "Quit?");
            let text = vec![
                Line::styled(
                    format!("{} action(s) still running.", m.actions_running),
                    m.styles.warn,
                ),
                Line::from("Quit anyway? y = quit, n / Esc = stay"),
            ];
            render_widget(buf, Paragraph::new(text), inner);
        }
    }
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
