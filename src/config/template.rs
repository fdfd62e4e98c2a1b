//! The commented sample config printed by `watchdeck config template`.
//!
//! It is the documentation of every key, so a test parses it: a sample that does not load
//! would teach operators a broken file.

/// The commented sample config (`assets/config.template.toml`).
pub fn template() -> &'static str {
    include_str!("../../assets/config.template.toml")
}
