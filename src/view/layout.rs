//! Where everything goes, as a pure function of the terminal size and a few counts from the
//! model ([`Screen`]), so `update` can hit-test mouse clicks against the same rectangles the
//! view draws into.
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

use super::PanelId;

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

/// What the layout depends on: the terminal, which body is shown, the focused panel, and the
/// counts that size the strip and the overview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Screen {
    pub size: (u16, u16),
    /// False in the series browser, which has no panels.
    pub panels: bool,
    /// The detail view: the overview holds one target.
    pub detail: bool,
    pub focus: PanelId,
    /// Alerts the strip would list (before it is cut to fit).
    pub alerts: usize,
    /// Rows of the overview: targets and fleet group headings.
    pub overview_rows: usize,
}

/// Alert lines the strip may take under the header, by terminal height.
pub fn max_alert_lines(size: (u16, u16)) -> usize {
    if size.1 >= 40 {
        5
    } else if size.1 >= 30 {
        4
    } else {
        2
    }
}

/// The strip's height: a summary line and up to [`max_alert_lines`] alerts.
pub fn strip_height(s: &Screen) -> u16 {
    1 + s.alerts.min(max_alert_lines(s.size)) as u16
}

/// The panel shown beside the overview on a narrow screen.
pub fn secondary(focus: PanelId) -> PanelId {
    if focus == PanelId::Overview {
        PanelId::Backlog
    } else {
        focus
    }
}

/// The panels visible in the main or detail view and their rectangles.
pub fn panel_areas(s: &Screen) -> Vec<(PanelId, Rect)> {
    if too_small(s.size) || !s.panels {
        return Vec::new();
    }
    let (_, body, _) = frame(Rect::new(0, 0, s.size.0, s.size.1));
    let (_, body) = strip_and_panels(body, strip_height(s));
    let n_targets = if s.detail { 1 } else { s.overview_rows.max(1) } as u16;
    // Overview: a row a target (and a fleet group's heading) plus borders and header, at most a third of the body.
    let share = if wide(s.size) { 3 } else { 2 };
    let overview_h = (n_targets + 3).min((body.height / share).max(4));
    let [top, rest] =
        Layout::vertical([Constraint::Length(overview_h), Constraint::Min(0)]).areas(body);
    let mut out = vec![(PanelId::Overview, top)];
    if wide(s.size) {
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
        out.push((secondary(s.focus), rest));
    }
    out
}
