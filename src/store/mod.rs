//! What has been observed, per target and per local disk.
//!
//! The store is fed owned [`Observation`](crate::obs::Observation)s by one owner (the main
//! loop or a headless front end) and read by `derive::panels`. It keeps the outcome of the
//! latest attempt, the statistics of the latest good scrape, every health check, and bounded
//! histories (by points and by age) of only the series the panels watch.

mod apply;
mod fleet;

pub use fleet::{remote_key, FleetState, RemoteState};

use std::collections::HashMap;
use std::sync::Arc;

use crate::expo::{Format, Malformed};
use crate::obs::health::HealthReport;
use crate::obs::DiskUsage;
use crate::obs::Point;

/// Bounds on every watched history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLimits {
    pub max_points: usize,
    pub max_age_ms: i64,
}

impl Default for HistoryLimits {
    fn default() -> Self {
        // 15 minutes at a 1 s interval: enough for every panel window and sparkline.
        Self {
            max_points: 900,
            max_age_ms: 15 * 60 * 1000,
        }
    }
}

/// Appends a point, keeping time order and the bounds.
pub fn push_point(points: &mut Vec<Point>, p: Point, limits: HistoryLimits) {
    if points.last().is_some_and(|last| last.0 >= p.0) {
        return; // never go back in time: a late or duplicate sample is dropped
    }
    points.push(p);
    // Trim in batches: shifting the whole history on every scrape would move ~14 KB per series
    // per scrape. Up to a quarter more points (or an eighth more age) are kept in between;
    // every window derive looks at is far shorter than the bounds.
    let slack_points = limits.max_points + limits.max_points / 4;
    let slack_age = limits.max_age_ms + limits.max_age_ms / 8;
    if points.len() > slack_points || points[0].0 <= p.0 - slack_age {
        bound(points, p.0, limits);
    }
}

/// Drops the oldest points of a time-ordered history until it holds at most `max_points` and
/// none older than `max_age_ms` before `newest_ms`.
fn bound(points: &mut Vec<Point>, newest_ms: i64, limits: HistoryLimits) {
    let too_old = points.partition_point(|q| q.0 <= newest_ms - limits.max_age_ms);
    let too_many = points.len().saturating_sub(limits.max_points);
    points.drain(..too_old.max(too_many));
}

/// Statistics of one good scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapeStats {
    pub at_ms: i64,
    pub duration_ms: f64,
    pub body_bytes: usize,
    pub format: Format,
    pub samples: usize,
    pub series: usize,
    pub malformed_count: usize,
    pub malformed: Vec<Malformed>,
    /// A problem that did not fail the scrape (e.g. the sample limit was hit).
    pub warning: Option<String>,
}

/// The latest result of one health URL.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthState {
    pub url: String,
    pub at_ms: i64,
    pub latency_ms: f64,
    pub result: Result<HealthReport, String>,
}

impl HealthState {
    pub fn healthy(&self) -> bool {
        matches!(&self.result, Ok(r) if r.healthy)
    }
}

/// Everything known about one target.
#[derive(Debug, Clone, Default)]
pub struct TargetState {
    pub name: String,
    pub preset: Option<String>,
    pub has_metrics: bool,
    pub rounds: u32,
    pub last_attempt_ms: Option<i64>,
    pub last_success_ms: Option<i64>,
    /// The error of the latest attempt, if it failed.
    pub last_error: Option<String>,
    pub scrape: Option<ScrapeStats>,
    pub health: Vec<HealthState>,
    /// Histories of the watched series, keyed by `name{labels}` as the target writes it.
    pub series: HashMap<Arc<str>, Vec<Point>>,
    /// Watched series present in the latest good scrape, in exposition order.
    pub present: Vec<Arc<str>>,
    /// The target's database, when it has a `[target.postgres]` section.
    pub pg: Option<PgState>,
    /// For an instance of a `[[fleet]]`: its values as the store reported them.
    pub remote: Option<RemoteState>,
    /// Where this target's past came from, if anywhere.
    pub history: HistoryState,
}

/// What the history store gave a target.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum HistoryState {
    /// No store is configured for this target.
    #[default]
    None,
    /// The launch backfill is on its way.
    Loading { source: String },
    /// The past was read.
    Loaded {
        source: String,
        from_ms: i64,
        to_ms: i64,
        series: usize,
        /// Evaluation times read.
        steps: usize,
    },
    /// The store did not answer, or answered junk: the cockpit runs on what it scrapes.
    Failed { source: String, error: String },
}

impl HistoryState {
    pub fn is_loading(&self) -> bool {
        matches!(self, HistoryState::Loading { .. })
    }

    /// True when the past was read and held at least one value.
    pub fn has_past(&self) -> bool {
        matches!(self, HistoryState::Loaded { steps, .. } if *steps > 0)
    }
}

/// Merges points read from the past into a history: time-ordered, one point per time (a
/// scraped point wins over a read one), then bounded as [`push_point`] bounds it.
pub fn merge_points(points: &mut Vec<Point>, past: &[Point], limits: HistoryLimits) {
    if past.is_empty() {
        return;
    }
    let mut all: Vec<Point> = Vec::with_capacity(points.len() + past.len());
    all.extend_from_slice(points);
    all.extend(
        past.iter()
            .filter(|p| points.binary_search_by_key(&p.0, |q| q.0).is_err()),
    );
    all.sort_by_key(|p| p.0);
    let newest = all.last().map_or(0, |p| p.0);
    bound(&mut all, newest, limits);
    *points = all;
}

/// What the Postgres collector of a target has seen.
#[derive(Debug, Clone, Default)]
pub struct PgState {
    /// `user@host:port/db`: never the password.
    pub source: String,
    pub rounds: u32,
    /// The latest round on a live connection.
    pub last: Option<crate::obs::postgres::PgObservation>,
    /// Why the latest attempt could not connect, if it could not.
    pub error: Option<String>,
    pub error_at_ms: Option<i64>,
    pub retry_in_ms: Option<i64>,
    /// Backlog history per consumer, from SQL.
    pub backlog: HashMap<String, Vec<Point>>,
    /// Database size history.
    pub db_bytes: Vec<Point>,
}

/// The overall state of a target, as the overview shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Nothing collected yet.
    Pending,
    /// Latest scrape and every health check good.
    Up,
    /// Metrics good but a health check fails, or the scrape had malformed lines.
    Degraded,
    /// The latest scrape failed, or (health-only target) every health check fails.
    Down,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Up => "up",
            Self::Degraded => "degraded",
            Self::Down => "down",
        }
    }
}

impl TargetState {
    /// True when the values shown come from an older scrape than the latest attempt.
    pub fn is_stale(&self) -> bool {
        if let Some(pg) = self.pg.as_ref().filter(|_| !self.has_metrics) {
            return pg.error.is_some() && pg.last.is_some();
        }
        match (self.last_attempt_ms, self.last_success_ms) {
            (Some(a), Some(s)) => a > s,
            (Some(_), None) => true,
            _ => false,
        }
    }

    /// When the values shown were collected: the last good scrape, or for a database-only
    /// target the last round on a live connection.
    pub fn last_good_ms(&self) -> Option<i64> {
        match &self.pg {
            Some(pg) if !self.has_metrics => pg.last.as_ref().map(|o| o.at_ms),
            _ => self.last_success_ms,
        }
    }

    /// Age of the values shown, in ms.
    pub fn age_ms(&self, now_ms: i64) -> Option<i64> {
        self.last_good_ms().map(|s| (now_ms - s).max(0))
    }

    pub fn status(&self) -> Status {
        let pg_down = self.pg.as_ref().is_some_and(|p| p.error.is_some());
        if let Some(pg) = &self.pg {
            if !self.has_metrics && self.health.is_empty() {
                // A database-only target is as up as its database.
                return match (pg.rounds, pg_down) {
                    (0, _) => Status::Pending,
                    (_, true) => Status::Down,
                    (_, false) => Status::Up,
                };
            }
        }
        if self.last_attempt_ms.is_none() && self.health.is_empty() {
            return Status::Pending;
        }
        let health_ok = self.health.iter().all(HealthState::healthy);
        if self.has_metrics {
            if self.last_error.is_some() || self.last_success_ms.is_none() {
                return Status::Down;
            }
            let malformed = self.scrape.as_ref().is_some_and(|s| s.malformed_count > 0);
            if health_ok && !malformed && !pg_down {
                Status::Up
            } else {
                Status::Degraded
            }
        } else if health_ok && !pg_down {
            Status::Up
        } else if self.health.iter().any(HealthState::healthy) {
            Status::Degraded
        } else {
            Status::Down
        }
    }

    /// The history of one watched series.
    pub fn points(&self, key: &str) -> &[Point] {
        self.series.get(key).map_or(&[], Vec::as_slice)
    }
}

/// A local path watched through statvfs.
#[derive(Debug, Clone, Default)]
pub struct DiskState {
    pub name: String,
    pub path: String,
    pub at_ms: Option<i64>,
    pub last: Option<Result<DiskUsage, String>>,
    /// History of used bytes.
    pub used: Vec<Point>,
}

/// Everything observed.
#[derive(Debug, Clone, Default)]
pub struct Store {
    pub targets: Vec<TargetState>,
    pub disks: Vec<DiskState>,
    pub limits: HistoryLimits,
    /// `[[fleet]]` sources, in config order.
    pub fleets: Vec<FleetState>,
    /// Sparkline histories read by a fleet's backfill, for the cockpit to take.
    pub pending_backfill: Vec<(usize, crate::obs::fleet::Backfill)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_bounded_by_points_and_age_and_ordered() {
        let lim = HistoryLimits {
            max_points: 3,
            max_age_ms: 10_000,
        };
        let mut pts = Vec::new();
        for t in 0..5 {
            push_point(&mut pts, (t * 1000, t as f64), lim);
        }
        assert_eq!(
            pts.iter().map(|p| p.0).collect::<Vec<_>>(),
            vec![2000, 3000, 4000]
        );
        push_point(&mut pts, (3500, 9.0), lim);
        assert_eq!(pts.len(), 3, "going back in time is refused");
        push_point(&mut pts, (20_000, 1.0), lim);
        assert_eq!(
            pts,
            vec![(20_000, 1.0)],
            "points older than the age bound leave"
        );
    }

    #[test]
    fn disk_usage_matches_df() {
        // df: size 100, free 30, avail 20 (10 reserved) -> used 70, use% = 70/90.
        let d = DiskUsage {
            size_bytes: 100.0,
            avail_bytes: 20.0,
            free_bytes: 30.0,
        };
        assert!((d.used_bytes() - 70.0).abs() < 1e-9);
        assert!((d.used_ratio() - 70.0 / 90.0).abs() < 1e-9);
    }

    #[test]
    fn status_follows_scrape_and_health() {
        let mut t = TargetState {
            has_metrics: true,
            ..TargetState::default()
        };
        assert_eq!(t.status(), Status::Pending);
        t.last_attempt_ms = Some(1);
        t.last_error = Some("connection refused".into());
        assert_eq!(t.status(), Status::Down);
        assert!(t.is_stale());
        t.last_error = None;
        t.last_success_ms = Some(1);
        assert_eq!(t.status(), Status::Up);
        assert!(!t.is_stale());
    }
}
