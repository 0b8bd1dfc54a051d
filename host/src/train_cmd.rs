//! `lstm-accel train`: trains the float LSTM classifier on FSDD and reports
//! its accuracy on the chosen split: the dataset's own (indices 0-4 are the
//! test set), one speaker held out, or every speaker held out in turn (the
//! speaker-independent accuracy, per speaker). Features come from the
//! model front end (`FrontEnd::speech_8k`, MFCC), normalised with the
//! training set's statistics.

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use lstm_accel_audio::fsdd::{Fsdd, Split};
use lstm_accel_model::frontend::FrontEnd;
use lstm_accel_train::data::{extract, normalise, statistics};
use lstm_accel_train::float::{accuracy, confusion, Epoch, FloatLstm, TrainConfig};
use serde::Serialize;
use std::path::PathBuf;

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
    /// LSTM layers.
    #[arg(long, default_value_t = 2)]
    pub layers: usize,
    /// Passes over the training set.
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// Sequences per batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Learning rate (AdamW).
    #[arg(long, default_value_t = 0.005)]
    pub lr: f64,
    /// MFCC coefficients per frame.
    #[arg(long, default_value_t = 13)]
    pub mfcc: usize,
    /// Seed of the initialisation and the batch order.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
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
    test_accuracy: f64,
    confusion: Vec<Vec<usize>>,
    epochs: Vec<Epoch>,
    seconds: f64,
}

#[derive(Serialize)]
struct Report {
    data: String,
    config: TrainConfig,
    parameters: usize,
    splits: Vec<SplitReport>,
}

/// Runs `lstm-accel train`.
pub fn run(a: &TrainArgs) -> Result<()> {
    let dir = Fsdd::locate(a.data.as_deref());
    let fsdd = Fsdd::open(&dir)?;
    let splits = match a.split.as_str() {
        "own" => vec![Split::Own],
        "speakers" => fsdd.speakers().into_iter().map(Split::LeaveOut).collect(),
        s => match s.strip_prefix("speaker:") {
            Some(name) => vec![Split::LeaveOut(name.to_string())],
            None => bail!("--split {s}: expected own, speaker:NAME or speakers"),
        },
    };
    if !(1..=40).contains(&a.mfcc) {
        bail!("--mfcc {}: between 1 and the 40 mel bands", a.mfcc);
    }
    let fe = FrontEnd::speech_8k(Some(a.mfcc));
    let cfg = TrainConfig {
        hidden: a.hidden,
        layers: a.layers,
        classes: 10,
        epochs: a.epochs,
        batch: a.batch,
        learning_rate: a.lr,
        seed: a.seed,
    };
    // Every recording's features once; each split picks its own.
    let all: Vec<_> = fsdd.utterances().iter().collect();
    let bar = progress_bar(!a.json, all.len() as u64, "features");
    let features = extract(&all, &fe, |i| bar.set_position(i as u64))
        .with_context(|| format!("reading {}", fsdd.dir().display()))?;
    bar.finish_and_clear();
    let mut reports = Vec::new();
    let mut parameters = 0;
    for split in &splits {
        fsdd.check(split)?;
        let name = match split {
            Split::Own => "own".to_string(),
            Split::LeaveOut(s) => format!("speaker:{s}"),
        };
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for (u, ex) in fsdd.utterances().iter().zip(&features) {
            if split.is_test(u) {
                test.push(ex.clone());
            } else {
                train.push(ex.clone());
            }
        }
        let (mean, std) = statistics(&train);
        normalise(&mut train, &mean, &std);
        normalise(&mut test, &mean, &std);
        let started = std::time::Instant::now();
        let mut net = FloatLstm::new(a.mfcc, &cfg)?;
        parameters = net.parameters();
        let bar = progress_bar(!a.json, cfg.epochs as u64, &name);
        let epochs = net.train(&train, &test, &cfg, |e, ep| {
            bar.set_position(e as u64);
            bar.set_message(format!(
                "{name}: loss {:.3}, train {:.1} %, test {:.1} %",
                ep.loss,
                100.0 * ep.train_accuracy,
                100.0 * ep.test_accuracy
            ));
        })?;
        bar.finish_and_clear();
        let predicted = net.predict(&test, cfg.batch)?;
        let report = SplitReport {
            split: name,
            train_examples: train.len(),
            test_examples: test.len(),
            test_accuracy: accuracy(&predicted, &test),
            confusion: confusion(&predicted, &test, cfg.classes),
            epochs,
            seconds: started.elapsed().as_secs_f64(),
        };
        if !a.json {
            println!(
                "{}: {:.2} % of {} test recordings ({} training), {:.0} s",
                report.split,
                100.0 * report.test_accuracy,
                report.test_examples,
                report.train_examples,
                report.seconds
            );
        }
        reports.push(report);
    }
    let report = Report {
        data: fsdd.dir().display().to_string(),
        config: cfg,
        parameters,
        splits: reports,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "float LSTM {} x {} on {} MFCC, {} parameters",
            report.config.layers, report.config.hidden, a.mfcc, report.parameters
        );
        if report.splits.len() > 1 {
            let mean = report.splits.iter().map(|s| s.test_accuracy).sum::<f64>()
                / report.splits.len() as f64;
            println!("speaker-independent mean: {:.2} %", 100.0 * mean);
        }
    }
    Ok(())
}

fn progress_bar(show: bool, len: u64, what: &str) -> ProgressBar {
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
