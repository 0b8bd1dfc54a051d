//! Scalar weight codes: what one stored weight means as an integer.
//!
//! A [`Values`] is a vector of small codes (`i8`) plus the [`ScalarCode`] that
//! decodes them. Every code decodes to an exact integer `raw` at the code's
//! fraction `frac()`, so the weight is `raw * 2^-frac`:
//! - ternary: `t * 2^exp`, `t` in {-1, 0, +1}: raw `t`, frac `-exp`; a product is
//!   an add, a subtract or nothing;
//! - power-of-two (exponential quantization): code `0` is zero, code `±k` is
//!   `±2^(emin + k - 1)` for `1 <= k <= emax - emin + 1`: raw `±2^(k-1)`, frac
//!   `-emin`; a product is a left shift by `k - 1` and an add or subtract;
//! - codebook: code `i` indexes up to 16 shared values stored at `frac` in
//!   `width` bits, entry 0 is zero (skipped); when every entry is `±2^e` the
//!   codebook is `pow2` and products are shifts, otherwise multiplies.

use crate::fixed::{pow2_mul, ternary_mul, unsigned_bits};
use serde::{Deserialize, Serialize};

/// Bits a stored exponent or scale shift occupies in hardware (range -32..=31).
pub const EXP_BITS: u32 = 6;
/// Largest exponent magnitude a weight scale may have (fits [`EXP_BITS`]).
pub const EXP_LIMIT: i32 = 31;
/// Most entries a codebook may have (4-bit indices).
pub const MAX_CODEBOOK: usize = 16;
/// Widest codebook entry.
pub const MAX_CODEBOOK_WIDTH: u32 = 16;

/// How the codes of a [`Values`] decode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScalarCode {
    /// `t * 2^exp` for `t` in {-1, 0, +1}.
    Ternary {
        /// Power-of-two scale of the whole vector.
        exp: i32,
    },
    /// `0` or `±2^e`, `emin <= e <= emax`.
    Pow2 {
        /// Smallest exponent.
        emin: i32,
        /// Largest exponent.
        emax: i32,
    },
    /// Up to 16 shared values, `values[0] == 0`.
    Codebook {
        /// Bits of each stored entry (sign included).
        width: u32,
        /// Fraction bits of the entries.
        frac: i32,
        /// The entries as raw integers at `frac`.
        values: Vec<i32>,
        /// Declares every nonzero entry a signed power of two (shift-add decode).
        pow2: bool,
    },
}

impl ScalarCode {
    /// Fraction bits of the decoded raw integers.
    pub fn frac(&self) -> i32 {
        match self {
            ScalarCode::Ternary { exp } => -exp,
            ScalarCode::Pow2 { emin, .. } => -emin,
            ScalarCode::Codebook { frac, .. } => *frac,
        }
    }

    /// The exact integer a code stands for, at [`ScalarCode::frac`]. Codes are
    /// validated on load; an invalid one here decodes to zero.
    #[inline]
    pub fn raw(&self, code: i8) -> i64 {
        match self {
            ScalarCode::Ternary { .. } => ternary_mul(1, code),
            ScalarCode::Pow2 { .. } => {
                if code == 0 {
                    0
                } else {
                    pow2_mul(1, u32::from(code.unsigned_abs()) - 1, code < 0)
                }
            }
            ScalarCode::Codebook { values, .. } => {
                values.get(code as usize).map_or(0, |&v| i64::from(v))
            }
        }
    }

    /// The product `x * weight(code)` at frac `x_frac + self.frac()`, computed
    /// the way the hardware does: add/subtract, shift, or (for a general
    /// codebook) multiply.
    #[inline]
    pub fn mul(&self, x: i64, code: i8) -> i64 {
        match self {
            ScalarCode::Ternary { .. } => ternary_mul(x, code),
            ScalarCode::Pow2 { .. } => {
                if code == 0 {
                    0
                } else {
                    pow2_mul(x, u32::from(code.unsigned_abs()) - 1, code < 0)
                }
            }
            ScalarCode::Codebook { values, pow2, .. } => {
                let v = values.get(code as usize).map_or(0, |&v| i64::from(v));
                if *pow2 && v != 0 {
                    pow2_mul(x, v.unsigned_abs().trailing_zeros(), v < 0)
                } else {
                    x * v
                }
            }
        }
    }

    /// The real value of a code.
    pub fn to_f64(&self, code: i8) -> f64 {
        self.raw(code) as f64 * crate::fixed::pow2_f64(-self.frac())
    }

    /// Worst-case `|raw|` over every code the encoding can hold (not only the
    /// codes present): the hardware accepts any weights of its shape.
    pub fn max_abs_raw(&self) -> u128 {
        match self {
            ScalarCode::Ternary { .. } => 1,
            ScalarCode::Pow2 { emin, emax } => 1u128 << (emax - emin).max(0),
            ScalarCode::Codebook { width, .. } => 1u128 << (width.saturating_sub(1)),
        }
    }

    /// Number of distinct codes.
    pub fn code_count(&self) -> u32 {
        match self {
            ScalarCode::Ternary { .. } => 3,
            ScalarCode::Pow2 { emin, emax } => 2 * (emax - emin + 1).max(0) as u32 + 1,
            ScalarCode::Codebook { values, .. } => values.len() as u32,
        }
    }

    /// Bits one code occupies in weight memory: ternary 2; power-of-two a sign
    /// plus an exponent index where index 0 means zero; codebook `log2(J)`.
    pub fn code_bits(&self) -> u32 {
        match self {
            ScalarCode::Ternary { .. } => 2,
            ScalarCode::Pow2 { emin, emax } => 1 + unsigned_bits((emax - emin + 1).max(0) as u128),
            ScalarCode::Codebook { values, .. } => {
                unsigned_bits(values.len().saturating_sub(1) as u128)
            }
        }
    }

    /// The bit pattern a code is stored as in weight memory, [`code_bits`]
    /// wide: see [`ScalarCode::stored_in`].
    ///
    /// [`code_bits`]: ScalarCode::code_bits
    pub fn stored(&self, code: i8) -> u32 {
        self.stored_in(code, self.code_bits())
    }

    /// The bit pattern of a code in a memory slot of `bits >= code_bits()`
    /// bits. Ternary and power-of-two codes are sign and magnitude, the sign
    /// in the slot's top bit and `|code|` below (magnitude 0 is zero, `k`
    /// is a shift by `k - 1`), so one shift-add decoder serves both; for
    /// 2-bit ternary this is also two's complement (`+1 = 01`, `-1 = 11`).
    /// Codebook codes are the plain index.
    pub fn stored_in(&self, code: i8, bits: u32) -> u32 {
        match self {
            ScalarCode::Ternary { .. } | ScalarCode::Pow2 { .. } => {
                (u32::from(code < 0) << (bits - 1)) | u32::from(code.unsigned_abs())
            }
            ScalarCode::Codebook { .. } => code as u8 as u32,
        }
    }

    /// The code a stored bit pattern stands for (inverse of [`ScalarCode::stored`]).
    pub fn from_stored(&self, pattern: u32) -> i8 {
        self.from_stored_in(pattern, self.code_bits())
    }

    /// Inverse of [`ScalarCode::stored_in`].
    pub fn from_stored_in(&self, pattern: u32, bits: u32) -> i8 {
        match self {
            ScalarCode::Ternary { .. } | ScalarCode::Pow2 { .. } => {
                let mag = (pattern & ((1 << (bits - 1)) - 1)) as i8;
                if (pattern >> (bits - 1)) & 1 == 1 {
                    -mag
                } else {
                    mag
                }
            }
            ScalarCode::Codebook { .. } => pattern as i8,
        }
    }

    /// Bits of the decode tables and scales shared by all codes: the scale
    /// exponent of a ternary vector, the exponent base of a power-of-two one,
    /// the entries of a codebook.
    pub fn table_bits(&self) -> u64 {
        match self {
            ScalarCode::Ternary { .. } | ScalarCode::Pow2 { .. } => u64::from(EXP_BITS),
            ScalarCode::Codebook { width, values, .. } => u64::from(*width) * values.len() as u64,
        }
    }

    /// Whether every product is a shift and an add (no multiplier).
    pub fn is_shift_add(&self) -> bool {
        match self {
            ScalarCode::Ternary { .. } | ScalarCode::Pow2 { .. } => true,
            ScalarCode::Codebook { pow2, .. } => *pow2,
        }
    }

    /// Short name for reports.
    pub fn name(&self) -> String {
        match self {
            ScalarCode::Ternary { exp } => format!("ternary*2^{exp}"),
            ScalarCode::Pow2 { emin, emax } => format!("pow2[2^{emin}..2^{emax}]"),
            ScalarCode::Codebook { values, pow2, .. } => {
                format!(
                    "codebook{}{}",
                    values.len(),
                    if *pow2 { "-pow2" } else { "" }
                )
            }
        }
    }

    /// Checks the encoding's own parameters.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            ScalarCode::Ternary { exp } => check_exp("ternary scale exponent", *exp),
            ScalarCode::Pow2 { emin, emax } => {
                check_exp("power-of-two emin", *emin)?;
                check_exp("power-of-two emax", *emax)?;
                if emin > emax {
                    return Err(format!(
                        "power-of-two range is empty: emin {emin} > emax {emax}"
                    ));
                }
                if emax - emin > 14 {
                    return Err(format!(
                        "power-of-two range 2^{emin}..2^{emax} spans {} octaves, at most 15 allowed \
                         (codes are i8 and shifts at most 14)",
                        emax - emin + 1
                    ));
                }
                Ok(())
            }
            ScalarCode::Codebook {
                width,
                frac,
                values,
                pow2,
            } => {
                if *width < 2 || *width > MAX_CODEBOOK_WIDTH {
                    return Err(format!(
                        "codebook entry width {width} bits, allowed 2..={MAX_CODEBOOK_WIDTH}"
                    ));
                }
                check_exp("codebook fraction bits", *frac)?;
                if values.is_empty() || values.len() > MAX_CODEBOOK {
                    return Err(format!(
                        "codebook has {} entries, allowed 1..={MAX_CODEBOOK}",
                        values.len()
                    ));
                }
                if values[0] != 0 {
                    return Err(format!(
                        "codebook entry 0 must be zero, found {}",
                        values[0]
                    ));
                }
                let lim = 1i64 << (width - 1);
                for (i, &v) in values.iter().enumerate() {
                    let v = i64::from(v);
                    if v < -lim || v >= lim {
                        return Err(format!(
                            "codebook entry {i} = {v} does not fit its declared width of {width} bits \
                             (range {}..={})",
                            -lim,
                            lim - 1
                        ));
                    }
                    if *pow2 && v != 0 && !v.unsigned_abs().is_power_of_two() {
                        return Err(format!(
                            "codebook is declared power-of-two but entry {i} = {v} is not ±2^e"
                        ));
                    }
                }
                Ok(())
            }
        }
    }

    /// Checks one code; `Err` says what range was allowed.
    pub fn check_code(&self, code: i8) -> Result<(), String> {
        let ok = match self {
            ScalarCode::Ternary { .. } => (-1..=1).contains(&code),
            ScalarCode::Pow2 { emin, emax } => i32::from(code).abs() <= emax - emin + 1,
            ScalarCode::Codebook { values, .. } => code >= 0 && (code as usize) < values.len(),
        };
        if ok {
            Ok(())
        } else {
            Err(match self {
                ScalarCode::Ternary { .. } => "allowed -1..=1 (ternary)".to_string(),
                ScalarCode::Pow2 { emin, emax } => {
                    format!(
                        "allowed -{0}..={0} (power-of-two 2^{emin}..2^{emax})",
                        emax - emin + 1
                    )
                }
                ScalarCode::Codebook { values, .. } => {
                    format!(
                        "allowed 0..={} (codebook of {} entries)",
                        values.len() - 1,
                        values.len()
                    )
                }
            })
        }
    }
}

fn check_exp(what: &str, e: i32) -> Result<(), String> {
    if !(-EXP_LIMIT..=EXP_LIMIT).contains(&e) {
        Err(format!(
            "{what} {e} is out of range -{EXP_LIMIT}..={EXP_LIMIT}"
        ))
    } else {
        Ok(())
    }
}

/// A vector of codes and how to decode them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Values {
    /// The decoding.
    pub code: ScalarCode,
    /// The stored codes.
    pub codes: Vec<i8>,
}

impl Values {
    /// Raw integer of entry `i` at `self.code.frac()`.
    #[inline]
    pub fn raw(&self, i: usize) -> i64 {
        self.code.raw(self.codes[i])
    }

    /// Checks the decoding and every code; `Err` names the first bad index.
    pub fn validate(&self, expected_len: usize) -> Result<(), String> {
        self.code.validate()?;
        if self.codes.len() != expected_len {
            return Err(format!(
                "has {} codes, its shape needs {expected_len}",
                self.codes.len()
            ));
        }
        for (i, &c) in self.codes.iter().enumerate() {
            self.code
                .check_code(c)
                .map_err(|allowed| format!("code {c} at index {i} is out of range: {allowed}"))?;
        }
        Ok(())
    }

    /// Bits of the codes plus the decode table.
    pub fn bits(&self) -> u64 {
        self.codes.len() as u64 * u64::from(self.code.code_bits()) + self.code.table_bits()
    }

    /// Number of nonzero weights.
    pub fn nonzeros(&self) -> usize {
        self.codes
            .iter()
            .filter(|&&c| self.code.raw(c) != 0)
            .count()
    }
}
