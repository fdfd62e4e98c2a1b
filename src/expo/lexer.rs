//! Line-level lexer for Prometheus text 0.0.4 and OpenMetrics text.
//!
//! ```text
//! # HELP name text            -> Line::Help
//! # TYPE name counter         -> Line::Type
//! # UNIT name seconds         -> Line::Unit
//! # EOF                       -> Line::Eof (OpenMetrics; nothing may follow)
//! name{l="v",...} 1.5 [ts] [# {ex="x"} 0.3 [ts]]   -> Line::Sample
//! ```
//! Everything is borrowed from the body. Timestamps are returned in milliseconds: 0.0.4 writes
//! integer milliseconds, OpenMetrics writes (possibly fractional) seconds.

use std::fmt;

use super::family::MetricType;
use super::labels::RawLabels;

/// Which text format a body is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Prometheus,
    OpenMetrics,
}

impl Format {
    /// From a `Content-Type` header; anything that is not OpenMetrics is read as 0.0.4.
    pub fn from_content_type(ct: Option<&str>) -> Self {
        match ct {
            Some(ct) if ct.trim_start().starts_with("application/openmetrics-text") => {
                Self::OpenMetrics
            }
            _ => Self::Prometheus,
        }
    }

    /// For bodies without a header (files): OpenMetrics if the body ends with `# EOF`.
    pub fn sniff(body: &[u8]) -> Self {
        let trimmed = body.trim_ascii_end();
        if trimmed.ends_with(b"\n# EOF") || trimmed == b"# EOF" {
            Self::OpenMetrics
        } else {
            Self::Prometheus
        }
    }
}

/// An OpenMetrics exemplar attached to a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exemplar<'a> {
    pub labels: RawLabels<'a>,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

/// One sample line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample<'a> {
    pub name: &'a str,
    /// `name{labels}` exactly as written: the identity of the series within one target.
    pub key: &'a [u8],
    pub labels: RawLabels<'a>,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
    pub exemplar: Option<Exemplar<'a>>,
}

/// One meaningful line. Blank lines and plain comments are skipped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Line<'a> {
    Sample(Sample<'a>),
    Type {
        name: &'a str,
        kind: MetricType,
    },
    /// Help text with its escapes (`\\`, `\n`) still in.
    Help {
        name: &'a str,
        text: &'a [u8],
    },
    Unit {
        name: &'a str,
        unit: &'a str,
    },
    Eof,
}

/// A line that could not be read: its number (1-based), why, and the line itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineError<'a> {
    pub line: u32,
    pub reason: &'static str,
    pub text: &'a [u8],
}

impl fmt::Display for LineError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Walks a body line by line.
pub struct Lexer<'a> {
    body: &'a [u8],
    pos: usize,
    line: u32,
    format: Format,
    seen_eof: bool,
}

impl<'a> Lexer<'a> {
    pub fn new(body: &'a [u8], format: Format) -> Self {
        Self {
            body,
            pos: 0,
            line: 0,
            format,
            seen_eof: false,
        }
    }

    /// Treats the body as following an `# EOF` line.
    pub(crate) fn after_eof(&mut self) {
        self.seen_eof = true;
    }

    /// Number of the line last returned (1-based).
    pub fn line_number(&self) -> u32 {
        self.line
    }

    fn take_line(&mut self) -> Option<&'a [u8]> {
        if self.pos >= self.body.len() {
            return None;
        }
        let rest = &self.body[self.pos..];
        let (line, advance) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        self.pos += advance;
        self.line += 1;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Result<Line<'a>, LineError<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let text = self.take_line()?;
            let err = |reason| LineError {
                line: self.line,
                reason,
                text,
            };
            if self.seen_eof {
                if text.trim_ascii().is_empty() {
                    continue;
                }
                return Some(Err(err("content after # EOF")));
            }
            let parsed = match text.first() {
                None => continue,
                Some(b'#') => match comment(text) {
                    Ok(None) => continue,
                    Ok(Some(Line::Eof)) => {
                        self.seen_eof = true;
                        Ok(Line::Eof)
                    }
                    // OpenMetrics: a unit must end the metric's name (Prometheus fails the scrape).
                    Ok(Some(Line::Unit { name, unit }))
                        if !unit.is_empty()
                            && !name.strip_suffix(unit).is_some_and(|n| n.ends_with('_')) =>
                    {
                        Err(err("the metric name must end with _<unit> (OpenMetrics)"))
                    }
                    Ok(Some(line)) => Ok(line),
                    Err(reason) => Err(err(reason)),
                },
                Some(b' ' | b'\t') if text.trim_ascii().is_empty() => continue,
                Some(_) => sample(text, self.format).map(Line::Sample).map_err(err),
            };
            return Some(parsed);
        }
    }
}

pub(crate) static NAME_START: [bool; 256] = table(true);
static NAME_CHAR: [bool; 256] = table(false);

const fn table(start: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphabetic() || b == b'_' || b == b':' || (!start && b.is_ascii_digit());
        c += 1;
    }
    t
}

/// Length of the metric name at the start of `b` (0 when there is none).
pub(crate) fn name_len(b: &[u8]) -> usize {
    match b.first() {
        Some(c) if NAME_START[*c as usize] => {
            1 + b[1..]
                .iter()
                .take_while(|c| NAME_CHAR[**c as usize])
                .count()
        }
        _ => 0,
    }
}

fn as_name(b: &[u8]) -> Option<&str> {
    (name_len(b) == b.len() && !b.is_empty())
        .then(|| std::str::from_utf8(b).ok())
        .flatten()
}

fn blanks(b: &[u8]) -> usize {
    b.iter().take_while(|c| **c == b' ' || **c == b'\t').count()
}

/// `# HELP`, `# TYPE`, `# UNIT`, `# EOF`, or a plain comment (`Ok(None)`).
fn comment(text: &[u8]) -> Result<Option<Line<'_>>, &'static str> {
    let rest = &text[1..];
    let rest = &rest[blanks(rest)..];
    let (word, rest) = split_word(rest);
    let rest = &rest[blanks(rest)..];
    match word {
        b"EOF" if rest.is_empty() => Ok(Some(Line::Eof)),
        // A bare "# HELP" is a plain comment to Prometheus.
        b"HELP" | b"TYPE" | b"UNIT" if rest.is_empty() => Ok(None),
        b"HELP" | b"TYPE" | b"UNIT" => {
            let (name, rest) = split_word(rest);
            let Some(name) = as_name(name) else {
                // "# HELP" followed by something that is not a name is just a comment in 0.0.4.
                return Err("metadata line without a valid metric name");
            };
            let arg = rest.get(blanks(rest)..).unwrap_or_default();
            match word {
                b"HELP" => Ok(Some(Line::Help { name, text: arg })),
                b"TYPE" => std::str::from_utf8(arg.trim_ascii_end())
                    .ok()
                    .and_then(MetricType::parse)
                    .map(|kind| Some(Line::Type { name, kind }))
                    .ok_or("unknown metric type in # TYPE"),
                _ => std::str::from_utf8(arg.trim_ascii_end())
                    .map(|unit| Some(Line::Unit { name, unit }))
                    .map_err(|_| "unit is not valid UTF-8"),
            }
        }
        _ => Ok(None),
    }
}

fn split_word(b: &[u8]) -> (&[u8], &[u8]) {
    let n = b.iter().take_while(|c| **c != b' ' && **c != b'\t').count();
    (&b[..n], &b[n..])
}

/// Index of the `}` that closes the label set opened at `b[0] == b'{'`, skipping quoted values.
fn label_block_end(b: &[u8]) -> Result<usize, &'static str> {
    let mut i = 1;
    loop {
        match memchr::memchr2(b'"', b'}', &b[i..]) {
            None => return Err("label set has no closing '}'"),
            Some(j) if b[i + j] == b'}' => return Ok(i + j),
            Some(j) => {
                i += j + 1;
                loop {
                    match memchr::memchr2(b'"', b'\\', &b[i..]) {
                        None => return Err("label value has no closing quote"),
                        Some(k) if b[i + k] == b'\\' => i += k + 2,
                        Some(k) => {
                            i += k + 1;
                            break;
                        }
                    }
                    if i > b.len() {
                        return Err("label value has no closing quote");
                    }
                }
            }
        }
    }
}

fn parse_value(tok: &[u8]) -> Result<f64, &'static str> {
    // Most values are small non-negative integers (counters, bucket counts): exact in f64 up to
    // 15 digits, and much cheaper than the general float parser.
    if !tok.is_empty() && tok.len() <= 15 && tok.iter().all(u8::is_ascii_digit) {
        let mut v: u64 = 0;
        for &c in tok {
            v = v * 10 + u64::from(c - b'0');
        }
        return Ok(v as f64);
    }
    // Go's ParseFloat (which Prometheus uses) and Rust's parser agree on decimal, exponent,
    // NaN and ±Inf spellings; both accept "Inf" and "+Inf" case-insensitively. Prometheus
    // refuses `p` and `_` (hex floats, digit separators) before calling it.
    // Go takes a sign before Inf only: "-nan" is not a number to Prometheus.
    if tok.len() > 1 && matches!(tok[0], b'+' | b'-') && matches!(tok[1], b'n' | b'N') {
        return Err("value is not a number (NaN takes no sign)");
    }
    std::str::from_utf8(tok)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .ok_or("value is not a number")
}

fn parse_timestamp(tok: &[u8], format: Format) -> Result<i64, &'static str> {
    match format {
        // Prometheus's lexer takes only digits here: no sign.
        Format::Prometheus if tok.iter().all(u8::is_ascii_digit) => {
            parse_int(tok).ok_or("timestamp is not an integer (milliseconds)")
        }
        Format::Prometheus => Err("timestamp is not an integer (milliseconds)"),
        Format::OpenMetrics => {
            if let Some(secs) = parse_int(tok) {
                return secs.checked_mul(1000).ok_or("timestamp out of range");
            }
            let secs = parse_value(tok).map_err(|_| "timestamp is not a number (seconds)")?;
            if secs.is_finite() && secs.abs() < 9.2e15 {
                Ok((secs * 1000.0).round() as i64)
            } else {
                Err("timestamp out of range")
            }
        }
    }
}

fn parse_int(tok: &[u8]) -> Option<i64> {
    let (neg, digits) = match tok.first()? {
        b'-' => (true, &tok[1..]),
        b'+' => (false, &tok[1..]),
        _ => (false, tok),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(if neg { -v } else { v })
}

/// `name{labels} value [timestamp] [# {labels} value [timestamp]]`
fn sample(text: &[u8], format: Format) -> Result<Sample<'_>, &'static str> {
    let n = name_len(text);
    if n == 0 {
        return Err("metric name must start with a letter, '_' or ':'");
    }
    // Prometheus's text parser skips blanks between any two tokens: `name {l = "v" , }`.
    let brace = match format {
        Format::Prometheus => n + blanks(&text[n..]),
        Format::OpenMetrics => n,
    };
    let (key_end, labels) = if text.get(brace) == Some(&b'{') {
        let close = brace + label_block_end(&text[brace..])?;
        (close + 1, RawLabels::new(&text[brace + 1..close]))
    } else {
        (n, RawLabels::default())
    };
    let name = std::str::from_utf8(&text[..n]).map_err(|_| "metric name is not ASCII")?;
    let (value, timestamp_ms, exemplar) = sample_tail(&text[key_end..], format)?;
    Ok(Sample {
        name,
        key: &text[..key_end],
        labels,
        value,
        timestamp_ms,
        exemplar,
    })
}

/// What follows the key: ` value [timestamp] [# exemplar]`.
pub(crate) fn sample_tail(
    rest: &[u8],
    format: Format,
) -> Result<(f64, Option<i64>, Option<Exemplar<'_>>), &'static str> {
    let sp = blanks(rest);
    // Prometheus's lexer starts the value at the first byte that is not a blank or `{`, so
    // `name{l="v"}1` is a sample in 0.0.4 (OpenMetrics wants exactly one space).
    let glued = format == Format::Prometheus && !rest.is_empty() && rest[0] != b'{';
    if sp == 0 && !glued {
        return Err(if rest.is_empty() {
            "sample has no value"
        } else {
            "expected a space after the metric name or labels"
        });
    }
    let (value_tok, rest) = split_word(&rest[sp..]);
    if value_tok.is_empty() {
        return Err("sample has no value");
    }
    let value = parse_value(value_tok)?;
    let (timestamp_ms, rest) = optional_timestamp(rest, format)?;
    let exemplar = if rest.is_empty() {
        None
    } else if format == Format::Prometheus && rest[0] == b'#' {
        return Err(
            "exemplars are OpenMetrics only; Prometheus text 0.0.4 fails the scrape on one",
        );
    } else if let Some(ex) = rest.strip_prefix(b"#") {
        Some(exemplar(ex, format)?)
    } else {
        return Err("unexpected text after the value");
    };
    Ok((value, timestamp_ms, exemplar))
}

/// After a value: blanks, then an optional timestamp, then blanks. Returns what follows.
fn optional_timestamp(rest: &[u8], format: Format) -> Result<(Option<i64>, &[u8]), &'static str> {
    let rest = &rest[blanks(rest)..];
    if rest.is_empty() || rest[0] == b'#' {
        return Ok((None, rest));
    }
    let (tok, after) = split_word(rest);
    let ts = parse_timestamp(tok, format)?;
    Ok((Some(ts), &after[blanks(after)..]))
}

/// The key of a series spelled the one way the index stores it: no blanks outside quoted
/// values, no trailing comma, no empty braces, a comma between pairs. `None` when `key` is
/// already spelled so. Values keep their bytes (escapes as written).
pub(crate) fn canonical_key(key: &[u8]) -> Option<Vec<u8>> {
    let n = name_len(key);
    let brace = n + blanks(&key[n..]);
    if key.get(brace) != Some(&b'{') {
        return (brace != key.len() || n != key.len()).then(|| key[..n].to_vec());
    }
    let mut out = Vec::with_capacity(key.len());
    out.extend_from_slice(&key[..n]);
    out.push(b'{');
    let mut i = brace + 1;
    let mut pairs = 0;
    loop {
        i += blanks(&key[i..]);
        match key.get(i) {
            None => return None,
            Some(b'}') => break,
            Some(b',') => {
                i += 1;
                continue;
            }
            Some(_) => {}
        }
        if pairs > 0 {
            out.push(b',');
        }
        // name
        let start = i;
        while key.get(i).is_some_and(|c| super::labels::is_label_char(*c)) {
            i += 1;
        }
        out.extend_from_slice(&key[start..i]);
        i += blanks(&key[i..]);
        if key.get(i) != Some(&b'=') {
            return None;
        }
        out.push(b'=');
        i += 1;
        i += blanks(&key[i..]);
        if key.get(i) != Some(&b'"') {
            return None;
        }
        let start = i;
        i += 1;
        loop {
            match key.get(i) {
                None => return None,
                Some(b'\\') => i += 2,
                Some(b'"') => {
                    i += 1;
                    break;
                }
                Some(_) => i += 1,
            }
        }
        out.extend_from_slice(key.get(start..i)?);
        pairs += 1;
    }
    if pairs == 0 {
        out.pop();
    } else {
        out.push(b'}');
    }
    (out != key).then_some(out)
}

fn exemplar(b: &[u8], format: Format) -> Result<Exemplar<'_>, &'static str> {
    let b = &b[blanks(b)..];
    if b.first() != Some(&b'{') {
        return Err("exemplar must start with a label set");
    }
    let close = label_block_end(b)?;
    let labels = RawLabels::new(&b[1..close]);
    let rest = &b[close + 1..];
    let sp = blanks(rest);
    let (tok, rest) = split_word(&rest[sp..]);
    if sp == 0 || tok.is_empty() {
        return Err("exemplar has no value");
    }
    let value = parse_value(tok).map_err(|_| "exemplar value is not a number")?;
    let (timestamp_ms, rest) = optional_timestamp(rest, format)?;
    if !rest.is_empty() {
        return Err("unexpected text after the exemplar");
    }
    if labels.iter().any(|r| r.is_err()) {
        return Err("exemplar labels are malformed");
    }
    Ok(Exemplar {
        labels,
        value,
        timestamp_ms,
    })
}

#[cfg(test)]
mod canonical_tests {
    use super::canonical_key;
    use crate::expo::{Format, SeriesIndex};

    #[test]
    fn one_spelling_per_series() {
        let c =
            |k: &str| canonical_key(k.as_bytes()).map(|v| String::from_utf8_lossy(&v).into_owned());
        assert_eq!(c(r#"a{x="1"}"#), None);
        assert_eq!(c(r#"a {x="1"}"#).as_deref(), Some(r#"a{x="1"}"#));
        assert_eq!(
            c(r#"a{ x = "1" , y="a b" , }"#).as_deref(),
            Some(r#"a{x="1",y="a b"}"#)
        );
        assert_eq!(c(r#"a{x="1" y="2"}"#).as_deref(), Some(r#"a{x="1",y="2"}"#));
        assert_eq!(c("a{}").as_deref(), Some("a"));
        assert_eq!(c(r#"a{x="q\" }"}"#), None);
    }

    #[test]
    fn the_index_keeps_the_first_of_two_spellings_and_reports_the_second() {
        let mut idx = SeriesIndex::default();
        let r = idx.ingest(b"a{x=\"1\"} 1\na{ x = \"1\" } 2\n", Format::Prometheus, 0);
        assert_eq!(idx.len(), 1);
        assert_eq!(idx.iter().next().map(|v| v.value), Some(1.0));
        assert_eq!(r.malformed_count, 1, "{r:?}");
        // A later scrape in the other spelling updates the same series.
        let r = idx.ingest(b"a{ x = \"1\" } 3\n", Format::Prometheus, 1000);
        assert_eq!((idx.len(), r.malformed_count), (1, 0));
        assert_eq!(idx.iter().next().map(|v| v.value), Some(3.0));
    }
}
