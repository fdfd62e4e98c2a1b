//! The action runner: plans, runs, cancels, and reads backups and the audit file, each on a
//! task of its own that answers with a `Msg`. The cancel handles live in the model.

use tokio::sync::mpsc;

use crate::actions::Actions;
use crate::app::model::Model;
use crate::app::update::{Cmd, Msg};

/// Carries out the action commands: plans, runs, cancels, and reads backups and the audit
/// file, each on a task of its own that answers with a `Msg`.
pub(crate) struct ActionRunner {
    actions: std::sync::Arc<Actions>,
    /// Set when the terminal is gone: actions in flight finish headless.
    headless: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl ActionRunner {
    pub(crate) fn new(actions: Actions) -> Self {
        ActionRunner {
            actions: std::sync::Arc::new(actions),
            headless: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
        }
    }

    pub(crate) fn go_headless(&self) {
        self.headless
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Runs a confirmed plan on a task of its own; progress and the outcome come back as `Msg`s.
    fn execute(
        &mut self,
        prepared: Box<crate::actions::Prepared>,
        confirmation: crate::actions::Confirmation,
        cancel: tokio_util::sync::CancellationToken,
        m: &Model,
        tx: mpsc::UnboundedSender<Msg>,
    ) {
        let Some(target) = m.target_index(prepared.target()) else {
            return;
        };
        let kind = prepared.kind();
        let (mut ctx, mut rx) = crate::actions::Ctx::detached(prepared.timeout);
        ctx.secrets = self.actions.audit().secrets().to_vec();
        ctx.cancel = cancel;
        let ptx = tx.clone();
        tokio::spawn(async move {
            while let Some(progress) = rx.recv().await {
                if ptx
                    .send(Msg::ActionProgress {
                        target,
                        kind,
                        progress,
                    })
                    .is_err()
                {
                    return;
                }
            }
        });
        let actions = self.actions.clone();
        let headless = self.headless.clone();
        tokio::spawn(async move {
            let outcome = actions
                .execute(&prepared, &confirmation, ctx, &headless)
                .await;
            let _ = tx.send(Msg::ActionDone {
                target,
                kind,
                outcome: Box::new(outcome),
            });
        });
    }

    pub(super) fn carry_out(&mut self, c: Cmd, m: &Model, tx: &mpsc::UnboundedSender<Msg>) {
        let tx = tx.clone();
        match c {
            Cmd::Plan(req) => {
                let actions = self.actions.clone();
                tokio::spawn(async move {
                    let r = actions
                        .plan(&req, true)
                        .await
                        .map(Box::new)
                        .map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Planned(req, r));
                });
            }
            Cmd::Execute(prepared, confirmation, cancel) => {
                self.execute(prepared, confirmation, cancel, m, tx);
            }
            Cmd::CancelAction { target, kind } => {
                if let Some(t) = m.acts.cancels.get(&(target, kind)) {
                    t.cancel();
                }
            }
            Cmd::LoadAudit => {
                let audit = self.actions.audit().clone();
                tokio::task::spawn_blocking(move || {
                    let r = audit
                        .tail(500)
                        .map_err(|e| format!("{}: {e}", audit.path().display()));
                    let _ = tx.send(Msg::Audit(r));
                });
            }
            Cmd::LoadBackups(target) => {
                let actions = self.actions.clone();
                tokio::task::spawn_blocking(move || {
                    if let Some(backups) = actions.backups(target) {
                        let _ = tx.send(Msg::Backups {
                            target,
                            backups: Box::new(backups),
                        });
                    }
                });
            }
            Cmd::Audit(record) => {
                let audit = self.actions.audit().clone();
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = audit.append(&record) {
                        tracing::error!(error = %e, "audit record not written");
                    }
                    if let Ok(records) = audit.tail(500) {
                        let _ = tx.send(Msg::Audit(Ok(records)));
                    }
                });
            }
            Cmd::Quit
            | Cmd::QuitNoRestore
            | Cmd::Browse(_)
            | Cmd::SetMouse(_)
            | Cmd::GoHeadless
            | Cmd::Bell
            | Cmd::WalkOpen(_)
            | Cmd::WalkJudge(_)
            | Cmd::WalkRecord { .. }
            | Cmd::WalkFinish => {}
        }
    }
}
