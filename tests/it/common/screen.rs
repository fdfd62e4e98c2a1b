//! The cockpit's whole screen as text, drawn into ratatui's `TestBackend` at the model's size
//! (trailing spaces trimmed per line), for screen tests and snapshots.
//!
//! ```ignore
//! use crate::common::screen;
//! ```

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use watchdeck::app::model::Model;

pub fn render(m: &Model) -> String {
    let mut term = Terminal::new(TestBackend::new(m.size.0, m.size.1)).expect("terminal");
    term.draw(|f| watchdeck::ui::view(m, f)).expect("draw");
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_owned())
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
