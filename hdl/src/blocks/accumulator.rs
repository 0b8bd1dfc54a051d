//! The accumulator behind the adder tree: on a valid cycle it starts a new
//! sum (`first`) or adds to the running one, each input first shifted left by
//! `shift` (the alignment of a matrix's fraction, or a row's power-of-two
//! scale) so that terms at different fractions add exactly.

use crate::dynamic::{sext, DynSig, DynVal};
use rust_hdl::prelude::*;

/// The accumulator.
#[derive(LogicBlock)]
pub struct Accumulator {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Input (the tree's sum).
    pub x: DynSig<In>,
    /// Left shift applied to `x` (non-negative).
    pub shift: DynSig<In>,
    /// Nonzero: start a new sum with this input.
    pub first: DynSig<In>,
    /// Nonzero: the input is a term.
    pub valid: DynSig<In>,
    /// The running sum.
    pub acc: DynSig<Out>,
    _width: usize,
    _value: i64,
}

impl Accumulator {
    /// An accumulator of `acc_width` bits over `x_width`-bit terms shifted by
    /// up to `2^(shift_bits - 1) - 1`.
    pub fn new(x_width: usize, shift_bits: usize, acc_width: usize) -> Self {
        Accumulator {
            clock: Signal::default(),
            x: DynSig::new(x_width),
            shift: DynSig::new(shift_bits),
            first: DynSig::new(2),
            valid: DynSig::new(2),
            acc: DynSig::new(acc_width),
            _width: acc_width,
            _value: 0,
        }
    }
}

impl Logic for Accumulator {
    fn update(&mut self) {
        if self.clock.pos_edge() && self.valid.val().0 != 0 {
            let term = self.x.val().0 << self.shift.val().0;
            let base = if self.first.val().0 != 0 {
                0
            } else {
                self._value
            };
            self._value = sext(base.wrapping_add(term), self._width);
        }
        self.acc.next = DynVal(self._value);
    }
    fn connect(&mut self) {
        self.acc.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(
            "reg signed [WIDTH:0] value;

initial begin
    value = 0;
end

always @(posedge clock) begin
    if (valid != 0) begin
        if (first != 0)
            value <= x <<< shift;
        else
            value <= value + (x <<< shift);
    end
end

always @(*) acc = value;
"
            .replace("WIDTH", &(self._width - 1).to_string()),
        )
    }
}
