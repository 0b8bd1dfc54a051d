//! One shift-add lane: the product of a data value and a ternary or
//! power-of-two weight code, registered.
//!
//! The code is a memory slot in sign-magnitude form
//! (`ScalarCode::stored_in`): magnitude 0 is zero, magnitude `k` is a shift by
//! `k - 1`, the sign negates. Ternary codes are the magnitudes 0 and 1, so one
//! decoder serves both: `p = ±(x << (k - 1))`, no multiplier. The product is
//! `x_width + max_shift + 1` bits wide (the extra bit holds the negation of
//! the most negative input).

use crate::dynamic::{DynSig, DynVal};
use lstm_accel_model::encoding::ScalarCode;
use rust_hdl::prelude::*;

/// The lane.
#[derive(LogicBlock)]
pub struct ShiftAddLane {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Weight code slot.
    pub code: DynSig<In>,
    /// Data value.
    pub x: DynSig<In>,
    /// Registered product.
    pub p: DynSig<Out>,
    _decoder: ScalarCode,
    _code_bits: usize,
}

impl ShiftAddLane {
    /// Width of the product of `x_width`-bit data and `code_bits`-bit codes.
    pub fn product_width(x_width: usize, code_bits: usize) -> usize {
        x_width + max_shift(code_bits) + 1
    }

    /// A lane for `code_bits`-bit slots (2..=5) and `x_width`-bit data.
    pub fn new(code_bits: usize, x_width: usize) -> Self {
        assert!(
            (2..=5).contains(&code_bits),
            "code slots are 2..=5 bits, not {code_bits}"
        );
        ShiftAddLane {
            clock: Signal::default(),
            code: DynSig::new(code_bits),
            x: DynSig::new(x_width),
            p: DynSig::new(Self::product_width(x_width, code_bits)),
            // The widest sign-magnitude code the slot holds: shifts 0..=max.
            _decoder: ScalarCode::Pow2 {
                emin: 0,
                emax: max_shift(code_bits) as i32,
            },
            _code_bits: code_bits,
        }
    }
}

/// Largest shift a `code_bits`-bit slot encodes.
pub fn max_shift(code_bits: usize) -> usize {
    (1 << (code_bits - 1)) - 2
}

impl Logic for ShiftAddLane {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let slot = super::pattern(self.code.val().0, self._code_bits) as u32;
            let code = self._decoder.from_stored_in(slot, self._code_bits as u32);
            self.p.next = DynVal(self._decoder.mul(self.x.val().0, code));
        }
    }
    fn connect(&mut self) {
        self.p.connect();
    }
    fn hdl(&self) -> Verilog {
        let cb = self._code_bits;
        Verilog::Custom(format!(
            "wire sign = code[{top}];
wire [{mtop}:0] mag = code[{mtop}:0];

initial begin
    p = 0;
end

always @(posedge clock) begin
    if (mag == 0)
        p <= 0;
    else if (sign)
        p <= -(x <<< (mag - 1));
    else
        p <= x <<< (mag - 1);
end
",
            top = cb - 1,
            mtop = cb - 2
        ))
    }
}
