//! A registered fan-out: one signal (a memory's read address) driven to
//! many loads through a register per group of loads. `qs[i]` is `d` one
//! cycle later, from the register of group `i / group`; the registers carry
//! Yosys's `keep` attribute, since Yosys otherwise merges copies of the same
//! input back into one register that drives every load. The placer puts
//! each copy by its group, so no net crosses the die to every load in the
//! cycle that also decodes the signal. Built unregistered it is a wire.
//!
//! The accelerator reads its 64 data memories of a 16 x 64 design through
//! one: before, the read-address select and its route to the 64 memories'
//! distributed RAM shared a cycle (the design's critical path, 11.6 ns on
//! the ECP5-85F).

use crate::dynamic::{DynSig, DynVal};
use rust_hdl::prelude::*;
use std::fmt::Write;

/// The fan-out.
#[derive(LogicBlock)]
pub struct RegisteredFanout {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// The signal.
    pub d: DynSig<In>,
    /// Its copies, one per load.
    pub qs: Vec<DynSig<Out>>,
    _group: usize,
    _registered: bool,
    _regs: Vec<i64>,
}

impl RegisteredFanout {
    /// `loads` copies of a `width`-bit signal, a register per `group`
    /// loads when `registered` (otherwise wires).
    pub fn new(width: usize, loads: usize, group: usize, registered: bool) -> Self {
        assert!(group >= 1, "a fan-out group has a load");
        RegisteredFanout {
            clock: Signal::default(),
            d: DynSig::new(width),
            qs: (0..loads).map(|_| DynSig::new(width)).collect(),
            _group: group,
            _registered: registered,
            _regs: vec![0; loads.div_ceil(group)],
        }
    }

    /// Cycles from `d` to the copies, built `registered` or not.
    pub fn latency(registered: bool) -> usize {
        usize::from(registered)
    }
}

impl Logic for RegisteredFanout {
    fn update(&mut self) {
        if self._registered && self.clock.pos_edge() {
            let d = self.d.val().0;
            for r in &mut self._regs {
                *r = d;
            }
        }
        for (i, q) in self.qs.iter_mut().enumerate() {
            q.next = if self._registered {
                DynVal(self._regs[i / self._group])
            } else {
                self.d.val()
            };
        }
    }
    fn connect(&mut self) {
        for q in &mut self.qs {
            q.connect();
        }
    }
    fn hdl(&self) -> Verilog {
        let mut s = String::new();
        if self._registered {
            let w1 = self.d.width() - 1;
            // An always block each: Yosys takes `keep` from the process.
            for g in 0..self._regs.len() {
                let _ = writeln!(
                    s,
                    "reg signed [{w1}:0] r{g};\ninitial r{g} = 0;\n(* keep *) always @(posedge clock) r{g} <= d;"
                );
            }
        }
        s.push_str("always @(*) begin\n");
        for i in 0..self.qs.len() {
            if self._registered {
                let _ = writeln!(s, "    qs${i} = r{};", i / self._group);
            } else {
                let _ = writeln!(s, "    qs${i} = d;");
            }
        }
        s.push_str("end\n");
        Verilog::Custom(s)
    }
}
