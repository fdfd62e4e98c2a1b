//! Folding a fleet's rounds into the store: one target per instance, added when it first
//! appears (targets are only ever appended, so every index held elsewhere stays valid).

use std::collections::HashMap;

use super::{push_point, Store, TargetState};
use crate::obs::fleet::{instance_key, FleetRound, InstanceValues, PanelKind, PanelNote};

/// What the store knows of one `[[fleet]]`.
#[derive(Debug, Clone, Default)]
pub struct FleetState {
    pub name: String,
    pub preset: Option<String>,
    /// The store's API, as it may be shown.
    pub url: String,
    pub rounds: u32,
    /// When the latest round was evaluated (unix ms).
    pub at_ms: Option<i64>,
    /// Why the latest round could not list the instances.
    pub error: Option<String>,
    /// Problems with single panels in the latest round.
    pub notes: Vec<PanelNote>,
    /// Instances in the latest good round, and how many of them are up.
    pub instances: usize,
    pub up: usize,
    /// Queries of the latest round (backfill included) and in all.
    pub queries: u32,
    pub queries_total: u64,
    /// Instance key → target index.
    pub targets: HashMap<String, usize>,
    /// The range of the fleet's `rate()` and `increase()` (ms).
    pub window_ms: i64,
    /// The label an instance is named by (`instance` unless the config says otherwise).
    pub name_label: String,
    /// Instances seen before that the latest round no longer lists.
    pub gone: usize,
}

/// What a target read from a fleet carries besides the common fields.
#[derive(Debug, Clone, Default)]
pub struct RemoteState {
    pub fleet: usize,
    pub values: InstanceValues,
    /// Not in the latest `up` answer.
    pub gone: bool,
}

/// The history key of one remote row.
pub fn remote_key(kind: PanelKind, title: &str, labels: &str) -> String {
    format!("{}\u{1f}{title}\u{1f}{labels}", kind.word())
}

impl Store {
    /// Applies one fleet round; new instances become new targets at the end.
    pub fn apply_fleet(&mut self, mut r: FleetRound) {
        let limits = self.limits;
        let Some(f) = self.fleets.get_mut(r.fleet) else {
            return;
        };
        f.rounds = f.rounds.max(r.round);
        f.at_ms = Some(r.at_ms);
        f.queries = r.queries;
        f.queries_total += u64::from(r.queries);
        f.notes = std::mem::take(&mut r.notes);
        // Panels without values first: they matter more than a partial answer.
        f.notes.sort_by_key(|n| !n.failed);
        if let Some(err) = r.error.take() {
            f.error = Some(err.clone());
            let targets: Vec<usize> = f.targets.values().copied().collect();
            for i in targets {
                let t = &mut self.targets[i];
                t.rounds = t.rounds.max(r.round);
                t.last_attempt_ms = Some(r.at_ms);
                t.last_error = Some(err.clone());
            }
            return;
        }
        f.error = None;
        f.instances = r.instances.len();
        f.up = r.instances.iter().filter(|i| i.up).count();
        let mut seen: std::collections::HashSet<usize> =
            std::collections::HashSet::with_capacity(r.instances.len());
        for v in std::mem::take(&mut r.instances) {
            let i = self.fleet_target(r.fleet, &v);
            seen.insert(i);
            let t = &mut self.targets[i];
            t.rounds = t.rounds.max(r.round);
            let at = r.at_ms;
            let scraped = v.scraped_ms.unwrap_or(at).min(at);
            t.last_attempt_ms = Some(scraped);
            let window_ms = self.fleets[r.fleet].window_ms;
            if v.up && at - scraped > window_ms.max(30_000) {
                // The store still answers with a sample it has not renewed for a window (a
                // stuck scrape, a remote-write sender gone quiet): the values are stale.
                t.last_success_ms = Some(scraped);
                t.last_attempt_ms = Some(at);
                t.last_error = None;
            } else if v.up {
                t.last_success_ms = t.last_attempt_ms;
                t.last_error = None;
            } else {
                t.last_error = Some(format!(
                    "{} cannot scrape it: up = 0 in its latest scrape",
                    self.fleets[r.fleet].url
                ));
            }
            for g in &v.gauges {
                if g.value.is_finite() {
                    let key = remote_key(g.kind, &g.title, &g.labels);
                    push_point(
                        t.series.entry(key.into()).or_default(),
                        (at, g.value),
                        limits,
                    );
                }
            }
            for (title, used, _) in &v.storage {
                if used.is_finite() {
                    let key = remote_key(PanelKind::Storage, title, "");
                    push_point(t.series.entry(key.into()).or_default(), (at, *used), limits);
                }
            }
            for (mount, size, _, free) in &v.disks {
                if let Some(free) = free.filter(|f| f.is_finite() && size.is_finite()) {
                    let key = remote_key(PanelKind::Disks, mount, "");
                    push_point(
                        t.series.entry(key.into()).or_default(),
                        (at, size - free),
                        limits,
                    );
                }
            }
            t.series
                .retain(|_, pts| pts.last().is_some_and(|p| at - p.0 <= limits.max_age_ms));
            t.remote = Some(RemoteState {
                fleet: r.fleet,
                values: v,
                gone: false,
            });
        }
        // An instance that left `up` left the store's service discovery (a scale-down, a
        // replaced pod): it is not down, it is gone, and leaves the screen and the counts. A
        // crashed instance stays in `up` with up = 0 and shows as down.
        let all: Vec<usize> = self.fleets[r.fleet].targets.values().copied().collect();
        let mut left = 0;
        for i in all.into_iter().filter(|i| !seen.contains(i)) {
            left += 1;
            let t = &mut self.targets[i];
            t.rounds = t.rounds.max(r.round);
            if let Some(rs) = t.remote.as_mut() {
                rs.gone = true;
            }
        }
        self.fleets[r.fleet].gone = left;
    }

    /// Sparkline history of new instances: gauges' histories here, sparklines for the cockpit.
    pub fn apply_backfill(&mut self, b: crate::obs::fleet::FleetBackfill) {
        let Some(f) = self.fleets.get_mut(b.fleet) else {
            return;
        };
        f.queries_total += u64::from(b.queries);
        f.notes.extend(b.notes);
        self.backfill_store(b.fleet, &b.backfill);
        self.pending_backfill.push((b.fleet, b.backfill));
    }

    /// Backlog and gauge histories from the backfill, so trends and changes are known at once.
    fn backfill_store(&mut self, fleet: usize, b: &crate::obs::fleet::Backfill) {
        let limits = self.limits;
        for ((key, kind, title, labels), points) in &b.lines {
            if !matches!(kind, PanelKind::Backlog | PanelKind::Sse) {
                continue;
            }
            let Some(&i) = self.fleets[fleet].targets.get(key) else {
                continue;
            };
            let series = self.targets[i]
                .series
                .entry(remote_key(*kind, title, labels).into())
                .or_default();
            let mut merged: Vec<(i64, f64)> = Vec::with_capacity(points.len() + series.len());
            let first_known = series.first().map_or(i64::MAX, |p| p.0);
            merged.extend(
                points
                    .iter()
                    .copied()
                    .filter(|p| p.0 < first_known && p.1.is_finite()),
            );
            merged.append(series);
            for p in merged {
                push_point(series, p, limits);
            }
        }
    }

    /// The target of one instance, added when it is new.
    fn fleet_target(&mut self, fleet: usize, v: &InstanceValues) -> usize {
        let key = instance_key(&v.job, &v.instance);
        if let Some(&i) = self.fleets[fleet].targets.get(&key) {
            return i;
        }
        let fname = self.fleets[fleet].name.clone();
        let label = &self.fleets[fleet].name_label;
        let first = v
            .labels
            .get(label)
            .cloned()
            .unwrap_or_else(|| v.instance.clone());
        let candidates = [
            first,
            v.instance.clone(),
            format!("{}/{}", v.job, v.instance),
            format!("{fname}/{}/{}", v.job, v.instance),
        ];
        let name = candidates
            .iter()
            .find(|c| !c.is_empty() && !self.targets.iter().any(|t| &t.name == *c))
            .cloned()
            .unwrap_or_else(|| format!("{fname}/{}", self.targets.len()));
        self.targets.push(TargetState {
            name,
            preset: self.fleets[fleet].preset.clone(),
            has_metrics: true,
            ..TargetState::default()
        });
        let i = self.targets.len() - 1;
        self.fleets[fleet].targets.insert(key, i);
        i
    }
}
