//! The activation unit's Verilog computes the model's `ActivationUnit::eval`
//! exactly, over the whole input domain, for every form, function, rounding
//! mode and several format pairs (Icarus Verilog); it lints and synthesises
//! without latches; its native simulation has the documented latency.

use lstm_accel_hdl::blocks::activation_unit::{ActivationBlock, ACTIVATION_LATENCY};
use lstm_accel_hdl::dynamic::{clock_cycle, DynVal};
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth};
use lstm_accel_model::activation::{ActivationUnit, Approx, Function};
use lstm_accel_model::fixed::{Format, Rounding};
use lstm_accel_spec::target::Family;
use rust_hdl::prelude::*;
use std::fmt::Write;

fn block(unit: &ActivationUnit) -> ActivationBlock {
    let mut b = ActivationBlock::new(unit.clone());
    b.clock.connect();
    b.x.connect();
    b.connect_all();
    b
}

/// Drives every input of the unit's format through Icarus and returns the
/// outputs in input order.
fn icarus_outputs(unit: &ActivationUnit) -> Vec<i64> {
    let f = unit.input();
    let verilog = generate_verilog(&block(unit));
    let mut tb = format!(
        "module tb;\nreg clock = 0;\nreg signed [{}:0] x = 0;\nwire signed [{}:0] y;\ninteger i;\ntop uut(.clock(clock), .x(x), .y(y));\ninitial begin\n",
        f.width - 1,
        unit.output().width - 1
    );
    let _ = write!(
        tb,
        "    for (i = {lo}; i <= {hi} + {lat}; i = i + 1) begin\n        x = i;\n        #5 clock = 1; #5 clock = 0;\n        if (i >= {lo} + {lat}) $display(\"%0d\", y);\n    end\n    $finish;\nend\nendmodule\n",
        lo = f.min_raw(),
        hi = f.max_raw(),
        lat = ACTIVATION_LATENCY - 1
    );
    icarus_values(&format!("{verilog}\n{tb}"), "tb")
        .expect("icarus runs")
        .concat()
}

fn units() -> Vec<ActivationUnit> {
    let mut v = Vec::new();
    let formats = [
        (Format::new(8, 4), Format::new(8, 6)),
        (Format::new(10, 6), Format::new(12, 10)),
        (Format::new(12, 8), Format::new(8, 7)),
        (Format::new(11, 5), Format::new(10, 8)),
    ];
    let approx = [
        Approx::Pwl,
        Approx::Hard,
        Approx::Lut {
            index_bits: 6,
            range_log2: 3,
        },
        Approx::Lut {
            index_bits: 10,
            range_log2: 2,
        },
    ];
    for (i, (fi, fo)) in formats.into_iter().enumerate() {
        for f in [Function::Sigmoid, Function::Tanh] {
            for a in approx {
                let mode = Rounding::ALL[(i + v.len()) % 3];
                v.push(ActivationUnit::new(f, a, fi, fo, mode).expect("valid unit"));
            }
        }
    }
    v
}

#[test]
fn verilog_equals_the_model_over_every_input() {
    let mut inputs = 0;
    for u in units() {
        let f = u.input();
        let expect: Vec<i64> = (f.min_raw()..=f.max_raw()).map(|x| u.eval(x)).collect();
        let got = icarus_outputs(&u);
        assert_eq!(
            got.len(),
            expect.len(),
            "{:?} {:?} {} -> {}",
            u.function(),
            u.approx(),
            f,
            u.output()
        );
        for (k, (g, e)) in got.iter().zip(&expect).enumerate() {
            assert_eq!(
                g,
                e,
                "{:?} {:?} {} -> {} {}: input {}",
                u.function(),
                u.approx(),
                f,
                u.output(),
                u.rounding(),
                f.min_raw() + k as i64
            );
        }
        inputs += expect.len();
    }
    println!(
        "{} activation units, {inputs} inputs: Verilog == model",
        units().len()
    );
}

#[test]
fn native_simulation_has_the_documented_latency() {
    let u = ActivationUnit::new(
        Function::Tanh,
        Approx::Pwl,
        Format::new(8, 4),
        Format::new(8, 6),
        Rounding::HalfUp,
    )
    .expect("unit");
    let mut b = block(&u);
    let xs: Vec<i64> = (-128..128).collect();
    let mut out = Vec::new();
    for &x in &xs {
        b.x.next = DynVal(x);
        clock_cycle(&mut b, |b| &mut b.clock);
        out.push(b.y.val().0);
    }
    for (k, &x) in xs.iter().enumerate().skip(ACTIVATION_LATENCY - 1) {
        assert_eq!(out[k], u.eval(xs[k + 1 - ACTIVATION_LATENCY]), "input {x}");
    }
}

#[test]
fn lints_and_synthesises_without_latches() {
    for a in [
        Approx::Pwl,
        Approx::Lut {
            index_bits: 8,
            range_log2: 3,
        },
    ] {
        let u = ActivationUnit::new(
            Function::Sigmoid,
            a,
            Format::new(16, 12),
            Format::new(16, 14),
            Rounding::HalfEven,
        )
        .expect("unit");
        let v = generate_verilog(&block(&u));
        let lint = verilator_lint(&v, "top").expect("lint is clean");
        assert!(!lint.contains("%Warning"), "{lint}");
        for family in [Family::Ice40, Family::Ecp5] {
            let s = yosys_synth(&v, "top", family).expect("yosys");
            assert!(s.latches.is_empty(), "{:?}", s.latches);
            println!(
                "{a:?} sigmoid s16.12 -> s16.14 on {family:?}: {} LUTs, {} FFs, cells {:?}",
                s.luts(),
                s.flip_flops(),
                s.cells
            );
        }
    }
}
