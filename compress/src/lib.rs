//! Post-training compression: a float LSTM
//! ([`FloatModel`](lstm_accel_model::float::FloatModel), e.g. imported from
//! PyTorch) into an accelerator [`Model`](lstm_accel_model::Model) with
//! structured, low-rank and low-precision weight matrices.
//!
//! A matrix is compressed in two stages: a *structure* is fitted in f64
//! ([`structure`]: dense, block-Toeplitz, block-circulant, low rank `U V`;
//! [`toeplitz`]: Toeplitz-like of displacement rank r), then the structure's
//! parameters are quantized by a *scalar* quantizer ([`scalar`]: ternary,
//! power of two, codebook). Where a structure has two factors (Toeplitz-like
//! `g` and `h`, low-rank `U` and `V`), one is quantized, the other re-fitted
//! by least squares against it and quantized, alternately for a few rounds
//! ([`REFIT_ROUNDS`]), keeping the best pair. [`quantize_matrix`] does one
//! matrix; [`quantize::quantize_model`] a whole model, with per-matrix
//! overrides, register formats and biases.
//!
//! Specs are plain serde data with snake_case tags, so a user can write
//! them in JSON, e.g.
//! `{"structure": {"type": "toeplitz_like", "block": 8, "rank": 2},
//!   "scalar": {"kind": "pow2", "octaves": 6}}`.
//!
//! Dependencies: the model only.

pub mod quantize;
pub mod scalar;
pub mod structure;
pub mod toeplitz;

pub use quantize::{matrix_paths, quantize_model, quantize_model_calibrated, QuantSpec};
pub use scalar::ScalarSpec;

use lstm_accel_model::encoding::structured::{check_block, BlockKind};
use lstm_accel_model::encoding::{Blocked, Dense, LowRank, Matrix, ToeplitzLike, Values};
use lstm_accel_model::float::FloatMatrix;
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// The structure a matrix is fitted to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Structure {
    /// One code per entry; `per_row` adds a power-of-two scale per row.
    Dense {
        /// Per-row power-of-two scale (`Dense.row_exp`).
        #[serde(default)]
        per_row: bool,
    },
    /// k x k Toeplitz blocks.
    BlockToeplitz {
        /// Block size k.
        block: usize,
    },
    /// k x k circulant blocks (C-LSTM).
    BlockCirculant {
        /// Block size k.
        block: usize,
    },
    /// k x k blocks of displacement rank `rank` (Lu et al.).
    ToeplitzLike {
        /// Block size k.
        block: usize,
        /// Displacement rank r, 1..=k.
        rank: usize,
    },
    /// `U V` of rank `rank`.
    LowRank {
        /// Rank, 1..=min(rows, cols).
        rank: usize,
    },
}

/// How one matrix is compressed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixSpec {
    /// The fitted structure.
    pub structure: Structure,
    /// The quantizer of the structure's parameters.
    pub scalar: ScalarSpec,
}

impl Default for MatrixSpec {
    /// Dense ternary with a per-row scale.
    fn default() -> Self {
        MatrixSpec {
            structure: Structure::Dense { per_row: true },
            scalar: ScalarSpec::Ternary,
        }
    }
}

impl MatrixSpec {
    /// Checks the parameters against a `rows x cols` matrix.
    pub fn check(&self, rows: usize, cols: usize) -> Result<(), String> {
        self.scalar.validate()?;
        let check_block = |k: usize| check_block(rows, cols, k);
        match self.structure {
            Structure::Dense { .. } => Ok(()),
            Structure::BlockToeplitz { block } | Structure::BlockCirculant { block } => {
                check_block(block)
            }
            Structure::ToeplitzLike { block, rank } => {
                check_block(block)?;
                if rank == 0 || rank > block {
                    return Err(format!(
                        "displacement rank {rank} is not allowed with block size {block} (1..={block})"
                    ));
                }
                Ok(())
            }
            Structure::LowRank { rank } => {
                if rank == 0 || rank > rows.min(cols) {
                    return Err(format!(
                        "rank {rank} is not allowed for a {rows}x{cols} matrix (1..={})",
                        rows.min(cols)
                    ));
                }
                Ok(())
            }
        }
    }
}

/// Compresses one matrix, deterministically.
pub fn quantize_matrix(w: &FloatMatrix, spec: &MatrixSpec) -> Result<Matrix, String> {
    quantize_matrix_with(w, spec, None)
}

/// Compresses one matrix; with `rng`, ternary and power-of-two codes use
/// stochastic rounding.
pub fn quantize_matrix_with(
    w: &FloatMatrix,
    spec: &MatrixSpec,
    rng: Option<&mut (dyn RngCore + '_)>,
) -> Result<Matrix, String> {
    let (rows, cols) = (w.rows, w.cols);
    if rows == 0 || cols == 0 || w.data.len() != rows * cols {
        return Err(format!("shape {rows}x{cols} with {} values", w.data.len()));
    }
    if let Some(i) = w.data.iter().position(|x| !x.is_finite()) {
        return Err(format!("non-finite value {} at index {i}", w.data[i]));
    }
    spec.check(rows, cols)?;
    let data: Vec<f64> = w.data.iter().map(|&x| f64::from(x)).collect();
    let q =
        |v: &[f64], rng: Option<&mut (dyn RngCore + '_)>| scalar::quantize(v, &spec.scalar, rng);
    let m = match spec.structure {
        Structure::Dense { per_row: false } => Matrix::Dense(Dense {
            rows,
            cols,
            values: q(&data, rng)?,
            row_exp: None,
        }),
        Structure::Dense { per_row: true } => {
            Matrix::Dense(per_row(&data, rows, cols, &spec.scalar, rng)?)
        }
        Structure::BlockToeplitz { block } | Structure::BlockCirculant { block } => {
            let toeplitz = matches!(spec.structure, Structure::BlockToeplitz { .. });
            let kind = if toeplitz {
                BlockKind::Toeplitz
            } else {
                BlockKind::Circulant
            };
            let params = structure::fit_blocked(&data, rows, cols, block, kind);
            let b = Blocked {
                rows,
                cols,
                block,
                values: q(&params, rng)?,
            };
            if toeplitz {
                Matrix::BlockToeplitz(b)
            } else {
                Matrix::BlockCirculant(b)
            }
        }
        Structure::ToeplitzLike { block, rank } => {
            let (g, h) = toeplitz_like(&data, rows, cols, block, rank, &spec.scalar, rng)?;
            Matrix::ToeplitzLike(ToeplitzLike {
                rows,
                cols,
                block,
                rank,
                g,
                h,
            })
        }
        Structure::LowRank { rank } => {
            let (u, v) = low_rank(&data, rows, cols, rank, &spec.scalar, rng)?;
            Matrix::LowRank(LowRank {
                u: Dense {
                    rows,
                    cols: rank,
                    values: u,
                    row_exp: None,
                },
                v: Dense {
                    rows: rank,
                    cols,
                    values: v,
                    row_exp: None,
                },
            })
        }
    };
    m.validate()?;
    Ok(m)
}

/// Quantized Toeplitz-like generators: the float fit's `g` is quantized,
/// every `h` refitted to it by least squares and quantized; then, for a few
/// rounds, `g` is refitted to the quantized `h` and `h` to the quantized
/// `g`, keeping the pair with the smallest error.
fn toeplitz_like(
    w: &[f64],
    rows: usize,
    cols: usize,
    k: usize,
    rank: usize,
    spec: &ScalarSpec,
    mut rng: Option<&mut (dyn RngCore + '_)>,
) -> Result<(Values, Values), String> {
    let err = |g: &Values, h: &Values| {
        let fit = toeplitz::ToeplitzFit {
            g: scalar::decode(g),
            h: scalar::decode(h),
        };
        let d = toeplitz::expand_toeplitz_like(&fit, rows, cols, k, rank);
        w.iter()
            .zip(&d)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
    };
    let fit = toeplitz::fit_toeplitz_like(w, rows, cols, k, rank);
    let mut g = scalar::quantize(&fit.g, spec, rng.as_deref_mut())?;
    let hf = toeplitz::refit_h(w, rows, cols, k, rank, &scalar::decode(&g));
    let mut h = scalar::quantize(&hf, spec, rng.as_deref_mut())?;
    let mut best = (err(&g, &h), g.clone(), h.clone());
    for _ in 0..REFIT_ROUNDS {
        let gf = toeplitz::refit_g(w, rows, cols, k, rank, &scalar::decode(&h));
        g = scalar::quantize(&gf, spec, rng.as_deref_mut())?;
        let hf = toeplitz::refit_h(w, rows, cols, k, rank, &scalar::decode(&g));
        h = scalar::quantize(&hf, spec, rng.as_deref_mut())?;
        let e = err(&g, &h);
        if e < best.0 {
            best = (e, g.clone(), h.clone());
        }
    }
    Ok((best.1, best.2))
}

/// Rounds of alternating quantized refits of a two-factor matrix.
pub const REFIT_ROUNDS: usize = 4;

/// Quantized low-rank factors: `V` from the truncated SVD is quantized, `U`
/// is refitted to it by least squares and quantized; then, for a few rounds,
/// `V` is refitted to the quantized `U` and `U` to the quantized `V`,
/// keeping the pair with the smallest error `|W - U V|`.
fn low_rank(
    w: &[f64],
    rows: usize,
    cols: usize,
    rank: usize,
    spec: &ScalarSpec,
    mut rng: Option<&mut (dyn RngCore + '_)>,
) -> Result<(Values, Values), String> {
    let err = |u: &Values, v: &Values| {
        let (u, v) = (scalar::decode(u), scalar::decode(v));
        (0..rows * cols)
            .map(|i| {
                let p: f64 = (0..rank)
                    .map(|t| u[(i / cols) * rank + t] * v[t * cols + i % cols])
                    .sum();
                (w[i] - p) * (w[i] - p)
            })
            .sum::<f64>()
    };
    let (_, v) = structure::fit_low_rank(w, rows, cols, rank);
    let mut v = scalar::quantize(&v, spec, rng.as_deref_mut())?;
    let u = structure::refit_left(w, rows, cols, &scalar::decode(&v), rank);
    let mut u = scalar::quantize(&u, spec, rng.as_deref_mut())?;
    let mut best = (err(&u, &v), u.clone(), v.clone());
    for _ in 0..REFIT_ROUNDS {
        let vf = structure::refit_right(w, rows, cols, &scalar::decode(&u), rank);
        v = scalar::quantize(&vf, spec, rng.as_deref_mut())?;
        let uf = structure::refit_left(w, rows, cols, &scalar::decode(&v), rank);
        u = scalar::quantize(&uf, spec, rng.as_deref_mut())?;
        let e = err(&u, &v);
        if e < best.0 {
            best = (e, u.clone(), v.clone());
        }
    }
    Ok((best.1, best.2))
}

/// Largest spread of per-row exponents a dense matrix may have.
const ROW_EXP_SPREAD: i32 = 24;

/// Dense codes with a power-of-two scale per row. Ternary: each row is
/// ternarized on its own (TWN threshold and scale of the row), the row's
/// scale becomes its row exponent. Other codes: each row is divided by
/// `2^e_r`, `e_r = round(log2 max|row|)`, the normalised matrix is quantized
/// with one shared code, and `e_r` becomes the row exponent. All-zero rows
/// take the largest exponent; exponents are kept within 24 octaves.
fn per_row(
    w: &[f64],
    rows: usize,
    cols: usize,
    spec: &ScalarSpec,
    mut rng: Option<&mut (dyn RngCore + '_)>,
) -> Result<Dense, String> {
    let lim = lstm_accel_model::encoding::scalar::EXP_LIMIT;
    let row = |r: usize| &w[r * cols..(r + 1) * cols];
    let mut exps: Vec<Option<i32>> = (0..rows)
        .map(|r| {
            let m = row(r).iter().fold(0f64, |m, x| m.max(x.abs()));
            (m > 0.0).then(|| scalar::log_round_exp(m).clamp(-lim, lim))
        })
        .collect();
    let mut ternary_codes = Vec::new();
    if *spec == ScalarSpec::Ternary {
        for (r, e) in exps.iter_mut().enumerate() {
            let v = scalar::quantize(row(r), spec, rng.as_deref_mut())?;
            let lstm_accel_model::encoding::ScalarCode::Ternary { exp } = v.code else {
                return Err("internal: ternary quantizer returned another code".into());
            };
            *e = e.map(|_| exp);
            ternary_codes.extend(v.codes);
        }
    }
    let top = exps.iter().flatten().copied().max().unwrap_or(0);
    let exps: Vec<i32> = exps
        .iter()
        .map(|e| e.unwrap_or(top).max(top - ROW_EXP_SPREAD))
        .collect();
    let values = if *spec == ScalarSpec::Ternary {
        Values {
            code: lstm_accel_model::encoding::ScalarCode::Ternary { exp: 0 },
            codes: ternary_codes,
        }
    } else {
        let normalised: Vec<f64> = (0..rows * cols)
            .map(|i| w[i] * 2f64.powi(-exps[i / cols]))
            .collect();
        scalar::quantize(&normalised, spec, rng)?
    };
    Ok(Dense {
        rows,
        cols,
        values,
        row_exp: Some(exps),
    })
}

/// The real values of an encoded matrix, row-major.
pub fn decode_matrix(m: &Matrix) -> Vec<f64> {
    m.expand().to_f64()
}

/// `|W - decode(m)|_F / |W|_F` (0 for an all-zero `W` decoded exactly).
pub fn relative_error(w: &FloatMatrix, m: &Matrix) -> f64 {
    let d = decode_matrix(m);
    let (mut num, mut den) = (0.0, 0.0);
    for (&a, &b) in w.data.iter().zip(&d) {
        let a = f64::from(a);
        num += (a - b) * (a - b);
        den += a * a;
    }
    if den == 0.0 {
        if num == 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    } else {
        (num / den).sqrt()
    }
}
