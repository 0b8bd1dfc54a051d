//! The requantizer's Verilog equals the model's `requantize` for every input
//! value, over left and right shifts, every rounding mode and saturation in
//! both directions (Icarus Verilog); it lints and synthesises without latches.

use lstm_accel_hdl::blocks::requantizer::Requantizer;
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth, Family};
use lstm_accel_model::fixed::{requantize, Format, Rounding};
use rust_hdl::prelude::*;

fn block(width: usize, from: i32, to: Format, mode: Rounding) -> Requantizer {
    let mut b = Requantizer::new(width, from, to, mode);
    b.clock.connect();
    b.x.connect();
    b.connect_all();
    b
}

#[test]
fn verilog_equals_the_model_for_every_input() {
    let mut cases = 0;
    for (width, from, to) in [
        (12, 8, Format::new(8, 4)),  // right shift, saturating
        (10, 2, Format::new(8, 4)),  // left shift, saturating
        (12, 6, Format::new(12, 6)), // identity
        (9, 9, Format::new(4, 3)),   // heavy rounding
        (14, 3, Format::new(16, 1)), // widening
        (11, 0, Format::new(6, -2)), // negative fraction
    ] {
        for mode in Rounding::ALL {
            let verilog = generate_verilog(&block(width, from, to, mode));
            let lo = -(1i64 << (width - 1));
            let hi = (1i64 << (width - 1)) - 1;
            let tb = format!(
                "module tb;\nreg clock = 0;\nreg signed [{w1}:0] x = 0;\nwire signed [{o1}:0] y;\ninteger i;\ntop uut(.clock(clock), .x(x), .y(y));\ninitial begin\n    for (i = {lo}; i <= {hi}; i = i + 1) begin\n        x = i;\n        #5 clock = 1; #5 clock = 0;\n        $display(\"%0d\", y);\n    end\n    $finish;\nend\nendmodule\n",
                w1 = width - 1,
                o1 = to.width - 1
            );
            let got = icarus_values(&format!("{verilog}\n{tb}"), "tb")
                .expect("icarus runs")
                .concat();
            let expect: Vec<i64> = (lo..=hi).map(|x| requantize(x, from, to, mode)).collect();
            assert_eq!(got, expect, "{width} bits at frac {from} -> {to} {mode}");
            cases += expect.len();
        }
    }
    println!("{cases} requantizations: Verilog == model");
}

#[test]
fn lints_and_synthesises_without_latches() {
    for mode in Rounding::ALL {
        let v = generate_verilog(&block(27, 16, Format::new(12, 8), mode));
        let lint = verilator_lint(&v, "top").expect("lint is clean");
        assert!(!lint.contains("%Warning"), "{lint}");
        let s = yosys_synth(&v, "top", Family::Ecp5).expect("yosys");
        assert!(s.latches.is_empty(), "{:?}", s.latches);
        println!(
            "requantize s27@16 -> s12.8 {mode}: {} LUTs {} FFs on ECP5",
            s.luts(),
            s.flip_flops()
        );
    }
}
