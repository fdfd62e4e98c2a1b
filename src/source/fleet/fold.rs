//! A fleet's answers folded into each instance's values, panel by panel.

use std::collections::HashMap;

use super::query::{PanelQuery, PART};
use crate::client::promql::{QueryOutcome, Series};
use crate::obs::fleet::{instance_key, CounterValue, GaugeValue, InstanceValues, PanelKind};

pub(super) fn series_key(s: &Series) -> String {
    instance_key(
        s.label("job").unwrap_or_default(),
        s.label("instance").unwrap_or_default(),
    )
}

pub(super) fn row_labels(s: &Series, by: &[String]) -> String {
    by.iter()
        .map(|l| s.label(l).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("/")
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

pub(super) fn fold(
    q: &PanelQuery,
    o: &QueryOutcome,
    instances: &mut [InstanceValues],
    index: &HashMap<String, usize>,
) {
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
                // The quantiles are folded from these in derive (`derive::remote`).
                let Some(le) = s.label("le") else {
                    continue;
                };
                let r = row(
                    &mut inst.latency,
                    |(t, _)| *t == q.title,
                    || (q.title.clone(), Vec::new()),
                );
                r.1.push((le.to_owned(), v));
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
    // Rows in a stable order whatever order the server answered in.
    for inst in instances.iter_mut() {
        inst.gauges.sort_by(|a, b| {
            (a.kind as u8, &a.title, &a.labels).cmp(&(b.kind as u8, &b.title, &b.labels))
        });
        inst.counters
            .sort_by(|a, b| (&a.title, &a.labels).cmp(&(&b.title, &b.labels)));
    }
}
