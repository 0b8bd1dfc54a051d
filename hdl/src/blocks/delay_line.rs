//! A delay line: `q` is `d` from `depth` cycles earlier (a chain of
//! registers; `depth` 0 is a wire). It keeps control signals in step with
//! the data they describe as the data moves through a pipeline.
//!
//! A line built [`DelayLine::kept`] carries Yosys's `keep` attribute on its
//! registers, so that lines that take the same input stay apart in
//! synthesis (each row engine's MAC array registers the shared data word
//! for its own lanes; merged, one register would drive every engine).

use crate::dynamic::{DynSig, DynVal};
use rust_hdl::prelude::*;
use std::collections::VecDeque;
use std::fmt::Write;

/// The delay line.
#[derive(LogicBlock)]
pub struct DelayLine {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Input.
    pub d: DynSig<In>,
    /// Input delayed.
    pub q: DynSig<Out>,
    _stages: VecDeque<i64>,
    _width: usize,
    _keep: bool,
}

impl DelayLine {
    /// `depth` registers of `width` bits.
    pub fn new(width: usize, depth: usize) -> Self {
        DelayLine {
            clock: Signal::default(),
            d: DynSig::new(width),
            q: DynSig::new(width),
            _stages: vec![0; depth].into(),
            _width: width,
            _keep: false,
        }
    }

    /// `depth` registers of `width` bits that Yosys keeps apart from any
    /// other register with the same input.
    pub fn kept(width: usize, depth: usize) -> Self {
        DelayLine {
            _keep: true,
            ..Self::new(width, depth)
        }
    }
}

impl Logic for DelayLine {
    fn update(&mut self) {
        if self.clock.pos_edge() && !self._stages.is_empty() {
            self._stages.pop_back();
            self._stages.push_front(self.d.val().0);
        }
        self.q.next = match self._stages.back() {
            Some(&v) => DynVal(v),
            None => self.d.val(),
        };
    }
    fn connect(&mut self) {
        self.q.connect();
    }
    fn hdl(&self) -> Verilog {
        let n = self._stages.len();
        if n == 0 {
            return Verilog::Custom("always @(*) q = d;\n".into());
        }
        let mut s = String::new();
        for i in 0..n {
            let _ = writeln!(s, "reg signed [{}:0] r{i};", self._width - 1);
        }
        s.push_str("\ninitial begin\n");
        for i in 0..n {
            let _ = writeln!(s, "    r{i} = 0;");
        }
        s.push_str(if self._keep {
            "end\n\n(* keep *) always @(posedge clock) begin\n    r0 <= d;\n"
        } else {
            "end\n\nalways @(posedge clock) begin\n    r0 <= d;\n"
        });
        for i in 1..n {
            let _ = writeln!(s, "    r{i} <= r{};", i - 1);
        }
        let _ = write!(s, "end\n\nalways @(*) q = r{};\n", n - 1);
        Verilog::Custom(s)
    }
}
