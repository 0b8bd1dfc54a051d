//! Sequential arg-max over a stream of logits, one per cycle: the index of
//! the first maximum (a strictly greater value replaces the best, so ties
//! keep the lowest index, as `lstm_accel_model::trace::argmax` decides).
//! `first` starts a new search with the current value as index 0.

use crate::dynamic::{DynSig, DynVal};
use rust_hdl::prelude::*;

/// The arg-max unit.
#[derive(LogicBlock)]
pub struct ArgMax {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// The logit.
    pub value: DynSig<In>,
    /// Nonzero: `value` is a logit.
    pub valid: DynSig<In>,
    /// Nonzero: `value` is the first logit of a new search.
    pub first: DynSig<In>,
    /// Index of the best logit so far.
    pub index: DynSig<Out>,
    /// The best logit so far.
    pub best: DynSig<Out>,
    _count: i64,
    _index: i64,
    _best: i64,
}

impl ArgMax {
    /// Over logits of `width` bits, at most `count` per search.
    pub fn new(width: usize, count: usize) -> Self {
        let iw = super::ram::Ram::address_width(count);
        ArgMax {
            clock: Signal::default(),
            value: DynSig::new(width),
            valid: DynSig::new(2),
            first: DynSig::new(2),
            index: DynSig::new(iw),
            best: DynSig::new(width),
            _count: 0,
            _index: 0,
            _best: 0,
        }
    }
}

impl Logic for ArgMax {
    fn update(&mut self) {
        if self.clock.pos_edge() && self.valid.val().0 != 0 {
            let v = self.value.val().0;
            if self.first.val().0 != 0 {
                self._best = v;
                self._index = 0;
                self._count = 1;
            } else {
                if v > self._best {
                    self._best = v;
                    self._index = self._count;
                }
                self._count += 1;
            }
        }
        self.index.next = DynVal(self._index);
        self.best.next = DynVal(self._best);
    }
    fn connect(&mut self) {
        self.index.connect();
        self.best.connect();
    }
    fn hdl(&self) -> Verilog {
        let iw = self.index.width();
        Verilog::Custom(format!(
            "reg signed [{i1}:0] count;

initial begin
    count = 0;
    index = 0;
    best = 0;
end

always @(posedge clock) begin
    if (valid != 0) begin
        if (first != 0) begin
            best <= value;
            index <= 0;
            count <= 1;
        end else begin
            if (value > best) begin
                best <= value;
                index <= count;
            end
            count <= count + 1;
        end
    end
end
",
            i1 = iw - 1
        ))
    }
}
