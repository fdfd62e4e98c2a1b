//! An outbox consumer: producers append to the outbox (`max(seq)` grows), the consumer reads
//! it in batches and records `consumer_offsets.last_seq`. The backlog gauge is the difference,
//! exactly as the community-node runbook defines it, so a stalled consumer shows up as a
//! steadily climbing backlog while its batch counter stands still.

use super::sim::{Expo, Histogram, Kind, Prng, Ticker};

static DURATION_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// The largest batch a consumer takes in one go.
const MAX_BATCH: u64 = 500;

#[derive(Debug, Clone)]
pub(crate) struct Consumer {
    pub(crate) name: &'static str,
    /// Events appended per second.
    produce_rate: f64,
    /// Batches run per second while healthy.
    batch_rate: f64,
    max_seq: u64,
    last_seq: u64,
    /// When set, the consumer takes no batches at all (the backlog-stall incident).
    pub(crate) stalled: bool,
    produced: Ticker,
    batches: Ticker,
    success: u64,
    error: u64,
    duration_success: Histogram,
    duration_error: Histogram,
    batch_size: u64,
}

impl Consumer {
    pub(crate) fn new(name: &'static str, produce_rate: f64, batch_rate: f64, seq: u64) -> Self {
        Self {
            name,
            produce_rate,
            batch_rate,
            max_seq: seq,
            last_seq: seq.saturating_sub(3),
            stalled: false,
            produced: Ticker::default(),
            batches: Ticker::default(),
            success: 0,
            error: 0,
            duration_success: Histogram::new(&DURATION_BUCKETS),
            duration_error: Histogram::new(&DURATION_BUCKETS),
            batch_size: 10,
        }
    }

    /// Multiplies the rate events are produced at by `load` (batches keep their pace).
    pub(crate) fn scale(&mut self, load: f64) {
        self.produce_rate *= load;
    }

    pub(crate) fn backlog(&self) -> u64 {
        self.max_seq - self.last_seq
    }

    pub(crate) fn advance(&mut self, dt: f64, rng: &mut Prng) {
        self.max_seq += self.produced.events(self.produce_rate, dt, rng);
        if self.stalled {
            return;
        }
        let batches = self.batches.events(self.batch_rate, dt, rng);
        if batches == 0 {
            return;
        }
        let errors = rng.binomial(batches, 0.005);
        let ok = batches - errors;
        self.success += ok;
        self.error += errors;
        self.duration_success
            .observe_n(ok, rng, |r| r.lognormal(0.04, 0.5));
        self.duration_error
            .observe_n(errors, rng, |r| r.lognormal(0.6, 0.4));
        if ok == 0 {
            return;
        }
        // The last batch ran somewhere within the last batch interval; what was produced
        // after it is still waiting, which is why a healthy backlog is small but not zero.
        let since_last = rng.unit() / self.batch_rate.max(0.1);
        let waiting = (self.produce_rate * since_last).round() as u64;
        let target = self.max_seq.saturating_sub(waiting).max(self.last_seq);
        let taken = (target - self.last_seq).min(ok * MAX_BATCH);
        self.last_seq += taken;
        self.batch_size = taken.div_ceil(ok);
    }
}

/// Writes the four `outbox_*` families for the consumers of one service.
pub(crate) fn render(out: &mut Expo, service: &str, consumers: &[Consumer]) {
    let gauge = |out: &mut Expo, name: &str, help: &str, value: fn(&Consumer) -> f64| {
        out.family(name, Kind::Gauge, help);
        for c in consumers {
            let labels = [("service", service), ("consumer", c.name)];
            out.sample(name, &labels, value(c));
        }
    };
    gauge(
        out,
        "outbox_backlog",
        "Outbox events not yet consumed: max(seq) - consumer_offsets.last_seq.",
        |c| c.backlog() as f64,
    );
    out.family(
        "outbox_consumer_batches_total",
        Kind::Counter,
        "Outbox batches processed, by result.",
    );
    for c in consumers {
        for (result, n) in [("success", c.success), ("error", c.error)] {
            let labels = [
                ("service", service),
                ("consumer", c.name),
                ("result", result),
            ];
            out.sample("outbox_consumer_batches_total", &labels, n as f64);
        }
    }
    out.family(
        "outbox_consumer_processing_duration_seconds",
        Kind::Histogram,
        "Time to process one outbox batch, by result.",
    );
    for c in consumers {
        for (result, h) in [
            ("success", &c.duration_success),
            ("error", &c.duration_error),
        ] {
            let labels = [
                ("service", service),
                ("consumer", c.name),
                ("result", result),
            ];
            out.histogram("outbox_consumer_processing_duration_seconds", &labels, h);
        }
    }
    gauge(
        out,
        "outbox_consumer_batch_size",
        "Events in the most recent outbox batch.",
        |c| c.batch_size as f64,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_backlog_stays_small_and_stalled_backlog_climbs() {
        let mut rng = Prng::for_name("outbox");
        let mut c = Consumer::new("index-v1", 35.0, 4.0, 1_000_000);
        for _ in 0..300 {
            c.advance(0.1, &mut rng);
            assert!(c.backlog() <= 50, "healthy backlog {}", c.backlog());
        }
        let batches = c.success + c.error;
        c.stalled = true;
        let before = c.backlog();
        c.advance(1.0, &mut rng);
        assert!(c.backlog() >= before + 15);
        assert_eq!(c.success + c.error, batches);
    }
}
