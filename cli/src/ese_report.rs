//! The row-engine part of `lstm-accel report`: cycles per frame of the FSDD
//! model, ESE's own model (one LSTMP layer, 1024 cells, 512-wide projection,
//! 153 inputs, block-Toeplitz k=16 ternary) and the two-layer ESE-size one,
//! swept over row engines x lanes on the ECP5-85F; and the `ese` summary:
//! the fastest configuration of ESE's own model whose memories fit the part,
//! with its multiply-accumulates per frame and per cycle, cycles per frame,
//! and latency at nextpnr's Fmax when `--synth-ese` has run the flow on it.
//!
//! Every figure but the Fmax is the spec's (its schedule, which the
//! simulations match cycle for cycle, and its block-RAM placement).

use lstm_accel_model::Model;
use lstm_accel_spec::auto_config::{fastest_fit, AutoChoice, Knob};
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig, SpecError};
use lstm_accel_spec::Target;
use serde::{Deserialize, Serialize};

/// Row engines of the sweep.
const ROWS: [usize; 6] = [1, 2, 4, 8, 16, 32];
/// Lanes of the sweep.
const LANES: [usize; 5] = [16, 32, 64, 128, 256];
/// Multiply-accumulates per cycle the sweep's table goes up to (the `ese`
/// summary's search is [`ese_fastest`]'s, bounded by the part).
pub const MAX_MACS_PER_CYCLE: usize = 2048;
/// ESE (Han et al., FPGA 2017) on a Xilinx XCKU060 at 200 MHz: microseconds
/// per frame, as reported, for its model.
pub const ESE_REPORTED_US: f64 = 82.7;

/// Cycles per frame at one row-engine configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RowPoint {
    /// The model.
    pub model: String,
    /// Row engines.
    pub rows: usize,
    /// Lanes per engine.
    pub lanes: usize,
    /// Multiply-accumulates per cycle (rows x lanes).
    pub macs_per_cycle: usize,
    /// The schedule's cycles per frame.
    pub cycles_per_frame: Option<u64>,
    /// Multiply-accumulates per frame over multiply-accumulates per cycle.
    pub ideal_cycles: Option<f64>,
    /// Block RAMs of the part the memories take.
    pub block_rams: Option<u32>,
    /// The spec's estimate of the logic cells, and the part's.
    pub logic_cells: Option<(u32, u32)>,
    /// Why the spec refused this configuration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// ESE's own model at the fastest configuration that fits the ECP5-85F.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EseSummary {
    /// The model.
    pub model: String,
    /// Row engines.
    pub rows: usize,
    /// Lanes per engine.
    pub lanes: usize,
    /// Multiply-accumulates per frame.
    pub macs_per_frame: u64,
    /// The schedule's cycles per frame.
    pub cycles_per_frame: u64,
    /// Multiply-accumulates per cycle (rows x lanes).
    pub macs_per_cycle: usize,
    /// `cycles_per_frame` over the ideal `macs_per_frame / macs_per_cycle`.
    pub ratio_to_ideal: f64,
    /// Block RAMs used and available.
    pub block_rams: (u32, u32),
    /// Logic cells estimated and available.
    pub logic_cells: (u32, u32),
    /// nextpnr's Fmax (null when not synthesised).
    pub clock_mhz: Option<f64>,
    /// Microseconds per frame at `clock_mhz` (null when not synthesised).
    pub latency_us: Option<f64>,
    /// Microseconds per frame at the spec's clock (100 MHz), for
    /// comparison before synthesis.
    pub latency_us_at_spec_clock: f64,
    /// The spec's Fmax estimate for the design, MHz
    /// (`lstm_accel_spec::fmax_estimate`).
    pub estimated_fmax_mhz: Option<f64>,
    /// Microseconds per frame at the clock the spec expects (the lower of
    /// its clock and the estimate), before synthesis.
    pub estimated_latency_us: Option<f64>,
    /// ESE's own latency, as reported.
    pub ese_reported_us: f64,
    /// Why the search stopped at this configuration.
    pub why: String,
}

/// The hardware configuration of `rows` x `lanes` on the ECP5-85F.
pub fn ecp5(rows: usize, lanes: usize) -> HwConfig {
    HwConfig {
        rows,
        ..HwConfig::on(lanes, Target::Ecp5_85k)
    }
}

/// The sweep of `model` over row engines x lanes (up to
/// [`MAX_MACS_PER_CYCLE`]) on the ECP5-85F.
pub fn row_points(name: &str, model: &Model) -> Vec<RowPoint> {
    let mut out = Vec::new();
    for rows in ROWS {
        for lanes in LANES {
            if rows * lanes > MAX_MACS_PER_CYCLE {
                continue;
            }
            let mut p = RowPoint {
                model: name.into(),
                rows,
                lanes,
                macs_per_cycle: rows * lanes,
                cycles_per_frame: None,
                ideal_cycles: None,
                block_rams: None,
                logic_cells: None,
                error: None,
            };
            match AcceleratorSpec::new(model, &ecp5(rows, lanes)) {
                Ok(s) => {
                    p.cycles_per_frame = Some(s.cycles_per_frame());
                    p.ideal_cycles = Some(s.estimate.ideal_cycles);
                    p.block_rams = Some(s.estimate.bram_blocks.0);
                    p.logic_cells = Some(s.estimate.logic.logic_cells);
                }
                Err(e) => p.error = Some(e.to_string()),
            }
            out.push(p);
        }
    }
    out
}

/// ESE's own model's fastest configuration on the ECP5-85F: the same
/// search as `--rows auto --lanes auto` (memories, logic estimate and
/// schedule from the spec).
pub fn ese_fastest(model: &Model) -> Result<AutoChoice, SpecError> {
    fastest_fit(model, &ecp5(1, 64), Knob::Auto, Knob::Auto)
}

/// The `ese` summary of ESE's own model at `choice`, with the Fmax of its
/// synthesis if it ran.
pub fn ese_summary(model: &Model, choice: &AutoChoice, fmax_mhz: Option<f64>) -> EseSummary {
    let e = &choice.spec.estimate;
    let cycles = choice.spec.cycles_per_frame();
    EseSummary {
        model: model.name.clone(),
        rows: choice.hw.rows,
        lanes: choice.hw.lanes,
        macs_per_frame: e.macs_per_frame,
        cycles_per_frame: cycles,
        macs_per_cycle: choice.hw.rows * choice.hw.lanes,
        ratio_to_ideal: e.efficiency_ratio,
        block_rams: e.bram_blocks,
        logic_cells: e.logic.logic_cells,
        clock_mhz: fmax_mhz,
        latency_us: fmax_mhz.map(|f| cycles as f64 / f),
        latency_us_at_spec_clock: e.frame_latency_us,
        estimated_fmax_mhz: e.clock.map(|c| c.fmax_mhz),
        estimated_latency_us: e.clock.map(|c| c.frame_latency_us),
        ese_reported_us: ESE_REPORTED_US,
        why: choice.why.clone(),
    }
}
