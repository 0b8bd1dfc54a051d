//! A pipelined adder tree: `n` inputs summed pairwise, one register per
//! level, `ceil(log2 n)` levels. Level `k` is one bit wider than level
//! `k - 1`, so no sum can overflow; the output is `width + depth` bits and
//! lags the inputs by `depth` cycles (an odd element is carried to the next
//! level unchanged).
//!
//! A tree built [`AdderTree::with_carries`] also adds a carry bit (0 or 1)
//! for every input but the last: the +1 of the lanes' deferred negations
//! (`ShiftAddLane::deferred`). The bits cost no logic: every adder takes
//! one as its carry-in. An element's pending bit is its own carry; a pair's
//! sum takes its left element's pending bit in and hands its right
//! element's on to the next level, so the pending bit of the root is the
//! last input's, which is why that input has none. The partial sums are
//! then the true ones minus a pending bit, which the widths' headroom (a
//! lane's product is one bit wider than its magnitude) keeps in range.

use crate::dynamic::{sext, DynSig, DynVal};
use rust_hdl::prelude::*;
use std::fmt::Write;

/// The tree.
#[derive(LogicBlock)]
pub struct AdderTree {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Inputs.
    pub xs: Vec<DynSig<In>>,
    /// Carry bits of inputs `0..n - 1` (empty without carries).
    pub cs: Vec<DynSig<In>>,
    /// The registered sum.
    pub y: DynSig<Out>,
    _width: usize,
    /// Each level's registered sums and their pending carry bits.
    _levels: Vec<Vec<(i64, i64)>>,
}

impl AdderTree {
    /// Levels (= latency in cycles) of a tree over `n` inputs.
    pub fn depth(n: usize) -> usize {
        lstm_accel_spec::datapath::adder_tree::depth(n)
    }

    /// A tree over `n` inputs of `width` bits.
    pub fn new(n: usize, width: usize) -> Self {
        Self::build(n, width, false)
    }

    /// A tree over `n` inputs of `width` bits that also adds the carry bits
    /// of inputs `0..n - 1`.
    pub fn with_carries(n: usize, width: usize) -> Self {
        Self::build(n, width, true)
    }

    fn build(n: usize, width: usize, carries: bool) -> Self {
        assert!(n >= 1, "an adder tree needs an input");
        let depth = Self::depth(n);
        let mut levels = Vec::with_capacity(depth);
        let mut m = n;
        for _ in 0..depth {
            m = m.div_ceil(2);
            levels.push(vec![(0, 0); m]);
        }
        AdderTree {
            clock: Signal::default(),
            xs: (0..n).map(|_| DynSig::new(width)).collect(),
            cs: (0..if carries { n - 1 } else { 0 })
                .map(|_| DynSig::new(2))
                .collect(),
            y: DynSig::new(width + depth),
            _width: width,
            _levels: levels,
        }
    }
}

/// Pairwise sums of `src` (values and pending carries), wrapped to `width`
/// bits: a pair takes its left pending carry in and passes its right one on.
fn pair_sums(src: &[(i64, i64)], width: usize) -> Vec<(i64, i64)> {
    src.chunks(2)
        .map(|c| match *c {
            [(a, ca), (b, cb)] => (sext(a + b + ca, width), cb),
            [(a, ca)] => (sext(a, width), ca),
            _ => unreachable!("chunks of two"),
        })
        .collect()
}

impl Logic for AdderTree {
    fn update(&mut self) {
        if self.clock.pos_edge() && !self._levels.is_empty() {
            let n = self.xs.len();
            let inputs: Vec<(i64, i64)> = (0..n)
                .map(|i| {
                    let c = self.cs.get(i).map_or(0, |c| c.val().0);
                    (self.xs[i].val().0, c)
                })
                .collect();
            let mut next = Vec::with_capacity(self._levels.len());
            for k in 0..self._levels.len() {
                let src = if k == 0 {
                    &inputs
                } else {
                    &self._levels[k - 1]
                };
                next.push(pair_sums(src, self._width + k + 1));
            }
            self._levels = next;
        }
        // The root's pending carry is the last input's, which has none.
        self.y.next = match self._levels.last() {
            Some(top) => DynVal(top[0].0),
            None => self.xs[0].val(),
        };
    }
    fn connect(&mut self) {
        self.y.connect();
    }
    fn hdl(&self) -> Verilog {
        let mut decl = String::new();
        let mut init = String::new();
        let mut body = String::new();
        // Each element's name and the name of its pending carry, if any.
        let mut names: Vec<(String, Option<String>)> = (0..self.xs.len())
            .map(|i| {
                let c = (i < self.cs.len()).then(|| format!("cs${i}[0]"));
                (format!("xs${i}"), c)
            })
            .collect();
        for (k, level) in self._levels.iter().enumerate() {
            let w = self._width + k + 1;
            let mut next = Vec::with_capacity(level.len());
            for (i, pair) in names.chunks(2).enumerate() {
                let r = format!("l{}_{}", k + 1, i);
                let _ = writeln!(decl, "reg signed [{}:0] {r};", w - 1);
                let _ = writeln!(init, "    {r} = 0;");
                let (sum, pending) = match pair {
                    [(a, ca), (b, cb)] => {
                        // Signed, so that the sum stays a signed one.
                        let carry_in = ca
                            .as_ref()
                            .map_or(String::new(), |c| format!(" + $signed({{1'b0, {c}}})"));
                        (format!("{a} + {b}{carry_in}"), cb.clone())
                    }
                    [(a, ca)] => (a.clone(), ca.clone()),
                    _ => unreachable!("chunks of two"),
                };
                let _ = writeln!(body, "    {r} <= {sum};");
                let carry = pending.map(|p| {
                    let rc = format!("c{}_{}", k + 1, i);
                    let _ = writeln!(decl, "reg {rc};");
                    let _ = writeln!(init, "    {rc} = 0;");
                    let _ = writeln!(body, "    {rc} <= {p};");
                    rc
                });
                next.push((r, carry));
            }
            names = next;
        }
        let out = names
            .first()
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| "xs$0".into());
        let text = if self._levels.is_empty() {
            format!("always @(*) y = {out};\n")
        } else {
            format!(
                "{decl}\ninitial begin\n{init}end\n\nalways @(posedge clock) begin\n{body}end\n\nalways @(*) y = {out};\n"
            )
        };
        Verilog::Custom(text)
    }
}
