//! The RAM: read-first semantics against a plain vector, Icarus against the
//! native engine, block RAM inferred by Yosys on iCE40 and ECP5, clean lint;
//! the single-port form's no-change semantics the same way, and SPRAM
//! inferred on the iCE40 UP5K; the banked form's reads in
//! `Ram::BANKED_READ_LATENCY` cycles (its address registered per bank) and
//! one-cycle-late writes the same way, and each of its banks (the last one
//! full depth too) in block RAMs of its own on ECP5, with the read and bank
//! registers in flip-flops.

mod ram_bench;

use lstm_accel_hdl::blocks::ram::{Ram, RamForm};
use lstm_accel_hdl::tools::{verilator_lint, yosys_synth};
use lstm_accel_model::random;
use lstm_accel_spec::target::Family;
use lstm_accel_spec::Target;
use ram_bench::{icarus_reads, Op};
use rand::Rng;
use rust_hdl::prelude::*;

fn build(depth: usize, width: usize, form: RamForm) -> Ram {
    ram_bench::connected(match form {
        RamForm::DualPort => Ram::new(depth, width),
        RamForm::SinglePort => Ram::single_port(depth, width),
        RamForm::Banked(bank) => Ram::banked(depth, width, bank),
    })
}

fn ops(r: &mut impl Rng, depth: usize, width: usize, n: usize) -> Vec<Op> {
    let lim = 1i64 << (width - 1);
    (0..n)
        .map(|_| {
            let wa = r.random_range(0..depth as i64);
            // Often read the address being written, to pin read-first.
            let ra = if r.random_bool(0.3) {
                wa
            } else {
                r.random_range(0..depth as i64)
            };
            (r.random_bool(0.6), wa, r.random_range(-lim..lim), ra)
        })
        .collect()
}

fn run_native(depth: usize, width: usize, form: RamForm, ops: &[Op]) -> Vec<i64> {
    ram_bench::run_native(&mut build(depth, width, form), ops)
}

#[test]
fn reads_return_the_word_before_the_same_cycle_write() {
    let mut r = random::rng(3);
    for (depth, width) in [(1, 4), (5, 9), (64, 16), (300, 24)] {
        let ops = ops(&mut r, depth, width, 400);
        let got = run_native(depth, width, RamForm::DualPort, &ops);
        let mut mem = vec![0i64; depth];
        for (t, &(we, wa, d, ra)) in ops.iter().enumerate() {
            assert_eq!(got[t], mem[ra as usize], "depth {depth} cycle {t}");
            if we {
                mem[wa as usize] = d;
            }
        }
    }
}

#[test]
fn the_single_port_form_keeps_its_read_register_while_writing() {
    let mut r = random::rng(5);
    for (depth, width) in [(1, 4), (5, 9), (64, 16), (300, 24)] {
        let ops = ops(&mut r, depth, width, 400);
        let got = run_native(depth, width, RamForm::SinglePort, &ops);
        let mut mem = vec![0i64; depth];
        let mut out = 0;
        let mut held = 0;
        for (t, &(we, wa, d, ra)) in ops.iter().enumerate() {
            if we {
                mem[wa as usize] = d;
                held += 1;
            } else {
                out = mem[ra as usize];
            }
            assert_eq!(got[t], out, "depth {depth} cycle {t}");
        }
        assert!(held > 100, "the test writes often");
    }
}

#[test]
fn icarus_agrees_with_the_native_engine() {
    let mut r = random::rng(4);
    for form in [RamForm::DualPort, RamForm::SinglePort, RamForm::Banked(16)] {
        icarus_run(&mut r, form);
    }
}

fn icarus_run(r: &mut impl Rng, form: RamForm) {
    let (depth, width) = (37, 12);
    let ops = ops(r, depth, width, 300);
    let native = run_native(depth, width, form, &ops);
    let verilog = generate_verilog(&build(depth, width, form));
    let icarus = icarus_reads(&verilog, "", depth, width, &ops);
    assert_eq!(icarus, native, "{form:?}");
}

#[test]
fn yosys_infers_block_ram_and_lint_is_clean() {
    let v = generate_verilog(&build(512, 16, RamForm::DualPort));
    let lint = verilator_lint(&v, "top").expect("lint is clean");
    assert!(!lint.contains("%Warning"), "{lint}");
    let ice = yosys_synth(&v, "top", Family::Ice40).expect("yosys");
    let ecp = yosys_synth(&v, "top", Family::Ecp5).expect("yosys");
    println!(
        "512 x 16 RAM: iCE40 {} SB_RAM40_4K, {} LUTs; ECP5 {} DP16KD, {} LUTs",
        ice.count(&["SB_RAM40_4K"]),
        ice.luts(),
        ecp.count(&["DP16KD"]),
        ecp.luts()
    );
    assert_eq!(ice.count(&["SB_RAM40_4K"]), 2);
    assert_eq!(ecp.count(&["DP16KD"]), 1);
    // The spec's block-RAM estimate agrees with what Yosys infers.
    assert_eq!(
        u64::from(Target::Ice40Up5k.bram_blocks_for(512, 16)),
        ice.count(&["SB_RAM40_4K"])
    );
    assert_eq!(
        u64::from(Target::Ecp5_85k.bram_blocks_for(512, 16)),
        ecp.count(&["DP16KD"])
    );
    assert!(ice.latches.is_empty() && ecp.latches.is_empty());
}

#[test]
fn yosys_maps_the_single_port_form_to_spram_and_lint_is_clean() {
    let (depth, width) = (3880, 32);
    let v = generate_verilog(&build(depth, width, RamForm::SinglePort));
    let lint = verilator_lint(&v, "top").expect("lint is clean");
    assert!(!lint.contains("%Warning"), "{lint}");
    let ice = yosys_synth(&v, "top", Family::Ice40).expect("yosys");
    println!(
        "{depth} x {width} single-port RAM: iCE40 {} SB_SPRAM256KA, {} SB_RAM40_4K, {} LUTs",
        ice.count(&["SB_SPRAM256KA"]),
        ice.count(&["SB_RAM40_4K"]),
        ice.luts()
    );
    assert_eq!(ice.count(&["SB_RAM40_4K"]), 0);
    assert_eq!(
        u64::from(Target::Ice40Up5k.spram_blocks_for(depth, width as u32)),
        ice.count(&["SB_SPRAM256KA"])
    );
    assert!(ice.latches.is_empty());
}

#[test]
fn the_banked_form_reads_in_five_cycles_and_writes_a_cycle_late() {
    let mut r = random::rng(71);
    for (depth, width, bank) in [(5, 4, 2), (37, 9, 8), (300, 24, 64)] {
        let ops = ops(&mut r, depth, width, 500);
        let got = run_native(depth, width, RamForm::Banked(bank), &ops);
        // Writes land a cycle after they are presented.
        let mut mem = vec![0i64; depth];
        let mut pending: Option<(i64, i64)> = None;
        let mut reads = Vec::new();
        for &(we, wa, d, ra) in &ops {
            if let Some((a, v)) = pending.take() {
                mem[a as usize] = v;
            }
            // The read happens a cycle later, from the bank's address
            // register: it sees every write presented before its cycle.
            reads.push(mem[ra as usize]);
            if we {
                pending = Some((wa, d));
            }
        }
        let l = Ram::BANKED_READ_LATENCY;
        assert_eq!(
            l, 5,
            "the bank's address register, its read, two registers, the bank select's"
        );
        assert_eq!(
            got[l - 1..],
            reads[..reads.len() - (l - 1)],
            "depth {depth}"
        );
        assert!(got[..l - 1].iter().all(|&v| v == 0));
    }
}

#[test]
fn yosys_maps_each_bank_to_its_own_block_rams_on_ecp5() {
    let (depth, width, bank) = (5000, 32, 2048);
    let v = generate_verilog(&build(depth, width, RamForm::Banked(bank)));
    let lint = verilator_lint(&v, "top").expect("lint is clean");
    assert!(!lint.contains("%Warning"), "{lint}");
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
    // Each bank has its own copy of the read address: without `keep`,
    // Yosys merges the three into one.
    let merged = yosys_synth(&v.replace("(* keep *)", ""), "top", Family::Ecp5).expect("yosys");
    let bank_address_bits = bank.trailing_zeros() as u64;
    assert_eq!(s.flip_flops() - merged.flip_flops(), 2 * bank_address_bits);
    assert!(s.latches.is_empty());
}
