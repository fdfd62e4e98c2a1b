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

mod fold;
mod poll;
mod query;

pub use poll::{api_spec, FirstRounds, FleetPoller, BACKFILL_POINTS};
pub use query::{describe, panel_queries, status_query, PanelQuery, PART};
