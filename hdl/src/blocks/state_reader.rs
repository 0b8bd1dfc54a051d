//! The state reader: walks the recurrent state held in the design's
//! memories in the order of a `STATE_REPLY` packet (layer by layer, each
//! layer's cell states c\[0..H\] then its outputs y\[0..Y\], h or a
//! projection's output) and presents the read address of the next value. A
//! cell state of layer l, unit u lives in the cell memory at
//! `cell_base(l) + u`; output u in data bank `u % lanes`
//! at word `h_read_base(l, parity) + u / lanes`, the buffer the next frame
//! reads h(t-1) from, i.e. the one the last frame wrote (the sequencer's
//! `parity`).
//!
//! While `active` is low the reader holds the first position, so the first
//! address is on the memories before the controller asks for its value;
//! `advance` (high for the cycle a value is sent) moves to the next one, a
//! cycle later (it is registered first).

use crate::blocks::fanout::RegisteredFanout;
use crate::blocks::select::PipelinedSelect;
use crate::dynamic::{sext, DynSig, DynVal};
use lstm_accel_spec::layout::{Layout, Widths};
use rust_hdl::prelude::*;
use std::fmt::Write;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Regs {
    layer: i64,
    is_h: bool,
    /// Values of the current layer's c or y after the current one.
    left: i64,
    word: i64,
    lane: i64,
    cell: i64,
}

/// The state reader.
#[derive(LogicBlock)]
pub struct StateReader {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Nonzero while a state packet is being sent.
    pub active: DynSig<In>,
    /// Nonzero: the current value is taken, go to the next.
    pub advance: DynSig<In>,
    /// The sequencer's parity (which h buffer is the latest).
    pub parity: DynSig<In>,
    /// Cell-memory read address.
    pub cell_addr: DynSig<Out>,
    /// Data-memory read address (every bank).
    pub data_addr: DynSig<Out>,
    /// The data bank holding the current h.
    pub lane: DynSig<Out>,
    /// Nonzero: the current value is an h (else a cell state).
    pub is_h: DynSig<Out>,
    _lay: Layout,
    _s: Widths,
    _r: Regs,
    /// `advance`, registered: the position moves a cycle after the value
    /// is sent, so the controller's output handshake and this block's
    /// address arithmetic sit in separate cycles.
    _adv: bool,
}

impl StateReader {
    /// A reader for a layout.
    pub fn new(lay: &Layout) -> Self {
        let s = lay.widths();
        let mut r = StateReader {
            clock: Signal::default(),
            active: DynSig::new(2),
            advance: DynSig::new(2),
            parity: DynSig::new(2),
            cell_addr: DynSig::new(s.cell_addr_bits),
            data_addr: DynSig::new(s.data_addr_bits),
            lane: DynSig::new(s.lane_bits),
            is_h: DynSig::new(2),
            _lay: lay.clone(),
            _s: s,
            _r: Regs::default(),
            _adv: false,
        };
        r._r = r.first();
        r
    }

    /// Whether the data memories' read address reaches them through a
    /// registered fan-out and a lane's h leaves them through a pipelined
    /// select: with several row engines, whose designs spread the data
    /// memories over the die. The datapath's data word waits a cycle less
    /// after the read for it (the cycle moves in front of the memories); a
    /// state value read takes [`StateReader::extra_read_latency`] more.
    pub fn registered_reads(lay: &Layout) -> bool {
        lay.engines > 1
    }

    /// Cycles a state value's read takes beyond the memories' own: the
    /// address fan-out's register and the lane select's.
    pub fn extra_read_latency(lay: &Layout) -> usize {
        let registered = Self::registered_reads(lay);
        RegisteredFanout::latency(registered) + PipelinedSelect::latency(registered)
    }

    fn first(&self) -> Regs {
        let first = self._lay.layers.first();
        Regs {
            cell: first.map_or(0, |l| l.cell_base as i64),
            left: first.map_or(0, |l| last(l.hidden)),
            ..Regs::default()
        }
    }

    fn advance(&self, r: Regs, parity: usize) -> Regs {
        let lay = &self._lay;
        let l = r.layer as usize;
        let mut n = r;
        if r.left != 0 {
            n.left = r.left - 1;
            if r.is_h {
                if r.lane != lay.lanes as i64 - 1 {
                    n.lane = r.lane + 1;
                } else {
                    n.lane = 0;
                    n.word = r.word + 1;
                }
            } else {
                n.cell = r.cell + 1;
            }
        } else if !r.is_h {
            n.is_h = true;
            n.left = lay.layers.get(l).map_or(0, |x| last(x.outputs));
            n.lane = 0;
            // Past the last layer (never read) as the Verilog's default: 0.
            n.word = if l < lay.layers.len() {
                lay.h_read_base(l, parity) as i64
            } else {
                0
            };
        } else {
            let next = lay.layers.get(l + 1);
            n.layer = r.layer + 1;
            n.is_h = false;
            n.left = next.map_or(0, |x| last(x.hidden));
            n.cell = next.map_or(0, |x| x.cell_base as i64);
        }
        n
    }
}

/// The countdown's start for a run of `n` values: the values after the first.
fn last(n: usize) -> i64 {
    n.saturating_sub(1) as i64
}

impl Logic for StateReader {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self._r = if self.active.val().0 == 0 {
                self.first()
            } else if self._adv {
                let n = self.advance(self._r, (self.parity.val().0 & 1) as usize);
                // The Verilog's counters are `counter_bits` wide: past the
                // walk's end (never read) they wrap, here too.
                let m = (1i64 << self.counter_bits()) - 1;
                Regs {
                    layer: n.layer & m,
                    left: n.left & m,
                    word: n.word & m,
                    lane: n.lane & m,
                    cell: n.cell & m,
                    ..n
                }
            } else {
                self._r
            };
            self._adv = self.advance.val().0 != 0;
        }
        let (r, s) = (self._r, self._s);
        self.cell_addr.next = DynVal(sext(r.cell, s.cell_addr_bits));
        self.data_addr.next = DynVal(sext(r.word, s.data_addr_bits));
        self.lane.next = DynVal(sext(r.lane, s.lane_bits));
        self.is_h.next = DynVal(i64::from(r.is_h));
    }
    fn connect(&mut self) {
        for o in [
            &mut self.cell_addr,
            &mut self.data_addr,
            &mut self.lane,
            &mut self.is_h,
        ] {
            o.connect();
        }
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(self.verilog())
    }
}

impl StateReader {
    /// Bits of the walk's counters and tables: as wide as the largest
    /// address or count, with a bit to spare for `+ 1` (narrow compares
    /// keep the walk off the design's critical path).
    fn counter_bits(&self) -> usize {
        let lay = &self._lay;
        let most = lay
            .layers
            .iter()
            .map(|l| l.hidden.max(l.outputs))
            .chain([lay.cells, lay.data_words, lay.lanes, lay.layers.len()])
            .max()
            .unwrap_or(1);
        (usize::BITS - most.leading_zeros()) as usize + 1
    }

    fn verilog(&self) -> String {
        let lay = &self._lay;
        let first = self.first();
        let mut v = String::new();
        // Per-layer constants as case tables on the layer counter.
        let mut h_left = String::new();
        let mut next_left = String::new();
        let mut next_cell = String::new();
        let mut h_base = String::new();
        for (l, x) in lay.layers.iter().enumerate() {
            let _ = writeln!(h_left, "        {l}: h_left = {};", last(x.outputs));
            let _ = writeln!(
                next_left,
                "        {l}: next_left = {};",
                lay.layers.get(l + 1).map_or(0, |y| last(y.hidden))
            );
            let nc = lay.layers.get(l + 1).map_or(0, |y| y.cell_base);
            let _ = writeln!(next_cell, "        {l}: next_cell = {nc};");
            let _ = writeln!(
                h_base,
                "        {l}: h_base = parity[0] ? {} : {};",
                lay.h_read_base(l, 1),
                lay.h_read_base(l, 0)
            );
        }
        let _ = write!(
            v,
            "reg [{w1}:0] layer_r, left_r, word_r, lane_r, cell_r;
reg is_h_r;
reg [{w1}:0] h_left, next_left, next_cell, h_base;

reg adv_r;
initial begin
    layer_r = 0; left_r = {left}; word_r = 0; lane_r = 0; cell_r = {cell}; is_h_r = 0; adv_r = 0;
end
always @(posedge clock) adv_r <= (advance != 0);

always @(*) begin
    case (layer_r)
{h_left}        default: h_left = 0;
    endcase
    case (layer_r)
{next_left}        default: next_left = 0;
    endcase
    case (layer_r)
{next_cell}        default: next_cell = 0;
    endcase
    case (layer_r)
{h_base}        default: h_base = 0;
    endcase
end

// `left_r` counts the values after the current one down to zero, and the
// lane's wrap is an equality with a constant: the step's conditions are
// short gates on registers, not an add and a compare against a table.
always @(posedge clock) begin
    if (active == 0) begin
        layer_r <= 0; left_r <= {left}; word_r <= 0; lane_r <= 0; cell_r <= {cell}; is_h_r <= 0;
    end else if (adv_r) begin
        if (left_r != 0) begin
            left_r <= left_r - 1;
            if (is_h_r) begin
                if (lane_r != {last_lane})
                    lane_r <= lane_r + 1;
                else begin
                    lane_r <= 0; word_r <= word_r + 1;
                end
            end else
                cell_r <= cell_r + 1;
        end else if (!is_h_r) begin
            is_h_r <= 1; left_r <= h_left; lane_r <= 0; word_r <= h_base;
        end else begin
            layer_r <= layer_r + 1; is_h_r <= 0; left_r <= next_left; cell_r <= next_cell;
        end
    end
end

always @(*) begin
    cell_addr = cell_r;
    data_addr = word_r;
    lane = lane_r;
    is_h = {{1'b0, is_h_r}};
end
",
            left = first.left,
            last_lane = lay.lanes - 1,
            cell = first.cell,
            w1 = self.counter_bits() - 1,
        );
        v
    }
}
