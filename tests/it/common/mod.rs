//! Helpers shared by the test modules.

pub mod badserver;
pub mod headless;
pub mod pgdb;
pub mod prom;
pub mod pty;
pub mod screen;
