//! Clients of the outside world: HTTP fetching with limits, JSON APIs, Prometheus's query API,
//! Alertmanager and Postgres sessions. Sources use them to read and actions to write; neither
//! owns them, and nothing here decides what to read or write.

pub mod alertmanager;
pub mod api;
pub mod http;
pub mod postgres;
pub mod promql;
pub mod tls;
