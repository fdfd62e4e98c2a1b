//! A Prometheus scrape config (YAML) for a demo fleet, normal or scaled: one job per preset
//! (`job_name` = the preset), one static config per service with its `host:port` and a
//! `target` label holding the service's name, so Prometheus' `instance` and `target` labels
//! both tell the services apart.

use std::fmt::Write as _;
use std::time::Duration;

use super::DemoTarget;

/// The scrape config for `targets`. Jobs come in the order their preset first appears;
/// `scrape_timeout` equals `scrape_interval` (the most Prometheus allows). Durations are
/// written in whole milliseconds, at least 1 ms. A metrics path other than `/metrics` is
/// passed as the `__metrics_path__` label.
pub fn prometheus_config(targets: &[DemoTarget], scrape_interval: Duration) -> String {
    let interval = prom_duration(scrape_interval);
    let mut jobs: Vec<(&str, Vec<&DemoTarget>)> = Vec::new();
    for t in targets {
        match jobs.iter_mut().find(|(job, _)| *job == t.preset) {
            Some((_, list)) => list.push(t),
            None => jobs.push((t.preset, vec![t])),
        }
    }
    let mut yml = format!(
        "# Prometheus scrape config for the watchdeck demo fleet ({n} targets).\n\
         global:\n  scrape_interval: {interval}\n  scrape_timeout: {interval}\n\
         scrape_configs:\n",
        n = targets.len(),
    );
    for (job, list) in jobs {
        let _ = write!(
            yml,
            "  - job_name: {}\n    static_configs:\n",
            yaml_str(job)
        );
        for t in list {
            let url = t.metrics_url.trim_start_matches("http://");
            let (hostport, path) = url.find('/').map_or((url, "/metrics"), |i| url.split_at(i));
            let _ = write!(
                yml,
                "      - targets: [{}]\n        labels: {{target: {}",
                yaml_str(hostport),
                yaml_str(&t.name)
            );
            if path != "/metrics" {
                let _ = write!(yml, ", __metrics_path__: {}", yaml_str(path));
            }
            yml.push_str("}\n");
        }
    }
    yml
}

/// A YAML single-quoted scalar.
fn yaml_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A Prometheus duration: `5s`, `1500ms`.
fn prom_duration(d: Duration) -> String {
    let ms = d.as_millis().max(1);
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(name: &str, preset: &'static str, url: &str) -> DemoTarget {
        DemoTarget {
            name: name.to_owned(),
            preset,
            metrics_url: url.to_owned(),
            health_urls: Vec::new(),
        }
    }

    #[test]
    fn one_job_per_preset_with_a_target_label_per_service() {
        let targets = [
            target(
                "cn-relay",
                "community-node",
                "http://127.0.0.1:4001/metrics",
            ),
            target("overlay", "overlay", "http://127.0.0.1:4002/metrics"),
            target(
                "cn-index",
                "community-node",
                "http://127.0.0.1:4003/metrics",
            ),
            target("o'dd", "overlay", "http://127.0.0.1:4004/stats"),
        ];
        let yml = prometheus_config(&targets, Duration::from_millis(1500));
        let expected = "# Prometheus scrape config for the watchdeck demo fleet (4 targets).
global:
  scrape_interval: 1500ms
  scrape_timeout: 1500ms
scrape_configs:
  - job_name: 'community-node'
    static_configs:
      - targets: ['127.0.0.1:4001']
        labels: {target: 'cn-relay'}
      - targets: ['127.0.0.1:4003']
        labels: {target: 'cn-index'}
  - job_name: 'overlay'
    static_configs:
      - targets: ['127.0.0.1:4002']
        labels: {target: 'overlay'}
      - targets: ['127.0.0.1:4004']
        labels: {target: 'o''dd', __metrics_path__: '/stats'}
";
        assert_eq!(yml, expected);
    }

    #[test]
    fn durations_are_whole_seconds_or_milliseconds() {
        assert_eq!(prom_duration(Duration::from_secs(5)), "5s");
        assert_eq!(prom_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(prom_duration(Duration::ZERO), "1ms");
    }
}
