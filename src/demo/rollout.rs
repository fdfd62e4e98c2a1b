//! The REST API twin's Deployment: a revision number that `kubectl rollout undo` (here
//! `watchdeck demo kubectl`, the demo's stand-in) moves back, with a rollout that keeps the
//! readiness probe failing for a moment — so the demo's command rollback has an undo, a status
//! wait and a server-side dry run that all talk to something real.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use hyper::StatusCode;

use super::server::Reply;

/// How long a rollout takes.
pub const ROLLOUT_TIME: Duration = Duration::from_secs(2);
/// The revision the twin starts at.
pub const START_REVISION: u32 = 7;

#[derive(Debug)]
pub(crate) struct Rollout {
    state: Mutex<(u32, Option<Instant>)>,
}

impl Rollout {
    pub(crate) fn new() -> Rollout {
        Rollout {
            state: Mutex::new((START_REVISION, None)),
        }
    }

    fn rolling(until: Option<Instant>) -> bool {
        until.is_some_and(|t| Instant::now() < t)
    }

    /// `POST /admin/rollout/undo[?dry_run=server]`.
    pub(crate) fn undo(&self, dry_run: bool) -> Reply {
        let Ok(mut s) = self.state.lock() else {
            return Reply::text(StatusCode::INTERNAL_SERVER_ERROR, "state lost\n");
        };
        if s.0 <= 1 {
            return Reply::text(
                StatusCode::CONFLICT,
                "error: no rollout history found for deployment \"rest-api\"\n",
            );
        }
        if dry_run {
            return Reply::text(
                StatusCode::OK,
                format!(
                    "deployment.apps/rest-api rolled back to revision {} (server dry run)\n",
                    s.0 - 1
                ),
            );
        }
        s.0 -= 1;
        s.1 = Some(Instant::now() + ROLLOUT_TIME);
        Reply::text(
            StatusCode::OK,
            format!("deployment.apps/rest-api rolled back to revision {}\n", s.0),
        )
    }

    /// `GET /admin/rollout/status`: 200 once the rollout is complete, 503 while it runs.
    pub(crate) fn status(&self) -> Reply {
        let s = self.state.lock().map_or((0, None), |s| *s);
        if Self::rolling(s.1) {
            Reply::text(
                StatusCode::SERVICE_UNAVAILABLE,
                "Waiting for deployment \"rest-api\" rollout to finish: 1 of 2 updated replicas are available...\n",
            )
        } else {
            Reply::text(
                StatusCode::OK,
                format!(
                    "deployment \"rest-api\" successfully rolled out (revision {})\n",
                    s.0
                ),
            )
        }
    }

    /// The readiness answer while a rollout runs; `None`: the service's own.
    pub(crate) fn health(&self, path: &str) -> Option<Reply> {
        let s = self.state.lock().map_or((0, None), |s| *s);
        (Self::rolling(s.1) && path.contains("ready")).then(|| {
            Reply::text(
                StatusCode::SERVICE_UNAVAILABLE,
                "{\"status\":\"error\",\"error\":{\"rollout\":{\"status\":\"down\"}}}\n",
            )
        })
    }
}
