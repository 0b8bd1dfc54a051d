//! The MAC array: `lanes` shift-add lanes (or, for a model with codebooks
//! whose entries are not powers of two, multiplier lanes), a pipelined adder
//! tree and an accumulator. Each cycle it takes one weight word (`lanes` lane
//! codes, or weight values for multiplier lanes) and `lanes` data values; the
//! sum of the row's products builds up in the accumulator.
//!
//! Control travels with the data: `first` (start of a row), `valid` (a word
//! is present) and `shift` (the alignment of the word's matrix) are delayed to
//! meet the word's products at the accumulator, `last` one cycle more so that
//! `row_done` is high in the cycle `acc` holds the complete row.
//!
//! Latency: [`MacArray::latency`] = `depth + 3` clock edges, `depth =
//! ceil(log2 lanes)`: a word presented before edge `t` is in the input
//! registers after edge `t`, in the lane registers after edge `t + 1`, at
//! the tree's output after edge `t + depth + 1`, and in the accumulator after
//! edge `t + depth + 2`, when `row_done` shows for a row's last word. The
//! input registers keep the weight memory's read and the weight decoder's
//! logic in a cycle of their own, apart from the lanes' products.
//!
//! An array built with `x_late` has no input registers for the data values:
//! they come a cycle after the codes, straight into the lanes. Several row
//! engines take the data word so, from a register each few engines share
//! (`RowEngines`): a per-lane register in every engine would hold the same
//! value, one flip-flop per data bit per engine.

use super::accumulator::Accumulator;
use super::adder_tree::AdderTree;
use super::arith::Multiplier;
use super::delay_line::DelayLine;
use super::shift_add_lane::ShiftAddLane;
use crate::dynamic::DynSig;
use rust_hdl::prelude::*;

/// Widths of a MAC array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacShape {
    /// Lanes.
    pub lanes: usize,
    /// Bits of a lane code (with `multiply`, of a weight value).
    pub code_bits: usize,
    /// Multiplier lanes (`x * value`) instead of shift-add lanes.
    pub multiply: bool,
    /// Bits of a data value.
    pub x_width: usize,
    /// Bits of the alignment shift input (its values are non-negative).
    pub shift_bits: usize,
    /// Bits of the accumulator.
    pub acc_width: usize,
    /// The data values come a cycle after their word's codes, registered
    /// by the caller, and go to the lanes unregistered.
    pub x_late: bool,
}

/// The MAC array.
#[derive(LogicBlock)]
pub struct MacArray {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Code slots of the current word.
    pub codes: Vec<DynSig<In>>,
    /// Data values of the current word.
    pub xs: Vec<DynSig<In>>,
    /// Nonzero: this word starts a row.
    pub first: DynSig<In>,
    /// Nonzero: this word ends a row.
    pub last: DynSig<In>,
    /// Nonzero: a word is present.
    pub valid: DynSig<In>,
    /// Left shift of this word's products.
    pub shift: DynSig<In>,
    /// The running row sum.
    pub acc: DynSig<Out>,
    /// Nonzero when `acc` holds a complete row.
    pub row_done: DynSig<Out>,
    code_regs: Vec<DelayLine>,
    x_regs: Vec<DelayLine>,
    lanes: Vec<ShiftAddLane>,
    mul_lanes: Vec<Multiplier>,
    tree: AdderTree,
    accumulator: Accumulator,
    first_delay: DelayLine,
    valid_delay: DelayLine,
    shift_delay: DelayLine,
    last_delay: DelayLine,
    _n: usize,
    _carries: usize,
    _n_mul: usize,
    _lanes: usize,
}

impl MacArray {
    /// Cycles from a word's input to the accumulator holding it.
    pub fn latency(lanes: usize) -> usize {
        lstm_accel_spec::datapath::mac_array::latency(lanes)
    }

    /// Width of a lane's product: `x * value` for multiplier lanes, a
    /// shift-add lane's otherwise.
    pub fn product_width(multiply: bool, x_width: usize, code_bits: usize) -> usize {
        lstm_accel_spec::datapath::mac_array::product_width(multiply, x_width, code_bits)
    }

    /// An array of the given shape.
    pub fn new(s: MacShape) -> Self {
        let pw = Self::product_width(s.multiply, s.x_width, s.code_bits);
        let (n_shift, n_mul) = if s.multiply {
            (0, s.lanes)
        } else {
            (s.lanes, 0)
        };
        let depth = AdderTree::depth(s.lanes);
        let lag = 2 + depth;
        MacArray {
            clock: Signal::default(),
            codes: (0..s.lanes).map(|_| DynSig::new(s.code_bits)).collect(),
            xs: (0..s.lanes).map(|_| DynSig::new(s.x_width)).collect(),
            first: DynSig::new(2),
            last: DynSig::new(2),
            valid: DynSig::new(2),
            shift: DynSig::new(s.shift_bits),
            acc: DynSig::new(s.acc_width),
            row_done: DynSig::new(2),
            code_regs: (0..s.lanes)
                .map(|_| DelayLine::new(s.code_bits, 1))
                .collect(),
            // Kept: an array that registers the data word keeps its copy
            // apart from any other array's.
            x_regs: (0..s.lanes)
                .map(|_| DelayLine::kept(s.x_width, usize::from(!s.x_late)))
                .collect(),
            // Every lane but the last defers its negation's +1 to the tree
            // (the tree has a carry-in for each of them, see `AdderTree`).
            lanes: (0..n_shift)
                .map(|i| {
                    if i + 1 < n_shift {
                        ShiftAddLane::deferred(s.code_bits, s.x_width)
                    } else {
                        ShiftAddLane::new(s.code_bits, s.x_width)
                    }
                })
                .collect(),
            mul_lanes: (0..n_mul)
                .map(|_| Multiplier::new(s.x_width, s.code_bits))
                .collect(),
            tree: if s.multiply {
                AdderTree::new(s.lanes, pw)
            } else {
                AdderTree::with_carries(s.lanes, pw)
            },
            accumulator: Accumulator::new(pw + depth, s.shift_bits, s.acc_width),
            first_delay: DelayLine::new(2, lag),
            valid_delay: DelayLine::new(2, lag),
            shift_delay: DelayLine::new(s.shift_bits, lag),
            last_delay: DelayLine::new(2, lag + 1),
            _n: n_shift,
            _carries: n_shift.saturating_sub(1),
            _n_mul: n_mul,
            _lanes: s.lanes,
        }
    }
}

impl Logic for MacArray {
    #[hdl_gen]
    fn update(&mut self) {
        for i in 0..self._lanes {
            self.code_regs[i].clock.next = self.clock.val();
            self.code_regs[i].d.next = self.codes[i].val();
            self.x_regs[i].clock.next = self.clock.val();
            self.x_regs[i].d.next = self.xs[i].val();
        }
        for i in 0..self._n {
            self.lanes[i].clock.next = self.clock.val();
            self.lanes[i].code.next = self.code_regs[i].q.val();
            self.lanes[i].x.next = self.x_regs[i].q.val();
            self.tree.xs[i].next = self.lanes[i].p.val();
        }
        for i in 0..self._carries {
            self.tree.cs[i].next = self.lanes[i].c.val();
        }
        for i in 0..self._n_mul {
            self.mul_lanes[i].clock.next = self.clock.val();
            self.mul_lanes[i].a.next = self.x_regs[i].q.val();
            self.mul_lanes[i].b.next = self.code_regs[i].q.val();
            self.tree.xs[i].next = self.mul_lanes[i].p.val();
        }
        self.tree.clock.next = self.clock.val();
        self.accumulator.clock.next = self.clock.val();
        self.first_delay.clock.next = self.clock.val();
        self.valid_delay.clock.next = self.clock.val();
        self.shift_delay.clock.next = self.clock.val();
        self.last_delay.clock.next = self.clock.val();
        self.first_delay.d.next = self.first.val();
        self.valid_delay.d.next = self.valid.val();
        self.shift_delay.d.next = self.shift.val();
        self.last_delay.d.next = self.last.val();
        self.accumulator.x.next = self.tree.y.val();
        self.accumulator.first.next = self.first_delay.q.val();
        self.accumulator.valid.next = self.valid_delay.q.val();
        self.accumulator.shift.next = self.shift_delay.q.val();
        self.acc.next = self.accumulator.acc.val();
        self.row_done.next = self.last_delay.q.val();
    }
}
