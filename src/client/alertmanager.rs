//! Alertmanager's API v2: the firing alerts (labels, annotations, runbook links, since when) and
//! the silences. Creating and expiring a silence are writes, so they live with the actions
//! (`actions::am`), which send them through [`AmClient::api`].

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use reqwest::Method;
use serde::Deserialize;

use crate::client::api::{ApiClient, ApiError, ApiResponse, ApiSpec};
use crate::obs::alertmanager::Matcher;
use crate::obs::alertmanager::{Alert, AlertState, Silence, SilenceState};

/// Which alerts to list (the API's query parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertFilter {
    pub active: bool,
    pub silenced: bool,
    pub inhibited: bool,
    /// Matchers such as `severity="page"`, ANDed by the server.
    pub matchers: Vec<String>,
}

impl Default for AlertFilter {
    fn default() -> Self {
        AlertFilter {
            active: true,
            silenced: true,
            inhibited: true,
            matchers: Vec::new(),
        }
    }
}

/// A client of one Alertmanager.
#[derive(Debug)]
pub struct AmClient {
    api: ApiClient,
}

impl AmClient {
    pub fn new(spec: &ApiSpec) -> Result<AmClient, ApiError> {
        Ok(AmClient {
            api: ApiClient::new("Alertmanager", spec)?,
        })
    }

    /// The API client under this one (for the writes, which live in `actions::am`).
    pub fn api(&self) -> &ApiClient {
        &self.api
    }

    /// `GET /api/v2/alerts`, sorted by start time (oldest first), then name.
    pub async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>, ApiError> {
        let flag = |b: bool| if b { "true" } else { "false" };
        let mut params = vec![
            ("active", flag(filter.active)),
            ("silenced", flag(filter.silenced)),
            ("inhibited", flag(filter.inhibited)),
        ];
        params.extend(filter.matchers.iter().map(|m| ("filter", m.as_str())));
        let (response, raw): (_, Vec<RawAlert>) = self.get("/api/v2/alerts", &params).await?;
        let mut alerts = Vec::with_capacity(raw.len());
        for a in raw {
            alerts.push(Alert {
                starts_at_ms: self.time(&response, &a.starts_at)?,
                ends_at_ms: a.ends_at.as_deref().and_then(parse_time),
                state: match a.status.state.as_str() {
                    "suppressed" => AlertState::Suppressed,
                    "unprocessed" => AlertState::Unprocessed,
                    _ => AlertState::Active,
                },
                fingerprint: a.fingerprint,
                labels: a.labels,
                annotations: a.annotations,
                silenced_by: a.status.silenced_by,
                inhibited_by: a.status.inhibited_by,
                generator_url: a.generator_url.filter(|u| !u.is_empty()),
                receivers: a.receivers.into_iter().map(|r| r.name).collect(),
            });
        }
        alerts.sort_by(|a, b| (a.starts_at_ms, a.name()).cmp(&(b.starts_at_ms, b.name())));
        Ok(alerts)
    }

    /// `GET /api/v2/silences`, newest end first.
    pub async fn silences(&self) -> Result<Vec<Silence>, ApiError> {
        let (response, raw): (_, Vec<RawSilence>) = self.get("/api/v2/silences", &[]).await?;
        let mut out = Vec::with_capacity(raw.len());
        for s in raw {
            out.push(Silence {
                starts_at_ms: self.time(&response, &s.starts_at)?,
                ends_at_ms: self.time(&response, &s.ends_at)?,
                state: match s.status.state.as_str() {
                    "active" => SilenceState::Active,
                    "pending" => SilenceState::Pending,
                    _ => SilenceState::Expired,
                },
                id: s.id,
                matchers: s.matchers,
                created_by: s.created_by,
                comment: s.comment,
            });
        }
        out.sort_by_key(|s| std::cmp::Reverse(s.ends_at_ms));
        Ok(out)
    }

    /// `GET path` with `query`: the answer (its clock dates the times in the body) and its JSON
    /// body.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<(ApiResponse, T), ApiError> {
        let response = self.api.send(Method::GET, path, query, None).await?;
        let body = self.json(&response)?;
        Ok((response, body))
    }

    /// A 2xx answer's JSON body, or the error in plain words.
    pub fn json<T: serde::de::DeserializeOwned>(
        &self,
        response: &ApiResponse,
    ) -> Result<T, ApiError> {
        if !(200..300).contains(&response.status) {
            return Err(self.api.status_error(response, am_message(&response.body)));
        }
        serde_json::from_slice(&response.body).map_err(|e| {
            self.api
                .bad_response(response, format!("unexpected JSON: {e}"))
        })
    }

    fn time(&self, response: &ApiResponse, text: &str) -> Result<i64, ApiError> {
        parse_time(text).ok_or_else(|| {
            self.api
                .bad_response(response, format!("time {text:?} is not RFC 3339"))
        })
    }
}

/// Alertmanager's error bodies: a JSON string, `{"message": …}`, or plain text.
pub fn am_message(body: &[u8]) -> Option<String> {
    match serde_json::from_slice::<serde_json::Value>(body).ok()? {
        serde_json::Value::String(s) => Some(s),
        v => v.get("message").and_then(|m| m.as_str()).map(str::to_owned),
    }
}

/// RFC 3339 (`2026-11-25T18:40:00.123Z`, or with an offset such as `+02:00`) to epoch ms.
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    // humantime reads UTC ('Z') only: move an explicit offset into the result by hand.
    let (utc, offset_s) = match text.len().checked_sub(6).map(|i| text.split_at(i)) {
        Some((head, tail))
            if (tail.starts_with('+') || tail.starts_with('-')) && tail.as_bytes()[3] == b':' =>
        {
            let h: i64 = tail[1..3].parse().ok()?;
            let m: i64 = tail[4..6].parse().ok()?;
            let sign = if tail.starts_with('-') { -1 } else { 1 };
            (format!("{head}Z"), sign * (h * 3600 + m * 60))
        }
        _ => (text.to_owned(), 0),
    };
    let t = humantime::parse_rfc3339_weak(&utc).ok()?;
    let ms = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    };
    Some(ms - offset_s * 1000)
}

/// Epoch ms to RFC 3339 UTC with milliseconds.
pub fn format_time(ms: i64) -> String {
    let t = if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH
    };
    humantime::format_rfc3339_millis(t).to_string()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAlert {
    #[serde(default)]
    fingerprint: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    starts_at: String,
    ends_at: Option<String>,
    status: RawAlertStatus,
    #[serde(rename = "generatorURL")]
    generator_url: Option<String>,
    #[serde(default)]
    receivers: Vec<RawReceiver>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAlertStatus {
    state: String,
    #[serde(default)]
    silenced_by: Vec<String>,
    #[serde(default)]
    inhibited_by: Vec<String>,
}

#[derive(Deserialize)]
struct RawReceiver {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSilence {
    id: String,
    matchers: Vec<Matcher>,
    starts_at: String,
    ends_at: String,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    comment: String,
    status: RawSilenceStatus,
}

#[derive(Deserialize)]
struct RawSilenceStatus {
    state: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_and_offsets_apply() {
        let ms = 1_764_096_000_123;
        assert_eq!(parse_time(&format_time(ms)), Some(ms));
        assert_eq!(
            parse_time("2025-11-25T19:00:00.123+01:00"),
            parse_time("2025-11-25T18:00:00.123Z")
        );
        assert_eq!(parse_time("yesterday"), None);
    }
}
