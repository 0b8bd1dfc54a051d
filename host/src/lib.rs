//! The host side of the accelerator: packing a model into the memory images
//! the accelerator's spec describes (the same bytes a real board receives),
//! and the driver that streams them, frames and results over any link.

pub mod crosscheck;
pub mod difftest;
pub mod driver;
pub mod fuzzing;
pub mod icarus_check;
pub mod pack;
pub mod serial;
pub mod virtual_board;
