//! The trainable parameters of one matrix, in its structure: a structured
//! matrix is trained *as such*, its own few parameters the variables, the
//! dense matrix a differentiable function of them.
//!
//! - Dense: the `rows x cols` entries.
//! - Block-Toeplitz / block-circulant: the `2k-1` / `k` values of every
//!   `k x k` block (block-row-major, the layout of
//!   `lstm_accel_model::encoding::structured`); `W[r][c]` is the value
//!   `BlockKind::index` names, a gather.
//! - Toeplitz-like of displacement rank `r`: per block and term, `g` and
//!   `h` (k values each); a block is `sum_i C(g_i) S(h_i)` with the
//!   circulant `C[a][l] = g[(a - l) mod k]` and the skew-circulant
//!   `S[l][b] = h[l - b]` for `l >= b`, `-h[l + k - b]` otherwise (the
//!   definition the model's `ToeplitzLike::expand` computes): two gathers
//!   and a batched product.
//! - Low rank: `U` (rows x r) and `V` (r x cols), `W = U V`.
//!
//! A shadow starts from a dense matrix by the structure's least-squares fit
//! (`compress::structure`), so a trained float network is the start of a
//! structured one.

use crate::TrainError;
use candle_core::{Device, Tensor, Var};
use lstm_accel_compress::structure::{fit_blocked, fit_low_rank};
use lstm_accel_compress::toeplitz::fit_toeplitz_like;
use lstm_accel_compress::Structure;
use lstm_accel_model::encoding::structured::{blocks, BlockKind};
use lstm_accel_model::float::FloatMatrix;

/// The variables of a matrix and how they make it.
pub enum Shadow {
    /// Every entry.
    Dense(Var),
    /// Shared values gathered into place (block-Toeplitz, block-circulant).
    Gathered {
        /// The values.
        theta: Var,
        /// `rows * cols` indices into `theta`.
        index: Tensor,
    },
    /// Toeplitz-like generators.
    ToeplitzLike {
        /// Circulant generators: per block, per term, k values.
        g: Var,
        /// Skew-circulant generators, the same layout.
        h: Var,
        /// Gathers `C` from `g` and `S` (unsigned) from `h`, every block
        /// and term: `[nb*r*k*k]`.
        index: Tensor,
        /// The signs of `S`, `[k, k]`.
        s_sign: Tensor,
        /// Block size, rank, block rows and columns.
        dims: (usize, usize, usize, usize),
    },
    /// The rank search's relaxation: the SVD factors (fixed) with a soft
    /// mask over their terms, `mask_i = sigmoid((rho - i - 1/2) / T)`, the
    /// rank `rho` continuous and learned.
    SoftRank {
        /// rows x R, the singular values' square roots folded in.
        u: Tensor,
        /// R x cols.
        v: Tensor,
        /// `i + 1/2` for every term, [1, R].
        steps: Tensor,
        /// The continuous rank, [1].
        rho: Var,
        /// The mask's temperature.
        temperature: f64,
    },
    /// Two factors.
    LowRank {
        /// rows x rank.
        u: Var,
        /// rank x cols.
        v: Var,
    },
}

fn var(data: Vec<f64>, shape: (usize, usize), device: &Device) -> Result<Var, TrainError> {
    let data: Vec<f32> = data.into_iter().map(|v| v as f32).collect();
    Ok(Var::from_tensor(&Tensor::from_vec(data, shape, device)?)?)
}

fn index(ids: Vec<u32>, device: &Device) -> Result<Tensor, TrainError> {
    let n = ids.len();
    Ok(Tensor::from_vec(ids, n, device)?)
}

impl Shadow {
    /// The parameters of `structure` fitted to `m`.
    pub fn fit(
        m: &FloatMatrix,
        structure: &Structure,
        device: &Device,
    ) -> Result<Self, TrainError> {
        let (rows, cols) = (m.rows, m.cols);
        let w: Vec<f64> = m.data.iter().map(|&v| f64::from(v)).collect();
        Ok(match *structure {
            Structure::Dense { .. } => Shadow::Dense(var(w, (rows, cols), device)?),
            Structure::BlockToeplitz { block } | Structure::BlockCirculant { block } => {
                let kind = if matches!(structure, Structure::BlockToeplitz { .. }) {
                    BlockKind::Toeplitz
                } else {
                    BlockKind::Circulant
                };
                let theta = fit_blocked(&w, rows, cols, block, kind);
                let (p, bc) = (kind.params(block), blocks(cols, block));
                let ids = (0..rows * cols)
                    .map(|i| {
                        let (r, c) = (i / cols, i % cols);
                        let blk = (r / block) * bc + c / block;
                        (blk * p + kind.index(block, r % block, c % block)) as u32
                    })
                    .collect();
                let n = theta.len();
                Shadow::Gathered {
                    theta: var(theta, (n, 1), device)?,
                    index: index(ids, device)?,
                }
            }
            Structure::ToeplitzLike { block: k, rank } => {
                let fit = fit_toeplitz_like(&w, rows, cols, k, rank);
                let (br, bc) = (blocks(rows, k), blocks(cols, k));
                let terms = br * bc * rank;
                // C[a][l] = g[(a - l) mod k] and S[a][l] = ±h[(a - l) mod k]:
                // one gather pattern for both, row-major per block and term.
                let ids: Vec<u32> = (0..terms)
                    .flat_map(|t| (0..k * k).map(move |i| (t * k + (i / k + k - i % k) % k) as u32))
                    .collect();
                let sign: Vec<f32> = (0..k * k)
                    .map(|i| if i / k >= i % k { 1.0 } else { -1.0 })
                    .collect();
                let n = fit.g.len();
                Shadow::ToeplitzLike {
                    g: var(fit.g, (n, 1), device)?,
                    h: var(fit.h, (n, 1), device)?,
                    index: index(ids, device)?,
                    s_sign: Tensor::from_vec(sign, (k, k), device)?,
                    dims: (k, rank, br, bc),
                }
            }
            Structure::LowRank { rank } => {
                let (u, v) = fit_low_rank(&w, rows, cols, rank);
                Shadow::LowRank {
                    u: var(u, (rows, rank), device)?,
                    v: var(v, (rank, cols), device)?,
                }
            }
        })
    }

    /// The soft-rank relaxation of `m` (every SVD term kept, `rho` at
    /// full rank).
    pub fn soft_rank(m: &FloatMatrix, device: &Device) -> Result<Self, TrainError> {
        let (rows, cols) = (m.rows, m.cols);
        let full = rows.min(cols);
        let w: Vec<f64> = m.data.iter().map(|&v| f64::from(v)).collect();
        let (u, v) = fit_low_rank(&w, rows, cols, full);
        let f = |d: Vec<f64>| -> Vec<f32> { d.into_iter().map(|x| x as f32).collect() };
        let steps: Vec<f32> = (0..full).map(|i| i as f32 + 0.5).collect();
        Ok(Shadow::SoftRank {
            u: Tensor::from_vec(f(u), (rows, full), device)?,
            v: Tensor::from_vec(f(v), (full, cols), device)?,
            steps: Tensor::from_vec(steps, (1, full), device)?,
            rho: Var::from_tensor(&Tensor::from_vec(vec![full as f32], 1, device)?)?,
            temperature: 1.0,
        })
    }

    /// The variables.
    pub fn vars(&self) -> Vec<&Var> {
        match self {
            Shadow::SoftRank { rho, .. } => vec![rho],
            Shadow::Dense(w) => vec![w],
            Shadow::Gathered { theta, .. } => vec![theta],
            Shadow::ToeplitzLike { g, h, .. } => vec![g, h],
            Shadow::LowRank { u, v } => vec![u, v],
        }
    }

    /// The dense `rows x cols` matrix, differentiable in the variables.
    pub fn matrix(&self, rows: usize, cols: usize) -> Result<Tensor, TrainError> {
        Ok(match self {
            Shadow::Dense(w) => w.as_tensor().clone(),
            Shadow::Gathered { theta, index } => theta
                .as_tensor()
                .index_select(index, 0)?
                .reshape((rows, cols))?,
            Shadow::ToeplitzLike {
                g,
                h,
                index,
                s_sign,
                dims: (k, rank, br, bc),
            } => {
                let (k, rank, br, bc) = (*k, *rank, *br, *bc);
                let nb = br * bc;
                let c = g
                    .as_tensor()
                    .index_select(index, 0)?
                    .reshape((nb, rank, k, k))?;
                let s = h
                    .as_tensor()
                    .index_select(index, 0)?
                    .reshape((nb, rank, k, k))?
                    .broadcast_mul(s_sign)?;
                c.matmul(&s)?
                    .sum(1)?
                    .reshape((br, bc, k, k))?
                    .permute((0, 2, 1, 3))?
                    .reshape((br * k, bc * k))?
                    .narrow(0, 0, rows)?
                    .narrow(1, 0, cols)?
                    .contiguous()?
            }
            Shadow::SoftRank {
                u,
                v,
                steps,
                rho,
                temperature,
            } => {
                let mask = candle_nn::ops::sigmoid(
                    &(rho.as_tensor().unsqueeze(0)?.broadcast_sub(steps)? / *temperature)?,
                )?;
                u.broadcast_mul(&mask)?.matmul(v)?
            }
            Shadow::LowRank { u, v } => u.as_tensor().matmul(v.as_tensor())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lstm_accel_compress::toeplitz::expand_toeplitz_like;
    use lstm_accel_compress::{quantize_matrix, MatrixSpec, ScalarSpec};

    /// Each structure's tensor form equals the expansion of the same
    /// parameters: the model encoding's (a matrix quantized with a fine
    /// code, the shadow fitted to the decoded, exactly structured matrix),
    /// or for Toeplitz-like the fit's own expansion of its generators.
    #[test]
    fn every_structure_expands_like_the_model_encoding() -> Result<(), TrainError> {
        let (rows, cols) = (12, 10);
        let data: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) / 13.0)
            .collect();
        let m = FloatMatrix::new(rows, cols, data);
        for structure in [
            Structure::Dense { per_row: false },
            Structure::BlockToeplitz { block: 4 },
            Structure::BlockCirculant { block: 4 },
            Structure::ToeplitzLike { block: 4, rank: 2 },
            Structure::LowRank { rank: 3 },
        ] {
            let spec = MatrixSpec {
                structure: structure.clone(),
                scalar: ScalarSpec::Pow2 { octaves: 12 },
            };
            let exact = if let Structure::ToeplitzLike { block, rank } = structure {
                // Generators are not unique, so compare with the expansion
                // of the very generators the shadow fits.
                let w: Vec<f64> = m.data.iter().map(|&v| f64::from(v)).collect();
                let fit = fit_toeplitz_like(&w, rows, cols, block, rank);
                let e = expand_toeplitz_like(&fit, rows, cols, block, rank);
                FloatMatrix::new(rows, cols, e.into_iter().map(|v| v as f32).collect())
            } else {
                let q = quantize_matrix(&m, &spec).map_err(TrainError::Config)?;
                FloatMatrix::from_matrix(&q)
            };
            let fitted = if matches!(structure, Structure::ToeplitzLike { .. }) {
                &m
            } else {
                &exact
            };
            let shadow = Shadow::fit(fitted, &structure, &Device::Cpu)?;
            let got = shadow.matrix(rows, cols)?.flatten_all()?.to_vec1::<f32>()?;
            for (i, (g, e)) in got.iter().zip(&exact.data).enumerate() {
                assert!(
                    (g - e).abs() <= 1e-4 * (1.0 + e.abs()),
                    "{structure:?} entry {i}: {g} vs {e}"
                );
            }
        }
        Ok(())
    }

    #[test]
    fn a_structured_shadow_has_its_structures_parameter_count() -> Result<(), TrainError> {
        let m = FloatMatrix::new(16, 8, vec![0.1; 128]);
        let count = |s: Structure| -> Result<usize, TrainError> {
            Ok(Shadow::fit(&m, &s, &Device::Cpu)?
                .vars()
                .iter()
                .map(|v| v.elem_count())
                .sum())
        };
        assert_eq!(count(Structure::Dense { per_row: true })?, 128);
        assert_eq!(count(Structure::BlockCirculant { block: 4 })?, 4 * 2 * 4);
        assert_eq!(count(Structure::BlockToeplitz { block: 4 })?, 4 * 2 * 7);
        assert_eq!(
            count(Structure::ToeplitzLike { block: 4, rank: 2 })?,
            2 * 4 * 2 * 2 * 4
        );
        assert_eq!(count(Structure::LowRank { rank: 3 })?, 3 * (16 + 8));
        Ok(())
    }
}
