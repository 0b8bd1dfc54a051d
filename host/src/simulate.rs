//! `lstm-accel simulate`: runs the generated design cycle-accurately with
//! the host driver streaming the model's weights and frames into it, and
//! compares every result with the bit-exact reference (classes, logits, and
//! the device's measured cycles against the spec's prediction). Exits with
//! an error when anything differs.

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use lstm_accel_hdl::AcceleratorSpec;
use lstm_accel_host::crosscheck::{cross_check, CrossCheck};
use lstm_accel_host::driver::Driver;
use lstm_accel_model::random;
use lstm_accel_model::Model;
use lstm_accel_sim::link::{SimLink, Stalls};
use lstm_accel_sim::native::NativeDevice;
use lstm_accel_sim::Device;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

use crate::spec_cmd::HwArgs;

/// Simulation engines.
#[derive(Clone, Copy, Debug, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// rust-hdl's own simulation of the design (no external tool).
    Native,
}

/// Arguments of `lstm-accel simulate`.
#[derive(Args)]
pub struct SimulateArgs {
    /// Model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Hardware configuration.
    #[command(flatten)]
    pub hw: HwArgs,
    /// Engine.
    #[arg(long, value_enum, default_value_t = Backend::Native)]
    pub backend: Backend,
    /// Random frames per sequence (uniform over the input format, a fifth
    /// of the values at its limits).
    #[arg(long, default_value_t = 20)]
    pub random: usize,
    /// Sequences, each from a reset.
    #[arg(long, default_value_t = 1)]
    pub sequences: usize,
    /// Seed of the random frames.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Random stalls on both streams (tvalid and tready low on random cycles).
    #[arg(long)]
    pub stalls: bool,
    /// Write every signal of the native engine to this VCD file.
    #[arg(long)]
    pub vcd: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// What a simulation run reports.
#[derive(Serialize)]
pub struct SimulationReport {
    /// Engine.
    pub backend: Backend,
    /// The cross-check.
    #[serde(flatten)]
    pub check: CrossCheck,
    /// Cycles simulated in all (loads, resets and streaming included).
    pub simulated_cycles: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Simulated cycles per second.
    pub cycles_per_second: f64,
}

/// Runs the cross-check of `model` on a native device.
pub fn simulate_native(
    model: &Model,
    spec: &AcceleratorSpec,
    sequences: &[Vec<Vec<i32>>],
    stalls: Option<Stalls>,
    vcd: Option<&std::path::Path>,
    show_progress: bool,
) -> Result<SimulationReport> {
    let mut dev = NativeDevice::new(model, spec)?;
    if let Some(p) = vcd {
        dev.record_vcd(p)?;
    }
    let mut link = SimLink::new(dev);
    link.timeout = 20 * spec.cycles_per_frame() + 1_000_000;
    if let Some(s) = stalls {
        link = link.with_stalls(s);
    }
    let mut driver = Driver::new(link, spec.clone());
    let total: usize = sequences.iter().map(Vec::len).sum();
    let bar = if show_progress {
        ProgressBar::new(total as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} frames ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("simulating");
    let start = Instant::now();
    let check = cross_check(&mut driver, model, spec, sequences, |n| {
        bar.set_position(n as u64)
    })?;
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let simulated_cycles = driver.link().device().cycles();
    Ok(SimulationReport {
        backend: Backend::Native,
        check,
        simulated_cycles,
        seconds,
        cycles_per_second: simulated_cycles as f64 / seconds.max(1e-9),
    })
}

/// Prints the human report.
pub fn print_report(r: &SimulationReport) {
    let c = &r.check;
    println!(
        "{:?} engine: {} frames, {} cycles simulated in {:.2} s ({:.0} cycles/s)",
        r.backend, c.frames, r.simulated_cycles, r.seconds, r.cycles_per_second
    );
    println!(
        "cycles per frame: predicted {}, measured by the design {}..={}",
        c.predicted_cycles_per_frame, c.measured_cycles_per_frame.0, c.measured_cycles_per_frame.1
    );
    if c.mismatches.is_empty() {
        println!(
            "cross-check: 0 mismatches (every class and logit equals the reference, every frame took the predicted cycles)"
        );
    } else {
        println!(
            "cross-check: {} mismatches, first ones:",
            c.mismatches.len()
        );
        for m in c.mismatches.iter().take(10) {
            println!(
                "  sequence {} frame {} {}: reference {}, device {}",
                m.sequence, m.frame, m.signal, m.expected, m.got
            );
        }
    }
}

/// Runs `lstm-accel simulate`.
pub fn run(a: &SimulateArgs) -> Result<()> {
    let model = Model::load(&a.model)?;
    let spec = AcceleratorSpec::new(&model, &a.hw.config()?)?;
    let mut r = random::rng(a.seed);
    let sequences: Vec<Vec<Vec<i32>>> = (0..a.sequences)
        .map(|_| random::frames(&mut r, &model, a.random, 0.2))
        .collect();
    let stalls = a.stalls.then_some(Stalls {
        input: 0.3,
        output: 0.5,
        seed: a.seed,
    });
    let rep = match a.backend {
        Backend::Native => {
            simulate_native(&model, &spec, &sequences, stalls, a.vcd.as_deref(), !a.json)?
        }
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        print_report(&rep);
        if let Some(p) = &a.vcd {
            println!("waveform: {}", p.display());
        }
    }
    if !rep.check.mismatches.is_empty() {
        bail!(
            "{} mismatches between the design and the reference",
            rep.check.mismatches.len()
        );
    }
    Ok(())
}
