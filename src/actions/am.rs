//! Silences in the configured Alertmanager as actions: created and expired through the same
//! plan → confirm → lock → audit path as every other action.

use std::time::Duration;

use super::exec::{ActionError, Request};
use super::{Ctx, Risk, Step};
use crate::client::alertmanager::{am_message, format_time, AmClient};
use crate::client::api::{ApiClient, ApiError, ApiSpec, Auth};
use crate::config::alertmanager::AlertmanagerConfig;
use crate::obs::alertmanager::Matcher;
use crate::obs::now_ms;
use reqwest::Method;
use serde::Deserialize;

/// A planned silence change.
#[derive(Debug, Clone)]
pub(super) enum AmPlan {
    Create(NewSilence),
    Expire(String),
}

fn client(am: &AlertmanagerConfig) -> Result<AmClient, String> {
    let mut spec = ApiSpec::new(am.url.to_string());
    spec.auth = am.token.clone().map_or(Auth::None, Auth::Bearer);
    spec.tenant.clone_from(&am.tenant);
    AmClient::new(&spec).map_err(|e| e.to_string())
}

/// What is shown and confirmed: (risk, title, steps, fingerprint, plan).
pub(super) fn plan(
    am: &AlertmanagerConfig,
    req: &Request,
) -> Result<(Risk, String, Vec<Step>, String, AmPlan), ActionError> {
    let invalid = |e: String| ActionError::Invalid(e);
    let c = client(am).map_err(invalid)?;
    match req {
        Request::Silence {
            labels,
            minutes,
            comment,
        } => {
            if labels.is_empty() {
                return Err(invalid(
                    "a silence needs at least one label to match".into(),
                ));
            }
            let start = now_ms();
            let s = NewSilence {
                matchers: labels
                    .iter()
                    .map(|(k, v)| Matcher::equal(k.as_str(), v.as_str()))
                    .collect(),
                starts_at_ms: start,
                ends_at_ms: start + i64::from(*minutes) * 60_000,
                created_by: super::audit::Operator::current().user,
                comment: comment.clone(),
            };
            let steps = create_silence_plan(&c, &s).map_err(|e| invalid(e.to_string()))?;
            let what: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            Ok((
                Risk::Low,
                format!("Silence {} in {} for {minutes} min", what.join(","), am.url),
                steps,
                format!("silence {} for {minutes}m", what.join(",")),
                AmPlan::Create(s),
            ))
        }
        Request::Unsilence { id } => {
            let steps = expire_silence_plan(&c, id).map_err(|e| invalid(e.to_string()))?;
            Ok((
                Risk::Low,
                format!("Expire silence {id} in {}", am.url),
                steps,
                format!("expire {id}"),
                AmPlan::Expire(id.clone()),
            ))
        }
        _ => Err(invalid("not an Alertmanager action".into())),
    }
}

/// Carries out the plan; the summary names the silence.
pub(super) async fn run(am: &AlertmanagerConfig, p: &AmPlan, ctx: &Ctx) -> Result<String, String> {
    let c = client(am)?;
    let work = async {
        match p {
            AmPlan::Create(s) => create_silence(&c, s)
                .await
                .map(|id| {
                    format!(
                        "silence {id} created, until {}",
                        crate::fmt::clock(s.ends_at_ms)
                    )
                })
                .map_err(|e| e.to_string()),
            AmPlan::Expire(id) => expire_silence(&c, id)
                .await
                .map(|()| format!("silence {id} expired"))
                .map_err(|e| e.to_string()),
        }
    };
    tokio::select! {
        r = work => r,
        () = ctx.cancel.cancelled() => Err("cancelled before the Alertmanager answered".into()),
        () = tokio::time::sleep(ctx.remaining().max(Duration::from_millis(1))) => {
            Err("the Alertmanager did not answer within the action's timeout".into())
        }
    }
}

/// A silence to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSilence {
    pub matchers: Vec<Matcher>,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub created_by: String,
    pub comment: String,
}

#[derive(Deserialize)]
struct Created {
    #[serde(rename = "silenceID")]
    silence_id: String,
}

/// A request as a plan line: method, URL, headers with the credentials masked.
fn plan_http(api: &ApiClient, method: &str, path: &str, json_body: bool, expect: u16) -> Step {
    let mut step = Step::Http {
        method: method.to_owned(),
        url: api.shown_url(path),
        headers: api.shown_headers(json_body),
        expect_status: expect,
    };
    step.mask(api.secrets());
    step
}

/// What [`create_silence`] will send.
pub fn create_silence_plan(c: &AmClient, silence: &NewSilence) -> Result<Vec<Step>, ApiError> {
    let body = silence_body(c, silence)?;
    let mut note = Step::Note {
        text: format!("body: {}", String::from_utf8_lossy(&body)),
    };
    note.mask(c.api().secrets());
    Ok(vec![
        plan_http(c.api(), "POST", "/api/v2/silences", true, 200),
        note,
    ])
}

/// `POST /api/v2/silences`; returns the new silence's id.
pub async fn create_silence(c: &AmClient, silence: &NewSilence) -> Result<String, ApiError> {
    let body = silence_body(c, silence)?;
    let response = c
        .api()
        .send(Method::POST, "/api/v2/silences", &[], Some(body))
        .await?;
    let created: Created = c.json(&response)?;
    Ok(created.silence_id)
}

/// What [`expire_silence`] will send.
pub fn expire_silence_plan(c: &AmClient, id: &str) -> Result<Vec<Step>, ApiError> {
    let path = silence_path(c, id)?;
    Ok(vec![plan_http(c.api(), "DELETE", &path, false, 200)])
}

/// `DELETE /api/v2/silence/{id}`: the silence ends now (it stays listed as expired).
pub async fn expire_silence(c: &AmClient, id: &str) -> Result<(), ApiError> {
    let path = silence_path(c, id)?;
    let response = c.api().send(Method::DELETE, &path, &[], None).await?;
    if (200..300).contains(&response.status) {
        Ok(())
    } else {
        Err(c.api().status_error(&response, am_message(&response.body)))
    }
}

fn silence_path(c: &AmClient, id: &str) -> Result<String, ApiError> {
    // Ids are UUIDs; anything else would change the request's path.
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(ApiError::Invalid {
            service: c.api().service(),
            what: format!("{id:?} is not a silence id (letters, digits and '-')"),
        });
    }
    Ok(format!("/api/v2/silence/{id}"))
}

fn silence_body(c: &AmClient, s: &NewSilence) -> Result<Vec<u8>, ApiError> {
    let invalid = |what: &str| ApiError::Invalid {
        service: c.api().service(),
        what: format!("cannot create the silence: {what}"),
    };
    if s.matchers.is_empty() || s.matchers.iter().any(|m| m.name.trim().is_empty()) {
        return Err(invalid(
            "it needs at least one matcher, each with a label name",
        ));
    }
    if s.ends_at_ms <= s.starts_at_ms {
        return Err(invalid("it must end after it starts"));
    }
    if s.created_by.trim().is_empty() || s.comment.trim().is_empty() {
        return Err(invalid("Alertmanager requires a creator and a comment"));
    }
    let body = serde_json::json!({
        "matchers": s.matchers,
        "startsAt": format_time(s.starts_at_ms),
        "endsAt": format_time(s.ends_at_ms),
        "createdBy": s.created_by,
        "comment": s.comment,
    });
    serde_json::to_vec(&body).map_err(|e| invalid(&e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn plans_show_the_request_with_credentials_masked() {
        let mut spec = ApiSpec::new("http://am.example:9093/am");
        spec.auth = Auth::Bearer(Secret::new("s3cr3t-token"));
        spec.tenant = Some("team-a".into());
        let am = AmClient::new(&spec).expect("client");
        let plan = create_silence_plan(
            &am,
            &NewSilence {
                matchers: vec![Matcher::equal("alertname", "DiskFull")],
                starts_at_ms: 1_000,
                ends_at_ms: 3_601_000,
                created_by: "ops".into(),
                comment: "s3cr3t-token in a comment".into(),
            },
        )
        .expect("plan");
        let text: Vec<String> = plan.iter().map(Step::describe).collect();
        assert_eq!(
            text[0],
            "POST http://am.example:9093/am/api/v2/silences  Authorization: Bearer ***  X-Scope-OrgID: team-a  Content-Type: application/json  (expect 200)"
        );
        assert!(
            text[1].contains(r#""endsAt":"1970-01-01T01:00:01.000Z""#),
            "{}",
            text[1]
        );
        assert!(!text.join(" ").contains("s3cr3t"));
        let plan = expire_silence_plan(&am, "0b9f-77").expect("plan");
        assert_eq!(
            plan[0].describe(),
            "DELETE http://am.example:9093/am/api/v2/silence/0b9f-77  Authorization: Bearer ***  X-Scope-OrgID: team-a  (expect 200)"
        );
        assert!(expire_silence_plan(&am, "../alerts").is_err());
    }
}
