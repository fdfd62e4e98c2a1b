//! The bottom line: a toast when there is one, else the keys that matter in this view, read
//! from the keymap (so user overrides show up here too).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::render_widget;

use crate::app::model::{Model, View};
use crate::keymap::command::Command;
use crate::keymap::Mode;

fn hints(m: &Model) -> (Mode, &'static [Command]) {
    let mode = m.mode();
    if mode == Mode::Normal
        && (matches!(m.popup, Some(crate::app::model::Popup::AlertHint(_)))
            || crate::app::alert_ops::selected_alert(m).is_some())
    {
        // On an alert: what can be done about it, the whole hint first.
        let cmds: &'static [Command] = if m.popup.is_some() {
            &[
                Command::Remedy,
                Command::AckAlert,
                Command::SilenceAlert,
                Command::Back,
            ]
        } else {
            &[
                Command::Drill,
                Command::Remedy,
                Command::AckAlert,
                Command::SilenceAlert,
                Command::FocusNext,
                Command::Quit,
            ]
        };
        return (mode, cmds);
    }
    let cmds: &'static [Command] = match mode {
        Mode::Normal => match m.view {
            View::Detail { .. } => &[
                Command::Back,
                Command::FocusNext,
                Command::Actions,
                Command::Browse,
                Command::Freeze,
                Command::Help,
                Command::Quit,
            ],
            _ => &[
                // Most needed first: a narrow terminal cuts the end of the line.
                Command::FocusNext,
                Command::Drill,
                Command::Actions,
                Command::Checklist,
                Command::Help,
                Command::Quit,
                Command::Browse,
                Command::Filter,
                Command::Freeze,
                Command::Palette,
            ],
        },
        Mode::Browse => &[
            Command::Filter,
            Command::Up,
            Command::Down,
            Command::Back,
            Command::Quit,
        ],
        Mode::Help => &[Command::Down, Command::Up, Command::Close],
        Mode::Palette => &[Command::Down, Command::Up, Command::Run, Command::Close],
        Mode::Confirm => &[Command::Confirm, Command::Cancel],
        Mode::Actions => &[
            Command::Up,
            Command::Down,
            Command::Drill,
            Command::CancelAction,
            Command::Audit,
            Command::Back,
            Command::Quit,
        ],
        Mode::Input => &[Command::Run, Command::Close],
        Mode::Checklist => &[
            Command::Pass,
            Command::Fail,
            Command::Skip,
            Command::Drill,
            Command::Note,
            Command::Down,
            Command::Finish,
            Command::Back,
        ],
    };
    (mode, cmds)
}

pub fn render(m: &Model, buf: &mut Buffer, area: Rect) {
    let s = &m.styles;
    if let Some(t) = &m.toast {
        let style = if t.error { s.crit } else { s.accent };
        render_widget(
            buf,
            Paragraph::new(Span::styled(format!(" {}", t.text), style)),
            area,
        );
        return;
    }
    if let Some((_, p)) = &m.acts.planning {
        render_widget(
            buf,
            Paragraph::new(Span::styled(format!(" {p}"), s.accent)),
            area,
        );
        return;
    }
    if let View::Browse(b) = &m.view {
        if b.editing {
            let line = Line::from(vec![
                Span::styled(" filter: ", s.accent),
                Span::styled(format!("{}▏", b.filter), s.base),
                Span::styled("  Enter keep · Esc clear", s.dim),
            ]);
            render_widget(buf, Paragraph::new(line), area);
            return;
        }
    }
    let (mode, cmds) = hints(m);
    let mut spans = vec![Span::raw(" ")];
    // Whole entries only: the ones that do not fit are left out, never cut mid-word (`?`
    // help lists every key).
    let mut room = usize::from(area.width).saturating_sub(1);
    for c in cmds {
        let Some(k) = m.keymap.keys_for(mode, *c).into_iter().next() else {
            continue;
        };
        let name = match c {
            // On an alert, Enter opens its hint.
            Command::Drill if crate::app::alert_ops::selected_alert(m).is_some() => "hint",
            Command::Back if m.popup.is_some() => "close",
            other => other.name(),
        };
        let key = k.to_string();
        let label = format!(" {name}  ");
        let width = key.chars().count() + label.trim_end().chars().count();
        if width > room {
            break;
        }
        room = room.saturating_sub(key.chars().count() + label.chars().count());
        spans.push(Span::styled(key, s.accent));
        spans.push(Span::styled(label, s.dim));
    }
    render_widget(buf, Paragraph::new(Line::from(spans)), area);
}
