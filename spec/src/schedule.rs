//! The schedule of one frame: every operation of the datapath as a node of a
//! dependency graph (petgraph), list-scheduled onto the units that execute it.
//!
//! Operations, in program order:
//! - `Row`: one gate row of a layer on the MAC array, `x_words + h_words`
//!   cycles (one weight word of `lanes` codes per cycle); its pre-activation is
//!   ready `mac_latency` cycles after its last word;
//! - `Cell`: the gate unit turns a cell's four rows (i, f, g, o) into c and h;
//!   one cell enters every `cell_interval` cycles per unit and its h is
//!   written `cell_latency` cycles later;
//! - `Projection`: one row of `P h` on the MAC array after the layer's last
//!   cell; its y goes to the data memory through the h path, so it is
//!   written `cell_latency` cycles after it reaches the collector;
//! - `Factor`: one row of a low-rank matrix's `t = V v` on the MAC array,
//!   before the rows that read `t`; written like a projection's y;
//! - `HeadRow`: one logit row on the MAC array;
//! - `Decode`: the arg-max, which takes each logit as it is produced; the
//!   class is latched `decode_latency` cycles after the last one.
//!
//! With several row engines the MAC array's operations are row groups (a
//! layer's: one gate of `engines` consecutive cells; see
//! [`crate::layout::Layout::groups`]), each busy for its span and ready, as
//! a row is, after its last word; the result queue then hands a group's
//! results on one per cycle.
//!
//! The MAC array issues rows in program order (cell-major, gates i, f, g, o,
//! so the gate unit can start on a cell as soon as its fourth row is done);
//! a row that reads the previous layer's output waits for that layer's last
//! write. The predicted cycles per frame is the end of `Decode`; the hardware
//! sequencer executes exactly this program, so simulated cycles must equal it.

use crate::datapath;
use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};

/// One operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Gate row `gate` (0 i, 1 f, 2 g, 3 o) of cell `cell` of `layer`.
    Row {
        /// Layer.
        layer: usize,
        /// Gate index.
        gate: usize,
        /// Cell index.
        cell: usize,
    },
    /// The cell update of `cell` in `layer`.
    Cell {
        /// Layer.
        layer: usize,
        /// Cell index.
        cell: usize,
    },
    /// Row `row` of a layer's projection.
    Projection {
        /// Layer.
        layer: usize,
        /// Projection row.
        row: usize,
    },
    /// Row `row` of a low-rank matrix's factor pass `t = V v` (phase
    /// `phase` of the layout).
    Factor {
        /// The pass's phase.
        phase: usize,
        /// Row of `V`.
        row: usize,
    },
    /// Row `row` of the head's logits (a LightRNN head's row logits, then
    /// its column logits).
    HeadRow {
        /// Logit index.
        row: usize,
    },
    /// The arg-max over the logits (a LightRNN head: the row arg-max, the
    /// column arg-max over the row's occupied cells, the class from the
    /// table).
    Decode,
}

/// The unit an operation runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// The shift-add MAC array.
    MacArray,
    /// Gate unit number `n`.
    GateUnit(usize),
    /// The arg-max decoder.
    Decoder,
}

/// An operation with its place in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// What.
    pub op: Op,
    /// Where.
    pub unit: Unit,
    /// First cycle the unit is busy with it.
    pub start: u64,
    /// Cycles the unit is busy.
    pub busy: u64,
    /// Cycle at which its result is available to dependents.
    pub ready: u64,
}

/// Pipeline depths of the hardware blocks: the contract between the schedule
/// and the datapath, which takes its register counts from here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pipeline {
    /// Cycles from a row's last weight word to its pre-activation in the
    /// collector: memory read, shift-add, `ceil(log2 lanes)` adder-tree
    /// levels, accumulate, bias add, rounding point (two stages), collector
    /// register; with several row engines also their input registers and
    /// the result queue's register.
    pub mac_latency: u64,
    /// Cycles between two cells entering one gate unit: five activations
    /// (i, f, g, o, tanh c) on `activation_units` blocks, the three
    /// sigmoids sharing what tanh(g) and tanh(c) leave
    /// ([`datapath::gate_unit::interval`]: 1, 2, 3 cycles for 5, 4, 3 blocks).
    pub cell_interval: u64,
    /// Cycles from a cell entering the gate unit to its h being written
    /// ([`datapath::gate_unit::latency`] plus the output-memory write).
    pub cell_latency: u64,
    /// Cycles the sequencer takes to switch to the next layer or the head
    /// once the h it waits for is written.
    pub phase_switch: u64,
    /// Cycles from the last logit to the class: the arg-max register, the
    /// head's drain state ending (registered), then the sequencer latching
    /// the class.
    pub decode_latency: u64,
    /// Extra cycles a LightRNN head's decode takes: the class-table read
    /// that checks the last column's cell, and the read of the class.
    #[serde(default)]
    pub table_latency: u64,
    /// Extra cycles of the weight memory's read when it is banked (a deep
    /// memory on ECP5, see `Ram::banked`); the MAC array's other inputs are
    /// delayed as much, and `mac_latency` includes them.
    #[serde(default)]
    pub weight_read_extra: u64,
    /// Extra cycles of the tap memory's read: its output register on ECP5
    /// designs with structured matrices (the block's read and the route to
    /// every row engine's input registers do not fit one cycle together),
    /// or the banked read's when the taps are banked
    /// (`HwConfig::tap_banking`).
    /// The MAC array's inputs are delayed to the slower of the two reads
    /// ([`Pipeline::read_extra`]), which `mac_latency` includes.
    #[serde(default)]
    pub tap_read_extra: u64,
    /// The activations have a second output register (ECP5 designs: a
    /// table's block-RAM read and the route to the multipliers); the gate
    /// unit's latencies include it.
    #[serde(default)]
    pub second_activation_register: bool,
    /// Cycles the result queue of several row engines adds to a row's
    /// path (its register; `mac_latency` includes it), 0 with one engine.
    #[serde(default)]
    pub queue_latency: u64,
    /// Cycles the result queue takes to hand on a full group after its
    /// first result (row engines less one).
    #[serde(default)]
    pub queue_drain: u64,
}

impl Pipeline {
    /// Cycles the MAC array's inputs wait beyond a one-cycle memory read:
    /// the slower of the weight and the tap memory's reads.
    pub fn read_extra(&self) -> u64 {
        self.weight_read_extra.max(self.tap_read_extra)
    }

    /// Cycles a word the sequencer issued can still act after its issue:
    /// its row's result on the MAC path, the gate unit and the write of
    /// its h, the class's decode, with the issue registers and a margin of
    /// two cycles. The accelerator holds its reset this long, so that
    /// nothing of a frame it cut short is left in the datapath.
    pub fn drain_cycles(&self) -> u64 {
        2 + self.mac_latency
            + self.queue_drain
            + self.cell_latency
            + self.phase_switch
            + self.decode_latency
            + self.table_latency
            + 2
    }

    /// Depths for `engines` row engines of `lanes` lanes and an
    /// activation-unit count, with activations of a second output register
    /// or not.
    pub fn new(
        lanes: usize,
        engines: usize,
        activation_units: usize,
        second_activation_register: bool,
    ) -> Pipeline {
        // Several row engines hand their results on through the result
        // queue's register.
        let queue = datapath::row_engines::queue_latency(engines) as u64;
        // ...and take their inputs through registers of their own.
        let boundary = datapath::row_engines::boundary_latency(engines) as u64;
        // Memory read, the MAC array itself, bias add, the rounding point's
        // two stages and the collector's register.
        let mac = datapath::mac_array::latency(lanes) as u64;
        // The gate unit, then the write of h into the data memory, which the
        // sequencer sees before it starts the next layer.
        use datapath::gate_unit;
        let cell = gate_unit::latency(second_activation_register, activation_units) as u64 + 1;
        let rounding = datapath::REQUANTIZER_LATENCY as u64;
        Pipeline {
            mac_latency: mac + 2 + rounding + queue + boundary,
            cell_interval: gate_unit::interval(activation_units) as u64,
            cell_latency: cell,
            // The drain state's registered end, then the switch itself.
            phase_switch: 2,
            decode_latency: 3,
            // The decoder's cycles beyond the dense arg-max's one.
            table_latency: datapath::LIGHTRNN_DECODER_LATENCY as u64 - 1,
            weight_read_extra: 0,
            tap_read_extra: 0,
            second_activation_register,
            queue_latency: queue,
            queue_drain: engines.max(1) as u64 - 1,
        }
    }
}

/// One pass of the program, in the order the sequencer runs them; each
/// starts once the previous one's results are out.
#[derive(Clone, Copy, Debug)]
pub enum Pass {
    /// A layer's gate rows and cell updates.
    Layer {
        /// Layer.
        layer: usize,
        /// Cells.
        hidden: usize,
        /// Weight words per row (input part + recurrent part).
        row_words: u64,
        /// Cycles per row group ([`crate::layout::Layout::row_span`]).
        span: u64,
    },
    /// A low-rank matrix's factor pass.
    Factor {
        /// Its phase.
        phase: usize,
        /// Rows (the rank).
        rows: usize,
        /// Words per row.
        words: u64,
        /// Cycles per row group.
        span: u64,
    },
    /// A layer's projection.
    Projection {
        /// Layer.
        layer: usize,
        /// Rows.
        rows: usize,
        /// Words per row.
        words: u64,
        /// Cycles per row group.
        span: u64,
    },
    /// Head logits (a LightRNN head: its row logits, then its columns).
    Head {
        /// Index of the first logit.
        first_row: usize,
        /// Logits.
        rows: usize,
        /// Words per row.
        words: u64,
        /// Cycles per row group.
        span: u64,
    },
}

/// The scheduled frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Every operation in program order.
    pub slots: Vec<Slot>,
    /// Predicted cycles per frame, from the first weight read to the decoded
    /// class.
    pub cycles_per_frame: u64,
    /// Cycles the MAC array issues a weight word.
    pub mac_busy: u64,
    /// Cells that reach a gate unit before it takes another (they wait for
    /// it). The result queue of several row engines holds a whole group's
    /// cells and hands them on one per cycle; anything else would have to
    /// wait where the design has no buffer, so a gate unit taking a cell
    /// every few cycles needs none.
    #[serde(default)]
    pub gate_waits: u64,
}

/// A node of the frame's graph: the operation, its unit, the cycles it
/// keeps the unit busy, the cycles of those it works (a row group's words;
/// the rest of its span issues nothing), and the cycles its last result
/// comes after its first (a row group's results leave the result queue
/// one per cycle).
type Node = (Op, Unit, u64, u64, u64);

/// Builds the dependency graph of a frame from its passes and
/// list-schedules it. With `engines` row engines the MAC array's operations
/// are row groups (named by their first row or cell): a layer's group is
/// one gate of `engines` cells, and its cells reach the gate unit one per
/// cycle; any other group's results leave the queue one per cycle, so the
/// group is ready when its last one is out. Two head passes (a LightRNN
/// head) add the class-table read to the decode.
pub fn schedule(passes: &[Pass], engines: usize, gate_units: usize, p: Pipeline) -> Schedule {
    let e = engines.max(1);
    let mut g: DiGraph<Node, ()> = DiGraph::new();
    let mut prev: Vec<NodeIndex> = Vec::new();
    let mut cell_unit = 0usize;
    let mut head_passes = 0;
    for pass in passes {
        // The row groups of `rows` rows, named by `op` of their first row.
        // A MAC-array operation, after the previous pass's results.
        let mac_node = |g: &mut DiGraph<Node, ()>, node: Node| {
            let n = g.add_node(node);
            for &d in &prev {
                g.add_edge(d, n, ());
            }
            n
        };
        let groups_of = |g: &mut DiGraph<Node, ()>,
                         rows: usize,
                         (words, span): (u64, u64),
                         op: &dyn Fn(usize) -> Op| {
            (0..rows.div_ceil(e))
                .map(|k| {
                    let last = (rows - k * e).min(e) as u64 - 1;
                    mac_node(g, (op(k * e), Unit::MacArray, span, words, last))
                })
                .collect::<Vec<_>>()
        };
        prev = match *pass {
            Pass::Layer {
                layer,
                hidden,
                row_words,
                span,
            } => {
                let mut cells = Vec::with_capacity(hidden);
                for k in 0..hidden.div_ceil(e) {
                    let rows: Vec<NodeIndex> = (0..4)
                        .map(|q| {
                            let op = Op::Row {
                                layer,
                                gate: q,
                                cell: k * e,
                            };
                            mac_node(&mut g, (op, Unit::MacArray, span, row_words, 0))
                        })
                        .collect();
                    for j in k * e..((k + 1) * e).min(hidden) {
                        let c = g.add_node((
                            Op::Cell { layer, cell: j },
                            Unit::GateUnit(cell_unit),
                            p.cell_interval,
                            p.cell_interval,
                            0,
                        ));
                        cell_unit = (cell_unit + 1) % gate_units.max(1);
                        for &r in &rows {
                            g.add_edge(r, c, ());
                        }
                        cells.push(c);
                    }
                }
                cells
            }
            Pass::Factor {
                phase,
                rows,
                words,
                span,
            } => groups_of(&mut g, rows, (words, span), &|row| Op::Factor {
                phase,
                row,
            }),
            Pass::Projection {
                layer,
                rows,
                words,
                span,
            } => groups_of(&mut g, rows, (words, span), &|row| Op::Projection {
                layer,
                row,
            }),
            Pass::Head {
                first_row,
                rows,
                words,
                span,
            } => {
                head_passes += 1;
                groups_of(&mut g, rows, (words, span), &|row| Op::HeadRow {
                    row: first_row + row,
                })
            }
        };
    }
    let latency = p.decode_latency + if head_passes > 1 { p.table_latency } else { 0 };
    let decode = g.add_node((Op::Decode, Unit::Decoder, latency, latency, 0));
    for &h in &prev {
        g.add_edge(h, decode, ());
    }
    list_schedule(&g, gate_units, p)
}

/// Nodes were added in program order, which is a topological order; each
/// starts when its unit is free and its inputs are ready.
fn list_schedule(g: &DiGraph<Node, ()>, gate_units: usize, p: Pipeline) -> Schedule {
    let mut ready = vec![0u64; g.node_count()];
    let mut mac_free = 0u64;
    let mut gate_free = vec![0u64; gate_units.max(1)];
    let mut decoder_free = 0u64;
    let mut slots = Vec::with_capacity(g.node_count());
    let mut mac_busy = 0;
    let mut gate_waits = 0;
    for n in g.node_indices() {
        let (op, unit, busy, works, last) = g[n];
        // A MAC-array operation waiting on gate-unit results (the next layer,
        // the head) or on other rows' results (a LightRNN head's columns)
        // starts once the sequencer has switched phase.
        let inputs = g
            .neighbors_directed(n, petgraph::Direction::Incoming)
            .map(|d| match (unit, g[d].1) {
                (Unit::MacArray, Unit::GateUnit(_)) => ready[d.index()] + p.phase_switch,
                // A row is ready when its value reaches the collector; the
                // sequencer counts it a cycle later, as it leaves the
                // collector's register.
                // A projection's y or a factor pass's t is written through
                // the gate unit's h path.
                (Unit::MacArray, Unit::MacArray)
                    if matches!(g[d].0, Op::Projection { .. } | Op::Factor { .. }) =>
                {
                    ready[d.index()] + p.cell_latency + p.phase_switch
                }
                (Unit::MacArray, Unit::MacArray) => ready[d.index()] + 1 + p.phase_switch,
                _ => ready[d.index()],
            })
            .max()
            .unwrap_or(0);
        let free = match unit {
            Unit::MacArray => &mut mac_free,
            Unit::GateUnit(k) => &mut gate_free[k],
            Unit::Decoder => &mut decoder_free,
        };
        let start = inputs.max(*free);
        if matches!(unit, Unit::GateUnit(_)) && start > inputs {
            gate_waits += 1;
        }
        *free = start + busy;
        let latency = match unit {
            Unit::MacArray => {
                mac_busy += works;
                p.mac_latency + last
            }
            Unit::GateUnit(_) => p.cell_latency - p.cell_interval.min(p.cell_latency),
            Unit::Decoder => 0,
        };
        // A row's result follows its last word, not its span's end.
        ready[n.index()] = start + works + latency;
        slots.push(Slot {
            op,
            unit,
            start,
            busy,
            ready: ready[n.index()],
        });
    }
    let cycles_per_frame = slots.last().map_or(0, |s| s.ready);
    Schedule {
        slots,
        cycles_per_frame,
        mac_busy,
        gate_waits,
    }
}
