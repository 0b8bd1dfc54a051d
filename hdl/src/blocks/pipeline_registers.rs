//! Pipeline registers: a set of signals of any widths registered together,
//! `q[i] <= d[i]` on every rising edge. Each row engine takes every input
//! through a set of its own, so that a signal the engines share (the data
//! word, the tap word, a word's controls) leaves its source for one register
//! per engine and fans out inside the engine from there: the source's load
//! grows with the engine count, not with the multiply-accumulates per cycle,
//! and no path crosses from one engine to another within a cycle.
//!
//! The registers' `always` block carries Yosys's `keep` attribute: without
//! it, Yosys merges registers that take the same input (each engine's copy
//! of the data word) back into one, and the fan-out with them.

use crate::dynamic::DynSig;
use rust_hdl::prelude::*;
use std::fmt::Write;

/// The registers.
#[derive(LogicBlock)]
pub struct PipelineRegisters {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Inputs.
    pub d: Vec<DynSig<In>>,
    /// Inputs of the previous cycle (zero at power-up).
    pub q: Vec<DynSig<Out>>,
}

impl PipelineRegisters {
    /// One register for each width of `widths`, in order.
    pub fn new(widths: &[usize]) -> Self {
        PipelineRegisters {
            clock: Signal::default(),
            d: widths.iter().map(|&w| DynSig::new(w)).collect(),
            q: widths.iter().map(|&w| DynSig::new(w)).collect(),
        }
    }
}

impl Logic for PipelineRegisters {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            for (q, d) in self.q.iter_mut().zip(&self.d) {
                q.next = d.val();
            }
        }
    }
    fn connect(&mut self) {
        for q in &mut self.q {
            q.connect();
        }
    }
    fn hdl(&self) -> Verilog {
        let n = self.q.len();
        let mut s = String::from("initial begin\n");
        for i in 0..n {
            let _ = writeln!(s, "    q${i} = 0;");
        }
        s.push_str("end\n\n(* keep *) always @(posedge clock) begin\n");
        for i in 0..n {
            let _ = writeln!(s, "    q${i} <= d${i};");
        }
        s.push_str("end\n");
        Verilog::Custom(s)
    }
}
