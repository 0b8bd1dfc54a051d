//! The float twin: the same structure as [`Model`] in f32 with the exact
//! sigmoid and tanh and no rounding anywhere.
//!
//! It serves three purposes: the target of a float import (PyTorch weights
//! before quantization), the tolerance reference for the fixed-point model
//! (built from the quantized model's decoded weights, so only arithmetic
//! differs), and the plain f32 baseline of the benchmarks. Its matrix-vector
//! product keeps eight partial sums so that the compiler vectorizes it; that
//! is as fast as plain f32 gets without hand-written intrinsics.

use crate::error::{ModelError, Problem, Result};
use crate::model::{Head, Model};
use crate::trace::{LayerTrace, StepTrace};
use serde::{Deserialize, Serialize};

/// A dense f32 matrix, row-major.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FloatMatrix {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// `rows * cols` entries.
    pub data: Vec<f32>,
}

impl FloatMatrix {
    /// A matrix from its parts (shape checked by [`FloatModel::validate`]).
    pub fn new(rows: usize, cols: usize, data: Vec<f32>) -> Self {
        FloatMatrix { rows, cols, data }
    }

    /// The decoded weights of an encoded matrix.
    pub fn from_matrix(m: &crate::encoding::Matrix) -> Self {
        let e = m.expand();
        FloatMatrix {
            rows: e.rows,
            cols: e.cols,
            data: e.to_f64().into_iter().map(|v| v as f32).collect(),
        }
    }

    /// `out = W x`.
    pub fn matvec_into(&self, x: &[f32], out: &mut [f32]) {
        for (o, row) in out.iter_mut().zip(self.data.chunks_exact(self.cols)) {
            *o = dot(row, x);
        }
    }

    fn check(&self, name: &str, rows: usize, cols: usize) -> Result<()> {
        if self.rows != rows || self.cols != cols || self.data.len() != rows * cols {
            return Err(ModelError::at(
                name,
                Problem::Shape {
                    expected: format!("{rows}x{cols}"),
                    found: format!("{}x{} ({} values)", self.rows, self.cols, self.data.len()),
                },
            ));
        }
        check_finite(name, &self.data)
    }
}

/// f32 dot product with eight independent partial sums (vectorizable).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

fn check_finite(name: &str, v: &[f32]) -> Result<()> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(ModelError::at(
            name,
            Problem::NonFinite {
                index: i,
                value: f64::from(v[i]),
            },
        )),
        None => Ok(()),
    }
}

/// One float LSTM layer (gates i, f, g, o).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FloatLayer {
    /// Cells.
    pub hidden: usize,
    /// 4*hidden x input.
    pub w_x: FloatMatrix,
    /// 4*hidden x output size.
    pub w_h: FloatMatrix,
    /// 4*hidden.
    pub bias: Vec<f32>,
    /// Optional projection, proj x hidden.
    pub projection: Option<FloatMatrix>,
    /// Cell clipping: `c` is clamped to `[-clip, clip]` after each update
    /// (Lu et al.; the fixed-point cell saturates at its format's range).
    #[serde(default)]
    pub cell_clip: Option<f32>,
}

impl FloatLayer {
    /// Output (and recurrent) size.
    pub fn output_size(&self) -> usize {
        self.projection.as_ref().map_or(self.hidden, |p| p.rows)
    }
}

/// The float output head.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FloatHead {
    /// Dense logits.
    Dense {
        /// classes x features.
        w: FloatMatrix,
        /// classes.
        bias: Vec<f32>,
    },
    /// LightRNN row/column logits (see [`crate::model::LightRnnHead`]).
    LightRnn {
        /// rows x features.
        row_w: FloatMatrix,
        /// rows.
        row_bias: Vec<f32>,
        /// cols x features.
        col_w: FloatMatrix,
        /// cols.
        col_bias: Vec<f32>,
        /// rows * cols cells: class or -1.
        table: Vec<i32>,
    },
}

/// A float model with the structure of [`Model`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FloatModel {
    /// Input features per frame.
    pub input_size: usize,
    /// Layers, bottom first.
    pub layers: Vec<FloatLayer>,
    /// Output head.
    pub head: FloatHead,
}

impl FloatModel {
    /// The decoded (real-valued) weights of a quantized model.
    pub fn from_model(m: &Model) -> Self {
        let bias = |b: &crate::model::Bias| -> Vec<f32> {
            b.values
                .iter()
                .map(|&v| b.format.to_f64(i64::from(v)) as f32)
                .collect()
        };
        let layers = m
            .layers
            .iter()
            .map(|l| FloatLayer {
                hidden: l.hidden,
                w_x: FloatMatrix::from_matrix(&l.w_x),
                w_h: FloatMatrix::from_matrix(&l.w_h),
                bias: bias(&l.bias),
                projection: l
                    .projection
                    .as_ref()
                    .map(|p| FloatMatrix::from_matrix(&p.w)),
                cell_clip: Some(l.formats.cell.to_f64(l.formats.cell.max_raw()) as f32),
            })
            .collect();
        let head = match &m.head {
            Head::Dense(h) => FloatHead::Dense {
                w: FloatMatrix::from_matrix(&h.w),
                bias: bias(&h.bias),
            },
            Head::LightRnn(h) => FloatHead::LightRnn {
                row_w: FloatMatrix::from_matrix(&h.row_w),
                row_bias: bias(&h.row_bias),
                col_w: FloatMatrix::from_matrix(&h.col_w),
                col_bias: bias(&h.col_bias),
                table: h.table.clone(),
            },
        };
        FloatModel {
            input_size: m.input.size,
            layers,
            head,
        }
    }

    /// Size of the vector the head reads.
    pub fn feature_size(&self) -> usize {
        self.layers
            .last()
            .map_or(self.input_size, FloatLayer::output_size)
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        match &self.head {
            FloatHead::Dense { w, .. } => w.rows,
            FloatHead::LightRnn { table, .. } => table
                .iter()
                .filter(|&&c| c >= 0)
                .map(|&c| c as usize + 1)
                .max()
                .unwrap_or(0),
        }
    }

    /// Shapes agree and every value is finite.
    pub fn validate(&self) -> Result<()> {
        if self.layers.is_empty() {
            return Err(ModelError::invalid(
                "layers",
                "a model needs at least one LSTM layer",
            ));
        }
        let mut n_in = self.input_size;
        for (i, l) in self.layers.iter().enumerate() {
            let p = |t: &str| format!("layers[{i}].{t}");
            if let Some(pr) = &l.projection {
                pr.check(&p("projection"), pr.rows, l.hidden)?;
            }
            let out = l.output_size();
            l.w_x.check(&p("w_x"), 4 * l.hidden, n_in)?;
            l.w_h.check(&p("w_h"), 4 * l.hidden, out)?;
            if l.bias.len() != 4 * l.hidden {
                return Err(ModelError::at(
                    p("bias"),
                    Problem::Shape {
                        expected: format!("[{}]", 4 * l.hidden),
                        found: format!("[{}]", l.bias.len()),
                    },
                ));
            }
            check_finite(&p("bias"), &l.bias)?;
            n_in = out;
        }
        match &self.head {
            FloatHead::Dense { w, bias } => {
                w.check("head.w", w.rows, n_in)?;
                check_len_finite("head.bias", bias, w.rows)
            }
            FloatHead::LightRnn {
                row_w,
                row_bias,
                col_w,
                col_bias,
                table,
            } => {
                row_w.check("head.row_w", row_w.rows, n_in)?;
                col_w.check("head.col_w", col_w.rows, n_in)?;
                check_len_finite("head.row_bias", row_bias, row_w.rows)?;
                check_len_finite("head.col_bias", col_bias, col_w.rows)?;
                if table.len() != row_w.rows * col_w.rows {
                    return Err(ModelError::at(
                        "head.table",
                        Problem::Shape {
                            expected: format!("[{}]", row_w.rows * col_w.rows),
                            found: format!("[{}]", table.len()),
                        },
                    ));
                }
                Ok(())
            }
        }
    }
}

fn check_len_finite(name: &str, v: &[f32], len: usize) -> Result<()> {
    if v.len() != len {
        return Err(ModelError::at(
            name,
            Problem::Shape {
                expected: format!("[{len}]"),
                found: format!("[{}]", v.len()),
            },
        ));
    }
    check_finite(name, v)
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Streaming float inference: reset, step one frame, read the outputs.
#[derive(Clone, Debug)]
pub struct FloatRunner<'m> {
    model: &'m FloatModel,
    c: Vec<Vec<f32>>,
    y: Vec<Vec<f32>>,
    gates: Vec<f32>,
    tmp: Vec<f32>,
    logits: Vec<f32>,
    class: usize,
}

impl<'m> FloatRunner<'m> {
    /// A runner with zero state.
    pub fn new(model: &'m FloatModel) -> Self {
        let widest = model.layers.iter().map(|l| 4 * l.hidden).max().unwrap_or(0);
        FloatRunner {
            model,
            c: model.layers.iter().map(|l| vec![0.0; l.hidden]).collect(),
            y: model
                .layers
                .iter()
                .map(|l| vec![0.0; l.output_size()])
                .collect(),
            gates: vec![0.0; widest],
            tmp: vec![0.0; widest],
            logits: Vec::new(),
            class: 0,
        }
    }

    /// Zeroes c and h of every layer.
    pub fn reset(&mut self) {
        self.c.iter_mut().for_each(|v| v.fill(0.0));
        self.y.iter_mut().for_each(|v| v.fill(0.0));
    }

    /// One frame; returns the decoded class.
    pub fn step(&mut self, frame: &[f32]) -> usize {
        self.step_inner(frame, None)
    }

    /// One frame, recording every layer's values.
    pub fn step_traced(&mut self, frame: &[f32], trace: &mut StepTrace<f32>) -> usize {
        self.step_inner(frame, Some(trace))
    }

    /// Logits of the last step (LightRNN: row logits then column logits).
    pub fn logits(&self) -> &[f32] {
        &self.logits
    }

    /// Decoded class of the last step.
    pub fn class(&self) -> usize {
        self.class
    }

    /// Class log-probabilities of the last step: a softmax over the dense
    /// logits, or LightRNN's row softmax times column softmax.
    pub fn log_probs(&self) -> Vec<f32> {
        match &self.model.head {
            FloatHead::Dense { .. } => crate::trace::log_softmax(&self.logits),
            FloatHead::LightRnn { row_w, table, .. } => {
                crate::trace::lightrnn_log_probs(&self.logits, row_w.rows, table)
            }
        }
    }

    fn step_inner(&mut self, frame: &[f32], mut trace: Option<&mut StepTrace<f32>>) -> usize {
        if let Some(t) = trace.as_deref_mut() {
            t.layers.clear();
        }
        let mut input: Vec<f32> = frame.to_vec();
        for (li, l) in self.model.layers.iter().enumerate() {
            let n = l.hidden;
            let gates = &mut self.gates[..4 * n];
            let tmp = &mut self.tmp[..4 * n];
            l.w_x.matvec_into(&input, gates);
            l.w_h.matvec_into(&self.y[li], tmp);
            for ((g, t), b) in gates.iter_mut().zip(tmp.iter()).zip(&l.bias) {
                *g += t + b;
            }
            let preact = trace.as_ref().map(|_| gates.to_vec());
            for (r, g) in gates.iter_mut().enumerate() {
                *g = if (2 * n..3 * n).contains(&r) {
                    g.tanh()
                } else {
                    sigmoid(*g)
                };
            }
            let c = &mut self.c[li];
            let mut h = vec![0f32; n];
            for j in 0..n {
                let (i, f, g, o) = (gates[j], gates[n + j], gates[2 * n + j], gates[3 * n + j]);
                c[j] = f * c[j] + i * g;
                if let Some(clip) = l.cell_clip {
                    c[j] = c[j].clamp(-clip, clip);
                }
                h[j] = o * c[j].tanh();
            }
            let y = match &l.projection {
                Some(p) => {
                    let mut y = vec![0f32; p.rows];
                    p.matvec_into(&h, &mut y);
                    Some(y)
                }
                None => None,
            };
            if let Some(t) = trace.as_deref_mut() {
                t.layers.push(LayerTrace {
                    preact: preact.unwrap_or_default(),
                    act: gates.to_vec(),
                    c: c.clone(),
                    h: h.clone(),
                    y: y.clone(),
                });
            }
            self.y[li] = y.unwrap_or(h);
            input.clone_from(&self.y[li]);
        }
        let (logits, class) = match &self.model.head {
            FloatHead::Dense { w, bias } => {
                let mut z = vec![0f32; w.rows];
                w.matvec_into(&input, &mut z);
                z.iter_mut().zip(bias).for_each(|(z, b)| *z += b);
                let class = crate::trace::argmax(z.iter().copied());
                (z, class)
            }
            FloatHead::LightRnn {
                row_w,
                row_bias,
                col_w,
                col_bias,
                table,
            } => {
                let mut z = vec![0f32; row_w.rows + col_w.rows];
                row_w.matvec_into(&input, &mut z[..row_w.rows]);
                col_w.matvec_into(&input, &mut z[row_w.rows..]);
                let bias = row_bias.iter().chain(col_bias);
                z.iter_mut().zip(bias).for_each(|(z, b)| *z += b);
                let (row, col) = crate::trace::lightrnn_decode(&z, row_w.rows, table);
                (z, table[row * col_w.rows + col] as usize)
            }
        };
        if let Some(t) = trace {
            t.logits.clone_from(&logits);
            t.class = class;
        }
        self.logits = logits;
        self.class = class;
        class
    }
}
