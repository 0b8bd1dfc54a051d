//! The Toeplitz convolution unit, in transposed form: the k rows of one
//! block row of a block-Toeplitz or block-circulant matrix, computed with
//! the block's taps held in a register, one x value broadcast to every row
//! per cycle, and one accumulator per row: no adder tree, and one tap-word
//! read per block (k cycles) instead of one per multiply-accumulate.
//!
//! In block column `b` (the block's local column, 0..k) row `a` multiplies
//! x by `t[a - b + k - 1]` (circulant: `c[(a - b) mod k]`, which is the
//! same window with `t[j] = c[(j + 1) mod k]`). The unit keeps the block's
//! 2k-1 window in a register that moves up one place per column, so row
//! `a` always reads position `a + k - 1`: at the block's first column
//! (`load`) the rows read the taps on the input, and the register takes
//! them moved up one; at every other column the rows read the register and
//! it moves up again. A circulant block's k codes come in `taps[0..k]` and
//! are spread over the window as they are loaded.
//!
//! The products are shift-add (ternary and power-of-two codes in
//! sign-magnitude slots, as [`super::shift_add_lane`]) and registered; each
//! row's accumulator starts at `first` and adds its product shifted left by
//! the x's alignment (`shift`), so parts of a row from matrices with
//! different fractions add exactly. At `last` every row's sum is complete;
//! a cycle later it is in `sums`, held there until the next group
//! completes, while the accumulators already take the next group: back to
//! back groups lose no cycle.
//!
//! Latency ([`ToeplitzConvUnit::LATENCY`]): an x presented before edge `t`
//! is in the input registers after `t`, its products after `t + 1`, in the
//! accumulators after `t + 2`; a group's last x's sums are in `sums` with
//! `done` nonzero after `t + 3`.

use super::shift_add_lane::{max_shift, ShiftAddLane};
use crate::dynamic::{sext, DynSig, DynVal};
use lstm_accel_model::encoding::ScalarCode;
use rust_hdl::prelude::*;
use std::fmt::Write;

/// Widths of a Toeplitz convolution unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ToeplitzConvShape {
    /// Block size k: rows of the unit, 2k-1 taps in its window.
    pub k: usize,
    /// Bits of a tap slot (sign-magnitude, 2..=5).
    pub code_bits: usize,
    /// Bits of an x value.
    pub x_width: usize,
    /// Bits of the alignment shift input (its values are non-negative).
    pub shift_bits: usize,
    /// Bits of an accumulator.
    pub acc_width: usize,
}

impl ToeplitzConvShape {
    /// Taps in the window.
    pub fn window(&self) -> usize {
        2 * self.k - 1
    }

    /// Bits of a product.
    pub fn product_width(&self) -> usize {
        ShiftAddLane::product_width(self.x_width, self.code_bits)
    }

    /// The input tap that fills window position `p` when a circulant
    /// block is loaded: `t[p] = c[(p - k + 1) mod k] = c[(p + 1) mod k]`.
    pub fn circulant_source(&self, p: usize) -> usize {
        (p + 1) % self.k
    }
}

#[derive(Clone, Debug, Default)]
struct Regs {
    x: i64,
    taps: Vec<u64>,
    load: bool,
    circulant: bool,
    first: bool,
    last: bool,
    valid: bool,
    shift: i64,
    window: Vec<u64>,
    products: Vec<i64>,
    p_first: bool,
    p_last: bool,
    p_valid: bool,
    p_shift: i64,
    accs: Vec<i64>,
    a_done: bool,
    sums: Vec<i64>,
    done: bool,
}

/// The unit.
#[derive(LogicBlock)]
pub struct ToeplitzConvUnit {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// The window of the block this x opens (read at `load`): 2k-1 slots,
    /// or a circulant block's k codes in the first k.
    pub taps: Vec<DynSig<In>>,
    /// Nonzero with `load`: the taps are a circulant block's.
    pub circulant: DynSig<In>,
    /// Nonzero: this x is its block's first column.
    pub load: DynSig<In>,
    /// The x value, broadcast to every row.
    pub x: DynSig<In>,
    /// Nonzero: this x starts the rows' sums.
    pub first: DynSig<In>,
    /// Nonzero: this x ends them.
    pub last: DynSig<In>,
    /// Nonzero: an x is present (the window moves only then).
    pub valid: DynSig<In>,
    /// Left shift of this x's products.
    pub shift: DynSig<In>,
    /// The rows' sums of the last complete group.
    pub sums: Vec<DynSig<Out>>,
    /// Nonzero in the cycle `sums` first holds a new group.
    pub done: DynSig<Out>,
    _shape: ToeplitzConvShape,
    _decoder: ScalarCode,
    _r: Regs,
}

impl ToeplitzConvUnit {
    /// Edges from an x to its group's `sums` (its last x).
    pub const LATENCY: usize = 4;

    /// A unit of the given widths.
    pub fn new(shape: ToeplitzConvShape) -> Self {
        assert!(shape.k >= 1, "a block has a row");
        assert!(
            (2..=5).contains(&shape.code_bits),
            "tap slots are 2..=5 bits, not {}",
            shape.code_bits
        );
        let w = shape.window();
        ToeplitzConvUnit {
            clock: Signal::default(),
            taps: (0..w).map(|_| DynSig::new(shape.code_bits)).collect(),
            circulant: DynSig::new(2),
            load: DynSig::new(2),
            x: DynSig::new(shape.x_width),
            first: DynSig::new(2),
            last: DynSig::new(2),
            valid: DynSig::new(2),
            shift: DynSig::new(shape.shift_bits),
            sums: (0..shape.k).map(|_| DynSig::new(shape.acc_width)).collect(),
            done: DynSig::new(2),
            _decoder: ScalarCode::Pow2 {
                emin: 0,
                emax: max_shift(shape.code_bits) as i32,
            },
            _r: Regs {
                taps: vec![0; w],
                window: vec![0; w],
                products: vec![0; shape.k],
                accs: vec![0; shape.k],
                sums: vec![0; shape.k],
                ..Regs::default()
            },
            _shape: shape,
        }
    }

    /// The window the rows read in the product stage: the loaded taps
    /// (spread when circulant) or the register.
    fn current_window(&self) -> Vec<u64> {
        let r = &self._r;
        let s = &self._shape;
        if !r.load {
            return r.window.clone();
        }
        (0..s.window())
            .map(|p| {
                if r.circulant {
                    r.taps[s.circulant_source(p)]
                } else {
                    r.taps[p]
                }
            })
            .collect()
    }

    fn edge(&mut self) {
        let s = self._shape;
        let bits = s.code_bits as u32;
        let cur = self.current_window();
        let old = self._r.clone();
        let r = &mut self._r;
        // Sums stage.
        r.done = old.a_done;
        if old.a_done {
            r.sums.clone_from(&old.accs);
        }
        // Accumulator stage.
        r.a_done = old.p_valid && old.p_last;
        if old.p_valid {
            for (acc, &p) in r.accs.iter_mut().zip(&old.products) {
                let base = if old.p_first { 0 } else { *acc };
                *acc = sext(base.wrapping_add(p << old.p_shift), s.acc_width);
            }
        }
        // Product stage: row a reads window position a + k - 1.
        for a in 0..s.k {
            let code = self._decoder.from_stored_in(cur[a + s.k - 1] as u32, bits);
            r.products[a] = self._decoder.mul(old.x, code);
        }
        if old.valid {
            r.window = std::iter::once(0)
                .chain(cur[..s.window() - 1].iter().copied())
                .collect();
        }
        r.p_first = old.first;
        r.p_last = old.last;
        r.p_valid = old.valid;
        r.p_shift = old.shift;
        // Input stage.
        r.x = self.x.val().0;
        for (t, tap) in r.taps.iter_mut().zip(&self.taps) {
            *t = super::pattern(tap.val().0, s.code_bits);
        }
        r.load = self.load.val().0 != 0;
        r.circulant = self.circulant.val().0 != 0;
        r.first = self.first.val().0 != 0;
        r.last = self.last.val().0 != 0;
        r.valid = self.valid.val().0 != 0;
        r.shift = self.shift.val().0;
    }
}

impl Logic for ToeplitzConvUnit {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self.edge();
        }
        for (o, &v) in self.sums.iter_mut().zip(&self._r.sums) {
            o.next = DynVal(v);
        }
        self.done.next = DynVal(i64::from(self._r.done));
    }
    fn connect(&mut self) {
        for o in &mut self.sums {
            o.connect();
        }
        self.done.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(self.verilog())
    }
}

impl ToeplitzConvUnit {
    fn verilog(&self) -> String {
        let s = self._shape;
        let (k, w, cb) = (s.k, s.window(), s.code_bits);
        let (c1, x1, s1, a1) = (cb - 1, s.x_width - 1, s.shift_bits - 1, s.acc_width - 1);
        let p1 = s.product_width() - 1;
        let mut v = String::new();
        let _ = writeln!(
            v,
            "reg signed [{x1}:0] x_r;
reg [{s1}:0] shift_r, p_shift;
reg load_r, circ_r, first_r, last_r, valid_r, p_first, p_last, p_valid, a_done, done_r;
initial begin x_r = 0; shift_r = 0; p_shift = 0; load_r = 0; circ_r = 0; first_r = 0; last_r = 0; valid_r = 0;
    p_first = 0; p_last = 0; p_valid = 0; a_done = 0; done_r = 0; end
always @(posedge clock) begin
    x_r <= x; shift_r <= shift; load_r <= load[0]; circ_r <= circulant[0];
    first_r <= first[0]; last_r <= last[0]; valid_r <= valid[0];
    p_first <= first_r; p_last <= last_r; p_valid <= valid_r; p_shift <= shift_r;
    a_done <= p_valid && p_last; done_r <= a_done;
end
always @(*) done = {{1'b0, done_r}};"
        );
        // The taps' input registers and the window: position p reads the
        // loaded taps (spread when circulant) or the register.
        for p in 0..w {
            let _ = writeln!(
                v,
                "reg [{c1}:0] tap_r{p}, win{p};
initial begin tap_r{p} = 0; win{p} = 0; end
always @(posedge clock) tap_r{p} <= taps${p};
wire [{c1}:0] cur{p} = load_r ? (circ_r ? tap_r{src} : tap_r{p}) : win{p};",
                src = s.circulant_source(p)
            );
        }
        v.push_str("always @(posedge clock) if (valid_r) begin\n    win0 <= 0;\n");
        for p in 1..w {
            let _ = writeln!(v, "    win{p} <= cur{};", p - 1);
        }
        v.push_str("end\n");
        // A row: its product (sign-magnitude shift-add, negated in full),
        // its accumulator, its sum.
        let _ = writeln!(v, "wire signed [{p1}:0] xe = x_r;");
        for a in 0..k {
            let pos = a + k - 1;
            let mut arms = String::new();
            for m in 1..=max_shift(cb) + 1 {
                let _ = writeln!(arms, "        {m}: v{a} = xe <<< {};", m - 1);
            }
            let _ = writeln!(
                v,
                "reg signed [{p1}:0] v{a}, prod{a};
reg signed [{a1}:0] acc{a}, sum{a};
initial begin prod{a} = 0; acc{a} = 0; sum{a} = 0; end
always @(*) begin
    case (cur{pos}[{m1}:0])
{arms}        default: v{a} = 0;
    endcase
end
always @(posedge clock) begin
    prod{a} <= cur{pos}[{c1}] ? -v{a} : v{a};
    if (p_valid) begin
        if (p_first) acc{a} <= prod{a} <<< p_shift;
        else acc{a} <= acc{a} + (prod{a} <<< p_shift);
    end
    if (a_done) sum{a} <= acc{a};
end
always @(*) sums${a} = sum{a};",
                m1 = cb - 2,
            );
        }
        v
    }
}
