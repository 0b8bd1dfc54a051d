//! Dense matrices: one code per entry, row-major, with an optional per-row
//! power-of-two scale (ternary "per-row" scaling).
//!
//! Entry `(r, c)` is `raw(code) * 2^(row_exp[r])` at the code's fraction. To
//! keep one fraction for the whole matrix, rows are expressed at
//! `code.frac() - min(row_exp)`: row `r`'s dot product is accumulated from
//! plain codes (add/subtract/shift) and left-shifted once by
//! `row_exp[r] - min(row_exp)`, exactly.

use super::{check_shape, scalar::EXP_LIMIT, Values, WeightBits};
use crate::fixed::unsigned_bits;
use serde::{Deserialize, Serialize};

/// A dense matrix of codes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dense {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// `rows * cols` codes, row-major.
    pub values: Values,
    /// Optional extra exponent per row: the row is scaled by `2^row_exp[r]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_exp: Option<Vec<i32>>,
}

impl Dense {
    fn min_exp(&self) -> i32 {
        self.row_exp
            .as_ref()
            .and_then(|e| e.iter().copied().min())
            .unwrap_or(0)
    }

    /// Left shift applied to row `r`'s accumulated sum.
    #[inline]
    pub fn row_shift(&self, r: usize) -> u32 {
        match &self.row_exp {
            Some(e) => (e[r] - self.min_exp()) as u32,
            None => 0,
        }
    }

    /// Fraction bits of the entries.
    pub fn frac(&self) -> i32 {
        self.values.code.frac() - self.min_exp()
    }

    /// Row-by-row product: add/subtract/shift per code, then the row shift.
    pub fn matvec(&self, x: &[i64]) -> Vec<i64> {
        let code = &self.values.code;
        (0..self.rows)
            .map(|r| {
                let row = &self.values.codes[r * self.cols..(r + 1) * self.cols];
                let sum: i64 = row.iter().zip(x).map(|(&c, &v)| code.mul(v, c)).sum();
                sum << self.row_shift(r)
            })
            .collect()
    }

    /// Exact dense entries at [`Dense::frac`].
    pub fn expand(&self) -> Vec<i64> {
        (0..self.rows * self.cols)
            .map(|i| self.values.raw(i) << self.row_shift(i / self.cols))
            .collect()
    }

    /// Largest possible `sum_j |w_rj|`.
    pub fn worst_row_bound(&self) -> u128 {
        let spread = self
            .row_exp
            .as_ref()
            .map_or(0, |e| e.iter().max().copied().unwrap_or(0) - self.min_exp());
        (self.cols as u128 * self.values.code.max_abs_raw()) << spread
    }

    /// Codes, the decode table and the per-row shifts.
    pub fn bits(&self) -> WeightBits {
        let row_bits = self.row_exp.as_ref().map_or(0, |e| {
            let spread = e.iter().max().copied().unwrap_or(0) - self.min_exp();
            e.len() as u64 * u64::from(unsigned_bits(spread as u128))
        });
        WeightBits {
            codes: self.values.codes.len() as u64 * u64::from(self.values.code.code_bits()),
            tables: self.values.code.table_bits() + row_bits,
        }
    }

    /// Shape, codes and row exponents.
    pub fn validate(&self) -> Result<(), String> {
        check_shape(self.rows, self.cols)?;
        self.values.validate(self.rows * self.cols)?;
        if let Some(e) = &self.row_exp {
            if e.len() != self.rows {
                return Err(format!(
                    "has {} row exponents for {} rows",
                    e.len(),
                    self.rows
                ));
            }
            for (r, &x) in e.iter().enumerate() {
                if !(-EXP_LIMIT..=EXP_LIMIT).contains(&x) {
                    return Err(format!(
                        "row exponent {x} of row {r} is out of range -{EXP_LIMIT}..={EXP_LIMIT}"
                    ));
                }
            }
            let spread = e.iter().max().copied().unwrap_or(0) - self.min_exp();
            if spread > 24 {
                return Err(format!(
                    "row exponents span {spread} octaves, at most 24 allowed"
                ));
            }
        }
        Ok(())
    }
}
