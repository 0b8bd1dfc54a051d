//! The weight decoder: bank words of ternary, power-of-two and codebook
//! slots become lane codes (shift-add lanes) or weight values (multiplier
//! lanes, general codebooks) that stand for exactly the weight the model's
//! code does (codebook tables loaded through the write port, tables picked
//! by matrix id), in the native engine and in Icarus (cycle by cycle);
//! Verilator lints it and Yosys synthesises it without latches.

use lstm_accel_hdl::blocks::weight_decoder::{WeightDecoder, WeightDecoderShape};
use lstm_accel_hdl::dynamic::{clock_cycle, DynVal};
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth};
use lstm_accel_model::encoding::structured::BlockKind;
use lstm_accel_model::encoding::ScalarCode;
use lstm_accel_model::fixed::unsigned_bits;
use lstm_accel_model::random;
use lstm_accel_spec::layout::{ConvMode, CODEBOOK_ENTRIES};
use lstm_accel_spec::target::Family;
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

/// A decoder's matrices: per id, the model's code of its slots.
struct Case {
    shape: WeightDecoderShape,
    codes: Vec<ScalarCode>,
}

fn lane_decoder(bits: usize) -> ScalarCode {
    ScalarCode::Pow2 {
        emin: 0,
        emax: (1 << (bits - 1)) - 2,
    }
}

/// Random matrices: ternary, power-of-two, and codebooks: power-of-two
/// ones for lane codes, any for `values`.
fn case(r: &mut impl Rng, lanes: usize, slot_bits: usize, general: bool) -> Case {
    let ids = r.random_range(1..=5);
    let mut lane_bits = slot_bits;
    let codes: Vec<ScalarCode> = (0..ids)
        .map(|_| match r.random_range(0..3) {
            0 => ScalarCode::Ternary { exp: 0 },
            1 => ScalarCode::Pow2 {
                emin: 0,
                emax: (1 << (slot_bits - 1)) - 2,
            },
            _ => {
                let n = r.random_range(2..=(1usize << slot_bits).min(CODEBOOK_ENTRIES));
                let width = r.random_range(3..=8u32);
                let mut values = vec![0];
                let lim = 1i32 << (width - 1);
                values.extend((1..n).map(|_| {
                    if general {
                        return r.random_range(-lim..lim);
                    }
                    let v = 1i32 << r.random_range(0..width);
                    let v = v.min(lim);
                    if r.random_bool(0.5) || v == lim {
                        -v
                    } else {
                        v
                    }
                }));
                lane_bits = lane_bits.max(1 + (32 - width.leading_zeros()) as usize);
                ScalarCode::Codebook {
                    width,
                    frac: 0,
                    values,
                    pow2: !general,
                }
            }
        })
        .collect();
    if general {
        lane_bits = codes
            .iter()
            .map(|c| unsigned_bits(c.max_abs_raw()) as usize + 1)
            .max()
            .unwrap_or(2);
    }
    let per_word = r.random_range(1..=lanes);
    Case {
        shape: WeightDecoderShape {
            lanes,
            slot_bits,
            per_word,
            tap_per_word: per_word,
            lane_bits,
            values: general,
            codebooks: codes
                .iter()
                .map(|c| matches!(c, ScalarCode::Codebook { .. }))
                .collect(),
            matrix_bits: 4,
            addr_bits: 8,
            modes: Vec::new(),
            tap_slots: 0,
            mode_bits: 2,
            window_bits: 2,
            row_offset: 0,
            engines: 1,
        },
        codes,
    }
}

/// One cycle: a table write, or bank words of matrix `id`, or tap words
/// (structured mode, window).
#[derive(Clone, Debug)]
enum Cycle {
    Write(usize, u32),
    Words(usize, Vec<u64>),
    Taps(Vec<u64>, i64, i64),
}

fn build(s: &WeightDecoderShape) -> WeightDecoder {
    let mut d = WeightDecoder::new(s.clone());
    d.clock.connect();
    for w in d
        .words
        .iter_mut()
        .chain(d.table_we.iter_mut())
        .chain(d.taps.iter_mut())
    {
        w.connect();
    }
    d.mode.connect();
    d.window.connect();
    d.matrix.connect();
    d.table_addr.connect();
    d.table_data.connect();
    d.connect_all();
    d
}

/// Table loads for every codebook, then random words; with each word, the
/// weights its slots stand for (raw, per lane).
fn stimulus(r: &mut impl Rng, c: &Case) -> (Vec<Cycle>, Vec<Option<Vec<i64>>>) {
    let s = &c.shape;
    let lane = lane_decoder(s.lane_bits);
    let mut cycles = Vec::new();
    let mut want = Vec::new();
    for (id, code) in c.codes.iter().enumerate() {
        if let ScalarCode::Codebook { values, .. } = code {
            for e in 0..CODEBOOK_ENTRIES {
                let v = values.get(e).copied().unwrap_or(0);
                if s.values {
                    cycles.push(Cycle::Write(
                        id * CODEBOOK_ENTRIES + e,
                        (v as u32) & ((1 << s.lane_bits) - 1),
                    ));
                    want.push(None);
                    continue;
                }
                let k = if v == 0 {
                    0
                } else {
                    let sh = v.unsigned_abs().trailing_zeros() as i8 + 1;
                    if v < 0 {
                        -sh
                    } else {
                        sh
                    }
                };
                cycles.push(Cycle::Write(
                    id * CODEBOOK_ENTRIES + e,
                    lane.stored_in(k, s.lane_bits as u32),
                ));
                want.push(None);
            }
        }
    }
    for _ in 0..60 {
        let id = r.random_range(0..c.codes.len());
        let code = &c.codes[id];
        let m = (code.code_count() / 2) as i8;
        let slots: Vec<i8> = (0..s.lanes)
            .map(|_| match code {
                ScalarCode::Codebook { values, .. } => r.random_range(0..values.len() as i8),
                _ => r.random_range(-m..=m),
            })
            .collect();
        let words: Vec<u64> = slots
            .chunks(s.per_word)
            .map(|ch| {
                ch.iter().enumerate().fold(0u64, |w, (k, &sl)| {
                    w | (u64::from(code.stored_in(sl, s.slot_bits as u32)) << (k * s.slot_bits))
                })
            })
            .collect();
        want.push(Some(slots.iter().map(|&sl| code.raw(sl)).collect()));
        cycles.push(Cycle::Words(id, words));
    }
    (cycles, want)
}

fn run(d: &mut WeightDecoder, cycles: &[Cycle]) -> Vec<Vec<i64>> {
    cycles
        .iter()
        .map(|c| {
            for w in &mut d.table_we {
                w.next = DynVal(i64::from(matches!(c, Cycle::Write(..))));
            }
            match c {
                Cycle::Write(a, v) => {
                    d.table_addr.next = DynVal(*a as i64);
                    d.table_data.next = DynVal(i64::from(*v));
                }
                Cycle::Words(id, words) => {
                    d.matrix.next = DynVal(*id as i64);
                    d.mode.next = DynVal(0);
                    for (w, &v) in d.words.iter_mut().zip(words) {
                        w.next = DynVal(v as i64);
                    }
                }
                Cycle::Taps(words, mode, window) => {
                    d.matrix.next = DynVal(0);
                    d.mode.next = DynVal(*mode);
                    d.window.next = DynVal(*window);
                    for (w, &v) in d.taps.iter_mut().zip(words) {
                        w.next = DynVal(v as i64);
                    }
                }
            }
            clock_cycle(d, |d| &mut d.clock);
            d.codes.iter().map(|c| c.val().0).collect()
        })
        .collect()
}

#[test]
fn lane_codes_stand_for_the_models_weights() {
    let mut r = random::rng(23);
    for (lanes, slot_bits) in [(1, 2), (4, 2), (5, 3), (8, 4), (16, 4), (3, 5)] {
        for n in 0..8 {
            let c = case(&mut r, lanes, slot_bits, n % 2 == 1);
            let (cycles, want) = stimulus(&mut r, &c);
            let out = run(&mut build(&c.shape), &cycles);
            let lane = lane_decoder(c.shape.lane_bits);
            for (i, w) in want.iter().enumerate() {
                if let Some(w) = w {
                    let got: Vec<i64> = out[i]
                        .iter()
                        .map(|&code| {
                            if c.shape.values {
                                return code;
                            }
                            let pattern = (code as u64 & ((1 << c.shape.lane_bits) - 1)) as u32;
                            lane.raw(lane.from_stored_in(pattern, c.shape.lane_bits as u32))
                        })
                        .collect();
                    assert_eq!(&got, w, "{:?}, cycle {i}", c.shape);
                }
            }
        }
    }
}

fn testbench(s: &WeightDecoderShape, d: &WeightDecoder, cycles: &[Cycle]) -> String {
    let mut tb = String::from("module tb;\nreg clock = 0;\n");
    for (b, w) in d.words.iter().enumerate() {
        let _ = writeln!(tb, "reg signed [{}:0] w{b} = 0;", w.width() - 1);
    }
    for (b, w) in d.taps.iter().enumerate() {
        let _ = writeln!(tb, "reg signed [{}:0] t{b} = 0;", w.width() - 1);
    }
    let _ = writeln!(
        tb,
        "reg signed [{}:0] matrix = 0;\nreg signed [1:0] we = 0;\nreg signed [{}:0] addr = 0;\nreg signed [{}:0] data = 0;\nreg signed [{}:0] mode = 0;\nreg signed [{}:0] window = 0;",
        s.matrix_bits - 1,
        s.addr_bits - 1,
        s.lane_bits - 1,
        s.mode_bits - 1,
        s.window_bits - 1
    );
    for k in 0..s.lanes {
        let _ = writeln!(tb, "wire signed [{}:0] c{k};", s.lane_bits - 1);
    }
    tb.push_str("top uut(.clock(clock), .matrix(matrix), .table_addr(addr), .table_data(data), .mode(mode), .window(window)");
    for b in 0..d.taps.len() {
        let _ = write!(tb, ", .taps${b}(t{b})");
    }
    if !d.table_we.is_empty() {
        tb.push_str(", .table_we$0(we)");
    }
    for b in 0..d.words.len() {
        let _ = write!(tb, ", .words${b}(w{b})");
    }
    for k in 0..s.lanes {
        let _ = write!(tb, ", .codes${k}(c{k})");
    }
    tb.push_str(");\ninitial begin\n");
    let fmt = vec!["%0d"; s.lanes].join(" ");
    let cs: Vec<String> = (0..s.lanes).map(|k| format!("c{k}")).collect();
    let sext = |v: u64, bits: usize| ((v << (64 - bits)) as i64) >> (64 - bits);
    for c in cycles {
        match c {
            Cycle::Write(a, v) => {
                let _ = write!(
                    tb,
                    "    we = 1; addr = {a}; data = {};",
                    sext(u64::from(*v), s.lane_bits)
                );
            }
            Cycle::Words(id, words) => {
                let _ = write!(tb, "    we = 0; mode = 0; matrix = {id};");
                for (b, &w) in words.iter().enumerate() {
                    let _ = write!(tb, " w{b} = {};", sext(w, d.words[b].width()));
                }
            }
            Cycle::Taps(words, mode, window) => {
                let _ = write!(
                    tb,
                    "    we = 0; matrix = 0; mode = {mode}; window = {window};"
                );
                for (b, &w) in words.iter().enumerate() {
                    let _ = write!(tb, " t{b} = {};", sext(w, d.taps[b].width()));
                }
            }
        }
        let _ = writeln!(
            tb,
            "\n    #5 clock = 1; #5 clock = 0; #1 $display(\"{fmt}\", {});",
            cs.join(", ")
        );
    }
    tb.push_str("    $finish;\nend\nendmodule\n");
    tb
}

#[test]
fn icarus_agrees_with_the_native_engine() {
    let mut r = random::rng(3);
    let mut with_codebook = 0;
    for (lanes, slot_bits) in [(4, 2), (6, 4), (3, 3)] {
        for n in 0..4 {
            let c = case(&mut r, lanes, slot_bits, n % 2 == 1);
            with_codebook += usize::from(c.shape.codebooks.iter().any(|&b| b));
            let (cycles, _) = stimulus(&mut r, &c);
            let native = run(&mut build(&c.shape), &cycles);
            let d = build(&c.shape);
            let v = generate_verilog(&d);
            let icarus = icarus_values(&format!("{v}\n{}", testbench(&c.shape, &d, &cycles)), "tb")
                .expect("icarus runs");
            assert_eq!(icarus, native, "{:?}", c.shape);
        }
    }
    assert!(with_codebook > 0, "some cases have codebooks");
}

#[test]
fn verilog_lints_and_synthesises_without_latches() {
    for values in [true, false] {
        let s = WeightDecoderShape {
            lanes: 16,
            slot_bits: 4,
            per_word: 8,
            tap_per_word: 8,
            lane_bits: if values { 9 } else { 5 },
            values,
            codebooks: vec![true, false, true],
            matrix_bits: 3,
            addr_bits: 7,
            modes: Vec::new(),
            tap_slots: 0,
            mode_bits: 2,
            window_bits: 2,
            row_offset: 0,
            engines: 1,
        };
        let v = generate_verilog(&build(&s));
        let lint = verilator_lint(&v, "top").unwrap_or_else(|e| panic!("{e}"));
        assert!(!lint.contains("%Warning"), "{lint}");
        if values {
            continue;
        }
        synthesise(&v);
    }
}

/// Structured words: with mode `m` the decoder takes lane `i`'s slot from
/// the tap word by the window `a - b0`, and the code it gives is the one
/// the model's block structure (`BlockKind::index`) puts at row `a`, column
/// `b0 + b` of the block (negated above the diagonal for a skew-circulant
/// block, a Toeplitz-like matrix's first pass); blocks narrower (k divides
/// the lanes, several per word) and wider (the lanes divide k) than a word,
/// Toeplitz, circulant and skew-circulant, several modes in one decoder;
/// native engine against the model, Icarus against the native engine; lint
/// and synthesis.
#[test]
fn structured_words_give_each_lane_its_block_code() {
    let ternary = ScalarCode::Ternary { exp: 0 };
    let mut r = random::rng(41);
    for (lanes, modes) in [
        (
            8,
            vec![
                ConvMode {
                    block: 4,
                    toeplitz: true,
                    skew: false,
                },
                ConvMode {
                    block: 2,
                    toeplitz: false,
                    skew: false,
                },
            ],
        ),
        (
            4,
            vec![
                ConvMode {
                    block: 8,
                    toeplitz: true,
                    skew: false,
                },
                ConvMode {
                    block: 4,
                    toeplitz: false,
                    skew: false,
                },
                // A Toeplitz-like first pass: skew-circulant.
                ConvMode {
                    block: 8,
                    toeplitz: false,
                    skew: true,
                },
            ],
        ),
        (
            2,
            vec![
                ConvMode {
                    block: 8,
                    toeplitz: false,
                    skew: false,
                },
                ConvMode {
                    block: 1,
                    toeplitz: true,
                    skew: false,
                },
                ConvMode {
                    block: 4,
                    toeplitz: false,
                    skew: true,
                },
            ],
        ),
    ] {
        let slot_bits = 2;
        let slots_of = |m: &ConvMode| {
            let g = if m.block <= lanes { lanes / m.block } else { 1 };
            g * m.params()
        };
        let tap_slots = modes.iter().map(slots_of).max().unwrap_or(1);
        let kmax = modes.iter().map(|m| m.block).max().unwrap_or(1);
        let s = WeightDecoderShape {
            lanes,
            slot_bits,
            per_word: 3,
            // Tap banks need not be as wide as weight banks.
            tap_per_word: 5,
            lane_bits: slot_bits,
            values: false,
            codebooks: vec![false],
            matrix_bits: 2,
            addr_bits: 4,
            modes: modes.clone(),
            tap_slots,
            mode_bits: 3,
            window_bits: lstm_accel_hdl::blocks::ram::Ram::address_width(kmax) + 1,
            row_offset: 0,
            engines: 1,
        };
        let mut cycles = Vec::new();
        let mut want = Vec::new();
        for (mi, m) in modes.iter().enumerate() {
            let k = m.block;
            let groups = if k <= lanes { lanes / k } else { 1 };
            let kind = if m.toeplitz {
                BlockKind::Toeplitz
            } else {
                BlockKind::Circulant
            };
            for _ in 0..4 {
                // A tap word: `groups` blocks' codes side by side.
                let blocks: Vec<Vec<i8>> = (0..groups)
                    .map(|_| (0..m.params()).map(|_| r.random_range(-1..=1)).collect())
                    .collect();
                let mut bits = vec![0u64; tap_slots.div_ceil(s.tap_per_word)];
                for (g, codes) in blocks.iter().enumerate() {
                    for (c, &code) in codes.iter().enumerate() {
                        let slot = g * m.params() + c;
                        bits[slot / s.tap_per_word] |=
                            u64::from(ternary.stored_in(code, slot_bits as u32))
                                << ((slot % s.tap_per_word) * slot_bits);
                    }
                }
                let b0s: Vec<usize> = if k <= lanes {
                    vec![0]
                } else {
                    (0..k).step_by(lanes).collect()
                };
                for a in 0..k {
                    for &b0 in &b0s {
                        cycles.push(Cycle::Taps(
                            bits.clone(),
                            mi as i64 + 1,
                            a as i64 - b0 as i64,
                        ));
                        want.push(Some(
                            (0..lanes)
                                .map(|i| {
                                    let (g, b) = if k <= lanes {
                                        (i / k, i % k)
                                    } else {
                                        (0, b0 + i)
                                    };
                                    let w = ternary.raw(blocks[g][kind.index(k, a, b)]);
                                    // Skew-circulant: the entries above the
                                    // diagonal wrap around, negated.
                                    if m.skew && a < b {
                                        -w
                                    } else {
                                        w
                                    }
                                })
                                .collect::<Vec<i64>>(),
                        ));
                    }
                }
            }
        }
        let native = run(&mut build(&s), &cycles);
        let lane = lane_decoder(s.lane_bits);
        for (i, w) in want.iter().enumerate() {
            if let Some(w) = w {
                let got: Vec<i64> = native[i]
                    .iter()
                    .map(|&code| {
                        let pattern = (code as u64 & ((1 << s.lane_bits) - 1)) as u32;
                        lane.raw(lane.from_stored_in(pattern, s.lane_bits as u32))
                    })
                    .collect();
                assert_eq!(&got, w, "{lanes} lanes, {modes:?}, cycle {i}");
            }
        }
        let d = build(&s);
        let v = generate_verilog(&d);
        let icarus = icarus_values(&format!("{v}\n{}", testbench(&s, &d, &cycles)), "tb")
            .expect("icarus runs");
        assert_eq!(icarus, native, "{lanes} lanes, {modes:?}");
        let lint = verilator_lint(&v, "top").unwrap_or_else(|e| panic!("{e}"));
        assert!(!lint.contains("%Warning"), "{lint}");
        for family in [Family::Ice40, Family::Ecp5] {
            let st = yosys_synth(&v, "top", family).unwrap_or_else(|e| panic!("{e}"));
            assert!(st.latches.is_empty(), "{family:?}: {:?}", st.latches);
        }
    }
}

fn synthesise(v: &str) {
    for family in [Family::Ice40, Family::Ecp5] {
        let st = yosys_synth(v, "top", family).unwrap_or_else(|e| panic!("{e}"));
        assert!(st.latches.is_empty(), "{family:?}: {:?}", st.latches);
        println!(
            "weight decoder, 16 lanes, two codebook tables, {family:?}: {} LUTs, {} FFs",
            st.luts(),
            st.flip_flops()
        );
    }
}
