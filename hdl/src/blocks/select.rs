//! A multiplexer: `y = xs[map[sel]]` (zero for a select past the map's
//! end), purely combinational; the map is the identity unless given. The
//! datapath uses it where layers have units of their own (rounding point,
//! gate unit) and the sequencer's layer index picks the one whose result is
//! live; layers that share a unit map to the same input.

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
    /// The input of each select value.
    _map: Vec<usize>,
}

impl Select {
    /// `n` inputs of `width` bits, a `sel_bits`-bit index.
    pub fn new(n: usize, width: usize, sel_bits: usize) -> Self {
        Self::mapped((0..n).collect(), width, sel_bits)
    }

    /// Inputs of `width` bits, a `sel_bits`-bit index `s` passing input
    /// `map[s]` (as many inputs as the largest entry needs).
    pub fn mapped(map: Vec<usize>, width: usize, sel_bits: usize) -> Self {
        let n = map.iter().max().map_or(0, |m| m + 1);
        Select {
            xs: (0..n).map(|_| DynSig::new(width)).collect(),
            sel: DynSig::new(sel_bits),
            y: DynSig::new(width),
            _map: map,
        }
    }
}

impl Logic for Select {
    fn update(&mut self) {
        let s = self.sel.val().0;
        self.y.next = match usize::try_from(s).ok().and_then(|s| self._map.get(s)) {
            Some(&i) => self.xs[i].val(),
            None => DynVal(0),
        };
    }
    fn connect(&mut self) {
        self.y.connect();
    }
    fn hdl(&self) -> Verilog {
        let mut v = String::from("always @(*) begin\n    case (sel)\n");
        for (s, i) in self._map.iter().enumerate() {
            let _ = writeln!(v, "        {s}: y = xs${i};");
        }
        v.push_str("        default: y = 0;\n    endcase\nend\n");
        Verilog::Custom(v)
    }
}
