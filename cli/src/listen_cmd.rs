//! `lstm-accel listen`: continuous listening. A stream (a wav file, or raw
//! 16-bit PCM on standard input, a tenth of a second at a time) is
//! resampled to the front end's rate and cut into words as it arrives by
//! the audio crate's `WordStream` (energy against the stream's noise floor
//! so far, with the model's own trim settings). Each word, as soon as the
//! silence after it ends it, runs through the model's front end and
//! through the accelerator (a simulated engine, or a board over its serial
//! port, the model loaded once), is cross-checked against the bit-exact
//! reference, and its digit is printed with where it starts.

use crate::engines::{sim_driver, Backend};
use crate::run_cmd::open_board;
use crate::spec_cmd::HwArgs;
use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::ProgressBar;
use lstm_accel_audio::resample::StreamResampler;
use lstm_accel_audio::segment::{Segmenter, WordStream};
use lstm_accel_audio::{wav, AudioInput, Recording};
use lstm_accel_host::crosscheck::{CrossCheck, CrossChecker};
use lstm_accel_host::driver::Driver;
use lstm_accel_host::link::Link;
use lstm_accel_model::frontend::Trim;
use lstm_accel_model::Model;
use lstm_accel_sim::native::NativeDevice;
use lstm_accel_sim::verilator::{VerilatorDevice, VerilatorOptions};
use lstm_accel_spec::AcceleratorSpec;
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
    let input = AudioInput::new(&model).with_context(|| a.model.display().to_string())?;
    let mut source = match &a.wav {
        Some(p) => Source::Wav(wav::read(p)?, 0),
        None => {
            let rate = a.rate.unwrap_or(input.front_end().sample_rate);
            if !(1000..=192_000).contains(&rate) {
                bail!("--rate {rate}: allowed 1000 to 192000 Hz");
            }
            Source::Stdin(std::io::stdin().lock(), rate, None)
        }
    };
    let spec = crate::spec_cmd::derive_spec(&model, &a.hw.config_for(&model)?)?;
    let show = !a.json;
    let report = match (&a.port, a.engine) {
        (Some(port), _) => {
            let mut driver = open_board(port, a.baud, a.timeout_ms, &spec)?;
            listen(&mut driver, &model, &input, &spec, &mut source, port, show)?
        }
        (None, Backend::Native) => {
            let mut driver = sim_driver(NativeDevice::new(&model, &spec)?, &spec, None);
            listen(&mut driver, &model, &input, &spec, &mut source, "native", show)?
        }
        (None, Backend::Verilator) => {
            let cache = a
                .verilator_cache
                .clone()
                .unwrap_or_else(VerilatorOptions::default_cache);
            let dev = VerilatorDevice::new(&model, &spec, &VerilatorOptions::new(&cache))?;
            let mut driver = sim_driver(dev, &spec, None);
            listen(&mut driver, &model, &input, &spec, &mut source, "verilator", show)?
        }
        (None, Backend::Icarus) => bail!(
            "--engine icarus runs a whole stream at once; listen runs each word as it is heard: use native or verilator"
        ),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
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

/// Where the audio comes from: a wav file (given out in pieces, the way a
/// stream arrives) or raw PCM on standard input (a byte left over from the
/// last read).
enum Source<R> {
    Wav(Recording, usize),
    Stdin(R, u32, Option<u8>),
}

/// A tenth of a second at a time: a word's answer waits for no more.
const PIECE_S: f64 = 0.1;

impl<R: Read> Source<R> {
    fn rate(&self) -> u32 {
        match self {
            Source::Wav(r, _) => r.sample_rate,
            Source::Stdin(_, rate, _) => *rate,
        }
    }

    /// The next piece of samples; empty at the end of the stream.
    fn next_piece(&mut self) -> Result<Vec<f32>> {
        let piece = (f64::from(self.rate()) * PIECE_S).ceil() as usize;
        match self {
            Source::Wav(r, at) => {
                let end = (*at + piece).min(r.samples.len());
                let out = r.samples[*at..end].to_vec();
                *at = end;
                Ok(out)
            }
            Source::Stdin(reader, _, carry) => {
                let mut bytes: Vec<u8> = carry.take().into_iter().collect();
                let mut buf = vec![0u8; 2 * piece];
                let n = loop {
                    match reader.read(&mut buf) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e).context("reading PCM from standard input"),
                    }
                };
                if n == 0 {
                    if !bytes.is_empty() {
                        bail!(
                            "standard input ended inside a 16-bit sample (an odd number of bytes)"
                        );
                    }
                    return Ok(Vec::new());
                }
                bytes.extend_from_slice(&buf[..n]);
                if bytes.len() % 2 == 1 {
                    *carry = bytes.pop();
                }
                Ok(pcm_s16le(&bytes))
            }
        }
    }
}

/// Listens to `source` until it ends: each word, as soon as the silence
/// after it has been heard, goes through the model's front end and the
/// device behind `driver`, is checked against the reference and (with
/// `show`) printed at once.
fn listen<L: Link, R: Read>(
    driver: &mut Driver<L>,
    model: &Model,
    input: &AudioInput,
    spec: &AcceleratorSpec,
    source: &mut Source<R>,
    device: &str,
    show: bool,
) -> Result<ListenReport> {
    let fe = input.front_end();
    let rate = f64::from(fe.sample_rate);
    let mut checker = CrossChecker::load(driver, model, spec, false)?;
    let mut resampler = StreamResampler::new(source.rate(), fe.sample_rate);
    let segmenter = Segmenter::digits(fe.trim.unwrap_or_else(Trim::speech));
    let mut stream = WordStream::new(segmenter, input.extractor().clone());
    // Samples at the front end's rate from `base` on: what a word still to
    // come may start with.
    let (mut kept, mut base) = (Vec::<f32>::new(), 0usize);
    let spinner = if show {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    let mut words = Vec::new();
    loop {
        let piece = source.next_piece()?;
        let (samples, found) = if piece.is_empty() {
            let tail = resampler.finish();
            let mut found = stream.push(&tail);
            found.extend(stream.finish());
            (tail, found)
        } else {
            let samples = resampler.push(&piece);
            let found = stream.push(&samples);
            (samples, found)
        };
        kept.extend_from_slice(&samples);
        for r in found {
            let word = Recording {
                samples: kept[r.start - base..r.end - base].to_vec(),
                sample_rate: fe.sample_rate,
            };
            let frames = input.frames(&word);
            spinner.set_message(format!(
                "word at {:.2} s: {} frames",
                r.start as f64 / rate,
                frames.len()
            ));
            let digit = checker
                .sequence(driver, &frames, |_| spinner.tick())?
                .with_context(|| {
                    format!("the word at {:.2} s gave no frame", r.start as f64 / rate)
                })?;
            let w = Word {
                start_s: r.start as f64 / rate,
                end_s: r.end as f64 / rate,
                frames: frames.len(),
                digit,
                reference_digit: checker.reference_answer() as u32,
            };
            if show {
                spinner.suspend(|| println!("{:8.2} s  {}", w.start_s, w.digit));
            }
            words.push(w);
        }
        let keep_from = stream.keep_from();
        if keep_from > base {
            kept.drain(..keep_from - base);
            base = keep_from;
        }
        spinner.set_message(format!(
            "listening: {:.1} s heard, {} words",
            stream.received() as f64 / rate,
            words.len()
        ));
        if piece.is_empty() {
            break;
        }
    }
    spinner.finish_and_clear();
    Ok(ListenReport {
        seconds: stream.received() as f64 / rate,
        device: device.to_string(),
        words,
        check: checker.finish(),
    })
}

/// Raw signed 16-bit little-endian mono PCM (whole samples) as samples in
/// [-1, 1).
fn pcm_s16le(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect()
}
