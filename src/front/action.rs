//! `watchdeck action …`: the same action layer as the cockpit, for scripts and cron.
//!
//! Without `--yes` it prints the plan and changes nothing. With `--yes` it runs the plan as if
//! the operator had confirmed it (for a high-risk action, `--yes` stands for typing the target's
//! name). Progress goes to stderr, the plan and the outcome to stdout. SIGINT/SIGTERM cancel the
//! action (children killed, partial files removed); SIGHUP does not: a backup started over SSH
//! finishes when the session drops, and the audit file says `completed-headless`.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};

use crate::actions::{Actions, Confirmation, Ctx, Prepared, Progress, Request, Risk};
use crate::config::Config;

/// Exit statuses: 0 done (or plan shown), 1 the action failed, 2 refused or not runnable.
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_REFUSED: i32 = 2;

pub struct Options {
    pub request: Request,
    pub yes: bool,
    pub dry_run: bool,
    pub read_only: bool,
}

/// Runs the command; returns the exit status.
pub async fn run(config: &Config, state_dir: &Path, opts: &Options) -> i32 {
    let actions = Actions::new(config, opts.read_only, state_dir);
    let mut out = std::io::stdout().lock();
    let prepared = match actions.plan(&opts.request, opts.dry_run).await {
        Ok(p) => p,
        Err(e) => {
            let _ = writeln!(out, "watchdeck: {e}");
            return EXIT_REFUSED;
        }
    };
    print_plan(
        &mut out,
        &prepared,
        actions.read_only_reason(prepared.target()),
    );
    if !opts.yes || opts.dry_run {
        let _ = writeln!(
            out,
            "\nNothing was changed. Run again with --yes to {}.",
            prepared.kind().as_str()
        );
        return 0;
    }
    drop(out);
    let confirmation = match prepared.risk {
        Risk::Low => Confirmation::Yes,
        Risk::High => Confirmation::Typed(prepared.confirm_word.clone()),
    };
    let (mut ctx, mut rx) = Ctx::detached(prepared.timeout);
    ctx.secrets = actions.audit().secrets().to_vec();
    let headless = Arc::new(AtomicBool::new(false));
    let cancel = ctx.cancel.clone();
    let signals = watch_signals(cancel, headless.clone());
    let printer = tokio::spawn(async move {
        let mut last_bytes_report = 0u64;
        while let Some(p) = rx.recv().await {
            let mut err = std::io::stderr().lock();
            match p {
                Progress::Phase(ph) => {
                    let _ = writeln!(err, "… {ph}");
                }
                Progress::Bytes(n) if n >= last_bytes_report + (8 << 20) => {
                    last_bytes_report = n;
                    let _ = writeln!(err, "… {} written", crate::fmt::bytes(n as f64));
                }
                Progress::Bytes(_) => {}
                Progress::Output { line, .. } => {
                    let _ = writeln!(err, "  | {line}");
                }
            }
        }
    });
    let outcome = actions
        .execute(&prepared, &confirmation, ctx, &headless)
        .await;
    if let Some(signals) = signals {
        signals.abort();
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), printer).await;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "\n{}: {} (id {}, {:.1} s)",
        outcome.result,
        outcome.summary,
        outcome.id,
        outcome.duration_ms as f64 / 1000.0
    );
    if let Some(v) = &outcome.verification {
        let _ = writeln!(out, "verification: {v}");
    }
    // A read-only refusal writes nothing: pointing at the audit file would say otherwise.
    if actions.read_only_reason(prepared.target()).is_none() {
        let _ = writeln!(out, "audit: {}", actions.audit().path().display());
    }
    match outcome.result {
        _ if outcome.succeeded() => 0,
        crate::actions::ActionResult::Refused => EXIT_REFUSED,
        _ => EXIT_FAILED,
    }
}

fn print_plan(out: &mut impl Write, p: &Prepared, read_only: Option<String>) {
    let _ = writeln!(out, "{}", p.title);
    let _ = writeln!(
        out,
        "risk: {}   timeout: {}",
        match p.risk {
            Risk::Low => "low",
            Risk::High => "high",
        },
        humantime::format_duration(p.timeout)
    );
    let _ = writeln!(out, "plan:");
    for (i, line) in p.plan_lines().iter().enumerate() {
        let _ = writeln!(out, "  {}. {line}", i + 1);
    }
    if let Some(d) = &p.dry_run {
        let _ = writeln!(out, "dry run:");
        for line in d.lines() {
            let _ = writeln!(out, "  | {line}");
        }
    }
    if let Some(why) = read_only {
        let _ = writeln!(out, "read-only: this action is refused ({why})");
    }
}

/// SIGINT/SIGTERM cancel; SIGHUP marks the run headless and lets it finish.
///
/// The handlers are installed here, before the caller starts the action, not in the spawned
/// task: until that task first ran, a SIGTERM or SIGHUP would still kill watchdeck outright
/// and orphan a pg_dump that had already started. Before this point the default dispositions
/// apply, and nothing has been done yet (no lock, no audit record, no child).
fn watch_signals(
    cancel: tokio_util::sync::CancellationToken,
    headless: Arc<AtomicBool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::warn!(
            "cannot install the signal handlers; SIGTERM and SIGHUP keep their default effect"
        );
        return None;
    };
    Some(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => cancel.cancel(),
                _ = int.recv() => cancel.cancel(),
                _ = hup.recv() => headless.store(true, Ordering::SeqCst),
            }
        }
    }))
}
