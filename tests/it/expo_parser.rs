//! Parser fixtures: every case the exposition formats allow, and malformed input.
#![allow(clippy::float_cmp)] // parsing is exact: the values must come back bit for bit

use watchdeck::expo::{Format, IndexLimits, Lexer, Line, MetricType, SeriesIndex};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/expo/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture exists")
}

fn labels(v: &watchdeck::expo::SeriesView<'_>) -> Vec<(String, String)> {
    v.labels
        .iter()
        .map(|r| r.map(|(n, v)| (n.to_owned(), v.into_owned())))
        .collect::<Result<_, _>>()
        .expect("stored labels are valid")
}

fn ingest(name: &str, format: Format) -> (SeriesIndex, watchdeck::expo::ScrapeReport) {
    let body = fixture(name);
    let mut idx = SeriesIndex::default();
    let report = idx.ingest(&body, format, 1_000);
    (idx, report)
}

#[test]
fn prometheus_text_is_read_completely() {
    let (idx, report) = ingest("prometheus_full.txt", Format::Prometheus);
    assert_eq!(report.malformed, vec![], "no malformed lines");
    assert_eq!(report.samples, 21);
    assert_eq!(idx.len(), 21);

    // `}` `,` `=` inside label values, route templates.
    let id = idx
        .find(r#"http_requests_total{service="cn-user-api",route="/v1/users/{id}",method="GET",status="200"}"#)
        .expect("route template series");
    let v = idx.get(id).expect("view");
    assert_eq!(v.value, 1027.0);
    assert_eq!(v.timestamp_ms, Some(1_395_066_363_000));
    assert_eq!(v.family, "http_requests_total");
    assert_eq!(v.kind, MetricType::Counter);
    assert_eq!(
        v.help,
        Some("Total HTTP requests.\nSecond line with a \\ backslash.")
    );
    assert_eq!(labels(&v)[1], ("route".into(), "/v1/users/{id}".into()));

    let odd = idx
        .iter()
        .find(|v| v.key.contains("search"))
        .expect("search series");
    assert_eq!(
        labels(&odd)[1],
        ("route".into(), "/v1/search?q=a,b=c".into())
    );
    assert_eq!(odd.value, 3.0);

    // Escapes decoded.
    let ms = idx
        .iter()
        .find(|v| v.name == "msdos_file_access_time_seconds")
        .expect("msdos");
    assert_eq!(
        labels(&ms),
        vec![
            ("path".into(), r"C:\DIR\FILE.TXT".into()),
            ("error".into(), "Cannot find file:\n\"FILE.TXT\"".into()),
        ]
    );
    assert_eq!(ms.value, 1.458_255_915e9);

    // Colons in names.
    let rec = idx
        .iter()
        .find(|v| v.name == "job:request_rate:5m")
        .expect(":");
    assert_eq!((rec.value, rec.kind), (12.5, MetricType::Gauge));

    // NaN and infinities.
    let weird: Vec<f64> = idx
        .iter()
        .filter(|v| v.name == "weird")
        .map(|v| v.value)
        .collect();
    assert!(weird[0].is_nan());
    assert_eq!(&weird[1..], &[f64::INFINITY, f64::NEG_INFINITY, -0.5e-3]);

    // Histograms and summaries grouped into families.
    let hist: Vec<_> = idx
        .iter()
        .filter(|v| v.family == "webhook_ack_latency_seconds")
        .collect();
    assert_eq!(hist.len(), 6);
    assert!(hist.iter().all(|v| v.kind == MetricType::Histogram));
    assert_eq!(hist[3].labels.get("le").as_deref(), Some("+Inf"));
    let summary: Vec<_> = idx
        .iter()
        .filter(|v| v.family == "rpc_duration_seconds")
        .collect();
    assert_eq!(summary.len(), 5);
    assert!(summary.iter().all(|v| v.kind == MetricType::Summary));
    assert_eq!(summary[3].value, 1.756_047_3e7);

    let untyped = idx
        .iter()
        .find(|v| v.name == "untyped_metric")
        .expect("untyped");
    assert_eq!(
        (untyped.family, untyped.kind),
        ("untyped_metric", MetricType::Unknown)
    );
}

#[test]
fn openmetrics_text_is_read_completely() {
    let body = fixture("openmetrics_full.txt");
    assert_eq!(Format::sniff(&body), Format::OpenMetrics);
    let mut idx = SeriesIndex::default();
    let report = idx.ingest(&body, Format::OpenMetrics, 0);
    assert_eq!(report.malformed, vec![]);
    assert_eq!(report.samples, 8);

    let sse = idx.iter().find(|v| v.name == "sse_clients").expect("sse");
    assert_eq!(
        (sse.unit, sse.help),
        (Some("clients"), Some("Connected SSE clients."))
    );
    let ing = idx
        .iter()
        .find(|v| v.name == "eventsub_ingress_total")
        .expect("counter");
    assert_eq!(
        (ing.family, ing.kind),
        ("eventsub_ingress", MetricType::Counter)
    );
    assert_eq!(
        ing.timestamp_ms,
        Some(1_520_879_607_789),
        "seconds become ms"
    );
    let created = idx
        .iter()
        .find(|v| v.name == "eventsub_ingress_created")
        .expect("created");
    assert_eq!(created.family, "eventsub_ingress");

    let buckets: Vec<_> = idx
        .iter()
        .filter(|v| v.family == "db_checkpoint_seconds")
        .collect();
    assert_eq!(buckets.len(), 5);
    assert_eq!(buckets[1].value, 5.0, "exemplar does not change the value");
}

#[test]
fn exemplars_and_eof_are_lexed() {
    let body = fixture("openmetrics_full.txt");
    let lines: Vec<_> = Lexer::new(&body, Format::OpenMetrics)
        .collect::<Result<_, _>>()
        .expect("valid");
    let ex = lines
        .iter()
        .find_map(|l| match l {
            Line::Sample(s) if s.exemplar.is_some_and(|e| e.timestamp_ms.is_some()) => s.exemplar,
            _ => None,
        })
        .expect("exemplar with timestamp");
    assert_eq!(ex.value, 0.067);
    assert_eq!(ex.timestamp_ms, Some(1_520_879_607_789));
    assert_eq!(ex.labels.get("trace_id").as_deref(), Some("oHg5SJYRHA0"));
    assert_eq!(lines.last(), Some(&Line::Eof));

    let after = b"# EOF\nfoo 1\n";
    let errs: Vec<_> = Lexer::new(after, Format::OpenMetrics)
        .filter_map(Result::err)
        .collect();
    assert_eq!(errs.len(), 1);
    assert_eq!((errs[0].line, errs[0].reason), (2, "content after # EOF"));
}

#[test]
fn timestamps_follow_the_format() {
    let mut idx = SeriesIndex::default();
    idx.ingest(b"a 1 1700000000123\n", Format::Prometheus, 0);
    let v = idx.iter().next().expect("a");
    assert_eq!(v.timestamp_ms, Some(1_700_000_000_123));
    let r = idx.ingest(b"a 1 1700000000.5\n", Format::Prometheus, 0);
    assert_eq!(
        r.malformed[0].reason,
        "timestamp is not an integer (milliseconds)"
    );
    let mut om = SeriesIndex::default();
    om.ingest(b"a 1 1700000000.5\n# EOF\n", Format::OpenMetrics, 0);
    assert_eq!(
        om.iter().next().expect("a").timestamp_ms,
        Some(1_700_000_000_500)
    );
}

#[test]
fn malformed_lines_are_counted_with_numbers_and_do_not_stop_the_scrape() {
    let (idx, report) = ingest("malformed.txt", Format::Prometheus);
    let got: Vec<(u32, &str)> = report
        .malformed
        .iter()
        .map(|m| (m.line, m.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (3, "metric name must start with a letter, '_' or ':'"),
            (4, "label set has no closing '}'"),
            (5, "label value has no closing quote"),
            (6, "sample has no value"),
            (7, "value is not a number"),
            (8, "timestamp is not an integer (milliseconds)"),
            (9, "label value must be in double quotes"),
            (10, "duplicate label name \"a\""),
            (12, "unknown metric type in # TYPE"),
            // Line 13 (`good{a="9"}9`) is a sample: Prometheus needs no blank after `}`.
            (14, "the same series appears twice in one scrape"),
        ]
    );
    assert_eq!(report.malformed_count, 10);
    // The good lines around them all landed, and the duplicate did not overwrite the first.
    let vals: Vec<(String, f64)> = idx.iter().map(|v| (v.key.to_owned(), v.value)).collect();
    assert_eq!(
        vals,
        vec![
            (r#"good{a="1"}"#.to_owned(), 1.0),
            (r#"good{a="8"}"#.to_owned(), 8.0),
            (r#"good{a="9"}"#.to_owned(), 9.0),
            (r#"good{a="10"}"#.to_owned(), 11.0),
        ]
    );
    assert!(report.malformed[1].excerpt.contains(r#"good{a="1" 3"#));
}

#[test]
fn invalid_utf8_is_one_malformed_line() {
    let (idx, report) = ingest("not_utf8.txt", Format::Prometheus);
    assert_eq!(report.malformed_count, 1);
    assert_eq!(report.malformed[0].line, 2);
    assert_eq!(report.malformed[0].reason, "label value is not valid UTF-8");
    assert_eq!(idx.len(), 2);
}

#[test]
fn values_update_in_place_and_keep_the_previous_one() {
    let mut idx = SeriesIndex::default();
    idx.ingest(b"c_total{x=\"1\"} 5\n", Format::Prometheus, 1_000);
    let r = idx.ingest(b"c_total{x=\"1\"} 9\n", Format::Prometheus, 2_000);
    assert_eq!((r.new_series, r.samples), (0, 1));
    let v = idx.iter().next().expect("c");
    assert_eq!((v.value, v.at_ms, v.prev), (9.0, 2_000, Some((1_000, 5.0))));
    assert!(v.present);
}

#[test]
fn vanished_series_go_stale_then_leave_the_index() {
    let mut idx = SeriesIndex::default();
    idx.ingest(b"a 1\nb 2\n", Format::Prometheus, 0);
    idx.ingest(b"a 1\n", Format::Prometheus, 1);
    let b = idx.iter().find(|v| v.name == "b").expect("b still known");
    assert!(!b.present);
    let mut removed = 0;
    for t in 2..10 {
        removed += idx.ingest(b"a 1\n", Format::Prometheus, t).removed_series;
    }
    assert_eq!(removed, 1);
    assert_eq!(idx.len(), 1);
    assert!(idx.find("a").is_some());
    assert!(idx.find("b").is_none());
}

#[test]
fn limits_are_enforced() {
    let limits = IndexLimits {
        max_samples: 2,
        max_labels: 2,
        max_label_length: 8,
    };
    let mut idx = SeriesIndex::new(limits);
    let r = idx.ingest(
        b"a{x=\"1\",y=\"2\",z=\"3\"} 1\nb{x=\"123456789\"} 1\nc 1\nd 1\ne 1\n",
        Format::Prometheus,
        0,
    );
    assert_eq!(r.malformed[0].reason, "series has more than 2 labels");
    assert_eq!(
        r.malformed[1].reason,
        "label \"x\" is 9 bytes long, over the limit of 8"
    );
    assert!(r.sample_limit_hit);
    assert_eq!(r.samples, 2);
    assert_eq!(idx.len(), 2);
}

#[test]
fn crlf_blank_lines_and_blank_only_lines_are_tolerated() {
    let mut idx = SeriesIndex::default();
    let r = idx.ingest(b"a 1\r\n\r\n   \n\tb{x=\"1\"}\t2\n", Format::Prometheus, 0);
    // A line starting with a tab is not a metric name.
    assert_eq!(r.malformed_count, 1);
    let r = idx.ingest(b"a 1\r\n\r\n   \nb{x=\"1\"}\t2   \n", Format::Prometheus, 1);
    assert_eq!(r.malformed_count, 0);
    assert_eq!(
        idx.find("b{x=\"1\"}")
            .and_then(|i| idx.get(i))
            .map(|v| v.value),
        Some(2.0)
    );
}
