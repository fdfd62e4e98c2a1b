//! Turns a health endpoint's answer into a [`HealthReport`].
//!
//! Understood shapes (see notes/metrics.md):
//! - mail / community-node: `{"status":"healthy","checks":{"database":{"status":"healthy","latency_ms":5}}}`;
//!   extra scalar fields of a check (`"length":42`) become its `detail`;
//! - `NestJS` Terminus: `{"status":"error","info":{..},"error":{..},"details":{..}}`
//!   with `"status":"up"|"down"` and an optional `message` per dependency;
//! - a `checks` *array* of `{"name":..,"status":..}` (`MicroProfile` style);
//! - anything else, plain text included, is kept as a short `message`.
//!
//! The body may come from a hostile server, so it is read with bounded
//! memory: JSON is walked with serde visitors that keep at most
//! [`MAX_CHECKS`] checks (failing ones first) and skip everything they do not
//! need, instead of building a whole `serde_json::Value` tree.

use std::fmt::{self, Write as _};

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

pub use crate::obs::health::{HealthCheck, HealthReport};
use crate::text::{plain_text, truncate_chars};

/// At most this many checks are kept in a report; the rest are counted.
pub const MAX_CHECKS: usize = 64;
/// Longest `message` kept, in characters.
pub const MAX_MESSAGE_CHARS: usize = 200;
const MAX_NAME_CHARS: usize = 64;
const MAX_STATUS_CHARS: usize = 64;
/// Extra fields of one check shown in its detail ("length=42").
const MAX_EXTRA_FIELDS: usize = 8;
const MAX_EXTRA_VALUE_CHARS: usize = 60;

/// Whether a status word means healthy: healthy, ok, up, pass or true (any case).
pub fn is_healthy_word(word: &str) -> bool {
    let word = word.trim();
    ["healthy", "ok", "up", "pass", "true"]
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w))
}

/// Reads a health answer. Never fails: whatever the body, the status code
/// alone still gives a verdict.
pub fn parse_health(status: u16, content_type: Option<&str>, body: &[u8]) -> HealthReport {
    let status_ok = (200..300).contains(&status);
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    let trimmed = body.trim_ascii_start();
    let says_json = content_type.is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));

    if trimmed.first() == Some(&b'{') || says_json {
        let mut de = serde_json::Deserializer::from_slice(body);
        let parsed = de
            .deserialize_any(DocVisitor)
            .and_then(|doc| de.end().map(|()| doc));
        match parsed {
            Ok(doc) => return doc.into_report(status),
            Err(err) => {
                let text = plain_text(body, MAX_MESSAGE_CHARS);
                let message = if text.is_empty() {
                    format!("invalid JSON health body ({err})")
                } else {
                    format!("invalid JSON: {text}")
                };
                return HealthReport {
                    status_code: status,
                    healthy: status_ok,
                    overall: None,
                    checks: Vec::new(),
                    message: Some(truncate_chars(&message, MAX_MESSAGE_CHARS)),
                };
            }
        }
    }

    let text = plain_text(body, MAX_MESSAGE_CHARS);
    HealthReport {
        status_code: status,
        healthy: status_ok,
        overall: None,
        checks: Vec::new(),
        message: (!text.is_empty()).then_some(text),
    }
}

/// The parts of a health document we use.
#[derive(Default)]
struct Doc {
    status: Option<String>,
    checks: Checks,
    info: Checks,
    error: Checks,
    details: Checks,
    message: Option<String>,
}

impl Doc {
    fn into_report(self, status_code: u16) -> HealthReport {
        // Terminus repeats info + error inside details; prefer the union it gives.
        let checks = if self.details.seen > 0 {
            self.details
        } else if self.checks.seen > 0 {
            self.checks
        } else {
            self.info.merge(self.error)
        };
        let overall = self.status.map(|s| clean(&s, MAX_STATUS_CHARS));
        let overall_ok = overall.as_deref().is_none_or(is_healthy_word);
        let healthy = (200..300).contains(&status_code)
            && overall_ok
            && checks.unhealthy_dropped == 0
            && checks.kept.iter().all(|(_, c)| c.healthy);

        let mut notes = Vec::new();
        if let Some(m) = self.message.filter(|m| !m.is_empty()) {
            notes.push(m);
        }
        if checks.seen > checks.kept.len() {
            let mut note = format!(
                "the service reported {} checks; only {} are kept (failing ones first)",
                checks.seen,
                checks.kept.len()
            );
            if checks.unhealthy_dropped > 0 {
                let _ = write!(
                    note,
                    ", {} more failing not shown",
                    checks.unhealthy_dropped
                );
            }
            notes.push(note);
        }
        let message =
            (!notes.is_empty()).then(|| truncate_chars(&notes.join("; "), MAX_MESSAGE_CHARS));

        HealthReport {
            status_code,
            healthy,
            overall,
            checks: checks.into_sorted(),
            message,
        }
    }
}

/// A bounded set of checks: at most [`MAX_CHECKS`], preferring failing ones,
/// remembering the original order.
#[derive(Default)]
struct Checks {
    kept: Vec<(usize, HealthCheck)>,
    seen: usize,
    unhealthy_dropped: usize,
}

impl Checks {
    fn push(&mut self, check: HealthCheck) {
        let index = self.seen;
        self.seen += 1;
        if self.kept.len() < MAX_CHECKS {
            self.kept.push((index, check));
            return;
        }
        if check.healthy {
            return;
        }
        // Full: a failing check takes the place of the last healthy one kept.
        match self.kept.iter().rposition(|(_, c)| c.healthy) {
            Some(slot) => self.kept[slot] = (index, check),
            None => self.unhealthy_dropped += 1,
        }
    }

    fn merge(mut self, other: Checks) -> Checks {
        let offset = self.seen;
        for (index, check) in other.kept {
            let index = index + offset;
            if self.kept.len() < MAX_CHECKS {
                self.kept.push((index, check));
            } else if !check.healthy {
                self.unhealthy_dropped += 1;
            }
        }
        self.seen += other.seen;
        self.unhealthy_dropped += other.unhealthy_dropped;
        self
    }

    fn into_sorted(mut self) -> Vec<HealthCheck> {
        self.kept.sort_by_key(|(index, _)| *index);
        self.kept.into_iter().map(|(_, c)| c).collect()
    }
}

/// A check as written, before it is named and judged.
#[derive(Default)]
struct RawCheck {
    name: Option<String>,
    status: Option<String>,
    latency_ms: Option<f64>,
    message: Option<String>,
    extras: Vec<String>,
}

impl RawCheck {
    fn into_check(self, key: Option<String>) -> HealthCheck {
        let name = key.or(self.name).unwrap_or_else(|| "unnamed".into());
        let status = self.status.unwrap_or_else(|| "unknown".into());
        let mut detail = Vec::new();
        if let Some(m) = self.message.filter(|m| !m.is_empty()) {
            detail.push(m);
        }
        if !self.extras.is_empty() {
            detail.push(self.extras.join(", "));
        }
        // Judge the word the operator will see.
        let status = clean(&status, MAX_STATUS_CHARS);
        HealthCheck {
            name: clean(&name, MAX_NAME_CHARS),
            healthy: is_healthy_word(&status),
            status,
            latency_ms: self.latency_ms,
            detail: (!detail.is_empty())
                .then(|| truncate_chars(&detail.join("; "), MAX_MESSAGE_CHARS)),
        }
    }
}

fn clean(text: &str, max: usize) -> String {
    plain_text(text.as_bytes(), max)
}

/// A JSON scalar as short text; objects and arrays are skipped.
enum Scalar {
    Text(String),
    Number(f64),
    Other,
}

impl Scalar {
    fn text(self) -> Option<String> {
        match self {
            Scalar::Text(s) => Some(s),
            Scalar::Number(n) => Some(n.to_string()),
            Scalar::Other => None,
        }
    }
}

/// Implements the scalar `visit_*` methods of a lenient visitor: a value of an
/// unexpected kind is skipped instead of failing the whole document. With `arrays_skipped`,
/// `visit_seq` too: an array is read past and counts as `Scalar::Other`.
macro_rules! lenient_scalars {
    ($value:ty, $from:expr) => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<$value, E> {
            Ok($from(Scalar::Text(v.to_string())))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<$value, E> {
            Ok($from(Scalar::Number(v as f64)))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<$value, E> {
            Ok($from(Scalar::Number(v as f64)))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<$value, E> {
            Ok($from(Scalar::Number(v)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<$value, E> {
            Ok($from(Scalar::Text(truncate_chars(v, MAX_MESSAGE_CHARS))))
        }
        fn visit_unit<E: de::Error>(self) -> Result<$value, E> {
            Ok($from(Scalar::Other))
        }
    };
    ($value:ty, $from:expr, arrays_skipped) => {
        lenient_scalars!($value, $from);
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<$value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($from(Scalar::Other))
        }
    };
}

crate::text::deserialize_any_with!(Scalar, ScalarVisitor);

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    lenient_scalars!(Scalar, |s| s, arrays_skipped);
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
}

struct DocVisitor;

impl<'de> Visitor<'de> for DocVisitor {
    type Value = Doc;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    // A bare JSON scalar ("ok", true) is read as the overall status.
    lenient_scalars!(
        Doc,
        |s: Scalar| Doc {
            status: s.text(),
            ..Doc::default()
        },
        arrays_skipped
    );
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Doc, A::Error> {
        let mut doc = Doc::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "status" => doc.status = map.next_value::<Scalar>()?.text(),
                "checks" => map.next_value_seed(ChecksSeed(&mut doc.checks))?,
                "info" => map.next_value_seed(ChecksSeed(&mut doc.info))?,
                "details" => map.next_value_seed(ChecksSeed(&mut doc.details))?,
                // Terminus puts failed checks here; other services a plain string.
                "error" => {
                    if let Some(m) = map.next_value_seed(MessageOrChecks(&mut doc.error))? {
                        doc.message.get_or_insert(m);
                    }
                }
                "message" | "output" | "description" => {
                    if let Some(m) = map.next_value::<Scalar>()?.text() {
                        doc.message = Some(clean(&m, MAX_MESSAGE_CHARS));
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(doc)
    }
}

/// Reads `checks`/`info`/`details`: an object of name → check, or an array of checks.
struct ChecksSeed<'a>(&'a mut Checks);

impl<'de> de::DeserializeSeed<'de> for ChecksSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ChecksSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or array of checks")
    }
    lenient_scalars!((), |_s: Scalar| ());
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Each entry is parsed and judged, then kept or counted, so that memory
        // stays bounded however many checks the body lists.
        while let Some(name) = map.next_key::<String>()? {
            let raw = map.next_value::<RawCheck>()?;
            self.0
                .push(raw.into_check(Some(truncate_chars(&name, MAX_NAME_CHARS))));
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<RawCheck>()? {
            let name = raw.name.clone();
            self.0.push(raw.into_check(name));
        }
        Ok(())
    }
}

/// The top-level `error` field: Terminus' object of failed checks, or a message.
struct MessageOrChecks<'a>(&'a mut Checks);

impl<'de> de::DeserializeSeed<'de> for MessageOrChecks<'_> {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MessageOrChecks<'_> {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an error message or an object of failed checks")
    }
    lenient_scalars!(Option<String>, |s: Scalar| match s {
        Scalar::Text(t) => Some(clean(&t, MAX_MESSAGE_CHARS)),
        _ => None,
    });
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<String>, A::Error> {
        ChecksSeed(self.0).visit_map(map).map(|()| None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<String>, A::Error> {
        ChecksSeed(self.0).visit_seq(seq).map(|()| None)
    }
}

crate::text::deserialize_any_with!(RawCheck, RawCheckVisitor);

impl<'de> Visitor<'de> for RawCheckVisitor {
    type Value = RawCheck;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a check object or status")
    }
    // `"database": "ok"` or `"database": true` is a check with just a status.
    lenient_scalars!(
        RawCheck,
        |s: Scalar| RawCheck {
            status: s.text(),
            ..RawCheck::default()
        },
        arrays_skipped
    );
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawCheck, A::Error> {
        let mut raw = RawCheck::default();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<Scalar>()?;
            match (key.as_str(), value) {
                ("status", v) => raw.status = v.text(),
                ("name", v) => raw.name = v.text(),
                ("latency_ms" | "latencyMs", Scalar::Number(n)) => raw.latency_ms = Some(n),
                ("message" | "error" | "detail" | "output", Scalar::Text(t)) => {
                    raw.message = Some(clean(&t, MAX_MESSAGE_CHARS));
                }
                (_, Scalar::Other) => {}
                (_, v) => {
                    if raw.extras.len() < MAX_EXTRA_FIELDS {
                        if let Some(text) = v.text() {
                            let key = clean(&key, MAX_NAME_CHARS);
                            let text = clean(&text, MAX_EXTRA_VALUE_CHARS);
                            raw.extras.push(format!("{key}={text}"));
                        }
                    }
                }
            }
        }
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<'a>(report: &'a HealthReport, name: &str) -> &'a HealthCheck {
        report
            .checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no check {name} in {report:?}"))
    }

    #[test]
    fn mail_shape_healthy_with_details() {
        let body = br#"{"status":"healthy","checks":{"database":{"status":"healthy","latency_ms":5},"storage":{"status":"healthy"},"queue":{"status":"healthy","length":42}}}"#;
        let r = parse_health(200, Some("application/json"), body);
        assert!(r.healthy, "{r:?}");
        assert_eq!(r.overall.as_deref(), Some("healthy"));
        assert_eq!(r.checks.len(), 3);
        assert_eq!(r.checks[0].name, "database");
        assert_eq!(check(&r, "database").latency_ms, Some(5.0));
        assert_eq!(check(&r, "queue").detail.as_deref(), Some("length=42"));
        assert_eq!(check(&r, "storage").detail, None);
        assert_eq!(r.message, None);
    }

    #[test]
    fn mail_shape_unhealthy_dependency() {
        let body = br#"{"status":"unhealthy","checks":{"database":{"status":"unhealthy","error":"connection refused"},"storage":{"status":"healthy"}}}"#;
        let r = parse_health(503, Some("application/json"), body);
        assert!(!r.healthy);
        assert_eq!(r.overall.as_deref(), Some("unhealthy"));
        let db = check(&r, "database");
        assert!(!db.healthy);
        assert_eq!(db.status, "unhealthy");
        assert_eq!(db.detail.as_deref(), Some("connection refused"));
        assert!(check(&r, "storage").healthy);
    }

    #[test]
    fn community_node_shape_is_the_mail_shape() {
        let body = br#"{"status":"ok","checks":{"postgres":{"status":"ok","latency_ms":3},"meilisearch":{"status":"ok","latency_ms":7.5}}}"#;
        let r = parse_health(200, None, body);
        assert!(r.healthy);
        assert_eq!(check(&r, "meilisearch").latency_ms, Some(7.5));
        let body = br#"{"status":"degraded","checks":{"postgres":{"status":"ok"},"meilisearch":{"status":"fail"}}}"#;
        let r = parse_health(503, None, body);
        assert!(!r.healthy);
        assert!(!check(&r, "meilisearch").healthy);
        assert!(check(&r, "postgres").healthy);
    }

    #[test]
    fn terminus_shape_up() {
        let body = br#"{"status":"ok","info":{"database":{"status":"up"},"redis":{"status":"up"}},"error":{},"details":{"database":{"status":"up"},"redis":{"status":"up"}}}"#;
        let r = parse_health(200, Some("application/json; charset=utf-8"), body);
        assert!(r.healthy);
        assert_eq!(r.checks.len(), 2, "details must not be doubled with info");
        assert!(r.checks.iter().all(|c| c.healthy && c.status == "up"));
    }

    #[test]
    fn terminus_shape_down_with_message() {
        let body = br#"{"status":"error","info":{"database":{"status":"up"}},"error":{"redis":{"status":"down","message":"connect ECONNREFUSED 10.0.0.5:6379"}},"details":{"database":{"status":"up"},"redis":{"status":"down","message":"connect ECONNREFUSED 10.0.0.5:6379"}}}"#;
        let r = parse_health(503, Some("application/json"), body);
        assert!(!r.healthy);
        assert_eq!(r.overall.as_deref(), Some("error"));
        let redis = check(&r, "redis");
        assert!(!redis.healthy);
        assert_eq!(
            redis.detail.as_deref(),
            Some("connect ECONNREFUSED 10.0.0.5:6379")
        );
        assert!(check(&r, "database").healthy);
    }

    #[test]
    fn terminus_without_details_merges_info_and_error() {
        let body = br#"{"status":"error","info":{"database":{"status":"up"}},"error":{"redis":{"status":"down"}}}"#;
        let r = parse_health(503, None, body);
        assert_eq!(r.checks.len(), 2);
        assert!(!check(&r, "redis").healthy);
    }

    #[test]
    fn overall_status_alone_decides_with_the_code() {
        assert!(parse_health(200, None, br#"{"status":"UP"}"#).healthy);
        assert!(parse_health(200, None, br#"{"status":true}"#).healthy);
        assert!(!parse_health(200, None, br#"{"status":"degraded"}"#).healthy);
        // A healthy body with a failing code is not healthy.
        assert!(!parse_health(500, None, br#"{"status":"ok"}"#).healthy);
        // Neither is a healthy code with a failing check.
        let r = parse_health(200, None, br#"{"checks":{"db":{"status":"down"}}}"#);
        assert!(!r.healthy);
        assert_eq!(r.overall, None);
    }

    #[test]
    fn healthy_words() {
        for w in ["healthy", "OK", "up", "Pass", "true", " ok "] {
            assert!(is_healthy_word(w), "{w}");
        }
        for w in ["unhealthy", "down", "fail", "degraded", "warn", "", "okay?"] {
            assert!(!is_healthy_word(w), "{w}");
        }
    }

    #[test]
    fn check_without_status_is_unknown_and_unhealthy() {
        let r = parse_health(
            200,
            None,
            br#"{"status":"ok","checks":{"db":{"latency_ms":2}}}"#,
        );
        let db = check(&r, "db");
        assert_eq!(db.status, "unknown");
        assert!(!db.healthy);
        assert!(!r.healthy);
    }

    #[test]
    fn scalar_checks_and_check_arrays() {
        let r = parse_health(
            200,
            None,
            br#"{"status":"ok","checks":{"db":"ok","cache":false}}"#,
        );
        assert!(check(&r, "db").healthy);
        assert!(!check(&r, "cache").healthy);
        let body = br#"{"status":"UP","checks":[{"name":"db","status":"UP"},{"name":"disk","status":"DOWN","data":{"free":1}}]}"#;
        let r = parse_health(200, None, body);
        assert_eq!(r.checks.len(), 2);
        assert!(check(&r, "db").healthy);
        assert!(!check(&r, "disk").healthy);
    }

    #[test]
    fn plain_text_bodies_become_the_message() {
        let r = parse_health(200, Some("text/plain"), b"ok\n");
        assert!(r.healthy);
        assert_eq!(r.message.as_deref(), Some("ok"));
        let r = parse_health(503, Some("text/plain"), b"wal: disk I/O error\r\n");
        assert!(!r.healthy);
        assert_eq!(r.message.as_deref(), Some("wal: disk I/O error"));
        let r = parse_health(204, None, b"");
        assert!(r.healthy);
        assert_eq!(r.message, None);
    }

    #[test]
    fn malformed_json_is_kept_as_text() {
        let r = parse_health(
            200,
            Some("application/json"),
            br#"{"status":"ok","checks":{"#,
        );
        assert!(r.checks.is_empty());
        assert_eq!(r.overall, None);
        assert_eq!(
            r.message.as_deref(),
            Some(r#"invalid JSON: {"status":"ok","checks":{"#)
        );
        // The status code still decides.
        assert!(r.healthy);
        assert!(!parse_health(503, None, b"{nope").healthy);
        // Trailing garbage after a valid object is malformed too.
        let r = parse_health(200, None, br#"{"status":"ok"} trailing"#);
        assert!(r
            .message
            .as_deref()
            .is_some_and(|m| m.starts_with("invalid JSON")));
    }

    #[test]
    fn non_utf8_and_control_characters_are_cleaned() {
        let r = parse_health(503, None, b"\xff\xfedisk \x1b[2J fail\x07ed\n\n");
        let m = r.message.expect("message");
        assert_eq!(m, "\u{fffd}\u{fffd}disk [2J failed");
        assert!(!m.chars().any(char::is_control));
        // Invalid UTF-8 inside JSON makes it unparseable, not a panic.
        let r = parse_health(200, None, b"{\"status\":\"o\xffk\"}");
        assert!(r.message.is_some_and(|m| m.starts_with("invalid JSON")));
        // Control characters in names and statuses are dropped, line breaks become spaces.
        let r = parse_health(
            200,
            None,
            b"{\"checks\":{\"d\\u001bb\":{\"status\":\"o\\u0007k\",\"message\":\"a\\nb\"}}}",
        );
        assert_eq!(r.checks[0].name, "db");
        assert_eq!(r.checks[0].status, "ok");
        assert!(r.checks[0].healthy);
        assert_eq!(r.checks[0].detail.as_deref(), Some("a b"));
    }

    #[test]
    fn long_messages_are_truncated() {
        let body = "x".repeat(10_000);
        let r = parse_health(500, None, body.as_bytes());
        let m = r.message.expect("message");
        assert!(m.chars().count() <= MAX_MESSAGE_CHARS + 1, "{}", m.len());
        assert!(m.ends_with('…'));
    }

    #[test]
    fn huge_check_lists_are_capped_keeping_failures() {
        let mut body = String::from(r#"{"status":"ok","checks":{"#);
        for i in 0..10_000 {
            if i > 0 {
                body.push(',');
            }
            let status = if i == 9_000 || i == 9_500 {
                "down"
            } else {
                "up"
            };
            let _ = write!(body, r#""c{i}":{{"status":"{status}","latency_ms":{i}}}"#);
        }
        body.push_str("}}");
        let r = parse_health(200, None, body.as_bytes());
        assert_eq!(r.checks.len(), MAX_CHECKS);
        assert!(!r.healthy, "a failing check beyond the cap still counts");
        assert!(r.checks.iter().any(|c| c.name == "c9000" && !c.healthy));
        assert!(r.checks.iter().any(|c| c.name == "c9500" && !c.healthy));
        // Original order is kept.
        let names: Vec<_> = r.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names[0], "c0");
        assert_eq!(names[MAX_CHECKS - 1], "c9500");
        let m = r.message.expect("message");
        assert!(m.contains("reported 10000 checks; only 64 are kept"), "{m}");
    }

    #[test]
    fn failures_beyond_the_cap_are_counted_when_all_kept_are_failing() {
        let mut body = String::from(r#"{"checks":{"#);
        for i in 0..100 {
            if i > 0 {
                body.push(',');
            }
            let _ = write!(body, r#""c{i}":"down""#);
        }
        body.push_str("}}");
        let r = parse_health(200, None, body.as_bytes());
        assert_eq!(r.checks.len(), MAX_CHECKS);
        assert!(r
            .message
            .expect("message")
            .contains("36 more failing not shown"));
    }

    #[test]
    fn unexpected_types_and_deep_nesting_do_not_fail() {
        let body = br#"{"status":["x"],"checks":5,"info":"nope","uptime":{"a":[1,2,{"b":null}]}}"#;
        let r = parse_health(200, None, body);
        assert!(r.healthy);
        assert!(r.checks.is_empty());
        // Skipped values are walked without recursion; nesting must not overflow the stack.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let r = parse_health(200, Some("application/json"), deep.as_bytes());
        assert!(r.checks.is_empty());
        let deep = format!(
            r#"{{"checks":{{"a":{}{}}}}}"#,
            "{\"x\":".repeat(50_000),
            "}".repeat(50_000)
        );
        let r = parse_health(200, None, deep.as_bytes());
        assert!(r.message.is_none_or(|m| m.starts_with("invalid JSON")));
    }

    #[test]
    fn top_level_error_string_is_the_message() {
        let r = parse_health(
            503,
            None,
            br#"{"status":"fail","error":"database unreachable"}"#,
        );
        assert!(!r.healthy);
        assert_eq!(r.message.as_deref(), Some("database unreachable"));
    }
}
