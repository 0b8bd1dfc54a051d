//! The accelerator: its spec (how a model runs on the hardware: memory map,
//! schedule, predicted cycles, resources) derived from a model and a hardware
//! configuration. The datapath blocks and the Verilog generator read the spec.

pub mod accelerator;
pub mod auto_config;
pub mod blocks;
pub mod board;
pub mod dynamic;
pub mod flow;
pub mod fmax_estimate;
pub mod fusesoc;
pub mod layout;
pub mod link;
pub mod logic_estimate;
pub mod protocol;
pub mod schedule;
pub mod serial_top;
pub mod spec;
pub mod target;
pub mod tools;
pub mod verilog;

pub use spec::{AcceleratorSpec, HwConfig, SpecError};
pub use target::Target;
