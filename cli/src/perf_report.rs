//! `lstm-accel report`: the performance report, in one run, as JSON
//! (`report.json`, also printed with `--json`), text and SVG plots in
//! `--out`:
//!
//! 1. software speed: the bit-exact reference's frames per second next to
//!    the f32 twin's (same model, same frames), for the shipped FSDD model
//!    and an ESE-size speech LSTM;
//! 2. simulation speed: simulated cycles per second of the native,
//!    Verilator and Icarus engines on the FSDD design (each run is also a
//!    cross-check: a mismatch fails the report);
//! 3. cycles per frame of the spec's schedule (which the simulations match
//!    cycle for cycle) against the ideal bound, multiply-accumulates per
//!    frame over lanes, for lanes 8 to 256, both models, on ECP5-85F;
//! 4. resources and Fmax against lanes through the open flow: the FSDD
//!    design on the ECP5-85F (the bare accelerator), and on the iCE40 UP5K
//!    (in the iCEBreaker's top: the part's few pins cannot carry the bare
//!    streams) a 1 x 32 model, since the FSDD design needs more logic cells
//!    than the UP5K has;
//! 5. latency per frame at Fmax on ECP5-85F: cycles per frame over Fmax;
//! 6. row engines: cycles per frame over row engines x lanes up to 1,024
//!    multiply-accumulates per cycle for the FSDD model, ESE's own model and
//!    the ESE-size one, and the `ese` summary: ESE's own model at the fastest
//!    configuration that fits the ECP5-85F, synthesised with `--synth-ese`
//!    ([`crate::ese_report`]).
//!
//! The ESE-size model is two LSTMP layers of 1024 cells with 512-wide
//! projections on 153 inputs (Han et al.'s ESE), every matrix
//! block-Toeplitz (k = 16) with ternary codes, 10 classes; its latency is
//! at the FSDD design's Fmax at the same lanes. ESE's own model is one such
//! layer; `--synth-ese` runs the flow on it at its fastest configuration
//! (hours).
//!
//! `--shard K/N` runs the K-th of every N synthesis flows (the report's long
//! part; the rest is measured in every shard) and `--merge` combines the
//! shards' `report.json` files into the report one run gives, with shard
//! 1's speeds, every shard's flows, and the latencies, the `ese` summary and
//! the plots made again from them.

use anyhow::{bail, Result};
use clap::Args;
use lstm_accel_hdl::board::Board;
use lstm_accel_model::encoding::{Blocked, Matrix, ScalarCode};
use lstm_accel_model::float::{FloatModel, FloatRunner};
use lstm_accel_model::random::{self, ModelShape, ScalarKind};
use lstm_accel_model::reference::Reference;
use lstm_accel_model::Model;
use lstm_accel_sim::verilator::VerilatorOptions;
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use lstm_accel_spec::Target;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::engines::{simulate, Backend, EngineSetup};
use crate::ese_report::{self, EseSummary, RowPoint};
use crate::plot::{against_lanes, Series};
use crate::progress::progress_bar;
use lstm_accel_verify::shard::{check_complete, Shard};

/// Arguments of `lstm-accel report`.
#[derive(Args)]
pub struct ReportArgs {
    /// Output folder: `report.json`, the plots, the flows' folders.
    #[arg(long, default_value = "report")]
    pub out: PathBuf,
    /// Lane counts of the cycles-per-frame sweep.
    #[arg(long, value_delimiter = ',', default_values_t = [8, 16, 32, 64, 128, 256])]
    pub lanes: Vec<usize>,
    /// Lane counts the FSDD design is synthesised at on the ECP5-85F (the
    /// flag alone: none).
    #[arg(long, value_delimiter = ',', num_args = 0.., default_values_t = [8, 16, 32, 64, 128, 256])]
    pub ecp5_lanes: Vec<usize>,
    /// Lane counts the iCE40-size design is synthesised at on the iCE40
    /// UP5K (iCEBreaker; the flag alone: none).
    #[arg(long, value_delimiter = ',', num_args = 0.., default_values_t = [2, 4, 8, 16])]
    pub ice40_lanes: Vec<usize>,
    /// Skip synthesis: no resources, and latency at the clock the spec
    /// assumes instead of a measured Fmax.
    #[arg(long)]
    pub no_synth: bool,
    /// Also synthesise ESE's own model on ECP5-85F at its fastest row-engine
    /// configuration that fits (long).
    #[arg(long)]
    pub synth_ese: bool,
    /// Frames each engine simulates for the speed measurement.
    #[arg(long, default_value_t = 4)]
    pub sim_frames: usize,
    /// Seconds each software speed measurement runs (at least).
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
    /// Where the Verilator engine caches its builds [default:
    /// $XDG_CACHE_HOME/lstm-accel/verilator].
    #[arg(long)]
    pub verilator_cache: Option<PathBuf>,
    /// Run shard K of N (1-based) of the synthesis flows; give every shard
    /// the same arguments and its own `--out`.
    #[arg(long, default_value = "1/1")]
    pub shard: Shard,
    /// Merge the `report.json` files of a run's shards into `--out` instead
    /// of measuring.
    #[arg(long, num_args = 1.., value_name = "REPORT")]
    pub merge: Vec<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Software speed of one model.
#[derive(Serialize, Deserialize)]
pub struct SoftwareSpeed {
    /// The model.
    pub model: String,
    /// Multiply-accumulates per frame (dense equivalent of the schedule).
    pub macs_per_frame: u64,
    /// The bit-exact reference.
    pub reference_frames_per_second: f64,
    /// The f32 twin (decoded weights, float arithmetic).
    pub f32_frames_per_second: f64,
}

/// Simulation speed of one engine.
#[derive(Serialize, Deserialize)]
pub struct EngineSpeed {
    /// The engine.
    pub engine: Backend,
    /// Frames simulated (and cross-checked).
    pub frames: usize,
    /// Cycles simulated (weight loads included).
    pub cycles: u64,
    /// Wall-clock seconds of the simulation.
    pub seconds: f64,
    /// Cycles per second.
    pub cycles_per_second: f64,
}

/// Cycles per frame at one lane count.
#[derive(Serialize, Deserialize)]
pub struct LanePoint {
    /// The model.
    pub model: String,
    /// Lanes.
    pub lanes: usize,
    /// The schedule's cycles per frame.
    pub cycles_per_frame: Option<u64>,
    /// Multiply-accumulates per frame over lanes.
    pub ideal_cycles: Option<f64>,
    /// Why the spec refused this configuration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One synthesised design.
#[derive(Serialize, Deserialize)]
pub struct FpgaPoint {
    /// The model.
    pub model: String,
    /// The part.
    pub target: Target,
    /// The board top it was built in, if any.
    pub board: Option<String>,
    /// Row engines.
    pub rows: usize,
    /// Lanes.
    pub lanes: usize,
    /// LUTs after synthesis.
    pub luts: Option<u64>,
    /// Flip-flops after synthesis.
    pub flip_flops: Option<u64>,
    /// Block RAMs placed.
    pub block_rams: Option<u64>,
    /// SPRAMs placed (iCE40 UP5K).
    pub sprams: Option<u64>,
    /// DSPs placed.
    pub dsps: Option<u64>,
    /// nextpnr's Fmax, MHz.
    pub fmax_mhz: Option<f64>,
    /// Why the flow failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its place in the run's list of flows (which shard ran it).
    #[serde(default)]
    pub flow: usize,
}

/// Latency of a frame.
#[derive(Serialize, Deserialize)]
pub struct Latency {
    /// The model.
    pub model: String,
    /// The part.
    pub target: Target,
    /// Lanes.
    pub lanes: usize,
    /// Cycles per frame.
    pub cycles_per_frame: u64,
    /// The clock, MHz.
    pub fmax_mhz: f64,
    /// Where the clock comes from.
    pub fmax_source: String,
    /// Microseconds per frame.
    pub latency_us: f64,
    /// Frames per second at that latency.
    pub frames_per_second: f64,
}

/// The whole report.
#[derive(Serialize, Deserialize)]
pub struct PerfReport {
    /// Software speed.
    pub software: Vec<SoftwareSpeed>,
    /// Simulation speed per engine (FSDD design, 16 lanes, ECP5-85F).
    pub engines: Vec<EngineSpeed>,
    /// Cycles per frame against lanes.
    pub lanes: Vec<LanePoint>,
    /// Resources and Fmax against lanes.
    pub fpga: Vec<FpgaPoint>,
    /// Latency per frame at Fmax.
    pub latency: Vec<Latency>,
    /// Cycles per frame against row engines x lanes.
    pub rows: Vec<RowPoint>,
    /// ESE's own model at its fastest configuration on the ECP5-85F.
    pub ese: Option<EseSummary>,
    /// The plots written.
    pub plots: Vec<String>,
    /// Which shard of the flows this report ran (`1/1`: all, or merged).
    #[serde(default)]
    pub shard: Shard,
    /// Wall-clock seconds of the whole report (of the slowest shard, when
    /// merged).
    pub seconds: f64,
}

const FSDD: &str = "fsdd-digits (2 x 64, pow2-ternary)";
const ICE40: &str = "iCE40-size (1 x 32, 13 inputs, ternary and power-of-two)";
const ESE: &str = "ESE-size (2 x 1024, projection 512, 153 inputs, block-Toeplitz k=16 ternary)";
const ESE_OWN: &str = "ESE (1 x 1024, projection 512, 153 inputs, block-Toeplitz k=16 ternary)";

/// The iCE40-size model: what the UP5K's 5,280 logic cells hold with the
/// iCEBreaker's UART bridge (the FSDD model's design needs more).
pub fn ice40_model() -> Model {
    let mut shape = ModelShape::ternary(13, &[32], 10, 8);
    shape.scalar_kinds = vec![ScalarKind::Ternary, ScalarKind::Pow2];
    let mut m = random::model(&mut random::rng(32), &shape);
    m.name = "ice40-size".into();
    m
}

/// The ESE-size model (see the module documentation).
pub fn ese_model() -> Model {
    ese_layers(2)
}

/// ESE's own model (Han et al., FPGA 2017): one LSTM layer of 1024 cells
/// with a 512-wide projection on 153 inputs, 3,248,128 weights, here
/// block-Toeplitz k=16 ternary, with a 10-class head.
pub fn ese_own_model() -> Model {
    let mut m = ese_layers(1);
    m.name = "ese".into();
    m
}

/// `layers` LSTMP layers of 1024 cells, 512-wide projections, on 153
/// inputs, every matrix block-Toeplitz k=16 ternary.
fn ese_layers(layers: usize) -> Model {
    let mut r = random::rng(1024);
    let mut shape = ModelShape::ternary(153, &vec![1024; layers], 10, 8);
    shape.projection = vec![Some(512); layers];
    let mut m = random::model(&mut r, &shape);
    let block = |w: &Matrix, r: &mut rand_chacha::ChaCha8Rng| {
        let (rows, cols, k) = (w.rows(), w.cols(), 16);
        let n = rows.div_ceil(k) * cols.div_ceil(k) * (2 * k - 1);
        // Each block row sums 2k-1 taps per output: the scale keeps sums
        // in range as a dense ternary matrix's would.
        let exp = -((cols as f64).sqrt().log2().ceil() as i32);
        Matrix::BlockToeplitz(Blocked {
            rows,
            cols,
            block: k,
            values: random::values(r, ScalarCode::Ternary { exp }, n, false),
        })
    };
    for l in &mut m.layers {
        l.w_x = block(&l.w_x, &mut r);
        l.w_h = block(&l.w_h, &mut r);
        if let Some(p) = &mut l.projection {
            p.w = block(&p.w, &mut r);
        }
    }
    m.name = "ese-size".into();
    m
}

/// Frames per second of `step` over `frames`, run for at least `seconds`.
fn rate(frames: &[Vec<i32>], seconds: f64, mut step: impl FnMut(&[i32])) -> f64 {
    let start = Instant::now();
    let mut n = 0usize;
    while n < frames.len() || start.elapsed().as_secs_f64() < seconds {
        step(&frames[n % frames.len()]);
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn software(name: &str, m: &Model, seconds: f64) -> Result<SoftwareSpeed> {
    let frames = random::frames(&mut random::rng(7), m, 8, 0.1);
    let mut reference = Reference::new(m)?;
    let reference_fps = rate(&frames, seconds, |f| {
        let _ = reference.step(f);
    });
    let float = FloatModel::from_model(m);
    let mut runner = FloatRunner::new(&float);
    let scale = (-f64::from(m.input.format.frac)).exp2();
    let float_frames: Vec<Vec<f32>> = frames
        .iter()
        .map(|f| f.iter().map(|&v| (f64::from(v) * scale) as f32).collect())
        .collect();
    let start = Instant::now();
    let mut n = 0usize;
    while n < float_frames.len() || start.elapsed().as_secs_f64() < seconds {
        runner.step(&float_frames[n % float_frames.len()]);
        n += 1;
    }
    let f32_fps = n as f64 / start.elapsed().as_secs_f64();
    let spec = AcceleratorSpec::new(m, &HwConfig::on(16, Target::Generic))?;
    Ok(SoftwareSpeed {
        model: name.into(),
        macs_per_frame: spec.estimate.macs_per_frame,
        reference_frames_per_second: reference_fps,
        f32_frames_per_second: f32_fps,
    })
}

fn lane_points(name: &str, m: &Model, lanes: &[usize]) -> Vec<LanePoint> {
    lanes
        .iter()
        .map(
            |&l| match AcceleratorSpec::new(m, &HwConfig::on(l, Target::Ecp5_85k)) {
                Ok(s) => LanePoint {
                    model: name.into(),
                    lanes: l,
                    cycles_per_frame: Some(s.cycles_per_frame()),
                    ideal_cycles: Some(s.estimate.ideal_cycles),
                    error: None,
                },
                Err(e) => LanePoint {
                    model: name.into(),
                    lanes: l,
                    cycles_per_frame: None,
                    ideal_cycles: None,
                    error: Some(e.to_string()),
                },
            },
        )
        .collect()
}

/// One flow of the report: which model, on what, built where.
struct Flow<'m> {
    name: &'static str,
    model: &'m Model,
    hw: HwConfig,
    board: Option<Board>,
    dir: PathBuf,
    what: String,
}

fn synth_point(name: &str, m: &Model, hw: HwConfig, board: Option<Board>, dir: &Path) -> FpgaPoint {
    let (rows, lanes, target) = (hw.rows, hw.lanes, hw.target);
    let got = crate::synth::flow_for(
        m,
        hw,
        board,
        115_200,
        crate::synth::Placement::default(),
        dir,
        false,
    );
    let mut p = FpgaPoint {
        model: name.into(),
        target: board.and_then(Board::target).unwrap_or(target),
        board: board.map(|b| b.to_string()),
        rows,
        lanes,
        luts: None,
        flip_flops: None,
        block_rams: None,
        sprams: None,
        dsps: None,
        fmax_mhz: None,
        error: None,
        flow: 0,
    };
    match got {
        Ok(r) => {
            p.luts = Some(r.luts);
            p.flip_flops = Some(r.flip_flops);
            p.block_rams = Some(r.block_rams.used);
            p.sprams = Some(r.sprams.used);
            p.dsps = Some(r.dsps.used);
            p.fmax_mhz = Some(r.fmax_mhz);
        }
        Err(e) => p.error = Some(format!("{e:#}")),
    }
    p
}

/// Runs `lstm-accel report`.
pub fn run(a: &ReportArgs) -> Result<()> {
    if !a.merge.is_empty() {
        return merge(a);
    }
    if a.lanes.is_empty()
        || [&a.lanes, &a.ecp5_lanes, &a.ice40_lanes]
            .iter()
            .any(|l| l.contains(&0))
    {
        bail!("--lanes, --ecp5-lanes, --ice40-lanes: lane counts of at least 1");
    }
    if a.sim_frames == 0 || a.seconds.is_nan() || a.seconds <= 0.0 {
        bail!("--sim-frames and --seconds must be positive");
    }
    let start = Instant::now();
    std::fs::create_dir_all(&a.out)?;
    let fsdd = crate::demo_speech::shipped_model()?;
    let ese = ese_model();
    let show = !a.json;
    let small = ice40_model();
    // Every flow of the run, in order; this shard runs its own.
    let own = ese_own_model();
    let choice = ese_report::ese_fastest(&own)
        .map_err(|e| anyhow::anyhow!("ESE's own model on the ECP5-85F: {e}"))?;
    let mut flows = Vec::new();
    if !a.no_synth {
        for &l in &a.ecp5_lanes {
            flows.push(Flow {
                name: FSDD,
                model: &fsdd,
                hw: HwConfig::on(l, Target::Ecp5_85k),
                board: None,
                dir: a.out.join(format!("flow-ecp5-{l}")),
                what: format!("ECP5-85F, {l} lanes"),
            });
        }
        for &l in &a.ice40_lanes {
            flows.push(Flow {
                name: ICE40,
                model: &small,
                hw: HwConfig::on(l, Target::Ice40Up5k),
                board: Some(Board::Icebreaker),
                dir: a.out.join(format!("flow-ice40-{l}")),
                what: format!("iCE40 UP5K, {l} lanes"),
            });
        }
    }
    if a.synth_ese {
        let (r, l) = (choice.hw.rows, choice.hw.lanes);
        flows.push(Flow {
            name: ESE_OWN,
            model: &own,
            hw: choice.hw.clone(),
            board: None,
            dir: a.out.join(format!("flow-ese-ecp5-{r}x{l}")),
            what: format!("ESE on ECP5-85F, {r} x {l} lanes"),
        });
    }
    let synth_steps = (0..flows.len()).filter(|&i| a.shard.includes(i)).count();
    let steps = 5 + synth_steps;
    let bar = progress_bar(show, steps as u64, "software speed");
    let software = vec![
        software(FSDD, &fsdd, a.seconds)?,
        software(ESE, &ese, a.seconds)?,
    ];
    bar.inc(2);
    let spec16 = AcceleratorSpec::new(&fsdd, &HwConfig::on(16, Target::Ecp5_85k))?;
    let frames = vec![random::frames(
        &mut random::rng(3),
        &fsdd,
        a.sim_frames,
        0.1,
    )];
    let mut engines = Vec::new();
    for backend in [Backend::Native, Backend::Verilator, Backend::Icarus] {
        bar.set_message(format!("simulation speed: {backend:?}"));
        let setup = EngineSetup {
            backend,
            verilator_cache: a
                .verilator_cache
                .clone()
                .unwrap_or_else(VerilatorOptions::default_cache),
            // One engine's own speed.
            threads: 1,
            ..EngineSetup::native(false)
        };
        let r = simulate(&fsdd, &spec16, &frames, &setup)?;
        if !r.check.mismatches.is_empty() {
            bail!(
                "{backend:?}: the design differs from the reference: {}",
                r.check.mismatches[0]
            );
        }
        engines.push(EngineSpeed {
            engine: backend,
            frames: r.check.frames,
            cycles: r.simulated_cycles,
            seconds: r.seconds,
            cycles_per_second: r.cycles_per_second,
        });
    }
    bar.inc(3);
    let mut lanes = lane_points(FSDD, &fsdd, &a.lanes);
    lanes.extend(lane_points(ESE, &ese, &a.lanes));
    let mut fpga = Vec::new();
    for (i, f) in flows.into_iter().enumerate() {
        if !a.shard.includes(i) {
            continue;
        }
        bar.set_message(format!("synthesis: {}", f.what));
        fpga.push(FpgaPoint {
            flow: i,
            ..synth_point(f.name, f.model, f.hw, f.board, &f.dir)
        });
        bar.inc(1);
    }
    let latency = latencies(&lanes, &fpga, a);
    // Row engines: the sweeps, and ESE's own model at its fastest fit.
    let mut rows = ese_report::row_points(FSDD, &fsdd);
    let own_points = ese_report::row_points(ESE_OWN, &own);
    rows.extend(ese_report::row_points(ESE, &ese));
    let fmax = ese_fmax(&fpga);
    let ese_summary = Some(ese_report::ese_summary(&own, &choice, fmax));
    rows.extend(own_points);
    bar.finish_and_clear();
    let plots = plots(&a.out, &lanes, &fpga)?;
    let report = PerfReport {
        software,
        engines,
        lanes,
        fpga,
        latency,
        rows,
        ese: ese_summary,
        plots,
        shard: a.shard,
        seconds: start.elapsed().as_secs_f64(),
    };
    finish(a, &report)
}

/// nextpnr's Fmax of ESE's own model, when a flow synthesised it.
fn ese_fmax(fpga: &[FpgaPoint]) -> Option<f64> {
    fpga.iter()
        .find(|p| p.model == ESE_OWN)
        .and_then(|p| p.fmax_mhz)
}

/// Writes `report.json` in `--out` and prints the report.
fn finish(a: &ReportArgs, report: &PerfReport) -> Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    lstm_accel_model::io::write_atomic(&a.out.join("report.json"), text.as_bytes())?;
    if a.json {
        println!("{text}");
    } else {
        print(report, &a.out);
    }
    Ok(())
}

/// `--merge`: the shards' reports into the one report of the run.
fn merge(a: &ReportArgs) -> Result<()> {
    let mut reports: Vec<PerfReport> =
        crate::report::read_reports(&a.merge, "report.json of lstm-accel report")?;
    let shards: Vec<Shard> = reports.iter().map(|r| r.shard).collect();
    check_complete(&shards)
        .map_err(|e| anyhow::anyhow!("merging {} reports: {e}", reports.len()))?;
    reports.sort_by_key(|r| r.shard.index);
    let seconds = reports.iter().map(|r| r.seconds).fold(0.0, f64::max);
    let mut fpga: Vec<FpgaPoint> = Vec::new();
    let mut base = None;
    for r in reports {
        fpga.extend(r.fpga);
        if base.is_none() {
            base = Some(PerfReport {
                fpga: Vec::new(),
                ..r
            });
        }
    }
    let Some(base) = base else {
        bail!("no reports to merge");
    };
    fpga.sort_by_key(|p| p.flow);
    std::fs::create_dir_all(&a.out)?;
    let own = ese_own_model();
    let choice = ese_report::ese_fastest(&own)
        .map_err(|e| anyhow::anyhow!("ESE's own model on the ECP5-85F: {e}"))?;
    let report = PerfReport {
        latency: latencies(&base.lanes, &fpga, a),
        ese: Some(ese_report::ese_summary(&own, &choice, ese_fmax(&fpga))),
        plots: plots(&a.out, &base.lanes, &fpga)?,
        fpga,
        shard: Shard::WHOLE,
        seconds,
        ..base
    };
    finish(a, &report)
}

/// Latency at the lowest-latency synthesised lanes for FSDD, and at every
/// swept lane count that fits for the ESE-size model.
fn latencies(lanes: &[LanePoint], fpga: &[FpgaPoint], a: &ReportArgs) -> Vec<Latency> {
    let ecp5_fmax = |l: usize, fpga: &[FpgaPoint]| {
        fpga.iter()
            .find(|p| p.target == Target::Ecp5_85k && p.lanes == l && p.model == FSDD)
            .and_then(|p| p.fmax_mhz)
    };
    let assumed = HwConfig::default().clock_mhz;
    let mut out = Vec::new();
    let at = |model: &str, l: usize, cpf: u64, fmax: Option<f64>, source: &str| {
        let (mhz, src) = match fmax {
            Some(f) => (f, source.to_string()),
            None => (
                assumed,
                format!("not synthesised: the spec's {assumed} MHz"),
            ),
        };
        let us = cpf as f64 / mhz;
        Latency {
            model: model.into(),
            target: Target::Ecp5_85k,
            lanes: l,
            cycles_per_frame: cpf,
            fmax_mhz: mhz,
            fmax_source: src,
            latency_us: us,
            frames_per_second: 1e6 / us,
        }
    };
    for p in lanes.iter().filter(|p| p.model == FSDD) {
        if let Some(cpf) = p.cycles_per_frame {
            if a.no_synth || ecp5_fmax(p.lanes, fpga).is_some() {
                out.push(at(
                    FSDD,
                    p.lanes,
                    cpf,
                    ecp5_fmax(p.lanes, fpga),
                    "synthesised (nextpnr)",
                ));
            }
        }
    }
    let ese_points: Vec<Latency> = lanes
        .iter()
        .filter(|p| p.model == ESE)
        .filter_map(|p| {
            let cpf = p.cycles_per_frame?;
            Some(at(
                ESE,
                p.lanes,
                cpf,
                ecp5_fmax(p.lanes, fpga),
                "the FSDD design's on ECP5-85F at these lanes (the ESE design not synthesised)",
            ))
        })
        .collect();
    out.extend(ese_points);
    out
}

fn plots(out: &Path, lanes: &[LanePoint], fpga: &[FpgaPoint]) -> Result<Vec<String>> {
    let mut written = Vec::new();
    let mut cycles = Vec::new();
    for (model, short) in [(FSDD, "FSDD"), (ESE, "ESE-size")] {
        let pts = |f: &dyn Fn(&LanePoint) -> Option<f64>| -> Vec<(f64, f64)> {
            lanes
                .iter()
                .filter(|p| p.model == model)
                .filter_map(|p| Some((p.lanes as f64, f(p)?)))
                .collect()
        };
        cycles.push(Series {
            name: format!("{short}: schedule"),
            points: pts(&|p| p.cycles_per_frame.map(|c| c as f64)),
        });
        cycles.push(Series {
            name: format!("{short}: ideal (MACs / lanes)"),
            points: pts(&|p| p.ideal_cycles),
        });
    }
    let path = out.join("cycles-per-frame.svg");
    against_lanes(
        &path,
        "Cycles per frame against lanes (ECP5-85F)",
        "cycles per frame",
        &cycles,
        true,
    )?;
    written.push(path.display().to_string());
    let synthesised: Vec<&FpgaPoint> = fpga
        .iter()
        .filter(|p| p.model != ESE && p.error.is_none())
        .collect();
    if !synthesised.is_empty() {
        let by = |t: Target, f: &dyn Fn(&FpgaPoint) -> Option<f64>| -> Vec<(f64, f64)> {
            synthesised
                .iter()
                .filter(|p| p.target == t)
                .filter_map(|p| Some((p.lanes as f64, f(p)?)))
                .collect()
        };
        let parts = [
            (Target::Ice40Up5k, "iCE40 UP5K (iCE40-size, iCEBreaker top)"),
            (Target::Ecp5_85k, "ECP5-85F (FSDD)"),
        ];
        let mut luts = Vec::new();
        let mut fmax = Vec::new();
        for (t, name) in parts {
            luts.push(Series {
                name: format!("{name}: LUTs"),
                points: by(t, &|p| p.luts.map(|v| v as f64)),
            });
            luts.push(Series {
                name: format!("{name}: flip-flops"),
                points: by(t, &|p| p.flip_flops.map(|v| v as f64)),
            });
            fmax.push(Series {
                name: name.into(),
                points: by(t, &|p| p.fmax_mhz),
            });
        }
        luts.retain(|s| !s.points.is_empty());
        fmax.retain(|s| !s.points.is_empty());
        let path = out.join("resources.svg");
        against_lanes(&path, "Logic against lanes", "cells", &luts, true)?;
        written.push(path.display().to_string());
        let path = out.join("fmax.svg");
        against_lanes(&path, "Fmax against lanes", "Fmax (MHz)", &fmax, false)?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

fn print(r: &PerfReport, out: &Path) {
    println!("software speed (frames/s):");
    for s in &r.software {
        println!(
            "  {}: reference {:.0}, f32 {:.0} ({} MACs/frame)",
            s.model, s.reference_frames_per_second, s.f32_frames_per_second, s.macs_per_frame
        );
    }
    println!("simulation speed (FSDD design, 16 lanes, ECP5-85F; every frame cross-checked):");
    for e in &r.engines {
        println!(
            "  {:?}: {:.0} cycles/s ({} cycles, {} frames, {:.2} s)",
            e.engine, e.cycles_per_second, e.cycles, e.frames, e.seconds
        );
    }
    println!("cycles per frame (schedule / ideal):");
    for p in &r.lanes {
        match (p.cycles_per_frame, p.ideal_cycles) {
            (Some(c), Some(i)) => println!(
                "  {} at {} lanes: {c} / {i:.0} ({:.2}x)",
                p.model,
                p.lanes,
                c as f64 / i
            ),
            _ => println!(
                "  {} at {} lanes: {}",
                p.model,
                p.lanes,
                p.error.as_deref().unwrap_or("-")
            ),
        }
    }
    if !r.fpga.is_empty() {
        println!("synthesis:");
    }
    for p in &r.fpga {
        match &p.error {
            None => {
                println!(
                "  {} {}{} at {} lanes: {} LUTs, {} FFs, {} BRAM, {} SPRAM, {} DSP, Fmax {:.1} MHz",
                p.model,
                p.target,
                p.board.as_ref().map_or(String::new(), |b| format!(" ({b})")),
                p.lanes,
                p.luts.unwrap_or(0),
                p.flip_flops.unwrap_or(0),
                p.block_rams.unwrap_or(0),
                p.sprams.unwrap_or(0),
                p.dsps.unwrap_or(0),
                p.fmax_mhz.unwrap_or(0.0)
            )
            }
            Some(e) => println!(
                "  {} {} at {} lanes: {}",
                p.model,
                p.target,
                p.lanes,
                e.lines().next().unwrap_or(e)
            ),
        }
    }
    println!("latency per frame on ECP5-85F:");
    for l in &r.latency {
        println!(
            "  {} at {} lanes: {} cycles at {:.1} MHz = {:.1} us ({:.0} frames/s; clock: {})",
            l.model,
            l.lanes,
            l.cycles_per_frame,
            l.fmax_mhz,
            l.latency_us,
            l.frames_per_second,
            l.fmax_source
        );
    }
    println!("row engines on ECP5-85F (rows x lanes: schedule / ideal, block RAMs):");
    for p in &r.rows {
        match (p.cycles_per_frame, p.ideal_cycles) {
            (Some(c), Some(i)) => println!(
                "  {} at {} x {}: {c} / {i:.0} ({:.2}x), {} BRAM",
                p.model,
                p.rows,
                p.lanes,
                c as f64 / i,
                p.block_rams.unwrap_or(0)
            ),
            _ => println!(
                "  {} at {} x {}: {}",
                p.model,
                p.rows,
                p.lanes,
                p.error.as_deref().unwrap_or("-")
            ),
        }
    }
    if let Some(e) = &r.ese {
        let clock = match (e.clock_mhz, e.latency_us) {
            (Some(f), Some(us)) => format!("{us:.1} us at nextpnr's {f:.1} MHz"),
            _ => format!(
                "{:.1} us at the spec's 100 MHz, {} (not synthesised: --synth-ese)",
                e.latency_us_at_spec_clock,
                match (e.estimated_fmax_mhz, e.estimated_latency_us) {
                    (Some(f), Some(us)) => format!("{us:.1} us at its estimated Fmax {f:.1} MHz"),
                    _ => "no Fmax estimate".into(),
                }
            ),
        };
        println!(
            "ESE's own model on ECP5-85F: {} x {} ({} MACs/cycle), {} cycles per frame ({:.3}x ideal), {} of {} BRAM: {clock}; ESE reports {} us\n  ({})",
            e.rows,
            e.lanes,
            e.macs_per_cycle,
            e.cycles_per_frame,
            e.ratio_to_ideal,
            e.block_rams.0,
            e.block_rams.1,
            e.ese_reported_us,
            e.why
        );
    }
    println!(
        "report: {} (plots: {}) in {:.0} s",
        out.join("report.json").display(),
        r.plots.join(", "),
        r.seconds
    );
}
