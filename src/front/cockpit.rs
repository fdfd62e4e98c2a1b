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

pub use super::effects::Exit;
use super::effects::{carry_out, ActionRunner, WalkRunner};
use crate::actions::Actions;
use crate::app::model::Model;
use crate::app::update::{update, Msg};
use crate::config::Config;
use crate::keymap::Keymap;
use crate::obs::{now_ms, Observation};
use crate::source::Collector;
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

/// Runs the cockpit until the operator quits, the terminal hangs up, or a signal arrives.
pub async fn run(config: &Config, opts: &Options) -> Result<Exit> {
    let mut m = model(config, opts)?;
    let state_dir = super::state_dir(config)?;
    let mut acts = ActionRunner::new(Actions::new(config, opts.read_only, &state_dir));
    let mut walk = WalkRunner::new(config);
    let (act_tx, mut act_rx) = mpsc::unbounded_channel::<Msg>();
    let (browse_tx, browse_rx) = watch::channel(None);
    let mut collector =
        Collector::start_with_browse(config, None, &browse_rx).map_err(|e| anyhow!("{e}"))?;
    if let Some(am) = &config.alertmanager {
        collector.watch_alertmanager(am);
    }
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
                Observation::Alertmanager { at_ms, answer } => Msg::Alertmanager { at_ms, answer },
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
