//! `lstm-accel train`: trains the LSTM classifier on FSDD and reports its
//! accuracy on the chosen split: the dataset's own (indices 0-4 are the
//! test set), one speaker held out, or every speaker held out in turn (the
//! speaker-independent accuracy, per speaker). Features come from the
//! model front end (`FrontEnd::speech_8k`, MFCC), normalised with the
//! training set's statistics.
//!
//! Float by default; with `--quant` (a method, or `--quant-spec` a
//! `QuantSpec` file) every matrix is trained quantized (Ott et al.'s
//! quantization-aware training), deterministic or `--stochastic`, and the
//! exported model file (`--out`) holds exactly the trained weights. The
//! report then also gives the accuracy of the bit-exact reference model of
//! that file (what the accelerator computes). `--init` starts from a float
//! model (`--save-float` writes one); with `--epochs 0` that is
//! post-training quantization. `--soft-sharing J` retrains under a
//! Gaussian-mixture prior and snaps the weights to a J-entry codebook
//! (Ullrich et al.).

use crate::eval::parse_split;
use crate::rank_budget::{choose_ranks, BudgetKind};
use crate::spec_cmd::HwArgs;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use lstm_accel_audio::fsdd::{Fsdd, Split};
use lstm_accel_compress::{MatrixSpec, QuantSpec, ScalarSpec, Structure};
use lstm_accel_model::float::FloatModel;
use lstm_accel_model::frontend::{FrontEnd, RecordingNorm};
use lstm_accel_model::import::{export_safetensors, import_safetensors, ImportNames};
use lstm_accel_model::Model;
use lstm_accel_train::data::{extract, extract_at_speed, SplitSet};
use lstm_accel_train::export::{export_model, reference_predictions};
use lstm_accel_train::network::{
    accuracy, confusion, Distillation, Epoch, LstmClassifier, TrainConfig,
};
use lstm_accel_train::prior::MixturePrior;
use lstm_accel_train::rank::{RankSearch, SearchConfig};
use serde::Serialize;
use std::path::PathBuf;

/// Weight quantization methods (every matrix, head included).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum QuantMethod {
    /// No quantization: a float network (export needs a method).
    Float,
    /// `{-a, 0, +b}`: a 3-entry codebook with 8-bit entries (scale not
    /// restricted to a power of two; one stored value per code).
    Ternary,
    /// `{-1, 0, +1} * 2^e`, a power-of-two scale per row: shift-add.
    Pow2Ternary,
    /// `0, ±2^e` over `--octaves` exponents, a power-of-two scale per row.
    Pow2,
}

impl QuantMethod {
    /// The matrix spec of the method.
    pub fn matrix_spec(self, octaves: u32) -> Option<MatrixSpec> {
        let dense = |per_row, scalar| MatrixSpec {
            structure: Structure::Dense { per_row },
            scalar,
        };
        match self {
            QuantMethod::Float => None,
            QuantMethod::Ternary => Some(dense(
                false,
                ScalarSpec::Codebook {
                    entries: 3,
                    width: 8,
                    pow2: false,
                },
            )),
            QuantMethod::Pow2Ternary => Some(dense(true, ScalarSpec::Ternary)),
            QuantMethod::Pow2 => Some(dense(true, ScalarSpec::Pow2 { octaves })),
        }
    }
}

/// Arguments of `lstm-accel train`.
#[derive(Args)]
pub struct TrainArgs {
    /// The FSDD folder (default: $LSTM_ACCEL_FSDD, else ../shared/data/fsdd).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// `own` (indices 0-4 test), `speaker:NAME` (NAME held out) or
    /// `speakers` (each speaker held out in turn).
    #[arg(long, default_value = "own")]
    pub split: String,
    /// Cells per layer.
    #[arg(long, default_value_t = 64)]
    pub hidden: usize,
    /// Project each layer's output to this size (`y = P h`, feeding the
    /// layer's recurrence and the next layer: a shared low-rank factor).
    #[arg(long)]
    pub projection: Option<usize>,
    /// LSTM layers.
    #[arg(long, default_value_t = 2)]
    pub layers: usize,
    /// Passes over the training set (0 with --init: post-training
    /// quantization).
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// Sequences per batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Initial learning rate (AdamW, cosine decay).
    #[arg(long, default_value_t = 0.005)]
    pub lr: f64,
    /// First train a float network this many epochs (at --float-lr), then
    /// start the run (quantized, structured, shared or rank-searched) from
    /// it, per split: float and compressed accuracy of every held-out
    /// speaker from one command. Replaces --init.
    #[arg(long, default_value_t = 0, conflicts_with = "init")]
    pub float_epochs: usize,
    /// Learning rate of the --float-epochs stage.
    #[arg(long, default_value_t = 0.005)]
    pub float_lr: f64,
    /// Dropout probability in training (one mask per recording on every
    /// layer's input and the head's, the same at every frame).
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f32,
    /// Distil the float start (--init or --float-epochs) into the network
    /// trained: this share of the loss is the teacher's softened answers.
    #[arg(long)]
    pub distill: Option<f64>,
    /// Temperature of --distill.
    #[arg(long, default_value_t = 2.0, requires = "distill")]
    pub distill_temperature: f64,
    /// MFCC coefficients per frame.
    #[arg(long, default_value_t = 13)]
    pub mfcc: usize,
    /// Seed of the initialisation, the batch order and stochastic codes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Normalisation of each recording by its own statistics before the
    /// training set's: `none`, `mean` (cepstral mean normalisation) or
    /// `mean-variance`; the exported front end carries it.
    #[arg(long, default_value = "none", value_parser = parse_recording_norm)]
    pub recording_norm: RecordingNorm,
    /// Weight quantization trained in the loop.
    #[arg(long, value_enum, default_value_t = QuantMethod::Float, conflicts_with = "quant_spec")]
    pub quant: QuantMethod,
    /// Structure of every matrix, trained as such (its least-squares
    /// projection in every forward pass): `dense`, `block-toeplitz:K`,
    /// `block-circulant:K`, `toeplitz-like:K:R` or `low-rank:R`. Needs a
    /// scalar code (`--quant`).
    #[arg(long, default_value = "dense")]
    pub structure: String,
    /// Soft weight-sharing with this many mixture components (2..=16, the
    /// zero one included): retraining (from --init) under a learned
    /// Gaussian-mixture prior, then every weight snapped to its component's
    /// mean, a codebook of that many entries. The matrices keep the
    /// structures of --structure, or of --quant-spec (its codes replaced).
    #[arg(long, conflicts_with_all = ["quant", "stochastic"])]
    pub soft_sharing: Option<usize>,
    /// Weight of the mixture prior in the loss (per weight, against the
    /// mean cross-entropy).
    #[arg(long, default_value_t = 0.05)]
    pub tau: f64,
    /// Fixed mixing weight of the prior's zero component.
    #[arg(long, default_value_t = 0.5)]
    pub zero_mix: f64,
    /// After snapping, fine-tune this many epochs with the codebook in the
    /// loop (fitted to every matrix in each forward pass).
    #[arg(long, default_value_t = 0, requires = "soft_sharing")]
    pub sharing_finetune: usize,
    /// Round the codebook's means to signed powers of two (shift-add).
    #[arg(long)]
    pub pow2_means: bool,
    /// Factorise every LSTM matrix as `U V` (from --init), the ranks chosen
    /// together by a continuous search so that the model stays within
    /// this budget (`--budget-kind`); the factors' codes come from --quant.
    #[arg(long, conflicts_with_all = ["soft_sharing", "quant_spec"])]
    pub rank_budget: Option<f64>,
    /// What --rank-budget counts.
    #[arg(long, value_enum, default_value_t = BudgetKind::Params)]
    pub budget_kind: BudgetKind,
    /// Hardware configuration a cycles budget is predicted for.
    #[command(flatten)]
    pub hw: HwArgs,
    /// Exponents of `--quant pow2`.
    #[arg(long, default_value_t = 4)]
    pub octaves: u32,
    /// Stochastic rounding of ternary and power-of-two codes in training
    /// (the exported codes are a seeded stochastic draw too).
    #[arg(long)]
    pub stochastic: bool,
    /// A whole `QuantSpec` (JSON: matrix spec, per-matrix overrides,
    /// register widths) instead of `--quant`.
    #[arg(long)]
    pub quant_spec: Option<PathBuf>,
    /// Width of the accelerator's data registers (4..=16) of the export.
    #[arg(long, default_value_t = 12)]
    pub width: u32,
    /// Start from this float model (safetensors, PyTorch layout), or from
    /// the decoded weights of a model file (.json), instead of a random one.
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Write the trained shadow weights as a float model (safetensors).
    #[arg(long)]
    pub save_float: Option<PathBuf>,
    /// Write the quantized model file (needs --quant or --quant-spec).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Speed perturbation: every training recording also played at these
    /// speeds (e.g. `0.9,1.1`), for voices the training set lacks.
    #[arg(long, value_delimiter = ',')]
    pub speed_perturb: Vec<f64>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// One trained split.
#[derive(Serialize)]
struct SplitReport {
    split: String,
    train_examples: usize,
    test_examples: usize,
    /// The float stage's accuracy, with --float-epochs.
    #[serde(skip_serializing_if = "Option::is_none")]
    float_accuracy: Option<f64>,
    /// The network's accuracy (quantized weights where constrained, float
    /// activations).
    test_accuracy: f64,
    /// The exported model's bit-exact reference accuracy.
    #[serde(skip_serializing_if = "Option::is_none")]
    reference_accuracy: Option<f64>,
    confusion: Vec<Vec<usize>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference_confusion: Option<Vec<Vec<usize>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    weight_bits: Option<u64>,
    /// Parameters the exported model stores (structured matrices store
    /// fewer than their dense shadows).
    #[serde(skip_serializing_if = "Option::is_none")]
    stored_parameters: Option<usize>,
    /// The rank search, with --rank-budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    ranks: Option<RankSearch>,
    epochs: Vec<Epoch>,
    seconds: f64,
}

#[derive(Serialize)]
struct Report {
    data: String,
    config: TrainConfig,
    quant: Option<QuantSpec>,
    parameters: usize,
    splits: Vec<SplitReport>,
}

fn quant_spec(a: &TrainArgs) -> Result<Option<QuantSpec>> {
    let mut spec = match &a.quant_spec {
        Some(p) => {
            if a.structure != "dense" {
                bail!("--structure and --quant-spec both describe the matrices: give one");
            }
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            let mut spec = serde_json::from_str::<QuantSpec>(&text)
                .with_context(|| format!("{}: not a quantization spec", p.display()))?;
            if let Some(entries) = a.soft_sharing {
                // The spec's structures, every code the shared codebook.
                let book = ScalarSpec::Codebook {
                    entries,
                    width: 8,
                    pow2: a.pow2_means,
                };
                for m in std::iter::once(&mut spec.matrix).chain(spec.overrides.values_mut()) {
                    m.scalar = book.clone();
                }
                spec.name = format!("{}-soft-sharing-{entries}", spec.name);
            }
            spec
        }
        None if a.soft_sharing.is_some() => {
            let entries = a.soft_sharing.unwrap_or_default();
            let structure =
                parse_structure(&a.structure)?.unwrap_or(Structure::Dense { per_row: false });
            QuantSpec {
                name: format!("fsdd-soft-sharing-{entries}"),
                matrix: MatrixSpec {
                    structure,
                    scalar: ScalarSpec::Codebook {
                        entries,
                        width: 8,
                        pow2: a.pow2_means,
                    },
                },
                data_width: a.width,
                ..QuantSpec::default()
            }
        }
        None => {
            let Some(mut matrix) = a.quant.matrix_spec(a.octaves) else {
                if a.stochastic {
                    bail!("--stochastic needs a quantization (--quant or --quant-spec)");
                }
                if a.structure != "dense" {
                    bail!(
                        "--structure {} needs a scalar code for its parameters (--quant)",
                        a.structure
                    );
                }
                return Ok(None);
            };
            let mut name = format!("fsdd-{:?}", a.quant).to_lowercase();
            if let Some(s) = parse_structure(&a.structure)? {
                matrix.structure = s;
                name = format!("{name}-{}", a.structure.replace(':', ""));
            }
            QuantSpec {
                name,
                matrix,
                data_width: a.width,
                ..QuantSpec::default()
            }
        }
    };
    if a.stochastic {
        let codebook = std::iter::once(&spec.matrix)
            .chain(spec.overrides.values())
            .any(|m| matches!(m.scalar, ScalarSpec::Codebook { .. }));
        if codebook {
            bail!("--stochastic rounds ternary and power-of-two codes; codebooks (--quant ternary) are fitted deterministically");
        }
        spec.stochastic_seed = Some(a.seed);
    }
    Ok(Some(spec))
}

/// `--recording-norm`: the front end's names (`none`, `mean`,
/// `mean-variance`).
fn parse_recording_norm(s: &str) -> Result<RecordingNorm, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| format!("{s}: expected none, mean or mean-variance"))
}

/// `--structure`: `None` for `dense` (the method's own dense form).
fn parse_structure(s: &str) -> Result<Option<Structure>> {
    let parts: Vec<&str> = s.split(':').collect();
    let num = |i: usize| -> Result<usize> {
        parts
            .get(i)
            .and_then(|p| p.parse().ok())
            .filter(|&n: &usize| n > 0)
            .with_context(|| format!("--structure {s}: part {} is not a positive number", i + 1))
    };
    let arity = |n: usize| {
        if parts.len() == n {
            Ok(())
        } else {
            bail!("--structure {s}: {} takes {} number(s)", parts[0], n - 1)
        }
    };
    Ok(Some(match parts[0] {
        "dense" => {
            arity(1)?;
            return Ok(None);
        }
        "block-toeplitz" => {
            arity(2)?;
            Structure::BlockToeplitz { block: num(1)? }
        }
        "block-circulant" => {
            arity(2)?;
            Structure::BlockCirculant { block: num(1)? }
        }
        "toeplitz-like" => {
            arity(3)?;
            Structure::ToeplitzLike {
                block: num(1)?,
                rank: num(2)?,
            }
        }
        "low-rank" => {
            arity(2)?;
            Structure::LowRank { rank: num(1)? }
        }
        other => bail!(
            "--structure {other}: expected dense, block-toeplitz:K, block-circulant:K, toeplitz-like:K:R or low-rank:R"
        ),
    }))
}

/// Runs `lstm-accel train`.
pub fn run(a: &TrainArgs) -> Result<()> {
    if !(1..=40).contains(&a.mfcc) {
        bail!("--mfcc {}: between 1 and the 40 mel bands", a.mfcc);
    }
    let mut quant = quant_spec(a)?;
    let pretrained = a.init.is_some() || a.float_epochs > 0;
    if a.rank_budget.is_some() && (!pretrained || quant.is_none() || a.structure != "dense") {
        bail!("--rank-budget factorises a trained float model: give --init or --float-epochs, and a scalar code (--quant), no --structure");
    }
    if a.out.is_some() && quant.is_none() {
        bail!("--out writes a quantized model: give --quant or --quant-spec (--save-float writes the float one)");
    }
    if !pretrained && a.epochs == 0 {
        bail!("--epochs 0 trains nothing; it quantizes a model given with --init or trained with --float-epochs");
    }
    if a.distill.is_some() && !pretrained {
        bail!("--distill learns from a float teacher: give --init or --float-epochs");
    }
    if a.float_epochs > 0 && quant.is_none() {
        bail!("--float-epochs trains a float network before a compressed one: give --quant, --quant-spec or --soft-sharing (plain float training is --epochs)");
    }
    let dir = Fsdd::locate(a.data.as_deref());
    let fsdd = Fsdd::open(&dir)?;
    let splits = match a.split.as_str() {
        "speakers" => fsdd.speakers().into_iter().map(Split::LeaveOut).collect(),
        s => vec![parse_split(s).context("--split: or `speakers`, each speaker held out in turn")?],
    };
    for s in &splits {
        fsdd.check(s)?;
    }
    if splits.len() > 1 && (a.out.is_some() || a.save_float.is_some() || a.init.is_some()) {
        bail!("--out, --save-float and --init take one split (own or speaker:NAME), not every speaker");
    }
    let init = match &a.init {
        Some(p) => {
            // A model file starts from its decoded weights.
            let m = if p.extension().is_some_and(|e| e == "json") {
                FloatModel::from_model(&Model::load(p)?)
            } else {
                import_safetensors(p, &ImportNames::default())?
            };
            if m.input_size != a.mfcc {
                bail!(
                    "{}: the model takes {} features per frame, --mfcc is {}",
                    p.display(),
                    m.input_size,
                    a.mfcc
                );
            }
            Some(m)
        }
        None => None,
    };
    let fe = FrontEnd {
        recording_norm: a.recording_norm,
        ..FrontEnd::speech_8k(Some(a.mfcc))
    };
    let cfg = TrainConfig {
        hidden: a.hidden,
        projection: a.projection,
        layers: a.layers,
        classes: 10,
        epochs: a.epochs,
        batch: a.batch,
        learning_rate: a.lr,
        seed: a.seed,
        dropout: a.dropout,
    };
    // Every recording's features once; each split picks its own.
    let all: Vec<_> = fsdd.utterances().iter().collect();
    let bar = progress_bar(!a.json, all.len() as u64, "features");
    let features = extract(&all, &fe, |i| bar.set_position(i as u64))
        .with_context(|| format!("reading {}", fsdd.dir().display()))?;
    bar.finish_and_clear();
    let mut perturbed = Vec::with_capacity(a.speed_perturb.len());
    for &speed in &a.speed_perturb {
        let bar = progress_bar(
            !a.json,
            all.len() as u64,
            &format!("features at speed {speed}"),
        );
        perturbed.push(
            extract_at_speed(&all, &fe, speed, |i| bar.set_position(i as u64))
                .with_context(|| format!("reading {}", fsdd.dir().display()))?,
        );
        bar.finish_and_clear();
    }
    let mut reports = Vec::new();
    let mut parameters = 0;
    for split in &splits {
        let name = match split {
            Split::Own => "own".to_string(),
            Split::LeaveOut(s) => format!("speaker:{s}"),
        };
        let set = SplitSet::new(&fsdd, split, &features, &perturbed)?;
        let started = std::time::Instant::now();
        let mut start = match &init {
            Some(m) => m.clone(),
            None => LstmClassifier::new(a.mfcc, &cfg)?.to_float()?,
        };
        let mut float_accuracy = None;
        if a.float_epochs > 0 {
            let float_cfg = TrainConfig {
                epochs: a.float_epochs,
                learning_rate: a.float_lr,
                ..cfg.clone()
            };
            let mut net = LstmClassifier::from_float(&start, None)?;
            let stage = format!("{name}, float");
            let bar = progress_bar(!a.json, float_cfg.epochs as u64, &stage);
            net.train(&set.train, &set.test, &float_cfg, |e, ep| {
                bar.set_position(e as u64);
                bar.set_message(epoch_message(&stage, ep));
            })?;
            bar.finish_and_clear();
            float_accuracy = Some(accuracy(&net.predict(&set.test, cfg.batch)?, &set.test));
            start = net.to_float()?;
        }
        let mut ranks = None;
        if let (Some(budget), Some(q)) = (a.rank_budget, &quant) {
            let bar = progress_bar(!a.json, 0, "rank search");
            let search_cfg = SearchConfig {
                seed: a.seed,
                ..SearchConfig::default()
            };
            let (spec, search) = choose_ranks(
                &start,
                q,
                (a.budget_kind, budget),
                &a.hw.config()?,
                &set.train,
                &search_cfg,
                |stage, e, n| {
                    bar.set_length(n as u64);
                    bar.set_position(e as u64);
                    bar.set_message(format!("rank search, {stage} stage"));
                },
            )?;
            bar.finish_and_clear();
            quant = Some(spec);
            ranks = Some(search);
        }
        let mut net = match (&quant, a.soft_sharing) {
            (Some(q), Some(components)) => {
                let mut net = LstmClassifier::structured_float(&start, q)?;
                let prior = MixturePrior::new(
                    components,
                    net.max_abs_weight()?,
                    a.zero_mix,
                    a.tau,
                    a.pow2_means,
                )?;
                net.set_prior(prior);
                net
            }
            _ => LstmClassifier::from_float(&start, quant.as_ref())?,
        };
        if let Some(weight) = a.distill {
            net.set_teacher(
                &start,
                Distillation {
                    weight,
                    temperature: a.distill_temperature,
                },
            )?;
        }
        parameters = net.parameters();
        let bar = progress_bar(!a.json, cfg.epochs as u64, &name);
        let epochs = net.train(&set.train, &set.test, &cfg, |e, ep| {
            bar.set_position(e as u64);
            bar.set_message(epoch_message(&name, ep));
        })?;
        bar.finish_and_clear();
        let mut epochs = epochs;
        if net.prior().is_some() {
            net.snap_to_prior()?;
            if let (Some(q), true) = (&quant, a.sharing_finetune > 0) {
                // Hard sharing: the codebook fitted to every matrix in each
                // forward pass (starting from the snapped values), the
                // gradient straight through.
                let tune = TrainConfig {
                    epochs: a.sharing_finetune,
                    learning_rate: a.lr / 2.0,
                    ..cfg.clone()
                };
                net = LstmClassifier::from_float(&net.to_float()?, Some(q))?;
                let bar = progress_bar(!a.json, tune.epochs as u64, &name);
                epochs.extend(net.train(&set.train, &set.test, &tune, |e, ep| {
                    bar.set_position(e as u64);
                    bar.set_message(format!(
                        "{name}, codebook fine-tuning: test {:.1} %",
                        100.0 * ep.test_accuracy
                    ));
                })?);
                bar.finish_and_clear();
            }
        }
        let predicted = net.predict(&set.test, cfg.batch)?;
        let trained = net.to_float()?;
        if let Some(p) = &a.save_float {
            export_safetensors(&trained, p, &ImportNames::default())?;
        }
        let mut report = SplitReport {
            split: name,
            train_examples: set.train.len(),
            test_examples: set.test.len(),
            float_accuracy,
            test_accuracy: accuracy(&predicted, &set.test),
            reference_accuracy: None,
            confusion: confusion(&predicted, &set.test, cfg.classes),
            reference_confusion: None,
            weight_bits: None,
            stored_parameters: None,
            ranks,
            epochs,
            seconds: 0.0,
        };
        if let Some(q) = &quant {
            let model = export_model(&trained, q, &set.front_end(&fe), &set.train)?;
            let predicted = reference_predictions(&model, &set.test)?;
            report.reference_accuracy = Some(accuracy(&predicted, &set.test));
            report.reference_confusion = Some(confusion(&predicted, &set.test, cfg.classes));
            report.weight_bits = Some(model.weight_bits().total());
            report.stored_parameters = Some(model.params());
            if let Some(p) = &a.out {
                model
                    .save(p)
                    .with_context(|| format!("writing {}", p.display()))?;
            }
        }
        report.seconds = started.elapsed().as_secs_f64();
        if !a.json {
            print!(
                "{}: {:.2} % of {} test recordings ({} training)",
                report.split,
                100.0 * report.test_accuracy,
                report.test_examples,
                report.train_examples,
            );
            if let Some(f) = report.float_accuracy {
                print!(", float stage {:.2} %", 100.0 * f);
            }
            if let (Some(r), Some(p), Some(b)) = (
                report.reference_accuracy,
                report.stored_parameters,
                report.weight_bits,
            ) {
                print!(
                    ", bit-exact model {:.2} % ({p} parameters, {b} weight bits)",
                    100.0 * r
                );
            }
            println!(", {:.0} s", report.seconds);
            if let Some(r) = &report.ranks {
                let list: Vec<String> = r
                    .choices
                    .iter()
                    .map(|c| {
                        format!(
                            "{} {}/{} ({:.1})",
                            c.path, c.rank, c.full_rank, c.continuous
                        )
                    })
                    .collect();
                println!(
                    "ranks: {}; cost {} of budget {} (every rank 1: {})",
                    list.join(", "),
                    r.cost,
                    r.budget,
                    r.smallest_cost
                );
            }
        }
        reports.push(report);
    }
    let report = Report {
        data: fsdd.dir().display().to_string(),
        config: cfg,
        quant,
        parameters,
        splits: reports,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "LSTM {} x {} on {} MFCC ({}), {} parameters",
            report.config.layers,
            report.config.hidden,
            a.mfcc,
            report
                .quant
                .as_ref()
                .map_or("float".to_string(), |q| serde_json::to_string(&q.matrix)
                    .unwrap_or_default()),
            report.parameters
        );
        if report.splits.len() > 1 {
            let mean = |f: &dyn Fn(&SplitReport) -> Option<f64>| {
                let v: Vec<f64> = report.splits.iter().filter_map(f).collect();
                (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
            };
            if let Some(m) = mean(&|s| s.float_accuracy) {
                println!("speaker-independent mean, float stage: {:.2} %", 100.0 * m);
            }
            if let Some(m) = mean(&|s| Some(s.test_accuracy)) {
                println!("speaker-independent mean: {:.2} %", 100.0 * m);
            }
            if let Some(m) = mean(&|s| s.reference_accuracy) {
                println!("speaker-independent mean, bit-exact: {:.2} %", 100.0 * m);
            }
        }
    }
    Ok(())
}

/// An epoch's progress line.
fn epoch_message(stage: &str, ep: &Epoch) -> String {
    format!(
        "{stage}: loss {:.3}, train {:.1} %, test {:.1} %",
        ep.loss,
        100.0 * ep.train_accuracy,
        100.0 * ep.test_accuracy
    )
}

/// A bar of `len` steps named `what`, hidden unless `show`.
pub(crate) fn progress_bar(show: bool, len: u64, what: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {msg}") {
        b.set_style(style);
    }
    b.set_message(what.to_string());
    b
}
