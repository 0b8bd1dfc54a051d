//! The arg-max unit decodes exactly like the model (`trace::argmax`, first
//! maximum on ties), in the native engine and in Icarus; lint and synthesis.

use lstm_accel_hdl::blocks::argmax::ArgMax;
use lstm_accel_hdl::dynamic::{clock_cycle, DynVal};
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth};
use lstm_accel_model::random;
use lstm_accel_model::trace::argmax;
use lstm_accel_spec::target::Family;
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

fn build(width: usize, count: usize) -> ArgMax {
    let mut a = ArgMax::new(width, count);
    a.clock.connect();
    a.value.connect();
    a.valid.connect();
    a.first.connect();
    a.connect_all();
    a
}

/// (value, valid, first).
type Cycle = (i64, bool, bool);

/// (value, valid, first) per cycle, and per search its closing cycle and
/// expected index.
fn searches(
    r: &mut impl Rng,
    width: usize,
    count: usize,
    n: usize,
) -> (Vec<Cycle>, Vec<(usize, usize)>) {
    let lim = 1i64 << (width - 1);
    let mut cycles = Vec::new();
    let mut expect = Vec::new();
    for _ in 0..n {
        // Few distinct values: ties are common.
        let pool: Vec<i64> = (0..3).map(|_| r.random_range(-lim..lim)).collect();
        let logits: Vec<i64> = (0..count).map(|_| pool[r.random_range(0..3)]).collect();
        for (k, &v) in logits.iter().enumerate() {
            if r.random_bool(0.2) {
                cycles.push((0, false, false));
            }
            cycles.push((v, true, k == 0));
        }
        expect.push((cycles.len(), argmax(logits.iter().copied())));
        cycles.push((0, false, false));
    }
    (cycles, expect)
}

fn run_native(width: usize, count: usize, cycles: &[Cycle]) -> Vec<i64> {
    let mut a = build(width, count);
    cycles
        .iter()
        .map(|&(v, valid, first)| {
            a.value.next = DynVal(v);
            a.valid.next = DynVal(i64::from(valid));
            a.first.next = DynVal(i64::from(first));
            clock_cycle(&mut a, |a| &mut a.clock);
            a.index.val().0
        })
        .collect()
}

#[test]
fn decodes_the_first_maximum_like_the_model() {
    let mut r = random::rng(8);
    for (width, count) in [(8, 1), (12, 10), (24, 16), (6, 33)] {
        let (cycles, expect) = searches(&mut r, width, count, 30);
        let out = run_native(width, count, &cycles);
        // The index after the idle cycle that closes each search.
        for &(t, index) in &expect {
            assert_eq!(
                out[t] as usize, index,
                "width {width}, {count} logits, cycle {t}"
            );
        }
    }
}

#[test]
fn icarus_agrees_and_it_lints_and_synthesises() {
    let mut r = random::rng(9);
    let (width, count) = (16, 12);
    let (cycles, _) = searches(&mut r, width, count, 10);
    let native = run_native(width, count, &cycles);
    let verilog = generate_verilog(&build(width, count));
    let mut tb = format!(
        "module tb;\nreg clock = 0;\nreg signed [{w}:0] v = 0;\nreg signed [1:0] valid = 0, first = 0;\nwire signed [{i}:0] index;\nwire signed [{w}:0] best;\ntop uut(.clock(clock), .value(v), .valid(valid), .first(first), .index(index), .best(best));\ninitial begin\n",
        w = width - 1,
        i = lstm_accel_hdl::blocks::ram::Ram::address_width(count) - 1
    );
    for &(v, valid, first) in &cycles {
        let _ = writeln!(
            tb,
            "    v = {v}; valid = {}; first = {};\n    #5 clock = 1; #5 clock = 0; #1 $display(\"%0d\", index);",
            u8::from(valid),
            u8::from(first)
        );
    }
    tb.push_str("    $finish;\nend\nendmodule\n");
    let icarus = icarus_values(&format!("{verilog}\n{tb}"), "tb")
        .expect("icarus runs")
        .concat();
    assert_eq!(icarus, native);
    let lint = verilator_lint(&verilog, "top").expect("lint is clean");
    assert!(!lint.contains("%Warning"), "{lint}");
    for family in [Family::Ice40, Family::Ecp5] {
        let s = yosys_synth(&verilog, "top", family).expect("yosys");
        assert!(s.latches.is_empty());
    }
}
