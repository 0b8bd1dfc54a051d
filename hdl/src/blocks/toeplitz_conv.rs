//! The Toeplitz convolution unit: the product of one k x k structured block
//! with a k-vector, as a 1-D convolution. The block's few weights sit in a
//! tap register; `x` streams past them one value per cycle, broadcast to k
//! shift-add lanes, one per output row, each accumulating its row's sum.
//! Between values the tap register moves by one place, so lane `a` always
//! reads one fixed tap and no weight memory is read per multiply-accumulate:
//! a block costs its 2k-1 (or k) codes, loaded once, instead of k².
//!
//! With the block's codes `t` and the column `b` being streamed, lane `a`
//! needs (see `lstm_accel_model::encoding::structured`):
//! - Toeplitz, `W[a][b] = t[a - b + k - 1]`: a 2k-1 register loaded with `t`
//!   that shifts up (`R[m] <- R[m-1]`) after every value; lane `a` reads
//!   `R[a + k - 1]`;
//! - circulant, `W[a][b] = c[(a - b) mod k]`: a k register that rotates up;
//!   lane `a` reads `R[a]`;
//! - skew-circulant, `Z-1(h)[a][b] = h[a - b]` for `a >= b`, else
//!   `-h[a - b + k]`: the same rotation with the wrapping code negated,
//!   which in sign-magnitude form is flipping its sign bit.
//!
//! Codes are ternary or power-of-two in sign-magnitude slots (as in
//! `ShiftAddLane`: magnitude 0 is zero, `m` a shift by `m - 1`), so every
//! product is a shift and an add. Toeplitz-like matrices of displacement
//! rank r run as r chained pairs: a skew-circulant unit's k sums stream into
//! a circulant unit.
//!
//! Interface: `load` shifts `load_code` into a shadow register (codes in
//! order `t[0]` first) while the current block computes; `swap` copies the
//! shadow into the taps (not in a cycle with `x_valid`). Each `x_valid`
//! value is multiplied in lane-parallel (registered products), then added
//! to the k accumulators the next cycle, which restart from the product
//! when `clear` came with the value. A value's products are in `ys` two
//! cycles after it.

use crate::dynamic::{DynSig, DynVal};
use lstm_accel_model::encoding::ScalarCode;
use rust_hdl::prelude::*;
use std::fmt::Write;

use super::shift_add_lane::{max_shift, ShiftAddLane};

/// The block structure a unit convolves with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvKind {
    /// 2k-1 taps, shifted.
    Toeplitz,
    /// k taps, rotated.
    Circulant,
    /// k taps, rotated with the wrapping one negated.
    SkewCirculant,
}

impl ConvKind {
    /// Taps of a block of size `k`.
    pub fn taps(self, k: usize) -> usize {
        match self {
            ConvKind::Toeplitz => 2 * k - 1,
            ConvKind::Circulant | ConvKind::SkewCirculant => k,
        }
    }

    /// The tap lane `a` reads.
    fn lane_tap(self, k: usize, a: usize) -> usize {
        match self {
            ConvKind::Toeplitz => a + k - 1,
            ConvKind::Circulant | ConvKind::SkewCirculant => a,
        }
    }
}

/// Sizes of a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    /// Block size k (lanes).
    pub block: usize,
    /// Block structure.
    pub kind: ConvKind,
    /// Bits of a code slot (2..=5).
    pub code_bits: usize,
    /// Bits of a streamed value.
    pub x_width: usize,
    /// Bits of an accumulator.
    pub acc_width: usize,
}

#[derive(Debug, Default)]
struct Regs {
    shadow: Vec<u32>,
    taps: Vec<u32>,
    prod: Vec<i64>,
    p_valid: bool,
    p_clear: bool,
    acc: Vec<i64>,
}

/// The unit.
#[derive(LogicBlock)]
pub struct ToeplitzConvUnit {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Nonzero: shift `load_code` into the shadow taps.
    pub load: DynSig<In>,
    /// The code loaded (a sign-magnitude slot).
    pub load_code: DynSig<In>,
    /// Nonzero: the taps take the shadow's codes.
    pub swap: DynSig<In>,
    /// The streamed value.
    pub x: DynSig<In>,
    /// Nonzero: `x` is a value.
    pub x_valid: DynSig<In>,
    /// Nonzero: with a value, the sums restart from its products.
    pub clear: DynSig<In>,
    /// The k row sums.
    pub ys: Vec<DynSig<Out>>,
    _s: ConvShape,
    _r: Regs,
    _decoder: ScalarCode,
}

impl ToeplitzConvUnit {
    /// A unit of `shape`.
    pub fn new(shape: ConvShape) -> Self {
        assert!(shape.block >= 1, "a block has at least one row");
        let (k, p) = (shape.block, shape.kind.taps(shape.block));
        ToeplitzConvUnit {
            clock: Signal::default(),
            load: DynSig::new(2),
            load_code: DynSig::new(shape.code_bits),
            swap: DynSig::new(2),
            x: DynSig::new(shape.x_width),
            x_valid: DynSig::new(2),
            clear: DynSig::new(2),
            ys: (0..k).map(|_| DynSig::new(shape.acc_width)).collect(),
            _r: Regs {
                shadow: vec![0; p],
                taps: vec![0; p],
                prod: vec![0; k],
                acc: vec![0; k],
                ..Regs::default()
            },
            _decoder: ScalarCode::Pow2 {
                emin: 0,
                emax: max_shift(shape.code_bits) as i32,
            },
            _s: shape,
        }
    }

    /// Width of one lane's product.
    pub fn product_width(&self) -> usize {
        ShiftAddLane::product_width(self._s.x_width, self._s.code_bits)
    }

    /// Cycles from a value to its products in `ys`.
    pub const LATENCY: usize = 2;

    /// One rising edge, in place: each register is read before it is
    /// written (accumulators, then products, then taps, then the shadow).
    fn edge(&mut self) {
        let s = self._s;
        let (k, cb) = (s.block, s.code_bits);
        let p = s.kind.taps(k);
        let sign = 1u32 << (cb - 1);
        let valid = self.x_valid.val().0 != 0;
        let x = self.x.val().0;
        let dec = &self._decoder;
        let r = &mut self._r;
        if r.p_valid {
            for (acc, &prod) in r.acc.iter_mut().zip(&r.prod) {
                *acc = if r.p_clear { prod } else { *acc + prod };
            }
        }
        if valid {
            for (a, prod) in r.prod.iter_mut().enumerate() {
                let slot = r.taps[s.kind.lane_tap(k, a)];
                *prod = dec.mul(x, dec.from_stored_in(slot, cb as u32));
            }
        }
        r.p_valid = valid;
        r.p_clear = self.clear.val().0 != 0;
        if self.swap.val().0 != 0 {
            r.taps.copy_from_slice(&r.shadow);
        } else if valid {
            r.taps.rotate_right(1);
            match s.kind {
                ConvKind::Toeplitz => r.taps[0] = 0,
                ConvKind::Circulant => {}
                // Negating zero (magnitude 0) leaves zero: the sign bit is
                // only flipped on a nonzero code.
                ConvKind::SkewCirculant => {
                    if r.taps[0] & (sign - 1) != 0 {
                        r.taps[0] ^= sign;
                    }
                }
            }
        }
        if self.load.val().0 != 0 {
            r.shadow.rotate_left(1);
            r.shadow[p - 1] = super::pattern(self.load_code.val().0, cb) as u32;
        }
    }
}

impl Logic for ToeplitzConvUnit {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self.edge();
        }
        for (y, &v) in self.ys.iter_mut().zip(&self._r.acc) {
            y.next = DynVal(v);
        }
    }
    fn connect(&mut self) {
        for y in &mut self.ys {
            y.connect();
        }
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(self.verilog())
    }
}

impl ToeplitzConvUnit {
    fn verilog(&self) -> String {
        let s = self._s;
        let (k, cb) = (s.block, s.code_bits);
        let p = s.kind.taps(k);
        let pw = self.product_width();
        let aw = s.acc_width;
        let mut v = String::new();
        for m in 0..p {
            let _ = writeln!(v, "reg [{}:0] shadow_{m}, tap_{m};", cb - 1);
        }
        for a in 0..k {
            let _ = writeln!(
                v,
                "reg signed [{}:0] prod_{a};\nreg signed [{}:0] acc_{a};",
                pw - 1,
                aw - 1
            );
            let t = s.kind.lane_tap(k, a);
            // Lane a's product of x and its tap, as in ShiftAddLane.
            let _ = writeln!(
                v,
                "wire [{mt}:0] mag_{a} = tap_{t}[{mt}:0];
wire sign_{a} = tap_{t}[{top}];
wire signed [{pt}:0] x_ext_{a} = x;
wire signed [{pt}:0] shifted_{a} = x_ext_{a} <<< (mag_{a} - 1);",
                mt = cb - 2,
                top = cb - 1,
                pt = pw - 1
            );
        }
        v.push_str("reg p_valid, p_clear;\n\ninitial begin\n    p_valid = 0; p_clear = 0;\n");
        for m in 0..p {
            let _ = writeln!(v, "    shadow_{m} = 0; tap_{m} = 0;");
        }
        for a in 0..k {
            let _ = writeln!(v, "    prod_{a} = 0; acc_{a} = 0;");
        }
        v.push_str("end\n\nalways @(posedge clock) begin\n    if (load != 0) begin\n");
        for m in 0..p - 1 {
            let _ = writeln!(v, "        shadow_{m} <= shadow_{};", m + 1);
        }
        let _ = writeln!(v, "        shadow_{} <= load_code;\n    end", p - 1);
        v.push_str("    if (swap != 0) begin\n");
        for m in 0..p {
            let _ = writeln!(v, "        tap_{m} <= shadow_{m};");
        }
        v.push_str("    end else if (x_valid != 0) begin\n");
        for m in 1..p {
            let _ = writeln!(v, "        tap_{m} <= tap_{};", m - 1);
        }
        let wrap = match s.kind {
            ConvKind::Toeplitz => "0".to_string(),
            ConvKind::Circulant => format!("tap_{}", p - 1),
            ConvKind::SkewCirculant => format!(
                "(tap_{last}[{mt}:0] == 0) ? tap_{last} : (tap_{last} ^ {cb}'d{sign})",
                last = p - 1,
                mt = cb - 2,
                sign = 1u32 << (cb - 1)
            ),
        };
        let _ = writeln!(v, "        tap_0 <= {wrap};\n    end");
        v.push_str("    p_valid <= (x_valid != 0);\n    p_clear <= (clear != 0);\n    if (x_valid != 0) begin\n");
        for a in 0..k {
            let _ = writeln!(
                v,
                "        prod_{a} <= (mag_{a} == 0) ? 0 : (sign_{a} ? -shifted_{a} : shifted_{a});"
            );
        }
        v.push_str("    end\n    if (p_valid) begin\n");
        for a in 0..k {
            let _ = writeln!(
                v,
                "        if (p_clear)\n            acc_{a} <= prod_{a};\n        else\n            acc_{a} <= acc_{a} + prod_{a};"
            );
        }
        v.push_str("    end\nend\n\nalways @(*) begin\n");
        for a in 0..k {
            let _ = writeln!(v, "    ys${a} = acc_{a};");
        }
        v.push_str("end\n");
        v
    }
}
