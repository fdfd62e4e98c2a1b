//! The vocabulary of the observe path: what the sources send, and what the store, derive and the
//! view read. Plain data with no I/O, below every layer that uses it, so that nothing that keeps
//! or computes has to import the code that fetches.

pub mod alertmanager;
pub mod fleet;
pub mod health;
pub mod history;
pub mod postgres;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::expo::{Format, ScrapeReport};
use health::HealthReport;

/// The wall clock in unix milliseconds. Only sources read the clock; derive gets `now` passed.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What one good scrape produced.
#[derive(Debug, Clone)]
pub struct ScrapeDigest {
    pub duration_ms: f64,
    pub body_bytes: usize,
    pub format: Format,
    pub report: ScrapeReport,
    /// Series in the target's index.
    pub series: usize,
    /// Current values of the watched series present in this scrape.
    pub watched: Vec<(Arc<str>, f64)>,
}

/// The outcome of one health URL.
#[derive(Debug, Clone)]
pub struct HealthOutcome {
    pub url: String,
    pub latency_ms: f64,
    pub result: Result<HealthReport, String>,
}

/// Messages from the collectors.
#[derive(Debug, Clone)]
pub enum Observation {
    Target {
        target: usize,
        round: u32,
        at_ms: i64,
        /// `None` for a target without a metrics URL.
        scrape: Option<Result<ScrapeDigest, String>>,
        health: Vec<HealthOutcome>,
    },
    Disks {
        at_ms: i64,
        usage: Vec<Result<DiskUsage, String>>,
    },
    /// One round of a target's Postgres collector, or its failure to connect.
    Postgres(Box<postgres::PgMsg>),
    /// Every series of one target (`name{labels}`, value), sent after each scrape while the
    /// series browser asks for that target.
    Series {
        target: usize,
        rows: Vec<(String, f64)>,
    },
    /// One round of a `[[fleet]]` (the `promql` source): every instance's panel values.
    Fleet(Box<fleet::FleetRound>),
    /// Sparkline history of a fleet's new instances (range queries).
    FleetBackfill(Box<fleet::FleetBackfill>),
    /// A target's past, read from its history store at launch or after a gap in scraping.
    History(Box<history::HistoryBatch>),
    /// What the configured Alertmanager answered (alerts, silences), or why it did not.
    Alertmanager {
        at_ms: i64,
        answer: Result<Box<alertmanager::AmAnswer>, String>,
    },
}

/// One stored sample: `(unix milliseconds, value)`.
pub type Point = (i64, f64);

/// Usage of one filesystem.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiskUsage {
    pub size_bytes: f64,
    pub avail_bytes: f64,
    pub free_bytes: f64,
}

impl DiskUsage {
    /// Used bytes as `df` counts them (size minus free).
    pub fn used_bytes(&self) -> f64 {
        (self.size_bytes - self.free_bytes).max(0.0)
    }

    /// Used share as `df` shows it: used / (used + available to unprivileged users).
    pub fn used_ratio(&self) -> f64 {
        let used = self.used_bytes();
        let denom = used + self.avail_bytes;
        if denom > 0.0 {
            used / denom
        } else {
            0.0
        }
    }
}
