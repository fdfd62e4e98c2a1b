//! `[alertmanager]`: an Alertmanager (API v2) whose firing alerts and silences the cockpit shows
//! beside its own (`M`), for fleets whose alerting already lives there.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::endpoint::url;
use super::error::Problems;
use super::secret::{is_env_name, Secret};
use super::validate::{positive_duration, Context};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertmanagerFile {
    pub url: Spanned<String>,
    pub token_env: Option<Spanned<String>>,
    pub tenant: Option<Spanned<String>>,
    pub interval: Option<Spanned<toml::Value>>,
}

pub(super) const ALERTMANAGER_KEYS: &[&str] = &["url", "token_env", "tenant", "interval"];

/// A bearer token named by `token_env`: `Ok(None)` without one, `Err` (reported) when the
/// name is not a variable name or the variable is unset.
pub(super) fn token_env(
    ctx: &str,
    name: Option<&Spanned<String>>,
    example: &str,
    cx: &Context<'_>,
    p: &mut Problems<'_>,
) -> Result<Option<Secret>, ()> {
    match name {
        None => Ok(None),
        Some(name) if !is_env_name(name.get_ref()) => {
            p.push(&name.span(), format!("{ctx}token_env {:?} is not a variable name — give the name of the variable holding the token, e.g. \"{example}\"", name.get_ref()));
            Err(())
        }
        Some(name) => match (cx.env)(name.get_ref()) {
            Some(v) if !v.is_empty() => Ok(Some(Secret::new(v))),
            _ => {
                p.push(
                    &name.span(),
                    format!(
                        "{ctx}token_env: ${} is not set — export it, or remove token_env",
                        name.get_ref()
                    ),
                );
                Err(())
            }
        },
    }
}

/// A validated `[alertmanager]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertmanagerConfig {
    /// Base URL, e.g. `http://127.0.0.1:9093`.
    pub url: reqwest::Url,
    /// Bearer token, read from the variable `token_env` names.
    pub token: Option<Secret>,
    /// `X-Scope-OrgID`, for multi-tenant Alertmanagers (Mimir, Cortex).
    pub tenant: Option<String>,
    pub interval: Duration,
}

pub(super) fn alertmanager(
    f: &Spanned<AlertmanagerFile>,
    cx: &Context<'_>,
    p: &mut Problems<'_>,
) -> Option<AlertmanagerConfig> {
    let f = f.get_ref();
    let ctx = "[alertmanager] ";
    let url = url(ctx, "url", &f.url, p);
    let token = token_env(ctx, f.token_env.as_ref(), "AM_TOKEN", cx, p).ok();
    let interval = f
        .interval
        .as_ref()
        .map_or(Some(Duration::from_secs(15)), |v| {
            positive_duration(ctx, "interval", v, p)
        });
    Some(AlertmanagerConfig {
        url: url?,
        token: token?,
        tenant: f.tenant.as_ref().map(|t| t.get_ref().clone()),
        interval: interval?,
    })
}
