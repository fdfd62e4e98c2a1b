//! Classic-histogram quantiles, exactly as `PromQL`'s `histogram_quantile`.
//!
//! [`histogram_quantile`] is a port of `BucketQuantile` in Prometheus
//! `promql/quantile.go` (the v3 code with `coalesceBuckets`,
//! `ensureMonotonicAndIgnoreSmallDeltas` and `smallDeltaTolerance = 1e-12`,
//! using `util/almost.Equal`). Operators compare our p99 with their Grafana
//! panels, so we follow it step for step — including its quirks, such as
//! returning the second-highest bound when the rank falls in the `+Inf`
//! bucket, and `NaN` for `q = 0` when the lowest bucket is empty.

use super::rate::increase;
use super::Point;

/// Prometheus' `smallDeltaTolerance`: relative differences between adjacent
/// cumulative buckets below this are float noise, not real observations.
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

/// One cumulative bucket of a classic histogram: `count` observations were
/// `<= upper_bound` (the `le` label).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub upper_bound: f64,
    pub count: f64,
}

/// The `q`-quantile (`0 <= q <= 1`) of a classic histogram, following
/// Prometheus `promql/quantile.go` `BucketQuantile`:
///
/// - `q` NaN → NaN; `q < 0` → `-Inf`; `q > 1` → `+Inf` (checked first).
/// - Buckets are sorted by upper bound; if the highest is not `+Inf` → NaN.
/// - Buckets with equal bounds are merged by summing their counts.
/// - Counts are made monotonic: differences within `almost.Equal(…, 1e-12)`
///   and any decrease are replaced by the last kept count (which is not
///   advanced by a replaced bucket).
/// - Fewer than 2 buckets, or 0 observations in `+Inf` → NaN.
/// - rank = q·observations; the first bucket (excluding `+Inf`) whose count
///   reaches the rank is interpolated linearly, starting from 0 for the first
///   bucket. If only `+Inf` reaches it, the second-highest bound is returned;
///   if the first bucket's bound is `<= 0`, that bound is returned.
///
/// Deviations, for inputs Prometheus never produces: an empty slice gives
/// NaN (Go would index out of range) and a NaN bound gives NaN (Go's sort
/// order is then undefined).
pub fn histogram_quantile(q: f64, buckets: &[Bucket]) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    if buckets.is_empty() || buckets.iter().any(|b| b.upper_bound.is_nan()) {
        return f64::NAN;
    }
    let mut sorted = buckets.to_vec();
    sorted.sort_by(|a, b| a.upper_bound.total_cmp(&b.upper_bound));
    if sorted.last().map(|b| b.upper_bound) != Some(f64::INFINITY) {
        return f64::NAN;
    }
    let mut bs = coalesce(&sorted);
    ensure_monotonic_and_ignore_small_deltas(&mut bs, SMALL_DELTA_TOLERANCE);

    let n = bs.len();
    if n < 2 {
        return f64::NAN;
    }
    let observations = bs[n - 1].count;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    // Go: sort.Search(len-1, count >= rank) — binary search over all but +Inf.
    let b = bs[..n - 1].partition_point(|bk| bk.count < rank);

    if b == n - 1 {
        return bs[n - 2].upper_bound;
    }
    if b == 0 && bs[0].upper_bound <= 0.0 {
        return bs[0].upper_bound;
    }
    let mut bucket_start = 0.0;
    let bucket_end = bs[b].upper_bound;
    let mut count = bs[b].count;
    if b > 0 {
        bucket_start = bs[b - 1].upper_bound;
        count -= bs[b - 1].count;
        rank -= bs[b - 1].count;
    }
    bucket_start + (bucket_end - bucket_start) * (rank / count)
}

/// Merge adjacent buckets with the same bound (`coalesceBuckets`); input sorted.
#[allow(clippy::float_cmp)] // bounds are label values: same label, same bits
fn coalesce(sorted: &[Bucket]) -> Vec<Bucket> {
    let mut out: Vec<Bucket> = Vec::with_capacity(sorted.len());
    for b in sorted {
        match out.last_mut() {
            Some(last) if last.upper_bound == b.upper_bound => last.count += b.count,
            _ => out.push(*b),
        }
    }
    out
}

/// Port of `ensureMonotonicAndIgnoreSmallDeltas`. Returns
/// `(forced_monotonic, fixed_precision)` like the Go function; we only use
/// them in tests, but keeping them makes the port checkable line by line.
#[allow(clippy::float_cmp)] // Go's `curr == prev` fast path, kept verbatim
pub(crate) fn ensure_monotonic_and_ignore_small_deltas(
    buckets: &mut [Bucket],
    tolerance: f64,
) -> (bool, bool) {
    let (mut forced_monotonic, mut fixed_precision) = (false, false);
    let Some(first) = buckets.first() else {
        return (false, false);
    };
    let mut prev = first.count;
    for b in buckets.iter_mut().skip(1) {
        let curr = b.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, tolerance) {
            // Float noise in either direction: keep prev, and do not move it,
            // so many tiny steps cannot add up to a real-looking increase.
            b.count = prev;
            fixed_precision = true;
            continue;
        }
        if curr < prev {
            // A real decrease is impossible in a cumulative histogram (torn
            // scrape, reset in one series): flatten it, keep prev.
            b.count = prev;
            forced_monotonic = true;
            continue;
        }
        prev = curr;
    }
    (forced_monotonic, fixed_precision)
}

/// Port of Prometheus `util/almost.Equal`: `a` and `b` differ by less than
/// `epsilon` relative to their magnitudes; near zero the comparison is
/// against `epsilon * MIN_POSITIVE` (Go's `minNormal`).
pub(crate) fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    #[allow(clippy::float_cmp)] // exact equality is the intended first check
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < epsilon * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

/// Per-bucket increase between two cumulative snapshots of one histogram.
///
/// Buckets are matched by exact upper bound; a bound present in only one
/// snapshot is dropped (it has no baseline, like a series `PromQL`'s
/// `increase` sees only once). A bucket whose count went down is treated as
/// a counter reset, so its increase is the newer count. Order follows
/// `newer`; for a duplicated bound in `older` the first one is used.
#[allow(clippy::float_cmp)] // bounds are label values: same label, same bits
pub fn bucket_increase(older: &[Bucket], newer: &[Bucket]) -> Vec<Bucket> {
    newer
        .iter()
        .filter_map(|n| {
            let o = older.iter().find(|o| o.upper_bound == n.upper_bound)?;
            let inc = if n.count < o.count {
                n.count
            } else {
                n.count - o.count
            };
            Some(Bucket {
                upper_bound: n.upper_bound,
                count: inc,
            })
        })
        .collect()
}

/// `histogram_quantile(q, increase(bucket[window]))` evaluated at `now_ms`.
///
/// Each entry is one bucket series: its `le` bound and its stored points.
/// Buckets with fewer than two points in the window have no increase and are
/// left out, as `PromQL` does — so a missing `+Inf` series gives NaN.
///
/// [`increase`] does not extrapolate to the window edges, unlike `PromQL`. For
/// buckets scraped together (the normal case: one `/metrics` response) the
/// extrapolation factor is the same for every bucket, and the quantile is
/// invariant under scaling all counts, so the answer matches `PromQL`.
pub fn quantile_over_window(
    q: f64,
    buckets: &[(f64, &[Point])],
    window_ms: i64,
    now_ms: i64,
) -> f64 {
    let increases: Vec<Bucket> = buckets
        .iter()
        .filter_map(|&(le, points)| {
            increase(points, window_ms, now_ms).map(|count| Bucket {
                upper_bound: le,
                count,
            })
        })
        .collect();
    histogram_quantile(q, &increases)
}

/// Parse an `le` label value: `+Inf`, `Inf`, `-Inf` or a decimal float.
///
/// Infinity spellings are case-insensitive like Go's `strconv.ParseFloat`.
/// `NaN` is rejected: a bucket bound of NaN has no meaning and would poison
/// the sort. Surrounding whitespace is rejected too (the exposition parser
/// already stripped quotes; anything else is a malformed label).
pub fn parse_le(s: &str) -> Option<f64> {
    let v: f64 = s.parse().ok()?;
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact PromQL results are the point of these tests
mod tests {
    use super::*;

    fn bk(pairs: &[(f64, f64)]) -> Vec<Bucket> {
        pairs
            .iter()
            .map(|&(upper_bound, count)| Bucket { upper_bound, count })
            .collect()
    }

    const INF: f64 = f64::INFINITY;

    #[test]
    fn q_out_of_range_checked_before_anything_else() {
        // Even an invalid histogram (no +Inf) answers ±Inf for q outside [0,1].
        let no_inf = bk(&[(1.0, 1.0)]);
        assert_eq!(histogram_quantile(-0.1, &no_inf), f64::NEG_INFINITY);
        assert_eq!(histogram_quantile(1.1, &no_inf), f64::INFINITY);
        assert!(histogram_quantile(f64::NAN, &no_inf).is_nan());
        assert_eq!(histogram_quantile(-0.1, &[]), f64::NEG_INFINITY);
    }

    #[test]
    fn empty_or_single_or_nan_bound_is_nan() {
        assert!(histogram_quantile(0.5, &[]).is_nan());
        assert!(histogram_quantile(0.5, &bk(&[(INF, 10.0)])).is_nan());
        // Two +Inf buckets coalesce into one → fewer than 2 → NaN.
        assert!(histogram_quantile(0.5, &bk(&[(INF, 1.0), (INF, 2.0)])).is_nan());
        assert!(histogram_quantile(0.5, &bk(&[(f64::NAN, 1.0), (INF, 2.0)])).is_nan());
    }

    #[test]
    fn q_zero_with_empty_first_bucket_is_nan_like_promql() {
        // rank 0 → b = 0 → 0 + 1·(0/0) = NaN. Prometheus gives NaN here too.
        assert!(histogram_quantile(0.0, &bk(&[(1.0, 0.0), (2.0, 5.0), (INF, 5.0)])).is_nan());
    }

    #[test]
    fn q_one_lands_in_last_finite_bucket_when_inf_adds_nothing() {
        // rank 10; counts [2, 10]: b = 1 → 1 + 1·(8/8) = 2.
        assert_eq!(
            histogram_quantile(1.0, &bk(&[(1.0, 2.0), (2.0, 10.0), (INF, 10.0)])),
            2.0
        );
    }

    #[test]
    fn first_bucket_interpolates_from_zero() {
        // rank 0.5·8 = 4 in bucket le=2 (count 8): 0 + 2·(4/8) = 1.
        assert_eq!(histogram_quantile(0.5, &bk(&[(2.0, 8.0), (INF, 8.0)])), 1.0);
    }

    #[test]
    fn zero_first_bound_is_returned_as_is() {
        assert_eq!(
            histogram_quantile(0.2, &bk(&[(0.0, 4.0), (1.0, 8.0), (INF, 8.0)])),
            0.0
        );
    }

    #[test]
    fn neg_inf_bound_sorts_first_and_is_returned() {
        let b = bk(&[(1.0, 4.0), (f64::NEG_INFINITY, 2.0), (INF, 4.0)]);
        assert_eq!(histogram_quantile(0.25, &b), f64::NEG_INFINITY);
    }

    #[test]
    fn almost_equal_matches_go() {
        assert!(almost_equal(f64::NAN, f64::NAN, 1e-12));
        assert!(!almost_equal(f64::NAN, 1.0, 1e-12));
        assert!(almost_equal(1.0, 1.0, 0.0));
        // relative: 1/(2e12+1) < 1e-12, 3/(2e12+3) > 1e-12
        assert!(almost_equal(1e12, 1e12 + 1.0, 1e-12));
        assert!(!almost_equal(1e12, 1e12 + 3.0, 1e-12));
        // minNormal branch: one side zero → diff < 1e-12 · 2.2250738585072014e-308
        assert!(almost_equal(0.0, 1e-320, 1e-12));
        assert!(!almost_equal(0.0, 5e-320, 1e-12));
        assert!(!almost_equal(0.0, 1e-300, 1e-12));
        // both tiny subnormals (abs sum < minNormal), neither zero
        assert!(almost_equal(1e-321, 2e-321, 1e-12));
        // infinite values: Inf - Inf is NaN, NaN < eps is false
        assert!(almost_equal(INF, INF, 1e-12));
        assert!(!almost_equal(INF, 1.0, 1e-12));
    }

    #[test]
    fn small_deltas_do_not_move_prev() {
        // prev stays 1e12 when 1e12+1.5 is treated as noise, so 1e12+3 is
        // compared against 1e12 (relative 1.5e-12 → real) and kept. Had prev
        // moved to 1e12+1.5, 1e12+3 would have been noise as well.
        let mut b = bk(&[
            (1.0, 1e12),
            (2.0, 1e12 + 1.5),
            (3.0, 1e12 + 3.0),
            (INF, 1e12 + 3.0),
        ]);
        let flags = ensure_monotonic_and_ignore_small_deltas(&mut b, 1e-12);
        let counts: Vec<f64> = b.iter().map(|b| b.count).collect();
        assert_eq!(counts, vec![1e12, 1e12, 1e12 + 3.0, 1e12 + 3.0]);
        assert_eq!(flags, (false, true));
    }

    #[test]
    fn small_decrease_is_precision_fix_not_forced_monotonic() {
        let a = 0.1 + 0.2; // 0.30000000000000004
        let mut b = bk(&[(1.0, a), (2.0, 0.3), (INF, 1.0)]);
        let flags = ensure_monotonic_and_ignore_small_deltas(&mut b, 1e-12);
        assert_eq!(b[1].count, a);
        assert_eq!(flags, (false, true));
    }

    #[test]
    fn big_decrease_is_forced_and_prev_kept() {
        // 5, 3, 4, 10 → 5, 5, 5, 10: 4 is compared with 5 (kept prev), not 3.
        let mut b = bk(&[(1.0, 5.0), (2.0, 3.0), (4.0, 4.0), (INF, 10.0)]);
        let flags = ensure_monotonic_and_ignore_small_deltas(&mut b, 1e-12);
        let counts: Vec<f64> = b.iter().map(|b| b.count).collect();
        assert_eq!(counts, vec![5.0, 5.0, 5.0, 10.0]);
        assert_eq!(flags, (true, false));
    }

    #[test]
    fn zero_then_subnormal_is_noise() {
        let mut b = bk(&[(1.0, 0.0), (2.0, 1e-320), (INF, 3.0)]);
        ensure_monotonic_and_ignore_small_deltas(&mut b, 1e-12);
        assert_eq!(b[1].count, 0.0);
    }

    #[test]
    fn coalesce_sums_equal_bounds_only() {
        let b = coalesce(&bk(&[
            (1.0, 1.0),
            (1.0, 2.0),
            (2.0, 4.0),
            (INF, 1.0),
            (INF, 7.0),
        ]));
        assert_eq!(b, bk(&[(1.0, 3.0), (2.0, 4.0), (INF, 8.0)]));
    }

    #[test]
    fn bucket_increase_matches_by_bound_and_handles_resets() {
        let older = bk(&[(0.1, 5.0), (0.5, 8.0), (INF, 10.0), (9.0, 1.0)]);
        let newer = bk(&[(0.1, 7.0), (0.5, 3.0), (1.0, 4.0), (INF, 10.0)]);
        // 0.1: 7-5=2; 0.5: 3<8 reset → 3; 1.0: no baseline → dropped; +Inf: 0.
        assert_eq!(
            bucket_increase(&older, &newer),
            bk(&[(0.1, 2.0), (0.5, 3.0), (INF, 0.0)])
        );
        assert!(bucket_increase(&[], &newer).is_empty());
    }

    #[test]
    fn parse_le_accepts_prometheus_spellings() {
        assert_eq!(parse_le("+Inf"), Some(INF));
        assert_eq!(parse_le("Inf"), Some(INF));
        assert_eq!(parse_le("+inf"), Some(INF));
        assert_eq!(parse_le("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_le("0.005"), Some(0.005));
        assert_eq!(parse_le("1"), Some(1.0));
        assert_eq!(parse_le("1.0"), Some(1.0));
        assert_eq!(parse_le("-2.5"), Some(-2.5));
        assert_eq!(parse_le("1e3"), Some(1000.0));
        assert_eq!(parse_le("NaN"), None);
        assert_eq!(parse_le(""), None);
        assert_eq!(parse_le(" 1"), None);
        assert_eq!(parse_le("0.1s"), None);
    }

    #[test]
    fn quantile_over_window_skips_buckets_without_two_points() {
        let le1: &[Point] = &[(0, 0.0), (10_000, 10.0)];
        let inf_one_point: &[Point] = &[(10_000, 20.0)];
        // +Inf has a single point → no increase → missing +Inf → NaN.
        assert!(
            quantile_over_window(0.5, &[(1.0, le1), (INF, inf_one_point)], 60_000, 10_000).is_nan()
        );
        let inf: &[Point] = &[(0, 0.0), (10_000, 20.0)];
        // increases le1 = 10, +Inf = 20; rank 10 → b = 0 → 0 + 1·(10/10) = 1.
        assert_eq!(
            quantile_over_window(0.5, &[(1.0, le1), (INF, inf)], 60_000, 10_000),
            1.0
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn histogram() -> impl Strategy<Value = Vec<Bucket>> {
            // increasing bounds, non-negative per-bucket counts, cumulated.
            prop::collection::vec((0.001f64..10.0, 0u32..100), 1..8).prop_map(|raw| {
                let (mut le, mut cum) = (0.0, 0.0);
                let mut out = Vec::new();
                for (step, c) in raw {
                    le += step;
                    cum += f64::from(c);
                    out.push(Bucket {
                        upper_bound: le,
                        count: cum,
                    });
                }
                out.push(Bucket {
                    upper_bound: f64::INFINITY,
                    count: cum + 1.0,
                });
                out
            })
        }

        proptest! {
            #[test]
            fn quantile_is_monotone_in_q_and_bounded(h in histogram(), a in 0.0f64..=1.0, b in 0.0f64..=1.0) {
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                let (x, y) = (histogram_quantile(lo, &h), histogram_quantile(hi, &h));
                prop_assume!(!x.is_nan() && !y.is_nan());
                prop_assert!(x <= y + 1e-9, "q={lo}→{x} > q={hi}→{y}");
                let top = h[h.len() - 2].upper_bound;
                prop_assert!((0.0..=top).contains(&y));
            }

            #[test]
            fn input_order_does_not_matter(h in histogram(), q in 0.0f64..=1.0) {
                let mut rev = h.clone();
                rev.reverse();
                let (x, y) = (histogram_quantile(q, &h), histogram_quantile(q, &rev));
                prop_assert!(x == y || (x.is_nan() && y.is_nan()));
            }
        }
    }
}
