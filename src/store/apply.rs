//! Folding observations into the store.

use super::{push_point, DiskState, HealthState, ScrapeStats, Store, TargetState};
use crate::config::Config;
use crate::obs::Observation;
use crate::text::display_url;

impl Store {
    /// An empty store with one entry per configured target and disk.
    pub fn new(config: &Config) -> Self {
        Self {
            targets: config
                .targets
                .iter()
                .map(|t| TargetState {
                    name: t.name.clone(),
                    preset: t.preset.map(|p| p.to_string()),
                    has_metrics: t.metrics.is_some(),
                    health: Vec::new(),
                    pg: t.postgres.as_ref().map(|p| super::PgState {
                        source: p.display(),
                        ..super::PgState::default()
                    }),
                    history: match &t.history {
                        Some(h) if t.metrics.is_some() => super::HistoryState::Loading {
                            source: display_url(&h.url),
                        },
                        _ => super::HistoryState::None,
                    },
                    ..TargetState::default()
                })
                .collect(),
            disks: config
                .disks
                .iter()
                .map(|d| DiskState {
                    name: d.name.clone(),
                    path: d.path.display().to_string(),
                    ..DiskState::default()
                })
                .collect(),
            limits: super::HistoryLimits::default(),
            fleets: config
                .fleets
                .iter()
                .map(|f| super::FleetState {
                    name: f.name.clone(),
                    preset: f.preset.map(|p| p.to_string()),
                    url: display_url(&f.url),
                    window_ms: f.window.as_millis() as i64,
                    name_label: f.name_label.clone(),
                    ..super::FleetState::default()
                })
                .collect(),
            pending_backfill: Vec::new(),
        }
    }

    /// Health URLs as they may be shown, for targets that have not reported yet.
    pub fn health_urls(config: &Config, target: usize) -> Vec<String> {
        config
            .targets
            .get(target)
            .map(|t| t.health.iter().map(display_url).collect())
            .unwrap_or_default()
    }

    pub fn apply(&mut self, obs: Observation) {
        match obs {
            Observation::Target {
                target,
                round,
                at_ms,
                scrape,
                health,
            } => {
                let limits = self.limits;
                let Some(t) = self.targets.get_mut(target) else {
                    return;
                };
                t.rounds = t.rounds.max(round);
                t.health = health
                    .into_iter()
                    .map(|h| HealthState {
                        url: h.url,
                        at_ms,
                        latency_ms: h.latency_ms,
                        result: h.result,
                    })
                    .collect();
                match scrape {
                    None => {}
                    Some(Err(e)) => {
                        t.last_attempt_ms = Some(at_ms);
                        t.last_error = Some(e);
                    }
                    Some(Ok(d)) => {
                        t.last_attempt_ms = Some(at_ms);
                        t.last_success_ms = Some(at_ms);
                        t.last_error = None;
                        t.present.clear();
                        for (key, value) in d.watched {
                            push_point(
                                t.series.entry(key.clone()).or_default(),
                                (at_ms, value),
                                limits,
                            );
                            t.present.push(key);
                        }
                        // Series that vanished long ago stop costing memory.
                        t.series.retain(|_, pts| {
                            pts.last().is_some_and(|p| at_ms - p.0 <= limits.max_age_ms)
                        });
                        let warning = d.report.sample_limit_hit.then(|| {
                            format!(
                                "the target exposes more samples than the limit ({}); only the first were read — raise limits.max_samples",
                                d.report.samples
                            )
                        });
                        t.scrape = Some(ScrapeStats {
                            at_ms,
                            duration_ms: d.duration_ms,
                            body_bytes: d.body_bytes,
                            format: d.format,
                            samples: d.report.samples,
                            series: d.series,
                            malformed_count: d.report.malformed_count,
                            malformed: d.report.malformed,
                            warning,
                        });
                    }
                }
            }
            Observation::Series { .. } | Observation::Alertmanager { .. } => {}
            Observation::History(b) => self.apply_history(&b),
            Observation::Fleet(round) => self.apply_fleet(*round),
            Observation::FleetBackfill(b) => self.apply_backfill(*b),
            Observation::Postgres(msg) => self.apply_pg(*msg),
            Observation::Disks { at_ms, usage } => {
                let limits = self.limits;
                for (d, u) in self.disks.iter_mut().zip(usage) {
                    d.at_ms = Some(at_ms);
                    if let Ok(u) = &u {
                        push_point(&mut d.used, (at_ms, u.used_bytes()), limits);
                    }
                    d.last = Some(u);
                }
            }
        }
    }

    /// Folds a target's past into its histories. The launch batch also says where history
    /// came from (or why there is none); a gap's batch only fills the gap.
    pub fn apply_history(&mut self, b: &crate::obs::history::HistoryBatch) {
        let limits = self.limits;
        let Some(t) = self.targets.get_mut(b.target) else {
            return;
        };
        let mut past: std::collections::HashMap<&std::sync::Arc<str>, Vec<crate::obs::Point>> =
            std::collections::HashMap::new();
        for (at, values) in &b.steps {
            for (key, v) in values {
                past.entry(key).or_default().push((*at, *v));
            }
        }
        for (key, pts) in past {
            super::merge_points(t.series.entry(key.clone()).or_default(), &pts, limits);
        }
        if b.at_launch {
            t.history = match &b.error {
                Some(e) => super::HistoryState::Failed {
                    source: b.source.clone(),
                    error: e.clone(),
                },
                None => super::HistoryState::Loaded {
                    source: b.source.clone(),
                    from_ms: b.from_ms,
                    to_ms: b.to_ms,
                    series: b.series,
                    steps: b.steps.len(),
                },
            };
        }
    }

    fn apply_pg(&mut self, msg: crate::obs::postgres::PgMsg) {
        use crate::obs::postgres::PgMsg;
        let limits = self.limits;
        let Some(pg) = self
            .targets
            .get_mut(msg.target())
            .and_then(|t| t.pg.as_mut())
        else {
            return;
        };
        pg.rounds += 1;
        match msg {
            PgMsg::Observed { obs, .. } => {
                let at = obs.at_ms;
                if let Ok(rows) = &obs.backlog {
                    for r in rows {
                        let pts = pg.backlog.entry(r.consumer.clone()).or_default();
                        push_point(pts, (at, r.backlog as f64), limits);
                    }
                    pg.backlog
                        .retain(|_, pts| pts.last().is_some_and(|p| at - p.0 <= limits.max_age_ms));
                }
                if let Ok(db) = &obs.database {
                    push_point(&mut pg.db_bytes, (at, db.bytes as f64), limits);
                }
                pg.error = None;
                pg.error_at_ms = None;
                pg.retry_in_ms = None;
                pg.last = Some(*obs);
            }
            PgMsg::Unavailable {
                at_ms,
                error,
                retry_in,
                ..
            } => {
                pg.error = Some(error.to_string());
                pg.error_at_ms = Some(at_ms);
                pg.retry_in_ms = Some(retry_in.as_millis() as i64);
            }
        }
    }
}
