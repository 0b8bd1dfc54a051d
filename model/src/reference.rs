//! The bit-exact reference model: integer inference with a streaming
//! interface (reset, step one frame, read the outputs) and an optional
//! per-timestep trace. Every simulator and the generated hardware are checked
//! against it, so it must be exact and fast.
//!
//! The arithmetic is the one [`crate::model`] documents: exact sums whose
//! widths come from [`Model::datapath`], and [`requantize`] at each named
//! rounding point. Exactness does not depend on how a dot product is
//! evaluated, so each matrix is compiled once into its exact dense integer
//! expansion ([`crate::encoding::Matrix::expand`], tested equal to the
//! structured path) and evaluated by the fastest exact kernel that its
//! worst-case bound allows:
//! - narrow: entries and inputs fit i16 and the worst-case row sum fits i32:
//!   `sum(w as i32 * x as i32)`, which compilers turn into packed
//!   multiply-add instructions (16 weights per instruction with SSE2);
//! - wide: i64 products and sums, for anything larger.
//!
//! Data vectors (inputs, h, projections) are at most 16 bits wide by model
//! validation, so they are held as i16; cell states (up to 24 bits) as i64.

use crate::activation::{ActivationUnit, Function};
use crate::cell::CellArith;
use crate::encoding::Matrix;
use crate::error::{ModelError, Problem, Result};
use crate::fixed::{requantize, Format, Rounding};
use crate::model::{Bias, Head, Model};
use crate::readout::Answer;
use crate::trace::{argmax, lightrnn_decode, LayerTrace, StepTrace};

enum Weights {
    Narrow(Vec<i16>),
    Wide(Vec<i64>),
}

/// One matrix compiled for evaluation; its output is shifted left into the
/// accumulator fraction of the sum it joins (exact alignment).
struct Kernel {
    cols: usize,
    weights: Weights,
    align: u32,
}

impl Kernel {
    fn new(m: &Matrix, x: Format, acc_frac: i32) -> Kernel {
        let e = m.expand();
        let fits16 = e.data.iter().all(|&w| i16::try_from(w).is_ok());
        let worst = m.worst_row_bound() * x.max_abs_raw();
        let weights = if fits16 && x.width <= 16 && worst < (1u128 << 31) {
            Weights::Narrow(e.data.iter().map(|&w| w as i16).collect())
        } else {
            Weights::Wide(e.data)
        };
        Kernel {
            cols: e.cols,
            weights,
            align: (acc_frac - (x.frac + e.frac)) as u32,
        }
    }

    /// `out[r] += (W x)[r] << align`.
    #[inline]
    fn accumulate(&self, x: &[i16], out: &mut [i64]) {
        match &self.weights {
            Weights::Narrow(w) => {
                for (o, row) in out.iter_mut().zip(w.chunks_exact(self.cols)) {
                    let s: i32 = row
                        .iter()
                        .zip(x)
                        .map(|(&a, &b)| i32::from(a) * i32::from(b))
                        .sum();
                    *o += i64::from(s) << self.align;
                }
            }
            Weights::Wide(w) => {
                for (o, row) in out.iter_mut().zip(w.chunks_exact(self.cols)) {
                    let s: i64 = row.iter().zip(x).map(|(&a, &b)| a * i64::from(b)).sum();
                    *o += s << self.align;
                }
            }
        }
    }
}

/// An activation unit, tabulated over its whole input domain when that has
/// at most 2^16 values (the table is computed by the unit itself, so it is the
/// same function).
enum Act {
    Table { min: i64, out: Vec<i32> },
    Direct(ActivationUnit),
}

impl Act {
    fn new(model: &Model, f: Function, input: Format, output: Format) -> Result<Act> {
        let unit = model
            .activation(f, input, output)
            .map_err(|e| ModelError::invalid("activation", e))?;
        Ok(if input.width <= 16 {
            Act::Table {
                min: input.min_raw(),
                out: (input.min_raw()..=input.max_raw())
                    .map(|x| unit.eval(x) as i32)
                    .collect(),
            }
        } else {
            Act::Direct(unit)
        })
    }

    #[inline]
    fn eval(&self, x: i64) -> i64 {
        match self {
            Act::Table { min, out } => i64::from(out[(x - min) as usize]),
            Act::Direct(u) => u.eval(x),
        }
    }
}

struct AlignedBias {
    values: Vec<i64>,
}

impl AlignedBias {
    fn new(b: &Bias, acc_frac: i32) -> AlignedBias {
        let s = (acc_frac - b.format.frac) as u32;
        AlignedBias {
            values: b.values.iter().map(|&v| i64::from(v) << s).collect(),
        }
    }
}

struct CompiledLayer {
    hidden: usize,
    wx: Kernel,
    wh: Kernel,
    bias: AlignedBias,
    gate_frac: i32,
    preact: Format,
    sigmoid: Act,
    tanh: Act,
    tanh_cell: Act,
    cell_arith: CellArith,
    projection: Option<(Kernel, usize, Format, i32)>,
}

struct CompiledHead {
    kernels: Vec<Kernel>,
    bias: Vec<i64>,
    acc_frac: Vec<i32>,
    logits: Format,
    rows: Option<usize>,
    table: Vec<i32>,
}

/// Bit-exact streaming inference.
pub struct Reference {
    layers: Vec<CompiledLayer>,
    head: CompiledHead,
    input: Format,
    input_size: usize,
    rounding: Rounding,
    c: Vec<Vec<i64>>,
    y: Vec<Vec<i16>>,
    acc: Vec<i64>,
    act: Vec<i64>,
    h: Vec<i16>,
    x: Vec<i16>,
    logits: Vec<i64>,
    class: usize,
    answer: Answer<i64>,
}

impl Reference {
    /// Validates the model and compiles it.
    pub fn new(model: &Model) -> Result<Reference> {
        model.validate()?;
        let dp = model.datapath();
        let mut layers = Vec::with_capacity(model.layers.len());
        for (l, d) in model.layers.iter().zip(&dp.layers) {
            let f = l.formats;
            let projection = match (&l.projection, d.projection) {
                (Some(p), Some(acc)) => Some((
                    Kernel::new(&p.w, f.hidden, acc.frac),
                    p.w.rows(),
                    p.format,
                    acc.frac,
                )),
                _ => None,
            };
            layers.push(CompiledLayer {
                hidden: l.hidden,
                wx: Kernel::new(&l.w_x, d.input, d.gate.frac),
                wh: Kernel::new(&l.w_h, d.recurrent, d.gate.frac),
                bias: AlignedBias::new(&l.bias, d.gate.frac),
                gate_frac: d.gate.frac,
                preact: f.preact,
                sigmoid: Act::new(model, Function::Sigmoid, f.preact, f.gate)?,
                tanh: Act::new(model, Function::Tanh, f.preact, f.gate)?,
                tanh_cell: Act::new(model, Function::Tanh, f.cell, f.gate)?,
                cell_arith: CellArith::new(&f, d, model.rounding),
                projection,
            });
        }
        let y_fmt = model.feature_format();
        let head = match &model.head {
            Head::Dense(h) => CompiledHead {
                kernels: vec![Kernel::new(&h.w, y_fmt, dp.head[0].frac)],
                bias: AlignedBias::new(&h.bias, dp.head[0].frac).values,
                acc_frac: vec![dp.head[0].frac],
                logits: h.logits,
                rows: None,
                table: Vec::new(),
            },
            Head::LightRnn(h) => {
                let mut bias = AlignedBias::new(&h.row_bias, dp.head[0].frac).values;
                bias.extend(AlignedBias::new(&h.col_bias, dp.head[1].frac).values);
                CompiledHead {
                    kernels: vec![
                        Kernel::new(&h.row_w, y_fmt, dp.head[0].frac),
                        Kernel::new(&h.col_w, y_fmt, dp.head[1].frac),
                    ],
                    bias,
                    acc_frac: vec![dp.head[0].frac, dp.head[1].frac],
                    logits: h.logits,
                    rows: Some(h.rows()),
                    table: h.table.clone(),
                }
            }
        };
        let widest = model.layers.iter().map(|l| 4 * l.hidden).max().unwrap_or(0);
        // Projection rows use the same accumulator.
        let widest_y = model
            .layers
            .iter()
            .map(|l| l.output_size())
            .max()
            .unwrap_or(0);
        Ok(Reference {
            c: model.layers.iter().map(|l| vec![0; l.hidden]).collect(),
            y: model
                .layers
                .iter()
                .map(|l| vec![0; l.output_size()])
                .collect(),
            acc: vec![0; widest.max(widest_y).max(model.head.logits())],
            act: vec![0; widest],
            h: vec![0; widest / 4],
            x: vec![0; model.input.size],
            logits: vec![0; model.head.logits()],
            class: 0,
            answer: Answer::new(model.readout),
            layers,
            head,
            input: model.input.format,
            input_size: model.input.size,
            rounding: model.rounding,
        })
    }

    /// Input quantization (rounding point Input): float features to raw
    /// values of the model's input format.
    pub fn quantize_frame(&self, frame: &[f32]) -> Vec<i32> {
        crate::model::quantize_features(self.input, self.rounding, frame)
    }

    /// Zeroes every layer's c and h.
    pub fn reset(&mut self) {
        self.c.iter_mut().for_each(|v| v.fill(0));
        self.y.iter_mut().for_each(|v| v.fill(0));
        self.answer.reset();
    }

    /// Continues from `other`'s state (every layer's c and h): what a
    /// device does when another model of the same shape is loaded between
    /// two frames of a sequence.
    pub fn take_state_from(&mut self, other: &Reference) -> Result<()> {
        let shape = |r: &Reference| {
            (
                r.c.iter().map(Vec::len).collect::<Vec<_>>(),
                r.y.iter().map(Vec::len).collect::<Vec<_>>(),
            )
        };
        if shape(self) != shape(other) {
            return Err(crate::ModelError::invalid(
                "state",
                "the other reference's state has another shape",
            ));
        }
        self.c.clone_from(&other.c);
        self.y.clone_from(&other.y);
        Ok(())
    }

    /// One frame of raw input values; returns the decoded class.
    pub fn step(&mut self, frame: &[i32]) -> Result<usize> {
        self.step_inner(frame, None)
    }

    /// One frame, recording every layer's values into `trace`.
    pub fn step_traced(&mut self, frame: &[i32], trace: &mut StepTrace<i64>) -> Result<usize> {
        self.step_inner(frame, Some(trace))
    }

    /// Logits of the last step, raw in the logit format (LightRNN: rows, then
    /// columns).
    pub fn logits(&self) -> &[i64] {
        &self.logits
    }

    /// Decoded class of the last step.
    pub fn class(&self) -> usize {
        self.class
    }

    /// The recording's answer after the steps since the last reset, as the
    /// model's readout says (the last step's class, or the arg-max of the
    /// logits summed over the steps); the last step's class before any.
    pub fn answer(&self) -> usize {
        self.answer.class().unwrap_or(self.class)
    }

    /// Cell state of a layer after the last step.
    pub fn cell(&self, layer: usize) -> &[i64] {
        &self.c[layer]
    }

    /// Output vector (h or projection) of a layer after the last step.
    pub fn output(&self, layer: usize) -> &[i16] {
        &self.y[layer]
    }

    fn check_frame(&self, frame: &[i32]) -> Result<()> {
        if frame.len() != self.input_size {
            return Err(ModelError::at(
                "frame",
                Problem::Shape {
                    expected: format!("[{}]", self.input_size),
                    found: format!("[{}]", frame.len()),
                },
            ));
        }
        if let Some(i) = frame
            .iter()
            .position(|&v| !self.input.contains(i64::from(v)))
        {
            return Err(ModelError::at(
                "frame",
                Problem::OutOfRange {
                    index: i,
                    value: frame[i].to_string(),
                    allowed: format!(
                        "{}..={} for input format {}",
                        self.input.min_raw(),
                        self.input.max_raw(),
                        self.input
                    ),
                },
            ));
        }
        Ok(())
    }

    fn step_inner(
        &mut self,
        frame: &[i32],
        mut trace: Option<&mut StepTrace<i64>>,
    ) -> Result<usize> {
        self.check_frame(frame)?;
        for (d, &v) in self.x.iter_mut().zip(frame) {
            *d = v as i16;
        }
        if let Some(t) = trace.as_deref_mut() {
            t.layers.clear();
        }
        let mode = self.rounding;
        for li in 0..self.layers.len() {
            let l = &self.layers[li];
            let n = l.hidden;
            let acc = &mut self.acc[..4 * n];
            acc.copy_from_slice(&l.bias.values);
            let input: &[i16] = if li == 0 { &self.x } else { &self.y[li - 1] };
            l.wx.accumulate(input, acc);
            l.wh.accumulate(&self.y[li], acc);
            let act = &mut self.act[..4 * n];
            for (r, (a, &s)) in act.iter_mut().zip(acc.iter()).enumerate() {
                let z = requantize(s, l.gate_frac, l.preact, mode);
                *a = if (2 * n..3 * n).contains(&r) {
                    l.tanh.eval(z)
                } else {
                    l.sigmoid.eval(z)
                };
            }
            let mut layer_trace = trace.is_some().then(|| LayerTrace {
                preact: acc
                    .iter()
                    .map(|&s| requantize(s, l.gate_frac, l.preact, mode))
                    .collect(),
                act: act.to_vec(),
                ..LayerTrace::default()
            });
            let c = &mut self.c[li];
            let h = &mut self.h[..n];
            for j in 0..n {
                let (i, f, g, o) = (act[j], act[n + j], act[2 * n + j], act[3 * n + j]);
                c[j] = l.cell_arith.cell(i, f, g, c[j]);
                let t = l.tanh_cell.eval(c[j]);
                h[j] = l.cell_arith.hidden(o, t) as i16;
            }
            match &l.projection {
                Some((k, rows, fmt, frac)) => {
                    let pacc = &mut self.acc[..*rows];
                    pacc.fill(0);
                    k.accumulate(h, pacc);
                    for (y, &s) in self.y[li].iter_mut().zip(pacc.iter()) {
                        *y = requantize(s, *frac, *fmt, mode) as i16;
                    }
                    if let Some(lt) = layer_trace.as_mut() {
                        lt.y = Some(self.y[li].iter().map(|&v| i64::from(v)).collect());
                    }
                }
                None => self.y[li].copy_from_slice(h),
            }
            if let (Some(t), Some(mut lt)) = (trace.as_deref_mut(), layer_trace) {
                lt.c = self.c[li].clone();
                lt.h = self.h[..n].iter().map(|&v| i64::from(v)).collect();
                t.layers.push(lt);
            }
        }
        self.run_head();
        self.answer.push(&self.logits, self.class);
        if let Some(t) = trace {
            t.logits.clone_from(&self.logits);
            t.class = self.class;
        }
        Ok(self.class)
    }

    fn run_head(&mut self) {
        let hd = &self.head;
        let feats: &[i16] = match self.y.last() {
            Some(y) => y,
            None => &self.x,
        };
        let acc = &mut self.acc[..self.logits.len()];
        acc.copy_from_slice(&hd.bias);
        let split = hd.rows.unwrap_or(acc.len());
        let (a0, a1) = acc.split_at_mut(split);
        hd.kernels[0].accumulate(feats, a0);
        if let Some(k) = hd.kernels.get(1) {
            k.accumulate(feats, a1);
        }
        for (i, (z, &s)) in self.logits.iter_mut().zip(acc.iter()).enumerate() {
            let frac = hd.acc_frac[usize::from(i >= split)];
            *z = requantize(s, frac, hd.logits, self.rounding);
        }
        self.class = match hd.rows {
            None => argmax(self.logits.iter().copied()),
            Some(rows) => {
                let (r, c) = lightrnn_decode(&self.logits, rows, &hd.table);
                hd.table[r * (self.logits.len() - rows) + c] as usize
            }
        };
    }
}
