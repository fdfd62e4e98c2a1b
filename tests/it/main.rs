//! Every integration test of watchdeck, in one test binary: one link of the crate instead of one
//! per file. Each module is what used to be a file of its own under `tests/`; `common` holds the
//! helpers they share (real servers, misbehaving servers, the pseudo-terminal harness, screens).
//!
//! Tests run on parallel threads of this one process: none may change process-wide state (the
//! environment, the working directory); a child process gets its environment from its
//! `Command`, and every server listens on a port the kernel picked.

mod common;

mod action_backup;
mod action_cli;
mod action_kill;
mod action_kubectl_path;
mod action_rollback;
mod action_topics;
mod actions_exec;
mod alert_scenarios;
mod checklist;
mod cli;
mod config_fixtures;
mod demo_fleet;
mod demo_history;
mod demo_scaled;
mod derive_scenarios;
mod e2e_actions;
mod e2e_pty;
mod engine_limits;
mod expo_fuzz;
mod expo_parser;
mod fetch_limits;
mod fleet;
mod hardening;
mod history;
mod keymap_themes;
mod layers;
mod postgres;
mod postgres_demo;
mod prom_parity;
mod promql;
mod screens;
mod screens_actions;
mod snapshot_demo;
