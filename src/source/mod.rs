pub mod health;
pub mod http;
