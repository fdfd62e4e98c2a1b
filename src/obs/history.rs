//! A target's past as read from a history store: one step per evaluation time, each with the
//! watched values present then.

use std::sync::Arc;

/// One evaluation time of the past and the watched values present then.
pub type Step = (i64, Vec<(Arc<str>, f64)>);

/// What one backfill read.
#[derive(Debug, Clone, Default)]
pub struct HistoryBatch {
    pub target: usize,
    /// The store, as it may be shown (no credentials).
    pub source: String,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Evaluation times, oldest first, each with the watched values present then.
    pub steps: Vec<Step>,
    /// Series read.
    pub series: usize,
    /// Why nothing (or not everything) could be read, in plain words.
    pub error: Option<String>,
    /// The store's warnings (a partial answer).
    pub warnings: Vec<String>,
    /// True for a launch backfill, false for one that fills a gap in scraping.
    pub at_launch: bool,
}
