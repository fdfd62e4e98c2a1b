//! Collectors: everything that reads the outside world (HTTP scrapes and health checks, local
//! disks, Postgres). They send owned observations; they never hold shared locks or block the UI.

pub mod alertmanager;
mod collector;
pub mod disk;
pub mod fleet;
pub mod health;
pub mod history;
pub mod postgres;

pub use collector::{watched_names, BrowseRequest, Collector, ALWAYS_WATCHED};
