//! The CRC step folds any byte into any running CRC exactly like the link's
//! reference (`link::crc16_update`), natively and in Icarus; Verilator lints
//! it and Yosys synthesises it without latches.

use lstm_accel_hdl::blocks::crc16::Crc16Byte;
use lstm_accel_hdl::dynamic::settle;
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth};
use lstm_accel_model::random;
use lstm_accel_spec::link::crc16_update;
use lstm_accel_spec::target::Family;
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

fn cases() -> Vec<(u16, u8)> {
    let mut r = random::rng(51);
    let mut v: Vec<(u16, u8)> = (0..=255u8).map(|b| (0xffff, b)).collect();
    v.extend((0..300).map(|_| (r.random(), r.random())));
    v
}

#[test]
fn every_byte_folds_in_like_the_reference() {
    let mut uut = Crc16Byte::default();
    uut.crc.connect();
    uut.data.connect();
    uut.connect_all();
    for (crc, byte) in cases() {
        uut.crc.next = u64::from(crc).into();
        uut.data.next = u64::from(byte).into();
        settle(&mut uut, 100);
        assert_eq!(
            uut.out.val().index() as u16,
            crc16_update(crc, &[byte]),
            "{crc:#06x} {byte:#04x}"
        );
    }
}

#[test]
fn icarus_agrees_and_it_lints_and_synthesises() {
    let mut uut = Crc16Byte::default();
    uut.connect_all();
    let verilog = generate_verilog(&uut);
    let mut tb = String::from(
        "module tb;\nreg [15:0] crc = 0;\nreg [7:0] b = 0;\nwire [15:0] o;\ntop uut(.crc(crc), .data(b), .out(o));\ninitial begin\n",
    );
    let cs = cases();
    for (crc, byte) in &cs {
        let _ = writeln!(tb, "    crc = {crc}; b = {byte}; #1 $display(\"%0d\", o);");
    }
    tb.push_str("    $finish;\nend\nendmodule\n");
    let got = icarus_values(&format!("{verilog}\n{tb}"), "tb")
        .expect("icarus runs")
        .concat();
    let want: Vec<i64> = cs
        .iter()
        .map(|&(c, b)| i64::from(crc16_update(c, &[b])))
        .collect();
    assert_eq!(got, want);
    let lint = verilator_lint(&verilog, "top").expect("lint is clean");
    assert!(!lint.contains("%Warning"), "{lint}");
    for family in [Family::Ice40, Family::Ecp5] {
        assert!(yosys_synth(&verilog, "top", family)
            .expect("yosys")
            .latches
            .is_empty());
    }
}
