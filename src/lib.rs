//! watchdeck: a keyboard-driven terminal cockpit for on-call operators.
//!
//! The engine (`expo`, `source`, `store`, `derive`, `config`) never touches the terminal, so
//! the cockpit, `snapshot`, `scrape` and `check` all share it.

pub mod action_cmd;
pub mod actions;
pub mod app;
pub mod check_cmd;
pub mod checklist;
pub mod cli;
pub mod cockpit;
mod cockpit_walk;
pub mod config;
pub mod demo;
pub mod derive;
pub mod expo;
pub mod fmt;
pub mod logging;
pub mod safe_fs;
pub mod scrape_cmd;
pub mod snapshot;
pub mod source;
pub mod store;
pub mod terminal;
pub mod theme;
pub mod ui;
