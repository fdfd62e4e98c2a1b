//! The PromQL a fleet sends: one expression per preset panel, parts told apart by a label.

use std::fmt::Write as _;
use std::time::Duration;

use crate::config::fleet::FleetConfig;
use crate::config::{LatencyPanel, Preset};
use crate::obs::fleet::PanelKind;

/// The label that tells the parts of one panel's query apart.
pub const PART: &str = "wd_part";

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
