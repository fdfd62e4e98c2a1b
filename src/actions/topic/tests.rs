use super::*;

fn http_driver() -> TopicDriver {
    TopicDriver::Http {
        suspend_url: "http://relay.test/admin/topics/{topic}/suspend".into(),
        resume_url: "http://relay.test/admin/topics/{topic}/resume".into(),
        state_url: Some("https://ops:pa55word@relay.test/admin/topics/{topic}".into()),
        method: reqwest::Method::POST,
        headers: vec![(
            "Authorization".into(),
            Secret::new("Bearer s3cr3t-token-value"),
        )],
        expect_status: 200,
        timeout: Duration::from_secs(5),
    }
}

fn sql_driver(suspend: &str) -> TopicDriver {
    TopicDriver::Sql {
        postgres: PostgresConfig::from_dsn("postgres://cn@127.0.0.1:5432/cn").expect("dsn"),
        suspend_sql: suspend.into(),
        resume_sql: "UPDATE cn_relay.topics SET suspended = false WHERE topic_id = $1".into(),
        state_sql: Some("SELECT suspended FROM cn_relay.topics WHERE topic_id = $1".into()),
    }
}

#[test]
fn topic_ids_are_checked() {
    for ok in [
        "kukuri:topic:rust",
        "x;touch /tmp/pwned",
        "$(id)",
        "'); drop table t;--",
        "a/b?c#d e%f",
        "日本語",
        &"a".repeat(200),
    ] {
        assert!(validate_topic(ok).is_ok(), "{ok}");
    }
    for (bad, why) in [
        ("", "empty"),
        ("--help", "starts with '-'"),
        ("-f/etc/passwd", "starts with '-'"),
        ("../", "'..'"),
        ("a..b", "'..'"),
        (".", "current directory"),
        ("a\nb", "line break"),
        ("a\u{7}b", "control"),
        (" a", "white space"),
    ] {
        let e = validate_topic(bad).expect_err(bad).to_string();
        assert!(e.contains(why), "{bad:?}: {e}");
        assert!(!e.contains('\n'), "{e}");
    }
    let e = validate_topic(&"a".repeat(201))
        .expect_err("long")
        .to_string();
    assert!(e.contains("longer than 200"), "{e}");
}

#[test]
fn ids_are_encoded_outside_unreserved() {
    assert_eq!(encode_topic("kukuri:topic:rust"), "kukuri%3Atopic%3Arust");
    assert_eq!(encode_topic("a/b?c#d e%f;g"), "a%2Fb%3Fc%23d%20e%25f%3Bg");
    assert_eq!(encode_topic("A-z_0.9~"), "A-z_0.9~");
    assert_eq!(encode_topic("é"), "%C3%A9");
}

#[test]
fn http_plan_shows_the_request_with_secrets_masked() {
    let p = plan(&http_driver(), ActionKind::Suspend, "q&a/help #1").expect("plan");
    assert_eq!(p.risk, Risk::High);
    assert_eq!(p.driver, "http");
    assert_eq!(
        p.steps[0],
        Step::Http {
            method: "POST".into(),
            url: "http://relay.test/admin/topics/q%26a%2Fhelp%20%231/suspend".into(),
            headers: vec![("Authorization".into(), "***".into())],
            expect_status: 200,
        }
    );
    let Step::Http { url, method, .. } = &p.steps[1] else {
        panic!("state step {:?}", p.steps[1]);
    };
    assert_eq!(method, "GET");
    assert!(url.contains("ops:***@"), "{url}");
    let text = format!("{}\n{}\n{:?}", p.describe(), p.fingerprint, p);
    for secret in ["s3cr3t", "pa55word"] {
        assert!(!text.contains(secret), "{text}");
    }
    let resume = plan(&http_driver(), ActionKind::Resume, "q&a/help #1").expect("plan");
    assert_ne!(resume.fingerprint, p.fingerprint);
}

#[test]
fn http_plan_refuses_bad_templates_and_kinds() {
    let mut d = http_driver();
    if let TopicDriver::Http { suspend_url, .. } = &mut d {
        *suspend_url = "http://relay.test/admin/suspend".into();
    }
    let e = plan(&d, ActionKind::Suspend, "t")
        .expect_err("no hole")
        .to_string();
    assert!(e.contains("suspend_url") && e.contains("{topic}"), "{e}");
    if let TopicDriver::Http { suspend_url, .. } = &mut d {
        *suspend_url = "file:///tmp/{topic}".into();
    }
    let e = plan(&d, ActionKind::Suspend, "t")
        .expect_err("scheme")
        .to_string();
    assert!(e.contains("http or https"), "{e}");
    let e = plan(&http_driver(), ActionKind::Backup, "t").expect_err("kind");
    assert!(matches!(e, TopicError::WrongKind { .. }), "{e}");
    let mut d = http_driver();
    if let TopicDriver::Http { headers, .. } = &mut d {
        headers.push(("X-Bad".into(), Secret::new("line\nbreak-secret")));
    }
    let e = plan(&d, ActionKind::Suspend, "t")
        .expect_err("header")
        .to_string();
    assert!(e.contains("X-Bad") && !e.contains("break-secret"), "{e}");
}

#[test]
fn sql_plan_binds_the_id_as_a_parameter() {
    let d = sql_driver("UPDATE cn_relay.topics SET suspended = true WHERE topic_id = $1");
    let p = plan(&d, ActionKind::Suspend, "'); drop table t;--").expect("plan");
    assert_eq!(
        p.steps[1],
        Step::Sql {
            statement: "UPDATE cn_relay.topics SET suspended = true WHERE topic_id = $1".into(),
            params: vec!["'); drop table t;--".into()],
        }
    );
    assert!(matches!(&p.steps[2], Step::Sql { statement, .. } if statement.starts_with("SELECT")));
    for (bad, why) in [
        ("UPDATE t SET s = true WHERE id = 'x'", "does not use $1"),
        ("UPDATE t SET s = $2 WHERE id = $1", "uses $2"),
        ("  ", "empty"),
    ] {
        let e = plan(&sql_driver(bad), ActionKind::Suspend, "x")
            .expect_err(bad)
            .to_string();
        assert!(e.contains(why), "{bad}: {e}");
    }
    // A `$2` inside a literal is text, not a placeholder.
    assert!(plan(
        &sql_driver("UPDATE t SET note = 'costs $2' WHERE id = $1"),
        ActionKind::Suspend,
        "x"
    )
    .is_ok());
}

#[test]
fn placeholders_skip_literals() {
    assert_eq!(
        sql::placeholders("SELECT $1, '$3', \"$4\", $12")
            .into_iter()
            .collect::<Vec<_>>(),
        vec![1, 12]
    );
}

#[test]
fn state_answers_are_read() {
    assert_eq!(http::parse_state(br#"{"state":"suspended"}"#), "suspended");
    assert_eq!(http::parse_state(br#"{"suspended":false}"#), "active");
    assert_eq!(http::parse_state(br#"{"status":"paused"}"#), "paused");
    assert_eq!(http::parse_state(b"true"), "suspended");
    assert_eq!(http::parse_state(b"  suspended\n"), "suspended");
    assert_eq!(http::parse_state(b""), "(empty answer)");
    assert_eq!(is_suspended("Suspended"), Some(true));
    assert_eq!(is_suspended("active"), Some(false));
    assert_eq!(is_suspended("weird"), None);
}

#[test]
fn traffic_is_a_rate_per_topic_busiest_first() {
    let s = |topic: &str, value: f64, prev: Option<(i64, f64)>| CounterSample {
        topic: topic.into(),
        value,
        at_ms: 10_000,
        prev,
    };
    let rows = traffic(&[
        s("quiet", 100.0, Some((8_000, 100.0))),
        s("busy", 130.0, Some((8_000, 100.0))),
        s("busy", 20.0, Some((8_000, 10.0))),
        s("new", 5.0, None),
        s("reset", 4.0, Some((8_000, 1000.0))),
    ]);
    let got: Vec<(&str, Option<f64>)> =
        rows.iter().map(|r| (r.id.as_str(), r.per_second)).collect();
    assert_eq!(
        got,
        vec![
            ("busy", Some(20.0)),
            ("reset", Some(2.0)),
            ("quiet", Some(0.0)),
            ("new", None)
        ]
    );
    assert!((rows[0].total - 150.0).abs() < 1e-9);
}

#[test]
fn traffic_from_a_series_index() {
    use crate::expo::{Format, SeriesIndex};
    let mut index = SeriesIndex::default();
    let body = |a: u32, b: u32| {
        format!(
            "# TYPE ingest_topic_received_total counter\n\
             ingest_topic_received_total{{topic=\"a/b\"}} {a}\n\
             ingest_topic_received_total{{topic=\"c\"}} {b}\n\
             other_total{{topic=\"x\"}} 1\n"
        )
    };
    index.ingest(body(10, 5).as_bytes(), Format::Prometheus, 1_000);
    index.ingest(body(30, 5).as_bytes(), Format::Prometheus, 3_000);
    let rows = traffic_from_index(&index, "ingest_topic_received_total", "topic");
    let got: Vec<(&str, Option<f64>)> =
        rows.iter().map(|r| (r.id.as_str(), r.per_second)).collect();
    assert_eq!(got, vec![("a/b", Some(10.0)), ("c", Some(0.0))]);
}

#[test]
fn merge_joins_traffic_and_listing() {
    let t = vec![TopicTraffic {
        id: "a".into(),
        per_second: Some(1.0),
        total: 9.0,
    }];
    let l = vec![
        TopicListing {
            id: "b".into(),
            state: Some("suspended".into()),
        },
        TopicListing {
            id: "a".into(),
            state: Some("active".into()),
        },
    ];
    let rows = merge(&t, &l);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].state.as_deref(), Some("active"));
    assert_eq!((rows[1].id.as_str(), rows[1].per_second), ("b", None));
}
