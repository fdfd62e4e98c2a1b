pub mod demo;
pub fn x(){}
