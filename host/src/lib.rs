//! The host driver of the accelerator, the library a user's own program
//! links against: it packs a model into the memory images the accelerator's
//! spec describes (the same bytes a board receives), speaks the packet
//! protocol over any [`link::Link`] (a board's serial port through the CRC
//! link in [`serial`], a simulation, or a transport of the user's), loads
//! weights, streams frames and reads results, and cross-checks every
//! answer against the bit-exact reference.
//!
//! Dependencies: the model and the spec, and what the serial port needs;
//! never the HDL, the simulators, training or the command line (see
//! `examples/` for a program that runs a model on a board).

pub mod crosscheck;
pub mod driver;
pub mod link;
pub mod pack;
pub mod serial;
