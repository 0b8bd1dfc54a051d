//! Reports on models: `info` (structure, encodings, weight bits, derived
//! accumulator widths), `reference` (bit-exact inference on frames) and
//! `activations` (exhaustive error of every sigmoid/tanh approximation).

use anyhow::{Context, Result};
use clap::Args;
use lstm_accel_model::activation::{max_abs_error, ActivationUnit, Approx, ErrorReport, Function};
use lstm_accel_model::fixed::Rounding;
use lstm_accel_model::model::{Datapath, Model};
use lstm_accel_model::random;
use lstm_accel_model::reference::Reference;
use lstm_accel_model::trace::StepTrace;
use serde::Serialize;
use std::path::PathBuf;

/// One matrix in a summary.
#[derive(Serialize)]
pub struct MatrixSummary {
    /// Tensor path, e.g. `layers[0].w_x`.
    pub name: String,
    /// Encoding and shape.
    pub encoding: String,
    /// Stored parameters.
    pub params: usize,
    /// Bits in hardware (codes + tables).
    pub bits: u64,
    /// Whether every product is shift-add.
    pub shift_add: bool,
}

/// What `info` reports.
#[derive(Serialize)]
pub struct ModelSummary {
    /// Model name.
    pub name: String,
    /// Input features.
    pub inputs: usize,
    /// Input format.
    pub input_format: String,
    /// Output classes.
    pub classes: usize,
    /// Rounding mode at every rounding point.
    pub rounding: Rounding,
    /// Sigmoid approximation.
    pub sigmoid: Approx,
    /// Tanh approximation.
    pub tanh: Approx,
    /// Every weight matrix.
    pub matrices: Vec<MatrixSummary>,
    /// Stored parameters, biases included.
    pub params: usize,
    /// Bits of all weights, biases and tables.
    pub weight_bits: u64,
    /// Bits the same matrices would take as dense float32.
    pub float32_bits: u64,
    /// `float32_bits / weight_bits`.
    pub compression: f64,
    /// Multiply-accumulates per frame if every matrix were dense.
    pub dense_macs_per_frame: usize,
    /// Derived accumulator widths.
    pub datapath: Datapath,
}

/// Summarizes a model.
pub fn summarize(m: &Model) -> ModelSummary {
    let mats: Vec<MatrixSummary> = m
        .matrices()
        .into_iter()
        .map(|(name, w)| MatrixSummary {
            name,
            encoding: w.describe(),
            params: w.params(),
            bits: w.bits().total(),
            shift_add: w.is_shift_add(),
        })
        .collect();
    let float32_bits = 32
        * m.matrices()
            .iter()
            .map(|(_, w)| (w.rows() * w.cols()) as u64)
            .sum::<u64>();
    let weight_bits = m.weight_bits().total();
    ModelSummary {
        name: m.name.clone(),
        inputs: m.input.size,
        input_format: m.input.format.to_string(),
        classes: m.head.classes(),
        rounding: m.rounding,
        sigmoid: m.sigmoid,
        tanh: m.tanh,
        matrices: mats,
        params: m.params(),
        weight_bits,
        float32_bits,
        compression: float32_bits as f64 / weight_bits.max(1) as f64,
        dense_macs_per_frame: m.dense_macs(),
        datapath: m.datapath(),
    }
}

/// Prints a summary for people.
pub fn print_summary(s: &ModelSummary) {
    println!(
        "model \"{}\": {} inputs ({}), {} classes, rounding {}",
        s.name, s.inputs, s.input_format, s.classes, s.rounding
    );
    for m in &s.matrices {
        println!(
            "  {:<22} {:<44} {:>9} params {:>10} bits{}",
            m.name,
            m.encoding,
            m.params,
            m.bits,
            if m.shift_add {
                "  shift-add"
            } else {
                "  multiplier"
            }
        );
    }
    for (i, l) in s.datapath.layers.iter().enumerate() {
        println!(
            "  layers[{i}] accumulators: gate {} bits (frac {}), cell {} bits, hidden {} bits{}",
            l.gate.bits,
            l.gate.frac,
            l.cell.bits,
            l.hidden.bits,
            l.projection
                .map(|p| format!(", projection {} bits", p.bits))
                .unwrap_or_default()
        );
    }
    println!(
        "  {} parameters, {} weight bits ({:.1} KiB), {:.1}x smaller than float32; {} dense MACs/frame",
        s.params,
        s.weight_bits,
        s.weight_bits as f64 / 8192.0,
        s.compression,
        s.dense_macs_per_frame
    );
}

/// Arguments of `lstm-accel info`.
#[derive(Args)]
pub struct InfoArgs {
    /// Model file (JSON, see docs/model-format.md).
    #[arg(long)]
    pub model: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// `lstm-accel info`.
pub fn info(a: &InfoArgs) -> Result<()> {
    let m = Model::load(&a.model)?;
    let s = summarize(&m);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        print_summary(&s);
    }
    Ok(())
}

/// Arguments of `lstm-accel reference`.
#[derive(Args)]
pub struct ReferenceArgs {
    /// Model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Number of random sequences.
    #[arg(long, default_value_t = 10)]
    pub random: usize,
    /// Frames per sequence.
    #[arg(long, default_value_t = 50)]
    pub frames: usize,
    /// Seed of the random inputs.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write every timestep's trace (gates, c, h, logits) as JSON here.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct ReferenceReport {
    sequences: usize,
    frames: usize,
    classes: Vec<usize>,
    seconds: f64,
    frames_per_second: f64,
}

/// `lstm-accel reference`.
pub fn reference(a: &ReferenceArgs) -> Result<()> {
    let m = Model::load(&a.model)?;
    let mut r = Reference::new(&m)?;
    let mut rng = random::rng(a.seed);
    let mut traces: Vec<Vec<StepTrace<i64>>> = Vec::new();
    let mut classes = Vec::new();
    let start = std::time::Instant::now();
    for _ in 0..a.random {
        r.reset();
        let frames = random::frames(&mut rng, &m, a.frames, 0.02);
        let mut seq = Vec::new();
        for f in &frames {
            if a.trace.is_some() {
                let mut t = StepTrace::default();
                r.step_traced(f, &mut t)?;
                seq.push(t);
            } else {
                r.step(f)?;
            }
        }
        classes.push(r.class());
        traces.push(seq);
    }
    let seconds = start.elapsed().as_secs_f64();
    if let Some(p) = &a.trace {
        let text = serde_json::to_string(&traces)?;
        lstm_accel_model::io::write_atomic(p, text.as_bytes())
            .with_context(|| format!("writing trace {}", p.display()))?;
    }
    let n = a.random * a.frames;
    let rep = ReferenceReport {
        sequences: a.random,
        frames: n,
        classes,
        seconds,
        frames_per_second: n as f64 / seconds.max(1e-9),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        println!(
            "{} sequences x {} frames: classes {:?}; {:.0} frames/s",
            a.random, a.frames, rep.classes, rep.frames_per_second
        );
    }
    Ok(())
}

/// Arguments of `lstm-accel activations`.
#[derive(Args)]
pub struct ActivationArgs {
    /// Width of the data registers: inputs of the activations use the
    /// standard formats for this width (see `random::standard_formats`).
    #[arg(long, default_values_t = vec![8u32, 12, 16])]
    pub width: Vec<u32>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct ActivationRow {
    function: Function,
    approx: Approx,
    input: String,
    output: String,
    report: ErrorReport,
}

/// Every approximation worth comparing at a data width.
fn approximations() -> Vec<Approx> {
    let mut v = vec![Approx::Pwl, Approx::Hard];
    for bits in [6, 8, 10, 12] {
        v.push(Approx::Lut {
            index_bits: bits,
            range_log2: 3,
        });
    }
    v
}

/// `lstm-accel activations`.
pub fn activations(a: &ActivationArgs) -> Result<()> {
    let mut rows = Vec::new();
    for &w in &a.width {
        let (_, f) = random::standard_formats(w);
        for (func, input) in [
            (Function::Sigmoid, f.preact),
            (Function::Tanh, f.preact),
            (Function::Tanh, f.cell),
        ] {
            for approx in approximations() {
                let unit = ActivationUnit::new(func, approx, input, f.gate, Rounding::HalfUp)
                    .map_err(anyhow::Error::msg)?;
                rows.push(ActivationRow {
                    function: func,
                    approx,
                    input: input.to_string(),
                    output: f.gate.to_string(),
                    report: max_abs_error(&unit),
                });
            }
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<8} {:<22} {:>7} {:>7} {:>10} {:>10} {:>10}",
        "function", "approximation", "input", "output", "max |err|", "at x", "floor"
    );
    for r in rows {
        println!(
            "{:<8} {:<22} {:>7} {:>7} {:>10.6} {:>10.4} {:>10.6}",
            format!("{:?}", r.function).to_lowercase(),
            approx_name(r.approx),
            r.input,
            r.output,
            r.report.max_abs_error,
            r.report.at_input,
            r.report.quantization_floor
        );
    }
    Ok(())
}

/// Short name of an approximation.
pub fn approx_name(a: Approx) -> String {
    match a {
        Approx::Pwl => "pwl (pow2 slopes)".into(),
        Approx::Hard => "hard".into(),
        Approx::Lut {
            index_bits,
            range_log2,
        } => format!("lut {} entries ±{}", 1u32 << index_bits, 1u32 << range_log2),
    }
}

/// The JSON reports at `paths` (the shards of a run, for `--merge`); an
/// unreadable one is an error that names it as not a `what`.
pub fn read_reports<T: serde::de::DeserializeOwned>(
    paths: &[std::path::PathBuf],
    what: &str,
) -> anyhow::Result<Vec<T>> {
    use anyhow::Context;
    paths
        .iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{}: not a {what}", p.display()))
        })
        .collect()
}
