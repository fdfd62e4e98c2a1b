//! Why a fetch failed, in plain words: the phase it failed in, the cause found in the error's
//! chain (refused, timed out, TLS, too large, bad status), and what to check.

use std::fmt;
use std::time::Duration;

use reqwest::{StatusCode, Url};

use super::{HttpLimits, QUOTE_CHARS};
use crate::text::{plain_text, truncate_chars};

/// Why a fetch failed. Every message is one line in plain words, free of secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    #[error("header name {name:?} is not a valid HTTP header name")]
    InvalidHeaderName { name: String },
    #[error("the value of header {name} is not valid: it must be visible text without line breaks (the value itself is not shown)")]
    InvalidHeaderValue { name: String },
    #[error("the CA certificate is not usable: {reason}")]
    BadCa { reason: String },
    #[error("could not set up the HTTP client: {reason}")]
    Client { reason: String },
    #[error("the URL cannot be fetched: {reason}")]
    BadUrl { reason: String },
    #[error("connection refused: nothing is listening there; check that the service is running and the host and port are right")]
    ConnectionRefused,
    #[error("could not connect within {}; check that the host and port are right and reachable (firewall, service down)", human_duration(*.after))]
    ConnectTimeout { after: Duration },
    #[error("could not connect: {cause}; check the host name and port")]
    Connect { cause: String },
    #[error("could not resolve the host name: {cause}; check the host in the URL and this machine's DNS")]
    Dns { cause: String },
    #[error("TLS failed: {problem}")]
    Tls { problem: String },
    #[error("timed out after {} while {phase}", human_duration(*.after))]
    Timeout { after: Duration, phase: Phase },
    #[error("the server closed the connection without sending a response")]
    ClosedWithoutResponse,
    #[error("the server's answer is not valid HTTP ({cause}); check that the URL points at an HTTP endpoint")]
    NotHttp { cause: String },
    #[error("the server's response headers are too large (over about 400 KiB); check the URL")]
    HeadersTooLarge,
    #[error("the server announced a body of {}, more than the {} limit; raise limits.max_body in the config or check the URL", human_bytes(*.announced), human_bytes(*.limit as u64))]
    AnnouncedTooLarge { announced: u64, limit: usize },
    #[error("the body exceeds the {} limit (counted after decompression); raise limits.max_body in the config or check the URL", human_bytes(*.limit as u64))]
    BodyTooLarge { limit: usize },
    #[error("connection closed after {received} of {announced} bytes of the body")]
    Truncated { received: usize, announced: u64 },
    #[error(
        "the server closed the connection before the body was complete ({received} bytes received)"
    )]
    Incomplete { received: usize },
    #[error("the connection broke after {received} bytes of the body: {cause}")]
    BodyBroken { received: usize, cause: String },
    #[error("the compressed body could not be decompressed after {received} bytes: {cause}")]
    Decompress { received: usize, cause: String },
    #[error("HTTP {status}{}{}", reason_suffix(*.status), status_hint(*.status, .snippet))]
    Status { status: u16, snippet: String },
    #[error("health check redirected to {location}; a redirect is not healthy")]
    HealthRedirected { status: u16, location: String },
    #[error("redirected more than {max} times ({chain}); point the URL at the final address")]
    TooManyRedirects { max: usize, chain: String },
    #[error("redirect loop ({chain}); the server keeps sending the same addresses")]
    RedirectLoop { chain: String },
    #[error("redirected to another host ({to}); only same-host redirects are followed, so point the URL there directly if that host is right")]
    CrossHostRedirect { to: String },
    #[error(
        "redirected from https to plain http ({to}); refusing to send the request unencrypted"
    )]
    InsecureRedirect { to: String },
    #[error("request failed: {cause}")]
    Other { cause: String },
}

/// Where a fetch was when its deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connecting, sending the request or waiting for the response head.
    Headers,
    /// Reading the body; how many (decompressed) bytes had arrived.
    Body { received: usize },
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Phase::Headers => f.write_str("connecting or waiting for the response headers"),
            Phase::Body { received } => write!(
                f,
                "reading the body ({received} bytes received); the server is too slow or never finishes"
            ),
        }
    }
}

/// Puts a failed `send()` into words (everything but redirect refusals). Shared with the
/// JSON-API clients (`promql`, `alertmanager`) so that every connection problem reads the same.
/// The `Other` cause is the deepest error's text: callers redact their secrets from it.
pub fn request_error(err: &reqwest::Error, url: &Url, limits: &HttpLimits) -> FetchError {
    if err.is_builder() {
        return FetchError::BadUrl {
            reason: deepest_cause(err),
        };
    }
    if err.is_connect() {
        return connect_error(err, url, limits);
    }
    if any_hyper(err, hyper::Error::is_parse_too_large) {
        return FetchError::HeadersTooLarge;
    }
    if any_hyper(err, hyper::Error::is_parse) {
        return FetchError::NotHttp {
            cause: deepest_cause(err),
        };
    }
    if any_hyper(err, hyper::Error::is_incomplete_message) {
        return FetchError::ClosedWithoutResponse;
    }
    if err.is_timeout() {
        return FetchError::Timeout {
            after: limits.timeout,
            phase: Phase::Headers,
        };
    }
    FetchError::Other {
        cause: deepest_cause(err),
    }
}

fn connect_error(err: &reqwest::Error, url: &Url, limits: &HttpLimits) -> FetchError {
    use std::io::ErrorKind;

    if err.is_timeout() {
        return FetchError::ConnectTimeout {
            after: limits.connect_timeout,
        };
    }
    if any_io_kind(err, ErrorKind::ConnectionRefused) {
        return FetchError::ConnectionRefused;
    }
    let cause = deepest_cause(err);
    // hyper-util's connector error type is private; its fixed messages are
    // the only way to tell a resolver or TCP failure from a TLS one.
    let messages: Vec<String> = chain(err).map(ToString::to_string).collect();
    if messages.iter().any(|m| m == "dns error") {
        return FetchError::Dns { cause };
    }
    let tcp_level = messages.iter().any(|m| m == "tcp connect error");
    if url.scheme() == "https" && !tcp_level {
        // Anything that failed after TCP connected is the TLS handshake.
        if any_io_kind(err, ErrorKind::UnexpectedEof)
            || any_io_kind(err, ErrorKind::ConnectionReset)
        {
            return FetchError::Tls {
                problem: "the server closed the connection during the handshake; check that this port serves HTTPS".into(),
            };
        }
        return FetchError::Tls {
            problem: tls_problem(&cause),
        };
    }
    FetchError::Connect { cause }
}

/// Puts rustls' terse reasons into words. rustls is not a direct dependency, so
/// its error types cannot be matched; its messages are stable enough to read.
fn tls_problem(cause: &str) -> String {
    let known: &[(&str, &str)] = &[
        ("UnknownIssuer", "the server's certificate is not signed by a trusted certificate authority; if the service uses a private CA, configure its certificate as the CA file"),
        ("NotValidForName", "the server's certificate is not valid for this host name; check the host in the URL"),
        ("Expired", "the server's certificate has expired (or this machine's clock is wrong)"),
        ("NotValidYet", "the server's certificate is not valid yet (or this machine's clock is wrong)"),
        ("Revoked", "the server's certificate has been revoked"),
        ("BadSignature", "the server's certificate or handshake signature does not verify"),
        ("InvalidContentType", "the server did not answer with TLS; if it serves plain HTTP, use an http:// URL"),
        ("corrupt message", "the server did not answer with TLS; if it serves plain HTTP, use an http:// URL"),
    ];
    for (needle, words) in known {
        if cause.contains(needle) {
            return format!("{words} ({cause})");
        }
    }
    format!("the TLS handshake failed: {cause}")
}

/// Puts a failed body read into words (shared with the JSON-API clients).
pub fn body_error(
    err: &reqwest::Error,
    received: usize,
    announced: Option<u64>,
    limits: &HttpLimits,
) -> FetchError {
    if err.is_timeout() {
        return FetchError::Timeout {
            after: limits.timeout,
            phase: Phase::Body { received },
        };
    }
    let cut_short = any_io_kind(err, std::io::ErrorKind::UnexpectedEof)
        || any_hyper(err, hyper::Error::is_incomplete_message);
    if cut_short {
        return match announced {
            Some(announced) if (received as u64) < announced => FetchError::Truncated {
                received,
                announced,
            },
            _ => FetchError::Incomplete { received },
        };
    }
    // reqwest labels every body error of a decoded response a "decode" error,
    // so only one without a transport (hyper) cause is really about gzip.
    if err.is_decode() && !any_hyper(err, |_| true) {
        return FetchError::Decompress {
            received,
            cause: deepest_cause(err),
        };
    }
    FetchError::BodyBroken {
        received,
        cause: deepest_cause(err),
    }
}

/// An error and its causes, looking inside `io::Error`s too: their own
/// `source()` skips the error they wrap, which is where rustls and hyper put
/// the interesting part.
fn chain<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    let mut next = Some(err);
    std::iter::from_fn(move || {
        let current = next?;
        next = match current
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
        Some(current)
    })
}

pub(super) fn find_source<'a, T: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    chain(err).find_map(|e| e.downcast_ref::<T>())
}

fn any_hyper(err: &(dyn std::error::Error + 'static), test: fn(&hyper::Error) -> bool) -> bool {
    chain(err).any(|e| e.downcast_ref::<hyper::Error>().is_some_and(test))
}

fn any_io_kind(err: &(dyn std::error::Error + 'static), kind: std::io::ErrorKind) -> bool {
    chain(err).any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == kind)
    })
}

/// The innermost cause's text: the most specific one, and (unlike reqwest's
/// top-level message) free of the URL, which may carry credentials.
pub(super) fn deepest_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let deepest = chain(err).last().unwrap_or(err);
    truncate_chars(
        &plain_text(deepest.to_string().as_bytes(), QUOTE_CHARS * 2),
        QUOTE_CHARS,
    )
}

pub(super) fn reason_suffix(status: u16) -> String {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" {r}"))
        .unwrap_or_default()
}

pub(super) fn status_hint(status: u16, snippet: &str) -> String {
    let hint = match status {
        401 | 403 => "; check the credentials (headers) configured for this target",
        404 => "; check the URL path",
        300..=399 => "; the redirect was not followed",
        _ => "",
    };
    if snippet.is_empty() {
        format!(" (empty body){hint}")
    } else {
        format!(": {snippet}{hint}")
    }
}

/// "1s", "1500ms", "2m" — short and exact enough for an error line.
pub(super) fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 60_000 == 0 && ms > 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 && ms > 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// "16 MiB", "512 KiB", "1.5 MiB", "300 bytes".
pub fn human_bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    const GIB: u64 = 1024 * 1024 * 1024;
    for (unit, name) in [(GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")] {
        if n >= unit {
            return if n % unit == 0 {
                format!("{} {name}", n / unit)
            } else {
                format!("{:.1} {name}", n as f64 / unit as f64)
            };
        }
    }
    format!("{n} bytes")
}
