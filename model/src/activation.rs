//! Sigmoid and tanh on signed fixed-point integers, in the three forms the
//! hardware can build: a piecewise-linear unit with power-of-two slopes (PLAN),
//! a table ROM, and the hard (clamped linear) form. An [`ActivationUnit`] maps a
//! raw value of its `input` [`Format`] to a raw value of its `output` format with
//! integer operations only; the HDL generator rebuilds [`ActivationUnit::eval`]
//! from the constants exposed here ([`PwlDatapath`], [`LutDatapath`]).
//!
//! *Piecewise-linear and hard forms* ([`PwlDatapath`]) evaluate one half of the
//! function on `a = |x_raw|` (exact in i64, the most negative input included)
//! and mirror it. Segment selection compares `a` against breakpoints converted
//! to the input format *rounded up* (`ceil(b * 2^in.frac)`), so that
//! `a >= start` holds exactly when `|x| >= b`: no precision is lost there. The
//! selected line `a * 2^-k + c` is formed exactly at an internal fraction
//! `F >= max(out.frac, in.frac + k, bits of c)`: a left shift of `a` plus an
//! exact constant. The single *rounding point* is the shift from `F` down to
//! `out.frac`, in the unit's [`Rounding`]; so the positive half is exactly the
//! real PLAN value at `x` rounded once. Mirroring is exact: `2^out.frac - y` for
//! sigmoid, `-y` for tanh. The single *saturation point* clamps the mirrored
//! value into `output` (needed only where `1.0`, i.e. `2^out.frac`, is not
//! representable). The hard forms are the same datapath with two segments.
//!
//! *Table form* ([`LutDatapath`]): `x_raw` is saturated into the covered range
//! `[lo, hi]` (the input saturation point), and the index is
//! `(x_raw - lo) >> shift`: a wire slice that groups `2^shift` consecutive
//! inputs under one entry (no arithmetic rounding). Each entry is computed
//! offline as `output.quantize(f(m), rounding)`, `m` being the midpoint of the
//! first and last input the entry covers: the entry's rounding and saturation
//! points.

use crate::fixed::{shift_round, Format, Rounding};
use serde::{Deserialize, Serialize};

/// Which function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    /// `1 / (1 + e^-x)`, range (0, 1).
    Sigmoid,
    /// `tanh(x)`, range (-1, 1).
    Tanh,
}

impl Function {
    /// The true value in f64.
    pub fn value(self, x: f64) -> f64 {
        match self {
            Function::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Function::Tanh => x.tanh(),
        }
    }
}

/// How it is approximated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Approx {
    /// Piecewise-linear with power-of-two slopes (no multiplier).
    Pwl,
    /// Table of 2^index_bits entries covering inputs in [-2^range_log2, 2^range_log2).
    Lut {
        /// Address bits of the table ROM, 1..=16.
        index_bits: u32,
        /// The covered input range is `[-2^range_log2, 2^range_log2)`.
        range_log2: i32,
    },
    /// Hard sigmoid clamp(x/4 + 1/2, 0, 1); for tanh the matching clamp(x, -1, 1).
    Hard,
}

/// One linear piece of a half-function in real terms: for `|x| >= start` (up to
/// the next piece's start), `y = |x| * 2^-slope_shift + intercept`, or
/// `y = intercept` when `slope_shift` is `None`. All constants are dyadic.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PwlPiece {
    /// Breakpoint on `|x|` where the piece begins.
    pub start: f64,
    /// The slope is `2^-slope_shift`; `None` for a flat piece.
    pub slope_shift: Option<u32>,
    /// Value of the line at `|x| = 0`.
    pub intercept: f64,
}

const fn piece(start: f64, slope_shift: Option<u32>, intercept: f64) -> PwlPiece {
    PwlPiece {
        start,
        slope_shift,
        intercept,
    }
}

/// PLAN sigmoid (Amin, Curtis, Hayes-Gill 1997), half for `x >= 0`; `x < 0`
/// gives `1 - y(|x|)`. Max error 0.01894 (at |x| = 1). Not continuous: at
/// `|x| = 2.375` the value drops by `2^-8`.
pub const PLAN_SIGMOID: [PwlPiece; 4] = [
    piece(0.0, Some(2), 0.5),
    piece(1.0, Some(3), 0.625),
    piece(2.375, Some(5), 0.84375),
    piece(5.0, None, 1.0),
];

/// PLAN tanh, `2 * sigmoid_PLAN(2x) - 1`, half for `x >= 0`; odd symmetry.
/// Max error 0.03788; drops by `2^-7` at `|x| = 1.1875`.
pub const PLAN_TANH: [PwlPiece; 4] = [
    piece(0.0, Some(0), 0.0),
    piece(0.5, Some(1), 0.25),
    piece(1.1875, Some(3), 0.6875),
    piece(2.5, None, 1.0),
];

/// Hard sigmoid `clamp(x/4 + 1/2, 0, 1)`, half for `x >= 0`.
pub const HARD_SIGMOID: [PwlPiece; 2] = [piece(0.0, Some(2), 0.5), piece(2.0, None, 1.0)];

/// Hard tanh `clamp(x, -1, 1)`, half for `x >= 0`.
pub const HARD_TANH: [PwlPiece; 2] = [piece(0.0, Some(0), 0.0), piece(1.0, None, 1.0)];

/// The real pieces of a piecewise form (`None` for a table).
pub fn pieces(function: Function, approx: Approx) -> Option<&'static [PwlPiece]> {
    match (function, approx) {
        (Function::Sigmoid, Approx::Pwl) => Some(&PLAN_SIGMOID),
        (Function::Tanh, Approx::Pwl) => Some(&PLAN_TANH),
        (Function::Sigmoid, Approx::Hard) => Some(&HARD_SIGMOID),
        (Function::Tanh, Approx::Hard) => Some(&HARD_TANH),
        (_, Approx::Lut { .. }) => None,
    }
}

/// One piece in raw integer form, for `a = |x_raw|` with `a >= start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PwlSegment {
    /// `ceil(piece.start * 2^in.frac)`, capped at `2^(in.width-1) + 1` (an
    /// unreachable segment): the comparison `a >= start` is exact.
    pub start: i64,
    /// Left shift of `a` that aligns `a * 2^-k` at the internal fraction
    /// (`F - in.frac - k`); `None` for a flat segment.
    pub shift: Option<u32>,
    /// The intercept at the internal fraction (exact).
    pub intercept: i64,
}

/// Everything the HDL needs to rebuild a piecewise (PLAN or hard) unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PwlDatapath {
    /// Internal fraction `F` at which `(a << shift) + intercept` is exact.
    pub internal_frac: i32,
    /// The rounding point: `y = shift_round(sum, round_shift, rounding)`, `F - out.frac`.
    pub round_shift: u32,
    /// `2^out.frac` (the value 1.0): sigmoid's negative half is `mirror - y`.
    pub mirror: i64,
    /// Segments by increasing `start`; the first starts at 0.
    pub segments: Vec<PwlSegment>,
}

/// Everything the HDL needs to rebuild a table unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LutDatapath {
    /// Smallest covered input raw value; smaller inputs saturate to it.
    pub lo: i64,
    /// Largest covered input raw value; larger inputs saturate to it.
    pub hi: i64,
    /// `index = (clamp(x_raw, lo, hi) - lo) >> shift`.
    pub shift: u32,
    /// ROM contents, raw output values; `(hi - lo + 1) >> shift` of them.
    pub entries: Vec<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Datapath {
    Pwl(PwlDatapath),
    Lut(LutDatapath),
}

/// One compiled activation: function + approximation + input format + output
/// format + rounding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActivationUnit {
    function: Function,
    approx: Approx,
    input: Format,
    output: Format,
    rounding: Rounding,
    datapath: Datapath,
}

/// Allowed input fraction bits.
pub const INPUT_FRAC_RANGE: (i32, i32) = (-16, 48);

fn check_formats(input: Format, output: Format) -> Result<(), String> {
    if !(2..=24).contains(&input.width) {
        return Err(format!(
            "activation input format {input}: width {} not in 2..=24",
            input.width
        ));
    }
    let (flo, fhi) = INPUT_FRAC_RANGE;
    if !(flo..=fhi).contains(&input.frac) {
        return Err(format!(
            "activation input format {input}: frac {} not in {flo}..={fhi}",
            input.frac
        ));
    }
    if !(2..=16).contains(&output.width) {
        return Err(format!(
            "activation output format {output}: width {} not in 2..=16",
            output.width
        ));
    }
    let max_frac = output.width as i32 - 1;
    if !(1..=max_frac).contains(&output.frac) {
        return Err(format!(
            "activation output format {output}: frac {} not in 1..={max_frac} \
             (the output must hold 0.5 and have a fraction bit)",
            output.frac
        ));
    }
    Ok(())
}

/// Fraction bits a dyadic constant needs (0 for an integer).
fn frac_bits(c: f64) -> Result<i32, String> {
    (0..=16)
        .find(|&e| (c * f64::from(1u32 << e)).fract() == 0.0)
        .ok_or_else(|| format!("constant {c} is not dyadic with at most 16 fraction bits"))
}

fn build_pwl(pieces: &[PwlPiece], input: Format, output: Format) -> Result<PwlDatapath, String> {
    let mut internal_frac = output.frac;
    for p in pieces {
        internal_frac = internal_frac.max(frac_bits(p.intercept)?);
        if let Some(k) = p.slope_shift {
            internal_frac = internal_frac.max(input.frac + k as i32);
        }
    }
    let unreachable = (input.max_abs_raw() + 1) as i64;
    let scale = |v: f64, e: i32| v * 2f64.powi(e); // exact: dyadic constants, |e| <= 64
    let segments = pieces
        .iter()
        .map(|p| PwlSegment {
            start: (scale(p.start, input.frac).ceil() as i64).min(unreachable),
            shift: p
                .slope_shift
                .map(|k| (internal_frac - input.frac - k as i32) as u32),
            intercept: scale(p.intercept, internal_frac) as i64,
        })
        .collect();
    Ok(PwlDatapath {
        internal_frac,
        round_shift: (internal_frac - output.frac) as u32,
        mirror: 1i64 << output.frac,
        segments,
    })
}

fn build_lut(
    function: Function,
    index_bits: u32,
    range_log2: i32,
    input: Format,
    output: Format,
    rounding: Rounding,
) -> Result<LutDatapath, String> {
    if !(1..=16).contains(&index_bits) {
        return Err(format!("LUT index_bits {index_bits} not in 1..=16"));
    }
    // log2 of the covered half-range in raw units, limited to the input format.
    let half_log2 = (i64::from(range_log2) + i64::from(input.frac)).min(i64::from(input.width) - 1);
    if half_log2 < 0 {
        return Err(format!(
            "LUT range_log2 {range_log2}: range [-2^{range_log2}, 2^{range_log2}) is \
             narrower than one LSB of input format {input}"
        ));
    }
    let span_bits = half_log2 as u32 + 1; // covered raw values: 2^span_bits
    let shift = span_bits.saturating_sub(index_bits);
    let lo = -(1i64 << half_log2);
    let hi = (1i64 << half_log2) - 1;
    let step = 1i64 << shift;
    let entries = (0..1i64 << (span_bits - shift))
        .map(|i| {
            let first = lo + i * step;
            let mid = (2 * first + step - 1) as f64 * 0.5; // (first + last) / 2
            output.quantize(function.value(input.to_f64(1) * mid), rounding)
        })
        .collect();
    Ok(LutDatapath {
        lo,
        hi,
        shift,
        entries,
    })
}

impl ActivationUnit {
    /// Compiles a unit. Input width must be 2..=24 with frac in
    /// [`INPUT_FRAC_RANGE`]; output width 2..=16 with frac 1..=width-1; table
    /// `index_bits` 1..=16 and a range at least one input LSB wide.
    pub fn new(
        function: Function,
        approx: Approx,
        input: Format,
        output: Format,
        rounding: Rounding,
    ) -> Result<Self, String> {
        check_formats(input, output)?;
        let datapath = match approx {
            Approx::Lut {
                index_bits,
                range_log2,
            } => Datapath::Lut(build_lut(
                function, index_bits, range_log2, input, output, rounding,
            )?),
            Approx::Pwl | Approx::Hard => {
                let p = pieces(function, approx)
                    .ok_or_else(|| format!("no pieces for {function:?} {approx:?}"))?;
                Datapath::Pwl(build_pwl(p, input, output)?)
            }
        };
        Ok(ActivationUnit {
            function,
            approx,
            input,
            output,
            rounding,
            datapath,
        })
    }

    /// The unit's output for a raw `input` value `x` (the caller keeps `x` in
    /// range); always a raw value of `output`.
    #[inline]
    pub fn eval(&self, x: i64) -> i64 {
        match &self.datapath {
            Datapath::Lut(l) => l.entries[((x.clamp(l.lo, l.hi) - l.lo) >> l.shift) as usize],
            Datapath::Pwl(p) => self.output.saturate(self.pwl_unsaturated(p, x)),
        }
    }

    /// A piecewise unit's value at the raw input `x` before its saturation
    /// point (`None` for a table unit); [`ActivationUnit::eval`] is this,
    /// saturated into the output format.
    pub fn unsaturated(&self, x: i64) -> Option<i64> {
        self.pwl().map(|p| self.pwl_unsaturated(p, x))
    }

    /// The segment's line at `x`, rounded once, mirrored.
    #[inline]
    fn pwl_unsaturated(&self, p: &PwlDatapath, x: i64) -> i64 {
        let a = x.unsigned_abs() as i64; // <= 2^23
        let mut seg = &p.segments[0];
        for s in &p.segments[1..] {
            if a >= s.start {
                seg = s;
            }
        }
        let sum = match seg.shift {
            Some(sh) => (a << sh) + seg.intercept,
            None => seg.intercept,
        };
        let y = shift_round(sum, p.round_shift, self.rounding);
        match (self.function, x < 0) {
            (Function::Sigmoid, true) => p.mirror - y,
            (Function::Tanh, true) => -y,
            (_, false) => y,
        }
    }

    /// The smallest and largest value a piecewise unit's saturation point
    /// receives over its whole input domain (`None` for a table unit). The
    /// HDL leaves out a clamp that cannot act: on the usual formats the
    /// mirrored sigmoid and tanh stay inside the output format, and the two
    /// compares and their multiplexer were a fifth of a unit's logic.
    ///
    /// Exact without visiting the domain: on each segment and sign the value
    /// is monotone in `a = |x|` (a line of non-negative slope, a monotone
    /// rounding, a mirror), so its extremes lie at the segments' ends.
    pub fn unsaturated_range(&self) -> Option<(i64, i64)> {
        let p = self.pwl()?;
        let (lo, hi) = (self.input.min_raw(), self.input.max_raw());
        let mut range = (i64::MAX, i64::MIN);
        for (i, seg) in p.segments.iter().enumerate() {
            let end = p.segments.get(i + 1).map_or(i64::MAX, |n| n.start - 1);
            // Positive inputs are a = x in [0, hi]; negative ones a = -x in
            // [1, -lo].
            for (sign, amin, amax) in [(1, 0, hi), (-1, 1, -lo)] {
                let (a0, a1) = (seg.start.max(amin), end.min(amax));
                for a in [a0, a1] {
                    if a0 <= a1 {
                        let y = self.pwl_unsaturated(p, sign * a);
                        range = (range.0.min(y), range.1.max(y));
                    }
                }
            }
        }
        Some(range)
    }

    /// The true function value (f64) at the raw input `x`.
    pub fn exact(&self, x: i64) -> f64 {
        self.function.value(self.input.to_f64(x))
    }

    /// The piecewise segments in raw form (PLAN and hard units).
    pub fn segments(&self) -> Option<&[PwlSegment]> {
        self.pwl().map(|p| p.segments.as_slice())
    }

    /// The ROM entries as raw output values (table units).
    pub fn table(&self) -> Option<&[i64]> {
        self.lut().map(|l| l.entries.as_slice())
    }

    /// The full piecewise datapath (PLAN and hard units).
    pub fn pwl(&self) -> Option<&PwlDatapath> {
        match &self.datapath {
            Datapath::Pwl(p) => Some(p),
            Datapath::Lut(_) => None,
        }
    }

    /// The full table datapath (table units).
    pub fn lut(&self) -> Option<&LutDatapath> {
        match &self.datapath {
            Datapath::Lut(l) => Some(l),
            Datapath::Pwl(_) => None,
        }
    }

    /// The function.
    pub fn function(&self) -> Function {
        self.function
    }

    /// The approximation.
    pub fn approx(&self) -> Approx {
        self.approx
    }

    /// The input format.
    pub fn input(&self) -> Format {
        self.input
    }

    /// The output format.
    pub fn output(&self) -> Format {
        self.output
    }

    /// The rounding mode of the unit's rounding point.
    pub fn rounding(&self) -> Rounding {
        self.rounding
    }
}

/// Result of an exhaustive error sweep.
#[derive(Clone, Debug, Serialize)]
pub struct ErrorReport {
    /// Largest `|output.to_f64(eval(x)) - f(input.to_f64(x))|` over every input.
    pub max_abs_error: f64,
    /// The (first) input value, as a real, where it occurs.
    pub at_input: f64,
    /// Half an LSB of the output format: the error floor of any method.
    pub quantization_floor: f64,
    /// Number of inputs evaluated (`2^input.width`).
    pub inputs: u64,
}

/// Evaluates every raw value of the unit's input format and reports the
/// largest absolute error against the true function.
pub fn max_abs_error(unit: &ActivationUnit) -> ErrorReport {
    let (input, output) = (unit.input, unit.output);
    let (in_lsb, out_lsb) = (input.to_f64(1), output.to_f64(1));
    let mut worst = (0.0f64, input.to_f64(input.min_raw()));
    for x in input.min_raw()..=input.max_raw() {
        let xf = x as f64 * in_lsb;
        let err = (unit.eval(x) as f64 * out_lsb - unit.function.value(xf)).abs();
        if err > worst.0 {
            worst = (err, xf);
        }
    }
    ErrorReport {
        max_abs_error: worst.0,
        at_input: worst.1,
        quantization_floor: 0.5 * out_lsb,
        inputs: 1u64 << input.width,
    }
}
