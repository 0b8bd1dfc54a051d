//! The UART: bytes sent by `UartTx` arrive intact through `UartRx` at every
//! rate, each bit `clocks_per_bit` cycles long on the line; a glitch shorter
//! than half a bit is no start bit; a low stop bit is a frame error, and the
//! next good frame is received; a reset drops the byte on the line and the
//! line idles. Icarus runs the same loopback (noise and resets included)
//! cycle for cycle like the native engine; Verilator lints it and
//! Yosys synthesises it for iCE40 and ECP5 without latches.

use lstm_accel_hdl::blocks::uart::{UartRx, UartTx};
use lstm_accel_hdl::dynamic::clock_cycle;
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth};
use lstm_accel_model::random;
use lstm_accel_spec::target::Family;
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

/// A transmitter wired to a receiver; `noise` flips the line.
#[derive(LogicBlock)]
struct Loopback {
    clock: Signal<In, Clock>,
    reset: Signal<In, Bit>,
    data: Signal<In, Bits<8>>,
    valid: Signal<In, Bit>,
    noise: Signal<In, Bit>,
    ready: Signal<Out, Bit>,
    line: Signal<Out, Bit>,
    got: Signal<Out, Bit>,
    rx_byte: Signal<Out, Bits<8>>,
    bad: Signal<Out, Bit>,
    sender: UartTx,
    receiver: UartRx,
}

impl Loopback {
    fn new(cpb: u64) -> Self {
        let mut l = Loopback {
            clock: Default::default(),
            reset: Default::default(),
            data: Default::default(),
            valid: Default::default(),
            noise: Default::default(),
            ready: Default::default(),
            line: Default::default(),
            got: Default::default(),
            rx_byte: Default::default(),
            bad: Default::default(),
            sender: UartTx::new(cpb),
            receiver: UartRx::new(cpb),
        };
        l.clock.connect();
        l.reset.connect();
        l.data.connect();
        l.valid.connect();
        l.noise.connect();
        l.connect_all();
        l
    }
}

impl Logic for Loopback {
    #[hdl_gen]
    fn update(&mut self) {
        self.sender.clock.next = self.clock.val();
        self.receiver.clock.next = self.clock.val();
        self.sender.reset.next = self.reset.val();
        self.receiver.reset.next = self.reset.val();
        self.sender.data.next = self.data.val();
        self.sender.valid.next = self.valid.val();
        self.receiver.rx.next = self.sender.tx.val() ^ self.noise.val();
        self.ready.next = self.sender.ready.val();
        self.line.next = self.sender.tx.val() ^ self.noise.val();
        self.got.next = self.receiver.valid.val();
        self.rx_byte.next = self.receiver.data.val();
        self.bad.next = self.receiver.frame_error.val();
    }
}

/// What one cycle shows after its edge: (ready, line, got, byte, bad).
type Seen = (bool, bool, bool, u8, bool);

/// Runs the loopback: each cycle offers `offer[t]` (a byte or nothing) with
/// `noise[t]` on the line.
fn run(cpb: u64, offer: &[Option<u8>], noise: &[bool]) -> Vec<Seen> {
    run_with_resets(cpb, offer, noise, &vec![false; offer.len()])
}

/// [`run`] with both halves' reset at `resets[t]`.
fn run_with_resets(cpb: u64, offer: &[Option<u8>], noise: &[bool], resets: &[bool]) -> Vec<Seen> {
    let mut l = Loopback::new(cpb);
    offer
        .iter()
        .zip(noise)
        .zip(resets)
        .map(|((&o, &n), &reset)| {
            l.data.next = u64::from(o.unwrap_or(0)).into();
            l.valid.next = o.is_some();
            l.noise.next = n;
            l.reset.next = reset;
            clock_cycle(&mut l, |l| &mut l.clock);
            (
                l.ready.val(),
                l.line.val(),
                l.got.val(),
                l.rx_byte.val().index() as u8,
                l.bad.val(),
            )
        })
        .collect()
}

/// Offers per cycle: `bytes` one after another, each for a frame's time,
/// with random pauses (a byte may be sent twice or overtaken: this stimulus
/// compares engines, it is no check of the data).
fn offers(r: &mut impl Rng, bytes: &[u8], cpb: u64) -> Vec<Option<u8>> {
    let mut v = Vec::new();
    for &b in bytes {
        for _ in 0..r.random_range(0..3 * cpb) {
            v.push(None);
        }
        for _ in 0..10 * cpb + 1 {
            v.push(Some(b));
        }
    }
    v.extend(std::iter::repeat_n(None, 12 * cpb as usize));
    v
}

fn received(seen: &[Seen]) -> Vec<u8> {
    seen.iter().filter(|s| s.2).map(|s| s.3).collect()
}

#[test]
fn bytes_arrive_intact_at_every_rate_with_bits_of_the_right_length() {
    let mut r = random::rng(11);
    for cpb in [4u64, 5, 7, 16] {
        let bytes: Vec<u8> = (0..40).map(|_| r.random()).collect();
        // Offer each byte exactly once: hold it until the cycle it is taken.
        let mut l = Loopback::new(cpb);
        // One idle cycle: the outputs settle.
        clock_cycle(&mut l, |l| &mut l.clock);
        let mut line = Vec::new();
        let mut got = Vec::new();
        let mut pending = bytes.iter().copied().peekable();
        let mut pause = 0;
        for _ in 0..bytes.len() * (13 * cpb as usize + 8) {
            let offer = if pause > 0 {
                pause -= 1;
                None
            } else {
                pending.peek().copied()
            };
            let ready = l.ready.val();
            l.data.next = u64::from(offer.unwrap_or(0)).into();
            l.valid.next = offer.is_some();
            l.noise.next = false;
            clock_cycle(&mut l, |l| &mut l.clock);
            if offer.is_some() && ready {
                pending.next();
                pause = r.random_range(0..2 * cpb as usize);
            }
            line.push(l.line.val());
            if l.got.val() {
                got.push(l.rx_byte.val().index() as u8);
            }
            assert!(!l.bad.val(), "no frame error on a clean line");
        }
        assert_eq!(got, bytes, "{cpb} clocks per bit");
        // Every level on the line lasts a whole number of bits, except the
        // idle stretches, which end at a start bit.
        let mut runs = Vec::new();
        let mut at = 0;
        while at < line.len() {
            let level = line[at];
            let len = line[at..].iter().take_while(|&&x| x == level).count();
            runs.push((level, len));
            at += len;
        }
        for w in runs.windows(2).skip(1) {
            if !w[0].0 {
                assert_eq!(w[0].1 as u64 % cpb, 0, "low run {:?} at {cpb}", w[0]);
            }
        }
    }
}

#[test]
fn glitches_are_no_start_bits_and_a_low_stop_bit_is_a_frame_error() {
    let cpb = 16u64;
    let c = cpb as usize;
    let mut r = random::rng(12);
    let byte: u8 = r.random();
    // A frame on the line as bit levels, `stop` its stop bit.
    let frame = |b: u8, stop: bool| -> Vec<bool> {
        let mut v = vec![false];
        v.extend((0..8).map(|i| b >> i & 1 == 1));
        v.push(stop);
        v.into_iter().flat_map(|x| vec![x; c]).collect()
    };
    let mut line = vec![true; 3 * c];
    line.extend(vec![false; c / 2 - 1]); // a glitch: shorter than half a bit
    line.extend(vec![true; 3 * c]);
    line.extend(frame(0x5a, false)); // low stop bit
    line.extend(vec![true; 3 * c]);
    line.extend(frame(byte, true));
    line.extend(vec![true; 3 * c]);
    // The transmitter idles (high): noise is the line, inverted.
    let noise: Vec<bool> = line.iter().map(|&x| !x).collect();
    let seen = run(cpb, &vec![None; noise.len()], &noise);
    let bad: Vec<usize> = (0..seen.len()).filter(|&t| seen[t].4).collect();
    assert_eq!(bad.len(), 1, "one frame error");
    assert_eq!(received(&seen), vec![byte], "the glitch is ignored");
    let got_at = seen.iter().position(|s| s.2).expect("a byte");
    assert!(bad[0] < got_at);
}

#[test]
fn a_reset_cuts_the_byte_on_the_line_and_the_next_one_arrives() {
    let cpb = 8u64;
    let c = cpb as usize;
    // 0x3c from cycle 0, reset for 2 cycles in its fourth bit, 0xa5 later.
    let mut offer = vec![Some(0x3c); 2];
    offer.extend(vec![None; 4 * c]);
    offer.extend(vec![Some(0xa5); 2]);
    offer.extend(vec![None; 14 * c]);
    let mut resets = vec![false; offer.len()];
    resets[3 * c] = true;
    resets[3 * c + 1] = true;
    let noise = vec![false; offer.len()];
    let seen = run_with_resets(cpb, &offer, &noise, &resets);
    assert_eq!(received(&seen), vec![0xa5], "the cut byte is dropped");
    // From the edge in reset on, the line idles high until the next start bit.
    let next_start = 4 * c + 2;
    assert!(seen[3 * c + 1..next_start].iter().all(|s| s.1), "idle line");
    assert!(!seen.iter().any(|s| s.4), "no frame error at the receiver");
}

#[test]
fn icarus_agrees_with_noise_and_it_lints_and_synthesises() {
    let mut r = random::rng(13);
    let cpb = 5u64;
    let bytes: Vec<u8> = (0..12).map(|_| r.random()).collect();
    let offer = offers(&mut r, &bytes, cpb);
    // Sparse noise: single-cycle flips; sparser resets.
    let noise: Vec<bool> = (0..offer.len()).map(|_| r.random_bool(0.01)).collect();
    let resets: Vec<bool> = (0..offer.len()).map(|_| r.random_bool(0.003)).collect();
    assert!(resets.iter().any(|&x| x));
    let native = run_with_resets(cpb, &offer, &noise, &resets);
    let mut l = Loopback::new(cpb);
    l.connect_all();
    let verilog = generate_verilog(&l);
    let mut tb = String::from(
        "module tb;\nreg clock = 0;\nreg [7:0] data = 0;\nreg valid = 0, noise = 0, rst = 0;\nwire ready, line, got, bad;\nwire [7:0] byte_out;\ntop uut(.clock(clock), .reset(rst), .data(data), .valid(valid), .noise(noise), .ready(ready), .line(line), .got(got), .rx_byte(byte_out), .bad(bad));\ninitial begin\n",
    );
    for ((o, &n), &x) in offer.iter().zip(&noise).zip(&resets) {
        let _ = writeln!(
            tb,
            "    data = {}; valid = {}; noise = {}; rst = {};\n    #5 clock = 1; #5 clock = 0; #1 $display(\"%0d %0d %0d %0d %0d\", ready, line, got, byte_out, bad);",
            o.unwrap_or(0),
            u8::from(o.is_some()),
            u8::from(n),
            u8::from(x)
        );
    }
    tb.push_str("    $finish;\nend\nendmodule\n");
    let icarus = icarus_values(&format!("{verilog}\n{tb}"), "tb").expect("icarus runs");
    let want: Vec<Vec<i64>> = native
        .iter()
        .map(|&(a, b, c, d, e)| {
            vec![
                i64::from(a),
                i64::from(b),
                i64::from(c),
                i64::from(d),
                i64::from(e),
            ]
        })
        .collect();
    assert_eq!(icarus, want);
    let lint = verilator_lint(&verilog, "top").expect("lint is clean");
    assert!(!lint.contains("%Warning"), "{lint}");
    for family in [Family::Ice40, Family::Ecp5] {
        let s = yosys_synth(&verilog, "top", family).expect("yosys");
        assert!(s.latches.is_empty());
    }
}
