//! The time-multiplexed sigmoids of a gate unit: a cell's three sigmoid
//! evaluations (i, f, o, requests 0, 1, 2) on `units` evaluators (1 to 3).
//! Request `r` goes to evaluator `r % units` in slot `r / units`, the slot
//! being the cycle after the cell's `fire` at which the evaluator takes it;
//! a request in a later slot waits in a register for it. With three units
//! every request has its own evaluator in slot 0 and the block is wires.
//!
//! The cell path (`f * c`, `i * g`) starts when the later of i and f is out:
//! [`SigmoidSlots::cell_shift`] cycles after slot 0's result (f's slot), so
//! the gate unit delays i, which is always first, and g by that much. o is
//! needed only after tanh(c'), and leaves in its own slot
//! ([`SigmoidSlots::o_slot`]); the gate unit's delay line for it is that
//! much shorter.
//!
//! Cells must be at least [`SigmoidSlots::interval`] cycles apart, or a
//! cell's later slots would meet the next cell's first; the spec refuses a
//! configuration whose schedule brings them closer (`Schedule::gate_waits`).

use crate::dynamic::{DynSig, DynVal};
use lstm_accel_spec::datapath;
use rust_hdl::prelude::*;
use std::collections::VecDeque;
use std::fmt::Write;

/// Sigmoid requests of a cell: i, f, o.
use lstm_accel_spec::datapath::gate_unit::SIGMOID_REQUESTS as REQUESTS;

/// The block.
#[derive(LogicBlock)]
pub struct SigmoidSlots {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Nonzero: the cell's pre-activations are on `zi`, `zf`, `zo` this cycle.
    pub fire: DynSig<In>,
    /// Input gate pre-activation.
    pub zi: DynSig<In>,
    /// Forget gate pre-activation.
    pub zf: DynSig<In>,
    /// Output gate pre-activation.
    pub zo: DynSig<In>,
    /// The evaluators' outputs.
    pub ys: Vec<DynSig<In>>,
    /// The evaluators' inputs.
    pub xs: Vec<DynSig<Out>>,
    /// sigmoid(zi), in slot 0.
    pub i: DynSig<Out>,
    /// sigmoid(zf), [`SigmoidSlots::cell_shift`] cycles after slot 0's result.
    pub f: DynSig<Out>,
    /// sigmoid(zo), [`SigmoidSlots::o_slot`] cycles after slot 0's result.
    pub o: DynSig<Out>,
    _units: usize,
    _zw: usize,
    /// Fire, one and two cycles ago (front: the most recent).
    _fire: VecDeque<bool>,
    /// (zi, zf, zo), one and two cycles ago.
    _z: VecDeque<[i64; REQUESTS]>,
}

impl SigmoidSlots {
    /// Cycles between two cells that `units` evaluators allow.
    pub const fn interval(units: usize) -> usize {
        datapath::gate_unit::sigmoid_interval(units)
    }

    /// Cycles from slot 0's result to the later of i and f (f's slot).
    pub const fn cell_shift(units: usize) -> usize {
        datapath::gate_unit::sigmoid_cell_shift(units)
    }

    /// o's slot.
    pub const fn o_slot(units: usize) -> usize {
        2 / units
    }

    /// `units` evaluators of `zw`-bit pre-activations and `gw`-bit gates.
    pub fn new(units: usize, zw: usize, gw: usize) -> Self {
        let units = units.clamp(1, REQUESTS);
        SigmoidSlots {
            clock: Signal::default(),
            fire: DynSig::new(1),
            zi: DynSig::new(zw),
            zf: DynSig::new(zw),
            zo: DynSig::new(zw),
            ys: (0..units).map(|_| DynSig::new(gw)).collect(),
            xs: (0..units).map(|_| DynSig::new(zw)).collect(),
            i: DynSig::new(gw),
            f: DynSig::new(gw),
            o: DynSig::new(gw),
            _units: units,
            _zw: zw,
            _fire: vec![false; REQUESTS - 1].into(),
            _z: vec![[0; REQUESTS]; REQUESTS - 1].into(),
        }
    }

    /// The request evaluator `e` takes in `slot`, if any.
    fn request(&self, e: usize, slot: usize) -> Option<usize> {
        let r = e + slot * self._units;
        (r < REQUESTS).then_some(r)
    }

    /// The slots after the first that some evaluator uses, latest first
    /// (the order both engines test them in).
    fn later_slots(&self) -> impl Iterator<Item = usize> {
        (1..REQUESTS.div_ceil(self._units)).rev()
    }
}

impl Logic for SigmoidSlots {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self._fire.pop_back();
            self._fire.push_front(self.fire.val().0 != 0);
            self._z.pop_back();
            self._z
                .push_front([self.zi.val().0, self.zf.val().0, self.zo.val().0]);
        }
        let now = [self.zi.val(), self.zf.val(), self.zo.val()];
        for (e, &plain) in now.iter().enumerate().take(self._units) {
            // The latest slot whose cell fired, else slot 0's request.
            let held = self.later_slots().find_map(|slot| {
                let r = self.request(e, slot)?;
                self._fire[slot - 1].then(|| DynVal(self._z[slot - 1][r]))
            });
            self.xs[e].next = held.unwrap_or(plain);
        }
        self.i.next = self.ys[0].val();
        self.f.next = self.ys[1 % self._units].val();
        self.o.next = self.ys[2 % self._units].val();
    }
    fn connect(&mut self) {
        for x in &mut self.xs {
            x.connect();
        }
        self.i.connect();
        self.f.connect();
        self.o.connect();
    }
    fn hdl(&self) -> Verilog {
        let zw1 = self._zw - 1;
        let names = ["zi", "zf", "zo"];
        let mut s = String::from("reg fire_1;\nreg fire_2;\n");
        for n in names {
            let _ = writeln!(
                s,
                "reg signed [{zw1}:0] {n}_1;\nreg signed [{zw1}:0] {n}_2;"
            );
        }
        s.push_str("\ninitial begin\n    fire_1 = 0;\n    fire_2 = 0;\n");
        for n in names {
            let _ = writeln!(s, "    {n}_1 = 0;\n    {n}_2 = 0;");
        }
        s.push_str("end\n\nalways @(posedge clock) begin\n    fire_1 <= fire != 0;\n    fire_2 <= fire_1;\n");
        for n in names {
            let _ = writeln!(s, "    {n}_1 <= {n};\n    {n}_2 <= {n}_1;");
        }
        s.push_str("end\n\nalways @(*) begin\n");
        for e in 0..self._units {
            let mut kw = "if";
            for slot in self.later_slots() {
                if let Some(r) = self.request(e, slot) {
                    let _ = writeln!(s, "    {kw} (fire_{slot}) xs${e} = {}_{slot};", names[r]);
                    kw = "else if";
                }
            }
            let plain = format!("xs${e} = {};", names[e]);
            if kw == "if" {
                let _ = writeln!(s, "    {plain}");
            } else {
                let _ = writeln!(s, "    else {plain}");
            }
        }
        let _ = writeln!(
            s,
            "    i = ys$0;\n    f = ys${};\n    o = ys${};\nend",
            1 % self._units,
            2 % self._units
        );
        Verilog::Custom(s)
    }
}
