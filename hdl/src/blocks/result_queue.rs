//! The result queue between the row engines' rounding points and the
//! collector. The row engines finish a row group together, one result each;
//! the collector, the gate unit and the data memory's write port take one
//! result (a value, or a whole cell) per cycle. The queue serialises them in
//! row order, so that everything after it sees the stream of a single
//! engine, a cell at a time:
//!
//! - in a layer's phase (neither `head` nor `project`) the engines' results of gates i, f and g
//!   are held per engine; with gate o each engine's cell is complete, and the
//!   four pre-activations of the group's cells enter the queue together;
//! - in any other phase (logits, a projection's y, a factor pass's t) each
//!   group's results enter it as they come.
//!
//! The queue then hands on one entry per cycle, engine 0's first. A last
//! group's padding rows (past the phase's `count` results) enter as empty
//! entries and are never handed on. The sequencer gives the queue the time
//! it needs ([`lstm_accel_spec::layout::Layout::row_span`]): a group's entries are out
//! before the next group enters. Counters restart with a phase (`start`, or
//! a change of `phase`: a LightRNN head's column logits start no phase).
//!
//! With one row engine the queue is a wire whose `cell_valid` never rises:
//! the collector takes the engine's results straight (a native simulation
//! settles in fewer passes) and gathers cells itself.

use crate::dynamic::{sext, DynSig, DynVal};
use rust_hdl::prelude::*;
use std::fmt::Write;

/// The result queue.
#[derive(LogicBlock)]
pub struct ResultQueue {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Each row engine's rounded result.
    pub values: Vec<DynSig<In>>,
    /// Nonzero: the engines present a completed row group.
    pub valid: DynSig<In>,
    /// Nonzero: the phase's rows are logits.
    pub head: DynSig<In>,
    /// Nonzero: the phase's rows are a projection's or a factor pass's
    /// (neither: a layer's gate rows).
    pub project: DynSig<In>,
    /// Nonzero: a phase (or frame) starts.
    pub start: DynSig<In>,
    /// The phase running.
    pub phase: DynSig<In>,
    /// Results of the phase (its cells, or rows).
    pub count: DynSig<In>,
    /// The entry's input gate pre-activation.
    pub zi: DynSig<Out>,
    /// Its forget gate pre-activation.
    pub zf: DynSig<Out>,
    /// Its cell candidate pre-activation.
    pub zg: DynSig<Out>,
    /// Its output gate pre-activation.
    pub zo: DynSig<Out>,
    /// Nonzero: `zi`..`zo` are a cell's.
    pub cell_valid: DynSig<Out>,
    /// A result of any other phase.
    pub value: DynSig<Out>,
    /// Nonzero: `value` is a result.
    pub value_valid: DynSig<Out>,
    _engines: usize,
    _value_width: usize,
    _count_width: usize,
    _r: QueueRegs,
}

#[derive(Clone, Debug, Default)]
struct QueueRegs {
    gate: i64,
    loaded: i64,
    phase: i64,
    cells: bool,
    /// Gates i, f, g of each engine's cell.
    held: Vec<[i64; 3]>,
    /// The queue: four values and a valid flag per entry, entry 0 out.
    q: Vec<[i64; 4]>,
    qv: Vec<bool>,
}

impl ResultQueue {
    /// A queue for `engines` row engines' results of `value_width` bits,
    /// the phase of `phase_width` bits and its count of `count_width`.
    pub fn new(engines: usize, value_width: usize, phase_width: usize, count_width: usize) -> Self {
        let e = engines.max(1);
        ResultQueue {
            clock: Signal::default(),
            values: (0..e).map(|_| DynSig::new(value_width)).collect(),
            valid: DynSig::new(2),
            head: DynSig::new(2),
            project: DynSig::new(2),
            start: DynSig::new(2),
            phase: DynSig::new(phase_width),
            count: DynSig::new(count_width),
            zi: DynSig::new(value_width),
            zf: DynSig::new(value_width),
            zg: DynSig::new(value_width),
            zo: DynSig::new(value_width),
            cell_valid: DynSig::new(2),
            value: DynSig::new(value_width),
            value_valid: DynSig::new(2),
            _engines: e,
            _value_width: value_width,
            _count_width: count_width,
            _r: QueueRegs {
                held: vec![[0; 3]; e],
                q: vec![[0; 4]; e],
                qv: vec![false; e],
                ..QueueRegs::default()
            },
        }
    }

    /// Cycles the queue adds to a result's path: none with one engine (a
    /// wire), its register otherwise.
    pub fn latency(engines: usize) -> usize {
        lstm_accel_spec::datapath::row_engines::queue_latency(engines)
    }

    /// Bits of the loaded-results counter: the count's, and room for a
    /// group past it.
    fn loaded_width(&self) -> usize {
        self._count_width + 8
    }

    fn edge(&mut self) {
        let e = self._engines;
        let phase = self.phase.val().0;
        let fresh = self.start.val().0 != 0 || phase != self._r.phase;
        let valid = self.valid.val().0 != 0;
        let cells = self.head.val().0 == 0 && self.project.val().0 == 0;
        let count = self.count.val().0;
        let v: Vec<i64> = self.values.iter().map(|x| x.val().0).collect();
        let lw = self.loaded_width();
        let r = &mut self._r;
        r.phase = phase;
        // Shift: the next entry comes out (the last keeps its values,
        // emptied).
        for k in 0..e - 1 {
            r.q[k] = r.q[k + 1];
            r.qv[k] = r.qv[k + 1];
        }
        r.qv[e - 1] = false;
        if fresh {
            r.gate = 0;
            r.loaded = 0;
        } else if valid {
            let load = !cells || r.gate == 3;
            if cells && r.gate < 3 {
                for (h, &x) in r.held.iter_mut().zip(&v) {
                    h[r.gate as usize] = x;
                }
                r.gate += 1;
            }
            if load {
                for (k, (&[a, b, c], &x)) in r.held.iter().zip(&v).enumerate() {
                    r.q[k] = [a, b, c, x];
                    r.qv[k] = r.loaded + (k as i64) < count;
                }
                r.cells = cells;
                r.gate = 0;
                r.loaded = sext(r.loaded + e as i64, lw);
            }
        }
    }
}

impl Logic for ResultQueue {
    fn update(&mut self) {
        if self._engines == 1 {
            // A wire: the collector gathers cells itself.
            self.value.next = self.values[0].val();
            self.value_valid.next = self.valid.val();
            self.cell_valid.next = DynVal(0);
            for z in [&mut self.zi, &mut self.zf, &mut self.zg, &mut self.zo] {
                z.next = DynVal(0);
            }
            return;
        }
        if self.clock.pos_edge() {
            self.edge();
        }
        let r = &self._r;
        let head = r.q[0];
        self.zi.next = DynVal(head[0]);
        self.zf.next = DynVal(head[1]);
        self.zg.next = DynVal(head[2]);
        self.zo.next = DynVal(head[3]);
        self.value.next = DynVal(head[3]);
        self.cell_valid.next = DynVal(i64::from(r.qv[0] && r.cells));
        self.value_valid.next = DynVal(i64::from(r.qv[0] && !r.cells));
    }
    fn connect(&mut self) {
        for o in [
            &mut self.zi,
            &mut self.zf,
            &mut self.zg,
            &mut self.zo,
            &mut self.cell_valid,
            &mut self.value,
            &mut self.value_valid,
        ] {
            o.connect();
        }
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(self.verilog())
    }
}

impl ResultQueue {
    fn verilog(&self) -> String {
        let e = self._engines;
        if e == 1 {
            // The initial block: an `always @(*)` runs only when an input
            // changes, and these outputs must not start unknown.
            return "initial begin
    value = 0; value_valid = 0; cell_valid = 0;
    zi = 0; zf = 0; zg = 0; zo = 0;
end
always @(*) begin
    value = values$0;
    value_valid = valid;
    cell_valid = 0;
    zi = 0; zf = 0; zg = 0; zo = 0;
end
"
            .into();
        }
        let v1 = self._value_width - 1;
        let mut s = String::new();
        let regs: Vec<String> = (0..e)
            .flat_map(|k| {
                [
                    format!("h0_{k}"),
                    format!("h1_{k}"),
                    format!("h2_{k}"),
                    format!("q0_{k}"),
                    format!("q1_{k}"),
                    format!("q2_{k}"),
                    format!("q3_{k}"),
                ]
            })
            .collect();
        let flags: Vec<String> = (0..e).map(|k| format!("qv_{k}")).collect();
        let _ = writeln!(
            s,
            "reg [1:0] gate;
reg signed [{l1}:0] loaded;
reg signed [{p1}:0] last_phase;
reg kind;
reg signed [{v1}:0] {regs};
reg {flags};
initial begin
    gate = 0; loaded = 0; last_phase = 0; kind = 0;
    {init}
end
wire fresh = (start != 0) || (phase != last_phase);
wire cells = (head == 0) && (project == 0);
always @(posedge clock) begin
    last_phase <= phase;",
            l1 = self.loaded_width() - 1,
            p1 = self.phase.width() - 1,
            regs = regs.join(", "),
            flags = flags.join(", "),
            init = regs
                .iter()
                .chain(&flags)
                .map(|r| format!("{r} = 0;"))
                .collect::<Vec<_>>()
                .join(" "),
        );
        // The shift, which a load below overrides.
        for k in 0..e - 1 {
            let _ = writeln!(
                s,
                "    q0_{k} <= q0_{n}; q1_{k} <= q1_{n}; q2_{k} <= q2_{n}; q3_{k} <= q3_{n}; qv_{k} <= qv_{n};",
                n = k + 1
            );
        }
        let _ = writeln!(
            s,
            "    qv_{last} <= 0;
    if (fresh) begin
        gate <= 0; loaded <= 0;
    end else if (valid != 0) begin
        if (cells && gate != 2'd3) begin
            gate <= gate + 2'd1;
            case (gate)",
            last = e - 1
        );
        for g in 0..3 {
            let held: Vec<String> = (0..e).map(|k| format!("h{g}_{k} <= values${k};")).collect();
            let _ = writeln!(s, "                2'd{g}: begin {} end", held.join(" "));
        }
        s.push_str(
            "                default: ;
            endcase
        end else begin
            kind <= cells;
            gate <= 0;
            loaded <= loaded + ",
        );
        let _ = writeln!(s, "{e};");
        for k in 0..e {
            let _ = writeln!(
                s,
                "            q0_{k} <= h0_{k}; q1_{k} <= h1_{k}; q2_{k} <= h2_{k}; q3_{k} <= values${k}; qv_{k} <= ((loaded + {k}) < count);"
            );
        }
        s.push_str(
            "        end
    end
end
always @(*) begin
    zi = q0_0; zf = q1_0; zg = q2_0; zo = q3_0;
    value = q3_0;
    cell_valid = (qv_0 && kind) ? 2'sd1 : 2'sd0;
    value_valid = (qv_0 && !kind) ? 2'sd1 : 2'sd0;
end
",
        );
        s
    }
}
