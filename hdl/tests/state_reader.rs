//! The state reader walks a `STATE_REPLY`'s values in the protocol's order:
//! layer by layer, each layer's cell states at `cell_base + u`, then its
//! outputs (h, or a projection's) in bank `u % lanes` at word
//! `h_read_base(l, parity) + u / lanes`. Native against that order for
//! layouts of one to three layers, with and without projections, on one to
//! five lanes and both parities; Icarus cycle for cycle against native on
//! random `active`/`advance`/`parity` inputs, back-to-back advances
//! included; Verilator lints it and Yosys synthesises it without latches.

use lstm_accel_hdl::blocks::state_reader::StateReader;
use lstm_accel_hdl::dynamic::{clock_cycle, DynVal};
use lstm_accel_hdl::tools::{first_difference, icarus_values, verilator_lint, yosys_synth};
use lstm_accel_model::random::{self, ModelShape};
use lstm_accel_spec::layout::Layout;
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use lstm_accel_spec::target::Family;
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

/// Layouts of random models the spec takes: stacked layers of different
/// sizes, some with projections, on `lanes` lanes.
fn layouts(r: &mut impl Rng, lanes: usize, n: usize) -> Vec<Layout> {
    let hw = HwConfig {
        lanes,
        ..HwConfig::default()
    };
    let mut out = Vec::new();
    while out.len() < n {
        let layers = r.random_range(1..=3);
        let hidden: Vec<usize> = (0..layers).map(|_| r.random_range(1..=11)).collect();
        let mut shape = ModelShape::ternary(r.random_range(1..=6), &hidden, 3, 8);
        shape.projection = hidden
            .iter()
            .map(|&h| (h > 2 && r.random_bool(0.4)).then(|| r.random_range(1..h)))
            .collect();
        if let Ok(s) = AcceleratorSpec::new(&random::model(r, &shape), &hw) {
            out.push(s.layout);
        }
    }
    out
}

fn build(lay: &Layout) -> StateReader {
    let mut s = StateReader::new(lay);
    s.clock.connect();
    s.active.connect();
    s.advance.connect();
    s.parity.connect();
    s.connect_all();
    s
}

/// One cycle's inputs: active, advance, parity.
type Input = (bool, bool, usize);

/// Per cycle after the edge: cell_addr, data_addr, lane, is_h.
fn run_native(lay: &Layout, cycles: &[Input]) -> Vec<Vec<i64>> {
    let mut s = build(lay);
    cycles
        .iter()
        .map(|&(active, advance, parity)| {
            s.active.next = DynVal(i64::from(active));
            s.advance.next = DynVal(i64::from(advance));
            s.parity.next = DynVal(parity as i64);
            clock_cycle(&mut s, |s| &mut s.clock);
            vec![
                s.cell_addr.val().0,
                s.data_addr.val().0,
                s.lane.val().0,
                s.is_h.val().0,
            ]
        })
        .collect()
}

/// What a state reply holds, in order: `(is_h, address, lane)` with the
/// cell memory's address for a cell state and the data memory's word and
/// bank for an output.
fn reply_order(lay: &Layout, parity: usize) -> Vec<(bool, i64, i64)> {
    let mut want = Vec::new();
    for (l, x) in lay.layers.iter().enumerate() {
        want.extend((0..x.hidden).map(|u| (false, (x.cell_base + u) as i64, 0)));
        want.extend((0..x.outputs).map(|u| {
            let word = lay.h_read_base(l, parity) + u / lay.lanes;
            (true, word as i64, (u % lay.lanes) as i64)
        }));
    }
    want
}

/// A walk as the controller drives it: `active` from the start, each value
/// read `gap` cycles after the last advance, then `advance` for one cycle.
fn walk(values: usize, parity: usize, gap: usize) -> (Vec<Input>, Vec<usize>) {
    let mut cycles = vec![(false, false, parity); 2];
    let mut reads = Vec::new();
    for _ in 0..values {
        cycles.extend(std::iter::repeat_n((true, false, parity), gap));
        reads.push(cycles.len() - 1);
        cycles.push((true, true, parity));
    }
    (cycles, reads)
}

#[test]
fn walks_every_layer_cell_states_then_outputs_in_reply_order() {
    let mut r = random::rng(91);
    for lanes in 1..=5 {
        for lay in layouts(&mut r, lanes, 4) {
            for parity in 0..2 {
                let want = reply_order(&lay, parity);
                // The controller's spacing (a value every four cycles) and
                // the tightest the registered advance allows.
                for gap in [3, 2] {
                    let (cycles, reads) = walk(want.len(), parity, gap);
                    let out = run_native(&lay, &cycles);
                    let got: Vec<(bool, i64, i64)> = reads
                        .iter()
                        .map(|&t| {
                            let o = &out[t];
                            if o[3] != 0 {
                                (true, o[1], o[2])
                            } else {
                                (false, o[0], 0)
                            }
                        })
                        .collect();
                    assert_eq!(
                        got,
                        want,
                        "{lanes} lanes, parity {parity}, gap {gap}, layers {:?}",
                        lay.layers
                            .iter()
                            .map(|x| (x.hidden, x.outputs))
                            .collect::<Vec<_>>()
                    );
                }
            }
        }
    }
}

#[test]
fn icarus_agrees_and_it_lints_and_synthesises() {
    let mut r = random::rng(92);
    for lanes in [1, 3, 4] {
        for lay in layouts(&mut r, lanes, 2) {
            // Random inputs: walks cut short by `active` falling, advances
            // on consecutive cycles, the parity changing between walks.
            let mut cycles: Vec<Input> = Vec::new();
            let mut parity = 0;
            for _ in 0..6 {
                cycles.push((false, false, parity));
                for _ in 0..r.random_range(5..60) {
                    cycles.push((true, r.random_bool(0.5), parity));
                }
                parity = r.random_range(0..2);
            }
            let native = run_native(&lay, &cycles);
            let verilog = generate_verilog(&build(&lay));
            let s = lay.widths();
            let mut tb = format!(
                "module tb;
reg clock = 0;
reg signed [1:0] active = 0, advance = 0, parity = 0;
wire signed [{c}:0] cell_addr;
wire signed [{d}:0] data_addr;
wire signed [{l}:0] lane;
wire signed [1:0] is_h;
top uut(.clock(clock), .active(active), .advance(advance), .parity(parity),
    .cell_addr(cell_addr), .data_addr(data_addr), .lane(lane), .is_h(is_h));
initial begin
",
                c = s.cell_addr_bits - 1,
                d = s.data_addr_bits - 1,
                l = s.lane_bits - 1,
            );
            for &(active, advance, parity) in &cycles {
                let _ = writeln!(
                    tb,
                    "    active = {}; advance = {}; parity = {parity};
    #5 clock = 1; #5 clock = 0; #1 $display(\"%0d %0d %0d %0d\", cell_addr, data_addr, lane, is_h);",
                    u8::from(active),
                    u8::from(advance),
                );
            }
            tb.push_str("    $finish;\nend\nendmodule\n");
            let icarus = icarus_values(&format!("{verilog}\n{tb}"), "tb").expect("icarus runs");
            if let Some(d) = first_difference(&icarus, &native) {
                panic!("{lanes} lanes: {d}");
            }
            let lint = verilator_lint(&verilog, "top").expect("lint runs");
            assert!(!lint.contains("%Warning"), "{lint}");
            for family in [Family::Ice40, Family::Ecp5] {
                let y = yosys_synth(&verilog, "top", family).expect("yosys");
                assert!(y.latches.is_empty(), "latches {:?}", y.latches);
            }
        }
    }
}
