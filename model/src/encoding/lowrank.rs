//! Low-rank matrices `W = U V` (U rows x r, V r x cols), each factor a dense
//! matrix of ternary, power-of-two or codebook codes.
//!
//! The product is two chained matrix-vector products through an r-entry
//! intermediate `t = V x`, kept exact (at `x_frac + frac(V)`, width from the
//! bound), so `U (V x) == (U V) x` bit for bit. A rounding intermediate is what
//! a layer's shared projection is (see `model::Projection`), not this.

use super::{Dense, WeightBits};
use serde::{Deserialize, Serialize};

/// `U V`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LowRank {
    /// Left factor, rows x rank.
    pub u: Dense,
    /// Right factor, rank x cols.
    pub v: Dense,
}

impl LowRank {
    /// The rank r.
    pub fn rank(&self) -> usize {
        self.u.cols
    }

    /// `U (V x)`, exact.
    pub fn matvec(&self, x: &[i64]) -> Vec<i64> {
        self.u.matvec(&self.v.matvec(x))
    }

    /// Exact entries of `U V` at `frac(U) + frac(V)`.
    pub fn expand(&self) -> Vec<i64> {
        let (u, v) = (self.u.expand(), self.v.expand());
        let (rows, r, cols) = (self.u.rows, self.u.cols, self.v.cols);
        let mut out = vec![0i64; rows * cols];
        for i in 0..rows {
            for k in 0..r {
                let a = u[i * r + k];
                if a != 0 {
                    for j in 0..cols {
                        out[i * cols + j] += a * v[k * cols + j];
                    }
                }
            }
        }
        out
    }

    /// Largest `sum_j |(UV)_ij|`: row bound of U times the row bound of V.
    pub fn worst_row_bound(&self) -> u128 {
        self.u.worst_row_bound() * self.v.worst_row_bound()
    }

    /// Largest `|t_k|` of the intermediate relative to `max|x|`.
    pub fn mid_row_bound(&self) -> u128 {
        self.v.worst_row_bound()
    }

    /// Both factors.
    pub fn bits(&self) -> WeightBits {
        self.u.bits() + self.v.bits()
    }

    /// Factor shapes agree, each factor valid.
    pub fn validate(&self) -> Result<(), String> {
        self.u.validate().map_err(|e| format!("u: {e}"))?;
        self.v.validate().map_err(|e| format!("v: {e}"))?;
        if self.u.cols != self.v.rows {
            return Err(format!(
                "factor shapes do not chain: u is {}x{}, v is {}x{}",
                self.u.rows, self.u.cols, self.v.rows, self.v.cols
            ));
        }
        Ok(())
    }
}
