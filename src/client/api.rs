//! A small JSON-over-HTTP client for monitoring APIs: the Prometheus HTTP API v1 (`promql`)
//! and the Alertmanager API v2 (`alertmanager`).
//!
//! It follows the scrape layer's rules (src/source/http.rs): rustls with the system roots, no
//! proxy, no redirects, one total deadline per request, the body capped after decompression,
//! and every failure one plain line. Credentials are [`Secret`]s: they go on the wire only,
//! never into errors, `Debug` or a plan (they show as `***`).

use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT, ACCEPT_ENCODING, CONTENT_TYPE};
use reqwest::redirect::Policy;
use reqwest::{Client, Method, Url};

use crate::client::http::{body_error, request_error, FetchError, HttpLimits};
use crate::config::Secret;
use crate::text::display_url;
use crate::text::mask_secrets;
use crate::text::{plain_text, truncate_chars};

const USER_AGENT: &str = concat!("watchdeck/", env!("CARGO_PKG_VERSION"));
/// The tenant header of Mimir, Cortex, Loki and Thanos' receive; not a secret.
pub const TENANT_HEADER: &str = "X-Scope-OrgID";
/// How much server text an error quotes.
const QUOTE_CHARS: usize = 300;

/// How requests authenticate.
#[derive(Clone, Default)]
pub enum Auth {
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// `Authorization: Basic …` from a user name and a password.
    Basic { user: String, password: Secret },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
            Auth::Basic { user, .. } => write!(f, "Basic({user}:***)"),
        }
    }
}

/// Where an API is and how to talk to it (the lead maps the config file onto this).
#[derive(Debug, Clone)]
pub struct ApiSpec {
    /// Base URL, e.g. `http://prometheus:9090` or `https://mimir.example/prometheus`;
    /// the API paths (`/api/v1/query`) are appended to its path.
    pub base_url: String,
    pub auth: Auth,
    /// Value of the `X-Scope-OrgID` header (multi-tenant stores).
    pub tenant: Option<String>,
    pub limits: HttpLimits,
}

impl ApiSpec {
    pub fn new(base_url: impl Into<String>) -> ApiSpec {
        ApiSpec {
            base_url: base_url.into(),
            auth: Auth::None,
            tenant: None,
            limits: HttpLimits::default(),
        }
    }
}

/// Why a request to a monitoring API failed. Messages are one line, free of secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error("{service}: the URL {url:?} is not usable: {reason}")]
    BadUrl {
        service: &'static str,
        url: String,
        reason: String,
    },
    #[error("{service}: {what}")]
    Invalid { service: &'static str, what: String },
    #[error("{service} at {url}: {source}")]
    Transport {
        service: &'static str,
        url: String,
        source: FetchError,
    },
    #[error("{service} at {url} answered HTTP {status}: {message}")]
    Status {
        service: &'static str,
        url: String,
        status: u16,
        message: String,
    },
    /// The server understood the request and refused it (Prometheus' `status: error`).
    #[error("{service} at {url} rejected the query ({kind}): {message}")]
    Rejected {
        service: &'static str,
        url: String,
        kind: String,
        message: String,
    },
    #[error("{service} at {url} sent an answer this client does not understand ({what}); check that the URL points at the {service} API")]
    BadResponse {
        service: &'static str,
        url: String,
        what: String,
    },
}

/// A response whose body was read in full (within the cap); any status.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    pub body: Vec<u8>,
    /// The endpoint as it may be shown (no query, no user info).
    pub url: String,
}

/// One API's client: a base URL, credentials and limits.
pub struct ApiClient {
    service: &'static str,
    base: Url,
    auth: Auth,
    tenant: Option<HeaderValue>,
    limits: HttpLimits,
    client: Client,
    /// Secret values to keep out of anything quoted from the server.
    secrets: Vec<String>,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("service", &self.service)
            .field("base", &display_url(&self.base))
            .field("auth", &self.auth)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl ApiClient {
    /// `service` names the API in errors ("Prometheus", "Alertmanager").
    pub fn new(service: &'static str, spec: &ApiSpec) -> Result<ApiClient, ApiError> {
        let bad = |reason: &str| ApiError::BadUrl {
            service,
            url: plain_text(spec.base_url.as_bytes(), 200),
            reason: reason.to_owned(),
        };
        let mut base = Url::parse(spec.base_url.trim()).map_err(|e| bad(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(bad("only http:// and https:// are supported"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            // A password in the URL would end up in plans and errors; basic auth has its field.
            return Err(bad(
                "user info in the URL is not accepted; give basic auth as user and password instead",
            ));
        }
        base.set_query(None);
        base.set_fragment(None);
        let tenant = match &spec.tenant {
            None => None,
            Some(t) => Some(
                HeaderValue::from_str(t.trim()).map_err(|_| ApiError::Invalid {
                    service,
                    what: "the tenant (X-Scope-OrgID) must be visible text without line breaks"
                        .into(),
                })?,
            ),
        };
        let secrets = match &spec.auth {
            Auth::None => Vec::new(),
            Auth::Bearer(token) => vec![token.expose().to_owned()],
            // The header carries base64(user:password): a server echoing it must not leak it.
            Auth::Basic { user, password } => vec![
                password.expose().to_owned(),
                base64(format!("{user}:{}", password.expose()).as_bytes()),
            ],
        };
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        let client = Client::builder()
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .connect_timeout(spec.limits.connect_timeout)
            // An API answer is never a redirect worth following with credentials attached.
            .redirect(Policy::none())
            .referer(false)
            // Like the scrape layer: a proxy meant for the internet must not swallow these.
            .no_proxy()
            .tls_built_in_root_certs(true)
            .build()
            .map_err(|e| ApiError::Invalid {
                service,
                what: format!("could not set up the HTTP client: {e}"),
            })?;
        Ok(ApiClient {
            service,
            base,
            auth: spec.auth.clone(),
            tenant,
            limits: spec.limits,
            client,
            secrets,
        })
    }

    pub fn service(&self) -> &'static str {
        self.service
    }

    /// The base URL's path joined with `path` (which starts with `/`).
    pub fn endpoint(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}{}", url.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        url
    }

    /// Sends one request and reads the whole body (any status). `body` is sent as JSON.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<ApiResponse, ApiError> {
        let mut url = self.endpoint(path);
        let shown = display_url(&url);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut request = self
            .client
            .request(method, url.clone())
            .timeout(self.limits.timeout);
        request = match &self.auth {
            Auth::None => request,
            // reqwest marks both Authorization values sensitive.
            Auth::Bearer(token) => request.bearer_auth(token.expose()),
            Auth::Basic { user, password } => request.basic_auth(user, Some(password.expose())),
        };
        if let Some(tenant) = &self.tenant {
            request = request.header(TENANT_HEADER, tenant.clone());
        }
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, "application/json").body(body);
        }
        let transport = |source: FetchError| ApiError::Transport {
            service: self.service,
            url: shown.clone(),
            source: self.redact_fetch(source),
        };
        let limits = self.limits;
        let read = async {
            let mut response = request
                .send()
                .await
                .map_err(|e| transport(request_error(&e, &url, &limits)))?;
            let status = response.status().as_u16();
            if let Some(announced) = response.content_length() {
                if announced > limits.max_body_bytes as u64 {
                    return Err(transport(FetchError::AnnouncedTooLarge {
                        announced,
                        limit: limits.max_body_bytes,
                    }));
                }
            }
            let mut buf = Vec::new();
            loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        if buf.len() + chunk.len() > limits.max_body_bytes {
                            return Err(transport(FetchError::BodyTooLarge {
                                limit: limits.max_body_bytes,
                            }));
                        }
                        buf.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        return Err(transport(body_error(
                            &e,
                            buf.len(),
                            response.content_length(),
                            &limits,
                        )))
                    }
                }
            }
            Ok(ApiResponse {
                status,
                body: buf,
                url: shown.clone(),
            })
        };
        // reqwest's timeout is per phase in places; this one bounds the whole exchange.
        match tokio::time::timeout(limits.timeout, read).await {
            Ok(result) => result,
            Err(_) => Err(transport(FetchError::Timeout {
                after: limits.timeout,
                phase: crate::client::http::Phase::Headers,
            })),
        }
    }

    /// Server text made printable, short, and free of our secrets.
    pub fn quote(&self, raw: &[u8]) -> String {
        let text = mask_secrets(&plain_text(raw, 4 * QUOTE_CHARS), &self.secrets);
        truncate_chars(&text, QUOTE_CHARS)
    }

    fn redact_fetch(&self, err: FetchError) -> FetchError {
        match err {
            FetchError::Other { cause } => FetchError::Other {
                cause: mask_secrets(&cause, &self.secrets),
            },
            other => other,
        }
    }

    /// The error for a non-2xx answer whose body says nothing more structured.
    pub fn status_error(&self, response: &ApiResponse, message: Option<String>) -> ApiError {
        let message = message
            .map(|m| mask_secrets(&truncate_chars(&m, QUOTE_CHARS), &self.secrets))
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| {
                let q = self.quote(&response.body);
                if q.is_empty() {
                    "no explanation in the body".into()
                } else {
                    q
                }
            });
        ApiError::Status {
            service: self.service,
            url: response.url.clone(),
            status: response.status,
            message,
        }
    }

    pub fn bad_response(&self, response: &ApiResponse, what: impl Into<String>) -> ApiError {
        ApiError::BadResponse {
            service: self.service,
            url: response.url.clone(),
            what: what.into(),
        }
    }

    /// The URL of `path` as it may be shown (no credentials).
    pub fn shown_url(&self, path: &str) -> String {
        display_url(&self.endpoint(path))
    }

    /// The headers a request sends, as a plan shows them: credentials masked.
    pub fn shown_headers(&self, json_body: bool) -> Vec<(String, String)> {
        let mut headers = Vec::new();
        match &self.auth {
            Auth::None => {}
            Auth::Bearer(_) => headers.push(("Authorization".into(), "Bearer ***".into())),
            Auth::Basic { user, .. } => {
                headers.push(("Authorization".into(), format!("Basic {user}:***")));
            }
        }
        if let Some(t) = &self.tenant {
            headers.push((
                TENANT_HEADER.to_owned(),
                plain_text(t.as_bytes(), QUOTE_CHARS),
            ));
        }
        if json_body {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        headers
    }

    /// The secret values (for an action's `Ctx::secrets`).
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    pub fn timeout(&self) -> Duration {
        self.limits.timeout
    }
}

/// Standard base64 with padding (as in `Authorization: Basic`).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"ops:pw-0123456789"), "b3BzOnB3LTAxMjM0NTY3ODk=");
    }
}
