//! One shift-add lane: the product of a data value and a ternary or
//! power-of-two weight code, registered.
//!
//! The code is a memory slot in sign-magnitude form
//! (`ScalarCode::stored_in`): magnitude 0 is zero, magnitude `k` is a shift by
//! `k - 1`, the sign negates. Ternary codes are the magnitudes 0 and 1, so one
//! decoder serves both: `p = ±(x << (k - 1))`, no multiplier. The product is
//! `x_width + max_shift + 1` bits wide (the extra bit holds the negation of
//! the most negative input).
//!
//! A negation costs a carry chain per lane, more than the lane's shift and
//! zeroing together. A lane built with [`ShiftAddLane::deferred`] leaves it
//! out: it outputs the ones' complement `!(x << (k - 1))` for a negative
//! code, which is the product minus one, and sets its carry bit `c`; the
//! adder tree adds the carry as the carry-in of an adder it has anyway (see
//! `AdderTree`). On ECP5 that makes a lane 9 LUTs and no carry cells instead
//! of about 36 cells for 8-bit data. A lane built with [`ShiftAddLane::new`]
//! negates in full and its carry bit is always 0.

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
    /// Registered product (with a deferred negation, minus `c`).
    pub p: DynSig<Out>,
    /// Registered carry: 1 when `p` is the product minus one (a deferred
    /// negation), else 0.
    pub c: DynSig<Out>,
    _decoder: ScalarCode,
    _code_bits: usize,
    _deferred: bool,
}

impl ShiftAddLane {
    /// Width of the product of `x_width`-bit data and `code_bits`-bit codes.
    pub fn product_width(x_width: usize, code_bits: usize) -> usize {
        lstm_accel_spec::datapath::mac_array::shift_add_product_width(x_width, code_bits)
    }

    /// A lane for `code_bits`-bit slots (2..=5) and `x_width`-bit data that
    /// negates in full.
    pub fn new(code_bits: usize, x_width: usize) -> Self {
        Self::build(code_bits, x_width, false)
    }

    /// A lane whose negation's +1 leaves on `c`, for an adder to take.
    pub fn deferred(code_bits: usize, x_width: usize) -> Self {
        Self::build(code_bits, x_width, true)
    }

    fn build(code_bits: usize, x_width: usize, deferred: bool) -> Self {
        assert!(
            (2..=5).contains(&code_bits),
            "code slots are 2..=5 bits, not {code_bits}"
        );
        ShiftAddLane {
            clock: Signal::default(),
            code: DynSig::new(code_bits),
            x: DynSig::new(x_width),
            p: DynSig::new(Self::product_width(x_width, code_bits)),
            // 0 or 1 (a signed 2-bit signal, as the other flags).
            c: DynSig::new(2),
            // The widest sign-magnitude code the slot holds: shifts 0..=max.
            _decoder: ScalarCode::Pow2 {
                emin: 0,
                emax: max_shift(code_bits) as i32,
            },
            _code_bits: code_bits,
            _deferred: deferred,
        }
    }
}

/// Largest shift a `code_bits`-bit slot encodes.
pub use lstm_accel_spec::datapath::mac_array::max_shift;

impl Logic for ShiftAddLane {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let slot = super::pattern(self.code.val().0, self._code_bits) as u32;
            let code = self._decoder.from_stored_in(slot, self._code_bits as u32);
            let product = self._decoder.mul(self.x.val().0, code);
            // A deferred negation: `!v = -v - 1`, the product minus one.
            let carry = i64::from(self._deferred && code < 0);
            self.p.next = DynVal(product - carry);
            self.c.next = DynVal(carry);
        }
    }
    fn connect(&mut self) {
        self.p.connect();
        self.c.connect();
    }
    fn hdl(&self) -> Verilog {
        let cb = self._code_bits;
        let pw = self.p.width();
        let mut arms = String::new();
        for m in 1..=max_shift(cb) + 1 {
            arms.push_str(&format!("        {m}: v = xe <<< {};\n", m - 1));
        }
        // The deferred form masks rather than selects the zero: Yosys maps
        // an XOR-and-AND per bit into one LUT, a case with a zero arm into
        // two.
        let (product, carry) = if self._deferred {
            (
                format!("(v ^ {{{pw}{{sign}}}}) & {{{pw}{{nz}}}}"),
                "{1'b0, sign & nz}",
            )
        } else {
            ("sign ? -v : v".to_string(), "0")
        };
        Verilog::Custom(format!(
            "wire sign = code[{top}];
wire [{mtop}:0] mag = code[{mtop}:0];
wire nz = mag != 0;
wire signed [{ptop}:0] xe = x;
reg signed [{ptop}:0] v;

always @(*) begin
    case (mag)
{arms}        default: v = 0;
    endcase
end

initial begin
    p = 0;
    c = 0;
end

always @(posedge clock) begin
    p <= {product};
    c <= {carry};
end
",
            top = cb - 1,
            mtop = cb - 2,
            ptop = pw - 1,
        ))
    }
}
