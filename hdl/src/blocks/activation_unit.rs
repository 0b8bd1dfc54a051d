//! The activation unit: sigmoid or tanh of a fixed-point value, as the
//! model's `ActivationUnit` defines it, in two registered stages and an
//! output register (`ACTIVATION_LATENCY` cycles in all), which keeps the
//! table's block-RAM read apart from the multipliers the result feeds. ECP5
//! designs add a second output register
//! ([`ActivationBlock::with_second_output_register`]): a block's read
//! (5.8 ns clock-to-output without its own output register) and the route
//! from it to the multiplier's DSP did not fit 10 ns together; there the
//! first output register is the block's own ([`ActivationBlock::with_dp16kd`]).
//!
//! - Table form: the index is a bit slice of `x - lo`, clamped to the
//!   table (stage 1: the subtraction and the upper bound's compare side by
//!   side), the entry is read from a ROM (stage 2),
//!   which synthesis maps to block RAM or LUTs.
//! - Piecewise-linear form (PLAN, hard): stage 1 takes `a = |x|` and picks
//!   the segment by comparing `a` with the breakpoints; stage 2 forms
//!   `(a << shift) + intercept` exactly with one adder; stage 3 (into the
//!   output register) rounds once (the model's `shift_round`), mirrors
//!   negative inputs (`1 - y` for sigmoid, `-y` for tanh) and saturates into
//!   the output format, on the sides the model's `unsaturated_range` says a
//!   value can reach.
//!
//! Every constant (breakpoints, shifts, intercepts, table entries, rounding)
//! comes from `ActivationUnit`, and the Rust simulation evaluates the model's
//! own `eval`, delayed by the registers; the Verilog is generated from the
//! same constants and checked against `eval` over whole input domains.

use crate::dynamic::{DynSig, DynVal};
use crate::verilog::{lit, round_carry};
use lstm_accel_model::activation::{ActivationUnit, Function};
use lstm_accel_model::fixed::signed_bits;
use rust_hdl::prelude::*;
use std::fmt::Write;

/// Cycles from input to output (the spec's count, which this block meets).
pub use lstm_accel_spec::datapath::ACTIVATION_LATENCY;

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
    _last: i64,
    /// A second output register.
    _second: bool,
    /// The table as ECP5 `DP16KD` blocks in synthesis.
    _dp16kd: bool,
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
            _last: unit.eval(0),
            _unit: unit,
            _second: false,
            _dp16kd: false,
        }
    }

    /// A second output register (one cycle more).
    pub fn with_second_output_register(mut self) -> Self {
        self._second = true;
        self
    }

    /// Cycles from input to output.
    pub fn latency(&self) -> usize {
        ACTIVATION_LATENCY + usize::from(self._second)
    }

    /// With a second output register, and in synthesis (Yosys defines
    /// `SYNTHESIS`) the table as ECP5
    /// `DP16KD` blocks (18-bit words, 1024 deep, the entries as their
    /// initial contents) whose output register is the unit's output
    /// register (the first of the two): the block's read then leaves it
    /// 0.95 ns after the clock instead of 5.8, and the route has the cycle.
    /// Yosys's inference never uses that register. Tables of up to 1024
    /// entries; a unit without a table is unchanged. Simulators run the
    /// same registers in plain Verilog (the output register's power-up
    /// value differs, zero against the entry of x = 0; no valid result
    /// comes out before the pipeline has been filled).
    pub fn with_dp16kd(mut self) -> Self {
        self.enable_dp16kd();
        self
    }

    /// [`ActivationBlock::with_dp16kd`] in place.
    pub(crate) fn enable_dp16kd(&mut self) {
        self._second = true;
        self._dp16kd = self._unit.lut().is_some_and(|l| l.entries.len() <= 1024);
    }

    /// Whether the table is `DP16KD` blocks in synthesis.
    pub fn uses_dp16kd(&self) -> bool {
        self._dp16kd
    }

    /// The table's `DP16KD` blocks, 18 bits of each entry per block, read
    /// at `index` into their output registers, which drive `y1`.
    fn dp16kd_verilog(&self) -> String {
        let Some(l) = self._unit.lut() else {
            return String::new();
        };
        let ow = self._unit.output().width as usize;
        let ib = (usize::BITS - (l.entries.len().max(2) - 1).leading_zeros()) as usize;
        let blocks = ow.div_ceil(18);
        let mask = (1u128 << ow) - 1;
        let mut s = format!(
            "wire [{}:0] rom_do;
",
            blocks * 18 - 1
        );
        for j in 0..blocks {
            // INITVAL_xx: sixteen 18-bit words, each in 20 bits.
            let mut params = Vec::new();
            for xx in 0..64 {
                // 320 bits, least significant first.
                let mut bits = [false; 320];
                for i in 0..16 {
                    let a = xx * 16 + i;
                    let e = l.entries.get(a).map_or(0, |&e| (e as i128 as u128) & mask);
                    let word = (e >> (18 * j)) & 0x3ffff;
                    for b in 0..18 {
                        bits[i * 20 + b] = (word >> b) & 1 == 1;
                    }
                }
                let hex: String = bits
                    .chunks(4)
                    .rev()
                    .map(|n| {
                        let d = n
                            .iter()
                            .rev()
                            .fold(0u32, |acc, &b| (acc << 1) | u32::from(b));
                        char::from_digit(d, 16).unwrap_or('0')
                    })
                    .collect();
                params.push(format!(".INITVAL_{xx:02X}(320'h{hex})"));
            }
            let adb = (0..14)
                .map(|k| {
                    if (4..4 + ib).contains(&k) {
                        format!(".ADB{k}(index[{}])", k - 4)
                    } else {
                        format!(".ADB{k}(1'b0)")
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            let ada = (0..14)
                .map(|k| format!(".ADA{k}(1'b0)"))
                .collect::<Vec<_>>()
                .join(", ");
            let dia = (0..18)
                .map(|k| format!(".DIA{k}(1'b0), .DIB{k}(1'b0)"))
                .collect::<Vec<_>>()
                .join(", ");
            let dob = (0..18)
                .map(|k| format!(".DOB{k}(rom_do[{}])", j * 18 + k))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                s,
                "DP16KD #(.DATA_WIDTH_A(18), .DATA_WIDTH_B(18), .REGMODE_A(\"NOREG\"), .REGMODE_B(\"OUTREG\"),
    .RESETMODE(\"SYNC\"), .ASYNC_RESET_RELEASE(\"SYNC\"), .CSDECODE_A(\"0b000\"), .CSDECODE_B(\"0b000\"),
    .WRITEMODE_A(\"NORMAL\"), .WRITEMODE_B(\"NORMAL\"), .GSR(\"DISABLED\"),
    {params}) table_{j} (
    .CLKA(clock), .CEA(1'b0), .OCEA(1'b0), .WEA(1'b0), .RSTA(1'b0), .CSA0(1'b0), .CSA1(1'b0), .CSA2(1'b0),
    {ada},
    .CLKB(clock), .CEB(1'b1), .OCEB(1'b1), .WEB(1'b0), .RSTB(1'b0), .CSB0(1'b0), .CSB1(1'b0), .CSB2(1'b0),
    {adb},
    {dia},
    {dob});",
                params = params.join(",\n    "),
            );
        }
        let _ = writeln!(s, "wire signed [{w1}:0] y1 = rom_do[{w1}:0];", w1 = ow - 1);
        s
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
            "reg signed [{ow1}:0] rom [0:{n1}];\nwire signed [{cw1}:0] offset;\nreg [{ib1}:0] index_next;\nreg [{ib1}:0] index;\n\ninitial begin\n",
            ow1 = ow - 1,
            n1 = n - 1,
            cw1 = cw - 1,
            ib1 = ib - 1
        );
        for (i, &e) in l.entries.iter().enumerate() {
            let _ = writeln!(s, "    rom[{i}] = {};", lit(e, ow));
        }
        // `(clamp(x, lo, hi) - lo) >> shift` with the subtraction and the
        // upper compare side by side (one carry chain deep, not a compare's
        // chain feeding the subtraction's): below `lo` the offset is
        // negative, above `hi` the index is the last one.
        let _ = write!(
            s,
            "    index = {idx0};\n    y0 = {first};\nend\n\nassign offset = x - {lo};\n\nalways @(*) begin\n    if (offset[{top}])\n        index_next = 0;\n    else if (x > {hi})\n        index_next = {last};\n    else\n        index_next = offset >>> {shift};\nend\n\nalways @(posedge clock) begin\n    index <= index_next;\n    y0 <= rom[index];\nend\n",
            first = lit(self._out, ow),
            idx0 = (0i64.clamp(l.lo, l.hi) - l.lo) >> l.shift,
            lo = lit(l.lo, cw),
            hi = lit(l.hi, cw),
            top = cw - 1,
            last = (l.hi - l.lo) >> l.shift,
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
        let n = p.segments.len();
        let gb = (usize::BITS - (n.max(2) - 1).leading_zeros()) as usize;
        // Three stages, each one carry chain deep (with the compares, the
        // negation and the adder in one cycle, a shared sigmoid's input
        // multiplexer in front made a 47 ns path on the iCE40):
        // 1. `ac = neg ? ~x : x` is `|x| - neg` with no carry chain, and
        //    `|x| >= start` is `ac >= start - neg`: the segment's compares.
        // 2. `(|x| << shift) + intercept = (ac << shift) + (intercept +
        //    (neg << shift))`: the segment and the sign pick the shifted ac
        //    and a constant, and one adder forms the exact sum.
        // 3. The rounding and the mirror in one adder: with `q = sum >> k`
        //    and `r` the rounding's carry, `q + r`, or mirrored
        //    `mirror - q - r = ~q + (mirror + 1 - r)` (`mirror` 0 for tanh),
        //    then the clamp where it can act; into `y0`, which the output
        //    register takes.
        let k = p.round_shift as usize;
        let mut s = format!(
            "wire neg = x[{iw1}];\nwire [{iw1}:0] ac = neg ? ~x : x;\nreg [{gb1}:0] seg;\nreg [{iw1}:0] ac_r;\nreg [{gb1}:0] seg_r;\nreg neg_r;\nreg signed [{sw1}:0] line;\nreg signed [{sw1}:0] intercept;\nreg signed [{sw1}:0] sum_r;\nreg neg_r2;\nreg signed [{sw1}:0] q;\nreg r;\nreg signed [{sw1}:0] addend;\nreg signed [{sw1}:0] mirrored;\n\ninitial begin\n    ac_r = 0;\n    seg_r = 0;\n    neg_r = 0;\n    sum_r = {sum0};\n    neg_r2 = 0;\nend\n\nalways @(*) begin\n",
            iw1 = iw - 1,
            gb1 = gb - 1,
            sw1 = sw - 1,
            // The pipeline starts as if x = 0 had been in it: segment 0 at a = 0.
            sum0 = lit(p.segments[0].intercept, sw),
        );
        // Later segments win: test from the last breakpoint down.
        let cw = iw + 1;
        for (i, g) in p.segments.iter().enumerate().rev() {
            if i == 0 {
                let kw = if n == 1 { "" } else { "else " };
                let _ = writeln!(s, "    {kw}seg = 0;");
            } else {
                let kw = if i + 1 == n { "if" } else { "else if" };
                let start = g.start.max(0);
                // With start 0 every input is in: `ac >= -1` holds too.
                let cond = if start == 0 {
                    "1'b1".to_string()
                } else {
                    format!(
                        "{{1'b0, ac}} >= (neg ? {cw}'d{} : {cw}'d{start})",
                        start - 1
                    )
                };
                let _ = writeln!(s, "    {kw} ({cond})\n        seg = {i};");
            }
        }
        s.push_str("end\n\nalways @(*) begin\n    case (seg_r)\n");
        for (i, g) in p.segments.iter().enumerate() {
            let (line, icpt) = match g.shift {
                Some(sh) => (
                    format!("$signed({{1'b0, ac_r}}) <<< {sh}"),
                    format!(
                        "neg_r ? {} : {}",
                        lit(g.intercept + (1i64 << sh), sw),
                        lit(g.intercept, sw)
                    ),
                ),
                None => (lit(0, sw), lit(g.intercept, sw)),
            };
            let label = if i == 0 {
                "default".to_string()
            } else {
                i.to_string()
            };
            let _ = writeln!(
                s,
                "        {label}: begin\n            line = {line};\n            intercept = {icpt};\n        end"
            );
        }
        s.push_str("    endcase\nend\n\nalways @(posedge clock) begin\n    ac_r <= ac;\n    seg_r <= seg;\n    neg_r <= neg;\n    sum_r <= line + intercept;\n    neg_r2 <= neg_r;\nend\n\nalways @(*) begin\n");
        // The rounding's carry: the model's `shift_round`.
        let r = round_carry("sum_r", p.round_shift, u.rounding());
        let mirror = match u.function() {
            Function::Sigmoid => p.mirror,
            Function::Tanh => 0,
        };
        let _ = writeln!(
            s,
            "    q = sum_r >>> {k};\n    r = {r};\n    case ({{neg_r2, r}})\n        2'b00: addend = {};\n        2'b01: addend = {};\n        2'b10: addend = {};\n        default: addend = {};\n    endcase\n    mirrored = (neg_r2 ? ~q : q) + addend;",
            lit(0, sw),
            lit(1, sw),
            lit(mirror + 1, sw),
            lit(mirror, sw)
        );
        // The saturation point clamps only on a side the mirrored value can
        // reach (the model's exact range over the whole input domain).
        let (reach_lo, reach_hi) = u.unsaturated_range().unwrap_or((i64::MIN, i64::MAX));
        let mut clamps = Vec::new();
        if reach_hi > out.max_raw() {
            clamps.push(format!(
                "if (mirrored > {})\n        y0 = {};",
                lit(out.max_raw(), sw),
                lit(out.max_raw(), out.width as usize)
            ));
        }
        if reach_lo < out.min_raw() {
            clamps.push(format!(
                "if (mirrored < {})\n        y0 = {};",
                lit(out.min_raw(), sw),
                lit(out.min_raw(), out.width as usize)
            ));
        }
        clamps.push("y0 = mirrored;".to_string());
        let _ = writeln!(s, "    {}\nend", clamps.join("\n    else "));
        s
    }
}

impl Logic for ActivationBlock {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self._last = self._held;
            self._held = self._out;
            self._out = self._unit.eval(self._stage);
            self._stage = self.x.val().0;
        }
        self.y.next = DynVal(if self._second { self._last } else { self._held });
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
        // The stages before the output register compute `y0` (a table read,
        // a piecewise form's last stage); the output register holds it, or two
        // (`y1` the block's own in the `DP16KD` form).
        let ow = self._unit.output().width as usize;
        if !self._second {
            return Verilog::Custom(format!(
                "reg signed [{w1}:0] y0;\n{body}\ninitial y = {init};\nalways @(posedge clock) y <= y0;\n",
                w1 = ow - 1,
                init = lit(self._out, ow)
            ));
        }
        let first = format!(
            "reg signed [{}:0] y1;\ninitial y1 = {};\nalways @(posedge clock) y1 <= y0;\n",
            ow - 1,
            lit(self._out, ow)
        );
        let first = if self._dp16kd {
            format!(
                "`ifndef SYNTHESIS\n{first}`else\n{}`endif\n",
                self.dp16kd_verilog()
            )
        } else {
            first
        };
        Verilog::Custom(format!(
            "reg signed [{w1}:0] y0;\n{body}\n{first}initial y = {init};\nalways @(posedge clock) y <= y1;\n",
            w1 = ow - 1,
            init = lit(self._out, ow)
        ))
    }
}
