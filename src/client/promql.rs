//! Reading panels from a Prometheus-compatible store (Prometheus, VictoriaMetrics, Thanos,
//! Mimir) through its HTTP API v1, instead of scraping every instance.
//!
//! [`PromClient`] runs instant and range queries and turns the answers into typed series
//! (labels sorted, samples as `(ms, f64)`); [`PromClient::discover`] lists the instances from
//! `up`. The server's `warnings` and `infos` travel with the data (a store that lost a
//! replica or a shard answers with what it has and a warning: the panel is partial), and every
//! failure is an [`ApiError`] in plain words.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::client::api::{ApiClient, ApiError, ApiResponse, ApiSpec};

/// Label names and values, sorted by name.
pub type Labels = BTreeMap<String, String>;

/// One sample: milliseconds since the epoch and the value (NaN and ±Inf included).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub at_ms: i64,
    pub value: f64,
}

/// One series of a vector (one sample) or a matrix (many).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

impl Series {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }

    /// The newest sample's value.
    pub fn last(&self) -> Option<f64> {
        self.samples.last().map(|s| s.value)
    }
}

/// What a query returned.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryData {
    Vector(Vec<Series>),
    Matrix(Vec<Series>),
    Scalar(Sample),
    String { at_ms: i64, value: String },
}

impl QueryData {
    /// The series of a vector or matrix; empty for a scalar or string.
    pub fn series(&self) -> &[Series] {
        match self {
            QueryData::Vector(s) | QueryData::Matrix(s) => s,
            _ => &[],
        }
    }
}

/// A successful answer and what the server said about it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutcome {
    pub data: QueryData,
    /// The server's warnings: the answer may be incomplete (a partial response).
    pub warnings: Vec<String>,
    /// The server's informational notes (Prometheus 2.50+).
    pub infos: Vec<String>,
    /// Native-histogram samples this client does not read yet and skipped.
    pub skipped_histograms: usize,
}

impl QueryOutcome {
    /// True when the server warned that the answer may be incomplete.
    pub fn partial(&self) -> bool {
        !self.warnings.is_empty()
    }

    /// Lines to show under the panel, in plain words.
    pub fn notes(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .warnings
            .iter()
            .map(|w| format!("partial answer: {w}"))
            .collect();
        out.extend(self.infos.iter().map(|i| format!("note: {i}")));
        if self.skipped_histograms > 0 {
            out.push(format!(
                "{} native-histogram samples were skipped (not supported yet)",
                self.skipped_histograms
            ));
        }
        out
    }
}

/// The window and resolution of a range query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start_ms: i64,
    pub end_ms: i64,
    pub step: Duration,
}

/// Which instances discovery keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Label matchers sent to the server inside `up{…}`, e.g. `job=~"api|web"`.
    pub selector: Option<String>,
    /// Kept when the job or the instance contains this text (case-insensitive).
    pub contains: Option<String>,
}

/// One scraped instance, from `up`.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub job: String,
    pub instance: String,
    /// `up == 1`: the store's last scrape of it worked.
    pub up: bool,
    /// All of `up`'s labels (job and instance included).
    pub labels: Labels,
}

/// The instances of one job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobGroup {
    pub job: String,
    pub instances: Vec<Instance>,
}

impl JobGroup {
    pub fn up_count(&self) -> usize {
        self.instances.iter().filter(|i| i.up).count()
    }
}

/// Discovery's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovered {
    /// Sorted by job, then instance.
    pub instances: Vec<Instance>,
    pub warnings: Vec<String>,
}

impl Discovered {
    /// One group per job, in job order.
    pub fn by_job(&self) -> Vec<JobGroup> {
        let mut groups: Vec<JobGroup> = Vec::new();
        for inst in &self.instances {
            match groups.last_mut() {
                Some(g) if g.job == inst.job => g.instances.push(inst.clone()),
                _ => groups.push(JobGroup {
                    job: inst.job.clone(),
                    instances: vec![inst.clone()],
                }),
            }
        }
        groups
    }
}

/// A client of one Prometheus-compatible HTTP API.
#[derive(Debug)]
pub struct PromClient {
    api: ApiClient,
}

impl PromClient {
    pub fn new(spec: &ApiSpec) -> Result<PromClient, ApiError> {
        Ok(PromClient {
            api: ApiClient::new("Prometheus", spec)?,
        })
    }

    /// `GET /api/v1/query`: the value of `query` now, or at `at_ms`.
    pub async fn instant(&self, query: &str, at_ms: Option<i64>) -> Result<QueryOutcome, ApiError> {
        let at = at_ms.map(seconds);
        let mut params = vec![("query", query)];
        if let Some(at) = &at {
            params.push(("time", at.as_str()));
        }
        let response = self
            .api
            .send(Method::GET, "/api/v1/query", &params, None)
            .await?;
        self.outcome(&response)
    }

    /// `GET /api/v1/query_range`: `query` over `range`, for sparklines.
    pub async fn range(&self, query: &str, range: &Range) -> Result<QueryOutcome, ApiError> {
        if range.step.is_zero() || range.end_ms < range.start_ms {
            return Err(ApiError::Invalid {
                service: self.api.service(),
                what: "a range query needs a positive step and an end not before its start".into(),
            });
        }
        let (start, end) = (seconds(range.start_ms), seconds(range.end_ms));
        let step = format!("{}", range.step.as_secs_f64());
        let params = [
            ("query", query),
            ("start", start.as_str()),
            ("end", end.as_str()),
            ("step", step.as_str()),
        ];
        let response = self
            .api
            .send(Method::GET, "/api/v1/query_range", &params, None)
            .await?;
        self.outcome(&response)
    }

    /// The instances the store scrapes, from `up` and its job and instance labels.
    pub async fn discover(&self, filter: &Discovery) -> Result<Discovered, ApiError> {
        let query = match filter.selector.as_deref().map(str::trim) {
            Some(sel) if !sel.is_empty() => format!("up{{{sel}}}"),
            _ => "up".to_owned(),
        };
        let outcome = self.instant(&query, None).await?;
        let needle = filter.contains.as_deref().map(str::to_lowercase);
        let mut instances: Vec<Instance> = outcome
            .data
            .series()
            .iter()
            .map(|s| Instance {
                job: s.label("job").unwrap_or_default().to_owned(),
                instance: s.label("instance").unwrap_or_default().to_owned(),
                up: s.last() == Some(1.0),
                labels: s.labels.clone(),
            })
            .filter(|i| match &needle {
                None => true,
                Some(n) => {
                    i.job.to_lowercase().contains(n) || i.instance.to_lowercase().contains(n)
                }
            })
            .collect();
        instances.sort_by(|a, b| (&a.job, &a.instance).cmp(&(&b.job, &b.instance)));
        Ok(Discovered {
            instances,
            warnings: outcome.warnings,
        })
    }

    fn outcome(&self, response: &ApiResponse) -> Result<QueryOutcome, ApiError> {
        match parse_response(&response.body) {
            Ok(Parsed::Success(outcome)) if (200..300).contains(&response.status) => Ok(outcome),
            Ok(Parsed::Success(_)) => Err(self.api.status_error(response, None)),
            Ok(Parsed::Error { kind, message }) => Err(ApiError::Rejected {
                service: self.api.service(),
                url: response.url.clone(),
                kind: if kind.is_empty() {
                    format!("HTTP {}", response.status)
                } else {
                    kind
                },
                message: self.api.quote(message.as_bytes()),
            }),
            // An error page from a proxy in front of the store, or not the API at all.
            Err(_) if !(200..300).contains(&response.status) => {
                Err(self.api.status_error(response, None))
            }
            Err(what) => Err(self.api.bad_response(response, what)),
        }
    }
}

/// Milliseconds as the API's seconds with a fraction.
fn seconds(ms: i64) -> String {
    // Exact: epoch milliseconds fit f64's 53-bit mantissa, and {:.3} rounds to the nearest.
    format!("{:.3}", ms as f64 / 1000.0)
}

/// A response body, read.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Success(QueryOutcome),
    /// `status: error`, with `errorType` and `error`.
    Error {
        kind: String,
        message: String,
    },
}

/// Reads an API v1 query response body; `Err` says what is wrong with it.
pub fn parse_response(body: &[u8]) -> Result<Parsed, String> {
    let root: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let strings = |key: &str| -> Vec<String> {
        root.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    match root.get("status").and_then(Value::as_str) {
        Some("success") => {}
        Some("error") => {
            return Ok(Parsed::Error {
                kind: root
                    .get("errorType")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                message: root
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("no error text")
                    .to_owned(),
            })
        }
        _ => return Err("no \"status\" of success or error".into()),
    }
    let data = root.get("data").ok_or("no \"data\"")?;
    let result = data.get("result").ok_or("no \"data.result\"")?;
    let mut skipped = 0usize;
    let data = match data.get("resultType").and_then(Value::as_str) {
        Some("vector") => QueryData::Vector(series_list(result, "value", &mut skipped)?),
        Some("matrix") => QueryData::Matrix(series_list(result, "values", &mut skipped)?),
        Some("scalar") => QueryData::Scalar(sample(result)?),
        Some("string") => {
            let pair = result.as_array().filter(|a| a.len() == 2);
            let pair = pair.ok_or("a string result is not [time, \"text\"]")?;
            QueryData::String {
                at_ms: millis(&pair[0])?,
                value: pair[1].as_str().unwrap_or_default().to_owned(),
            }
        }
        other => return Err(format!("unknown resultType {other:?}")),
    };
    Ok(Parsed::Success(QueryOutcome {
        data,
        warnings: strings("warnings"),
        infos: strings("infos"),
        skipped_histograms: skipped,
    }))
}

fn series_list(result: &Value, key: &str, skipped: &mut usize) -> Result<Vec<Series>, String> {
    let items = result.as_array().ok_or("data.result is not a list")?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let labels: Labels = item
            .get("metric")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let samples = match item.get(key) {
            Some(Value::Array(list)) if key == "values" => {
                list.iter().map(sample).collect::<Result<Vec<_>, _>>()?
            }
            Some(v) if key == "value" => vec![sample(v)?],
            _ => Vec::new(),
        };
        // Native histograms come as "histogram"/"histograms"; counted, not read (yet).
        *skipped += item.get("histogram").map_or(0, |_| 1)
            + item
                .get("histograms")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
        if !samples.is_empty() {
            out.push(Series { labels, samples });
        }
    }
    Ok(out)
}

fn sample(v: &Value) -> Result<Sample, String> {
    let pair = v
        .as_array()
        .filter(|a| a.len() == 2)
        .ok_or("a sample is not [time, \"value\"]")?;
    let text = pair[1].as_str().ok_or("a sample value is not a string")?;
    Ok(Sample {
        at_ms: millis(&pair[0])?,
        value: parse_value(text).ok_or_else(|| format!("sample value {text:?} is not a number"))?,
    })
}

fn millis(t: &Value) -> Result<i64, String> {
    t.as_f64()
        .map(|s| (s * 1000.0).round() as i64)
        .ok_or_else(|| "a sample time is not a number".into())
}

/// Prometheus' value strings: decimals, exponents, `NaN`, `+Inf`, `-Inf`.
pub fn parse_value(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        t => t.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> QueryOutcome {
        match parse_response(body.as_bytes()).expect("parses") {
            Parsed::Success(o) => o,
            Parsed::Error { .. } => panic!("not an error"),
        }
    }

    #[test]
    fn vector_values_include_nan_and_infinities() {
        let o = ok(
            r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"job":"a","instance":"x:1"},"value":[1700000000.5,"1.5"]},
            {"metric":{"job":"a","instance":"x:2"},"value":[1700000000.5,"NaN"]},
            {"metric":{"job":"a","instance":"x:3"},"value":[1700000000.5,"+Inf"]},
            {"metric":{},"value":[1700000000.5,"-Inf"]}]}}"#,
        );
        let s = o.data.series();
        assert_eq!(s.len(), 4);
        assert_eq!(
            s[0].samples[0],
            Sample {
                at_ms: 1_700_000_000_500,
                value: 1.5
            }
        );
        assert_eq!(s[0].label("instance"), Some("x:1"));
        assert!(s[1].samples[0].value.is_nan());
        assert_eq!(s[2].last(), Some(f64::INFINITY));
        assert_eq!(s[3].last(), Some(f64::NEG_INFINITY));
        assert!(!o.partial());
    }

    #[test]
    fn matrix_scalar_and_warnings() {
        let o = ok(
            r#"{"status":"success","warnings":["store b unreachable"],"infos":["x"],
            "data":{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[1,"1"],[2,"2e3"]]}]}}"#,
        );
        assert!(
            matches!(&o.data, QueryData::Matrix(s) if s[0].samples.len() == 2 && (s[0].samples[1].value - 2000.0).abs() < 1e-9)
        );
        assert!(o.partial());
        assert_eq!(o.notes()[0], "partial answer: store b unreachable");
        let o = ok(r#"{"status":"success","data":{"resultType":"scalar","result":[3,"7"]}}"#);
        assert_eq!(
            o.data,
            QueryData::Scalar(Sample {
                at_ms: 3000,
                value: 7.0
            })
        );
    }

    #[test]
    fn errors_and_junk() {
        let p =
            parse_response(br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#);
        assert_eq!(
            p,
            Ok(Parsed::Error {
                kind: "bad_data".into(),
                message: "parse error".into()
            })
        );
        assert!(parse_response(b"<html>").is_err());
        assert!(parse_response(br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"x"]}]}}"#).is_err());
    }

    #[test]
    fn seconds_keep_milliseconds() {
        assert_eq!(seconds(1_700_000_000_005), "1700000000.005");
        assert_eq!(seconds(-1), "-0.001");
    }
}
