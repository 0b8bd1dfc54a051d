//! The RAM forms that use an ECP5 block RAM's output register: the
//! dual-port form with a second read register (two-cycle reads, read-first,
//! against a plain vector), and both it and the banked form as `DP16KD`
//! instances in synthesis. Icarus runs the instance Verilog (with
//! `SYNTHESIS` defined) on a behavioural `DP16KD` written here from the
//! ECP5 memory guide (a 9-, 4-, 2- or 1-bit port addressed by the top bits
//! of `AD*`, the output register a cycle behind the read) cycle for cycle
//! like the native engine; an activation table as `DP16KD` blocks whose
//! initial contents are the table (`INITVAL_*`, 18-bit words) gives the
//! model's `eval` over the whole input domain in Icarus; Yosys maps them to exactly the blocks the spec
//! counts, with the output register set, and Verilator lints them.

mod ram_bench;

use lstm_accel_hdl::blocks::ram::{Ram, RamForm};
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth};
use lstm_accel_model::random;
use lstm_accel_spec::target::Family;
use ram_bench::{icarus_reads, run_native, Op};
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

fn build(depth: usize, width: usize, form: RamForm) -> Ram {
    ram_bench::connected(
        match form {
            RamForm::Banked(bank) => Ram::banked(depth, width, bank),
            _ => Ram::new(depth, width).with_output_register(),
        }
        .with_dp16kd(),
    )
}

fn ops(r: &mut impl Rng, depth: usize, width: usize, n: usize) -> Vec<Op> {
    let lim = 1i64 << (width - 1);
    // A few addresses, so that reads meet the words written.
    let hot: Vec<i64> = (0..12).map(|_| r.random_range(0..depth as i64)).collect();
    (0..n)
        .map(|_| {
            let wa = hot[r.random_range(0..hot.len())];
            let ra = if r.random_bool(0.3) {
                wa
            } else {
                hot[r.random_range(0..hot.len())]
            };
            (r.random_bool(0.5), wa, r.random_range(-lim..lim), ra)
        })
        .collect()
}

#[test]
fn the_output_register_form_reads_in_two_cycles_read_first() {
    let mut r = random::rng(81);
    for (depth, width) in [(1, 4), (37, 12), (3000, 10)] {
        let ops = ops(&mut r, depth, width, 400);
        let mut m = build(depth, width, RamForm::DualPort);
        assert_eq!(m.read_latency(), 2);
        assert!(m.uses_dp16kd());
        let got = run_native(&mut m, &ops);
        let mut mem = vec![0i64; depth];
        let mut reads = Vec::new();
        for &(we, wa, d, ra) in &ops {
            reads.push(mem[ra as usize]);
            if we {
                mem[wa as usize] = d;
            }
        }
        assert_eq!(got[0], 0);
        assert_eq!(got[1..], reads[..reads.len() - 1], "depth {depth}");
    }
}

/// A behavioural `DP16KD`: the ports and parameters the generated
/// instances use; ports of 18 (byte enables in `AD*[1:0]`), 9, 4, 2 or 1
/// bits; zero at power-up.
fn dp16kd_model() -> String {
    let ports = |p: char| {
        let mut v: Vec<String> = (0..18).map(|i| format!("DI{p}{i}")).collect();
        v.extend((0..14).map(|i| format!("AD{p}{i}")));
        v.extend(
            ["CE", "OCE", "CLK", "WE", "RST", "CS0", "CS1", "CS2"]
                .iter()
                .map(|n| {
                    // `CS0` is `CSA0`: the port letter goes before the digit.
                    match n.strip_prefix("CS") {
                        Some(d) => format!("CS{p}{d}"),
                        None => format!("{n}{p}"),
                    }
                }),
        );
        v
    };
    let inputs: Vec<String> = ports('A').into_iter().chain(ports('B')).collect();
    let outputs: Vec<String> = (0..18)
        .flat_map(|i| [format!("DOA{i}"), format!("DOB{i}")])
        .collect();
    let bus = |p: &str, n: usize| {
        (0..n)
            .rev()
            .map(|i| format!("{p}{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "module DP16KD(input {inputs}, output {outputs});
parameter DATA_WIDTH_A = 18;
parameter DATA_WIDTH_B = 18;
parameter REGMODE_A = \"NOREG\";
parameter REGMODE_B = \"NOREG\";
parameter RESETMODE = \"SYNC\";
parameter ASYNC_RESET_RELEASE = \"SYNC\";
parameter CSDECODE_A = \"0b000\";
parameter CSDECODE_B = \"0b000\";
parameter WRITEMODE_A = \"NORMAL\";
parameter WRITEMODE_B = \"NORMAL\";
parameter GSR = \"ENABLED\";
{initvals}
localparam SA = DATA_WIDTH_A == 18 ? 4 : DATA_WIDTH_A == 9 ? 3 : DATA_WIDTH_A == 4 ? 2 : DATA_WIDTH_A == 2 ? 1 : 0;
localparam SB = DATA_WIDTH_B == 18 ? 4 : DATA_WIDTH_B == 9 ? 3 : DATA_WIDTH_B == 4 ? 2 : DATA_WIDTH_B == 2 ? 1 : 0;
reg [18431:0] bits;
reg [17:0] latch_b = 0, out_b = 0;
// The initial contents: INITVAL_xx holds the 18-bit words 16 xx .. 16 xx + 15
// of the 1024 x 18 array, each in 20 bits.
integer w;
initial begin
    bits = 0;
{init_loads}end
wire [13:0] ada = {{{ada}}};
wire [13:0] adb = {{{adb}}};
wire [17:0] dia = {{{dia}}};
integer i;
always @(posedge CLKA)
    if (CEA && WEA)
        for (i = 0; i < DATA_WIDTH_A; i = i + 1)
            // An 18-bit port writes the bytes its two low address bits enable.
            if (DATA_WIDTH_A != 18 || ada[i / 9])
                bits[(ada >> SA) * DATA_WIDTH_A + i] <= dia[i];
always @(posedge CLKB) begin
    if (CEB)
        for (i = 0; i < DATA_WIDTH_B; i = i + 1)
            latch_b[i] <= bits[(adb >> SB) * DATA_WIDTH_B + i];
    if (OCEB)
        out_b <= latch_b;
end
assign {{{dob}}} = (REGMODE_B == \"OUTREG\") ? out_b : latch_b;
assign {{{doa}}} = 0;
endmodule
",
        inputs = inputs.join(", "),
        outputs = outputs.join(", "),
        initvals = (0..64)
            .map(|x| format!("parameter [319:0] INITVAL_{x:02X} = 0;"))
            .collect::<Vec<_>>()
            .join("\n"),
        init_loads = (0..64)
            .map(|x| format!(
                "    for (w = 0; w < 16; w = w + 1) bits[({x} * 16 + w) * 18 +: 18] = INITVAL_{x:02X}[w * 20 +: 18];\n"
            ))
            .collect::<String>(),
        ada = bus("ADA", 14),
        adb = bus("ADB", 14),
        dia = bus("DIA", 18),
        dob = bus("DOB", 18),
        doa = bus("DOA", 18),
    )
}

fn icarus_run(r: &mut impl Rng, depth: usize, width: usize, form: RamForm) {
    let ops = ops(r, depth, width, 300);
    let mut m = build(depth, width, form);
    assert!(m.uses_dp16kd(), "{form:?}");
    let native = run_native(&mut m, &ops);
    let verilog = generate_verilog(&build(depth, width, form));
    assert!(verilog.contains("REGMODE_B(\"OUTREG\")"));
    let icarus = icarus_reads(
        &format!("`define SYNTHESIS\n{verilog}"),
        &dp16kd_model(),
        depth,
        width,
        &ops,
    );
    assert_eq!(icarus, native, "{depth} x {width} {form:?}");
}

#[test]
fn icarus_runs_the_dp16kd_instances_like_the_native_engine() {
    let mut r = random::rng(82);
    // 18-bit blocks (1024 deep), 9-bit ones (2048), 4-bit ones (4096),
    // 2-bit ones (8192).
    icarus_run(&mut r, 37, 12, RamForm::DualPort);
    icarus_run(&mut r, 1500, 12, RamForm::DualPort);
    icarus_run(&mut r, 3000, 10, RamForm::DualPort);
    icarus_run(&mut r, 5000, 7, RamForm::DualPort);
    icarus_run(&mut r, 5000, 20, RamForm::Banked(2048));
    icarus_run(&mut r, 9000, 6, RamForm::Banked(4096));
    icarus_run(&mut r, 3000, 30, RamForm::Banked(1024));
}

#[test]
fn yosys_maps_them_to_the_blocks_the_spec_counts_and_lint_is_clean() {
    let blocks_for = |d, w| Ram::dp16kd_blocks_for(d, w).expect("a shape");
    for (depth, width, form, blocks) in [
        (2058, 10, RamForm::DualPort, blocks_for(2058, 10)),
        (300, 20, RamForm::DualPort, blocks_for(300, 20)),
        (5000, 32, RamForm::Banked(2048), 3 * blocks_for(2048, 32)),
    ] {
        let v = generate_verilog(&build(depth, width, form));
        let lint = verilator_lint(&v, "top").expect("lint is clean");
        assert!(!lint.contains("%Warning"), "{lint}");
        let s = yosys_synth(&v, "top", Family::Ecp5).expect("yosys");
        println!(
            "{depth} x {width} {form:?}: {} DP16KD, {} FFs, {} LUTs",
            s.count(&["DP16KD"]),
            s.flip_flops(),
            s.luts()
        );
        assert_eq!(s.count(&["DP16KD"]), u64::from(blocks), "{form:?}");
        assert_eq!(s.count(&["TRELLIS_DPR16X4"]), 0);
        assert!(s.latches.is_empty());
        if form == RamForm::DualPort {
            // Both read registers are the block's own.
            assert_eq!(s.flip_flops(), 0, "{depth} x {width}");
        }
    }
}

#[test]
fn an_activation_table_in_dp16kd_blocks_computes_the_model_exactly() {
    use lstm_accel_hdl::blocks::activation_unit::{ActivationBlock, ACTIVATION_LATENCY};

    use lstm_accel_model::activation::{ActivationUnit, Approx, Function};
    use lstm_accel_model::fixed::{Format, Rounding};
    // 256 and 1024 entries; outputs of 8, 12 and 16 bits (one block: the
    // model keeps outputs within 16 bits).
    for (f, fi, fo, index_bits) in [
        (
            Function::Sigmoid,
            Format::new(12, 8),
            Format::new(12, 10),
            8,
        ),
        (Function::Tanh, Format::new(12, 6), Format::new(8, 7), 10),
        (Function::Tanh, Format::new(10, 6), Format::new(16, 14), 8),
    ] {
        let approx = Approx::Lut {
            index_bits,
            range_log2: 3,
        };
        let unit = ActivationUnit::new(f, approx, fi, fo, Rounding::HalfEven).expect("unit");
        let mut b = ActivationBlock::new(unit.clone()).with_dp16kd();
        assert!(b.uses_dp16kd());
        assert_eq!(b.latency(), ACTIVATION_LATENCY + 1);
        b.clock.connect();
        b.x.connect();
        b.connect_all();
        let verilog = generate_verilog(&b);
        assert!(verilog.contains("INITVAL_3F"));
        let mut tb = format!(
            "module tb;\nreg clock = 0;\nreg signed [{}:0] x = 0;\nwire signed [{}:0] y;\ninteger i;\ntop uut(.clock(clock), .x(x), .y(y));\ninitial begin\n",
            fi.width - 1,
            fo.width - 1
        );
        let _ = write!(
            tb,
            "    for (i = {lo}; i <= {hi} + {lat}; i = i + 1) begin\n        x = i;\n        #5 clock = 1; #5 clock = 0;\n        if (i >= {lo} + {lat}) $display(\"%0d\", y);\n    end\n    $finish;\nend\nendmodule\n",
            lo = fi.min_raw(),
            hi = fi.max_raw(),
            lat = b.latency() - 1
        );
        let got = icarus_values(
            &format!("`define SYNTHESIS\n{verilog}\n{}\n{tb}", dp16kd_model()),
            "tb",
        )
        .expect("icarus runs")
        .concat();
        let want: Vec<i64> = (fi.min_raw()..=fi.max_raw())
            .map(|x| unit.eval(x))
            .collect();
        assert_eq!(got, want, "{f:?} {fi} -> {fo}, {index_bits} index bits");
        let s = yosys_synth(&verilog, "top", Family::Ecp5).expect("yosys");
        assert_eq!(s.count(&["DP16KD"]), fo.width.div_ceil(18) as u64);
        let lint = verilator_lint(&verilog, "top").expect("lint is clean");
        assert!(!lint.contains("%Warning"), "{lint}");
    }
}
