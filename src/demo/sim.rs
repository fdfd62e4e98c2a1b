//! Small simulation building blocks shared by the demo services: a deterministic PRNG,
//! rate tickers that turn "events per second" into whole counter increments, mean-reverting
//! gauges, classic Prometheus histograms, and a writer for the text exposition format 0.0.4.
//!
//! Everything here is advanced by an elapsed time `dt` (seconds) that the caller measures, so
//! the services move with wall time however irregularly they are scraped.

use std::fmt::Write as _;

/// At most this many values are drawn per batch of observations; larger batches are weighted
/// copies of a sample. A scrape after an hour of silence then costs the same as one after a
/// second, and bucket counts stay exact integers.
const MAX_DRAWS: u64 = 256;

/// Simulated uptime before the demo starts. Every service is advanced this far in normal
/// operation before its scenario applies, so counters and histograms carry a consistent
/// history (a `_count` matches its `_total`) and gauges start at their usual level.
pub(crate) const WARMUP_SECS: f64 = 6.0 * 3600.0;

/// How one simulated service differs from its kind's defaults.
#[derive(Debug, Clone)]
pub(crate) struct Profile<'a> {
    /// Names the noise stream.
    pub(crate) seed: &'a str,
    /// Simulated uptime (seconds) before the demo starts.
    pub(crate) uptime: f64,
    /// Factor on traffic rates and on gauges that count clients or queued work.
    pub(crate) load: f64,
}

impl<'a> Profile<'a> {
    /// A service of the normal fleet: its name for noise, [`WARMUP_SECS`] of uptime, load 1.
    pub(crate) fn normal(name: &'a str) -> Self {
        Self {
            seed: name,
            uptime: WARMUP_SECS,
            load: 1.0,
        }
    }

    /// An instance of a scaled fleet: noise, uptime (1 to 72 hours) and load (0.5 to 2,
    /// evenly on a log scale) all follow from its name, so instances differ from each other
    /// in every counter and most gauges, and an instance is the same in every run.
    pub(crate) fn scaled(name: &'a str) -> Self {
        let mut rng = Prng::for_name(&format!("{name}/profile"));
        Self {
            seed: name,
            uptime: 3600.0 * (1.0 + 71.0 * rng.unit()),
            load: 2f64.powf(2.0 * rng.unit() - 1.0),
        }
    }
}

/// xorshift64* — tiny, fast and good enough for plausible noise; no dependency needed.
#[derive(Debug, Clone)]
pub(crate) struct Prng(u64);

impl Prng {
    /// A generator seeded from a service name, so each service has its own stable noise.
    pub(crate) fn for_name(name: &str) -> Self {
        // FNV-1a, then a splitmix step so similar names do not give similar streams.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 31;
        Self(if h == 0 { 0x2545_f491_4f6c_dd1d } else { h })
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Log-normal with the given median; latencies are skewed to the right like real ones.
    pub(crate) fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// How many of `n` trials succeed with probability `p` (exact for small `n`).
    pub(crate) fn binomial(&mut self, n: u64, p: f64) -> u64 {
        if n <= MAX_DRAWS {
            (0..n).filter(|_| self.chance(p)).count() as u64
        } else {
            let mean = n as f64 * p;
            let sd = (mean * (1.0 - p)).sqrt();
            (mean + sd * self.normal()).round().clamp(0.0, n as f64) as u64
        }
    }
}

/// Turns a rate into whole events, carrying the fraction so slow rates still tick.
#[derive(Debug, Default, Clone)]
pub(crate) struct Ticker {
    carry: f64,
}

impl Ticker {
    pub(crate) fn events(&mut self, rate_per_s: f64, dt: f64, rng: &mut Prng) -> u64 {
        // Bounded jitter: traffic is bursty, but never stops or doubles out of nowhere.
        let jitter = (1.0 + 0.15 * rng.normal()).clamp(0.5, 1.5);
        self.carry += rate_per_s.max(0.0) * dt.max(0.0) * jitter;
        let n = self.carry.floor();
        self.carry -= n;
        n as u64
    }
}

/// A counter that grows at `rate` events per second.
#[derive(Debug, Clone)]
pub(crate) struct Counter {
    pub(crate) rate: f64,
    pub(crate) total: u64,
    ticker: Ticker,
}

impl Counter {
    pub(crate) fn new(rate: f64) -> Self {
        Self {
            rate,
            total: 0,
            ticker: Ticker::default(),
        }
    }

    /// Advances by `dt` seconds and returns the increment.
    pub(crate) fn advance(&mut self, dt: f64, rng: &mut Prng) -> u64 {
        let n = self.ticker.events(self.rate, dt, rng);
        self.total += n;
        n
    }

    pub(crate) fn value(&self) -> f64 {
        self.total as f64
    }
}

/// A gauge that wanders around `mean` (an Ornstein–Uhlenbeck process, stepped exactly so a
/// long gap between scrapes behaves like many short ones). Moving `mean` makes the value
/// glide towards the new level at `reversion` per second — that is how incidents ramp.
#[derive(Debug, Clone)]
pub(crate) struct Wander {
    pub(crate) value: f64,
    pub(crate) mean: f64,
    /// Stationary standard deviation as a fraction of `mean`.
    pub(crate) spread: f64,
    /// Pull towards the mean, per second.
    pub(crate) reversion: f64,
    min: f64,
    max: f64,
}

impl Wander {
    pub(crate) fn new(mean: f64, spread: f64, reversion: f64) -> Self {
        Self {
            value: mean,
            mean,
            spread,
            reversion,
            min: 0.0,
            max: f64::INFINITY,
        }
    }

    /// Multiplies the level (mean and value) by `factor`, within the bounds.
    pub(crate) fn scale(&mut self, factor: f64) {
        self.mean *= factor;
        self.value = (self.value * factor).clamp(self.min, self.max);
    }

    pub(crate) fn within(mut self, min: f64, max: f64) -> Self {
        self.min = min;
        self.max = max;
        self.value = self.value.clamp(min, max);
        self
    }

    pub(crate) fn step(&mut self, dt: f64, rng: &mut Prng) {
        let decay = (-self.reversion * dt.max(0.0)).exp();
        let sd = self.spread * self.mean.abs() * (1.0 - decay * decay).sqrt();
        let next = self.mean + (self.value - self.mean) * decay + sd * rng.normal();
        self.value = next.clamp(self.min, self.max);
    }

    /// The value as a whole number, for gauges that count things.
    pub(crate) fn whole(&self) -> f64 {
        self.value.round()
    }
}

/// A classic Prometheus histogram: per-bucket counts (the last bucket is `+Inf`), sum, count.
#[derive(Debug, Clone)]
pub(crate) struct Histogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    pub(crate) fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }

    fn slot(&self, v: f64) -> usize {
        self.bounds
            .iter()
            .position(|b| v <= *b)
            .unwrap_or(self.bounds.len())
    }

    /// Records `n` observations drawn from `draw`.
    pub(crate) fn observe_n(
        &mut self,
        n: u64,
        rng: &mut Prng,
        mut draw: impl FnMut(&mut Prng) -> f64,
    ) {
        if n == 0 {
            return;
        }
        let draws = n.min(MAX_DRAWS);
        let weight = n / draws;
        let mut extra = n - weight * draws;
        for _ in 0..draws {
            let v = draw(rng).max(0.0);
            let w = weight + u64::from(extra > 0);
            extra = extra.saturating_sub(1);
            let slot = self.slot(v);
            self.counts[slot] += w;
            self.sum += v * w as f64;
        }
        self.count += n;
    }

    #[cfg(test)]
    pub(crate) fn count(&self) -> u64 {
        self.count
    }
}

/// Metric family type, as written on the `# TYPE` line.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Writes the Prometheus text exposition format 0.0.4.
#[derive(Debug, Default)]
pub(crate) struct Expo {
    buf: String,
}

impl Expo {
    /// Starts a family: its `# HELP` and `# TYPE` lines. Its samples must follow directly.
    pub(crate) fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.buf, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    pub(crate) fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.buf.push_str(name);
        self.labels(labels, None);
        self.buf.push(' ');
        push_value(&mut self.buf, value);
        self.buf.push('\n');
    }

    /// A family with a single unlabelled sample.
    pub(crate) fn single(&mut self, name: &str, kind: Kind, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// Single-sample counter families, each `(name, help, counter)`.
    pub(crate) fn counters(&mut self, counters: &[(&str, &str, &Counter)]) {
        for (name, help, c) in counters {
            self.single(name, Kind::Counter, help, c.value());
        }
    }

    /// A family split by one label: a sample per `(label value, sample value)`.
    pub(crate) fn by_label<'a>(
        &mut self,
        name: &str,
        kind: Kind,
        help: &str,
        label: &str,
        samples: impl IntoIterator<Item = (&'a str, f64)>,
    ) {
        self.family(name, kind, help);
        for (value, sample) in samples {
            self.sample(name, &[(label, value)], sample);
        }
    }

    /// A histogram family of one unlabelled series.
    pub(crate) fn single_histogram(&mut self, name: &str, help: &str, h: &Histogram) {
        self.family(name, Kind::Histogram, help);
        self.histogram(name, &[], h);
    }

    /// The `_bucket`, `_sum` and `_count` samples of one histogram series.
    pub(crate) fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &Histogram) {
        let mut cumulative = 0;
        let mut le = String::new();
        for (i, c) in h.counts.iter().enumerate() {
            cumulative += c;
            le.clear();
            match h.bounds.get(i) {
                Some(b) => push_value(&mut le, *b),
                None => le.push_str("+Inf"),
            }
            let _ = write!(self.buf, "{name}_bucket");
            self.labels(labels, Some(&le));
            let _ = writeln!(self.buf, " {cumulative}");
        }
        let _ = write!(self.buf, "{name}_sum");
        self.labels(labels, None);
        self.buf.push(' ');
        push_value(&mut self.buf, h.sum);
        let _ = write!(self.buf, "\n{name}_count");
        self.labels(labels, None);
        let _ = writeln!(self.buf, " {}", h.count);
    }

    fn labels(&mut self, labels: &[(&str, &str)], le: Option<&str>) {
        if labels.is_empty() && le.is_none() {
            return;
        }
        self.buf.push('{');
        let all = labels.iter().copied().chain(le.map(|v| ("le", v)));
        for (i, (k, v)) in all.enumerate() {
            if i > 0 {
                self.buf.push(',');
            }
            self.buf.push_str(k);
            self.buf.push_str("=\"");
            for ch in v.chars() {
                match ch {
                    '\\' => self.buf.push_str("\\\\"),
                    '"' => self.buf.push_str("\\\""),
                    '\n' => self.buf.push_str("\\n"),
                    c => self.buf.push(c),
                }
            }
            self.buf.push('"');
        }
        self.buf.push('}');
    }

    pub(crate) fn finish(self) -> String {
        self.buf
    }
}

/// Formats a sample value the way Prometheus reads it back (`+Inf`, `-Inf`, `NaN`).
fn push_value(buf: &mut String, v: f64) {
    if v.is_nan() {
        buf.push_str("NaN");
    } else if v.is_infinite() {
        buf.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(buf, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_consistent() {
        static B: [f64; 3] = [0.1, 0.5, 1.0];
        let mut h = Histogram::new(&B);
        let mut rng = Prng::for_name("t");
        h.observe_n(10_000, &mut rng, |r| r.lognormal(0.3, 0.8));
        let mut e = Expo::default();
        e.histogram("x", &[("a", "{id}")], &h);
        let text = e.finish();
        let counts: Vec<u64> = text
            .lines()
            .filter(|l| l.starts_with("x_bucket"))
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect();
        assert_eq!(counts.len(), 4);
        assert!(counts.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(counts[3], 10_000);
        assert!(text.contains("x_bucket{a=\"{id}\",le=\"+Inf\"} 10000"));
        assert!(text.contains("x_count{a=\"{id}\"} 10000"));
    }

    #[test]
    fn labels_are_escaped() {
        let mut e = Expo::default();
        e.sample("m", &[("l", "a\"b\\c\nd")], 1.5);
        assert_eq!(e.finish(), "m{l=\"a\\\"b\\\\c\\nd\"} 1.5\n");
    }

    #[test]
    fn wander_stays_in_bounds_and_reverts() {
        let mut rng = Prng::for_name("w");
        let mut w = Wander::new(100.0, 0.1, 1.0).within(0.0, 150.0);
        w.mean = 5.0;
        for _ in 0..100 {
            w.step(0.1, &mut rng);
            assert!((0.0..=150.0).contains(&w.value));
        }
        assert!(w.value < 10.0, "{}", w.value);
    }

    #[test]
    fn scaled_profiles_differ_within_their_ranges_and_the_normal_one_is_the_default() {
        let normal = Profile::normal("overlay");
        assert_eq!(
            (normal.seed, normal.uptime.to_bits(), normal.load.to_bits()),
            ("overlay", WARMUP_SECS.to_bits(), 1f64.to_bits())
        );
        let names: Vec<String> = (0..200).map(|i| format!("overlay-{i:04}")).collect();
        let profiles: Vec<Profile> = names.iter().map(|n| Profile::scaled(n)).collect();
        for p in &profiles {
            assert!((3600.0..=72.0 * 3600.0).contains(&p.uptime), "{p:?}");
            assert!((0.5..=2.0).contains(&p.load), "{p:?}");
        }
        let mut loads: Vec<f64> = profiles.iter().map(|p| p.load).collect();
        loads.sort_by(f64::total_cmp);
        loads.dedup();
        assert_eq!(loads.len(), 200);
        // Spread over the range, not bunched: both ends are reached.
        assert!(loads[0] < 0.6 && loads[199] > 1.7, "{loads:?}");
        let again = Profile::scaled("overlay-0007");
        assert_eq!(again.load.to_bits(), profiles[7].load.to_bits());
        assert_eq!(again.uptime.to_bits(), profiles[7].uptime.to_bits());
    }

    #[test]
    fn ticker_carries_fractions() {
        let mut rng = Prng::for_name("r");
        let mut t = Ticker::default();
        let n: u64 = (0..1000).map(|_| t.events(2.0, 0.01, &mut rng)).sum();
        assert!((10..=30).contains(&n), "{n}");
    }
}
