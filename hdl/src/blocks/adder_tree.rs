//! A pipelined adder tree: `n` inputs summed pairwise, one register per
//! level, `ceil(log2 n)` levels. Level `k` is one bit wider than level
//! `k - 1`, so no sum can overflow; the output is `width + depth` bits and
//! lags the inputs by `depth` cycles (an odd element is carried to the next
//! level unchanged).

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
    /// The registered sum.
    pub y: DynSig<Out>,
    _width: usize,
    _levels: Vec<Vec<i64>>,
}

impl AdderTree {
    /// Levels (= latency in cycles) of a tree over `n` inputs.
    pub fn depth(n: usize) -> usize {
        n.next_power_of_two().trailing_zeros() as usize
    }

    /// A tree over `n` inputs of `width` bits.
    pub fn new(n: usize, width: usize) -> Self {
        assert!(n >= 1, "an adder tree needs an input");
        let depth = Self::depth(n);
        let mut levels = Vec::with_capacity(depth);
        let mut m = n;
        for _ in 0..depth {
            m = m.div_ceil(2);
            levels.push(vec![0; m]);
        }
        AdderTree {
            clock: Signal::default(),
            xs: (0..n).map(|_| DynSig::new(width)).collect(),
            y: DynSig::new(width + depth),
            _width: width,
            _levels: levels,
        }
    }
}

/// Pairwise sums of `src`, wrapped to `width` bits.
fn pair_sums(src: &[i64], width: usize) -> Vec<i64> {
    src.chunks(2).map(|c| sext(c.iter().sum(), width)).collect()
}

impl Logic for AdderTree {
    fn update(&mut self) {
        if self.clock.pos_edge() && !self._levels.is_empty() {
            let inputs: Vec<i64> = self.xs.iter().map(|x| x.val().0).collect();
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
        self.y.next = match self._levels.last() {
            Some(top) => DynVal(top[0]),
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
        let mut names: Vec<String> = (0..self.xs.len()).map(|i| format!("xs${i}")).collect();
        for (k, level) in self._levels.iter().enumerate() {
            let w = self._width + k + 1;
            let mut next = Vec::with_capacity(level.len());
            for (i, pair) in names.chunks(2).enumerate() {
                let r = format!("l{}_{}", k + 1, i);
                let _ = writeln!(decl, "reg signed [{}:0] {r};", w - 1);
                let _ = writeln!(init, "    {r} = 0;");
                let _ = writeln!(body, "    {r} <= {};", pair.join(" + "));
                next.push(r);
            }
            names = next;
        }
        let out = names.first().cloned().unwrap_or_else(|| "xs$0".into());
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
