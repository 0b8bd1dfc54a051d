//! Weight encodings: how a weight matrix is stored and how its product with a
//! vector is computed exactly.
//!
//! A [`Matrix`] is dense, block-Toeplitz, block-circulant, Toeplitz-like of
//! displacement rank r, or a low-rank product `U V`. The entries of every form
//! are [`Values`]: ternary, power-of-two or codebook codes ([`scalar`]), so the
//! encodings compose. Each form gives:
//! - `matvec`: the product computed along its structure (a convolution for
//!   Toeplitz blocks, two chained products for low rank), exact in i64;
//! - `expand`: the exact dense integer matrix ([`IntMatrix`]), whose product
//!   is identical to `matvec`, which the tests check;
//! - `frac`: fraction bits of the weights, so the product of `x` at `x_frac`
//!   is at `x_frac + frac`;
//! - `worst_row_bound`: the largest `sum_j |w_ij|` any weights of this shape
//!   and encoding can have, from which accumulator widths are derived;
//! - `bits`: the bits the weights occupy in hardware.

pub mod dense;
pub mod lowrank;
pub mod scalar;
pub mod structured;

pub use dense::Dense;
pub use lowrank::LowRank;
pub use scalar::{ScalarCode, Values};
pub use structured::{Blocked, ToeplitzLike};

use serde::{Deserialize, Serialize};

/// An exact dense integer matrix: entry `(r, c)` is `data[r * cols + c]`,
/// standing for `data * 2^-frac`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntMatrix {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Fraction bits of the entries.
    pub frac: i32,
    /// Row-major entries.
    pub data: Vec<i64>,
}

impl IntMatrix {
    /// Plain dense product, exact in i128 then narrowed (bounds keep it in i64).
    pub fn matvec(&self, x: &[i64]) -> Vec<i64> {
        self.data
            .chunks(self.cols)
            .map(|row| {
                row.iter()
                    .zip(x)
                    .map(|(&w, &v)| i128::from(w) * i128::from(v))
                    .sum::<i128>() as i64
            })
            .collect()
    }

    /// The real-valued matrix, row-major.
    pub fn to_f64(&self) -> Vec<f64> {
        let s = crate::fixed::pow2_f64(-self.frac);
        self.data.iter().map(|&v| v as f64 * s).collect()
    }
}

/// Bits a matrix occupies in hardware.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightBits {
    /// Bits of the per-weight codes.
    pub codes: u64,
    /// Bits of shared tables: codebook entries, scale exponents, per-row shifts.
    pub tables: u64,
}

impl WeightBits {
    /// Codes plus tables.
    pub fn total(&self) -> u64 {
        self.codes + self.tables
    }
}

impl std::ops::Add for WeightBits {
    type Output = WeightBits;
    fn add(self, o: WeightBits) -> WeightBits {
        WeightBits {
            codes: self.codes + o.codes,
            tables: self.tables + o.tables,
        }
    }
}

/// A weight matrix in one of the supported encodings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Matrix {
    /// One code per entry, optional per-row power-of-two scale.
    Dense(Dense),
    /// k x k Toeplitz blocks, 2k-1 codes each.
    BlockToeplitz(Blocked),
    /// k x k circulant blocks, k codes each (C-LSTM).
    BlockCirculant(Blocked),
    /// k x k blocks, each `sum_{i<r} Z1(g_i) Z-1(h_i)` (Lu et al.).
    ToeplitzLike(ToeplitzLike),
    /// `U V` with `U` rows x rank and `V` rank x cols.
    LowRank(LowRank),
}

impl Matrix {
    /// Rows (outputs).
    pub fn rows(&self) -> usize {
        match self {
            Matrix::Dense(m) => m.rows,
            Matrix::BlockToeplitz(m) | Matrix::BlockCirculant(m) => m.rows,
            Matrix::ToeplitzLike(m) => m.rows,
            Matrix::LowRank(m) => m.u.rows,
        }
    }

    /// Columns (inputs).
    pub fn cols(&self) -> usize {
        match self {
            Matrix::Dense(m) => m.cols,
            Matrix::BlockToeplitz(m) | Matrix::BlockCirculant(m) => m.cols,
            Matrix::ToeplitzLike(m) => m.cols,
            Matrix::LowRank(m) => m.v.cols,
        }
    }

    /// Fraction bits of the weights: a product with `x` at `x_frac` is at
    /// `x_frac + frac()`.
    pub fn frac(&self) -> i32 {
        match self {
            Matrix::Dense(m) => m.frac(),
            Matrix::BlockToeplitz(m) | Matrix::BlockCirculant(m) => m.values.code.frac(),
            Matrix::ToeplitzLike(m) => m.g.code.frac() + m.h.code.frac(),
            Matrix::LowRank(m) => m.u.frac() + m.v.frac(),
        }
    }

    /// The product computed along the encoding's structure, exact.
    pub fn matvec(&self, x: &[i64]) -> Vec<i64> {
        match self {
            Matrix::Dense(m) => m.matvec(x),
            Matrix::BlockToeplitz(m) => m.matvec(x, structured::BlockKind::Toeplitz),
            Matrix::BlockCirculant(m) => m.matvec(x, structured::BlockKind::Circulant),
            Matrix::ToeplitzLike(m) => m.matvec(x),
            Matrix::LowRank(m) => m.matvec(x),
        }
    }

    /// The exact dense integer matrix at [`Matrix::frac`].
    pub fn expand(&self) -> IntMatrix {
        let (rows, cols, frac) = (self.rows(), self.cols(), self.frac());
        let data = match self {
            Matrix::Dense(m) => m.expand(),
            Matrix::BlockToeplitz(m) => m.expand(structured::BlockKind::Toeplitz),
            Matrix::BlockCirculant(m) => m.expand(structured::BlockKind::Circulant),
            Matrix::ToeplitzLike(m) => m.expand(),
            Matrix::LowRank(m) => m.expand(),
        };
        IntMatrix {
            rows,
            cols,
            frac,
            data,
        }
    }

    /// Largest `sum_j |w_ij|` (raw, at `frac()`) over any weights this shape
    /// and encoding can hold.
    pub fn worst_row_bound(&self) -> u128 {
        match self {
            Matrix::Dense(m) => m.worst_row_bound(),
            Matrix::BlockToeplitz(m) | Matrix::BlockCirculant(m) => {
                m.cols as u128 * m.values.code.max_abs_raw()
            }
            Matrix::ToeplitzLike(m) => m.cols as u128 * m.worst_entry(),
            Matrix::LowRank(m) => m.worst_row_bound(),
        }
    }

    /// Bits occupied in hardware.
    pub fn bits(&self) -> WeightBits {
        match self {
            Matrix::Dense(m) => m.bits(),
            Matrix::BlockToeplitz(m) | Matrix::BlockCirculant(m) => WeightBits {
                codes: m.values.codes.len() as u64 * u64::from(m.values.code.code_bits()),
                tables: m.values.code.table_bits(),
            },
            Matrix::ToeplitzLike(m) => WeightBits {
                codes: m.g.codes.len() as u64 * u64::from(m.g.code.code_bits())
                    + m.h.codes.len() as u64 * u64::from(m.h.code.code_bits()),
                tables: m.g.code.table_bits() + m.h.code.table_bits(),
            },
            Matrix::LowRank(m) => m.u.bits() + m.v.bits(),
        }
    }

    /// Number of stored parameters (codes).
    pub fn params(&self) -> usize {
        match self {
            Matrix::Dense(m) => m.values.codes.len(),
            Matrix::BlockToeplitz(m) | Matrix::BlockCirculant(m) => m.values.codes.len(),
            Matrix::ToeplitzLike(m) => m.g.codes.len() + m.h.codes.len(),
            Matrix::LowRank(m) => m.u.values.codes.len() + m.v.values.codes.len(),
        }
    }

    /// Whether every product is shift-add (no multiplier needed).
    pub fn is_shift_add(&self) -> bool {
        match self {
            Matrix::Dense(m) => m.values.code.is_shift_add(),
            Matrix::BlockToeplitz(m) | Matrix::BlockCirculant(m) => m.values.code.is_shift_add(),
            Matrix::ToeplitzLike(m) => m.g.code.is_shift_add() && m.h.code.is_shift_add(),
            Matrix::LowRank(m) => m.u.values.code.is_shift_add() && m.v.values.code.is_shift_add(),
        }
    }

    /// One-line description, e.g. `dense ternary*2^-3 1024x296`.
    pub fn describe(&self) -> String {
        let shape = format!("{}x{}", self.rows(), self.cols());
        match self {
            Matrix::Dense(m) => format!(
                "dense {}{} {shape}",
                m.values.code.name(),
                if m.row_exp.is_some() { " per-row" } else { "" }
            ),
            Matrix::BlockToeplitz(m) => {
                format!(
                    "block-toeplitz k={} {} {shape}",
                    m.block,
                    m.values.code.name()
                )
            }
            Matrix::BlockCirculant(m) => {
                format!(
                    "block-circulant k={} {} {shape}",
                    m.block,
                    m.values.code.name()
                )
            }
            Matrix::ToeplitzLike(m) => format!(
                "toeplitz-like k={} r={} {}/{} {shape}",
                m.block,
                m.rank,
                m.g.code.name(),
                m.h.code.name()
            ),
            Matrix::LowRank(m) => format!(
                "low-rank r={} {}/{} {shape}",
                m.u.cols,
                m.u.values.code.name(),
                m.v.values.code.name()
            ),
        }
    }

    /// Checks shapes, codes and parameters; `Err` says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Matrix::Dense(m) => m.validate(),
            Matrix::BlockToeplitz(m) => m.validate(structured::BlockKind::Toeplitz),
            Matrix::BlockCirculant(m) => m.validate(structured::BlockKind::Circulant),
            Matrix::ToeplitzLike(m) => m.validate(),
            Matrix::LowRank(m) => m.validate(),
        }
    }
}

/// Checks `rows`, `cols` against limits shared by all encodings.
pub(crate) fn check_shape(rows: usize, cols: usize) -> Result<(), String> {
    const LIMIT: usize = 1 << 16;
    if rows == 0 || cols == 0 || rows > LIMIT || cols > LIMIT {
        return Err(format!(
            "shape {rows}x{cols} is not allowed (each side 1..={LIMIT})"
        ));
    }
    Ok(())
}
