//! The registered fan-out (a read address's copies, a register per group of
//! loads) and the pipelined select (two levels, a register between):
//! native against their definitions (each copy is the input of the edge
//! before; the select passes `xs[sel]` of the edge before, or of the same
//! cycle unregistered), Icarus cycle for cycle against native, lint, and
//! synthesis without latches; the fan-out's copies stay apart in Yosys.

use lstm_accel_hdl::blocks::fanout::RegisteredFanout;
use lstm_accel_hdl::blocks::select::PipelinedSelect;
use lstm_accel_hdl::dynamic::{clock_cycle, DynVal};
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth};
use lstm_accel_model::random;
use lstm_accel_spec::target::Family;
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

const WIDTH: usize = 7;
const LOADS: usize = 10;
const GROUP: usize = 4;

fn fanout(registered: bool) -> RegisteredFanout {
    let mut f = RegisteredFanout::new(WIDTH, LOADS, GROUP, registered);
    f.clock.connect();
    f.d.connect();
    f.connect_all();
    f
}

/// Select inputs: 13 of them (a short last group), an index that also
/// points past them.
const INPUTS: usize = 13;
const SEL_BITS: usize = 5;

fn select(registered: bool) -> PipelinedSelect {
    let mut s = PipelinedSelect::new(INPUTS, WIDTH, SEL_BITS, GROUP, registered);
    s.clock.connect();
    s.sel.connect();
    for x in &mut s.xs {
        x.connect();
    }
    s.connect_all();
    s
}

fn value(r: &mut impl Rng) -> i64 {
    let lim = 1i64 << (WIDTH - 1);
    r.random_range(-lim..lim)
}

/// Per cycle: the select's inputs, then its index (the fan-out takes the
/// first input).
fn cycles(n: usize) -> Vec<(Vec<i64>, i64)> {
    let mut r = random::rng(83);
    (0..n)
        .map(|_| {
            let xs = (0..INPUTS).map(|_| value(&mut r)).collect();
            (xs, r.random_range(0..(INPUTS as i64 + 3)))
        })
        .collect()
}

fn run_fanout(registered: bool, cs: &[(Vec<i64>, i64)]) -> Vec<Vec<i64>> {
    let mut f = fanout(registered);
    cs.iter()
        .map(|(xs, _)| {
            f.d.next = DynVal(xs[0]);
            clock_cycle(&mut f, |f| &mut f.clock);
            f.qs.iter().map(|q| q.val().0).collect()
        })
        .collect()
}

fn run_select(registered: bool, cs: &[(Vec<i64>, i64)]) -> Vec<i64> {
    let mut s = select(registered);
    cs.iter()
        .map(|(xs, sel)| {
            for (x, &v) in s.xs.iter_mut().zip(xs) {
                x.next = DynVal(v);
            }
            s.sel.next = DynVal(*sel);
            clock_cycle(&mut s, |s| &mut s.clock);
            s.y.val().0
        })
        .collect()
}

#[test]
fn copies_and_selects_are_what_they_define() {
    let cs = cycles(60);
    let picked = |(xs, sel): &(Vec<i64>, i64)| xs.get(*sel as usize).copied().unwrap_or(0);
    // Registered: the values of the edge before; unregistered: the same
    // cycle's.
    let fan = run_fanout(true, &cs);
    for (i, copies) in fan.iter().enumerate() {
        assert!(copies.iter().all(|&q| q == cs[i].0[0]), "cycle {i}");
    }
    let wire = run_fanout(false, &cs);
    for (i, copies) in wire.iter().enumerate() {
        assert!(copies.iter().all(|&q| q == cs[i].0[0]), "cycle {i}");
    }
    let want: Vec<i64> = cs.iter().map(picked).collect();
    assert_eq!(run_select(true, &cs), want);
    assert_eq!(run_select(false, &cs), want);
    assert!(want.iter().filter(|&&v| v == 0).count() < want.len() / 2);
}

/// A test bench that applies each cycle's inputs, clocks, and prints the
/// outputs named in `shown`.
fn bench(ports: &str, decls: &str, cs: &[(Vec<i64>, i64)], shown: &[String], fan: bool) -> String {
    let mut tb = format!("module tb;\nreg clock = 0;\n{decls}top uut({ports});\ninitial begin\n");
    let format = vec!["%0d"; shown.len()].join(" ");
    for (xs, sel) in cs {
        if fan {
            let _ = write!(tb, "    d = {};", xs[0]);
        } else {
            for (i, v) in xs.iter().enumerate() {
                let _ = write!(tb, "    x{i} = {v};");
            }
            let _ = write!(tb, "    sel = {sel};");
        }
        let _ = writeln!(
            tb,
            "\n    #5 clock = 1; #5 clock = 0; #1 $display(\"{format}\", {});",
            shown.join(", ")
        );
    }
    tb.push_str("    $finish;\nend\nendmodule\n");
    tb
}

#[test]
fn icarus_agrees_and_both_lint_and_synthesise() {
    let cs = cycles(40);
    let w1 = WIDTH - 1;
    for registered in [true, false] {
        // The fan-out.
        let verilog = generate_verilog(&fanout(registered));
        let mut decls = format!("reg signed [{w1}:0] d = 0;\n");
        let mut ports = String::from(".clock(clock), .d(d)");
        let shown: Vec<String> = (0..LOADS).map(|i| format!("q{i}")).collect();
        for q in &shown {
            let _ = writeln!(decls, "wire signed [{w1}:0] {q};");
            let _ = write!(ports, ", .qs${}({q})", &q[1..]);
        }
        let tb = bench(&ports, &decls, &cs, &shown, true);
        let icarus = icarus_values(&format!("{verilog}\n{tb}"), "tb").expect("icarus runs");
        assert_eq!(icarus, run_fanout(registered, &cs), "fan-out {registered}");
        check_lint_and_synthesis(&verilog);
        // The select.
        let verilog = generate_verilog(&select(registered));
        let mut decls = format!(
            "reg signed [{}:0] sel = 0;\nwire signed [{w1}:0] y;\n",
            SEL_BITS - 1
        );
        let mut ports = String::from(".clock(clock), .sel(sel), .y(y)");
        for i in 0..INPUTS {
            let _ = writeln!(decls, "reg signed [{w1}:0] x{i} = 0;");
            let _ = write!(ports, ", .xs${i}(x{i})");
        }
        let tb = bench(&ports, &decls, &cs, &["y".to_string()], false);
        let icarus = icarus_values(&format!("{verilog}\n{tb}"), "tb").expect("icarus runs");
        let native: Vec<Vec<i64>> = run_select(registered, &cs)
            .into_iter()
            .map(|y| vec![y])
            .collect();
        assert_eq!(icarus, native, "select {registered}");
        check_lint_and_synthesis(&verilog);
    }
}

fn check_lint_and_synthesis(verilog: &str) {
    let lint = verilator_lint(verilog, "top").expect("lint is clean");
    assert!(!lint.contains("%Warning"), "{lint}");
    for family in [Family::Ice40, Family::Ecp5] {
        let s = yosys_synth(verilog, "top", family).expect("yosys");
        assert!(s.latches.is_empty(), "latches {:?}", s.latches);
    }
}

/// The fan-out keeps one register per group in synthesis (Yosys would
/// otherwise merge the copies into one); the pipelined select registers a
/// word per group and the index.
#[test]
fn the_fanout_keeps_a_register_per_group() {
    let groups = LOADS.div_ceil(GROUP) as u64;
    let s = yosys_synth(&generate_verilog(&fanout(true)), "top", Family::Ecp5).expect("yosys");
    println!("fan-out: {} flip-flops", s.flip_flops());
    assert_eq!(s.flip_flops(), groups * WIDTH as u64);
    let s = yosys_synth(&generate_verilog(&fanout(false)), "top", Family::Ecp5).expect("yosys");
    assert_eq!(s.flip_flops(), 0);
    let s = yosys_synth(&generate_verilog(&select(true)), "top", Family::Ecp5).expect("yosys");
    println!("select: {} flip-flops", s.flip_flops());
    let words = INPUTS.div_ceil(GROUP) as u64;
    assert!(s.flip_flops() >= words * WIDTH as u64);
    assert!(s.flip_flops() <= words * WIDTH as u64 + SEL_BITS as u64);
}
