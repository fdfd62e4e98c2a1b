//! How many selectable rows each panel has: the rows a selection can land on, counted from the
//! derived panels alone, exactly as `ui` draws them (headings, notes and hint lines are not
//! selectable). `update` moves selections within these counts.

use super::PanelId;
use crate::derive::db::DbPanel;
use crate::derive::panels::{DiskRow, TargetPanels};

/// What the panels list: the targets in the order shown (one in the detail view), the local
/// disks, and how many alerts the Signals panel lists.
#[derive(Debug, Clone, Copy)]
pub struct Lists<'a> {
    pub targets: &'a [&'a TargetPanels],
    pub local_disks: &'a [DiskRow],
    /// The detail view: local disks belong to no target and are not listed there.
    pub detail: bool,
    pub alerts: usize,
}

/// Selectable rows of `panel`.
pub fn selectable(panel: PanelId, l: &Lists<'_>) -> usize {
    let sum = |f: &dyn Fn(&TargetPanels) -> usize| l.targets.iter().map(|t| f(t)).sum::<usize>();
    match panel {
        PanelId::Overview => l.targets.len(),
        PanelId::Backlog => sum(&|t| t.backlog.len()),
        PanelId::Sse => sum(&|t| t.sse.len()),
        PanelId::Latency => sum(&|t| t.latency.len()),
        // A database or tablespace row (a size, no capacity) is a row too.
        PanelId::Disk => {
            let local = if l.detail { 0 } else { l.local_disks.len() };
            sum(&|t| t.disks.len()) + local
        }
        PanelId::Health => sum(&|t| {
            t.health.iter().map(|h| 1 + h.checks.len()).sum::<usize>()
                + t.db.as_ref().map_or(0, database_rows)
        }),
        PanelId::Signals => l.alerts + sum(&|t| t.queue.len() + t.errors.len() + t.counters.len()),
    }
}

/// Rows of one target's database in the Health panel: its status line, then one line per fact
/// it has (connections, hidden sessions, longest query, oldest transaction, each lock wait,
/// replica lag, each problem).
pub fn database_rows(db: &DbPanel) -> usize {
    1 + usize::from(db.connections.is_some())
        + usize::from(db.hidden_sessions > 0)
        + usize::from(db.longest_query.is_some())
        + usize::from(db.oldest_transaction.is_some())
        + db.lock_waits.len()
        + usize::from(db.in_recovery)
        + db.problems.len()
}

/// Rows of the overview: a row per target and a heading per fleet group (a run of targets of
/// one fleet and job).
pub fn overview_rows(targets: &[&TargetPanels]) -> usize {
    let mut group: Option<(&str, &str)> = None;
    let mut headings = 0;
    for t in targets {
        let g = t.fleet.as_deref().zip(t.job.as_deref());
        if g.is_some() && g != group {
            headings += 1;
        }
        group = g;
    }
    targets.len() + headings
}
