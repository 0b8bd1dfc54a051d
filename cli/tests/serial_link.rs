//! The virtual board: the accelerator behind its serial bridge
//! (`SerialAccelerator`: UART, link receiver and transmitter) simulated
//! cycle by cycle with the bits of a UART line, driven by the host's
//! `SerialLink` through the ordinary driver, in this process (native
//! engine) and as `lstm-accel virtual-board` behind a pseudo-terminal
//! driven by `lstm-accel run --port` (Verilator and native). Weights,
//! frames, results and the state read back match the reference exactly, in
//! the predicted cycles, on a clean line and on one with flipped bits both
//! ways and garbage between frames (both ends resend; the counters show
//! they did).

mod common;

use lstm_accel_host::crosscheck::cross_check;
use lstm_accel_host::driver::Driver;
use lstm_accel_host::serial::{BytePort, SerialLink};
use lstm_accel_model::random::{self, ModelShape};
use lstm_accel_sim::serial::{NativeSerialDevice, SerialDevice, UartLine};
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use lstm_accel_verify::virtual_board::{LineNoise, SimulatedPort};

const CPB: usize = 4;

fn run(noise: f64) -> (u64, lstm_accel_host::serial::LinkStats) {
    let mut r = random::rng(40);
    let model = random::model(&mut r, &ModelShape::ternary(6, &[8], 4, 8));
    let hw = HwConfig {
        lanes: 4,
        ..HwConfig::default()
    };
    let spec = AcceleratorSpec::new(&model, &hw).expect("spec");
    let device = NativeSerialDevice::new(&model, &spec, CPB as u64).expect("design");
    let port = SimulatedPort::new(
        UartLine::new(device, CPB),
        LineNoise::new(noise, 41),
        4_000 * CPB as u64,
    );
    let mut driver = Driver::new(SerialLink::new(port), spec.clone());
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
    let line = link.port().line();
    assert_eq!(
        line.framing_errors(),
        0,
        "the bridge's bytes are well formed"
    );
    let cycles = line.device().cycles();
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
    use lstm_accel_hdl::tools::{verilator_lint, yosys_synth};
    use lstm_accel_spec::target::Family;
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

/// `lstm-accel virtual-board` with `engine` on a noisy line, driven by
/// `lstm-accel run --port` on the pseudo-terminal it prints, both as
/// subprocesses, as a user runs them.
fn run_against_the_virtual_board_command(engine: &str, seed: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut r = random::rng(43);
    let model = random::model(&mut r, &ModelShape::ternary(6, &[8], 4, 8));
    let path = dir.path().join("m.json");
    model.save(&path).expect("saved");
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("verilator");
    let m = path.to_str().expect("utf-8");
    let (board, port) = common::virtual_board(&[
        "--model",
        m,
        "--lanes",
        "4",
        "--engine",
        engine,
        "--noise",
        "0.1",
        "--seed",
        &seed.to_string(),
        "--verilator-cache",
        cache.to_str().expect("utf-8"),
    ]);
    let out = common::cli(&[
        "run",
        "--model",
        m,
        "--lanes",
        "4",
        "--port",
        &port,
        "--random",
        "3",
        "--sequences",
        "2",
        "--read-state",
        "--timeout-ms",
        "2000",
        "--json",
    ]);
    let board = common::stop(board);
    assert!(
        !port.is_empty(),
        "virtual-board printed no terminal: {}",
        String::from_utf8_lossy(&board.stderr)
    );
    assert!(
        out.status.success(),
        "run failed: {}\nboard: {}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&board.stderr)
    );
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(rep["frames"], 6);
    assert_eq!(rep["mismatches"].as_array().map(Vec::len), Some(0));
    assert_eq!(rep["state_read"], true);
    let link = &rep["link"];
    let repairs: u64 = ["resent", "device_naks", "bad_frames", "repeats", "skipped"]
        .iter()
        .map(|k| link[*k].as_u64().expect("a counter"))
        .sum();
    assert!(repairs > 0, "the noise forced repairs: {link}");
    println!("{engine} virtual board behind {port}: {link}");
}

#[test]
fn run_drives_the_verilator_virtual_board_behind_a_pseudo_terminal() {
    run_against_the_virtual_board_command("verilator", 7);
}

#[test]
fn run_drives_the_native_virtual_board_behind_a_pseudo_terminal() {
    run_against_the_virtual_board_command("native", 8);
}

/// A bridge that follows the link's rules exactly (takes the expected
/// sequence, acknowledges a repeat without passing it on, NAKs with the
/// sequence it expects) with scripted faults: NAKs that answer noise after
/// a frame it took, and stale NAKs naming an old sequence.
struct ScriptedBridge {
    parser: lstm_accel_spec::link::FrameParser,
    expected: u8,
    /// Words passed on to the accelerator.
    passed: Vec<u32>,
    /// Data frames seen so far; the fault for the n-th, if any.
    frames: usize,
    faults: Vec<(usize, Fault)>,
    out: std::collections::VecDeque<u8>,
}

#[derive(Clone, Copy)]
enum Fault {
    /// Take the frame, but answer noise after it: NAK naming the next.
    NakAfterTaking,
    /// Before handling the frame, a NAK left over from earlier noise,
    /// naming an old sequence.
    StaleNak,
}

impl ScriptedBridge {
    fn reply(&mut self, kind: u8, seq: u8) {
        let f = lstm_accel_spec::link::Frame {
            kind,
            seq,
            words: Vec::new(),
        };
        self.out.extend(f.encode());
    }
}

impl BytePort for ScriptedBridge {
    fn write(&mut self, bytes: &[u8]) -> Result<(), lstm_accel_host::link::LinkError> {
        use lstm_accel_spec::link::{Parsed, D_ACK, D_NAK};
        for &b in bytes {
            let Parsed::Frame(f) = self.parser.push(b) else {
                continue;
            };
            if !f.is_data() {
                continue;
            }
            let fault = self
                .faults
                .iter()
                .find(|(n, _)| *n == self.frames)
                .map(|&(_, x)| x);
            self.frames += 1;
            if let Some(Fault::StaleNak) = fault {
                self.reply(D_NAK, self.expected.wrapping_sub(2));
            }
            if f.seq == self.expected {
                self.passed.extend(&f.words);
                self.expected = self.expected.wrapping_add(1);
                match fault {
                    Some(Fault::NakAfterTaking) => self.reply(D_NAK, self.expected),
                    _ => self.reply(D_ACK, f.seq),
                }
            } else if f.seq == self.expected.wrapping_sub(1) {
                self.reply(D_ACK, f.seq);
            } else {
                self.reply(D_NAK, self.expected);
            }
        }
        Ok(())
    }

    fn read_byte(&mut self) -> Result<Option<u8>, lstm_accel_host::link::LinkError> {
        Ok(self.out.pop_front())
    }
}

/// NAKs that do not ask for the frame just sent (one naming the next
/// sequence, answering noise after a frame the bridge took; one naming an
/// old sequence) never make the host renumber or repeat a frame: every word
/// reaches the accelerator exactly once, in order.
#[test]
fn stale_naks_neither_renumber_nor_repeat_a_frame() {
    use lstm_accel_host::link::Link;
    let bridge = ScriptedBridge {
        parser: lstm_accel_spec::link::FrameParser::new(),
        expected: 0,
        passed: Vec::new(),
        frames: 0,
        // Frame 0 opens the session; 1.. carry the packets' words.
        faults: vec![
            (1, Fault::NakAfterTaking),
            (3, Fault::StaleNak),
            (5, Fault::NakAfterTaking),
            (6, Fault::StaleNak),
        ],
        out: Default::default(),
    };
    let mut link = SerialLink::new(bridge);
    let packets: Vec<Vec<u32>> = (0..3u32)
        .map(|p| (0..300).map(|i| p * 1000 + i).collect())
        .collect();
    for p in &packets {
        link.send(p).expect("sent");
    }
    let stats = link.stats;
    let bridge = link.port();
    let want = packets.concat();
    assert!(
        bridge.passed == want,
        "every word once, in order: {} words passed for {} sent, first difference at word {:?}",
        bridge.passed.len(),
        want.len(),
        bridge.passed.iter().zip(&want).position(|(a, b)| a != b)
    );
    // Two frames per packet (255 + 45 words) and the opening one.
    assert_eq!(
        bridge.frames,
        1 + 6 + 2,
        "two stale NAKs cost one resend each"
    );
    assert_eq!(stats.device_naks, 4);
    assert_eq!(stats.resent, 2);
}
