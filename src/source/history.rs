//! The history source: a target's recent past, read from the Prometheus-compatible store the
//! team already runs, so the cockpit's first frame knows what happened before it started.
//!
//! One range query per target reads every watched series over the window
//! (`{__name__=~"a|b|…",<selector>}`), at the target's own interval as the step (coarser when
//! the store's 11,000-point limit would be passed). The answer becomes a [`HistoryBatch`]: one
//! step per evaluation time, each with the values present then, keyed exactly as the target's
//! own scrapes are keyed ([`canonical_key`]), so the store and the rules take the past as
//! observations with past timestamps.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crate::client::api::{ApiSpec, Auth};
use crate::client::http::HttpLimits;
use crate::client::promql::{PromClient, Range};
use crate::config::history::TargetHistory;
use crate::expo::RawLabels;
use crate::obs::history::HistoryBatch;

/// Prometheus refuses a range query of more points per series than this.
const MAX_POINTS: i64 = 11_000;

/// `name{labels}` with the labels sorted by name and empty values dropped, as Prometheus
/// stores a series: the target's scrape and the store's answer name a series alike.
pub fn canonical_key(key: &str) -> Arc<str> {
    let Some(open) = key.find('{').filter(|_| key.ends_with('}')) else {
        return Arc::from(key);
    };
    let raw = RawLabels::new(&key.as_bytes()[open + 1..key.len() - 1]);
    let mut pairs: Vec<(&str, std::borrow::Cow<'_, str>)> = Vec::new();
    for pair in &raw {
        match pair {
            Ok((n, v)) if !v.is_empty() => pairs.push((n, v)),
            Ok(_) => {}
            Err(_) => return Arc::from(key),
        }
    }
    if pairs.is_empty() {
        return Arc::from(&key[..open]);
    }
    if pairs.windows(2).all(|w| w[0].0 < w[1].0) && pairs.len() == raw.iter().count() {
        return Arc::from(key); // already canonical: no copy of the text is built
    }
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let name = &key[..open];
    let labels: BTreeMap<&str, &str> = pairs.iter().map(|(n, v)| (*n, v.as_ref())).collect();
    Arc::from(key_of(name, labels.iter().map(|(n, v)| (*n, *v))))
}

/// Writes `name{a="x",b="y"}` (labels in the order given, values escaped as the text format
/// does); just `name` without labels.
fn key_of<'a>(name: &str, labels: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::with_capacity(name.len() + 32);
    out.push_str(name);
    let mut any = false;
    for (n, v) in labels {
        out.push(if any { ',' } else { '{' });
        any = true;
        out.push_str(n);
        out.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    if any {
        out.push('}');
    }
    out
}

/// The query that reads every watched series of one target.
pub fn query<S: std::hash::BuildHasher>(names: &HashSet<String, S>, selector: &str) -> String {
    let mut names: Vec<&str> = names.iter().map(String::as_str).collect();
    names.sort_unstable();
    format!("{{__name__=~\"{}\",{selector}}}", names.join("|"))
}

/// The finest step a backfill asks for: stores scrape every 15 s to 1 m, so a finer step only
/// repeats samples (and multiplies the answer's size).
pub const MIN_STEP: Duration = Duration::from_secs(5);

/// The step of a backfill over `from..to`: the target's interval, coarser if the store's
/// point limit would be passed; never under [`MIN_STEP`].
pub fn step_for(interval: Duration, from_ms: i64, to_ms: i64) -> Duration {
    let span = (to_ms - from_ms).max(0);
    let min_step_ms = (span / (MAX_POINTS - 1)).max(MIN_STEP.as_millis() as i64);
    Duration::from_millis((interval.as_millis() as i64).max(min_step_ms) as u64)
}

/// Reads one target's past over `from_ms..=to_ms`. Never fails: a store that is down, slow or
/// answers junk gives a batch with `error` set and no steps.
pub async fn backfill<S: std::hash::BuildHasher>(
    target: usize,
    spec: &TargetHistory,
    names: &HashSet<String, S>,
    interval: Duration,
    from_ms: i64,
    to_ms: i64,
    at_launch: bool,
) -> HistoryBatch {
    let mut batch = HistoryBatch {
        target,
        source: crate::text::display_url(&spec.url),
        from_ms,
        to_ms,
        at_launch,
        ..HistoryBatch::default()
    };
    let api = ApiSpec {
        base_url: spec.url.to_string(),
        auth: spec
            .token
            .as_ref()
            .map_or(Auth::None, |t| Auth::Bearer(t.clone())),
        tenant: spec.tenant.clone(),
        limits: HttpLimits {
            timeout: spec.timeout,
            connect_timeout: Duration::from_secs(2).min(spec.timeout),
            max_body_bytes: 64 * 1024 * 1024,
        },
    };
    let client = match PromClient::new(&api) {
        Ok(c) => c,
        Err(e) => {
            batch.error = Some(e.to_string());
            return batch;
        }
    };
    let range = Range {
        start_ms: from_ms,
        end_ms: to_ms,
        step: step_for(interval, from_ms, to_ms),
    };
    let q = query(names, &spec.selector);
    let outcome = match client.range(&q, &range).await {
        Ok(o) => o,
        Err(e) => {
            batch.error = Some(e.to_string());
            return batch;
        }
    };
    batch.warnings = outcome.notes();
    let mut by_time: BTreeMap<i64, Vec<(Arc<str>, f64)>> = BTreeMap::new();
    for s in outcome.data.series() {
        let Some(name) = s.label("__name__") else {
            continue;
        };
        let labels = s
            .labels
            .iter()
            .filter(|(n, v)| {
                n.as_str() != "__name__" && !v.is_empty() && !spec.pinned.iter().any(|p| p == *n)
            })
            .map(|(n, v)| (n.as_str(), v.as_str()));
        let key: Arc<str> = Arc::from(key_of(name, labels));
        batch.series += 1;
        for sample in &s.samples {
            by_time
                .entry(sample.at_ms)
                .or_default()
                .push((Arc::clone(&key), sample.value));
        }
    }
    batch.steps = by_time.into_iter().collect();
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_keys_sort_labels_and_drop_empty_ones() {
        assert_eq!(&*canonical_key("up"), "up");
        assert_eq!(
            &*canonical_key(r#"x_bucket{route="/a",le="0.1",method="GET"}"#),
            r#"x_bucket{le="0.1",method="GET",route="/a"}"#
        );
        assert_eq!(
            &*canonical_key(r#"x{b="",a="q\"uote"}"#),
            r#"x{a="q\"uote"}"#
        );
        assert_eq!(&*canonical_key(r#"x{a="1",b="2"}"#), r#"x{a="1",b="2"}"#);
        assert_eq!(&*canonical_key(r"x{}"), "x");
    }

    #[test]
    fn the_query_names_every_watched_series_and_the_selector() {
        let names: HashSet<String> = ["b_total", "a"].iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(
            query(&names, r#"instance="h:1""#),
            r#"{__name__=~"a|b_total",instance="h:1"}"#
        );
    }

    #[test]
    fn steps_keep_under_the_point_limit() {
        let s = step_for(Duration::from_secs(5), 0, 15 * 60 * 1000);
        assert_eq!(s, Duration::from_secs(5));
        let s = step_for(Duration::from_millis(100), 0, 15 * 60 * 1000);
        assert_eq!(s, MIN_STEP);
        let s = step_for(Duration::from_secs(30), 0, 15 * 60 * 1000);
        assert_eq!(s, Duration::from_secs(30));
        let day = 24 * 3600 * 1000;
        assert!(day / s.as_millis().max(1) as i64 > 0);
        let s = step_for(Duration::from_secs(1), 0, day);
        assert!(day / (s.as_millis() as i64) < MAX_POINTS);
    }
}
