//! The cockpit's effect runners, in one place: `update` asks for side effects as `Cmd`s, and
//! each runner carries them out on tasks of its own and answers with `Msg`s. Reads of the
//! outside world are sources (`crate::source`); these runners hold no state the model needs.

mod actions;
mod walk;

use tokio::sync::{mpsc, watch};

use crate::app::model::Model;
use crate::app::update::{Cmd, Msg};
use crate::terminal;
pub(crate) use actions::ActionRunner;
pub(crate) use walk::WalkRunner;

/// How the cockpit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Quit,
    Hangup,
    Terminated,
}

/// Carries out `update`'s commands; returns how to leave, when it is time.
pub(super) fn carry_out(
    cmds: Vec<Cmd>,
    terminated: bool,
    m: &Model,
    browse_tx: &watch::Sender<Option<usize>>,
    (acts, walk): (&mut ActionRunner, &mut WalkRunner),
    act_tx: &mpsc::UnboundedSender<Msg>,
) -> Option<Exit> {
    let mut stop = None;
    for c in cmds {
        match c {
            Cmd::Quit => {
                stop = Some(if terminated {
                    Exit::Terminated
                } else {
                    Exit::Quit
                });
            }
            Cmd::QuitNoRestore => {
                terminal::abandon();
                stop = Some(Exit::Hangup);
            }
            Cmd::Browse(t) => {
                let _ = browse_tx.send(t);
            }
            Cmd::SetMouse(on) => {
                let _ = terminal::set_mouse(on);
            }
            Cmd::GoHeadless => {
                acts.go_headless();
                terminal::abandon();
            }
            Cmd::Bell if !m.hung_up => {
                use std::io::Write;
                let mut out = std::io::stdout();
                let _ = out.write_all(b"\x07").and_then(|()| out.flush());
            }
            Cmd::WalkOpen(generation) => walk.open(generation, m, act_tx),
            Cmd::WalkJudge(key) => walk.judge(&key, m, act_tx),
            Cmd::WalkRecord { key, verdict, note } => walk.record(&key, verdict, note, act_tx),
            Cmd::WalkFinish => walk.finish(m, act_tx),
            other => acts.carry_out(other, m, act_tx),
        }
    }
    stop
}
