//! The HTTP fetching layer shared by the scrape and health collectors.
//!
//! One [`Fetcher`] serves one target and one [`Purpose`]. It exists to keep a
//! broken or hostile target from hurting watchdeck: every fetch has one total
//! deadline (connect, headers and body), the body is capped *after*
//! decompression and read chunk by chunk into a caller-owned buffer, redirects
//! are tightly limited, TLS is always verified, and header values are treated
//! as secrets. Every failure becomes a [`FetchError`] whose text is one plain
//! line an operator can act on, never containing a secret or a raw control
//! character.
//!
//! Bodies are bytes here: nothing in this layer assumes UTF-8; the parsers
//! decide what the bytes mean.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod error;

#[cfg(test)]
use error::human_duration;
pub use error::{body_error, human_bytes, request_error, FetchError, Phase};
use error::{deepest_cause, find_source};

use crate::text::{plain_text, truncate_chars};
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT, ACCEPT_ENCODING, CONTENT_TYPE, LOCATION,
};
use reqwest::redirect::{Attempt, Policy};
use reqwest::{Certificate, Client, Url};

/// What a fetch is for; it decides redirects, status handling and `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A Prometheus/OpenMetrics exposition: up to [`MAX_METRICS_REDIRECTS`]
    /// redirects to the same host (any port, never from https to http), and
    /// any non-2xx status is an error.
    Metrics,
    /// A health endpoint: no redirects at all, and the status is returned to
    /// the health parser rather than judged here.
    Health,
}

/// Limits applied to every fetch. They may change between fetches (config reload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Total deadline for one fetch: connecting, the response head and the whole body.
    pub timeout: Duration,
    /// Deadline for establishing the TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Largest body accepted, counted after decompression.
    pub max_body_bytes: usize,
}

impl HttpLimits {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
    pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            timeout: Self::DEFAULT_TIMEOUT,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// At most this many redirects are followed for [`Purpose::Metrics`].
pub const MAX_METRICS_REDIRECTS: usize = 3;

/// `Accept` for metrics: `OpenMetrics` preferred, the classic text format next.
pub const METRICS_ACCEPT: &str =
    "application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const HEALTH_ACCEPT: &str = "application/json,text/plain;q=0.9,*/*;q=0.1";
const USER_AGENT: &str = concat!("watchdeck/", env!("CARGO_PKG_VERSION"));

/// How much of an error body is quoted in [`FetchError::Status`].
const SNIPPET_CHARS: usize = 200;
/// How much of an error body is read to find that snippet. Larger than the
/// snippet so that a secret echoed near its end is still seen whole and redacted.
const SNIPPET_READ_BYTES: usize = 2048;
/// Longest server-provided text (a Location, a low-level cause) put in an error.
const QUOTE_CHARS: usize = 200;

/// The outcome of a successful fetch; the body itself is in the caller's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub status: u16,
    /// The `Content-Type` header, made printable.
    pub content_type: Option<String>,
    pub elapsed: Duration,
    /// Decompressed body length (equal to the buffer's length).
    pub body_len: usize,
}

/// An HTTP client for one target and one purpose.
pub struct Fetcher {
    purpose: Purpose,
    /// Defaults plus the configured headers (those marked sensitive).
    headers: HeaderMap,
    /// Names of the configured headers, for `Debug`.
    header_names: Vec<String>,
    /// Configured header values and their longer words, redacted from any
    /// server text we quote (servers sometimes echo the request).
    secrets: Vec<String>,
    extra_roots: Vec<Certificate>,
    /// reqwest sets the connect timeout per client, so the client is rebuilt
    /// when the configured connect timeout changes (rare: config reloads).
    client: Mutex<(Duration, Client)>,
}

impl fmt::Debug for Fetcher {
    // Hand-written so that header values can never show up, whatever reqwest prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetcher")
            .field("purpose", &self.purpose)
            .field("headers", &self.header_names)
            .field("extra_ca_certs", &self.extra_roots.len())
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// Builds the client. `headers` values are secrets: they are marked
    /// sensitive and never appear in errors or `Debug`. `ca_pem` adds trusted
    /// CA certificates (a PEM bundle) to the system roots.
    pub fn new(
        purpose: Purpose,
        headers: &[(String, String)],
        ca_pem: Option<&[u8]>,
    ) -> Result<Fetcher, FetchError> {
        let mut map = HeaderMap::new();
        let accept = match purpose {
            Purpose::Metrics => METRICS_ACCEPT,
            Purpose::Health => HEALTH_ACCEPT,
        };
        map.insert(ACCEPT, HeaderValue::from_static(accept));
        map.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip"));

        let mut header_names = Vec::with_capacity(headers.len());
        let mut secrets = Vec::new();
        for (name, value) in headers {
            let header_name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                FetchError::InvalidHeaderName {
                    name: plain_text(name.as_bytes(), 64),
                }
            })?;
            let mut header_value = HeaderValue::from_str(value.trim()).map_err(|_| {
                FetchError::InvalidHeaderValue {
                    name: header_name.to_string(),
                }
            })?;
            header_value.set_sensitive(true);
            // The first configured value replaces a default; later ones add to it.
            if header_names.iter().any(|n| n == header_name.as_str()) {
                map.append(header_name.clone(), header_value);
            } else {
                map.insert(header_name.clone(), header_value);
            }
            header_names.push(header_name.to_string());
            secrets.extend(secret_patterns(value.trim()));
        }

        let extra_roots = match ca_pem {
            None => Vec::new(),
            Some(pem) => {
                let certs = Certificate::from_pem_bundle(pem).map_err(|e| FetchError::BadCa {
                    reason: format!("it could not be read as PEM ({})", deepest_cause(&e)),
                })?;
                if certs.is_empty() {
                    return Err(FetchError::BadCa {
                        reason: "no \"BEGIN CERTIFICATE\" block found; give the CA certificate in PEM form".into(),
                    });
                }
                certs
            }
        };

        let connect_timeout = HttpLimits::DEFAULT_CONNECT_TIMEOUT;
        let client = build_client(purpose, &map, &extra_roots, connect_timeout)?;
        Ok(Fetcher {
            purpose,
            headers: map,
            header_names,
            secrets,
            extra_roots,
            client: Mutex::new((connect_timeout, client)),
        })
    }

    pub fn purpose(&self) -> Purpose {
        self.purpose
    }

    /// Fetches `url`, filling `buf` (cleared first; its capacity is reused across
    /// fetches) with the decompressed body. On error `buf` is left empty.
    ///
    /// `buf` never holds more than `limits.max_body_bytes`, and its capacity
    /// only grows up to that limit (or stays at what it already was).
    pub async fn fetch(
        &self,
        url: &Url,
        limits: &HttpLimits,
        buf: &mut Vec<u8>,
    ) -> Result<Fetched, FetchError> {
        buf.clear();
        let client = self.client_for(limits.connect_timeout)?;
        let started = Instant::now();
        let mut progress = Progress::Headers;
        // reqwest's own timeout is a second line of defence; the tokio timeout is
        // what guarantees the deadline whatever state hyper or the decoder is in.
        let outcome = tokio::time::timeout(
            limits.timeout,
            self.fetch_inner(&client, url, limits, buf, &mut progress),
        )
        .await;
        let result = match outcome {
            Ok(result) => result,
            Err(_elapsed) => Err(match progress {
                Progress::Headers => FetchError::Timeout {
                    after: limits.timeout,
                    phase: Phase::Headers,
                },
                Progress::Body => FetchError::Timeout {
                    after: limits.timeout,
                    phase: Phase::Body {
                        received: buf.len(),
                    },
                },
                // The status already says what went wrong; a slow error page is no news.
                Progress::ErrorBody { status, snippet } => self.status_error(status, &snippet),
            }),
        };
        match result {
            Ok(mut fetched) => {
                fetched.elapsed = started.elapsed();
                Ok(fetched)
            }
            Err(err) => {
                buf.clear();
                Err(err)
            }
        }
    }

    fn client_for(&self, connect_timeout: Duration) -> Result<Client, FetchError> {
        // A poisoned lock only means another fetch panicked mid-rebuild; the
        // stored client is still a whole value, so keep using it.
        let mut guard = self
            .client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard.0 != connect_timeout {
            let client = build_client(
                self.purpose,
                &self.headers,
                &self.extra_roots,
                connect_timeout,
            )?;
            *guard = (connect_timeout, client);
        }
        Ok(guard.1.clone())
    }

    async fn fetch_inner(
        &self,
        client: &Client,
        url: &Url,
        limits: &HttpLimits,
        buf: &mut Vec<u8>,
        progress: &mut Progress,
    ) -> Result<Fetched, FetchError> {
        let mut response = client
            .get(url.clone())
            .timeout(limits.timeout)
            .send()
            .await
            .map_err(|e| self.send_error(&e, url, limits))?;

        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| plain_text(v.as_bytes(), QUOTE_CHARS));

        if self.purpose == Purpose::Health && status.is_redirection() {
            if let Some(location) = response.headers().get(LOCATION) {
                return Err(FetchError::HealthRedirected {
                    status: status.as_u16(),
                    location: self.quote(location.as_bytes()),
                });
            }
        }

        if self.purpose == Purpose::Metrics && !status.is_success() {
            *progress = Progress::ErrorBody {
                status: status.as_u16(),
                snippet: Vec::new(),
            };
            while let Progress::ErrorBody { snippet, .. } = progress {
                if snippet.len() >= SNIPPET_READ_BYTES {
                    break;
                }
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        let room = SNIPPET_READ_BYTES - snippet.len();
                        snippet.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    }
                    // A broken error page still leaves the status to report.
                    Ok(None) | Err(_) => break,
                }
            }
            let snippet = match progress {
                Progress::ErrorBody { snippet, .. } => std::mem::take(snippet),
                _ => Vec::new(),
            };
            return Err(self.status_error(status.as_u16(), &snippet));
        }

        // Only a plain (not decompressed) body has a known length here.
        let announced = response.content_length();
        if let Some(announced) = announced {
            if announced > limits.max_body_bytes as u64 {
                return Err(FetchError::AnnouncedTooLarge {
                    announced,
                    limit: limits.max_body_bytes,
                });
            }
        }

        *progress = Progress::Body;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if buf.len() + chunk.len() > limits.max_body_bytes {
                        return Err(FetchError::BodyTooLarge {
                            limit: limits.max_body_bytes,
                        });
                    }
                    append_bounded(buf, &chunk, limits.max_body_bytes);
                }
                Ok(None) => break,
                Err(e) => return Err(body_error(&e, buf.len(), announced, limits)),
            }
        }

        Ok(Fetched {
            status: status.as_u16(),
            content_type,
            elapsed: Duration::ZERO,
            body_len: buf.len(),
        })
    }

    fn status_error(&self, status: u16, body: &[u8]) -> FetchError {
        let text = self.redact(&plain_text(body, SNIPPET_READ_BYTES));
        FetchError::Status {
            status,
            snippet: truncate_chars(&text, SNIPPET_CHARS),
        }
    }

    /// Server-provided text, made printable, with secrets removed, kept short.
    fn quote(&self, raw: &[u8]) -> String {
        let text = self.redact(&plain_text(raw, SNIPPET_READ_BYTES));
        truncate_chars(&text, QUOTE_CHARS)
    }

    fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "[redacted]");
            }
        }
        out
    }

    fn send_error(&self, err: &reqwest::Error, url: &Url, limits: &HttpLimits) -> FetchError {
        if let Some(refusal) = find_source::<RedirectRefusal>(err) {
            return match refusal {
                RedirectRefusal::TooMany { chain } => FetchError::TooManyRedirects {
                    max: MAX_METRICS_REDIRECTS,
                    chain: self.redact(chain),
                },
                RedirectRefusal::Loop { chain } => FetchError::RedirectLoop {
                    chain: self.redact(chain),
                },
                RedirectRefusal::CrossHost { to } => FetchError::CrossHostRedirect {
                    to: self.redact(to),
                },
                RedirectRefusal::Insecure { to } => FetchError::InsecureRedirect {
                    to: self.redact(to),
                },
            };
        }
        match request_error(err, url, limits) {
            FetchError::Other { cause } => FetchError::Other {
                cause: self.redact(&cause),
            },
            other => other,
        }
    }
}

/// How far a fetch got, so that a deadline can say where it struck.
enum Progress {
    Headers,
    Body,
    ErrorBody { status: u16, snippet: Vec<u8> },
}

fn build_client(
    purpose: Purpose,
    headers: &HeaderMap,
    extra_roots: &[Certificate],
    connect_timeout: Duration,
) -> Result<Client, FetchError> {
    let redirect = match purpose {
        Purpose::Metrics => Policy::custom(metrics_redirect),
        Purpose::Health => Policy::none(),
    };
    let mut builder = Client::builder()
        .user_agent(USER_AGENT)
        .default_headers(headers.clone())
        .connect_timeout(connect_timeout)
        .redirect(redirect)
        // A Referer would repeat the previous URL (and any token in its query).
        .referer(false)
        // Like Prometheus, ignore *_PROXY variables: a proxy meant for the
        // internet would silently swallow scrapes of internal services.
        .no_proxy()
        .tls_built_in_root_certs(true);
    for cert in extra_roots {
        builder = builder.add_root_certificate(cert.clone());
    }
    builder.build().map_err(|e| FetchError::Client {
        reason: deepest_cause(&e),
    })
}

/// Why a metrics redirect was refused; carried through reqwest as an error source.
#[derive(Debug, thiserror::Error)]
enum RedirectRefusal {
    #[error("too many redirects")]
    TooMany { chain: String },
    #[error("redirect loop")]
    Loop { chain: String },
    #[error("cross-host redirect")]
    CrossHost { to: String },
    #[error("https to http redirect")]
    Insecure { to: String },
}

fn metrics_redirect(attempt: Attempt<'_>) -> reqwest::redirect::Action {
    let previous = attempt.previous();
    let next = attempt.url();
    // `previous` starts with the original URL, so it holds one entry per hop taken so far.
    let Some(first) = previous.first() else {
        return attempt.follow();
    };
    if next.host() != first.host() {
        let to = redirect_target(next);
        return attempt.error(RedirectRefusal::CrossHost { to });
    }
    if previous.iter().any(|p| p.scheme() == "https") && next.scheme() != "https" {
        let to = redirect_target(next);
        return attempt.error(RedirectRefusal::Insecure { to });
    }
    if previous.contains(next) {
        let chain = redirect_chain(previous, next);
        return attempt.error(RedirectRefusal::Loop { chain });
    }
    if previous.len() > MAX_METRICS_REDIRECTS {
        let chain = redirect_chain(previous, next);
        return attempt.error(RedirectRefusal::TooMany { chain });
    }
    attempt.follow()
}

/// A redirect target for an error: host and path, no credentials or query.
fn redirect_target(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    let text = match url.port() {
        Some(port) => format!("{}://{host}:{port}{}", url.scheme(), url.path()),
        None => format!("{}://{host}{}", url.scheme(), url.path()),
    };
    truncate_chars(&plain_text(text.as_bytes(), QUOTE_CHARS), QUOTE_CHARS)
}

/// The paths of a redirect chain ("/a -> /b -> /a"); queries may hold tokens, so they are left out.
fn redirect_chain(previous: &[Url], next: &Url) -> String {
    let chain = previous
        .iter()
        .chain(std::iter::once(next))
        .map(Url::path)
        .collect::<Vec<_>>()
        .join(" -> ");
    truncate_chars(&plain_text(chain.as_bytes(), QUOTE_CHARS), QUOTE_CHARS)
}

/// Appends `chunk`, growing the capacity geometrically but never past `cap`,
/// so that a capped body never costs more than `cap` bytes of buffer.
/// The caller has checked that `buf.len() + chunk.len() <= cap`.
fn append_bounded(buf: &mut Vec<u8>, chunk: &[u8], cap: usize) {
    let needed = buf.len() + chunk.len();
    if needed > buf.capacity() {
        let target = buf.capacity().saturating_mul(2).min(cap).max(needed);
        buf.reserve_exact(target - buf.len());
    }
    buf.extend_from_slice(chunk);
}

/// Strings to redact from server text: each configured value, and its words
/// of four or more characters other than the auth scheme ("Bearer s3cr3t"
/// also hides a bare "s3cr3t").
fn secret_patterns(value: &str) -> Vec<String> {
    const SCHEMES: &[&str] = &["bearer", "basic", "token", "digest", "apikey", "negotiate"];
    let mut out = Vec::new();
    if value.len() >= 4 {
        out.push(value.to_owned());
    }
    for word in value.split_whitespace() {
        if word.len() >= 4
            && word != value
            && !SCHEMES.contains(&word.to_ascii_lowercase().as_str())
        {
            out.push(word.to_owned());
        }
    }
    // Longest first, so a whole value is replaced before its parts.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_drops_controls_and_collapses_space() {
        let raw = b"  line one\r\n\x1b[31mred\x1b[0m\ttab \xff\xfe end \xe2\x80\xae ";
        let text = plain_text(raw, 200);
        assert_eq!(text, "line one [31mred[0m tab \u{fffd}\u{fffd} end");
        assert!(!text.chars().any(char::is_control));
    }

    #[test]
    fn plain_text_truncates_on_char_boundaries() {
        let text = plain_text("ééééé".as_bytes(), 3);
        assert_eq!(text, "ééé…");
        assert_eq!(plain_text(&vec![b'a'; 1_000_000], 5), "aaaaa…");
    }

    #[test]
    fn sizes_and_durations_read_naturally() {
        assert_eq!(human_bytes(16 * 1024 * 1024), "16 MiB");
        assert_eq!(human_bytes(1536 * 1024), "1.5 MiB");
        assert_eq!(human_bytes(4096), "4 KiB");
        assert_eq!(human_bytes(300), "300 bytes");
        assert_eq!(human_duration(Duration::from_secs(1)), "1s");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(human_duration(Duration::from_secs(120)), "2m");
    }

    #[test]
    fn append_bounded_never_allocates_past_the_cap() {
        let cap = 10_000;
        let mut buf = Vec::new();
        while buf.len() + 333 <= cap {
            append_bounded(&mut buf, &[0u8; 333], cap);
            assert!(buf.capacity() <= cap);
        }
        assert_eq!(buf.len(), 333 * (cap / 333));
    }

    #[test]
    fn secret_patterns_skip_the_scheme_and_short_words() {
        let p = secret_patterns("Bearer s3cr3t");
        assert_eq!(p, ["Bearer s3cr3t", "s3cr3t"]);
        assert!(secret_patterns("ab").is_empty());
    }

    #[test]
    fn status_errors_say_the_status_and_a_hint() {
        let e = FetchError::Status {
            status: 404,
            snippet: String::new(),
        };
        assert_eq!(
            e.to_string(),
            "HTTP 404 Not Found (empty body); check the URL path"
        );
        let e = FetchError::Status {
            status: 503,
            snippet: "db down".into(),
        };
        assert_eq!(e.to_string(), "HTTP 503 Service Unavailable: db down");
    }
}
