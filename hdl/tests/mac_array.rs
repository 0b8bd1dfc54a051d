//! The MAC array: generated Verilog (run-time widths, Verilator lint, Yosys for
//! iCE40 and ECP5 without latches, fewer LUTs at 8 bits than at 16), and exact
//! numbers in simulation: the native engine against the reference's row sums,
//! and Icarus Verilog against the native engine cycle by cycle; the same for
//! an array that takes its data values a cycle after the codes (`x_late`).

use lstm_accel_hdl::blocks::mac_array::{MacArray, MacShape};
use lstm_accel_hdl::blocks::shift_add_lane::max_shift;
use lstm_accel_hdl::dynamic::{clock_cycle, DynVal};
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth};
use lstm_accel_model::encoding::ScalarCode;
use lstm_accel_model::random;
use lstm_accel_spec::target::Family;
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

/// One cycle of input.
#[derive(Clone, Debug)]
struct Word {
    codes: Vec<i8>,
    xs: Vec<i64>,
    first: bool,
    last: bool,
    valid: bool,
    shift: i64,
}

impl Word {
    /// A cycle with no word.
    fn idle(lanes: usize) -> Word {
        Word {
            codes: vec![0; lanes],
            xs: vec![0; lanes],
            first: false,
            last: false,
            valid: false,
            shift: 0,
        }
    }
}

fn build(s: MacShape) -> MacArray {
    let mut uut = MacArray::new(s);
    uut.clock.connect();
    for c in uut.codes.iter_mut().chain(uut.xs.iter_mut()) {
        c.connect();
    }
    uut.first.connect();
    uut.last.connect();
    uut.valid.connect();
    uut.shift.connect();
    uut.connect_all();
    uut
}

fn decoder(s: MacShape) -> ScalarCode {
    ScalarCode::Pow2 {
        emin: 0,
        emax: max_shift(s.code_bits) as i32,
    }
}

/// The data values presented in cycle `i`: word `i`'s, or with `x_late`
/// the previous word's.
fn xs_at(s: MacShape, words: &[Word], i: usize) -> Vec<i64> {
    match (s.x_late, i) {
        (false, _) => words[i].xs.clone(),
        (true, 0) => vec![0; s.lanes],
        (true, _) => words[i - 1].xs.clone(),
    }
}

/// Native simulation: outputs (acc, row_done) after each cycle.
fn run_native(s: MacShape, words: &[Word]) -> Vec<(i64, i64)> {
    let mut uut = build(s);
    let dec = decoder(s);
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        for (k, (c, x)) in w.codes.iter().zip(&xs_at(s, words, i)).enumerate() {
            uut.codes[k].next = DynVal(i64::from(dec.stored_in(*c, s.code_bits as u32)));
            uut.xs[k].next = DynVal(*x);
        }
        uut.first.next = DynVal(i64::from(w.first));
        uut.last.next = DynVal(i64::from(w.last));
        uut.valid.next = DynVal(i64::from(w.valid));
        uut.shift.next = DynVal(w.shift);
        clock_cycle(&mut uut, |u| &mut u.clock);
        out.push((uut.acc.val().0, uut.row_done.val().0));
    }
    out
}

/// Random rows of `words` words each, back to back, with idle cycles
/// sprinkled in and extreme values.
fn stimulus(r: &mut impl Rng, s: MacShape, rows: usize, words: usize) -> (Vec<Word>, Vec<i64>) {
    let dec = decoder(s);
    let k = (max_shift(s.code_bits) + 1) as i8;
    let lim = 1i64 << (s.x_width - 1);
    let max_shift_in = (1i64 << (s.shift_bits - 1)) - 1;
    let mut out = Vec::new();
    let mut sums = Vec::new();
    for _ in 0..rows {
        let mut sum = 0i64;
        for w in 0..words {
            if r.random_bool(0.2) {
                out.push(Word::idle(s.lanes));
            }
            let codes: Vec<i8> = (0..s.lanes).map(|_| r.random_range(-k..=k)).collect();
            let xs: Vec<i64> = (0..s.lanes)
                .map(|_| match r.random_range(0..8) {
                    0 => -lim,
                    1 => lim - 1,
                    _ => r.random_range(-lim..lim),
                })
                .collect();
            let shift = r.random_range(0..=max_shift_in);
            let products: i64 = codes.iter().zip(&xs).map(|(&c, &x)| dec.mul(x, c)).sum();
            sum += products << shift;
            out.push(Word {
                codes,
                xs,
                first: w == 0,
                last: w == words - 1,
                valid: true,
                shift,
            });
        }
        sums.push(sum);
    }
    // Drain the pipeline.
    for _ in 0..MacArray::latency(s.lanes) + 2 {
        out.push(Word::idle(s.lanes));
    }
    (out, sums)
}

fn shape(lanes: usize, code_bits: usize, x_width: usize, x_late: bool) -> MacShape {
    MacShape {
        x_late,
        lanes,
        code_bits,
        multiply: false,
        x_width,
        shift_bits: 4,
        // Room for 8 words of shifted products.
        acc_width: x_width
            + max_shift(code_bits)
            + 1
            + lanes.next_power_of_two().trailing_zeros() as usize
            + 3
            + 7,
    }
}

#[test]
fn native_simulation_sums_rows_exactly_like_the_reference() {
    let mut r = random::rng(17);
    for (lanes, code_bits, x_width, x_late) in [
        (1, 2, 8, false),
        (3, 2, 12, false),
        (4, 4, 8, false),
        (16, 2, 16, false),
        (7, 5, 6, false),
        (16, 2, 8, true),
        (5, 4, 10, true),
    ] {
        let s = shape(lanes, code_bits, x_width, x_late);
        let words = 1 + lanes % 4;
        let (stim, sums) = stimulus(&mut r, s, 12, words);
        let out = run_native(s, &stim);
        let done: Vec<i64> = out
            .iter()
            .filter(|(_, d)| *d != 0)
            .map(|(a, _)| *a)
            .collect();
        assert_eq!(
            done, sums,
            "lanes {lanes}, code bits {code_bits}, x {x_width}"
        );
        // A word presented before edge t is in the accumulator after edge
        // t + latency - 1 (edge t itself is the lane register's).
        let last_in = stim.iter().position(|w| w.last).expect("a row");
        let first_out = out.iter().position(|(_, d)| *d != 0).expect("a result");
        assert_eq!(first_out - last_in, MacArray::latency(lanes) - 1);
    }
}

fn testbench(s: MacShape, stim: &[Word]) -> String {
    let dec = decoder(s);
    let mut tb = String::from("module tb;\nreg clock = 0;\n");
    for k in 0..s.lanes {
        let _ = writeln!(
            tb,
            "reg signed [{}:0] c{k} = 0;\nreg signed [{}:0] x{k} = 0;",
            s.code_bits - 1,
            s.x_width - 1
        );
    }
    let _ = writeln!(
        tb,
        "reg signed [1:0] first = 0, last = 0, valid = 0;\nreg signed [{}:0] shift = 0;\nwire signed [{}:0] acc;\nwire signed [1:0] row_done;",
        s.shift_bits - 1,
        s.acc_width - 1
    );
    tb.push_str("top uut(.clock(clock), ");
    for k in 0..s.lanes {
        let _ = write!(tb, ".codes${k}(c{k}), .xs${k}(x{k}), ");
    }
    tb.push_str(".first(first), .last(last), .valid(valid), .shift(shift), .acc(acc), .row_done(row_done));\ninitial begin\n");
    for (i, w) in stim.iter().enumerate() {
        for (k, (c, x)) in w.codes.iter().zip(xs_at(s, stim, i)).enumerate() {
            let _ = write!(
                tb,
                "    c{k} = {}; x{k} = {x};",
                dec.stored_in(*c, s.code_bits as u32)
            );
        }
        let _ = writeln!(
            tb,
            " first = {}; last = {}; valid = {}; shift = {};\n    #5 clock = 1; #5 clock = 0; #1 $display(\"%0d %0d\", acc, row_done);",
            u8::from(w.first),
            u8::from(w.last),
            u8::from(w.valid),
            w.shift
        );
    }
    tb.push_str("    $finish;\nend\nendmodule\n");
    tb
}

#[test]
fn icarus_agrees_with_the_native_engine_cycle_by_cycle() {
    let mut r = random::rng(5);
    for (lanes, code_bits, x_width, x_late) in [
        (4, 2, 8, false),
        (5, 4, 10, false),
        (8, 3, 16, false),
        (8, 2, 8, true),
    ] {
        let s = shape(lanes, code_bits, x_width, x_late);
        let (stim, _) = stimulus(&mut r, s, 6, 3);
        let native = run_native(s, &stim);
        let verilog = generate_verilog(&build(s));
        let icarus = icarus_values(&format!("{verilog}\n{}", testbench(s, &stim)), "tb")
            .expect("icarus runs");
        let native: Vec<Vec<i64>> = native.iter().map(|&(a, d)| vec![a, d]).collect();
        assert_eq!(
            icarus, native,
            "lanes {lanes}: Icarus and the native engine differ"
        );
    }
}

#[test]
fn verilog_has_the_model_widths_lints_and_synthesises_without_latches() {
    let s8 = shape(16, 2, 8, false);
    let v8 = generate_verilog(&build(s8));
    assert!(
        v8.contains("input wire signed [7:0] xs$15"),
        "data ports are 8 bits"
    );
    assert!(v8.contains(&format!("output reg signed [{}:0] acc", s8.acc_width - 1)));
    let lint = verilator_lint(&v8, "top").expect("verilator lint is clean");
    assert!(!lint.contains("%Warning"), "{lint}");
    let v8_late = generate_verilog(&build(shape(16, 2, 8, true)));
    let lint = verilator_lint(&v8_late, "top").expect("verilator lint is clean");
    assert!(!lint.contains("%Warning"), "{lint}");
    let s16 = shape(16, 2, 16, false);
    let v16 = generate_verilog(&build(s16));
    let mut luts = Vec::new();
    for family in [Family::Ice40, Family::Ecp5] {
        let a = yosys_synth(&v8, "top", family).expect("yosys");
        let b = yosys_synth(&v16, "top", family).expect("yosys");
        assert!(
            a.latches.is_empty() && b.latches.is_empty(),
            "{:?} {:?}",
            a.latches,
            b.latches
        );
        println!(
            "{family:?} 16-lane ternary MAC array: 8-bit data {} LUTs {} FFs, 16-bit data {} LUTs {} FFs",
            a.luts(),
            a.flip_flops(),
            b.luts(),
            b.flip_flops()
        );
        assert!(
            a.luts() > 0 && a.luts() * 10 < b.luts() * 8,
            "8-bit {} vs 16-bit {}",
            a.luts(),
            b.luts()
        );
        luts.push((a.luts(), b.luts()));
        // Taking the data late drops the arrays' data registers, and
        // nothing else.
        let late = yosys_synth(&v8_late, "top", family).expect("yosys");
        assert!(late.latches.is_empty(), "{:?}", late.latches);
        assert_eq!(
            late.flip_flops() + 16 * 8,
            a.flip_flops(),
            "{family:?}: registered data {} flip-flops, late data {}",
            a.flip_flops(),
            late.flip_flops()
        );
    }
}
