//! Scripted scenarios for `watchdeck::derive`: observations go in, the
//! numbers an operator would see come out. Every expected value is worked
//! out by hand in the comment above it, following `PromQL`
//! (`promql/quantile.go` `BucketQuantile`, `functions.go` `extrapolatedRate`
//! and `linearRegression`); where we deliberately differ from `PromQL`
//! (no extrapolation in `increase`), the comment gives both numbers.
//!
//! Exact comparisons are used wherever the float arithmetic is exact; a
//! tolerance only where the hand value is a rounded decimal.

#![allow(clippy::float_cmp)]

use watchdeck::derive::{
    backlog_trend, bucket_increase, delta_gauge, deriv, fill_trend, format_eta, histogram_quantile,
    increase, parse_le, quantile_over_window, rate, Bucket, Direction, Point,
};

const INF: f64 = f64::INFINITY;

fn buckets(pairs: &[(&str, f64)]) -> Vec<Bucket> {
    pairs
        .iter()
        .map(|&(le, count)| Bucket {
            upper_bound: parse_le(le).expect("valid le"),
            count,
        })
        .collect()
}

#[track_caller]
fn assert_close(actual: f64, expected: f64, tol: f64) {
    assert!(
        (actual - expected).abs() <= tol,
        "expected {expected} ± {tol}, got {actual}"
    );
}

// ---------------------------------------------------------------------------
// histogram_quantile
// ---------------------------------------------------------------------------

/// le=0.1:10, 0.2:20, 0.4:40, +Inf:40 (40 observations).
fn latency_hist() -> Vec<Bucket> {
    buckets(&[("0.1", 10.0), ("0.2", 20.0), ("0.4", 40.0), ("+Inf", 40.0)])
}

#[test]
fn median_lands_exactly_on_a_bucket_bound() {
    // rank = 0.5·40 = 20; first count ≥ 20 is le=0.2 (b = 1).
    // 0.1 + (0.2 - 0.1)·((20 - 10)/(20 - 10)) = 0.1 + 0.1·1 = 0.2, exact in f64
    // (0.2 is 0.1 shifted one binary place).
    assert_eq!(histogram_quantile(0.5, &latency_hist()), 0.2);
}

#[test]
fn p95_is_interpolated_inside_its_bucket() {
    // rank = 0.95·40 = 38 → le=0.4 (count 40 ≥ 38), b = 2.
    // 0.2 + (0.4 - 0.2)·((38 - 20)/(40 - 20)) = 0.2 + 0.2·0.9 = 0.38
    assert_close(histogram_quantile(0.95, &latency_hist()), 0.38, 1e-12);
}

#[test]
fn low_quantiles_interpolate_from_zero() {
    // rank = 0.1·40 = 4 → b = 0, bucketStart = 0: 0 + 0.1·(4/10) = 0.04
    assert_close(histogram_quantile(0.1, &latency_hist()), 0.04, 1e-15);
    // rank = 10 → b = 0 (10 ≥ 10): 0.1·(10/10) = 0.1 exactly
    assert_eq!(histogram_quantile(0.25, &latency_hist()), 0.1);
    // rank = 40 → b = 2: 0.2 + 0.2·(20/20) = 0.4 exactly
    assert_eq!(histogram_quantile(1.0, &latency_hist()), 0.4);
}

#[test]
fn q_outside_unit_interval() {
    assert_eq!(histogram_quantile(-0.5, &latency_hist()), -INF);
    assert_eq!(histogram_quantile(1.5, &latency_hist()), INF);
    assert!(histogram_quantile(f64::NAN, &latency_hist()).is_nan());
}

#[test]
fn non_monotonic_buckets_are_flattened() {
    // le=1:5, 2:3, 4:8, +Inf:10 — a torn scrape. The decrease 5→3 is forced
    // up to 5 (prev stays 5); counts become 5, 5, 8, 10.
    let h = buckets(&[("1", 5.0), ("2", 3.0), ("4", 8.0), ("+Inf", 10.0)]);
    // q=0.75: rank 7.5 → le=4 (8 ≥ 7.5), b = 2:
    // 2 + (4 - 2)·((7.5 - 5)/(8 - 5)) = 2 + 2·(2.5/3) = 3.6666…
    assert_close(histogram_quantile(0.75, &h), 11.0 / 3.0, 1e-12);
    // q=0.45: rank 4.5 → b = 0: 0 + 1·(4.5/5) = 0.9
    assert_close(histogram_quantile(0.45, &h), 0.9, 1e-15);
    // q=0.5: rank 5 → b = 0 (5 ≥ 5): 1·(5/5) = 1 exactly. Without the fix the
    // binary search over [5, 3, 8] would be meaningless.
    assert_eq!(histogram_quantile(0.5, &h), 1.0);
}

#[test]
fn duplicate_le_is_summed_and_order_does_not_matter() {
    // Shuffled, with le=0.5 and +Inf each twice: sorted and coalesced to
    // le=0.5:5, 1:10, +Inf:10.
    let h = buckets(&[
        ("+Inf", 6.0),
        ("0.5", 3.0),
        ("1", 10.0),
        ("0.5", 2.0),
        ("+Inf", 4.0),
    ]);
    // q=0.25: rank 2.5 → b = 0: 0.5·(2.5/5) = 0.25 exactly.
    // (Not coalesced, le=0.5:3 would give 0.5·(2.5/3) = 0.41666….)
    assert_eq!(histogram_quantile(0.25, &h), 0.25);
    // q=0.75: rank 7.5 → b = 1: 0.5 + 0.5·((7.5 - 5)/(10 - 5)) = 0.75 exactly.
    assert_eq!(histogram_quantile(0.75, &h), 0.75);
}

#[test]
fn missing_inf_bucket_is_nan() {
    let h = buckets(&[("0.1", 10.0), ("0.2", 20.0), ("0.4", 40.0)]);
    assert!(histogram_quantile(0.5, &h).is_nan());
}

#[test]
fn zero_observations_is_nan() {
    let h = buckets(&[("0.1", 0.0), ("0.2", 0.0), ("+Inf", 0.0)]);
    assert!(histogram_quantile(0.5, &h).is_nan());
}

#[test]
fn fewer_than_two_buckets_is_nan() {
    assert!(histogram_quantile(0.5, &buckets(&[("+Inf", 5.0)])).is_nan());
}

#[test]
fn everything_in_inf_returns_second_highest_bound() {
    // le=0.1:0, 0.2:0, +Inf:7. rank = q·7 > 0 is reached by no finite
    // bucket → b = len-1 → upper bound of bucket len-2 = 0.2.
    let h = buckets(&[("0.1", 0.0), ("0.2", 0.0), ("+Inf", 7.0)]);
    assert_eq!(histogram_quantile(0.5, &h), 0.2);
    assert_eq!(histogram_quantile(0.99, &h), 0.2);
    // q = 0: rank 0 → b = 0 (0 ≥ 0) → 0 + 0.1·(0/0) = NaN, as in PromQL.
    assert!(histogram_quantile(0.0, &h).is_nan());
}

#[test]
fn negative_first_bucket() {
    // le=-1:2, 0:5, 1:10, +Inf:10 (e.g. clock skew in ms, can be negative).
    let h = buckets(&[("-1", 2.0), ("0", 5.0), ("1", 10.0), ("+Inf", 10.0)]);
    // q=0.1: rank 1 → b = 0 and bound -1 ≤ 0 → -1 itself (no interpolation).
    assert_eq!(histogram_quantile(0.1, &h), -1.0);
    // q=0.4: rank 4 → b = 1: -1 + (0 - -1)·((4 - 2)/(5 - 2)) = -1/3
    assert_close(histogram_quantile(0.4, &h), -1.0 / 3.0, 1e-15);
    // q=0.75: rank 7.5 → b = 2: 0 + 1·((7.5 - 5)/(10 - 5)) = 0.5 exactly
    assert_eq!(histogram_quantile(0.75, &h), 0.5);
}

// ---------------------------------------------------------------------------
// quantile over a window of stored bucket counters
// ---------------------------------------------------------------------------

/// Webhook ACK latency, scraped every 15 s at t = 0…75 s, service restarted
/// between 30 s and 45 s. Bounds: 0.05, 0.1, 0.25, 0.5, 1, +Inf.
/// Before the restart: base + k·d at t = 15k s, with
///   base = [100, 150, 180, 195, 199, 200], d = [10, 20, 30, 36, 39, 40].
/// At 45 s (fresh process): r = [4, 8, 12, 14, 15, 16]; then r + d, r + 2d.
fn ack_latency_series() -> Vec<(f64, Vec<Point>)> {
    let les = [0.05, 0.1, 0.25, 0.5, 1.0, INF];
    let base = [100.0, 150.0, 180.0, 195.0, 199.0, 200.0];
    let d = [10.0, 20.0, 30.0, 36.0, 39.0, 40.0];
    let r = [4.0, 8.0, 12.0, 14.0, 15.0, 16.0];
    (0..6)
        .map(|i| {
            let pts = vec![
                (0, base[i]),
                (15_000, base[i] + d[i]),
                (30_000, base[i] + 2.0 * d[i]),
                (45_000, r[i]),
                (60_000, r[i] + d[i]),
                (75_000, r[i] + 2.0 * d[i]),
            ];
            (les[i], pts)
        })
        .collect()
}

#[test]
fn quantile_over_window_through_a_restart() {
    let series = ack_latency_series();
    let refs: Vec<(f64, &[Point])> = series.iter().map(|(le, p)| (*le, p.as_slice())).collect();
    // Window 60 s at now = 75 s is (15 s, 75 s]: t = 30, 45, 60, 75.
    // Per bucket: 30→45 is a reset (+r), then +d, +d → increase = r + 2d
    //   = [24, 48, 72, 86, 93, 96].
    // q=0.5: rank 48 → le=0.1 (b = 1): 0.05 + 0.05·((48-24)/(48-24)) = 0.1
    assert_eq!(quantile_over_window(0.5, &refs, 60_000, 75_000), 0.1);
    // q=0.9: rank 86.4 → 86 < 86.4 ≤ 93 → le=1 (b = 4):
    //   0.5 + 0.5·((86.4 - 86)/(93 - 86)) = 0.5 + 0.5·(0.4/7) = 0.528571…
    assert_close(
        quantile_over_window(0.9, &refs, 60_000, 75_000),
        0.528_571_428_571_428_6,
        1e-12,
    );
    // q=0.99: rank 95.04 > 93 → only +Inf reaches it → le=1 (second highest).
    assert_eq!(quantile_over_window(0.99, &refs, 60_000, 75_000), 1.0);
    // PromQL would scale every bucket's increase by the same factor
    // (first sample 15 s after the window start < 1.1·15 s; zero point
    // 45·first/increase ≥ 131 s > 15 s → factor (45+15)/45 = 4/3 for all),
    // and the quantile does not change under a common factor.
    // Before the restart (window (0, 30 s] at now = 30 s): increase = 2d =
    // [20, 40, 60, 72, 78, 80]; q=0.5: rank 40 → le=0.1: 0.05 + 0.05·(20/20)
    assert_eq!(quantile_over_window(0.5, &refs, 30_000, 30_000), 0.1);
}

#[test]
fn bucket_increase_between_two_snapshots() {
    let series = ack_latency_series();
    let at = |i: usize| -> Vec<Bucket> {
        series
            .iter()
            .map(|(le, p)| Bucket {
                upper_bound: *le,
                count: p[i].1,
            })
            .collect()
    };
    // t=60 → t=75: no reset, increase = d.
    let inc = bucket_increase(&at(4), &at(5));
    let counts: Vec<f64> = inc.iter().map(|b| b.count).collect();
    assert_eq!(counts, vec![10.0, 20.0, 30.0, 36.0, 39.0, 40.0]);
    // t=30 → t=45: every bucket went down → reset → increase = r.
    let inc = bucket_increase(&at(2), &at(3));
    let counts: Vec<f64> = inc.iter().map(|b| b.count).collect();
    assert_eq!(counts, vec![4.0, 8.0, 12.0, 14.0, 15.0, 16.0]);
    // Quantile over the t=60→75 increases d: q=0.5 rank 20 → le=0.1 (20 ≥ 20):
    // 0.05 + 0.05·((20-10)/(20-10)) = 0.1
    assert_eq!(
        histogram_quantile(0.5, &bucket_increase(&at(4), &at(5))),
        0.1
    );
}

// ---------------------------------------------------------------------------
// counters
// ---------------------------------------------------------------------------

/// Delivered webhooks: 100, 130, 160, then the process restarts and counts
/// 10, 40 (15 s scrapes, t = 0…60 s).
const DELIVERED: [Point; 5] = [
    (0, 100.0),
    (15_000, 130.0),
    (30_000, 160.0),
    (45_000, 10.0),
    (60_000, 40.0),
];

#[test]
fn counter_reset_inside_the_window() {
    // Window 60 s at now = 60 s is (0, 60 s]: t = 15, 30, 45, 60.
    // 130→160 +30; 160→10 reset +10; 10→40 +30 → 70
    // (Prometheus form: last - first + pre-drop values = 40 - 130 + 160 = 70.)
    assert_eq!(increase(&DELIVERED, 60_000, 60_000), Some(70.0));
    // rate: 70 over the 45 s actually covered = 1.5555…/s.
    // PromQL: increase is extrapolated by (45 + 15)/45 → 93.33, and
    // rate = 93.33/60 = 1.5555…/s — the same rate, a different increase.
    assert_close(
        rate(&DELIVERED, 60_000, 60_000).expect("rate"),
        70.0 / 45.0,
        1e-12,
    );
    // Window 61 s also takes in t = 0: 30 + 30 + 10 + 30 = 100 over 60 s.
    assert_eq!(increase(&DELIVERED, 61_000, 60_000), Some(100.0));
    assert_close(
        rate(&DELIVERED, 61_000, 60_000).expect("rate"),
        100.0 / 60.0,
        1e-12,
    );
}

#[test]
fn counter_with_one_sample_in_window_has_no_rate() {
    // Window 10 s at now = 60 s is (50 s, 60 s]: only t = 60.
    assert_eq!(increase(&DELIVERED, 10_000, 60_000), None);
    assert_eq!(rate(&DELIVERED, 10_000, 60_000), None);
}

#[test]
fn gauge_delta_and_deriv() {
    // SSE clients: 40, 46, 44, 52 every 15 s.
    let sse: [Point; 4] = [(0, 40.0), (15_000, 46.0), (30_000, 44.0), (45_000, 52.0)];
    // delta = 52 - 40 = 12 (middle points ignored)
    assert_eq!(delta_gauge(&sse, 60_000, 45_000), Some(12.0));
    // deriv: x = 0, 15, 30, 45 (mean 22.5), y mean 45.5.
    // Σdx·dy = (-22.5)(-5.5) + (-7.5)(0.5) + (7.5)(-1.5) + (22.5)(6.5)
    //        = 123.75 - 3.75 - 11.25 + 146.25 = 255
    // Σdx² = 2·(506.25 + 56.25) = 1125 → slope 255/1125 = 0.22666…/s
    assert_close(
        deriv(&sse, 60_000, 45_000).expect("slope"),
        255.0 / 1125.0,
        1e-12,
    );
}

// ---------------------------------------------------------------------------
// backlog and disk trends
// ---------------------------------------------------------------------------

#[test]
fn backlog_draining_with_eta() {
    // Outbox backlog every 15 s after the consumer came back.
    let backlog: [Point; 6] = [
        (0, 1200.0),
        (15_000, 1100.0),
        (30_000, 1050.0),
        (45_000, 900.0),
        (60_000, 820.0),
        (75_000, 700.0),
    ];
    // x = 0…75 (mean 37.5), dx = ±37.5, ±22.5, ±7.5; Σdx² = 3937.5.
    // Σdx·y = -45000 - 24750 - 7875 + 6750 + 18450 + 26250 = -26175
    // slope = -26175/3937.5 = -6.647619…/s → draining.
    let t = backlog_trend(&backlog, 120_000, 75_000).expect("trend");
    assert_close(t.slope_per_s, -26_175.0 / 3_937.5, 1e-12);
    assert_eq!(t.direction, Direction::Draining);
    // 700 left at t = 75 s: 700/6.647619 = 105.3009 s from the last sample.
    let eta = t.eta_s.expect("eta");
    assert_close(eta, 700.0 * 3_937.5 / 26_175.0, 1e-9);
    assert_eq!(format_eta(eta), "1m");
    // Five seconds later with no new sample, the countdown moves on.
    let later = backlog_trend(&backlog, 120_000, 80_000).expect("trend");
    assert_close(
        later.eta_s.expect("eta"),
        700.0 * 3_937.5 / 26_175.0 - 5.0,
        1e-9,
    );
}

#[test]
fn backlog_growing_has_no_eta() {
    let backlog: [Point; 3] = [(0, 10.0), (15_000, 40.0), (30_000, 70.0)];
    let t = backlog_trend(&backlog, 60_000, 30_000).expect("trend");
    assert_eq!(t.direction, Direction::Filling);
    assert_close(t.slope_per_s, 2.0, 1e-12);
    assert_eq!(t.eta_s, None);
}

#[test]
fn disk_filling_with_eta() {
    // 100 GiB volume, used = 80 GiB + 10 MiB/s · t, sampled every 60 s.
    const MIB: f64 = 1024.0 * 1024.0;
    let capacity = 100.0 * 1024.0 * MIB;
    let used: Vec<Point> = (0..=10)
        .map(|i| {
            (
                i * 60_000,
                80.0 * 1024.0 * MIB + 10.0 * MIB * (i * 60) as f64,
            )
        })
        .collect();
    // Window 10 min at now = 600 s: t = 60…600 s, an exact line.
    let t = fill_trend(&used, capacity, 600_000, 600_000).expect("trend");
    assert_close(t.slope_per_s, 10.0 * MIB, 1e-3);
    assert_eq!(t.direction, Direction::Filling);
    // used(600 s) = 81920 + 6000 = 87920 MiB; 14480 MiB left at 10 MiB/s = 1448 s.
    let eta = t.eta_s.expect("eta");
    assert_close(eta, 1_448.0, 1e-6);
    assert_eq!(format_eta(eta), "24m");
    // 30 s after the last sample the window is (30 s, 630 s]: same points,
    // same line, and the ETA has counted down to 1418 s.
    let later = fill_trend(&used, capacity, 600_000, 630_000).expect("trend");
    assert_close(later.eta_s.expect("eta"), 1_418.0, 1e-6);
}

#[test]
fn eta_formatting_examples() {
    assert_eq!(format_eta(45.0), "45s");
    assert_eq!(format_eta(12.0 * 60.0), "12m");
    assert_eq!(format_eta(3.0 * 3600.0 + 5.0 * 60.0), "3h05m");
    assert_eq!(format_eta(2.0 * 86_400.0 + 4.0 * 3600.0), "2d4h");
    assert_eq!(format_eta(31.0 * 86_400.0), ">30d");
}
