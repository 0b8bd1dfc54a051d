//! Cycle-accurate engines of the generated accelerator behind one device
//! trait, and the host driver's packet link over them.
//!
//! A [`Device`] is the design seen at its two AXI4-Stream ports, one clock
//! cycle at a time: the caller offers an input word and says whether it takes
//! an output word; the device reports whether the input word was accepted
//! (`tvalid && tready` at the rising edge) and the output word transferred.
//! Engines: [`native::NativeDevice`] (rust-hdl's own simulation of the
//! design, driven by a plain clock loop) and [`verilator::VerilatorDevice`]
//! (the generated Verilog compiled by Verilator). [`link::SimLink`] turns any device
//! into a packet link with optional random stalls on both streams.
//! [`serial`] runs the serial design (UART bridge and accelerator) at its
//! pins in either engine, with the host's end of the line.
//!
//! Dependencies: the model, the spec and the HDL (the engines build the
//! design from them), the host driver (whose [`lstm_accel_host::link::Link`]
//! the simulated links implement); Verilator through `cc` and
//! `libloading`. Never the command line or the verification tools.

pub mod icarus;
pub mod link;
pub mod native;
pub mod serial;
pub mod verilator;

/// One stream word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamWord {
    /// `tdata`.
    pub data: u32,
    /// `tlast`.
    pub last: bool,
}

/// What happened at one rising edge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Edge {
    /// The offered input word was taken.
    pub accepted: bool,
    /// The output word transferred at this edge, if any.
    pub output: Option<StreamWord>,
}

/// A cycle-accurate simulation of a generated design.
pub trait Device {
    /// Runs one clock cycle with `input` offered on the input stream
    /// (`None`: `tvalid` low) and `out_ready` as the output stream's `tready`.
    fn cycle(&mut self, input: Option<StreamWord>, out_ready: bool) -> Edge;
    /// Drives the design's reset input from the next cycle on (high: a
    /// reset request, which the design conditions and holds itself).
    fn set_reset(&mut self, asserted: bool);
    /// Cycles run so far.
    fn cycles(&self) -> u64;
    /// The engine's name (`native`, `verilator`).
    fn engine(&self) -> &'static str;
}

/// Why a simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The design could not be built.
    #[error("building the design: {0}")]
    Design(#[from] lstm_accel_spec::SpecError),
    /// A design could not be compiled or loaded.
    #[error("{0}")]
    Build(String),
    /// The packet link to the device failed (no answer, no input taken).
    #[error(transparent)]
    Link(#[from] lstm_accel_host::link::LinkError),
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}
