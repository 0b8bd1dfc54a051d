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

use lstm_accel_hdl::spec::{AcceleratorSpec, Estimate, HwConfig};
use lstm_accel_hdl::Target;
use lstm_accel_model::Model;
use serde::Serialize;

/// Row engines of the sweep.
const ROWS: [usize; 6] = [1, 2, 4, 8, 16, 32];
/// Lanes of the sweep.
const LANES: [usize; 5] = [16, 32, 64, 128, 256];
/// Multiply-accumulates per cycle the sweep goes up to: the spec has no
/// logic estimate yet, so the search stops at the size the design is
/// planned for (1,024 on the ECP5-85F).
pub const MAX_MACS_PER_CYCLE: usize = 1024;
/// ESE (Han et al., FPGA 2017) on a Xilinx XCKU060 at 200 MHz: microseconds
/// per frame, as reported, for its model.
pub const ESE_REPORTED_US: f64 = 82.7;

/// Cycles per frame at one row-engine configuration.
#[derive(Clone, Debug, Serialize)]
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
    /// Why the spec refused this configuration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The spec's estimate, for the `ese` summary (its figures are above).
    #[serde(skip)]
    pub estimate: Option<Estimate>,
}

/// ESE's own model at the fastest configuration that fits the ECP5-85F.
#[derive(Clone, Debug, Serialize)]
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
    /// nextpnr's Fmax (null when not synthesised).
    pub clock_mhz: Option<f64>,
    /// Microseconds per frame at `clock_mhz` (null when not synthesised).
    pub latency_us: Option<f64>,
    /// Microseconds per frame at the spec's clock (100 MHz), for
    /// comparison before synthesis.
    pub latency_us_at_spec_clock: f64,
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
                error: None,
                estimate: None,
            };
            match AcceleratorSpec::new(model, &ecp5(rows, lanes)) {
                Ok(s) => {
                    p.cycles_per_frame = Some(s.cycles_per_frame());
                    p.ideal_cycles = Some(s.estimate.ideal_cycles);
                    p.block_rams = Some(s.estimate.bram_blocks.0);
                    p.estimate = Some(s.estimate);
                }
                Err(e) => p.error = Some(e.to_string()),
            }
            out.push(p);
        }
    }
    out
}

/// The fastest point of a sweep (fewest cycles per frame; of equals, the
/// fewest multiply-accumulates per cycle), with why the search stopped.
pub fn fastest(points: &[RowPoint]) -> Option<(&RowPoint, String)> {
    let best = points
        .iter()
        .filter(|p| p.cycles_per_frame.is_some())
        .min_by_key(|p| (p.cycles_per_frame, p.macs_per_cycle))?;
    let refused = points.iter().filter(|p| p.error.is_some()).count();
    let why = format!(
        "the fewest cycles per frame of {} configurations up to {MAX_MACS_PER_CYCLE} multiply-accumulates per cycle whose memories fit the ECP5-85F ({refused} refused); the spec has no logic estimate, so the search does not go past {MAX_MACS_PER_CYCLE}",
        points.len() - refused
    );
    Some((best, why))
}

/// The `ese` summary of ESE's own model at `point` (a point the spec
/// accepted), with the Fmax of its synthesis if it ran.
pub fn ese_summary(
    model: &Model,
    point: &RowPoint,
    why: String,
    fmax_mhz: Option<f64>,
) -> Option<EseSummary> {
    let (cycles, e) = (point.cycles_per_frame?, point.estimate.as_ref()?);
    Some(EseSummary {
        model: model.name.clone(),
        rows: point.rows,
        lanes: point.lanes,
        macs_per_frame: e.macs_per_frame,
        cycles_per_frame: cycles,
        macs_per_cycle: point.macs_per_cycle,
        ratio_to_ideal: e.efficiency_ratio,
        block_rams: e.bram_blocks,
        clock_mhz: fmax_mhz,
        latency_us: fmax_mhz.map(|f| cycles as f64 / f),
        latency_us_at_spec_clock: e.frame_latency_us,
        ese_reported_us: ESE_REPORTED_US,
        why,
    })
}
