//! watchdeck: a keyboard-driven terminal cockpit for on-call operators.
//!
//! The engine (`expo`, `source`, `store`, `derive`, `config`) never touches the terminal, so
//! the cockpit, `snapshot`, `scrape` and `check` all share it.

pub mod config;
pub mod derive;
pub mod expo;
