//! Small registered arithmetic leaves of the gate unit: a signed multiplier
//! (`p <= a * b`, mapped to the FPGA's DSP multipliers) and the exact sum of
//! two left-shifted terms (`s <= (a << sa) + (b << sb)`, the cell
//! accumulator). Widths are chosen so that nothing wraps: a product has the
//! sum of its operands' widths, the sum the width the model's datapath
//! derives.

use crate::dynamic::{sext, DynSig, DynVal};
use rust_hdl::prelude::*;

/// `p <= a * b`.
#[derive(LogicBlock)]
pub struct Multiplier {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Left operand.
    pub a: DynSig<In>,
    /// Right operand.
    pub b: DynSig<In>,
    /// Registered product, `width(a) + width(b)` bits.
    pub p: DynSig<Out>,
    _out: i64,
}

impl Multiplier {
    /// A multiplier of `a_width` by `b_width` bits.
    pub fn new(a_width: usize, b_width: usize) -> Self {
        Multiplier {
            clock: Signal::default(),
            a: DynSig::new(a_width),
            b: DynSig::new(b_width),
            p: DynSig::new(a_width + b_width),
            _out: 0,
        }
    }
}

impl Logic for Multiplier {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self._out = self.a.val().0 * self.b.val().0;
        }
        self.p.next = DynVal(self._out);
    }
    fn connect(&mut self) {
        self.p.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom("initial begin\n    p = 0;\nend\n\nalways @(posedge clock) begin\n    p <= a * b;\nend\n".into())
    }
}

/// `s <= (a << sa) + (b << sb)`.
#[derive(LogicBlock)]
pub struct ShiftedSum {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// First term.
    pub a: DynSig<In>,
    /// Second term.
    pub b: DynSig<In>,
    /// Registered sum.
    pub s: DynSig<Out>,
    _sa: u32,
    _sb: u32,
    _width: usize,
    _out: i64,
}

impl ShiftedSum {
    /// Terms of `a_width` and `b_width` bits shifted by `sa` and `sb` into a
    /// `width`-bit sum.
    pub fn new(a_width: usize, sa: u32, b_width: usize, sb: u32, width: usize) -> Self {
        ShiftedSum {
            clock: Signal::default(),
            a: DynSig::new(a_width),
            b: DynSig::new(b_width),
            s: DynSig::new(width),
            _sa: sa,
            _sb: sb,
            _width: width,
            _out: 0,
        }
    }
}

impl Logic for ShiftedSum {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let v = (self.a.val().0 << self._sa).wrapping_add(self.b.val().0 << self._sb);
            self._out = sext(v, self._width);
        }
        self.s.next = DynVal(self._out);
    }
    fn connect(&mut self) {
        self.s.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(format!(
            "initial begin\n    s = 0;\nend\n\nalways @(posedge clock) begin\n    s <= (a <<< {}) + (b <<< {});\nend\n",
            self._sa, self._sb
        ))
    }
}
