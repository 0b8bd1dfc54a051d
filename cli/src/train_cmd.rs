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
//! post-training quantization. `--float-epochs` trains that float start
//! in the same run instead, per split, so that `--split speakers` compares
//! float and compressed on every held-out speaker; `--distill` makes the
//! float start the compressed network's teacher. `--soft-sharing J`
//! retrains under a Gaussian-mixture prior and snaps the weights to a
//! J-entry codebook (Ullrich et al.). `--recording-norm` and `--dropout`
//! are for voices the training set lacks.

use crate::eval::parse_split;
use crate::progress::progress_bar;
use crate::rank_budget::choose_ranks;
use crate::train_args::{checked_quant_spec, TrainArgs};
use crate::train_sets::{synthetic_examples, validation_speaker};
use anyhow::{bail, Context, Result};
use lstm_accel_audio::fsdd::{Fsdd, Split};
use lstm_accel_compress::QuantSpec;
use lstm_accel_model::float::FloatModel;
use lstm_accel_model::frontend::{FrontEnd, Trim};
use lstm_accel_model::import::{export_safetensors, import_safetensors, ImportNames};
use lstm_accel_model::Model;
use lstm_accel_train::data::{extract, extract_at_speed, SplitSet};
use lstm_accel_train::export::{export_model, reference_predictions};
use lstm_accel_train::network::{accuracy, confusion, Epoch, LstmClassifier, TrainConfig};
use lstm_accel_train::prior::MixturePrior;
use lstm_accel_train::rank::{RankSearch, SearchConfig};
use serde::Serialize;

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
    /// The speaker kept out of training for validation.
    #[serde(skip_serializing_if = "Option::is_none")]
    validation_speaker: Option<String>,
    /// The network's accuracy on that speaker.
    #[serde(skip_serializing_if = "Option::is_none")]
    validation_accuracy: Option<f64>,
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

/// Runs `lstm-accel train`.
pub fn run(a: &TrainArgs) -> Result<()> {
    let mut quant = checked_quant_spec(a)?;
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
        trim: a.trim.then(Trim::speech),
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
        readout: a.readout,
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
    let augment = a.augmentation();
    augment.validate()?;
    if augment.copies > 0 {
        let recordings = fsdd
            .utterances()
            .iter()
            .map(|u| Ok((lstm_accel_audio::wav::read(&u.path)?, usize::from(u.digit))))
            .collect::<Result<Vec<_>>>()?;
        let bar = progress_bar(
            !a.json,
            recordings.len() as u64,
            &format!("{} augmented copies", augment.copies),
        );
        perturbed.extend(augment.copies_of(&recordings, &fe, |i| bar.set_position(i as u64))?);
        bar.finish_and_clear();
    }
    let synthetic = synthetic_examples(a, &fe, &augment)?;
    let mut reports = Vec::new();
    let mut parameters = 0;
    for split in &splits {
        let name = match split {
            Split::Own => "own".to_string(),
            Split::LeaveOut(s) => format!("speaker:{s}"),
        };
        let validation = validation_speaker(a, &fsdd, split)?;
        let set = SplitSet::new(
            &fsdd,
            split,
            &features,
            &perturbed,
            &synthetic,
            validation.as_deref(),
        )?;
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
            let epochs = net.train(&set.train, &set.test, &float_cfg, |e, ep| {
                bar.set_position(e as u64);
                bar.set_message(epoch_message(&stage, ep));
            })?;
            bar.finish_and_clear();
            // The last epoch measured the test set with the final weights.
            float_accuracy = epochs.last().map(|e| e.test_accuracy);
            start = net.to_float()?;
        }
        let mut ranks = None;
        if let (Some(budget), Some(q)) = (a.rank_budget, &quant) {
            let bar = progress_bar(!a.json, 0, "rank search");
            let search_cfg = SearchConfig {
                seed: a.seed,
                readout: a.readout,
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
        // The float start teaches every stage that follows.
        let teach = |net: &mut LstmClassifier| match a.distill {
            Some(weight) => net.set_teacher(&start, a.distillation(weight)),
            None => Ok(()),
        };
        teach(&mut net)?;
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
                teach(&mut net)?;
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
        let validation_accuracy = match &validation {
            Some(_) => Some(accuracy(
                &net.predict(&set.validation, cfg.batch)?,
                &set.validation,
            )),
            None => None,
        };
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
            validation_speaker: validation.clone(),
            validation_accuracy,
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
            let model = export_model(&trained, q, &set.front_end(&fe), a.readout, &set.train)?;
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
            if let (Some(v), Some(acc)) = (&report.validation_speaker, report.validation_accuracy) {
                print!(", validation ({v}) {:.2} %", 100.0 * acc);
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
            if let Some(m) = mean(&|s| s.validation_accuracy) {
                println!("validation speakers' mean: {:.2} %", 100.0 * m);
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
