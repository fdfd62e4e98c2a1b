//! The part of the Prometheus query API the demo's history server reads: an instant-vector
//! selector (`name{label="v",label=~"a|b"}`), timestamps (unix seconds or RFC 3339) and
//! durations (seconds or `5s`, `1m30s`). Anything else is refused in plain words, in the
//! shape of Prometheus' own `bad_data` errors.

use super::history::{SeriesMeta, MAX_POINTS};

/// How a matcher compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// `label="value"`.
    Eq(String),
    /// `label=~"a|b|c"`: one of literal alternatives (anchored, as Prometheus anchors
    /// regular expressions); `.` matches any one character.
    Alt(Vec<String>),
}

/// One label matcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Matcher {
    pub(crate) label: String,
    pub(crate) op: Op,
}

impl Matcher {
    pub(crate) fn matches(&self, value: &str) -> bool {
        match &self.op {
            Op::Eq(v) => v == value,
            Op::Alt(alts) => alts.iter().any(|a| alt_matches(a, value)),
        }
    }
}

fn alt_matches(alt: &str, value: &str) -> bool {
    // A `.` stands for any one character; the parser turned escaped dots into `\u{0}.`-free
    // literals by keeping them out of `ANY`.
    let (mut a, mut v) = (alt.chars(), value.chars());
    loop {
        match (a.next(), v.next()) {
            (None, None) => return true,
            (Some(ANY), Some(_)) => {}
            (Some(x), Some(y)) if x == y => {}
            _ => return false,
        }
    }
}

/// Stands for an unescaped `.` inside a parsed alternative (a code point no label value
/// written by a service can hold).
const ANY: char = '\u{FFFF}';

/// All matchers of a selector hold for a series (with its `instance` and `job`).
pub(crate) fn select(matchers: &[Matcher], series: &SeriesMeta, instance: &str, job: &str) -> bool {
    matchers.iter().all(|m| {
        let value = match m.label.as_str() {
            "instance" => instance,
            "job" => job,
            other => series.label(other),
        };
        m.matches(value)
    })
}

/// A parsed `query_range` request, times in unix ms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RangeQuery {
    pub(crate) matchers: Vec<Matcher>,
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) step: i64,
}

/// Reads `query`, `start`, `end` and `step` from a URL's query string.
pub(crate) fn parse_range(query_string: &str) -> Result<RangeQuery, String> {
    let mut params: Vec<(String, String)> = Vec::new();
    for pair in query_string.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        params.push((form_decode(k)?, form_decode(v)?));
    }
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let start = parse_time(get("start").unwrap_or_default()).map_err(|e| param("start", &e))?;
    let end = parse_time(get("end").unwrap_or_default()).map_err(|e| param("end", &e))?;
    if end < start {
        return Err("end timestamp must not be before start time".into());
    }
    let step = parse_step(get("step").unwrap_or_default()).map_err(|e| param("step", &e))?;
    if step <= 0 {
        return Err(
            "zero or negative query resolution step widths are not accepted. Try a positive integer"
                .into(),
        );
    }
    if (end - start) / step > MAX_POINTS {
        return Err("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into());
    }
    let matchers =
        parse_selector(get("query").unwrap_or_default()).map_err(|e| param("query", &e))?;
    Ok(RangeQuery {
        matchers,
        start,
        end,
        step,
    })
}

fn param(name: &str, err: &str) -> String {
    format!("invalid parameter \"{name}\": {err}")
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, then percent escapes.
fn form_decode(s: &str) -> Result<String, String> {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| format!("{s:?} is not UTF-8 once decoded"))
}

/// Unix seconds (`1765062000.5`, to the millisecond) or RFC 3339, as unix ms.
pub(crate) fn parse_time(s: &str) -> Result<i64, String> {
    seconds_or(s, parse_rfc3339, "timestamp")
}

/// Seconds (`5`, `2.5`) or a Prometheus duration (`5s`, `1m30s`, `250ms`), as ms.
pub(crate) fn parse_step(s: &str) -> Result<i64, String> {
    seconds_or(s, parse_duration, "duration")
}

/// `s` as a number of seconds (to the millisecond), else as `other` reads it, in ms; the
/// error, as Prometheus words it, calls it a `what`.
fn seconds_or(s: &str, other: fn(&str) -> Option<i64>, what: &str) -> Result<i64, String> {
    let bad = || format!("cannot parse {s:?} to a valid {what}");
    if let Ok(secs) = s.parse::<f64>() {
        if !secs.is_finite() || secs.abs() > 9.2e15 {
            return Err(bad());
        }
        return Ok((secs * 1000.0).round() as i64);
    }
    other(s).ok_or_else(bad)
}

/// `[0-9]+(ms|s|m|h|d|w|y)` repeated, units from the largest down, each at most once.
fn parse_duration(s: &str) -> Option<i64> {
    const UNITS: [(&str, i64); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    let mut rest = s;
    let mut total: i64 = 0;
    let mut last_unit = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        // "ms" before "m" so the longer unit wins.
        let (i, (unit, ms)) = UNITS
            .iter()
            .enumerate()
            .filter(|(_, (u, _))| rest.starts_with(u))
            .max_by_key(|(_, (u, _))| u.len())?;
        if i < last_unit || (i == last_unit && total > 0) {
            return None;
        }
        last_unit = i;
        total = total.checked_add(n.checked_mul(*ms)?)?;
        rest = &rest[unit.len()..];
    }
    Some(total)
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` as unix ms.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, min, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac_ms = 0;
    if b.get(i) == Some(&b'.') {
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let frac = &s[i + 1..i + 1 + digits];
        let millis = format!("{:0<3}", &frac[..digits.min(3)]);
        frac_ms = millis.parse::<i64>().ok()?;
        i += 1 + digits;
    }
    let offset_s = match &s[i..] {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && tz.as_bytes()[3] == b':' => {
            let sign = match tz.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, m) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    let days = crate::fmt::days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset_s;
    Some(secs * 1000 + frac_ms)
}

/// `name`, `{matchers}` or `name{matchers}`.
pub(crate) fn parse_selector(q: &str) -> Result<Vec<Matcher>, String> {
    let only =
        "only an instant-vector selector such as {__name__=~\"a|b\",instance=\"host:port\"} \
                or name{label=\"value\"} is supported here";
    let mut p = Parser { s: q, i: 0 };
    p.blanks();
    let name = p.ident(true);
    p.blanks();
    let mut matchers = Vec::new();
    if p.eat('{') {
        loop {
            p.blanks();
            if p.eat('}') {
                break;
            }
            let label = p
                .ident(false)
                .ok_or_else(|| format!("expected a label name at character {}; {only}", p.i + 1))?;
            p.blanks();
            let regex = if p.eat_str("=~") {
                true
            } else if p.eat('=') {
                false
            } else {
                let op: String = p.rest().chars().take(2).collect();
                return Err(format!(
                    "unsupported matcher operator {op:?} after {label:?}: only = and =~ are supported"
                ));
            };
            p.blanks();
            let value = p.string()?;
            let op = if regex {
                Op::Alt(alternatives(&value)?)
            } else {
                Op::Eq(value)
            };
            matchers.push(Matcher {
                label: label.to_owned(),
                op,
            });
            p.blanks();
            if p.eat(',') {
                continue;
            }
            if p.eat('}') {
                break;
            }
            return Err(format!(
                "expected , or }} at character {} of the selector",
                p.i + 1
            ));
        }
    } else if name.is_none() {
        return Err(format!("the query is empty or not a selector; {only}"));
    }
    p.blanks();
    if !p.rest().is_empty() {
        return Err(format!(
            "unexpected {:?} after the selector; {only}",
            p.rest().chars().take(20).collect::<String>()
        ));
    }
    if let Some(name) = name {
        if let Some(m) = matchers.iter().find(|m| m.label == "__name__") {
            let other = match &m.op {
                Op::Eq(v) => v.clone(),
                Op::Alt(a) => a.join("|"),
            };
            return Err(format!(
                "metric name must not be set twice: {name:?} or {other:?}"
            ));
        }
        matchers.insert(
            0,
            Matcher {
                label: "__name__".into(),
                op: Op::Eq(name.to_owned()),
            },
        );
    }
    if matchers.iter().all(|m| m.matches("")) {
        return Err("vector selector must contain at least one non-empty matcher".into());
    }
    Ok(matchers)
}

/// The literal alternatives of a `=~` value; refuses regular expressions beyond that.
fn alternatives(re: &str) -> Result<Vec<String>, String> {
    let mut alts = vec![String::new()];
    let mut chars = re.chars();
    while let Some(c) = chars.next() {
        match c {
            '|' => alts.push(String::new()),
            '\\' => match chars.next() {
                Some(e) if e.is_ascii_punctuation() => alts.last_mut().map_or((), |a| a.push(e)),
                other => {
                    return Err(format!(
                        "=~ {re:?}: the escape \\{} is not supported; only alternatives of literal values (a|b|c) are",
                        other.map(String::from).unwrap_or_default()
                    ))
                }
            },
            '.' => alts.last_mut().map_or((), |a| a.push(ANY)),
            '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '^' | '$' => {
                return Err(format!(
                    "=~ {re:?}: {c:?} is a regular-expression operator; only alternatives of literal values (a|b|c) are supported (escape it as \\\\{c} to mean the character)"
                ))
            }
            c => alts.last_mut().map_or((), |a| a.push(c)),
        }
    }
    Ok(alts)
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.i..]
    }

    fn blanks(&mut self) {
        let n = self.rest().len() - self.rest().trim_start().len();
        self.i += n;
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.rest().starts_with(c);
        if hit {
            self.i += c.len_utf8();
        }
        hit
    }

    fn eat_str(&mut self, t: &str) -> bool {
        let hit = self.rest().starts_with(t);
        if hit {
            self.i += t.len();
        }
        hit
    }

    /// A metric name (`colons`: `[a-zA-Z_:][a-zA-Z0-9_:]*`) or a label name.
    fn ident(&mut self, colons: bool) -> Option<&'a str> {
        let rest = self.rest();
        let ok = |c: char, first: bool| {
            c.is_ascii_alphabetic()
                || c == '_'
                || (colons && c == ':')
                || (!first && c.is_ascii_digit())
        };
        let mut end = 0;
        for (i, c) in rest.char_indices() {
            if !ok(c, i == 0) {
                break;
            }
            end = i + c.len_utf8();
        }
        (end > 0).then(|| {
            self.i += end;
            &rest[..end]
        })
    }

    /// A double-quoted string with Go's escapes.
    fn string(&mut self) -> Result<String, String> {
        let at = self.i + 1;
        if !self.eat('"') {
            return Err(format!(
                "expected a double-quoted label value at character {at}"
            ));
        }
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.i += i + 1;
                    return Ok(out);
                }
                '\\' => {
                    let e = chars.next().map(|(_, e)| e);
                    out.push(match e {
                        Some('"') => '"',
                        Some('\\') => '\\',
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('r') => '\r',
                        Some('a') => '\u{7}',
                        Some('b') => '\u{8}',
                        Some('f') => '\u{c}',
                        Some('v') => '\u{b}',
                        other => {
                            return Err(format!(
                                "unknown escape sequence \\{} in the string at character {at}",
                                other.map(String::from).unwrap_or_default()
                            ))
                        }
                    });
                }
                '\n' => return Err(format!("the string at character {at} has a line break")),
                c => out.push(c),
            }
        }
        Err(format!("the string at character {at} is not closed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq(label: &str, v: &str) -> Matcher {
        Matcher {
            label: label.into(),
            op: Op::Eq(v.into()),
        }
    }

    #[test]
    fn selectors_of_both_forms_parse() {
        let m = parse_selector(
            r#"{__name__=~"outbox_backlog|ws_connections", instance="127.0.0.1:9100"}"#,
        )
        .expect("parses");
        assert_eq!(
            m,
            [
                Matcher {
                    label: "__name__".into(),
                    op: Op::Alt(vec!["outbox_backlog".into(), "ws_connections".into()])
                },
                eq("instance", "127.0.0.1:9100"),
            ]
        );
        let m = parse_selector(r#" up { job = "a\"b\\c\n" , } "#).expect("parses");
        assert_eq!(m, [eq("__name__", "up"), eq("job", "a\"b\\c\n")]);
        assert_eq!(
            parse_selector("up").expect("bare name"),
            [eq("__name__", "up")]
        );
        let m = parse_selector(r#"{instance=~"127\\.0\\.0\\.1:1|10.0.0.1:2"}"#).expect("parses");
        assert!(m[0].matches("127.0.0.1:1"));
        assert!(!m[0].matches("127x0.0.1:1"), "an escaped dot is a dot");
        assert!(
            m[0].matches("10x0.0.1:2"),
            "a bare dot is any character, as in a regex"
        );
        assert!(!m[0].matches("127.0.0.1:10"), "anchored");
    }

    #[test]
    fn anything_else_is_refused_in_words() {
        let cases = [
            ("", "empty"),
            ("rate(up[5m])", "unexpected"),
            ("up[5m]", "unexpected"),
            (r#"{job!="a"}"#, "only = and =~"),
            (r#"{job=~"a.*"}"#, "regular-expression operator"),
            (r#"{job=~"\\d"}"#, "escape"),
            (r#"{job="a\q"}"#, "unknown escape"),
            (r"{job='a'}", "double-quoted"),
            (r#"{job="a"#, "not closed"),
            (r#"{job=""}"#, "non-empty matcher"),
            (r#"{job=~"a|"}"#, "non-empty matcher"),
            (r#"up{__name__="x"}"#, "set twice"),
            (r#"{job="a" instance="b"}"#, "expected , or }"),
        ];
        for (q, want) in cases {
            let err = parse_selector(q).expect_err(q);
            assert!(err.contains(want), "{q}: {err}");
        }
    }

    #[test]
    fn times_and_steps_as_prometheus_reads_them() {
        assert_eq!(parse_time("1765062000.5"), Ok(1_765_062_000_500));
        assert_eq!(parse_time("1765062000"), Ok(1_765_062_000_000));
        assert_eq!(parse_time("2025-12-06T23:00:00Z"), Ok(1_765_062_000_000));
        assert_eq!(
            parse_time("2025-12-07T08:00:00.25+09:00"),
            Ok(1_765_062_000_250)
        );
        for bad in [
            "",
            "soon",
            "NaN",
            "inf",
            "2025-12-06",
            "2025-13-06T23:00:00Z",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_step("5"), Ok(5_000));
        assert_eq!(parse_step("2.5"), Ok(2_500));
        assert_eq!(parse_step("5s"), Ok(5_000));
        assert_eq!(parse_step("1m30s"), Ok(90_000));
        assert_eq!(parse_step("250ms"), Ok(250));
        assert_eq!(parse_step("1h"), Ok(3_600_000));
        for bad in ["", "5x", "s", "30s1m", "1m1m", "-5s"] {
            assert!(parse_step(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn range_requests_are_checked_like_prometheus() {
        let q = "query=%7B__name__%3D~%22a%7Cb%22%7D&start=100&end=160&step=5";
        let r = parse_range(q).expect("parses");
        assert_eq!((r.start, r.end, r.step), (100_000, 160_000, 5_000));
        assert_eq!(r.matchers[0].op, Op::Alt(vec!["a".into(), "b".into()]));
        let plus = "query=up+%7Bjob%3D%22x%22%7D&start=1&end=2&step=1";
        assert_eq!(parse_range(plus).expect("a + is a space").matchers.len(), 2);
        let err = |q: &str| parse_range(q).expect_err(q);
        assert_eq!(
            err("query=up&start=10&end=5&step=1"),
            "end timestamp must not be before start time"
        );
        assert!(err("query=up&start=0&end=11001&step=1").starts_with(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
        ));
        assert!(parse_range("query=up&start=0&end=11000&step=1").is_ok());
        assert!(err("query=up&start=0&end=1&step=0").contains("zero or negative"));
        assert!(err("query=up&start=x&end=1&step=1").contains("invalid parameter \"start\""));
        assert!(err("query=up&start=0&end=1&step=x").contains("invalid parameter \"step\""));
        assert!(err("query=sum(up)&start=0&end=1&step=1").contains("invalid parameter \"query\""));
    }
}
