//! When a twin's incident begins: every demo service warms up calm, and its part of the
//! scenario starts some minutes before launch, so the cockpit opens on an incident that has
//! been going on for a while (as a paged operator meets it) and the past leading up to it is
//! there to be recorded and served (see `history.rs`).
//!
//! A builder returns its service at the start of the recorded past, [`PAST_SECS`] before
//! launch, wrapped in [`Scripted`] with the onset still ahead; whoever runs the service plays
//! it forward to launch (recording as it goes, or in one step).

use super::server::{Reply, Sim};
use super::sim::{Expo, Profile};
use super::topics::TopicState;

/// An incident: how many seconds before launch it began, and what it does to the twin.
pub(crate) type Incident<S> = Option<(f64, fn(&mut S))>;

/// Simulated seconds recorded before launch: more than the engine's 15-minute backfill, so
/// that window is full from its first point.
pub(crate) const PAST_SECS: f64 = 20.0 * 60.0;

/// A service whose incident begins at a set point of its simulated time.
pub(crate) struct Scripted<S> {
    sim: S,
    /// Simulated seconds until the incident begins.
    onset_in: f64,
    /// What the incident changes; `None` once it has begun.
    onset: Option<fn(&mut S)>,
}

/// Warms `sim` up calm to [`PAST_SECS`] before launch (the profile's uptime is the uptime at
/// launch) and schedules `incident`: `(seconds before launch it begins, what it changes)`.
pub(crate) fn script<S: Sim>(mut sim: S, profile: &Profile, incident: Incident<S>) -> Box<dyn Sim> {
    sim.advance((profile.uptime - PAST_SECS).max(0.0));
    match incident {
        Some((lead, onset)) => Box::new(Scripted {
            sim,
            onset_in: (PAST_SECS - lead).max(0.0),
            onset: Some(onset),
        }),
        None => Box::new(sim),
    }
}

impl<S: Sim> Sim for Scripted<S> {
    fn advance(&mut self, dt: f64) {
        let Some(onset) = self.onset else {
            self.sim.advance(dt);
            return;
        };
        if dt < self.onset_in {
            self.onset_in -= dt;
            self.sim.advance(dt);
            return;
        }
        // The incident begins within this step: calm up to the onset, the incident after it.
        self.sim.advance(self.onset_in);
        onset(&mut self.sim);
        self.onset = None;
        self.sim.advance(dt - self.onset_in);
        self.onset_in = 0.0;
    }

    fn metrics(&self, out: &mut Expo) {
        self.sim.metrics(out);
    }

    fn health_paths(&self) -> &'static [&'static str] {
        self.sim.health_paths()
    }

    fn health(&self, path: &str) -> Reply {
        self.sim.health(path)
    }

    fn outbox(&self) -> Vec<(&'static str, u64)> {
        self.sim.outbox()
    }

    fn topics(&self) -> Vec<TopicState> {
        self.sim.topics()
    }

    fn set_topic(&mut self, id: &str, suspended: bool) -> Option<TopicState> {
        self.sim.set_topic(id, suspended)
    }

    fn run_release(&mut self, release: Option<&str>) {
        self.sim.run_release(release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::server::Reply;
    use hyper::StatusCode;

    /// Counts seconds, and how many of them passed after the incident began.
    #[derive(Default)]
    struct Clock {
        total: f64,
        incident: Option<f64>,
    }

    impl Sim for Clock {
        fn advance(&mut self, dt: f64) {
            self.total += dt;
            if let Some(i) = &mut self.incident {
                *i += dt;
            }
        }
        fn metrics(&self, _out: &mut Expo) {}
        fn health_paths(&self) -> &'static [&'static str] {
            &[]
        }
        fn health(&self, _path: &str) -> Reply {
            Reply::text(StatusCode::OK, "")
        }
    }

    #[test]
    fn the_incident_begins_exactly_its_lead_before_launch_whatever_the_steps() {
        for step in [1.0_f64, 7.0, 5000.0] {
            let profile = Profile::normal("x");
            let mut sim = Scripted {
                sim: Clock::default(),
                onset_in: 0.0,
                onset: None,
            };
            // Built as `script` does, but kept concrete to read the clock back.
            sim.sim.advance(profile.uptime - PAST_SECS);
            sim.onset_in = PAST_SECS - 300.0;
            sim.onset = Some(|c: &mut Clock| c.incident = Some(0.0));
            let mut played = 0.0;
            while played < PAST_SECS {
                let dt = step.min(PAST_SECS - played);
                sim.advance(dt);
                played += dt;
            }
            assert!((sim.sim.total - profile.uptime).abs() < 1e-6, "{step}");
            let since = sim.sim.incident.expect("begun");
            assert!((since - 300.0).abs() < 1e-6, "step {step}: {since}");
        }
    }
}
