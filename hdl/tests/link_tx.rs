//! The bridge's transmitter against the link's own parser
//! (`link::FrameParser`): the accelerator's packets of every size, offered
//! with random gaps, leave as CRC-correct data frames in sequence, split at
//! 255 words, `DATA_END` on each packet's last, and nothing more is taken
//! from the stream until the host acknowledges; the receiver's answers go
//! out whole between data frames. A host `NAK` brings the frame again; a lost
//! `ACK` brings it again after the time-out, and the host's repeated `ACK`
//! moves on. A reset cuts the frame on the line and the numbering starts
//! over. Icarus replays the same inputs cycle for cycle; Verilator lints
//! it and Yosys synthesises it.

use lstm_accel_hdl::blocks::link_tx::LinkTx;
use lstm_accel_hdl::dynamic::{clock_cycle, settle};
use lstm_accel_hdl::tools::{first_difference, icarus_values, verilator_lint, yosys_synth};
use lstm_accel_model::random;
use lstm_accel_spec::link::{self, Frame, FrameParser, Parsed};
use lstm_accel_spec::target::Family;
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

const CPB: u64 = 4;
/// Cycles the UART is busy with one byte.
const BYTE: usize = 10 * CPB as usize;

#[derive(Clone, Copy, Debug, Default)]
struct In {
    data: u32,
    valid: bool,
    last: bool,
    reply: Option<(u8, u8)>,
    ack: Option<u8>,
    nak: bool,
    tx_ready: bool,
    reset: bool,
}

struct Bench {
    uut: LinkTx,
    inputs: Vec<In>,
    /// (tx_valid, tx_data, m_tready, reply_taken) after each edge.
    outputs: Vec<[i64; 4]>,
    parser: FrameParser,
    frames: Vec<Frame>,
    /// UART busy cycles left.
    uart: usize,
    r: rand_chacha::ChaCha8Rng,
}

impl Bench {
    fn new(seed: u64) -> Self {
        let mut uut = LinkTx::new(CPB);
        uut.clock.connect();
        uut.m_tdata.connect();
        uut.m_tvalid.connect();
        uut.m_tlast.connect();
        uut.reply_valid.connect();
        uut.reply_kind.connect();
        uut.reply_seq.connect();
        uut.host_ack.connect();
        uut.host_nak.connect();
        uut.host_seq.connect();
        uut.tx_ready.connect();
        uut.reset.connect();
        uut.connect_all();
        // The outputs settle before the first cycle's inputs are decided.
        settle(&mut uut, 100);
        Bench {
            uut,
            inputs: Vec::new(),
            outputs: Vec::new(),
            parser: FrameParser::new(),
            frames: Vec::new(),
            uart: 0,
            r: random::rng(seed),
        }
    }

    /// One cycle with `i` (its `tx_ready` is the UART's own); returns
    /// whether the offered stream word was taken and whether the reply was.
    fn cycle(&mut self, mut i: In) -> (bool, bool) {
        i.tx_ready = self.uart == 0;
        let u = &mut self.uut;
        let took_word = i.valid && u.m_tready.val();
        if i.tx_ready && u.tx_valid.val() {
            let b = u.tx_data.val().index() as u8;
            if let Parsed::Frame(f) = self.parser.push(b) {
                self.frames.push(f);
            }
            self.uart = BYTE;
        } else if self.uart > 0 {
            self.uart -= 1;
        }
        u.m_tdata.next = u64::from(i.data).into();
        u.m_tvalid.next = i.valid;
        u.m_tlast.next = i.last;
        u.reply_valid.next = i.reply.is_some();
        let (k, s) = i.reply.unwrap_or((0, 0));
        u.reply_kind.next = u64::from(k).into();
        u.reply_seq.next = u64::from(s).into();
        u.host_ack.next = i.ack.is_some();
        u.host_nak.next = i.nak;
        u.host_seq.next = u64::from(i.ack.unwrap_or(0)).into();
        u.tx_ready.next = i.tx_ready;
        u.reset.next = i.reset;
        // The reply is taken in this cycle when the transmitter says so
        // (combinationally, before the edge).
        settle(u, 100);
        let took_reply = u.reply_taken.val();
        clock_cycle(u, |u| &mut u.clock);
        self.inputs.push(i);
        self.outputs.push([
            i64::from(u.tx_valid.val()),
            if u.tx_valid.val() {
                u.tx_data.val().index() as i64
            } else {
                0
            },
            i64::from(u.m_tready.val()),
            i64::from(u.reply_taken.val()),
        ]);
        (took_word, took_reply)
    }

    fn idle(&mut self, n: usize) {
        for _ in 0..n {
            self.cycle(In::default());
        }
    }
}

/// Offers `packets` word by word (random gaps), acknowledging each data
/// frame a little after it arrives, unless `drop_ack(seq)` (the `ACK` is
/// lost) or `nak(seq)` (a `NAK` first, on its first arrival).
fn run(
    b: &mut Bench,
    packets: &[Vec<u32>],
    drop_ack: impl Fn(u8) -> bool,
    nak: impl Fn(u8) -> bool,
) -> Vec<u32> {
    let words: Vec<(u32, bool)> = packets
        .iter()
        .flat_map(|p| p.iter().enumerate().map(|(i, &w)| (w, i + 1 == p.len())))
        .collect();
    let mut next = 0;
    let mut seen = 0;
    let mut got = Vec::new();
    let mut acked: Option<u8> = None;
    let mut pending: Option<(usize, In)> = None;
    let mut dropped = std::collections::HashSet::new();
    let mut naked = std::collections::HashSet::new();
    for _ in 0..2_000_000 {
        if next == words.len() && got.len() == words.len() && pending.is_none() {
            break;
        }
        let mut i = In::default();
        if next < words.len() && b.r.random_bool(0.7) {
            i.data = words[next].0;
            i.valid = true;
            i.last = words[next].1;
        }
        if let Some((0, a)) = pending {
            i.ack = a.ack;
            i.nak = a.nak;
            pending = None;
        } else if let Some((t, a)) = pending {
            pending = Some((t - 1, a));
        }
        let (took, _) = b.cycle(i);
        if took {
            next += 1;
        }
        while seen < b.frames.len() {
            let f = b.frames[seen].clone();
            seen += 1;
            assert!(f.is_data(), "{f:?}");
            let new = acked != Some(f.seq);
            if nak(f.seq) && naked.insert(f.seq) {
                pending = Some((
                    b.r.random_range(0..50),
                    In {
                        nak: true,
                        ..In::default()
                    },
                ));
                continue;
            }
            if new {
                got.extend(&f.words);
                acked = Some(f.seq);
                if f.ends_packet() {
                    assert!(
                        words[got.len() - 1].1,
                        "DATA_END closes packet at word {}",
                        got.len()
                    );
                }
            }
            if drop_ack(f.seq) && dropped.insert(f.seq) {
                continue;
            }
            pending = Some((
                b.r.random_range(0..50),
                In {
                    ack: Some(f.seq),
                    ..In::default()
                },
            ));
        }
    }
    got
}

/// Offers `words` as one packet, each word until taken.
fn offer(b: &mut Bench, words: &[u32]) {
    for (k, &w) in words.iter().enumerate() {
        let i = In {
            data: w,
            valid: true,
            last: k + 1 == words.len(),
            ..In::default()
        };
        while !b.cycle(i).0 {}
    }
}

/// A packet whose data frame a reset cuts while it is on the line: nothing
/// more of it goes out, the stream is taken again at once, and the next
/// packet leaves as sequence 0 (the bridge's numbering starts over).
fn reset_while_sending(b: &mut Bench) {
    offer(b, &[11, 12, 13, 14, 15]);
    b.idle(BYTE * 8);
    let frames = b.frames.len();
    for _ in 0..3 {
        b.cycle(In {
            reset: true,
            ..In::default()
        });
    }
    b.idle(BYTE * 60);
    assert_eq!(b.frames.len(), frames, "the cut frame never completes");
    assert!(b.uut.m_tready.val(), "the buffer is empty");
    // The host gives up on the cut frame after the pause.
    b.parser.abandon();
    offer(b, &[21, 22]);
    b.idle(BYTE * 30);
    let f = b.frames.last().expect("a frame");
    assert_eq!((f.seq, f.words.clone()), (0, vec![21, 22]));
}

#[test]
fn a_reset_cuts_the_frame_on_the_line_and_numbering_starts_over() {
    let mut b = Bench::new(38);
    let mut r = random::rng(39);
    let ps = packets(&mut r, &[4]);
    assert_eq!(run(&mut b, &ps, |_| false, |_| false), ps.concat());
    reset_while_sending(&mut b);
}

fn packets(r: &mut impl Rng, sizes: &[usize]) -> Vec<Vec<u32>> {
    sizes
        .iter()
        .map(|&n| (0..n).map(|_| r.random()).collect())
        .collect()
}

#[test]
fn packets_leave_as_acknowledged_frames_in_sequence() {
    let mut b = Bench::new(31);
    let mut r = random::rng(32);
    let ps = packets(&mut r, &[1, 3, 255, 256, 600, 2]);
    let got = run(&mut b, &ps, |_| false, |_| false);
    assert_eq!(got, ps.concat());
    let seqs: Vec<u8> = b.frames.iter().map(|f| f.seq).collect();
    assert_eq!(seqs, (0..seqs.len() as u8).collect::<Vec<_>>());
    assert!(b.frames.iter().all(|f| f.words.len() <= link::MAX_WORDS));
    assert_eq!(b.parser.dropped, 0, "nothing between frames");
}

#[test]
fn naks_and_lost_acks_bring_the_frame_again() {
    let mut b = Bench::new(33);
    let mut r = random::rng(34);
    let ps = packets(&mut r, &[5, 300, 4]);
    let got = run(&mut b, &ps, |s| s == 1, |s| s == 0 || s == 2);
    assert_eq!(got, ps.concat());
    let resends = b.uut.resends.val().index();
    // Two NAKs and one lost ACK.
    assert_eq!(resends, 3, "frames sent again");
    let repeats = b.frames.len() - 4;
    assert_eq!(repeats, 3);
}

#[test]
fn answers_go_out_whole_between_data_frames() {
    let mut b = Bench::new(35);
    // A long packet starts; answers are requested meanwhile.
    let mut taken = Vec::new();
    let mut want = vec![(link::D_ACK, 7u8), (link::D_NAK, 9)];
    let mut i = 0;
    for t in 0..40_000 {
        let mut inp = In::default();
        if i < 40 {
            inp.data = i;
            inp.valid = true;
            inp.last = i == 39;
        }
        if t > 300 {
            if let Some(&r) = want.first() {
                inp.reply = Some(r);
            }
        }
        let (took, took_reply) = b.cycle(inp);
        if took {
            i += 1;
        }
        if took_reply {
            taken.push(want.remove(0));
        }
    }
    assert_eq!(taken, vec![(link::D_ACK, 7), (link::D_NAK, 9)]);
    let kinds: Vec<(u8, u8, usize)> = b
        .frames
        .iter()
        .map(|f| (f.kind, f.seq, f.words.len()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (link::D_DATA_END, 0, 40),
            (link::D_ACK, 7, 0),
            (link::D_NAK, 9, 0)
        ]
    );
    assert_eq!(b.parser.dropped, 0);
}

#[test]
fn icarus_replays_it_cycle_for_cycle_and_it_lints_and_synthesises() {
    let mut b = Bench::new(36);
    let mut r = random::rng(37);
    let ps = packets(&mut r, &[3, 6]);
    let got = run(&mut b, &ps, |_| false, |s| s == 0);
    assert_eq!(got, ps.concat());
    b.idle(20);
    reset_while_sending(&mut b);
    let mut uut = LinkTx::new(CPB);
    uut.connect_all();
    let verilog = generate_verilog(&uut);
    let mut tb = String::from(
        "module tb;\nreg clock = 0;\nreg [31:0] data = 0;\nreg valid = 0, last = 0, rv = 0, ack = 0, nak = 0, ready = 0, rst = 0;\nreg [7:0] rk = 0, rs = 0, hs = 0;\nwire [7:0] tx_data;\nwire tx_valid, m_tready, reply_taken;\nwire [15:0] resends;\ntop uut(.clock(clock), .reset(rst), .m_tdata(data), .m_tvalid(valid), .m_tlast(last), .m_tready(m_tready), .reply_valid(rv), .reply_kind(rk), .reply_seq(rs), .reply_taken(reply_taken), .host_ack(ack), .host_nak(nak), .host_seq(hs), .tx_data(tx_data), .tx_valid(tx_valid), .tx_ready(ready), .resends(resends));\ninitial begin\n",
    );
    for i in &b.inputs {
        let (k, s) = i.reply.unwrap_or((0, 0));
        let _ = writeln!(
            tb,
            "    data = {}; valid = {}; last = {}; rv = {}; rk = {k}; rs = {s}; ack = {}; nak = {}; hs = {}; ready = {}; rst = {};\n    #5 clock = 1; #5 clock = 0; #1 $display(\"%0d %0d %0d %0d\", tx_valid, tx_valid ? tx_data : 0, m_tready, reply_taken);",
            i.data,
            u8::from(i.valid),
            u8::from(i.last),
            u8::from(i.reply.is_some()),
            u8::from(i.ack.is_some()),
            u8::from(i.nak),
            i.ack.unwrap_or(0),
            u8::from(i.tx_ready),
            u8::from(i.reset)
        );
    }
    tb.push_str("    $finish;\nend\nendmodule\n");
    let icarus = icarus_values(&format!("{verilog}\n{tb}"), "tb").expect("icarus runs");
    let want: Vec<Vec<i64>> = b.outputs.iter().map(|o| o.to_vec()).collect();
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
