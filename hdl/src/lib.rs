//! The accelerator's hardware: the rust-hdl blocks of the datapath, the
//! top level and the serial design, and the Verilog they generate, all
//! built from the accelerator spec (`lstm-accel-spec`); with the open FPGA
//! flow (Yosys, nextpnr, the packers), the board tops and the tool runners
//! (Verilator's linter, Icarus) that check what it writes.
//!
//! Dependencies: the model and the spec, rust-hdl; nothing of the
//! simulators, the host or the command line.

pub mod accelerator;
pub mod blocks;
pub mod board;
pub mod dynamic;
pub mod flow;
pub mod fusesoc;
pub mod serial_top;
pub mod tools;
pub mod verilog;
