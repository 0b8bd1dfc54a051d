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
//! The x is shifted once, by its alignment (`shift`), as it enters, so
//! that parts of a row from matrices with different fractions add exactly
//! and no row has a shifter of its own. Each row then adds its product to
//! its accumulator in one carry chain: the product of a ternary or
//! power-of-two code (a sign-magnitude slot, as in
//! [`super::shift_add_lane`]) is the shifted x, its ones' complement for a
//! negative code with the +1 as the chain's carry-in, or zero, all within
//! the accumulator's width (the sums wrap there, as every accumulator's
//! do). At a group's `last` x every row's complete sum goes to `sums`, held
//! there until the next group completes, and the accumulator restarts
//! from zero in the same edge: groups follow back to back without a lost
//! cycle and need no `first`.
//!
//! Latency ([`ToeplitzConvUnit::LATENCY`]): an x presented before edge `t`
//! is in the input registers after `t`; a group's last x's sums are in
//! `sums`, with `done` nonzero, after `t + 1`.

use super::shift_add_lane::max_shift;
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

    /// The input tap that fills window position `p` when a circulant
    /// block is loaded: `t[p] = c[(p - k + 1) mod k] = c[(p + 1) mod k]`.
    pub fn circulant_source(&self, p: usize) -> usize {
        (p + 1) % self.k
    }
}

#[derive(Clone, Debug, Default)]
struct Regs {
    /// The x shifted by its alignment, at the accumulators' width.
    xs: i64,
    taps: Vec<u64>,
    load: bool,
    circulant: bool,
    last: bool,
    valid: bool,
    window: Vec<u64>,
    accs: Vec<i64>,
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
    pub const LATENCY: usize = 2;

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
        // Accumulators: row a reads window position a + k - 1.
        r.done = old.valid && old.last;
        if old.valid {
            for a in 0..s.k {
                let code = self._decoder.from_stored_in(cur[a + s.k - 1] as u32, bits);
                let product = self._decoder.mul(old.xs, code);
                let next = sext(old.accs[a].wrapping_add(product), s.acc_width);
                if old.last {
                    r.sums[a] = next;
                    r.accs[a] = 0;
                } else {
                    r.accs[a] = next;
                }
            }
            r.window = std::iter::once(0)
                .chain(cur[..s.window() - 1].iter().copied())
                .collect();
        }
        // Input stage.
        r.xs = sext(self.x.val().0 << self.shift.val().0, s.acc_width);
        for (t, tap) in r.taps.iter_mut().zip(&self.taps) {
            *t = super::pattern(tap.val().0, s.code_bits);
        }
        r.load = self.load.val().0 != 0;
        r.circulant = self.circulant.val().0 != 0;
        r.last = self.last.val().0 != 0;
        r.valid = self.valid.val().0 != 0;
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
        let (c1, m1, a1) = (cb - 1, cb - 2, s.acc_width - 1);
        let aw = s.acc_width;
        let mut v = String::new();
        let _ = writeln!(
            v,
            "// The x at its alignment, at the accumulators' width.
reg signed [{a1}:0] xs;
reg load_r, circ_r, last_r, valid_r, done_r;
initial begin xs = 0; load_r = 0; circ_r = 0; last_r = 0; valid_r = 0; done_r = 0; end
always @(posedge clock) begin
    xs <= x <<< shift; load_r <= load[0]; circ_r <= circulant[0];
    last_r <= last[0]; valid_r <= valid[0]; done_r <= valid_r && last_r;
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
        // A row: its product's magnitude (the x shifted by the code's
        // magnitude less one), masked and complemented by the code, and
        // added with the negation's +1 as the carry-in: one chain.
        for a in 0..k {
            let pos = a + k - 1;
            let mut arms = String::new();
            for m in 1..=max_shift(cb) + 1 {
                let _ = writeln!(arms, "        {m}: mag{a} = xs <<< {};", m - 1);
            }
            let _ = writeln!(
                v,
                "wire neg{a} = cur{pos}[{c1}] && (cur{pos}[{m1}:0] != 0);
reg signed [{a1}:0] mag{a};
always @(*) begin
    case (cur{pos}[{m1}:0])
{arms}        default: mag{a} = 0;
    endcase
end
wire signed [{a1}:0] term{a} = mag{a} ^ {{{aw}{{neg{a}}}}};
wire signed [{a1}:0] next{a} = acc{a} + term{a} + $signed({{1'b0, neg{a}}});
reg signed [{a1}:0] acc{a}, sum{a};
initial begin acc{a} = 0; sum{a} = 0; end
always @(posedge clock) if (valid_r) begin
    if (last_r) begin
        sum{a} <= next{a};
        acc{a} <= 0;
    end else
        acc{a} <= next{a};
end
always @(*) sums${a} = sum{a};"
            );
        }
        v
    }
}
