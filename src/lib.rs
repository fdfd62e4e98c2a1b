pub fn x(){}
pub mod derive;
