//! `lstm-accel simulate`: runs the generated design cycle-accurately with
//! the host driver streaming the model's weights and frames (random ones,
//! or speech through the model's audio front end) into it, and
//! compares every result with the bit-exact reference (classes, logits, and
//! the device's measured cycles against the spec's prediction). Exits with
//! an error when anything differs.

use anyhow::{bail, Context, Result};
use clap::Args;
use lstm_accel_model::Model;
use lstm_accel_sim::link::Stalls;
use lstm_accel_sim::verilator::VerilatorOptions;
use std::path::PathBuf;

use crate::engines::{input_sequences, print_report, simulate, Backend, EngineSetup, Utterance};
use crate::spec_cmd::HwArgs;

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
    /// Wav files instead of random frames, one sequence each, through the
    /// model's audio front end (`input.front_end` of the model file).
    #[arg(long, num_args = 1.., conflicts_with_all = ["random", "sequences"])]
    pub wav: Vec<PathBuf>,
    /// Raw frames from a JSON file instead: a list of sequences, each a list
    /// of frames, each a list of raw input values (what `difftest` writes).
    #[arg(long, conflicts_with_all = ["random", "sequences", "wav"])]
    pub frames: Option<PathBuf>,
    /// Sequences, each from a reset.
    #[arg(long, default_value_t = 1)]
    pub sequences: usize,
    /// Seed of the random frames.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Random stalls on both streams (tvalid and tready low on random cycles).
    #[arg(long)]
    pub stalls: bool,
    /// After every frame, read every layer's cell states and outputs back
    /// from the design and compare them with the reference.
    #[arg(long)]
    pub read_state: bool,
    /// Write every signal of the engine to this VCD file (for GTKWave).
    #[arg(long)]
    pub vcd: Option<PathBuf>,
    /// On a mismatch, run the sequence of the first one again with every
    /// signal recorded to this VCD file.
    #[arg(long, conflicts_with = "vcd")]
    pub vcd_on_mismatch: Option<PathBuf>,
    /// Where the Verilator engine caches its builds [default:
    /// $XDG_CACHE_HOME/lstm-accel/verilator].
    #[arg(long)]
    pub verilator_cache: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Sequences of raw frames from a JSON file.
fn read_frames(path: &std::path::Path) -> Result<Vec<Vec<Vec<i32>>>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading frames from {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: expected a list of sequences, each a list of frames of raw input values",
            path.display()
        )
    })
}

/// Runs `lstm-accel simulate`.
pub fn run(a: &SimulateArgs) -> Result<()> {
    let model = Model::load(&a.model)?;
    let spec = crate::spec_cmd::derive_spec(&model, &a.hw.config_for(&model)?)?;
    let sequences = match &a.frames {
        Some(path) => read_frames(path)?,
        None => input_sequences(&model, a.sequences, a.random, a.seed, &a.wav)?,
    };
    let stalls = a.stalls.then_some(Stalls {
        input: 0.3,
        output: 0.5,
        seed: a.seed,
    });
    let setup = EngineSetup {
        backend: a.backend,
        stalls,
        vcd: a.vcd.clone(),
        verilator_cache: a
            .verilator_cache
            .clone()
            .unwrap_or_else(VerilatorOptions::default_cache),
        read_state: a.read_state,
        progress: !a.json,
        ..EngineSetup::native(false)
    };
    let mut rep = simulate(&model, &spec, &sequences, &setup)?;
    rep.utterances = a
        .wav
        .iter()
        .zip(&sequences)
        .zip(&rep.check.answers)
        .map(|((p, s), &c)| Utterance {
            file: p.display().to_string(),
            frames: s.len(),
            class: c,
        })
        .collect();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        print_report(&rep);
        for u in &rep.utterances {
            let class = u.class.map_or("-".into(), |c| c.to_string());
            println!("{}: {} frames, class {class}", u.file, u.frames);
        }
        if let Some(p) = &a.vcd {
            println!("waveform: {}", p.display());
        }
    }
    if let (Some(first), Some(path)) = (rep.check.mismatches.first(), &a.vcd_on_mismatch) {
        // Every sequence starts from a reset, so it replays on its own.
        let replay = EngineSetup {
            vcd: Some(path.clone()),
            progress: false,
            ..setup
        };
        simulate(
            &model,
            &spec,
            &sequences[first.sequence..=first.sequence],
            &replay,
        )?;
        eprintln!(
            "waveform of sequence {} (first mismatch: {first}): {}",
            first.sequence,
            path.display()
        );
    }
    if let Some(t) = rep.testbench.as_ref().filter(|t| t.mismatched_words > 0) {
        bail!(
            "the Icarus test bench found {} output words that differ from the expected stream (the first at word {})",
            t.mismatched_words,
            t.first_mismatched_word.unwrap_or(0)
        );
    }
    if !rep.check.mismatches.is_empty() {
        bail!(
            "{} mismatches between the design and the reference",
            rep.check.mismatches.len()
        );
    }
    Ok(())
}
