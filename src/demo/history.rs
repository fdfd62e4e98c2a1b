//! What each twin's `/metrics` said in the past, kept so the demo can answer range queries
//! like the Prometheus that would have scraped it (`history_api.rs`).
//!
//! [`Clocked`] runs one service on its own clock (unix ms) and renders its exposition into a
//! [`History`] every [`STEP_MS`] of simulated time — through the simulated past before launch
//! and on after it, catching up over any gap, so a backfill at any time finds its window full.
//! Frames are parsed back with the product's own exposition lexer, so the names and labels
//! served are exactly what `/metrics` shows. At most [`KEEP_MS`] is kept.

use std::collections::{HashMap, VecDeque};

use super::script::PAST_SECS;
use super::server::Sim;
use super::sim::Expo;
use crate::expo::{Format, Lexer, Line};

/// Simulated time between two recorded frames.
pub(crate) const STEP_MS: i64 = 5_000;
/// How far back frames are kept.
pub(crate) const KEEP_MS: i64 = 30 * 60_000;
/// Prometheus' default lookback: a point takes the latest sample at most this old.
pub(crate) const LOOKBACK_MS: i64 = 5 * 60_000;
/// Prometheus' limit on points per series in one range query.
pub(crate) const MAX_POINTS: i64 = 11_000;

/// A frame's mark for a series that was not in that scrape: the bits of Prometheus' own
/// staleness marker (a NaN no arithmetic produces), so a query sees no value there.
const ABSENT: f64 = f64::from_bits(0x7ff0_0000_0000_0002);

fn is_absent(v: f64) -> bool {
    v.to_bits() == ABSENT.to_bits()
}

/// One recorded series: its key as `/metrics` writes it, its name and its labels (decoded,
/// empty values dropped as Prometheus drops them), in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SeriesMeta {
    pub(crate) key: Box<str>,
    pub(crate) name: Box<str>,
    pub(crate) labels: Vec<(Box<str>, Box<str>)>,
}

impl SeriesMeta {
    /// The value of a label, `""` when the series has none (as in `PromQL` matching);
    /// `__name__` is the name.
    pub(crate) fn label(&self, name: &str) -> &str {
        if name == "__name__" {
            return &self.name;
        }
        self.labels
            .iter()
            .find(|(k, _)| &**k == name)
            .map_or("", |(_, v)| v)
    }
}

#[derive(Debug)]
struct Frame {
    at_ms: i64,
    /// One value per series id; ids past the end and [`ABSENT`] mean "not in this scrape".
    values: Vec<f64>,
}

/// The recorded frames of one service.
#[derive(Debug, Default)]
pub(crate) struct History {
    series: Vec<SeriesMeta>,
    ids: HashMap<Box<str>, usize>,
    frames: VecDeque<Frame>,
}

impl History {
    /// Records one exposition body as the frame at `at_ms` (later than the last one).
    pub(crate) fn record(&mut self, at_ms: i64, body: &str) {
        let mut values = vec![ABSENT; self.series.len()];
        for line in Lexer::new(body.as_bytes(), Format::Prometheus) {
            let Ok(Line::Sample(s)) = line else { continue };
            let Ok(key) = std::str::from_utf8(s.key) else {
                continue;
            };
            let id = if let Some(id) = self.ids.get(key) {
                *id
            } else {
                {
                    let labels = s
                        .labels
                        .iter()
                        .filter_map(Result::ok)
                        .filter(|(_, v)| !v.is_empty())
                        .map(|(k, v)| (Box::from(k), Box::from(v.as_ref())))
                        .collect();
                    self.series.push(SeriesMeta {
                        key: key.into(),
                        name: s.name.into(),
                        labels,
                    });
                    self.ids.insert(key.into(), self.series.len() - 1);
                    values.push(ABSENT);
                    self.series.len() - 1
                }
            };
            values[id] = s.value;
        }
        self.frames.push_back(Frame { at_ms, values });
        while self
            .frames
            .front()
            .is_some_and(|f| f.at_ms <= at_ms - KEEP_MS)
        {
            self.frames.pop_front();
        }
    }

    /// Every series recorded so far, by id.
    pub(crate) fn series(&self) -> &[SeriesMeta] {
        &self.series
    }

    /// Times of the oldest and newest frame.
    #[cfg(test)]
    pub(crate) fn span(&self) -> Option<(i64, i64)> {
        Some((self.frames.front()?.at_ms, self.frames.back()?.at_ms))
    }

    /// The frame a query at `t` reads: the latest at or before `t`, within the lookback.
    fn frame_at(&self, t: i64) -> Option<&Frame> {
        let i = self.frames.partition_point(|f| f.at_ms <= t);
        let f = self.frames.get(i.checked_sub(1)?)?;
        (f.at_ms > t - LOOKBACK_MS).then_some(f)
    }

    /// Prometheus' range query over the series `pick` chooses: at each of `start`,
    /// `start + step`, … ≤ `end` (ms), the latest sample within the lookback. Series with no
    /// point are left out; the rest come in id order, each with its points.
    pub(crate) fn range(
        &self,
        pick: &dyn Fn(&SeriesMeta) -> bool,
        start: i64,
        end: i64,
        step: i64,
    ) -> Vec<(usize, Vec<(i64, f64)>)> {
        let chosen: Vec<usize> = (0..self.series.len())
            .filter(|id| pick(&self.series[*id]))
            .collect();
        let mut points: Vec<Vec<(i64, f64)>> = vec![Vec::new(); chosen.len()];
        let mut t = start;
        while t <= end && step > 0 {
            if let Some(f) = self.frame_at(t) {
                for (out, id) in points.iter_mut().zip(&chosen) {
                    if let Some(v) = f.values.get(*id).filter(|v| !is_absent(**v)) {
                        out.push((t, *v));
                    }
                }
            }
            t += step;
        }
        chosen
            .into_iter()
            .zip(points)
            .filter(|(_, p)| !p.is_empty())
            .collect()
    }
}

/// A float as the Prometheus API writes sample values: `NaN`, `+Inf`, `-Inf`, otherwise the
/// shortest text that reads back the same, in exponent form only below 1e-6 or from 1e21.
pub(crate) fn prom_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Go's 'e' format: a sign and at least two digits in the exponent (1e-07, 1.5e+21).
        let text = format!("{v:e}");
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    format!("{v}")
}

/// A timestamp in seconds as the Prometheus API writes it: a number, with the milliseconds
/// when there are any.
pub(crate) fn prom_time(ms: i64) -> String {
    let (s, frac) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    if frac == 0 {
        format!("{s}")
    } else {
        format!("{s}.{frac:03}").trim_end_matches('0').to_owned()
    }
}

/// One service on its own clock (unix ms), recording its exposition every [`STEP_MS`].
pub(crate) struct Clocked {
    sim: Box<dyn Sim>,
    clock_ms: i64,
    history: Option<History>,
    next_frame_ms: i64,
}

impl Clocked {
    /// A service as a builder returns it ([`PAST_SECS`] before launch), played forward to
    /// `launch_ms`; with `record`, every step of that past is recorded on the way.
    pub(crate) fn launch(sim: Box<dyn Sim>, launch_ms: i64, record: bool) -> Self {
        let past_ms = (PAST_SECS * 1000.0) as i64;
        let start = launch_ms - past_ms;
        let mut c = Self {
            sim,
            clock_ms: start,
            history: record.then(History::default),
            next_frame_ms: start.div_euclid(STEP_MS) * STEP_MS + STEP_MS,
        };
        c.advance_to(launch_ms);
        c
    }

    /// Moves the simulation to `now_ms`, recording every frame time passed on the way (only
    /// the last [`KEEP_MS`] of a long gap: older frames would be dropped at once).
    pub(crate) fn advance_to(&mut self, now_ms: i64) {
        if now_ms <= self.clock_ms {
            return;
        }
        if let Some(history) = &mut self.history {
            // Frames older than the keep would be dropped at once: the first step goes
            // straight to the oldest frame kept.
            let oldest_kept = now_ms - KEEP_MS;
            if self.next_frame_ms <= oldest_kept {
                self.next_frame_ms = oldest_kept.div_euclid(STEP_MS) * STEP_MS + STEP_MS;
            }
            while self.next_frame_ms <= now_ms {
                let t = self.next_frame_ms;
                self.sim.advance((t - self.clock_ms) as f64 / 1000.0);
                self.clock_ms = t;
                let mut out = Expo::default();
                self.sim.metrics(&mut out);
                history.record(t, &out.finish());
                self.next_frame_ms += STEP_MS;
            }
        }
        self.sim.advance((now_ms - self.clock_ms) as f64 / 1000.0);
        self.clock_ms = now_ms;
    }

    pub(crate) fn sim(&mut self) -> &mut dyn Sim {
        self.sim.as_mut()
    }

    pub(crate) fn history(&self) -> Option<&History> {
        self.history.as_ref()
    }

    /// The exposition as `/metrics` renders it now.
    #[cfg(test)]
    pub(crate) fn render(&self) -> String {
        let mut out = Expo::default();
        self.sim.metrics(&mut out);
        out.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_times_are_written_as_prometheus_does() {
        let cases = [
            (12.5, "12.5"),
            (3.0, "3"),
            (0.0, "0"),
            (-2.25, "-2.25"),
            (1e-7, "1e-07"),
            (1.5e21, "1.5e+21"),
            (1e20, "100000000000000000000"),
            (0.000_001, "0.000001"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (0.1 + 0.2, "0.30000000000000004"),
        ];
        for (v, want) in cases {
            assert_eq!(prom_value(v), want, "{v}");
        }
        assert_eq!(prom_time(1_765_062_000_000), "1765062000");
        assert_eq!(prom_time(1_765_062_000_500), "1765062000.5");
        assert_eq!(prom_time(1_765_062_000_025), "1765062000.025");
    }

    #[test]
    fn range_takes_the_latest_sample_within_the_lookback() {
        let mut h = History::default();
        h.record(10_000, "a 1\nb{x=\"\",y=\"2\"} 5\n");
        h.record(15_000, "a 2\n");
        h.record(20_000 + LOOKBACK_MS, "a 3\n");
        assert_eq!(h.series()[1].labels, [("y".into(), "2".into())]);
        assert_eq!(h.series()[1].label("x"), "");
        let all = |_: &SeriesMeta| true;
        let got = h.range(&all, 5_000, 30_000, 5_000);
        // a: nothing at 5 s, then 1, 2, and 2 again until the lookback runs out.
        assert_eq!(
            got[0],
            (
                0,
                vec![
                    (10_000, 1.0),
                    (15_000, 2.0),
                    (20_000, 2.0),
                    (25_000, 2.0),
                    (30_000, 2.0)
                ]
            )
        );
        // b was in the first scrape only: the second one marks it stale.
        assert_eq!(got[1], (1, vec![(10_000, 5.0)]));
        let late = h.range(&all, 15_000 + LOOKBACK_MS, 20_000 + LOOKBACK_MS, 2_500);
        assert_eq!(
            late,
            [(0, vec![(20_000 + LOOKBACK_MS, 3.0)])],
            "the 15 s sample is too old at 15 s + 5 m"
        );
        assert!(h
            .range(&|m| &*m.name == "b", 15_000, 30_000, 5_000)
            .is_empty());
    }

    #[test]
    fn frames_older_than_the_keep_are_dropped() {
        let mut h = History::default();
        for i in 0..=(KEEP_MS / STEP_MS + 10) {
            h.record(i * STEP_MS, "a 1\n");
        }
        let (first, last) = h.span().expect("frames");
        assert_eq!(last - first, KEEP_MS - STEP_MS);
    }
}
