//! The pre-activation collector between the rounding points and the gate
//! units. Rows arrive in program order, so a layer's stream is cell-major,
//! gates i, f, g, o: it holds a cell's first three pre-activations, and on the
//! fourth presents all four to the gate units (`fire`, registered) together
//! with the cell's state address and the data-memory place of its h (bank
//! `j % lanes`, word `h_base + j / lanes`). The cell-memory read address
//! steps to the next cell at the same edge, so the next cell's state is read
//! long before its fourth row ends.
//!
//! In the head phase every value is a logit: it is written to the logit
//! memory at its row and passed to the arg-max (`logit_first` on row 0).
//! In a projection phase every value is an entry of y: it is presented as
//! `y` with `write` and the data-memory place of entry `j` (bank
//! `j % lanes`, word `h_base + j / lanes`), like an h but without a cell.
//! `write` is high with every `fire` too: it marks a data-memory write.
//! `start` (a new phase) resets the counters; the logit row only at the
//! start of the head (a LightRNN head's column logits follow its row logits
//! even when a factor pass runs between them).
//!
//! With several row engines the result queue gathers each cell's four
//! pre-activations itself and presents a whole cell (`cell_valid`, `z*_in`),
//! one per cycle at most; the collector then fires it at once. Its other
//! results (logits, y, t) come from the queue too (`q_value`, `q_valid`);
//! with one engine they come straight from it (`value`, `valid`).

use crate::dynamic::{sext, DynSig, DynVal};
use lstm_accel_spec::layout::{Layout, Widths};
use rust_hdl::prelude::*;

/// The collector.
#[derive(LogicBlock)]
pub struct Collector {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// The rounded value of a completed row.
    pub value: DynSig<In>,
    /// Nonzero: `value` is a completed row.
    pub valid: DynSig<In>,
    /// With several row engines: a row's result from the result queue, in
    /// place of `value`.
    pub q_value: DynSig<In>,
    /// With several row engines: nonzero when `q_value` is a row's result,
    /// in place of `valid`.
    pub q_valid: DynSig<In>,
    /// Nonzero: `zi_in`..`zo_in` are a whole cell's pre-activations (from
    /// the row engines' result queue).
    pub cell_valid: DynSig<In>,
    /// A whole cell's input gate pre-activation.
    pub zi_in: DynSig<In>,
    /// Its forget gate pre-activation.
    pub zf_in: DynSig<In>,
    /// Its cell candidate pre-activation.
    pub zg_in: DynSig<In>,
    /// Its output gate pre-activation.
    pub zo_in: DynSig<In>,
    /// Nonzero: rows are logits.
    pub head: DynSig<In>,
    /// Nonzero: rows are a projection's.
    pub project: DynSig<In>,
    /// Nonzero: a layer or the head starts (reset the counters).
    pub start: DynSig<In>,
    /// The layer's h buffer being written.
    pub h_base: DynSig<In>,
    /// The layer's first cell-memory address.
    pub cell_base: DynSig<In>,
    /// Input gate pre-activation.
    pub zi: DynSig<Out>,
    /// Forget gate pre-activation.
    pub zf: DynSig<Out>,
    /// Cell candidate pre-activation.
    pub zg: DynSig<Out>,
    /// Output gate pre-activation.
    pub zo: DynSig<Out>,
    /// Nonzero for one cycle: the four pre-activations are a cell's.
    pub fire: DynSig<Out>,
    /// Cell-memory address of the firing cell.
    pub fire_cell: DynSig<Out>,
    /// Data-memory word of the firing cell's h.
    pub fire_word: DynSig<Out>,
    /// Data-memory bank of the firing cell's h.
    pub fire_lane: DynSig<Out>,
    /// Nonzero for one cycle: a value (h, or `y`) goes to the data memory
    /// at `fire_word` / `fire_lane`.
    pub write: DynSig<Out>,
    /// A projection's output value.
    pub y: DynSig<Out>,
    /// Cell-memory read address (the next cell to fire).
    pub cell_read: DynSig<Out>,
    /// Nonzero for one cycle: `logit` is valid.
    pub logit_valid: DynSig<Out>,
    /// Nonzero with `logit_valid` for the first logit.
    pub logit_first: DynSig<Out>,
    /// The logit.
    pub logit: DynSig<Out>,
    /// Its row.
    pub logit_row: DynSig<Out>,
    _s: Widths,
    _lanes: usize,
    _queued: bool,
    _r: CollectorRegs,
}

#[derive(Clone, Copy, Debug, Default)]
struct CollectorRegs {
    gate: i64,
    lane: i64,
    word: i64,
    cell: i64,
    row: i64,
    z: [i64; 4],
    fire: i64,
    write: i64,
    y: i64,
    fire_cell: i64,
    fire_word: i64,
    fire_lane: i64,
    logit_valid: i64,
    logit_first: i64,
    logit: i64,
    logit_row: i64,
}

impl Collector {
    /// The collector of a layout.
    pub fn new(lay: &Layout) -> Self {
        let s = lay.widths();
        let v = s.value_width;
        Collector {
            clock: Signal::default(),
            value: DynSig::new(v),
            valid: DynSig::new(2),
            q_value: DynSig::new(v),
            q_valid: DynSig::new(2),
            cell_valid: DynSig::new(2),
            zi_in: DynSig::new(v),
            zf_in: DynSig::new(v),
            zg_in: DynSig::new(v),
            zo_in: DynSig::new(v),
            head: DynSig::new(2),
            project: DynSig::new(2),
            start: DynSig::new(2),
            h_base: DynSig::new(s.data_addr_bits),
            cell_base: DynSig::new(s.cell_addr_bits),
            zi: DynSig::new(v),
            zf: DynSig::new(v),
            zg: DynSig::new(v),
            zo: DynSig::new(v),
            fire: DynSig::new(2),
            fire_cell: DynSig::new(s.cell_addr_bits),
            fire_word: DynSig::new(s.data_addr_bits),
            fire_lane: DynSig::new(s.lane_bits),
            write: DynSig::new(2),
            y: DynSig::new(v),
            cell_read: DynSig::new(s.cell_addr_bits),
            logit_valid: DynSig::new(2),
            logit_first: DynSig::new(2),
            logit: DynSig::new(v),
            logit_row: DynSig::new(s.logit_addr_bits),
            _s: s,
            _lanes: lay.lanes,
            _queued: lay.engines > 1,
            _r: CollectorRegs::default(),
        }
    }
}

impl Collector {
    /// Counts a cell's pre-activation in; with its fourth (gate o) fires the
    /// cell at its state address and its h's data-memory place.
    fn fire_cell(&mut self) {
        let r = &mut self._r;
        if r.gate == 3 {
            r.fire = 1;
            r.write = 1;
            r.fire_cell = self.cell_base.val().0 + r.cell;
            r.fire_word = self.h_base.val().0 + r.word;
            r.fire_lane = r.lane;
            r.cell += 1;
            if r.lane == self._lanes as i64 - 1 {
                r.lane = 0;
                r.word += 1;
            } else {
                r.lane += 1;
            }
        }
        r.gate = (r.gate + 1) & 3;
    }
}

impl Logic for Collector {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            // A row's result: the engine's own, or the queue's.
            let (v, valid) = if self._queued {
                (self.q_value.val().0, self.q_valid.val().0)
            } else {
                (self.value.val().0, self.valid.val().0)
            };
            let r = &mut self._r;
            r.fire = 0;
            r.write = 0;
            r.logit_valid = 0;
            if self.start.val().0 != 0 {
                r.gate = 0;
                r.lane = 0;
                r.word = 0;
                r.cell = 0;
                if self.head.val().0 != 0 {
                    r.row = 0;
                }
            } else if self.cell_valid.val().0 != 0 {
                r.z = [
                    self.zi_in.val().0,
                    self.zf_in.val().0,
                    self.zg_in.val().0,
                    self.zo_in.val().0,
                ];
                r.gate = 3;
                self.fire_cell();
            } else if valid != 0 {
                if self.head.val().0 != 0 {
                    r.logit_valid = 1;
                    r.logit_first = i64::from(r.row == 0);
                    r.logit = v;
                    r.logit_row = r.row;
                    r.row += 1;
                } else if self.project.val().0 != 0 {
                    r.write = 1;
                    r.y = v;
                    r.fire_word = self.h_base.val().0 + r.word;
                    r.fire_lane = r.lane;
                    if r.lane == self._lanes as i64 - 1 {
                        r.lane = 0;
                        r.word += 1;
                    } else {
                        r.lane += 1;
                    }
                } else {
                    r.z[r.gate as usize] = v;
                    self.fire_cell();
                }
            }
        }
        let r = self._r;
        let s = self._s;
        self.zi.next = DynVal(r.z[0]);
        self.zf.next = DynVal(r.z[1]);
        self.zg.next = DynVal(r.z[2]);
        self.zo.next = DynVal(r.z[3]);
        self.fire.next = DynVal(r.fire);
        self.fire_cell.next = DynVal(sext(r.fire_cell, s.cell_addr_bits));
        self.fire_word.next = DynVal(sext(r.fire_word, s.data_addr_bits));
        self.fire_lane.next = DynVal(r.fire_lane);
        self.write.next = DynVal(r.write);
        self.y.next = DynVal(r.y);
        self.cell_read.next = DynVal(sext(self.cell_base.val().0 + r.cell, s.cell_addr_bits));
        self.logit_valid.next = DynVal(r.logit_valid);
        self.logit_first.next = DynVal(r.logit_first);
        self.logit.next = DynVal(r.logit);
        self.logit_row.next = DynVal(sext(r.logit_row, s.logit_addr_bits));
    }
    fn connect(&mut self) {
        for o in [
            &mut self.zi,
            &mut self.zf,
            &mut self.zg,
            &mut self.zo,
            &mut self.fire,
            &mut self.fire_cell,
            &mut self.fire_word,
            &mut self.fire_lane,
            &mut self.write,
            &mut self.y,
            &mut self.cell_read,
            &mut self.logit_valid,
            &mut self.logit_first,
            &mut self.logit,
            &mut self.logit_row,
        ] {
            o.connect();
        }
    }
    fn hdl(&self) -> Verilog {
        let s = self._s;
        Verilog::Custom(format!(
            "// A row's result: the engine's own, or the result queue's.
wire signed [{v1}:0] in_value = {src};
wire signed [1:0] in_valid = {src_valid};
reg [1:0] gate;
reg signed [{lb1}:0] lane;
reg signed [{db1}:0] word;
reg signed [{cb1}:0] cell_n;
reg signed [{lr1}:0] row;

initial begin
    gate = 0; lane = 0; word = 0; cell_n = 0; row = 0;
    zi = 0; zf = 0; zg = 0; zo = 0;
    fire = 0; fire_cell = 0; fire_word = 0; fire_lane = 0; write = 0; y = 0;
    logit_valid = 0; logit_first = 0; logit = 0; logit_row = 0;
end

always @(*) cell_read = cell_base + cell_n;

always @(posedge clock) begin
    fire <= 0;
    write <= 0;
    logit_valid <= 0;
    if (start != 0) begin
        gate <= 0; lane <= 0; word <= 0; cell_n <= 0;
        if (head != 0)
            row <= 0;
    end else if (cell_valid != 0) begin
        zi <= zi_in; zf <= zf_in; zg <= zg_in; zo <= zo_in;
{fire}        gate <= 0;
    end else if (in_valid != 0) begin
        if (head != 0) begin
            logit_valid <= 1;
            logit_first <= (row == 0) ? 1 : 0;
            logit <= in_value;
            logit_row <= row;
            row <= row + 1;
        end else if (project != 0) begin
            write <= 1;
            y <= in_value;
            fire_word <= h_base + word;
            fire_lane <= lane;
            if (lane == {last_lane}) begin
                lane <= 0;
                word <= word + 1;
            end else
                lane <= lane + 1;
        end else begin
            case (gate)
                2'd0: zi <= in_value;
                2'd1: zf <= in_value;
                2'd2: zg <= in_value;
                default: zo <= in_value;
            endcase
            if (gate == 2'd3) begin
{fire}            end
            gate <= gate + 2'd1;
        end
    end
end
",
            lb1 = s.lane_bits - 1,
            db1 = s.data_addr_bits - 1,
            cb1 = s.cell_addr_bits - 1,
            lr1 = s.logit_addr_bits - 1,
            last_lane = self._lanes - 1,
            v1 = s.value_width - 1,
            src = if self._queued { "q_value" } else { "value" },
            src_valid = if self._queued { "q_valid" } else { "valid" },
            fire = format!(
                "        fire <= 1;
        write <= 1;
        fire_cell <= cell_base + cell_n;
        fire_word <= h_base + word;
        fire_lane <= lane;
        cell_n <= cell_n + 1;
        if (lane == {last}) begin
            lane <= 0;
            word <= word + 1;
        end else
            lane <= lane + 1;
",
                last = self._lanes - 1
            ),
        ))
    }
}
