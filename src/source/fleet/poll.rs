//! The poller: one task per fleet, a query per panel each round, range queries for new
//! instances' sparklines.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::fold::{fold, row_labels, series_key};
use super::query::{panel_queries, status_query, PanelQuery, PART};
use crate::client::api::{ApiError, ApiSpec, Auth};
use crate::client::http::HttpLimits;
use crate::client::promql::{PromClient, QueryOutcome, Range};
use crate::config::fleet::{FleetAuth, FleetConfig};
use crate::config::Preset;
use crate::obs::fleet::{
    instance_key, Backfill, FleetBackfill, FleetRound, InstanceValues, PanelKind, PanelNote,
};
use crate::obs::Observation;

/// Sparkline points fetched by the backfill.
pub const BACKFILL_POINTS: u32 = 120;

/// The API client spec of a fleet.
pub fn api_spec(f: &FleetConfig) -> ApiSpec {
    ApiSpec {
        base_url: f.url.to_string(),
        auth: match &f.auth {
            FleetAuth::None => Auth::None,
            FleetAuth::Bearer(t) => Auth::Bearer(t.clone()),
            FleetAuth::Basic { user, password } => Auth::Basic {
                user: user.clone(),
                password: password.clone(),
            },
        },
        tenant: f.tenant.clone(),
        limits: HttpLimits {
            timeout: f.timeout,
            // A fleet of thousands answers in a few MB; anything far beyond is a mistake.
            max_body_bytes: 64 * 1024 * 1024,
            ..HttpLimits::default()
        },
    }
}

/// Polls one fleet.
pub struct FleetPoller {
    pub index: usize,
    client: Arc<PromClient>,
    status: String,
    queries: Vec<PanelQuery>,
    filter: Option<String>,
    name_label: String,
    interval: Duration,
    known: std::collections::HashSet<String>,
    last_backfill_ms: Option<i64>,
    /// A backfill to read after the round just sent (its evaluation time).
    backfill_at: Option<i64>,
    /// Shared by the fleets of one collector: how many have not sent their first round yet.
    /// History waits for it, so range queries never slow another fleet's first values.
    first_rounds: Option<Arc<FirstRounds>>,
}

/// Counts the fleets still waiting for their first round (see [`FleetPoller::share`]).
#[derive(Debug)]
pub struct FirstRounds {
    pending: std::sync::atomic::AtomicUsize,
    done: tokio::sync::Notify,
}

impl FirstRounds {
    pub fn new(fleets: usize) -> Arc<FirstRounds> {
        Arc::new(FirstRounds {
            pending: std::sync::atomic::AtomicUsize::new(fleets),
            done: tokio::sync::Notify::new(),
        })
    }

    fn one_done(&self) {
        if self
            .pending
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel)
            <= 1
        {
            self.done.notify_waiters();
        }
    }

    /// Until every fleet's first round is in, or `at_most` passes.
    async fn wait(&self, at_most: Duration) {
        let all_in = async {
            loop {
                let notified = self.done.notified();
                if self.pending.load(std::sync::atomic::Ordering::Acquire) == 0 {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(at_most, all_in).await;
    }
}

impl FleetPoller {
    pub fn new(index: usize, f: &FleetConfig) -> Result<FleetPoller, ApiError> {
        let preset = f.preset.map(Preset::load);
        Ok(FleetPoller {
            index,
            client: Arc::new(PromClient::new(&api_spec(f))?),
            status: status_query(f.selector.as_deref(), &f.name_label),
            queries: panel_queries(preset.as_ref(), f.selector.as_deref(), f.window),
            filter: f.filter.as_ref().map(|s| s.to_lowercase()),
            name_label: f.name_label.clone(),
            interval: f.interval,
            known: std::collections::HashSet::new(),
            last_backfill_ms: None,
            backfill_at: None,
            first_rounds: None,
        })
    }

    /// Joins the fleets whose first rounds go before anyone's history.
    #[must_use]
    pub fn share(mut self, first_rounds: Arc<FirstRounds>) -> FleetPoller {
        self.first_rounds = Some(first_rounds);
        self
    }

    /// The queries of one refresh (the status query first).
    pub fn queries(&self) -> Vec<String> {
        std::iter::once(self.status.clone())
            .chain(self.queries.iter().map(|q| q.promql.clone()))
            .collect()
    }

    /// One round: the status query, then every panel query at the same evaluation time,
    /// concurrently.
    pub async fn poll(&mut self, round: u32) -> FleetRound {
        let started = std::time::Instant::now();
        let mut out = FleetRound {
            fleet: self.index,
            round,
            at_ms: crate::obs::now_ms(),
            error: None,
            instances: Vec::new(),
            notes: Vec::new(),
            queries: 1 + self.queries.len() as u32,
        };
        // The panel queries do not wait for the status query: all go out at once, each
        // evaluated at the store's own "now" (the store's clock, not ours, decides the window).
        let mut set = tokio::task::JoinSet::new();
        for (i, q) in self.queries.iter().enumerate() {
            let client = Arc::clone(&self.client);
            let promql = q.promql.clone();
            set.spawn(async move { (i, client.instant(&promql, None).await) });
        }
        let status = match self.client.instant(&self.status, None).await {
            Ok(s) => s,
            Err(e) => {
                set.abort_all();
                out.error = Some(e.to_string());
                return out;
            }
        };
        if let Some(at) = status.data.series().first().and_then(|s| s.samples.first()) {
            out.at_ms = at.at_ms;
        }
        let (mut instances, index) = self.read_status(&status);
        tracing::debug!(
            fleet = self.index,
            instances = instances.len(),
            ms = started.elapsed().as_millis() as u64,
            "fleet status read"
        );
        if let Some(w) = status.notes().into_iter().next() {
            out.notes.push(PanelNote {
                panel: "Instances (up)".into(),
                text: w,
                failed: false,
            });
        }
        let mut answers: Vec<Option<Result<QueryOutcome, ApiError>>> =
            (0..self.queries.len()).map(|_| None).collect();
        while let Some(joined) = set.join_next().await {
            if let Ok((i, r)) = joined {
                answers[i] = Some(r);
            }
        }
        self.fold_answers(answers, &mut out.notes, &mut instances, &index);
        let fresh = instances
            .iter()
            .any(|i| !self.known.contains(&instance_key(&i.job, &i.instance)));
        let due = self
            .last_backfill_ms
            .is_none_or(|t| out.at_ms - t >= 60_000);
        if fresh && due && !instances.is_empty() {
            // Read after this round is sent, so the first frame does not wait for history.
            // Only instances whose history is read count as known: one that appears between
            // two backfills gets the next.
            self.last_backfill_ms = Some(out.at_ms);
            self.backfill_at = Some(out.at_ms);
            for i in &instances {
                self.known.insert(instance_key(&i.job, &i.instance));
            }
        }
        out.instances = std::mem::take(&mut instances);
        tracing::debug!(
            fleet = self.index,
            round,
            instances = out.instances.len(),
            queries = out.queries,
            problems = out.notes.len(),
            ms = started.elapsed().as_millis() as u64,
            "fleet round"
        );
        out
    }

    /// Each panel's answer into the instances, or its failure into the notes.
    fn fold_answers(
        &self,
        answers: Vec<Option<Result<QueryOutcome, ApiError>>>,
        notes: &mut Vec<PanelNote>,
        instances: &mut [InstanceValues],
        index: &HashMap<String, usize>,
    ) {
        for (q, answer) in self.queries.iter().zip(answers) {
            let panel = if q.kind == PanelKind::Disks {
                "Disk".to_owned()
            } else {
                format!("{} {:?}", q.kind.word(), q.title)
            };
            match answer {
                None => notes.push(PanelNote {
                    panel,
                    text: "the query task stopped without an answer".into(),
                    failed: true,
                }),
                Some(Err(e)) => notes.push(PanelNote {
                    panel,
                    text: e.to_string(),
                    failed: true,
                }),
                Some(Ok(o)) => {
                    for note in o.notes() {
                        notes.push(PanelNote {
                            panel: panel.clone(),
                            text: note,
                            failed: false,
                        });
                    }
                    fold(q, &o, instances, index);
                }
            }
        }
    }

    fn read_status(&self, status: &QueryOutcome) -> (Vec<InstanceValues>, HashMap<String, usize>) {
        let mut instances: Vec<InstanceValues> = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for s in status.data.series() {
            let key = series_key(s);
            let i = *seen.entry(key).or_insert_with(|| {
                instances.push(InstanceValues {
                    job: s.label("job").unwrap_or_default().to_owned(),
                    instance: s.label("instance").unwrap_or_default().to_owned(),
                    ..InstanceValues::default()
                });
                instances.len() - 1
            });
            let v = s.last().unwrap_or(f64::NAN);
            let inst = &mut instances[i];
            match s.label(PART) {
                Some("up") => {
                    inst.up = v > 0.5;
                    inst.labels = s.labels.clone();
                    inst.labels.remove("__name__");
                    inst.labels.remove(PART);
                }
                Some("ts") if v.is_finite() => inst.scraped_ms = Some((v * 1000.0).round() as i64),
                Some("dur") if v.is_finite() => inst.scrape_ms = Some(v * 1000.0),
                _ => {}
            }
        }
        // `filter` keeps instances whose job or instance contains the text.
        if let Some(needle) = &self.filter {
            let keep: Vec<bool> = instances
                .iter()
                .map(|i| {
                    i.job.to_lowercase().contains(needle)
                        || i.instance.to_lowercase().contains(needle)
                })
                .collect();
            let mut it = keep.iter();
            instances.retain(|_| *it.next().unwrap_or(&false));
        }
        // In the order they are shown: by job, then by the name each row gets.
        let name = |i: &InstanceValues| -> String {
            i.labels
                .get(&self.name_label)
                .cloned()
                .unwrap_or_else(|| i.instance.clone())
        };
        instances.sort_by_cached_key(|i| (i.job.clone(), name(i), i.instance.clone()));
        let index = instances
            .iter()
            .enumerate()
            .map(|(n, i)| (instance_key(&i.job, &i.instance), n))
            .collect();
        (instances, index)
    }

    /// Range queries for the sparklines over the last [`BACKFILL_POINTS`] intervals, all at
    /// once.
    pub async fn backfill(&self, at_ms: i64) -> FleetBackfill {
        let step = self.interval.max(Duration::from_secs(1));
        let span = step.as_millis() as i64 * i64::from(BACKFILL_POINTS - 1);
        let range = Range {
            start_ms: at_ms - span,
            end_ms: at_ms,
            step,
        };
        let mut set = tokio::task::JoinSet::new();
        for q in self.queries.iter().filter(|q| q.spark.is_some()) {
            let client = Arc::clone(&self.client);
            let q = q.clone();
            set.spawn(async move {
                let r = client
                    .range(q.spark.as_deref().unwrap_or_default(), &range)
                    .await;
                (q, r)
            });
        }
        let mut out = FleetBackfill {
            fleet: self.index,
            backfill: Backfill::default(),
            queries: 0,
            notes: Vec::new(),
        };
        while let Some(joined) = set.join_next().await {
            let Ok((q, r)) = joined else { continue };
            out.queries += 1;
            match r {
                Ok(o) => {
                    for s in o.data.series() {
                        let labels = if q.kind == PanelKind::Latency {
                            String::new()
                        } else {
                            row_labels(s, &q.by)
                        };
                        out.backfill.lines.push((
                            (series_key(s), q.kind, q.title.clone(), labels),
                            s.samples.iter().map(|p| (p.at_ms, p.value)).collect(),
                        ));
                    }
                }
                Err(e) => out.notes.push(PanelNote {
                    panel: format!("{} {:?} (sparkline history)", q.kind.word(), q.title),
                    text: e.to_string(),
                    failed: false,
                }),
            }
        }
        out
    }

    /// Polls every `interval` and sends each round; `rounds` stops after that many.
    pub async fn run(mut self, tx: mpsc::Sender<Observation>, rounds: Option<u32>) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut round = 0u32;
        loop {
            tick.tick().await;
            round += 1;
            let r = self.poll(round).await;
            if tx.send(Observation::Fleet(Box::new(r))).await.is_err() {
                return;
            }
            if let Some(gate) = &self.first_rounds {
                if round == 1 {
                    gate.one_done();
                }
                if self.backfill_at.is_some() {
                    gate.wait(self.interval).await;
                }
            }
            if let Some(at) = self.backfill_at.take() {
                let b = self.backfill(at).await;
                if tx
                    .send(Observation::FleetBackfill(Box::new(b)))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            if rounds.is_some_and(|n| round >= n) {
                return;
            }
        }
    }
}
