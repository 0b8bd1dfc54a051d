//! The cell update of one LSTM cell, the part of a step after the gate
//! activations, shared by the reference model and the hardware's gate unit:
//!
//! ```text
//! c' = requantize((f*c << fc_align) + (i*g << ig_align) -> cell)   rounding point Cell
//! h  = requantize(o * tanh(c')                          -> hidden) rounding point Hidden
//! ```
//! `f*c` is at `gate.frac + cell.frac`, `i*g` at `2 * gate.frac`; both are
//! shifted left (exactly) to the cell accumulator's fraction from
//! [`crate::model::LayerDatapath`]. The products need real multipliers
//! (activation times state), which the FPGA's DSP blocks provide.

use crate::fixed::{requantize, Format, Rounding};
use crate::model::{LayerDatapath, LayerFormats};
use serde::{Deserialize, Serialize};

/// The constants of a layer's cell update.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellArith {
    /// Left shift of `f*c` into the cell accumulator.
    pub fc_align: u32,
    /// Left shift of `i*g` into the cell accumulator.
    pub ig_align: u32,
    /// Fraction of the cell accumulator.
    pub cell_frac: i32,
    /// Cell state format.
    pub cell: Format,
    /// Gate activation format.
    pub gate: Format,
    /// Hidden output format.
    pub hidden: Format,
    /// Rounding at both points.
    pub rounding: Rounding,
}

impl CellArith {
    /// The constants of a layer.
    pub fn new(f: &LayerFormats, d: &LayerDatapath, rounding: Rounding) -> Self {
        CellArith {
            fc_align: (d.cell.frac - (f.gate.frac + f.cell.frac)) as u32,
            ig_align: (d.cell.frac - 2 * f.gate.frac) as u32,
            cell_frac: d.cell.frac,
            cell: f.cell,
            gate: f.gate,
            hidden: f.hidden,
            rounding,
        }
    }

    /// The exact cell accumulator `(f*c << fc_align) + (i*g << ig_align)`.
    #[inline]
    pub fn cell_sum(&self, i: i64, f: i64, g: i64, c: i64) -> i64 {
        ((f * c) << self.fc_align) + ((i * g) << self.ig_align)
    }

    /// The new cell state.
    #[inline]
    pub fn cell(&self, i: i64, f: i64, g: i64, c: i64) -> i64 {
        requantize(
            self.cell_sum(i, f, g, c),
            self.cell_frac,
            self.cell,
            self.rounding,
        )
    }

    /// The hidden output from `o` and `tanh(c')`.
    #[inline]
    pub fn hidden(&self, o: i64, tanh_c: i64) -> i64 {
        requantize(o * tanh_c, 2 * self.gate.frac, self.hidden, self.rounding)
    }
}
