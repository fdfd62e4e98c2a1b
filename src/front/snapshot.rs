//! `watchdeck snapshot`: collect one round (or several) and print every target's panels as a
//! table or as JSON. The exit status says whether any target is down.

use std::fmt::Write as _;

use serde::Serialize;

use crate::config::{Config, Preset};
use crate::derive::panels::{local_disks, store_panels, DiskRow, TargetPanels};
use crate::derive::rules::AlertBook;
use crate::derive::{format_eta, Direction, Trend};
use crate::fmt::{bytes, num, secs};
use crate::obs::now_ms;
use crate::source::Collector;
use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub rounds: u32,
    pub format: OutputFormat,
    pub window_ms: i64,
}

/// One printed round.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub environment: Option<String>,
    pub at: String,
    /// `at` in unix ms.
    pub at_ms: i64,
    pub round: u32,
    pub rounds: u32,
    pub window_s: f64,
    pub targets: Vec<TargetPanels>,
    pub local_disks: Vec<DiskRow>,
    /// Firing, then pending preset alerts, with their runbook hints.
    pub alerts: Vec<crate::derive::rules::AlertRow>,
    /// `[[fleet]]` sources: how many instances, how many up, what failed.
    pub fleets: Vec<FleetSummary>,
    /// Where the past came from (the `[history]` store), or why there is none.
    pub history: String,
}

/// One `[[fleet]]` as of a snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct FleetSummary {
    pub name: String,
    pub url: String,
    pub preset: Option<String>,
    pub instances: usize,
    pub up: usize,
    /// Queries sent in the latest round.
    pub queries: u32,
    /// Why the latest round could not list the instances.
    pub error: Option<String>,
    /// Problems with single panels (failed queries, partial answers), in plain words.
    pub notes: Vec<String>,
}

/// The fleets of a store, for snapshots and the cockpit.
pub fn fleet_summaries(store: &Store) -> Vec<FleetSummary> {
    store
        .fleets
        .iter()
        .map(|f| FleetSummary {
            name: f.name.clone(),
            url: f.url.clone(),
            preset: f.preset.clone(),
            instances: f.instances,
            up: f.up,
            queries: f.queries,
            error: f.error.clone(),
            notes: f.notes.iter().map(ToString::to_string).collect(),
        })
        .collect()
}

/// The preset of every target of the store, fleet instances included.
pub fn store_presets(store: &Store) -> Vec<Option<Preset>> {
    store
        .targets
        .iter()
        .map(|t| {
            t.preset
                .as_deref()
                .and_then(|p| p.parse::<crate::config::PresetName>().ok())
                .map(Preset::load)
        })
        .collect()
}

impl Snapshot {
    pub fn any_down(&self) -> bool {
        self.targets
            .iter()
            .any(|t| t.status == crate::derive::panels::TargetStatus::Down)
    }
}

/// Builds the snapshot of the store as it is now.
pub fn build(
    config: &Config,
    store: &Store,
    alerts: &AlertBook,
    round: u32,
    opts: &Options,
    now: i64,
) -> Snapshot {
    let presets = store_presets(store);
    let mut snap = Snapshot {
        at_ms: now,
        environment: config.environment.clone(),
        at: humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(now.max(0) as u64),
        )
        .to_string(),
        round,
        rounds: opts.rounds,
        window_s: opts.window_ms as f64 / 1000.0,
        targets: presets
            .iter()
            .enumerate()
            .map(|(i, p)| store_panels(store, i, p.as_ref(), opts.window_ms, now))
            .collect(),
        local_disks: local_disks(&store.disks, opts.window_ms, now),
        alerts: Vec::new(),
        fleets: fleet_summaries(store),
        history: crate::derive::replay::summary(store),
    };
    crate::derive::db::flag_disagreements(&mut snap.targets);
    let names: Vec<String> = snap.targets.iter().map(|t| t.name.clone()).collect();
    snap.alerts = alerts.rows(&names);
    snap
}

/// Runs the collectors for `opts.rounds` rounds and hands each completed round to `emit`.
/// Returns the last snapshot.
pub async fn run(
    config: &Config,
    opts: &Options,
    mut emit: impl FnMut(&Snapshot),
) -> Result<Snapshot, String> {
    let mut collector = Collector::start(config, Some(opts.rounds))?;
    let mut store = Store::new(config);
    let mut presets: Vec<Option<Preset>> = config
        .targets
        .iter()
        .map(|t| t.preset.map(Preset::load))
        .collect();
    let mut alerts = AlertBook::for_targets(&presets, &config.targets);
    let mut disk_rounds = 0u32;
    let mut printed = 0u32;
    let mut last = None;
    let complete = |store: &Store, disk_rounds: u32, k: u32| {
        store.targets.iter().all(|t| {
            t.rounds >= k && t.pg.as_ref().is_none_or(|p| p.rounds >= k) && !t.history.is_loading()
        }) && (store.disks.is_empty() || disk_rounds >= k)
            && store.fleets.iter().all(|f| f.rounds >= k)
    };
    loop {
        let obs = collector.rx.recv().await;
        let closed = obs.is_none();
        if let Some(obs) = obs {
            let target = match &obs {
                crate::obs::Observation::Disks { .. } => {
                    disk_rounds += 1;
                    None
                }
                crate::obs::Observation::Target { target, .. } => Some(*target),
                crate::obs::Observation::Postgres(m) => Some(m.target()),
                crate::obs::Observation::Series { .. }
                | crate::obs::Observation::FleetBackfill(_)
                | crate::obs::Observation::Alertmanager { .. } => None,
                crate::obs::Observation::History(b) => {
                    // The past through the same rules, before it joins the store.
                    if b.at_launch && !b.steps.is_empty() {
                        if let Some(live) = store.targets.get(b.target) {
                            crate::derive::replay::replay(
                                &mut alerts,
                                b.target,
                                live,
                                presets.get(b.target).and_then(Option::as_ref),
                                &b.steps,
                                opts.window_ms,
                                store.limits,
                                |_, _| {},
                            );
                        }
                    }
                    Some(b.target)
                }
                crate::obs::Observation::Fleet(r) => Some(r.fleet),
            };
            let fleet = matches!(obs, crate::obs::Observation::Fleet(_));
            store.apply(obs);
            let now = now_ms();
            if fleet {
                // New instances get their preset's rules; then every instance is evaluated.
                let all = store_presets(&store);
                for (i, p) in all.iter().enumerate().skip(presets.len()) {
                    alerts.add_target(i, p.as_ref());
                }
                presets = all;
                let f = target.and_then(|f| store.fleets.get(f));
                let mine: std::collections::HashSet<usize> = f
                    .map(|f| f.targets.values().copied().collect())
                    .unwrap_or_default();
                let panels: Vec<TargetPanels> = (0..store.targets.len())
                    .map(|t| {
                        if mine.contains(&t) {
                            store_panels(&store, t, presets[t].as_ref(), opts.window_ms, now)
                        } else {
                            TargetPanels::empty("")
                        }
                    })
                    .collect();
                alerts.evaluate_where(&panels, &|t| mine.contains(&t), now);
            } else if let Some(t) = target {
                let panels = store_panels(&store, t, presets[t].as_ref(), opts.window_ms, now);
                alerts.evaluate(t, &panels, now);
            }
        }
        while printed < opts.rounds && (complete(&store, disk_rounds, printed + 1) || closed) {
            printed += 1;
            let snap = build(config, &store, &alerts, printed, opts, now_ms());
            emit(&snap);
            last = Some(snap);
            if closed {
                break;
            }
        }
        if closed || printed >= opts.rounds {
            break;
        }
    }
    last.ok_or_else(|| "no round was collected".to_owned())
}

fn trend(t: Option<&Trend>, in_bytes: bool) -> String {
    match t {
        None => "trend: need 2 scrapes".to_owned(),
        Some(t) => {
            let rate = if in_bytes {
                let sign = if t.slope_per_s < 0.0 { "-" } else { "+" };
                format!("{sign}{}/s", bytes(t.slope_per_s.abs()))
            } else {
                format!("{:+.1}/s", t.slope_per_s)
            };
            match (t.direction, t.eta_s) {
                (Direction::Flat, _) => "flat".to_owned(),
                (Direction::Draining, Some(e)) => {
                    format!("draining {rate}, empty in {}", format_eta(e))
                }
                (Direction::Filling, Some(e)) => {
                    format!("filling {rate}, full in {}", format_eta(e))
                }
                (Direction::Draining, None) => format!("draining {rate}"),
                (Direction::Filling, None) => format!("filling {rate}"),
            }
        }
    }
}

fn age(ms: Option<i64>) -> String {
    ms.map_or_else(|| "never".to_owned(), |ms| format_eta(ms as f64 / 1000.0))
}

/// The human-readable table.
pub fn render_text(s: &Snapshot) -> String {
    let mut o = String::new();
    render_targets(&mut o, s);
    render_fleets(&mut o, s);
    render_alerts(&mut o, s);
    render_health(&mut o, s);
    render_database(&mut o, s);
    render_panels(&mut o, s);
    o
}

fn render_targets(o: &mut String, s: &Snapshot) {
    let env = s
        .environment
        .as_deref()
        .map(|e| format!(" [{e}]"))
        .unwrap_or_default();
    let up = s
        .targets
        .iter()
        .filter(|t| t.status == crate::derive::panels::TargetStatus::Up)
        .count();
    let _ = writeln!(
        o,
        "watchdeck snapshot{env} {} — round {}/{} — {up}/{} targets up — window {}s",
        s.at,
        s.round,
        s.rounds,
        s.targets.len(),
        s.window_s
    );
    let _ = writeln!(o, "{}", s.history);
    let _ = writeln!(o, "\nTARGETS");
    let _ = writeln!(
        o,
        "  {:<14} {:<9} {:<8} {:>7} {:>9}  detail",
        "name", "status", "age", "series", "malformed"
    );
    for t in &s.targets {
        let age_txt = if t.stale {
            format!("STALE {}", age(t.age_ms))
        } else {
            age(t.age_ms)
        };
        let detail = t
            .error
            .clone()
            .or_else(|| t.warning.clone())
            .unwrap_or_else(|| t.preset.clone().unwrap_or_else(|| "no preset".to_owned()));
        let _ = writeln!(
            o,
            "  {:<14} {:<9} {:<8} {:>7} {:>9}  {}",
            t.name,
            t.status,
            age_txt,
            t.series.map_or_else(|| "—".to_owned(), |n| n.to_string()),
            t.malformed,
            detail
        );
        for m in &t.malformed_examples {
            let _ = writeln!(o, "  {:<14}   malformed {m}", "");
        }
    }
}

fn render_fleets(o: &mut String, s: &Snapshot) {
    if s.fleets.is_empty() {
        return;
    }
    let _ = writeln!(o, "\nFLEETS (promql)");
    for f in &s.fleets {
        let state = match &f.error {
            Some(e) => format!("cannot list instances: {e}"),
            None => format!("{}/{} instances up", f.up, f.instances),
        };
        let _ = writeln!(
            o,
            "  {:<14} {} — {} — {state} — {} queries per refresh",
            f.name,
            f.url,
            f.preset.as_deref().unwrap_or("no preset"),
            f.queries
        );
        for n in &f.notes {
            let _ = writeln!(o, "  {:<14}   {n}", "");
        }
    }
}

fn render_alerts(o: &mut String, s: &Snapshot) {
    if s.alerts.is_empty() {
        let _ = writeln!(o, "\nALERTS\n  none firing or pending");
        return;
    }
    let _ = writeln!(o, "\nALERTS");
    for a in &s.alerts {
        let value = a.value.map_or_else(|| "no data".to_owned(), num);
        let age = format_eta(((s.at_ms - a.since_ms).max(0)) as f64 / 1000.0);
        let _ = writeln!(
            o,
            "  {:<8} {:<9} {:<14} {}  {value} {} for {age}",
            a.state.as_str().to_uppercase(),
            a.severity,
            a.target,
            a.name,
            a.threshold
        );
        if a.state == crate::derive::rules::AlertPhase::Firing {
            let _ = writeln!(o, "           symptom: {}", a.symptom);
            let _ = writeln!(o, "           cause:   {}", a.cause);
            let _ = writeln!(o, "           do:      {}", a.action);
        }
    }
}

fn render_database(o: &mut String, s: &Snapshot) {
    for t in &s.targets {
        let Some(db) = &t.db else { continue };
        let _ = writeln!(o, "\nDATABASE {} ({})", t.name, db.source);
        if let Some(e) = &db.error {
            let retry = db
                .retry_in_s
                .map(|r| format!(" — retrying in {r:.0}s"))
                .unwrap_or_default();
            let _ = writeln!(o, "  unavailable: {e}{retry}");
        }
        if let Some(server) = &db.server {
            let _ = writeln!(o, "  {server}");
        }
        if let Some((used, max, by_state)) = &db.connections {
            let states: Vec<String> = by_state.iter().map(|(s, n)| format!("{s} {n}")).collect();
            let hidden = if db.hidden_sessions > 0 {
                format!(
                    " ({} sessions hidden: GRANT pg_monitor)",
                    db.hidden_sessions
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                o,
                "  connections {used}/{max} ({}){hidden}",
                states.join(", ")
            );
        }
        if let Some(a) = &db.longest_query {
            let _ = writeln!(
                o,
                "  longest query {:.1}s pid {} [{}] {}",
                a.seconds, a.pid, a.state, a.query
            );
        }
        if let Some(a) = &db.oldest_transaction {
            let _ = writeln!(
                o,
                "  oldest transaction {:.1}s pid {} [{}] {}",
                a.seconds, a.pid, a.state, a.query
            );
        }
        for l in &db.lock_waits {
            let by: Vec<String> = l
                .blocked_by
                .iter()
                .map(|(p, q)| format!("pid {p} ({q})"))
                .collect();
            let _ = writeln!(
                o,
                "  lock wait: pid {} waiting {:.1}s for {} ({}) — blocked by {}",
                l.pid,
                l.waited_seconds,
                l.lock,
                l.query,
                by.join(", ")
            );
        }
        if db.in_recovery {
            let lag = db
                .replica_lag_s
                .map_or_else(|| "unknown".to_owned(), |l| format!("{l:.1}s"));
            let _ = writeln!(o, "  replica, replay lag {lag}");
        }
        for p in &db.problems {
            let _ = writeln!(o, "  ✗ {p}");
        }
    }
}

fn render_health(o: &mut String, s: &Snapshot) {
    let _ = writeln!(o, "\nHEALTH");
    for t in &s.targets {
        if t.health.is_empty() {
            continue;
        }
        for h in &t.health {
            let state = if h.healthy { "ok" } else { "FAIL" };
            let code = h
                .status_code
                .map_or_else(|| "—".to_owned(), |c| c.to_string());
            let what = h.why();
            let _ = writeln!(
                o,
                "  {:<14} {:<4} {code:>3} {:>6.0}ms  {}  {what}",
                t.name, state, h.latency_ms, h.url
            );
            for c in &h.checks {
                let lat = c
                    .latency_ms
                    .map(|l| format!(" {l:.0}ms"))
                    .unwrap_or_default();
                let detail = c
                    .detail
                    .as_deref()
                    .map(|d| format!(" — {d}"))
                    .unwrap_or_default();
                let mark = if c.healthy { "ok  " } else { "FAIL" };
                let _ = writeln!(
                    o,
                    "  {:<14}   {mark} {}: {}{lat}{detail}",
                    "", c.name, c.status
                );
            }
        }
    }
}

fn render_panels(o: &mut String, s: &Snapshot) {
    section(
        o,
        "OUTBOX BACKLOG",
        s.targets.iter().flat_map(|t| {
            t.backlog.iter().map(move |b| {
                let warn = match (b.source, b.metric_value) {
                    ("db", Some(m)) if b.warn => format!("  ⚠ metric says {}", num(m)),
                    ("db", Some(_)) => "  = metric".to_owned(),
                    _ if b.warn => "  ⚠ over threshold".to_owned(),
                    _ => String::new(),
                };
                format!(
                    "  {:<14} {:<28} {:>9}  {}{warn}",
                    t.name,
                    format!("{} [{}]", b.labels, b.source),
                    num(b.value),
                    trend(b.trend.as_ref(), false)
                )
            })
        }),
        &empty_reason(s, |t| t.backlog.is_empty() && has_panel(t, "backlog")),
    );
    section(
        o,
        "SSE CLIENTS",
        s.targets.iter().flat_map(|t| {
            t.sse.iter().map(move |g| {
                let change = g.change.map_or_else(
                    || "change: need 2 scrapes".to_owned(),
                    |c| format!("{c:+.0} over window"),
                );
                format!(
                    "  {:<14} {:<28} {:>9}  {change}",
                    t.name,
                    format!("{} {}", g.title, g.labels).trim(),
                    num(g.value)
                )
            })
        }),
        &empty_reason(s, |t| t.sse.is_empty() && has_panel(t, "sse")),
    );
    section(
        o,
        "QUEUES",
        s.targets.iter().flat_map(|t| {
            t.queue.iter().map(move |g| {
                let warn = if g.warn { "  ⚠ over threshold" } else { "" };
                let change = g
                    .change
                    .map(|c| format!("{c:+.0} over window"))
                    .unwrap_or_default();
                format!(
                    "  {:<14} {:<28} {:>9}  {change}{warn}",
                    t.name,
                    format!("{} {}", g.title, g.labels).trim(),
                    num(g.value)
                )
            })
        }),
        &[],
    );
    render_rates(o, s);
}

fn render_rates(o: &mut String, s: &Snapshot) {
    section(
        o,
        "LATENCY",
        s.targets.iter().flat_map(|t| {
            t.latency.iter().map(move |l| {
                let th = l
                    .threshold
                    .map(|th| format!(" (p95 limit {})", secs(th)))
                    .unwrap_or_default();
                let over = if l.over { "  ⚠ p95 over limit" } else { "" };
                let scope = if l.p50.is_nan() {
                    " [no observations in the window]"
                } else if l.since_start {
                    " [since process start]"
                } else {
                    ""
                };
                format!(
                    "  {:<14} {:<28} p50 {:>7} p95 {:>7} p99 {:>7}{th}{over}{scope}",
                    t.name,
                    l.title,
                    secs(l.p50),
                    secs(l.p95),
                    secs(l.p99)
                )
            })
        }),
        &[],
    );
    section(
        o,
        "ERROR RATE",
        s.targets.iter().flat_map(|t| {
            t.errors.iter().map(move |e| {
                let ratio = e.ratio.map_or_else(
                    || "— (need 2 scrapes)".to_owned(),
                    |r| format!("{:.2}%", r * 100.0),
                );
                let rps = e
                    .requests_per_s
                    .map(|r| format!(" of {r:.1} req/s"))
                    .unwrap_or_default();
                let warn = if e.warn { "  ⚠ over threshold" } else { "" };
                format!("  {:<14} {:<28} {ratio}{rps}{warn}", t.name, e.title)
            })
        }),
        &[],
    );
    section(
        o,
        "COUNTERS",
        s.targets.iter().flat_map(|t| {
            t.counters.iter().map(move |c| {
                let rate = c.rate_per_s.map_or_else(
                    || "rate: need 2 scrapes".to_owned(),
                    |r| format!("{r:.2}/s"),
                );
                let alert = if c.alert { "  ⚠ increased" } else { "" };
                format!(
                    "  {:<14} {:<40} {:>9}  {rate}{alert}",
                    t.name,
                    format!("{} {}", c.title, c.labels).trim(),
                    num(c.value)
                )
            })
        }),
        &[],
    );
    let disk_rows: Vec<String> = s
        .targets
        .iter()
        .flat_map(|t| t.disks.iter())
        .chain(&s.local_disks)
        .map(|d| {
            let warn = if d.warn { "  ⚠" } else { "" };
            if d.used_ratio.is_nan() {
                // A database or tablespace: a size and its growth, no capacity.
                let growth = d.trend.map_or_else(
                    || "growth: need 2 rounds".to_owned(),
                    |t| format!("growing {}/s", bytes(t.slope_per_s)),
                );
                return format!(
                    "  {:<14} {:<28} {:>10}          {growth}",
                    d.source,
                    d.label,
                    bytes(d.used_bytes)
                );
            }
            format!(
                "  {:<14} {:<28} {:>5.1}% of {:>10}  {}{warn}",
                d.source,
                d.label,
                d.used_ratio * 100.0,
                bytes(d.size_bytes),
                trend(d.trend.as_ref(), true)
            )
        })
        .collect();
    section(o, "DISK", disk_rows.into_iter(), &[]);
}

fn has_panel(t: &TargetPanels, panel: &str) -> bool {
    let Some(name) = t.preset.as_deref().and_then(|p| p.parse().ok()) else {
        return false;
    };
    let p = Preset::load(name);
    match panel {
        "backlog" => !p.backlog.is_empty(),
        "sse" => !p.sse.is_empty(),
        _ => false,
    }
}

/// For targets whose preset has a panel that came out empty: why.
fn empty_reason(s: &Snapshot, empty: impl Fn(&TargetPanels) -> bool) -> Vec<String> {
    s.targets
        .iter()
        .filter(|t| empty(t))
        .map(|t| {
            let why = if t.status == crate::derive::panels::TargetStatus::Down || t.age_ms.is_none()
            {
                "target down, no data"
            } else if t.stale {
                "stale: the latest scrape failed"
            } else {
                "no such metric on this target"
            };
            format!("  {:<14} ({why})", t.name)
        })
        .collect()
}

fn section(o: &mut String, title: &str, rows: impl Iterator<Item = String>, notes: &[String]) {
    let rows: Vec<String> = rows.collect();
    if rows.is_empty() && notes.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n{title}");
    for r in rows.iter().chain(notes) {
        let _ = writeln!(o, "{r}");
    }
}
