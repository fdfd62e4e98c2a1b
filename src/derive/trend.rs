//! Where a backlog or a disk is heading, and when it gets there.
//!
//! Both trends fit a least-squares line ([`deriv`]) through the window, so
//! one noisy scrape does not flip the arrow. The ETA projects that slope
//! from the latest observed value and counts down from the time of that
//! sample to `now`, so a stale series keeps counting down instead of
//! freezing at a comforting number.
//!
//! # When does a trend claim a direction?
//!
//! A trend says [`Direction::Flat`] unless the evidence shows a real move; an
//! operator must not be told "climbing" or "full in 21m" about noise. It
//! claims a direction only when all of these hold:
//!
//! - **Enough points**: at least three (two points always make a line). A
//!   value repeated by the points after it counts once: a range query at a
//!   finer step than the scrapes it reads repeats each sample, and the
//!   copies are no more evidence than the sample.
//! - **Beyond the noise**: the slope is further from zero than the scatter of
//!   the points around the line explains — its t statistic (slope over its
//!   standard error) passes the one-sided 99.9 % Student t quantile for the
//!   points' degrees of freedom (318 with three points, 7.2 with six), and
//!   never less than 5. A backlog jumping between 0 and 9 as batches run is
//!   flat; a stalled consumer's steady climb passes within a few scrapes.
//! - **Meaningful**: kept up for an hour, the slope would move the value by
//!   at least 0.1 % of a reference size (more than 1000 h, about 42 days, to
//!   move by the whole reference — past the `>30d` cap of [`format_eta`]).
//!   The reference is the current backlog (at least one item, so an empty
//!   queue that starts growing is not flat) and, for disks, the capacity (so
//!   a nearly empty disk filling at a real rate is not flat).
//! - **Visible** (backlogs): at least 0.05 items a second, the smallest rate
//!   the cockpit shows with its one decimal; `+0.0/s climbing` says nothing.
//!
//! # When does it claim an ETA?
//!
//! With a direction, and only up to [`ETA_HORIZON`] times the span of the
//! points it rests on: a minute of samples says little about the next day
//! (the usual `predict_linear` rules look a few windows ahead, not a
//! thousand). A wandering disk that moved 100 MB in the last minute is
//! shown filling at its rate, but not `full in 9h`.

use super::rate::deriv;
use super::{in_window, Point};

/// See the module docs: fraction of the reference size per hour below which
/// a slope counts as flat.
const FLAT_FRACTION_PER_HOUR: f64 = 0.001;

/// Fewest points a direction is read from.
const MIN_POINTS: usize = 3;

/// One-sided 99.9 % Student t quantiles for 1 to 6 degrees of freedom
/// (points − 2); from 7 on, [`T_FLOOR`] is the larger.
const T_CRITICAL: [f64; 6] = [318.309, 22.327, 10.215, 7.173, 5.893, 5.208];

/// The least t statistic a slope needs, however many points.
const T_FLOOR: f64 = 5.0;

/// Smallest backlog rate (items per second) that counts as moving: it
/// rounds to ±0.1/s on screen.
const MIN_BACKLOG_RATE: f64 = 0.05;

/// An ETA is claimed up to this many times the span of its points.
pub const ETA_HORIZON: f64 = 20.0;

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
/// window or a non-finite slope or value; with too little evidence of a move
/// (see the module docs) the direction is [`Direction::Flat`].
pub fn backlog_trend(points: &[Point], window_ms: i64, now_ms: i64) -> Option<Trend> {
    let fit = fit(points, window_ms, now_ms)?;
    let moving = fit.slope.abs() >= MIN_BACKLOG_RATE;
    let direction = classify(&fit, fit.value.abs().max(1.0), moving);
    let eta_s = match direction {
        Direction::Draining => fit.eta(fit.value.max(0.0) / -fit.slope, now_ms),
        Direction::Filling | Direction::Flat => None,
    };
    Some(Trend {
        slope_per_s: fit.slope,
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
    let fit = fit(used_points, window_ms, now_ms)?;
    let direction = classify(&fit, capacity, true);
    let eta_s = match direction {
        Direction::Filling => fit.eta((capacity - fit.value).max(0.0) / fit.slope, now_ms),
        Direction::Draining | Direction::Flat => None,
    };
    Some(Trend {
        slope_per_s: fit.slope,
        direction,
        eta_s,
    })
}

/// A line through the points of a window, and how much it can be trusted.
struct Fit {
    /// Least-squares slope, per second.
    slope: f64,
    /// Time and value of the last sample.
    t_last: i64,
    value: f64,
    /// Seconds from the first to the last sample.
    span_s: f64,
    /// Enough points, and a slope beyond their scatter (see the module docs).
    evident: bool,
}

impl Fit {
    /// `secs_from_last` as seen at `now`, if within the horizon of the evidence.
    fn eta(&self, secs_from_last: f64, now_ms: i64) -> Option<f64> {
        (secs_from_last <= ETA_HORIZON * self.span_s)
            .then(|| countdown(secs_from_last, self.t_last, now_ms))
    }
}

fn fit(points: &[Point], window_ms: i64, now_ms: i64) -> Option<Fit> {
    let slope = deriv(points, window_ms, now_ms)?;
    let w = in_window(points, window_ms, now_ms);
    let (&(t0, _), &(t_last, value)) = (w.first()?, w.last()?);
    if !(slope.is_finite() && value.is_finite()) {
        return None;
    }
    // A value repeated by the next points is one observation, not several: a range query
    // at a finer step than the scrapes it reads repeats each sample, and those copies are
    // no more evidence than the sample itself. Each run counts once, at its first time.
    let mut observed: Vec<Point> = Vec::with_capacity(w.len());
    for &p in w {
        #[allow(clippy::float_cmp)] // a copy is bit for bit the same value
        let repeat = observed.last().is_some_and(|q| q.1 == p.1);
        if !repeat {
            observed.push(p);
        }
    }
    Some(Fit {
        slope,
        t_last,
        value,
        span_s: (t_last - t0) as f64 / 1000.0,
        evident: evident(&observed, slope),
    })
}

/// Whether `points` show a slope of `slope`'s sign beyond their scatter (module docs).
fn evident(points: &[Point], slope: f64) -> bool {
    let n = points.len();
    let Some(&(t0, _)) = points.first() else {
        return false;
    };
    if n < MIN_POINTS {
        return false;
    }
    let x = |t: i64| (t - t0) as f64 / 1000.0;
    let mean_x = points.iter().map(|&(t, _)| x(t)).sum::<f64>() / n as f64;
    let mean_y = points.iter().map(|&(_, y)| y).sum::<f64>() / n as f64;
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for &(t, y) in points {
        let dx = x(t) - mean_x;
        sxx += dx * dx;
        sxy += dx * (y - mean_y);
    }
    if sxx <= 0.0 {
        return false;
    }
    let b = sxy / sxx;
    let rss: f64 = points
        .iter()
        .map(|&(t, y)| {
            let r = y - mean_y - b * (x(t) - mean_x);
            r * r
        })
        .sum();
    let df = n - 2;
    let critical = T_CRITICAL.get(df - 1).copied().unwrap_or(T_FLOOR);
    // |b| / se > critical, without dividing by a standard error of 0 (an exact line is
    // evident whenever it moves).
    let se_squared = rss / df as f64 / sxx;
    b * b > critical * critical * se_squared && b.signum() == slope.signum()
}

/// The direction of an evident fit whose slope is `meaningful` for its kind and
/// moves `reference` by more than the flat fraction an hour.
fn classify(fit: &Fit, reference: f64, meaningful: bool) -> Direction {
    if !fit.evident || !meaningful || fit.slope.abs() * 3600.0 < FLAT_FRACTION_PER_HOUR * reference
    {
        Direction::Flat
    } else if fit.slope < 0.0 {
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
    fn two_points_make_a_line_but_claim_no_direction() {
        let p = [(0, 10.0), (1_000, 50.0)];
        let t = backlog_trend(&p, 60_000, 1_000).expect("trend");
        assert!(close(t.slope_per_s, 40.0));
        assert_eq!((t.direction, t.eta_s), (Direction::Flat, None));
    }

    #[test]
    fn a_few_wandering_points_claim_neither_direction_nor_eta() {
        // A 200 GiB disk at 70 %, wandering by tens of MB between 1 s scrapes: three
        // points that happen to rise must not say `full in 21m`.
        let cap = 200.0 * 1024.0 * 1024.0 * 1024.0;
        let used = 0.7 * cap;
        let p = [(0, used), (1_000, used + 35e6), (2_000, used + 80e6)];
        let t = fill_trend(&p, cap, 60_000, 2_000).expect("trend");
        assert_eq!((t.direction, t.eta_s), (Direction::Flat, None), "{t:?}");
    }

    #[test]
    fn a_backlog_bouncing_between_batches_is_flat() {
        // A healthy consumer: 0-9 waiting, whatever the last batch left, every second.
        let p: Vec<Point> = (0..60)
            .map(|i| (i * 1_000, ((i * 7_919) % 10) as f64))
            .collect();
        let t = backlog_trend(&p, 60_000, 59_000).expect("trend");
        assert_eq!((t.direction, t.eta_s), (Direction::Flat, None), "{t:?}");
        // The same noise on a stalled consumer's climb of 35/s is plainly filling.
        let climb: Vec<Point> = p
            .iter()
            .map(|&(t, v)| (t, 4_000.0 + 35.0 * t as f64 / 1e3 + v))
            .collect();
        let t = backlog_trend(&climb[..6], 60_000, 5_000).expect("trend");
        assert_eq!(
            t.direction,
            Direction::Filling,
            "six scrapes of a stall: {t:?}"
        );
        // Its ticks alone (35/s, ±15 %) are plain from the fourth scrape.
        let steady = [
            (0, 4_000.0),
            (1_000, 4_035.0),
            (2_000, 4_065.0),
            (3_000, 4_105.0),
        ];
        let t = backlog_trend(&steady, 60_000, 3_000).expect("trend");
        assert_eq!(t.direction, Direction::Filling, "{t:?}");
    }

    #[test]
    fn a_rate_that_rounds_to_zero_is_flat() {
        // +0.04/s, exactly and steadily: on screen `+0.0/s`, so not `climbing`.
        let p = series(60, |t| 5.0 + 0.04 * t);
        let t = backlog_trend(&p, 600_000, 590_000).expect("trend");
        assert_eq!(t.direction, Direction::Flat, "{t:?}");
        let p = series(60, |t| 5.0 + 0.05 * t);
        let t = backlog_trend(&p, 600_000, 590_000).expect("trend");
        assert_eq!(t.direction, Direction::Filling, "{t:?}");
    }

    #[test]
    fn no_eta_beyond_twenty_times_the_evidence() {
        // A minute of a steady 2 MB/s on a disk with 56 GB free: filling, but 7.8 h away
        // is far beyond what a minute of samples can say.
        let p = series(7, |t| 100e9 + 2e6 * t);
        let t = fill_trend(&p, 156e9, 60_000, 60_000).expect("trend");
        assert_eq!((t.direction, t.eta_s), (Direction::Filling, None), "{t:?}");
        // Ten minutes of it reach 200 minutes ahead: still short of 7.8 h.
        let p = series(61, |t| 100e9 + 2e6 * t);
        let t = fill_trend(&p, 156e9, 600_000, 600_000).expect("trend");
        assert_eq!(t.eta_s, None, "{t:?}");
        // The same minute with 1 GB free: full in 500 s, within 20 minutes.
        let t =
            fill_trend(&series(7, |t| 100e9 + 2e6 * t), 101.12e9, 60_000, 60_000).expect("trend");
        assert!(close(t.eta_s.expect("eta"), 500.0), "{t:?}");
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
        // 1_000_000 items, -0.2/s → 720/h = 0.072 % of 1_000_000 < 0.1 % → flat.
        let slow = series(6, |t| 1_000_000.0 - 0.2 * t);
        let t = backlog_trend(&slow, 60_000, 50_000).expect("trend");
        assert_eq!(t.direction, Direction::Flat);
        assert_eq!(t.eta_s, None);
        // Same slope on 20 items: 720/h ≫ 0.02 → draining.
        let small = series(6, |t| 20.0 - 0.2 * t);
        let t = backlog_trend(&small, 60_000, 50_000).expect("trend");
        assert_eq!(t.direction, Direction::Draining);
        // 10 left after the fit at t = 50 s: 10 / 0.2 = 50 s
        assert!(close(t.eta_s.expect("eta"), 50.0), "{:?}", t.eta_s);
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
        let p = [(0, 10.0), (5_000, 2.5), (10_000, -5.0)];
        let t = backlog_trend(&p, 60_000, 10_000).expect("trend");
        assert_eq!(t.eta_s, Some(0.0));
    }

    #[test]
    fn disk_full_already_is_zero_eta() {
        let p = [(0, 90.0), (5_000, 95.5), (10_000, 101.0)];
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
