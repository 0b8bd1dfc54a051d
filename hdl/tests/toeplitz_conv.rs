//! The Toeplitz convolution unit: block-Toeplitz and block-circulant
//! matrices from the model (ternary and power-of-two codes, padded edges)
//! multiplied block by block, with the next block's codes loaded while the
//! current one streams, equal to the model's own structured product; a
//! Toeplitz-like matrix of displacement rank r as r chained pairs of a
//! skew-circulant and a circulant unit, equal to the model's; Icarus equal to
//! the native engine cycle by cycle for every kind; Verilator lint and Yosys
//! synthesis without latches.

use lstm_accel_hdl::blocks::shift_add_lane::max_shift;
use lstm_accel_hdl::blocks::toeplitz_conv::{ConvKind, ConvShape, ToeplitzConvUnit};
use lstm_accel_hdl::dynamic::{clock_cycle, DynVal};
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth, Family};
use lstm_accel_model::encoding::structured::{blocks, BlockKind, Blocked, ToeplitzLike};
use lstm_accel_model::encoding::{ScalarCode, Values};
use lstm_accel_model::random;
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

/// One cycle of input; `check` is what `ys` must hold after it.
#[derive(Clone, Debug, Default)]
struct Cycle {
    load: Option<u32>,
    swap: bool,
    x: Option<i64>,
    clear: bool,
    check: Option<Vec<i64>>,
}

fn build(s: ConvShape) -> ToeplitzConvUnit {
    let mut u = ToeplitzConvUnit::new(s);
    u.clock.connect();
    for i in [
        &mut u.load,
        &mut u.load_code,
        &mut u.swap,
        &mut u.x,
        &mut u.x_valid,
        &mut u.clear,
    ] {
        i.connect();
    }
    u.connect_all();
    u
}

/// Native run: `ys` after every cycle.
fn run(u: &mut ToeplitzConvUnit, cycles: &[Cycle]) -> Vec<Vec<i64>> {
    cycles
        .iter()
        .map(|c| {
            u.load.next = DynVal(i64::from(c.load.is_some()));
            u.load_code.next = DynVal(i64::from(c.load.unwrap_or(0)));
            u.swap.next = DynVal(i64::from(c.swap));
            u.x.next = DynVal(c.x.unwrap_or(0));
            u.x_valid.next = DynVal(i64::from(c.x.is_some()));
            u.clear.next = DynVal(i64::from(c.clear));
            clock_cycle(u, |u| &mut u.clock);
            u.ys.iter().map(|y| y.val().0).collect()
        })
        .collect()
}

/// Checks every cycle's `check` against a native run.
fn run_and_check(s: ConvShape, cycles: &[Cycle], what: &str) {
    let out = run(&mut build(s), cycles);
    let mut checked = 0;
    for (i, c) in cycles.iter().enumerate() {
        if let Some(want) = &c.check {
            assert_eq!(&out[i][..want.len()], &want[..], "{what}, cycle {i}");
            checked += 1;
        }
    }
    assert!(checked > 0, "{what}: nothing checked");
}

/// The cycles that multiply a blocked matrix: block rows one after
/// another, each block's codes loaded into the shadow while the previous
/// block streams, `x` zero-padded past the last column; after each block
/// row, the expected sums of its rows.
fn blocked_cycles(taps: &[Vec<u32>], bc: usize, k: usize, xs: &[i64], sums: &[i64]) -> Vec<Cycle> {
    let mut cycles: Vec<Cycle> = taps[0]
        .iter()
        .map(|&c| Cycle {
            load: Some(c),
            ..Cycle::default()
        })
        .collect();
    for (n, _) in taps.iter().enumerate() {
        let (bi, bj) = (n / bc, n % bc);
        cycles.push(Cycle {
            swap: true,
            ..Cycle::default()
        });
        let next = taps.get(n + 1).map_or(&[][..], |t| &t[..]);
        for i in 0..k.max(next.len()) {
            cycles.push(Cycle {
                load: next.get(i).copied(),
                x: (i < k).then(|| xs.get(bj * k + i).copied().unwrap_or(0)),
                clear: i == 0 && bj == 0,
                ..Cycle::default()
            });
        }
        if bj == bc - 1 {
            for _ in 0..ToeplitzConvUnit::LATENCY - 1 {
                cycles.push(Cycle::default());
            }
            let rows = &sums[bi * k..sums.len().min(bi * k + k)];
            cycles.push(Cycle {
                check: Some(rows.to_vec()),
                ..Cycle::default()
            });
        }
    }
    cycles
}

fn random_code(r: &mut impl Rng) -> ScalarCode {
    if r.random_bool(0.5) {
        ScalarCode::Ternary {
            exp: r.random_range(-3..=3),
        }
    } else {
        let emin = r.random_range(-4..=0);
        ScalarCode::Pow2 {
            emin,
            emax: emin + r.random_range(0..=5),
        }
    }
}

fn random_codes(r: &mut impl Rng, code: &ScalarCode, n: usize) -> Vec<i8> {
    let m = (code.code_count() / 2) as i8;
    (0..n).map(|_| r.random_range(-m..=m)).collect()
}

fn random_xs(r: &mut impl Rng, n: usize, width: usize) -> Vec<i64> {
    let lim = 1i64 << (width - 1);
    (0..n)
        .map(|_| match r.random_range(0..6) {
            0 => -lim,
            1 => lim - 1,
            _ => r.random_range(-lim..lim),
        })
        .collect()
}

/// Slot width that holds every code of `code`.
fn slot_bits(code: &ScalarCode) -> usize {
    (2..=5)
        .find(|&b| max_shift(b) + 1 >= (code.code_count() / 2) as usize)
        .expect("fits a slot")
}

#[test]
fn block_toeplitz_and_circulant_products_equal_the_model() {
    let mut r = random::rng(31);
    for case in 0..16 {
        let kind = if case % 2 == 0 {
            BlockKind::Toeplitz
        } else {
            BlockKind::Circulant
        };
        let k = r.random_range(1..=6);
        let (rows, cols) = (r.random_range(1..=14), r.random_range(1..=14));
        let k = k.min(rows.max(cols));
        let code = random_code(&mut r);
        let (br, bc) = (blocks(rows, k), blocks(cols, k));
        let p = kind.params(k);
        let m = Blocked {
            rows,
            cols,
            block: k,
            values: Values {
                codes: random_codes(&mut r, &code, br * bc * p),
                code: code.clone(),
            },
        };
        m.validate(kind).expect("valid matrix");
        let xw = r.random_range(4..=12);
        let xs = random_xs(&mut r, cols, xw);
        let sums = m.matvec(&xs, kind);
        let cb = slot_bits(&code);
        let taps: Vec<Vec<u32>> = m
            .values
            .codes
            .chunks(p)
            .map(|b| b.iter().map(|&c| code.stored_in(c, cb as u32)).collect())
            .collect();
        let s = ConvShape {
            block: k,
            kind: match kind {
                BlockKind::Toeplitz => ConvKind::Toeplitz,
                BlockKind::Circulant => ConvKind::Circulant,
            },
            code_bits: cb,
            x_width: xw,
            acc_width: 40,
        };
        run_and_check(
            s,
            &blocked_cycles(&taps, bc, k, &xs, &sums),
            &format!("case {case}: {kind:?} {rows}x{cols} k={k} {}", code.name()),
        );
    }
}

/// Runs one k-vector through a unit (load, swap, stream) and returns the
/// sums `LATENCY` cycles after its last value.
fn convolve(u: &mut ToeplitzConvUnit, taps: &[u32], xs: &[i64], clear: bool) -> Vec<i64> {
    let mut cycles: Vec<Cycle> = taps
        .iter()
        .map(|&c| Cycle {
            load: Some(c),
            ..Cycle::default()
        })
        .collect();
    cycles.push(Cycle {
        swap: true,
        ..Cycle::default()
    });
    for (i, &x) in xs.iter().enumerate() {
        cycles.push(Cycle {
            x: Some(x),
            clear: clear && i == 0,
            ..Cycle::default()
        });
    }
    for _ in 0..ToeplitzConvUnit::LATENCY {
        cycles.push(Cycle::default());
    }
    run(u, &cycles).pop().expect("cycles")
}

#[test]
fn toeplitz_like_products_are_chained_skew_circulant_and_circulant_units() {
    let mut r = random::rng(8);
    for case in 0..8 {
        let k = r.random_range(1..=5);
        let (rows, cols) = (r.random_range(1..=11), r.random_range(1..=11));
        let k = k.min(rows.max(cols));
        let rank = r.random_range(1..=k);
        let (gc, hc) = (random_code(&mut r), random_code(&mut r));
        let (br, bc) = (blocks(rows, k), blocks(cols, k));
        let n = br * bc * rank * k;
        let m = ToeplitzLike {
            rows,
            cols,
            block: k,
            rank,
            g: Values {
                codes: random_codes(&mut r, &gc, n),
                code: gc.clone(),
            },
            h: Values {
                codes: random_codes(&mut r, &hc, n),
                code: hc.clone(),
            },
        };
        m.validate().expect("valid matrix");
        let xw = r.random_range(4..=10);
        let xs = random_xs(&mut r, cols, xw);
        let want = m.matvec(&xs);
        let (gb, hb) = (slot_bits(&gc), slot_bits(&hc));
        let mut skew = build(ConvShape {
            block: k,
            kind: ConvKind::SkewCirculant,
            code_bits: hb,
            x_width: xw,
            acc_width: 30,
        });
        let mut circ = build(ConvShape {
            block: k,
            kind: ConvKind::Circulant,
            code_bits: gb,
            x_width: 30,
            acc_width: 48,
        });
        let mut got = vec![0i64; br * k];
        for bi in 0..br {
            let mut y = Vec::new();
            for bj in 0..bc {
                let xb: Vec<i64> = (0..k)
                    .map(|b| xs.get(bj * k + b).copied().unwrap_or(0))
                    .collect();
                for i in 0..rank {
                    let off = ((bi * bc + bj) * rank + i) * k;
                    let h: Vec<u32> = m.h.codes[off..off + k]
                        .iter()
                        .map(|&c| hc.stored_in(c, hb as u32))
                        .collect();
                    let g: Vec<u32> = m.g.codes[off..off + k]
                        .iter()
                        .map(|&c| gc.stored_in(c, gb as u32))
                        .collect();
                    let u = convolve(&mut skew, &h, &xb, true);
                    y = convolve(&mut circ, &g, &u, bj == 0 && i == 0);
                }
            }
            got[bi * k..bi * k + k].copy_from_slice(&y);
        }
        got.truncate(rows);
        assert_eq!(got, want, "case {case}: {rows}x{cols} k={k} rank {rank}");
    }
}

fn testbench(s: ConvShape, cycles: &[Cycle]) -> String {
    let mut tb = format!(
        "module tb;
reg clock = 0;
reg signed [1:0] load = 0, swap = 0, x_valid = 0, clear = 0;
reg signed [{}:0] load_code = 0;
reg signed [{}:0] x = 0;
",
        s.code_bits - 1,
        s.x_width - 1
    );
    for a in 0..s.block {
        let _ = writeln!(tb, "wire signed [{}:0] y{a};", s.acc_width - 1);
    }
    tb.push_str("top uut(.clock(clock), .load(load), .load_code(load_code), .swap(swap), .x(x), .x_valid(x_valid), .clear(clear)");
    for a in 0..s.block {
        let _ = write!(tb, ", .ys${a}(y{a})");
    }
    tb.push_str(");\ninitial begin\n");
    let fmt = vec!["%0d"; s.block].join(" ");
    let ys: Vec<String> = (0..s.block).map(|a| format!("y{a}")).collect();
    for c in cycles {
        let _ = writeln!(
            tb,
            "    load = {}; load_code = {}; swap = {}; x = {}; x_valid = {}; clear = {};
    #5 clock = 1; #5 clock = 0; #1 $display(\"{fmt}\", {});",
            u8::from(c.load.is_some()),
            // The slot's bit pattern, as the signed port reads it.
            (i64::from(c.load.unwrap_or(0)) << (64 - s.code_bits)) >> (64 - s.code_bits),
            u8::from(c.swap),
            c.x.unwrap_or(0),
            u8::from(c.x.is_some()),
            u8::from(c.clear),
            ys.join(", ")
        );
    }
    tb.push_str("    $finish;\nend\nendmodule\n");
    tb
}

#[test]
fn icarus_agrees_with_the_native_engine_for_every_kind() {
    let mut r = random::rng(12);
    for (kind, k, cb, xw) in [
        (ConvKind::Toeplitz, 4, 2, 8),
        (ConvKind::Circulant, 5, 3, 10),
        (ConvKind::SkewCirculant, 3, 4, 6),
        (ConvKind::Toeplitz, 1, 3, 5),
    ] {
        let s = ConvShape {
            block: k,
            kind,
            code_bits: cb,
            x_width: xw,
            acc_width: 24,
        };
        // Random traffic: loads, swaps, values, clears and idle cycles.
        let lim = 1i64 << (xw - 1);
        let cycles: Vec<Cycle> = (0..120)
            .map(|_| {
                let swap = r.random_bool(0.1);
                Cycle {
                    load: r.random_bool(0.5).then(|| r.random_range(0..(1u32 << cb))),
                    swap,
                    x: (!swap && r.random_bool(0.6)).then(|| r.random_range(-lim..lim)),
                    clear: r.random_bool(0.15),
                    check: None,
                }
            })
            .collect();
        let native = run(&mut build(s), &cycles);
        let v = generate_verilog(&build(s));
        let icarus =
            icarus_values(&format!("{v}\n{}", testbench(s, &cycles)), "tb").expect("icarus runs");
        assert_eq!(icarus, native, "{kind:?} k={k}");
    }
}

#[test]
fn verilog_lints_and_synthesises_without_latches() {
    for (kind, k) in [
        (ConvKind::Toeplitz, 8),
        (ConvKind::Circulant, 8),
        (ConvKind::SkewCirculant, 4),
    ] {
        let s = ConvShape {
            block: k,
            kind,
            code_bits: 2,
            x_width: 12,
            acc_width: 24,
        };
        let v = generate_verilog(&build(s));
        let lint = verilator_lint(&v, "top").unwrap_or_else(|e| panic!("{e}"));
        assert!(!lint.contains("%Warning"), "{lint}");
        for family in [Family::Ice40, Family::Ecp5] {
            let st = yosys_synth(&v, "top", family).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                st.latches.is_empty(),
                "{kind:?} {family:?}: {:?}",
                st.latches
            );
            // Taps are registers, not a memory: no block RAM.
            assert_eq!(st.count(&["SB_RAM", "DP16KD"]), 0, "{kind:?} {family:?}");
            println!(
                "{kind:?} k={k} ternary, 12-bit x, {family:?}: {} LUTs, {} FFs",
                st.luts(),
                st.flip_flops()
            );
        }
    }
}
