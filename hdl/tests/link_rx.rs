//! The bridge's receiver against the link's own framing (`link::Frame`): a
//! stop-and-wait host sends packets of every size as frames, with a byte
//! every few cycles as a UART delivers them, and the accelerator side,
//! which stalls at random, gets exactly the packets' words, `tlast` on each
//! packet's last word, and every frame answered `ACK(seq)`. Corrupted
//! frames are answered `NAK(expected)` and taken when sent again; garbage
//! and a false `SYNC` cut off by a pause are skipped; a frame sent again
//! after its `ACK` is acknowledged and not passed on twice; a frame that
//! arrives while the buffer is still being sent is dropped unanswered; the
//! host's `ACK`s and `NAK`s come out as pulses. A reset in the middle of a
//! frame forgets it and expects sequence 0 again. Icarus replays the same
//! inputs cycle for cycle; Verilator lints it and Yosys synthesises it.

use lstm_accel_hdl::blocks::link_rx::LinkRx;
use lstm_accel_hdl::dynamic::clock_cycle;
use lstm_accel_hdl::tools::{first_difference, icarus_values, verilator_lint, yosys_synth};
use lstm_accel_model::random;
use lstm_accel_spec::link::{self, packet_frames, Frame};
use lstm_accel_spec::target::Family;
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

const CPB: u64 = 4;
/// Cycles between bytes (a UART byte is 10 bits).
const SPACING: usize = 10 * CPB as usize;

/// Inputs of one cycle.
#[derive(Clone, Copy, Debug, Default)]
struct In {
    byte: Option<u8>,
    ready: bool,
    taken: bool,
    reset: bool,
}

/// Outputs after one cycle's edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Out {
    tdata: u32,
    tvalid: bool,
    tlast: bool,
    reply: Option<(u8, u8)>,
    host_ack: bool,
    host_nak: bool,
    host_seq: u8,
}

struct Bench {
    uut: LinkRx,
    /// Every cycle's inputs, for the Icarus replay.
    inputs: Vec<In>,
    outputs: Vec<Out>,
    /// Words taken by the accelerator side, with tlast.
    words: Vec<(u32, bool)>,
    replies: Vec<(u8, u8)>,
    host: Vec<(bool, u8)>,
    r: rand_chacha::ChaCha8Rng,
    stall: f64,
    /// The reset input's level.
    resetting: bool,
}

impl Bench {
    fn new(seed: u64, stall: f64) -> Self {
        let mut uut = LinkRx::new(CPB);
        uut.clock.connect();
        uut.in_byte.connect();
        uut.in_valid.connect();
        uut.s_tready.connect();
        uut.reply_taken.connect();
        uut.reset.connect();
        uut.connect_all();
        Bench {
            uut,
            inputs: Vec::new(),
            outputs: Vec::new(),
            words: Vec::new(),
            replies: Vec::new(),
            host: Vec::new(),
            r: random::rng(seed),
            stall,
            resetting: false,
        }
    }

    fn cycle(&mut self, byte: Option<u8>) {
        let u = &mut self.uut;
        let ready = !self.r.random_bool(self.stall);
        // The transmitter takes a waiting answer (after a while).
        let taken = u.reply_valid.val() && self.r.random_bool(0.5);
        if u.s_tvalid.val() && ready {
            self.words
                .push((u.s_tdata.val().index() as u32, u.s_tlast.val()));
        }
        if taken {
            self.replies.push((
                u.reply_kind.val().index() as u8,
                u.reply_seq.val().index() as u8,
            ));
        }
        u.in_byte.next = u64::from(byte.unwrap_or(0)).into();
        u.in_valid.next = byte.is_some();
        u.s_tready.next = ready;
        u.reply_taken.next = taken;
        u.reset.next = self.resetting;
        clock_cycle(u, |u| &mut u.clock);
        self.inputs.push(In {
            byte,
            ready,
            taken,
            reset: self.resetting,
        });
        let out = Out {
            tdata: u.s_tdata.val().index() as u32,
            tvalid: u.s_tvalid.val(),
            tlast: u.s_tlast.val(),
            reply: u.reply_valid.val().then(|| {
                (
                    u.reply_kind.val().index() as u8,
                    u.reply_seq.val().index() as u8,
                )
            }),
            host_ack: u.host_ack.val(),
            host_nak: u.host_nak.val(),
            host_seq: u.host_seq.val().index() as u8,
        };
        if out.host_ack || out.host_nak {
            self.host.push((out.host_ack, out.host_seq));
        }
        self.outputs.push(out);
    }

    /// Sends bytes at the UART's pace.
    fn send(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.cycle(Some(b));
            for _ in 1..SPACING {
                self.cycle(None);
            }
        }
    }

    fn idle(&mut self, cycles: usize) {
        for _ in 0..cycles {
            self.cycle(None);
        }
    }

    /// Holds reset for `cycles` cycles.
    fn reset(&mut self, cycles: usize) {
        self.resetting = true;
        self.idle(cycles);
        self.resetting = false;
    }

    /// Sends `f` until it is answered `ACK(f.seq)`; returns the answers.
    fn send_acked(&mut self, f: &Frame, corrupt_first: bool) -> Vec<(u8, u8)> {
        let mut first = true;
        let start = self.replies.len();
        loop {
            let before = self.replies.len();
            let mut bytes = f.encode();
            if first && corrupt_first {
                let at = self.r.random_range(1..bytes.len());
                bytes[at] ^= 1 << self.r.random_range(0..8);
            }
            first = false;
            self.send(&bytes);
            // Wait for the answer: the forward may be stalled.
            for _ in 0..20_000 {
                if self.replies.len() > before {
                    break;
                }
                self.cycle(None);
            }
            let got = self.replies[before..].to_vec();
            assert!(!got.is_empty(), "no answer to frame {}", f.seq);
            if got.contains(&(link::D_ACK, f.seq)) {
                return self.replies[start..].to_vec();
            }
        }
    }
}

fn packets(r: &mut impl Rng) -> Vec<Vec<u32>> {
    [1usize, 2, 7, 255, 256, 300, 511, 3]
        .iter()
        .map(|&n| (0..n).map(|_| r.random()).collect())
        .collect()
}

#[test]
fn packets_arrive_whole_in_order_with_tlast_and_every_frame_acknowledged() {
    let mut b = Bench::new(21, 0.3);
    let mut r = random::rng(22);
    let ps = packets(&mut r);
    let mut seq = 0u8;
    let mut nak_seen = 0;
    for (i, p) in ps.iter().enumerate() {
        for f in packet_frames(p, seq, link::H_DATA, link::H_DATA_END) {
            // Every third frame is corrupted on its first try.
            let answers = b.send_acked(&f, (f.seq % 3) == 1);
            nak_seen += answers
                .iter()
                .filter(|a| **a == (link::D_NAK, f.seq))
                .count();
            seq = f.seq.wrapping_add(1);
        }
        // Garbage between packets, with a false SYNC cut off by a pause.
        if i % 2 == 0 {
            b.send(&[0x00, 0x13, link::SYNC, 0x01, 0x05]);
            b.idle((link::GAP_BYTE_TIMES as usize + 2) * SPACING);
        }
    }
    assert!(nak_seen > 0, "corrupted frames are answered NAK(expected)");
    let words: Vec<u32> = b.words.iter().map(|w| w.0).collect();
    assert_eq!(words, ps.concat());
    let lasts: Vec<usize> = (0..b.words.len()).filter(|&i| b.words[i].1).collect();
    let mut ends = Vec::new();
    let mut at = 0;
    for p in &ps {
        at += p.len();
        ends.push(at - 1);
    }
    assert_eq!(lasts, ends);
}

#[test]
fn repeats_wrong_sequences_busy_buffers_and_host_answers() {
    let mut b = Bench::new(23, 0.0);
    let f0 = Frame {
        kind: link::H_DATA_END,
        seq: 0,
        words: vec![1, 2, 3],
    };
    b.send_acked(&f0, false);
    // The same frame again (its ACK was lost): ACK, not forwarded twice.
    let before = b.replies.len();
    b.send(&f0.encode());
    b.idle(50);
    assert_eq!(&b.replies[before..], &[(link::D_ACK, 0)]);
    assert_eq!(b.words.len(), 3);
    // A frame from the future: NAK(expected).
    let before = b.replies.len();
    b.send(
        &Frame {
            kind: link::H_DATA,
            seq: 7,
            words: vec![9],
        }
        .encode(),
    );
    b.idle(50);
    assert_eq!(&b.replies[before..], &[(link::D_NAK, 1)]);
    // The host's own answers.
    b.send(
        &Frame {
            kind: link::H_ACK,
            seq: 42,
            words: vec![],
        }
        .encode(),
    );
    b.send(
        &Frame {
            kind: link::H_NAK,
            seq: 43,
            words: vec![],
        }
        .encode(),
    );
    b.idle(20);
    assert_eq!(b.host, vec![(true, 42), (false, 43)]);
    // A frame while the buffer waits on a stalled accelerator: dropped
    // without an answer; sent again once the buffer is free, it is taken.
    let mut stalled = Bench::new(24, 1.0);
    let f1 = Frame {
        kind: link::H_DATA_END,
        seq: 0,
        words: vec![5, 6],
    };
    stalled.send(&f1.encode());
    let f2 = Frame {
        kind: link::H_DATA_END,
        seq: 1,
        words: vec![7],
    };
    stalled.send(&f2.encode());
    stalled.idle(100);
    assert!(stalled.replies.is_empty() && stalled.words.is_empty());
    stalled.stall = 0.0;
    stalled.idle(100);
    assert_eq!(stalled.replies, vec![(link::D_ACK, 0)]);
    stalled.send_acked(&f2, false);
    assert_eq!(stalled.words, vec![(5, false), (6, true), (7, true)]);
}

/// Two packets' frames, then half of a third's bytes, then a reset: the
/// cut frame is forgotten (no words, no answer), and the receiver expects
/// sequence 0 again with its error count cleared.
fn reset_in_the_middle_of_a_frame(b: &mut Bench) {
    let f0 = Frame {
        kind: link::H_DATA_END,
        seq: 0,
        words: vec![1, 2],
    };
    b.send_acked(&f0, true);
    let f1 = Frame {
        kind: link::H_DATA_END,
        seq: 1,
        words: vec![3],
    };
    b.send_acked(&f1, false);
    let cut = Frame {
        kind: link::H_DATA_END,
        seq: 2,
        words: vec![4, 5, 6],
    }
    .encode();
    b.send(&cut[..cut.len() / 2]);
    let (words, replies) = (b.words.len(), b.replies.len());
    b.reset(3);
    b.idle(20);
    assert_eq!((b.words.len(), b.replies.len()), (words, replies));
    assert_eq!(b.uut.errors.val().index(), 0, "error count cleared");
    let again = Frame {
        kind: link::H_DATA_END,
        seq: 0,
        words: vec![7, 8],
    };
    let answers = b.send_acked(&again, false);
    assert_eq!(answers, vec![(link::D_ACK, 0)], "sequence 0 expected again");
    assert_eq!(&b.words[words..], &[(7, false), (8, true)]);
}

#[test]
fn a_reset_forgets_a_cut_frame_and_expects_sequence_zero() {
    reset_in_the_middle_of_a_frame(&mut Bench::new(27, 0.2));
}

#[test]
fn icarus_replays_it_cycle_for_cycle_and_it_lints_and_synthesises() {
    let mut b = Bench::new(25, 0.4);
    let mut r = random::rng(26);
    let p: Vec<u32> = (0..9).map(|_| r.random()).collect();
    for f in packet_frames(&p, 0, link::H_DATA, link::H_DATA_END) {
        b.send_acked(&f, true);
    }
    b.send(&[0x7e, 0x03, 0x05, 0x00, 0x12, 0x34]);
    b.idle(60);
    reset_in_the_middle_of_a_frame(&mut b);
    let mut uut = LinkRx::new(CPB);
    uut.connect_all();
    let verilog = generate_verilog(&uut);
    let mut tb = String::from(
        "module tb;\nreg clock = 0;\nreg [7:0] byte_in = 0;\nreg byte_valid = 0, ready = 0, taken = 0, rst = 0;\nwire [31:0] tdata;\nwire tvalid, tlast, reply_valid, host_ack, host_nak;\nwire [7:0] reply_kind, reply_seq, host_seq;\nwire [15:0] errors;\ntop uut(.clock(clock), .reset(rst), .in_byte(byte_in), .in_valid(byte_valid), .s_tdata(tdata), .s_tvalid(tvalid), .s_tlast(tlast), .s_tready(ready), .reply_valid(reply_valid), .reply_kind(reply_kind), .reply_seq(reply_seq), .reply_taken(taken), .host_ack(host_ack), .host_nak(host_nak), .host_seq(host_seq), .errors(errors));\ninitial begin\n",
    );
    for i in &b.inputs {
        let _ = writeln!(
            tb,
            "    byte_in = {}; byte_valid = {}; ready = {}; taken = {}; rst = {};\n    #5 clock = 1; #5 clock = 0; #1 $display(\"%0d %0d %0d %0d %0d %0d %0d %0d %0d\", tvalid ? tdata : 0, tvalid, tlast, reply_valid, reply_valid ? reply_kind : 0, reply_valid ? reply_seq : 0, host_ack, host_nak, (host_ack | host_nak) ? host_seq : 0);",
            i.byte.unwrap_or(0),
            u8::from(i.byte.is_some()),
            u8::from(i.ready),
            u8::from(i.taken),
            u8::from(i.reset)
        );
    }
    tb.push_str("    $finish;\nend\nendmodule\n");
    let icarus = icarus_values(&format!("{verilog}\n{tb}"), "tb").expect("icarus runs");
    let want: Vec<Vec<i64>> = b
        .outputs
        .iter()
        .map(|o| {
            let (rk, rs) = o.reply.unwrap_or((0, 0));
            let pulse = o.host_ack || o.host_nak;
            vec![
                if o.tvalid { i64::from(o.tdata) } else { 0 },
                i64::from(o.tvalid),
                i64::from(o.tlast),
                i64::from(o.reply.is_some()),
                i64::from(rk),
                i64::from(rs),
                i64::from(o.host_ack),
                i64::from(o.host_nak),
                if pulse { i64::from(o.host_seq) } else { 0 },
            ]
        })
        .collect();
    // Values are compared where they mean something: data while valid,
    // an answer while it waits, a sequence with its pulse (the registers
    // behind them start undefined in Verilog).
    if let Some(d) = first_difference(&icarus, &want) {
        panic!("{d}");
    }
    let lint = verilator_lint(&verilog, "top").expect("lint is clean");
    assert!(!lint.contains("%Warning"), "{lint}");
    for family in [Family::Ice40, Family::Ecp5] {
        let s = yosys_synth(&verilog, "top", family).expect("yosys");
        assert!(s.latches.is_empty());
    }
}
