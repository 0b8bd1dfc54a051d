//! The stream register slice passes every word once, in order, with its
//! last and user bits, at one word
//! per cycle when nothing stalls, under random valid and ready on both
//! sides (native engine, against a queue); Icarus runs the generated
//! Verilog cycle for cycle like the native engine, resets included;
//! Verilator lints it and
//! Yosys synthesises it without latches.

use lstm_accel_hdl::blocks::stream_slice::StreamSlice;
use lstm_accel_hdl::dynamic::{clock_cycle, settle};
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth};
use lstm_accel_model::random;
use lstm_accel_spec::target::Family;
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

/// Per cycle: (word offered, if any, with its last and user flags;
/// out_ready; reset).
type Drive = (Option<Word>, bool, bool);

/// Per cycle, before the edge: in_ready, out_valid, out_data, out_last,
/// out_user.
type Seen = (bool, bool, u32, bool, u8);

/// A word, its last flag and its user bits.
type Word = (u32, bool, u8);

fn slice() -> StreamSlice {
    let mut s = StreamSlice::default();
    s.clock.connect();
    s.in_data.connect();
    s.in_valid.connect();
    s.in_last.connect();
    s.in_user.connect();
    s.out_ready.connect();
    s.reset.connect();
    s.connect_all();
    s
}

/// Offers words 1, 2, 3, ... (held until taken, as AXI requires) with
/// random gaps, and random out_ready; `p_in` and `p_ready` are their
/// probabilities, `p_reset` that of a reset in a cycle.
fn run_native(
    r: &mut impl Rng,
    cycles: usize,
    p_in: f64,
    p_ready: f64,
    p_reset: f64,
) -> (Vec<Drive>, Vec<Seen>) {
    let mut s = slice();
    let mut next = 1u32;
    let mut offer: Option<Word> = None;
    let (mut drives, mut seen) = (Vec::new(), Vec::new());
    for _ in 0..cycles {
        if offer.is_none() && r.random_bool(p_in) {
            // The user bits vary apart from the last flag.
            offer = Some((next, next % 5 == 0, (next * 37 % 256) as u8));
            next += 1;
        }
        let ready = r.random_bool(p_ready);
        let reset = r.random_bool(p_reset);
        let (d, l, u) = offer.unwrap_or((0, false, 0));
        s.in_data.next = u64::from(d).into();
        s.in_valid.next = offer.is_some();
        s.in_last.next = l;
        s.in_user.next = u64::from(u).into();
        s.out_ready.next = ready;
        s.reset.next = reset;
        settle(&mut s, 100);
        let now = (
            s.in_ready.val(),
            s.out_valid.val(),
            s.out_data.val().index() as u32,
            s.out_last.val(),
            s.out_user.val().index() as u8,
        );
        drives.push((offer, ready, reset));
        seen.push(now);
        if offer.is_some() && now.0 {
            offer = None;
        }
        clock_cycle(&mut s, |s| &mut s.clock);
    }
    (drives, seen)
}

/// Words taken in and words delivered, in order.
fn transfers(drives: &[Drive], seen: &[Seen]) -> (Vec<Word>, Vec<Word>) {
    let mut taken = Vec::new();
    let mut out = Vec::new();
    for (&(offer, ready, _), &(in_ready, valid, data, last, user)) in drives.iter().zip(seen) {
        if let (Some(w), true) = (offer, in_ready) {
            taken.push(w);
        }
        if valid && ready {
            out.push((data, last, user));
        }
    }
    (taken, out)
}

#[test]
fn every_word_passes_once_in_order_under_random_stalls() {
    let mut r = random::rng(61);
    for (p_in, p_ready) in [(0.5, 0.5), (0.9, 0.3), (0.3, 0.9), (1.0, 1.0), (1.0, 0.1)] {
        let (drives, seen) = run_native(&mut r, 3000, p_in, p_ready, 0.0);
        let (taken, out) = transfers(&drives, &seen);
        assert!(taken.len() > 200, "{p_in}/{p_ready}: {} words", taken.len());
        // At most two words inside the slice at the end.
        assert!(taken.len() - out.len() <= 2);
        assert_eq!(
            out,
            taken[..out.len()],
            "{p_in}/{p_ready}: order and content"
        );
        assert!(taken.iter().enumerate().all(|(i, w)| w.0 == i as u32 + 1));
    }
}

#[test]
fn it_moves_a_word_per_cycle_when_nothing_stalls() {
    let mut r = random::rng(62);
    let (drives, seen) = run_native(&mut r, 1000, 1.0, 1.0, 0.0);
    let (_, out) = transfers(&drives, &seen);
    // The first word is on offer from the second cycle on.
    assert_eq!(out.len(), 999);
    assert!(seen.iter().all(|s| s.0), "upstream is never held back");
}

#[test]
fn icarus_runs_it_like_the_native_engine_and_it_lints_and_synthesises() {
    let mut r = random::rng(63);
    // With resets now and then: both engines drop the same words.
    let (drives, seen) = run_native(&mut r, 600, 0.7, 0.6, 0.03);
    let verilog = generate_verilog(&slice());
    let mut tb = String::from(
        "module tb;\nreg clock = 0;\nreg [31:0] d = 0;\nreg [7:0] u = 0;\nreg v = 0, l = 0, rdy = 0, rst = 0;\nwire [31:0] od;\nwire [7:0] ou;\nwire ir, ov, ol;\ntop uut(.clock(clock), .reset(rst), .in_data(d), .in_valid(v), .in_last(l), .in_user(u), .in_ready(ir), .out_data(od), .out_valid(ov), .out_last(ol), .out_user(ou), .out_ready(rdy));\ninitial begin\n",
    );
    for &(offer, ready, reset) in &drives {
        let (dd, ll, uu) = offer.unwrap_or((0, false, 0));
        let _ = writeln!(
            tb,
            "    d = {dd}; v = {}; l = {}; u = {}; rdy = {}; rst = {};\n    #1 $display(\"%0d %0d %0d %0d %0d\", ir, ov, od, ol, ou);\n    #4 clock = 1; #5 clock = 0;",
            u8::from(offer.is_some()),
            u8::from(ll),
            uu,
            u8::from(ready),
            u8::from(reset)
        );
    }
    tb.push_str("    $finish;\nend\nendmodule\n");
    let got = icarus_values(&format!("{verilog}\n{tb}"), "tb").expect("icarus runs");
    let want: Vec<Vec<i64>> = seen
        .iter()
        .map(|&(ir, ov, od, ol, ou)| {
            vec![
                i64::from(ir),
                i64::from(ov),
                i64::from(od),
                i64::from(ol),
                i64::from(ou),
            ]
        })
        .collect();
    assert_eq!(got.len(), want.len());
    let first = got.iter().zip(&want).position(|(a, b)| a != b);
    assert_eq!(first, None, "first differing cycle");
    let lint = verilator_lint(&verilog, "top").expect("lint is clean");
    assert!(!lint.contains("%Warning"), "{lint}");
    for family in [Family::Ice40, Family::Ecp5] {
        let s = yosys_synth(&verilog, "top", family).expect("yosys");
        assert!(s.latches.is_empty(), "{:?}", s.latches);
        assert!(s.flip_flops() >= 84, "two 42-bit registers");
    }
}
