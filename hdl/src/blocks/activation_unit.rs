//! The activation unit: sigmoid or tanh of a fixed-point value, as the
//! model's `ActivationUnit` defines it, in two registered stages and an
//! output register (`ACTIVATION_LATENCY` cycles in all). The output register
//! keeps the table's block-RAM read (whose clock-to-output is the slowest
//! delay in an ECP5 design) apart from the multipliers the result feeds.
//!
//! - Table form: the input is clamped to the table's range, the index is a
//!   bit slice of `x - lo` (stage 1), the entry is read from a ROM (stage 2),
//!   which synthesis maps to block RAM or LUTs.
//! - Piecewise-linear form (PLAN, hard): stage 1 takes `a = |x|`, picks the
//!   segment by comparing `a` with the breakpoints and forms
//!   `(a << shift) + intercept` exactly; stage 2 rounds once (the model's
//!   `shift_round`), mirrors negative inputs (`1 - y` for sigmoid, `-y` for
//!   tanh) and saturates into the output format.
//!
//! Every constant (breakpoints, shifts, intercepts, table entries, rounding)
//! comes from `ActivationUnit`, and the Rust simulation evaluates the model's
//! own `eval`, delayed by the two stages; the Verilog is generated from the
//! same constants and checked against `eval` over whole input domains.

use crate::dynamic::{DynSig, DynVal};
use crate::verilog::{lit, round_decls, round_stmts};
use lstm_accel_model::activation::{ActivationUnit, Function};
use lstm_accel_model::fixed::signed_bits;
use rust_hdl::prelude::*;
use std::fmt::Write;

/// Cycles from input to output.
pub const ACTIVATION_LATENCY: usize = 3;

/// The unit.
#[derive(LogicBlock)]
pub struct ActivationBlock {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Input, raw in the unit's input format.
    pub x: DynSig<In>,
    /// Output, raw in the unit's output format, `ACTIVATION_LATENCY`
    /// cycles later.
    pub y: DynSig<Out>,
    _unit: ActivationUnit,
    _stage: i64,
    _out: i64,
    _held: i64,
}

impl ActivationBlock {
    /// The block of a model activation unit.
    pub fn new(unit: ActivationUnit) -> Self {
        ActivationBlock {
            clock: Signal::default(),
            x: DynSig::new(unit.input().width as usize),
            y: DynSig::new(unit.output().width as usize),
            _stage: 0,
            _out: unit.eval(0),
            _held: unit.eval(0),
            _unit: unit,
        }
    }

    fn lut_verilog(&self) -> String {
        let Some(l) = self._unit.lut() else {
            return String::new();
        };
        let iw = self._unit.input().width as usize;
        let ow = self._unit.output().width as usize;
        let n = l.entries.len();
        let ib = (usize::BITS - (n.max(2) - 1).leading_zeros()) as usize;
        let cw = iw + 1;
        let mut s = format!(
            "reg signed [{ow1}:0] rom [0:{n1}];\nreg signed [{cw1}:0] clamped;\nreg [{ib1}:0] index;\n\ninitial begin\n",
            ow1 = ow - 1,
            n1 = n - 1,
            cw1 = cw - 1,
            ib1 = ib - 1
        );
        for (i, &e) in l.entries.iter().enumerate() {
            let _ = writeln!(s, "    rom[{i}] = {};", lit(e, ow));
        }
        let _ = write!(
            s,
            "    index = {idx0};\n    y0 = {first};\nend\n\nalways @(*) begin\n    if (x < {lo})\n        clamped = {lo};\n    else if (x > {hi})\n        clamped = {hi};\n    else\n        clamped = x;\nend\n\nalways @(posedge clock) begin\n    index <= (clamped - {lo}) >>> {shift};\n    y0 <= rom[index];\nend\n",
            first = lit(self._out, ow),
            idx0 = (0i64.clamp(l.lo, l.hi) - l.lo) >> l.shift,
            lo = lit(l.lo, cw),
            hi = lit(l.hi, cw),
            shift = l.shift
        );
        s
    }

    fn pwl_verilog(&self) -> String {
        let Some(p) = self._unit.pwl() else {
            return String::new();
        };
        let u = &self._unit;
        let iw = u.input().width as usize;
        let out = u.output();
        // Width of the exact segment sums.
        let amax = 1i128 << (iw - 1);
        let bound = p
            .segments
            .iter()
            .map(|g| {
                let line = g.shift.map_or(0, |sh| amax << sh);
                (line + i128::from(g.intercept).abs()) as u128
            })
            .max()
            .unwrap_or(0);
        let sw = signed_bits(bound.max(p.mirror.unsigned_abs() as u128)) as usize + 1;
        let mut s = format!(
            "wire neg = x < 0;\nwire [{iw1}:0] a = neg ? -x : x;\nreg signed [{sw1}:0] sum;\nreg signed [{sw1}:0] sum_r;\nreg neg_r;\nreg signed [{sw1}:0] rounded;\nreg signed [{sw1}:0] mirrored;\n{decls}\ninitial begin\n    sum_r = {sum0};\n    neg_r = 0;\n    y0 = {first};\nend\n\nalways @(*) begin\n",
            iw1 = iw - 1,
            sw1 = sw - 1,
            decls = round_decls(sw, p.round_shift, u.rounding(), "r"),
            first = lit(self._out, out.width as usize),
            // The pipeline starts as if x = 0 had been in it: segment 0 at a = 0.
            sum0 = lit(p.segments[0].intercept, sw),
        );
        // Later segments win: test from the last breakpoint down.
        for (i, g) in p.segments.iter().enumerate().rev() {
            let value = match g.shift {
                Some(sh) => format!("($signed({{1'b0, a}}) <<< {sh}) + {}", lit(g.intercept, sw)),
                None => lit(g.intercept, sw),
            };
            if i == 0 {
                let _ = writeln!(s, "    else\n        sum = {value};");
            } else {
                let kw = if i + 1 == p.segments.len() {
                    "if"
                } else {
                    "else if"
                };
                let _ = writeln!(
                    s,
                    "    {kw} ({{1'b0, a}} >= {}'d{})\n        sum = {value};",
                    iw + 1,
                    g.start.max(0)
                );
            }
        }
        if p.segments.len() == 1 {
            s = s.replace("    else\n        sum", "    sum");
        }
        s.push_str("end\n\nalways @(*) begin\n");
        s.push_str(&round_stmts(
            "sum_r",
            "rounded",
            p.round_shift,
            u.rounding(),
            "r",
        ));
        let mirror = match u.function() {
            Function::Sigmoid => format!("{} - rounded", lit(p.mirror, sw)),
            Function::Tanh => "-rounded".to_string(),
        };
        let _ = write!(
            s,
            "    mirrored = neg_r ? {mirror} : rounded;\nend\n\nalways @(posedge clock) begin\n    sum_r <= sum;\n    neg_r <= neg;\n    if (mirrored > {max})\n        y0 <= {omax};\n    else if (mirrored < {min})\n        y0 <= {omin};\n    else\n        y0 <= mirrored;\nend\n",
            max = lit(out.max_raw(), sw),
            min = lit(out.min_raw(), sw),
            omax = lit(out.max_raw(), out.width as usize),
            omin = lit(out.min_raw(), out.width as usize),
        );
        s
    }
}

impl Logic for ActivationBlock {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self._held = self._out;
            self._out = self._unit.eval(self._stage);
            self._stage = self.x.val().0;
        }
        self.y.next = DynVal(self._held);
    }
    fn connect(&mut self) {
        self.y.connect();
    }
    fn hdl(&self) -> Verilog {
        let body = if self._unit.lut().is_some() {
            self.lut_verilog()
        } else {
            self.pwl_verilog()
        };
        // The two stages compute `y0`; the output register holds it.
        let ow = self._unit.output().width as usize;
        Verilog::Custom(format!(
            "reg signed [{}:0] y0;\ninitial y = {};\n{body}\nalways @(posedge clock) y <= y0;\n",
            ow - 1,
            lit(self._out, ow)
        ))
    }
}
