//! A target's past, replayed: the steps a history store gave are fed, oldest first, through
//! the same store shape, the same panel derivation and the same rules as live scrapes, with
//! each step's own time as `now`. So history at launch is nothing but observations with past
//! timestamps, and a rule whose condition has held for six minutes fires on the first frame
//! with its true since-time.

use std::fmt::Write as _;
use std::sync::Arc;

use super::panels::{target_panels, TargetPanels};
use super::rules::AlertBook;
use crate::config::Preset;
use crate::store::{push_point, HistoryLimits, TargetState};

/// One evaluation time of the past and the watched values present then.
pub type Step = (i64, Vec<(Arc<str>, f64)>);

/// The rules are replayed every this many ms of the past (Prometheus evaluates its own rules
/// every 15 s to 1 m): a restored since-time is true to within it, and a 15-minute past costs
/// 90 derivations, not one per scrape.
pub const EVAL_EVERY_MS: i64 = 10_000;

/// Replays `steps` of target `target` through derive and `book`'s rules, calling `each` with
/// the panels of every step (for sparklines), then adopts the restored alert states.
#[allow(clippy::too_many_arguments)]
pub fn replay(
    book: &mut AlertBook,
    target: usize,
    live: &TargetState,
    preset: Option<&Preset>,
    steps: &[Step],
    window_ms: i64,
    limits: HistoryLimits,
    mut each: impl FnMut(i64, &TargetPanels),
) {
    let mut past = TargetState {
        name: live.name.clone(),
        preset: live.preset.clone(),
        has_metrics: true,
        ..TargetState::default()
    };
    for (at, values) in steps {
        past.present.clear();
        for (key, v) in values {
            push_point(
                past.series.entry(key.clone()).or_default(),
                (*at, *v),
                limits,
            );
            past.present.push(key.clone());
        }
        past.last_attempt_ms = Some(*at);
        past.last_success_ms = Some(*at);
        past.rounds += 1;
        let panels = target_panels(&past, preset, window_ms, *at);
        book.replay_step(target, &panels, *at);
        each(*at, &panels);
    }
    book.finish_replay(target);
}

/// Where the past came from, in a few words: the store and how many targets it answered
/// for, that it is loading or failed, or that there is none.
pub fn summary(store: &crate::store::Store) -> String {
    use crate::store::HistoryState;
    let targets: Vec<&HistoryState> = store
        .targets
        .iter()
        .map(|t| &t.history)
        .filter(|h| !matches!(h, HistoryState::None))
        .collect();
    if targets.is_empty() {
        return "no history ([history] unset): alerts from launch".to_owned();
    }
    let source = |h: &HistoryState| match h {
        HistoryState::Loading { source }
        | HistoryState::Loaded { source, .. }
        | HistoryState::Failed { source, .. } => source
            .trim_end_matches('/')
            .trim_start_matches("http://")
            .to_owned(),
        HistoryState::None => String::new(),
    };
    let src = source(targets[0]);
    let loading = targets.iter().filter(|h| h.is_loading()).count();
    let loaded: Vec<&&HistoryState> = targets.iter().filter(|h| h.has_past()).collect();
    let failed: Vec<String> = targets
        .iter()
        .filter_map(|h| match h {
            HistoryState::Failed { error, .. } => Some(error.clone()),
            _ => None,
        })
        .collect();
    if loading > 0 {
        return format!("reading history from {src} ({loading} targets to go)");
    }
    if loaded.is_empty() {
        return match failed.first() {
            Some(e) => format!("no history: {e} — alerts count from launch"),
            None => format!("no history in {src} for these targets — alerts count from launch"),
        };
    }
    let span = loaded
        .iter()
        .filter_map(|h| match h {
            HistoryState::Loaded { from_ms, to_ms, .. } => Some(to_ms - from_ms),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let mut text = format!(
        "history: {} from {src} ({}/{})",
        crate::derive::format_eta(span as f64 / 1000.0),
        loaded.len(),
        targets.len()
    );
    if let Some(e) = failed.first() {
        let _ = write!(text, "; {} failed: {e}", failed.len());
    }
    text
}
