//! Silences in the configured Alertmanager as actions: created and expired through the same
//! plan → confirm → lock → audit path as every other action.

use std::time::Duration;

use super::exec::{ActionError, Request};
use super::{Ctx, Risk, Step};
use crate::config::alertmanager::AlertmanagerConfig;
use crate::source::alertmanager::{now_ms, AmClient, Matcher, NewSilence};
use crate::source::api::{ApiSpec, Auth};

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
            let steps = c
                .create_silence_plan(&s)
                .map_err(|e| invalid(e.to_string()))?;
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
            let steps = c
                .expire_silence_plan(id)
                .map_err(|e| invalid(e.to_string()))?;
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
            AmPlan::Create(s) => c
                .create_silence(s)
                .await
                .map(|id| {
                    format!(
                        "silence {id} created, until {}",
                        crate::fmt::clock(s.ends_at_ms)
                    )
                })
                .map_err(|e| e.to_string()),
            AmPlan::Expire(id) => c
                .expire_silence(id)
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
