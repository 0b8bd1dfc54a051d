//! `lstm-accel virtual-board`: a board without hardware. The serial design
//! a bitstream is made from (UART, link and accelerator, the board top less
//! its PLL and pins) runs in Verilator or the native engine behind a new
//! pseudo-terminal, whose path is printed first on standard output; any
//! program that speaks to a board over a serial port (`lstm-accel run
//! --port <path>` among them) speaks to it. It runs until it is stopped.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use lstm_accel_hdl::blocks::uart::MIN_CLOCKS_PER_BIT;
use lstm_accel_model::Model;
use lstm_accel_sim::serial::{NativeSerialDevice, SerialDevice, UartLine};
use lstm_accel_sim::verilator::{VerilatorOptions, VerilatorSerialDevice};
use lstm_accel_verify::virtual_board::{serve, LineNoise};
use serialport::{SerialPort, TTYPort};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::spec_cmd::HwArgs;

/// Engines that can run a board live, one cycle at a time (Icarus runs
/// whole streams only).
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum BoardEngine {
    /// rust-hdl's own simulation.
    Native,
    /// Verilator (cached builds).
    Verilator,
}

/// Arguments of `lstm-accel virtual-board`.
#[derive(Args)]
pub struct VirtualBoardArgs {
    /// Model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Hardware configuration of the simulated design.
    #[command(flatten)]
    pub hw: HwArgs,
    /// Engine that runs the design.
    #[arg(long, value_enum, default_value_t = BoardEngine::Verilator)]
    pub engine: BoardEngine,
    /// Clocks per bit of the design's UART (a pseudo-terminal has no baud
    /// rate; fewer clocks per bit simulate faster).
    #[arg(long, default_value_t = MIN_CLOCKS_PER_BIT)]
    pub clocks_per_bit: u64,
    /// Line noise: the probability per host write of garbage before it and
    /// of a flipped bit in it (bytes back get flipped bits at a similar
    /// rate). 0 is a clean line.
    #[arg(long, default_value_t = 0.0)]
    pub noise: f64,
    /// Seed of the noise.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Cache of Verilator builds (default: the user's cache directory).
    #[arg(long)]
    pub verilator_cache: Option<PathBuf>,
}

/// Runs `lstm-accel virtual-board`.
pub fn run(a: &VirtualBoardArgs) -> Result<()> {
    if !(MIN_CLOCKS_PER_BIT..65_536).contains(&a.clocks_per_bit) {
        bail!(
            "--clocks-per-bit {}: the UART needs {MIN_CLOCKS_PER_BIT} to 65535",
            a.clocks_per_bit
        );
    }
    if !(0.0..=1.0).contains(&a.noise) {
        bail!("--noise {}: a probability, 0 to 1", a.noise);
    }
    let model = Model::load(&a.model)?;
    let spec = crate::spec_cmd::derive_spec(&model, &a.hw.config_for(&model)?)?;
    match a.engine {
        BoardEngine::Native => {
            let d = NativeSerialDevice::new(&model, &spec, a.clocks_per_bit)?;
            serve_on_terminal(d, a)
        }
        BoardEngine::Verilator => {
            eprintln!("building the serial design with Verilator (cached after the first run)");
            let cache = a
                .verilator_cache
                .clone()
                .unwrap_or_else(VerilatorOptions::default_cache);
            let d = VerilatorSerialDevice::new(
                &model,
                &spec,
                a.clocks_per_bit,
                &VerilatorOptions::new(cache),
            )?;
            serve_on_terminal(d, a)
        }
    }
}

fn serve_on_terminal<D: SerialDevice>(device: D, a: &VirtualBoardArgs) -> Result<()> {
    let (mut master, slave) = TTYPort::pair().context("opening a pseudo-terminal")?;
    let path = slave
        .name()
        .context("the pseudo-terminal has no name to open it by")?;
    master
        .set_timeout(Duration::from_millis(1))
        .context("setting the terminal's time-out")?;
    let engine = device.engine();
    let mut line = UartLine::new(device, a.clocks_per_bit as usize);
    let mut noise = LineNoise::new(a.noise, a.seed);
    println!("{path}");
    std::io::stdout().flush()?;
    eprintln!(
        "virtual board ({engine} engine, {} clocks per bit, noise {}) on {path}; stop it with Ctrl-C",
        a.clocks_per_bit, a.noise
    );
    // The slave side stays open here, so that the terminal outlives the
    // clients that open and close it.
    let _slave = slave;
    // Never stopped from here: it serves until the process ends, or fails
    // with the terminal.
    serve(&mut line, &mut noise, &mut master, &AtomicBool::new(false))
        .with_context(|| format!("serving {path}"))?;
    Ok(())
}
