//! The LightRNN decoder, with an arg-max unit on the row logits and a RAM
//! holding the class table, as the accelerator wires them: random tables
//! (empty cells and empty rows included) and logit streams with ties and
//! gaps decode to exactly `lstm_accel_model::trace::lightrnn_decode`'s
//! class, `LATENCY` cycles after the last column logit, in the native
//! engine and in Icarus (cycle by cycle); Verilator lints it and Yosys
//! synthesises it without latches.

use lstm_accel_hdl::blocks::argmax::ArgMax;
use lstm_accel_hdl::blocks::lightrnn_decoder::{LightRnnDecoder, LightRnnShape};
use lstm_accel_hdl::blocks::ram::Ram;
use lstm_accel_hdl::dynamic::{clock_cycle, DynVal};
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth};
use lstm_accel_model::random;
use lstm_accel_model::trace::lightrnn_decode;
use lstm_accel_spec::target::Family;
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

const LOGIT_WIDTH: usize = 8;

/// The decoder, the row arg-max and the class table, wired as in the
/// accelerator (the table loaded through its write port).
#[derive(LogicBlock)]
struct Harness {
    clock: Signal<In, Clock>,
    logit: lstm_accel_hdl::dynamic::DynSig<In>,
    valid: lstm_accel_hdl::dynamic::DynSig<In>,
    first: lstm_accel_hdl::dynamic::DynSig<In>,
    row: lstm_accel_hdl::dynamic::DynSig<In>,
    we: lstm_accel_hdl::dynamic::DynSig<In>,
    waddr: lstm_accel_hdl::dynamic::DynSig<In>,
    wdata: lstm_accel_hdl::dynamic::DynSig<In>,
    class_out: lstm_accel_hdl::dynamic::DynSig<Out>,
    argmax: ArgMax,
    decoder: LightRnnDecoder,
    class_table: Ram,
}

impl Logic for Harness {
    #[hdl_gen]
    fn update(&mut self) {
        self.argmax.clock.next = self.clock.val();
        self.decoder.clock.next = self.clock.val();
        self.class_table.clock.next = self.clock.val();
        self.argmax.value.next = self.logit.val();
        self.argmax.first.next = self.first.val();
        self.argmax.valid.next = self.decoder.row_valid.val();
        self.decoder.logit.next = self.logit.val();
        self.decoder.valid.next = self.valid.val();
        self.decoder.row.next = self.row.val();
        self.decoder.best_row.next = self.argmax.index.val();
        self.decoder.table_data.next = self.class_table.read_data.val();
        self.class_table.read_address.next = self.decoder.table_addr.val();
        self.class_table.write_enable.next = self.we.val();
        self.class_table.write_address.next = self.waddr.val();
        self.class_table.write_data.next = self.wdata.val();
        self.class_out.next = self.decoder.decoded.val();
    }
}

fn shape(rows: usize, cols: usize) -> LightRnnShape {
    let cells = rows * cols;
    LightRnnShape {
        rows,
        cols,
        logit_width: LOGIT_WIDTH,
        row_bits: Ram::address_width(rows + cols),
        best_bits: Ram::address_width(rows),
        table_addr_bits: Ram::address_width(cells),
        class_width: Ram::address_width(cells),
    }
}

fn harness(rows: usize, cols: usize) -> Harness {
    let s = shape(rows, cols);
    let mut h = Harness {
        clock: Signal::default(),
        logit: lstm_accel_hdl::dynamic::DynSig::new(LOGIT_WIDTH),
        valid: lstm_accel_hdl::dynamic::DynSig::new(2),
        first: lstm_accel_hdl::dynamic::DynSig::new(2),
        row: lstm_accel_hdl::dynamic::DynSig::new(s.row_bits),
        we: lstm_accel_hdl::dynamic::DynSig::new(2),
        waddr: lstm_accel_hdl::dynamic::DynSig::new(s.table_addr_bits),
        wdata: lstm_accel_hdl::dynamic::DynSig::new(s.class_width),
        class_out: lstm_accel_hdl::dynamic::DynSig::new(s.class_width),
        argmax: ArgMax::new(LOGIT_WIDTH, rows),
        decoder: LightRnnDecoder::new(s),
        class_table: Ram::new(rows * cols, s.class_width),
    };
    for i in [
        &mut h.logit,
        &mut h.valid,
        &mut h.first,
        &mut h.row,
        &mut h.we,
        &mut h.waddr,
        &mut h.wdata,
    ] {
        i.connect();
    }
    h.clock.connect();
    h.connect_all();
    h
}

/// One cycle of stimulus.
#[derive(Clone, Copy, Debug, Default)]
struct Cycle {
    logit: Option<(i64, usize)>,
    write: Option<(usize, i64)>,
}

/// Loads the table, then streams frames of `rows + cols` logits with idle
/// gaps; returns the cycles and, per frame, (cycle of its last logit,
/// expected class).
fn stimulus(
    r: &mut impl Rng,
    rows: usize,
    cols: usize,
    table: &[i32],
    frames: usize,
) -> (Vec<Cycle>, Vec<(usize, i64)>) {
    let mut cycles: Vec<Cycle> = table
        .iter()
        .enumerate()
        .map(|(i, &c)| Cycle {
            write: Some((i, i64::from(c))),
            ..Cycle::default()
        })
        .collect();
    let mut expect = Vec::new();
    let lim = 1i64 << (LOGIT_WIDTH - 1);
    for _ in 0..frames {
        // Few distinct values, so ties are common; extremes included.
        let logits: Vec<i64> = (0..rows + cols)
            .map(|_| match r.random_range(0..5) {
                0 => -lim,
                1 => lim - 1,
                _ => r.random_range(-3..=3),
            })
            .collect();
        let gap = r.random_range(0..3);
        for (row, &v) in logits.iter().enumerate() {
            for _ in 0..gap {
                cycles.push(Cycle::default());
            }
            cycles.push(Cycle {
                logit: Some((v, row)),
                ..Cycle::default()
            });
        }
        let (br, bc) = lightrnn_decode(&logits, rows, table);
        expect.push((cycles.len() - 1, i64::from(table[br * cols + bc])));
        // The next frame comes a while later, as after a whole frame.
        for _ in 0..LightRnnDecoder::LATENCY + r.random_range(0..4) {
            cycles.push(Cycle::default());
        }
    }
    (cycles, expect)
}

fn run(h: &mut Harness, cycles: &[Cycle]) -> Vec<i64> {
    cycles
        .iter()
        .map(|c| {
            let (v, row) = c.logit.unwrap_or((0, 0));
            h.logit.next = DynVal(v);
            h.valid.next = DynVal(i64::from(c.logit.is_some()));
            h.first.next = DynVal(i64::from(c.logit.is_some() && row == 0));
            h.row.next = DynVal(row as i64);
            let (a, d) = c.write.unwrap_or((0, 0));
            h.we.next = DynVal(i64::from(c.write.is_some()));
            h.waddr.next = DynVal(a as i64);
            h.wdata.next = DynVal(d);
            clock_cycle(h, |h| &mut h.clock);
            h.class_out.val().0
        })
        .collect()
}

fn random_table(r: &mut impl Rng, rows: usize, cols: usize) -> Vec<i32> {
    let cells = rows * cols;
    let mut classes: Vec<i32> = (0..cells as i32).collect();
    // Shuffle, then empty some cells; sometimes a whole row.
    for i in (1..cells).rev() {
        classes.swap(i, r.random_range(0..=i));
    }
    let empty_row = r.random_bool(0.3).then(|| r.random_range(0..rows));
    (0..cells)
        .map(|i| {
            if Some(i / cols) == empty_row || r.random_bool(0.25) {
                -1
            } else {
                classes[i]
            }
        })
        .collect()
}

#[test]
fn decodes_like_the_model_in_its_latency() {
    let mut r = random::rng(41);
    for (rows, cols) in [(1, 1), (2, 3), (4, 4), (3, 7), (6, 2)] {
        for _ in 0..4 {
            let table = random_table(&mut r, rows, cols);
            let (cycles, expect) = stimulus(&mut r, rows, cols, &table, 6);
            let out = run(&mut harness(rows, cols), &cycles);
            for (f, &(last, class)) in expect.iter().enumerate() {
                let at = last + LightRnnDecoder::LATENCY;
                assert_eq!(
                    out[at], class,
                    "{rows}x{cols} table {table:?}, frame {f}: class {LATENCY} cycles after the last logit",
                    LATENCY = LightRnnDecoder::LATENCY
                );
            }
        }
    }
}

fn testbench(rows: usize, cols: usize, cycles: &[Cycle]) -> String {
    let s = shape(rows, cols);
    let mut tb = format!(
        "module tb;
reg clock = 0;
reg signed [{lw}:0] logit = 0;
reg signed [1:0] valid = 0, first = 0, we = 0;
reg signed [{rw}:0] row = 0;
reg signed [{aw}:0] waddr = 0;
reg signed [{cw}:0] wdata = 0;
wire signed [{cw}:0] class_out;
top uut(.clock(clock), .logit(logit), .valid(valid), .first(first), .row(row), .we(we), .waddr(waddr), .wdata(wdata), .class_out(class_out));
initial begin
",
        lw = LOGIT_WIDTH - 1,
        rw = s.row_bits - 1,
        aw = s.table_addr_bits - 1,
        cw = s.class_width - 1
    );
    for c in cycles {
        let (v, row) = c.logit.unwrap_or((0, 0));
        let (a, d) = c.write.unwrap_or((0, 0));
        let _ = writeln!(
            tb,
            "    logit = {v}; valid = {}; first = {}; row = {row}; we = {}; waddr = {a}; wdata = {d};
    #5 clock = 1; #5 clock = 0; #1 $display(\"%0d\", class_out);",
            u8::from(c.logit.is_some()),
            u8::from(c.logit.is_some() && row == 0),
            u8::from(c.write.is_some()),
        );
    }
    tb.push_str("    $finish;\nend\nendmodule\n");
    tb
}

#[test]
fn icarus_agrees_with_the_native_engine() {
    let mut r = random::rng(7);
    for (rows, cols) in [(3, 4), (5, 2)] {
        let table = random_table(&mut r, rows, cols);
        let (cycles, _) = stimulus(&mut r, rows, cols, &table, 5);
        let native: Vec<Vec<i64>> = run(&mut harness(rows, cols), &cycles)
            .into_iter()
            .map(|v| vec![v])
            .collect();
        let v = generate_verilog(&harness(rows, cols));
        let icarus = icarus_values(&format!("{v}\n{}", testbench(rows, cols, &cycles)), "tb")
            .expect("icarus runs");
        assert_eq!(icarus, native, "{rows}x{cols}");
    }
}

#[test]
fn verilog_lints_and_synthesises_without_latches() {
    let v = generate_verilog(&harness(16, 16));
    let lint = verilator_lint(&v, "top").unwrap_or_else(|e| panic!("{e}"));
    assert!(!lint.contains("%Warning"), "{lint}");
    for family in [Family::Ice40, Family::Ecp5] {
        let st = yosys_synth(&v, "top", family).unwrap_or_else(|e| panic!("{e}"));
        assert!(st.latches.is_empty(), "{family:?}: {:?}", st.latches);
        println!(
            "LightRNN decoder, 16 x 16 table, {family:?}: {} LUTs, {} FFs",
            st.luts(),
            st.flip_flops()
        );
    }
}
