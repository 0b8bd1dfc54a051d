//! The Toeplitz convolution unit computes the model's block-Toeplitz and
//! block-circulant products exactly (native engine against
//! `Blocked::matvec`): block sizes 1 to 16, ternary and power-of-two taps,
//! rows made of several parts at different alignments, partial last blocks,
//! groups back to back and idle cycles anywhere; Icarus runs its Verilog
//! cycle for cycle like the native engine; Verilator lints it and Yosys
//! synthesises it without latches and with no more flip-flops than its
//! registers.

use lstm_accel_hdl::blocks::toeplitz_conv_unit::{ToeplitzConvShape, ToeplitzConvUnit};
use lstm_accel_hdl::dynamic::{clock_cycle, settle, sext, DynVal};
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth, Family};
use lstm_accel_model::encoding::structured::{blocks, BlockKind, Blocked};
use lstm_accel_model::encoding::{ScalarCode, Values};
use lstm_accel_model::random;
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

/// One cycle's inputs.
#[derive(Clone, Debug, Default)]
struct Drive {
    taps: Vec<u64>,
    circulant: bool,
    load: bool,
    x: i64,
    last: bool,
    valid: bool,
    shift: i64,
}

/// A part of a row group: one block row of a matrix, its kind, the x it
/// multiplies and the alignment of its products.
struct Part {
    m: Blocked,
    kind: BlockKind,
    x: Vec<i64>,
    shift: i64,
}

fn shape(k: usize, code_bits: usize) -> ToeplitzConvShape {
    ToeplitzConvShape {
        k,
        code_bits,
        x_width: 8,
        shift_bits: 3,
        acc_width: 28,
    }
}

fn unit(s: ToeplitzConvShape) -> ToeplitzConvUnit {
    let mut u = ToeplitzConvUnit::new(s);
    u.clock.connect();
    for t in &mut u.taps {
        t.connect();
    }
    u.circulant.connect();
    u.load.connect();
    u.x.connect();
    u.last.connect();
    u.valid.connect();
    u.shift.connect();
    u.connect_all();
    u
}

/// A random part with `k` rows: ternary (2-bit slots) or power-of-two
/// codes (4-bit slots, shifts 0..=3), Toeplitz or circulant, `cols`
/// columns (the last block may be partial).
fn part(r: &mut impl Rng, k: usize, code_bits: usize, cols: usize) -> Part {
    let kind = if r.random_bool(0.5) {
        BlockKind::Toeplitz
    } else {
        BlockKind::Circulant
    };
    let (code, top) = if code_bits == 2 {
        (ScalarCode::Ternary { exp: 0 }, 1)
    } else {
        (ScalarCode::Pow2 { emin: 0, emax: 3 }, 4)
    };
    let n = blocks(cols, k) * kind.params(k);
    let codes = (0..n).map(|_| r.random_range(-top..=top)).collect();
    Part {
        m: Blocked {
            rows: k,
            cols,
            block: k,
            values: Values { code, codes },
        },
        kind,
        x: (0..cols).map(|_| r.random_range(-128..=127)).collect(),
        shift: r.random_range(0..4),
    }
}

/// The cycles that stream a group's parts, block by block (padding columns
/// past a partial block are zero), with idle cycles at probability `idle`.
fn stream(r: &mut impl Rng, s: ToeplitzConvShape, parts: &[Part], idle: f64) -> Vec<Drive> {
    let k = s.k;
    let mut cycles = Vec::new();
    let total: usize = parts.iter().map(|p| blocks(p.m.cols, k) * k).sum();
    let mut n = 0;
    for p in parts {
        let per = p.kind.params(k);
        let code = &p.m.values.code;
        for bj in 0..blocks(p.m.cols, k) {
            let block = &p.m.values.codes[bj * per..(bj + 1) * per];
            let mut taps: Vec<u64> = block
                .iter()
                .map(|&c| u64::from(code.stored_in(c, s.code_bits as u32)))
                .collect();
            taps.resize(s.window(), 0);
            for b in 0..k {
                while r.random_bool(idle) {
                    cycles.push(Drive {
                        // Idle cycles carry noise, which nobody may read.
                        x: r.random_range(-128..=127),
                        taps: (0..s.window()).map(|_| r.random_range(0..4)).collect(),
                        ..Drive::default()
                    });
                }
                cycles.push(Drive {
                    taps: taps.clone(),
                    circulant: p.kind == BlockKind::Circulant,
                    load: b == 0,
                    x: p.x.get(bj * k + b).copied().unwrap_or(0),
                    last: n + 1 == total,
                    valid: true,
                    shift: p.shift,
                });
                n += 1;
            }
        }
    }
    cycles
}

/// The sums a group's parts must give: each part's block-row product,
/// shifted by its alignment.
fn expected(s: ToeplitzConvShape, parts: &[Part]) -> Vec<i64> {
    let mut sums = vec![0i64; s.k];
    for p in parts {
        for (a, v) in p.m.matvec(&p.x, p.kind).into_iter().enumerate() {
            sums[a] += v << p.shift;
        }
    }
    sums.into_iter().map(|v| sext(v, s.acc_width)).collect()
}

/// Runs the cycles (then the latency's worth of idle ones); per cycle
/// before the edge: done and the sums.
fn run(u: &mut ToeplitzConvUnit, cycles: &[Drive]) -> Vec<(bool, Vec<i64>)> {
    let tail = vec![Drive::default(); ToeplitzConvUnit::LATENCY + 1];
    let mut seen = Vec::new();
    for d in cycles.iter().chain(&tail) {
        for (i, t) in u.taps.iter_mut().enumerate() {
            t.next = DynVal(d.taps.get(i).copied().unwrap_or(0) as i64);
        }
        u.circulant.next = DynVal(i64::from(d.circulant));
        u.load.next = DynVal(i64::from(d.load));
        u.x.next = DynVal(d.x);
        u.last.next = DynVal(i64::from(d.last));
        u.valid.next = DynVal(i64::from(d.valid));
        u.shift.next = DynVal(d.shift);
        settle(u, 100);
        seen.push((
            u.done.val().0 != 0,
            u.sums.iter().map(|v| v.val().0).collect(),
        ));
        clock_cycle(u, |u| &mut u.clock);
    }
    seen
}

/// `groups` random groups of one to three parts, back to back.
fn groups(
    r: &mut impl Rng,
    s: ToeplitzConvShape,
    groups: usize,
    idle: f64,
) -> (Vec<Drive>, Vec<Vec<i64>>) {
    let (mut cycles, mut want) = (Vec::new(), Vec::new());
    for _ in 0..groups {
        let parts: Vec<Part> = (0..r.random_range(1..=3))
            .map(|_| {
                let cols = r.random_range(1..=3 * s.k);
                part(r, s.k, s.code_bits, cols)
            })
            .collect();
        cycles.extend(stream(r, s, &parts, idle));
        want.push(expected(s, &parts));
    }
    (cycles, want)
}

#[test]
fn it_computes_the_models_block_products_exactly() {
    let mut r = random::rng(81);
    for k in [1, 2, 3, 4, 5, 8, 16] {
        for code_bits in [2, 4] {
            for idle in [0.0, 0.3] {
                let s = shape(k, code_bits);
                let (cycles, want) = groups(&mut r, s, 6, idle);
                let mut u = unit(s);
                let seen = run(&mut u, &cycles);
                let got: Vec<Vec<i64>> = seen
                    .iter()
                    .filter(|(done, _)| *done)
                    .map(|(_, sums)| sums.clone())
                    .collect();
                assert_eq!(got, want, "k {k}, {code_bits}-bit taps, idle {idle}");
            }
        }
    }
}

#[test]
fn a_groups_sums_appear_latency_cycles_after_its_last_x_and_stay() {
    let mut r = random::rng(82);
    let s = shape(4, 2);
    let parts = [part(&mut r, 4, 2, 8)];
    let cycles = stream(&mut r, s, &parts, 0.0);
    let mut u = unit(s);
    let seen = run(&mut u, &cycles);
    let last = cycles.len() - 1;
    let done: Vec<usize> = (0..seen.len()).filter(|&i| seen[i].0).collect();
    assert_eq!(done, vec![last + ToeplitzConvUnit::LATENCY]);
    let want = expected(s, &parts);
    assert!(seen[last + ToeplitzConvUnit::LATENCY..]
        .iter()
        .all(|(_, sums)| *sums == want));
}

#[test]
fn icarus_runs_it_like_the_native_engine_and_it_lints_and_synthesises() {
    let mut r = random::rng(83);
    for (k, code_bits) in [(4, 2), (3, 4)] {
        let s = shape(k, code_bits);
        let (cycles, _) = groups(&mut r, s, 4, 0.2);
        let mut u = unit(s);
        let seen = run(&mut u, &cycles);
        let verilog = generate_verilog(&u);
        let w = s.window();
        let mut tb = String::from("module tb;\nreg clock = 0;\n");
        let _ = writeln!(
            tb,
            "reg [{}:0] taps [0:{}];\nreg circ = 0, load = 0, last = 0, valid = 0;\nreg signed [7:0] x = 0;\nreg [2:0] shift = 0;\nwire [1:0] done;",
            code_bits - 1,
            w - 1
        );
        for a in 0..k {
            let _ = writeln!(tb, "wire signed [27:0] sum{a};");
        }
        let mut ports: Vec<String> = (0..w).map(|p| format!(".taps${p}(taps[{p}])")).collect();
        ports.extend((0..k).map(|a| format!(".sums${a}(sum{a})")));
        let _ = writeln!(
            tb,
            "top uut(.clock(clock), .circulant({{1'b0, circ}}), .load({{1'b0, load}}), .x(x), .last({{1'b0, last}}), .valid({{1'b0, valid}}), .shift(shift), .done(done), {});\ninitial begin",
            ports.join(", ")
        );
        let tail = vec![Drive::default(); ToeplitzConvUnit::LATENCY + 1];
        let sums: Vec<String> = (0..k).map(|a| format!("sum{a}")).collect();
        let format = vec!["%0d"; k + 1].join(" ");
        for d in cycles.iter().chain(&tail) {
            for p in 0..w {
                let _ = write!(
                    tb,
                    "    taps[{p}] = {};",
                    d.taps.get(p).copied().unwrap_or(0)
                );
            }
            let _ = writeln!(
                tb,
                "\n    circ = {}; load = {}; x = {}; last = {}; valid = {}; shift = {};\n    #1 $display(\"{format}\", done, {});\n    #4 clock = 1; #5 clock = 0;",
                u8::from(d.circulant),
                u8::from(d.load),
                d.x,
                u8::from(d.last),
                u8::from(d.valid),
                d.shift,
                sums.join(", ")
            );
        }
        tb.push_str("    $finish;\nend\nendmodule\n");
        let got = icarus_values(&format!("{verilog}\n{tb}"), "tb").expect("icarus runs");
        let want: Vec<Vec<i64>> = seen
            .iter()
            .map(|(done, s)| {
                std::iter::once(i64::from(*done))
                    .chain(s.iter().copied())
                    .collect()
            })
            .collect();
        assert_eq!(got.len(), want.len());
        let first = got.iter().zip(&want).position(|(a, b)| a != b);
        assert_eq!(first, None, "k {k}: first differing cycle");
        let lint = verilator_lint(&verilog, "top").expect("lint is clean");
        assert!(!lint.contains("%Warning"), "{lint}");
        for family in [Family::Ice40, Family::Ecp5] {
            let y = yosys_synth(&verilog, "top", family).expect("yosys");
            assert!(y.latches.is_empty(), "{:?}", y.latches);
            // The aligned x, four flags and done, the taps' input
            // registers and the window, and per row an accumulator and a
            // sum: nothing else holds state.
            let most = 28 + 5 + 2 * w * code_bits + k * 2 * 28;
            assert!(y.flip_flops() <= most as u64, "{} > {most}", y.flip_flops());
        }
    }
}
