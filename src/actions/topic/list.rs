//! Topics for a picker: which ones carry traffic (from a counter the cockpit already scrapes,
//! e.g. `ingest_topic_received_total{topic}`) and which state each is in (from SQL).
//!
//! The traffic part is pure: it takes the counter's current and previous values (the series
//! index keeps both per series) and returns a rate per topic, busiest first. Series of the
//! same topic that differ in other labels (`source="ws"`, `source="iroh"`) are added up.

use std::collections::BTreeMap;

use serde::Serialize;

use super::sql::{column_text, db_text, open};
use super::TopicError;
use crate::config::PostgresConfig;
use crate::expo::SeriesIndex;

/// Rows a listing query may return; the rest are dropped (a picker cannot show more).
pub const MAX_LISTED: usize = 10_000;

/// One counter series of a topic: its value now and, if seen before, its value then.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterSample {
    pub topic: String,
    pub value: f64,
    pub at_ms: i64,
    /// `(at_ms, value)` of the scrape before.
    pub prev: Option<(i64, f64)>,
}

/// A topic's traffic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicTraffic {
    pub id: String,
    /// Events per second between the last two scrapes; `None` after only one scrape.
    pub per_second: Option<f64>,
    /// The counter's value now (all series of the topic added up).
    pub total: f64,
}

/// Rates per topic, busiest first (topics without a rate last, then by id).
pub fn traffic(samples: &[CounterSample]) -> Vec<TopicTraffic> {
    // id -> (total, (increase, seconds)); the pair is None once any series lacks a prev.
    type Acc = (f64, Option<(f64, f64)>);
    let mut by_topic: BTreeMap<&str, Acc> = BTreeMap::new();
    for s in samples {
        let rate = s.prev.and_then(|(prev_ms, prev)| {
            let secs = (s.at_ms - prev_ms) as f64 / 1000.0;
            // A counter that went down was reset: it counted `value` since the reset.
            let increase = if s.value >= prev {
                s.value - prev
            } else {
                s.value
            };
            (secs > 0.0).then_some((increase, secs))
        });
        let entry = by_topic.entry(&s.topic).or_insert((0.0, Some((0.0, 0.0))));
        entry.0 += s.value;
        entry.1 = match (entry.1, rate) {
            (Some((inc, secs)), Some((i, sx))) => Some((inc + i, secs.max(sx))),
            _ => None,
        };
    }
    let mut rows: Vec<TopicTraffic> = by_topic
        .into_iter()
        .map(|(id, (total, rate))| TopicTraffic {
            id: id.to_owned(),
            per_second: rate.and_then(|(inc, secs)| (secs > 0.0).then(|| inc / secs)),
            total,
        })
        .collect();
    rows.sort_by(|a, b| {
        let key = |r: &TopicTraffic| r.per_second.unwrap_or(f64::NEG_INFINITY);
        key(b).total_cmp(&key(a)).then_with(|| a.id.cmp(&b.id))
    });
    rows
}

/// [`traffic`] over the series of counter `metric` in a target's index, the topic taken from
/// label `label`. Series without the label, and ones missing from the latest scrape, are left
/// out.
pub fn traffic_from_index(index: &SeriesIndex, metric: &str, label: &str) -> Vec<TopicTraffic> {
    let samples: Vec<CounterSample> = index
        .iter()
        .filter(|v| v.name == metric && v.present)
        .filter_map(|v| {
            Some(CounterSample {
                topic: v.labels.get(label)?.into_owned(),
                value: v.value,
                at_ms: v.at_ms,
                prev: v.prev,
            })
        })
        .collect();
    traffic(&samples)
}

/// A topic as a listing query returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicListing {
    pub id: String,
    /// The second column, if the query has one: text, or a boolean (true = "suspended").
    pub state: Option<String>,
}

/// Runs an operator's listing query (read-only session, no parameters): the first column is
/// the topic id, the optional second its state.
pub async fn list_sql(pg: &PostgresConfig, query: &str) -> Result<Vec<TopicListing>, TopicError> {
    let session = open(pg).await?;
    let rows = session
        .client
        .query(query, &[])
        .await
        .map_err(|e| TopicError::Sql {
            what: "the topic listing query".into(),
            reason: db_text(&e),
        })?;
    let mut out = Vec::with_capacity(rows.len().min(MAX_LISTED));
    for row in rows.iter().take(MAX_LISTED) {
        let Some(id) = column_text(row, 0) else {
            return Err(TopicError::Sql {
                what: "the topic listing query".into(),
                reason: "its first column must be the topic id as text".into(),
            });
        };
        let state = if row.columns().len() > 1 {
            column_text(row, 1)
        } else {
            None
        };
        out.push(TopicListing { id, state });
    }
    Ok(out)
}

/// A row of the picker: a topic with whatever is known about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicRow {
    pub id: String,
    pub per_second: Option<f64>,
    pub state: Option<String>,
}

/// Joins traffic and listing by id: every topic of either, in the traffic's order (busiest
/// first), then the listed topics without traffic in listing order.
pub fn merge(traffic: &[TopicTraffic], listing: &[TopicListing]) -> Vec<TopicRow> {
    let states: BTreeMap<&str, Option<&String>> = listing
        .iter()
        .map(|l| (l.id.as_str(), l.state.as_ref()))
        .collect();
    let mut rows: Vec<TopicRow> = traffic
        .iter()
        .map(|t| TopicRow {
            id: t.id.clone(),
            per_second: t.per_second,
            state: states.get(t.id.as_str()).copied().flatten().cloned(),
        })
        .collect();
    for l in listing {
        if !traffic.iter().any(|t| t.id == l.id) {
            rows.push(TopicRow {
                id: l.id.clone(),
                per_second: None,
                state: l.state.clone(),
            });
        }
    }
    rows
}
