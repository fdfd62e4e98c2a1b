//! The `promql` source: a fleet's panels read from a Prometheus-compatible store.
//!
//! Each preset panel becomes one PromQL expression (the server aggregates; watchdeck only
//! splits the answer by instance): gauges are `sum by (job, instance, <by>)`, latency is
//! `histogram_quantile(q, sum by (job, instance, le) (rate(<h>_bucket[window])))` for p50/p95/p99,
//! counters and error shares are `increase(…[window])`. Parts of one panel travel in one query,
//! told apart by a `wd_part` label added with `label_replace`, so a refresh costs one query per
//! panel (plus one for the instances' `up`) whatever the number of instances, and a failing
//! panel fails alone, in plain words.
//!
//! Sparklines start filled: the first round (and any round that finds new instances, at most
//! once a minute) also runs range queries over the last minutes for the panels that draw one.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::api::{ApiError, ApiSpec, Auth};
use super::collector::Observation;
use super::http::HttpLimits;
use super::promql::{PromClient, QueryOutcome, Range, Series};
use crate::config::fleet::{FleetAuth, FleetConfig};
use crate::config::{LatencyPanel, Preset};

/// The label that tells the parts of one panel's query apart.
pub const PART: &str = "wd_part";
/// Quantiles of a latency panel, in the order of [`InstanceValues::latency`].
pub const QUANTILES: [f64; 3] = [0.5, 0.95, 0.99];
/// Sparkline points fetched by the backfill.
pub const BACKFILL_POINTS: u32 = 120;

/// Which panel a query feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PanelKind {
    Backlog,
    Sse,
    Queue,
    Latency,
    Errors,
    Counters,
    Storage,
    Disks,
}

impl PanelKind {
    pub fn word(self) -> &'static str {
        match self {
            PanelKind::Backlog => "Backlog",
            PanelKind::Sse => "SSE",
            PanelKind::Queue => "Queue",
            PanelKind::Latency => "Latency",
            PanelKind::Errors => "Errors",
            PanelKind::Counters => "Counters",
            PanelKind::Storage => "Storage",
            PanelKind::Disks => "Disk",
        }
    }
}

/// The PromQL of one panel.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelQuery {
    pub kind: PanelKind,
    /// The panel's row title.
    pub title: String,
    /// The `by` labels a row is made of (gauges, counters).
    pub by: Vec<String>,
    pub promql: String,
    /// For the backfill: the expression whose history is the sparkline (backlog, SSE: the
    /// gauge; latency: p95).
    pub spark: Option<String>,
}

/// `metric{matchers}`, or `metric` when there are none (`up{}` is not valid PromQL).
fn selector(metric: &str, matchers: &[String]) -> String {
    let m: Vec<&str> = matchers
        .iter()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect();
    if m.is_empty() {
        metric.to_owned()
    } else {
        format!("{metric}{{{}}}", m.join(", "))
    }
}

fn part(expr: &str, name: &str) -> String {
    format!("label_replace({expr}, \"{PART}\", \"{name}\", \"\", \"\")")
}

fn by_clause(extra: &[String]) -> String {
    let mut labels = vec!["job".to_owned(), "instance".to_owned()];
    labels.extend(
        extra
            .iter()
            .filter(|l| *l != "job" && *l != "instance")
            .cloned(),
    );
    labels.join(", ")
}

/// Escapes text for a PromQL double-quoted string holding a regular expression.
fn regex_literal(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c == '\\' {
            // A literal backslash in a regex is `\\`, each written `\\` in the string.
            out.push_str("\\\\\\\\");
            continue;
        }
        if ".+*?()|[]{}^$".contains(c) {
            out.push_str("\\\\");
        } else if c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn window_text(window: Duration) -> String {
    format!("{}s", window.as_secs().max(1))
}

/// The status query: `up`, the time of the last scrape and its duration, per instance, with
/// only the labels a row needs (a thousand instances' every target label is most of the
/// answer otherwise).
pub fn status_query(fleet_selector: Option<&str>, name_label: &str) -> String {
    let m: Vec<String> = fleet_selector.map(str::to_owned).into_iter().collect();
    let by = by_clause(&[name_label.to_owned()]);
    let up = selector("up", &m);
    [
        part(&format!("max by ({by}) ({up})"), "up"),
        part(&format!("max by ({by}) (timestamp({up}))"), "ts"),
        part(
            &format!(
                "max by ({by}) ({})",
                selector("scrape_duration_seconds", &m)
            ),
            "dur",
        ),
    ]
    .join(" or ")
}

/// The latency panel: the per-instance bucket rates, `sum by (job, instance, le) (rate(…))`.
/// The three quantiles are interpolated here with PromQL's own `histogram_quantile`
/// algorithm ([`crate::derive::quantile`]): asking the store for p50, p95 and p99 in one
/// expression makes it compute the rates three times (measured: 3× the time of this query on
/// 500 instances). The sparkline's history is the store's `histogram_quantile(0.95, …)`.
fn latency_query(l: &LatencyPanel, m: &[String], window: &str) -> (String, String) {
    let mut matchers = m.to_vec();
    for (k, v) in &l.matchers {
        matchers.push(format!(
            "{k}=\"{}\"",
            v.replace('\\', "\\\\").replace('"', "\\\"")
        ));
    }
    let rate = format!(
        "sum by ({}) (rate({}[{window}]))",
        by_clause(&["le".to_owned()]),
        selector(&format!("{}_bucket", l.histogram), &matchers)
    );
    let p95 = format!("histogram_quantile(0.95, {rate})");
    (rate, p95)
}

/// Every panel query of a preset (and the disk panel every target has), in panel order.
pub fn panel_queries(
    preset: Option<&Preset>,
    fleet_selector: Option<&str>,
    window: Duration,
) -> Vec<PanelQuery> {
    let m: Vec<String> = fleet_selector.map(str::to_owned).into_iter().collect();
    let w = window_text(window);
    let mut out = Vec::new();
    if let Some(p) = preset {
        for (kind, panels) in [
            (PanelKind::Backlog, &p.backlog),
            (PanelKind::Sse, &p.sse),
            (PanelKind::Queue, &p.queue),
        ] {
            for g in panels {
                let expr = format!(
                    "sum by ({}) ({})",
                    by_clause(&g.by),
                    selector(&g.metric, &m)
                );
                out.push(PanelQuery {
                    kind,
                    title: g.title.clone(),
                    by: g.by.clone(),
                    spark: matches!(kind, PanelKind::Backlog | PanelKind::Sse)
                        .then(|| expr.clone()),
                    promql: expr,
                });
            }
        }
        for l in &p.latency {
            let (promql, p95) = latency_query(l, &m, &w);
            out.push(PanelQuery {
                kind: PanelKind::Latency,
                title: l.title.clone(),
                by: Vec::new(),
                promql,
                spark: Some(p95),
            });
        }
        out.extend(p.errors.iter().map(|e| error_query(e, &m, &w)));
        out.extend(p.counters.iter().map(|c| counter_query(c, &m, &w)));
        out.extend(p.storage.iter().map(|s| storage_query(s, &m)));
    }
    out.push(disk_query(&m));
    out
}

fn error_query(e: &crate::config::ErrorRatePanel, m: &[String], w: &str) -> PanelQuery {
    let mut bad = m.to_vec();
    bad.push(format!(
        "{}=~\"{}.*\"",
        e.status_label,
        regex_literal(&e.error_prefix)
    ));
    let by = by_clause(&[]);
    PanelQuery {
        kind: PanelKind::Errors,
        title: e.title.clone(),
        by: Vec::new(),
        promql: format!(
            "{} or {}",
            part(
                &format!(
                    "sum by ({by}) (increase({}[{w}]))",
                    selector(&e.metric, &bad)
                ),
                "bad"
            ),
            part(
                &format!("sum by ({by}) (increase({}[{w}]))", selector(&e.metric, m)),
                "all"
            ),
        ),
        spark: None,
    }
}

fn counter_query(c: &crate::config::CounterPanel, m: &[String], w: &str) -> PanelQuery {
    let by = by_clause(&c.by);
    let s = selector(&c.metric, m);
    PanelQuery {
        kind: PanelKind::Counters,
        title: c.title.clone(),
        by: c.by.clone(),
        promql: format!(
            "{} or {}",
            part(&format!("sum by ({by}) ({s})"), "value"),
            part(&format!("sum by ({by}) (increase({s}[{w}]))"), "inc"),
        ),
        spark: None,
    }
}

fn storage_query(s: &crate::config::StoragePanel, m: &[String]) -> PanelQuery {
    let by = by_clause(&[]);
    PanelQuery {
        kind: PanelKind::Storage,
        title: s.title.clone(),
        by: Vec::new(),
        promql: format!(
            "{} or {}",
            part(&format!("sum by ({by}) ({})", selector(&s.used, m)), "used"),
            part(
                &format!("sum by ({by}) ({})", selector(&s.limit, m)),
                "limit"
            ),
        ),
        spark: None,
    }
}

/// node_exporter's filesystems, as every scraped target's disk panel reads them.
fn disk_query(m: &[String]) -> PanelQuery {
    let by = by_clause(&["mountpoint".to_owned()]);
    let fs =
        |metric: &str, name: &str| part(&format!("max by ({by}) ({})", selector(metric, m)), name);
    PanelQuery {
        kind: PanelKind::Disks,
        title: "Disk".into(),
        by: vec!["mountpoint".into()],
        promql: [
            fs("node_filesystem_size_bytes", "size"),
            fs("node_filesystem_avail_bytes", "avail"),
            fs("node_filesystem_free_bytes", "free"),
        ]
        .join(" or "),
        spark: None,
    }
}

/// One row of a gauge panel (backlog, SSE, queue) of one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeValue {
    pub kind: PanelKind,
    pub title: String,
    pub labels: String,
    pub value: f64,
}

/// One row of a counter panel of one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterValue {
    pub title: String,
    pub labels: String,
    pub value: f64,
    pub increase: Option<f64>,
}

/// One instance's values in one round.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstanceValues {
    pub job: String,
    pub instance: String,
    /// Labels of `up` (job and instance included), for naming and filtering.
    pub labels: super::promql::Labels,
    /// `up == 1`.
    pub up: bool,
    /// When the store last scraped it (unix ms).
    pub scraped_ms: Option<i64>,
    /// How long that scrape took.
    pub scrape_ms: Option<f64>,
    pub gauges: Vec<GaugeValue>,
    /// Title and p50, p95, p99 in the histogram's unit (scale not applied).
    pub latency: Vec<(String, [f64; 3])>,
    /// Title, errors and all requests over the window.
    pub errors: Vec<(String, Option<f64>, Option<f64>)>,
    pub counters: Vec<CounterValue>,
    /// Title, used, limit.
    pub storage: Vec<(String, f64, f64)>,
    /// Mount point, size, avail, free.
    pub disks: Vec<(String, f64, Option<f64>, Option<f64>)>,
}

/// A problem with one panel of a fleet (or a warning on its answer), in plain words.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelNote {
    /// "Latency \"Webhook ACK\"".
    pub panel: String,
    pub text: String,
    /// True when the panel has no values this round (the query failed).
    pub failed: bool,
}

impl std::fmt::Display for PanelNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.panel, self.text)
    }
}

/// A sparkline of one instance: (instance key, kind, title, labels).
pub type LineKey = (String, PanelKind, String, String);

/// What the backfill read: per instance key, per sparkline, the points.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Backfill {
    /// (instance key, kind, title, labels) → points (ms, value), oldest first.
    pub lines: Vec<(LineKey, Vec<(i64, f64)>)>,
}

/// One round of one fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetRound {
    pub fleet: usize,
    pub round: u32,
    /// The store's evaluation time of the status query (unix ms).
    pub at_ms: i64,
    /// Why the instances could not be listed this round (every instance keeps its last values).
    pub error: Option<String>,
    pub instances: Vec<InstanceValues>,
    pub notes: Vec<PanelNote>,
    /// Queries sent this round.
    pub queries: u32,
}

/// Sparkline history read by range queries after a round that found new instances.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetBackfill {
    pub fleet: usize,
    pub backfill: Backfill,
    pub queries: u32,
    /// Range queries that failed (the sparklines then start empty).
    pub notes: Vec<PanelNote>,
}

/// `job` + `instance`: how an instance is told apart across rounds.
pub fn instance_key(job: &str, instance: &str) -> String {
    format!("{job}\u{1f}{instance}")
}

fn series_key(s: &Series) -> String {
    instance_key(
        s.label("job").unwrap_or_default(),
        s.label("instance").unwrap_or_default(),
    )
}

fn row_labels(s: &Series, by: &[String]) -> String {
    by.iter()
        .map(|l| s.label(l).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("/")
}

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
            at_ms: super::now_ms(),
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

/// Adds one panel's answer to the instances it names (instances not in `up` are ignored).
/// The row of `rows` that `is` picks, pushed with `new` when there is none.
fn row<T>(rows: &mut Vec<T>, is: impl Fn(&T) -> bool, new: impl FnOnce() -> T) -> &mut T {
    let i = rows.iter().position(is).unwrap_or_else(|| {
        rows.push(new());
        rows.len() - 1
    });
    &mut rows[i]
}

fn fold(
    q: &PanelQuery,
    o: &QueryOutcome,
    instances: &mut [InstanceValues],
    index: &HashMap<String, usize>,
) {
    let mut buckets: HashMap<(usize, String), Vec<crate::derive::quantile::Bucket>> =
        HashMap::new();
    for s in o.data.series() {
        let Some(&i) = index.get(&series_key(s)) else {
            continue;
        };
        let inst = &mut instances[i];
        let v = s.last().unwrap_or(f64::NAN);
        let part = s.label(PART).unwrap_or_default();
        match q.kind {
            PanelKind::Backlog | PanelKind::Sse | PanelKind::Queue => {
                inst.gauges.push(GaugeValue {
                    kind: q.kind,
                    title: q.title.clone(),
                    labels: row_labels(s, &q.by),
                    value: v,
                });
            }
            PanelKind::Latency => {
                let Some(le) = s.label("le").and_then(crate::derive::quantile::parse_le) else {
                    continue;
                };
                buckets.entry((i, q.title.clone())).or_default().push(
                    crate::derive::quantile::Bucket {
                        upper_bound: le,
                        count: v,
                    },
                );
            }
            PanelKind::Errors => {
                let r = row(
                    &mut inst.errors,
                    |(t, ..)| *t == q.title,
                    || (q.title.clone(), None, None),
                );
                match part {
                    "bad" => r.1 = Some(v),
                    "all" => r.2 = Some(v),
                    _ => {}
                }
            }
            PanelKind::Counters => {
                let labels = row_labels(s, &q.by);
                let r = row(
                    &mut inst.counters,
                    |c| c.title == q.title && c.labels == labels,
                    || CounterValue {
                        title: q.title.clone(),
                        labels: labels.clone(),
                        value: f64::NAN,
                        increase: None,
                    },
                );
                match part {
                    "value" => r.value = v,
                    "inc" => r.increase = Some(v),
                    _ => {}
                }
            }
            PanelKind::Storage => {
                let r = row(
                    &mut inst.storage,
                    |(t, ..)| *t == q.title,
                    || (q.title.clone(), f64::NAN, f64::NAN),
                );
                match part {
                    "used" => r.1 = v,
                    "limit" => r.2 = v,
                    _ => {}
                }
            }
            PanelKind::Disks => {
                let mount = s.label("mountpoint").unwrap_or_default().to_owned();
                let r = row(
                    &mut inst.disks,
                    |d| d.0 == mount,
                    || (mount.clone(), f64::NAN, None, None),
                );
                match part {
                    "size" => r.1 = v,
                    "avail" => r.2 = Some(v),
                    "free" => r.3 = Some(v),
                    _ => {}
                }
            }
        }
    }
    for ((i, title), mut b) in buckets {
        b.sort_by(|x, y| x.upper_bound.total_cmp(&y.upper_bound));
        let q = QUANTILES.map(|x| crate::derive::quantile::histogram_quantile(x, &b));
        instances[i].latency.push((title, q));
    }
    // Rows in a stable order whatever order the server answered in.
    for inst in instances.iter_mut() {
        inst.gauges.sort_by(|a, b| {
            (a.kind as u8, &a.title, &a.labels).cmp(&(b.kind as u8, &b.title, &b.labels))
        });
        inst.counters
            .sort_by(|a, b| (&a.title, &a.labels).cmp(&(&b.title, &b.labels)));
    }
}

/// The PromQL a fleet sends per refresh, for `config check` and the docs.
pub fn describe(f: &FleetConfig) -> String {
    let preset = f.preset.map(Preset::load);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        status_query(f.selector.as_deref(), &f.name_label)
    );
    for q in panel_queries(preset.as_ref(), f.selector.as_deref(), f.window) {
        let _ = writeln!(out, "{}", q.promql);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PresetName;

    #[test]
    fn the_overlay_latency_panel_is_the_issues_example() {
        let p = Preset::load(PresetName::Overlay);
        let qs = panel_queries(Some(&p), Some("job=\"overlay\""), Duration::from_secs(60));
        let ack = qs.iter().find(|q| q.title == "Webhook ACK").expect("panel");
        assert_eq!(
            ack.spark.as_deref(),
            Some("histogram_quantile(0.95, sum by (job, instance, le) (rate(webhook_ack_latency_seconds_bucket{job=\"overlay\"}[60s])))")
        );
        assert_eq!(
            ack.promql,
            "sum by (job, instance, le) (rate(webhook_ack_latency_seconds_bucket{job=\"overlay\"}[60s]))"
        );
    }

    #[test]
    fn selectors_without_matchers_stay_valid_promql() {
        assert_eq!(selector("up", &[]), "up");
        assert!(status_query(None, "instance")
            .starts_with("label_replace(max by (job, instance) (up), "));
        assert_eq!(regex_literal("5"), "5");
        assert_eq!(regex_literal("a.b"), "a\\\\.b");
        assert_eq!(regex_literal("a\\b"), "a\\\\\\\\b");
    }

    #[test]
    fn gauges_group_by_instance_and_the_panels_labels() {
        let p = Preset::load(PresetName::Overlay);
        let qs = panel_queries(Some(&p), None, Duration::from_secs(60));
        assert_eq!(qs[0].promql, "sum by (job, instance, aud) (sse_clients)");
        assert_eq!(qs.last().map(|q| q.kind), Some(PanelKind::Disks));
    }
}
