//! The gate unit computes the reference's cell update exactly: native
//! simulation against `ActivationUnit` + `CellArith` on random layers (random
//! formats, approximations, rounding modes, extreme inputs), Icarus against
//! the native engine cycle by cycle; Verilator lint and Yosys without latches.
//! All of it with five activation blocks (a cell every cycle) and with the
//! sigmoids sharing two blocks or one (a cell every two or three cycles,
//! other values on the inputs in between).

use lstm_accel_hdl::blocks::gate_unit::{GateFunctions, GateUnit};
use lstm_accel_hdl::dynamic::{clock_cycle, DynVal};
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth};
use lstm_accel_model::activation::Function;
use lstm_accel_model::cell::CellArith;
use lstm_accel_model::fixed::Format;
use lstm_accel_model::random::{self, ModelShape};
use lstm_accel_model::Model;
use lstm_accel_spec::target::Family;
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

struct Setup {
    fns: GateFunctions,
    cell: CellArith,
    acc_bits: usize,
    preact: Format,
}

fn setup(m: &Model) -> Setup {
    let l = &m.layers[0];
    let f = l.formats;
    let d = m.datapath().layers[0];
    Setup {
        fns: GateFunctions {
            sigmoid: m
                .activation(Function::Sigmoid, f.preact, f.gate)
                .expect("unit"),
            tanh: m
                .activation(Function::Tanh, f.preact, f.gate)
                .expect("unit"),
            tanh_cell: m.activation(Function::Tanh, f.cell, f.gate).expect("unit"),
        },
        cell: CellArith::new(&f, &d, m.rounding),
        acc_bits: d.cell.bits as usize,
        preact: f.preact,
    }
}

fn build(s: &Setup, activation_units: usize) -> GateUnit {
    let mut g =
        GateUnit::with_activation_registers(&s.fns, &s.cell, s.acc_bits, false, activation_units);
    g.clock.connect();
    for x in [
        &mut g.zi,
        &mut g.zf,
        &mut g.zg,
        &mut g.zo,
        &mut g.c,
        &mut g.fire,
    ] {
        x.connect();
    }
    g.connect_all();
    g
}

/// (zi, zf, zg, zo, c) per cycle.
type Input = [i64; 5];

fn stimulus(r: &mut impl Rng, s: &Setup, n: usize) -> Vec<Input> {
    let pick = |r: &mut dyn rand::RngCore, f: Format| -> i64 {
        match r.random_range(0..6) {
            0 => f.min_raw(),
            1 => f.max_raw(),
            _ => r.random_range(f.min_raw()..=f.max_raw()),
        }
    };
    (0..n)
        .map(|_| {
            [
                pick(r, s.preact),
                pick(r, s.preact),
                pick(r, s.preact),
                pick(r, s.preact),
                pick(r, s.cell.cell),
            ]
        })
        .collect()
}

/// The reference's cell update for one input.
fn expected(s: &Setup, x: &Input) -> (i64, i64) {
    let (i, f, g, o) = (
        s.fns.sigmoid.eval(x[0]),
        s.fns.sigmoid.eval(x[1]),
        s.fns.tanh.eval(x[2]),
        s.fns.sigmoid.eval(x[3]),
    );
    let c = s.cell.cell(i, f, g, x[4]);
    (c, s.cell.hidden(o, s.fns.tanh_cell.eval(c)))
}

/// Whether a cell enters at cycle `t`, a cell every `GateUnit::interval`.
fn fires(activation_units: usize, t: usize) -> bool {
    t % GateUnit::interval(activation_units) == 0
}

fn run_native(s: &Setup, activation_units: usize, inputs: &[Input]) -> Vec<(i64, i64)> {
    let mut g = build(s, activation_units);
    inputs
        .iter()
        .enumerate()
        .map(|(t, x)| {
            g.fire.next = DynVal(-i64::from(fires(activation_units, t)));
            g.zi.next = DynVal(x[0]);
            g.zf.next = DynVal(x[1]);
            g.zg.next = DynVal(x[2]);
            g.zo.next = DynVal(x[3]);
            g.c.next = DynVal(x[4]);
            clock_cycle(&mut g, |g| &mut g.clock);
            (g.c_next.val().0, g.h.val().0)
        })
        .collect()
}

fn random_layer_model(r: &mut impl Rng, k: usize) -> Model {
    let mut shape = ModelShape::ternary(4, &[3], 2, 8);
    shape.data_width = None;
    let mut m = random::model(r, &shape);
    m.rounding = lstm_accel_model::fixed::Rounding::ALL[k % 3];
    m
}

#[test]
fn native_simulation_equals_the_reference_cell_update() {
    let mut r = random::rng(23);
    for units in [5, 4, 3] {
        let (cell_latency, latency) = (
            GateUnit::cell_latency(false, units),
            GateUnit::latency(false, units),
        );
        let mut checked = 0;
        for k in 0..24 {
            let m = random_layer_model(&mut r, k);
            let s = setup(&m);
            let inputs = stimulus(&mut r, &s, 200);
            let out = run_native(&s, units, &inputs);
            for (t, x) in inputs.iter().enumerate() {
                if t + latency >= inputs.len() {
                    break;
                }
                if !fires(units, t) {
                    continue;
                }
                let (c, h) = expected(&s, x);
                assert_eq!(
                    out[t + cell_latency - 1].0,
                    c,
                    "{units} blocks, model {k}, input {t}: c"
                );
                assert_eq!(
                    out[t + latency - 1].1,
                    h,
                    "{units} blocks, model {k}, input {t}: h"
                );
                checked += 1;
            }
        }
        println!(
            "{units} activation blocks: {checked} cell updates on 24 random layers == reference"
        );
    }
}

#[test]
fn icarus_agrees_with_the_native_engine() {
    let mut r = random::rng(29);
    for (k, units) in [5, 4, 3, 5, 3].into_iter().enumerate() {
        let m = random_layer_model(&mut r, k);
        let s = setup(&m);
        let inputs = stimulus(&mut r, &s, 60);
        let native = run_native(&s, units, &inputs);
        let verilog = generate_verilog(&build(&s, units));
        let zw = s.preact.width - 1;
        let cw = s.cell.cell.width - 1;
        let mut tb = format!(
            "module tb;\nreg clock = 0;\nreg fire = 0;\nreg signed [{zw}:0] zi = 0, zf = 0, zg = 0, zo = 0;\nreg signed [{cw}:0] c = 0;\nwire signed [{cw}:0] c_next;\nwire signed [{}:0] h;\ntop uut(.clock(clock), .zi(zi), .zf(zf), .zg(zg), .zo(zo), .c(c), .fire(fire), .c_next(c_next), .h(h));\ninitial begin\n",
            s.cell.hidden.width - 1
        );
        for (t, x) in inputs.iter().enumerate() {
            let _ = writeln!(
                tb,
                "    zi = {}; zf = {}; zg = {}; zo = {}; c = {}; fire = {};\n    #5 clock = 1; #5 clock = 0; #1 $display(\"%0d %0d\", c_next, h);",
                x[0],
                x[1],
                x[2],
                x[3],
                x[4],
                u8::from(fires(units, t))
            );
        }
        tb.push_str("    $finish;\nend\nendmodule\n");
        let icarus = icarus_values(&format!("{verilog}\n{tb}"), "tb").expect("icarus runs");
        let native: Vec<Vec<i64>> = native.iter().map(|&(c, h)| vec![c, h]).collect();
        assert_eq!(
            icarus, native,
            "{units} blocks, model {k}: Icarus and the native engine differ"
        );
    }
}

#[test]
fn lints_and_synthesises_without_latches() {
    let mut r = random::rng(31);
    let m = random::model(&mut r, &ModelShape::ternary(4, &[3], 2, 12));
    let s = setup(&m);
    for units in [5, 3] {
        let v = generate_verilog(&build(&s, units));
        let lint = verilator_lint(&v, "top").expect("lint is clean");
        assert!(!lint.contains("%Warning"), "{lint}");
        for family in [Family::Ice40, Family::Ecp5] {
            let st = yosys_synth(&v, "top", family).expect("yosys");
            assert!(st.latches.is_empty(), "{:?}", st.latches);
            println!(
                "gate unit, {units} activation blocks, 12-bit data, {:?}/{:?} activations, {family:?}: {} LUTs, {} FFs, DSPs {}",
                m.sigmoid,
                m.tanh,
                st.luts(),
                st.flip_flops(),
                st.count(&["SB_MAC16", "MULT18X18D"])
            );
        }
    }
}
