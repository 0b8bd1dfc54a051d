//! The header decode: a header's kind and memory follow its opcode, it fits
//! exactly when its length is the one its opcode needs in the design (each
//! memory the design has, the frame, the length-free commands), and an
//! opcode the design lacks decodes to nothing; Icarus computes the same
//! bits as the native engine for headers of every opcode and random words;
//! Verilator lints it and Yosys synthesises it without latches.

use lstm_accel_hdl::blocks::header_check::{
    header_bits, opcode_rules, HeaderBits, HeaderCheck, OpcodeKind,
};
use lstm_accel_hdl::dynamic::{settle, DynVal};
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth};
use lstm_accel_model::random::{self, MatrixKind, ModelShape, ScalarKind};
use lstm_accel_spec::layout::Layout;
use lstm_accel_spec::protocol::{self as p, header};
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use lstm_accel_spec::target::Family;
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

/// A design with every memory (row shifts, codebooks, taps) and one with
/// only weights and biases.
fn layouts() -> Vec<Layout> {
    let mut r = random::rng(71);
    let mut rich = ModelShape::ternary(9, &[16], 4, 8);
    rich.matrix_kinds = vec![MatrixKind::BlockToeplitz, MatrixKind::DensePerRow];
    rich.scalar_kinds = vec![ScalarKind::Codebook, ScalarKind::Ternary];
    let plain = ModelShape::ternary(7, &[5], 3, 8);
    vec![
        draw(&mut r, &rich, |lay| {
            lay.tap_words > 0 && lay.has_codebooks()
        }),
        draw(&mut r, &plain, |_| true),
    ]
}

/// The layout of the first random model of `shape` on 4 lanes that the
/// spec takes (random block sizes the lanes do not divide are refused) and
/// that `want` accepts.
fn draw(r: &mut impl Rng, shape: &ModelShape, want: impl Fn(&Layout) -> bool) -> Layout {
    let hw = HwConfig {
        lanes: 4,
        ..HwConfig::default()
    };
    (0..500)
        .filter_map(|_| AcceleratorSpec::new(&random::model(r, shape), &hw).ok())
        .map(|s| s.layout)
        .find(want)
        .expect("a design the spec takes")
}

fn check(lay: &Layout) -> HeaderCheck {
    let mut c = HeaderCheck::new(lay);
    c.word.connect();
    c.connect_all();
    c
}

fn native(c: &mut HeaderCheck, word: u32) -> HeaderBits {
    c.word.next = DynVal(i64::from(word as i32));
    settle(c, 10);
    HeaderBits::unpack(c.bits.val().index() as u64)
}

#[test]
fn a_header_is_decoded_by_its_opcode_and_fits_when_its_length_is_the_one_it_needs() {
    let all_ops = [
        p::RESET,
        p::STATUS,
        p::READ_STATE,
        p::LOAD_WEIGHTS,
        p::LOAD_BIASES,
        p::LOAD_ROW_SHIFTS,
        p::LOAD_CLASS_TABLE,
        p::LOAD_CODEBOOKS,
        p::LOAD_TAPS,
        p::FRAME,
        p::RESULT,
        0xff,
    ];
    let lays = layouts();
    assert!(
        lays[0].tap_words > 0 && lays[0].has_codebooks(),
        "the rich design"
    );
    for lay in &lays {
        let rules = opcode_rules(lay);
        let mut c = check(lay);
        let rule = |op| rules.iter().find(|r| r.op == op).copied();
        // The frame needs the input size, the commands nothing; the design
        // takes a tap load only when it has taps.
        assert_eq!(rule(p::FRAME).map(|r| r.words), Some(lay.input_size as u32));
        for op in [p::RESET, p::STATUS, p::READ_STATE] {
            assert_eq!(
                rule(op).map(|r| (r.words, r.kind)),
                Some((0, OpcodeKind::Command))
            );
        }
        assert_eq!(rule(p::LOAD_TAPS).is_some(), lay.tap_words > 0);
        assert_eq!(
            rule(p::LOAD_WEIGHTS).map(|r| r.kind),
            Some(OpcodeKind::Load { target: 0 })
        );
        for op in all_ops {
            let need = rule(op);
            for len in [0, 1, 2, lay.input_size, 0x00ff_ffff] {
                let word = header(op, len);
                let bits = native(&mut c, word);
                assert_eq!(bits, header_bits(&rules, word));
                let Some(r) = need else {
                    assert_eq!(bits, HeaderBits::default(), "op {op:#x}: unknown");
                    continue;
                };
                assert_eq!(bits.fits, r.words as usize == len, "op {op:#x} len {len}");
                assert_eq!(bits.one, r.words == 1);
                assert_eq!(
                    (bits.command, bits.frame, bits.load),
                    (
                        r.kind == OpcodeKind::Command,
                        r.kind == OpcodeKind::Frame,
                        matches!(r.kind, OpcodeKind::Load { .. })
                    )
                );
                if let OpcodeKind::Load { target } = r.kind {
                    assert_eq!(bits.target, target);
                }
                assert_eq!((bits.reset, bits.status), (op == p::RESET, op == p::STATUS));
            }
            if let Some(r) = need {
                assert!(native(&mut c, header(op, r.words as usize)).fits);
                assert!(!native(&mut c, header(op, r.words as usize + 1)).fits);
            }
        }
        // The packing round-trips every field.
        for v in 0..1u64 << HeaderBits::WIDTH {
            assert_eq!(HeaderBits::unpack(v).pack(), v);
        }
    }
}

#[test]
fn icarus_computes_the_same_bits_and_it_lints_and_synthesises() {
    let mut r = random::rng(72);
    for lay in layouts() {
        let rules = opcode_rules(&lay);
        let mut c = check(&lay);
        // Every opcode's own header, its neighbours, and random words.
        let mut words: Vec<u32> = rules
            .iter()
            .flat_map(|r| {
                let h = header(r.op, r.words as usize);
                [h, h.wrapping_add(1), h.wrapping_sub(1)]
            })
            .collect();
        words.extend((0..200).map(|_| r.random::<u32>()));
        let want: Vec<Vec<i64>> = words
            .iter()
            .map(|&w| vec![native(&mut c, w).pack() as i64])
            .collect();
        assert!(want.iter().any(|v| v[0] & 1 == 1) && want.iter().any(|v| v[0] == 0));
        let verilog = generate_verilog(&c);
        let mut tb = format!(
            "module tb;\nreg [31:0] w = 0;\nwire [{}:0] f;\ntop uut(.word(w), .bits(f));\ninitial begin\n",
            HeaderBits::WIDTH - 1
        );
        for w in &words {
            let _ = writeln!(tb, "    w = 32'h{w:08x}; #1 $display(\"%0d\", f);");
        }
        tb.push_str("    $finish;\nend\nendmodule\n");
        let got = icarus_values(&format!("{verilog}\n{tb}"), "tb").expect("icarus runs");
        assert_eq!(got, want);
        let lint = verilator_lint(&verilog, "top").expect("lint is clean");
        assert!(!lint.contains("%Warning"), "{lint}");
        for family in [Family::Ice40, Family::Ecp5] {
            let s = yosys_synth(&verilog, "top", family).expect("yosys");
            assert!(s.latches.is_empty(), "{:?}", s.latches);
        }
    }
}
