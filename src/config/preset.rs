//! Presets: which metrics feed which cockpit panel, per kind of service.
//!
//! The four presets live in `assets/presets/*.toml`, are embedded in the binary and parsed
//! strictly. Metric names follow the runbooks exactly (see the demo fleet contract); a preset
//! only names series and thresholds, the engine does the arithmetic. Disk usage from
//! `node_filesystem_*` is watched for every target, so it is not part of any preset.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// The presets watchdeck ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PresetName {
    CommunityNode,
    Overlay,
    Mail,
    RestApi,
}

impl PresetName {
    /// Every preset, in the order they are listed to users.
    pub const ALL: [PresetName; 4] = [
        PresetName::CommunityNode,
        PresetName::Overlay,
        PresetName::Mail,
        PresetName::RestApi,
    ];

    /// The kebab-case name used in config files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            PresetName::CommunityNode => "community-node",
            PresetName::Overlay => "overlay",
            PresetName::Mail => "mail",
            PresetName::RestApi => "rest-api",
        }
    }

    /// `community-node, overlay, mail, rest-api`, for messages.
    pub fn list() -> String {
        PresetName::ALL.map(PresetName::as_str).join(", ")
    }

    fn source(self) -> &'static str {
        match self {
            PresetName::CommunityNode => {
                include_str!("../../assets/presets/community-node.toml")
            }
            PresetName::Overlay => include_str!("../../assets/presets/overlay.toml"),
            PresetName::Mail => include_str!("../../assets/presets/mail.toml"),
            PresetName::RestApi => include_str!("../../assets/presets/rest-api.toml"),
        }
    }
}

/// Rules every preset carries, whatever its kind.
pub const COMMON_ALERTS: &str = include_str!("../../assets/presets/common.toml");

impl fmt::Display for PresetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A preset name that is not one of [`PresetName::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown preset \"{0}\" — valid presets: {list}", list = PresetName::list())]
pub struct UnknownPreset(pub String);

impl FromStr for PresetName {
    type Err = UnknownPreset;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PresetName::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPreset(s.to_string()))
    }
}

impl<'de> Deserialize<'de> for PresetName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Panels for one kind of service.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    pub name: PresetName,
    pub description: String,
    #[serde(default)]
    pub backlog: Vec<GaugePanel>,
    #[serde(default)]
    pub sse: Vec<GaugePanel>,
    #[serde(default)]
    pub queue: Vec<GaugePanel>,
    #[serde(default)]
    pub latency: Vec<LatencyPanel>,
    #[serde(default)]
    pub errors: Vec<ErrorRatePanel>,
    #[serde(default)]
    pub storage: Vec<StoragePanel>,
    #[serde(default)]
    pub counters: Vec<CounterPanel>,
    /// The runbook's alerts for this kind of service, each with its hint.
    #[serde(default, rename = "alert")]
    pub alerts: Vec<AlertSpec>,
}

/// Which derived value an alert watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertValue {
    /// The largest backlog of any consumer (metrics or SQL).
    Backlog,
    /// p95 of the latency panel named by `panel`, in seconds.
    LatencyP95,
    /// Increase over the window of the counter panel named by `panel` (all rows summed).
    CounterIncrease,
    /// The largest row of the gauge panel (queue or SSE group) named by `panel`.
    Gauge,
    /// The largest used share (0..1) of any disk or storage row.
    DiskUsedRatio,
    /// The error share (0..1) of the error-rate panel named by `panel`.
    ErrorRatio,
    /// Database connections in use over `max_connections` (0..1).
    DbConnectionsRatio,
    /// Sessions waiting on a lock.
    LockWaits,
    /// Seconds since the target last answered (infinite when it never has): staleness.
    StaleSeconds,
    /// Failing health checks: URLs not answering healthy plus failing dependency checks.
    HealthFailing,
}

/// The runbook's severity words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertSeverity {
    Info,
    Warning,
    Critical,
}

/// One alert rule of a preset, with the runbook hint an operator reads at 3 a.m.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSpec {
    pub name: String,
    pub severity: AlertSeverity,
    pub value: AlertValue,
    /// The panel row title, for values that name one.
    #[serde(default)]
    pub panel: Option<String>,
    #[serde(default)]
    pub above: Option<f64>,
    #[serde(default)]
    pub below: Option<f64>,
    /// How long the condition must hold ("10m"); none fires at once.
    #[serde(default, rename = "for")]
    pub for_duration: Option<String>,
    /// How far back past the threshold a firing alert must go to clear.
    #[serde(default)]
    pub hysteresis: f64,
    pub symptom: String,
    pub cause: String,
    pub action: String,
    /// The remediation action that fits, one key away from the alert: `backup`, `suspend`,
    /// `resume`, `rollback` or `run:<command name>`.
    #[serde(default)]
    pub remedy: Option<String>,
}

impl AlertSpec {
    /// `for` in milliseconds (checked when the preset loads).
    pub fn for_ms(&self) -> i64 {
        self.for_duration
            .as_deref()
            .and_then(|d| humantime::parse_duration(d).ok())
            .map_or(0, |d| d.as_millis() as i64)
    }

    /// Checks a rule (a preset's or one in the config): `Err` says what is wrong with it.
    pub fn check(&self) -> Result<(), String> {
        if self.above.is_some() == self.below.is_some() {
            return Err("give exactly one of `above` and `below`".into());
        }
        // NaN compares false with everything: the rule could never fire.
        for (key, v) in [("above", self.above), ("below", self.below)] {
            if let Some(v) = v.filter(|v| !v.is_finite()) {
                let shown = if v.is_nan() {
                    "nan".to_owned()
                } else {
                    v.to_string()
                };
                return Err(format!(
                    "{key} = {shown} is not a finite number — give the threshold as a number"
                ));
            }
        }
        if let Some(d) = &self.for_duration {
            humantime::parse_duration(d).map_err(|e| format!("for = {d:?}: {e}"))?;
        }
        let needs_panel = matches!(
            self.value,
            AlertValue::LatencyP95
                | AlertValue::CounterIncrease
                | AlertValue::Gauge
                | AlertValue::ErrorRatio
        );
        if needs_panel && self.panel.is_none() {
            return Err("this value needs `panel` (the title of the panel row)".into());
        }
        if self.hysteresis.is_nan() || self.hysteresis < 0.0 {
            return Err("hysteresis must be 0 or more".into());
        }
        if self.symptom.is_empty() || self.cause.is_empty() || self.action.is_empty() {
            return Err(
                "symptom, cause and action are all needed: they are the runbook hint".into(),
            );
        }
        if let Some(r) = &self.remedy {
            let ok = matches!(r.as_str(), "backup" | "suspend" | "resume" | "rollback")
                || r.strip_prefix("run:").is_some_and(|n| !n.is_empty());
            if !ok {
                return Err(format!(
                    "remedy = {r:?} is not an action — use backup, suspend, resume, rollback or run:<command name>"
                ));
            }
        }
        Ok(())
    }
}

/// A gauge shown as one row per distinct combination of the `by` labels.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaugePanel {
    pub title: String,
    pub metric: String,
    /// Labels forming a row; empty means one row summed over all series.
    #[serde(default)]
    pub by: Vec<String>,
    pub warn_above: Option<f64>,
}

/// A quantile view over a classic histogram.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyPanel {
    pub title: String,
    /// Base name; the engine reads `<histogram>_bucket`.
    pub histogram: String,
    /// Label equality filters, written as a TOML table (`{ route = "/v1/search" }`).
    #[serde(default, deserialize_with = "matchers")]
    pub matchers: Vec<(String, String)>,
    /// Multiply bucket bounds by this to get seconds: 1.0, or 0.001 for `*_ms` histograms.
    #[serde(default = "one")]
    pub scale: f64,
    /// Where the p95 alert line sits, in seconds.
    pub threshold_seconds: Option<f64>,
}

/// Share of requests whose status label starts with `error_prefix`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorRatePanel {
    pub title: String,
    /// A counter such as `http_requests_total`.
    pub metric: String,
    pub status_label: String,
    /// `"5"` counts every 5xx.
    pub error_prefix: String,
    pub warn_ratio: Option<f64>,
}

/// Used against limit, both gauges.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoragePanel {
    pub title: String,
    pub used: String,
    pub limit: String,
    pub warn_ratio: Option<f64>,
}

/// A counter shown as rates per row of `by` labels.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterPanel {
    pub title: String,
    pub metric: String,
    #[serde(default)]
    pub by: Vec<String>,
    /// Any increase is an alert (e.g. `sse_ring_miss_total`).
    #[serde(default)]
    pub alert_on_increase: bool,
}

fn one() -> f64 {
    1.0
}

fn matchers<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<(String, String)>, D::Error> {
    Ok(BTreeMap::<String, String>::deserialize(deserializer)?
        .into_iter()
        .collect())
}

/// A preset file that does not parse or names something impossible.
#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    #[error("preset does not parse: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("preset {preset}: panel \"{panel}\": {message}")]
    Invalid {
        preset: PresetName,
        panel: String,
        message: String,
    },
}

impl Preset {
    /// The embedded preset. Shipped presets are proven to parse by the fixture tests, so a
    /// failure here is a build defect, not an operator error.
    pub fn load(name: PresetName) -> Preset {
        // Parsed once per process: a fleet adds a thousand targets of one preset at once.
        static PARSED: std::sync::OnceLock<Vec<Preset>> = std::sync::OnceLock::new();
        let all = PARSED.get_or_init(|| PresetName::ALL.map(Preset::parse_embedded).to_vec());
        all[PresetName::ALL
            .iter()
            .position(|p| *p == name)
            .unwrap_or_default()]
        .clone()
    }

    fn parse_embedded(name: PresetName) -> Preset {
        match Preset::from_toml(name.source()) {
            Ok(mut preset) if preset.name == name => {
                preset.add_common_alerts();
                preset
            }
            Ok(preset) => panic!("embedded preset {name} declares name {}", preset.name),
            Err(err) => panic!("embedded preset {name} is invalid: {err}"),
        }
    }

    /// Appends the rules every preset carries (`assets/presets/common.toml`) that the preset
    /// does not define itself.
    fn add_common_alerts(&mut self) {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Common {
            alert: Vec<AlertSpec>,
        }
        let common: Common = match toml::from_str(COMMON_ALERTS) {
            Ok(c) => c,
            Err(err) => panic!("embedded common alert rules are invalid: {err}"),
        };
        for spec in common.alert {
            if !self.alerts.iter().any(|a| a.name == spec.name) {
                self.alerts.push(spec);
            }
        }
    }

    /// The embedded TOML text of a preset, for `config` front ends that show it.
    pub fn source(name: PresetName) -> &'static str {
        name.source()
    }

    /// Parses and checks a preset: metric and label names must be valid Prometheus names and
    /// thresholds must be positive, so a typo fails here rather than as an empty panel.
    pub fn from_toml(text: &str) -> Result<Preset, PresetError> {
        let preset: Preset = toml::from_str(text)?;
        preset.check()?;
        Ok(preset)
    }

    /// Every exact sample name the panels need: gauges, `<histogram>_bucket`, counters and
    /// storage used + limit, each once, in panel order.
    pub fn watched_metrics(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |name: String| {
            if !out.contains(&name) {
                out.push(name);
            }
        };
        for g in self.backlog.iter().chain(&self.sse).chain(&self.queue) {
            add(g.metric.clone());
        }
        for l in &self.latency {
            add(format!("{}_bucket", l.histogram));
        }
        for e in &self.errors {
            add(e.metric.clone());
        }
        for s in &self.storage {
            add(s.used.clone());
            add(s.limit.clone());
        }
        for c in &self.counters {
            add(c.metric.clone());
        }
        out
    }

    /// Every panel row title, for alerts that name one.
    fn titles(&self) -> Vec<&str> {
        let mut t: Vec<&str> = Vec::new();
        t.extend(
            self.backlog
                .iter()
                .chain(&self.sse)
                .chain(&self.queue)
                .map(|g| g.title.as_str()),
        );
        t.extend(self.latency.iter().map(|l| l.title.as_str()));
        t.extend(self.errors.iter().map(|e| e.title.as_str()));
        t.extend(self.storage.iter().map(|s| s.title.as_str()));
        t.extend(self.counters.iter().map(|c| c.title.as_str()));
        t
    }

    fn check(&self) -> Result<(), PresetError> {
        let fail = |panel: &str, message: String| PresetError::Invalid {
            preset: self.name,
            panel: panel.to_string(),
            message,
        };
        let no_panels = self.backlog.is_empty()
            && self.sse.is_empty()
            && self.queue.is_empty()
            && self.latency.is_empty()
            && self.errors.is_empty()
            && self.storage.is_empty()
            && self.counters.is_empty();
        if no_panels {
            return Err(fail("-", "a preset needs at least one panel".into()));
        }
        for a in &self.alerts {
            a.check().map_err(|m| fail(&a.name, m))?;
            let titles = self.titles();
            if let Some(p) = a.panel.as_deref().filter(|p| !titles.contains(p)) {
                return Err(fail(&a.name, format!("no panel is titled {p:?}")));
            }
        }
        for g in self.backlog.iter().chain(&self.sse).chain(&self.queue) {
            check_panel(&g.title, &[&g.metric], &g.by, &[g.warn_above])
                .map_err(|m| fail(&g.title, m))?;
        }
        for l in &self.latency {
            let labels: Vec<String> = l.matchers.iter().map(|(k, _)| k.clone()).collect();
            check_panel(
                &l.title,
                &[&l.histogram],
                &labels,
                &[l.threshold_seconds, Some(l.scale)],
            )
            .map_err(|m| fail(&l.title, m))?;
            if l.histogram.ends_with("_bucket") {
                return Err(fail(
                    &l.title,
                    "histogram is the base name; drop \"_bucket\"".into(),
                ));
            }
        }
        for e in &self.errors {
            check_panel(
                &e.title,
                &[&e.metric],
                std::slice::from_ref(&e.status_label),
                &[],
            )
            .map_err(|m| fail(&e.title, m))?;
            check_ratio(e.warn_ratio).map_err(|m| fail(&e.title, m))?;
            if e.error_prefix.is_empty() {
                return Err(fail(
                    &e.title,
                    "error_prefix is empty; use \"5\" for 5xx".into(),
                ));
            }
        }
        for s in &self.storage {
            check_panel(&s.title, &[&s.used, &s.limit], &[], &[]).map_err(|m| fail(&s.title, m))?;
            check_ratio(s.warn_ratio).map_err(|m| fail(&s.title, m))?;
        }
        for c in &self.counters {
            check_panel(&c.title, &[&c.metric], &c.by, &[]).map_err(|m| fail(&c.title, m))?;
        }
        Ok(())
    }
}

fn check_panel(
    title: &str,
    metrics: &[&str],
    labels: &[String],
    positive: &[Option<f64>],
) -> Result<(), String> {
    if title.trim().is_empty() {
        return Err("title is empty".into());
    }
    for m in metrics {
        if !is_metric_name(m) {
            return Err(format!("\"{m}\" is not a valid metric name"));
        }
    }
    for l in labels {
        if !is_label_name(l) {
            return Err(format!("\"{l}\" is not a valid label name"));
        }
    }
    for v in positive.iter().flatten() {
        if !(v.is_finite() && *v > 0.0) {
            return Err(format!("{v} must be a positive number"));
        }
    }
    Ok(())
}

fn check_ratio(ratio: Option<f64>) -> Result<(), String> {
    match ratio {
        Some(r) if !(r > 0.0 && r <= 1.0) => Err(format!("ratio {r} must be in (0, 1]")),
        _ => Ok(()),
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, the Prometheus metric name grammar.
fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// The Prometheus label name grammar: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn is_label_name(s: &str) -> bool {
    crate::text::is_identifier(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in PresetName::ALL {
            assert_eq!(p.as_str().parse::<PresetName>(), Ok(p));
            assert_eq!(p.to_string(), p.as_str());
        }
        let err = "relay"
            .parse::<PresetName>()
            .expect_err("should fail")
            .to_string();
        assert_eq!(
            err,
            "unknown preset \"relay\" — valid presets: community-node, overlay, mail, rest-api"
        );
    }

    #[test]
    fn prometheus_names() {
        assert!(is_metric_name("outbox_backlog"));
        assert!(is_metric_name("ns:rate5m"));
        assert!(!is_metric_name("9lives"));
        assert!(!is_metric_name("http-requests"));
        assert!(!is_metric_name(""));
        assert!(is_label_name("consumer"));
        assert!(!is_label_name("le:x"));
    }

    #[test]
    fn check_rejects_bad_panels() {
        let base = "name = \"mail\"\ndescription = \"d\"\n";
        let bad = [
            (
                "[[queue]]\ntitle = \"q\"\nmetric = \"bad-name\"\n",
                "not a valid metric name",
            ),
            (
                "[[queue]]\ntitle = \"q\"\nmetric = \"q\"\nby = [\"a b\"]\n",
                "not a valid label name",
            ),
            (
                "[[queue]]\ntitle = \"q\"\nmetric = \"q\"\nwarn_above = -1.0\n",
                "positive",
            ),
            (
                "[[latency]]\ntitle = \"l\"\nhistogram = \"h_bucket\"\n",
                "drop \"_bucket\"",
            ),
            (
                "[[storage]]\ntitle = \"s\"\nused = \"u\"\nlimit = \"l\"\nwarn_ratio = 90.0\n",
                "(0, 1]",
            ),
            ("", "at least one panel"),
        ];
        for (panels, expected) in bad {
            let err = Preset::from_toml(&format!("{base}{panels}"))
                .expect_err("should fail")
                .to_string();
            assert!(err.contains(expected), "{panels:?} gave {err}");
        }
        let unknown = Preset::from_toml(&format!(
            "{base}[[queue]]\ntitle = \"q\"\nmetric = \"q\"\nwarn = 1\n"
        ));
        assert!(unknown
            .expect_err("should fail")
            .to_string()
            .contains("unknown field `warn`"));
    }
}
