//! watchdeck: a keyboard-driven terminal cockpit for on-call operators.
//!
//! The engine (`expo`, `source`, `store`, `derive`, `config`) never touches the terminal, so
//! the cockpit, `snapshot`, `scrape` and `check` all share it.

pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod derive;
pub mod expo;
pub mod logging;
pub mod scrape_cmd;
pub mod snapshot;
pub mod source;
pub mod store;
pub mod theme;
