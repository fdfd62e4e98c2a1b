pub fn x(){}
pub mod source;
