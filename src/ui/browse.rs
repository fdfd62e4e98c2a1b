//! ```text
//! ┌ Browse cn-index — 59 series, filter "backlog" ───────────────────────┐
//! │ outbox_backlog{service="cn-index",consumer="index-v1"}          1234  │
//! └──────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};

use super::{fit, render_list, render_widget, rfit};
use crate::app::model::{Browse, Model};

pub fn render(m: &Model, b: &Browse, buf: &mut Buffer, area: Rect) {
    let s = &m.styles;
    let name = m
        .shown
        .targets
        .get(b.target)
        .map_or("?", |t| t.name.as_str());
    let filter = if b.filter.is_empty() {
        String::new()
    } else {
        format!(", filter \"{}\"", b.filter)
    };
    let title = format!(
        " Browse {name} — {} of {} series{filter} ",
        b.rows.len(),
        b.all.len()
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(s.border_focus)
        .title(Span::styled(title, s.title));
    let inner = block.inner(area);
    render_widget(buf, block, area);
    let w = usize::from(inner.width);
    let rows: Vec<(bool, Line<'static>)> = if !b.loaded {
        vec![(
            false,
            Line::styled("  waiting for the next scrape of this target…", s.dim),
        )]
    } else if b.rows.is_empty() {
        vec![(
            false,
            Line::styled(format!("  no series match \"{}\"", b.filter), s.dim),
        )]
    } else {
        b.rows
            .iter()
            .map(|(k, v)| {
                let value = crate::fmt::exact(*v);
                (
                    true,
                    Line::from(vec![
                        Span::styled(fit(k, w.saturating_sub(12)), s.base),
                        Span::styled(rfit(&value, 12), s.accent),
                    ]),
                )
            })
            .collect()
    };
    render_list(buf, inner, rows, Some(b.selected), s.selection);
}
