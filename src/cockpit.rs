//! The cockpit's event loop: collectors, keys, signals and the clock become `Msg`s for
//! `update`; the screen is redrawn only when something changed, at most 30 times a second.
//!
//! Input is read on its own thread (crossterm's reader blocks); a read error — EOF or EIO when
//! the terminal is gone — is a hangup, as is SIGHUP. Either way the loop stops drawing and
//! returns at once: crossterm would otherwise spin on a dead terminal.

use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use ratatui::crossterm::event::{self, Event};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};

use crate::actions::Actions;
use crate::app::keymap::Keymap;
use crate::app::model::Model;
use crate::app::update::{update, Cmd, Msg};
use crate::config::Config;
use crate::source::{now_ms, Collector, Observation};
use crate::terminal;
use crate::theme::{self, ColorEnv};

/// Frames are at least this far apart (30 fps) when the operator is typing.
const FRAME: Duration = Duration::from_millis(33);
/// New data waits this long for more before it is drawn: targets scraped together (they
/// answer within a few ms of each other) then share one frame.
const COALESCE: Duration = Duration::from_millis(250);
/// The clock alone redraws only when nothing else has for this long: with data arriving every
/// second, ages and the clock ride on the data frames.
const CLOCK_FRAME: Duration = Duration::from_millis(900);

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Theme name or file; overrides the config's `theme`.
    pub theme: Option<String>,
    pub mouse: bool,
    pub read_only: bool,
    /// Ring the terminal bell when a critical alert starts firing.
    pub bell: bool,
}

/// How the cockpit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Quit,
    Hangup,
    Terminated,
}

fn spawn_input(tx: mpsc::Sender<Msg>) {
    std::thread::Builder::new()
        .name("watchdeck-input".into())
        .spawn(move || loop {
            // Poll with a timeout so the thread notices when the loop has gone.
            match event::poll(Duration::from_millis(500)) {
                Ok(false) => {
                    if tx.is_closed() {
                        return;
                    }
                }
                Ok(true) => {
                    let msg = match event::read() {
                        Ok(Event::Key(k)) => Msg::Key(k),
                        Ok(Event::Mouse(m)) => Msg::Mouse(m),
                        Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
                        Ok(_) => continue,
                        Err(e) => {
                            tracing::warn!(error = %e, "terminal input failed; treating it as a hangup");
                            let _ = tx.blocking_send(Msg::Hangup);
                            return;
                        }
                    };
                    if tx.blocking_send(msg).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "terminal input failed; treating it as a hangup");
                    let _ = tx.blocking_send(Msg::Hangup);
                    return;
                }
            }
        })
        .map_or_else(
            |e| tracing::error!(error = %e, "cannot start the input thread"),
            |_| (),
        );
}

/// Time until the wall clock next crosses a whole second (ages and the clock change then).
fn until_next_second(now_ms: i64) -> Duration {
    Duration::from_millis((1000 - now_ms.rem_euclid(1000)) as u64 + 1)
}

/// Builds the model: keymap with the config's overrides, theme, collectors.
pub fn model(config: &Config, opts: &Options) -> Result<Model> {
    let mut keymap = Keymap::default();
    keymap
        .apply_overrides(&config.keys)
        .map_err(|e| anyhow!("{e}"))?;
    let theme_name = opts.theme.as_deref().or(config.theme.as_deref());
    let styles = theme::load(theme_name, &ColorEnv::from_env()).map_err(|e| anyhow!("{e}"))?;
    let mut m = Model::new(config, keymap, styles, now_ms());
    m.mouse = opts.mouse;
    // The config's switch too, so the screen says READ-ONLY and offers nothing to confirm
    // (the action layer refuses either way).
    m.read_only = opts.read_only || config.actions.read_only;
    m.bell = opts.bell;
    Ok(m)
}

/// Where locks and the audit file live: the config's `state_dir` or the user's state
/// directory, never a shared one (the temporary directory); the cockpit does not start
/// without one of the operator's own.
fn state_dir(config: &Config) -> Result<std::path::PathBuf> {
    let state_dir = config
        .actions
        .state_dir
        .clone()
        .or_else(crate::logging::state_dir)
        .ok_or_else(|| {
            anyhow!("no HOME or XDG_STATE_HOME: set one, or [actions] state_dir in the config")
        })?;
    crate::safe_fs::private_dir(&state_dir)
        .with_context(|| format!("cannot use the state directory {}", state_dir.display()))?;
    Ok(state_dir)
}

/// Runs the cockpit until the operator quits, the terminal hangs up, or a signal arrives.
pub async fn run(config: &Config, opts: &Options) -> Result<Exit> {
    let mut m = model(config, opts)?;
    let state_dir = state_dir(config)?;
    let mut acts = ActionRunner::new(Actions::new(config, opts.read_only, &state_dir));
    let mut walk = crate::cockpit_walk::WalkRunner::new(config);
    let (act_tx, mut act_rx) = mpsc::unbounded_channel::<Msg>();
    if let Some(am) = &config.alertmanager {
        poll_alertmanager(am, act_tx.clone());
    }
    let (browse_tx, browse_rx) = watch::channel(None);
    let mut collector =
        Collector::start_with_browse(config, None, &browse_rx).map_err(|e| anyhow!("{e}"))?;
    let mut hup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;

    terminal::install_panic_hook();
    let mut guard = terminal::enter(m.mouse).context("cannot take over the terminal")?;
    m.size = guard
        .screen
        .size()
        .context("cannot read the terminal size")?;

    let (input_tx, mut input_rx) = mpsc::channel(256);
    spawn_input(input_tx);

    // Two kinds of pending redraw: `urgent` (keys, resizes: at once, at most 30 fps) and
    // `data_since` (observations and the clock: coalesced).
    let mut terminated = false;
    let mut urgent = true;
    let mut data_since: Option<Instant> = None;
    let mut last_draw: Option<Instant> = None;
    let exit = loop {
        let since_draw = last_draw.map_or(Duration::MAX, |t| t.elapsed());
        let due =
            (urgent && since_draw >= FRAME) || data_since.is_some_and(|t| t.elapsed() >= COALESCE);
        if due && !m.hung_up {
            if let Err(e) = draw(&mut guard, &m) {
                // The terminal is gone (EIO) or broken: a hangup, not a crash.
                tracing::warn!(error = %format!("{e:#}"), "cannot draw; treating it as a hangup");
                m.hung_up = true;
                terminal::abandon();
                break Exit::Hangup;
            }
            urgent = false;
            data_since = None;
            last_draw = Some(Instant::now());
        }
        let wait = if urgent {
            FRAME.saturating_sub(last_draw.map_or(FRAME, |t| t.elapsed()))
        } else {
            data_since.map_or(Duration::from_secs(3600), |t| {
                COALESCE.saturating_sub(t.elapsed())
            })
        };
        let msg = tokio::select! {
            Some(obs) = collector.rx.recv() => match obs {
                Observation::Series { target, rows } => Msg::Series { target, rows },
                other => Msg::Observation(Box::new(other)),
            },
            Some(msg) = input_rx.recv() => msg,
            Some(msg) = act_rx.recv() => msg,
            _ = hup.recv() => Msg::Hangup,
            _ = term.recv() => Msg::Terminate,
            _ = int.recv() => Msg::Terminate,
            () = tokio::time::sleep(until_next_second(now_ms())) => Msg::Tick(now_ms()),
            () = tokio::time::sleep(wait), if urgent || data_since.is_some() => continue,
        };
        let was_terminate = matches!(msg, Msg::Terminate);
        match msg {
            Msg::Observation(_) | Msg::Series { .. } => {
                data_since.get_or_insert_with(Instant::now);
            }
            Msg::Tick(_) => {
                if last_draw.is_none_or(|t| t.elapsed() >= CLOCK_FRAME) {
                    // Nothing drew this second: draw the clock without waiting.
                    let now = Instant::now();
                    data_since.get_or_insert(now.checked_sub(COALESCE).unwrap_or(now));
                }
            }
            _ => urgent = true,
        }
        // Every message carries the clock forward so ages stay right.
        m.now_ms = now_ms();
        let known = m.shown.targets.len();
        let cmds = update(&mut m, msg);
        // A fleet's instances just appeared: show them now rather than after the coalescing.
        urgent |= m.shown.targets.len() > known;
        terminated |= was_terminate;
        if let Some(e) = carry_out(
            cmds,
            terminated,
            &m,
            &browse_tx,
            (&mut acts, &mut walk),
            &act_tx,
        ) {
            break e;
        }
    };
    drop(collector);
    if exit == Exit::Hangup {
        // Do not let the guard write to a terminal that is gone.
        std::mem::forget(guard);
    } else {
        drop(guard);
    }
    Ok(exit)
}

/// Draws one frame (its cost goes to the log at trace level).
fn draw(guard: &mut terminal::Guard, m: &Model) -> Result<()> {
    let drawing = Instant::now();
    guard
        .screen
        .draw(|area, buf| crate::ui::render(m, area, buf))
        .context("cannot draw")?;
    tracing::trace!(
        ms = drawing.elapsed().as_secs_f64() * 1000.0,
        targets = m.shown.targets.len(),
        "frame"
    );
    Ok(())
}

/// Carries out `update`'s commands; returns how to leave, when it is time.
fn carry_out(
    cmds: Vec<Cmd>,
    terminated: bool,
    m: &Model,
    browse_tx: &watch::Sender<Option<usize>>,
    (acts, walk): (&mut ActionRunner, &mut crate::cockpit_walk::WalkRunner),
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
            Cmd::WalkOpen => walk.open(m, act_tx),
            Cmd::WalkJudge(key) => walk.judge(&key, m, act_tx),
            Cmd::WalkRecord { key, verdict, note } => walk.record(&key, verdict, note, act_tx),
            Cmd::WalkFinish => walk.finish(m, act_tx),
            other => acts.carry_out(other, m, act_tx),
        }
    }
    stop
}

/// Carries out the action commands: plans, runs, cancels, and reads backups and the audit
/// file, each on a task of its own that answers with a `Msg`.
struct ActionRunner {
    actions: std::sync::Arc<Actions>,
    /// The cancel token of each action in flight; its task removes it when the action ends.
    cancels: Cancels,
    headless: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

type Cancels = std::sync::Arc<
    std::sync::Mutex<
        std::collections::HashMap<
            (usize, crate::actions::ActionKind),
            tokio_util::sync::CancellationToken,
        >,
    >,
>;

impl ActionRunner {
    fn new(actions: Actions) -> Self {
        ActionRunner {
            actions: std::sync::Arc::new(actions),
            cancels: Cancels::default(),
            headless: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
        }
    }

    fn go_headless(&self) {
        self.headless
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Runs a confirmed plan on a task of its own; progress and the outcome come back as `Msg`s.
    fn execute(
        &mut self,
        prepared: Box<crate::actions::Prepared>,
        confirmation: crate::actions::Confirmation,
        m: &Model,
        tx: mpsc::UnboundedSender<Msg>,
    ) {
        let Some(target) = m.target_index(prepared.target()) else {
            return;
        };
        let kind = prepared.kind();
        let (mut ctx, mut rx) = crate::actions::Ctx::detached(prepared.timeout);
        ctx.secrets = self.actions.audit().secrets().to_vec();
        // One in flight per target and kind: a second one (which the action layer's
        // lock refuses anyway) must not take the running one's cancel token.
        let mine = match self.cancels.lock() {
            Ok(mut c) if !c.contains_key(&(target, kind)) => {
                c.insert((target, kind), ctx.cancel.clone());
                true
            }
            _ => false,
        };
        let cancels = self.cancels.clone();
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
            if mine {
                if let Ok(mut c) = cancels.lock() {
                    c.remove(&(target, kind));
                }
            }
            let _ = tx.send(Msg::ActionDone {
                target,
                kind,
                outcome: Box::new(outcome),
            });
        });
    }

    fn carry_out(&mut self, c: Cmd, m: &Model, tx: &mpsc::UnboundedSender<Msg>) {
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
            Cmd::Execute(prepared, confirmation) => self.execute(prepared, confirmation, m, tx),
            Cmd::CancelAction { target, kind } => {
                if let Some(t) = self
                    .cancels
                    .lock()
                    .ok()
                    .and_then(|c| c.get(&(target, kind)).cloned())
                {
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
            | Cmd::WalkOpen
            | Cmd::WalkJudge(_)
            | Cmd::WalkRecord { .. }
            | Cmd::WalkFinish => {}
        }
    }
}

/// Reads the configured Alertmanager's alerts and silences every `interval` until the cockpit
/// goes; an unreachable one is said in words and read again next round.
fn poll_alertmanager(
    am: &crate::config::alertmanager::AlertmanagerConfig,
    tx: mpsc::UnboundedSender<Msg>,
) {
    use crate::source::alertmanager::{AlertFilter, AmClient};
    use crate::source::api::{ApiSpec, Auth};
    let mut spec = ApiSpec::new(am.url.to_string());
    spec.auth = am.token.clone().map_or(Auth::None, Auth::Bearer);
    spec.tenant.clone_from(&am.tenant);
    let interval = am.interval;
    tokio::spawn(async move {
        let client = match AmClient::new(&spec) {
            Ok(c) => c,
            Err(e) => {
                let _ = tx.send(Msg::Alertmanager {
                    at_ms: now_ms(),
                    answer: Err(e.to_string()),
                });
                return;
            }
        };
        loop {
            let answer = match client.alerts(&AlertFilter::default()).await {
                Ok(alerts) => client
                    .silences()
                    .await
                    .map(|s| Box::new((alerts, s)))
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if tx
                .send(Msg::Alertmanager {
                    at_ms: now_ms(),
                    answer,
                })
                .is_err()
            {
                return;
            }
            tokio::time::sleep(interval).await;
        }
    });
}
