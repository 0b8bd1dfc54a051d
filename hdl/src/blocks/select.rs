//! A multiplexer: `y = xs[sel]` (zero for a select past the end), purely
//! combinational. The datapath uses it where each layer has its own unit
//! (rounding point, gate unit) and the sequencer's layer index picks the one
//! whose result is live.

use crate::dynamic::{DynSig, DynVal};
use rust_hdl::prelude::*;
use std::fmt::Write;

/// The multiplexer.
#[derive(LogicBlock)]
pub struct Select {
    /// Inputs.
    pub xs: Vec<DynSig<In>>,
    /// Index of the input passed through.
    pub sel: DynSig<In>,
    /// The selected input.
    pub y: DynSig<Out>,
}

impl Select {
    /// `n` inputs of `width` bits, a `sel_bits`-bit index.
    pub fn new(n: usize, width: usize, sel_bits: usize) -> Self {
        Select {
            xs: (0..n).map(|_| DynSig::new(width)).collect(),
            sel: DynSig::new(sel_bits),
            y: DynSig::new(width),
        }
    }
}

impl Logic for Select {
    fn update(&mut self) {
        let s = self.sel.val().0;
        self.y.next = if (0..self.xs.len() as i64).contains(&s) {
            self.xs[s as usize].val()
        } else {
            DynVal(0)
        };
    }
    fn connect(&mut self) {
        self.y.connect();
    }
    fn hdl(&self) -> Verilog {
        let mut v = String::from("always @(*) begin\n    case (sel)\n");
        for i in 0..self.xs.len() {
            let _ = writeln!(v, "        {i}: y = xs${i};");
        }
        v.push_str("        default: y = 0;\n    endcase\nend\n");
        Verilog::Custom(v)
    }
}
