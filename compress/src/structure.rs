//! Fitting structured matrices to a real matrix, in f64, before any scalar
//! quantization. Every fit is a least-squares projection (exact where the
//! structure is linear, alternating where it is bilinear):
//!
//! - block-Toeplitz / block-circulant: the matrix is tiled with k x k blocks
//!   (layout of `lstm_accel_model::encoding::structured`); each parameter is
//!   the mean of the entries that share it (a block's diagonal, or a
//!   circulant diagonal `(a - b) mod k`), which is the least-squares
//!   projection. Padding entries past `rows`/`cols` take no part.
//! - Toeplitz-like of displacement rank r per block: a block is
//!   `sum_i Z1(g_i) Z-1(h_i)`, whose entry is
//!   `W[a][b] = sum_n h[n] s(b, n) g[(a - b - n) mod k]` with
//!   `s(b, n) = +1` if `b + n < k`, else `-1`. That is linear in `h` for a
//!   fixed `g` and in `g` for a fixed `h`, so each rank-1 term is fitted to
//!   the residual by alternating least squares (a few sweeps, each a k x k
//!   normal-equation solve); the first term starts from the best circulant
//!   (`h = e_0`), the next from the best skew-circulant (`g = e_0`), and so on
//!   alternately (a Toeplitz block is exactly a circulant plus a
//!   skew-circulant, so rank 2 recovers it). Each term's `g` and `h` are then
//!   balanced to equal norms. After `g` is quantized, [`refit_h`] solves
//!   for every `h` of a block jointly, so `h` absorbs `g`'s rounding.
//! - Low rank `U V`: truncated SVD (nalgebra), the singular values split as
//!   square roots into both factors; after `V` is quantized, [`refit_left`]
//!   solves `U` by least squares against the quantized `V`.
//!
//! Normal equations carry a tiny ridge (`1e-12` of the mean diagonal) so
//! that a degenerate system (an all-zero factor) gives zeros, not NaNs.

use lstm_accel_model::encoding::structured::{blocks, BlockKind};
use nalgebra::{DMatrix, DVector};

/// Sweeps of alternating least squares per Toeplitz-like term.
pub const ALS_SWEEPS: usize = 12;

/// Solves `min |A x - y|^2` from the normal equations `M = A^T A`,
/// `v = A^T y` (`p` unknowns); zeros when the system is degenerate.
fn solve_normal(p: usize, m: Vec<f64>, v: Vec<f64>) -> Vec<f64> {
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
struct Normal {
    p: usize,
    m: Vec<f64>,
    v: Vec<f64>,
}

impl Normal {
    fn new(p: usize) -> Self {
        Normal {
            p,
            m: vec![0.0; p * p],
            v: vec![0.0; p],
        }
    }

    fn add(&mut self, row: &[f64], y: f64) {
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

    fn solve(self) -> Vec<f64> {
        solve_normal(self.p, self.m, self.v)
    }
}

/// One k x k block of a matrix: values and which entries exist.
#[derive(Clone)]
struct Block {
    k: usize,
    w: Vec<f64>,
    valid: Vec<bool>,
}

fn block(w: &[f64], rows: usize, cols: usize, k: usize, bi: usize, bj: usize) -> Block {
    let mut b = Block {
        k,
        w: vec![0.0; k * k],
        valid: vec![false; k * k],
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
            out.extend(sum.iter().zip(&n).map(|(s, &n)| if n > 0 { s / n as f64 } else { 0.0 }));
        }
    }
    out
}

/// Sign of the skew-circulant wrap: `s(b, n)`.
#[inline]
fn skew_sign(k: usize, b: usize, n: usize) -> f64 {
    if b + n < k {
        1.0
    } else {
        -1.0
    }
}

/// Entry `(a, b)` of `Z1(g) Z-1(h)`.
fn term_entry(k: usize, g: &[f64], h: &[f64], a: usize, b: usize) -> f64 {
    (0..k)
        .map(|n| h[n] * skew_sign(k, b, n) * g[(a + 2 * k - b - n) % k])
        .sum()
}

/// `h` minimising the residual of one term for a fixed `g`.
fn solve_h(blk: &Block, resid: &[f64], g: &[f64]) -> Vec<f64> {
    let k = blk.k;
    let mut ne = Normal::new(k);
    let mut row = vec![0.0; k];
    for a in 0..k {
        for b in 0..k {
            if blk.valid[a * k + b] {
                for (n, r) in row.iter_mut().enumerate() {
                    *r = skew_sign(k, b, n) * g[(a + 2 * k - b - n) % k];
                }
                ne.add(&row, resid[a * k + b]);
            }
        }
    }
    ne.solve()
}

/// `g` minimising the residual of one term for a fixed `h`.
fn solve_g(blk: &Block, resid: &[f64], h: &[f64]) -> Vec<f64> {
    let k = blk.k;
    let mut ne = Normal::new(k);
    let mut row = vec![0.0; k];
    for a in 0..k {
        for b in 0..k {
            if blk.valid[a * k + b] {
                for (m, r) in row.iter_mut().enumerate() {
                    let n = (a + 2 * k - b - m) % k;
                    *r = skew_sign(k, b, n) * h[n];
                }
                ne.add(&row, resid[a * k + b]);
            }
        }
    }
    ne.solve()
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn unit(k: usize) -> Vec<f64> {
    let mut e = vec![0.0; k];
    e[0] = 1.0;
    e
}

/// Toeplitz-like generators in the layout of
/// `lstm_accel_model::encoding::ToeplitzLike`: per block (block-row-major),
/// per term `i < rank`, `k` values.
#[derive(Clone, Debug, PartialEq)]
pub struct ToeplitzFit {
    /// Circulant generators.
    pub g: Vec<f64>,
    /// Skew-circulant generators.
    pub h: Vec<f64>,
}

/// Greedy rank-1 terms per block, each fitted by alternating least squares.
pub fn fit_toeplitz_like(w: &[f64], rows: usize, cols: usize, k: usize, rank: usize) -> ToeplitzFit {
    let (br, bc) = (blocks(rows, k), blocks(cols, k));
    let mut fit = ToeplitzFit {
        g: Vec::with_capacity(br * bc * rank * k),
        h: Vec::with_capacity(br * bc * rank * k),
    };
    for bi in 0..br {
        for bj in 0..bc {
            let blk = block(w, rows, cols, k, bi, bj);
            let mut resid = blk.w.clone();
            for i in 0..rank {
                let (mut g, mut h) = if i % 2 == 0 {
                    let h = unit(k);
                    (solve_g(&blk, &resid, &h), h)
                } else {
                    let g = unit(k);
                    (g.clone(), solve_h(&blk, &resid, &g))
                };
                for _ in 0..ALS_SWEEPS {
                    h = solve_h(&blk, &resid, &g);
                    g = solve_g(&blk, &resid, &h);
                }
                let (ng, nh) = (norm(&g), norm(&h));
                if ng > 0.0 && nh > 0.0 {
                    let s = (nh / ng).sqrt();
                    g.iter_mut().for_each(|x| *x *= s);
                    h.iter_mut().for_each(|x| *x /= s);
                } else {
                    g.fill(0.0);
                    h.fill(0.0);
                }
                for a in 0..k {
                    for b in 0..k {
                        resid[a * k + b] -= term_entry(k, &g, &h, a, b);
                    }
                }
                fit.g.extend(g);
                fit.h.extend(h);
            }
        }
    }
    fit
}

/// Every block's `h` generators solved jointly for fixed `g` (e.g. the
/// quantized `g`), least squares against `w`.
pub fn refit_h(w: &[f64], rows: usize, cols: usize, k: usize, rank: usize, g: &[f64]) -> Vec<f64> {
    let (br, bc) = (blocks(rows, k), blocks(cols, k));
    let mut out = Vec::with_capacity(g.len());
    let mut row = vec![0.0; rank * k];
    for bi in 0..br {
        for bj in 0..bc {
            let blk = block(w, rows, cols, k, bi, bj);
            let off = (bi * bc + bj) * rank * k;
            let gb = &g[off..off + rank * k];
            let mut ne = Normal::new(rank * k);
            for a in 0..k {
                for b in 0..k {
                    if blk.valid[a * k + b] {
                        for i in 0..rank {
                            let gi = &gb[i * k..(i + 1) * k];
                            for n in 0..k {
                                row[i * k + n] = skew_sign(k, b, n) * gi[(a + 2 * k - b - n) % k];
                            }
                        }
                        ne.add(&row, blk.w[a * k + b]);
                    }
                }
            }
            out.extend(ne.solve());
        }
    }
    out
}

/// The dense `rows x cols` matrix of Toeplitz-like generators.
pub fn expand_toeplitz_like(fit: &ToeplitzFit, rows: usize, cols: usize, k: usize, rank: usize) -> Vec<f64> {
    let bc = blocks(cols, k);
    let mut out = vec![0.0; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            let (bi, bj, a, b) = (r / k, c / k, r % k, c % k);
            for i in 0..rank {
                let off = ((bi * bc + bj) * rank + i) * k;
                out[r * cols + c] += term_entry(k, &fit.g[off..off + k], &fit.h[off..off + k], a, b);
            }
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
