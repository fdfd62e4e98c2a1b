//! Randomised: the parser never panics, whatever the bytes, and keeps what it can.

use proptest::prelude::*;
use watchdeck::expo::{Format, Lexer, SeriesIndex};

/// Fragments that steer random input towards the interesting corners of the grammar.
const PIECES: &[&str] = &[
    "metric",
    "_total",
    "{",
    "}",
    "le=\"",
    "\"",
    ",",
    "=",
    "\\",
    "\\\"",
    "\\n",
    " ",
    "\t",
    "\n",
    "# TYPE ",
    "# HELP ",
    "# UNIT ",
    "# EOF",
    "histogram",
    "counter",
    "NaN",
    "+Inf",
    "-Inf",
    "1.5e3",
    "0",
    "-1",
    " # {trace=\"x\"} 1 2",
    ":",
    "\r\n",
    "\u{fffd}",
    "\u{00ff}",
    "9999999999999999999",
];

fn shaped() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(PIECES).prop_map(|s| s.as_bytes().to_vec()),
            prop::collection::vec(any::<u8>(), 0..4),
        ],
        0..64,
    )
    .prop_map(|parts| parts.concat())
}

fn exercise(body: &[u8]) {
    for format in [Format::Prometheus, Format::OpenMetrics] {
        for line in Lexer::new(body, format) {
            if let Ok(watchdeck::expo::Line::Sample(s)) = line {
                let _ = s.labels.iter().count();
            }
        }
        let mut idx = SeriesIndex::default();
        let r1 = idx.ingest(body, format, 1);
        let r2 = idx.ingest(body, format, 2);
        // The same body twice: no new series the second time, same malformed count.
        assert_eq!(r2.new_series, 0);
        assert_eq!(r1.malformed_count, r2.malformed_count);
        for v in idx.iter() {
            assert!(v.key.starts_with(v.name));
            assert!(v.labels.iter().all(|r| r.is_ok()));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise(&body);
    }

    #[test]
    fn grammar_shaped_bytes_never_panic(body in shaped()) {
        exercise(&body);
    }

    #[test]
    fn valid_lines_survive_garbage_around_them(
        noise in prop::collection::vec(any::<u8>(), 0..64),
        value in -1.0e9f64..1.0e9,
    ) {
        let mut body = noise.clone();
        body.retain(|b| *b != b'\n');
        body.extend_from_slice(format!("\nreal_metric{{route=\"/users/{{id}}\"}} {value}\n").as_bytes());
        body.extend_from_slice(&noise);
        let mut idx = SeriesIndex::default();
        idx.ingest(&body, Format::Prometheus, 0);
        let id = idx.find("real_metric{route=\"/users/{id}\"}");
        prop_assert!(id.is_some());
        prop_assert_eq!(idx.get(id.expect("found")).map(|v| v.value), Some(value));
    }
}
