//! Collectors: everything that reads the outside world (HTTP scrapes and health checks, local
//! disks, Postgres). They send owned observations; they never hold shared locks or block the UI.

pub mod alertmanager;
pub mod api;
mod collector;
pub mod disk;
pub mod fleet;
pub mod health;
pub mod history;
pub mod http;
pub mod postgres;
pub mod promql;

pub use collector::{
    display_url, now_ms, watched_names, BrowseRequest, Collector, HealthOutcome, Observation,
    ScrapeDigest, ALWAYS_WATCHED,
};
