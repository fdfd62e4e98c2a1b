pub mod command;
pub mod keymap;
pub mod palette;
