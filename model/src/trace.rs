//! Per-timestep traces and the decoding rules shared by the fixed-point
//! reference and the float twin.
//!
//! A [`StepTrace`] records, per layer, every gate's pre-activation and
//! activation (rows in gate order i, f, g, o), the cell state, the hidden
//! output and the projected output, then the head's logits and decoded class.
//! The fixed-point trace holds raw integers, the float trace reals; both have
//! the same shape so that a comparison can walk them together.
//!
//! Decoding: arg-max returns the lowest index among equal maxima (what a
//! sequential comparator with `>` does in hardware). LightRNN decodes the row
//! arg-max first, then the column arg-max among that row's occupied cells.

use serde::{Deserialize, Serialize};

/// One layer at one timestep.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerTrace<T> {
    /// Gate pre-activations, 4*hidden (i, f, g, o).
    pub preact: Vec<T>,
    /// Gate activations, 4*hidden.
    pub act: Vec<T>,
    /// Cell state after the step.
    pub c: Vec<T>,
    /// Hidden output after the step.
    pub h: Vec<T>,
    /// Projected output, when the layer has a projection.
    pub y: Option<Vec<T>>,
}

/// Every layer and the head at one timestep.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepTrace<T> {
    /// Bottom layer first.
    pub layers: Vec<LayerTrace<T>>,
    /// Head logits (LightRNN: rows then columns).
    pub logits: Vec<T>,
    /// Decoded class.
    pub class: usize,
}

/// Index of the first maximum (the readout's decision, [`crate::readout`]).
pub use crate::readout::argmax;

/// LightRNN decoding: `logits` holds `rows` row logits then the column
/// logits; returns (row, column) of the decoded cell, which is occupied.
pub fn lightrnn_decode<T: PartialOrd + Copy>(
    logits: &[T],
    rows: usize,
    table: &[i32],
) -> (usize, usize) {
    let cols = logits.len() - rows;
    let row = argmax(logits[..rows].iter().copied());
    let occupied = (0..cols).filter(|&c| table[row * cols + c] >= 0);
    let mut best: Option<(usize, T)> = None;
    for c in occupied {
        let v = logits[rows + c];
        match &best {
            Some((_, b)) if v.partial_cmp(b) != Some(std::cmp::Ordering::Greater) => {}
            _ => best = Some((c, v)),
        }
    }
    (row, best.map_or(0, |(c, _)| c))
}

/// `log softmax(z)`, computed stably.
pub fn log_softmax(z: &[f32]) -> Vec<f32> {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let lse = m + z.iter().map(|&v| (v - m).exp()).sum::<f32>().ln();
    z.iter().map(|&v| v - lse).collect()
}

/// Class log-probabilities of a LightRNN head (LightRNN's two-component
/// softmax): `log P(w) = log P_row(r(w)) + log P_col(c(w))`, renormalized over
/// the occupied cells. `logits` holds the row logits then the column logits;
/// the result has one entry per class.
pub fn lightrnn_log_probs(logits: &[f32], rows: usize, table: &[i32]) -> Vec<f32> {
    let cols = logits.len() - rows;
    let (lr, lc) = (log_softmax(&logits[..rows]), log_softmax(&logits[rows..]));
    let classes = table.iter().map(|&c| c + 1).max().unwrap_or(0).max(0) as usize;
    let mut out = vec![f32::NEG_INFINITY; classes];
    for (cell, &c) in table.iter().enumerate() {
        if c >= 0 {
            out[c as usize] = lr[cell / cols] + lc[cell % cols];
        }
    }
    // Empty cells hold probability mass; renormalize over the classes.
    log_softmax(&out)
}

/// Largest differences between a fixed-point trace (dequantized) and a float
/// trace of the same step: the "fixed vs float" tolerance measure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Deviation {
    /// max |c_fixed - c_float| over every layer.
    pub cell: f64,
    /// max |h_fixed - h_float| (or of the projected output) over every layer.
    pub hidden: f64,
    /// max |logit_fixed - logit_float|.
    pub logits: f64,
}

impl Deviation {
    /// Element-wise maximum.
    pub fn max(self, o: Deviation) -> Deviation {
        Deviation {
            cell: self.cell.max(o.cell),
            hidden: self.hidden.max(o.hidden),
            logits: self.logits.max(o.logits),
        }
    }

    /// Compares one step.
    pub fn of_step(
        model: &crate::model::Model,
        fixed: &StepTrace<i64>,
        float: &StepTrace<f32>,
    ) -> Deviation {
        let max_dev = |f: crate::fixed::Format, a: &[i64], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(&x, &y)| (f.to_f64(x) - f64::from(y)).abs())
                .fold(0.0, f64::max)
        };
        let mut d = Deviation::default();
        for ((l, a), b) in model.layers.iter().zip(&fixed.layers).zip(&float.layers) {
            d.cell = d.cell.max(max_dev(l.formats.cell, &a.c, &b.c));
            d.hidden = d.hidden.max(max_dev(l.formats.hidden, &a.h, &b.h));
            if let (Some(p), Some(ya), Some(yb)) = (&l.projection, &a.y, &b.y) {
                d.hidden = d.hidden.max(max_dev(p.format, ya, yb));
            }
        }
        let logit_fmt = match &model.head {
            crate::model::Head::Dense(h) => h.logits,
            crate::model::Head::LightRnn(h) => h.logits,
        };
        d.logits = max_dev(logit_fmt, &fixed.logits, &float.logits);
        d
    }
}
