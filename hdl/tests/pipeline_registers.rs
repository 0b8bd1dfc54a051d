//! Pipeline registers hold each input for one cycle at its own width, and
//! they (and kept delay lines) stay apart from copies in synthesis:
//! native against the inputs of the cycle before, Icarus cycle for cycle
//! against native; lint and synthesis without latches.

use lstm_accel_hdl::blocks::pipeline_registers::PipelineRegisters;
use lstm_accel_hdl::dynamic::{clock_cycle, DynVal};
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth};
use lstm_accel_model::random;
use lstm_accel_spec::target::Family;
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

const WIDTHS: [usize; 4] = [1, 3, 12, 33];

fn build() -> PipelineRegisters {
    let mut r = PipelineRegisters::new(&WIDTHS);
    r.clock.connect();
    for d in &mut r.d {
        d.connect();
    }
    r.connect_all();
    r
}

/// Random inputs in each register's range.
fn inputs(n: usize) -> Vec<Vec<i64>> {
    let mut r = random::rng(31);
    (0..n)
        .map(|_| {
            WIDTHS
                .iter()
                .map(|&w| {
                    let lim = 1i64 << (w - 1);
                    r.random_range(-lim..lim)
                })
                .collect()
        })
        .collect()
}

/// The outputs after each cycle's edge.
fn run_native(cycles: &[Vec<i64>]) -> Vec<Vec<i64>> {
    let mut r = build();
    cycles
        .iter()
        .map(|c| {
            for (d, &x) in r.d.iter_mut().zip(c) {
                d.next = DynVal(x);
            }
            clock_cycle(&mut r, |r| &mut r.clock);
            r.q.iter().map(|q| q.val().0).collect()
        })
        .collect()
}

#[test]
fn outputs_are_the_inputs_of_the_last_edge() {
    let cycles = inputs(50);
    assert_eq!(run_native(&cycles), cycles);
}

#[test]
fn icarus_agrees_and_it_lints_and_synthesises() {
    let cycles = inputs(40);
    let native = run_native(&cycles);
    let verilog = generate_verilog(&build());
    let mut tb = String::from("module tb;\nreg clock = 0;\n");
    let mut ports = String::from(".clock(clock)");
    let mut shown = Vec::new();
    for (i, w) in WIDTHS.iter().enumerate() {
        let _ = writeln!(
            tb,
            "reg signed [{m}:0] d{i} = 0;\nwire signed [{m}:0] q{i};",
            m = w - 1
        );
        let _ = write!(ports, ", .d${i}(d{i}), .q${i}(q{i})");
        shown.push(format!("q{i}"));
    }
    let _ = writeln!(tb, "top uut({ports});\ninitial begin");
    let format = vec!["%0d"; WIDTHS.len()].join(" ");
    for c in &cycles {
        for (i, v) in c.iter().enumerate() {
            let _ = write!(tb, "    d{i} = {v};");
        }
        let _ = writeln!(
            tb,
            "\n    #5 clock = 1; #5 clock = 0; #1 $display(\"{format}\", {});",
            shown.join(", ")
        );
    }
    tb.push_str("    $finish;\nend\nendmodule\n");
    let icarus = icarus_values(&format!("{verilog}\n{tb}"), "tb").expect("icarus runs");
    assert_eq!(icarus, native);
    let lint = verilator_lint(&verilog, "top").expect("lint is clean");
    assert!(!lint.contains("%Warning"), "{lint}");
    for family in [Family::Ice40, Family::Ecp5] {
        let s = yosys_synth(&verilog, "top", family).expect("yosys");
        assert!(s.latches.is_empty(), "latches {:?}", s.latches);
    }
}

/// Two sets of registers fed the same signal stay two sets in synthesis
/// (what the row engines' copies of a shared word rely on).
#[test]
fn copies_of_one_signal_are_not_merged_in_synthesis() {
    let verilog = generate_verilog(&build());
    let bits: usize = WIDTHS.iter().sum();
    let d: Vec<String> = WIDTHS
        .iter()
        .enumerate()
        .map(|(i, w)| format!("input signed [{}:0] d{i}", w - 1))
        .collect();
    let ports = |copy: usize| {
        let mut p = String::from(".clock(clock)");
        for i in 0..WIDTHS.len() {
            let _ = write!(p, ", .d${i}(d{i}), .q${i}(q{copy}_{i})");
        }
        p
    };
    let (a, b) = (ports(0), ports(1));
    let mut wrapper = format!("module pair(input clock, {}, output y);\n", d.join(", "));
    let mut xor = Vec::new();
    for copy in 0..2 {
        for (i, w) in WIDTHS.iter().enumerate() {
            let _ = writeln!(wrapper, "wire signed [{}:0] q{copy}_{i};", w - 1);
            xor.push(format!("(^q{copy}_{i})"));
        }
    }
    let _ = writeln!(
        wrapper,
        "top a({a});\ntop b({b});\nassign y = {};\nendmodule",
        xor.join(" | ")
    );
    for family in [Family::Ice40, Family::Ecp5] {
        let s = yosys_synth(&format!("{verilog}\n{wrapper}"), "pair", family).expect("yosys");
        let ffs = s.count(&["SB_DFF", "TRELLIS_FF"]);
        assert_eq!(ffs, 2 * bits as u64, "{family:?}: {:?}", s.cells);
    }
}

/// The MAC arrays' data registers (`DelayLine::kept`) stay one per engine
/// too, where plain delay lines of one input merge.
#[test]
fn kept_delay_lines_are_not_merged_in_synthesis() {
    use lstm_accel_hdl::blocks::delay_line::DelayLine;
    for (kept, want) in [(true, 16), (false, 8)] {
        let mut line = if kept {
            DelayLine::kept(8, 1)
        } else {
            DelayLine::new(8, 1)
        };
        line.clock.connect();
        line.d.connect();
        line.connect_all();
        let verilog = generate_verilog(&line);
        let wrapper = "module pair(input clock, input signed [7:0] d, output y);
wire signed [7:0] qa, qb;
top a(.clock(clock), .d(d), .q(qa));
top b(.clock(clock), .d(d), .q(qb));
assign y = (^qa) | (^qb);
endmodule";
        let s = yosys_synth(&format!("{verilog}\n{wrapper}"), "pair", Family::Ecp5).expect("yosys");
        assert_eq!(s.count(&["TRELLIS_FF"]), want, "kept {kept}: {:?}", s.cells);
    }
}
