//! The spec's estimate of a design's logic: logic cells (LUT4s, with one
//! per bit of a carry chain, which is what nextpnr counts against a part's
//! LUTs on ECP5 and iCE40 alike) and flip-flops. Block RAMs are counted
//! exactly elsewhere (the memories' placement); this is the rest, the part
//! that decides whether a wide configuration fits.
//!
//! The estimate is linear in what grows with the configuration, each term a
//! count the generator instantiates (see [`LogicTerms`]):
//! - every multiply-accumulate lane (`rows x lanes` of them) costs in
//!   proportion to its product width: the lane's shift-and-negate, its
//!   share of the adder tree, their registers;
//! - every lane's weight decode costs in proportion to its code bits times
//!   the codes it chooses among: a structured matrix's windows (a lane reads
//!   one of the tap word's slots) and a codebook's entries;
//! - every row engine costs its accumulator, bias add, rounding points and
//!   result queue slot, in proportion to its accumulator and value widths;
//! - the rest (controller, sequencer, gate unit, activations, state) is one
//!   constant.
//!
//! The coefficients are fitted to Yosys (`synth_ecp5`) and nextpnr on the
//! FSDD model and ESE's own model at 4 to 1,024 multiply-accumulates per
//! cycle; `docs/hardware.md` lists the designs and the estimate's error on
//! each. Yosys's LUT4 and 2-bit carry cells become logic cells as nextpnr
//! packs them (a carry cell takes two, and about a fifth more for
//! route-throughs and distributed RAM), so the figures are nextpnr's.

use crate::blocks::shift_add_lane::ShiftAddLane;
use crate::layout::{Layout, CODEBOOK_ENTRIES};
use serde::{Deserialize, Serialize};

/// Logic cells of the fixed part (controller, sequencer, gate unit,
/// activations, state and memory ports).
const CELLS_FIXED: f64 = 2_600.0;
/// Logic cells per row engine and bit of its accumulator, bias and values.
const CELLS_PER_ENGINE_BIT: f64 = 3.0;
/// Logic cells per lane and bit of its product.
const CELLS_PER_LANE_BIT: f64 = 6.0;
/// Logic cells per lane, code bit and code it chooses among.
const CELLS_PER_DECODE_CHOICE: f64 = 0.25;
/// Flip-flops of the fixed part.
const FFS_FIXED: f64 = 2_600.0;
/// Flip-flops per row engine and bit of its accumulator, bias and values.
const FFS_PER_ENGINE_BIT: f64 = 3.0;
/// Flip-flops per lane and bit of its product.
const FFS_PER_LANE_BIT: f64 = 3.0;

/// What the estimate counts, from the layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogicTerms {
    /// Row engines.
    pub engines: usize,
    /// Multiply-accumulate lanes (`engines x lanes`).
    pub mac_lanes: usize,
    /// Bits of a lane's product.
    pub product_bits: usize,
    /// Bits of a lane code.
    pub code_bits: usize,
    /// Codes a lane's decode chooses among (1: a plain code).
    pub decode_choices: usize,
    /// Bits of an engine's accumulator, bias and rounded values.
    pub engine_bits: usize,
}

impl LogicTerms {
    /// The terms of `layout`'s design.
    pub fn of(layout: &Layout) -> Self {
        let lanes = layout.lanes;
        let code_bits = layout.lane_code_bits as usize;
        let x = layout.data_width as usize;
        let product_bits = if layout.lane_values {
            x + code_bits
        } else {
            ShiftAddLane::product_width(x, code_bits)
        };
        let windows = layout
            .conv_modes
            .iter()
            .map(|m| m.windows(lanes).count())
            .max()
            .unwrap_or(0);
        let tables = if layout.codebooks.iter().any(|&c| c) {
            CODEBOOK_ENTRIES
        } else {
            0
        };
        let w = layout.widths();
        let engines = layout.engines.max(1);
        LogicTerms {
            engines,
            mac_lanes: engines * lanes,
            product_bits,
            code_bits,
            decode_choices: (windows + tables).max(1),
            engine_bits: layout.acc_width as usize
                + layout.bias_width as usize
                + layout.phase_count() * w.value_width,
        }
    }
}

/// Logic cells and flip-flops of a design, each with the part's count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogicEstimate {
    /// Logic cells (LUT4s and carry bits) estimated / the part's LUTs.
    pub logic_cells: (u32, u32),
    /// Flip-flops estimated / the part's flip-flops (one per LUT on ECP5
    /// and iCE40).
    pub flip_flops: (u32, u32),
}

impl LogicEstimate {
    /// The estimate of a design with `terms` on a part with `luts` LUTs.
    pub fn new(terms: &LogicTerms, luts: u32) -> Self {
        let t = terms;
        let lane_bits = (t.mac_lanes * t.product_bits) as f64;
        let engine_bits = (t.engines * t.engine_bits) as f64;
        let decode = (t.mac_lanes * t.code_bits * t.decode_choices) as f64;
        let cells = CELLS_FIXED
            + CELLS_PER_ENGINE_BIT * engine_bits
            + CELLS_PER_LANE_BIT * lane_bits
            + CELLS_PER_DECODE_CHOICE * decode;
        let ffs = FFS_FIXED + FFS_PER_ENGINE_BIT * engine_bits + FFS_PER_LANE_BIT * lane_bits;
        LogicEstimate {
            logic_cells: (cells.round() as u32, luts),
            flip_flops: (ffs.round() as u32, luts),
        }
    }

    /// The larger of the two utilisations, as a fraction of the part.
    pub fn utilisation(&self) -> f64 {
        let f = |(used, of): (u32, u32)| f64::from(used) / f64::from(of.max(1));
        f(self.logic_cells).max(f(self.flip_flops))
    }
}
