//! What the RAM tests share: one cycle's operation, the native engine's
//! reads for a list of them, and the Icarus testbench that replays them.

use lstm_accel_hdl::blocks::ram::Ram;
use lstm_accel_hdl::dynamic::{clock_cycle, DynVal};
use lstm_accel_hdl::tools::icarus_values;
use rust_hdl::prelude::*;
use std::fmt::Write;

/// (write enable, write address, data, read address) per cycle.
pub type Op = (bool, i64, i64, i64);

/// `m` ready to simulate: its inputs marked driven.
pub fn connected(mut m: Ram) -> Ram {
    m.clock.connect();
    m.write_enable.connect();
    m.write_address.connect();
    m.write_data.connect();
    m.read_address.connect();
    m.connect_all();
    m
}

/// The read port after each cycle's edge, in the native engine.
pub fn run_native(m: &mut Ram, ops: &[Op]) -> Vec<i64> {
    ops.iter()
        .map(|&(we, wa, d, ra)| {
            m.write_enable.next = DynVal(i64::from(we));
            m.write_address.next = DynVal(wa);
            m.write_data.next = DynVal(d);
            m.read_address.next = DynVal(ra);
            clock_cycle(m, |m| &mut m.clock);
            m.read_data.val().0
        })
        .collect()
}

/// The read port after each cycle's edge, in Icarus running `verilog` (a
/// RAM of `depth` words of `width` bits, module `top`) with `extra`
/// sources beside it.
pub fn icarus_reads(
    verilog: &str,
    extra: &str,
    depth: usize,
    width: usize,
    ops: &[Op],
) -> Vec<i64> {
    let aw = Ram::address_width(depth) - 1;
    let mut tb = format!(
        "module tb;\nreg clock = 0;\nreg signed [1:0] we = 0;\nreg signed [{aw}:0] wa = 0, ra = 0;\nreg signed [{w}:0] d = 0;\nwire signed [{w}:0] q;\ntop uut(.clock(clock), .write_enable(we), .write_address(wa), .write_data(d), .read_address(ra), .read_data(q));\ninitial begin\n",
        w = width - 1
    );
    for &(we, wa, d, ra) in ops {
        let _ = writeln!(
            tb,
            "    we = {}; wa = {wa}; d = {d}; ra = {ra};\n    #5 clock = 1; #5 clock = 0; #1 $display(\"%0d\", q);",
            u8::from(we)
        );
    }
    tb.push_str("    $finish;\nend\nendmodule\n");
    icarus_values(&format!("{verilog}\n{extra}\n{tb}"), "tb")
        .expect("icarus runs")
        .concat()
}
