//! Metric families: the `# TYPE` of a name and which sample names belong to it.

use std::fmt;

/// The type a `# TYPE` line declares. `untyped` (0.0.4) and `unknown` (OpenMetrics) are one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    Unknown,
}

impl MetricType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "counter" => Self::Counter,
            "gauge" => Self::Gauge,
            "histogram" => Self::Histogram,
            "gaugehistogram" => Self::GaugeHistogram,
            "summary" => Self::Summary,
            "info" => Self::Info,
            "stateset" => Self::StateSet,
            "untyped" | "unknown" => Self::Unknown,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
            Self::GaugeHistogram => "gaugehistogram",
            Self::Summary => "summary",
            Self::Info => "info",
            Self::StateSet => "stateset",
            Self::Unknown => "unknown",
        }
    }

    /// Suffixes a sample of this family may carry after the family name.
    fn suffixes(self) -> &'static [&'static str] {
        match self {
            Self::Counter => &["_total", "_created"],
            Self::Histogram => &["_bucket", "_sum", "_count", "_created"],
            Self::GaugeHistogram => &["_bucket", "_gsum", "_gcount"],
            Self::Summary => &["_sum", "_count", "_created"],
            Self::Info => &["_info"],
            Self::Gauge | Self::StateSet | Self::Unknown => &[],
        }
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// If `sample` belongs to the family `family` of type `kind`, the family name; else `None`.
///
/// 0.0.4 counters are usually declared with their `_total` name, OpenMetrics counters without
/// it; both shapes are accepted.
pub fn family_name_for<'a>(sample: &str, family: &'a str, kind: MetricType) -> Option<&'a str> {
    if sample == family {
        return Some(family);
    }
    let rest = sample.strip_prefix(family)?;
    kind.suffixes().contains(&rest).then_some(family)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_samples_join_their_family() {
        let h = MetricType::Histogram;
        assert_eq!(
            family_name_for("rpc_seconds_bucket", "rpc_seconds", h),
            Some("rpc_seconds")
        );
        assert_eq!(
            family_name_for("rpc_seconds_count", "rpc_seconds", h),
            Some("rpc_seconds")
        );
        assert_eq!(family_name_for("rpc_seconds_total", "rpc_seconds", h), None);
        assert_eq!(family_name_for("rpc_secondsx", "rpc_seconds", h), None);
        assert_eq!(family_name_for("other", "rpc_seconds", h), None);
    }

    #[test]
    fn counters_accept_both_spellings() {
        let c = MetricType::Counter;
        assert_eq!(family_name_for("req_total", "req", c), Some("req"));
        assert_eq!(
            family_name_for("req_total", "req_total", c),
            Some("req_total")
        );
    }

    #[test]
    fn type_names_round_trip() {
        for t in [
            "counter",
            "gauge",
            "histogram",
            "gaugehistogram",
            "summary",
            "info",
            "stateset",
        ] {
            assert_eq!(MetricType::parse(t).map(MetricType::as_str), Some(t));
        }
        assert_eq!(MetricType::parse("untyped"), Some(MetricType::Unknown));
        assert_eq!(MetricType::parse("bogus"), None);
    }
}
