//! Structured fits: exact recovery of matrices that have the structure, the
//! least-squares guarantees of each fit, and the measured error of each
//! method on a random Gaussian matrix.

mod common;

use common::{f64s, gaussian, rel, rng};
use lstm_accel_compress::structure;
use lstm_accel_compress::toeplitz::{self, expand_toeplitz_like, fit_toeplitz_like};
use lstm_accel_compress::{
    decode_matrix, quantize_matrix, relative_error, MatrixSpec, ScalarSpec, Structure,
};
use lstm_accel_model::encoding::structured::BlockKind;
use lstm_accel_model::encoding::{Blocked, Matrix, ScalarCode, Values};
use lstm_accel_model::float::FloatMatrix;
use rand::Rng;

fn pow2_values(r: &mut impl Rng, n: usize) -> Values {
    let code = ScalarCode::Pow2 { emin: -5, emax: -1 };
    Values {
        code,
        codes: (0..n).map(|_| r.random_range(-5..=5i8)).collect(),
    }
}

fn to_float(m: &Matrix) -> FloatMatrix {
    FloatMatrix::from_matrix(m)
}

fn spec(structure: Structure, scalar: ScalarSpec) -> MatrixSpec {
    MatrixSpec { structure, scalar }
}

#[test]
fn blocked_pow2_matrices_are_recovered_exactly() {
    let mut r = rng(1);
    // 22 x 18 with k = 4: partial blocks on both edges.
    for (kind, toeplitz) in [(BlockKind::Circulant, false), (BlockKind::Toeplitz, true)] {
        let k = 4;
        let n = 22usize.div_ceil(k) * 18usize.div_ceil(k) * kind.params(k);
        let b = Blocked {
            rows: 22,
            cols: 18,
            block: k,
            values: pow2_values(&mut r, n),
        };
        let m = if toeplitz {
            Matrix::BlockToeplitz(b)
        } else {
            Matrix::BlockCirculant(b)
        };
        let w = to_float(&m);
        let structure = if toeplitz {
            Structure::BlockToeplitz { block: k }
        } else {
            Structure::BlockCirculant { block: k }
        };
        let q = quantize_matrix(&w, &spec(structure, ScalarSpec::Pow2 { octaves: 5 })).unwrap();
        assert_eq!(decode_matrix(&q), f64s(&w), "{kind:?}");
        assert_eq!(relative_error(&w, &q), 0.0);
    }
}

#[test]
fn toeplitz_like_recovers_its_own_matrices_in_float() {
    let mut r = rng(2);
    let (rows, cols, k): (usize, usize, usize) = (16, 12, 4);
    let blocks = rows.div_ceil(k) * cols.div_ceil(k);
    for rank in 1..=2 {
        let gen = |r: &mut rand_chacha::ChaCha8Rng| -> Vec<f64> {
            (0..blocks * rank * k).map(|_| common::normal(r)).collect()
        };
        let truth = toeplitz::ToeplitzFit {
            g: gen(&mut r),
            h: gen(&mut r),
        };
        let w = expand_toeplitz_like(&truth, rows, cols, k, rank);
        let fit = fit_toeplitz_like(&w, rows, cols, k, rank);
        let e = rel(&w, &expand_toeplitz_like(&fit, rows, cols, k, rank));
        println!(
            "Toeplitz-like rank {rank}: float fit of a rank-{rank} matrix, relative error {e:.2e}"
        );
        assert!(e < 1e-3, "{e}");
    }
    // A plain Toeplitz block is a circulant plus a skew-circulant: rank 2.
    let t: Vec<f64> = (0..2 * k - 1).map(|_| common::normal(&mut r)).collect();
    let w: Vec<f64> = (0..k * k).map(|i| t[i / k + k - 1 - i % k]).collect();
    let fit = fit_toeplitz_like(&w, k, k, k, 2);
    let e = rel(&w, &expand_toeplitz_like(&fit, k, k, k, 2));
    println!("Toeplitz-like rank 2: float fit of a Toeplitz block, relative error {e:.2e}");
    assert!(e < 1e-6, "{e}");
}

#[test]
fn toeplitz_like_is_never_worse_than_block_circulant() {
    let w = gaussian(&mut rng(3), 32, 24, 0.2);
    let data = f64s(&w);
    let k = 8;
    let circ = structure::fit_blocked(&data, 32, 24, k, BlockKind::Circulant);
    let c = Matrix::BlockCirculant(Blocked {
        rows: 32,
        cols: 24,
        block: k,
        values: Values {
            code: ScalarCode::Ternary { exp: 0 },
            codes: vec![0; circ.len()],
        },
    });
    // Expand the float circulant fit through the same index map.
    let dense: Vec<f64> = (0..32 * 24)
        .map(|i| {
            let (row, col) = (i / 24, i % 24);
            let blk = (row / k) * 24usize.div_ceil(k) + col / k;
            circ[blk * k + BlockKind::Circulant.index(k, row % k, col % k)]
        })
        .collect();
    assert_eq!(c.rows(), 32);
    let e_circ = rel(&data, &dense);
    let mut last = e_circ;
    for rank in 1..=4 {
        let fit = fit_toeplitz_like(&data, 32, 24, k, rank);
        let e = rel(&data, &expand_toeplitz_like(&fit, 32, 24, k, rank));
        println!("Gaussian 32x24, k=8: block-circulant {e_circ:.3}, Toeplitz-like rank {rank} {e:.3} (float fits)");
        assert!(e <= last + 1e-9, "rank {rank}: {e} > {last}");
        last = e;
    }
}

#[test]
fn low_rank_recovers_a_product_of_pow2_factors() {
    let mut r = rng(4);
    let (rows, cols, rank) = (24, 20, 3);
    let a = pow2_values(&mut r, rows * rank);
    let b = pow2_values(&mut r, rank * cols);
    let a: Vec<f64> = a.codes.iter().map(|&c| a.code.to_f64(c)).collect();
    let b: Vec<f64> = b.codes.iter().map(|&c| b.code.to_f64(c)).collect();
    let w: Vec<f32> = (0..rows * cols)
        .map(|i| {
            (0..rank)
                .map(|t| a[(i / cols) * rank + t] * b[t * cols + i % cols])
                .sum::<f64>() as f32
        })
        .collect();
    let w = FloatMatrix::new(rows, cols, w);
    let (u, v) = structure::fit_low_rank(&f64s(&w), rows, cols, rank);
    let uv: Vec<f64> = (0..rows * cols)
        .map(|i| {
            (0..rank)
                .map(|t| u[(i / cols) * rank + t] * v[t * cols + i % cols])
                .sum()
        })
        .collect();
    let e = rel(&f64s(&w), &uv);
    println!("low rank {rank}: float SVD fit of a rank-{rank} matrix, relative error {e:.2e}");
    assert!(e < 1e-6);
    for (scalar, bound) in [
        (
            ScalarSpec::Codebook {
                entries: 16,
                width: 8,
                pow2: false,
            },
            0.12,
        ),
        (ScalarSpec::Pow2 { octaves: 8 }, 0.2),
    ] {
        let q = quantize_matrix(&w, &spec(Structure::LowRank { rank }, scalar.clone())).unwrap();
        let e = relative_error(&w, &q);
        println!("low rank {rank} + {scalar:?}: relative error {e:.3} on a rank-{rank} pow2-product matrix");
        assert!(e < bound, "{e}");
    }
}

#[test]
fn low_rank_float_error_is_the_svd_tail() {
    let w = gaussian(&mut rng(5), 20, 16, 1.0);
    let data = f64s(&w);
    let s = nalgebra::DMatrix::from_row_slice(20, 16, &data).singular_values();
    let mut s: Vec<f64> = s.iter().copied().collect();
    s.sort_by(|a, b| b.total_cmp(a));
    let total: f64 = s.iter().map(|x| x * x).sum();
    for rank in [1, 4, 8] {
        let (u, v) = structure::fit_low_rank(&data, 20, 16, rank);
        let uv: Vec<f64> = (0..20 * 16)
            .map(|i| {
                (0..rank)
                    .map(|t| u[(i / 16) * rank + t] * v[t * 16 + i % 16])
                    .sum()
            })
            .collect();
        let tail = (s[rank..].iter().map(|x| x * x).sum::<f64>() / total).sqrt();
        let e = rel(&data, &uv);
        assert!(
            (e - tail).abs() < 1e-9,
            "rank {rank}: {e} vs Eckart-Young {tail}"
        );
    }
}

/// Relative error of the float structure alone (no scalar quantization).
fn structure_error(w: &FloatMatrix, structure: &Structure) -> f64 {
    let data = f64s(w);
    let (rows, cols) = (w.rows, w.cols);
    match *structure {
        Structure::Dense { .. } => 0.0,
        Structure::BlockCirculant { block: k } | Structure::BlockToeplitz { block: k } => {
            let kind = match structure {
                Structure::BlockToeplitz { .. } => BlockKind::Toeplitz,
                _ => BlockKind::Circulant,
            };
            let p = structure::fit_blocked(&data, rows, cols, k, kind);
            let bc = cols.div_ceil(k);
            let dense: Vec<f64> = (0..rows * cols)
                .map(|i| {
                    let (r, c) = (i / cols, i % cols);
                    p[((r / k) * bc + c / k) * kind.params(k) + kind.index(k, r % k, c % k)]
                })
                .collect();
            rel(&data, &dense)
        }
        Structure::ToeplitzLike { block, rank } => rel(
            &data,
            &expand_toeplitz_like(
                &fit_toeplitz_like(&data, rows, cols, block, rank),
                rows,
                cols,
                block,
                rank,
            ),
        ),
        Structure::LowRank { rank } => {
            let (u, v) = structure::fit_low_rank(&data, rows, cols, rank);
            let uv: Vec<f64> = (0..rows * cols)
                .map(|i| {
                    (0..rank)
                        .map(|t| u[(i / cols) * rank + t] * v[t * cols + i % cols])
                        .sum()
                })
                .collect();
            rel(&data, &uv)
        }
    }
}

#[test]
fn every_method_on_a_gaussian_matrix() {
    let w = gaussian(&mut rng(6), 64, 48, 0.1);
    let cb = ScalarSpec::Codebook {
        entries: 16,
        width: 8,
        pow2: false,
    };
    // Each scalar quantizer's relative error on Gaussian-like values (see
    // tests/scalar.rs: ternary 0.44, pow2 0.20, codebook-16 0.10).
    let scalar_bound = |s: &ScalarSpec| match s {
        ScalarSpec::Ternary => 0.5,
        ScalarSpec::Pow2 { .. } => 0.25,
        ScalarSpec::Codebook { .. } => 0.12,
    };
    let cases = [
        (Structure::Dense { per_row: false }, ScalarSpec::Ternary),
        (Structure::Dense { per_row: true }, ScalarSpec::Ternary),
        (
            Structure::Dense { per_row: false },
            ScalarSpec::Pow2 { octaves: 6 },
        ),
        (Structure::Dense { per_row: false }, cb.clone()),
        (Structure::BlockCirculant { block: 4 }, cb.clone()),
        (Structure::BlockToeplitz { block: 4 }, cb.clone()),
        (
            Structure::BlockToeplitz { block: 4 },
            ScalarSpec::Pow2 { octaves: 6 },
        ),
        (Structure::ToeplitzLike { block: 8, rank: 2 }, cb.clone()),
        (
            Structure::ToeplitzLike { block: 8, rank: 2 },
            ScalarSpec::Pow2 { octaves: 6 },
        ),
        (Structure::LowRank { rank: 16 }, cb.clone()),
        (Structure::LowRank { rank: 16 }, ScalarSpec::Ternary),
    ];
    for (structure, scalar) in cases {
        let q = quantize_matrix(&w, &spec(structure.clone(), scalar.clone())).unwrap();
        let e = relative_error(&w, &q);
        let f = structure_error(&w, &structure);
        println!(
            "{:<44} params {:>5} ({:>5.1}%), relative error {e:.3} (structure alone {f:.3})",
            q.describe(),
            q.params(),
            100.0 * q.params() as f64 / (64.0 * 48.0)
        );
        // The structure's residual is orthogonal to the structure, and the
        // quantized matrix lies in it: the errors add in quadrature. Two
        // quantized factors (Toeplitz-like g and h, low-rank U and V) carry
        // two independent scalar errors.
        let factors: f64 = match structure {
            Structure::ToeplitzLike { .. } | Structure::LowRank { .. } => 2.0,
            _ => 1.0,
        };
        let s = scalar_bound(&scalar) * factors.sqrt();
        let bound = (f * f + s * s * (1.0 - f * f)).sqrt() + 0.02;
        assert!(e <= bound, "{structure:?} {scalar:?}: {e} > {bound}");
    }
}

#[test]
fn structure_parameters_are_checked() {
    let w = gaussian(&mut rng(7), 8, 6, 0.1);
    let bad = [
        Structure::BlockCirculant { block: 0 },
        Structure::BlockToeplitz { block: 9 },
        Structure::ToeplitzLike { block: 4, rank: 5 },
        Structure::LowRank { rank: 7 },
    ];
    for s in bad {
        let e = quantize_matrix(&w, &spec(s.clone(), ScalarSpec::Ternary)).unwrap_err();
        println!("{s:?}: {e}");
        assert!(e.contains("not allowed"), "{e}");
    }
    let mut nan = w.clone();
    nan.data[3] = f32::NAN;
    assert!(quantize_matrix(&nan, &MatrixSpec::default())
        .unwrap_err()
        .contains("index 3"));
}

#[test]
fn specs_read_from_json() {
    let s: MatrixSpec = serde_json::from_str(
        r#"{"structure": {"type": "toeplitz_like", "block": 8, "rank": 2},
            "scalar": {"kind": "pow2", "octaves": 6}}"#,
    )
    .unwrap();
    assert_eq!(
        s,
        spec(
            Structure::ToeplitzLike { block: 8, rank: 2 },
            ScalarSpec::Pow2 { octaves: 6 }
        )
    );
    let d: MatrixSpec = serde_json::from_str(r#"{"structure": {"type": "dense"}, "scalar": {"kind": "codebook", "entries": 8, "width": 6}}"#).unwrap();
    assert_eq!(
        d,
        spec(
            Structure::Dense { per_row: false },
            ScalarSpec::Codebook {
                entries: 8,
                width: 6,
                pow2: false
            }
        )
    );
    let back: MatrixSpec = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
    assert!(serde_json::from_str::<MatrixSpec>(
        r#"{"structure": {"type": "dense", "perrow": true}, "scalar": {"kind": "ternary"}}"#
    )
    .is_err());
}
