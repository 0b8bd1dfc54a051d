//! The spec's estimate of a design's logic: logic cells (LUT4s, with one
//! per bit of a carry chain, which is what nextpnr counts against a part's
//! LUTs on ECP5 and iCE40 alike) and flip-flops. Block RAMs are counted
//! exactly elsewhere (the memories' placement); this is the rest, the part
//! that decides whether a wide configuration fits.
//!
//! The estimate is linear in what grows with the configuration, each term a
//! count the generator instantiates (see [`LogicTerms`]):
//! - every multiply-accumulate lane (`rows x lanes` of them) costs in
//!   proportion to its product width: the lane's shift and ones'
//!   complement, its share of the adder tree, its data and code registers;
//! - every lane's weight decode costs in proportion to its code bits times
//!   the codes it chooses among: the windows of a structured matrix the
//!   sequencer issues (a lane reads one of the tap word's slots) and a
//!   codebook's entries;
//! - every row engine costs its accumulator, bias add, rounding points and
//!   result queue slot (little: about 30 LUT slots in the fit);
//! - the rest (controller, sequencer, gate unit, activations, state) is one
//!   constant;
//! - with several row engines, each engine's input registers add their bits
//!   to the flip-flops: its weight words, the tap word and its bias (the
//!   few control bits beside them are left out), and with a fan-out tree
//!   each group's copy of the tap and data words and each engine's lead
//!   registers. They fill the flip-flops of slices whose LUTs the lanes
//!   use, so they add no logic cells. (The engines take the data word from
//!   a shared register, `MacShape::x_late`: the fit's one engine's data
//!   registers stand for it.)
//!
//! The coefficients are a least-squares fit to Yosys (`synth_ecp5`, the
//! flow's) on eleven designs: the FSDD model at 1 x 8, 1 x 64, 1 x 256,
//! 4 x 16 and 16 x 16, ESE's own model at 1 x 128, 4 x 64 and 16 x 64, and
//! a 2 x 32 ternary model with 8-bit data at 1 x 2, 1 x 16 and 4 x 8. Yosys's
//! LUT4s and 2-bit carry cells (two LUT slots each) become nextpnr's logic
//! cells with [`PACKING`] (route-throughs and distributed RAM); the flip-flops
//! are Yosys's. On those designs the LUT-slot estimate is within 10 % of
//! Yosys for the designs over 10,000 slots, and between 21 % under and 28 %
//! over for the small ones, whose fixed part differs most from the constant
//! (`docs/hardware.md` has the table).

use crate::datapath::{mac_array, row_engines};
use crate::layout::{Layout, CODEBOOK_ENTRIES};
use serde::{Deserialize, Serialize};

/// LUT slots (LUT4s and carry bits) of the fixed part.
const SLOTS_FIXED: f64 = 3_248.0;
/// LUT slots per row engine.
const SLOTS_PER_ENGINE: f64 = 30.1;
/// LUT slots per lane and bit of its product.
const SLOTS_PER_LANE_BIT: f64 = 3.334;
/// LUT slots per lane, code bit and code it chooses among.
const SLOTS_PER_DECODE_CHOICE: f64 = 1.639;
/// Flip-flops of the fixed part.
const FFS_FIXED: f64 = 3_075.0;
/// Flip-flops per row engine.
const FFS_PER_ENGINE: f64 = 13.2;
/// Flip-flops per lane and bit of its product.
const FFS_PER_LANE_BIT: f64 = 3.532;
/// nextpnr's logic cells per LUT slot of Yosys: 1.21 and 1.24 on FSDD
/// designs, 1.28 on ESE's own model at 16 x 64 (47,158 cells of 36,914
/// slots).
pub const PACKING: f64 = 1.25;

/// What the estimate counts, from the layout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogicTerms {
    /// Row engines.
    pub engines: usize,
    /// Multiply-accumulate lanes (`rows x lanes`).
    pub mac_lanes: usize,
    /// Bits of a lane's product.
    pub product_bits: usize,
    /// Bits of a lane code.
    pub code_bits: usize,
    /// Codes a lane's decode chooses among (1: a plain code).
    pub decode_choices: usize,
    /// Bits of the row engines' input registers (0 with one engine).
    #[serde(default)]
    pub boundary_bits: usize,
}

impl LogicTerms {
    /// The terms of `layout`'s design.
    pub fn of(layout: &Layout) -> Self {
        let lanes = layout.lanes;
        let code_bits = layout.lane_code_bits as usize;
        let product_bits =
            mac_array::product_width(layout.lane_values, layout.data_width as usize, code_bits);
        let engines = layout.engines.max(1);
        // The windows a lane's decode chooses among: those the sequencer
        // issues (one, with as many row engines as a block has rows, and
        // then a lane is wired to its tap).
        let windows = layout
            .conv_modes
            .iter()
            .map(|m| m.issued_windows(lanes, engines).len())
            .max()
            .unwrap_or(0);
        let tables = if layout.codebooks.iter().any(|&c| c) {
            CODEBOOK_ENTRIES
        } else {
            0
        };
        let boundary_bits = if row_engines::boundary_latency(engines) > 0 {
            let words: u32 = (0..layout.engine_banks())
                .map(|b| layout.bank_bits(b))
                .sum();
            let taps: u32 = (0..layout.tap_banks).map(|b| layout.tap_bank_bits(b)).sum();
            let per_engine = words + taps + layout.bias_width;
            // The fan-out tree: each group's copy of the taps and the data
            // word, each engine's lead register of its own words and bias.
            let tree = row_engines::groups(engines)
                * (taps as usize + lanes * layout.data_width as usize)
                + usize::from(row_engines::groups(engines) > 0)
                    * engines
                    * (words + layout.bias_width) as usize;
            engines * per_engine as usize + tree
        } else {
            0
        };
        LogicTerms {
            engines,
            mac_lanes: engines * lanes,
            product_bits,
            code_bits,
            decode_choices: (windows + tables).max(1),
            boundary_bits,
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
    /// What the estimate counted.
    pub terms: LogicTerms,
}

impl LogicEstimate {
    /// The estimate of a design with `terms` on a part with `luts` LUTs.
    pub fn new(terms: &LogicTerms, luts: u32) -> Self {
        let t = terms;
        let lane_bits = (t.mac_lanes * t.product_bits) as f64;
        let decode = (t.mac_lanes * t.code_bits * t.decode_choices) as f64;
        let engines = t.engines as f64;
        let slots = SLOTS_FIXED
            + SLOTS_PER_ENGINE * engines
            + SLOTS_PER_LANE_BIT * lane_bits
            + SLOTS_PER_DECODE_CHOICE * decode;
        let ffs = FFS_FIXED
            + FFS_PER_ENGINE * engines
            + FFS_PER_LANE_BIT * lane_bits
            + t.boundary_bits as f64;
        LogicEstimate {
            logic_cells: ((PACKING * slots).round() as u32, luts),
            flip_flops: (ffs.round() as u32, luts),
            terms: *terms,
        }
    }

    /// The larger of the two utilisations, as a fraction of the part.
    pub fn utilisation(&self) -> f64 {
        let f = |(used, of): (u32, u32)| f64::from(used) / f64::from(of.max(1));
        f(self.logic_cells).max(f(self.flip_flops))
    }
}
