//! A rounding point: the model's `requantize` from an exact accumulator at
//! `from_frac` into a narrower format, registered. A finer destination
//! fraction is an exact left shift; a coarser one is the rounding right shift
//! of `shift_round` (floor, half-up or half-to-even); then saturation to the
//! destination's range. The Rust simulation calls `requantize` itself; the
//! Verilog is generated from the same parameters and checked against it.
//!
//! The pipelined form ([`Requantizer::pipelined`], [`PIPELINED_LATENCY`]
//! cycles) registers the rounded value before the saturation: on an iCE40
//! the rounding adder's carry chain and the saturation's two comparisons in
//! one cycle are the accelerator's slowest path after the bias add.

use crate::dynamic::{DynSig, DynVal};
use crate::verilog::{lit, round_stmts};
use lstm_accel_model::fixed::{requantize, Format, Rounding};
use rust_hdl::prelude::*;

/// Cycles from input to output of the pipelined form (the spec's count).
pub use lstm_accel_spec::datapath::REQUANTIZER_LATENCY as PIPELINED_LATENCY;

/// The requantizer.
#[derive(LogicBlock)]
pub struct Requantizer {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// The exact value.
    pub x: DynSig<In>,
    /// The value in the destination format, one cycle later
    /// ([`PIPELINED_LATENCY`] in the pipelined form).
    pub y: DynSig<Out>,
    _from_frac: i32,
    _to: Format,
    _mode: Rounding,
    _width: usize,
    _out: i64,
    _pipelined: bool,
    _mid: i64,
}

impl Requantizer {
    /// From `width`-bit values at `from_frac` into `to`.
    pub fn new(width: usize, from_frac: i32, to: Format, mode: Rounding) -> Self {
        Requantizer {
            clock: Signal::default(),
            x: DynSig::new(width),
            y: DynSig::new(to.width as usize),
            _from_frac: from_frac,
            _to: to,
            _mode: mode,
            _width: width,
            _out: 0,
            _pipelined: false,
            _mid: 0,
        }
    }

    /// The same rounding point in [`PIPELINED_LATENCY`] cycles.
    pub fn pipelined(width: usize, from_frac: i32, to: Format, mode: Rounding) -> Self {
        Requantizer {
            _pipelined: true,
            ..Self::new(width, from_frac, to, mode)
        }
    }
}

impl Logic for Requantizer {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            // The model's function is pure, so the pipelined form's two
            // registers hold its results one and two cycles late.
            let now = requantize(self.x.val().0, self._from_frac, self._to, self._mode);
            if self._pipelined {
                self._out = self._mid;
                self._mid = now;
            } else {
                self._out = now;
            }
        }
        self.y.next = DynVal(self._out);
    }
    fn connect(&mut self) {
        self.y.connect();
    }
    fn hdl(&self) -> Verilog {
        let w = self._width;
        let to = self._to;
        let ow = to.width as usize;
        let (rescale, ww) = if to.frac >= self._from_frac {
            let s = (to.frac - self._from_frac) as usize;
            // Wide enough that the left shift cannot lose a bit before saturation.
            let ww = (w + s).min(64).max(ow + 1);
            (format!("    scaled = x <<< {s};\n"), ww)
        } else {
            let s = (self._from_frac - to.frac) as u32;
            (round_stmts("x", "scaled", s, self._mode), w.max(ow + 1))
        };
        // The pipelined form saturates a registered copy of the rounded value.
        let (stage, sat) = if self._pipelined {
            (
                format!("reg signed [{}:0] scaled_q;\ninitial scaled_q = 0;\nalways @(posedge clock) scaled_q <= scaled;\n", ww - 1),
                "scaled_q",
            )
        } else {
            (String::new(), "scaled")
        };
        Verilog::Custom(format!(
            "reg signed [{ww1}:0] scaled;\n\ninitial begin\n    y = 0;\nend\n\nalways @(*) begin\n{rescale}end\n\n{stage}always @(posedge clock) begin\n    if ({sat} > {max})\n        y <= {omax};\n    else if ({sat} < {min})\n        y <= {omin};\n    else\n        y <= {sat};\nend\n",
            ww1 = ww - 1,
            max = lit(to.max_raw(), ww),
            min = lit(to.min_raw(), ww),
            omax = lit(to.max_raw(), ow),
            omin = lit(to.min_raw(), ow),
        ))
    }
}
