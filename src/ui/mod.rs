//! `view(&Model, &mut Frame)`: draws the cockpit. Reads the model, never changes it.
//!
//! One file per part: `header`, `footer`, `overview`, `panels` (backlog, SSE, latency, disk,
//! health, signals), `browse`, `popups`. `layout` says where each goes.

mod actions;
mod alertmanager;
mod alerts;
mod browse;
mod database;
mod footer;
mod header;

mod overview;
mod panels;
mod popups;
pub mod strip;
mod walk;

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::app::model::{Model, PanelId, View};
use crate::view::layout;

/// Draws the whole screen into a frame.
pub fn view(m: &Model, f: &mut ratatui::Frame<'_>) {
    let area = f.area();
    render(m, area, f.buffer_mut());
}

/// How many selectable rows a panel has (for moving the selection).
pub fn selectable_rows(m: &Model, panel: PanelId) -> usize {
    let lines = match panel {
        PanelId::Overview => overview::lines(m, m.size.0),
        other => panels::lines(m, other, m.size.0),
    };
    lines.iter().filter(|(selectable, _)| *selectable).count()
}

/// Renders a widget (the `Frame::render_widget` of a bare buffer).
pub(crate) fn render_widget(buf: &mut Buffer, widget: impl ratatui::widgets::Widget, area: Rect) {
    widget.render(area, buf);
}

/// Draws the whole screen into `buf`, covering `area`.
pub fn render(m: &Model, area: Rect, buf: &mut Buffer) {
    if layout::too_small((area.width, area.height)) {
        let msg = Paragraph::new(format!(
            "terminal too small ({}x{}); need {}x{}",
            area.width,
            area.height,
            layout::MIN_WIDTH,
            layout::MIN_HEIGHT
        ))
        .style(m.styles.warn)
        .alignment(Alignment::Center);
        render_widget(buf, msg, area);
        return;
    }
    let (head, body, foot) = layout::frame(area);
    header::render(m, buf, head);
    footer::render(m, buf, foot);
    match &m.view {
        View::Browse(b) => browse::render(m, b, buf, body),
        View::Actions { target } => actions::render(m, *target, buf, body),
        View::Audit { scroll } => actions::render_audit(m, *scroll, buf, body),
        View::Checklist => walk::render(m, buf, body),
        View::Alertmanager { scroll } => alertmanager::render(m, *scroll, buf, body),
        View::Main | View::Detail { .. } => {
            let (strip, _) = layout::strip_and_panels(body, layout::strip_height(&m.screen()));
            strip::render(m, buf, strip);
            for (panel, rect) in layout::panel_areas(&m.screen()) {
                render_panel(m, panel, buf, rect);
            }
        }
    }
    if let Some(p) = &m.popup {
        popups::render(m, p, buf, area);
    }
}

fn render_panel(m: &Model, panel: PanelId, buf: &mut Buffer, rect: Rect) {
    let focused = m.focus == panel;
    let title = match (panel, &m.view) {
        (PanelId::Overview, View::Detail { target }) => format!(
            " [1] {} ",
            m.shown
                .targets
                .get(*target)
                .map_or("target", |t| t.name.as_str())
        ),
        _ => format!(" [{}] {} ", panel.index() + 1, panel.title()),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused {
            m.styles.border_focus
        } else {
            m.styles.border
        })
        .title(Span::styled(
            title,
            if focused {
                m.styles.title.patch(m.styles.accent)
            } else {
                m.styles.title
            },
        ));
    let inner = block.inner(rect);
    render_widget(buf, block, rect);
    let selected = m.selected[panel.index()];
    // Rows past the selection and one screenful are never drawn: do not build them. (The
    // headings and notes between rows are few; the slack covers them.)
    let limit = selected
        .saturating_add(usize::from(inner.height) * 2)
        .saturating_add(64);
    let lines = match panel {
        PanelId::Overview => overview::lines_upto(m, inner.width, limit),
        other => panels::lines_upto(m, other, inner.width, limit),
    };
    render_list(
        buf,
        inner,
        lines,
        focused.then_some(selected),
        m.styles.selection,
    );
}

/// A list of rows (each one line) with the selected row highlighted and kept in view.
/// Rows are `(selectable, line)`: headings and notes are not selectable.
pub(crate) fn render_list(
    buf: &mut Buffer,
    area: Rect,
    rows: Vec<(bool, Line<'static>)>,
    selected: Option<usize>,
    sel_style: Style,
) {
    let height = usize::from(area.height);
    if height == 0 {
        return;
    }
    // Map the selection (counted over selectable rows) to a line index.
    let sel_line = selected.and_then(|s| {
        rows.iter()
            .enumerate()
            .filter(|(_, (sel, _))| *sel)
            .nth(s)
            .or_else(|| rows.iter().enumerate().rfind(|(_, (sel, _))| *sel))
            .map(|(i, _)| i)
    });
    let offset = match sel_line {
        Some(i) if i >= height => i + 1 - height,
        _ => 0,
    };
    let lines: Vec<Line<'static>> = rows
        .into_iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, (_, line))| {
            if Some(i) == sel_line {
                line.patch_style(sel_style)
            } else {
                line
            }
        })
        .collect();
    render_widget(buf, Paragraph::new(lines), area);
}

/// Pads or cuts `s` to exactly `w` display columns (chars; the cockpit's text is narrow).
pub(crate) fn fit(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n <= w {
        format!("{s}{}", " ".repeat(w - n))
    } else if w == 0 {
        String::new()
    } else {
        let mut out: String = s.chars().take(w - 1).collect();
        out.push('…');
        out
    }
}

/// Right-aligns `s` in `w` columns.
pub(crate) fn rfit(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n >= w {
        fit(s, w)
    } else {
        format!("{}{s}", " ".repeat(w - n))
    }
}
