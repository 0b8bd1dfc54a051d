//! `lstm-accel listen`: continuous listening. A long recording (a wav file,
//! or raw 16-bit PCM on standard input) is cut into words by the audio
//! crate's segmenter (energy against the stream's noise floor, with the
//! model's own trim settings), each word runs through the model's front end
//! and through the accelerator (a simulated engine, or a board over its
//! serial port), every result is cross-checked against the bit-exact
//! reference, and each digit is printed with where it starts.

use crate::run_cmd::open_board;
use crate::simulate::{simulate, Backend, EngineSetup};
use crate::spec_cmd::HwArgs;
use anyhow::{bail, Context, Result};
use clap::Args;
use lstm_accel_audio::segment::Segmenter;
use lstm_accel_audio::{wav, AudioInput, FeatureExtractor, Recording};
use lstm_accel_host::crosscheck::{cross_check, CrossCheck};
use lstm_accel_model::frontend::Trim;
use lstm_accel_model::reference::Reference;
use lstm_accel_model::Model;
use lstm_accel_sim::verilator::VerilatorOptions;
use serde::Serialize;
use std::io::Read;
use std::path::PathBuf;

/// Arguments of `lstm-accel listen`.
#[derive(Args)]
pub struct ListenArgs {
    /// Model file (with an audio front end).
    #[arg(long)]
    pub model: PathBuf,
    /// A long recording to listen to.
    #[arg(long, conflicts_with = "stdin", required_unless_present = "stdin")]
    pub wav: Option<PathBuf>,
    /// Read raw PCM from standard input instead (signed 16-bit little
    /// endian, mono, at --rate) until it ends.
    #[arg(long)]
    pub stdin: bool,
    /// Sample rate of --stdin's PCM [default: the model's front end's].
    #[arg(long, requires = "stdin")]
    pub rate: Option<u32>,
    /// Engine the words run in (when no --port is given).
    #[arg(long, value_enum, default_value_t = Backend::Native, conflicts_with = "port")]
    pub engine: Backend,
    /// Run the words on a board over this serial port instead.
    #[arg(long)]
    pub port: Option<String>,
    /// Baud rate of the board's UART.
    #[arg(long, default_value_t = 115_200, requires = "port")]
    pub baud: u32,
    /// Milliseconds without a byte after which the link repeats itself.
    #[arg(long, default_value_t = 1_000, requires = "port")]
    pub timeout_ms: u64,
    /// Hardware configuration of the design.
    #[command(flatten)]
    pub hw: HwArgs,
    /// Where the Verilator engine caches its builds.
    #[arg(long)]
    pub verilator_cache: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// One word heard.
#[derive(Clone, Debug, Serialize)]
pub struct Word {
    /// Where it starts in the stream, in seconds.
    pub start_s: f64,
    /// Where it ends, in seconds.
    pub end_s: f64,
    /// Frames the front end made of it.
    pub frames: usize,
    /// The accelerator's class (the digit).
    pub digit: u32,
    /// The bit-exact reference's class.
    pub reference_digit: u32,
}

/// What `listen` reports.
#[derive(Serialize)]
pub struct ListenReport {
    /// Seconds of audio.
    pub seconds: f64,
    /// Where the words ran: an engine's name or the port.
    pub device: String,
    /// Every word, in order.
    pub words: Vec<Word>,
    /// The cross-check of every word against the reference.
    pub check: CrossCheck,
}

/// Runs `lstm-accel listen`.
pub fn run(a: &ListenArgs) -> Result<()> {
    let model = Model::load(&a.model)?;
    let input = AudioInput::new(&model)?;
    let fe = model
        .input
        .front_end
        .clone()
        .context("the model has no front end")?;
    let rec = match &a.wav {
        Some(p) => wav::read(p)?,
        None => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("reading PCM from standard input")?;
            pcm_s16le(&bytes, a.rate.unwrap_or(fe.sample_rate))?
        }
    };
    let spec = crate::spec_cmd::derive_spec(&model, &a.hw.config_for(&model)?)?;
    let heard = words(&model, &input, &rec)?;
    let sequences: Vec<Vec<Vec<i32>>> = heard.iter().map(|(_, s)| s.clone()).collect();
    let (device, check) = match &a.port {
        Some(port) => {
            let mut driver = open_board(port, a.baud, a.timeout_ms, &spec)?;
            let check = cross_check(&mut driver, &model, &spec, &sequences, false, |_| {})?;
            (port.clone(), check)
        }
        None => {
            let setup = EngineSetup {
                backend: a.engine,
                verilator_cache: a
                    .verilator_cache
                    .clone()
                    .unwrap_or_else(VerilatorOptions::default_cache),
                ..EngineSetup::native(!a.json)
            };
            let rep = simulate(&model, &spec, &sequences, &setup)?;
            (format!("{:?}", a.engine).to_lowercase(), rep.check)
        }
    };
    let mut reference = Reference::new(&model)?;
    let rate = f64::from(fe.sample_rate);
    let mut out = Vec::with_capacity(heard.len());
    for (i, ((range, frames), classes)) in heard.iter().zip(&check.classes).enumerate() {
        reference.reset();
        for f in frames {
            reference.step(f)?;
        }
        let digit = *classes
            .last()
            .with_context(|| format!("word {i}: the device gave no result"))?;
        out.push(Word {
            start_s: range.start as f64 / rate,
            end_s: range.end as f64 / rate,
            frames: frames.len(),
            digit,
            reference_digit: reference.class() as u32,
        });
    }
    let report = ListenReport {
        seconds: rec.samples.len() as f64 / f64::from(rec.sample_rate),
        device,
        words: out,
        check,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for w in &report.words {
            println!("{:8.2} s  {}", w.start_s, w.digit);
        }
        println!(
            "{} words in {:.1} s of audio on {}; {} mismatches against the reference",
            report.words.len(),
            report.seconds,
            report.device,
            report.check.mismatches.len()
        );
    }
    if !report.check.mismatches.is_empty() {
        bail!(
            "{} mismatches between the device and the reference (first: {})",
            report.check.mismatches.len(),
            report.check.mismatches[0]
        );
    }
    Ok(())
}

/// A word found in a stream: its sample range (at the front end's rate)
/// and the model's input frames for it.
pub type HeardWord = (std::ops::Range<usize>, Vec<Vec<i32>>);

/// The words of `rec`.
pub fn words(model: &Model, input: &AudioInput, rec: &Recording) -> Result<Vec<HeardWord>> {
    let fe = model
        .input
        .front_end
        .as_ref()
        .context("the model has no front end")?;
    let samples =
        lstm_accel_audio::resample::resample(&rec.samples, rec.sample_rate, fe.sample_rate);
    let fx = FeatureExtractor::new(fe);
    let segmenter = Segmenter::digits(fe.trim.unwrap_or_else(Trim::speech));
    Ok(segmenter
        .words(&fx, &samples)
        .into_iter()
        .map(|r| {
            let word = Recording {
                samples: samples[r.clone()].to_vec(),
                sample_rate: fe.sample_rate,
            };
            (r, input.frames(&word))
        })
        .collect())
}

/// Raw signed 16-bit little-endian mono PCM as a recording.
pub fn pcm_s16le(bytes: &[u8], rate: u32) -> Result<Recording> {
    if bytes.len() % 2 != 0 {
        bail!(
            "standard input: {} bytes, not whole 16-bit samples",
            bytes.len()
        );
    }
    if !(1000..=192_000).contains(&rate) {
        bail!("--rate {rate}: allowed 1000 to 192000 Hz");
    }
    Ok(Recording {
        samples: bytes
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
            .collect(),
        sample_rate: rate,
    })
}
