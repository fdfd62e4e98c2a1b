//! `watchdeck scrape URL|FILE`: every series an endpoint exposes, and every line it got wrong.
//! Our `promtool check metrics`, and the way to ask what an endpoint really says.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::expo::{family_name_for, Format, Lexer, Line, MetricType};
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
                let labels = match labels_map(&s.labels) {
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
