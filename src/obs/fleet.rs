//! One round of a `[[fleet]]` (the promql source): every instance's panel values, and the
//! sparkline history its range queries read.

/// Quantiles of a latency panel, in the order of [`InstanceValues::latency`].
pub const QUANTILES: [f64; 3] = [0.5, 0.95, 0.99];

/// Which panel a query feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PanelKind {
    Backlog,
    Sse,
    Queue,
    Latency,
    Errors,
    Counters,
    Storage,
    Disks,
}

impl PanelKind {
    pub fn word(self) -> &'static str {
        match self {
            PanelKind::Backlog => "Backlog",
            PanelKind::Sse => "SSE",
            PanelKind::Queue => "Queue",
            PanelKind::Latency => "Latency",
            PanelKind::Errors => "Errors",
            PanelKind::Counters => "Counters",
            PanelKind::Storage => "Storage",
            PanelKind::Disks => "Disk",
        }
    }
}

/// One row of a gauge panel (backlog, SSE, queue) of one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeValue {
    pub kind: PanelKind,
    pub title: String,
    pub labels: String,
    pub value: f64,
}

/// One row of a counter panel of one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterValue {
    pub title: String,
    pub labels: String,
    pub value: f64,
    pub increase: Option<f64>,
}

/// One instance's values in one round.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstanceValues {
    pub job: String,
    pub instance: String,
    /// Labels of `up` (job and instance included), for naming and filtering.
    pub labels: std::collections::BTreeMap<String, String>,
    /// `up == 1`.
    pub up: bool,
    /// When the store last scraped it (unix ms).
    pub scraped_ms: Option<i64>,
    /// How long that scrape took.
    pub scrape_ms: Option<f64>,
    pub gauges: Vec<GaugeValue>,
    /// Title and the histogram's buckets as the store answered: (`le` label, increase over the
    /// window). derive folds them into [`QUANTILES`] (scale not applied).
    pub latency: Vec<(String, Vec<(String, f64)>)>,
    /// Title, errors and all requests over the window.
    pub errors: Vec<(String, Option<f64>, Option<f64>)>,
    pub counters: Vec<CounterValue>,
    /// Title, used, limit.
    pub storage: Vec<(String, f64, f64)>,
    /// Mount point, size, avail, free.
    pub disks: Vec<(String, f64, Option<f64>, Option<f64>)>,
}

/// A problem with one panel of a fleet (or a warning on its answer), in plain words.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelNote {
    /// "Latency \"Webhook ACK\"".
    pub panel: String,
    pub text: String,
    /// True when the panel has no values this round (the query failed).
    pub failed: bool,
}

impl std::fmt::Display for PanelNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.panel, self.text)
    }
}

/// A sparkline of one instance: (instance key, kind, title, labels).
pub type LineKey = (String, PanelKind, String, String);

/// What the backfill read: per instance key, per sparkline, the points.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Backfill {
    /// (instance key, kind, title, labels) → points (ms, value), oldest first.
    pub lines: Vec<(LineKey, Vec<(i64, f64)>)>,
}

/// One round of one fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetRound {
    pub fleet: usize,
    pub round: u32,
    /// The store's evaluation time of the status query (unix ms).
    pub at_ms: i64,
    /// Why the instances could not be listed this round (every instance keeps its last values).
    pub error: Option<String>,
    pub instances: Vec<InstanceValues>,
    pub notes: Vec<PanelNote>,
    /// Queries sent this round.
    pub queries: u32,
}

/// Sparkline history read by range queries after a round that found new instances.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetBackfill {
    pub fleet: usize,
    pub backfill: Backfill,
    pub queries: u32,
    /// Range queries that failed (the sparklines then start empty).
    pub notes: Vec<PanelNote>,
}

/// `job` + `instance`: how an instance is told apart across rounds.
pub fn instance_key(job: &str, instance: &str) -> String {
    format!("{job}\u{1f}{instance}")
}
