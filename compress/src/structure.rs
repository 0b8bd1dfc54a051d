//! Fitting structures to a real matrix, in f64, before any scalar
//! quantization; each fit is a least-squares projection onto its structure.
//!
//! - Block-Toeplitz / block-circulant: the matrix is tiled with k x k blocks
//!   (layout of `lstm_accel_model::encoding::structured`); each parameter is
//!   the mean of the entries that share it (a block diagonal `a - b`, or a
//!   circulant diagonal `(a - b) mod k`), which is the least-squares
//!   projection. Padding entries past `rows`/`cols` take no part.
//! - Toeplitz-like of displacement rank r: see [`crate::toeplitz`] (its
//!   functions are re-exported here).
//! - Low rank `U V`: truncated SVD (nalgebra), the singular values split as
//!   square roots into both factors (Eckart-Young: the best rank-r
//!   approximation); after one factor is quantized, [`refit_left`] or
//!   [`refit_right`] solves the other by least squares against it.
//!
//! Normal equations carry a tiny ridge (`1e-12` of the mean diagonal) so
//! that a degenerate system (an all-zero factor) gives zeros, not NaNs.

use lstm_accel_model::encoding::structured::{blocks, BlockKind};
use nalgebra::{DMatrix, DVector};

/// Solves `min |A x - y|^2` from the normal equations `M = A^T A`,
/// `v = A^T y` (`p` unknowns); zeros when the system is degenerate.
pub(crate) fn solve_normal(p: usize, m: Vec<f64>, v: Vec<f64>) -> Vec<f64> {
    let trace: f64 = (0..p).map(|i| m[i * p + i]).sum();
    if trace <= 0.0 || !trace.is_finite() {
        return vec![0.0; p];
    }
    let mut mm = DMatrix::from_row_slice(p, p, &m);
    let ridge = 1e-12 * trace / p as f64;
    for i in 0..p {
        mm[(i, i)] += ridge;
    }
    match mm.cholesky() {
        Some(c) => c.solve(&DVector::from_vec(v)).iter().copied().collect(),
        None => vec![0.0; p],
    }
}

/// Accumulates normal equations from rows `(features, target)`.
pub(crate) struct Normal {
    pub(crate) p: usize,
    pub(crate) m: Vec<f64>,
    pub(crate) v: Vec<f64>,
}

impl Normal {
    pub(crate) fn new(p: usize) -> Self {
        Normal {
            p,
            m: vec![0.0; p * p],
            v: vec![0.0; p],
        }
    }

    /// Adds one row to both sides.
    pub(crate) fn add(&mut self, row: &[f64], y: f64) {
        for (i, &ri) in row.iter().enumerate() {
            if ri == 0.0 {
                continue;
            }
            self.v[i] += ri * y;
            for (j, &rj) in row.iter().enumerate() {
                self.m[i * self.p + j] += ri * rj;
            }
        }
    }

    /// Adds one row to the right-hand side only (the Gram matrix is known).
    pub(crate) fn add_rhs(&mut self, row: &[f64], y: f64) {
        for (v, &r) in self.v.iter_mut().zip(row) {
            *v += r * y;
        }
    }

    pub(crate) fn solve(self) -> Vec<f64> {
        solve_normal(self.p, self.m, self.v)
    }
}

/// One k x k block of a matrix: values and which entries exist.
#[derive(Clone)]
pub(crate) struct Block {
    pub(crate) k: usize,
    pub(crate) w: Vec<f64>,
    pub(crate) valid: Vec<bool>,
    /// Every entry exists (no padding).
    pub(crate) full: bool,
}

pub(crate) fn block(w: &[f64], rows: usize, cols: usize, k: usize, bi: usize, bj: usize) -> Block {
    let mut b = Block {
        k,
        w: vec![0.0; k * k],
        valid: vec![false; k * k],
        full: false,
    };
    for a in 0..k {
        for c in 0..k {
            let (r, cc) = (bi * k + a, bj * k + c);
            if r < rows && cc < cols {
                b.w[a * k + c] = w[r * cols + cc];
                b.valid[a * k + c] = true;
            }
        }
    }
    b.full = b.valid.iter().all(|&v| v);
    b
}

/// Least-squares block-Toeplitz (`2k-1` per block) or block-circulant (`k`
/// per block) parameters, block-row-major.
pub fn fit_blocked(w: &[f64], rows: usize, cols: usize, k: usize, kind: BlockKind) -> Vec<f64> {
    let (br, bc) = (blocks(rows, k), blocks(cols, k));
    let p = kind.params(k);
    let mut out = Vec::with_capacity(br * bc * p);
    for bi in 0..br {
        for bj in 0..bc {
            let b = block(w, rows, cols, k, bi, bj);
            let mut sum = vec![0.0; p];
            let mut n = vec![0usize; p];
            for a in 0..k {
                for c in 0..k {
                    if b.valid[a * k + c] {
                        let i = kind.index(k, a, c);
                        sum[i] += b.w[a * k + c];
                        n[i] += 1;
                    }
                }
            }
            out.extend(
                sum.iter()
                    .zip(&n)
                    .map(|(s, &n)| if n > 0 { s / n as f64 } else { 0.0 }),
            );
        }
    }
    out
}

/// Truncated SVD factors: `U` (rows x rank) and `V` (rank x cols), both
/// row-major, with `W ~ U V` and the singular values split as square roots.
pub fn fit_low_rank(w: &[f64], rows: usize, cols: usize, rank: usize) -> (Vec<f64>, Vec<f64>) {
    let m = DMatrix::from_row_slice(rows, cols, w);
    let svd = m.svd(true, true);
    let (Some(u), Some(vt)) = (svd.u, svd.v_t) else {
        return (vec![0.0; rows * rank], vec![0.0; rank * cols]);
    };
    let s = svd.singular_values;
    let mut order: Vec<usize> = (0..s.len()).collect();
    order.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
    let mut uf = vec![0.0; rows * rank];
    let mut vf = vec![0.0; rank * cols];
    for (t, &j) in order.iter().take(rank).enumerate() {
        let root = s[j].max(0.0).sqrt();
        for r in 0..rows {
            uf[r * rank + t] = u[(r, j)] * root;
        }
        for c in 0..cols {
            vf[t * cols + c] = vt[(j, c)] * root;
        }
    }
    (uf, vf)
}

/// `U` minimising `|W - U V|` for a fixed `V` (rank x cols), row-major.
pub fn refit_left(w: &[f64], rows: usize, cols: usize, v: &[f64], rank: usize) -> Vec<f64> {
    let mut m = vec![0.0; rank * rank];
    for i in 0..rank {
        for j in 0..rank {
            m[i * rank + j] = (0..cols).map(|c| v[i * cols + c] * v[j * cols + c]).sum();
        }
    }
    let mut out = Vec::with_capacity(rows * rank);
    for r in 0..rows {
        let wr = &w[r * cols..(r + 1) * cols];
        let rhs: Vec<f64> = (0..rank)
            .map(|i| (0..cols).map(|c| v[i * cols + c] * wr[c]).sum())
            .collect();
        out.extend(solve_normal(rank, m.clone(), rhs));
    }
    out
}

/// `V` minimising `|W - U V|` for a fixed `U` (rows x rank), row-major.
pub fn refit_right(w: &[f64], rows: usize, cols: usize, u: &[f64], rank: usize) -> Vec<f64> {
    let mut m = vec![0.0; rank * rank];
    for i in 0..rank {
        for j in 0..rank {
            m[i * rank + j] = (0..rows).map(|r| u[r * rank + i] * u[r * rank + j]).sum();
        }
    }
    let mut out = vec![0.0; rank * cols];
    for c in 0..cols {
        let rhs: Vec<f64> = (0..rank)
            .map(|i| (0..rows).map(|r| u[r * rank + i] * w[r * cols + c]).sum())
            .collect();
        for (i, x) in solve_normal(rank, m.clone(), rhs).into_iter().enumerate() {
            out[i * cols + c] = x;
        }
    }
    out
}
