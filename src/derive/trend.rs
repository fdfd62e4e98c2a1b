//! Where a backlog or a disk is heading, and when it gets there.
//!
//! Both trends fit a least-squares line ([`deriv`]) through the window, so
//! one noisy scrape does not flip the arrow. The ETA projects that slope
//! from the latest observed value and counts down from the time of that
//! sample to `now`, so a stale series keeps counting down instead of
//! freezing at a comforting number.
//!
//! # When is a trend "flat"?
//!
//! A slope is [`Direction::Flat`] when, kept up for an hour, it would move
//! the value by less than 0.1 % of a reference size — i.e. it would take
//! more than 1000 h (about 42 days) to move by the whole reference. That is
//! past the `>30d` cap of [`format_eta`], so a non-flat trend always has an
//! ETA worth showing. The reference is the current backlog (at least one
//! item, so an empty queue that starts growing is not flat) and, for disks,
//! the capacity (so a nearly empty disk filling at a real rate is not flat).

use super::rate::deriv;
use super::{in_window, Point};

/// See the module docs: fraction of the reference size per hour below which
/// a slope counts as flat.
const FLAT_FRACTION_PER_HOUR: f64 = 0.001;

/// Longest ETA [`format_eta`] spells out.
const ETA_CAP_S: f64 = 30.0 * 86_400.0;

/// Which way a series is moving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Going down (backlog being worked off, disk space being freed).
    Draining,
    /// Going up.
    Filling,
    /// Not moving meaningfully (see the module docs).
    Flat,
}

/// Slope, direction and ETA of a series over a window.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Trend {
    /// Least-squares slope, units per second.
    pub slope_per_s: f64,
    pub direction: Direction,
    /// Seconds from `now` until the interesting event: a backlog reaching 0
    /// while draining, a disk reaching capacity while filling. `None` in
    /// every other case.
    pub eta_s: Option<f64>,
}

/// Trend of a backlog (outbox rows, queue depth). The ETA is the time until
/// it reaches 0 while draining. `None` with fewer than two points in the
/// window or a non-finite slope or value.
pub fn backlog_trend(points: &[Point], window_ms: i64, now_ms: i64) -> Option<Trend> {
    let (slope, t_last, value) = fit(points, window_ms, now_ms)?;
    let direction = classify(slope, value.abs().max(1.0));
    let eta_s = match direction {
        Direction::Draining => Some(countdown(value.max(0.0) / -slope, t_last, now_ms)),
        Direction::Filling | Direction::Flat => None,
    };
    Some(Trend {
        slope_per_s: slope,
        direction,
        eta_s,
    })
}

/// Trend of a disk's used bytes against its `capacity` (same unit). The ETA
/// is the time until used reaches capacity while filling (0 if it already
/// has). `None` for a capacity that is not a positive finite number, and in
/// the cases [`backlog_trend`] gives `None`.
pub fn fill_trend(
    used_points: &[Point],
    capacity: f64,
    window_ms: i64,
    now_ms: i64,
) -> Option<Trend> {
    if !(capacity.is_finite() && capacity > 0.0) {
        return None;
    }
    let (slope, t_last, used) = fit(used_points, window_ms, now_ms)?;
    let direction = classify(slope, capacity);
    let eta_s = match direction {
        Direction::Filling => Some(countdown(
            (capacity - used).max(0.0) / slope,
            t_last,
            now_ms,
        )),
        Direction::Draining | Direction::Flat => None,
    };
    Some(Trend {
        slope_per_s: slope,
        direction,
        eta_s,
    })
}

/// `(slope per s, time of the last sample, its value)` over the window.
fn fit(points: &[Point], window_ms: i64, now_ms: i64) -> Option<(f64, i64, f64)> {
    let slope = deriv(points, window_ms, now_ms)?;
    let &(t_last, value) = in_window(points, window_ms, now_ms).last()?;
    (slope.is_finite() && value.is_finite()).then_some((slope, t_last, value))
}

fn classify(slope: f64, reference: f64) -> Direction {
    if slope.abs() * 3600.0 < FLAT_FRACTION_PER_HOUR * reference {
        Direction::Flat
    } else if slope < 0.0 {
        Direction::Draining
    } else {
        Direction::Filling
    }
}

/// `secs_from_last` projected from the sample at `t_last`, as seen at `now`.
fn countdown(secs_from_last: f64, t_last: i64, now_ms: i64) -> f64 {
    let since_last = now_ms.saturating_sub(t_last) as f64 / 1000.0;
    (secs_from_last - since_last).max(0.0)
}

/// Short human form of an ETA: `45s`, `12m`, `3h05m`, `2d4h`, `>30d`.
///
/// Rounds down (an ETA shown a little early is safer than one shown late).
/// Zero or negative shows `0s`; beyond 30 days, or infinite, `>30d`; NaN `?`.
pub fn format_eta(secs: f64) -> String {
    if secs.is_nan() {
        return "?".to_owned();
    }
    if secs > ETA_CAP_S {
        return ">30d".to_owned();
    }
    if secs <= 0.0 {
        return "0s".to_owned();
    }
    let s = secs.floor() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h{:02}m", s / 3_600, s % 3_600 / 60),
        _ => format!("{}d{}h", s / 86_400, s % 86_400 / 3_600),
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    /// Samples every 10 s from t = 0 following `f(seconds)`.
    fn series(n: i64, f: impl Fn(f64) -> f64) -> Vec<Point> {
        (0..n).map(|i| (i * 10_000, f(i as f64 * 10.0))).collect()
    }

    #[test]
    fn format_eta_forms() {
        assert_eq!(format_eta(45.0), "45s");
        assert_eq!(format_eta(45.9), "45s");
        assert_eq!(format_eta(0.4), "0s");
        assert_eq!(format_eta(0.0), "0s");
        assert_eq!(format_eta(-3.0), "0s");
        assert_eq!(format_eta(59.999), "59s");
        assert_eq!(format_eta(60.0), "1m");
        assert_eq!(format_eta(12.0 * 60.0 + 59.0), "12m");
        assert_eq!(format_eta(3_599.0), "59m");
        assert_eq!(format_eta(3_600.0), "1h00m");
        assert_eq!(format_eta(3.0 * 3_600.0 + 5.0 * 60.0 + 30.0), "3h05m");
        assert_eq!(format_eta(86_399.0), "23h59m");
        assert_eq!(format_eta(86_400.0), "1d0h");
        assert_eq!(
            format_eta(2.0 * 86_400.0 + 4.0 * 3_600.0 + 59.0 * 60.0),
            "2d4h"
        );
        assert_eq!(format_eta(30.0 * 86_400.0), "30d0h");
        assert_eq!(format_eta(30.0 * 86_400.0 + 1.0), ">30d");
        assert_eq!(format_eta(f64::INFINITY), ">30d");
        assert_eq!(format_eta(f64::NEG_INFINITY), "0s");
        assert_eq!(format_eta(f64::NAN), "?");
    }

    #[test]
    fn too_few_points_is_none() {
        assert_eq!(backlog_trend(&[(0, 5.0)], 60_000, 0), None);
        assert_eq!(fill_trend(&[(0, 5.0)], 10.0, 60_000, 0), None);
        assert_eq!(backlog_trend(&[], 60_000, 0), None);
    }

    #[test]
    fn non_finite_values_are_none() {
        let p = [(0, 1.0), (10_000, f64::NAN)];
        assert_eq!(backlog_trend(&p, 60_000, 10_000), None);
        let inf = [(0, f64::INFINITY), (10_000, f64::INFINITY)];
        assert_eq!(backlog_trend(&inf, 60_000, 10_000), None);
    }

    #[test]
    fn bad_capacity_is_none() {
        let p = series(3, |t| t);
        for cap in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(fill_trend(&p, cap, 60_000, 20_000), None, "{cap}");
        }
    }

    #[test]
    fn empty_backlog_is_flat_and_has_no_eta() {
        let p = series(6, |_| 0.0);
        let t = backlog_trend(&p, 60_000, 50_000).expect("trend");
        assert_eq!(
            t,
            Trend {
                slope_per_s: 0.0,
                direction: Direction::Flat,
                eta_s: None
            }
        );
    }

    #[test]
    fn flat_threshold_is_relative_to_value() {
        // 10_000 items, -0.002/s → 7.2/h = 0.072 % of 10_000 < 0.1 % → flat.
        let slow = series(6, |t| 10_000.0 - 0.002 * t);
        let t = backlog_trend(&slow, 60_000, 50_000).expect("trend");
        assert_eq!(t.direction, Direction::Flat);
        assert_eq!(t.eta_s, None);
        // Same slope on 5 items: 7.2/h ≫ 0.005 → draining.
        let small = series(6, |t| 5.0 - 0.002 * t);
        let t = backlog_trend(&small, 60_000, 50_000).expect("trend");
        assert_eq!(t.direction, Direction::Draining);
        // 4.9 left after the fit at t = 50 s: 4.9 / 0.002 = 2450 s
        assert!(close(t.eta_s.expect("eta"), 2_450.0), "{:?}", t.eta_s);
    }

    #[test]
    fn filling_backlog_has_no_eta() {
        let p = series(4, |t| 100.0 + 2.0 * t);
        let t = backlog_trend(&p, 60_000, 30_000).expect("trend");
        assert_eq!(t.direction, Direction::Filling);
        assert!(close(t.slope_per_s, 2.0));
        assert_eq!(t.eta_s, None);
    }

    #[test]
    fn eta_counts_down_from_last_sample_and_stops_at_zero() {
        // 100 → 40 over 30 s: slope -2/s, 40 left → 20 s after the last sample.
        let p = series(4, |t| 100.0 - 2.0 * t);
        let at = |now| {
            backlog_trend(&p, 100_000, now)
                .expect("trend")
                .eta_s
                .expect("eta")
        };
        assert!(close(at(30_000), 20.0));
        assert!(close(at(35_000), 15.0));
        assert_eq!(at(80_000), 0.0);
    }

    #[test]
    fn overshoot_below_zero_reports_zero_eta() {
        // A backlog gauge cannot be negative, but a broken exporter might say so.
        let p = [(0, 10.0), (10_000, -5.0)];
        let t = backlog_trend(&p, 60_000, 10_000).expect("trend");
        assert_eq!(t.eta_s, Some(0.0));
    }

    #[test]
    fn disk_full_already_is_zero_eta() {
        let p = [(0, 90.0), (10_000, 101.0)];
        let t = fill_trend(&p, 100.0, 60_000, 10_000).expect("trend");
        assert_eq!(t.direction, Direction::Filling);
        assert_eq!(t.eta_s, Some(0.0));
    }

    #[test]
    fn disk_freeing_space_has_no_eta() {
        let p = series(4, |t| 500.0 - 1.0 * t);
        let t = fill_trend(&p, 1_000.0, 60_000, 30_000).expect("trend");
        assert_eq!(t.direction, Direction::Draining);
        assert_eq!(t.eta_s, None);
    }

    #[test]
    fn disk_flat_is_relative_to_capacity() {
        // 1 GB/h on a 10 TB disk: 0.01 %/h < 0.1 %/h → flat.
        let cap = 10e12;
        let p = series(7, |t| 5e12 + 1e9 / 3_600.0 * t);
        let t = fill_trend(&p, cap, 60_000, 60_000).expect("trend");
        assert_eq!(t.direction, Direction::Flat);
        // 20 GB/h: 0.2 %/h → filling.
        let p = series(7, |t| 5e12 + 20e9 / 3_600.0 * t);
        let t = fill_trend(&p, cap, 60_000, 60_000).expect("trend");
        assert_eq!(t.direction, Direction::Filling);
    }
}
