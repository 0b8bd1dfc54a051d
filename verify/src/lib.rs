//! The verification tools: differential testing of random models of every
//! encoding in every engine against the reference, with shrinking of a
//! failing case ([`difftest`]); the bodies of the fuzz targets, which the
//! test suite also runs on seeded mutations ([`fuzzing`]); the Icarus check,
//! which runs a whole stream through the generated Verilog under a
//! self-checking test bench ([`icarus_check`]); and the virtual board, the
//! serial design in a simulator behind a byte port or a pseudo-terminal
//! ([`virtual_board`]). Long runs split into [`shard`]s that merge into
//! one report.
//!
//! Dependencies: the model, the spec, the HDL, the simulation engines and
//! the host driver; the command line depends on this crate, never the
//! other way.

pub mod difftest;
pub mod fuzzing;
pub mod icarus_check;
pub mod shard;
pub mod virtual_board;
