//! `lstm-accel synth`: a model's accelerator (alone, or with `--board` in
//! the board's top with its PLL, UART bridge and pin constraints) through
//! the open FPGA flow
//! (`lstm_accel_hdl::flow`): the Verilog, Yosys, nextpnr at the requested
//! clock, the bitstream. It reports LUTs, flip-flops, carries, block RAM,
//! SPRAM and DSP use, nextpnr's Fmax, whether the clock is met and the
//! critical path, as text or JSON (also written to `synth-report.json`).
//! The tools' logs stay in the output directory; a step that fails is
//! reported with the tool's own message. A clock that is not met is an
//! error (after the bitstream and report are written) unless
//! `--allow-timing-failure`.

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use lstm_accel_hdl::accelerator::verilog;
use lstm_accel_hdl::board::{board_design, Board};
use lstm_accel_hdl::flow::{self, FlowJob, FlowReport, FlowTools, Router, Step};
use lstm_accel_model::io::write_atomic;
use lstm_accel_model::Model;
use std::path::PathBuf;
use std::time::Duration;

use crate::spec_cmd::HwArgs;

/// Arguments of `lstm-accel synth`.
#[derive(Args)]
pub struct SynthArgs {
    /// Model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Hardware configuration (`--target` must name a part; `--clock-mhz`
    /// is the clock nextpnr must meet).
    #[command(flatten)]
    pub hw: HwArgs,
    /// Output directory (created if missing): the Verilog, the tools' logs
    /// and outputs, the bitstream and `synth-report.json`.
    #[arg(long)]
    pub out: PathBuf,
    /// Build for a board: its top (PLL, UART bridge, LEDs) and pin
    /// constraints, its part as the target, the clock the PLL makes closest
    /// to `--clock-mhz`: icebreaker, ulx3s (arty-a7 has no open flow; see
    /// `generate --board`).
    #[arg(long)]
    pub board: Option<Board>,
    /// Baud rate of the board's UART.
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
    /// Seed of nextpnr's placer.
    #[arg(long, default_value_t = 1)]
    pub seed: u32,
    /// nextpnr's router: router1 (its default) or router2 (converges on
    /// large, congested designs where router1 stalls).
    #[arg(long, default_value_t = Router::Router1)]
    pub router: Router,
    /// Write the bitstream and succeed even when the clock is not met.
    #[arg(long)]
    pub allow_timing_failure: bool,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Where nextpnr places and routes: its placer's seed and its router.
#[derive(Clone, Copy, Debug)]
pub struct Placement {
    /// Seed of the placer.
    pub seed: u32,
    /// The router.
    pub router: Router,
}

impl Default for Placement {
    /// nextpnr's defaults: seed 1, router1.
    fn default() -> Self {
        Placement {
            seed: 1,
            router: Router::Router1,
        }
    }
}

/// Runs `lstm-accel synth`.
pub fn run(a: &SynthArgs) -> Result<()> {
    let model = Model::load(&a.model)?;
    let rep = flow_for(
        &model,
        a.hw.config_for(&model)?,
        a.board,
        a.baud,
        Placement {
            seed: a.seed,
            router: a.router,
        },
        &a.out,
        !a.json,
    )?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        print_report(&rep, &a.out.canonicalize()?);
    }
    if !rep.clock_met && !a.allow_timing_failure {
        bail!(
            "the clock is not met: {:.2} MHz achieved, {} MHz requested (--allow-timing-failure accepts it)",
            rep.fmax_mhz,
            rep.clock_mhz
        );
    }
    Ok(())
}

/// Runs the open flow on `model`'s accelerator for `hw` (alone, or in
/// `board`'s top) in `out`, writes `synth-report.json` there and returns
/// the report; `progress` shows each step.
pub fn flow_for(
    model: &Model,
    mut hw: lstm_accel_spec::spec::HwConfig,
    board: Option<Board>,
    baud: u32,
    placement: Placement,
    out: &std::path::Path,
    progress: bool,
) -> Result<FlowReport> {
    if let Some(b) = board {
        match b.target() {
            Some(t) => hw.target = t,
            None => bail!(
                "no open flow builds for the {b} (Xilinx): `lstm-accel generate --board {b}` writes its top and constraints for Vivado"
            ),
        }
    }
    let Some(family) = hw.target.family() else {
        bail!(
            "synth needs a part: --target ice40-up5k, ice40-hx8k, ecp5-25k or ecp5-85k (the configuration names {})",
            hw.target
        );
    };
    // The design must fit the part (the error names a lane count that does).
    let spec = crate::spec_cmd::derive_spec(model, &hw)?;
    let (v, top, clock_mhz, constraints) = match board {
        Some(b) => {
            let d = board_design(model, &hw, b, baud)?;
            if progress {
                eprintln!(
                    "{b}: {:.3} MHz from the PLL ({} MHz asked), UART at {} baud ({} clocks per bit)",
                    d.pll.mhz(),
                    hw.clock_mhz,
                    baud,
                    d.clocks_per_bit
                );
            }
            (d.verilog, "board", d.pll.mhz(), Some(b.constraints()))
        }
        None => (verilog(model, &spec)?, "top", hw.clock_mhz, None),
    };
    let tools = FlowTools::find(family)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let dir = out.canonicalize()?;
    // A report from an earlier run must not pass for this one's.
    let report_path = dir.join("synth-report.json");
    if report_path.exists() {
        std::fs::remove_file(&report_path)
            .with_context(|| format!("removing {}", report_path.display()))?;
    }
    write_atomic(&dir.join("accelerator.v"), v.as_bytes())?;
    if let Some((name, text)) = constraints {
        write_atomic(&dir.join(name), text.as_bytes())?;
    }
    let job = FlowJob {
        target: hw.target,
        sources: vec![PathBuf::from("accelerator.v")],
        top: top.into(),
        constraints: constraints.map(|(name, _)| PathBuf::from(name)),
        clock_mhz,
        seed: placement.seed,
        router: placement.router,
    };
    for step in Step::ALL {
        let bar = spinner(progress, step);
        let started = std::time::Instant::now();
        let done = flow::run_step(step, &job, &tools, &dir);
        bar.finish_and_clear();
        done.with_context(|| format!("{} failed", step.describe()))?;
        if progress {
            eprintln!(
                "{} done in {:.0} s (log: {})",
                step.describe(),
                started.elapsed().as_secs_f64(),
                dir.join(step.log_file()).display()
            );
        }
    }
    let mut rep = flow::report(&job, &tools, &dir)?;
    // The spec's memories; a board adds the serial bridge's two frame
    // buffers (256 x 32 each).
    let bridge = if board.is_some() {
        2 * hw.target.bram_blocks_for(256, 32)
    } else {
        0
    };
    rep.predicted_block_rams = Some(spec.estimate.bram_blocks.0 + bridge);
    rep.predicted_fmax_mhz = spec.estimate.clock.map(|c| c.fmax_mhz);
    write_atomic(&report_path, serde_json::to_string_pretty(&rep)?.as_bytes())?;
    Ok(rep)
}

fn spinner(show: bool, step: Step) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        b.set_style(style);
    }
    b.set_message(step.describe());
    b.enable_steady_tick(Duration::from_millis(200));
    b
}

fn print_report(r: &FlowReport, dir: &std::path::Path) {
    let u = |x: flow::Utilisation| format!("{} / {}", x.used, x.available);
    println!("{} ({}):", r.target, dir.display());
    println!("  LUTs         {}", r.luts);
    println!("  flip-flops   {}", r.flip_flops);
    println!("  carries      {}", r.carries);
    println!("  logic cells  {}", u(r.logic_cells));
    match r.predicted_block_rams {
        Some(p) => println!("  block RAM    {} (spec: {p})", u(r.block_rams)),
        None => println!("  block RAM    {}", u(r.block_rams)),
    }
    if r.sprams.available > 0 {
        println!("  SPRAM        {}", u(r.sprams));
    }
    println!("  DSP          {}", u(r.dsps));
    println!("  I/O          {}", u(r.ios));
    println!(
        "  Fmax         {:.2} MHz for {} MHz requested: {}{}",
        r.fmax_mhz,
        r.clock_mhz,
        if r.clock_met { "met" } else { "NOT met" },
        r.predicted_fmax_mhz
            .map(|p| format!(" (spec's estimate: {p:.1} MHz)"))
            .unwrap_or_default()
    );
    let (logic, routing) = r.critical_delays();
    if let (Some(first), Some(last)) = (r.critical_path.first(), r.critical_path.last()) {
        println!(
            "  critical path {:.2} ns ({logic:.2} logic, {routing:.2} routing), {} hops: {} -> {}",
            logic + routing,
            r.critical_path.len(),
            first.to,
            last.to
        );
    }
    println!("  bitstream    {}", dir.join(&r.bitstream).display());
}
