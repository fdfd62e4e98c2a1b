//! Postgres sessions: connecting (TLS, passfile, timeouts) and turning a driver error into a
//! [`PgError`](crate::obs::postgres::PgError) an operator can act on.

mod connect;
pub mod error;

pub use connect::{connect, connect_db, PgSession, APPLICATION_NAME, SLACK};
