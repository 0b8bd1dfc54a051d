//! Seeded random models, matrices and input frames, for tests, benchmarks and
//! the demo before a trained model exists.
//!
//! Every encoding, scalar code and format choice can be drawn, including the
//! extremes that break careless hardware: the most negative input value,
//! weights at the top of their range, saturating pre-activations and cells.

use crate::activation::Approx;
use crate::encoding::{Blocked, Dense, LowRank, Matrix, ScalarCode, ToeplitzLike, Values};
use crate::fixed::{Format, Rounding};
use crate::model::{
    Bias, DenseHead, Head, InputSpec, Layer, LayerFormats, LightRnnHead, Model, Projection,
};
use crate::readout::Readout;
use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// A seeded, reproducible generator.
pub fn rng(seed: u64) -> ChaCha8Rng {
    rand::SeedableRng::seed_from_u64(seed)
}

/// Kinds of scalar code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScalarKind {
    /// {-1, 0, +1} * 2^exp.
    Ternary,
    /// 0, ±2^e.
    Pow2,
    /// General codebook (multiplier).
    Codebook,
    /// Power-of-two codebook (shift-add).
    CodebookPow2,
}

impl ScalarKind {
    /// All kinds.
    pub const ALL: [ScalarKind; 4] = [
        ScalarKind::Ternary,
        ScalarKind::Pow2,
        ScalarKind::Codebook,
        ScalarKind::CodebookPow2,
    ];
}

/// Kinds of matrix encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatrixKind {
    /// One code per entry.
    Dense,
    /// Dense with a per-row power-of-two scale.
    DensePerRow,
    /// Block-Toeplitz.
    BlockToeplitz,
    /// Block-circulant.
    BlockCirculant,
    /// Toeplitz-like, displacement rank 1..=2.
    ToeplitzLike,
    /// U V.
    LowRank,
}

impl MatrixKind {
    /// All kinds.
    pub const ALL: [MatrixKind; 6] = [
        MatrixKind::Dense,
        MatrixKind::DensePerRow,
        MatrixKind::BlockToeplitz,
        MatrixKind::BlockCirculant,
        MatrixKind::ToeplitzLike,
        MatrixKind::LowRank,
    ];
}

/// A random decoding of the given kind, with a scale suited to `fan_in`.
pub fn scalar_code(r: &mut impl Rng, kind: ScalarKind, fan_in: usize) -> ScalarCode {
    // Weights of magnitude about 1/sqrt(fan_in) keep pre-activations in range.
    let e = -((fan_in.max(1) as f64).sqrt().log2().round() as i32);
    match kind {
        ScalarKind::Ternary => ScalarCode::Ternary {
            exp: e + r.random_range(-1..=1),
        },
        ScalarKind::Pow2 => {
            let emax = e + r.random_range(0..=2);
            ScalarCode::Pow2 {
                emin: emax - r.random_range(0..=6),
                emax,
            }
        }
        ScalarKind::Codebook | ScalarKind::CodebookPow2 => {
            let width = r.random_range(4..=8u32);
            let frac = width as i32 - 1 - e;
            let n = r.random_range(2..=16usize);
            let lim = 1i32 << (width - 1);
            let mut values = vec![0i32];
            while values.len() < n {
                let v = if kind == ScalarKind::CodebookPow2 {
                    let m = 1i32 << r.random_range(0..width - 1);
                    if r.random_bool(0.5) {
                        -m
                    } else {
                        m
                    }
                } else {
                    r.random_range(-lim..lim)
                };
                values.push(v);
            }
            ScalarCode::Codebook {
                width,
                frac,
                values,
                pow2: kind == ScalarKind::CodebookPow2,
            }
        }
    }
}

/// `n` random codes valid for `code`; with `extreme`, mostly the largest
/// magnitudes.
pub fn values(r: &mut impl Rng, code: ScalarCode, n: usize, extreme: bool) -> Values {
    let codes = (0..n)
        .map(|_| match &code {
            ScalarCode::Ternary { .. } => r.random_range(-1..=1i8),
            ScalarCode::Pow2 { emin, emax } => {
                let k = (emax - emin + 1) as i8;
                if extreme {
                    if r.random_bool(0.5) {
                        k
                    } else {
                        -k
                    }
                } else {
                    r.random_range(-k..=k)
                }
            }
            ScalarCode::Codebook { values, .. } => {
                if extreme {
                    let big = (0..values.len())
                        .max_by_key(|&i| values[i].unsigned_abs())
                        .unwrap_or(0);
                    big as i8
                } else {
                    r.random_range(0..values.len()) as i8
                }
            }
        })
        .collect();
    Values { code, codes }
}

/// A random matrix of the given kind and scalar kind.
pub fn matrix(
    r: &mut impl Rng,
    rows: usize,
    cols: usize,
    kind: MatrixKind,
    scalar: ScalarKind,
    extreme: bool,
) -> Matrix {
    let dense = |r: &mut dyn rand::RngCore, rows: usize, cols: usize, per_row: bool| -> Dense {
        let mut r = r;
        let code = scalar_code(&mut r, scalar, cols);
        let row_exp = per_row.then(|| (0..rows).map(|_| r.random_range(-2..=1)).collect());
        Dense {
            rows,
            cols,
            values: values(&mut r, code, rows * cols, extreme),
            row_exp,
        }
    };
    let max_k = rows.max(cols).min(16);
    match kind {
        MatrixKind::Dense => Matrix::Dense(dense(r, rows, cols, false)),
        MatrixKind::DensePerRow => Matrix::Dense(dense(r, rows, cols, true)),
        MatrixKind::BlockToeplitz | MatrixKind::BlockCirculant => {
            let k = r.random_range(1..=max_k);
            let toeplitz = kind == MatrixKind::BlockToeplitz;
            let per = if toeplitz { 2 * k - 1 } else { k };
            let n = rows.div_ceil(k) * cols.div_ceil(k) * per;
            let code = scalar_code(r, scalar, cols);
            let b = Blocked {
                rows,
                cols,
                block: k,
                values: values(r, code, n, extreme),
            };
            if toeplitz {
                Matrix::BlockToeplitz(b)
            } else {
                Matrix::BlockCirculant(b)
            }
        }
        MatrixKind::ToeplitzLike => {
            let k = r.random_range(1..=max_k);
            let rank = r.random_range(1..=k.min(2));
            let n = rows.div_ceil(k) * cols.div_ceil(k) * rank * k;
            // The product of two factors: each gets half of the scale.
            let gcode = scalar_code(r, scalar, cols * rank * k);
            let hcode = scalar_code(r, scalar, 1);
            Matrix::ToeplitzLike(ToeplitzLike {
                rows,
                cols,
                block: k,
                rank,
                g: values(r, gcode, n, extreme),
                h: values(r, hcode, n, extreme),
            })
        }
        MatrixKind::LowRank => {
            let rank = r.random_range(1..=rows.min(cols).clamp(1, 8));
            Matrix::LowRank(LowRank {
                u: dense(r, rows, rank, false),
                v: dense(r, rank, cols, false),
            })
        }
    }
}

/// What a random model is drawn from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelShape {
    /// Input features.
    pub input: usize,
    /// Hidden cells per layer.
    pub hidden: Vec<usize>,
    /// Projection size per layer (None: no projection).
    pub projection: Vec<Option<usize>>,
    /// Output classes.
    pub classes: usize,
    /// LightRNN head instead of a dense one.
    pub light_rnn: bool,
    /// Matrix encodings to draw from, per matrix.
    pub matrix_kinds: Vec<MatrixKind>,
    /// Scalar codes to draw from, per matrix.
    pub scalar_kinds: Vec<ScalarKind>,
    /// Weights mostly at the top of their range.
    pub extreme: bool,
    /// Width of the data registers (input, gate, hidden); None draws per layer.
    pub data_width: Option<u32>,
}

impl ModelShape {
    /// A dense ternary model with `data_width`-bit data registers.
    pub fn ternary(input: usize, hidden: &[usize], classes: usize, data_width: u32) -> Self {
        ModelShape {
            input,
            hidden: hidden.to_vec(),
            projection: vec![None; hidden.len()],
            classes,
            light_rnn: false,
            matrix_kinds: vec![MatrixKind::DensePerRow],
            scalar_kinds: vec![ScalarKind::Ternary],
            extreme: false,
            data_width: Some(data_width),
        }
    }
}

/// Register formats for data registers of `w` bits (4..=16): inputs and
/// pre-activations with 4 integer bits, activations and hidden values with
/// 2 (range ±2), cells with 4 and 4 extra fraction bits.
pub fn standard_formats(w: u32) -> (Format, LayerFormats) {
    let w = w.clamp(4, 16);
    let cw = (w + 4).min(24);
    (
        Format::new(w, w as i32 - 4),
        LayerFormats {
            preact: Format::new(w, w as i32 - 4),
            gate: Format::new(w, w as i32 - 2),
            cell: Format::new(cw, cw as i32 - 4),
            hidden: Format::new(w, w as i32 - 2),
        },
    )
}

fn random_formats(r: &mut impl Rng, fixed: Option<u32>) -> LayerFormats {
    let w = fixed.unwrap_or_else(|| r.random_range(4..=16));
    let (_, mut f) = standard_formats(w);
    if fixed.is_none() {
        f.preact.frac = w as i32 - r.random_range(2..=5);
        f.gate.frac = w as i32 - r.random_range(1..=2);
        f.cell.width = r.random_range(w..=(w + 8).min(24));
        f.cell.frac = f.cell.width as i32 - r.random_range(2..=6);
        f.hidden.frac = w as i32 - r.random_range(1..=3);
    }
    f
}

fn random_bias(r: &mut impl Rng, n: usize, acc_frac_hint: i32) -> Bias {
    let format = Format::new(16, acc_frac_hint.clamp(4, 14));
    let lim = 1i32 << 12;
    Bias {
        format,
        values: (0..n).map(|_| r.random_range(-lim..lim)).collect(),
    }
}

/// Draws new values for every weight code, bias and LightRNN class table of
/// `model`, keeping everything its hardware is built from: shapes,
/// encodings, scalar codes (codebook tables and exponent ranges included),
/// per-row shifts and formats. Many weight sets thus run on one generated
/// design, which loads them through its stream port. With `extreme`, the
/// codes are mostly the largest magnitudes and the biases sit at their
/// range's ends.
pub fn redraw_weights(r: &mut impl Rng, model: &mut Model, extreme: bool) {
    for v in weight_values_mut(model) {
        *v = values(r, v.code.clone(), v.codes.len(), extreme);
    }
    let lim = 1i32 << 12;
    for b in biases_mut(model) {
        for v in &mut b.values {
            *v = if !extreme {
                r.random_range(-lim..lim)
            } else if r.random_bool(0.5) {
                lim - 1
            } else {
                -lim
            };
        }
    }
    if let Head::LightRnn(h) = &mut model.head {
        use rand::seq::SliceRandom;
        h.table.shuffle(r);
    }
}

/// The code vectors of a matrix.
fn matrix_values_mut(m: &mut Matrix) -> Vec<&mut Values> {
    match m {
        Matrix::Dense(d) => vec![&mut d.values],
        Matrix::BlockToeplitz(b) | Matrix::BlockCirculant(b) => vec![&mut b.values],
        Matrix::ToeplitzLike(t) => vec![&mut t.g, &mut t.h],
        Matrix::LowRank(l) => vec![&mut l.u.values, &mut l.v.values],
    }
}

/// Every weight code vector of `model` (layers in order, then the head).
pub fn weight_values_mut(model: &mut Model) -> Vec<&mut Values> {
    let mut v = Vec::new();
    for l in &mut model.layers {
        v.extend(matrix_values_mut(&mut l.w_x));
        v.extend(matrix_values_mut(&mut l.w_h));
        if let Some(p) = &mut l.projection {
            v.extend(matrix_values_mut(&mut p.w));
        }
    }
    match &mut model.head {
        Head::Dense(h) => v.extend(matrix_values_mut(&mut h.w)),
        Head::LightRnn(h) => {
            v.extend(matrix_values_mut(&mut h.row_w));
            v.extend(matrix_values_mut(&mut h.col_w));
        }
    }
    v
}

/// Every bias vector of `model` (layers in order, then the head).
pub fn biases_mut(model: &mut Model) -> Vec<&mut Bias> {
    let mut v: Vec<&mut Bias> = model.layers.iter_mut().map(|l| &mut l.bias).collect();
    match &mut model.head {
        Head::Dense(h) => v.push(&mut h.bias),
        Head::LightRnn(h) => {
            v.push(&mut h.row_bias);
            v.push(&mut h.col_bias);
        }
    }
    v
}

/// A random valid model of the given shape.
pub fn model(r: &mut impl Rng, shape: &ModelShape) -> Model {
    let (input_fmt, _) = standard_formats(shape.data_width.unwrap_or(8));
    let input_fmt = match shape.data_width {
        Some(_) => input_fmt,
        None => {
            let w = r.random_range(4..=16);
            Format::new(w, w as i32 - r.random_range(1..=5))
        }
    };
    let pick = |r: &mut dyn rand::RngCore, rows: usize, cols: usize| {
        let mut r = r;
        let mk = *shape
            .matrix_kinds
            .choose(&mut r)
            .unwrap_or(&MatrixKind::Dense);
        let sk = *shape
            .scalar_kinds
            .choose(&mut r)
            .unwrap_or(&ScalarKind::Ternary);
        matrix(&mut r, rows, cols, mk, sk, shape.extreme)
    };
    let mut layers = Vec::new();
    let mut n_in = shape.input;
    for (i, &h) in shape.hidden.iter().enumerate() {
        let formats = random_formats(r, shape.data_width);
        let proj = shape.projection.get(i).copied().flatten();
        let projection = proj.map(|p| Projection {
            w: pick(r, p, h),
            format: formats.hidden,
        });
        let out = proj.unwrap_or(h);
        layers.push(Layer {
            hidden: h,
            w_x: pick(r, 4 * h, n_in),
            w_h: pick(r, 4 * h, out),
            bias: random_bias(r, 4 * h, formats.preact.frac),
            formats,
            projection,
        });
        n_in = out;
    }
    let logits = Format::new(24, 8);
    let head = if shape.light_rnn {
        let rows = (shape.classes as f64).sqrt().ceil() as usize;
        let cols = shape.classes.div_ceil(rows);
        let table = (0..rows * cols)
            .map(|i| if i < shape.classes { i as i32 } else { -1 })
            .collect();
        Head::LightRnn(LightRnnHead {
            row_w: pick(r, rows, n_in),
            row_bias: random_bias(r, rows, 8),
            col_w: pick(r, cols, n_in),
            col_bias: random_bias(r, cols, 8),
            logits,
            table,
        })
    } else {
        Head::Dense(DenseHead {
            w: pick(r, shape.classes, n_in),
            bias: random_bias(r, shape.classes, 8),
            logits,
        })
    };
    let approx = [
        Approx::Pwl,
        Approx::Hard,
        Approx::Lut {
            index_bits: 8,
            range_log2: 3,
        },
    ];
    Model {
        name: "random".into(),
        input: InputSpec {
            size: shape.input,
            format: input_fmt,
            front_end: None,
        },
        rounding: *Rounding::ALL.choose(r).unwrap_or(&Rounding::HalfUp),
        sigmoid: *approx.choose(r).unwrap_or(&Approx::Pwl),
        tanh: *approx.choose(r).unwrap_or(&Approx::Pwl),
        layers,
        head,
        readout: Readout::Last,
    }
}

/// `n` frames of raw inputs for `model`; a fraction `extreme` of the values
/// sits at the format's limits (including the most negative value).
pub fn frames(r: &mut impl Rng, model: &Model, n: usize, extreme: f64) -> Vec<Vec<i32>> {
    let f = model.input.format;
    (0..n)
        .map(|_| {
            (0..model.input.size)
                .map(|_| {
                    if r.random_bool(extreme) {
                        if r.random_bool(0.5) {
                            f.min_raw() as i32
                        } else {
                            f.max_raw() as i32
                        }
                    } else {
                        r.random_range(f.min_raw()..=f.max_raw()) as i32
                    }
                })
                .collect()
        })
        .collect()
}
