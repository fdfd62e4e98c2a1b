//! The Postgres source: the outbox backlog as the database sees it, and the database's health.
//!
//! One task per target with a `[target.postgres]` section. Each interval it runs the backlog
//! query in a read-only transaction with `SET LOCAL statement_timeout`, then reads `pg_stat_*`
//! views, and sends one owned [`PgObservation`]. When the server cannot be reached it sends
//! [`PgMsg::Unavailable`] with the error in plain words and retries after 1 s, 2 s, 4 s … up to
//! 30 s (±20 % jitter, so a fleet of cockpits does not reconnect in step). It never holds a
//! lock another collector needs, and never logs or reports the password.
//!
//! Privileges: the role needs `pg_monitor` (for `pg_read_all_stats`, so that other sessions'
//! state, queries and lock waits are visible, and for tablespace sizes) and SELECT on the outbox
//! tables (or whatever `backlog_query` reads):
//!
//! ```sql
//! CREATE ROLE watchdeck LOGIN;
//! GRANT pg_monitor TO watchdeck;
//! GRANT SELECT ON public.outbox_events, public.consumer_offsets TO watchdeck;
//! ```
//!
//! Without `pg_monitor` the connection counts and sizes still work; the parts that would be
//! wrong (longest query, oldest transaction, lock waits) report the missing grant instead.

mod observe;
pub mod sql;

use std::hash::BuildHasher;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use observe::{collect_once, QUERY_CHARS};

use crate::client::postgres::{connect, PgSession};
use crate::obs::postgres::PgMsg;

use crate::config::PostgresConfig;
use crate::obs::now_ms;

/// First retry delay after a failed connect.
pub const BACKOFF_FIRST: Duration = Duration::from_secs(1);
/// Longest retry delay.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Starts the collector for one target; it runs until the receiver is dropped or the handle
/// aborted.
pub fn spawn(
    target: usize,
    cfg: &PostgresConfig,
    interval: Duration,
    tx: mpsc::Sender<PgMsg>,
) -> JoinHandle<()> {
    spawn_rounds(target, cfg, interval, None, tx)
}

/// As [`spawn`], stopping after `rounds` rounds (a failed connect counts as one) for headless
/// modes such as `snapshot`.
pub fn spawn_rounds(
    target: usize,
    cfg: &PostgresConfig,
    interval: Duration,
    rounds: Option<u32>,
    tx: mpsc::Sender<PgMsg>,
) -> JoinHandle<()> {
    tokio::spawn(run(target, cfg.clone(), interval, rounds, tx))
}

async fn run(
    target: usize,
    cfg: PostgresConfig,
    interval: Duration,
    rounds: Option<u32>,
    tx: mpsc::Sender<PgMsg>,
) {
    let mut session: Option<PgSession> = None;
    let mut failures: u32 = 0;
    let mut round: u32 = 0;
    loop {
        round += 1;
        let last = rounds.is_some_and(|n| round >= n);
        let started = Instant::now();
        let mut live = match session.take() {
            Some(s) if !s.is_closed() => s,
            _ => match connect(&cfg).await {
                Ok(s) => {
                    failures = 0;
                    s
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let retry_in = backoff(failures, jitter());
                    tracing::debug!(target, attempt = failures, "postgres unavailable: {error}");
                    let msg = PgMsg::Unavailable {
                        target,
                        at_ms: now_ms(),
                        error,
                        attempt: failures,
                        retry_in,
                    };
                    if tx.send(msg).await.is_err() || last {
                        return;
                    }
                    tokio::time::sleep(retry_in).await;
                    continue;
                }
            },
        };
        let obs = collect_once(&mut live.client, &cfg).await;
        let keep = !obs.needs_reconnect() && !live.is_closed();
        let msg = PgMsg::Observed {
            target,
            obs: Box::new(obs),
        };
        if tx.send(msg).await.is_err() || last {
            return;
        }
        if keep {
            session = Some(live);
        }
        tokio::time::sleep(interval.saturating_sub(started.elapsed())).await;
    }
}

/// The delay before retry number `attempt` (from 1): 1 s doubling to 30 s, scaled by
/// 0.8–1.2 from `unit` in [0, 1), never above 30 s.
pub fn backoff(attempt: u32, unit: f64) -> Duration {
    let doublings = attempt.saturating_sub(1).min(16);
    let base = BACKOFF_FIRST
        .saturating_mul(1 << doublings)
        .min(BACKOFF_MAX);
    base.mul_f64(0.8 + 0.4 * unit.clamp(0.0, 1.0))
        .min(BACKOFF_MAX)
}

/// A number in [0, 1) that differs between calls and processes; only for spreading retries.
fn jitter() -> f64 {
    let bits = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_thirty_seconds_with_jitter() {
        let mid: Vec<u64> = (1..=7)
            .map(|a| backoff(a, 0.5).as_millis() as u64)
            .collect();
        assert_eq!(mid, [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
        assert_eq!(backoff(1, 0.0), Duration::from_millis(800));
        assert!(backoff(1, 0.999_999) > Duration::from_millis(1199));
        assert!(backoff(1, 1.0) <= Duration::from_millis(1200));
        assert_eq!(backoff(6, 1.0), BACKOFF_MAX);
        assert_eq!(backoff(u32::MAX, 0.9), BACKOFF_MAX);
        assert_eq!(backoff(0, 0.5), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_in_range() {
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
    }
}
