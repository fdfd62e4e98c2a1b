pub fn x(){}
pub mod config;
