//! The demo as the cockpit meets it, in simulated time: every twin is advanced, its
//! exposition rendered and ingested as the collector does (`SeriesIndex::ingest`, then the
//! watched series), the store fed with `Observation::Target`, the panels derived and every
//! preset rule evaluated each interval. Before launch, the twins' recorded past goes through
//! the same store and rules, as the engine's history backfill replays it.
//!
//! - Calm stays calm for thirty minutes: nothing fires, no backlog climbs, no disk fills.
//! - Every incident is on the first frame: the same harness, run on a scenario, finds that
//!   scenario's alert firing at launch, fired well before it.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use super::history::{Clocked, History};
use super::query::{select, Matcher, Op};
use super::sim::Profile;
use super::{config_header, target_toml, DemoTarget, Scenario, SERVICES};
use crate::config::{Config, Preset};
use crate::derive::panels::{store_panels, TargetPanels, DEFAULT_WINDOW_MS};
use crate::derive::rules::AlertBook;
use crate::derive::Direction;
use crate::expo::{Format, SeriesIndex};
use crate::obs::{Observation, ScrapeDigest};
use crate::source::watched_names;
use crate::store::Store;

/// 2025-12-06T23:00:00Z: any fixed time will do; nothing here reads the clock.
const LAUNCH_MS: i64 = 1_765_062_000_000;
/// What the engine backfills at start.
const BACKFILL_MS: i64 = 15 * 60_000;
/// The demo config's scrape interval.
const INTERVAL_MS: i64 = 1_000;

/// The fleet's twins and a cockpit's engine over them.
struct Cockpit {
    twins: Vec<Clocked>,
    /// `127.0.0.1:PORT` of each twin's metrics URL, as its `instance` label.
    instances: Vec<String>,
    presets: Vec<Option<Preset>>,
    watched: Vec<HashSet<String>>,
    indexes: Vec<SeriesIndex>,
    store: Store,
    book: AlertBook,
    round: u32,
    now: i64,
}

impl Cockpit {
    fn launch(scenario: Scenario) -> Self {
        let targets: Vec<DemoTarget> = SERVICES
            .iter()
            .enumerate()
            .map(|(i, (name, preset, _))| DemoTarget {
                name: (*name).to_owned(),
                preset,
                metrics_url: format!("http://127.0.0.1:{}/metrics", 9100 + i),
                health_urls: Vec::new(),
            })
            .collect();
        let mut text = config_header(scenario, std::time::Duration::from_secs(1));
        for t in &targets {
            target_toml(&mut text, t);
        }
        let config = Config::parse(&text, None, &|_| None).expect("the test config parses");
        let presets: Vec<Option<Preset>> = config
            .targets
            .iter()
            .map(|t| t.preset.map(Preset::load))
            .collect();
        Self {
            twins: SERVICES
                .iter()
                .map(|(name, _, build)| {
                    Clocked::launch(build(scenario, &Profile::normal(name)), LAUNCH_MS, true)
                })
                .collect(),
            instances: (0..targets.len())
                .map(|i| format!("127.0.0.1:{}", 9100 + i))
                .collect(),
            watched: config.targets.iter().map(watched_names).collect(),
            indexes: targets.iter().map(|_| SeriesIndex::default()).collect(),
            book: AlertBook::for_targets(&presets, &config.targets),
            store: Store::new(&config),
            presets,
            round: 0,
            now: LAUNCH_MS,
        }
    }

    fn target(name: &str) -> usize {
        SERVICES
            .iter()
            .position(|(n, ..)| *n == name)
            .expect("a service of the fleet")
    }

    /// The backfill: the last 15 minutes of every twin's watched series, asked as the engine
    /// asks the history server (`{__name__=~"…",instance="…"}` every `step_ms`), fed to the
    /// store point by point with the rules replayed at each. Calls `each` after each point.
    fn backfill(&mut self, step_ms: i64, each: &mut dyn FnMut(&Cockpit, &[TargetPanels])) {
        let start = LAUNCH_MS - BACKFILL_MS;
        let mut by_time: BTreeMap<i64, Vec<(usize, Arc<str>, f64)>> = BTreeMap::new();
        for (i, twin) in self.twins.iter().enumerate() {
            let history: &History = twin.history().expect("the twins record");
            let names: Vec<String> = self.watched[i].iter().cloned().collect();
            let matchers = [
                Matcher {
                    label: "__name__".into(),
                    op: Op::Alt(names),
                },
                Matcher {
                    label: "instance".into(),
                    op: Op::Eq(self.instances[i].clone()),
                },
            ];
            let job = SERVICES[i].0;
            let pick = |m: &_| select(&matchers, m, &self.instances[i], job);
            for (id, points) in history.range(&pick, start, LAUNCH_MS, step_ms) {
                // The store keys series as the target writes them.
                let key: Arc<str> = Arc::from(&*history.series()[id].key);
                for (t, v) in points {
                    by_time.entry(t).or_default().push((i, key.clone(), v));
                }
            }
        }
        for (t, values) in by_time {
            for i in 0..self.twins.len() {
                let watched: Vec<(Arc<str>, f64)> = values
                    .iter()
                    .filter(|(target, ..)| *target == i)
                    .map(|(_, k, v)| (k.clone(), *v))
                    .collect();
                self.observe(i, t, watched, 0, crate::expo::ScrapeReport::default());
            }
            let panels = self.evaluate(t);
            each(self, &panels);
        }
    }

    /// One scrape interval after launch: every twin advanced, scraped and ingested.
    fn live_round(&mut self) -> Vec<TargetPanels> {
        self.now += INTERVAL_MS;
        let now = self.now;
        for i in 0..self.twins.len() {
            self.twins[i].advance_to(now);
            let body = self.twins[i].render();
            let index = &mut self.indexes[i];
            let report = index.ingest(body.as_bytes(), Format::Prometheus, now);
            // The collector's watched-series selection.
            let names = &self.watched[i];
            let watched: Vec<(Arc<str>, f64)> = index
                .select(|n| names.contains(n))
                .into_iter()
                .filter_map(|id| {
                    let v = index.get(id)?;
                    v.present.then(|| (Arc::from(v.key), v.value))
                })
                .collect();
            self.observe(i, now, watched, body.len(), report);
        }
        self.evaluate(now)
    }

    fn observe(
        &mut self,
        target: usize,
        at_ms: i64,
        watched: Vec<(Arc<str>, f64)>,
        body_bytes: usize,
        report: crate::expo::ScrapeReport,
    ) {
        self.round += 1;
        self.store.apply(Observation::Target {
            target,
            round: self.round,
            at_ms,
            scrape: Some(Ok(ScrapeDigest {
                duration_ms: 1.0,
                body_bytes,
                format: Format::Prometheus,
                report,
                series: self.indexes[target].len(),
                watched,
            })),
            health: Vec::new(),
        });
    }

    fn evaluate(&mut self, now: i64) -> Vec<TargetPanels> {
        let panels: Vec<TargetPanels> = (0..self.twins.len())
            .map(|i| {
                store_panels(
                    &self.store,
                    i,
                    self.presets[i].as_ref(),
                    DEFAULT_WINDOW_MS,
                    now,
                )
            })
            .collect();
        self.book.evaluate_where(&panels, &|_| true, now);
        panels
    }

    fn names() -> Vec<String> {
        SERVICES.iter().map(|(n, ..)| (*n).to_owned()).collect()
    }
}

/// What a calm cockpit must not show: a firing alert, a backlog climbing or emptying, a
/// disk filling towards an ETA. Pending rules are collected into `pending`.
fn assert_calm(c: &Cockpit, panels: &[TargetPanels], pending: &mut BTreeSet<String>) {
    let at = (c.now - LAUNCH_MS) / 1000;
    let rows = c.book.rows(&Cockpit::names());
    let firing: Vec<String> = rows
        .iter()
        .filter(|r| r.state == crate::derive::rules::AlertPhase::Firing)
        .map(|r| format!("{}/{} = {:?}", r.target, r.name, r.value))
        .collect();
    assert!(
        firing.is_empty(),
        "{at} s after launch, calm fires {firing:?}"
    );
    pending.extend(
        rows.iter()
            .filter(|r| r.state == crate::derive::rules::AlertPhase::Pending)
            .map(|r| r.name.clone()),
    );
    for t in panels {
        for b in &t.backlog {
            let trend = b.trend.as_ref();
            assert!(
                trend.is_none_or(|tr| tr.direction == Direction::Flat && tr.eta_s.is_none()),
                "{at} s after launch, {}/{} (backlog {}) shows {trend:?}",
                t.name,
                b.labels,
                b.value
            );
        }
        for d in &t.disks {
            let eta = d.trend.and_then(|tr| tr.eta_s);
            assert!(
                eta.is_none(),
                "{at} s after launch, {}:{} ({:.1} %) is `full in` {eta:?} s: {:?}",
                t.name,
                d.label,
                d.used_ratio * 100.0,
                d.trend
            );
        }
    }
}

#[test]
fn calm_demo_stays_calm_for_thirty_minutes() {
    let mut c = Cockpit::launch(Scenario::Calm);
    let mut pending = BTreeSet::new();
    // The backfill at the finest step a cockpit would ask (its interval): values repeat
    // between the 5 s frames, the noisiest picture of the past the trends can get.
    c.backfill(INTERVAL_MS, &mut |c, panels| {
        assert_calm(c, panels, &mut pending);
    });
    for _ in 0..(30 * 60_000 / INTERVAL_MS) {
        let panels = c.live_round();
        assert_calm(&c, &panels, &mut pending);
    }
    // One failed OAuth validation now and then is normal (the runbook alerts on a sustained
    // rise, hence the rule's `for: 5m`): that rule may go pending and back. Nothing else may.
    let unexpected: Vec<&String> = pending
        .iter()
        .filter(|n| *n != "OAuthValidateFailing")
        .collect();
    assert!(unexpected.is_empty(), "calm went pending on {unexpected:?}");
}

#[test]
fn calm_demo_without_a_backfill_claims_no_trend_in_its_first_minutes() {
    // A cockpit without history starts from one point: the trends must wait for evidence
    // (no `full in 21m` three seconds after launch, no `+0.0/s climbing`).
    let mut c = Cockpit::launch(Scenario::Calm);
    let mut pending = BTreeSet::new();
    for _ in 0..180 {
        let panels = c.live_round();
        assert_calm(&c, &panels, &mut pending);
    }
}

/// The alert each incident must fire: target, rule.
fn incident_alert(scenario: Scenario) -> (&'static str, &'static str) {
    match scenario {
        Scenario::BacklogStall => ("cn-index", "OutboxBacklogHigh"),
        Scenario::AckLatency => ("overlay", "WebhookAckSlow"),
        Scenario::SseDrop => ("overlay", "SseRingMiss"),
        Scenario::DiskFill => ("cn-relay", "DbDiskPressure"),
        Scenario::DependencyDown => ("rest-api", "ApiErrorRateCritical"),
        Scenario::Calm => unreachable!("calm has no incident"),
    }
}

#[test]
fn every_incident_fires_its_alert_on_the_first_frame() {
    for scenario in Scenario::ALL.into_iter().filter(|s| *s != Scenario::Calm) {
        // At the frames' own step, and (for one) at the cockpit's interval.
        let steps: &[i64] = if scenario == Scenario::BacklogStall {
            &[5_000, INTERVAL_MS]
        } else {
            &[5_000]
        };
        for &step in steps {
            let (target, alert) = incident_alert(scenario);
            let mut c = Cockpit::launch(scenario);
            let mut first_frame = Vec::new();
            c.backfill(step, &mut |_, panels| first_frame = panels.to_vec());
            let rows = c.book.rows(&Cockpit::names());
            let row = rows
                .iter()
                .find(|r| r.target == target && r.name == alert)
                .unwrap_or_else(|| {
                    panic!("{scenario} (step {step} ms): no {alert} on {target}: {rows:#?}")
                });
            assert_eq!(row.state, "firing", "{scenario}: {row:#?}");
            // Fired during the past, with room to spare: the condition has held longer than
            // its `for` by over a minute at launch.
            assert!(
                row.since_ms <= LAUNCH_MS - 60_000,
                "{scenario}: {alert} fired only {} s before launch",
                (LAUNCH_MS - row.since_ms) / 1000
            );
            let t = &first_frame[Cockpit::target(target)];
            incident_numbers(scenario, &c, t, &first_frame);
            // …and it keeps firing as the live cockpit goes on.
            for _ in 0..60 {
                c.live_round();
            }
            let still = c.book.rows(&Cockpit::names()).into_iter().any(|r| {
                r.target == target
                    && r.name == alert
                    && r.state == crate::derive::rules::AlertPhase::Firing
            });
            assert!(still, "{scenario}: {alert} stopped firing after launch");
        }
    }
}

/// The first frame's numbers look like an incident some minutes in.
fn incident_numbers(scenario: Scenario, c: &Cockpit, t: &TargetPanels, all: &[TargetPanels]) {
    match scenario {
        Scenario::BacklogStall => {
            let row = t
                .backlog
                .iter()
                .find(|b| b.labels.ends_with("index-v1"))
                .expect("index-v1");
            assert!(row.value > 10_000.0, "{row:?}");
            let trend = row.trend.expect("a trend from the backfill");
            assert_eq!(trend.direction, Direction::Filling, "{row:?}");
        }
        Scenario::AckLatency => {
            let ack = t
                .latency
                .iter()
                .find(|l| l.title == "Webhook ACK")
                .expect("ACK panel");
            assert!(ack.p95 > 0.25 && !ack.since_start, "{ack:?}");
        }
        Scenario::SseDrop => {
            let now = t.sse.iter().find(|g| g.labels == "overlay").expect("aud");
            assert!(now.value <= 10.0, "{now:?}");
            // Minutes ago the audience was in the hundreds: the backfill shows the fall.
            let key = "sse_clients{aud=\"overlay\"}";
            let points = c.store.targets[Cockpit::target("overlay")].points(key);
            let before: Vec<f64> = points
                .iter()
                .filter(|p| p.0 <= LAUNCH_MS - 7 * 60_000)
                .map(|p| p.1)
                .collect();
            assert!(
                !before.is_empty() && before.iter().all(|v| *v >= 200.0),
                "{before:?}"
            );
        }
        Scenario::DiskFill => {
            let pg = t
                .disks
                .iter()
                .find(|d| d.label == "/var/lib/postgresql")
                .expect("pg disk");
            assert!(pg.used_ratio > 0.999, "full before launch: {pg:?}");
            let mail = all[Cockpit::target("mail")]
                .disks
                .iter()
                .find(|d| d.source == "mail")
                .expect("mail storage");
            assert!(mail.used_ratio > 0.9 && mail.used_ratio < 1.0, "{mail:?}");
        }
        Scenario::DependencyDown => {
            let ratio = t.errors[0].ratio.expect("a 5xx ratio");
            assert!(ratio > 0.06, "{ratio}");
            let mail = &all[Cockpit::target("mail")];
            assert!(mail.queue[0].value > 1000.0, "{:?}", mail.queue[0]);
        }
        Scenario::Calm => {}
    }
}
