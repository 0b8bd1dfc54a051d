//! The requantizer's Verilog equals the model's `requantize` for every input
//! value, over left and right shifts, every rounding mode and saturation in
//! both directions (Icarus Verilog); it lints and synthesises without latches.

use lstm_accel_hdl::blocks::requantizer::Requantizer;
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth};
use lstm_accel_model::fixed::{requantize, Format, Rounding};
use lstm_accel_spec::target::Family;
use rust_hdl::prelude::*;

fn block(width: usize, from: i32, to: Format, mode: Rounding, pipelined: bool) -> Requantizer {
    let mut b = if pipelined {
        Requantizer::pipelined(width, from, to, mode)
    } else {
        Requantizer::new(width, from, to, mode)
    };
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
        for (mode, pipelined) in Rounding::ALL
            .into_iter()
            .flat_map(|m| [(m, false), (m, true)])
        {
            let verilog = generate_verilog(&block(width, from, to, mode, pipelined));
            // The pipelined form's results come a cycle later: one more
            // clock at the end, and its first output is the power-up zero.
            let extra = usize::from(pipelined);
            let lo = -(1i64 << (width - 1));
            let hi = (1i64 << (width - 1)) - 1;
            let tb = format!(
                "module tb;\nreg clock = 0;\nreg signed [{w1}:0] x = 0;\nwire signed [{o1}:0] y;\ninteger i;\ntop uut(.clock(clock), .x(x), .y(y));\ninitial begin\n    for (i = {lo}; i <= {hi} + {extra}; i = i + 1) begin\n        x = i;\n        #5 clock = 1; #5 clock = 0;\n        $display(\"%0d\", y);\n    end\n    $finish;\nend\nendmodule\n",
                w1 = width - 1,
                o1 = to.width - 1
            );
            let got = icarus_values(&format!("{verilog}\n{tb}"), "tb")
                .expect("icarus runs")
                .concat();
            let expect: Vec<i64> = (lo..=hi).map(|x| requantize(x, from, to, mode)).collect();
            assert_eq!(
                got[extra..],
                expect,
                "{width} bits at frac {from} -> {to} {mode}, pipelined: {pipelined}"
            );
            // The native engine agrees cycle for cycle.
            let mut b = block(width, from, to, mode, pipelined);
            let native: Vec<i64> = (lo..=hi + extra as i64)
                .map(|x| {
                    b.x.next = lstm_accel_hdl::dynamic::DynVal(x.min(hi));
                    lstm_accel_hdl::dynamic::clock_cycle(&mut b, |b| &mut b.clock);
                    b.y.val().0
                })
                .collect();
            assert_eq!(native, got, "native engine, pipelined: {pipelined}");
            cases += expect.len();
        }
    }
    println!("{cases} requantizations: Verilog == model");
}

#[test]
fn lints_and_synthesises_without_latches() {
    for (mode, pipelined) in Rounding::ALL
        .into_iter()
        .flat_map(|m| [(m, false), (m, true)])
    {
        let v = generate_verilog(&block(27, 16, Format::new(12, 8), mode, pipelined));
        let lint = verilator_lint(&v, "top").expect("lint is clean");
        assert!(!lint.contains("%Warning"), "{lint}");
        let s = yosys_synth(&v, "top", Family::Ecp5).expect("yosys");
        assert!(s.latches.is_empty(), "{:?}", s.latches);
        println!(
            "requantize s27@16 -> s12.8 {mode} (pipelined: {pipelined}): {} LUTs {} FFs on ECP5",
            s.luts(),
            s.flip_flops()
        );
    }
}
