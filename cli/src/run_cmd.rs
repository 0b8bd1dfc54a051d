//! `lstm-accel run`: the driver against a board (or a virtual one behind a
//! pseudo-terminal) over its serial line: it checks that the board runs the
//! design of this model and configuration (the status packet's layout
//! signature), loads the weights, streams the frames, and cross-checks
//! every result (and with `--read-state` every layer's state) against the
//! bit-exact reference, like `simulate` does with an engine. The link's
//! repairs (resent frames, NAKs, bad frames) are reported.

use anyhow::{bail, Result};
use clap::Args;
use lstm_accel_host::crosscheck::{cross_check, CrossCheck};
use lstm_accel_host::driver::Driver;
use lstm_accel_host::serial::{LinkStats, SerialLink, SerialPortBytes};
use lstm_accel_model::Model;
use lstm_accel_spec::protocol;
use lstm_accel_spec::spec::AcceleratorSpec;
use serde::Serialize;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::engines::{input_sequences, print_mismatches};
use crate::spec_cmd::HwArgs;

/// Arguments of `lstm-accel run`.
#[derive(Args)]
pub struct RunArgs {
    /// Model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Hardware configuration the board's design was built with.
    #[command(flatten)]
    pub hw: HwArgs,
    /// Serial port of the board (e.g. /dev/ttyUSB1, or a pseudo-terminal).
    #[arg(long)]
    pub port: String,
    /// Baud rate of the board's UART.
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
    /// Milliseconds without a byte after which the link repeats itself.
    #[arg(long, default_value_t = 1_000)]
    pub timeout_ms: u64,
    /// Random frames per sequence.
    #[arg(long, default_value_t = 20)]
    pub random: usize,
    /// Sequences, each from a reset.
    #[arg(long, default_value_t = 1)]
    pub sequences: usize,
    /// Seed of the random frames.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Wav files instead of random frames, one sequence each.
    #[arg(long, num_args = 1.., conflicts_with_all = ["random", "sequences"])]
    pub wav: Vec<PathBuf>,
    /// Read every layer's state back after every frame and compare it.
    #[arg(long)]
    pub read_state: bool,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// What a run on a board reports.
#[derive(Serialize)]
pub struct RunReport {
    /// The port.
    pub port: String,
    /// Its baud rate.
    pub baud: u32,
    /// The cross-check.
    #[serde(flatten)]
    pub check: CrossCheck,
    /// Wall-clock seconds, loading included.
    pub seconds: f64,
    /// What the link repaired.
    pub link: LinkStats,
}

/// The driver of the board on `port`, checked to run the design of
/// `spec` (the status packet's layout signature).
pub fn open_board(
    port: &str,
    baud: u32,
    timeout_ms: u64,
    spec: &AcceleratorSpec,
) -> Result<Driver<SerialLink<SerialPortBytes>>> {
    let bytes = SerialPortBytes::open(port, baud, Duration::from_millis(timeout_ms))?;
    let mut driver = Driver::new(SerialLink::new(bytes), spec.clone());
    let status = driver.status()?;
    let want = protocol::signature(&spec.layout);
    if status.signature != want {
        bail!(
            "the board on {port} runs another design (layout signature {:#010x}, this model and configuration give {want:#010x}): build its bitstream with `lstm-accel synth` from the same model and configuration",
            status.signature
        );
    }
    Ok(driver)
}

/// Runs `lstm-accel run`.
pub fn run(a: &RunArgs) -> Result<()> {
    let model = Model::load(&a.model)?;
    let spec = crate::spec_cmd::derive_spec(&model, &a.hw.config_for(&model)?)?;
    let sequences = input_sequences(&model, a.sequences, a.random, a.seed, &a.wav)?;
    let start = Instant::now();
    let mut driver = open_board(&a.port, a.baud, a.timeout_ms, &spec)?;
    let total: usize = sequences.iter().map(Vec::len).sum();
    let bar = crate::progress::frames_bar(!a.json, total);
    bar.set_message("on the board");
    let check = cross_check(&mut driver, &model, &spec, &sequences, a.read_state, |n| {
        bar.set_position(n as u64)
    })?;
    bar.finish_and_clear();
    let rep = RunReport {
        port: a.port.clone(),
        baud: a.baud,
        check,
        seconds: start.elapsed().as_secs_f64(),
        link: driver.link().stats,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        let c = &rep.check;
        println!(
            "{} at {} baud: {} frames in {:.2} s; cycles per frame predicted {}, measured by the board {}..={}",
            rep.port,
            rep.baud,
            c.frames,
            rep.seconds,
            c.predicted_cycles_per_frame,
            c.measured_cycles_per_frame.0,
            c.measured_cycles_per_frame.1
        );
        println!(
            "link: {} frames sent again, {} NAKs from the board, {} broken frames from it, {} repeats dropped, {} bytes of noise skipped",
            rep.link.resent,
            rep.link.device_naks,
            rep.link.bad_frames,
            rep.link.repeats,
            rep.link.skipped
        );
        if c.mismatches.is_empty() {
            println!("cross-check: 0 mismatches");
        } else {
            print_mismatches(c);
        }
    }
    if !rep.check.mismatches.is_empty() {
        bail!("the board differs from the reference");
    }
    Ok(())
}
