//! The virtual board: the serial design (UART, link and accelerator) in a
//! cycle-accurate engine, reached through its serial line as a real board
//! is, so that the host side (the driver, `lstm-accel run`, a user's own
//! program) can be tested without hardware.
//!
//! - [`SimulatedPort`] is a [`BytePort`] straight onto the simulated line,
//!   for the driver in the same process.
//! - [`serve`] puts the line behind a pseudo-terminal: bytes the host writes
//!   to the terminal go onto the design's `rx` pin bit by bit, and the bytes
//!   the design sends on `tx` come back, so `lstm-accel run --port <pty>`
//!   talks to it exactly as to a USB serial cable. The design runs
//!   continuously, like a board: its time-outs expire while the host is
//!   silent.
//!
//! [`LineNoise`] disturbs the line the way a bad cable or a plug-in does:
//! garbage before a write, one flipped bit inside a write, and flipped bits
//! on the way back; the link's CRCs, NAKs and resends have to repair it.

use lstm_accel_host::link::LinkError;
use lstm_accel_host::serial::BytePort;
use lstm_accel_model::random;
use lstm_accel_sim::serial::{SerialDevice, UartLine};
use rand::Rng;
use serde::Serialize;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Seeded line noise.
pub struct LineNoise {
    probability: f64,
    rng: rand_chacha::ChaCha8Rng,
    /// What was done to the line.
    pub stats: NoiseStats,
}

/// Counters of the noise put on the line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NoiseStats {
    /// Garbage bytes put before the host's writes.
    pub garbage_bytes: u64,
    /// Bits flipped in the host's writes.
    pub flipped_to_board: u64,
    /// Bits flipped on the way back.
    pub flipped_to_host: u64,
}

impl LineNoise {
    /// A clean line.
    pub fn none() -> Self {
        Self::new(0.0, 0)
    }

    /// With `probability` per write of garbage before it and, independently,
    /// of one flipped bit in it; each byte back has a bit flipped with
    /// `probability / 40` (about the same rate per byte as the writes').
    pub fn new(probability: f64, seed: u64) -> Self {
        LineNoise {
            probability: probability.clamp(0.0, 1.0),
            rng: random::rng(seed),
            stats: NoiseStats::default(),
        }
    }

    /// The bytes that reach the board when the host writes `bytes`.
    pub fn to_board(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len() + 8);
        if self.probability > 0.0 && self.rng.random_bool(self.probability) {
            let n = self.rng.random_range(1..6);
            out.extend((0..n).map(|_| self.rng.random::<u8>()));
            self.stats.garbage_bytes += n;
        }
        out.extend_from_slice(bytes);
        if !bytes.is_empty() && self.probability > 0.0 && self.rng.random_bool(self.probability) {
            let at = out.len() - bytes.len() + self.rng.random_range(0..bytes.len());
            out[at] ^= 1 << self.rng.random_range(0..8);
            self.stats.flipped_to_board += 1;
        }
        out
    }

    /// The byte that reaches the host when the board sends `b`.
    pub fn to_host(&mut self, b: u8) -> u8 {
        if self.probability > 0.0 && self.rng.random_bool(self.probability / 40.0) {
            self.stats.flipped_to_host += 1;
            b ^ (1 << self.rng.random_range(0..8))
        } else {
            b
        }
    }
}

/// A byte port onto a simulated board's line, in this process.
pub struct SimulatedPort<D: SerialDevice> {
    line: UartLine<D>,
    noise: LineNoise,
    timeout_cycles: u64,
}

impl<D: SerialDevice> SimulatedPort<D> {
    /// A port onto `line` whose reads give up after `timeout_cycles` clocks
    /// without a byte (counted once the host's own bytes are out, as a real
    /// port's time-out runs after a blocking write).
    pub fn new(line: UartLine<D>, noise: LineNoise, timeout_cycles: u64) -> Self {
        SimulatedPort {
            line,
            noise,
            timeout_cycles,
        }
    }

    /// The line.
    pub fn line(&self) -> &UartLine<D> {
        &self.line
    }

    /// The line, mutably (to pump it, or press the board's reset).
    pub fn line_mut(&mut self) -> &mut UartLine<D> {
        &mut self.line
    }

    /// The noise and what it did.
    pub fn noise(&self) -> &LineNoise {
        &self.noise
    }
}

impl<D: SerialDevice> BytePort for SimulatedPort<D> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        let b = self.noise.to_board(bytes);
        self.line.send(&b);
        Ok(())
    }

    fn read_byte(&mut self) -> Result<Option<u8>, LinkError> {
        let mut waited = 0;
        while waited < self.timeout_cycles {
            if let Some(b) = self.line.step() {
                return Ok(Some(self.noise.to_host(b)));
            }
            if self.line.sent() {
                waited += 1;
            }
        }
        Ok(None)
    }
}

/// What a served session saw.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct ServeStats {
    /// Clock cycles simulated.
    pub cycles: u64,
    /// Bytes read from the terminal (the host's).
    pub bytes_in: u64,
    /// Bytes written to the terminal (the board's).
    pub bytes_out: u64,
    /// The noise put on the line.
    pub noise: NoiseStats,
}

/// Clock cycles simulated between looks at the terminal.
const CYCLES_PER_POLL: u64 = 2_000;

/// Serves the simulated line on `terminal` (the master side of a
/// pseudo-terminal, with a short read time-out) until `stop` is set or the
/// terminal fails.
pub fn serve<D: SerialDevice, T: Read + Write>(
    line: &mut UartLine<D>,
    noise: &mut LineNoise,
    terminal: &mut T,
    stop: &AtomicBool,
) -> std::io::Result<ServeStats> {
    let mut stats = ServeStats::default();
    let mut buf = [0u8; 4096];
    let start = line.device().cycles();
    while !stop.load(Ordering::Relaxed) {
        match terminal.read(&mut buf) {
            Ok(n) if n > 0 => {
                stats.bytes_in += n as u64;
                line.send(&noise.to_board(&buf[..n]));
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e),
        }
        let out: Vec<u8> = line
            .pump(CYCLES_PER_POLL)
            .into_iter()
            .map(|b| noise.to_host(b))
            .collect();
        if !out.is_empty() {
            terminal.write_all(&out)?;
            terminal.flush()?;
            stats.bytes_out += out.len() as u64;
        }
    }
    stats.cycles = line.device().cycles() - start;
    stats.noise = noise.stats;
    Ok(stats)
}
