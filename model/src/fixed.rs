//! Signed fixed-point arithmetic: the one definition of every integer operation
//! that the reference model, the generated hardware and every simulator share.
//!
//! A value is stored as a two's-complement integer `raw` of `width` bits that
//! stands for `raw * 2^-frac`. `frac` may be negative (a weight scale of 2^3 is a
//! format with `frac = -3`) or larger than the width (small-magnitude values).
//!
//! Precision is lost at exactly two kinds of place, both named:
//! - *rounding*: a right shift by `s` bits, `v / 2^s`, rounded as [`Rounding`]
//!   says (floor, half-up or half-to-even). In hardware: `floor` is a wire slice,
//!   `half_up` adds `2^(s-1)` before the slice, `half_even` also inspects the
//!   sticky bits and the kept LSB;
//! - *saturation*: clamping to the destination format's range
//!   `[-2^(width-1), 2^(width-1) - 1]`. In hardware: a comparison of the bits
//!   above the destination width with the sign.
//!
//! Everything else is exact: left shifts (products by a power of two), negation
//! and addition (products by a ternary weight), aligned sums. Accumulator widths
//! come from [`signed_bits`] applied to a worst-case magnitude bound, so that a
//! dot product cannot overflow between two named points.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Widest format any datapath register may have (accumulators excluded).
pub const MAX_WIDTH: u32 = 32;

/// A signed fixed-point format: `width` bits in two's complement, `frac` of them
/// (notionally) behind the binary point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Format {
    /// Total bits, sign included.
    pub width: u32,
    /// Fraction bits: the value of `raw` is `raw * 2^-frac`.
    pub frac: i32,
}

impl Format {
    /// A format; no range check (see [`Format::check`]).
    pub const fn new(width: u32, frac: i32) -> Self {
        Format { width, frac }
    }

    /// Checks `lo <= width <= hi` and `1 <= width <= MAX_WIDTH`.
    pub fn check(&self, lo: u32, hi: u32) -> Result<(), String> {
        if self.width < lo.max(1) || self.width > hi.min(MAX_WIDTH) {
            return Err(format!(
                "format Q{} has width {} bits, allowed {}..={}",
                self, self.width, lo, hi
            ));
        }
        if !(-64..=64).contains(&self.frac) {
            return Err(format!(
                "format {} has {} fraction bits, allowed -64..=64",
                self, self.frac
            ));
        }
        Ok(())
    }

    /// Smallest raw value, `-2^(width-1)`.
    pub const fn min_raw(&self) -> i64 {
        -(1i64 << (self.width - 1))
    }

    /// Largest raw value, `2^(width-1) - 1`.
    pub const fn max_raw(&self) -> i64 {
        (1i64 << (self.width - 1)) - 1
    }

    /// Whether `raw` is representable.
    pub const fn contains(&self, raw: i64) -> bool {
        raw >= self.min_raw() && raw <= self.max_raw()
    }

    /// Saturation point: clamps `raw` into the format's range.
    #[inline]
    pub fn saturate(&self, raw: i64) -> i64 {
        raw.clamp(self.min_raw(), self.max_raw())
    }

    /// The real value of `raw`.
    pub fn to_f64(&self, raw: i64) -> f64 {
        raw as f64 * pow2_f64(-self.frac)
    }

    /// Quantization of a real number: `x * 2^frac` rounded as `mode` says, then
    /// saturated. Non-finite input saturates (NaN to zero).
    pub fn quantize(&self, x: f64, mode: Rounding) -> i64 {
        if x.is_nan() {
            return 0;
        }
        let scaled = x * pow2_f64(self.frac);
        let rounded = match mode {
            Rounding::Floor => scaled.floor(),
            Rounding::HalfUp => (scaled + 0.5).floor(),
            Rounding::HalfEven => {
                let r = scaled.round();
                // `f64::round` rounds half away from zero; correct the ties.
                if (scaled - scaled.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
                    r - scaled.signum()
                } else {
                    r
                }
            }
        };
        if rounded >= self.max_raw() as f64 {
            self.max_raw()
        } else if rounded <= self.min_raw() as f64 {
            self.min_raw()
        } else {
            rounded as i64
        }
    }

    /// The largest magnitude of any raw value, `2^(width-1)` (the most negative).
    pub const fn max_abs_raw(&self) -> u128 {
        1u128 << (self.width - 1)
    }
}

impl fmt::Display for Format {
    /// `s<width>.<frac>`, e.g. `s8.6` for 8 bits with 6 fraction bits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{}.{}", self.width, self.frac)
    }
}

/// `v` truncated to `w` bits and sign-extended back (a Verilog assignment to
/// a `signed [w-1:0]` reg).
#[inline(always)]
pub fn sext(v: i64, w: usize) -> i64 {
    let s = 64 - w as u32;
    (v << s) >> s
}

/// `2^e` as a float, exact for every `e` a format can have.
pub fn pow2_f64(e: i32) -> f64 {
    2f64.powi(e)
}

/// How a right shift drops bits. The same mode is used at every rounding point
/// of a model (`Model::rounding`), and each point is named in
/// [`RoundingPoint`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Towards minus infinity: the dropped bits are simply discarded.
    Floor,
    /// To nearest, ties towards plus infinity: add `2^(s-1)`, then discard.
    #[default]
    HalfUp,
    /// To nearest, ties to the even neighbour (no bias on average).
    HalfEven,
}

impl Rounding {
    /// Every mode, for exhaustive tests.
    pub const ALL: [Rounding; 3] = [Rounding::Floor, Rounding::HalfUp, Rounding::HalfEven];
}

impl fmt::Display for Rounding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rounding::Floor => "floor",
            Rounding::HalfUp => "half_up",
            Rounding::HalfEven => "half_even",
        })
    }
}

/// The places in the datapath where precision is given up. Each is a
/// [`requantize`] from an exact accumulator into a narrower format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundingPoint {
    /// Float features to the model's input format (host side).
    Input,
    /// Gate accumulator (`W_x x + W_h h + b`) to the pre-activation format.
    PreActivation,
    /// Activation function: the slope shift of a piecewise-linear segment or the
    /// index slice of a table; the output saturates into the gate format.
    Activation,
    /// `f*c + i*g` to the cell format (saturation here is Lu et al.'s cell clipping).
    Cell,
    /// `o * tanh(c)` to the hidden format.
    Hidden,
    /// `P h` to the projection format (LSTMP / shared projection).
    Projection,
    /// Output layer accumulator to the logit format.
    Logits,
}

/// `v / 2^shift` rounded as `mode` says (`shift` may be 0). Shifts of 63 and
/// more are computed in i128 (a quotient in (-1, 1)), so every shift is exact.
#[inline]
pub fn shift_round(v: i64, shift: u32, mode: Rounding) -> i64 {
    if shift == 0 {
        return v;
    }
    if shift >= 63 {
        // |v| <= 2^63, so any shift past 64 rounds exactly as a shift of 64 does.
        return shift_round_wide(v as i128, shift.min(64), mode) as i64;
    }
    let floor = v >> shift;
    match mode {
        Rounding::Floor => floor,
        Rounding::HalfUp => {
            // Bit shift-1 of v is the "half" bit: adding 2^(shift-1) before the
            // floor is the same as adding that bit after it (no overflow).
            floor + ((v >> (shift - 1)) & 1)
        }
        Rounding::HalfEven => {
            let rem = v & ((1i64 << shift) - 1);
            let half = 1i64 << (shift - 1);
            if rem > half || (rem == half && (floor & 1) == 1) {
                floor + 1
            } else {
                floor
            }
        }
    }
}

fn shift_round_wide(v: i128, shift: u32, mode: Rounding) -> i128 {
    let floor = v >> shift;
    let rem = v & ((1i128 << shift) - 1);
    let half = 1i128 << (shift - 1);
    let up = match mode {
        Rounding::Floor => false,
        Rounding::HalfUp => rem >= half,
        Rounding::HalfEven => rem > half || (rem == half && (floor & 1) == 1),
    };
    floor + up as i128
}

/// Re-expresses `v` (scaled by `2^-from_frac`) at `to_frac`: an exact left shift
/// when `to_frac >= from_frac`, a [`shift_round`] otherwise. The result is
/// widened to i128 so that a left shift cannot wrap before saturation.
#[inline]
pub fn rescale(v: i64, from_frac: i32, to_frac: i32, mode: Rounding) -> i128 {
    if to_frac >= from_frac {
        let s = (to_frac - from_frac) as u32;
        if s >= 64 {
            return if v == 0 {
                0
            } else if v > 0 {
                i128::MAX >> 1
            } else {
                i128::MIN >> 1
            };
        }
        (v as i128) << s
    } else {
        shift_round(v, (from_frac - to_frac) as u32, mode) as i128
    }
}

/// A rounding point followed by a saturation point: `v` at `from_frac` into the
/// format `to`.
#[inline]
pub fn requantize(v: i64, from_frac: i32, to: Format, mode: Rounding) -> i64 {
    if to.frac < from_frac {
        // The common case, a right shift, cannot overflow i64.
        return to.saturate(shift_round(v, (from_frac - to.frac) as u32, mode));
    }
    let r = rescale(v, from_frac, to.frac, mode);
    r.clamp(to.min_raw() as i128, to.max_raw() as i128) as i64
}

/// Product of `x` by a ternary weight `t` in {-1, 0, +1}: an add, a subtract or
/// nothing. Any other `t` is a caller bug (validated codes never produce one).
#[inline]
pub fn ternary_mul(x: i64, t: i8) -> i64 {
    match t {
        1 => x,
        -1 => -x,
        _ => 0,
    }
}

/// Product of `x` by `sign * 2^shift` (`shift >= 0`): a left shift, negated for
/// a negative sign. `negative` selects the subtract.
#[inline]
pub fn pow2_mul(x: i64, shift: u32, negative: bool) -> i64 {
    let p = x << shift;
    if negative {
        -p
    } else {
        p
    }
}

/// Bits of a signed register that holds every integer in `[-bound, bound]`:
/// the smallest `w` with `2^(w-1) - 1 >= bound`.
pub const fn signed_bits(bound: u128) -> u32 {
    (128 - bound.leading_zeros()) + 1
}

/// Bits of an unsigned register that holds every integer in `[0, bound]`.
pub const fn unsigned_bits(bound: u128) -> u32 {
    if bound == 0 {
        1
    } else {
        128 - bound.leading_zeros()
    }
}

/// A worst-case magnitude bound of an exact integer quantity at a given
/// fraction: `|v * 2^frac_of_v| <= abs`, `v` stored at `frac`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bound {
    /// Largest possible `|raw|`.
    pub abs: u128,
    /// Fraction bits of the raw value.
    pub frac: i32,
}

impl Bound {
    /// The bound of any value of a format.
    pub const fn of_format(f: Format) -> Self {
        Bound {
            abs: f.max_abs_raw(),
            frac: f.frac,
        }
    }

    /// The same quantity expressed at a finer fraction `frac >= self.frac`.
    pub fn at_frac(self, frac: i32) -> Self {
        debug_assert!(frac >= self.frac);
        Bound {
            abs: self.abs << ((frac - self.frac) as u32),
            frac,
        }
    }

    /// The bound of the exact sum of two quantities, at the finer fraction.
    pub fn plus(self, other: Bound) -> Self {
        let frac = self.frac.max(other.frac);
        Bound {
            abs: self.at_frac(frac).abs + other.at_frac(frac).abs,
            frac,
        }
    }

    /// The bound of an exact product.
    pub fn product(self, other: Bound) -> Self {
        Bound {
            abs: self.abs * other.abs,
            frac: self.frac + other.frac,
        }
    }

    /// The bound of a sum of `n` such terms.
    pub fn times(self, n: u128) -> Self {
        Bound {
            abs: self.abs * n,
            frac: self.frac,
        }
    }

    /// Signed register width that holds the quantity without overflow.
    pub const fn bits(&self) -> u32 {
        signed_bits(self.abs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_bits_small() {
        assert_eq!(signed_bits(0), 1);
        assert_eq!(signed_bits(1), 2);
        assert_eq!(signed_bits(3), 3);
        assert_eq!(signed_bits(4), 4);
        assert_eq!(signed_bits(127), 8);
        assert_eq!(signed_bits(128), 9);
    }

    #[test]
    fn quantize_half_even_ties() {
        let f = Format::new(8, 0);
        assert_eq!(f.quantize(2.5, Rounding::HalfEven), 2);
        assert_eq!(f.quantize(3.5, Rounding::HalfEven), 4);
        assert_eq!(f.quantize(-2.5, Rounding::HalfEven), -2);
        assert_eq!(f.quantize(-2.5, Rounding::HalfUp), -2);
        assert_eq!(f.quantize(-2.5, Rounding::Floor), -3);
        assert_eq!(f.quantize(1e9, Rounding::Floor), 127);
        assert_eq!(f.quantize(f64::NEG_INFINITY, Rounding::Floor), -128);
    }
}
