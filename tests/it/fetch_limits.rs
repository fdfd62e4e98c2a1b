//! The HTTP fetching layer against real misbehaving servers on 127.0.0.1.
//!
//! Each test asserts the operator-facing error text, and that the text is one
//! printable line without secrets.

use crate::common::badserver;

use std::io::Write as _;
use std::time::Duration;

use badserver::{Behaviour, Reply};
use watchdeck::client::http::{FetchError, Fetched, Fetcher, HttpLimits, Purpose};

const SECRET: &str = "Bearer s3cr3t";

fn limits(timeout_ms: u64) -> HttpLimits {
    HttpLimits {
        timeout: Duration::from_millis(timeout_ms),
        ..HttpLimits::default()
    }
}

fn fetcher(purpose: Purpose) -> Fetcher {
    let headers = [("Authorization".to_owned(), SECRET.to_owned())];
    Fetcher::new(purpose, &headers, None).expect("fetcher")
}

/// Fetches and returns the error text, checking it is one clean line.
async fn fetch_err(purpose: Purpose, url: &reqwest::Url, limits: &HttpLimits) -> String {
    let mut buf = Vec::new();
    let result = fetcher(purpose).fetch(url, limits, &mut buf).await;
    let err = match result {
        Ok(fetched) => panic!("expected an error, got {fetched:?}"),
        Err(err) => err,
    };
    assert!(buf.is_empty(), "the buffer is emptied on error");
    assert_clean(&err)
}

fn assert_clean(err: &FetchError) -> String {
    let text = err.to_string();
    assert!(
        !text.chars().any(char::is_control),
        "control characters in {text:?}"
    );
    assert!(!text.contains("s3cr3t"), "secret in {text:?}");
    assert!(!format!("{err:?}").contains("s3cr3t"), "secret in {err:?}");
    text
}

async fn fetch_ok(purpose: Purpose, url: &reqwest::Url, buf: &mut Vec<u8>) -> Fetched {
    fetcher(purpose)
        .fetch(url, &limits(5_000), buf)
        .await
        .unwrap_or_else(|e| panic!("fetch failed: {e}"))
}

#[tokio::test]
async fn metrics_requests_send_the_negotiation_headers() {
    let addr = badserver::spawn(Behaviour::EchoRequest { status: 200 }).await;
    let mut buf = Vec::new();
    let fetched = fetch_ok(
        Purpose::Metrics,
        &badserver::url(addr, "/metrics"),
        &mut buf,
    )
    .await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.content_type.as_deref(), Some("text/plain"));
    assert_eq!(fetched.body_len, buf.len());
    let request = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    assert!(
        request.starts_with("get /metrics http/1.1\r\n"),
        "{request}"
    );
    assert!(request.contains("\r\naccept: application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"), "{request}");
    assert!(
        request.contains("\r\naccept-encoding: gzip\r\n"),
        "{request}"
    );
    assert!(
        request.contains(&format!(
            "\r\nuser-agent: watchdeck/{}\r\n",
            env!("CARGO_PKG_VERSION")
        )),
        "{request}"
    );
    // The secret is sent to the target, of course: only never shown.
    assert!(
        request.contains("\r\nauthorization: bearer s3cr3t\r\n"),
        "{request}"
    );
}

#[tokio::test]
async fn gzip_bodies_are_decompressed_and_buffers_reused() {
    let plain = b"up 1\n".repeat(10_000);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).expect("compress");
    let compressed = gz.finish().expect("compress");
    let addr = badserver::spawn(Behaviour::Routes(vec![
        (
            "/gz".into(),
            Reply::new(200)
                .header("Content-Encoding", "gzip")
                .body(compressed),
        ),
        ("/small".into(), Reply::new(200).body("x 1\n")),
    ]))
    .await;
    let mut buf = Vec::new();
    let fetched = fetch_ok(Purpose::Metrics, &badserver::url(addr, "/gz"), &mut buf).await;
    assert_eq!(buf, plain);
    assert_eq!(fetched.body_len, plain.len());
    let capacity = buf.capacity();
    fetch_ok(Purpose::Metrics, &badserver::url(addr, "/small"), &mut buf).await;
    assert_eq!(buf, b"x 1\n");
    assert_eq!(buf.capacity(), capacity, "capacity is kept across fetches");
}

#[tokio::test]
async fn non_utf8_bodies_are_returned_as_bytes() {
    let body: Vec<u8> = (0..=255u8).rev().collect();
    let addr = badserver::spawn(Behaviour::Respond(
        Reply::new(200)
            .header("Content-Type", b"text/plain; charset=\xff\xfe\xe9")
            .body(body.clone()),
    ))
    .await;
    let mut buf = Vec::new();
    let fetched = fetch_ok(Purpose::Metrics, &badserver::url(addr, "/"), &mut buf).await;
    assert_eq!(buf, body);
    let content_type = fetched.content_type.expect("content type");
    assert_eq!(content_type, "text/plain; charset=\u{fffd}\u{fffd}\u{fffd}");
}

#[tokio::test]
async fn a_trickling_body_fails_at_the_total_deadline() {
    let addr = badserver::spawn(Behaviour::TrickleBody {
        status: 200,
        interval: Duration::from_millis(100),
        content_length: 1000,
    })
    .await;
    let text = fetch_err(
        Purpose::Metrics,
        &badserver::url(addr, "/metrics"),
        &limits(1_000),
    )
    .await;
    assert!(
        text.starts_with("timed out after 1s while reading the body ("),
        "{text}"
    );
    assert!(text.contains("bytes received)"), "{text}");
}

#[tokio::test]
async fn a_silent_server_fails_at_the_deadline_waiting_for_headers() {
    let addr = badserver::spawn(Behaviour::Silent).await;
    let text = fetch_err(
        Purpose::Health,
        &badserver::url(addr, "/health"),
        &limits(500),
    )
    .await;
    assert_eq!(
        text,
        "timed out after 500ms while connecting or waiting for the response headers"
    );
}

#[tokio::test]
async fn connecting_has_its_own_timeout() {
    let addr = badserver::spawn(Behaviour::FullBacklog).await;
    let limits = HttpLimits {
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_millis(300),
        max_body_bytes: 1024,
    };
    let text = fetch_err(Purpose::Metrics, &badserver::url(addr, "/metrics"), &limits).await;
    assert!(
        text.starts_with("could not connect within 300ms; check that the host and port"),
        "{text}"
    );
}

#[tokio::test]
async fn a_refused_connection_says_nothing_listens() {
    let addr = badserver::refused_addr().await;
    let text = fetch_err(
        Purpose::Metrics,
        &badserver::url(addr, "/metrics"),
        &limits(2_000),
    )
    .await;
    assert!(
        text.starts_with("connection refused: nothing is listening there"),
        "{text}"
    );
}

#[tokio::test]
async fn an_endless_body_stops_at_the_cap() {
    let addr = badserver::spawn(Behaviour::EndlessBody).await;
    let limits = HttpLimits {
        max_body_bytes: 1024 * 1024,
        ..limits(10_000)
    };
    let mut buf = Vec::new();
    let err = fetcher(Purpose::Metrics)
        .fetch(&badserver::url(addr, "/metrics"), &limits, &mut buf)
        .await
        .expect_err("endless body");
    let text = assert_clean(&err);
    assert!(
        text.starts_with("the body exceeds the 1 MiB limit (counted after decompression)"),
        "{text}"
    );
    assert!(
        buf.capacity() <= limits.max_body_bytes,
        "buffer grew to {}",
        buf.capacity()
    );
}

#[tokio::test]
async fn a_gzip_bomb_stops_at_the_default_cap_after_decompression() {
    let addr = badserver::spawn(Behaviour::GzipBomb).await;
    let limits = limits(20_000);
    assert_eq!(limits.max_body_bytes, 16 * 1024 * 1024);
    let mut buf = Vec::new();
    let err = fetcher(Purpose::Metrics)
        .fetch(&badserver::url(addr, "/metrics"), &limits, &mut buf)
        .await
        .expect_err("gzip bomb");
    let text = assert_clean(&err);
    assert_eq!(
        text,
        "the body exceeds the 16 MiB limit (counted after decompression); raise limits.max_body in the config or check the URL"
    );
    assert!(
        buf.capacity() <= limits.max_body_bytes,
        "buffer grew to {}",
        buf.capacity()
    );
}

#[tokio::test]
async fn health_fetches_are_capped_too() {
    let addr = badserver::spawn(Behaviour::EndlessBody).await;
    let limits = HttpLimits {
        max_body_bytes: 64 * 1024,
        ..limits(10_000)
    };
    let text = fetch_err(Purpose::Health, &badserver::url(addr, "/health"), &limits).await;
    assert!(
        text.starts_with("the body exceeds the 64 KiB limit"),
        "{text}"
    );
}

#[tokio::test]
async fn an_announced_oversized_body_is_refused_before_reading() {
    let addr = badserver::spawn(Behaviour::ShortBody {
        announced: 100 * 1024 * 1024,
        sent: 10,
    })
    .await;
    let text = fetch_err(
        Purpose::Metrics,
        &badserver::url(addr, "/metrics"),
        &limits(5_000),
    )
    .await;
    assert!(
        text.starts_with("the server announced a body of 100 MiB, more than the 16 MiB limit"),
        "{text}"
    );
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_is_an_error() {
    let addr = badserver::spawn(Behaviour::ShortBody {
        announced: 1000,
        sent: 10,
    })
    .await;
    let text = fetch_err(
        Purpose::Metrics,
        &badserver::url(addr, "/metrics"),
        &limits(5_000),
    )
    .await;
    assert_eq!(text, "connection closed after 10 of 1000 bytes of the body");
}

#[tokio::test]
async fn a_corrupt_gzip_body_is_an_error() {
    let addr = badserver::spawn(Behaviour::Respond(
        Reply::new(200)
            .header("Content-Encoding", "gzip")
            .body(b"this is not gzip at all".repeat(10)),
    ))
    .await;
    let text = fetch_err(
        Purpose::Metrics,
        &badserver::url(addr, "/metrics"),
        &limits(5_000),
    )
    .await;
    assert!(
        text.starts_with("the compressed body could not be decompressed after 0 bytes: "),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_errors_quote_the_status_and_a_clean_snippet() {
    let mut body = b"database \x1b[31mdown\x1b[0m\r\n\xff".to_vec();
    body.extend(b"z".repeat(5_000));
    let addr = badserver::spawn(Behaviour::Respond(Reply::new(503).body(body))).await;
    let text = fetch_err(
        Purpose::Metrics,
        &badserver::url(addr, "/metrics"),
        &limits(5_000),
    )
    .await;
    assert!(
        text.starts_with("HTTP 503 Service Unavailable: database [31mdown[0m \u{fffd}zzz"),
        "{text}"
    );
    assert!(text.ends_with("z…"), "{text}");
    assert!(
        text.chars().count() < 260,
        "snippet is about 200 characters: {}",
        text.len()
    );

    let addr = badserver::spawn(Behaviour::Respond(Reply::new(404))).await;
    let text = fetch_err(
        Purpose::Metrics,
        &badserver::url(addr, "/nope"),
        &limits(5_000),
    )
    .await;
    assert_eq!(text, "HTTP 404 Not Found (empty body); check the URL path");
}

#[tokio::test]
async fn a_slow_or_broken_error_body_still_reports_the_status() {
    // The status is the news, not the slowness of the error page.
    let addr = badserver::spawn(Behaviour::TrickleBody {
        status: 500,
        interval: Duration::from_millis(100),
        content_length: 1000,
    })
    .await;
    let text = fetch_err(
        Purpose::Metrics,
        &badserver::url(addr, "/metrics"),
        &limits(700),
    )
    .await;
    assert!(
        text.starts_with("HTTP 500 Internal Server Error: x"),
        "{text}"
    );

    let addr = badserver::spawn(Behaviour::Respond(
        Reply::new(500)
            .header("Content-Length", "100")
            .body("partial"),
    ))
    .await;
    let text = fetch_err(
        Purpose::Metrics,
        &badserver::url(addr, "/metrics"),
        &limits(5_000),
    )
    .await;
    assert_eq!(text, "HTTP 500 Internal Server Error: partial");
}

#[tokio::test]
async fn a_target_that_breaks_and_recovers() {
    let addr = badserver::spawn(Behaviour::Sequence(vec![
        Behaviour::Respond(Reply::new(200).body("up 1\n")),
        Behaviour::CloseImmediately,
        Behaviour::Respond(Reply::new(200).body("up 2\n")),
    ]))
    .await;
    let fetcher = fetcher(Purpose::Metrics);
    let url = badserver::url(addr, "/metrics");
    let mut buf = Vec::new();
    fetcher
        .fetch(&url, &limits(5_000), &mut buf)
        .await
        .expect("first");
    assert_eq!(buf, b"up 1\n");
    let err = fetcher
        .fetch(&url, &limits(5_000), &mut buf)
        .await
        .expect_err("second");
    assert_eq!(
        err.to_string(),
        "the server closed the connection without sending a response"
    );
    for _ in 0..2 {
        fetcher
            .fetch(&url, &limits(5_000), &mut buf)
            .await
            .expect("recovered");
        assert_eq!(buf, b"up 2\n");
    }
}

#[tokio::test]
async fn health_returns_any_status_for_the_parser() {
    let addr = badserver::spawn(Behaviour::Respond(
        Reply::new(503)
            .header("Content-Type", "application/json")
            .body(r#"{"status":"unhealthy"}"#),
    ))
    .await;
    let mut buf = Vec::new();
    let fetched = fetch_ok(Purpose::Health, &badserver::url(addr, "/health"), &mut buf).await;
    assert_eq!(fetched.status, 503);
    assert_eq!(fetched.content_type.as_deref(), Some("application/json"));
    assert_eq!(buf, br#"{"status":"unhealthy"}"#);
}

#[tokio::test]
async fn a_health_redirect_is_an_error_naming_the_location() {
    let addr = badserver::spawn(Behaviour::Respond(Reply::redirect(302, "/login"))).await;
    let text = fetch_err(
        Purpose::Health,
        &badserver::url(addr, "/health"),
        &limits(5_000),
    )
    .await;
    assert_eq!(
        text,
        "health check redirected to /login; a redirect is not healthy"
    );

    // A Location echoing the credentials is redacted.
    let addr = badserver::spawn(Behaviour::Respond(Reply::redirect(
        301,
        "/login?auth=Bearer%20x&h=Bearer s3cr3t",
    )))
    .await;
    let text = fetch_err(
        Purpose::Health,
        &badserver::url(addr, "/health"),
        &limits(5_000),
    )
    .await;
    assert_eq!(
        text,
        "health check redirected to /login?auth=Bearer%20x&h=[redacted]; a redirect is not healthy"
    );
}

fn redirect_chain(paths: &[&str], last: &str) -> Behaviour {
    let mut routes: Vec<(String, Reply)> = paths
        .windows(2)
        .map(|w| (w[0].to_owned(), Reply::redirect(302, w[1])))
        .collect();
    routes.push((last.to_owned(), Reply::new(200).body("up 1\n")));
    Behaviour::Routes(routes)
}

#[tokio::test]
async fn metrics_follow_up_to_three_same_host_redirects() {
    let addr = badserver::spawn(redirect_chain(&["/a", "/b", "/c", "/metrics"], "/metrics")).await;
    let mut buf = Vec::new();
    let fetched = fetch_ok(Purpose::Metrics, &badserver::url(addr, "/a"), &mut buf).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(buf, b"up 1\n");

    let addr = badserver::spawn(redirect_chain(
        &["/a", "/b", "/c", "/d", "/metrics"],
        "/metrics",
    ))
    .await;
    let text = fetch_err(
        Purpose::Metrics,
        &badserver::url(addr, "/a"),
        &limits(5_000),
    )
    .await;
    assert_eq!(
        text,
        "redirected more than 3 times (/a -> /b -> /c -> /d -> /metrics); point the URL at the final address"
    );
}

#[tokio::test]
async fn a_redirect_loop_is_named() {
    let addr = badserver::spawn(Behaviour::Routes(vec![
        ("/x".into(), Reply::redirect(302, "/y")),
        ("/y".into(), Reply::redirect(307, "/x")),
    ]))
    .await;
    let text = fetch_err(
        Purpose::Metrics,
        &badserver::url(addr, "/x"),
        &limits(5_000),
    )
    .await;
    assert_eq!(
        text,
        "redirect loop (/x -> /y -> /x); the server keeps sending the same addresses"
    );
}

#[tokio::test]
async fn metrics_refuse_redirects_to_another_host() {
    // Refused before any connection: nothing listens on localhost:9 anyway.
    let addr = badserver::spawn(Behaviour::Respond(Reply::redirect(
        302,
        "http://localhost:9/metrics?token=abc",
    )))
    .await;
    let text = fetch_err(
        Purpose::Metrics,
        &badserver::url(addr, "/metrics"),
        &limits(5_000),
    )
    .await;
    assert_eq!(
        text,
        "redirected to another host (http://localhost:9/metrics); only same-host redirects are followed, so point the URL there directly if that host is right"
    );
}

#[tokio::test]
async fn secrets_never_appear_in_errors_or_debug() {
    // The server echoes the request (and so the secret) in an error page.
    let addr = badserver::spawn(Behaviour::EchoRequest { status: 401 }).await;
    let text = fetch_err(
        Purpose::Metrics,
        &badserver::url(addr, "/metrics"),
        &limits(5_000),
    )
    .await;
    assert!(
        text.starts_with("HTTP 401 Unauthorized: GET /metrics HTTP/1.1"),
        "{text}"
    );
    assert!(text.contains("[redacted]"), "{text}");
    assert!(
        text.ends_with("; check the credentials (headers) configured for this target"),
        "{text}"
    );

    let fetcher = fetcher(Purpose::Metrics);
    let debug = format!("{fetcher:?}");
    assert!(!debug.contains("s3cr3t"), "{debug}");
    assert!(debug.contains("authorization"), "{debug}");

    // An invalid value is refused without quoting it.
    let headers = [("X-Token".to_owned(), "s3cr3t\nInjected: 1".to_owned())];
    let err = Fetcher::new(Purpose::Metrics, &headers, None).expect_err("bad value");
    let text = assert_clean(&err);
    assert_eq!(
        text,
        "the value of header x-token is not valid: it must be visible text without line breaks (the value itself is not shown)"
    );
    let headers = [("Bad Name".to_owned(), "v".to_owned())];
    let err = Fetcher::new(Purpose::Metrics, &headers, None).expect_err("bad name");
    assert_eq!(
        err.to_string(),
        "header name \"Bad Name\" is not a valid HTTP header name"
    );
}

#[tokio::test]
async fn garbage_is_not_http() {
    let addr = badserver::spawn(Behaviour::Garbage).await;
    let text = fetch_err(
        Purpose::Metrics,
        &badserver::url(addr, "/metrics"),
        &limits(5_000),
    )
    .await;
    assert!(
        text.starts_with("the server's answer is not valid HTTP ("),
        "{text}"
    );
    assert!(
        text.ends_with("); check that the URL points at an HTTP endpoint"),
        "{text}"
    );
}

#[tokio::test]
async fn a_connection_closed_without_answer_is_named() {
    let addr = badserver::spawn(Behaviour::CloseImmediately).await;
    let text = fetch_err(
        Purpose::Health,
        &badserver::url(addr, "/health"),
        &limits(5_000),
    )
    .await;
    assert_eq!(
        text,
        "the server closed the connection without sending a response"
    );
}

#[tokio::test]
async fn endless_headers_are_cut_off() {
    let addr = badserver::spawn(Behaviour::EndlessHeaders).await;
    let text = fetch_err(
        Purpose::Metrics,
        &badserver::url(addr, "/metrics"),
        &limits(5_000),
    )
    .await;
    assert_eq!(
        text,
        "the server's response headers are too large (over about 400 KiB); check the URL"
    );
}

#[tokio::test]
async fn tls_is_verified_against_the_system_roots() {
    let addr = badserver::spawn(Behaviour::TlsTestCertificate).await;
    let text = fetch_err(
        Purpose::Metrics,
        &badserver::https_url(addr, "/metrics"),
        &limits(5_000),
    )
    .await;
    assert!(
        text.starts_with("TLS failed: the server's certificate is not signed by a trusted certificate authority; if the service uses a private CA, configure its certificate as the CA file"),
        "{text}"
    );
}

#[tokio::test]
async fn a_custom_ca_is_trusted() {
    let addr = badserver::spawn(Behaviour::TlsTestCertificate).await;
    let fetcher = Fetcher::new(
        Purpose::Health,
        &[],
        Some(badserver::TEST_CA_PEM.as_bytes()),
    )
    .expect("fetcher with CA");
    let mut buf = Vec::new();
    let err = fetcher
        .fetch(
            &badserver::https_url(addr, "/health"),
            &limits(5_000),
            &mut buf,
        )
        .await
        .expect_err("the test server cannot finish a handshake");
    let text = assert_clean(&err);
    // The chain is accepted; what fails is the server's (fake) handshake signature.
    assert!(text.starts_with("TLS failed: "), "{text}");
    assert!(!text.contains("trusted"), "{text}");
    assert!(text.contains("signature"), "{text}");
}

#[tokio::test]
async fn a_server_hanging_up_during_the_handshake_is_named() {
    let addr = badserver::spawn(Behaviour::CloseImmediately).await;
    let text = fetch_err(
        Purpose::Health,
        &badserver::https_url(addr, "/health"),
        &limits(5_000),
    )
    .await;
    assert_eq!(
        text,
        "TLS failed: the server closed the connection during the handshake; check that this port serves HTTPS"
    );
}

#[tokio::test]
async fn a_gzip_body_cut_short_is_named() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&b"up 1\n".repeat(1000)).expect("compress");
    let mut compressed = gz.finish().expect("compress");
    compressed.truncate(compressed.len() / 2);
    let addr = badserver::spawn(Behaviour::Respond(
        Reply::new(200)
            .header("Content-Encoding", "gzip")
            .header("Content-Length", (compressed.len() * 2).to_string())
            .body(compressed),
    ))
    .await;
    let text = fetch_err(
        Purpose::Metrics,
        &badserver::url(addr, "/metrics"),
        &limits(5_000),
    )
    .await;
    assert!(
        text.starts_with("the server closed the connection before the body was complete ("),
        "{text}"
    );
}

#[tokio::test]
async fn https_to_a_plain_http_port_says_so() {
    let addr = badserver::spawn(Behaviour::Respond(Reply::new(200).body("up 1\n"))).await;
    let text = fetch_err(
        Purpose::Metrics,
        &badserver::https_url(addr, "/metrics"),
        &limits(5_000),
    )
    .await;
    assert!(
        text.starts_with("TLS failed: the server did not answer with TLS; if it serves plain HTTP, use an http:// URL"),
        "{text}"
    );
}

#[test]
fn a_bad_ca_file_is_refused() {
    let err = Fetcher::new(Purpose::Metrics, &[], Some(b"not a certificate")).expect_err("bad CA");
    assert_eq!(
        err.to_string(),
        "the CA certificate is not usable: no \"BEGIN CERTIFICATE\" block found; give the CA certificate in PEM form"
    );
    let broken = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    let err = Fetcher::new(Purpose::Metrics, &[], Some(broken)).expect_err("bad CA");
    assert!(
        err.to_string()
            .starts_with("the CA certificate is not usable: "),
        "{err}"
    );
}

#[tokio::test]
async fn unusable_urls_and_url_credentials_stay_out_of_errors() {
    let url = reqwest::Url::parse("file:///etc/passwd").expect("url");
    let text = fetch_err(Purpose::Metrics, &url, &limits(2_000)).await;
    assert_eq!(text, "the URL cannot be fetched: URL scheme is not allowed");

    let addr = badserver::refused_addr().await;
    let url = reqwest::Url::parse(&format!("http://admin:pa55word@{addr}/metrics?token=t0ken"))
        .expect("url");
    let text = fetch_err(Purpose::Metrics, &url, &limits(2_000)).await;
    assert!(text.starts_with("connection refused"), "{text}");
    assert!(
        !text.contains("pa55word") && !text.contains("t0ken"),
        "{text}"
    );
}
