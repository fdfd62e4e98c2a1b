//! The cockpit's state machine: one `Model`, one `Msg` enum, one `update`, with the keymap,
//! commands and palette as data. Nothing here draws.

mod act_update;
pub mod acting;
pub mod alert_ops;
pub mod model;
pub mod palette;
pub mod update;
pub mod walk;
