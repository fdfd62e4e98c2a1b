//! Counter increase and rate, gauge delta and least-squares slope over a
//! window of stored samples.
//!
//! # Why we do not extrapolate
//!
//! `PromQL`'s `rate()`/`increase()` stretch the observed change out to the
//! window edges, guessing what happened before the first and after the last
//! sample. We divide by the time actually covered — first to last sample in
//! the window — and report only what was observed:
//! - our collectors scrape on a fixed interval we control, so the covered
//!   span is always close to the window and the guess buys little;
//! - an operator deciding whether to page someone should see the change that
//!   really happened, not a model of it (`PromQL`'s `increase()` famously
//!   returns non-integers for integer counters);
//! - for evenly spaced samples whose edge gaps are under 1.1 intervals, the
//!   extrapolated rate equals ours anyway (the factor scales numerator and
//!   denominator alike); only `increase` differs, by that factor.
//!
//! Counter resets are handled as in Prometheus: any decrease means the
//! counter restarted from 0, so the value before the drop is added back.

use super::{in_window, Point};

/// How much a counter went up within the window (`now - window`, `now`],
/// counting through resets. `None` with fewer than two points in the window.
///
/// Computed like Prometheus: `last - first`, plus the pre-drop value at every
/// decrease. No extrapolation (see the module docs).
pub fn increase(points: &[Point], window_ms: i64, now_ms: i64) -> Option<f64> {
    counter_increase(in_window(points, window_ms, now_ms))
}

/// [`increase`] over an already selected window.
fn counter_increase(w: &[Point]) -> Option<f64> {
    let (first, last) = first_last(w)?;
    let mut result = last.1 - first.1;
    let mut prev = first.1;
    for &(_, v) in &w[1..] {
        if v < prev {
            result += prev;
        }
        prev = v;
    }
    Some(result)
}

/// Per-second [`increase`]: the increase divided by the seconds between the
/// first and last point in the window (not by the window length — see the
/// module docs). `None` with fewer than two points, or if they share one
/// timestamp.
pub fn rate(points: &[Point], window_ms: i64, now_ms: i64) -> Option<f64> {
    let w = in_window(points, window_ms, now_ms);
    let (first, last) = first_last(w)?;
    let span_s = span_seconds(first.0, last.0)?;
    counter_increase(w).map(|inc| inc / span_s)
}

/// Gauge change within the window: last value minus first value, no reset
/// handling and no extrapolation. `None` with fewer than two points.
pub fn delta_gauge(points: &[Point], window_ms: i64, now_ms: i64) -> Option<f64> {
    let (first, last) = first_last(in_window(points, window_ms, now_ms))?;
    Some(last.1 - first.1)
}

/// Least-squares slope per second of the points in the window, like `PromQL`
/// `deriv()`.
///
/// Same model as Prometheus `linearRegression` (x = seconds since the first
/// sample, a constant series has slope exactly 0), but computed in two
/// centred passes instead of Kahan-summed raw moments: timestamps relative
/// to the first sample keep x small, and centring avoids the cancellation in
/// `Σxy - ΣxΣy/n`. Results therefore agree with Prometheus to float
/// rounding, not bit for bit. `None` with fewer than two points or when all
/// points share one timestamp.
pub fn deriv(points: &[Point], window_ms: i64, now_ms: i64) -> Option<f64> {
    let w = in_window(points, window_ms, now_ms);
    let (first, _) = first_last(w)?;
    let (t0, y0) = *first;
    #[allow(clippy::float_cmp)] // Prometheus' constY check is exact equality
    if w.iter().all(|&(_, y)| y == y0) {
        // Prometheus returns NaN for a constant ±Inf series, 0 otherwise.
        return Some(if y0.is_infinite() { f64::NAN } else { 0.0 });
    }
    let n = w.len() as f64;
    let x = |t: i64| (t - t0) as f64 / 1000.0;
    let mean_x = w.iter().map(|&(t, _)| x(t)).sum::<f64>() / n;
    let mean_y = w.iter().map(|&(_, y)| y).sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for &(t, y) in w {
        let dx = x(t) - mean_x;
        sxy += dx * (y - mean_y);
        sxx += dx * dx;
    }
    if sxx == 0.0 {
        return None;
    }
    Some(sxy / sxx)
}

/// First and last point, or `None` when there are fewer than two.
fn first_last(w: &[Point]) -> Option<(&Point, &Point)> {
    match w {
        [first, .., last] => Some((first, last)),
        _ => None,
    }
}

/// Seconds from `t0` to `t1` (ms), or `None` when not positive.
fn span_seconds(t0: i64, t1: i64) -> Option<f64> {
    let ms = t1.checked_sub(t0)?;
    (ms > 0).then(|| ms as f64 / 1000.0)
}

#[cfg(test)]
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn fewer_than_two_points_is_none() {
        let one = [(1_000, 5.0)];
        assert_eq!(increase(&one, 60_000, 1_000), None);
        assert_eq!(rate(&one, 60_000, 1_000), None);
        assert_eq!(delta_gauge(&one, 60_000, 1_000), None);
        assert_eq!(deriv(&one, 60_000, 1_000), None);
        assert_eq!(increase(&[], 60_000, 1_000), None);
        // Two points, but one is outside the window.
        let two = [(0, 1.0), (30_000, 2.0)];
        assert_eq!(increase(&two, 30_000, 30_000), None);
    }

    #[test]
    fn increase_without_reset() {
        let p = [(0, 10.0), (15_000, 13.0), (30_000, 19.0)];
        assert_eq!(increase(&p, 60_000, 30_000), Some(9.0));
        // 9 over 30 s
        assert_eq!(rate(&p, 60_000, 30_000), Some(0.3));
    }

    #[test]
    fn every_decrease_is_a_reset() {
        // 5 → 8 (+3), 8 → 2 (reset, +2), 2 → 1 (reset, +1), 1 → 4 (+3) = 9
        let p = [
            (0, 5.0),
            (1_000, 8.0),
            (2_000, 2.0),
            (3_000, 1.0),
            (4_000, 4.0),
        ];
        assert_eq!(increase(&p, 10_000, 4_000), Some(9.0));
        assert_eq!(rate(&p, 10_000, 4_000), Some(2.25));
    }

    #[test]
    fn reset_to_zero_counts_nothing_extra() {
        // 7 → 0 (reset, +0), 0 → 3 (+3)
        let p = [(0, 7.0), (1_000, 0.0), (2_000, 3.0)];
        assert_eq!(increase(&p, 10_000, 2_000), Some(3.0));
    }

    #[test]
    fn rate_with_duplicate_timestamps_is_none() {
        let p = [(5_000, 1.0), (5_000, 2.0)];
        assert_eq!(increase(&p, 10_000, 5_000), Some(1.0));
        assert_eq!(rate(&p, 10_000, 5_000), None);
        assert_eq!(deriv(&p, 10_000, 5_000), None);
    }

    #[test]
    fn delta_gauge_can_be_negative_and_ignores_middle() {
        let p = [(0, 50.0), (1_000, 90.0), (2_000, 20.0)];
        assert_eq!(delta_gauge(&p, 10_000, 2_000), Some(-30.0));
    }

    #[test]
    fn deriv_of_exact_line() {
        // y = 100 - 2·t(s)
        let p: Vec<Point> = (0..10)
            .map(|i| (i * 10_000, 100.0 - 20.0 * i as f64))
            .collect();
        let d = deriv(&p, 1_000_000, 90_000).expect("slope");
        assert!(close(d, -2.0), "{d}");
    }

    #[test]
    fn deriv_least_squares_not_endpoints() {
        // x = 0,1,2,3; y = 0,3,2,6: mean x 1.5, mean y 2.75;
        // Σdxdy = (-1.5)(-2.75)+(-0.5)(0.25)+(0.5)(-0.75)+(1.5)(3.25) = 8.5
        // Σdx² = 5 → slope 1.7 (endpoints would say 2).
        let p = [(0, 0.0), (1_000, 3.0), (2_000, 2.0), (3_000, 6.0)];
        assert!(close(deriv(&p, 10_000, 3_000).expect("slope"), 1.7));
    }

    #[test]
    fn deriv_is_stable_at_real_timestamps() {
        // Around 2025 in ms, values around 1e9: raw-moment formulas lose
        // digits here; the centred form must still find slope 0.5/s.
        let t0 = 1_750_000_000_000_i64;
        let p: Vec<Point> = (0..60)
            .map(|i| (t0 + i * 1_000, 1e9 + 0.5 * i as f64))
            .collect();
        let d = deriv(&p, 120_000, t0 + 59_000).expect("slope");
        assert!((d - 0.5).abs() < 1e-6, "{d}");
    }

    #[test]
    fn deriv_of_constant_is_exactly_zero() {
        let p = [(0, 0.1), (1_000, 0.1), (2_000, 0.1)];
        assert_eq!(deriv(&p, 10_000, 2_000), Some(0.0));
        let inf = [(0, f64::INFINITY), (1_000, f64::INFINITY)];
        assert!(deriv(&inf, 10_000, 1_000).expect("some").is_nan());
    }
}
