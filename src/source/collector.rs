//! One task per target: each tick scrapes `/metrics` and every health URL concurrently, then
//! sends one owned [`Observation`] to whoever owns the store. Nothing is shared or locked.
//!
//! A tick never overlaps the previous one (the loop awaits each round; a slow round delays the
//! next instead of piling up), and every fetch has a deadline no longer than the interval.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use super::disk::{statvfs_usage, DISK_TIMEOUT};
use super::health::parse_health;
use crate::client::http::{Fetcher, HttpLimits, Purpose};
use crate::config::{Config, Preset, TargetConfig};
use crate::expo::{Format, IndexLimits, SeriesId, SeriesIndex};
use crate::obs::{now_ms, HealthOutcome, Observation, ScrapeDigest};
use crate::text::display_url;

/// Series every target is watched for, whatever its preset (node_exporter disks).
pub const ALWAYS_WATCHED: [&str; 3] = [
    "node_filesystem_size_bytes",
    "node_filesystem_avail_bytes",
    "node_filesystem_free_bytes",
];

/// Which target the series browser is showing, if any.
pub type BrowseRequest = tokio::sync::watch::Receiver<Option<usize>>;

/// The running collectors. Dropping it stops them.
pub struct Collector {
    pub rx: mpsc::Receiver<Observation>,
    tasks: Vec<JoinHandle<()>>,
    /// For sources added after the start; weak, so the channel still closes when every task
    /// has ended (headless rounds).
    tx: mpsc::WeakSender<Observation>,
}

impl Drop for Collector {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The exact sample names a target's panels need.
pub fn watched_names(t: &TargetConfig) -> HashSet<String> {
    let mut names: HashSet<String> = ALWAYS_WATCHED.iter().map(|s| (*s).to_owned()).collect();
    if let Some(p) = t.preset {
        names.extend(Preset::load(p).watched_metrics());
    }
    // The topic picker shows each topic's traffic from this counter.
    if let Some(m) = t.actions.topics.as_ref().and_then(|tp| tp.metric.clone()) {
        names.insert(m);
    }
    names
}

impl Collector {
    /// Also reads the configured Alertmanager every `interval` (the cockpit's alert view),
    /// until dropped.
    pub fn watch_alertmanager(&mut self, am: &crate::config::alertmanager::AlertmanagerConfig) {
        if let Some(tx) = self.tx.upgrade() {
            self.tasks.push(super::alertmanager::spawn(am, tx));
        }
    }

    /// Starts one task per target (and one for local disks). `rounds` stops each task after
    /// that many ticks (headless modes); `None` runs until dropped.
    pub fn start(config: &Config, rounds: Option<u32>) -> Result<Self, String> {
        let (_keep, browse) = tokio::sync::watch::channel(None);
        Self::start_with_browse(config, rounds, &browse)
    }

    /// As [`start`](Self::start), and sends every series of the target named in `browse`.
    pub fn start_with_browse(
        config: &Config,
        rounds: Option<u32>,
        browse: &BrowseRequest,
    ) -> Result<Self, String> {
        let (tx, rx) = mpsc::channel(256);
        let weak = tx.downgrade();
        let mut tasks = Vec::new();
        let launch_ms = now_ms();
        for (i, t) in config.targets.iter().enumerate() {
            let runner = TargetRunner::new(i, t)?;
            tasks.push(tokio::spawn(runner.run(tx.clone(), rounds, browse.clone())));
            if let Some(h) = t.history.clone().filter(|_| t.metrics.is_some()) {
                // Beside the first scrape, never before it: the first frame does not wait on
                // the store, and says that history is loading until it is in.
                let (tx, names, interval) = (tx.clone(), watched_names(t), t.interval);
                let from = launch_ms - h.window.as_millis() as i64;
                tasks.push(tokio::spawn(async move {
                    let batch =
                        super::history::backfill(i, &h, &names, interval, from, launch_ms, true)
                            .await;
                    let _ = tx.send(Observation::History(Box::new(batch))).await;
                }));
            }
        }
        if config.targets.iter().any(|t| t.postgres.is_some()) {
            // Postgres collectors report on their own channel; one task forwards them.
            let (ptx, mut prx) = mpsc::channel(64);
            for (i, t) in config.targets.iter().enumerate() {
                if let Some(pg) = &t.postgres {
                    let job = super::postgres::spawn_rounds(i, pg, t.interval, rounds, ptx.clone());
                    tasks.push(job);
                }
            }
            drop(ptx);
            let tx = tx.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(m) = prx.recv().await {
                    if tx.send(Observation::Postgres(Box::new(m))).await.is_err() {
                        break;
                    }
                }
            }));
        }
        let first_rounds = super::fleet::FirstRounds::new(config.fleets.len());
        for (i, f) in config.fleets.iter().enumerate() {
            let poller = super::fleet::FleetPoller::new(i, f)
                .map_err(|e| format!("fleet {:?}: {e}", f.name))?
                .share(std::sync::Arc::clone(&first_rounds));
            tasks.push(tokio::spawn(poller.run(tx.clone(), rounds)));
        }
        if !config.disks.is_empty() {
            let paths: Vec<_> = config.disks.iter().map(|d| d.path.clone()).collect();
            let every = config
                .targets
                .iter()
                .map(|t| t.interval)
                .min()
                .unwrap_or(Duration::from_secs(5));
            tasks.push(tokio::spawn(run_disks(paths, every, tx, rounds)));
        }
        Ok(Self {
            rx,
            tasks,
            tx: weak,
        })
    }
}

struct TargetRunner {
    index: usize,
    metrics: Option<(reqwest::Url, Fetcher)>,
    health: Vec<(reqwest::Url, Arc<Fetcher>)>,
    limits: HttpLimits,
    interval: Duration,
    series: SeriesIndex,
    watched_names: HashSet<String>,
    /// Watched series ids with their keys; rebuilt when the set of series changes.
    watched_ids: Vec<(SeriesId, Arc<str>)>,
    buf: Vec<u8>,
    /// Where the past is read from, to fill a gap in scraping.
    history: Option<crate::config::history::TargetHistory>,
    /// The latest good scrape, and how many scrapes failed since.
    last_ok_ms: Option<i64>,
    failed_since_ok: u32,
}

/// Failed scrapes in a row after which the next good one reads the gap from the history
/// store: the rates, quantiles and sparklines across it come from the store's samples.
const GAP_ROUNDS: u32 = 2;

impl TargetRunner {
    fn new(index: usize, t: &TargetConfig) -> Result<Self, String> {
        let headers: Vec<(String, String)> = t
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.expose().to_owned()))
            .collect();
        let ca = match &t.ca_file {
            Some(p) => Some(
                crate::safe_fs::read_regular(p, crate::safe_fs::MAX_CONFIG_FILE).map_err(|e| {
                    format!(
                        "target {:?}: cannot read ca_file {}: {e}",
                        t.name,
                        p.display()
                    )
                })?,
            ),
            None => None,
        };
        let make = |purpose| {
            Fetcher::new(purpose, &headers, ca.as_deref())
                .map_err(|e| format!("target {:?}: {e}", t.name))
        };
        let metrics = match &t.metrics {
            Some(u) => Some((u.clone(), make(Purpose::Metrics)?)),
            None => None,
        };
        let health_fetcher = Arc::new(make(Purpose::Health)?);
        Ok(Self {
            index,
            metrics,
            health: t
                .health
                .iter()
                .map(|u| (u.clone(), health_fetcher.clone()))
                .collect(),
            limits: HttpLimits {
                timeout: t.timeout,
                connect_timeout: Duration::from_secs(2).min(t.timeout),
                max_body_bytes: t.limits.max_body_bytes,
            },
            interval: t.interval,
            series: SeriesIndex::new(IndexLimits {
                max_samples: t.limits.max_samples,
                max_labels: t.limits.max_labels,
                max_label_length: t.limits.max_label_length,
            }),
            watched_names: watched_names(t),
            watched_ids: Vec::new(),
            buf: Vec::new(),
            history: t.history.clone(),
            last_ok_ms: None,
            failed_since_ok: 0,
        })
    }

    async fn run(
        mut self,
        tx: mpsc::Sender<Observation>,
        rounds: Option<u32>,
        mut browse: BrowseRequest,
    ) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut round = 0u32;
        let mut scrape_repeats = Repeats::default();
        let mut health_repeats: std::collections::HashMap<String, Repeats> =
            std::collections::HashMap::new();
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                // The browser opened on this target: answer now rather than at the next tick.
                Ok(()) = browse.changed() => {
                    let wanted = *browse.borrow_and_update() == Some(self.index);
                    if wanted && tx.send(self.listing()).await.is_err() {
                        break;
                    }
                    continue;
                }
            }
            round += 1;
            let at_ms = now_ms();
            let health = self.spawn_health();
            let scrape = match self.metrics.take() {
                Some((url, fetcher)) => {
                    let r = self.scrape(&url, &fetcher, at_ms).await;
                    self.metrics = Some((url, fetcher));
                    Some(r)
                }
                None => None,
            };
            let health = collect_health(health, self.health.len()).await;
            let index = self.index;
            scrape_repeats.record(
                scrape.as_ref().and_then(|s| s.as_ref().err()).map(ToString::to_string),
                |e| tracing::warn!(target_index = index, round, error = %e, "scrape failed"),
                |e, n| tracing::info!(target_index = index, round, error = %e, repeats = n, "the same scrape error repeated"),
            );
            if let Some(gap) = self.gap_backfill(scrape.as_ref(), at_ms, &tx) {
                tracing::info!(
                    target_index = self.index,
                    from_ms = gap.0,
                    to_ms = gap.1,
                    "reading a gap in scraping from the history store"
                );
            }
            for h in &health {
                let url = h.url.clone();
                health_repeats.entry(url.clone()).or_default().record(
                    h.result.as_ref().err().map(ToString::to_string),
                    |e| tracing::warn!(target_index = index, url = %url, error = %e, "health check failed"),
                    |e, n| tracing::info!(target_index = index, url = %url, error = %e, repeats = n, "the same health check error repeated"),
                );
            }
            let obs = Observation::Target {
                target: self.index,
                round,
                at_ms,
                scrape,
                health,
            };
            if tx.send(obs).await.is_err() {
                break;
            }
            if *browse.borrow_and_update() == Some(self.index)
                && tx.send(self.listing()).await.is_err()
            {
                break;
            }
            if rounds.is_some_and(|n| round >= n) {
                break;
            }
        }
    }

    /// After a gap in scraping (a good scrape after [`GAP_ROUNDS`] failed ones), reads the
    /// gap from the history store in the background; the store merges it when it arrives.
    fn gap_backfill(
        &mut self,
        scrape: Option<&Result<ScrapeDigest, String>>,
        at_ms: i64,
        tx: &mpsc::Sender<Observation>,
    ) -> Option<(i64, i64)> {
        match scrape {
            Some(Ok(_)) => {}
            Some(Err(_)) => {
                self.failed_since_ok += 1;
                return None;
            }
            None => return None,
        }
        let (last, failed) = (self.last_ok_ms.replace(at_ms), self.failed_since_ok);
        self.failed_since_ok = 0;
        let (from, spec) = (last?, self.history.clone()?);
        if failed < GAP_ROUNDS {
            return None;
        }
        let (tx, names, interval, index) = (
            tx.clone(),
            self.watched_names.clone(),
            self.interval,
            self.index,
        );
        tokio::spawn(async move {
            let batch =
                super::history::backfill(index, &spec, &names, interval, from, at_ms, false).await;
            let _ = tx.send(Observation::History(Box::new(batch))).await;
        });
        Some((from, at_ms))
    }

    /// Every series present in the latest scrape, for the browser.
    fn listing(&self) -> Observation {
        Observation::Series {
            target: self.index,
            rows: self
                .series
                .iter()
                .filter(|v| v.present)
                .map(|v| (v.key.to_owned(), v.value))
                .collect(),
        }
    }

    fn spawn_health(&self) -> JoinSet<(usize, HealthOutcome)> {
        let mut set = JoinSet::new();
        for (i, (url, fetcher)) in self.health.iter().enumerate() {
            let (url, fetcher, limits) = (url.clone(), fetcher.clone(), self.limits);
            set.spawn(async move {
                let started = Instant::now();
                let mut body = Vec::new();
                let result = match fetcher.fetch(&url, &limits, &mut body).await {
                    Ok(f) => Ok(parse_health(f.status, f.content_type.as_deref(), &body)),
                    Err(e) => Err(e.to_string()),
                };
                let outcome = HealthOutcome {
                    url: display_url(&url),
                    latency_ms: started.elapsed().as_secs_f64() * 1e3,
                    result,
                };
                (i, outcome)
            });
        }
        set
    }

    async fn scrape(
        &mut self,
        url: &reqwest::Url,
        fetcher: &Fetcher,
        at_ms: i64,
    ) -> Result<ScrapeDigest, String> {
        let started = Instant::now();
        let fetched = fetcher
            .fetch(url, &self.limits, &mut self.buf)
            .await
            .map_err(|e| e.to_string())?;
        let format = Format::from_content_type(fetched.content_type.as_deref());
        let report = self.series.ingest(&self.buf, format, at_ms);
        if report.new_series > 0 || report.ids_changed || self.watched_ids.is_empty() {
            let names = &self.watched_names;
            self.watched_ids = self
                .series
                .select(|n| names.contains(n))
                .into_iter()
                // Keyed as the history store keys them (labels sorted), so a series read from
                // the past and the same series scraped now are one history.
                .filter_map(|id| {
                    self.series
                        .get(id)
                        .map(|v| (id, super::history::canonical_key(v.key)))
                })
                .collect();
        }
        let watched = self
            .watched_ids
            .iter()
            .filter_map(|(id, key)| {
                let v = self.series.get(*id)?;
                v.present.then(|| (key.clone(), v.value))
            })
            .collect();
        // Give back a buffer a one-off huge body left behind; keep the usual size.
        if self.buf.capacity() > 4 * self.buf.len().max(1 << 20) {
            self.buf = Vec::new();
        }
        Ok(ScrapeDigest {
            duration_ms: started.elapsed().as_secs_f64() * 1e3,
            body_bytes: fetched.body_len,
            format,
            report,
            series: self.series.len(),
            watched,
        })
    }
}

async fn collect_health(mut set: JoinSet<(usize, HealthOutcome)>, n: usize) -> Vec<HealthOutcome> {
    let mut out: Vec<Option<HealthOutcome>> = vec![None; n];
    while let Some(joined) = set.join_next().await {
        if let Ok((i, o)) = joined {
            out[i] = Some(o);
        }
    }
    out.into_iter()
        .enumerate()
        .map(|(i, o)| {
            o.unwrap_or_else(|| HealthOutcome {
                url: format!("health check #{}", i + 1),
                latency_ms: 0.0,
                result: Err("the health check task failed".to_owned()),
            })
        })
        .collect()
}

async fn run_disks(
    paths: Vec<std::path::PathBuf>,
    every: Duration,
    tx: mpsc::Sender<Observation>,
    rounds: Option<u32>,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut round = 0u32;
    loop {
        ticker.tick().await;
        round += 1;
        let at_ms = now_ms();
        let mut usage = Vec::with_capacity(paths.len());
        for p in &paths {
            // statvfs can hang on a dead network filesystem: never on the runtime's threads,
            // and never for longer than the deadline.
            let path = p.clone();
            let job = tokio::task::spawn_blocking(move || statvfs_usage(&path));
            usage.push(match tokio::time::timeout(DISK_TIMEOUT, job).await {
                Ok(Ok(r)) => r,
                Ok(Err(_)) => Err("the statvfs task failed".to_owned()),
                Err(_) => Err(format!(
                    "statvfs did not answer within {}s (hung network filesystem?)",
                    DISK_TIMEOUT.as_secs()
                )),
            });
        }
        if tx.send(Observation::Disks { at_ms, usage }).await.is_err()
            || rounds.is_some_and(|n| round >= n)
        {
            break;
        }
    }
}

/// A warning said once, then counted: a target down for an hour at a fast interval must not
/// write a line per round. The count is logged when the error changes or goes away.
#[derive(Debug, Default)]
struct Repeats {
    last: Option<String>,
    count: u64,
}

impl Repeats {
    /// `now`: this round's error, or `None` when it went well. `say` logs a new error;
    /// `repeated` logs how often the previous one came back unsaid.
    fn record(
        &mut self,
        now: Option<String>,
        say: impl FnOnce(&str),
        repeated: impl FnOnce(&str, u64),
    ) {
        if now.is_some() && now == self.last {
            self.count += 1;
            return;
        }
        if let (Some(last), true) = (&self.last, self.count > 0) {
            repeated(last, self.count);
        }
        if let Some(e) = &now {
            say(e);
        }
        self.last = now;
        self.count = 0;
    }
}

#[cfg(test)]
mod repeat_tests {
    use super::Repeats;

    #[test]
    fn a_repeated_error_is_said_once_then_counted() {
        let mut r = Repeats::default();
        let mut said = Vec::new();
        let mut counted = Vec::new();
        for e in ["a", "a", "a", "b", "", "b"] {
            let now = (!e.is_empty()).then(|| e.to_owned());
            r.record(
                now,
                |e| said.push(e.to_owned()),
                |e, n| counted.push((e.to_owned(), n)),
            );
        }
        assert_eq!(said, ["a", "b", "b"]);
        assert_eq!(counted, [("a".to_owned(), 2)]);
    }
}
