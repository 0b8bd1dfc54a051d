//! Whole-model post-training quantization: a [`FloatModel`] into a validated
//! [`Model`].
//!
//! Every weight matrix is compressed by [`crate::quantize_matrix_with`] with
//! the spec's default [`MatrixSpec`] or the override for its tensor path
//! (`layers[0].w_x`, `layers[0].w_h`, `layers[0].projection`, `head.w`,
//! `head.row_w`, `head.col_w`; see [`matrix_paths`]). Register formats come
//! from `standard_formats(data_width)` (inputs and pre-activations ±8,
//! gates and hidden ±2, cells ±8 with 4 more bits). The formats that depend
//! on the weights are chosen from real ranges, with `int(x)` the number of
//! integer bits that holds `|x| < 2^int`:
//! - a bias vector: `bias_width` bits, `frac = bias_width - 1 - int(max|b|)`,
//!   but no finer than the gate accumulator's products (`x_frac + w_frac`),
//!   so it never widens that accumulator; entries rounded to nearest;
//! - a projection output: `data_width` bits holding `max|P h|`, from
//!   calibration frames when given (observed maximum x 1.5), else the
//!   worst case `max_r sum_c |P_rc|` (since `|h| < 1`);
//! - the logits: `logit_width` bits holding the observed maximum x 2, or the
//!   worst case `max_r (sum_c |W_rc| max|y| + |b_r|)`; no finer than the
//!   head accumulator.
//!
//! The result passes `Model::validate` (which also checks every derived
//! accumulator width) or the error says which tensor failed.

use crate::{quantize_matrix_with, MatrixSpec};
use lstm_accel_model::activation::Approx;
use lstm_accel_model::encoding::Matrix;
use lstm_accel_model::error::{ModelError, Problem};
use lstm_accel_model::fixed::{Format, Rounding};
use lstm_accel_model::float::{FloatHead, FloatModel, FloatRunner};
use lstm_accel_model::model::{
    Bias, DenseHead, Head, InputSpec, Layer, LightRnnHead, Model, Projection, DATA_WIDTHS,
};
use lstm_accel_model::random::standard_formats;
use lstm_accel_model::readout::Readout;
use lstm_accel_model::trace::StepTrace;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a whole model is quantized.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuantSpec {
    /// Name of the resulting model.
    pub name: String,
    /// Spec of every matrix without an override.
    pub matrix: MatrixSpec,
    /// Per-matrix specs keyed by tensor path (`layers[1].w_h`, `head.w`...).
    pub overrides: BTreeMap<String, MatrixSpec>,
    /// Width of the data registers (inputs, gates, hidden, projections), 4..=16.
    pub data_width: u32,
    /// Width of the bias registers, 2..=32.
    pub bias_width: u32,
    /// Width of the logits, 2..=32.
    pub logit_width: u32,
    /// Rounding at every rounding point of the datapath.
    pub rounding: Rounding,
    /// Sigmoid approximation.
    pub sigmoid: Approx,
    /// Tanh approximation.
    pub tanh: Approx,
    /// Stochastic rounding of ternary and power-of-two codes, seeded.
    pub stochastic_seed: Option<u64>,
}

impl Default for QuantSpec {
    /// Dense per-row ternary, 8-bit data, 16-bit biases, 24-bit logits,
    /// half-up rounding, piecewise-linear activations.
    fn default() -> Self {
        QuantSpec {
            name: "quantized".into(),
            matrix: MatrixSpec::default(),
            overrides: BTreeMap::new(),
            data_width: 8,
            bias_width: 16,
            logit_width: 24,
            rounding: Rounding::HalfUp,
            sigmoid: Approx::Pwl,
            tanh: Approx::Pwl,
            stochastic_seed: None,
        }
    }
}

/// Tensor paths of every weight matrix of `f`, the keys of
/// [`QuantSpec::overrides`].
pub fn matrix_paths(f: &FloatModel) -> Vec<String> {
    let mut v = Vec::new();
    for (i, l) in f.layers.iter().enumerate() {
        v.push(format!("layers[{i}].w_x"));
        v.push(format!("layers[{i}].w_h"));
        if l.projection.is_some() {
            v.push(format!("layers[{i}].projection"));
        }
    }
    match f.head {
        FloatHead::Dense { .. } => v.push("head.w".into()),
        FloatHead::LightRnn { .. } => {
            v.push("head.row_w".into());
            v.push("head.col_w".into());
        }
    }
    v
}

/// Integer bits that hold `|x| < 2^int` (0 for `x == 0`).
fn int_bits(x: f64) -> i32 {
    if x > 0.0 && x.is_finite() {
        crate::scalar::floor_log2(x) + 1
    } else {
        0
    }
}

/// A format of `width` bits holding magnitudes below `max`, no finer than
/// `cap` fraction bits.
fn range_format(width: u32, max: f64, cap: i32) -> Format {
    let frac = (width as i32 - 1 - int_bits(max)).min(cap).clamp(-64, 64);
    Format::new(width, frac)
}

fn bias(values: &[f32], width: u32, cap: i32) -> Bias {
    let max = values.iter().fold(0f64, |m, &x| m.max(f64::from(x).abs()));
    let format = range_format(width, max, cap);
    Bias {
        format,
        values: values
            .iter()
            .map(|&x| format.quantize(f64::from(x), Rounding::HalfEven) as i32)
            .collect(),
    }
}

/// Largest `sum_c |W_rc|` of the decoded matrix.
fn max_row_sum(m: &Matrix) -> f64 {
    let e = m.expand();
    e.to_f64()
        .chunks(e.cols)
        .map(|r| r.iter().map(|x| x.abs()).sum::<f64>())
        .fold(0.0, f64::max)
}

/// Observed maxima over calibration frames: `|y|` per layer, `|logits|`.
struct Ranges {
    y: Vec<f64>,
    logits: f64,
}

fn observe(f: &FloatModel, frames: &[Vec<f32>]) -> Option<Ranges> {
    if frames.is_empty() {
        return None;
    }
    let mut runner = FloatRunner::new(f);
    let mut trace = StepTrace::default();
    let mut r = Ranges {
        y: vec![0.0; f.layers.len()],
        logits: 0.0,
    };
    let amax = |v: &[f32]| v.iter().fold(0f64, |m, &x| m.max(f64::from(x).abs()));
    for frame in frames {
        runner.step_traced(frame, &mut trace);
        for (i, l) in trace.layers.iter().enumerate() {
            let y = l.y.as_deref().unwrap_or(&l.h);
            r.y[i] = r.y[i].max(amax(y));
        }
        r.logits = r.logits.max(amax(&trace.logits));
    }
    Some(r)
}

/// Quantizes `f` as `spec` says, formats from worst-case weight bounds.
pub fn quantize_model(f: &FloatModel, spec: &QuantSpec) -> Result<Model, ModelError> {
    quantize_model_calibrated(f, spec, &[])
}

/// Quantizes `f`; the projection and logit formats come from the ranges
/// observed on `frames` (one sequence, from zero state) when there are any.
pub fn quantize_model_calibrated(
    f: &FloatModel,
    spec: &QuantSpec,
    frames: &[Vec<f32>],
) -> Result<Model, ModelError> {
    f.validate()?;
    let (lo, hi) = DATA_WIDTHS;
    if !(lo..=hi).contains(&spec.data_width) {
        return Err(ModelError::at(
            "data_width",
            Problem::OutOfRange {
                index: 0,
                value: spec.data_width.to_string(),
                allowed: format!("{lo}..={hi}"),
            },
        ));
    }
    let paths = matrix_paths(f);
    if let Some(bad) = spec.overrides.keys().find(|k| !paths.contains(k)) {
        return Err(ModelError::invalid(
            format!("overrides.{bad}"),
            format!(
                "no such matrix; the model's matrices are {}",
                paths.join(", ")
            ),
        ));
    }
    if let Some(i) = frames.iter().position(|fr| fr.len() != f.input_size) {
        return Err(ModelError::at(
            format!("calibration frame {i}"),
            Problem::Shape {
                expected: format!("[{}]", f.input_size),
                found: format!("[{}]", frames[i].len()),
            },
        ));
    }
    let observed = observe(f, frames);
    let mut seeded = spec.stochastic_seed.map(lstm_accel_model::random::rng);
    let mut matrix =
        |path: String, w: &lstm_accel_model::float::FloatMatrix| -> Result<Matrix, ModelError> {
            let ms = spec.overrides.get(&path).unwrap_or(&spec.matrix);
            let rng = seeded.as_mut().map(|r| r as &mut dyn RngCore);
            quantize_matrix_with(w, ms, rng).map_err(|e| ModelError::invalid(path, e))
        };
    let (input_format, formats) = standard_formats(spec.data_width);
    let mut x_fmt = input_format;
    let mut y_max = 1.0;
    let mut layers = Vec::with_capacity(f.layers.len());
    for (i, l) in f.layers.iter().enumerate() {
        let p = |t: &str| format!("layers[{i}].{t}");
        let projection = match &l.projection {
            Some(pw) => {
                let w = matrix(p("projection"), pw)?;
                let bound = match &observed {
                    Some(o) => 1.5 * o.y[i],
                    None => max_row_sum(&w),
                };
                let format = range_format(spec.data_width, bound, formats.hidden.frac + w.frac());
                Some(Projection { w, format })
            }
            None => None,
        };
        let y_fmt = projection.as_ref().map_or(formats.hidden, |p| p.format);
        let w_x = matrix(p("w_x"), &l.w_x)?;
        let w_h = matrix(p("w_h"), &l.w_h)?;
        let cap = (x_fmt.frac + w_x.frac()).max(y_fmt.frac + w_h.frac());
        layers.push(Layer {
            hidden: l.hidden,
            bias: bias(&l.bias, spec.bias_width, cap),
            w_x,
            w_h,
            formats,
            projection,
        });
        x_fmt = y_fmt;
        // |h| < 1; a projection output is bounded by its format.
        y_max = if l.projection.is_some() {
            y_fmt.to_f64(y_fmt.max_abs_raw() as i64)
        } else {
            1.0
        };
    }
    let logit_format = |ws: &[(&Matrix, &Bias)]| {
        let bound = match &observed {
            Some(o) => 2.0 * o.logits,
            None => ws
                .iter()
                .map(|(w, b)| {
                    let bmax = b
                        .values
                        .iter()
                        .map(|&v| b.format.to_f64(i64::from(v)).abs())
                        .fold(0.0, f64::max);
                    max_row_sum(w) * y_max + bmax
                })
                .fold(0.0, f64::max),
        };
        let cap = ws
            .iter()
            .map(|(w, _)| x_fmt.frac + w.frac())
            .max()
            .unwrap_or(0);
        range_format(spec.logit_width, bound, cap)
    };
    let head = match &f.head {
        FloatHead::Dense { w, bias: b } => {
            let w = matrix("head.w".into(), w)?;
            let b = bias(b, spec.bias_width, x_fmt.frac + w.frac());
            let logits = logit_format(&[(&w, &b)]);
            Head::Dense(DenseHead { w, bias: b, logits })
        }
        FloatHead::LightRnn {
            row_w,
            row_bias,
            col_w,
            col_bias,
            table,
        } => {
            let row_w = matrix("head.row_w".into(), row_w)?;
            let col_w = matrix("head.col_w".into(), col_w)?;
            let row_bias = bias(row_bias, spec.bias_width, x_fmt.frac + row_w.frac());
            let col_bias = bias(col_bias, spec.bias_width, x_fmt.frac + col_w.frac());
            let logits = logit_format(&[(&row_w, &row_bias), (&col_w, &col_bias)]);
            Head::LightRnn(LightRnnHead {
                row_w,
                row_bias,
                col_w,
                col_bias,
                logits,
                table: table.clone(),
            })
        }
    };
    let model = Model {
        name: spec.name.clone(),
        input: InputSpec {
            size: f.input_size,
            format: input_format,
            front_end: None,
        },
        rounding: spec.rounding,
        sigmoid: spec.sigmoid,
        tanh: spec.tanh,
        layers,
        head,
        readout: Readout::Last,
    };
    model.validate()?;
    Ok(model)
}
