//! The options of `lstm-accel train` and what they mean as a quantization
//! spec: the scalar code of `--quant` (ternary as a 3-entry codebook,
//! power-of-two ternary or power-of-two with a per-row scale), the matrix
//! structures of `--structure`, a whole `--quant-spec` file, soft
//! weight-sharing's codebooks in place of the codes, and the combinations
//! that cannot train, refused before any data is read.

use crate::rank_budget::BudgetKind;
use crate::spec_cmd::HwArgs;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use lstm_accel_compress::{MatrixSpec, QuantSpec, ScalarSpec, Structure};
use lstm_accel_model::frontend::RecordingNorm;
use lstm_accel_model::readout::Readout;
use lstm_accel_train::augment::Augmentation;
use lstm_accel_train::network::{check_dropout, Distillation};
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
    /// A recording's answer: `last` (the head after its last frame) or
    /// `mean` (the head's mean over its frames, pooling over time). The
    /// model file carries it; the accelerator is the same either way.
    #[arg(long, default_value = "last")]
    pub readout: Readout,
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
    /// A training speaker kept out of training as the validation set, for
    /// choices that must not look at the test speaker: `NAME`, or `auto`
    /// (with `--split speakers`, per held-out speaker the next one in
    /// alphabetical order). Its accuracy is reported beside the test's.
    #[arg(long)]
    pub validation_speaker: Option<String>,
    /// Voice activity trimming in the front end (energy-based; the
    /// exported front end carries it, so the host trims the same way).
    #[arg(long)]
    pub trim: bool,
    /// Augmented copies of every training recording, each with its own
    /// seeded draw of the augmentations below.
    #[arg(long, default_value_t = 0)]
    pub augment_copies: usize,
    /// Each copy played at a speed drawn from 1 +- this.
    #[arg(long, default_value_t = 0.0)]
    pub augment_speed: f32,
    /// Vocal tract length perturbation: each copy's filterbank warped by a
    /// factor drawn from 1 +- this.
    #[arg(long, default_value_t = 0.0)]
    pub vtlp: f32,
    /// White noise at a signal-to-noise ratio drawn from LO:HI dB.
    #[arg(long, value_parser = parse_snr_range)]
    pub noise_snr: Option<(f32, f32)>,
    /// Gain drawn from +- this many dB.
    #[arg(long, default_value_t = 0.0)]
    pub gain_db: f32,
    /// Time shift: up to this many milliseconds of leading silence (the
    /// copy's noise).
    #[arg(long, default_value_t = 0.0)]
    pub shift_ms: f32,
    /// SpecAugment: this many time masks and feature masks per copy.
    #[arg(long, default_value_t = 0)]
    pub spec_masks: usize,
    /// Longest time mask, in frames.
    #[arg(long, default_value_t = 8)]
    pub time_mask: usize,
    /// Longest feature mask, in features.
    #[arg(long, default_value_t = 2)]
    pub feature_mask: usize,
    /// Synthetic training voices: the digits spoken by espeak-ng in this
    /// many of its English voices (accents x male and female variants, up
    /// to 84; never the demo's own voice), each at two speeds and two
    /// pitches; they join every split's training set (with their augmented
    /// copies). Needs espeak-ng.
    #[arg(long, default_value_t = 0)]
    pub synthetic_voices: usize,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

impl TrainArgs {
    /// The augmentation the flags ask for (seeded by `--seed`).
    pub fn augmentation(&self) -> Augmentation {
        Augmentation {
            copies: self.augment_copies,
            speed: self.augment_speed,
            vtlp: self.vtlp,
            noise_snr_db: self.noise_snr,
            gain_db: self.gain_db,
            shift_ms: self.shift_ms,
            masks: self.spec_masks,
            time_mask: self.time_mask,
            feature_mask: self.feature_mask,
            seed: self.seed,
        }
    }

    /// `--distill weight` with its temperature.
    pub fn distillation(&self, weight: f64) -> Distillation {
        Distillation {
            weight,
            temperature: self.distill_temperature,
        }
    }
}

/// The quantization spec the options describe (`None` for a float run),
/// once the options are known to make a run that can train.
pub fn checked_quant_spec(a: &TrainArgs) -> Result<Option<QuantSpec>> {
    if !(1..=40).contains(&a.mfcc) {
        bail!("--mfcc {}: between 1 and the 40 mel bands", a.mfcc);
    }
    let quant = quant_spec(a)?;
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
    if let Some(weight) = a.distill {
        if !pretrained {
            bail!("--distill learns from a float teacher: give --init or --float-epochs");
        }
        a.distillation(weight).check().context("--distill")?;
    }
    check_dropout(a.dropout).context("--dropout")?;
    if a.float_epochs > 0 && quant.is_none() {
        bail!("--float-epochs trains a float network before a compressed one: give --quant, --quant-spec or --soft-sharing (plain float training is --epochs)");
    }
    Ok(quant)
}

/// The quantization spec the options describe; `None` for a float run.
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
fn parse_snr_range(s: &str) -> Result<(f32, f32), String> {
    let (lo, hi) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?}: LO:HI in dB, e.g. 5:30"))?;
    let num = |v: &str| {
        v.trim()
            .parse::<f32>()
            .map_err(|e| format!("{s:?}: {v:?} is not a number of dB ({e})"))
    };
    let (lo, hi) = (num(lo)?, num(hi)?);
    if lo > hi {
        return Err(format!("{s:?}: the low SNR is above the high one"));
    }
    Ok((lo, hi))
}

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
