//! `lstm-accel demo`: the main job on defaults shipped with the tool, in pure
//! Rust. By default it takes the trained spoken-digit model that ships
//! with the tool (`assets/models`, trained on FSDD with power-of-two
//! ternary weights) and the tool's own synthetic recordings of the ten
//! digits (`assets/speech`, made with espeak-ng): it derives the
//! accelerator spec (memory map, schedule, predicted cycles), turns each
//! recording into the model's input frames through the model's own audio
//! front end, classifies it with the bit-exact reference model and with
//! the float twin, then streams the first recordings through the host
//! driver into the generated design running in the native cycle-accurate
//! engine, and checks every class, logit and cycle count against the
//! reference and the spec.
//!
//! `--random` runs the same chain on a seeded random ternary LSTM (any
//! size, `--hidden`) and random frames, the model used for the larger
//! hardware measurements.

use crate::engines::{print_report, simulate, EngineSetup, SimulationReport};
use crate::report::{print_summary, summarize, ModelSummary};
use crate::spec_cmd::print_spec;
use anyhow::Result;
use clap::Args;
use lstm_accel_model::activation::Approx;
use lstm_accel_model::fixed::Rounding;
use lstm_accel_model::float::{FloatModel, FloatRunner};
use lstm_accel_model::model::Model;
use lstm_accel_model::random::{self, ModelShape};
use lstm_accel_model::reference::Reference;
use lstm_accel_model::trace::{Deviation, StepTrace};
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `lstm-accel demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// A seeded random ternary LSTM on random frames instead of the
    /// trained model on speech.
    #[arg(long)]
    pub random: bool,
    /// Seed of the generated model and inputs.
    #[arg(long, default_value_t = 2026, requires = "random")]
    pub seed: u64,
    /// Sequences to run.
    #[arg(long, default_value_t = 20, requires = "random")]
    pub sequences: usize,
    /// Frames per sequence.
    #[arg(long, default_value_t = 50, requires = "random")]
    pub frames: usize,
    /// Cells per layer (64 is the FSDD size; 256 the larger model the
    /// ECP5 targets are measured with).
    #[arg(long, default_value_t = 64, requires = "random")]
    pub hidden: usize,
    /// A named model instead of the random ternary one: `ese`, ESE's own
    /// (one LSTM layer of 1024 cells, 512-wide projection, 153 inputs),
    /// block-Toeplitz k=16 ternary.
    #[arg(long, requires = "random", conflicts_with = "hidden")]
    pub preset: Option<Preset>,
    /// Width of the data registers (4..=16).
    #[arg(long, default_value_t = 12, requires = "random")]
    pub width: u32,
    /// Frames the generated design runs in the native cycle-accurate engine
    /// (one sequence), each cross-checked against the reference.
    #[arg(long, default_value_t = 10, requires = "random")]
    pub sim_frames: usize,
    /// Recordings the generated design classifies in the native
    /// cycle-accurate engine (of the ten), each frame cross-checked.
    #[arg(long, default_value_t = 10, conflicts_with = "random")]
    pub sim_recordings: usize,
    /// Also write the model file here.
    #[arg(long)]
    pub save_model: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Named models of `demo --random --preset`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Preset {
    /// ESE's own model (Han et al., FPGA 2017) as block-Toeplitz k=16
    /// ternary.
    Ese,
}

#[derive(Serialize)]
struct DemoReport {
    model_origin: &'static str,
    model: ModelSummary,
    accelerator_cycles_per_frame: u64,
    accelerator_frame_latency_us: f64,
    sequences: usize,
    frames: usize,
    reference_classes: Vec<usize>,
    float_classes: Vec<usize>,
    class_agreement: usize,
    max_deviation: Deviation,
    reference_frames_per_second: f64,
    float_frames_per_second: f64,
    simulation: SimulationReport,
}

const ORIGIN: &str = "generated: a seeded random ternary LSTM (no trained model ships yet)";

/// Runs the demo.
pub fn run(a: &DemoArgs) -> Result<()> {
    if a.random {
        random_demo(a)
    } else {
        crate::demo_speech::run(&crate::demo_speech::SpeechDemo {
            save_model: a.save_model.as_deref(),
            sim_recordings: a.sim_recordings,
            json: a.json,
        })
    }
}

/// The demo on a seeded random model and random frames.
fn random_demo(a: &DemoArgs) -> Result<()> {
    let mut rng = random::rng(a.seed);
    if !(1..=1024).contains(&a.hidden) {
        anyhow::bail!("--hidden {}: cells per layer, 1 to 1024", a.hidden);
    }
    let h = a.hidden;
    let mut model: Model = match a.preset {
        Some(Preset::Ese) => crate::perf_report::ese_own_model(),
        None => {
            let mut m = random::model(&mut rng, &ModelShape::ternary(40, &[h, h], 10, a.width));
            m.name = format!("demo-ternary-2x{h}-seed{}", a.seed);
            m
        }
    };
    // Fixed choices rather than random ones: 256-entry activation tables
    // (one block RAM each on iCE40 and ECP5, so that the model fits the
    // iCE40 UP5K's 30) and unbiased rounding.
    model.sigmoid = Approx::Lut {
        index_bits: 8,
        range_log2: 3,
    };
    model.tanh = model.sigmoid;
    model.rounding = Rounding::HalfEven;
    model.validate()?;
    if let Some(p) = &a.save_model {
        model.save(p)?;
    }
    let accel = AcceleratorSpec::new(&model, &HwConfig::default())?;
    let float = FloatModel::from_model(&model);
    let mut reference = Reference::new(&model)?;
    let mut twin = FloatRunner::new(&float);
    let inputs: Vec<Vec<Vec<i32>>> = (0..a.sequences)
        .map(|_| random::frames(&mut rng, &model, a.frames, 0.0))
        .collect();

    let start = Instant::now();
    let mut fixed_traces = Vec::with_capacity(a.sequences);
    for seq in &inputs {
        reference.reset();
        let mut ts = Vec::with_capacity(seq.len());
        for f in seq {
            let mut t = StepTrace::default();
            reference.step_traced(f, &mut t)?;
            ts.push(t);
        }
        fixed_traces.push(ts);
    }
    let fixed_s = start.elapsed().as_secs_f64();

    let fmt = model.input.format;
    let start = Instant::now();
    let mut dev = Deviation::default();
    let mut float_classes = Vec::new();
    for (seq, ts) in inputs.iter().zip(&fixed_traces) {
        twin.reset();
        for (f, t) in seq.iter().zip(ts) {
            let x: Vec<f32> = f.iter().map(|&v| fmt.to_f64(i64::from(v)) as f32).collect();
            let mut ft = StepTrace::default();
            twin.step_traced(&x, &mut ft);
            dev = dev.max(Deviation::of_step(&model, t, &ft));
        }
        float_classes.push(twin.class());
    }
    let float_s = start.elapsed().as_secs_f64();

    let sim_input = vec![inputs.first().map_or_else(Vec::new, |seq| {
        seq.iter().take(a.sim_frames).cloned().collect()
    })];
    let simulation = simulate(&model, &accel, &sim_input, &EngineSetup::native(!a.json))?;

    let reference_classes: Vec<usize> = fixed_traces
        .iter()
        .map(|t| t.last().map_or(0, |s| s.class))
        .collect();
    let n = (a.sequences * a.frames) as f64;
    let rep = DemoReport {
        model_origin: ORIGIN,
        model: summarize(&model),
        accelerator_cycles_per_frame: accel.cycles_per_frame(),
        accelerator_frame_latency_us: accel.estimate.frame_latency_us,
        sequences: a.sequences,
        frames: a.frames,
        class_agreement: reference_classes
            .iter()
            .zip(&float_classes)
            .filter(|(a, b)| a == b)
            .count(),
        reference_classes,
        float_classes,
        max_deviation: dev,
        reference_frames_per_second: n / fixed_s.max(1e-9),
        float_frames_per_second: n / float_s.max(1e-9),
        simulation,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
        return Ok(());
    }
    println!("lstm-accel demo: bit-exact reference model and its float twin");
    println!("model {}", ORIGIN);
    print_summary(&rep.model);
    print_spec(&accel);
    println!(
        "inputs: {} sequences x {} frames of generated features, uniform over the input format's range",
        a.sequences, a.frames
    );
    println!(
        "reference (bit-exact, traced): classes {:?}",
        rep.reference_classes
    );
    println!(
        "float twin:                    classes {:?}",
        rep.float_classes
    );
    println!(
        "fixed vs float: {}/{} sequences agree; max |dev| cell {:.4}, hidden {:.4}, logits {:.4}",
        rep.class_agreement, a.sequences, dev.cell, dev.hidden, dev.logits
    );
    println!(
        "throughput (with traces): reference {:.0} frames/s, float twin {:.0} frames/s",
        rep.reference_frames_per_second, rep.float_frames_per_second
    );
    println!(
        "generated design, cycle-accurate (native engine), first sequence's first {} frames streamed through the host driver:",
        a.sim_frames
    );
    print_report(&rep.simulation);
    if !rep.simulation.check.mismatches.is_empty() {
        anyhow::bail!("the simulated design differs from the reference");
    }
    Ok(())
}
