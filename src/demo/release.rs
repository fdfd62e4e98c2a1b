//! The overlay twin's releases: it runs whatever `current` points at, restarts when asked
//! (`POST /admin/restart`, what the demo's `restart` argv calls), and fails its health checks
//! while restarting or when the live release carries a `BROKEN` file — so a rollback in the
//! demo is switched, restarted and health-gated for real, and `touch releases/<ts>/BROKEN`
//! shows the revert.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hyper::StatusCode;

use super::server::Reply;

/// How long a restart keeps the service unhealthy.
pub const RESTART_TIME: Duration = Duration::from_millis(1500);

#[derive(Debug)]
pub(crate) struct Releases {
    root: PathBuf,
    restarting_until: Mutex<Option<Instant>>,
    /// The release loaded at the last (re)start: a swapped `current` takes effect on restart.
    running: Mutex<Option<String>>,
}

impl Releases {
    pub(crate) fn new(root: &Path) -> Releases {
        Releases {
            root: root.to_path_buf(),
            restarting_until: Mutex::new(None),
            running: Mutex::new(current(root)),
        }
    }

    /// `POST /admin/restart`: loads the release `current` points at now.
    pub(crate) fn restart(&self) -> Reply {
        let release = current(&self.root);
        if let Ok(mut r) = self.running.lock() {
            r.clone_from(&release);
        }
        if let Ok(mut u) = self.restarting_until.lock() {
            *u = Some(Instant::now() + RESTART_TIME);
        }
        Reply::text(
            StatusCode::OK,
            format!(
                "restarting with release {}\n",
                release.as_deref().unwrap_or("(none)")
            ),
        )
    }

    /// The release loaded at the last (re)start.
    pub(crate) fn running(&self) -> Option<String> {
        self.running.lock().ok().and_then(|r| r.clone())
    }

    /// The health answer while restarting or on a broken release; `None`: the service's own.
    pub(crate) fn health(&self) -> Option<Reply> {
        let restarting = self
            .restarting_until
            .lock()
            .ok()
            .and_then(|u| *u)
            .is_some_and(|t| Instant::now() < t);
        if restarting {
            return Some(Reply::text(StatusCode::SERVICE_UNAVAILABLE, "restarting\n"));
        }
        let running = self.running.lock().ok().and_then(|r| r.clone())?;
        let broken = self.root.join("releases").join(&running).join("BROKEN");
        broken.exists().then(|| {
            Reply::text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("release {running} fails its self-check (BROKEN)\n"),
            )
        })
    }
}

/// The release name `root/current` points at.
fn current(root: &Path) -> Option<String> {
    let target = std::fs::read_link(root.join("current")).ok()?;
    target.file_name().map(|n| n.to_string_lossy().into_owned())
}
