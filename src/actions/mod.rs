//! Remediation actions: plans, the runner's context, drivers and the audit log.
//!
//! An action goes through two phases (STYLE.md): `plan` builds a [`Plan`] that says exactly
//! what will run (argv, SQL, HTTP request, files to delete, secrets masked) without side
//! effects; after the operator confirms it, `execute` runs that plan under a [`Ctx`] (progress,
//! cancel, deadline) and returns an [`Outcome`]. Nothing here imports the terminal: the
//! cockpit, `watchdeck action` and the tests drive the same code.

pub mod am;
pub mod audit;
pub mod backup;
pub mod child;
pub mod command;
mod driver;
pub mod exec;
pub mod listing;
pub mod lock;
pub mod rollback;
pub mod topic;

pub use exec::{ActionError, ActionResult, Actions, Confirmation, Outcome, Prepared, Request};

use std::fmt::Write as _;
use std::time::Instant;

pub use crate::config::actions::Risk;
use crate::text::mask_secrets;
pub use crate::text::shell_quote;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What an action does to its target, for confirmation policy and single-flight keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    Backup,
    Suspend,
    Resume,
    Rollback,
    Run,
    /// Create a silence in the configured Alertmanager.
    Silence,
    /// Expire a silence in the configured Alertmanager.
    Unsilence,
}

impl ActionKind {
    pub const ALL: [ActionKind; 7] = [
        ActionKind::Backup,
        ActionKind::Suspend,
        ActionKind::Resume,
        ActionKind::Rollback,
        ActionKind::Run,
        ActionKind::Silence,
        ActionKind::Unsilence,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Backup => "backup",
            ActionKind::Suspend => "suspend",
            ActionKind::Resume => "resume",
            ActionKind::Rollback => "rollback",
            ActionKind::Run => "run",
            ActionKind::Silence => "silence",
            ActionKind::Unsilence => "unsilence",
        }
    }

    pub fn parse(s: &str) -> Option<ActionKind> {
        ActionKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One thing the plan will do, as shown before confirmation. Secrets are already masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Step {
    /// A child process: argv only (never a shell), plus the environment it adds.
    Exec {
        argv: Vec<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        env: Vec<(String, String)>,
    },
    /// A parameterised SQL statement and its parameters.
    Sql {
        statement: String,
        params: Vec<String>,
    },
    /// An HTTP request; header values masked unless harmless.
    Http {
        method: String,
        url: String,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        headers: Vec<(String, String)>,
        expect_status: u16,
    },
    /// A file or directory change done in-process (rename, symlink swap, write).
    File { what: String },
    /// A file that will be deleted (retention).
    Delete { path: String },
    /// Anything else worth showing (a health gate, a verification).
    Note { text: String },
}

impl Step {
    /// Masks every secret value anywhere in the step (the plan is shown and audited).
    pub fn mask(&mut self, secrets: &[String]) {
        let m = |s: &mut String| *s = mask_secrets(s, secrets);
        match self {
            Step::Exec { argv, env } => {
                argv.iter_mut().for_each(m);
                for (_, v) in env.iter_mut() {
                    m(v);
                }
            }
            Step::Sql { statement, params } => {
                m(statement);
                params.iter_mut().for_each(m);
            }
            Step::Http { url, headers, .. } => {
                m(url);
                for (_, v) in headers.iter_mut() {
                    m(v);
                }
            }
            Step::File { what } => m(what),
            Step::Delete { path } => m(path),
            Step::Note { text } => m(text),
        }
    }

    /// One line for the preview and the audit file.
    pub fn describe(&self) -> String {
        match self {
            Step::Exec { argv, env } => {
                let mut line = String::new();
                // Quoted like the argv: a value with a space (the passfile placeholder,
                // PGOPTIONS) must not read as the start of the command.
                for (k, v) in env {
                    let _ = write!(line, "{k}={} ", shell_quote(v));
                }
                line.push_str(
                    &argv
                        .iter()
                        .map(|a| shell_quote(a))
                        .collect::<Vec<_>>()
                        .join(" "),
                );
                line
            }
            Step::Sql { statement, params } => {
                if params.is_empty() {
                    statement.clone()
                } else {
                    let ps: Vec<String> = params
                        .iter()
                        .enumerate()
                        .map(|(i, p)| format!("${}={}", i + 1, shell_quote(p)))
                        .collect();
                    format!("{statement}  [{}]", ps.join(", "))
                }
            }
            Step::Http {
                method,
                url,
                headers,
                expect_status,
            } => {
                let mut line = format!("{method} {url}");
                for (k, v) in headers {
                    let _ = write!(line, "  {k}: {v}");
                }
                let _ = write!(line, "  (expect {expect_status})");
                line
            }
            Step::File { what } => what.clone(),
            Step::Delete { path } => format!("delete {path}"),
            Step::Note { text } => text.clone(),
        }
    }
}

/// Progress an action reports while it runs; the cockpit shows it in the panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The phase it is in ("dumping", "verifying", "switching current", "health 2/3").
    Phase(String),
    /// Bytes written so far (backups).
    Bytes(u64),
    /// One line a child printed (secrets are not in a child's output unless it prints them
    /// itself; the runner masks the known ones anyway).
    Output { stream: Stream, line: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// What a running action gets from its runner: where to report, when to stop.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub progress: mpsc::UnboundedSender<Progress>,
    /// Cancelled by the operator's cancel key, by SIGTERM, or by the runner at the deadline.
    pub cancel: CancellationToken,
    /// The whole action's deadline.
    pub deadline: Instant,
    /// Secret values to mask in anything reported (child output lines).
    pub secrets: Vec<String>,
    /// The single-flight lock the action runs under: each child's process group is recorded
    /// in it (see [`lock::LockGuard::note_child`]).
    pub lock: Option<std::sync::Arc<lock::LockGuard>>,
    /// The state directory, for private temporary files (password files).
    pub state_dir: Option<std::path::PathBuf>,
}

impl Ctx {
    /// A context whose progress goes nowhere (tests, headless dry runs).
    pub fn detached(timeout: std::time::Duration) -> (Ctx, mpsc::UnboundedReceiver<Progress>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Ctx {
                progress: tx,
                cancel: CancellationToken::new(),
                deadline: Instant::now() + timeout,
                secrets: Vec::new(),
                lock: None,
                state_dir: None,
            },
            rx,
        )
    }

    pub fn phase(&self, phase: impl Into<String>) {
        let _ = self.progress.send(Progress::Phase(phase.into()));
    }

    pub fn bytes(&self, n: u64) {
        let _ = self.progress.send(Progress::Bytes(n));
    }

    /// Masks every known secret in `text`.
    pub fn mask(&self, text: &str) -> String {
        mask_secrets(text, &self.secrets)
    }

    /// Time left before the deadline (zero once past it).
    pub fn remaining(&self) -> std::time::Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}
