//! The result queue hands the row engines' results on one per cycle, in row
//! order, whole cells in a layer's phase, a last group's padding dropped;
//! with one engine it is a wire. Native against the expected stream, Icarus
//! cycle for cycle against native; lint and synthesis without latches.

use lstm_accel_hdl::blocks::result_queue::ResultQueue;
use lstm_accel_hdl::dynamic::{clock_cycle, DynVal};
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth};
use lstm_accel_model::random;
use lstm_accel_spec::target::Family;
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

const WIDTH: usize = 10;
const PHASE_BITS: usize = 3;
const COUNT_BITS: usize = 8;

fn build(engines: usize) -> ResultQueue {
    let mut q = ResultQueue::new(engines, WIDTH, PHASE_BITS, COUNT_BITS);
    q.clock.connect();
    for v in &mut q.values {
        v.connect();
    }
    for s in [
        &mut q.valid,
        &mut q.head,
        &mut q.project,
        &mut q.start,
        &mut q.phase,
        &mut q.count,
    ] {
        s.connect();
    }
    q.connect_all();
    q
}

/// One cycle's inputs.
#[derive(Clone, Debug, Default)]
struct Input {
    values: Vec<i64>,
    valid: bool,
    head: bool,
    project: bool,
    start: bool,
    phase: i64,
    count: i64,
}

/// A handed-on result: a cell's four pre-activations, or a value.
#[derive(Clone, Debug, PartialEq)]
enum Out {
    Cell([i64; 4]),
    Value(i64),
}

/// Random phases: each a start, then row groups of `engines` results
/// spaced as the sequencer spaces them (a layer's gates `span` cycles
/// apart with `4 span >= engines`; other groups at least `engines` apart),
/// with the results every engine should hand on, in order.
fn phases(r: &mut impl Rng, engines: usize, n: usize) -> (Vec<Input>, Vec<Out>) {
    let lim = 1i64 << (WIDTH - 1);
    let mut cycles = Vec::new();
    let mut want = Vec::new();
    for p in 0..n {
        let kind = r.random_range(0..3);
        let (head, project) = (kind == 1, kind == 2);
        let count = r.random_range(1..=3 * engines) as i64;
        let base = Input {
            values: vec![0; engines],
            head,
            project,
            phase: (p % 5) as i64,
            count,
            ..Input::default()
        };
        cycles.push(Input {
            start: r.random_bool(0.5),
            ..base.clone()
        });
        cycles.push(base.clone());
        let groups = (count as usize).div_ceil(engines);
        for g in 0..groups {
            let gates = if kind == 0 { 4 } else { 1 };
            let gap = if kind == 0 {
                engines.div_ceil(4)
            } else {
                engines
            };
            // Per gate, every engine's result.
            let mut by_gate: Vec<Vec<i64>> = Vec::new();
            for _ in 0..gates {
                let values: Vec<i64> = (0..engines).map(|_| r.random_range(-lim..lim)).collect();
                by_gate.push(values.clone());
                cycles.push(Input {
                    values,
                    valid: true,
                    ..base.clone()
                });
                for _ in 1..gap + r.random_range(0..2) {
                    cycles.push(base.clone());
                }
            }
            // The group's rows within the count, in engine order.
            let kept = (count as usize - g * engines).min(engines);
            want.extend((0..kept).map(|e| {
                if kind == 0 {
                    Out::Cell(std::array::from_fn(|q| by_gate[q][e]))
                } else {
                    Out::Value(by_gate[0][e])
                }
            }));
        }
        for _ in 0..engines + 2 {
            cycles.push(base.clone());
        }
    }
    (cycles, want)
}

/// Per cycle: cell_valid, zi, zf, zg, zo, value_valid, value.
fn run_native(engines: usize, cycles: &[Input]) -> Vec<Vec<i64>> {
    let mut q = build(engines);
    cycles
        .iter()
        .map(|c| {
            for (s, &v) in q.values.iter_mut().zip(&c.values) {
                s.next = DynVal(v);
            }
            q.valid.next = DynVal(i64::from(c.valid));
            q.head.next = DynVal(i64::from(c.head));
            q.project.next = DynVal(i64::from(c.project));
            q.start.next = DynVal(i64::from(c.start));
            q.phase.next = DynVal(c.phase);
            q.count.next = DynVal(c.count);
            clock_cycle(&mut q, |q| &mut q.clock);
            vec![
                q.cell_valid.val().0,
                q.zi.val().0,
                q.zf.val().0,
                q.zg.val().0,
                q.zo.val().0,
                q.value_valid.val().0,
                q.value.val().0,
            ]
        })
        .collect()
}

fn handed_on(out: &[Vec<i64>]) -> Vec<Out> {
    out.iter()
        .filter_map(|o| {
            if o[0] != 0 {
                Some(Out::Cell([o[1], o[2], o[3], o[4]]))
            } else if o[5] != 0 {
                Some(Out::Value(o[6]))
            } else {
                None
            }
        })
        .collect()
}

#[test]
fn hands_every_result_on_in_row_order_and_drops_the_padding() {
    let mut r = random::rng(21);
    for engines in [2, 3, 4, 5, 8, 16] {
        let (cycles, want) = phases(&mut r, engines, 12);
        let out = run_native(engines, &cycles);
        assert_eq!(handed_on(&out), want, "{engines} engines");
        // A group's first result leaves with the clock edge that takes the
        // group's last one in (sampled after that edge).
        for (t, c) in cycles.iter().enumerate() {
            let closes = c.valid
                && (c.head || c.project || {
                    // A layer's gate o: the fourth valid since the last load.
                    let since = cycles[..=t]
                        .iter()
                        .rev()
                        .take_while(|x| !x.start && x.phase == c.phase)
                        .filter(|x| x.valid)
                        .count();
                    since % 4 == 0
                });
            if closes {
                assert!(
                    out[t][0] != 0 || out[t][5] != 0,
                    "{engines} engines: nothing handed on after the group closing at cycle {t}: {:?}",
                    &out[t.saturating_sub(4)..(t + 4).min(out.len())]
                );
            }
        }
    }
}

#[test]
fn one_engine_is_a_wire() {
    let mut r = random::rng(22);
    let (cycles, _) = phases(&mut r, 1, 6);
    let out = run_native(1, &cycles);
    for (c, o) in cycles.iter().zip(&out) {
        assert_eq!(o[5], i64::from(c.valid));
        assert_eq!(o[6], if c.valid { c.values[0] } else { o[6] });
        assert_eq!(o[0], 0);
    }
}

#[test]
fn icarus_agrees_and_it_lints_and_synthesises() {
    let mut r = random::rng(23);
    for engines in [1, 3, 4] {
        let (cycles, _) = phases(&mut r, engines, 6);
        let native = run_native(engines, &cycles);
        let verilog = generate_verilog(&build(engines));
        let mut tb = String::from("module tb;\nreg clock = 0;\n");
        let mut ports = String::from(".clock(clock)");
        for e in 0..engines {
            let _ = writeln!(tb, "reg signed [{}:0] v{e} = 0;", WIDTH - 1);
            let _ = write!(ports, ", .values${e}(v{e})");
        }
        let _ = writeln!(
            tb,
            "reg signed [1:0] valid = 0, head = 0, project = 0, start = 0;
reg signed [{p}:0] phase = 0;
reg signed [{c}:0] count = 0;
wire signed [{w}:0] zi, zf, zg, zo, value;
wire signed [1:0] cell_valid, value_valid;
top uut({ports}, .valid(valid), .head(head), .project(project), .start(start), .phase(phase), .count(count),
    .zi(zi), .zf(zf), .zg(zg), .zo(zo), .cell_valid(cell_valid), .value(value), .value_valid(value_valid));
initial begin",
            p = PHASE_BITS - 1,
            c = COUNT_BITS - 1,
            w = WIDTH - 1,
        );
        for c in &cycles {
            for (e, v) in c.values.iter().enumerate() {
                let _ = write!(tb, "    v{e} = {v};");
            }
            let _ = writeln!(
                tb,
                " valid = {}; head = {}; project = {}; start = {}; phase = {}; count = {};\n    #5 clock = 1; #5 clock = 0; #1 $display(\"%0d %0d %0d %0d %0d %0d %0d\", cell_valid, zi, zf, zg, zo, value_valid, value);",
                u8::from(c.valid),
                u8::from(c.head),
                u8::from(c.project),
                u8::from(c.start),
                c.phase,
                c.count
            );
        }
        tb.push_str("    $finish;\nend\nendmodule\n");
        let icarus = icarus_values(&format!("{verilog}\n{tb}"), "tb").expect("icarus runs");
        assert_eq!(icarus, native, "{engines} engines");
        let lint = verilator_lint(&verilog, "top").expect("lint is clean");
        assert!(!lint.contains("%Warning"), "{lint}");
        for family in [Family::Ice40, Family::Ecp5] {
            let s = yosys_synth(&verilog, "top", family).expect("yosys");
            assert!(
                s.latches.is_empty(),
                "{engines} engines: latches {:?}",
                s.latches
            );
        }
    }
}
