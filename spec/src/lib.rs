//! The accelerator spec: how a compressed LSTM runs on the generated
//! hardware, derived from a model and a hardware configuration. It holds
//! the memory map and layout, the frame program and its schedule, the
//! predicted cycles, the target parts and the rules that bound a design on
//! them (memories, logic, clock), the datapath's latencies, and the stream
//! protocol with its serial link framing. It is the one description that
//! the Verilog generator, the simulation engines, the host's packer and
//! driver and the reports read; none re-derives a width, an address or a
//! cycle count.
//!
//! Dependencies: the model (formats, encodings, arithmetic) and plain data
//! crates (serde, petgraph); never the HDL, the simulators or the tools, so
//! that a host driver can depend on it alone.

pub mod auto_config;
pub mod datapath;
pub mod error;
pub mod fmax_estimate;
pub mod hw_config;
pub mod layout;
pub mod link;
pub mod logic_estimate;
pub mod protocol;
pub mod schedule;
pub mod spec;
pub mod target;

pub use error::SpecError;
pub use hw_config::HwConfig;
pub use spec::AcceleratorSpec;
pub use target::Target;
