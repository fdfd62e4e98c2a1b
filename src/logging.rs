//! Logs go to a daily-rolling file in the state directory, never to the terminal.
//!
//! `WATCHDECK_LOG` filters them (`info`, `watchdeck=debug`, `warn,watchdeck::source=trace`);
//! the default is `info` for watchdeck and `warn` for everything else. Secrets never reach the
//! log: header values are held in redacting types and errors are worded without them.

use std::path::PathBuf;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// `$XDG_STATE_HOME/watchdeck`, else `~/.local/state/watchdeck`.
pub fn state_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("watchdeck"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".local/state/watchdeck"))
}

/// Where logging went, and the guard that flushes it when dropped (keep it in `main`).
pub struct Logging {
    pub path: Option<PathBuf>,
    pub problem: Option<String>,
    _guard: Option<WorkerGuard>,
}

/// Starts logging; a problem (unwritable directory, bad filter) is returned, not fatal.
pub fn init() -> Logging {
    let spec = std::env::var("WATCHDECK_LOG").unwrap_or_default();
    let (filter, mut problem) = if spec.trim().is_empty() {
        (default_filter(), None)
    } else {
        match spec.parse::<Targets>() {
            Ok(t) => (t, None),
            Err(e) => (
                default_filter(),
                Some(format!(
                    "WATCHDECK_LOG={spec:?} is not a valid filter ({e}); using the default"
                )),
            ),
        }
    };
    let Some(dir) = state_dir() else {
        return Logging {
            path: None,
            problem: Some("no HOME or XDG_STATE_HOME: logging is off".to_owned()),
            _guard: None,
        };
    };
    // 0700: the log names targets, hosts and paths. (An existing directory that others may
    // write to is still used for logs; actions refuse it.)
    let made = {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
    };
    if let Err(e) = made {
        return Logging {
            path: None,
            problem: Some(format!(
                "cannot create {}: {e}; logging is off",
                dir.display()
            )),
            _guard: None,
        };
    }
    // Another user who can write here could plant the log file as a symlink.
    if let Err(e) = crate::safe_fs::check_private(&dir) {
        return Logging {
            path: None,
            problem: Some(format!("{e}; logging is off")),
            _guard: None,
        };
    }
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("watchdeck")
        .filename_suffix("log")
        .max_log_files(7)
        .build(&dir);
    let appender = match appender {
        Ok(a) => a,
        Err(e) => {
            return Logging {
                path: None,
                problem: Some(format!("cannot open a log file in {}: {e}", dir.display())),
                _guard: None,
            }
        }
    };
    private_logs(&dir);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_target(true);
    if tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init()
        .is_err()
    {
        problem = Some("a logger was already installed".to_owned());
    }
    Logging {
        path: Some(dir),
        problem,
        _guard: Some(guard),
    }
}

/// The appender creates its files with the umask's mode: close them to others (0600).
fn private_logs(dir: &std::path::Path) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // A directory an older version made with the umask's mode is closed too (one that others
    // may write to was refused before this).
    if let Ok(meta) = std::fs::metadata(dir) {
        if meta.permissions().mode() & 0o077 != 0
            && meta.uid() == rustix::process::geteuid().as_raw()
        {
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.filter_map(Result::ok) {
        let name = e.file_name();
        let is_log = name.to_str().map(std::path::Path::new).is_some_and(|n| {
            n.to_string_lossy().starts_with("watchdeck")
                && n.extension().is_some_and(|e| e.eq_ignore_ascii_case("log"))
        });
        if is_log && e.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(0o600));
        }
    }
}

fn default_filter() -> Targets {
    Targets::new()
        .with_default(tracing::Level::WARN)
        .with_target("watchdeck", tracing::Level::INFO)
}
