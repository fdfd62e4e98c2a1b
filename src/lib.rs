//! watchdeck: a keyboard-driven terminal cockpit for on-call operators.
//!
//! The engine (`expo`, `source`, `store`, `derive`, `config`) never touches the terminal, so
//! the cockpit, `snapshot`, `scrape` and `check` all share it.

pub mod actions;
pub mod app;
pub mod checklist;
pub mod client;
pub mod config;
pub mod demo;
pub mod derive;
pub mod expo;
pub mod fmt;
pub mod front;
pub mod keymap;
pub mod logging;
pub mod obs;
pub mod safe_fs;
pub mod source;
pub mod store;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod ui;
pub mod view;
