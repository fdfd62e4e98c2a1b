//! `watchdeck scrape URL|FILE`: every series an endpoint exposes, and every line it got wrong.
//! Our `promtool check metrics`, and the way to ask what an endpoint really says.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::expo::{family_name_for, Format, IndexLimits, Lexer, Line, MetricType};
use crate::text::printable_excerpt;

#[derive(Debug, Clone, Serialize)]
pub struct ScrapedSample {
    pub family: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// A number, or "NaN" / "+Inf" / "-Inf" (JSON has no such numbers).
    pub value: Value,
    pub timestamp_ms: Option<i64>,
    pub exemplar: Option<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MalformedLine {
    pub line: u32,
    pub reason: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScrapeListing {
    pub source: String,
    pub format: &'static str,
    pub bytes: usize,
    pub samples: Vec<ScrapedSample>,
    pub malformed: Vec<MalformedLine>,
}

fn value_json(v: f64) -> Value {
    if v.is_nan() {
        Value::String("NaN".into())
    } else if v.is_infinite() {
        Value::String(if v > 0.0 { "+Inf" } else { "-Inf" }.into())
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

fn labels_map(raw: &crate::expo::RawLabels<'_>) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for pair in raw {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        if out.insert(k.to_owned(), v.into_owned()).is_some() {
            return Err(format!("duplicate label name {k:?}"));
        }
    }
    Ok(out)
}

/// Lists a body the way the index would read it.
pub fn list(source: &str, body: &[u8], format: Format) -> ScrapeListing {
    let mut samples = Vec::new();
    let mut malformed = Vec::new();
    let mut kinds: BTreeMap<String, MetricType> = BTreeMap::new();
    let mut current: Option<(String, MetricType)> = None;
    let limits = IndexLimits::default();
    // Each series once, by what Prometheus calls a series: the name and the labels that have
    // a value, in any order and spelling. The first sample wins, as in Prometheus.
    let mut seen: std::collections::HashMap<(String, BTreeMap<String, String>), u32> =
        std::collections::HashMap::new();
    let mut lexer = Lexer::new(body, format);
    while let Some(item) = lexer.next() {
        let line = lexer.line_number();
        match item {
            Ok(Line::Type { name, kind }) => {
                kinds.insert(name.to_owned(), kind);
                current = Some((name.to_owned(), kind));
            }
            Ok(Line::Help { name, .. } | Line::Unit { name, .. }) => {
                let kind = kinds.get(name).copied().unwrap_or(MetricType::Unknown);
                current = Some((name.to_owned(), kind));
            }
            Ok(Line::Eof) => {}
            Ok(Line::Sample(s)) => {
                // The index's limits: a sample the engine would refuse is flagged here too.
                let checked = s
                    .labels
                    .validate(limits.max_labels, limits.max_label_length)
                    .and_then(|_| labels_map(&s.labels));
                let labels = match checked {
                    Ok(l) => l,
                    Err(reason) => {
                        malformed.push(MalformedLine {
                            line,
                            reason,
                            text: printable_excerpt(s.key, 200),
                        });
                        continue;
                    }
                };
                let (family, kind) = match &current {
                    Some((f, k)) if family_name_for(s.name, f, *k).is_some() => (f.clone(), *k),
                    _ => (
                        s.name.to_owned(),
                        kinds.get(s.name).copied().unwrap_or(MetricType::Unknown),
                    ),
                };
                let identity: BTreeMap<String, String> = labels
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if let Some(first) = seen.get(&(s.name.to_owned(), identity.clone())) {
                    malformed.push(MalformedLine {
                        line,
                        reason: format!(
                            "the same series appears twice in one scrape (first on line {first}); \
                             Prometheus keeps the first sample"
                        ),
                        text: printable_excerpt(s.key, 200),
                    });
                    continue;
                }
                seen.insert((s.name.to_owned(), identity), line);
                let exemplar = s.exemplar.map(|e| {
                    serde_json::json!({
                        "labels": labels_map(&e.labels).unwrap_or_default(),
                        "value": value_json(e.value),
                        "timestamp_ms": e.timestamp_ms,
                    })
                });
                samples.push(ScrapedSample {
                    family,
                    kind: kind.as_str(),
                    name: s.name.to_owned(),
                    labels,
                    value: value_json(s.value),
                    timestamp_ms: s.timestamp_ms,
                    exemplar,
                });
            }
            Err(e) => malformed.push(MalformedLine {
                line: e.line,
                reason: e.reason.to_owned(),
                text: printable_excerpt(e.text, 200),
            }),
        }
    }
    malformed.extend(framing(body, format));
    malformed.sort_by_key(|m| m.line);
    ScrapeListing {
        source: source.to_owned(),
        format: match format {
            Format::Prometheus => "prometheus-text-0.0.4",
            Format::OpenMetrics => "openmetrics-text-1.0.0",
        },
        bytes: body.len(),
        samples,
        malformed,
    }
}

/// What Prometheus fails a whole scrape on although each line reads well: CRLF line endings
/// (its lexer takes the `\r` into the value) and an OpenMetrics body without `# EOF`. The
/// samples are still listed; the lines are flagged.
fn framing(body: &[u8], format: Format) -> Vec<MalformedLine> {
    let mut out = Vec::new();
    let mut line = 0u32;
    for text in body.split(|b| *b == b'\n') {
        line += 1;
        let comment = text.first() == Some(&b'#') && !text.starts_with(b"# TYPE");
        if text.ends_with(b"\r") && !comment {
            out.push(MalformedLine {
                line,
                reason: "line ends with \\r (CRLF): Prometheus fails the whole scrape on it — \
                         end lines with \\n alone"
                    .to_owned(),
                text: printable_excerpt(text, 200),
            });
        }
    }
    if format == Format::OpenMetrics {
        let trimmed = body.trim_ascii_end();
        if !(trimmed.ends_with(b"\n# EOF") || trimmed == b"# EOF") {
            out.push(MalformedLine {
                line,
                reason: "OpenMetrics requires a last line \"# EOF\"; Prometheus fails the scrape \
                         without it"
                    .to_owned(),
                text: String::new(),
            });
        }
    }
    out
}

/// One line a sample, grouped under family headers, then the malformed lines.
pub fn render_text(l: &ScrapeListing) -> String {
    let mut o = String::new();
    let mut family = None;
    for s in &l.samples {
        if family != Some(&s.family) {
            let _ = writeln!(o, "# {} ({})", s.family, s.kind);
            family = Some(&s.family);
        }
        let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        let value = match &s.value {
            Value::String(v) => v.clone(),
            v => v.to_string(),
        };
        let ts = s
            .timestamp_ms
            .map(|t| format!("  @{t}"))
            .unwrap_or_default();
        let ex = s
            .exemplar
            .as_ref()
            .map(|e| format!("  exemplar {e}"))
            .unwrap_or_default();
        let _ = writeln!(o, "{} {{{}}} {value}{ts}{ex}", s.name, labels.join(", "));
    }
    for m in &l.malformed {
        let _ = writeln!(o, "malformed line {}: {} — {}", m.line, m.reason, m.text);
    }
    let families: std::collections::BTreeSet<&str> =
        l.samples.iter().map(|s| s.family.as_str()).collect();
    let _ = writeln!(
        o,
        "{}: {} bytes, {}, {} samples in {} families, {} malformed lines",
        l.source,
        l.bytes,
        l.format,
        l.samples.len(),
        families.len(),
        l.malformed.len()
    );
    o
}
