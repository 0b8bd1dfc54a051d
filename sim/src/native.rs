//! The native engine: rust-hdl's simulation of the same [`Accelerator`]
//! description that generates the Verilog, driven by a plain clock loop
//! (clock low with the new inputs, settle, sample the handshakes, rising
//! edge, settle), which is far faster than rust-hdl's thread-based test
//! bench. Optionally records every signal to a VCD file for GTKWave.

use crate::{Device, Edge, SimError, StreamWord};
use lstm_accel_hdl::accelerator::Accelerator;
use lstm_accel_hdl::dynamic::{settle, DynVal};
use lstm_accel_model::Model;
use lstm_accel_spec::AcceleratorSpec;
use rust_hdl::core::vcd_probe::VCDProbe;
use rust_hdl::prelude::*;
use std::fs::File;
use std::io::BufWriter;

/// Combinational settling bound per phase of a cycle.
const SETTLE: usize = 200;

/// The native engine.
pub struct NativeDevice {
    uut: Accelerator,
    reset: bool,
    cycles: u64,
    vcd: Option<VCDProbe<BufWriter<File>>>,
}

impl NativeDevice {
    /// Builds the design of `spec` for `model`'s formats.
    pub fn new(model: &Model, spec: &AcceleratorSpec) -> Result<Self, SimError> {
        Ok(NativeDevice {
            uut: Accelerator::for_simulation(model, spec)?,
            reset: false,
            cycles: 0,
            vcd: None,
        })
    }

    /// Records every signal to `path` from now on (one timestamp per half
    /// cycle, 10 ns clock).
    pub fn record_vcd(&mut self, path: &std::path::Path) -> Result<(), SimError> {
        let file = File::create(path).map_err(|source| SimError::Io {
            path: path.display().to_string(),
            source,
        })?;
        settle(&mut self.uut, SETTLE);
        self.vcd = Some(write_vcd_header(BufWriter::new(file), &self.uut));
        Ok(())
    }

    fn dump(&mut self, t: u64) {
        if let Some(mut vcd) = self.vcd.take() {
            // A failed write ends the recording, not the simulation.
            if vcd.timestamp(t).is_ok() {
                self.vcd = Some(write_vcd_change(vcd, &self.uut));
            }
        }
    }
}

/// Takes the driven values of the top-level inputs at once. Settling would
/// do it in its first pass, but only after the top block has already copied
/// the old values to its children: latching first saves that pass, a sixth
/// of the engine's time.
fn latch_inputs(u: &mut Accelerator) {
    u.clock.update_all();
    u.reset.update_all();
    u.s_tdata.update_all();
    u.s_tvalid.update_all();
    u.s_tlast.update_all();
    u.m_tready.update_all();
}

impl Device for NativeDevice {
    fn cycle(&mut self, input: Option<StreamWord>, out_ready: bool) -> Edge {
        let u = &mut self.uut;
        let w = input.unwrap_or(StreamWord {
            data: 0,
            last: false,
        });
        // The falling edge of the previous cycle goes with this cycle's
        // inputs: nothing in the design acts on it, and one settling pass
        // fewer per cycle is a third of the engine's time.
        u.clock.next = Clock { clk: false };
        u.reset.next = self.reset;
        u.s_tdata.next = DynVal(i64::from(w.data as i32));
        u.s_tvalid.next = input.is_some();
        u.s_tlast.next = w.last;
        u.m_tready.next = out_ready;
        latch_inputs(u);
        settle(u, SETTLE);
        let accepted = input.is_some() && u.s_tready.val();
        let output = (u.m_tvalid.val() && out_ready).then(|| StreamWord {
            data: u.m_tdata.val().0 as u32,
            last: u.m_tlast.val(),
        });
        let t = self.cycles * 10_000;
        self.dump(t);
        let u = &mut self.uut;
        u.clock.next = Clock { clk: true };
        latch_inputs(u);
        settle(u, SETTLE);
        self.dump(t + 5_000);
        self.cycles += 1;
        Edge { accepted, output }
    }

    fn set_reset(&mut self, asserted: bool) {
        self.reset = asserted;
    }

    fn cycles(&self) -> u64 {
        self.cycles
    }

    fn engine(&self) -> &'static str {
        "native"
    }
}
