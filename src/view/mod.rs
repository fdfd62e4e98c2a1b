//! View math: where things go on the screen and how many rows each list has, as pure functions
//! of plain data. Both `app` (moving a selection, hit-testing a click) and `ui` (drawing) use
//! it, so the rectangles a click is tested against are the ones the view draws into, and
//! neither layer imports the other.

pub mod layout;
pub mod rows;

/// The panels of the main view, in the order of their number keys (1–7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PanelId {
    Overview,
    Backlog,
    Sse,
    Latency,
    Disk,
    Health,
    Signals,
}

impl PanelId {
    pub const ALL: [PanelId; 7] = [
        PanelId::Overview,
        PanelId::Backlog,
        PanelId::Sse,
        PanelId::Latency,
        PanelId::Disk,
        PanelId::Health,
        PanelId::Signals,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn title(self) -> &'static str {
        match self {
            PanelId::Overview => "Targets",
            PanelId::Backlog => "Outbox backlog",
            PanelId::Sse => "SSE clients",
            PanelId::Latency => "Latency",
            PanelId::Disk => "Disk",
            PanelId::Health => "Health checks",
            PanelId::Signals => "Alerts, queues, errors, counters",
        }
    }

    #[must_use]
    pub fn next(self) -> PanelId {
        Self::ALL[(self.index() + 1) % Self::ALL.len()]
    }

    #[must_use]
    pub fn prev(self) -> PanelId {
        Self::ALL[(self.index() + Self::ALL.len() - 1) % Self::ALL.len()]
    }
}
