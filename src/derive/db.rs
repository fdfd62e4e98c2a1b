//! The database panel of a target with a `[target.postgres]` section, and its backlog rows.
//!
//! Backlog rows from SQL are marked `db`; [`flag_disagreements`] compares them with the metric
//! rows of the same consumer on any target and flags a difference an operator should see.

use serde::Serialize;

use super::panels::{BacklogRow, DiskRow, TargetPanels};
use super::rate::deriv;
use super::trend::{backlog_trend, Direction, Trend};
use crate::obs::postgres::{Activity, PgObservation};
use crate::store::PgState;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ActivityRow {
    pub pid: i32,
    pub seconds: f64,
    pub state: String,
    pub application: String,
    pub query: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LockRow {
    pub pid: i32,
    pub waited_seconds: f64,
    pub lock: String,
    pub query: String,
    /// (pid, query) of each session holding what this one waits for.
    pub blocked_by: Vec<(i32, String)>,
}

/// Connections in use, `max_connections`, and counts by state.
pub type ConnectionCounts = (i64, i64, Vec<(String, i64)>);

/// Everything the database panel shows for one target.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DbPanel {
    /// `user@host:port/db`.
    pub source: String,
    /// Why the latest attempt could not connect (then the rest is from the last good round).
    pub error: Option<String>,
    pub retry_in_s: Option<f64>,
    pub server: Option<String>,
    /// Connections in use, `max_connections`, and counts by state.
    pub connections: Option<ConnectionCounts>,
    /// Sessions this role cannot see (no `pg_monitor`).
    pub hidden_sessions: i64,
    pub longest_query: Option<ActivityRow>,
    pub oldest_transaction: Option<ActivityRow>,
    pub lock_waits: Vec<LockRow>,
    pub size_bytes: Option<f64>,
    pub replica_lag_s: Option<f64>,
    pub in_recovery: bool,
    /// Parts of the latest round that failed, in words ("lock waits: permission denied …").
    pub problems: Vec<String>,
}

fn activity(a: &Activity) -> ActivityRow {
    ActivityRow {
        pid: a.pid,
        seconds: a.seconds,
        state: a.state.clone(),
        application: a.application_name.clone(),
        query: a.query.clone(),
    }
}

fn panel(pg: &PgState, last: Option<&PgObservation>) -> DbPanel {
    let mut p = DbPanel {
        source: pg.source.clone(),
        error: pg.error.clone(),
        retry_in_s: pg.retry_in_ms.map(|ms| ms as f64 / 1000.0),
        server: None,
        connections: None,
        hidden_sessions: 0,
        longest_query: None,
        oldest_transaction: None,
        lock_waits: Vec::new(),
        size_bytes: None,
        replica_lag_s: None,
        in_recovery: false,
        problems: Vec::new(),
    };
    let Some(o) = last else { return p };
    p.server = o.session.as_ref().ok().map(|s| {
        format!(
            "PostgreSQL {} as {}{}",
            s.server_version,
            s.user,
            if s.tls { ", TLS" } else { "" }
        )
    });
    if let Ok(c) = &o.connections {
        p.connections = Some((c.total, c.max, c.by_state.clone()));
        p.hidden_sessions = c.hidden;
    }
    p.longest_query = o
        .longest_query
        .as_ref()
        .ok()
        .and_then(|a| a.as_ref().map(activity));
    p.oldest_transaction = o
        .oldest_transaction
        .as_ref()
        .ok()
        .and_then(|a| a.as_ref().map(activity));
    if let Ok(w) = &o.lock_waits {
        p.lock_waits = w
            .iter()
            .map(|l| LockRow {
                pid: l.pid,
                waited_seconds: l.waited_seconds,
                lock: l.lock.clone(),
                query: l.query.clone(),
                blocked_by: l
                    .blockers
                    .iter()
                    .map(|b| (b.pid, b.query.clone()))
                    .collect(),
            })
            .collect();
    }
    p.size_bytes = o.database.as_ref().ok().map(|d| d.bytes as f64);
    if let Ok(r) = &o.replication {
        p.in_recovery = r.in_recovery;
        p.replica_lag_s = r.lag_seconds;
    }
    p.problems = o.errors().map(|(part, e)| format!("{part}: {e}")).collect();
    p
}

/// Growth of a size with no capacity: the slope, and no time to full.
fn growth(points: &[super::Point], window: i64, now: i64) -> Option<Trend> {
    let slope = deriv(points, window, now)?;
    let direction = if slope > 0.0 {
        Direction::Filling
    } else if slope < 0.0 {
        Direction::Draining
    } else {
        Direction::Flat
    };
    Some(Trend {
        slope_per_s: slope,
        direction,
        eta_s: None,
    })
}

/// Adds the database panel, the SQL backlog rows and the database sizes to a target's panels.
pub fn add_postgres(out: &mut TargetPanels, pg: &PgState, window: i64, now: i64) {
    let last = pg.last.as_ref();
    let db = panel(pg, last);
    if let Some(rows) = last.and_then(|o| o.backlog.as_ref().ok()) {
        for r in rows {
            let pts = pg.backlog.get(&r.consumer).map_or(&[][..], Vec::as_slice);
            out.backlog.push(BacklogRow {
                labels: r.consumer.clone(),
                value: r.backlog as f64,
                trend: backlog_trend(pts, window, now),
                warn: false,
                source: "db",
                metric_value: None,
            });
        }
    }
    if let Some(bytes) = db.size_bytes {
        let name = last
            .and_then(|o| o.database.as_ref().ok())
            .map_or_else(String::new, |d| d.name.clone());
        // A database has no capacity of its own: its growth is what matters (the filesystem
        // under it shows in the same panel when node_exporter or a [[disk]] covers it).
        out.disks.push(DiskRow {
            source: out.name.clone(),
            label: format!("database {name}"),
            used_ratio: f64::NAN,
            used_bytes: bytes,
            size_bytes: f64::NAN,
            trend: growth(&pg.db_bytes, window, now),
            warn: false,
        });
    }
    if let Some(ts) = last.and_then(|o| o.tablespaces.as_ref().ok()) {
        for t in ts {
            out.disks.push(DiskRow {
                source: out.name.clone(),
                label: format!("tablespace {}", t.name),
                used_ratio: f64::NAN,
                used_bytes: t.bytes as f64,
                size_bytes: f64::NAN,
                trend: None,
                warn: false,
            });
        }
    }
    out.db = Some(db);
}

/// The consumer a backlog row is about (`service/consumer` → `consumer`).
fn consumer(labels: &str) -> &str {
    labels.rsplit('/').next().unwrap_or(labels)
}

/// Marks SQL backlog rows that disagree with the metric of the same consumer on any target.
/// The scrape and the query run at different moments, so a moving backlog legitimately
/// differs by what moves in a couple of seconds: the tolerance is 10 events, plus 5 %, plus two
/// seconds of the row's own rate.
pub fn flag_disagreements(targets: &mut [TargetPanels]) {
    let metrics: Vec<(String, f64)> = targets
        .iter()
        .flat_map(|t| t.backlog.iter())
        .filter(|b| b.source == "metrics")
        .map(|b| (consumer(&b.labels).to_owned(), b.value))
        .collect();
    for t in targets.iter_mut() {
        for b in t.backlog.iter_mut().filter(|b| b.source == "db") {
            b.metric_value = metrics
                .iter()
                .find(|(c, _)| c == consumer(&b.labels))
                .map(|(_, v)| *v);
            let rate = b.trend.map_or(0.0, |t| t.slope_per_s.abs());
            let tolerance = 10.0 + 0.05 * b.value.abs() + 2.0 * rate;
            b.warn = b
                .metric_value
                .is_some_and(|m| (m - b.value).abs() > tolerance);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(labels: &str, value: f64, source: &'static str, slope: f64) -> BacklogRow {
        BacklogRow {
            labels: labels.to_owned(),
            value,
            trend: Some(Trend {
                slope_per_s: slope,
                direction: Direction::Flat,
                eta_s: None,
            }),
            warn: false,
            source,
            metric_value: None,
        }
    }

    fn target(name: &str, backlog: Vec<BacklogRow>) -> TargetPanels {
        let mut t = TargetPanels::empty(name);
        t.backlog = backlog;
        t
    }

    #[test]
    fn sql_rows_are_compared_with_the_metric_of_the_same_consumer() {
        let mut ts = vec![
            target(
                "cn-index",
                vec![
                    row("cn-index/index-v1", 100.0, "metrics", 0.0),
                    row("index-v1", 105.0, "db", 0.0),
                    row("notify-v1", 500.0, "db", 0.0),
                    row("orphan-v1", 7.0, "db", 0.0),
                ],
            ),
            target(
                "cn-user-api",
                vec![row("cn-user-api/notify-v1", 200.0, "metrics", 0.0)],
            ),
        ];
        flag_disagreements(&mut ts);
        let b = &ts[0].backlog;
        assert_eq!(
            (b[1].metric_value, b[1].warn),
            (Some(100.0), false),
            "5 apart: agree"
        );
        assert_eq!(
            (b[2].metric_value, b[2].warn),
            (Some(200.0), true),
            "300 apart: flagged"
        );
        assert_eq!(
            (b[3].metric_value, b[3].warn),
            (None, false),
            "no metric to compare"
        );
        assert!(!b[0].warn, "metric rows are left alone");
    }

    #[test]
    fn a_fast_moving_backlog_gets_a_wider_tolerance() {
        let mut ts = vec![target(
            "t",
            vec![
                row("c/x", 200.0, "metrics", 0.0),
                row("x", 250.0, "db", 35.0),
            ],
        )];
        flag_disagreements(&mut ts);
        // 10 + 5 % of 250 + 2 s × 35/s = 92.5 > 50: the same backlog seen 1-2 s apart.
        assert!(!ts[0].backlog[1].warn);
    }
}
