//! Derive: pure functions that turn stored samples into the numbers an
//! on-call operator acts on — counter rates, histogram quantiles over a
//! window, backlog drain and disk fill ETAs.
//!
//! Nothing here reads the clock or does I/O: `now_ms` is always passed in, so
//! every value on screen can be reproduced from a scripted scenario
//! (`tests/it/derive_scenarios.rs`).
//!
//! Conventions shared by all functions:
//! - A sample is a [`Point`] `(unix_ms, value)`; slices are in time order
//!   (oldest first). Unsorted input does not panic, but the answer is
//!   unspecified.
//! - A window of `window_ms` ending at `now_ms` holds the points with
//!   `now_ms - window_ms < t <= now_ms` (left-open, as `PromQL` range
//!   selectors since Prometheus 3.0). Points after `now_ms` are ignored.

pub use crate::obs::Point;
pub mod alerts;
pub mod db;
pub mod panels;
pub mod quantile;
pub mod rate;
pub mod remote;
pub mod replay;
pub mod rules;
pub mod trend;

pub use quantile::{bucket_increase, histogram_quantile, parse_le, quantile_over_window, Bucket};
pub use rate::{delta_gauge, deriv, increase, rate};
pub use trend::{backlog_trend, fill_trend, format_eta, Direction, Trend};

/// The points of `points` with `now_ms - window_ms < t <= now_ms`.
///
/// Uses binary search, so it relies on `points` being in time order. A
/// non-positive window is empty.
pub(crate) fn in_window(points: &[Point], window_ms: i64, now_ms: i64) -> &[Point] {
    if window_ms <= 0 {
        return &[];
    }
    // saturating: a window reaching before i64::MIN simply means "everything".
    let start = now_ms.saturating_sub(window_ms);
    let lo = points.partition_point(|&(t, _)| t <= start);
    let hi = points.partition_point(|&(t, _)| t <= now_ms);
    if lo >= hi {
        &[]
    } else {
        &points[lo..hi]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PTS: [Point; 4] = [(1_000, 1.0), (2_000, 2.0), (3_000, 3.0), (4_000, 4.0)];

    #[test]
    fn window_is_left_open_right_closed() {
        // (1000, 3000] keeps 2000 and 3000, drops the point exactly at the start.
        assert_eq!(in_window(&PTS, 2_000, 3_000), &PTS[1..3]);
    }

    #[test]
    fn window_ignores_future_points() {
        assert_eq!(in_window(&PTS, 10_000, 2_500), &PTS[0..2]);
    }

    #[test]
    fn empty_and_degenerate_windows() {
        assert!(in_window(&PTS, 0, 4_000).is_empty());
        assert!(in_window(&PTS, -5, 4_000).is_empty());
        assert!(in_window(&PTS, 1_000, 500).is_empty());
        assert!(in_window(&[], 1_000, 500).is_empty());
        assert_eq!(in_window(&PTS, i64::MAX, i64::MIN + 10), &[] as &[Point]);
        assert_eq!(in_window(&PTS, i64::MAX, 4_000), &PTS[..]);
    }
}
