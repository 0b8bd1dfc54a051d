//! Fitting Toeplitz-like matrices of displacement rank r (Lu, Sindhwani,
//! Sainath 2016) per k x k block, in f64.
//!
//! A block is `sum_{i<r} Z1(g_i) Z-1(h_i)` (definitions in
//! `lstm_accel_model::encoding::structured`). Writing the skew-circulant
//! index `n = (l - b) mod k`, its entry is
//! ```text
//! W[a][b] = sum_i sum_n h_i[n] s(b, n) g_i[(a - b - n) mod k],
//! s(b, n) = +1 if b + n < k, else -1,
//! ```
//! linear in the `h` for fixed `g` and in the `g` for fixed `h`. The fit:
//! 1. greedy terms: each rank-1 term is fitted to the residual by alternating
//!    least squares (a few sweeps), starting from the best circulant
//!    (`h = e_0`) for even terms and the best skew-circulant (`g = e_0`) for
//!    odd ones (a Toeplitz block is exactly a circulant plus a
//!    skew-circulant, so rank 2 can recover it);
//! 2. joint refinement: all `h` of the block for fixed `g`, then all `g` for
//!    fixed `h` (block coordinate descent: the residual never rises; it stops
//!    when the residual stops falling);
//! 3. each term's `g` and `h` are balanced to equal norms, so that one
//!    scalar code suits all of them.
//!
//! After `g` is quantized, [`refit_h`] solves every `h` of a block jointly
//! against the quantized `g` (and [`refit_g`] the other way round).
//!
//! Speed: for a block without padding the normal matrices have closed forms,
//! since summing over all `(a, b)` turns products of shifted generators into
//! cyclic correlations and `sum_b s(b, n) s(b, m) = k - 2|n - m|`:
//! ```text
//! (h given g)  M[(i,n),(j,m)]  = (k - 2|n-m|) sum_t g_i[t] g_j[t + n - m]
//! (g given h)  M[(i,m),(j,m')] = sum_u h_i[u] h_j[u + m - m'] (k - 2|u - (u + m - m')|)
//! ```
//! (indices mod k): `r^2` cyclic correlations of length k, `O(r^2 k^2)`,
//! instead of `O(r^2 k^4)`.
//! Blocks with padding accumulate the normal equations entry by entry.

use crate::structure::{block, Block, Normal};
use lstm_accel_model::encoding::structured::blocks;

/// Sweeps of alternating least squares per greedy term.
pub const ALS_SWEEPS: usize = 8;
/// Most sweeps of the joint refinement of all terms of a block.
pub const JOINT_SWEEPS: usize = 40;

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

/// `s(b, n)`: the sign of the skew-circulant wrap.
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

/// Entry `(a, b)` of a block's sum of `rank` terms.
fn block_entry(k: usize, g: &[f64], h: &[f64], rank: usize, a: usize, b: usize) -> f64 {
    (0..rank)
        .map(|i| term_entry(k, &g[i * k..(i + 1) * k], &h[i * k..(i + 1) * k], a, b))
        .sum()
}

/// All `h_i` for fixed `g_i`, least squares against `target` on the block's
/// valid entries.
fn solve_h(blk: &Block, target: &[f64], g: &[f64], rank: usize) -> Vec<f64> {
    let k = blk.k;
    let p = rank * k;
    let mut ne = Normal::new(p);
    if blk.full {
        for i in 0..rank {
            for j in 0..rank {
                let (gi, gj) = (&g[i * k..(i + 1) * k], &g[j * k..(j + 1) * k]);
                // c[s] = sum_t g_i[t] g_j[(t + s) mod k]
                let c: Vec<f64> = (0..k)
                    .map(|s| (0..k).map(|t| gi[t] * gj[(t + s) % k]).sum())
                    .collect();
                for n in 0..k {
                    for m in 0..k {
                        let weight = k as f64 - 2.0 * n.abs_diff(m) as f64;
                        ne.m[(i * k + n) * p + j * k + m] = weight * c[(n + k - m) % k];
                    }
                }
            }
        }
    }
    let mut row = vec![0.0; p];
    for a in 0..k {
        for b in 0..k {
            if !blk.valid[a * k + b] {
                continue;
            }
            for i in 0..rank {
                let gi = &g[i * k..(i + 1) * k];
                for n in 0..k {
                    row[i * k + n] = skew_sign(k, b, n) * gi[(a + 2 * k - b - n) % k];
                }
            }
            if blk.full {
                ne.add_rhs(&row, target[a * k + b]);
            } else {
                ne.add(&row, target[a * k + b]);
            }
        }
    }
    ne.solve()
}

/// All `g_i` for fixed `h_i`, least squares against `target` on the block's
/// valid entries.
fn solve_g(blk: &Block, target: &[f64], h: &[f64], rank: usize) -> Vec<f64> {
    let k = blk.k;
    let p = rank * k;
    let mut ne = Normal::new(p);
    if blk.full {
        for i in 0..rank {
            for j in 0..rank {
                let (hi, hj) = (&h[i * k..(i + 1) * k], &h[j * k..(j + 1) * k]);
                // With u = (d - m) mod k the entry depends on m - m' only:
                // c[s] = sum_u h_i[u] h_j[(u + s) mod k] (k - 2|u - (u + s) mod k|)
                let c: Vec<f64> = (0..k)
                    .map(|s| {
                        (0..k)
                            .map(|u| {
                                let v = (u + s) % k;
                                hi[u] * hj[v] * (k as f64 - 2.0 * u.abs_diff(v) as f64)
                            })
                            .sum()
                    })
                    .collect();
                for m in 0..k {
                    for m2 in 0..k {
                        ne.m[(i * k + m) * p + j * k + m2] = c[(m + k - m2) % k];
                    }
                }
            }
        }
    }
    let mut row = vec![0.0; p];
    for a in 0..k {
        for b in 0..k {
            if !blk.valid[a * k + b] {
                continue;
            }
            for i in 0..rank {
                let hi = &h[i * k..(i + 1) * k];
                for m in 0..k {
                    let n = (a + 2 * k - b - m) % k;
                    row[i * k + m] = skew_sign(k, b, n) * hi[n];
                }
            }
            if blk.full {
                ne.add_rhs(&row, target[a * k + b]);
            } else {
                ne.add(&row, target[a * k + b]);
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

/// Squared residual of a block's valid entries against its terms.
fn residual(blk: &Block, g: &[f64], h: &[f64], rank: usize) -> f64 {
    let k = blk.k;
    let mut sum = 0.0;
    for a in 0..k {
        for b in 0..k {
            if blk.valid[a * k + b] {
                sum += (blk.w[a * k + b] - block_entry(k, g, h, rank, a, b)).powi(2);
            }
        }
    }
    sum
}

/// Scales `g` and `h` to equal norms (their product is unchanged); zeroes
/// both if either is zero.
fn balance(g: &mut [f64], h: &mut [f64]) {
    let (ng, nh) = (norm(g), norm(h));
    if ng > 0.0 && nh > 0.0 {
        let s = (nh / ng).sqrt();
        g.iter_mut().for_each(|x| *x *= s);
        h.iter_mut().for_each(|x| *x /= s);
    } else {
        g.fill(0.0);
        h.fill(0.0);
    }
}

/// Fits one block: greedy terms, joint refinement, balancing.
fn fit_block(blk: &Block, rank: usize) -> (Vec<f64>, Vec<f64>) {
    let k = blk.k;
    let mut resid = blk.w.clone();
    let mut gs = Vec::with_capacity(rank * k);
    let mut hs = Vec::with_capacity(rank * k);
    for i in 0..rank {
        let (mut g, mut h) = if i % 2 == 0 {
            let h = unit(k);
            (solve_g(blk, &resid, &h, 1), h)
        } else {
            let g = unit(k);
            let h = solve_h(blk, &resid, &g, 1);
            (g, h)
        };
        for _ in 0..ALS_SWEEPS {
            h = solve_h(blk, &resid, &g, 1);
            g = solve_g(blk, &resid, &h, 1);
        }
        for a in 0..k {
            for b in 0..k {
                resid[a * k + b] -= term_entry(k, &g, &h, a, b);
            }
        }
        gs.extend(g);
        hs.extend(h);
    }
    let mut last = residual(blk, &gs, &hs, rank);
    for _ in 0..JOINT_SWEEPS {
        let h = solve_h(blk, &blk.w, &gs, rank);
        let g = solve_g(blk, &blk.w, &h, rank);
        let e = residual(blk, &g, &h, rank);
        if e > last {
            break;
        }
        (gs, hs) = (g, h);
        let done = last - e <= 1e-6 * last;
        last = e;
        if done {
            break;
        }
    }
    for i in 0..rank {
        balance(&mut gs[i * k..(i + 1) * k], &mut hs[i * k..(i + 1) * k]);
    }
    (gs, hs)
}

/// Least-squares Toeplitz-like generators of every block of `w`.
pub fn fit_toeplitz_like(
    w: &[f64],
    rows: usize,
    cols: usize,
    k: usize,
    rank: usize,
) -> ToeplitzFit {
    let (br, bc) = (blocks(rows, k), blocks(cols, k));
    let mut fit = ToeplitzFit {
        g: Vec::with_capacity(br * bc * rank * k),
        h: Vec::with_capacity(br * bc * rank * k),
    };
    for bi in 0..br {
        for bj in 0..bc {
            let (g, h) = fit_block(&block(w, rows, cols, k, bi, bj), rank);
            fit.g.extend(g);
            fit.h.extend(h);
        }
    }
    fit
}

/// Every block's `h` generators solved jointly for fixed `g` (e.g. the
/// quantized `g`), least squares against `w`.
pub fn refit_h(w: &[f64], rows: usize, cols: usize, k: usize, rank: usize, g: &[f64]) -> Vec<f64> {
    refit(w, rows, cols, k, rank, g, solve_h)
}

/// Every block's `g` generators solved jointly for fixed `h`, least squares
/// against `w`.
pub fn refit_g(w: &[f64], rows: usize, cols: usize, k: usize, rank: usize, h: &[f64]) -> Vec<f64> {
    refit(w, rows, cols, k, rank, h, solve_g)
}

type Solver = fn(&Block, &[f64], &[f64], usize) -> Vec<f64>;

fn refit(
    w: &[f64],
    rows: usize,
    cols: usize,
    k: usize,
    rank: usize,
    fixed: &[f64],
    solve: Solver,
) -> Vec<f64> {
    let (br, bc) = (blocks(rows, k), blocks(cols, k));
    let mut out = Vec::with_capacity(fixed.len());
    for bi in 0..br {
        for bj in 0..bc {
            let blk = block(w, rows, cols, k, bi, bj);
            let off = (bi * bc + bj) * rank * k;
            out.extend(solve(&blk, &blk.w, &fixed[off..off + rank * k], rank));
        }
    }
    out
}

/// The dense `rows x cols` matrix of Toeplitz-like generators.
pub fn expand_toeplitz_like(
    fit: &ToeplitzFit,
    rows: usize,
    cols: usize,
    k: usize,
    rank: usize,
) -> Vec<f64> {
    let bc = blocks(cols, k);
    let mut out = vec![0.0; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            let off = ((r / k) * bc + c / k) * rank * k;
            let (g, h) = (&fit.g[off..off + rank * k], &fit.h[off..off + rank * k]);
            out[r * cols + c] = block_entry(k, g, h, rank, r % k, c % k);
        }
    }
    out
}
