//! The hardware configuration a user chooses ([`HwConfig`]): lanes, row
//! engines, activation blocks, gate units, clock and part, and the banking
//! of the large memories; its ranges, and the rules that bank the weight and
//! tap memories on ECP5. The spec ([`crate::spec::AcceleratorSpec::new`])
//! derives everything else from it and the model.

use crate::error::SpecError;
use crate::target::Target;
use serde::{Deserialize, Serialize};

/// The hardware configuration a user chooses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HwConfig {
    /// MAC lanes: weight codes consumed per cycle by one row engine.
    pub lanes: usize,
    /// Row engines: MAC arrays that compute this many rows of the same
    /// matrix at once, side by side, on the same broadcast data word (and,
    /// for structured matrices, the same tap word). A layer's engine `e`
    /// computes cells `j * rows + e`; multiply-accumulates per cycle are
    /// `rows * lanes`.
    #[serde(default = "one")]
    pub rows: usize,
    /// Activation blocks per gate unit: 5 evaluates a cell's four gates and
    /// its tanh(c) in parallel, one cell per cycle; with 4 or 3 the three
    /// sigmoids share two blocks or one, and a cell enters every 2 or 3
    /// cycles (a time-multiplexed unit for small parts, with one row
    /// engine: [`crate::datapath::gate_unit::interval`]).
    pub activation_units: usize,
    /// Gate units working on different cells.
    #[serde(default = "one")]
    pub gate_units: usize,
    /// Target clock in MHz.
    pub clock_mhz: f64,
    /// Target part.
    pub target: Target,
    /// Banks of this many weight words (a power of two, at least 2): the
    /// weight memory's banked form, with a pipelined read. Absent:
    /// automatic (on ECP5, once the weights are deeper than two banks of
    /// [`WEIGHT_BANK_DEPTH`] words).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_bank_depth: Option<usize>,
    /// Banks of this many tap words (a power of two, at least 2): the tap
    /// memory's banked form, as the weights'. Absent: automatic (on ECP5,
    /// once the taps are deeper than one bank of [`WEIGHT_BANK_DEPTH`]
    /// words, where Yosys stacks rows of blocks behind a multiplexer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tap_bank_depth: Option<usize>,
}

/// The serde default of counts that were added later (one unit).
pub(crate) fn one() -> usize {
    1
}

impl HwConfig {
    /// `lanes` lanes on `target`, everything else the default.
    pub fn on(lanes: usize, target: Target) -> Self {
        HwConfig {
            lanes,
            target,
            ..HwConfig::default()
        }
    }
}

impl Default for HwConfig {
    /// 16 lanes, a fully parallel gate unit, 100 MHz on ECP5-85F.
    fn default() -> Self {
        HwConfig {
            lanes: 16,
            rows: 1,
            activation_units: 5,
            gate_units: 1,
            clock_mhz: 100.0,
            target: Target::Ecp5_85k,
            weight_bank_depth: None,
            tap_bank_depth: None,
        }
    }
}

impl HwConfig {
    /// Checks ranges.
    pub fn validate(&self) -> Result<(), SpecError> {
        if !(1..=1024).contains(&self.lanes) {
            return Err(SpecError::Config(format!(
                "lanes = {}, allowed 1..=1024",
                self.lanes
            )));
        }
        if !(1..=64).contains(&self.rows) {
            return Err(SpecError::Config(format!(
                "rows = {}, allowed 1..=64",
                self.rows
            )));
        }
        if !(3..=5).contains(&self.activation_units) {
            return Err(SpecError::Config(format!(
                "activation_units = {}, allowed 3..=5 (a cell needs five activations: tanh(g) and tanh(c) have a block each, the three sigmoids share the rest)",
                self.activation_units
            )));
        }
        if !(1..=64).contains(&self.gate_units) {
            return Err(SpecError::Config(format!(
                "gate_units = {}, allowed 1..=64",
                self.gate_units
            )));
        }
        if self.activation_units < 5 && self.rows > 1 {
            return Err(SpecError::Config(format!(
                "activation_units = {} with {} row engines: a gate unit whose sigmoids share blocks takes a cell every {} cycles, and only one row engine brings cells that far apart (use activation_units = 5)",
                self.activation_units,
                self.rows,
                crate::datapath::gate_unit::interval(self.activation_units)
            )));
        }
        for (name, depth) in [
            ("weight_bank_depth", self.weight_bank_depth),
            ("tap_bank_depth", self.tap_bank_depth),
        ] {
            if let Some(d) = depth {
                if !(d.is_power_of_two() && d >= 2) {
                    return Err(SpecError::Config(format!(
                        "{name} = {d}, allowed a power of two, at least 2"
                    )));
                }
            }
        }
        if !(self.clock_mhz.is_finite() && self.clock_mhz > 0.0 && self.clock_mhz <= 1000.0) {
            return Err(SpecError::Config(format!(
                "clock_mhz = {}, allowed (0, 1000]",
                self.clock_mhz
            )));
        }
        Ok(())
    }
}

/// Words per bank of a banked weight memory.
pub const WEIGHT_BANK_DEPTH: usize = 2048;

impl HwConfig {
    /// The bank depth of the weight memory when it is banked: the
    /// configured one when the weights span at least two such banks;
    /// automatically on ECP5 once they are deeper than two banks of
    /// [`WEIGHT_BANK_DEPTH`] words (one row of DP16KD at the usual widths),
    /// when its block RAMs spread over the die and their read, route and
    /// multiplexer would not fit a 100 MHz cycle. The iCE40 parts run at a
    /// third of that clock and keep large weights in SPRAM.
    pub fn weight_banking(&self, weight_words: usize) -> Option<usize> {
        self.banking(self.weight_bank_depth, weight_words, 2 * WEIGHT_BANK_DEPTH)
    }

    /// The bank depth of the tap memory when it is banked: the configured
    /// one when the taps span at least two such banks; automatically on
    /// ECP5 once they are deeper than one bank of [`WEIGHT_BANK_DEPTH`]
    /// words. Deeper, Yosys builds the memory as rows of blocks behind a
    /// multiplexer (ESE's own model: 3,328 words as seven rows of 512 x
    /// 36), and a block's read, the route to that multiplexer across the
    /// die and the multiplexer were the critical path at 4 x 64 and 8 x 64
    /// (12.2 and 14.3 ns). Banked, each bank's block holds the read in its
    /// own output register and the multiplexer has a register of its own.
    pub fn tap_banking(&self, tap_words: usize) -> Option<usize> {
        self.banking(self.tap_bank_depth, tap_words, WEIGHT_BANK_DEPTH)
    }

    /// The bank depth of a memory of `words` words: `configured` when the
    /// words span at least two such banks; absent, [`WEIGHT_BANK_DEPTH`]
    /// on ECP5 once they are more than `auto_above`.
    fn banking(&self, configured: Option<usize>, words: usize, auto_above: usize) -> Option<usize> {
        match configured {
            Some(d) => (words > d).then_some(d),
            None => (self.target.is_ecp5() && words > auto_above).then_some(WEIGHT_BANK_DEPTH),
        }
    }
}
