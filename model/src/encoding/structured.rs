//! Structured matrices: block-Toeplitz, block-circulant (C-LSTM) and
//! Toeplitz-like of displacement rank r (Lu, Sindhwani, Sainath 2016).
//!
//! The matrix is tiled with k x k blocks, `ceil(rows/k) x ceil(cols/k)` of them,
//! stored block-row-major; entries past `rows`/`cols` are padding (their inputs
//! are zero, their outputs dropped). Inside a block, with local row `a` and
//! column `b`:
//! - Toeplitz: `W[a][b] = t[a - b + k - 1]`, 2k-1 codes per block;
//! - circulant: `W[a][b] = c[(a - b) mod k]`, k codes per block;
//! - Toeplitz-like: `W = sum_{i<r} Z1(g_i) Z-1(h_i)` with the circulant
//!   `Z1(g)[a][l] = g[(a - l) mod k]` and the skew-circulant
//!   `Z-1(h)[l][b] = h[l - b]` for `l >= b`, `-h[l - b + k]` otherwise;
//!   2rk codes per block (`g` and `h` may use different scalar codes).
//!
//! The structured product is a convolution: the block's few weights are held
//! and `x` streams past them. For Toeplitz-like, `u_i = Z-1(h_i) x` is kept
//! exact (no rounding), so the structured product equals the dense expansion.

use super::{check_shape, Values};
use serde::{Deserialize, Serialize};

/// Which single-vector block structure a [`Blocked`] matrix has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// 2k-1 codes per block.
    Toeplitz,
    /// k codes per block.
    Circulant,
}

impl BlockKind {
    /// Codes per k x k block.
    pub fn params(self, k: usize) -> usize {
        match self {
            BlockKind::Toeplitz => 2 * k - 1,
            BlockKind::Circulant => k,
        }
    }

    /// Index of the code of local entry `(a, b)` inside a block.
    #[inline]
    pub fn index(self, k: usize, a: usize, b: usize) -> usize {
        match self {
            BlockKind::Toeplitz => a + k - 1 - b,
            BlockKind::Circulant => (a + k - b) % k,
        }
    }
}

/// Checks a block size against a `rows x cols` matrix: 1..=max(rows, cols).
pub fn check_block(rows: usize, cols: usize, block: usize) -> Result<(), String> {
    let big = rows.max(cols);
    if block == 0 || block > big {
        return Err(format!(
            "block size {block} is not allowed for a {rows}x{cols} matrix (1..={big})"
        ));
    }
    Ok(())
}

/// Number of k-blocks covering `n`.
pub fn blocks(n: usize, k: usize) -> usize {
    n.div_ceil(k)
}

/// A block-Toeplitz or block-circulant matrix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Block size k.
    pub block: usize,
    /// Codes of every block, block-row-major, each block's codes contiguous.
    pub values: Values,
}

impl Blocked {
    fn code_at(&self, kind: BlockKind, r: usize, c: usize) -> i8 {
        let k = self.block;
        let blk = (r / k) * blocks(self.cols, k) + c / k;
        self.values.codes[blk * kind.params(k) + kind.index(k, r % k, c % k)]
    }

    /// Convolution per block: each output accumulates `w * x` over the block's
    /// few shared weights.
    pub fn matvec(&self, x: &[i64], kind: BlockKind) -> Vec<i64> {
        let k = self.block;
        let p = kind.params(k);
        let bc = blocks(self.cols, k);
        let code = &self.values.code;
        (0..self.rows)
            .map(|r| {
                let (bi, a) = (r / k, r % k);
                let mut acc = 0i64;
                for bj in 0..bc {
                    let w = &self.values.codes[(bi * bc + bj) * p..(bi * bc + bj + 1) * p];
                    for b in 0..k.min(self.cols - bj * k) {
                        acc += code.mul(x[bj * k + b], w[kind.index(k, a, b)]);
                    }
                }
                acc
            })
            .collect()
    }

    /// Exact dense entries.
    pub fn expand(&self, kind: BlockKind) -> Vec<i64> {
        let mut out = Vec::with_capacity(self.rows * self.cols);
        for r in 0..self.rows {
            for c in 0..self.cols {
                out.push(self.values.code.raw(self.code_at(kind, r, c)));
            }
        }
        out
    }

    /// Shape, block size and codes.
    pub fn validate(&self, kind: BlockKind) -> Result<(), String> {
        check_shape(self.rows, self.cols)?;
        check_block(self.rows, self.cols, self.block)?;
        let n =
            blocks(self.rows, self.block) * blocks(self.cols, self.block) * kind.params(self.block);
        self.values.validate(n)
    }
}

/// A Toeplitz-like matrix of displacement rank `rank`, blocked by `block`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToeplitzLike {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Block size k (k = max(rows, cols) gives one unblocked matrix).
    pub block: usize,
    /// Displacement rank r.
    pub rank: usize,
    /// Circulant generators: per block, per i < r, k codes.
    pub g: Values,
    /// Skew-circulant generators: per block, per i < r, k codes.
    pub h: Values,
}

impl ToeplitzLike {
    /// Largest possible `|W[a][b]|` (raw): r * k * max|g| * max|h|.
    pub fn worst_entry(&self) -> u128 {
        self.rank as u128
            * self.block as u128
            * self.g.code.max_abs_raw()
            * self.h.code.max_abs_raw()
    }

    /// `Z-1(h) x` for one block: exact skew-circular convolution.
    fn skew(&self, h: &[i8], x: &[i64]) -> Vec<i64> {
        let k = self.block;
        (0..k)
            .map(|l| {
                (0..k)
                    .map(|b| {
                        if l >= b {
                            self.h.code.mul(x[b], h[l - b])
                        } else {
                            -self.h.code.mul(x[b], h[l + k - b])
                        }
                    })
                    .sum()
            })
            .collect()
    }

    /// Chained pairs of convolutions per block: `y += Z1(g_i) (Z-1(h_i) x)`.
    pub fn matvec(&self, x: &[i64]) -> Vec<i64> {
        let k = self.block;
        let (br, bc) = (blocks(self.rows, k), blocks(self.cols, k));
        let mut y = vec![0i64; br * k];
        let mut xb = vec![0i64; k];
        for bj in 0..bc {
            xb.fill(0);
            let n = k.min(self.cols - bj * k);
            xb[..n].copy_from_slice(&x[bj * k..bj * k + n]);
            for bi in 0..br {
                for i in 0..self.rank {
                    let off = ((bi * bc + bj) * self.rank + i) * k;
                    let u = self.skew(&self.h.codes[off..off + k], &xb);
                    let g = &self.g.codes[off..off + k];
                    for a in 0..k {
                        y[bi * k + a] += (0..k)
                            .map(|l| self.g.code.mul(u[l], g[(a + k - l) % k]))
                            .sum::<i64>();
                    }
                }
            }
        }
        y.truncate(self.rows);
        y
    }

    /// Exact dense entries: the sum of circulant-times-skew-circulant products.
    pub fn expand(&self) -> Vec<i64> {
        let k = self.block;
        let (br, bc) = (blocks(self.rows, k), blocks(self.cols, k));
        let mut full = vec![0i64; br * k * bc * k];
        let width = bc * k;
        for bi in 0..br {
            for bj in 0..bc {
                for i in 0..self.rank {
                    let off = ((bi * bc + bj) * self.rank + i) * k;
                    let g = &self.g.codes[off..off + k];
                    let h = &self.h.codes[off..off + k];
                    for a in 0..k {
                        for b in 0..k {
                            let mut s = 0i64;
                            for l in 0..k {
                                let c = self.g.code.raw(g[(a + k - l) % k]);
                                let sk = if l >= b {
                                    self.h.code.raw(h[l - b])
                                } else {
                                    -self.h.code.raw(h[l + k - b])
                                };
                                s += c * sk;
                            }
                            full[(bi * k + a) * width + bj * k + b] += s;
                        }
                    }
                }
            }
        }
        (0..self.rows)
            .flat_map(|r| full[r * width..r * width + self.cols].to_vec())
            .collect()
    }

    /// Shape, block size, rank and codes.
    pub fn validate(&self) -> Result<(), String> {
        check_shape(self.rows, self.cols)?;
        check_block(self.rows, self.cols, self.block)?;
        if self.rank == 0 || self.rank > self.block {
            return Err(format!(
                "displacement rank {} is not allowed with block size {} (1..={})",
                self.rank, self.block, self.block
            ));
        }
        let n =
            blocks(self.rows, self.block) * blocks(self.cols, self.block) * self.rank * self.block;
        self.g.validate(n).map_err(|e| format!("g: {e}"))?;
        self.h.validate(n).map_err(|e| format!("h: {e}"))
    }
}
