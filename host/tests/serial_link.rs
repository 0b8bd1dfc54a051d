//! The virtual board, natively: the accelerator behind its serial bridge
//! (`SerialAccelerator`: UART, link receiver and transmitter) simulated
//! cycle by cycle with the bits of a UART line, driven by the host's
//! `SerialLink` through the ordinary driver. Weights, frames, results and
//! the state read back match the reference exactly, in the predicted
//! cycles, on a clean line and on one with flipped bits both ways and
//! garbage between frames (both ends resend; the counters show they did).

use lstm_accel_hdl::dynamic::clock_cycle;
use lstm_accel_hdl::serial_top::SerialAccelerator;
use lstm_accel_hdl::spec::{AcceleratorSpec, HwConfig};
use lstm_accel_host::crosscheck::cross_check;
use lstm_accel_host::driver::Driver;
use lstm_accel_host::serial::{BytePort, SerialLink};
use lstm_accel_model::random::{self, ModelShape};
use lstm_accel_sim::SimError;
use rand::Rng;
use rust_hdl::prelude::*;
use std::collections::VecDeque;

const CPB: usize = 4;

/// The board and the two ends of its line.
struct NativeBoard {
    top: SerialAccelerator,
    /// Bytes on their way to the board.
    to_board: VecDeque<u8>,
    /// Line levels of the byte being sent (start, data, stop), each CPB.
    sending: VecDeque<bool>,
    /// Decoder of the board's line: clocks into the current frame.
    rx_at: Option<usize>,
    rx_bits: u16,
    /// Cycles a read waits for a byte.
    timeout: usize,
    /// Probability that a write has a bit flipped, and that garbage
    /// precedes it.
    noise: f64,
    r: rand_chacha::ChaCha8Rng,
    pub cycles: u64,
}

impl NativeBoard {
    fn new(top: SerialAccelerator, noise: f64) -> Self {
        let mut top = top;
        top.clock.connect();
        top.rx.connect();
        top.connect_all();
        top.rx.next = true;
        NativeBoard {
            top,
            to_board: VecDeque::new(),
            sending: VecDeque::new(),
            rx_at: None,
            rx_bits: 0,
            timeout: 4_000 * CPB,
            noise,
            r: random::rng(41),
            cycles: 0,
        }
    }

    /// One clock; returns a byte the board finished sending.
    fn step(&mut self) -> Option<u8> {
        if self.sending.is_empty() {
            if let Some(b) = self.to_board.pop_front() {
                let mut levels = vec![false];
                levels.extend((0..8).map(|i| b >> i & 1 == 1));
                levels.push(true);
                self.sending = levels
                    .into_iter()
                    .flat_map(|l| std::iter::repeat_n(l, CPB))
                    .collect();
            }
        }
        self.top.rx.next = self.sending.pop_front().unwrap_or(true);
        clock_cycle(&mut self.top, |t| &mut t.clock);
        self.cycles += 1;
        let line = self.top.tx.val();
        // Sample each bit in its middle, counted from the start bit's edge.
        match self.rx_at {
            None => {
                if !line {
                    self.rx_at = Some(0);
                    self.rx_bits = 0;
                }
                None
            }
            Some(t) => {
                let t = t + 1;
                self.rx_at = Some(t);
                if t >= CPB / 2 && (t - CPB / 2) % CPB == 0 {
                    let bit = (t - CPB / 2) / CPB;
                    if (1..=8).contains(&bit) && line {
                        self.rx_bits |= 1 << (bit - 1);
                    }
                    if bit == 9 {
                        self.rx_at = None;
                        return Some(self.rx_bits as u8);
                    }
                }
                None
            }
        }
    }
}

impl NativeBoard {
    /// Noise on the way back too: a flipped bit now and then.
    fn noisy(&mut self, b: u8) -> u8 {
        if self.r.random_bool(self.noise / 40.0) {
            b ^ (1 << self.r.random_range(0..8))
        } else {
            b
        }
    }

    /// Runs `cycles` clocks; the bytes the board sent meanwhile.
    fn pump(&mut self, cycles: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..cycles {
            if let Some(b) = self.step() {
                let b = self.noisy(b);
                out.push(b);
            }
        }
        out
    }
}

impl BytePort for NativeBoard {
    fn write(&mut self, bytes: &[u8]) -> Result<(), SimError> {
        if self.r.random_bool(self.noise) {
            let n = self.r.random_range(1..6);
            for _ in 0..n {
                let g: u8 = self.r.random();
                self.to_board.push_back(g);
            }
        }
        // One flipped bit somewhere in the write.
        let flip = if bytes.is_empty() || !self.r.random_bool(self.noise) {
            None
        } else {
            Some((
                self.r.random_range(0..bytes.len()),
                1u8 << self.r.random_range(0..8),
            ))
        };
        for (i, &b) in bytes.iter().enumerate() {
            let b = match flip {
                Some((at, bit)) if at == i => b ^ bit,
                _ => b,
            };
            self.to_board.push_back(b);
        }
        Ok(())
    }

    fn read_byte(&mut self) -> Result<Option<u8>, SimError> {
        // The time-out runs once the host's own bytes are out, as a real
        // port's does after a blocking write.
        let mut waited = 0;
        while waited < self.timeout {
            if let Some(b) = self.step() {
                return Ok(Some(self.noisy(b)));
            }
            if self.to_board.is_empty() && self.sending.is_empty() {
                waited += 1;
            }
        }
        Ok(None)
    }
}

fn run(noise: f64) -> (u64, lstm_accel_host::serial::LinkStats) {
    let mut r = random::rng(40);
    let model = random::model(&mut r, &ModelShape::ternary(6, &[8], 4, 8));
    let hw = HwConfig {
        lanes: 4,
        ..HwConfig::default()
    };
    let spec = AcceleratorSpec::new(&model, &hw).expect("spec");
    let top = SerialAccelerator::new(&model, &spec, CPB as u64).expect("design");
    let board = NativeBoard::new(top, noise);
    let mut driver = Driver::new(SerialLink::new(board), spec.clone());
    let sequences: Vec<Vec<Vec<i32>>> = (0..2)
        .map(|_| random::frames(&mut r, &model, 3, 0.0))
        .collect();
    let check = cross_check(&mut driver, &model, &spec, &sequences, true, |_| {})
        .expect("the link carries every packet");
    assert!(
        check.mismatches.is_empty(),
        "{}",
        check
            .mismatches
            .iter()
            .take(5)
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(check.frames, 6);
    let predicted = spec.cycles_per_frame();
    assert_eq!(
        check.measured_cycles_per_frame,
        (predicted, predicted),
        "the bridge does not change the frame's cycles"
    );
    let link = driver.link_mut();
    let stats = link.stats;
    let cycles = link.port().cycles;
    (cycles, stats)
}

#[test]
fn a_virtual_board_matches_the_reference_over_a_clean_line() {
    let (cycles, stats) = run(0.0);
    println!("clean line: {cycles} cycles, {stats:?}");
    assert_eq!(stats.resent, 0);
    assert_eq!(stats.bad_frames, 0);
}

#[test]
fn a_virtual_board_matches_the_reference_through_line_noise() {
    let (cycles, stats) = run(0.2);
    println!("noisy line: {cycles} cycles, {stats:?}");
    assert!(
        stats.resent > 0 && stats.device_naks > 0 && stats.bad_frames > 0,
        "the noise forced repairs both ways: {stats:?}"
    );
}

#[test]
fn the_serial_design_lints_and_synthesises_without_latches() {
    use lstm_accel_hdl::tools::{verilator_lint, yosys_synth, Family};
    let mut r = random::rng(42);
    let model = random::model(&mut r, &ModelShape::ternary(6, &[8], 4, 8));
    let hw = HwConfig {
        lanes: 4,
        ..HwConfig::default()
    };
    let spec = AcceleratorSpec::new(&model, &hw).expect("spec");
    let v = lstm_accel_hdl::serial_top::serial_verilog(&model, &spec, 868).expect("verilog");
    let lint = verilator_lint(&v, "top").expect("lint is clean");
    assert!(!lint.contains("%Warning"), "{lint}");
    let s = yosys_synth(&v, "top", Family::Ice40).expect("yosys");
    assert!(s.latches.is_empty(), "{:?}", s.latches);
    println!(
        "serial design, iCE40: {} LUTs, {} FFs",
        s.luts(),
        s.flip_flops()
    );
}

#[test]
fn run_drives_a_virtual_board_behind_a_pseudo_terminal() {
    use serialport::{SerialPort, TTYPort};
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let (mut master, slave) = TTYPort::pair().expect("a pseudo-terminal");
    let name = slave.name().expect("the terminal's name");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut r = random::rng(43);
    let model = random::model(&mut r, &ModelShape::ternary(6, &[8], 4, 8));
    let path = dir.path().join("m.json");
    model.save(&path).expect("saved");
    let stop = Arc::new(AtomicBool::new(false));
    let board = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let hw = HwConfig {
                lanes: 4,
                ..HwConfig::default()
            };
            let spec = AcceleratorSpec::new(&model, &hw).expect("spec");
            let top = SerialAccelerator::new(&model, &spec, CPB as u64).expect("design");
            let mut board = NativeBoard::new(top, 0.1);
            master
                .set_timeout(std::time::Duration::from_millis(1))
                .expect("time-out");
            let mut buf = [0u8; 4096];
            while !stop.load(Ordering::Relaxed) {
                if let Ok(n) = master.read(&mut buf) {
                    if n > 0 {
                        board.write(&buf[..n]).expect("queued");
                    }
                }
                let out = board.pump(2_000);
                if !out.is_empty() {
                    master.write_all(&out).expect("to the host");
                }
            }
        })
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lstm-accel"))
        .args([
            "run",
            "--model",
            path.to_str().expect("utf-8"),
            "--lanes",
            "4",
            "--port",
            &name,
            "--random",
            "3",
            "--sequences",
            "2",
            "--read-state",
            "--timeout-ms",
            "2000",
            "--json",
        ])
        .output()
        .expect("runs");
    stop.store(true, Ordering::Relaxed);
    board.join().expect("the board thread ends");
    drop(slave);
    assert!(
        out.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(rep["frames"], 6);
    assert_eq!(rep["mismatches"].as_array().map(Vec::len), Some(0));
    println!("pty run: {}", rep["link"]);
}
