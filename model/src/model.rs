//! The model: what the accelerator computes, with every format and encoding.
//!
//! A [`Model`] is input quantization, stacked LSTM layers (each with an
//! optional projection, which is also Lu et al.'s shared projection: the
//! projected vector feeds the layer's own recurrence and the next layer), and
//! an output head (dense, or LightRNN's row/column pair). Encodings are chosen
//! per matrix. Gate rows are stacked in PyTorch order i, f, g, o.
//!
//! One step of layer `l` with input `x` (at the input or previous layer's
//! output format) and recurrent input `y_prev` (hidden or projection format):
//! ```text
//! acc   = W_x x + W_h y_prev + b          exact, at frac F_gate (aligned by left shifts)
//! z     = requantize(acc -> preact)       rounding point PreActivation
//! i,f,o = sigmoid(z), g = tanh(z)         rounding point Activation -> gate format
//! c     = requantize(f*c + i*g -> cell)   rounding point Cell (saturation = cell clipping)
//! h     = requantize(o*tanh(c) -> hidden) rounding point Hidden (tanh(c): Activation)
//! y     = requantize(P h -> projection)   rounding point Projection (when present), else y = h
//! ```
//! The head computes `requantize(W y + b -> logits)` (rounding point Logits)
//! and the arg-max. Every exact sum's width comes from [`Datapath`], derived
//! from worst-case bounds of the formats and encodings.

use crate::activation::{ActivationUnit, Approx, Function};
use crate::encoding::{Matrix, WeightBits};
use crate::error::{ModelError, Problem, Result};
use crate::fixed::{Bound, Format, Rounding};
use crate::readout::Readout;
use serde::{Deserialize, Serialize};

/// Widest exact accumulator the datapath may need.
pub const MAX_ACC_BITS: u32 = 62;
/// Allowed widths of inputs, activations, hidden and projection vectors.
pub const DATA_WIDTHS: (u32, u32) = (4, 16);
/// Allowed widths of the cell state.
pub const CELL_WIDTHS: (u32, u32) = (4, 24);
/// Allowed widths of biases and logits.
pub const WIDE_WIDTHS: (u32, u32) = (2, 32);

/// The model's input: `size` features quantized into `format`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    /// Features per frame.
    pub size: usize,
    /// Format of the quantized features (rounding point Input).
    pub format: Format,
    /// How features are computed from speech, when the model takes audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub front_end: Option<crate::frontend::FrontEnd>,
}

/// Float features quantised into an input format (the rounding point
/// Input: round, then saturate), as raw values.
pub fn quantize_features(format: Format, rounding: Rounding, features: &[f32]) -> Vec<i32> {
    features
        .iter()
        .map(|&v| format.quantize(f64::from(v), rounding) as i32)
        .collect()
}

/// A bias vector stored in its own format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bias {
    /// Format of every entry.
    pub format: Format,
    /// Raw entries.
    pub values: Vec<i32>,
}

/// Formats of one layer's datapath registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerFormats {
    /// Gate pre-activations `z` (input of sigmoid/tanh).
    pub preact: Format,
    /// Gate activations i, f, g, o and `tanh(c)`.
    pub gate: Format,
    /// Cell state `c`.
    pub cell: Format,
    /// Hidden output `h`.
    pub hidden: Format,
}

/// An output projection `y = P h` (LSTMP; Lu et al.'s shared projection).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Projection {
    /// `P`, projection x hidden.
    pub w: Matrix,
    /// Format of `y`.
    pub format: Format,
}

/// One LSTM layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    /// Cells (hidden units).
    pub hidden: usize,
    /// Input weights, 4*hidden x input size, gates i, f, g, o.
    pub w_x: Matrix,
    /// Recurrent weights, 4*hidden x output size (projection size if projected).
    pub w_h: Matrix,
    /// Gate biases (PyTorch's `bias_ih + bias_hh`), 4*hidden.
    pub bias: Bias,
    /// Register formats.
    pub formats: LayerFormats,
    /// Optional projection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection: Option<Projection>,
}

impl Layer {
    /// Size of the layer's output (and recurrent) vector.
    pub fn output_size(&self) -> usize {
        self.projection.as_ref().map_or(self.hidden, |p| p.w.rows())
    }

    /// Format of the layer's output vector.
    pub fn output_format(&self) -> Format {
        self.projection
            .as_ref()
            .map_or(self.formats.hidden, |p| p.format)
    }
}

/// A dense output layer with arg-max.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenseHead {
    /// classes x last layer's output size.
    pub w: Matrix,
    /// classes.
    pub bias: Bias,
    /// Format of the logits.
    pub logits: Format,
}

/// LightRNN's two-component head: classes sit in a table of `rows x cols`
/// cells; row logits and column logits are computed from the same vector;
/// decoding is the row arg-max, then the column arg-max among that row's
/// occupied cells. Cost scales with rows + cols, not rows * cols.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LightRnnHead {
    /// Row weights, rows x input.
    pub row_w: Matrix,
    /// Row biases.
    pub row_bias: Bias,
    /// Column weights, cols x input.
    pub col_w: Matrix,
    /// Column biases.
    pub col_bias: Bias,
    /// Format of both logit vectors.
    pub logits: Format,
    /// `rows * cols` cells, row-major: the class at each cell, -1 if empty.
    pub table: Vec<i32>,
}

impl LightRnnHead {
    /// Table rows.
    pub fn rows(&self) -> usize {
        self.row_w.rows()
    }

    /// Table columns.
    pub fn cols(&self) -> usize {
        self.col_w.rows()
    }
}

/// The output head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
// A model holds exactly one head; boxing would only add an indirection.
#[allow(clippy::large_enum_variant)]
pub enum Head {
    /// Dense logits.
    Dense(DenseHead),
    /// LightRNN row/column logits.
    LightRnn(LightRnnHead),
}

impl Head {
    /// Number of classes the head decodes to.
    pub fn classes(&self) -> usize {
        match self {
            Head::Dense(h) => h.w.rows(),
            Head::LightRnn(h) => h
                .table
                .iter()
                .filter(|&&c| c >= 0)
                .map(|&c| c as usize + 1)
                .max()
                .unwrap_or(0),
        }
    }

    /// The head's matrices: the dense weights, or LightRNN's row then column
    /// weights.
    pub fn matrices(&self) -> Vec<&Matrix> {
        match self {
            Head::Dense(h) => vec![&h.w],
            Head::LightRnn(h) => vec![&h.row_w, &h.col_w],
        }
    }

    /// Number of logits the head produces per step.
    pub fn logits(&self) -> usize {
        match self {
            Head::Dense(h) => h.w.rows(),
            Head::LightRnn(h) => h.rows() + h.cols(),
        }
    }
}

/// A complete quantized model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Free-form name.
    pub name: String,
    /// Input features and their format.
    pub input: InputSpec,
    /// The rounding used at every rounding point.
    pub rounding: Rounding,
    /// Sigmoid approximation.
    pub sigmoid: Approx,
    /// Tanh approximation.
    pub tanh: Approx,
    /// LSTM layers, bottom first.
    pub layers: Vec<Layer>,
    /// Output head.
    pub head: Head,
    /// Which frame's head output is a recording's answer (left out of the
    /// file when it is the last frame's).
    #[serde(default, skip_serializing_if = "Readout::is_last")]
    pub readout: Readout,
}

/// Exact accumulator of one sum: its fraction and register width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accumulator {
    /// Fraction bits.
    pub frac: i32,
    /// Signed width that cannot overflow.
    pub bits: u32,
}

impl Accumulator {
    fn of(b: Bound) -> Self {
        Accumulator {
            frac: b.frac,
            bits: b.bits(),
        }
    }
}

/// Derived widths of one layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerDatapath {
    /// Format of the layer's input vector.
    pub input: Format,
    /// Format of the recurrent vector (hidden or projection).
    pub recurrent: Format,
    /// `W_x x` alone.
    pub wx: Accumulator,
    /// `W_h y` alone.
    pub wh: Accumulator,
    /// `W_x x + W_h y + b`.
    pub gate: Accumulator,
    /// `f*c + i*g`.
    pub cell: Accumulator,
    /// `o * tanh(c)`.
    pub hidden: Accumulator,
    /// `P h`, when projected.
    pub projection: Option<Accumulator>,
}

/// Derived widths of the whole datapath, the single source of accumulator
/// widths for the reference model and the hardware.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Datapath {
    /// Per layer.
    pub layers: Vec<LayerDatapath>,
    /// Head accumulator(s): one for dense; row then column for LightRNN.
    pub head: Vec<Accumulator>,
}

fn product_bound(m: &Matrix, x: Format) -> Bound {
    Bound {
        abs: m.worst_row_bound(),
        frac: m.frac(),
    }
    .product(Bound::of_format(x))
}

fn head_acc(w: &Matrix, b: &Bias, y: Format) -> Accumulator {
    Accumulator::of(product_bound(w, y).plus(Bound::of_format(b.format)))
}

impl Model {
    /// Accumulator widths of every exact sum. Assumes [`Model::validate`]
    /// passed the shapes (it calls this to check the widths).
    pub fn datapath(&self) -> Datapath {
        let mut input = self.input.format;
        let mut layers = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            let recurrent = l.output_format();
            let wx = product_bound(&l.w_x, input);
            let wh = product_bound(&l.w_h, recurrent);
            let gate = wx.plus(wh).plus(Bound::of_format(l.bias.format));
            let g = Bound::of_format(l.formats.gate);
            let cell = g
                .product(Bound::of_format(l.formats.cell))
                .plus(g.product(g));
            let hidden = g.product(g);
            let projection = l
                .projection
                .as_ref()
                .map(|p| Accumulator::of(product_bound(&p.w, l.formats.hidden)));
            layers.push(LayerDatapath {
                input,
                recurrent,
                wx: Accumulator::of(wx),
                wh: Accumulator::of(wh),
                gate: Accumulator::of(gate),
                cell: Accumulator::of(cell),
                hidden: Accumulator::of(hidden),
                projection,
            });
            input = l.output_format();
        }
        let head = match &self.head {
            Head::Dense(h) => vec![head_acc(&h.w, &h.bias, input)],
            Head::LightRnn(h) => vec![
                head_acc(&h.row_w, &h.row_bias, input),
                head_acc(&h.col_w, &h.col_bias, input),
            ],
        };
        Datapath { layers, head }
    }

    /// Every weight matrix with its tensor path (`layers[0].w_x`,
    /// `layers[0].projection`, `head.w`, `head.row_w`...), in datapath order.
    pub fn matrices(&self) -> Vec<(String, &Matrix)> {
        let mut v = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            v.push((format!("layers[{i}].w_x"), &l.w_x));
            v.push((format!("layers[{i}].w_h"), &l.w_h));
            if let Some(p) = &l.projection {
                v.push((format!("layers[{i}].projection"), &p.w));
            }
        }
        let names: &[&str] = match &self.head {
            Head::Dense(_) => &["head.w"],
            Head::LightRnn(_) => &["head.row_w", "head.col_w"],
        };
        v.extend(
            names
                .iter()
                .map(|n| n.to_string())
                .zip(self.head.matrices()),
        );
        v
    }

    /// Size of the vector the head reads.
    pub fn feature_size(&self) -> usize {
        self.layers
            .last()
            .map_or(self.input.size, Layer::output_size)
    }

    /// Format of the vector the head reads.
    pub fn feature_format(&self) -> Format {
        self.layers
            .last()
            .map_or(self.input.format, Layer::output_format)
    }

    /// Bits of every weight, bias and table the hardware stores.
    pub fn weight_bits(&self) -> WeightBits {
        let bias_bits = |b: &Bias| WeightBits {
            codes: 0,
            tables: b.values.len() as u64 * u64::from(b.format.width),
        };
        let mut total = WeightBits::default();
        for l in &self.layers {
            total = total + l.w_x.bits() + l.w_h.bits() + bias_bits(&l.bias);
            if let Some(p) = &l.projection {
                total = total + p.w.bits();
            }
        }
        match &self.head {
            Head::Dense(h) => total + h.w.bits() + bias_bits(&h.bias),
            Head::LightRnn(h) => {
                total
                    + h.row_w.bits()
                    + bias_bits(&h.row_bias)
                    + h.col_w.bits()
                    + bias_bits(&h.col_bias)
            }
        }
    }

    /// Number of stored weight parameters (codes and biases).
    pub fn params(&self) -> usize {
        let mut n = 0;
        for l in &self.layers {
            n += l.w_x.params() + l.w_h.params() + l.bias.values.len();
            n += l.projection.as_ref().map_or(0, |p| p.w.params());
        }
        n + match &self.head {
            Head::Dense(h) => h.w.params() + h.bias.values.len(),
            Head::LightRnn(h) => {
                h.row_w.params()
                    + h.row_bias.values.len()
                    + h.col_w.params()
                    + h.col_bias.values.len()
            }
        }
    }

    /// Multiply-accumulates per frame if every matrix were dense.
    pub fn dense_macs(&self) -> usize {
        self.matrices()
            .iter()
            .map(|(_, m)| m.rows() * m.cols())
            .sum()
    }

    /// Builds the activation unit for a function on a given input format.
    pub fn activation(
        &self,
        f: Function,
        input: Format,
        output: Format,
    ) -> std::result::Result<ActivationUnit, String> {
        let approx = match f {
            Function::Sigmoid => self.sigmoid,
            Function::Tanh => self.tanh,
        };
        ActivationUnit::new(f, approx, input, output, self.rounding)
    }

    /// Checks every shape, code, format and derived width. The error names
    /// the tensor and what is wrong.
    pub fn validate(&self) -> Result<()> {
        check_format("input.format", self.input.format, DATA_WIDTHS)?;
        if self.input.size == 0 {
            return Err(ModelError::invalid("input.size", "must be at least 1"));
        }
        if let Some(f) = &self.input.front_end {
            f.validate(self.input.size)?;
        }
        if self.layers.is_empty() {
            return Err(ModelError::invalid(
                "layers",
                "a model needs at least one LSTM layer",
            ));
        }
        let mut in_size = self.input.size;
        for (i, l) in self.layers.iter().enumerate() {
            let p = |t: &str| format!("layers[{i}].{t}");
            if l.hidden == 0 {
                return Err(ModelError::invalid(p("hidden"), "must be at least 1"));
            }
            check_format(&p("formats.preact"), l.formats.preact, DATA_WIDTHS)?;
            check_format(&p("formats.gate"), l.formats.gate, DATA_WIDTHS)?;
            check_format(&p("formats.cell"), l.formats.cell, CELL_WIDTHS)?;
            check_format(&p("formats.hidden"), l.formats.hidden, DATA_WIDTHS)?;
            check_format(&p("bias.format"), l.bias.format, WIDE_WIDTHS)?;
            if let Some(pr) = &l.projection {
                check_format(&p("projection.format"), pr.format, DATA_WIDTHS)?;
                check_matrix(&p("projection.w"), &pr.w, pr.w.rows().max(1), l.hidden)?;
            }
            let out = l.output_size();
            check_matrix(&p("w_x"), &l.w_x, 4 * l.hidden, in_size)?;
            check_matrix(&p("w_h"), &l.w_h, 4 * l.hidden, out)?;
            check_bias(&p("bias"), &l.bias, 4 * l.hidden)?;
            for (f, inp) in [
                (Function::Sigmoid, l.formats.preact),
                (Function::Tanh, l.formats.preact),
                (Function::Tanh, l.formats.cell),
            ] {
                self.activation(f, inp, l.formats.gate)
                    .map_err(|e| ModelError::invalid(p("formats"), e))?;
            }
            in_size = out;
        }
        match &self.head {
            Head::Dense(h) => {
                check_format("head.logits", h.logits, WIDE_WIDTHS)?;
                check_format("head.bias.format", h.bias.format, WIDE_WIDTHS)?;
                check_matrix("head.w", &h.w, h.w.rows().max(1), in_size)?;
                check_bias("head.bias", &h.bias, h.w.rows())?;
            }
            Head::LightRnn(h) => {
                check_format("head.logits", h.logits, WIDE_WIDTHS)?;
                check_format("head.row_bias.format", h.row_bias.format, WIDE_WIDTHS)?;
                check_format("head.col_bias.format", h.col_bias.format, WIDE_WIDTHS)?;
                check_matrix("head.row_w", &h.row_w, h.row_w.rows().max(1), in_size)?;
                check_matrix("head.col_w", &h.col_w, h.col_w.rows().max(1), in_size)?;
                check_bias("head.row_bias", &h.row_bias, h.rows())?;
                check_bias("head.col_bias", &h.col_bias, h.cols())?;
                check_table(h)?;
                if self.readout == Readout::Mean {
                    // Row and column logits decode in two steps; their sums
                    // over frames would not name one cell.
                    return Err(ModelError::invalid(
                        "readout",
                        "`mean` pools dense logits; a LightRNN head reads out its last frame",
                    ));
                }
            }
        }
        self.check_widths()
    }

    fn check_widths(&self) -> Result<()> {
        let d = self.datapath();
        let check = |name: String, a: Accumulator| {
            if a.bits > MAX_ACC_BITS {
                Err(ModelError::invalid(
                    name,
                    format!(
                        "the exact accumulator needs {} bits (limit {MAX_ACC_BITS}): narrow the \
                         formats or the weight range",
                        a.bits
                    ),
                ))
            } else {
                Ok(())
            }
        };
        for (i, l) in d.layers.iter().enumerate() {
            check(format!("layers[{i}] gate accumulator"), l.gate)?;
            check(format!("layers[{i}] cell accumulator"), l.cell)?;
            if let Some(p) = l.projection {
                check(format!("layers[{i}] projection accumulator"), p)?;
            }
        }
        for a in d.head {
            check("head accumulator".into(), a)?;
        }
        Ok(())
    }
}

fn check_format(name: &str, f: Format, (lo, hi): (u32, u32)) -> Result<()> {
    f.check(lo, hi).map_err(|e| ModelError::invalid(name, e))
}

fn check_matrix(name: &str, m: &Matrix, rows: usize, cols: usize) -> Result<()> {
    if m.rows() != rows || m.cols() != cols {
        return Err(ModelError::at(
            name,
            Problem::Shape {
                expected: format!("{rows}x{cols}"),
                found: format!("{}x{}", m.rows(), m.cols()),
            },
        ));
    }
    m.validate().map_err(|e| ModelError::invalid(name, e))
}

fn check_bias(name: &str, b: &Bias, len: usize) -> Result<()> {
    if b.values.len() != len {
        return Err(ModelError::at(
            name,
            Problem::Shape {
                expected: format!("[{len}]"),
                found: format!("[{}]", b.values.len()),
            },
        ));
    }
    for (i, &v) in b.values.iter().enumerate() {
        if !b.format.contains(i64::from(v)) {
            return Err(ModelError::at(
                name,
                Problem::OutOfRange {
                    index: i,
                    value: v.to_string(),
                    allowed: format!(
                        "{}..={} for format {}",
                        b.format.min_raw(),
                        b.format.max_raw(),
                        b.format
                    ),
                },
            ));
        }
    }
    Ok(())
}

fn check_table(h: &LightRnnHead) -> Result<()> {
    let cells = h.rows() * h.cols();
    if h.table.len() != cells {
        return Err(ModelError::at(
            "head.table",
            Problem::Shape {
                expected: format!("[{cells}] ({} rows x {} cols)", h.rows(), h.cols()),
                found: format!("[{}]", h.table.len()),
            },
        ));
    }
    let mut seen = vec![false; cells];
    for (i, &c) in h.table.iter().enumerate() {
        if c < -1 || c as i64 >= cells as i64 {
            return Err(ModelError::at(
                "head.table",
                Problem::OutOfRange {
                    index: i,
                    value: c.to_string(),
                    allowed: format!("-1 (empty) or a class 0..{cells}"),
                },
            ));
        }
        if c >= 0 {
            if seen[c as usize] {
                return Err(ModelError::invalid(
                    "head.table",
                    format!("class {c} sits in more than one cell (second at index {i})"),
                ));
            }
            seen[c as usize] = true;
        }
    }
    for r in 0..h.rows() {
        if h.table[r * h.cols()..(r + 1) * h.cols()]
            .iter()
            .all(|&c| c < 0)
        {
            return Err(ModelError::invalid(
                "head.table",
                format!("row {r} has no class; every row needs one so that decoding always lands on a class"),
            ));
        }
    }
    Ok(())
}
