//! Where everything goes, as a pure function of the model and the terminal size, so `update`
//! can hit-test mouse clicks against the same rectangles the view draws into.
//!
//! ```text
//! wide (>= 120x30)                         narrow (80x24)
//! ┌ header ───────────────────────────┐    ┌ header ─────────────┐
//! │ [1] Targets                       │    │ [1] Targets         │
//! ├ [2] Backlog ─────┬ [3] SSE ───────┤    ├ focused panel ──────┤
//! ├ [4] Latency ─────┼ [5] Disk ──────┤    │                     │
//! ├ [6] Health ──────┴ [7] Signals ───┤    │                     │
//! └ footer: keys / toast ─────────────┘    └ footer ─────────────┘
//! ```

use ratatui::layout::{Constraint, Layout, Rect};

use crate::app::model::{Model, PanelId, View};

/// Below this the screen only says "terminal too small".
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;

/// Screen areas: header, body, footer.
pub fn frame(area: Rect) -> (Rect, Rect, Rect) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    (header, body, footer)
}

/// The main and detail views' body, split into the alert strip (pinned under the header, at
/// every size) and the panels below it.
pub fn strip_and_panels(body: Rect, strip_height: u16) -> (Rect, Rect) {
    let h = strip_height.min(body.height.saturating_sub(4));
    let [strip, panels] = Layout::vertical([Constraint::Length(h), Constraint::Min(0)]).areas(body);
    (strip, panels)
}

pub fn too_small(size: (u16, u16)) -> bool {
    size.0 < MIN_WIDTH || size.1 < MIN_HEIGHT
}

fn wide(size: (u16, u16)) -> bool {
    size.0 >= 120 && size.1 >= 30
}

/// The panel shown beside the overview on a narrow screen.
pub fn secondary(m: &Model) -> PanelId {
    if m.focus == PanelId::Overview {
        PanelId::Backlog
    } else {
        m.focus
    }
}

/// The panels visible in the main or detail view and their rectangles.
pub fn panel_areas(m: &Model) -> Vec<(PanelId, Rect)> {
    if too_small(m.size) || matches!(m.view, View::Browse(_)) {
        return Vec::new();
    }
    let (_, body, _) = frame(Rect::new(0, 0, m.size.0, m.size.1));
    let (_, body) = strip_and_panels(body, super::strip::height(m));
    let n_targets = match m.view {
        View::Detail { .. } => 1,
        _ => super::overview::row_count(m).max(1),
    } as u16;
    // Overview: a row a target (and a fleet group's heading) plus borders and header, at most a third of the body.
    let share = if wide(m.size) { 3 } else { 2 };
    let overview_h = (n_targets + 3).min((body.height / share).max(4));
    let [top, rest] =
        Layout::vertical([Constraint::Length(overview_h), Constraint::Min(0)]).areas(body);
    let mut out = vec![(PanelId::Overview, top)];
    if wide(m.size) {
        let rows = Layout::vertical([Constraint::Ratio(1, 3); 3]).split(rest);
        let pairs = [
            (PanelId::Backlog, PanelId::Sse),
            (PanelId::Latency, PanelId::Disk),
            (PanelId::Health, PanelId::Signals),
        ];
        for (row, (l, r)) in rows.iter().zip(pairs) {
            let [a, b] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(*row);
            out.push((l, a));
            out.push((r, b));
        }
    } else {
        out.push((secondary(m), rest));
    }
    out
}
