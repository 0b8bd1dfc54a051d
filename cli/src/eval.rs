//! `lstm-accel eval`: how well model files classify real speech, and what
//! their weights cost. Each model's test recordings of an FSDD split go
//! through its own audio front end (`input.front_end`, the host driver's
//! implementation) into the bit-exact reference model; its answer (the
//! model's readout: the class after the last frame, or pooled over the
//! frames) is the recording's. The report gives accuracy,
//! confusion matrix, stored parameters, weight bits (codes and tables, biases
//! included) and the compression ratio against the same network in 32-bit
//! floats (every matrix dense). With `--engine`, the generated accelerator
//! runs the same recordings cycle-accurately, the host driver streaming
//! weights and frames; every frame's class and logits are compared with the
//! reference, so the design's accuracy is the reference's or the command
//! fails. `--plot` draws accuracy against weight bits for every model.

use crate::engines::{simulate, Backend, EngineSetup};
use crate::progress::progress_bar;
use crate::spec_cmd::{derive_spec, HwArgs};
use anyhow::{bail, Context, Result};
use clap::Args;
use lstm_accel_audio::fsdd::{Fsdd, Split, Utterance};
use lstm_accel_audio::AudioInput;
use lstm_accel_model::reference::Reference;
use lstm_accel_model::Model;
use lstm_accel_sim::verilator::VerilatorOptions;
use lstm_accel_spec::spec::HwConfig;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Arguments of `lstm-accel eval`.
#[derive(Args)]
pub struct EvalArgs {
    /// Model files (each one a row of the report and a point of the plot).
    #[arg(long, required = true, num_args = 1..)]
    pub model: Vec<PathBuf>,
    /// The FSDD folder (default: $LSTM_ACCEL_FSDD, else ../shared/data/fsdd).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The test set: `own` (indices 0-4) or `speaker:NAME`.
    #[arg(long, default_value = "own")]
    pub split: String,
    /// Only every n-th test recording (a quicker look).
    #[arg(long, default_value_t = 1)]
    pub every: usize,
    /// Also run the generated design on the recordings in this engine.
    #[arg(long, value_enum)]
    pub engine: Option<Backend>,
    /// Hardware configuration of the design `--engine` runs.
    #[command(flatten)]
    pub hw: HwArgs,
    /// Where the Verilator engine caches its builds.
    #[arg(long)]
    pub verilator_cache: Option<PathBuf>,
    /// Draw accuracy against weight bits here (SVG).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// One model's evaluation.
#[derive(Clone, Debug, Serialize)]
pub struct ModelEval {
    /// The model file.
    pub file: String,
    /// The model's name.
    pub name: String,
    /// Test recordings.
    pub recordings: usize,
    /// Share classified right by the bit-exact reference.
    pub accuracy: f64,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<usize>>,
    /// Stored parameters (codes and biases).
    pub parameters: usize,
    /// Parameters of the same network with every matrix dense.
    pub dense_parameters: usize,
    /// Bits of codes, tables and biases.
    pub weight_bits: u64,
    /// `32 * dense_parameters / weight_bits`.
    pub compression_ratio: f64,
    /// The accelerator's run, with `--engine`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineEval>,
}

impl ModelEval {
    /// Its point on the accuracy plot, labelled with the model file's name
    /// without its extension (names inside files repeat across methods).
    fn plot_point(&self) -> crate::plot::ModelPoint {
        crate::plot::ModelPoint {
            label: std::path::Path::new(&self.file)
                .file_stem()
                .map_or_else(|| self.name.clone(), |s| s.to_string_lossy().into_owned()),
            weight_bits: self.weight_bits,
            accuracy: self.accuracy,
        }
    }
}

/// The accelerator on the same recordings.
#[derive(Clone, Debug, Serialize)]
pub struct EngineEval {
    /// The engine.
    pub backend: Backend,
    /// Share the design classified right.
    pub accuracy: f64,
    /// Frames run.
    pub frames: usize,
    /// Differences from the reference (classes, logits, cycles): 0.
    pub mismatches: usize,
    /// Cycles per frame the design took (its spec's prediction).
    pub cycles_per_frame: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// The split `s` names (`own` or `speaker:NAME`).
pub fn parse_split(s: &str) -> Result<Split> {
    match s {
        "own" => Ok(Split::Own),
        _ => match s.strip_prefix("speaker:") {
            Some(name) if !name.is_empty() => Ok(Split::LeaveOut(name.to_string())),
            _ => bail!("split {s}: expected own or speaker:NAME"),
        },
    }
}

/// Evaluates `model` on `recordings`: the reference's classes, and with
/// `engine` the design's.
pub fn evaluate(
    file: &Path,
    model: &Model,
    recordings: &[&Utterance],
    engine: Option<(&EngineSetup, &HwConfig)>,
    progress: bool,
) -> Result<ModelEval> {
    let input = AudioInput::new(model).with_context(|| file.display().to_string())?;
    let bar = progress_bar(progress, recordings.len() as u64, "features");
    let sequences: Vec<Vec<Vec<i32>>> = recordings
        .iter()
        .map(|u| {
            bar.inc(1);
            input.frames_of_file(&u.path)
        })
        .collect::<Result<_, _>>()?;
    bar.finish_and_clear();
    let classes = model.head.classes();
    let mut reference = Reference::new(model)?;
    let predicted: Vec<usize> = sequences
        .iter()
        .map(|s| {
            reference.reset();
            for f in s {
                reference.step(f)?;
            }
            Ok(reference.answer())
        })
        .collect::<Result<_, lstm_accel_model::ModelError>>()?;
    let labels: Vec<usize> = recordings.iter().map(|u| usize::from(u.digit)).collect();
    let share = |p: &[usize]| {
        p.iter().zip(&labels).filter(|(p, l)| p == l).count() as f64 / labels.len().max(1) as f64
    };
    let mut confusion = vec![vec![0; classes]; classes];
    for (&p, &l) in predicted.iter().zip(&labels) {
        if l < confusion.len() && p < confusion.len() {
            confusion[l][p] += 1;
        }
    }
    let dense_parameters = model.dense_macs()
        + model
            .layers
            .iter()
            .map(|l| l.bias.values.len())
            .sum::<usize>()
        + model.head.logits();
    let weight_bits = model.weight_bits().total();
    let engine = match engine {
        None => None,
        Some((setup, hw)) => {
            let spec = derive_spec(model, hw)?;
            let rep = simulate(model, &spec, &sequences, setup)?;
            let design: Vec<usize> = rep
                .check
                .answers
                .iter()
                .map(|c| c.map_or(usize::MAX, |c| c as usize))
                .collect();
            Some(EngineEval {
                backend: setup.backend,
                accuracy: share(&design),
                frames: rep.check.frames,
                mismatches: rep.check.mismatches.len(),
                cycles_per_frame: rep.check.predicted_cycles_per_frame,
                seconds: rep.seconds,
            })
        }
    };
    Ok(ModelEval {
        file: file.display().to_string(),
        name: model.name.clone(),
        recordings: recordings.len(),
        accuracy: share(&predicted),
        confusion,
        parameters: model.params(),
        dense_parameters,
        weight_bits,
        compression_ratio: 32.0 * dense_parameters as f64 / weight_bits.max(1) as f64,
        engine,
    })
}

/// Runs `lstm-accel eval`.
pub fn run(a: &EvalArgs) -> Result<()> {
    if a.every == 0 {
        bail!("--every 0: give 1 for every recording, n for every n-th");
    }
    let split = parse_split(&a.split)?;
    let fsdd = Fsdd::open(&Fsdd::locate(a.data.as_deref()))?;
    let (_, test) = fsdd.split(&split)?;
    let test: Vec<&Utterance> = test.into_iter().step_by(a.every).collect();
    let hw = a.hw.config()?;
    let setup = a.engine.map(|backend| EngineSetup {
        backend,
        stalls: None,
        vcd: None,
        verilator_cache: a
            .verilator_cache
            .clone()
            .unwrap_or_else(VerilatorOptions::default_cache),
        read_state: false,
        progress: !a.json,
        threads: EngineSetup::native(false).threads,
    });
    let mut evals = Vec::with_capacity(a.model.len());
    for path in &a.model {
        let model = Model::load(path)?;
        evals.push(evaluate(
            path,
            &model,
            &test,
            setup.as_ref().map(|s| (s, &hw)),
            !a.json,
        )?);
    }
    if let Some(p) = &a.plot {
        let points: Vec<_> = evals.iter().map(ModelEval::plot_point).collect();
        crate::plot::accuracy_against_bits(&points, &a.split, p)?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&evals)?);
    } else {
        for e in &evals {
            print_eval(e);
        }
        if let Some(p) = &a.plot {
            println!("plot: {}", p.display());
        }
    }
    let bad: Vec<&str> = evals
        .iter()
        .filter(|e| e.engine.as_ref().is_some_and(|g| g.mismatches > 0))
        .map(|e| e.file.as_str())
        .collect();
    if !bad.is_empty() {
        bail!(
            "the design differs from the reference for {}",
            bad.join(", ")
        );
    }
    Ok(())
}

fn print_eval(e: &ModelEval) {
    println!(
        "{} ({}): {:.2} % of {} recordings, {} parameters ({} dense), {} weight bits, {:.1}x fewer than 32-bit floats",
        e.file,
        e.name,
        100.0 * e.accuracy,
        e.recordings,
        e.parameters,
        e.dense_parameters,
        e.weight_bits,
        e.compression_ratio
    );
    if let Some(g) = &e.engine {
        println!(
            "  {:?} engine: {:.2} %, {} frames at {} cycles, {} mismatches, {:.1} s",
            g.backend,
            100.0 * g.accuracy,
            g.frames,
            g.cycles_per_frame,
            g.mismatches,
            g.seconds
        );
    }
    println!("  confusion (rows: spoken digit, columns: answer)");
    for (d, row) in e.confusion.iter().enumerate() {
        let cells: Vec<String> = row.iter().map(|c| format!("{c:3}")).collect();
        println!("  {d}: {}", cells.join(" "));
    }
}
