//! The banked RAM: every read returns, four cycles later, the word the
//! address held when it was presented, writes landing a cycle after they
//! are presented, in the native engine against a vector and in Icarus
//! against the native engine; Verilator lints it; Yosys maps each bank (the
//! last one full depth too) to its own block RAMs on ECP5, with the read
//! and bank registers in flip-flops.

use lstm_accel_hdl::blocks::banked_ram::BankedRam;
use lstm_accel_hdl::dynamic::{clock_cycle, DynVal};
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth, Family};
use lstm_accel_hdl::Target;
use lstm_accel_model::random;
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

/// (write enable, write address, data, read address) per cycle.
type Op = (bool, i64, i64, i64);

fn build(depth: usize, width: usize, bank: usize) -> BankedRam {
    let mut m = BankedRam::new(depth, width, bank);
    m.clock.connect();
    m.write_enable.connect();
    m.write_address.connect();
    m.write_data.connect();
    m.read_address.connect();
    m.connect_all();
    m
}

fn ops(r: &mut impl Rng, depth: usize, width: usize, n: usize) -> Vec<Op> {
    let lim = 1i64 << (width - 1);
    (0..n)
        .map(|_| {
            let wa = r.random_range(0..depth as i64);
            let ra = if r.random_bool(0.3) {
                wa
            } else {
                r.random_range(0..depth as i64)
            };
            (r.random_bool(0.5), wa, r.random_range(-lim..lim), ra)
        })
        .collect()
}

fn run_native(depth: usize, width: usize, bank: usize, ops: &[Op]) -> Vec<i64> {
    let mut m = build(depth, width, bank);
    ops.iter()
        .map(|&(we, wa, d, ra)| {
            m.write_enable.next = DynVal(i64::from(we));
            m.write_address.next = DynVal(wa);
            m.write_data.next = DynVal(d);
            m.read_address.next = DynVal(ra);
            clock_cycle(&mut m, |m| &mut m.clock);
            m.read_data.val().0
        })
        .collect()
}

#[test]
fn reads_arrive_four_cycles_later_and_writes_land_a_cycle_late() {
    let mut r = random::rng(71);
    for (depth, width, bank) in [(5, 4, 2), (37, 9, 8), (300, 24, 64)] {
        let ops = ops(&mut r, depth, width, 500);
        let got = run_native(depth, width, bank, &ops);
        // Writes land a cycle after they are presented.
        let mut mem = vec![0i64; depth];
        let mut pending: Option<(i64, i64)> = None;
        let mut reads = Vec::new();
        for &(we, wa, d, ra) in &ops {
            reads.push(mem[ra as usize]);
            if let Some((a, v)) = pending.take() {
                mem[a as usize] = v;
            }
            if we {
                pending = Some((wa, d));
            }
        }
        let l = BankedRam::READ_LATENCY;
        assert_eq!(
            got[l - 1..],
            reads[..reads.len() - (l - 1)],
            "depth {depth}"
        );
        assert!(got[..l - 1].iter().all(|&v| v == 0));
    }
}

#[test]
fn icarus_agrees_with_the_native_engine_and_it_lints() {
    let mut r = random::rng(72);
    let (depth, width, bank) = (45, 12, 16);
    let ops = ops(&mut r, depth, width, 300);
    let native = run_native(depth, width, bank, &ops);
    let aw = lstm_accel_hdl::blocks::ram::Ram::address_width(depth) - 1;
    let mut tb = format!(
        "module tb;\nreg clock = 0;\nreg signed [1:0] we = 0;\nreg signed [{aw}:0] wa = 0, ra = 0;\nreg signed [{w}:0] d = 0;\nwire signed [{w}:0] q;\ntop uut(.clock(clock), .write_enable(we), .write_address(wa), .write_data(d), .read_address(ra), .read_data(q));\ninitial begin\n",
        w = width - 1
    );
    for &(we, wa, d, ra) in &ops {
        let _ = writeln!(
            tb,
            "    we = {}; wa = {wa}; d = {d}; ra = {ra};\n    #5 clock = 1; #5 clock = 0; #1 $display(\"%0d\", q);",
            u8::from(we)
        );
    }
    tb.push_str("    $finish;\nend\nendmodule\n");
    let verilog = generate_verilog(&build(depth, width, bank));
    let icarus = icarus_values(&format!("{verilog}\n{tb}"), "tb")
        .expect("icarus runs")
        .concat();
    assert_eq!(icarus, native);
    let lint = verilator_lint(&verilog, "top").expect("lint is clean");
    assert!(!lint.contains("%Warning"), "{lint}");
}

#[test]
fn yosys_maps_each_bank_to_its_own_block_rams_on_ecp5() {
    let (depth, width, bank) = (5000, 32, 2048);
    let v = generate_verilog(&build(depth, width, bank));
    let s = yosys_synth(&v, "top", Family::Ecp5).expect("yosys");
    let t = Target::Ecp5_85k;
    let per_bank = t.bram_blocks_for(bank, width as u32);
    println!(
        "{depth} x {width} in banks of {bank}: {} DP16KD ({per_bank} per bank), {} FFs, {} LUTs",
        s.count(&["DP16KD"]),
        s.flip_flops(),
        s.luts()
    );
    // Three banks, the last one full depth too.
    assert_eq!(s.count(&["DP16KD"]), u64::from(3 * per_bank));
    // The read registers are the block RAMs' own; per bank two more in
    // flip-flops, and the result's.
    assert!(s.flip_flops() >= (2 * 3 + 1) * width as u64);
    assert!(s.latches.is_empty());
}
