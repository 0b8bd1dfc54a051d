//! The bias adder behind the MAC array: `y = acc + (bias << shift)`,
//! registered. `shift` aligns the bias's fraction to the exact sum's (the
//! layer's or the head's `align_bias`); the sum is as wide as the
//! accumulator, whose width the model's bounds make sufficient.

use crate::dynamic::{sext, DynSig, DynVal};
use rust_hdl::prelude::*;

/// The adder.
#[derive(LogicBlock)]
pub struct BiasAdd {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// The row's exact sum.
    pub acc: DynSig<In>,
    /// The row's bias.
    pub bias: DynSig<In>,
    /// Alignment of the bias.
    pub shift: DynSig<In>,
    /// `acc + (bias << shift)`, one cycle later.
    pub y: DynSig<Out>,
    _width: usize,
    _out: i64,
}

impl BiasAdd {
    /// Sums of `width` bits, biases of `bias_width`, shifts of `shift_bits`.
    pub fn new(width: usize, bias_width: usize, shift_bits: usize) -> Self {
        BiasAdd {
            clock: Signal::default(),
            acc: DynSig::new(width),
            bias: DynSig::new(bias_width),
            shift: DynSig::new(shift_bits),
            y: DynSig::new(width),
            _width: width,
            _out: 0,
        }
    }
}

impl Logic for BiasAdd {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let b = self.bias.val().0 << self.shift.val().0;
            self._out = sext(self.acc.val().0.wrapping_add(b), self._width);
        }
        self.y.next = DynVal(self._out);
    }
    fn connect(&mut self) {
        self.y.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(
            "initial begin\n    y = 0;\nend\n\nalways @(posedge clock) begin\n    y <= acc + (bias <<< shift);\nend\n"
                .into(),
        )
    }
}
